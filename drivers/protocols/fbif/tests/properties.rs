//! Property tests: the hostile-peer and honest-pair drivers of tests/harness (the fuzz
//! target's), arbitrary rectangles and geometries (never a byte outside the framebuffer),
//! event round trips.

mod harness;

#[path = "../../test_support/any_run.rs"]
mod any_run;

use fbif_protocol::*;
use harness::check_blit;
use proptest::prelude::*;

fn any_i32() -> impl Strategy<Value = i32> {
    prop_oneof![
        -20i32..1000,
        any::<i32>(),
        Just(i32::MIN),
        Just(i32::MAX),
        (i32::MAX - 1000)..=i32::MAX,
    ]
}

/// Valid modes of any shape, from 1x1 to wide strides and offsets.
fn mode() -> impl Strategy<Value = Mode> {
    (1u32..3000, 1u32..2000, prop::sample::select(vec![8u32, 16, 24, 32]), 0u32..64, 0u32..100_000, 0u32..5000)
        .prop_map(|(w, h, depth, pad, offset, slack)| {
            let stride = w * depth / 8 + pad;
            let mem = offset + stride * (h - 1) + w * depth / 8 + slack;
            Mode::new(w.into(), h.into(), stride.into(), depth.into(), offset.into(), mem).unwrap()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// An arbitrary update rectangle against an arbitrary mode: clipped to a rectangle inside
    /// the mode whose rows lie inside the framebuffer, or refused for a reason that holds.
    #[test]
    fn arbitrary_rectangles_never_leave_the_framebuffer(
        m in mode(),
        x in any_i32(), y in any_i32(), width in any_i32(), height in any_i32(),
    ) {
        let u = Update { x, y, width, height };
        match u.clip(&m) {
            Ok(r) => {
                prop_assert!(r.width >= 1 && r.height >= 1);
                // Inside both the mode and the rectangle sent.
                prop_assert!(u64::from(r.x) + u64::from(r.width) <= u64::from(m.width()));
                prop_assert!(u64::from(r.y) + u64::from(r.height) <= u64::from(m.height()));
                prop_assert!(i64::from(r.x) >= i64::from(x) && i64::from(r.y) >= i64::from(y));
                prop_assert!(i64::from(r.x) + i64::from(r.width) <= i64::from(x) + i64::from(width));
                prop_assert!(i64::from(r.y) + i64::from(r.height) <= i64::from(y) + i64::from(height));
                let bytes = check_blit(&m, &r);
                prop_assert_eq!(bytes, r.area() * u64::from(m.bytes_per_pixel()));
            }
            Err(UpdateError::Negative { .. }) => prop_assert!(width < 0 || height < 0),
            Err(UpdateError::Empty) => prop_assert!(width == 0 || height == 0),
            Err(UpdateError::Outside) => {
                let outside_x = i64::from(x) + i64::from(width) <= 0 || i64::from(x) >= i64::from(m.width());
                let outside_y = i64::from(y) + i64::from(height) <= 0 || i64::from(y) >= i64::from(m.height());
                prop_assert!(outside_x || outside_y);
            }
            Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
        }
    }

    /// Any geometry a resize or the page can carry: accepted only if every row fits in the
    /// memory, and then its whole picture's bytes are inside it.
    #[test]
    fn arbitrary_geometries_are_inside_the_memory(
        width in any_i32(), height in any_i32(), stride in any_i32(),
        depth in prop_oneof![Just(32i32), Just(8), Just(16), Just(24), any::<i32>()],
        offset in any_i32(), mem_length in prop_oneof![any::<u32>(), 0u32..10_000_000],
    ) {
        let r = Resize { width, height, stride, depth, offset };
        if let Ok(m) = r.mode(mem_length) {
            prop_assert_eq!((m.width() as i32, m.height() as i32, m.stride() as i32, m.depth() as i32, m.offset() as i32),
                            (width, height, stride, depth, offset));
            check_blit(&m, &m.full());
            let end = u64::from(m.offset()) + u64::from(m.stride()) * u64::from(m.height() - 1)
                + u64::from(m.width()) * u64::from(m.bytes_per_pixel());
            prop_assert!(end <= u64::from(mem_length));
        } else {
            let bpp = i128::from(depth / 8);
            let end = i128::from(offset) + i128::from(stride) * (i128::from(height) - 1) + i128::from(width) * bpp;
            prop_assert!(width < 1 || height < 1 || ![8, 16, 24, 32].contains(&depth) || offset < 0
                || i128::from(stride) < i128::from(width) * bpp || end > i128::from(mem_length));
        }
    }

    /// Events survive encoding; any 40 bytes decode.
    #[test]
    fn events_round_trip(x in any::<i32>(), y in any::<i32>(), w in any::<i32>(), h in any::<i32>(), o in any::<i32>(),
                         t in 4u8.., b in any::<[u8; 40]>(), period in any::<u32>()) {
        for ev in [
            OutEvent::Update(Update { x, y, width: w, height: h }),
            OutEvent::Resize(Resize { width: x, height: y, stride: w, depth: h, offset: o }),
            OutEvent::Other(t),
        ] {
            prop_assert_eq!(OutEvent::decode(&ev.encode()), ev);
        }
        let ev = OutEvent::decode(&b);
        prop_assert_eq!(OutEvent::decode(&ev.encode()), ev);
        let ev = InEvent::RefreshPeriod { period_ms: period };
        prop_assert_eq!(InEvent::decode(&ev.encode()), ev);
        let ev = InEvent::decode(&b);
        prop_assert_eq!(InEvent::decode(&ev.encode()), ev);
        let info = PageInfo::decode(&b[..HEADER_SIZE].try_into().unwrap());
        prop_assert_eq!(PageInfo::decode(&info.encode()), info);
    }

    /// Merged rectangles hold both.
    #[test]
    fn unions_hold_both(a in (any::<u32>(), any::<u32>(), 1u32.., 1u32..), b in (any::<u32>(), any::<u32>(), 1u32.., 1u32..)) {
        let (a, b) = (Rect { x: a.0, y: a.1, width: a.2, height: a.3 }, Rect { x: b.0, y: b.1, width: b.2, height: b.3 });
        let u = a.union(&b);
        for r in [a, b] {
            prop_assert!(u.x <= r.x && u.y <= r.y);
            let end = |p: u32, l: u32| u64::from(p) + u64::from(l);
            prop_assert!(end(u.x, u.width) >= end(r.x, r.width).min(end(u.x, u32::MAX)));
            prop_assert!(end(u.y, u.height) >= end(r.y, r.height).min(end(u.y, u32::MAX)));
        }
    }
}
