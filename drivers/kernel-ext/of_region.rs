// SPDX-License-Identifier: GPL-2.0

//! A device tree node's `reg` entries, mapped as registers or as memory.
//!
//! C headers: [`include/linux/of_address.h`](srctree/include/linux/of_address.h),
//! [`include/linux/io.h`](srctree/include/linux/io.h)
//!
//! For a driver that uses a node without being its platform driver: vfbback, a xenbus backend,
//! programs the board's display controller (`reptar,display-controller`: its registers in the
//! first `reg` entry, the guest screen it may show in the second).

use core::ffi::c_void;

use kernel::{error::to_result, prelude::*, str::CStr};

use super::bindings;

/// A reference to a device tree node, put when dropped.
///
/// # Invariants
///
/// `node` is a valid node whose reference count we hold.
pub struct Node {
    node: *mut bindings::device_node,
}

impl Node {
    /// The first node whose `compatible` lists `compatible`.
    pub fn find_compatible(compatible: &CStr) -> Option<Self> {
        // SAFETY: A NUL-terminated string; a null `from` searches the whole tree. The node
        // returned (if any) comes with a reference for us.
        let node = unsafe { bindings::of_find_compatible_node(core::ptr::null_mut(), core::ptr::null(), compatible.as_char_ptr()) };
        (!node.is_null()).then_some(Self { node })
    }

    /// The `reg` entry `index`, translated to a CPU physical range: (address, bytes).
    pub fn reg(&self, index: u32) -> Result<(u64, usize)> {
        let mut resource = bindings::resource::default();
        // SAFETY: The node is valid (type invariant); `resource` is ours to fill.
        to_result(unsafe { bindings::of_address_to_resource(self.node, index as i32, &mut resource) })?;
        let size = resource.end.checked_sub(resource.start).and_then(|s| s.checked_add(1)).ok_or(EINVAL)?;
        Ok((resource.start, usize::try_from(size).map_err(|_| EINVAL)?))
    }

    /// The `reg` entry `index` as device registers.
    pub fn registers(&self, index: u32) -> Result<Registers> {
        let (phys, size) = self.reg(index)?;
        // SAFETY: A range the device tree describes as this device's registers.
        let base = unsafe { bindings::ioremap(phys, size) };
        if base.is_null() {
            return Err(ENOMEM);
        }
        Ok(Registers { base: base.cast(), size })
    }

    /// The `reg` entry `index` as memory (not RAM of ours), mapped write-combining.
    pub fn memory(&self, index: u32) -> Result<Memory> {
        let (phys, size) = self.reg(index)?;
        // SAFETY: A range the device tree describes as this device's memory.
        let vaddr = unsafe { bindings::memremap(phys, size, bindings::MEMREMAP_WC as _) };
        if vaddr.is_null() {
            return Err(ENOMEM);
        }
        Ok(Memory { vaddr: vaddr.cast(), phys, size })
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // SAFETY: The reference we hold (type invariant).
        unsafe { bindings::of_node_put(self.node) };
    }
}

// SAFETY: A counted reference to a node, usable from any thread.
unsafe impl Send for Node {}
// SAFETY: As above; `&self` methods only read the node.
unsafe impl Sync for Node {}

/// A device's registers (`ioremap`), unmapped when dropped.
///
/// # Invariants
///
/// `base` maps `size` bytes of device registers for the lifetime of `self`.
pub struct Registers {
    base: *mut u8,
    size: usize,
}

impl Registers {
    fn at(&self, offset: usize) -> *mut c_void {
        assert!(offset % 4 == 0 && offset.checked_add(4).is_some_and(|end| end <= self.size));
        // SAFETY: Inside the mapping (checked above).
        unsafe { self.base.add(offset).cast() }
    }

    /// Reads the 32-bit register at `offset`.
    pub fn read32(&self, offset: usize) -> u32 {
        // SAFETY: A mapped, aligned register (checked by `at`).
        unsafe { bindings::readl(self.at(offset)) }
    }

    /// Writes the 32-bit register at `offset`.
    pub fn write32(&self, offset: usize, value: u32) {
        // SAFETY: A mapped, aligned register (checked by `at`).
        unsafe { bindings::writel(value, self.at(offset)) }
    }
}

impl Drop for Registers {
    fn drop(&mut self) {
        // SAFETY: Mapped by `ioremap` (type invariant).
        unsafe { bindings::iounmap(self.base.cast()) };
    }
}

// SAFETY: MMIO accessors, usable from any thread.
unsafe impl Send for Registers {}
// SAFETY: Each access is a single `readl`/`writel`; callers serialise what needs it.
unsafe impl Sync for Registers {}

/// Memory of a device (`memremap`, write-combining), unmapped when dropped.
///
/// # Invariants
///
/// `vaddr` maps `size` bytes at physical `phys` for the lifetime of `self`.
pub struct Memory {
    vaddr: *mut u8,
    phys: u64,
    size: usize,
}

impl Memory {
    /// Its physical address (what a device is told).
    pub fn phys(&self) -> u64 {
        self.phys
    }

    /// Its size in bytes.
    pub fn len(&self) -> usize {
        self.size
    }

    /// A pointer to `len` bytes at `offset`, for raw copies into the memory.
    pub fn range_ptr(&self, offset: usize, len: usize) -> *mut u8 {
        assert!(offset.checked_add(len).is_some_and(|end| end <= self.size));
        // SAFETY: Inside the mapping (checked above).
        unsafe { self.vaddr.add(offset) }
    }

    /// Fills `len` bytes at `offset` with `byte`.
    pub fn fill(&self, offset: usize, len: usize, byte: u8) {
        let dst = self.range_ptr(offset, len);
        // SAFETY: `len` bytes of the mapping (checked by `range_ptr`); plain memory that only
        // the device reads.
        unsafe { core::ptr::write_bytes(dst, byte, len) };
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        // SAFETY: Mapped by `memremap` (type invariant).
        unsafe { bindings::memunmap(self.vaddr.cast()) };
    }
}

// SAFETY: Plain memory, reached by raw copies only.
unsafe impl Send for Memory {}
// SAFETY: As above; callers serialise writers.
unsafe impl Sync for Memory {}
