//! Property tests: the hostile-peer and honest-pair drivers of tests/harness (the fuzz
//! target's), event round trips, and a producer/consumer pair from any index.

mod harness;

#[path = "../../test_support/any_run.rs"]
mod any_run;

use harness::MemPage;
use kbdif_protocol::*;
use proptest::prelude::*;

fn mt_event() -> impl Strategy<Value = MtEvent> {
    prop_oneof![
        (any::<i32>(), any::<i32>()).prop_map(|(abs_x, abs_y)| MtEvent::Down { abs_x, abs_y }),
        Just(MtEvent::Up),
        (any::<i32>(), any::<i32>()).prop_map(|(abs_x, abs_y)| MtEvent::Motion { abs_x, abs_y }),
        Just(MtEvent::Syn),
        (any::<u32>(), any::<u32>()).prop_map(|(major, minor)| MtEvent::Shape { major, minor }),
        any::<i16>().prop_map(|orientation| MtEvent::Orient { orientation }),
        (6u8..).prop_map(MtEvent::Other),
    ]
}

fn in_event() -> impl Strategy<Value = InEvent> {
    prop_oneof![
        (any::<i32>(), any::<i32>(), any::<i32>()).prop_map(|(rel_x, rel_y, rel_z)| InEvent::Motion { rel_x, rel_y, rel_z }),
        (any::<bool>(), any::<u32>()).prop_map(|(pressed, keycode)| InEvent::Key { pressed, keycode }),
        (any::<i32>(), any::<i32>(), any::<i32>()).prop_map(|(abs_x, abs_y, rel_z)| InEvent::Position { abs_x, abs_y, rel_z }),
        (any::<u8>(), mt_event()).prop_map(|(contact_id, event)| InEvent::MultiTouch { contact_id, event }),
        any::<u8>()
            .prop_filter("a known type", |t| ![TYPE_MOTION, TYPE_KEY, TYPE_POS, TYPE_MTOUCH].contains(t))
            .prop_map(InEvent::Other),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Every event survives encoding, and its reserved bytes are zero.
    #[test]
    fn events_round_trip(ev in in_event()) {
        let b = ev.encode();
        prop_assert_eq!(InEvent::decode(&b), ev);
        let used = match ev {
            InEvent::Key { .. } => vec![0, 1, 4, 5, 6, 7],
            InEvent::Motion { .. } | InEvent::Position { .. } => (0..16).collect(),
            InEvent::MultiTouch { .. } => [0, 1, 2].into_iter().chain(8..16).collect(),
            InEvent::Other(_) => vec![0],
        };
        for (i, &byte) in b.iter().enumerate() {
            prop_assert!(used.contains(&i) || byte == 0, "byte {} of {:?} is {}", i, ev, byte);
        }
    }

    /// Any 40 bytes decode, and the decoded event re-encodes to the same event.
    #[test]
    fn any_bytes_decode(b in any::<[u8; 40]>()) {
        let ev = InEvent::decode(&b);
        prop_assert_eq!(InEvent::decode(&ev.encode()), ev);
        prop_assert_eq!(InEvent::from_bytes(&b), Some(ev));
    }

    /// From any starting index and with the frontend consuming any number of events at a
    /// time, every event pushed arrives once and in order, and a push only fails when the
    /// frontend has not made room.
    #[test]
    fn pair_delivers_everything_in_order(
        start in prop_oneof![Just(0u32), any::<u32>(), (u32::MAX - 200)..=u32::MAX],
        schedule in prop::collection::vec((any::<bool>(), 1u32..80), 1..100),
    ) {
        let mut mem = MemPage::pair();
        mem.set_index(IN_PROD_OFFSET, start);
        mem.set_index(IN_CONS_OFFSET, start);
        let mut back = InProducer::attach(&mem).unwrap();
        let mut front = InConsumer::attach(&mem).unwrap();
        let mut sent = std::collections::VecDeque::new();
        let mut next = 0u32;
        for (push, n) in schedule {
            if push {
                for _ in 0..n {
                    let ev = InEvent::Key { pressed: next & 1 == 0, keycode: 1 + next % 700 };
                    next += 1;
                    match back.push(&mut mem, &ev) {
                        Ok(()) => sent.push_back(ev),
                        Err(PushError::Full) => {
                            let used = sent.len() as u32;
                            prop_assert!(used == IN_RING_LEN
                                || slot_reused_across_wrap(back.produced(), used, IN_RING_LEN));
                        }
                        Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
                    }
                }
            } else {
                let mut got = Vec::new();
                front.consume(&mut mem, |ev| got.push(ev)).unwrap();
                let expected: Vec<InEvent> = sent.drain(..).collect();
                prop_assert_eq!(got, expected);
            }
        }
    }
}
