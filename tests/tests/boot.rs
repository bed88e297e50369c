//! The hypervisor boots, describes itself, starts dom0 to a shell with both CPUs, and powers the
//! board off when dom0 does.

use anyhow::{bail, ensure, Context, Result};
use reptar_tests::{LaunchOptions, Machine, BOOT_TIMEOUT, EXIT_TIMEOUT, SHELL_TIMEOUT};

#[test]
fn hypervisor_prints_its_banner_and_memory_layout() -> Result<()> {
    let mut m = Machine::launch(LaunchOptions::new("boot-banner-and-layout"))?;
    m.expect(r"^\(XEN\) REPTAR", BOOT_TIMEOUT).context("the hypervisor banner")?;
    m.expect(r"^\(XEN\) .*Memory layout", BOOT_TIMEOUT).context("the memory layout heading")?;
    let layout = m.mark();
    for region in ["hypervisor", "dom0"] {
        // A (XEN) line among the 16 that follow the heading (the rest of which comes first).
        let pattern = format!(r"(?i)\A(?:.*\r?\n){{1,17}}?\(XEN\) .*\b{region}\b");
        m.expect_since(layout, &pattern, SHELL_TIMEOUT).with_context(|| {
            format!("the memory layout names no `{region}` region in the lines after its heading")
        })?;
    }
    Ok(())
}

#[test]
fn dom0_cpus_all_start_at_el1() -> Result<()> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new("boot-dom0-el1").no_domu())?;
    const STARTED: &str = "CPU: All CPU(s) started at EL1";
    let (found, _) = m.shell_status(&format!("dmesg | grep -F '{STARTED}'"), SHELL_TIMEOUT)?;
    if !found.contains(STARTED) {
        let cpu_lines = m.shell_status("dmesg | grep -i cpu", SHELL_TIMEOUT)?.0;
        bail!(
            "dom0's dmesg lacks `{STARTED}`; its CPU lines:\n{cpu_lines}\n{}",
            m.failure_report()
        );
    }
    Ok(())
}

#[test]
fn dom0_has_both_cpus_online() -> Result<()> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new("boot-dom0-cpus").no_domu())?;
    let online = m.shell("cat /sys/devices/system/cpu/online", SHELL_TIMEOUT)?;
    ensure!(
        online == "0-1",
        "dom0 has CPUs {online:?} online, expected \"0-1\"\n{}",
        m.failure_report()
    );
    Ok(())
}

#[test]
fn poweroff_in_dom0_ends_qemu() -> Result<()> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new("boot-poweroff"))?;
    let before = m.mark();
    m.send_line("poweroff -f")?;
    let status = m.wait_exit(EXIT_TIMEOUT)?;
    m.expect_since(
        before,
        r"(?i)^\(XEN\) .*(power(ed|ing)?[ _-]?off|system[ _-]?off)",
        SHELL_TIMEOUT,
    )
    .context("the hypervisor did not say that dom0 powered the system off")?;
    ensure!(status.success(), "QEMU exited with {status} after the power-off");
    Ok(())
}
