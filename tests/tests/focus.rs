//! The focus (docs/focus.md): which domain owns the board's screen and buttons, one xenstore
//! key, `/reptar/focus`, that the hypervisor creates for dom0 and every domain reads and
//! watches; the monitor's `screen` shows and sets it, and a destroyed domU gives it back.

use anyhow::{ensure, Context, Result};
use reptar_tests::{LaunchOptions, Machine, SHELL_TIMEOUT};

const FOCUS: &str = "/reptar/focus";
/// A line of dom0's `xenstore watch /reptar/focus`: one per event, alone on its line or after
/// a prompt the shell printed first (the watch runs in the background).
const DOM0_WATCH_EVENT: &str = r"^\[DOM-0\] (?:[^\r\n]*# [^\s/]*)?/reptar/focus\r?$";

/// Runs a monitor command (the input is the monitor's) and returns what it printed up to the
/// next prompt.
fn monitor(m: &mut Machine, command: &str) -> Result<String> {
    m.send(&format!("{command}\r"))?;
    let reply = m.expect(r"(?s)(.*?)\(XEN\) reptar> ", SHELL_TIMEOUT).with_context(|| format!("monitor command {command}"))?;
    Ok(reply.get(1).unwrap_or_default().to_string())
}

fn to_monitor(m: &mut Machine) -> Result<()> {
    m.switch_input_to("Xen", SHELL_TIMEOUT).context("switch to the monitor")?;
    m.expect(r"\(XEN\) reptar> ", SHELL_TIMEOUT).context("monitor prompt")?;
    Ok(())
}

fn read_focus(m: &mut Machine) -> Result<String> {
    m.shell(&format!("xenstore read {FOCUS}"), SHELL_TIMEOUT)
}

#[test]
fn the_focus_is_one_key_every_domain_reads_and_the_monitor_sets() -> Result<()> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new("focus"))?;

    // At boot: dom0's, "0", readable by every domain.
    ensure!(read_focus(&mut m)? == "0", "dom0 reads the focus at boot");
    let perms = m.shell(&format!("xenstore perms {FOCUS}"), SHELL_TIMEOUT)?;
    ensure!(perms == "r0", "{FOCUS}'s permissions: {perms:?}");

    // domU reads it, and cannot write it.
    m.switch_to_shell("DOM1", "domU", SHELL_TIMEOUT)?;
    ensure!(read_focus(&mut m)? == "0", "domU reads the focus at boot");
    let (denied, status) = m.shell_status(&format!("xenstore write {FOCUS} 1"), SHELL_TIMEOUT)?;
    ensure!(status != 0 && denied.contains("EACCES"), "domU wrote the focus: status {status}, {denied:?}");

    // dom0 writes it (its vkbd backend does on BACKSPACE and ESC).
    m.switch_to_shell("DOM0", "dom0", SHELL_TIMEOUT)?;
    ensure!(read_focus(&mut m)? == "0", "domU's refused write changed the focus");
    m.shell(&format!("xenstore write {FOCUS} 1"), SHELL_TIMEOUT)?;
    ensure!(read_focus(&mut m)? == "1", "dom0's write");
    m.shell(&format!("xenstore write {FOCUS} 0"), SHELL_TIMEOUT)?;

    // A watch in dom0: its first event at once, the next when the monitor sets the focus.
    let before_watch = m.mark();
    m.send_line(&format!("xenstore watch {FOCUS} 2 &"))?;
    m.expect_since(before_watch, DOM0_WATCH_EVENT, SHELL_TIMEOUT).context("the watch's first event")?;

    to_monitor(&mut m)?;
    let shown = monitor(&mut m, "screen")?;
    ensure!(shown.contains("(XEN) screen and buttons: dom0"), "screen at first: {shown}");
    let before_set = m.mark();
    let set = monitor(&mut m, "screen 1")?;
    ensure!(set.contains("(XEN) screen and buttons: domU1"), "screen 1: {set}");
    m.expect_since(before_set, DOM0_WATCH_EVENT, SHELL_TIMEOUT).context("dom0's watch did not fire on the monitor's write")?;
    let shown = monitor(&mut m, "screen")?;
    ensure!(shown.contains("(XEN) screen and buttons: domU1"), "screen after screen 1: {shown}");

    // Only an existing domain: the focus stays.
    let refused = monitor(&mut m, "screen 5")?;
    ensure!(refused.contains("(XEN) screen: no domain 5"), "screen 5: {refused}");
    let refused = monitor(&mut m, "screen xen")?;
    ensure!(refused.contains("usage: screen [dom]"), "screen xen: {refused}");
    let shown = monitor(&mut m, "screen")?;
    ensure!(shown.contains("(XEN) screen and buttons: domU1"), "screen after the refusals: {shown}");

    // Both domains see the monitor's value.
    m.switch_to_shell("DOM1", "domU", SHELL_TIMEOUT)?;
    ensure!(read_focus(&mut m)? == "1", "domU reads the monitor's focus");
    m.switch_to_shell("DOM0", "dom0", SHELL_TIMEOUT)?;
    ensure!(read_focus(&mut m)? == "1", "dom0 reads the monitor's focus");

    // Destroying the domain that has the focus gives it back to dom0, and dom0's watchers
    // hear of it.
    let before_watch = m.mark();
    m.send_line(&format!("xenstore watch {FOCUS} 2 &"))?;
    m.expect_since(before_watch, DOM0_WATCH_EVENT, SHELL_TIMEOUT).context("the second watch's first event")?;
    to_monitor(&mut m)?;
    let before_destroy = m.mark();
    let destroyed = monitor(&mut m, "destroy 1")?;
    ensure!(destroyed.contains("(XEN) domU1 destroyed"), "destroy 1: {destroyed}");
    ensure!(destroyed.contains("(XEN) screen and buttons: back to dom0"), "destroy 1 with the focus: {destroyed}");
    m.expect_since(before_destroy, DOM0_WATCH_EVENT, SHELL_TIMEOUT).context("dom0's watch did not fire when domU's destruction reset the focus")?;
    let shown = monitor(&mut m, "screen")?;
    ensure!(shown.contains("(XEN) screen and buttons: dom0"), "screen after destroy: {shown}");
    let refused = monitor(&mut m, "screen 1")?;
    ensure!(refused.contains("(XEN) screen: domU1 is Destroyed"), "screen 1 of a destroyed domU: {refused}");
    m.switch_to_shell("DOM0", "dom0", SHELL_TIMEOUT)?;
    ensure!(read_focus(&mut m)? == "0", "the focus after domU's destruction");
    Ok(())
}
