//! Memory shared with the backend, as the protocols' one `SharedPage` trait (fbif's and
//! kbdif's: drivers/protocols/common): indices with atomic acquire/release accesses, everything
//! else byte by byte with volatile accesses, never a Rust reference to memory the backend may
//! write at any time.

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicU32, Ordering};

use protocol_common::SharedPage;

/// `len` bytes at `base`, borrowed from their owner (a locked buffer or a granted page).
pub struct Shared<'a> {
    base: NonNull<u8>,
    len: usize,
    _memory: PhantomData<&'a mut [u8]>,
}

impl<'a> Shared<'a> {
    /// # Safety
    ///
    /// `base` is 4-byte aligned and `len` bytes from it are mapped readable and writable for
    /// `'a`, and this program only reaches them through `Shared` views while they live.
    pub unsafe fn new(base: NonNull<u8>, len: usize) -> Self {
        assert!((base.as_ptr() as usize).is_multiple_of(4), "shared memory not aligned");
        Shared { base, len, _memory: PhantomData }
    }

    fn index(&self, offset: usize) -> &AtomicU32 {
        assert!(offset.is_multiple_of(4) && offset + 4 <= self.len, "index offset {offset}");
        // SAFETY: in the mapping, aligned (checked here and in `new`); AtomicU32 has the layout
        // of u32 and every access to these 4 bytes from this program is atomic.
        unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(offset).cast()) }
    }

    fn range(&self, offset: usize, len: usize) -> *mut u8 {
        assert!(offset.checked_add(len).is_some_and(|end| end <= self.len), "{len} bytes at {offset} of {}", self.len);
        // SAFETY: in bounds (checked above).
        unsafe { self.base.as_ptr().add(offset) }
    }

    pub fn load(&self, offset: usize) -> u32 {
        u32::from_le(self.index(offset).load(Ordering::Acquire))
    }

    /// Stores after a full barrier (what was written before is visible first).
    pub fn store(&mut self, offset: usize, value: u32) {
        fence(Ordering::SeqCst);
        self.index(offset).store(value.to_le(), Ordering::Release)
    }

    pub fn read_bytes(&self, offset: usize, buf: &mut [u8]) {
        let src = self.range(offset, buf.len());
        for (i, byte) in buf.iter_mut().enumerate() {
            // SAFETY: in bounds (`range`), readable.
            *byte = unsafe { src.add(i).read_volatile() };
        }
    }

    pub fn write_bytes(&mut self, offset: usize, data: &[u8]) {
        let dst = self.range(offset, data.len());
        for (i, &byte) in data.iter().enumerate() {
            // SAFETY: in bounds (`range`), writable.
            unsafe { dst.add(i).write_volatile(byte) };
        }
    }

    /// Fills `len` bytes from `offset` with the 32-bit little-endian `pattern` (a pixel).
    pub fn fill_u32(&mut self, offset: usize, len: usize, pattern: u32) {
        assert!(offset.is_multiple_of(4) && len.is_multiple_of(4));
        let dst = self.range(offset, len).cast::<u32>();
        for i in 0..len / 4 {
            // SAFETY: in bounds (`range`), aligned (offset and base are multiples of 4).
            unsafe { dst.add(i).write_volatile(pattern.to_le()) };
        }
    }

    /// A cheap fingerprint of `len` bytes from `offset` (to see whether the backend wrote them).
    pub fn checksum(&self, offset: usize, len: usize) -> u64 {
        let mut buf = vec![0u8; len];
        self.read_bytes(offset, &mut buf);
        buf.iter().enumerate().fold(0xcbf2_9ce4_8422_2325u64, |h, (i, &b)| (h ^ u64::from(b) ^ (i as u64) << 8).wrapping_mul(0x100_0000_01b3))
    }
}

/// The rings' view: a release store (the protocols put the trait's full barrier, a
/// `fence(SeqCst)`, before it where they need one, as [`Shared::store`] always does).
impl SharedPage for Shared<'_> {
    fn load_u32(&self, offset: usize) -> u32 {
        self.load(offset)
    }
    fn store_u32(&mut self, offset: usize, value: u32) {
        self.index(offset).store(value.to_le(), Ordering::Release)
    }
    fn read(&self, offset: usize, buf: &mut [u8]) {
        self.read_bytes(offset, buf)
    }
    fn write(&mut self, offset: usize, data: &[u8]) {
        self.write_bytes(offset, data)
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Zeroed, page-aligned memory for host tests.
    pub struct TestMemory {
        base: NonNull<u8>,
        layout: std::alloc::Layout,
    }

    impl TestMemory {
        pub fn new(pages: usize) -> Self {
            let layout = std::alloc::Layout::from_size_align(pages * 4096, 4096).unwrap();
            // SAFETY: a non-zero size.
            let base = NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) }).expect("allocation");
            TestMemory { base, layout }
        }

        pub fn view(&mut self) -> Shared<'_> {
            // SAFETY: the allocation, page-aligned, lives as long as the borrow of self.
            unsafe { Shared::new(self.base, self.layout.size()) }
        }
    }

    impl Drop for TestMemory {
        fn drop(&mut self) {
            // SAFETY: allocated in `new` with this layout.
            unsafe { std::alloc::dealloc(self.base.as_ptr(), self.layout) }
        }
    }

    #[test]
    fn indices_are_little_endian_and_bytes_stay_in_bounds() {
        let mut memory = TestMemory::new(1);
        let mut view = memory.view();
        view.store(12, 0x0102_0304);
        let mut bytes = [0u8; 4];
        view.read_bytes(12, &mut bytes);
        assert_eq!(bytes, [4, 3, 2, 1]);
        view.fill_u32(16, 8, 0xff00_00ff);
        assert_eq!(view.load(16), 0xff00_00ff);
        let before = view.checksum(0, 4096);
        view.write_bytes(4095, &[1]);
        assert_ne!(view.checksum(0, 4096), before);
    }

    #[test]
    #[should_panic(expected = "bytes at")]
    fn accesses_beyond_the_memory_are_refused() {
        let mut memory = TestMemory::new(1);
        memory.view().read_bytes(4090, &mut [0u8; 8]);
    }
}
