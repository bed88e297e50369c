//! Data and instruction cache maintenance by virtual address.

/// The smallest data cache line: CTR_EL0.DminLine is its log2 in 4-byte words.
fn dcache_line_size() -> usize {
    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effect.
    unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    4 << ((ctr >> 16) & 0xf)
}

/// Cleans [start, start + len) to the point of coherency and invalidates the instruction cache,
/// so that a guest entered with its MMU and caches off sees what the hypervisor wrote.
pub fn clean_for_guest_entry(start: usize, len: usize) {
    let line = dcache_line_size();
    let mut addr = start & !(line - 1);
    let end = start.saturating_add(len);
    while addr < end {
        // SAFETY: DC CVAC on a mapped address only writes dirty lines back; no data changes.
        unsafe { core::arch::asm!("dc cvac, {}", in(reg) addr, options(nostack)) };
        addr += line;
    }
    // SAFETY: barriers and a whole-cache I-cache invalidation have no memory-safety effects.
    unsafe { core::arch::asm!("dsb sy", "ic ialluis", "dsb sy", "isb", options(nostack)) };
}

/// Orders memory accesses around a device's DMA: every store before it (a DMA descriptor, a
/// buffer the device will read) is complete before any access after it (the MMIO write that
/// starts the transfer), and what the device wrote is read only after it. Also a compiler
/// barrier: memory whose address was handed to the device is not assumed unchanged across it.
pub fn dma_barrier() {
    // SAFETY: a barrier has no memory-safety effects.
    unsafe { core::arch::asm!("dsb sy", options(nostack, preserves_flags)) };
}
