//! The hypervisor's heap: a buddy allocator over a fixed area in .bss. Page tables, device trees
//! and domain state come from here; guest memory never does.

use buddy_system_allocator::LockedHeap;

/// 16 MiB: page tables for a few domains, their device trees and bookkeeping.
const HEAP_SIZE: usize = 16 << 20;

#[repr(C, align(4096))]
struct HeapArea([u8; HEAP_SIZE]);

static mut HEAP_AREA: HeapArea = HeapArea([0; HEAP_SIZE]);

#[global_allocator]
static HEAP: LockedHeap<33> = LockedHeap::empty();

/// Hands the heap area to the allocator. Called once, on the boot CPU, before any allocation.
pub fn init() {
    let start = core::ptr::addr_of_mut!(HEAP_AREA) as usize;
    // SAFETY: HEAP_AREA is used by nothing else, and this runs once before any allocation.
    unsafe { HEAP.lock().init(start, HEAP_SIZE) };
}

/// Bytes of heap in use and in all, for the monitor and the boot log.
pub fn usage() -> (usize, usize) {
    let heap = HEAP.lock();
    (heap.stats_alloc_actual(), heap.stats_total_bytes())
}
