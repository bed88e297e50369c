//! Test doubles and the hostile-peer drivers shared by the tests and the fuzz target
//! (fuzz/fuzz_targets/kbdif.rs includes this file with `#[path]`).
//!
//! - [`MemPage`]: the shared page as a plain buffer. It panics on any access the rings must
//!   never make (anything but the four indices and whole in-ring slots, a store to an index
//!   the side does not own) and counts slot reads and writes.
//! - [`run`]: arbitrary bytes as a hostile frontend against the backend's producer, a hostile
//!   backend against the frontend's consumer, or an honest pair, invariants checked at every
//!   step.

#![allow(dead_code)]

use std::cell::Cell;
use std::collections::VecDeque;

use kbdif_protocol::*;

/// The shared page, owned by the test, reached by the rings through [`SharedPage`].
pub struct MemPage {
    pub page: Box<[u8; PAGE_SIZE]>,
    /// The index offsets the ring under test may store to.
    pub stores: &'static [usize],
    /// Slot reads through [`SharedPage::read`] so far.
    pub slot_reads: Cell<usize>,
    /// Slot writes through [`SharedPage::write`] so far.
    pub slot_writes: usize,
    /// The offset of the last slot written.
    pub last_write: Option<usize>,
}

impl MemPage {
    /// A zeroed page on which only `stores` may be stored to.
    pub fn new(stores: &'static [usize]) -> Self {
        MemPage { page: Box::new([0; PAGE_SIZE]), stores, slot_reads: Cell::new(0), slot_writes: 0, last_write: None }
    }

    /// A page for the backend's producer (it stores `in_prod` only).
    pub fn backend() -> Self {
        Self::new(&[IN_PROD_OFFSET])
    }

    /// A page for the frontend's consumer (it stores `in_cons` only).
    pub fn frontend() -> Self {
        Self::new(&[IN_CONS_OFFSET])
    }

    /// A page both halves of a pair use.
    pub fn pair() -> Self {
        Self::new(&[IN_PROD_OFFSET, IN_CONS_OFFSET])
    }

    /// The other side's raw view of an index.
    pub fn index(&self, offset: usize) -> u32 {
        u32::from_le_bytes(self.page[offset..offset + 4].try_into().unwrap())
    }

    /// The other side's raw write of an index.
    pub fn set_index(&mut self, offset: usize, value: u32) {
        self.page[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
    }

    /// The raw in event of ring index `idx`.
    pub fn slot(&self, idx: u32) -> [u8; IN_EVENT_SIZE] {
        let off = in_event_offset(idx);
        self.page[off..off + IN_EVENT_SIZE].try_into().unwrap()
    }

    /// The other side's raw write of an in event.
    pub fn set_slot(&mut self, idx: u32, bytes: &[u8; IN_EVENT_SIZE]) {
        let off = in_event_offset(idx);
        self.page[off..off + IN_EVENT_SIZE].copy_from_slice(bytes);
    }

    fn check_slot(offset: usize, len: usize) {
        assert_eq!(len, IN_EVENT_SIZE, "slot access of {len} bytes");
        assert!(
            (IN_RING_OFFS..IN_RING_OFFS + IN_RING_LEN as usize * IN_EVENT_SIZE).contains(&offset)
                && (offset - IN_RING_OFFS) % IN_EVENT_SIZE == 0,
            "slot access at {offset:#x}"
        );
    }
}

impl SharedPage for MemPage {
    fn load_u32(&self, offset: usize) -> u32 {
        assert!([IN_CONS_OFFSET, IN_PROD_OFFSET].contains(&offset), "index load at {offset:#x}");
        self.index(offset)
    }

    fn store_u32(&mut self, offset: usize, value: u32) {
        assert!(self.stores.contains(&offset), "index store at {offset:#x}");
        self.set_index(offset, value);
    }

    fn read(&self, offset: usize, buf: &mut [u8]) {
        Self::check_slot(offset, buf.len());
        self.slot_reads.set(self.slot_reads.get() + 1);
        buf.copy_from_slice(&self.page[offset..offset + buf.len()]);
    }

    fn write(&mut self, offset: usize, data: &[u8]) {
        Self::check_slot(offset, data.len());
        self.slot_writes += 1;
        self.last_write = Some(offset);
        self.page[offset..offset + data.len()].copy_from_slice(data);
    }
}

impl ring_harness::TestPage for MemPage {
    fn view(&self) -> (&[u8], usize) {
        (&self.page[..], self.slot_reads.get())
    }
}

#[path = "../../../test_support/ring_harness.rs"]
mod ring_harness;
pub use ring_harness::Input;

/// The protocol's values read off the fuzz input.
pub trait Draws {
    fn event(&mut self) -> InEvent;
}

impl Draws for Input<'_> {
    fn event(&mut self) -> InEvent {
        match self.u8() % 8 {
            0 => InEvent::Key { pressed: self.u8() & 1 == 1, keycode: u32::from(self.u16() % 0x300) },
            1 => InEvent::Key { pressed: true, keycode: self.u32() },
            2 => InEvent::Motion { rel_x: self.u32() as i32, rel_y: self.u32() as i32, rel_z: self.u32() as i32 },
            3 => InEvent::Position { abs_x: i32::from(self.u16()), abs_y: i32::from(self.u16()), rel_z: i32::from(self.u8() as i8) },
            4 => InEvent::MultiTouch { contact_id: self.u8(), event: MtEvent::Orient { orientation: self.u16() as i16 } },
            5 => InEvent::MultiTouch { contact_id: self.u8(), event: MtEvent::Down { abs_x: 1, abs_y: 2 } },
            6 => InEvent::decode(&self.bytes()),
            _ => InEvent::Key { pressed: false, keycode: KEY_ESC + u32::from(self.u8()) },
        }
    }
}

/// Arbitrary bytes as a run: the first byte picks a hostile frontend, a hostile backend or an
/// honest pair. Panics (a crash for the fuzzer) if an invariant breaks.
pub fn run(data: &[u8]) {
    ring_harness::run(data, [hostile_frontend, hostile_backend, honest_pair]);
}

/// A frontend that writes whatever it likes to `in_cons` (and to `in_prod`, which is not its
/// own), against the backend's producer. Checked after every push:
/// - an event goes to the slot of the producer's own index, whole, and nowhere else; a
///   published `in_prod` is always the producer's own count;
/// - `Full` exactly when a slot is not free by the rules (a ring's worth unconsumed, or the
///   slot shared across the wrap with an unconsumed event), a dead ring exactly when `in_cons`
///   is beyond what was published or more than a ring behind it; nothing is written after;
/// - invalid events write nothing.
pub fn hostile_frontend(input: &mut Input<'_>) {
    let mut mem = MemPage::backend();
    let start = input.start();
    let behind = u32::from(input.u8());
    mem.set_index(IN_PROD_OFFSET, start);
    mem.set_index(IN_CONS_OFFSET, start.wrapping_sub(behind));
    let mut back = match InProducer::attach(&mem) {
        Ok(back) => {
            assert!(behind <= IN_RING_LEN);
            back
        }
        Err(e) => {
            assert!(behind > IN_RING_LEN);
            assert_eq!(e, RingError::BadConsumerIndex { cons: start.wrapping_sub(behind), prod: start });
            return;
        }
    };
    let (mut prod, mut published) = (start, start);
    let mut dead = None;
    let mut steps = 0;
    while !input.is_empty() && steps < 10_000 {
        steps += 1;
        match input.u8() % 6 {
            0 => {
                let v = input.u32();
                mem.set_index(IN_CONS_OFFSET, v);
            }
            // A plausible in_cons: a little behind (or ahead of) what was published.
            1 => {
                let d = input.u8();
                let v = if d & 1 == 0 {
                    published.wrapping_sub(u32::from(d >> 1))
                } else {
                    published.wrapping_add(u32::from(d >> 5))
                };
                mem.set_index(IN_CONS_OFFSET, v);
            }
            // in_prod is the backend's: scribbling on it changes nothing for the backend.
            2 => {
                let v = input.u32();
                mem.set_index(IN_PROD_OFFSET, v);
            }
            // Queue some, then publish.
            3 => {
                for _ in 0..input.u8() % 60 {
                    let ev = input.event();
                    queue_checked(&mut mem, &mut back, &ev, &mut prod, published, &mut dead);
                }
                let had = prod != published;
                let before = mem.slot_writes;
                let notify = back.publish(&mut mem);
                assert_eq!(mem.slot_writes, before);
                assert_eq!(notify, had && dead.is_none());
                if notify {
                    published = prod;
                    assert_eq!(mem.index(IN_PROD_OFFSET), published);
                }
            }
            // Push one.
            _ => {
                let ev = input.event();
                if queue_checked(&mut mem, &mut back, &ev, &mut prod, published, &mut dead) {
                    assert!(back.publish(&mut mem));
                    published = prod;
                    assert_eq!(mem.index(IN_PROD_OFFSET), published);
                }
            }
        }
        assert_eq!(back.produced(), prod);
        assert_eq!(back.error(), dead);
    }
}

/// One checked `queue` for [`hostile_frontend`]; true if the event was queued.
fn queue_checked(
    mem: &mut MemPage,
    back: &mut InProducer,
    ev: &InEvent,
    prod: &mut u32,
    published: u32,
    dead: &mut Option<RingError>,
) -> bool {
    let cons = mem.index(IN_CONS_OFFSET);
    let writes = mem.slot_writes;
    let result = back.queue(mem, ev);
    let behind = published.wrapping_sub(cons);
    let used = behind.wrapping_add(prod.wrapping_sub(published));
    match result {
        Ok(()) => {
            assert!(dead.is_none() && ev.check().is_ok());
            assert!(behind <= IN_RING_LEN && used < IN_RING_LEN);
            assert!(!slot_reused_across_wrap(*prod, used, IN_RING_LEN));
            assert_eq!(mem.slot_writes, writes + 1);
            assert_eq!(mem.last_write, Some(in_event_offset(*prod)));
            assert_eq!(mem.slot(*prod), ev.encode());
            *prod = prod.wrapping_add(1);
            true
        }
        Err(e) => {
            assert_eq!(mem.slot_writes, writes, "{e:?} after a write");
            match e {
                PushError::Invalid(i) => assert_eq!(ev.check(), Err(i)),
                PushError::Full => {
                    assert!(dead.is_none() && behind <= IN_RING_LEN);
                    assert!(used >= IN_RING_LEN || slot_reused_across_wrap(*prod, used, IN_RING_LEN));
                }
                PushError::Ring(r) => match *dead {
                    Some(d) => assert_eq!(r, d),
                    None => {
                        assert!(behind > IN_RING_LEN);
                        assert_eq!(r, RingError::BadConsumerIndex { cons, prod: published });
                        *dead = Some(r);
                    }
                },
            }
            false
        }
    }
}

/// A backend that writes whatever it likes to `in_prod` and the slots, against the
/// frontend's consumer: a call consumes at most a ring, exactly `in_prod - in_cons` events
/// when that is at most a ring, publishes its own count as `in_cons`, and a bogus `in_prod`
/// kills the ring for good with nothing read.
pub fn hostile_backend(input: &mut Input<'_>) {
    let mut mem = MemPage::frontend();
    let start = input.start();
    mem.set_index(IN_CONS_OFFSET, start);
    mem.set_index(IN_PROD_OFFSET, start);
    let mut front = InConsumer::attach(&mem).unwrap();
    let mut cons = start;
    let mut dead = None;
    let mut steps = 0;
    while !input.is_empty() && steps < 10_000 {
        steps += 1;
        match input.u8() % 5 {
            0 => {
                let v = input.u32();
                mem.set_index(IN_PROD_OFFSET, v);
            }
            1 => {
                let d = u32::from(input.u8());
                mem.set_index(IN_PROD_OFFSET, cons.wrapping_add(d));
            }
            2 => {
                let idx = input.u32();
                let b = input.bytes();
                mem.set_slot(idx, &b);
            }
            // in_cons is the frontend's: the backend scribbling on it changes nothing.
            3 => {
                let v = input.u32();
                mem.set_index(IN_CONS_OFFSET, v);
            }
            _ => ring_harness::consume_checked(&mut mem, &mut front, &mut cons, &mut dead),
        }
        assert_eq!(front.consumed(), cons);
        assert_eq!(front.error(), dead);
    }
}

/// An honest backend and frontend on one page, from any starting index (the wrap of the
/// indices included), pushing and consuming in any interleaving: the frontend gets every
/// event pushed, once, in order, and `Full` happens only when the frontend lags.
pub fn honest_pair(input: &mut Input<'_>) {
    let mut mem = MemPage::pair();
    let start = input.start();
    mem.set_index(IN_CONS_OFFSET, start);
    mem.set_index(IN_PROD_OFFSET, start);
    let mut back = InProducer::attach(&mem).unwrap();
    let mut front = InConsumer::attach(&mem).unwrap();
    let mut in_flight: VecDeque<InEvent> = VecDeque::new();
    let mut queued = 0usize;
    let mut steps = 0;
    while !input.is_empty() && steps < 10_000 {
        steps += 1;
        match input.u8() % 3 {
            0 => {
                for _ in 0..=input.u8() % 64 {
                    let ev = InEvent::Key { pressed: input.u8() & 1 == 1, keycode: 1 + u32::from(input.u8()) };
                    match back.queue(&mut mem, &ev) {
                        Ok(()) => {
                            in_flight.push_back(ev);
                            queued += 1;
                        }
                        Err(PushError::Full) => {
                            let used = in_flight.len() as u32;
                            let prod = back.produced();
                            assert!(
                                used >= IN_RING_LEN || slot_reused_across_wrap(prod, used, IN_RING_LEN),
                                "full with {used} events in the ring at {prod}"
                            );
                        }
                        Err(e) => panic!("{e:?}"),
                    }
                }
                assert_eq!(back.publish(&mut mem), queued != 0);
                queued = 0;
            }
            1 => {
                let ev = InEvent::Position { abs_x: i32::from(input.u16()), abs_y: 7, rel_z: 0 };
                match back.push(&mut mem, &ev) {
                    Ok(()) => in_flight.push_back(ev),
                    Err(PushError::Full) => {}
                    Err(e) => panic!("{e:?}"),
                }
                queued = 0;
            }
            _ => {
                // The frontend sees what was published; queued events stay behind.
                let visible = in_flight.len() - queued;
                let n = front
                    .consume(&mut mem, |ev| assert_eq!(Some(ev), in_flight.pop_front(), "lost or reordered"))
                    .unwrap();
                assert_eq!(n as usize, visible);
            }
        }
    }
    back.publish(&mut mem);
    front.consume(&mut mem, |ev| assert_eq!(Some(ev), in_flight.pop_front())).unwrap();
    assert!(in_flight.is_empty());
    assert_eq!(front.consumed(), back.produced());
}
