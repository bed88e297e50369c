//! Test support shared by the harnesses of kbdif and fbif (tests/harness/mod.rs, which the
//! tests and the fuzz targets share; each includes this file with `#[path]`): what is the same
//! in their hostile-peer drivers, over the typed rings of `ring_index` (`EventConsumer`), and
//! the fuzz input they read (../fuzz_input.rs).
//!
//! It names the protocol crate only through the harness's glob import (`super::*`: the crate's
//! `ring_index`, `RingError`, `SharedPage`).

use super::*;

#[path = "../fuzz_input.rs"]
mod fuzz_input;
pub use fuzz_input::Input;

use ring_index::{Event, EventConsumer};

/// The test's view of the shared page, beside what the rings reach through [`SharedPage`].
pub trait TestPage: SharedPage {
    /// The whole page, as the other side sees it, and the slot reads through
    /// [`SharedPage::read`] so far.
    fn view(&self) -> (&[u8], usize);

    /// The whole page.
    fn bytes(&self) -> &[u8] {
        self.view().0
    }

    /// Slot reads so far.
    fn slot_reads(&self) -> usize {
        self.view().1
    }

    /// The other side's raw view of an index.
    fn raw_index(&self, offset: usize) -> u32 {
        u32::from_le_bytes(self.bytes()[offset..offset + 4].try_into().unwrap())
    }

    /// The raw slot of ring index `idx` of the ring of `E`.
    fn raw_slot<E: Event<N>, const N: usize>(&self, idx: u32) -> [u8; N] {
        let off = (E::RING.slot_offset)(idx);
        self.bytes()[off..off + N].try_into().unwrap()
    }
}

/// Arbitrary bytes as a run: the first byte picks a hostile frontend, a hostile backend or an
/// honest pair (`drivers`, in that order), which gets the rest.
pub fn run(data: &[u8], drivers: [fn(&mut Input<'_>); 3]) {
    let mut input = Input::new(data);
    let driver = drivers[usize::from(input.u8() % 3)];
    driver(&mut input);
}

/// One `consume` of a ring whose producer is hostile (writes whatever it likes to `prod` and
/// the slots), checked: a call consumes at most a ring, exactly `prod - cons` events (each
/// slot read once, decoded from the copy) when that is at most a ring, publishes its own
/// count as `cons`, and a bogus `prod` kills the ring for good with nothing read. `cons` and
/// `dead` are the test's own account of the ring, updated.
pub fn consume_checked<P, E, const N: usize>(
    mem: &mut P,
    ring: &mut EventConsumer<E, N>,
    cons: &mut u32,
    dead: &mut Option<RingError>,
) where
    P: TestPage,
    E: Event<N> + PartialEq + std::fmt::Debug,
{
    let len = E::RING.len;
    let prod = mem.raw_index(E::RING.prod_offset);
    let expected: Vec<E> =
        (0..prod.wrapping_sub(*cons).min(len)).map(|i| E::decode(&mem.raw_slot::<E, N>(cons.wrapping_add(i)))).collect();
    let reads = mem.slot_reads();
    let page_cons = mem.raw_index(E::RING.cons_offset);
    let mut got = Vec::new();
    match ring.consume(mem, |ev| got.push(ev)) {
        Ok(n) => {
            assert!(dead.is_none());
            assert!(prod.wrapping_sub(*cons) <= len);
            assert_eq!(n as usize, got.len());
            assert_eq!(got, expected);
            assert_eq!(mem.slot_reads() - reads, got.len());
            *cons = cons.wrapping_add(n);
            if n != 0 {
                assert_eq!(mem.raw_index(E::RING.cons_offset), *cons);
            } else {
                assert_eq!(mem.raw_index(E::RING.cons_offset), page_cons);
            }
        }
        Err(e) => {
            assert!(got.is_empty() && mem.slot_reads() == reads);
            match *dead {
                Some(d) => assert_eq!(e, d),
                None => {
                    assert!(prod.wrapping_sub(*cons) > len);
                    assert_eq!(e, RingError::BadProducerIndex { prod, cons: *cons });
                    *dead = Some(e);
                }
            }
        }
    }
}
