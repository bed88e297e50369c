/*
 * The vkbd layout of the kernel's include/xen/interface/io/kbdif.h, compiled for aarch64 by
 * check-abi.sh. The numbers are those of src/kbdif.rs and tests/layout.rs; with
 * rust_values.h (tests/abi.rs generates it from the crate) they are also compared with the
 * crate's own constants and with where its encoder puts each field.
 */
#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/interface/io/kbdif.h>

#define CHECK(expr, val) _Static_assert((expr) == (val), #expr " != " #val)
/* clang folds __builtin_strcmp of literals. */
#define SAME(a, b) _Static_assert(__builtin_strcmp(a, b) == 0, #a " != " #b)

/* struct xenkbd_page (*_OFFSET) */
CHECK(offsetof(struct xenkbd_page, in_cons), 0);
CHECK(offsetof(struct xenkbd_page, in_prod), 4);
CHECK(offsetof(struct xenkbd_page, out_cons), 8);
CHECK(offsetof(struct xenkbd_page, out_prod), 12);
CHECK(sizeof(struct xenkbd_page), 16);

/* Rings (IN_*, OUT_*) */
CHECK(XENKBD_IN_EVENT_SIZE, 40);
CHECK(sizeof(union xenkbd_in_event), 40);
CHECK(XENKBD_IN_RING_SIZE, 2048);
CHECK(XENKBD_IN_RING_LEN, 51);
CHECK(XENKBD_IN_RING_OFFS, 1024);
CHECK(XENKBD_OUT_EVENT_SIZE, 40);
CHECK(sizeof(union xenkbd_out_event), 40);
CHECK(XENKBD_OUT_RING_SIZE, 1024);
CHECK(XENKBD_OUT_RING_LEN, 25);
CHECK(XENKBD_OUT_RING_OFFS, 3072);
CHECK(XENKBD_OUT_RING_OFFS + XENKBD_OUT_RING_SIZE, 4096);

/* Events (InEvent::encode) */
CHECK(offsetof(union xenkbd_in_event, type), 0);
CHECK(offsetof(struct xenkbd_motion, rel_x), 4);
CHECK(offsetof(struct xenkbd_motion, rel_y), 8);
CHECK(offsetof(struct xenkbd_motion, rel_z), 12);
CHECK(offsetof(struct xenkbd_key, pressed), 1);
CHECK(offsetof(struct xenkbd_key, keycode), 4);
CHECK(offsetof(struct xenkbd_position, abs_x), 4);
CHECK(offsetof(struct xenkbd_position, abs_y), 8);
CHECK(offsetof(struct xenkbd_position, rel_z), 12);
CHECK(offsetof(struct xenkbd_mtouch, event_type), 1);
CHECK(offsetof(struct xenkbd_mtouch, contact_id), 2);
CHECK(offsetof(struct xenkbd_mtouch, u.pos.abs_x), 8);
CHECK(offsetof(struct xenkbd_mtouch, u.pos.abs_y), 12);
CHECK(offsetof(struct xenkbd_mtouch, u.shape.major), 8);
CHECK(offsetof(struct xenkbd_mtouch, u.shape.minor), 12);
CHECK(offsetof(struct xenkbd_mtouch, u.orientation), 8);
CHECK(sizeof(((struct xenkbd_mtouch *)0)->u.orientation), 2);
CHECK((int32_t)-1 < 0, 1); /* rel_*, abs_* are signed */

/* Types (TYPE_*, MT_EV_*) */
CHECK(XENKBD_TYPE_MOTION, 1);
CHECK(XENKBD_TYPE_RESERVED, 2);
CHECK(XENKBD_TYPE_KEY, 3);
CHECK(XENKBD_TYPE_POS, 4);
CHECK(XENKBD_TYPE_MTOUCH, 5);
CHECK(XENKBD_MT_EV_DOWN, 0);
CHECK(XENKBD_MT_EV_UP, 1);
CHECK(XENKBD_MT_EV_MOTION, 2);
CHECK(XENKBD_MT_EV_SYN, 3);
CHECK(XENKBD_MT_EV_SHAPE, 4);
CHECK(XENKBD_MT_EV_ORIENT, 5);

/* Keys (FIELD_*, DEVICE_TYPE) */
SAME(XENKBD_DRIVER_NAME, "vkbd");
SAME(XENKBD_FIELD_FEAT_DSBL_KEYBRD, "feature-disable-keyboard");
SAME(XENKBD_FIELD_FEAT_DSBL_POINTER, "feature-disable-pointer");
SAME(XENKBD_FIELD_FEAT_ABS_POINTER, "feature-abs-pointer");
SAME(XENKBD_FIELD_FEAT_RAW_POINTER, "feature-raw-pointer");
SAME(XENKBD_FIELD_FEAT_MTOUCH, "feature-multi-touch");
SAME(XENKBD_FIELD_REQ_ABS_POINTER, "request-abs-pointer");
SAME(XENKBD_FIELD_REQ_RAW_POINTER, "request-raw-pointer");
SAME(XENKBD_FIELD_REQ_MTOUCH, "request-multi-touch");
SAME(XENKBD_FIELD_RING_GREF, "page-gref");
SAME(XENKBD_FIELD_EVT_CHANNEL, "event-channel");
SAME(XENKBD_FIELD_WIDTH, "width");
SAME(XENKBD_FIELD_HEIGHT, "height");
SAME(XENKBD_FIELD_MT_WIDTH, "multi-touch-width");
SAME(XENKBD_FIELD_MT_HEIGHT, "multi-touch-height");
SAME(XENKBD_FIELD_MT_NUM_CONTACTS, "multi-touch-num-contacts");
SAME(XENKBD_FIELD_UNIQUE_ID, "unique-id");
SAME(XENKBD_FIELD_RING_REF, "page-ref");

#if __has_include("rust_values.h")
#include "rust_values.h"
CHECK(offsetof(struct xenkbd_page, in_cons), RS_IN_CONS_OFFSET);
CHECK(offsetof(struct xenkbd_page, in_prod), RS_IN_PROD_OFFSET);
CHECK(offsetof(struct xenkbd_page, out_cons), RS_OUT_CONS_OFFSET);
CHECK(offsetof(struct xenkbd_page, out_prod), RS_OUT_PROD_OFFSET);
CHECK(XENKBD_IN_EVENT_SIZE, RS_IN_EVENT_SIZE);
CHECK(XENKBD_IN_RING_SIZE, RS_IN_RING_SIZE);
CHECK(XENKBD_IN_RING_LEN, RS_IN_RING_LEN);
CHECK(XENKBD_IN_RING_OFFS, RS_IN_RING_OFFS);
CHECK(XENKBD_OUT_EVENT_SIZE, RS_OUT_EVENT_SIZE);
CHECK(XENKBD_OUT_RING_SIZE, RS_OUT_RING_SIZE);
CHECK(XENKBD_OUT_RING_LEN, RS_OUT_RING_LEN);
CHECK(XENKBD_OUT_RING_OFFS, RS_OUT_RING_OFFS);
/* XENKBD_IN_RING_REF(page, idx) is ring[idx % LEN]: in_event_offset() at a few indices */
CHECK(XENKBD_IN_RING_OFFS + (RS_IDX_A % XENKBD_IN_RING_LEN) * sizeof(union xenkbd_in_event), RS_IN_EVENT_OFFSET_A);
CHECK(XENKBD_IN_RING_OFFS + (RS_IDX_B % XENKBD_IN_RING_LEN) * sizeof(union xenkbd_in_event), RS_IN_EVENT_OFFSET_B);
CHECK(XENKBD_OUT_RING_OFFS + (RS_IDX_B % XENKBD_OUT_RING_LEN) * sizeof(union xenkbd_out_event), RS_OUT_EVENT_OFFSET_B);
CHECK(offsetof(struct xenkbd_motion, type), RS_MOTION_TYPE);
CHECK(offsetof(struct xenkbd_motion, rel_x), RS_MOTION_REL_X);
CHECK(offsetof(struct xenkbd_motion, rel_y), RS_MOTION_REL_Y);
CHECK(offsetof(struct xenkbd_motion, rel_z), RS_MOTION_REL_Z);
CHECK(offsetof(struct xenkbd_key, type), RS_KEY_TYPE);
CHECK(offsetof(struct xenkbd_key, pressed), RS_KEY_PRESSED);
CHECK(offsetof(struct xenkbd_key, keycode), RS_KEY_KEYCODE);
CHECK(offsetof(struct xenkbd_position, type), RS_POS_TYPE);
CHECK(offsetof(struct xenkbd_position, abs_x), RS_POS_ABS_X);
CHECK(offsetof(struct xenkbd_position, abs_y), RS_POS_ABS_Y);
CHECK(offsetof(struct xenkbd_position, rel_z), RS_POS_REL_Z);
CHECK(offsetof(struct xenkbd_mtouch, type), RS_MT_TYPE);
CHECK(offsetof(struct xenkbd_mtouch, event_type), RS_MT_EVENT_TYPE);
CHECK(offsetof(struct xenkbd_mtouch, contact_id), RS_MT_CONTACT_ID);
CHECK(offsetof(struct xenkbd_mtouch, u.pos.abs_x), RS_MT_ABS_X);
CHECK(offsetof(struct xenkbd_mtouch, u.pos.abs_y), RS_MT_ABS_Y);
CHECK(offsetof(struct xenkbd_mtouch, u.shape.major), RS_MT_MAJOR);
CHECK(offsetof(struct xenkbd_mtouch, u.shape.minor), RS_MT_MINOR);
CHECK(offsetof(struct xenkbd_mtouch, u.orientation), RS_MT_ORIENTATION);
CHECK(XENKBD_TYPE_MOTION, RS_TYPE_MOTION);
CHECK(XENKBD_TYPE_RESERVED, RS_TYPE_RESERVED);
CHECK(XENKBD_TYPE_KEY, RS_TYPE_KEY);
CHECK(XENKBD_TYPE_POS, RS_TYPE_POS);
CHECK(XENKBD_TYPE_MTOUCH, RS_TYPE_MTOUCH);
CHECK(XENKBD_MT_EV_DOWN, RS_MT_EV_DOWN);
CHECK(XENKBD_MT_EV_UP, RS_MT_EV_UP);
CHECK(XENKBD_MT_EV_MOTION, RS_MT_EV_MOTION);
CHECK(XENKBD_MT_EV_SYN, RS_MT_EV_SYN);
CHECK(XENKBD_MT_EV_SHAPE, RS_MT_EV_SHAPE);
CHECK(XENKBD_MT_EV_ORIENT, RS_MT_EV_ORIENT);
SAME(XENKBD_DRIVER_NAME, RS_DEVICE_TYPE);
SAME(XENKBD_FIELD_FEAT_DSBL_KEYBRD, RS_FIELD_FEAT_DSBL_KEYBRD);
SAME(XENKBD_FIELD_FEAT_DSBL_POINTER, RS_FIELD_FEAT_DSBL_POINTER);
SAME(XENKBD_FIELD_FEAT_ABS_POINTER, RS_FIELD_FEAT_ABS_POINTER);
SAME(XENKBD_FIELD_FEAT_RAW_POINTER, RS_FIELD_FEAT_RAW_POINTER);
SAME(XENKBD_FIELD_FEAT_MTOUCH, RS_FIELD_FEAT_MTOUCH);
SAME(XENKBD_FIELD_REQ_ABS_POINTER, RS_FIELD_REQ_ABS_POINTER);
SAME(XENKBD_FIELD_REQ_RAW_POINTER, RS_FIELD_REQ_RAW_POINTER);
SAME(XENKBD_FIELD_REQ_MTOUCH, RS_FIELD_REQ_MTOUCH);
SAME(XENKBD_FIELD_RING_GREF, RS_FIELD_RING_GREF);
SAME(XENKBD_FIELD_EVT_CHANNEL, RS_FIELD_EVT_CHANNEL);
SAME(XENKBD_FIELD_WIDTH, RS_FIELD_WIDTH);
SAME(XENKBD_FIELD_HEIGHT, RS_FIELD_HEIGHT);
SAME(XENKBD_FIELD_MT_WIDTH, RS_FIELD_MT_WIDTH);
SAME(XENKBD_FIELD_MT_HEIGHT, RS_FIELD_MT_HEIGHT);
SAME(XENKBD_FIELD_MT_NUM_CONTACTS, RS_FIELD_MT_NUM_CONTACTS);
SAME(XENKBD_FIELD_UNIQUE_ID, RS_FIELD_UNIQUE_ID);
SAME(XENKBD_FIELD_RING_REF, RS_FIELD_RING_REF);
#endif
