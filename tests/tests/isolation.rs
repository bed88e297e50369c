//! Stage-2 isolation: dom0 cannot touch the hypervisor's memory.

use anyhow::{bail, ensure, Context, Result};
use regex::Regex;
use reptar_tests::{LaunchOptions, Machine, SHELL_TIMEOUT};

/// Where QEMU loads the hypervisor (`-kernel` at RAM base + 2 MiB); outside dom0's RAM.
const HYPERVISOR_BASE: u64 = 0x4020_0000;

#[test]
fn dom0_cannot_read_hypervisor_memory() -> Result<()> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new("isolation-hypervisor-memory"))?;
    let before = m.mark();
    let (output, status) =
        m.shell_status(&format!("devmem {HYPERVISOR_BASE:#x} 32"), SHELL_TIMEOUT)?;

    let data = Regex::new(r"(?m)^0x[0-9A-Fa-f]+$")?;
    let killed = Regex::new(r"(?i)bus error|segmentation fault|killed|abort")?;
    let problem = if data.is_match(&output) {
        Some("devmem read the hypervisor's memory")
    } else if status == 0 {
        Some("devmem exited with status 0")
    } else if !killed.is_match(&output) {
        Some("the shell did not report devmem's death")
    } else {
        None
    };
    if let Some(problem) = problem {
        bail!("{problem}: status {status}, output {output:?}\n{}", m.failure_report());
    }

    // The fault line may come before or after the shell has reported the death.
    let fault = format!(r"(?i)^\(XEN\) .*stage-2.*{:x}", HYPERVISOR_BASE);
    m.expect_since(before, &fault, SHELL_TIMEOUT)
        .context("the hypervisor did not log the stage-2 fault")?;

    let alive = m.shell("echo alive", SHELL_TIMEOUT).context("dom0 after the fault")?;
    ensure!(alive == "alive", "dom0 answered {alive:?} after the fault");
    Ok(())
}
