//! What the domains hold in the hypervisor, from the monitor's `doms`, the guests' kernel logs
//! and their paravirtual devices' states: the checks of every churn test (reloads, restarts,
//! hostile frontends) that devices connect, nothing leaked and no kernel complained.

use anyhow::{ensure, Context, Result};

use crate::machine::Machine;
use crate::SHELL_TIMEOUT;

/// The monitor's counters that must come back once the same devices are connected again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    /// Event channels in use by dom0.
    pub dom0_event_channels: u64,
    /// Event channels in use by domU1.
    pub domu_event_channels: u64,
    /// Grant mappings dom0 holds.
    pub dom0_mappings_held: u64,
    /// domU1's granted pages in use by others.
    pub domu_granted_pages: u64,
    /// domU1's pages mapped by dom0 without a grant (foreign maps).
    pub domu_foreign_maps: u64,
}

impl Machine {
    /// Runs `doms` in the monitor (the console input stays there) and reads dom0's and
    /// domU1's counters.
    pub fn resources(&mut self) -> Result<Resources> {
        self.switch_input_to("Xen", SHELL_TIMEOUT)?;
        let mark = self.mark();
        self.send("doms\r")?;
        let mut counters = [[0u64; 4]; 2];
        for (i, domain) in ["dom0", "domU1"].iter().enumerate() {
            let found = self.expect_since(
                mark,
                &format!(
                    r"\(XEN\) {domain} \(id \d\):.*\r?\n(?:\(XEN\)   (?:v\d|memory).*\r?\n)*\(XEN\)   event channels: (\d+) in use.*\r?\n\(XEN\)   grants: table \d+/\d+ frames, (\d+) granted pages in use by others, (\d+) mappings held.*\r?\n\(XEN\)   foreign maps: (\d+) "
                ),
                SHELL_TIMEOUT,
            )?;
            for (n, counter) in counters[i].iter_mut().enumerate() {
                *counter = found.get(n + 1).context("a counter of doms")?.parse()?;
            }
        }
        let [dom0, domu] = counters;
        Ok(Resources {
            dom0_event_channels: dom0[0],
            domu_event_channels: domu[0],
            dom0_mappings_held: dom0[2],
            domu_granted_pages: domu[1],
            domu_foreign_maps: domu[3],
        })
    }

    /// Waits until xenbus device `device` (`vfb-0`, `vkbd-0`...) of the domain whose shell has
    /// the console is Connected: within 5 s, the device appearing meanwhile if need be (drivers
    /// probe asynchronously).
    pub fn wait_connected(&mut self, device: &str) -> Result<()> {
        let mut state = String::new();
        for _ in 0..100 {
            state = self.shell(&format!("cat /sys/bus/xen/devices/{device}/state 2>/dev/null || echo absent"), SHELL_TIMEOUT)?;
            if state == "Connected" {
                return Ok(());
            }
            self.shell("sleep 0.05", SHELL_TIMEOUT)?;
        }
        anyhow::bail!("{device} never connected (state: {state})")
    }

    /// The kernel log of the domain whose shell has the console (`host`, for the message) has
    /// no warning, bug or oops.
    pub fn check_kernel_log(&mut self, host: &str) -> Result<()> {
        let log = self.shell("dmesg", SHELL_TIMEOUT)?;
        for trouble in ["WARNING:", "BUG:", "Oops"] {
            ensure!(!log.contains(trouble), "'{trouble}' in {host}'s kernel log:\n{log}");
        }
        Ok(())
    }
}
