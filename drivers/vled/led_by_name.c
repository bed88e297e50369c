// SPDX-License-Identifier: GPL-2.0
/*
 * An LED class device found by name, under the LED core's list lock: list_for_each_entry() is a
 * macro, out of Rust's reach. Looking the LED up for each request (rather than keeping a
 * pointer) lets its driver go away at any time: the request then fails with -ENODEV.
 */
#include <linux/leds.h>
#include <linux/string.h>
#include "leds.h"

int vled_led_by_name(const char *name, bool set, unsigned int brightness, unsigned int *now);

/* Sets (if @set) and reads back the brightness of the LED called @name. */
int vled_led_by_name(const char *name, bool set, unsigned int brightness, unsigned int *now)
{
	struct led_classdev *led;
	int ret = -ENODEV;

	down_read(&leds_list_lock);
	list_for_each_entry(led, &leds_list, node) {
		if (strcmp(led->name, name))
			continue;
		ret = 0;
		if (set && brightness > led->max_brightness)
			ret = -ERANGE;
		else if (set)
			led_set_brightness(led, brightness);
		*now = led->brightness;
		break;
	}
	up_read(&leds_list_lock);
	return ret;
}
