/*
 * The vfb layout of the kernel's include/xen/interface/io/fbif.h, compiled for aarch64 by
 * check-abi.sh. The numbers are those of src/fbif.rs and tests/layout.rs; with
 * rust_values.h (tests/abi.rs generates it from the crate) they are also compared with the
 * crate's own constants and with where its encoders put each field.
 */
#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>
/* XENFB_WIDTH, XENFB_HEIGHT, XENFB_DEPTH are kernel-only. */
#define __KERNEL__
#include <xen/interface/io/fbif.h>
#include <xen/interface/io/protocols.h>

#define CHECK(expr, val) _Static_assert((expr) == (val), #expr " != " #val)
/* clang folds __builtin_strcmp of literals. */
#define SAME(a, b) _Static_assert(__builtin_strcmp(a, b) == 0, #a " != " #b)

/*
 * XENFB_TYPE_REFRESH_PERIOD is in Xen's public fbif.h, not in Linux's copy (xen-fbfront
 * ignores every in event): this is Xen's definition, checked for its layout here.
 */
#ifndef XENFB_TYPE_REFRESH_PERIOD
#define XENFB_TYPE_REFRESH_PERIOD 1
#define XENFB_NO_REFRESH 0
struct xenfb_refresh_period {
	uint8_t type;    /* XENFB_TYPE_UPDATE_PERIOD */
	uint32_t period; /* period of refresh, in ms, XENFB_NO_REFRESH if no refresh is needed */
};
#endif

/* struct xenfb_page (*_OFFSET, PD_*, PAGE_STRUCT_SIZE) on a 64-bit frontend */
CHECK(offsetof(struct xenfb_page, in_cons), 0);
CHECK(offsetof(struct xenfb_page, in_prod), 4);
CHECK(offsetof(struct xenfb_page, out_cons), 8);
CHECK(offsetof(struct xenfb_page, out_prod), 12);
CHECK(offsetof(struct xenfb_page, width), 16);
CHECK(offsetof(struct xenfb_page, height), 20);
CHECK(offsetof(struct xenfb_page, line_length), 24);
CHECK(offsetof(struct xenfb_page, mem_length), 28);
CHECK(offsetof(struct xenfb_page, depth), 32);
CHECK(sizeof(((struct xenfb_page *)0)->depth), 1);
CHECK(offsetof(struct xenfb_page, pd), 40);
CHECK(sizeof(((struct xenfb_page *)0)->pd[0]), 8);
CHECK(sizeof(((struct xenfb_page *)0)->pd) / sizeof(((struct xenfb_page *)0)->pd[0]), 256);
CHECK(sizeof(struct xenfb_page), 2088);
/* pd[] runs into the in ring: 123 entries before it (PD_USABLE). */
CHECK((XENFB_IN_RING_OFFS - offsetof(struct xenfb_page, pd)) / sizeof(((struct xenfb_page *)0)->pd[0]), 123);
CHECK((int32_t)-1 < 0, 1); /* width, height are signed */

/* Rings (IN_*, OUT_*) */
CHECK(XENFB_IN_EVENT_SIZE, 40);
CHECK(sizeof(union xenfb_in_event), 40);
CHECK(XENFB_IN_RING_SIZE, 1024);
CHECK(XENFB_IN_RING_LEN, 25);
CHECK(XENFB_IN_RING_OFFS, 1024);
CHECK(XENFB_OUT_EVENT_SIZE, 40);
CHECK(sizeof(union xenfb_out_event), 40);
CHECK(XENFB_OUT_RING_SIZE, 2048);
CHECK(XENFB_OUT_RING_LEN, 51);
CHECK(XENFB_OUT_RING_OFFS, 2048);
CHECK(XENFB_OUT_RING_OFFS + XENFB_OUT_RING_LEN * XENFB_OUT_EVENT_SIZE, 4088);

/* Events (OutEvent::encode, InEvent::encode) */
CHECK(XENFB_TYPE_UPDATE, 2);
CHECK(XENFB_TYPE_RESIZE, 3);
CHECK(offsetof(struct xenfb_update, x), 4);
CHECK(offsetof(struct xenfb_update, y), 8);
CHECK(offsetof(struct xenfb_update, width), 12);
CHECK(offsetof(struct xenfb_update, height), 16);
CHECK(offsetof(struct xenfb_resize, width), 4);
CHECK(offsetof(struct xenfb_resize, height), 8);
CHECK(offsetof(struct xenfb_resize, stride), 12);
CHECK(offsetof(struct xenfb_resize, depth), 16);
CHECK(offsetof(struct xenfb_resize, offset), 20);
CHECK(XENFB_TYPE_REFRESH_PERIOD, 1);
CHECK(XENFB_NO_REFRESH, 0);
CHECK(offsetof(struct xenfb_refresh_period, period), 4);

/* xen-fbfront's defaults (LINUX_*) and the arm64 protocol name (PROTOCOL_ARM) */
CHECK(XENFB_WIDTH, 800);
CHECK(XENFB_HEIGHT, 600);
CHECK(XENFB_DEPTH, 32);
SAME(XEN_IO_PROTO_ABI_NATIVE, "arm-abi");
SAME(XEN_IO_PROTO_ABI_ARM, "arm-abi");

#if __has_include("rust_values.h")
#include "rust_values.h"
CHECK(offsetof(struct xenfb_page, in_cons), RS_IN_CONS_OFFSET);
CHECK(offsetof(struct xenfb_page, in_prod), RS_IN_PROD_OFFSET);
CHECK(offsetof(struct xenfb_page, out_cons), RS_OUT_CONS_OFFSET);
CHECK(offsetof(struct xenfb_page, out_prod), RS_OUT_PROD_OFFSET);
CHECK(offsetof(struct xenfb_page, width), RS_WIDTH_OFFSET);
CHECK(offsetof(struct xenfb_page, height), RS_HEIGHT_OFFSET);
CHECK(offsetof(struct xenfb_page, line_length), RS_LINE_LENGTH_OFFSET);
CHECK(offsetof(struct xenfb_page, mem_length), RS_MEM_LENGTH_OFFSET);
CHECK(offsetof(struct xenfb_page, depth), RS_DEPTH_OFFSET);
CHECK(offsetof(struct xenfb_page, pd), RS_PD_OFFSET);
CHECK(sizeof(((struct xenfb_page *)0)->pd[0]), RS_PD_ENTRY_SIZE);
CHECK(sizeof(((struct xenfb_page *)0)->pd) / sizeof(((struct xenfb_page *)0)->pd[0]), RS_PD_LEN);
CHECK(sizeof(struct xenfb_page), RS_PAGE_STRUCT_SIZE);
CHECK((XENFB_IN_RING_OFFS - offsetof(struct xenfb_page, pd)) / sizeof(((struct xenfb_page *)0)->pd[0]), RS_PD_USABLE);
/* xen-fbfront: epd = PAGE_SIZE / sizeof(gfns[0]) frame numbers per directory page */
CHECK(4096 / sizeof(unsigned long), RS_FRAMES_PER_PD_PAGE);
CHECK(offsetof(struct xenfb_page, pd) + RS_PD_PROBE * sizeof(unsigned long), RS_PD_ENTRY_OFFSET_PROBE);
/* The geometry fields as PageInfo::encode places them (offsets within the page) */
CHECK(offsetof(struct xenfb_page, width), RS_INFO_WIDTH);
CHECK(offsetof(struct xenfb_page, height), RS_INFO_HEIGHT);
CHECK(offsetof(struct xenfb_page, line_length), RS_INFO_LINE_LENGTH);
CHECK(offsetof(struct xenfb_page, mem_length), RS_INFO_MEM_LENGTH);
CHECK(offsetof(struct xenfb_page, depth), RS_INFO_DEPTH);
CHECK(XENFB_IN_EVENT_SIZE, RS_IN_EVENT_SIZE);
CHECK(XENFB_IN_RING_SIZE, RS_IN_RING_SIZE);
CHECK(XENFB_IN_RING_LEN, RS_IN_RING_LEN);
CHECK(XENFB_IN_RING_OFFS, RS_IN_RING_OFFS);
CHECK(XENFB_OUT_EVENT_SIZE, RS_OUT_EVENT_SIZE);
CHECK(XENFB_OUT_RING_SIZE, RS_OUT_RING_SIZE);
CHECK(XENFB_OUT_RING_LEN, RS_OUT_RING_LEN);
CHECK(XENFB_OUT_RING_OFFS, RS_OUT_RING_OFFS);
/* XENFB_*_RING_REF(page, idx) is ring[idx % LEN] */
CHECK(XENFB_IN_RING_OFFS + (RS_IDX_A % XENFB_IN_RING_LEN) * sizeof(union xenfb_in_event), RS_IN_EVENT_OFFSET_A);
CHECK(XENFB_IN_RING_OFFS + (RS_IDX_B % XENFB_IN_RING_LEN) * sizeof(union xenfb_in_event), RS_IN_EVENT_OFFSET_B);
CHECK(XENFB_OUT_RING_OFFS + (RS_IDX_A % XENFB_OUT_RING_LEN) * sizeof(union xenfb_out_event), RS_OUT_EVENT_OFFSET_A);
CHECK(XENFB_OUT_RING_OFFS + (RS_IDX_B % XENFB_OUT_RING_LEN) * sizeof(union xenfb_out_event), RS_OUT_EVENT_OFFSET_B);
CHECK(XENFB_TYPE_UPDATE, RS_TYPE_UPDATE);
CHECK(XENFB_TYPE_RESIZE, RS_TYPE_RESIZE);
CHECK(XENFB_TYPE_REFRESH_PERIOD, RS_TYPE_REFRESH_PERIOD);
CHECK(XENFB_NO_REFRESH, RS_NO_REFRESH);
CHECK(offsetof(struct xenfb_update, type), RS_UPDATE_TYPE);
CHECK(offsetof(struct xenfb_update, x), RS_UPDATE_X);
CHECK(offsetof(struct xenfb_update, y), RS_UPDATE_Y);
CHECK(offsetof(struct xenfb_update, width), RS_UPDATE_WIDTH);
CHECK(offsetof(struct xenfb_update, height), RS_UPDATE_HEIGHT);
CHECK(offsetof(struct xenfb_resize, type), RS_RESIZE_TYPE);
CHECK(offsetof(struct xenfb_resize, width), RS_RESIZE_WIDTH);
CHECK(offsetof(struct xenfb_resize, height), RS_RESIZE_HEIGHT);
CHECK(offsetof(struct xenfb_resize, stride), RS_RESIZE_STRIDE);
CHECK(offsetof(struct xenfb_resize, depth), RS_RESIZE_DEPTH);
CHECK(offsetof(struct xenfb_resize, offset), RS_RESIZE_OFFSET);
CHECK(offsetof(struct xenfb_refresh_period, type), RS_REFRESH_TYPE);
CHECK(offsetof(struct xenfb_refresh_period, period), RS_REFRESH_PERIOD);
CHECK(XENFB_WIDTH, RS_LINUX_WIDTH);
CHECK(XENFB_HEIGHT, RS_LINUX_HEIGHT);
CHECK(XENFB_DEPTH, RS_LINUX_DEPTH);
SAME(XEN_IO_PROTO_ABI_NATIVE, RS_PROTOCOL_ARM);
#endif
