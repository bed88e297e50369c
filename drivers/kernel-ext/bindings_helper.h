/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Headers whose bindings the 7.3 kernel crate lacks. Only what bindgen_parameters allowlists
 * (--allowlist-file, --allowlist-var ...) is turned into Rust; see kext.mk.
 */
#include <linux/input.h>
#include <linux/leds.h>

/*
 * Macros bindgen cannot evaluate (BIT(), ...), turned into constants it can: the kernel crate's
 * own RUST_CONST_HELPER_ trick. kext.mk strips the KEXT_CONST_ prefix from the Rust names.
 */
static const int KEXT_CONST_LED_RETAIN_AT_SHUTDOWN = LED_RETAIN_AT_SHUTDOWN;
static const int KEXT_CONST_LED_REJECT_NAME_CONFLICT = LED_REJECT_NAME_CONFLICT;

/* Xen paravirtual devices: xenbus drivers, xenstore access, shared rings, event channels. */
#include <xen/xenbus.h>
#include <xen/events.h>
