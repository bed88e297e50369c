// SPDX-License-Identifier: GPL-2.0
/*
 * The fb_ops of kernel-ext's framebuffers (drivers/kernel-ext/fb.rs): deferred I/O over system
 * memory, which only the kernel's macros can build. The damage, palette and destroy callbacks
 * are fb.rs's.
 *
 * No .owner: fbcon would pin the module with it for as long as it is bound to the framebuffer,
 * though it lets go when the framebuffer is unregistered, which the module's exit does. Only
 * users' files pin the module (they can outlive the registration), as DRM's fbdev emulation
 * does (drm_fbdev_shmem.c).
 */
#include <linux/fb.h>
#include <linux/module.h>

void kext_fb_damage_range(struct fb_info *info, unsigned long off, size_t len);
void kext_fb_damage_area(struct fb_info *info, u32 x, u32 y, u32 width, u32 height);
int kext_fb_setcolreg(unsigned int regno, unsigned int red, unsigned int green,
		      unsigned int blue, unsigned int transp, struct fb_info *info);
void kext_fb_destroy(struct fb_info *info);

static int kext_fb_open(struct fb_info *info, int user)
{
	if (user && !try_module_get(THIS_MODULE))
		return -ENODEV;
	return 0;
}

static int kext_fb_release(struct fb_info *info, int user)
{
	if (user)
		module_put(THIS_MODULE);
	return 0;
}

FB_GEN_DEFAULT_DEFERRED_SYSMEM_OPS(kext_fb, kext_fb_damage_range, kext_fb_damage_area)

extern const struct fb_ops kext_fb_defio_ops;
const struct fb_ops kext_fb_defio_ops = {
	.fb_open	= kext_fb_open,
	.fb_release	= kext_fb_release,
	FB_DEFAULT_DEFERRED_OPS(kext_fb),
	.fb_setcolreg	= kext_fb_setcolreg,
	.fb_destroy	= kext_fb_destroy,
};
