// SPDX-License-Identifier: GPL-2.0

//! Frames of another domain that it did not grant, mapped by a privileged backend.
//!
//! C headers: [`include/xen/xen.h`](srctree/include/xen/xen.h),
//! [`include/xen/interface/memory.h`](srctree/include/xen/interface/memory.h)
//!
//! Some of Xen's standard protocols name memory by frame number instead of grant: xen-fbfront's
//! shared page (`page-ref`) and its framebuffer's page directory. Only dom0 may map those, as
//! Xen's QEMU does with `xenforeignmemory_map()`: each frame goes over an unpopulated page of
//! ours (a hole in our physical memory) with `XENMEM_add_to_physmap_range`
//! (`XENMAPSPACE_gmfn_foreign`), and the pages are seen as one buffer with `vmap()`, the way
//! `xenbus_map_ring_valloc()` maps granted pages on an auto-translated guest.
//!
//! The other domain writes these frames at any time: [`ForeignFrames`] gives only volatile
//! reads of values and raw copies of pixels, never references.

use core::{
    ffi::c_void,
    ptr,
    sync::atomic::{AtomicU32, Ordering},
};

use kernel::{error::to_result, prelude::*};

use super::{bindings, of_region::Memory};

/// How many frames one `XENMEM_add_to_physmap_range` call maps (its `size` is 16 bits; the
/// hypervisor handles any count, this keeps the argument arrays small).
const FRAMES_PER_CALL: usize = 512;

/// Frames of domain `domid`, mapped in order into one virtually contiguous buffer; unmapped and
/// given back when dropped.
///
/// # Invariants
///
/// `vaddr` maps all of `frames.pages`, each with the foreign frame mapped over it, for the
/// lifetime of `self`.
pub struct ForeignFrames {
    vaddr: *mut u8,
    frames: Unpopulated,
}

impl ForeignFrames {
    /// Maps the frames `gfns` of domain `domid`. Fails with the first frame's error if any
    /// frame cannot be mapped (not the domain's, not RAM), leaving nothing mapped.
    pub fn map(domid: u16, gfns: &[u64]) -> Result<Self> {
        let count = u32::try_from(gfns.len()).map_err(|_| EINVAL)?;
        if count == 0 {
            return Err(EINVAL);
        }
        let mut pages = KVec::with_capacity(gfns.len(), GFP_KERNEL)?;
        pages.resize(gfns.len(), ptr::null_mut(), GFP_KERNEL)?;
        // SAFETY: `pages` has room for `count` page pointers.
        to_result(unsafe { bindings::xen_alloc_unpopulated_pages(count, pages.as_mut_ptr()) })?;
        let mut mapped = KVec::with_capacity(gfns.len(), GFP_KERNEL)?;
        mapped.resize(gfns.len(), false, GFP_KERNEL)?;
        let mut frames = Unpopulated { pages, mapped };
        for (chunk, gfns) in gfns.chunks(FRAMES_PER_CALL).enumerate() {
            let first = chunk * FRAMES_PER_CALL;
            frames.add_to_physmap(domid, first, gfns)?;
        }
        // SAFETY: `count` pages, each now backed by a frame of the other domain.
        let vaddr = unsafe { bindings::kext_vmap_foreign(frames.pages.as_mut_ptr(), count) };
        if vaddr.is_null() {
            return Err(ENOMEM);
        }
        Ok(Self { vaddr: vaddr.cast(), frames })
    }

    /// Bytes mapped: the frames times the page size.
    pub fn len(&self) -> usize {
        self.frames.pages.len() * bindings::PAGE_SIZE
    }

    fn check(&self, offset: usize, len: usize) {
        assert!(offset.checked_add(len).is_some_and(|end| end <= self.len()));
    }

    fn word(&self, offset: usize) -> &AtomicU32 {
        assert!(offset % 4 == 0);
        self.check(offset, 4);
        // SAFETY: Inside the mapping (checked, type invariant), 4-aligned; the indices are
        // only accessed atomically, here as by the other domain.
        unsafe { &*self.vaddr.add(offset).cast::<AtomicU32>() }
    }

    /// The 32-bit little-endian value at `offset` (4-aligned), read with acquire ordering.
    pub fn load_u32(&self, offset: usize) -> u32 {
        u32::from_le(self.word(offset).load(Ordering::Acquire))
    }

    /// Stores a 32-bit little-endian value at `offset` (4-aligned) with release ordering (a
    /// protocol that needs a full barrier first asks for it: `SharedPage::full_barrier`).
    pub fn store_u32(&self, offset: usize, value: u32) {
        self.word(offset).store(value.to_le(), Ordering::Release)
    }

    /// Copies bytes from `offset` into `buf`.
    pub fn read(&self, offset: usize, buf: &mut [u8]) {
        self.check(offset, buf.len());
        for (i, byte) in buf.iter_mut().enumerate() {
            // SAFETY: Inside the mapping (checked above); volatile: the other domain may
            // write it.
            *byte = unsafe { self.vaddr.add(offset + i).read_volatile() };
        }
    }

    /// Copies `data` to `offset`.
    pub fn write(&self, offset: usize, data: &[u8]) {
        self.check(offset, data.len());
        for (i, byte) in data.iter().enumerate() {
            // SAFETY: Inside the mapping (checked above); volatile: the other domain may
            // read it.
            unsafe { self.vaddr.add(offset + i).write_volatile(*byte) };
        }
    }

    /// Copies `len` bytes from `offset` to `dst_offset` of `dst` (a device's memory: the
    /// board's guest screen).
    pub fn copy_to_memory(&self, offset: usize, dst: &Memory, dst_offset: usize, len: usize) {
        self.check(offset, len);
        let to = dst.range_ptr(dst_offset, len);
        // SAFETY: The source is inside the mapping (checked), the destination inside `dst`'s
        // (checked by `range_ptr`); they are different mappings. The other domain may be
        // writing the source: pixels torn by a concurrent write are what any scanout of shared
        // memory shows, and are redrawn with its next update.
        unsafe { ptr::copy_nonoverlapping(self.vaddr.add(offset), to, len) };
    }
}

impl Drop for ForeignFrames {
    fn drop(&mut self) {
        // SAFETY: Mapped by `vmap` in `map` (type invariant). The frames are removed and
        // the pages given back when `self.frames` drops, after this.
        unsafe { bindings::vunmap(self.vaddr.cast::<c_void>()) };
    }
}

// SAFETY: The mapping is plain memory reached only by volatile accesses and raw copies; the
// page pointers are only used to give the pages back.
unsafe impl Send for ForeignFrames {}
// SAFETY: As above: `&self` methods never hand out references into the mapping.
unsafe impl Sync for ForeignFrames {}

/// Unpopulated pages, some with a foreign frame over them (`mapped`): dropped, those frames are
/// removed (the pages become holes again) and the pages given back.
struct Unpopulated {
    pages: KVec<*mut bindings::page>,
    mapped: KVec<bool>,
}

impl Unpopulated {
    /// Maps `gfns` of `domid` over our pages from `first`, in one hypercall. The hypervisor goes
    /// on after an element fails (as Xen does): every frame that did map is recorded, so that
    /// a failure leaves none behind.
    fn add_to_physmap(&mut self, domid: u16, first: usize, gfns: &[u64]) -> Result {
        let mut idxs = KVec::with_capacity(gfns.len(), GFP_KERNEL)?;
        let mut gpfns = KVec::with_capacity(gfns.len(), GFP_KERNEL)?;
        let mut errs = KVec::with_capacity(gfns.len(), GFP_KERNEL)?;
        for (i, gfn) in gfns.iter().enumerate() {
            idxs.push(*gfn as bindings::xen_ulong_t, GFP_KERNEL)?;
            // SAFETY: One of the pages `xen_alloc_unpopulated_pages` gave us.
            gpfns.push(unsafe { bindings::kext_page_to_xen_pfn(self.pages[first + i]) }, GFP_KERNEL)?;
            // An element the hypervisor never reached stays "not mapped".
            errs.push(EINVAL.to_errno(), GFP_KERNEL)?;
        }
        let mut request = bindings::xen_add_to_physmap_range {
            domid: bindings::DOMID_SELF as bindings::domid_t,
            space: bindings::XENMAPSPACE_gmfn_foreign as u16,
            size: gfns.len() as u16,
            foreign_domid: domid,
            ..Default::default()
        };
        request.idxs.__bindgen_anon_1.p = idxs.as_mut_ptr();
        request.gpfns.__bindgen_anon_1.p = gpfns.as_mut_ptr();
        request.errs.__bindgen_anon_1.p = errs.as_mut_ptr();
        // SAFETY: The request and the three arrays it points to live across the call.
        let rc = unsafe {
            bindings::HYPERVISOR_memory_op(bindings::XENMEM_add_to_physmap_range, ptr::from_mut(&mut request).cast())
        };
        for (i, &err) in errs.iter().enumerate() {
            self.mapped[first + i] = err == 0;
        }
        if rc < 0 {
            return Err(Error::from_errno(rc));
        }
        match errs.iter().find(|&&e| e != 0) {
            None => Ok(()),
            Some(&err) => Err(Error::from_errno(err)),
        }
    }
}

impl Drop for Unpopulated {
    fn drop(&mut self) {
        for (&page, _) in self.pages.iter().zip(self.mapped.iter()).filter(|(_, &mapped)| mapped) {
            let mut request = bindings::xen_remove_from_physmap {
                domid: bindings::DOMID_SELF as bindings::domid_t,
                // SAFETY: One of our unpopulated pages.
                gpfn: unsafe { bindings::kext_page_to_xen_pfn(page) },
            };
            // SAFETY: The request lives across the call.
            let rc = unsafe {
                bindings::HYPERVISOR_memory_op(bindings::XENMEM_remove_from_physmap, ptr::from_mut(&mut request).cast())
            };
            if rc < 0 {
                pr_err!("foreign frame at pfn {:#x}: remove_from_physmap failed ({rc})\n", request.gpfn);
            }
        }
        // SAFETY: The pages `xen_alloc_unpopulated_pages` gave us, none mapped any more.
        unsafe { bindings::xen_free_unpopulated_pages(self.pages.len() as u32, self.pages.as_mut_ptr()) };
    }
}
