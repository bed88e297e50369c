//! The hypervisor owns the serial line: CTRL-a three times switches the input between dom0 and
//! the hypervisor's monitor, whose commands look at the domains and the board.

use anyhow::{ensure, Context, Result};
use reptar_tests::{LaunchOptions, Machine, SHELL_TIMEOUT};

fn to_monitor(m: &mut Machine) -> Result<()> {
    m.switch_input_to("Xen", SHELL_TIMEOUT).context("switch to the monitor")?;
    m.expect(r"\(XEN\) reptar> ", SHELL_TIMEOUT).context("monitor prompt")?;
    Ok(())
}

fn to_dom0(m: &mut Machine) -> Result<()> {
    m.switch_input_to("DOM0", SHELL_TIMEOUT).context("switch back to dom0")
}

/// Runs a monitor command and returns what it printed up to the next prompt.
fn monitor(m: &mut Machine, command: &str) -> Result<String> {
    m.send(&format!("{command}\r"))?;
    let reply = m.expect(r"(?s)(.*?)\(XEN\) reptar> ", SHELL_TIMEOUT).with_context(|| format!("monitor command {command}"))?;
    Ok(reply.get(1).unwrap_or_default().to_string())
}

#[test]
fn ctrl_a_three_times_switches_between_dom0_and_the_monitor() -> Result<()> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new("monitor-commands").no_domu())?;
    to_monitor(&mut m)?;

    let help = monitor(&mut m, "help")?;
    for command in ["help", "ver", "doms", "regs", "hexdump", "v2p", "leds", "press"] {
        ensure!(help.contains(&format!("(XEN)   {command}")), "help lists no {command}: {help}");
    }
    let version = monitor(&mut m, "ver")?;
    ensure!(version.contains("REPTAR on Rust hypervisor"), "ver: {version}");

    let domains = monitor(&mut m, "doms")?;
    ensure!(domains.contains("dom0 (id 0)") && domains.contains("v0 on CPU 0: On") && domains.contains("v1 on CPU 1: On"), "doms: {domains}");

    // dom0 is mapped 1:1: its kernel's first page is where the layout put it.
    let layout = m.output_since(reptar_tests::Mark::START);
    let dom0_ram = regex::Regex::new(r"dom0 RAM\s+\[(0x[0-9a-f]+)\.\.")?
        .captures(&layout)
        .context("no dom0 RAM line in the boot log")?[1]
        .to_string();
    let v2p = monitor(&mut m, &format!("v2p 0 {dom0_ram}"))?;
    ensure!(v2p.contains(&format!("-> host {dom0_ram} (Normal, rwx)")), "v2p: {v2p}");
    // The hypervisor is no memory of dom0's.
    let v2p = monitor(&mut m, "v2p 0 0x40200000")?;
    ensure!(v2p.contains("not mapped"), "v2p of the hypervisor: {v2p}");

    // The kernel image starts with its arm64 header: "ARM\x64" at offset 0x38.
    let dump = monitor(&mut m, &format!("hexdump 0 {dom0_ram} 64"))?;
    ensure!(dump.contains(" 41 52 4d 64"), "hexdump of the kernel has no Image magic: {dump}");

    let regs = monitor(&mut m, "regs 0 0")?;
    ensure!(regs.contains("dom0v0 on CPU 0") && regs.contains("PC 0xffff") && regs.contains("x30"), "regs: {regs}");

    let leds = monitor(&mut m, "leds")?;
    ensure!(leds.contains("LEDs: o o o o o o"), "leds: {leds}");

    let error = monitor(&mut m, "hexdump 0")?;
    ensure!(error.contains("usage: hexdump"), "a bad command gets its usage: {error}");

    to_dom0(&mut m)?;
    let echo = m.shell("echo back in dom0", SHELL_TIMEOUT)?;
    ensure!(echo == "back in dom0", "dom0 after the monitor: {echo:?}");
    Ok(())
}

#[test]
fn press_in_the_monitor_reaches_dom0_as_a_key() -> Result<()> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new("monitor-press"))?;
    m.shell("insmod /sp6.ko", SHELL_TIMEOUT)?;
    m.send_line("input-events --name reptar_sp6_buttons --keys-only --count 16")?;
    m.expect(r"reading /dev/input/event\d+", SHELL_TIMEOUT)?;
    to_monitor(&mut m)?;
    for (button, key) in [
        ("esc", "KEY_ESC"),
        ("backspace", "KEY_BACKSPACE"),
        ("enter", "KEY_ENTER"),
        ("space", "KEY_SPACE"),
        ("up", "KEY_UP"),
        ("left", "KEY_LEFT"),
        ("right", "KEY_RIGHT"),
        ("down", "KEY_DOWN"),
    ] {
        m.send(&format!("press {button}\r"))?;
        m.expect(&format!(r"EV_KEY {key} 1 \(press\)"), SHELL_TIMEOUT).with_context(|| format!("press {button}"))?;
        m.expect(&format!(r"EV_KEY {key} 0 \(release\)"), SHELL_TIMEOUT).with_context(|| format!("release {button}"))?;
    }
    to_dom0(&mut m)?;
    m.wait_for_prompt(SHELL_TIMEOUT)?;
    Ok(())
}
