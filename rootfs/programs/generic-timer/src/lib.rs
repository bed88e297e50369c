//! The Arm generic timer's virtual count (CNTVCT_EL0), the clock the hypervisor stamps its
//! own events with: reading it around a guest action measures latency in guest time, whatever
//! the load of the host running QEMU.

/// A reading of the counter and its frequency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub ticks: u64,
    pub frequency: u64,
}

impl Count {
    /// Seconds since the counter started.
    pub fn seconds(&self) -> f64 {
        self.ticks as f64 / self.frequency.max(1) as f64
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cntvct={} cntfrq={}", self.ticks, self.frequency)
    }
}

/// Reads the counter now. Linux lets EL0 read it (the vDSO clock uses it).
#[cfg(target_arch = "aarch64")]
pub fn now() -> Count {
    let (ticks, frequency): (u64, u64);
    // SAFETY: CNTVCT_EL0 and CNTFRQ_EL0 are readable at EL0 under Linux; reading has no effect.
    // The ISB keeps the read from being done early, before the preceding instructions.
    unsafe {
        std::arch::asm!("isb", "mrs {}, cntvct_el0", out(reg) ticks, options(nostack));
        std::arch::asm!("mrs {}, cntfrq_el0", out(reg) frequency, options(nomem, nostack));
    }
    Count { ticks, frequency }
}

/// Off target (a host build for tests): no counter.
#[cfg(not(target_arch = "aarch64"))]
pub fn now() -> Count {
    Count { ticks: 0, frequency: 1 }
}
