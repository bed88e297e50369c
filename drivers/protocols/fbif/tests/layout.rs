//! The wire format: fbif.h's numbers (tools/check-abi.sh checks them against the kernel's
//! header with clang), the geometry fields and page directory, each event's bytes, the
//! xenstore keys and values, and what xen-fbfront makes of the backend's keys.

use fbif_protocol::*;

#[test]
fn page_layout_is_fbif_h_on_64_bit() {
    assert_eq!(PAGE_SIZE, 4096);
    assert_eq!((IN_CONS_OFFSET, IN_PROD_OFFSET, OUT_CONS_OFFSET, OUT_PROD_OFFSET), (0, 4, 8, 12));
    assert_eq!((WIDTH_OFFSET, HEIGHT_OFFSET, LINE_LENGTH_OFFSET, MEM_LENGTH_OFFSET, DEPTH_OFFSET), (16, 20, 24, 28, 32));
    assert_eq!((PD_OFFSET, PD_ENTRY_SIZE, PD_LEN, HEADER_SIZE), (40, 8, 256, 24));
    assert_eq!(PAGE_STRUCT_SIZE, 2088);
    assert_eq!((IN_EVENT_SIZE, IN_RING_SIZE, IN_RING_LEN, IN_RING_OFFS), (40, 1024, 25, 1024));
    assert_eq!((OUT_EVENT_SIZE, OUT_RING_SIZE, OUT_RING_LEN, OUT_RING_OFFS), (40, 2048, 51, 2048));
    // struct xenfb_page runs into the rings: only pd[0..123] are the directory's.
    assert!(PAGE_STRUCT_SIZE > IN_RING_OFFS);
    assert_eq!(PD_USABLE, 123);
    assert_eq!(pd_entry_offset(0), Some(40));
    assert_eq!(pd_entry_offset(122), Some(40 + 122 * 8));
    assert!(40 + 122 * 8 + 8 <= IN_RING_OFFS);
    assert_eq!(pd_entry_offset(123), None);
    assert_eq!(pd_entry_offset(u32::MAX), None);
    assert_eq!(FRAMES_PER_PD_PAGE, 512);
    assert_eq!(MAX_MEM_LENGTH, 123 * 512 * 4096);
    assert_eq!(in_event_offset(25), 1024);
    assert_eq!(out_event_offset(50) + 40, 2048 + 51 * 40);
    assert!(out_event_offset(50) + 40 <= PAGE_SIZE);
    assert_eq!(out_event_offset(u32::MAX), out_event_offset(0)); // 2^32 mod 51 = 1
    assert_eq!(in_event_offset(u32::MAX), in_event_offset(20)); // 2^32 mod 25 = 21
}

#[test]
fn page_directory_arithmetic() {
    assert_eq!(frames_for(0), 0);
    assert_eq!(frames_for(1), 1);
    assert_eq!(frames_for(4096), 1);
    assert_eq!(frames_for(4097), 2);
    assert_eq!(frames_for(2 << 20), 512);
    assert_eq!(frames_for(u32::MAX), 1 << 20);
    assert_eq!(pd_pages_for(0), 0);
    assert_eq!(pd_pages_for(512), 1);
    assert_eq!(pd_pages_for(513), 2);
    assert_eq!(frame_entry(0), (0, 0));
    assert_eq!(frame_entry(511), (0, 511 * 8));
    assert_eq!(frame_entry(512), (1, 0));
    assert_eq!(frame_entry(1000), (1, 488 * 8));
    assert_eq!(decode_frame_number([1, 2, 3, 4, 5, 6, 7, 8]), 0x0807_0605_0403_0201);
}

#[test]
fn geometry_fields_wire_format() {
    let info = PageInfo { width: 800, height: 480, line_length: 3200, mem_length: 2 << 20, depth: 32 };
    let b = info.encode();
    assert_eq!(&b[0..4], &800i32.to_le_bytes());
    assert_eq!(&b[4..8], &480i32.to_le_bytes());
    assert_eq!(&b[8..12], &3200u32.to_le_bytes());
    assert_eq!(&b[12..16], &(2u32 << 20).to_le_bytes());
    assert_eq!(b[16], 32);
    assert!(b[17..].iter().all(|&x| x == 0));
    assert_eq!(PageInfo::decode(&b), info);
    let neg = PageInfo { width: -1, height: i32::MIN, ..info };
    assert_eq!(PageInfo::decode(&neg.encode()), neg);
}

#[test]
fn out_events_wire_format() {
    let u = OutEvent::Update(Update { x: 1, y: -2, width: 3, height: 0x0a0b_0c0d });
    let mut b = [0u8; 40];
    b[0] = 2;
    b[4..8].copy_from_slice(&1i32.to_le_bytes());
    b[8..12].copy_from_slice(&(-2i32).to_le_bytes());
    b[12..16].copy_from_slice(&3i32.to_le_bytes());
    b[16..20].copy_from_slice(&0x0a0b_0c0di32.to_le_bytes());
    assert_eq!(u.encode(), b);
    assert_eq!(OutEvent::decode(&b), u);
    let r = OutEvent::Resize(Resize { width: 640, height: 480, stride: 3200, depth: 32, offset: 4096 });
    let mut b = [0u8; 40];
    b[0] = 3;
    for (at, v) in [(4, 640), (8, 480), (12, 3200), (16, 32), (20, 4096)] {
        b[at..at + 4].copy_from_slice(&i32::to_le_bytes(v));
    }
    assert_eq!(r.encode(), b);
    assert_eq!(OutEvent::decode(&b), r);
    assert_eq!(OutEvent::decode(&[0; 40]), OutEvent::Other(0));
    assert_eq!(OutEvent::decode(&[1; 40]), OutEvent::Other(1)); // type 1 is not used
    assert_eq!(OutEvent::Other(9).encode()[..2], [9, 0]);
    assert_eq!(OutEvent::from_bytes(&[0; 39]), None);
    assert_eq!(OutEvent::from_bytes(&b), Some(r));
    assert_eq!((TYPE_UPDATE, TYPE_RESIZE), (2, 3));
}

#[test]
fn in_events_wire_format() {
    let ev = InEvent::RefreshPeriod { period_ms: 0x0102_0304 };
    let mut b = [0u8; 40];
    b[0] = 1;
    b[4..8].copy_from_slice(&[4, 3, 2, 1]);
    assert_eq!(ev.encode(), b);
    assert_eq!(InEvent::decode(&b), ev);
    assert_eq!(InEvent::decode(&[7; 40]), InEvent::Other(7));
    assert_eq!((TYPE_REFRESH_PERIOD, NO_REFRESH), (1, 0));
}

#[test]
fn keys() {
    assert_eq!(DEVICE_TYPE, "vfb");
    assert_eq!(
        [FIELD_PAGE_REF, FIELD_EVENT_CHANNEL, FIELD_PROTOCOL, FIELD_FEATURE_UPDATE],
        ["page-ref", "event-channel", "protocol", "feature-update"]
    );
    assert_eq!(
        [FIELD_REQUEST_UPDATE, FIELD_FEATURE_RESIZE, FIELD_WIDTH, FIELD_HEIGHT, FIELD_VIDEORAM],
        ["request-update", "feature-resize", "width", "height", "videoram"]
    );
    assert_eq!(PROTOCOL_ARM, "arm-abi");
    assert_eq!(
        backend_keys(DEFAULT_WIDTH, DEFAULT_HEIGHT, DEFAULT_VIDEORAM_MIB),
        [("width", 800), ("height", 480), ("videoram", 2), ("request-update", 1)]
    );
}

#[test]
fn xenstore_values() {
    assert_eq!(parse_uint(b"4294967295"), Some(u32::MAX));
    assert_eq!(parse_uint(b"4294967296"), None);
    for bad in [&b""[..], b"-1", b"+1", b" 1", b"1 ", b"0x10"] {
        assert_eq!(parse_uint(bad), None, "{bad:?}");
        assert_eq!(parse_page_ref(bad), None, "{bad:?}");
    }
    assert_eq!(parse_page_ref(b"18446744073709551615"), Some(u64::MAX));
    assert_eq!(parse_page_ref(b"18446744073709551616"), None);
    assert_eq!(parse_page_ref(b"0"), None);
    assert_eq!(parse_page_ref(b"262144"), Some(0x40000));
    assert_eq!(parse_event_channel(b"0"), None);
    assert_eq!(parse_event_channel(b"9"), Some(9));
    assert!(feature_enabled(Some(b"1")) && !feature_enabled(Some(b"0")) && !feature_enabled(None));
    assert!(protocol_is_native(None));
    assert!(protocol_is_native(Some(b"arm-abi")));
    assert!(!protocol_is_native(Some(b"x86_32-abi")));
    assert!(!protocol_is_native(Some(b"arm-abi\0")));
    assert!(frontend_ready(3) && frontend_ready(4) && !frontend_ready(2) && !frontend_ready(6));
}

#[test]
fn what_xen_fbfront_makes_of_our_keys() {
    // Ours: 800x480 in xen-fbfront's whole 2 MiB.
    let ours = linux_frontend_geometry(Some(DEFAULT_VIDEORAM_MIB), Some(DEFAULT_WIDTH), Some(DEFAULT_HEIGHT));
    assert_eq!(ours, Some(LinuxGeometry { width: 800, height: 480, line_length: 3200, mem_length: 2 << 20 }));
    // Its validation accepts that, with the default limit.
    let info = PageInfo { width: 800, height: 480, line_length: 3200, mem_length: 2 << 20, depth: 32 };
    let layout = Layout::from_page(&info, DEFAULT_VIDEORAM_MIB << 20).unwrap();
    assert_eq!((layout.frames(), layout.pd_pages()), (512, 1));
    // No keys: 800x600 in 2 MiB.
    assert_eq!(
        linux_frontend_geometry(None, None, None),
        Some(LinuxGeometry { width: 800, height: 600, line_length: 3200, mem_length: 2 << 20 })
    );
    // videoram only lowers the default: 8 MiB still gives 2.
    assert_eq!(linux_frontend_geometry(Some(8), Some(1024), Some(512)).unwrap().mem_length, 2 << 20);
    // A size that does not fit: the defaults, and a framebuffer of exactly 800x600x4.
    assert_eq!(
        linux_frontend_geometry(Some(1), Some(800), Some(480)),
        Some(LinuxGeometry { width: 800, height: 600, line_length: 3200, mem_length: 1_920_000 })
    );
    assert_eq!(linux_frontend_geometry(Some(2), Some(1024), Some(768)).unwrap().height, 600);
    // videoram 0: defaults again (and then 1.92 MB, more than "0 MiB").
    assert_eq!(linux_frontend_geometry(Some(0), None, None).unwrap().mem_length, 1_920_000);
    // Values Linux's int arithmetic does not survive.
    assert_eq!(linux_frontend_geometry(None, Some(1 << 16), Some(1 << 16)), None);
    assert_eq!(linux_frontend_geometry(Some(u32::MAX), None, None), None);
}

#[test]
fn modes_are_validated() {
    let m = Mode::new(800, 480, 3200, 32, 0, 2 << 20).unwrap();
    assert_eq!((m.width(), m.height(), m.stride(), m.depth(), m.bytes_per_pixel(), m.offset(), m.mem_length()), (800, 480, 3200, 32, 4, 0, 2 << 20));
    assert_eq!(m.full(), Rect { x: 0, y: 0, width: 800, height: 480 });
    // Exactly fitting.
    assert!(Mode::new(800, 480, 3200, 32, 0, 800 * 480 * 4).is_ok());
    assert_eq!(
        Mode::new(800, 480, 3200, 32, 1, 800 * 480 * 4),
        Err(GeometryError::TooBig { end: 800 * 480 * 4 + 1, mem_length: 800 * 480 * 4 })
    );
    // The last row needs only its pixels, not a whole stride.
    assert!(Mode::new(10, 2, 100, 8, 0, 110).is_ok());
    assert!(Mode::new(10, 2, 100, 8, 0, 109).is_err());
    for depth in [8, 16, 24, 32] {
        assert!(Mode::new(4, 4, 16, depth, 0, 64).is_ok(), "{depth}");
    }
    for depth in [0, 1, 4, 15, 33, 64, -32] {
        assert_eq!(Mode::new(4, 4, 16, depth, 0, 64), Err(GeometryError::Depth(depth)));
    }
    assert_eq!(Mode::new(0, 4, 16, 32, 0, 64), Err(GeometryError::Size { width: 0, height: 4 }));
    assert_eq!(Mode::new(4, -1, 16, 32, 0, 64), Err(GeometryError::Size { width: 4, height: -1 }));
    assert!(matches!(Mode::new(1 << 32, 1, 1 << 34, 32, 0, u32::MAX), Err(GeometryError::Size { .. })));
    assert_eq!(Mode::new(4, 4, 15, 32, 0, 64), Err(GeometryError::Stride { stride: 15, row: 16 }));
    assert_eq!(Mode::new(4, 4, -16, 32, 0, 64), Err(GeometryError::Stride { stride: -16, row: 16 }));
    assert_eq!(Mode::new(4, 1, 1 << 33, 32, 0, 64), Err(GeometryError::Stride { stride: 1 << 33, row: 16 }));
    assert_eq!(Mode::new(4, 4, 16, 32, -1, 64), Err(GeometryError::Offset(-1)));
    // Huge values do not overflow: they are just too big.
    let e = Mode::new(i64::from(i32::MAX), i64::from(i32::MAX), i64::from(u32::MAX), 32, i64::from(u32::MAX), u32::MAX);
    assert!(matches!(e, Err(GeometryError::Stride { .. })));
    let e = Mode::new(1 << 29, i64::from(u32::MAX), i64::from(u32::MAX), 32, i64::from(u32::MAX), u32::MAX);
    assert!(matches!(e, Err(GeometryError::TooBig { .. })));
    let e = Mode::new(1, i64::from(u32::MAX), i64::from(u32::MAX), 8, i64::from(u32::MAX), u32::MAX);
    let end = (1u128 << 32) - 1 + ((1u128 << 32) - 1) * ((1u128 << 32) - 2) + 1;
    assert_eq!(e, Err(GeometryError::TooBig { end: end as u64, mem_length: u32::MAX }));
}

#[test]
fn the_pages_geometry_is_validated_before_mapping() {
    let good = PageInfo { width: 800, height: 480, line_length: 3200, mem_length: 2 << 20, depth: 32 };
    let l = Layout::from_page(&good, 2 << 20).unwrap();
    assert_eq!(l.mode(), Mode::new(800, 480, 3200, 32, 0, 2 << 20).unwrap());
    assert_eq!((l.frames_in_pd_page(0), l.frames_in_pd_page(1)), (512, 0));
    // Above the backend's videoram.
    assert_eq!(
        Layout::from_page(&good, 1 << 20),
        Err(GeometryError::MemLength { mem_length: 2 << 20, max: 1 << 20 })
    );
    // Above what the directory can describe, whatever the backend allows.
    let huge = PageInfo { mem_length: MAX_MEM_LENGTH + 1, ..good };
    assert_eq!(
        Layout::from_page(&huge, u32::MAX),
        Err(GeometryError::MemLength { mem_length: MAX_MEM_LENGTH + 1, max: MAX_MEM_LENGTH })
    );
    let max = Layout::from_page(&PageInfo { mem_length: MAX_MEM_LENGTH, ..good }, u32::MAX).unwrap();
    assert_eq!((max.frames(), max.pd_pages()), (123 * 512, 123));
    // A partial last directory page.
    let odd = Layout::from_page(&PageInfo { mem_length: 3 << 20, ..good }, 4 << 20).unwrap();
    assert_eq!((odd.frames(), odd.pd_pages()), (768, 2));
    assert_eq!((odd.frames_in_pd_page(0), odd.frames_in_pd_page(1), odd.frames_in_pd_page(2)), (512, 256, 0));
    // Each of the fields.
    for (bad, why) in [
        (PageInfo { width: -800, ..good }, "negative width"),
        (PageInfo { height: 0, ..good }, "zero height"),
        (PageInfo { line_length: 3199, ..good }, "short line"),
        (PageInfo { depth: 31, ..good }, "odd depth"),
        (PageInfo { mem_length: 800 * 480 * 4 - 1, ..good }, "short memory"),
        (PageInfo { height: 656, ..good }, "more rows than memory"),
    ] {
        assert!(Layout::from_page(&bad, 2 << 20).is_err(), "{why}");
    }
}

#[test]
fn errors_display() {
    assert_eq!(GeometryError::Depth(7).to_string(), "unsupported depth 7");
    assert_eq!(
        GeometryError::MemLength { mem_length: 5, max: 4 }.to_string(),
        "framebuffer of 5 bytes, above the limit of 4"
    );
    assert_eq!(UpdateError::Negative { width: -1, height: 2 }.to_string(), "negative size -1x2");
    assert_eq!(EventError::ResizeNotOffered.to_string(), "resize without feature-resize");
    assert_eq!(EventError::Type(1).to_string(), "unknown out event type 1");
    assert_eq!(
        RingError::BadProducerIndex { prod: 99, cons: 1 }.to_string(),
        "bogus producer index 99 (consumed 1)"
    );
    assert_eq!(PushError::Full.to_string(), "ring full");
}
