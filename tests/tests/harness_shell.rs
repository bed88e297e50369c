//! The harness against a real guest shell: dom0's kernel and initramfs booted by QEMU directly,
//! without the hypervisor. When this passes and the boot tests fail, the harness is not the
//! cause.

use anyhow::{ensure, Result};
use reptar_tests::{Artifacts, LaunchOptions, Machine, BOOT_TIMEOUT, EXIT_TIMEOUT, SHELL_TIMEOUT};

fn boot_linux_without_hypervisor(name: &str) -> Result<Machine> {
    let artifacts = Artifacts::locate();
    reptar_tests::artifacts::require(&artifacts.kernel, "the dom0 kernel")?;
    reptar_tests::artifacts::require(&artifacts.rootfs, "the dom0 initramfs")?;
    let (kernel, rootfs) = (artifacts.kernel.to_str().unwrap(), artifacts.rootfs.to_str().unwrap());
    let qemu = [
        "qemu-system-aarch64",
        "-machine",
        "virt,gic-version=3",
        "-cpu",
        "cortex-a72",
        "-smp",
        "2",
        "-m",
        "1G",
        "-nic",
        "none",
        "-display",
        "none",
        "-serial",
        "stdio",
        "-monitor",
        "none",
        "-kernel",
        kernel,
        "-initrd",
        rootfs,
        "-append",
        "console=ttyAMA0 rdinit=/init quiet",
        "-qmp",
        "unix:{qmp},server=on,wait=off",
    ];
    let mut m = Machine::launch(LaunchOptions::new(name).command_override(qemu))?;
    m.wait_for_shell("dom0", BOOT_TIMEOUT)?;
    Ok(m)
}

#[test]
fn shell_commands_on_a_real_busybox_shell() -> Result<()> {
    let mut m = boot_linux_without_hypervisor("harness-shell")?;
    ensure!(m.shell("echo hello", SHELL_TIMEOUT)? == "hello");
    ensure!(m.shell("cat /sys/devices/system/cpu/online", SHELL_TIMEOUT)? == "0-1");
    let (output, status) = m.shell_status("ls /nonexistent", SHELL_TIMEOUT)?;
    ensure!(status != 0 && output.contains("No such file"), "{status} {output:?}");
    // Longer than a terminal line: the echo wraps.
    let long = "x".repeat(150);
    ensure!(m.shell(&format!("echo {long}"), SHELL_TIMEOUT)? == long);
    let lines = m.shell("seq 1 200", SHELL_TIMEOUT)?;
    ensure!(lines.lines().count() == 200 && lines.ends_with("\n200"), "{lines:?}");
    ensure!(m.shell("cd /sys; pwd", SHELL_TIMEOUT)? == "/sys", "the prompt shows the directory");
    ensure!(m.shell("cd /", SHELL_TIMEOUT)?.is_empty());
    Ok(())
}

#[test]
fn a_killed_command_is_reported_by_the_shell() -> Result<()> {
    let mut m = boot_linux_without_hypervisor("harness-shell-signal")?;
    let (output, status) = m.shell_status("sh -c 'kill -BUS $$'", SHELL_TIMEOUT)?;
    ensure!(status == 128 + 7 && output.contains("Bus error"), "{status} {output:?}");
    m.send_line("poweroff -f")?;
    m.wait_exit(EXIT_TIMEOUT)?;
    Ok(())
}
