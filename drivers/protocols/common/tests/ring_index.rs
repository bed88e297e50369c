//! The index rules of src/ring_index.rs on a page that logs every access: what each half
//! reads, writes and stores, in which order (the barrier before each index store), what it
//! refuses, and that a dead ring does not touch the page any more.

use std::cell::RefCell;

use protocol_common::ring_index::*;
use protocol_common::SharedPage;

/// One access to the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Load(usize),
    Store(usize, u32),
    Read(usize, usize),
    Write(usize, usize),
    Barrier,
}

const CONS: usize = 0;
const PROD: usize = 4;
const SLOTS: usize = 64;
/// Bytes per event in these tests.
const N: usize = 8;

/// A page as a buffer, every access logged.
struct LogPage {
    bytes: Vec<u8>,
    log: RefCell<Vec<Op>>,
}

impl LogPage {
    fn new() -> Self {
        LogPage { bytes: vec![0; 4096], log: RefCell::new(Vec::new()) }
    }

    /// A page whose indices are `cons` and `prod`.
    fn at(cons: u32, prod: u32) -> Self {
        let mut page = Self::new();
        page.set(CONS, cons);
        page.set(PROD, prod);
        page
    }

    /// The other side's raw write of an index.
    fn set(&mut self, offset: usize, value: u32) {
        self.bytes[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
    }

    fn get(&self, offset: usize) -> u32 {
        u32::from_le_bytes(self.bytes[offset..offset + 4].try_into().unwrap())
    }

    /// The accesses since the last call.
    fn take(&self) -> Vec<Op> {
        self.log.take()
    }
}

impl SharedPage for LogPage {
    fn load_u32(&self, offset: usize) -> u32 {
        self.log.borrow_mut().push(Op::Load(offset));
        self.get(offset)
    }

    fn store_u32(&mut self, offset: usize, value: u32) {
        self.log.borrow_mut().push(Op::Store(offset, value));
        self.set(offset, value);
    }

    fn read(&self, offset: usize, buf: &mut [u8]) {
        self.log.borrow_mut().push(Op::Read(offset, buf.len()));
        buf.copy_from_slice(&self.bytes[offset..offset + buf.len()]);
    }

    fn write(&mut self, offset: usize, data: &[u8]) {
        self.log.borrow_mut().push(Op::Write(offset, data.len()));
        self.bytes[offset..offset + data.len()].copy_from_slice(data);
    }

    fn full_barrier(&self) {
        self.log.borrow_mut().push(Op::Barrier);
    }
}

fn slot_of_51(idx: u32) -> usize {
    SLOTS + (idx % 51) as usize * N
}

fn slot_of_25(idx: u32) -> usize {
    SLOTS + (idx % 25) as usize * N
}

fn slot_of_32(idx: u32) -> usize {
    SLOTS + (idx % 32) as usize * N
}

fn ring(len: u32) -> Ring {
    let slot_offset = match len {
        51 => slot_of_51,
        25 => slot_of_25,
        32 => slot_of_32,
        _ => unreachable!(),
    };
    Ring { cons_offset: CONS, prod_offset: PROD, slot_offset, len }
}

/// A distinct event for index `i`.
fn event(i: u32) -> [u8; N] {
    let mut e = [0u8; N];
    e[..4].copy_from_slice(&i.to_le_bytes());
    e[4..].copy_from_slice(&(!i).to_le_bytes());
    e
}

#[test]
fn slot_reuse_across_the_wrap_is_what_the_slot_arithmetic_says() {
    for len in 1..=64u32 {
        for prod in (0..70u32).chain(u32::MAX - 70..=u32::MAX) {
            // Below len: a ring with len events in it is full anyway.
            for used in 0..len {
                let slot = |i: u32| i % len;
                let brute = (1..=used).any(|back| slot(prod.wrapping_sub(back)) == slot(prod));
                assert_eq!(slot_reused_across_wrap(prod, used, len), brute, "len {len} prod {prod} used {used}");
            }
        }
    }
    assert!(!slot_reused_across_wrap(0, 5, 0));
}

#[test]
fn a_push_writes_the_slot_then_stores_prod_after_a_full_barrier() {
    let mut page = LogPage::at(7, 7);
    let mut p = Producer::<N>::attach(ring(51), &page).unwrap();
    assert_eq!(page.take(), [Op::Load(PROD), Op::Load(CONS)]);
    p.push(&mut page, &event(7)).unwrap();
    assert_eq!(page.take(), [Op::Load(CONS), Op::Write(slot_of_51(7), N), Op::Barrier, Op::Store(PROD, 8)]);
    assert_eq!(p.produced(), 8);
    assert_eq!(page.bytes[slot_of_51(7)..slot_of_51(7) + N], event(7));
}

#[test]
fn queued_events_are_published_together_once() {
    let mut page = LogPage::new();
    let mut p = Producer::<N>::attach(ring(51), &page).unwrap();
    page.take();
    p.queue(&mut page, &event(0)).unwrap();
    p.queue(&mut page, &event(1)).unwrap();
    assert_eq!(page.get(PROD), 0, "not published yet");
    assert_eq!(p.produced(), 2);
    assert!(p.publish(&mut page));
    assert!(!p.publish(&mut page), "nothing new");
    let log = page.take();
    assert_eq!(log[log.len() - 2..], [Op::Barrier, Op::Store(PROD, 2)]);
    assert_eq!(log.iter().filter(|op| matches!(op, Op::Store(..))).count(), 1);
}

#[test]
fn a_consume_copies_each_slot_once_then_stores_cons_after_a_full_barrier() {
    let mut page = LogPage::at(u32::MAX - 1, 1);
    for i in [u32::MAX - 1, u32::MAX, 0] {
        let at = slot_of_25(i);
        page.bytes[at..at + N].copy_from_slice(&event(i));
    }
    let mut c = Consumer::<N>::attach(ring(25), &page).unwrap();
    page.take();
    let mut seen = Vec::new();
    assert_eq!(c.consume(&mut page, |e| seen.push(*e)), Ok(3));
    assert_eq!(seen, [event(u32::MAX - 1), event(u32::MAX), event(0)]);
    assert_eq!(
        page.take(),
        [
            Op::Load(PROD),
            Op::Read(slot_of_25(u32::MAX - 1), N),
            Op::Read(slot_of_25(u32::MAX), N),
            Op::Read(slot_of_25(0), N),
            Op::Barrier,
            Op::Store(CONS, 1),
        ]
    );
    assert_eq!(c.consumed(), 1);
    // Nothing new: no store, no barrier.
    assert_eq!(c.consume(&mut page, |_| unreachable!()), Ok(0));
    assert_eq!(page.take(), [Op::Load(PROD)]);
}

#[test]
fn a_full_ring_refuses_without_writing() {
    for len in [51, 25, 32] {
        let mut page = LogPage::new();
        let mut p = Producer::<N>::attach(ring(len), &page).unwrap();
        for i in 0..len {
            p.push(&mut page, &event(i)).unwrap();
        }
        page.take();
        assert_eq!(p.push(&mut page, &event(len)), Err(PushError::Full));
        assert_eq!(page.take(), [Op::Load(CONS)], "len {len}");
        assert_eq!(p.error(), None, "full is not an error");
        // The consumer frees one slot: room again.
        page.set(CONS, 1);
        p.push(&mut page, &event(len)).unwrap();
    }
}

#[test]
fn queued_events_count_against_the_room() {
    let mut page = LogPage::new();
    let mut p = Producer::<N>::attach(ring(25), &page).unwrap();
    for i in 0..25 {
        p.queue(&mut page, &event(i)).unwrap();
    }
    assert_eq!(p.queue(&mut page, &event(25)), Err(PushError::Full));
}

#[test]
fn across_the_wrap_a_slot_still_in_use_is_not_free() {
    // Ring of 51: 2^32 mod 51 = 1, index 0 shares slot 0 with index u32::MAX.
    let mut page = LogPage::at(u32::MAX, u32::MAX);
    let mut p = Producer::<N>::attach(ring(51), &page).unwrap();
    p.push(&mut page, &event(u32::MAX)).unwrap();
    page.take();
    assert_eq!(p.push(&mut page, &event(0)), Err(PushError::Full), "one event in a ring of 51");
    assert_eq!(page.bytes[slot_of_51(0)..slot_of_51(0) + N], event(u32::MAX), "not overwritten");
    page.set(CONS, 0);
    p.push(&mut page, &event(0)).unwrap();
}

#[test]
fn a_pair_passes_every_event_in_order_across_the_wrap() {
    for len in [51, 25, 32] {
        let start = u32::MAX - 3 * len;
        let mut page = LogPage::at(start, start);
        let mut p = Producer::<N>::attach(ring(len), &page).unwrap();
        let mut c = Consumer::<N>::attach(ring(len), &page).unwrap();
        let (mut sent, mut got) = (start, start);
        for round in 0..12 {
            // Fill as far as the producer may, then drain some.
            while p.push(&mut page, &event(sent)).is_ok() {
                sent = sent.wrapping_add(1);
            }
            assert!(sent.wrapping_sub(got) <= len);
            let mut taken = 0;
            let limit = 1 + round % 4;
            let mut seen = Vec::new();
            while taken < limit {
                let n = c.consume(&mut page, |e| seen.push(*e)).unwrap();
                taken += n;
                if n == 0 {
                    break;
                }
            }
            for e in seen {
                assert_eq!(e, event(got), "len {len}");
                got = got.wrapping_add(1);
            }
        }
        assert!(got.wrapping_sub(start) > 4 * len, "len {len}: crossed the wrap");
        assert_eq!((p.error(), c.error()), (None, None));
    }
}

#[test]
fn attach_refuses_indices_more_than_a_ring_apart() {
    let page = LogPage::at(10, 62);
    assert_eq!(Producer::<N>::attach(ring(51), &page).unwrap_err(), RingError::BadConsumerIndex { cons: 10, prod: 62 });
    assert_eq!(Consumer::<N>::attach(ring(51), &page).unwrap_err(), RingError::BadProducerIndex { prod: 62, cons: 10 });
    let page = LogPage::at(10, 9);
    assert!(Producer::<N>::attach(ring(51), &page).is_err(), "prod behind cons");
    assert!(Consumer::<N>::attach(ring(51), &page).is_err(), "prod behind cons");
    let page = LogPage::at(10, 61);
    assert!(Producer::<N>::attach(ring(51), &page).is_ok(), "exactly a ring apart: full");
    assert!(Consumer::<N>::attach(ring(51), &page).is_ok());
}

#[test]
fn a_bogus_consumer_index_kills_the_producer_for_good() {
    for cons in [6, 5u32.wrapping_sub(52)] {
        let mut page = LogPage::at(5, 5);
        let mut p = Producer::<N>::attach(ring(51), &page).unwrap();
        page.set(CONS, cons);
        let e = RingError::BadConsumerIndex { cons, prod: 5 };
        assert_eq!(p.push(&mut page, &event(0)), Err(PushError::Ring(e)));
        assert_eq!(p.error(), Some(e));
        page.set(CONS, 5);
        page.take();
        assert_eq!(p.push(&mut page, &event(0)), Err(PushError::Ring(e)));
        assert!(!p.publish(&mut page));
        assert_eq!(page.take(), [], "a dead ring does not touch the page");
    }
}

#[test]
fn queued_events_of_a_dead_ring_are_never_published() {
    let mut page = LogPage::new();
    let mut p = Producer::<N>::attach(ring(51), &page).unwrap();
    p.queue(&mut page, &event(0)).unwrap();
    page.set(CONS, 1);
    assert!(matches!(p.queue(&mut page, &event(1)), Err(PushError::Ring(_))));
    page.take();
    assert!(!p.publish(&mut page));
    assert_eq!(page.take(), []);
    assert_eq!(page.get(PROD), 0);
}

#[test]
fn a_bogus_producer_index_kills_the_consumer_for_good() {
    for prod in [52, u32::MAX] {
        let mut page = LogPage::new();
        let mut c = Consumer::<N>::attach(ring(51), &page).unwrap();
        page.set(PROD, prod);
        let e = RingError::BadProducerIndex { prod, cons: 0 };
        assert_eq!(c.consume(&mut page, |_| unreachable!()), Err(e));
        page.set(PROD, 1);
        page.take();
        assert_eq!(c.available(&page), Err(e));
        assert_eq!(c.consume(&mut page, |_| unreachable!()), Err(e));
        assert_eq!(c.error(), Some(e));
        assert_eq!(page.take(), [], "a dead ring does not touch the page");
        assert_eq!(page.get(CONS), 0);
    }
}

#[test]
fn a_consume_takes_up_to_a_whole_ring() {
    let mut page = LogPage::at(0, 51);
    let mut c = Consumer::<N>::attach(ring(51), &page).unwrap();
    assert_eq!(c.available(&page), Ok(51));
    assert_eq!(c.consume(&mut page, |_| {}), Ok(51));
    assert_eq!(c.consumed(), 51);
}

#[test]
fn errors_display() {
    assert_eq!(RingError::BadConsumerIndex { cons: 3, prod: 1 }.to_string(), "bogus consumer index 3 (produced 1)");
    assert_eq!(RingError::BadProducerIndex { prod: 90, cons: 2 }.to_string(), "bogus producer index 90 (consumed 2)");
    assert_eq!(PushError::Full.to_string(), "ring full");
    assert_eq!(
        PushError::Ring(RingError::BadConsumerIndex { cons: 3, prod: 1 }).to_string(),
        "bogus consumer index 3 (produced 1)"
    );
}
