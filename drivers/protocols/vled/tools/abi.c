/*
 * The vled layout (docs/protocols/vled.md's C block, as vledif.h) laid out by the kernel's
 * DEFINE_RING_TYPES and compiled for aarch64. Run by check-abi.sh. Every number is also a
 * constant of src/ring.rs, checked by tests/layout.rs.
 */
#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/interface/io/ring.h>
#include <xen/interface/io/xenbus.h>
#include "vledif.h"

#define CHECK(expr, val) _Static_assert((expr) == (val), #expr " != " #val)

/* The shared page: struct vled_sring (src/ring.rs *_OFFSET, PAD_SIZE, RING_SIZE). */
CHECK(offsetof(struct vled_sring, req_prod), 0);
CHECK(offsetof(struct vled_sring, req_event), 4);
CHECK(offsetof(struct vled_sring, rsp_prod), 8);
CHECK(offsetof(struct vled_sring, rsp_event), 12);
CHECK(offsetof(struct vled_sring, __pad), 16);
CHECK(sizeof(((struct vled_sring *)0)->__pad), 48);
CHECK(offsetof(struct vled_sring, ring), 64);
CHECK(sizeof(union vled_sring_entry), 12);
CHECK(VLED_RING_SIZE, 256);
CHECK(offsetof(struct vled_sring, ring) + VLED_RING_SIZE * sizeof(union vled_sring_entry), 3136);

/* struct vled_request (REQUEST_SIZE, Request::encode) */
CHECK(sizeof(struct vled_request), 12);
CHECK(offsetof(struct vled_request, id), 0);
CHECK(offsetof(struct vled_request, operation), 4);
CHECK(offsetof(struct vled_request, reserved), 5);
CHECK(offsetof(struct vled_request, led), 6);
CHECK(offsetof(struct vled_request, brightness), 8);

/* struct vled_response (RESPONSE_SIZE, Response::encode) */
CHECK(sizeof(struct vled_response), 12);
CHECK(offsetof(struct vled_response, id), 0);
CHECK(offsetof(struct vled_response, operation), 4);
CHECK(offsetof(struct vled_response, reserved), 5);
CHECK(offsetof(struct vled_response, status), 6);
CHECK(sizeof(((struct vled_response *)0)->status), 2);
CHECK(offsetof(struct vled_response, brightness), 8);
CHECK((int16_t)-1 < 0, 1); /* status is signed */

/* Operations and statuses (OP_*, STATUS_*) */
CHECK(VLED_OP_SET_BRIGHTNESS, 1);
CHECK(VLED_OP_GET_BRIGHTNESS, 2);
CHECK(VLED_STATUS_OK, 0);
CHECK(VLED_STATUS_BAD_REQUEST, -1);
CHECK(VLED_STATUS_UNKNOWN_LED, -2);
CHECK(VLED_STATUS_BAD_BRIGHTNESS, -3);
CHECK(VLED_STATUS_UNAVAILABLE, -4);
CHECK(VLED_STATUS_IO_ERROR, -5);

/* Limits (MAX_*) */
CHECK(VLED_MAX_LEDS, 64);
CHECK(VLED_MAX_NAME_LEN, 63);
CHECK(VLED_MAX_BRIGHTNESS_LIMIT, 0x7fffffff);
CHECK(VLED_MAX_CONNECT_ATTEMPTS, 3);

/* Key names (FIELD_*, DEVICE_TYPE); clang folds __builtin_strcmp of literals. */
#define SAME(a, b) _Static_assert(__builtin_strcmp(a, b) == 0, #a " != " b)
SAME(VLED_DEVICE_TYPE, "vled");
SAME(VLED_FIELD_RING_REF, "ring-ref");
SAME(VLED_FIELD_EVENT_CHANNEL, "event-channel");
SAME(VLED_FIELD_NR_LEDS, "nr-leds");
SAME(VLED_FIELD_MAX_BRIGHTNESS, "max-brightness");
SAME(VLED_FIELD_NAME_PREFIX, "name-");
SAME(VLED_FIELD_MAX_BRIGHTNESS_PREFIX, "max-brightness-");

/* xenbus states (XenbusState) */
CHECK(XenbusStateUnknown, 0);
CHECK(XenbusStateInitialising, 1);
CHECK(XenbusStateInitWait, 2);
CHECK(XenbusStateInitialised, 3);
CHECK(XenbusStateConnected, 4);
CHECK(XenbusStateClosing, 5);
CHECK(XenbusStateClosed, 6);
CHECK(XenbusStateReconfiguring, 7);
CHECK(XenbusStateReconfigured, 8);
