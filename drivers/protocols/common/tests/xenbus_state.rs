//! src/xenbus_state.rs: the states' numbers and names, and xenstore's decimal numbers.

use protocol_common::xenbus_state::{parse_uint, XenbusState};

#[test]
fn states_and_their_numbers() {
    for (v, s) in (0..).zip(XenbusState::ALL) {
        assert_eq!(s.as_u32(), v);
        assert_eq!(XenbusState::from_u32(v), s);
        assert_eq!(format!("{s:?}"), s.name());
    }
    for v in [9, 10, 99, u32::MAX] {
        assert_eq!(XenbusState::from_u32(v), XenbusState::Unknown);
    }
    assert_eq!(XenbusState::parse(b"4"), XenbusState::Connected);
    assert_eq!(XenbusState::parse(b"8"), XenbusState::Reconfigured);
    for bad in [&b""[..], b"x", b"9", b"-1", b" 4", b"4\n", b"00000000004"] {
        assert_eq!(XenbusState::parse(bad), XenbusState::Unknown, "{bad:?}");
    }
}

#[test]
fn xenstore_numbers() {
    let cases: [(&[u8], Option<u32>); 12] = [
        (b"0", Some(0)),
        (b"007", Some(7)),
        (b"0000000009", Some(9)),
        (b"4294967295", Some(u32::MAX)),
        (b"4294967296", None),
        (b"99999999999", None),
        (b"00000000001", None),
        (b"", None),
        (b"-1", None),
        (b"1 ", None),
        (b"0x10", None),
        (b"1\0", None),
    ];
    for (value, n) in cases {
        assert_eq!(parse_uint(value), n, "{value:?}");
    }
}
