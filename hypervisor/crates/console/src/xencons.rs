//! A domU's Xen console ring (`io/console.h`), the hypervisor's side: Linux's `hvc_xen` in a
//! domU writes its console output into `out` and reads the user's typing from `in`, on one
//! page the hypervisor shares with it (`HVM_PARAM_CONSOLE_PFN`), each side notifying the
//! other through an event channel (`HVM_PARAM_CONSOLE_EVTCHN`).
//!
//! ```text
//! struct xencons_interface {        offset
//!     char in[1024];                0       user -> guest, the hypervisor produces
//!     char out[2048];               1024    guest -> user, the guest produces
//!     XENCONS_RING_IDX in_cons;     3072
//!     XENCONS_RING_IDX in_prod;     3076
//!     XENCONS_RING_IDX out_cons;    3080
//!     XENCONS_RING_IDX out_prod;    3084
//! };
//! ```
//!
//! Indices are free-running `u32`s, an index's byte is at `index % size`. The guest owns
//! `out_prod` and `in_cons` and may write anything there: a producer more than a ring ahead of
//! its consumer is [`RingError::Overrun`]; the hypervisor then discards what the guest claims
//! to have written (its consumer catches up) rather than read stale or unwritten bytes.

/// Bytes of `in`.
pub const IN_SIZE: usize = 1024;
/// Bytes of `out`.
pub const OUT_SIZE: usize = 2048;
/// Offsets of the fields in the page.
pub const IN_OFFSET: usize = 0;
/// Offset of `out`.
pub const OUT_OFFSET: usize = 1024;
/// Offset of `in_cons`.
pub const IN_CONS: usize = 3072;
/// Offset of `in_prod`.
pub const IN_PROD: usize = 3076;
/// Offset of `out_cons`.
pub const OUT_CONS: usize = 3080;
/// Offset of `out_prod`.
pub const OUT_PROD: usize = 3084;

/// The ring page as the hypervisor reaches it (atomics for the indices, the guest's memory
/// ordering: acquire the other side's index before its bytes, release ours after ours).
pub trait ConsoleRingPage {
    /// Loads the index at one of the index offsets.
    fn index(&self, offset: usize) -> u32;
    /// Stores the index at one of the index offsets.
    fn set_index(&mut self, offset: usize, value: u32);
    /// Copies bytes of the page from `offset` (`offset + dst.len()` within the page).
    fn read(&self, offset: usize, dst: &mut [u8]);
    /// Copies `src` into the page at `offset` (within the page).
    fn write(&mut self, offset: usize, src: &[u8]);
}

/// The guest broke the ring's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingError {
    /// `prod - cons` (wrapping) is more than the ring holds: `claimed` bytes.
    Overrun {
        /// What the indices say is in the ring.
        claimed: u32,
    },
}

/// Takes up to `buf.len()` bytes of the guest's output, advancing `out_cons`. On an overrun
/// nothing is taken and `out_cons` jumps to `out_prod`.
pub fn take_output(ring: &mut impl ConsoleRingPage, buf: &mut [u8]) -> Result<usize, RingError> {
    let cons = ring.index(OUT_CONS);
    let prod = ring.index(OUT_PROD);
    let pending = prod.wrapping_sub(cons);
    if pending as usize > OUT_SIZE {
        ring.set_index(OUT_CONS, prod);
        return Err(RingError::Overrun { claimed: pending });
    }
    let n = (pending as usize).min(buf.len());
    copy_out(ring, OUT_OFFSET, OUT_SIZE, cons, &mut buf[..n]);
    ring.set_index(OUT_CONS, cons.wrapping_add(n as u32));
    Ok(n)
}

/// Room in `in` for typed bytes (0 when the guest's `in_cons` is not believable).
pub fn input_space(ring: &impl ConsoleRingPage) -> usize {
    let used = ring.index(IN_PROD).wrapping_sub(ring.index(IN_CONS)) as usize;
    IN_SIZE.saturating_sub(used)
}

/// Puts as many of `bytes` as fit into `in`, advancing `in_prod`; returns how many.
pub fn put_input(ring: &mut impl ConsoleRingPage, bytes: &[u8]) -> usize {
    let n = input_space(ring).min(bytes.len());
    let prod = ring.index(IN_PROD);
    for (at, len, from) in split_at_wrap(prod, IN_SIZE, n) {
        ring.write(IN_OFFSET + at, &bytes[from..from + len]);
    }
    ring.set_index(IN_PROD, prod.wrapping_add(n as u32));
    n
}

fn copy_out(ring: &impl ConsoleRingPage, base: usize, size: usize, start: u32, dst: &mut [u8]) {
    for (at, len, from) in split_at_wrap(start, size, dst.len()) {
        ring.read(base + at, &mut dst[from..from + len]);
    }
}

/// `len` bytes from free-running index `start` in a ring of `size` (a power of two, `len` at
/// most `size`): up to two (offset in ring, length, offset in the caller's buffer) pieces.
fn split_at_wrap(start: u32, size: usize, len: usize) -> [(usize, usize, usize); 2] {
    let at = start as usize % size;
    let first = len.min(size - at);
    [(at, first, 0), (0, len - first, first)]
}

/// A ring page in plain memory: the test double for the hypervisor's, with the guest's side
/// of the protocol (Linux's `hvc_xen` `__write_console()`/`__read_console()`).
#[derive(Clone, Debug)]
pub struct MemConsoleRing {
    /// The page.
    pub page: [u8; 4096],
}

impl Default for MemConsoleRing {
    fn default() -> Self {
        MemConsoleRing { page: [0; 4096] }
    }
}

impl ConsoleRingPage for MemConsoleRing {
    fn index(&self, offset: usize) -> u32 {
        u32::from_le_bytes(self.page[offset..offset + 4].try_into().unwrap_or([0; 4]))
    }
    fn set_index(&mut self, offset: usize, value: u32) {
        self.page[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
    }
    fn read(&self, offset: usize, dst: &mut [u8]) {
        dst.copy_from_slice(&self.page[offset..offset + dst.len()]);
    }
    fn write(&mut self, offset: usize, src: &[u8]) {
        self.page[offset..offset + src.len()].copy_from_slice(src);
    }
}

impl MemConsoleRing {
    /// The guest writes console output: as much as fits; returns how many bytes.
    pub fn guest_write(&mut self, bytes: &[u8]) -> usize {
        let prod = self.index(OUT_PROD);
        let used = prod.wrapping_sub(self.index(OUT_CONS)) as usize;
        let n = OUT_SIZE.saturating_sub(used).min(bytes.len());
        for (at, len, from) in split_at_wrap(prod, OUT_SIZE, n) {
            self.write(OUT_OFFSET + at, &bytes[from..from + len]);
        }
        self.set_index(OUT_PROD, prod.wrapping_add(n as u32));
        n
    }

    /// The guest reads typed bytes into `buf`; returns how many.
    pub fn guest_read(&mut self, buf: &mut [u8]) -> usize {
        let cons = self.index(IN_CONS);
        let n = (self.index(IN_PROD).wrapping_sub(cons) as usize).min(IN_SIZE).min(buf.len());
        copy_out(self, IN_OFFSET, IN_SIZE, cons, &mut buf[..n]);
        self.set_index(IN_CONS, cons.wrapping_add(n as u32));
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    #[test]
    fn output_round_trip_across_the_wrap() {
        let mut ring = MemConsoleRing::default();
        ring.set_index(OUT_CONS, u32::MAX - 3);
        ring.set_index(OUT_PROD, u32::MAX - 3);
        assert_eq!(ring.guest_write(b"hello, world"), 12);
        let mut buf = [0u8; 64];
        assert_eq!(take_output(&mut ring, &mut buf), Ok(12));
        assert_eq!(&buf[..12], b"hello, world");
        assert_eq!(take_output(&mut ring, &mut buf), Ok(0));
    }

    #[test]
    fn output_taken_in_pieces() {
        let mut ring = MemConsoleRing::default();
        ring.guest_write(b"abcdef");
        let mut buf = [0u8; 4];
        assert_eq!(take_output(&mut ring, &mut buf), Ok(4));
        assert_eq!(&buf, b"abcd");
        assert_eq!(take_output(&mut ring, &mut buf), Ok(2));
        assert_eq!(&buf[..2], b"ef");
    }

    #[test]
    fn a_producer_beyond_the_ring_is_an_overrun_and_resyncs() {
        let mut ring = MemConsoleRing::default();
        ring.set_index(OUT_PROD, OUT_SIZE as u32 + 1);
        let mut buf = [0u8; 16];
        assert_eq!(take_output(&mut ring, &mut buf), Err(RingError::Overrun { claimed: OUT_SIZE as u32 + 1 }));
        assert_eq!(ring.index(OUT_CONS), OUT_SIZE as u32 + 1);
        assert_eq!(take_output(&mut ring, &mut buf), Ok(0));
    }

    #[test]
    fn input_fills_the_ring_and_no_more() {
        let mut ring = MemConsoleRing::default();
        let typed: Vec<u8> = (0..IN_SIZE + 10).map(|i| i as u8).collect();
        assert_eq!(put_input(&mut ring, &typed), IN_SIZE);
        assert_eq!(input_space(&ring), 0);
        assert_eq!(put_input(&mut ring, b"x"), 0);
        let mut buf = alloc::vec![0u8; IN_SIZE];
        assert_eq!(ring.guest_read(&mut buf), IN_SIZE);
        assert_eq!(buf, typed[..IN_SIZE]);
        assert_eq!(input_space(&ring), IN_SIZE);
    }

    #[test]
    fn an_unbelievable_consumer_leaves_no_room() {
        let mut ring = MemConsoleRing::default();
        ring.set_index(IN_CONS, 5000);
        assert_eq!(input_space(&ring), 0);
        assert_eq!(put_input(&mut ring, b"abc"), 0);
    }

    proptest! {
        /// Whatever the guest writes in the indices, the hypervisor never takes more than the
        /// ring holds nor writes beyond `in`, and a well-behaved guest gets every byte, in order.
        #[test]
        fn hostile_indices_never_misbehave(in_cons: u32, in_prod: u32, out_cons: u32, out_prod: u32, typed in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let mut ring = MemConsoleRing::default();
            ring.set_index(IN_CONS, in_cons);
            ring.set_index(IN_PROD, in_prod);
            ring.set_index(OUT_CONS, out_cons);
            ring.set_index(OUT_PROD, out_prod);
            let before = ring.page;
            let mut buf = [0u8; 4096];
            if let Ok(n) = take_output(&mut ring, &mut buf) {
                prop_assert!(n <= OUT_SIZE);
            }
            let n = put_input(&mut ring, &typed);
            prop_assert!(n <= IN_SIZE);
            // Only `in` and the hypervisor's indices changed.
            prop_assert_eq!(&ring.page[OUT_OFFSET..IN_CONS], &before[OUT_OFFSET..IN_CONS]);
        }

        #[test]
        fn a_well_behaved_guest_gets_everything(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..700), 0..20), start: u32) {
            let mut ring = MemConsoleRing::default();
            for index in [IN_CONS, IN_PROD, OUT_CONS, OUT_PROD] {
                ring.set_index(index, start);
            }
            let (mut sent, mut got, mut typed, mut read) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let mut buf = [0u8; 333];
            for chunk in &chunks {
                let n = ring.guest_write(chunk);
                sent.extend_from_slice(&chunk[..n]);
                let t = put_input(&mut ring, chunk);
                typed.extend_from_slice(&chunk[..t]);
                loop {
                    let n = take_output(&mut ring, &mut buf).unwrap();
                    if n == 0 { break; }
                    got.extend_from_slice(&buf[..n]);
                }
                let r = ring.guest_read(&mut buf);
                read.extend_from_slice(&buf[..r]);
            }
            loop {
                let r = ring.guest_read(&mut buf);
                if r == 0 { break; }
                read.extend_from_slice(&buf[..r]);
            }
            prop_assert_eq!(sent, got);
            prop_assert_eq!(typed, read);
        }
    }
}
