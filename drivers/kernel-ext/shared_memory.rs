// SPDX-License-Identifier: GPL-2.0

//! Memory shared with another domain: the one type that reads and writes it, [`SharedMemory`],
//! and the protocols' trait on it ([`SharedPage`]).
//!
//! Its owners map or allocate the memory and hand out a `&SharedMemory` while it lives: a ring
//! page granted or mapped ([`xenbus::GrantedPage`], [`xenbus::MappedPage`]), frames of another
//! domain ([`foreign::ForeignFrames`]), vmalloc'd pages another domain maps by frame number
//! ([`fb::Memory`]).
//!
//! [`xenbus::GrantedPage`]: super::xenbus::GrantedPage
//! [`xenbus::MappedPage`]: super::xenbus::MappedPage
//! [`foreign::ForeignFrames`]: super::foreign::ForeignFrames
//! [`fb::Memory`]: super::fb::Memory

use core::{
    ptr::{self, NonNull},
    sync::atomic::{fence, AtomicU32, Ordering},
};

use super::{of_region, shared_page::SharedPage};

/// `len` bytes that others read and write at any time (another domain, user space through a
/// mapping, the console), seen as the bytes and 32-bit little-endian indices of a protocol:
/// every access is a single atomic or volatile one, or a raw copy, never a reference.
///
/// # Invariants
///
/// `ptr` is 4-aligned and maps `len` bytes until the owner that made `self` unmaps or frees them
/// in its `drop`, after which `self` is not used. No Rust reference covers the bytes: they are
/// only accessed atomically, volatilely or by raw copies.
pub struct SharedMemory {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: Plain memory, reached only by atomic or volatile accesses and raw copies; its owner
// unmaps or frees it, which the kernel allows from any thread.
unsafe impl Send for SharedMemory {}
// SAFETY: As above: `&SharedMemory` gives only such accesses; concurrent ones are what the
// protocols arbitrate.
unsafe impl Sync for SharedMemory {}

impl SharedMemory {
    /// The `len` bytes at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must be 4-aligned and map `len` bytes until the caller unmaps or frees them, in the
    /// `drop` of the owner that holds the result, which does not use it afterwards; no Rust
    /// reference may cover the bytes.
    pub(super) unsafe fn new(ptr: NonNull<u8>, len: usize) -> Self {
        // INVARIANT: The caller's promise.
        Self { ptr, len }
    }

    /// Bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none (never, for kernel-ext's memory); for symmetry with [`Self::len`].
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first byte, for the owner: to unmap or free the memory, or to describe it to C.
    pub(super) fn base(&self) -> NonNull<u8> {
        self.ptr
    }

    /// A pointer to the `len` bytes at `offset`, which must be inside, for raw uses: single
    /// accesses, raw copies, the owner's C calls.
    pub(super) fn range_ptr(&self, offset: usize, len: usize) -> *mut u8 {
        assert!(offset.checked_add(len).is_some_and(|end| end <= self.len));
        // SAFETY: Inside the mapping (checked above).
        unsafe { self.ptr.as_ptr().add(offset) }
    }

    fn word(&self, offset: usize) -> &AtomicU32 {
        assert!(offset % 4 == 0);
        // SAFETY: Inside the mapping (checked by `range_ptr`), 4-aligned (so is `ptr`, type
        // invariant); the indices are only accessed atomically, here as by the other side.
        unsafe { &*self.range_ptr(offset, 4).cast::<AtomicU32>() }
    }

    /// The 32-bit little-endian value at `offset` (4-aligned), read with acquire ordering.
    pub fn load_u32(&self, offset: usize) -> u32 {
        u32::from_le(self.word(offset).load(Ordering::Acquire))
    }

    /// Stores a 32-bit little-endian value at `offset` (4-aligned) with release ordering (a
    /// protocol that needs a full barrier first asks for it: [`Self::full_barrier`]).
    pub fn store_u32(&self, offset: usize, value: u32) {
        self.word(offset).store(value.to_le(), Ordering::Release)
    }

    /// Copies `buf.len()` bytes from `offset` into `buf`.
    pub fn read(&self, offset: usize, buf: &mut [u8]) {
        let src = self.range_ptr(offset, buf.len());
        for (i, byte) in buf.iter_mut().enumerate() {
            // SAFETY: Inside the mapping (checked by `range_ptr`); volatile: others may write it.
            *byte = unsafe { src.add(i).read_volatile() };
        }
    }

    /// Copies `data` to `offset`.
    pub fn write(&self, offset: usize, data: &[u8]) {
        let dst = self.range_ptr(offset, data.len());
        for (i, byte) in data.iter().enumerate() {
            // SAFETY: Inside the mapping (checked by `range_ptr`); volatile: others may read it.
            unsafe { dst.add(i).write_volatile(*byte) };
        }
    }

    /// A full barrier (`virt_mb()`).
    pub fn full_barrier(&self) {
        fence(Ordering::SeqCst);
    }

    /// Copies `len` bytes from `offset` to `dst_offset` of `dst` (a device's memory: the
    /// board's guest screen).
    pub fn copy_to_memory(&self, offset: usize, dst: &of_region::Memory, dst_offset: usize, len: usize) {
        let from = self.range_ptr(offset, len);
        let to = dst.range_ptr(dst_offset, len);
        // SAFETY: The source is inside the mapping, the destination inside `dst`'s (both
        // checked by `range_ptr`); they are different mappings. The other side may be writing
        // the source: pixels torn by a concurrent write are what any scanout of shared memory
        // shows, and are redrawn with its next update.
        unsafe { ptr::copy_nonoverlapping(from, to, len) };
    }
}

/// The protocols reach the memory through a shared reference, `&mut &SharedMemory`, from a
/// driver's `&self`: `&mut page.page()` is what a ring takes. The full barrier is the trait's,
/// `virt_mb()`.
impl SharedPage for &SharedMemory {
    #[inline]
    fn load_u32(&self, offset: usize) -> u32 {
        SharedMemory::load_u32(self, offset)
    }
    #[inline]
    fn store_u32(&mut self, offset: usize, value: u32) {
        SharedMemory::store_u32(self, offset, value)
    }
    #[inline]
    fn read(&self, offset: usize, buf: &mut [u8]) {
        SharedMemory::read(self, offset, buf)
    }
    #[inline]
    fn write(&mut self, offset: usize, data: &[u8]) {
        SharedMemory::write(self, offset, data)
    }
}
