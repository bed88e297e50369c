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

/* Framebuffer devices (fb.rs): struct fb_info, deferred I/O. */
#include <linux/fb.h>

/*
 * Foreign frames (foreign.rs): a privileged backend maps frames of another
 * domain that were not granted (xen-fbfront's framebuffer) with XENMEM_add_to_physmap_range.
 */
#include <linux/vmalloc.h>
#include <linux/of_address.h>
#include <xen/xen.h>
#include <xen/page.h>
#include <xen/interface/memory.h>
#include <asm/xen/hypercall.h>

/* page_to_xen_pfn() is a macro over page_to_pfn(), itself a macro on arm64. */
static inline xen_pfn_t kext_page_to_xen_pfn(struct page *page)
{
	return page_to_xen_pfn(page);
}

/* PAGE_KERNEL is a macro; the flags are xenbus_map_ring_hvm()'s for the same kind of pages. */
static inline void *kext_vmap_foreign(struct page **pages, unsigned int count)
{
	return vmap(pages, count, VM_MAP | VM_IOREMAP, PAGE_KERNEL);
}
