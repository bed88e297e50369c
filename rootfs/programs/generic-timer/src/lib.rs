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

/// Median and 99th percentile of latencies measured in counter ticks, in microseconds;
/// `None` for no measurement. Sorts `ticks`.
pub fn median_p99_micros(ticks: &mut [u64], frequency: u64) -> Option<(f64, f64)> {
    if ticks.is_empty() {
        return None;
    }
    ticks.sort_unstable();
    let micros = |t: u64| t as f64 * 1e6 / frequency.max(1) as f64;
    let p99 = ticks[(ticks.len() * 99).div_ceil(100) - 1];
    Some((micros(ticks[ticks.len() / 2]), micros(p99)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn median_and_p99() {
        let mut ticks: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(super::median_p99_micros(&mut ticks, 1_000_000), Some((51.0, 99.0)));
        assert_eq!(super::median_p99_micros(&mut [], 1), None);
    }
}
