//! A bad boot configuration ends with a clear `(XEN)` error and QEMU exiting by itself (the
//! hypervisor powers the board off), never with a hang.

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, Result};
use reptar_tests::{LaunchOptions, Machine, EXIT_TIMEOUT};

/// Where QEMU virt puts its device tree (RAM base + 128 MiB); 1 MiB long.
const QEMU_DTB: u64 = 0x4800_0000;

/// Boots with `options` and expects a `(XEN)` line matching `error` (case-insensitive), then
/// QEMU's exit, all within EXIT_TIMEOUT of the launch.
fn expect_fatal_boot_error(options: LaunchOptions, error: &str) -> Result<()> {
    let deadline = Instant::now() + EXIT_TIMEOUT;
    let mut m = Machine::launch(options)?;
    m.expect(&format!(r"(?i)^\(XEN\) .*{error}"), EXIT_TIMEOUT)
        .with_context(|| format!("the hypervisor did not report /{error}/"))?;
    m.wait_exit(deadline.saturating_duration_since(Instant::now()))
        .context("QEMU kept running after the fatal boot error")?;
    Ok(())
}

#[test]
fn no_dom0_kernel() -> Result<()> {
    expect_fatal_boot_error(LaunchOptions::new("bad-input-no-dom0").no_dom0(), "no dom0 kernel")
}

#[test]
fn dom0_kernel_that_is_not_an_arm64_image() -> Result<()> {
    let mut text = tempfile::Builder::new().prefix("not-an-image-").tempfile()?;
    // Longer than an Image header, so that its magic number is what gives it away.
    writeln!(
        text,
        "# REPTAR on Rust\n\nAn embedded virtualization stack for a REPTAR-like board."
    )?;
    writeln!(text, "This is a README, not a Linux kernel: it has no arm64 Image header.")?;
    let options = LaunchOptions::new("bad-input-not-an-image").kernel(text.path());
    expect_fatal_boot_error(options, "not an arm64 (Linux )?Image")
}

/// QEMU itself refuses modules whose files overlap each other (its ROM overlap check; the same
/// address twice even makes two /chosen/module@<addr> nodes), so that case never reaches the
/// hypervisor. QEMU does not check them against the device tree it passes (1 MiB at 0x48000000,
/// written after the modules, so it stays intact): that overlap is for the hypervisor to catch.
#[test]
fn initrd_overlapping_the_device_tree() -> Result<()> {
    let options = LaunchOptions::new("bad-input-overlap").initrd_addr(QEMU_DTB + 0x8_0000).no_domu();
    expect_fatal_boot_error(options, "overlap")
}

/// Two modules whose device-tree ranges overlap, with files QEMU loads apart: the boot
/// configuration comes from an edited device tree (scripts/launch --dtb), as it would from a boot
/// loader, and the kernel module's node claims 16 MiB, over the initramfs.
#[test]
fn modules_overlapping_each_other() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let dtb = dir.path().join("overlap.dtb");
    let status = std::process::Command::new(reptar_tests::artifacts::launcher())
        .arg("--dumpdtb")
        .arg(&dtb)
        .output()
        .context("scripts/launch --dumpdtb")?;
    anyhow::ensure!(dtb.exists(), "no device tree dumped: {}", String::from_utf8_lossy(&status.stderr));
    let edit = std::process::Command::new("fdtput")
        .args(["-t", "x"])
        .arg(&dtb)
        .args(["/chosen/module@0x49000000", "reg", "0", "0x49000000", "0", "0x1000000"])
        .status()
        .context("fdtput (device-tree-compiler) is needed")?;
    anyhow::ensure!(edit.success(), "fdtput failed");
    let options = LaunchOptions::new("bad-input-modules-overlap").dtb(&dtb);
    expect_fatal_boot_error(options, "dom0 kernel .* and dom0 initrd .* overlap")
}

#[test]
fn dom0_memory_larger_than_the_board() -> Result<()> {
    let options =
        LaunchOptions::new("bad-input-not-enough-memory").mem("512M").append("dom0_mem=1G");
    expect_fatal_boot_error(options, "not enough (free )?(memory|RAM)")
}
