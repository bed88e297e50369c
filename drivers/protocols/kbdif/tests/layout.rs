//! The wire format: kbdif.h's numbers (tools/check-abi.sh checks them against the kernel's
//! header with clang), each event's bytes, round trips, the checks on what a backend sends,
//! the xenstore keys and values.

use kbdif_protocol::*;

#[test]
fn page_layout_is_kbdif_h() {
    assert_eq!(PAGE_SIZE, 4096);
    assert_eq!((IN_CONS_OFFSET, IN_PROD_OFFSET, OUT_CONS_OFFSET, OUT_PROD_OFFSET), (0, 4, 8, 12));
    assert_eq!((IN_EVENT_SIZE, IN_RING_SIZE, IN_RING_OFFS), (40, 2048, 1024));
    assert_eq!(IN_RING_LEN, 51); // 2048 / 40, the last 8 bytes unused
    assert_eq!((OUT_EVENT_SIZE, OUT_RING_SIZE, OUT_RING_OFFS), (40, 1024, 3072));
    assert_eq!(OUT_RING_LEN, 25);
    assert_eq!(in_event_offset(0), 1024);
    assert_eq!(in_event_offset(1), 1064);
    assert_eq!(in_event_offset(50), 1024 + 50 * 40);
    assert_eq!(in_event_offset(51), 1024);
    // The last slot ends inside the ring, the out ring inside the page.
    assert!(in_event_offset(50) + IN_EVENT_SIZE <= IN_RING_OFFS + IN_RING_SIZE);
    assert!(out_event_offset(24) + OUT_EVENT_SIZE <= PAGE_SIZE);
    assert_eq!(out_event_offset(25), OUT_RING_OFFS);
    // Indices are used modulo 51: at the wrap, u32::MAX and 0 share slot 0.
    assert_eq!(in_event_offset(u32::MAX), in_event_offset(0));
    assert_eq!(in_event_offset(u32::MAX - 1), in_event_offset(50));
}

#[test]
fn event_types_and_keys() {
    assert_eq!((TYPE_MOTION, TYPE_RESERVED, TYPE_KEY, TYPE_POS, TYPE_MTOUCH), (1, 2, 3, 4, 5));
    assert_eq!((MT_EV_DOWN, MT_EV_UP, MT_EV_MOTION, MT_EV_SYN, MT_EV_SHAPE, MT_EV_ORIENT), (0, 1, 2, 3, 4, 5));
    assert_eq!(DEVICE_TYPE, "vkbd");
    assert_eq!(FIELD_RING_GREF, "page-gref");
    assert_eq!(FIELD_RING_REF, "page-ref");
    assert_eq!(FIELD_EVT_CHANNEL, "event-channel");
    assert_eq!(FIELD_FEAT_ABS_POINTER, "feature-abs-pointer");
    assert_eq!(FIELD_REQ_ABS_POINTER, "request-abs-pointer");
    assert_eq!(FIELD_FEAT_DSBL_KEYBRD, "feature-disable-keyboard");
    assert_eq!(FIELD_FEAT_DSBL_POINTER, "feature-disable-pointer");
    assert_eq!((FIELD_WIDTH, FIELD_HEIGHT), ("width", "height"));
    assert_eq!(
        backend_keys(800, 480),
        [("feature-abs-pointer", 1), ("width", 800), ("height", 480)]
    );
}

fn bytes(pairs: &[(usize, &[u8])]) -> [u8; IN_EVENT_SIZE] {
    let mut b = [0u8; IN_EVENT_SIZE];
    for &(at, v) in pairs {
        b[at..at + v.len()].copy_from_slice(v);
    }
    b
}

#[test]
fn key_wire_format() {
    let ev = InEvent::Key { pressed: true, keycode: 0x0403_0201 };
    let b = bytes(&[(0, &[3, 1]), (4, &[1, 2, 3, 4])]);
    assert_eq!(ev.encode(), b);
    assert_eq!(InEvent::decode(&b), ev);
    let up = InEvent::Key { pressed: false, keycode: 28 };
    assert_eq!(up.encode(), bytes(&[(0, &[3, 0]), (4, &[28])]));
    // Any non-zero `pressed` is pressed; reserved bytes are ignored.
    let mut b = up.encode();
    b[1] = 2;
    b[2] = 0xff;
    b[39] = 0xff;
    assert_eq!(InEvent::decode(&b), InEvent::Key { pressed: true, keycode: 28 });
}

#[test]
fn motion_and_position_wire_format() {
    let m = InEvent::Motion { rel_x: -1, rel_y: 2, rel_z: -3 };
    let b = bytes(&[(0, &[1]), (4, &(-1i32).to_le_bytes()), (8, &[2]), (12, &(-3i32).to_le_bytes())]);
    assert_eq!(m.encode(), b);
    assert_eq!(InEvent::decode(&b), m);
    let p = InEvent::Position { abs_x: 799, abs_y: 479, rel_z: 1 };
    let b = bytes(&[(0, &[4]), (4, &799i32.to_le_bytes()), (8, &479i32.to_le_bytes()), (12, &[1])]);
    assert_eq!(p.encode(), b);
    assert_eq!(InEvent::decode(&b), p);
}

#[test]
fn multi_touch_wire_format() {
    let down = InEvent::MultiTouch { contact_id: 3, event: MtEvent::Down { abs_x: 10, abs_y: -20 } };
    let b = bytes(&[(0, &[5, 0, 3]), (8, &[10]), (12, &(-20i32).to_le_bytes())]);
    assert_eq!(down.encode(), b);
    assert_eq!(InEvent::decode(&b), down);
    let shape = InEvent::MultiTouch { contact_id: 0, event: MtEvent::Shape { major: 0xffff_fffe, minor: 5 } };
    assert_eq!(shape.encode(), bytes(&[(0, &[5, 4]), (8, &[0xfe, 0xff, 0xff, 0xff]), (12, &[5])]));
    let orient = InEvent::MultiTouch { contact_id: 1, event: MtEvent::Orient { orientation: -90 } };
    assert_eq!(orient.encode(), bytes(&[(0, &[5, 5, 1]), (8, &(-90i16).to_le_bytes())]));
    for ev in [MtEvent::Up, MtEvent::Syn, MtEvent::Motion { abs_x: 1, abs_y: 2 }, MtEvent::Other(9)] {
        let e = InEvent::MultiTouch { contact_id: 7, event: ev };
        assert_eq!(InEvent::decode(&e.encode()), e);
    }
}

#[test]
fn unknown_events_decode_as_other() {
    assert_eq!(InEvent::decode(&[0; 40]), InEvent::Other(0));
    assert_eq!(InEvent::decode(&bytes(&[(0, &[2])])), InEvent::Other(TYPE_RESERVED));
    assert_eq!(InEvent::decode(&bytes(&[(0, &[0xff, 1, 2, 3])])), InEvent::Other(0xff));
    assert_eq!(InEvent::Other(9).encode(), bytes(&[(0, &[9])]));
    assert_eq!(InEvent::from_bytes(&[0; 39]), None);
    assert_eq!(InEvent::from_bytes(&[3; 41]), Some(InEvent::Key { pressed: true, keycode: 0x0303_0303 }));
}

#[test]
fn backends_send_only_what_linux_handles() {
    let key = |keycode| InEvent::Key { pressed: true, keycode };
    assert_eq!(key(1).check(), Ok(()));
    assert_eq!(key(KEY_MAX).check(), Ok(()));
    assert_eq!(key(0).check(), Err(EventError::Keycode(0)));
    assert_eq!(key(KEY_MAX + 1).check(), Err(EventError::Keycode(0x300)));
    assert_eq!(key(u32::MAX).check(), Err(EventError::Keycode(u32::MAX)));
    let wheel = InEvent::Motion { rel_x: 0, rel_y: 0, rel_z: i32::MIN };
    assert_eq!(wheel.check(), Err(EventError::Wheel(i32::MIN)));
    let pos = InEvent::Position { abs_x: 0, abs_y: 0, rel_z: i32::MIN };
    assert_eq!(pos.check(), Err(EventError::Wheel(i32::MIN)));
    assert_eq!(InEvent::Position { abs_x: -1, abs_y: 0, rel_z: i32::MAX }.check(), Ok(()));
    let orient = |orientation| InEvent::MultiTouch { contact_id: 0, event: MtEvent::Orient { orientation } };
    assert_eq!(orient(180).check(), Ok(()));
    assert_eq!(orient(-180).check(), Ok(()));
    assert_eq!(orient(181).check(), Err(EventError::Orientation(181)));
    let other_mt = InEvent::MultiTouch { contact_id: 0, event: MtEvent::Other(6) };
    assert_eq!(other_mt.check(), Err(EventError::MtEventType(6)));
    assert_eq!(InEvent::Other(TYPE_RESERVED).check(), Err(EventError::Type(2)));
    assert_eq!(EventError::Keycode(0x300).to_string(), "key code 0x300 outside 1..=0x2ff");
}

#[test]
fn keys_linux_frontend_reports() {
    // xen-kbdfront: keyboard KEY_ESC..KEY_UNKNOWN and KEY_OK..KEY_MAX, pointer BTN_LEFT..=BTN_TASK.
    let handled: Vec<u32> = (0..=0x300).filter(|&k| linux_frontend_handles_key(k)).collect();
    assert_eq!(handled.len(), (240 - 1) + (0x117 - 0x110 + 1) + (0x2ff - 0x160));
    for k in [1, 28, 239, 0x110, 0x117, 0x160, 0x2fe] {
        assert!(linux_frontend_handles_key(k), "{k:#x}");
    }
    for k in [0, 240, 0x10f, 0x118, 0x15f, 0x2ff, 0x300, u32::MAX] {
        assert!(!linux_frontend_handles_key(k), "{k:#x}");
    }
    // Everything Linux handles passes the check.
    assert!(handled.iter().all(|&k| InEvent::Key { pressed: false, keycode: k }.check().is_ok()));
}

#[test]
fn xenstore_values() {
    assert_eq!(parse_uint(b"0"), Some(0));
    assert_eq!(parse_uint(b"4294967295"), Some(u32::MAX));
    assert_eq!(parse_uint(b"4294967296"), None);
    assert_eq!(parse_uint(b"00000000001"), None);
    for bad in [&b""[..], b"-1", b"+1", b" 1", b"1 ", b"0x10", b"1\0"] {
        assert_eq!(parse_uint(bad), None, "{bad:?}");
    }
    assert!(!feature_enabled(None));
    assert!(!feature_enabled(Some(b"0")));
    assert!(!feature_enabled(Some(b"yes")));
    assert!(feature_enabled(Some(b"1")));
    assert!(feature_enabled(Some(b"2")));
    assert_eq!(parse_event_channel(b"0"), None);
    assert_eq!(parse_event_channel(b"17"), Some(17));
    assert_eq!(parse_grant_ref(b"0"), Some(0));
    assert_eq!(parse_grant_ref(b"8"), Some(8));
    assert!(frontend_ready(3) && frontend_ready(4));
    for s in [0, 1, 2, 5, 6, 7, 8, 99] {
        assert!(!frontend_ready(s), "{s}");
    }
}

#[test]
fn slot_reuse_across_the_wrap() {
    // 2^32 mod 51 = 1: only index 0 shares a slot (0) with the index before it (u32::MAX).
    assert!(slot_reused_across_wrap(0, 1, IN_RING_LEN));
    assert!(slot_reused_across_wrap(0, 50, IN_RING_LEN));
    assert!(!slot_reused_across_wrap(0, 0, IN_RING_LEN));
    assert!(!slot_reused_across_wrap(1, 50, IN_RING_LEN));
    assert!(!slot_reused_across_wrap(u32::MAX, 50, IN_RING_LEN));
    // 2^32 mod 25 = 21 for the out ring (and fbif's in ring).
    assert!(slot_reused_across_wrap(0, 21, OUT_RING_LEN));
    assert!(slot_reused_across_wrap(20, 24, OUT_RING_LEN));
    assert!(!slot_reused_across_wrap(0, 20, OUT_RING_LEN));
    assert!(!slot_reused_across_wrap(21, 24, OUT_RING_LEN));
    // Powers of two never collide.
    assert!(!slot_reused_across_wrap(0, 31, 32));
    assert!(!slot_reused_across_wrap(0, 5, 0));
    // Every ring length, by brute force: drivers/protocols/common/tests/ring_index.rs.
}
