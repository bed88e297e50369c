//! The wire format: the numbers docs/protocols/vled.md gives (and tools/check-abi.sh checks
//! against the kernel's ring.h with clang), encode/decode round trips, statuses, request
//! checks, xenstore values.

use proptest::prelude::*;
use vled_protocol::*;

#[test]
fn page_layout_is_define_ring_types_on_a_4k_page() {
    assert_eq!(PAGE_SIZE, 4096);
    assert_eq!(
        (REQ_PROD_OFFSET, REQ_EVENT_OFFSET, RSP_PROD_OFFSET, RSP_EVENT_OFFSET),
        (0, 4, 8, 12)
    );
    assert_eq!((PAD_OFFSET, PAD_SIZE, RING_OFFSET), (16, 48, 64));
    assert_eq!((REQUEST_SIZE, RESPONSE_SIZE, ENTRY_SIZE), (12, 12, 12));
    // (4096 - 64) / 12 = 336 entries fit, rounded down to 256.
    assert_eq!(RING_SIZE, 256);
    assert_eq!(RING_END, 64 + 256 * 12);
    assert_eq!(RING_END, 3136);
    assert_eq!(entry_offset(0), 64);
    assert_eq!(entry_offset(1), 76);
    assert_eq!(entry_offset(255), 64 + 255 * 12);
    assert_eq!(entry_offset(256), 64);
    assert_eq!(entry_offset(u32::MAX), 64 + 255 * 12);
}

#[test]
fn ring_size_is_xens_const_ring_size() {
    // __CONST_RING_SIZE for a few known protocols on a 4 KiB page.
    assert_eq!(ring_size(4096, 12), 256);
    assert_eq!(ring_size(4096, 8), 256); // 504 fit
    assert_eq!(ring_size(4096, 16), 128); // 252 fit
    assert_eq!(ring_size(4096, 112), 32); // blkif (112-byte requests)
    assert_eq!(ring_size(4096, 4032), 1);
    assert_eq!(ring_size(4096, 4033), 0);
    assert_eq!(ring_size(64, 1), 0);
    assert_eq!(ring_size(4096, 0), 0);
}

#[test]
fn names_and_keys() {
    assert_eq!(DEVICE_TYPE, "vled");
    assert_eq!(FIELD_RING_REF, "ring-ref");
    assert_eq!(FIELD_EVENT_CHANNEL, "event-channel");
    assert_eq!(FIELD_NR_LEDS, "nr-leds");
    assert_eq!(FIELD_MAX_BRIGHTNESS, "max-brightness");
    assert_eq!(format!("{FIELD_NAME_PREFIX}{}", 5), "name-5");
    assert_eq!(format!("{FIELD_MAX_BRIGHTNESS_PREFIX}{}", 0), "max-brightness-0");
}

#[test]
fn request_wire_format() {
    let req = Request { id: 0x0403_0201, operation: 1, reserved: 0, led: 0x0605, brightness: 0x0a09_0807 };
    let bytes = [1, 2, 3, 4, 1, 0, 5, 6, 7, 8, 9, 10];
    assert_eq!(req.encode(), bytes);
    assert_eq!(Request::decode(&bytes), req);
    assert_eq!(Request::from_bytes(&bytes), Some(req));
    assert_eq!(Request::from_bytes(&[0; 13]), Some(Request::default()));
    assert_eq!(Request::from_bytes(&bytes[..11]), None);
    assert_eq!(Request::set(3, 1).encode(), [0, 0, 0, 0, 1, 0, 3, 0, 1, 0, 0, 0]);
    assert_eq!(Request::get(5).encode(), [0, 0, 0, 0, 2, 0, 5, 0, 0, 0, 0, 0]);
}

#[test]
fn response_wire_format() {
    let rsp = Response { id: 7, operation: 2, reserved: 0, status: -4, brightness: 0x0102_0304 };
    let bytes = [7, 0, 0, 0, 2, 0, 0xfc, 0xff, 4, 3, 2, 1];
    assert_eq!(rsp.encode(), bytes);
    assert_eq!(Response::decode(&bytes), rsp);
    assert_eq!(Response::from_bytes(&bytes), Some(rsp));
    assert_eq!(Response::from_bytes(&bytes[..3]), None);
    assert_eq!(rsp.status(), Status::Unavailable);
}

#[test]
fn answers_echo_id_and_operation() {
    let req = Request { id: 99, ..Request::set(2, 1) };
    let ok = Response::answer(&req, Status::Ok, 1);
    assert_eq!((ok.id, ok.operation, ok.status, ok.brightness), (99, OP_SET_BRIGHTNESS, 0, 1));
    // Failures carry brightness 0 whatever the caller says.
    let failed = Response::answer(&req, Status::IoError, 1);
    assert_eq!((failed.id, failed.status, failed.brightness), (99, STATUS_IO_ERROR, 0));
}

#[test]
fn statuses() {
    let all = [
        (Status::Ok, 0),
        (Status::BadRequest, -1),
        (Status::UnknownLed, -2),
        (Status::BadBrightness, -3),
        (Status::Unavailable, -4),
        (Status::IoError, -5),
    ];
    for (s, v) in all {
        assert_eq!(s.to_wire(), v);
        assert_eq!(Status::from_wire(v), s);
        assert_eq!(s.is_ok(), v == 0);
    }
    assert_eq!(Status::from_wire(-6), Status::Other(-6));
    assert_eq!(Status::from_wire(1), Status::Other(1));
    assert!(!Status::Other(1).is_ok());
    assert_eq!(Status::Other(-2).name(), "unknown LED");
    assert_eq!(Status::Unavailable.to_string(), "LED unavailable (-4)");
    assert_eq!(Status::Other(42).to_string(), "unknown status (42)");
}

#[test]
fn request_checks_in_order() {
    let max = |led: u16| if led == 1 { 255 } else { 1 };
    let check = |req: Request| check_request(&req, 6, max);
    assert_eq!(check(Request::set(0, 1)), Ok(Command::Set { led: 0, brightness: 1 }));
    assert_eq!(check(Request::set(5, 0)), Ok(Command::Set { led: 5, brightness: 0 }));
    assert_eq!(check(Request::set(1, 255)), Ok(Command::Set { led: 1, brightness: 255 }));
    assert_eq!(check(Request::get(4)), Ok(Command::Get { led: 4 }));
    assert_eq!(check(Request::set(0, 2)), Err(Status::BadBrightness));
    assert_eq!(check(Request::set(1, 256)), Err(Status::BadBrightness));
    assert_eq!(check(Request::set(0, u32::MAX)), Err(Status::BadBrightness));
    assert_eq!(check(Request::set(6, 0)), Err(Status::UnknownLed));
    assert_eq!(check(Request::get(u16::MAX)), Err(Status::UnknownLed));
    // Bad request comes first: unknown operation, reserved byte, brightness in a get.
    for op in [0, 3, 0xff] {
        assert_eq!(check(Request { operation: op, ..Request::set(99, 99) }), Err(Status::BadRequest));
    }
    assert_eq!(check(Request { reserved: 1, ..Request::set(0, 0) }), Err(Status::BadRequest));
    assert_eq!(check(Request { brightness: 1, ..Request::get(0) }), Err(Status::BadRequest));
    // The maximum is only asked for LEDs that exist.
    let strict = |led: u16| {
        assert!(led < 2);
        1
    };
    assert_eq!(check_request(&Request::set(7, 0), 2, strict), Err(Status::UnknownLed));
    // A zero-filled entry is not a valid request.
    assert_eq!(check(Request::default()), Err(Status::BadRequest));
    // Commands give back their request.
    assert_eq!(Command::Set { led: 3, brightness: 1 }.request(), Request::set(3, 1));
    assert_eq!(Command::Get { led: 3 }.request(), Request::get(3));
}

#[test]
fn xenstore_values() {
    assert_eq!(parse_uint(b"0"), Some(0));
    assert_eq!(parse_uint(b"42"), Some(42));
    assert_eq!(parse_uint(b"007"), Some(7));
    assert_eq!(parse_uint(b"4294967295"), Some(u32::MAX));
    for bad in [&b""[..], b"4294967296", b"00000000001", b"-1", b"+1", b" 1", b"1 ", b"1\n", b"0x10", b"1\0"] {
        assert_eq!(parse_uint(bad), None, "{bad:?}");
    }
    assert_eq!(parse_nr_leds(b"6"), Some(6));
    assert_eq!(parse_nr_leds(b"64"), Some(64));
    assert_eq!(parse_nr_leds(b"0"), None);
    assert_eq!(parse_nr_leds(b"65"), None);
    assert_eq!(parse_nr_leds(b"65542"), None); // 6 as a u16 after truncation
    assert_eq!(parse_max_brightness(b"1"), Some(1));
    assert_eq!(parse_max_brightness(b"2147483647"), Some(0x7fff_ffff));
    assert_eq!(parse_max_brightness(b"2147483648"), None);
    assert_eq!(parse_max_brightness(b"0"), None);

    assert_eq!(parse_led_name(b"sp6_led0"), Some("sp6_led0"));
    assert_eq!(parse_led_name(b"input3::capslock"), Some("input3::capslock"));
    assert_eq!(parse_led_name(&[b'a'; 63]).map(str::len), Some(63));
    for bad in [&b""[..], &[b'a'; 64], b"a/b", b"a b", b"led\n", b"led\0", "lé".as_bytes(), b"\x7f"] {
        assert_eq!(parse_led_name(bad), None, "{bad:?}");
    }
    let names: [&[u8]; 3] = [b"a", b"b", b"c"];
    assert!(names_are_distinct(names));
    let names: [&[u8]; 3] = [b"a", b"b", b"a"];
    assert!(!names_are_distinct(names));
    assert!(names_are_distinct(std::iter::empty::<&[u8]>()));
}

#[test]
fn xenbus_states() {
    for v in 0..=8 {
        assert_eq!(XenbusState::from_u32(v).as_u32(), v);
    }
    assert_eq!(XenbusState::from_u32(9), XenbusState::Unknown);
    assert_eq!(XenbusState::parse(b"4"), XenbusState::Connected);
    assert_eq!(XenbusState::parse(b"x"), XenbusState::Unknown);
    assert_eq!(XenbusState::parse(b""), XenbusState::Unknown);
}

proptest! {
    #[test]
    fn requests_round_trip(bytes in any::<[u8; 12]>()) {
        let req = Request::decode(&bytes);
        prop_assert_eq!(req.encode(), bytes);
        prop_assert_eq!(Request::decode(&req.encode()), req);
    }

    #[test]
    fn responses_round_trip(bytes in any::<[u8; 12]>()) {
        let rsp = Response::decode(&bytes);
        prop_assert_eq!(rsp.encode(), bytes);
        prop_assert_eq!(Status::from_wire(rsp.status).to_wire(), rsp.status);
    }

    /// check_request accepts exactly the well-formed requests within the limits.
    #[test]
    fn request_check_is_exact(bytes in any::<[u8; 12]>(), nr in 0u16..70, max in 0u32..300) {
        let req = Request::decode(&bytes);
        let ok = req.reserved == 0
            && ((req.operation == OP_SET_BRIGHTNESS && req.brightness <= max)
                || (req.operation == OP_GET_BRIGHTNESS && req.brightness == 0))
            && req.led < nr;
        prop_assert_eq!(check_request(&req, nr, |_| max).is_ok(), ok);
    }

    #[test]
    fn uint_parsing_matches_std(s in "[0-9]{1,12}|[ -~]{0,12}") {
        let std = if s.len() <= 10 && s.bytes().all(|c| c.is_ascii_digit()) { s.parse().ok() } else { None };
        prop_assert_eq!(parse_uint(s.as_bytes()), std);
    }
}
