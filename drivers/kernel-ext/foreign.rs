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
//! The other domain writes these frames at any time: [`ForeignFrames`] hands them out as a
//! [`SharedMemory`] (atomic indices, volatile bytes, raw copies of pixels), never as references.

use core::{
    ffi::c_void,
    ptr::{self, NonNull},
};

use kernel::{error::to_result, prelude::*};

use super::{bindings, shared_memory::SharedMemory};

/// How many frames one `XENMEM_add_to_physmap_range` call maps (its `size` is 16 bits; the
/// hypervisor handles any count, this keeps the argument arrays small).
const FRAMES_PER_CALL: usize = 512;

/// Frames of domain `domid`, mapped in order into one virtually contiguous buffer; unmapped and
/// given back when dropped.
///
/// # Invariants
///
/// `memory` is the `vmap` of all of `_frames.pages`, each with the foreign frame mapped over it,
/// until `drop` unmaps it.
pub struct ForeignFrames {
    memory: SharedMemory,
    /// Only dropped, after the `vmap` is gone.
    _frames: Unpopulated,
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
        // SAFETY: `count` pages, each now backed by a frame of the other domain, mapped (when not
        // NULL) page-aligned until `drop` unmaps them, and reached only through `memory`.
        let memory = unsafe {
            let vaddr = bindings::kext_vmap_foreign(frames.pages.as_mut_ptr(), count);
            SharedMemory::new(NonNull::new(vaddr.cast()).ok_or(ENOMEM)?, gfns.len() * bindings::PAGE_SIZE)
        };
        Ok(Self { memory, _frames: frames })
    }

    /// The frames, one page each, in order.
    pub fn shared(&self) -> &SharedMemory {
        &self.memory
    }
}

impl Drop for ForeignFrames {
    fn drop(&mut self) {
        // SAFETY: Mapped by `vmap` in `map` (type invariant). The frames are removed and
        // the pages given back when `self._frames` drops, after this.
        unsafe { bindings::vunmap(self.memory.base().as_ptr().cast::<c_void>()) };
    }
}

/// Unpopulated pages, some with a foreign frame over them (`mapped`): dropped, those frames are
/// removed (the pages become holes again) and the pages given back.
struct Unpopulated {
    pages: KVec<*mut bindings::page>,
    mapped: KVec<bool>,
}

// SAFETY: The page pointers are only used to map and give back the pages, which the hypervisor
// and the allocator allow from any thread.
unsafe impl Send for Unpopulated {}
// SAFETY: As above: `&Unpopulated` gives nothing.
unsafe impl Sync for Unpopulated {}

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
