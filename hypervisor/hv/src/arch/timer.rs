//! The generic timer's count, the one clock hypervisor and guests share (CNTVOFF_EL2 = 0, so a
//! guest's CNTVCT_EL0 reads the same): events stamped with it on both sides give latencies in
//! guest time.

/// The physical count now.
pub fn count() -> u64 {
    let ticks: u64;
    // SAFETY: reading CNTPCT_EL0 has no side effect; the ISB keeps it in program order.
    unsafe { core::arch::asm!("isb", "mrs {}, cntpct_el0", out(reg) ticks, options(nostack)) };
    ticks
}
