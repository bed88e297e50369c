//! The in ring: the backend's producer and the frontend's consumer on one [`MemPage`], round
//! trips, the wrap of the u32 indices, a full ring, and each side against a bogus peer.

mod harness;

use harness::MemPage;
use kbdif_protocol::*;

fn key(keycode: u32, pressed: bool) -> InEvent {
    InEvent::Key { pressed, keycode }
}

/// A page whose indices are both at `start`, with a producer and a consumer attached.
fn pair(start: u32) -> (MemPage, InProducer, InConsumer) {
    let mut mem = MemPage::pair();
    mem.set_index(IN_PROD_OFFSET, start);
    mem.set_index(IN_CONS_OFFSET, start);
    let back = InProducer::attach(&mem).unwrap();
    let front = InConsumer::attach(&mem).unwrap();
    (mem, back, front)
}

fn drain(mem: &mut MemPage, front: &mut InConsumer) -> Vec<InEvent> {
    let mut got = Vec::new();
    front.consume(mem, |ev| got.push(ev)).unwrap();
    got
}

#[test]
fn events_round_trip() {
    let (mut mem, mut back, mut front) = pair(0);
    let evs = [
        key(28, true),
        key(28, false),
        InEvent::Position { abs_x: 799, abs_y: 0, rel_z: -1 },
        InEvent::Motion { rel_x: -5, rel_y: 5, rel_z: 0 },
        InEvent::MultiTouch { contact_id: 0, event: MtEvent::Syn },
    ];
    for ev in &evs {
        back.push(&mut mem, ev).unwrap();
    }
    assert_eq!(mem.index(IN_PROD_OFFSET), 5);
    assert_eq!(mem.slot(2), evs[2].encode());
    assert_eq!(front.pending(&mem), Ok(5));
    assert_eq!(drain(&mut mem, &mut front), evs);
    assert_eq!(mem.index(IN_CONS_OFFSET), 5);
    assert_eq!((back.produced(), front.consumed()), (5, 5));
    // Nothing more: no write of in_cons, nothing handed over.
    assert_eq!(front.consume(&mut mem, |_| panic!()), Ok(0));
}

#[test]
fn queued_events_are_invisible_until_published() {
    let (mut mem, mut back, mut front) = pair(0);
    back.queue(&mut mem, &key(1, true)).unwrap();
    back.queue(&mut mem, &key(1, false)).unwrap();
    assert_eq!(mem.index(IN_PROD_OFFSET), 0);
    assert_eq!(drain(&mut mem, &mut front), []);
    assert!(back.publish(&mut mem));
    assert!(!back.publish(&mut mem), "nothing new: no notification");
    assert_eq!(drain(&mut mem, &mut front), [key(1, true), key(1, false)]);
}

#[test]
fn a_full_ring_drops_events_and_says_so() {
    let (mut mem, mut back, mut front) = pair(0);
    for i in 0..IN_RING_LEN {
        back.push(&mut mem, &key(1 + i, true)).unwrap();
    }
    let before = *mem.page;
    assert_eq!(back.push(&mut mem, &key(100, true)), Err(PushError::Full));
    assert_eq!(back.queue(&mut mem, &key(100, true)), Err(PushError::Full));
    assert_eq!(*mem.page, before, "a full ring was written");
    assert_eq!(back.produced(), IN_RING_LEN);
    // The frontend takes them all, in order; then there is room again.
    let got = drain(&mut mem, &mut front);
    assert_eq!(got, (0..IN_RING_LEN).map(|i| key(1 + i, true)).collect::<Vec<_>>());
    back.push(&mut mem, &key(100, true)).unwrap();
    assert_eq!(drain(&mut mem, &mut front), [key(100, true)]);
}

#[test]
fn one_consumed_event_makes_one_slot() {
    let (mut mem, mut back, _front) = pair(7);
    for i in 0..IN_RING_LEN {
        back.push(&mut mem, &key(1 + i, true)).unwrap();
    }
    mem.set_index(IN_CONS_OFFSET, 8);
    back.push(&mut mem, &key(200, true)).unwrap();
    assert_eq!(back.push(&mut mem, &key(201, true)), Err(PushError::Full));
    // It went to the slot the consumed event left.
    assert_eq!(mem.slot(7 + IN_RING_LEN), key(200, true).encode());
    assert_eq!(in_event_offset(7 + IN_RING_LEN), in_event_offset(7));
}

#[test]
fn indices_wrap_around_u32() {
    let start = u32::MAX - 100;
    let (mut mem, mut back, mut front) = pair(start);
    let mut next = 1u32;
    let mut expected = Vec::new();
    let mut got = Vec::new();
    let mut full_at = Vec::new();
    // 300 events through the wrap, 7 at a time.
    while expected.len() < 300 {
        for _ in 0..7 {
            let ev = key(next % 200 + 1, next % 2 == 0);
            if back.push(&mut mem, &ev) == Err(PushError::Full) {
                // Only at index 0 while index u32::MAX is unconsumed (see below).
                full_at.push(back.produced());
                got.extend(drain(&mut mem, &mut front));
                back.push(&mut mem, &ev).unwrap();
            }
            expected.push(ev);
            next += 1;
        }
        got.extend(drain(&mut mem, &mut front));
    }
    assert_eq!(got, expected);
    assert_eq!(full_at, [0]);
    assert_eq!(back.produced(), start.wrapping_add(expected.len() as u32));
    assert_eq!(front.consumed(), back.produced());
}

#[test]
fn index_zero_waits_for_index_u32_max() {
    // 2^32 is not a multiple of 51: index u32::MAX and index 0 both use slot 0.
    let (mut mem, mut back, mut front) = pair(u32::MAX);
    back.push(&mut mem, &key(1, true)).unwrap(); // index u32::MAX, slot 0
    // One event in a ring of 51, but the next index (0) would overwrite it.
    assert_eq!(back.push(&mut mem, &key(2, true)), Err(PushError::Full));
    assert_eq!(mem.slot(u32::MAX), key(1, true).encode());
    assert_eq!(drain(&mut mem, &mut front), [key(1, true)]);
    // Consumed: index 0 is free.
    back.push(&mut mem, &key(2, true)).unwrap();
    back.push(&mut mem, &key(3, true)).unwrap();
    assert_eq!(drain(&mut mem, &mut front), [key(2, true), key(3, true)]);
    assert_eq!((back.produced(), front.consumed()), (2, 2));
}

#[test]
fn a_ring_behind_the_wrap_fills_up_to_the_shared_slot() {
    // Indices u32::MAX - 9 ..= u32::MAX unconsumed: index 0 is not free, even though only 10
    // of 51 slots are used.
    let (mut mem, mut back, mut front) = pair(u32::MAX - 9);
    for i in 0..10 {
        back.push(&mut mem, &key(1 + i, true)).unwrap();
    }
    assert_eq!(back.produced(), 0);
    assert_eq!(back.push(&mut mem, &key(50, true)), Err(PushError::Full));
    // The frontend consumes 9 of them: u32::MAX is still there.
    let mut seen = 0;
    mem.set_index(IN_CONS_OFFSET, u32::MAX);
    assert_eq!(back.push(&mut mem, &key(50, true)), Err(PushError::Full));
    mem.set_index(IN_CONS_OFFSET, u32::MAX - 9);
    front.consume(&mut mem, |_| seen += 1).unwrap();
    assert_eq!(seen, 10);
    back.push(&mut mem, &key(50, true)).unwrap();
}

#[test]
fn attach_takes_the_indices_of_the_page() {
    // Linux's xen-kbdfront keeps its page across backend reconnections.
    let mut mem = MemPage::pair();
    mem.set_index(IN_PROD_OFFSET, 1000);
    mem.set_index(IN_CONS_OFFSET, 990);
    let mut back = InProducer::attach(&mem).unwrap();
    assert_eq!(back.produced(), 1000);
    back.push(&mut mem, &key(5, true)).unwrap();
    assert_eq!(mem.index(IN_PROD_OFFSET), 1001);
    assert_eq!(mem.slot(1000), key(5, true).encode());
    // A page claiming more than a ring of events is refused.
    mem.set_index(IN_CONS_OFFSET, 1001 - 52);
    assert_eq!(
        InProducer::attach(&mem).unwrap_err(),
        RingError::BadConsumerIndex { cons: 949, prod: 1001 }
    );
    assert_eq!(InConsumer::attach(&mem).unwrap_err(), RingError::BadProducerIndex { prod: 1001, cons: 949 });
    mem.set_index(IN_CONS_OFFSET, 1001 - 51);
    assert!(InProducer::attach(&mem).is_ok());
    assert!(InConsumer::attach(&mem).is_ok());
}

#[test]
fn in_cons_beyond_in_prod_kills_the_ring() {
    let (mut mem, mut back, _) = pair(10);
    back.push(&mut mem, &key(1, true)).unwrap();
    mem.set_index(IN_CONS_OFFSET, 12); // one past in_prod (11)
    let e = RingError::BadConsumerIndex { cons: 12, prod: 11 };
    let writes = mem.slot_writes;
    assert_eq!(back.push(&mut mem, &key(2, true)), Err(PushError::Ring(e)));
    assert_eq!(back.error(), Some(e));
    // Dead for good, even once in_cons looks sane again; nothing written.
    mem.set_index(IN_CONS_OFFSET, 11);
    assert_eq!(back.push(&mut mem, &key(2, true)), Err(PushError::Ring(e)));
    assert!(!back.publish(&mut mem));
    assert_eq!(mem.slot_writes, writes);
    assert_eq!(mem.index(IN_PROD_OFFSET), 11);
}

#[test]
fn in_cons_more_than_a_ring_behind_kills_the_ring() {
    let (mut mem, mut back, _) = pair(1000);
    mem.set_index(IN_CONS_OFFSET, 1000 - IN_RING_LEN);
    // Exactly a ring behind: full, not broken.
    assert_eq!(back.push(&mut mem, &key(1, true)), Err(PushError::Full));
    mem.set_index(IN_CONS_OFFSET, 1000 - IN_RING_LEN - 1);
    assert_eq!(
        back.push(&mut mem, &key(1, true)),
        Err(PushError::Ring(RingError::BadConsumerIndex { cons: 1000 - 52, prod: 1000 }))
    );
    assert!(back.error().is_some());
}

#[test]
fn in_cons_is_checked_against_what_was_published() {
    // Events queued but not published: an in_cons among them is beyond in_prod.
    let (mut mem, mut back, _) = pair(0);
    back.queue(&mut mem, &key(1, true)).unwrap();
    back.queue(&mut mem, &key(2, true)).unwrap();
    mem.set_index(IN_CONS_OFFSET, 1);
    assert!(matches!(back.queue(&mut mem, &key(3, true)), Err(PushError::Ring(_))));
}

#[test]
fn in_prod_scribbled_by_the_frontend_is_ignored() {
    let (mut mem, mut back, _) = pair(0);
    back.push(&mut mem, &key(1, true)).unwrap();
    mem.set_index(IN_PROD_OFFSET, 0xdead_beef);
    back.push(&mut mem, &key(2, true)).unwrap();
    assert_eq!(mem.index(IN_PROD_OFFSET), 2);
    assert_eq!(mem.slot(1), key(2, true).encode());
}

#[test]
fn invalid_events_are_not_sent() {
    let (mut mem, mut back, _) = pair(0);
    assert_eq!(back.push(&mut mem, &key(0x300, true)), Err(PushError::Invalid(EventError::Keycode(0x300))));
    assert_eq!(back.push(&mut mem, &InEvent::Other(2)), Err(PushError::Invalid(EventError::Type(2))));
    assert_eq!((mem.slot_writes, back.produced(), back.error()), (0, 0, None));
    assert_eq!(mem.index(IN_PROD_OFFSET), 0);
}

#[test]
fn in_prod_beyond_a_ring_kills_the_consumer() {
    let (mut mem, _, mut front) = pair(5);
    mem.set_index(IN_PROD_OFFSET, 5 + IN_RING_LEN + 1);
    let e = RingError::BadProducerIndex { prod: 57, cons: 5 };
    assert_eq!(front.consume(&mut mem, |_| panic!("read a bogus ring")), Err(e));
    assert_eq!(mem.slot_reads.get(), 0);
    mem.set_index(IN_PROD_OFFSET, 6);
    assert_eq!(front.pending(&mem), Err(e));
    assert_eq!(front.consume(&mut mem, |_| panic!()), Err(e));
    assert_eq!(front.error(), Some(e));
    assert_eq!(mem.index(IN_CONS_OFFSET), 5);
}

#[test]
fn in_prod_behind_in_cons_kills_the_consumer() {
    let (mut mem, _, mut front) = pair(5);
    mem.set_index(IN_PROD_OFFSET, 4);
    assert_eq!(front.pending(&mem), Err(RingError::BadProducerIndex { prod: 4, cons: 5 }));
}

#[test]
fn a_consumer_takes_at_most_a_ring_per_call() {
    let (mut mem, _, mut front) = pair(0);
    mem.set_index(IN_PROD_OFFSET, IN_RING_LEN);
    for i in 0..IN_RING_LEN {
        mem.set_slot(i, &key(1 + i, true).encode());
    }
    let mut n = 0;
    assert_eq!(front.consume(&mut mem, |_| n += 1), Ok(IN_RING_LEN));
    assert_eq!(n, 51);
    assert_eq!(mem.slot_reads.get(), 51);
    // Garbage events are decoded, never trusted: unknown types come out as Other.
    mem.set_slot(51, &[0xee; 40]);
    mem.set_index(IN_PROD_OFFSET, 52);
    assert_eq!(drain(&mut mem, &mut front), [InEvent::Other(0xee)]);
}

#[test]
fn errors_display() {
    assert_eq!(PushError::Full.to_string(), "ring full");
    assert_eq!(
        PushError::Ring(RingError::BadConsumerIndex { cons: 9, prod: 2 }).to_string(),
        "bogus consumer index 9 (produced 2)"
    );
    assert_eq!(
        RingError::BadProducerIndex { prod: 90, cons: 2 }.to_string(),
        "bogus producer index 90 (consumed 2)"
    );
    assert_eq!(
        PushError::Invalid(EventError::Type(7)).to_string(),
        "invalid event: unknown event type 7"
    );
}
