//! The board's buttons for the domain that has the focus: vkbdback.ko in dom0 taps sp6.ko's
//! buttons, vkbdfront.ko in domU is the "Xen Virtual Keyboard"; BACKSPACE gives the buttons to
//! domU, ESC takes them back (both consumed).

use anyhow::{ensure, Context, Result};
use reptar_tests::{LaunchOptions, Machine, SHELL_TIMEOUT};

/// Both domains up, dom0 with sp6.ko and vkbdback.ko, domU with the keyboard frontend
/// `frontend` (ours or Linux's C one) connected; the console on domU's shell.
fn connected(name: &str, frontend: &str) -> Result<Machine> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new(name))?;
    m.shell("insmod /sp6.ko && insmod /vkbdback.ko", SHELL_TIMEOUT)?;
    m.switch_to_shell("DOM1", "domU", SHELL_TIMEOUT)?;
    m.shell(&format!("insmod /{frontend}.ko"), SHELL_TIMEOUT)?;
    for _ in 0..100 {
        if m.shell("cat /sys/bus/xen/devices/vkbd-0/state", SHELL_TIMEOUT)? == "Connected" {
            return Ok(m);
        }
        m.shell("sleep 0.05", SHELL_TIMEOUT)?;
    }
    anyhow::bail!("domU's keyboard frontend never connected")
}

/// Waits (in dom0) until vkbdback's log says domain `domid` has the buttons.
fn focus_is(m: &mut Machine, domid: u16) -> Result<()> {
    for _ in 0..50 {
        let log = m.shell("dmesg | grep 'screen and buttons' | tail -1", SHELL_TIMEOUT)?;
        if log.ends_with(&format!("screen and buttons: dom{domid}")) {
            return Ok(());
        }
        m.shell("sleep 0.1", SHELL_TIMEOUT)?;
    }
    anyhow::bail!("the focus never went to dom{domid}")
}

#[test]
fn backspace_gives_the_buttons_to_domu_and_esc_takes_them_back() -> Result<()> {
    focus_story(connected("vkbd-focus", "vkbdfront")?)
}

#[test]
fn the_same_with_linux_xen_kbdfront() -> Result<()> {
    focus_story(connected("vkbd-focus-c", "xen-kbdfront")?)
}

/// domU and dom0 listen to their keyboards; BACKSPACE, ENTER (domU's), ESC, UP (dom0's).
fn focus_story(mut m: Machine) -> Result<()> {
    // domU listens on its virtual keyboard; dom0 on the board's buttons.
    m.send_line("input-events --name 'Xen Virtual Keyboard' --keys-only --count 2 > /tmp/domu-keys 2>&1 &")?;
    m.switch_to_shell("DOM0", "dom0", SHELL_TIMEOUT)?;
    m.send_line("input-events --name reptar_sp6_buttons --keys-only --count 2 > /tmp/dom0-keys 2>&1 &")?;
    m.shell("sleep 0.5", SHELL_TIMEOUT)?;
    m.qmp()?.send_key("backspace")?;
    focus_is(&mut m, 1).context("BACKSPACE")?;
    m.qmp()?.send_key("ret")?;
    m.shell("sleep 0.5", SHELL_TIMEOUT)?;
    // ENTER went to domU, not to dom0.
    let dom0_keys = m.shell("cat /tmp/dom0-keys", SHELL_TIMEOUT)?;
    ensure!(!dom0_keys.contains("KEY_ENTER") && !dom0_keys.contains("KEY_BACKSPACE"), "dom0 saw: {dom0_keys}");
    m.switch_to_shell("DOM1", "domU", SHELL_TIMEOUT)?;
    let domu_keys = m.shell("wait; cat /tmp/domu-keys", SHELL_TIMEOUT)?;
    ensure!(domu_keys.contains("EV_KEY KEY_ENTER 1") && domu_keys.contains("EV_KEY KEY_ENTER 0"), "domU saw: {domu_keys}");
    // ESC: the buttons are dom0's again.
    m.qmp()?.send_key("esc")?;
    m.switch_to_shell("DOM0", "dom0", SHELL_TIMEOUT)?;
    focus_is(&mut m, 0).context("ESC")?;
    m.qmp()?.send_key("up")?;
    let dom0_keys = m.shell("wait; cat /tmp/dom0-keys", SHELL_TIMEOUT)?;
    ensure!(dom0_keys.contains("EV_KEY KEY_UP 1") && !dom0_keys.contains("KEY_ESC"), "dom0 saw: {dom0_keys}");
    Ok(())
}

#[test]
fn the_focus_is_xenstores_and_the_monitor_moves_it() -> Result<()> {
    let mut m = connected("vkbd-focus-key", "vkbdfront")?;
    m.send_line("input-events --name 'Xen Virtual Keyboard' --keys-only --count 2 > /tmp/domu-keys 2>&1 &")?;
    m.switch_to_shell("DOM0", "dom0", SHELL_TIMEOUT)?;
    // BACKSPACE writes it; ESC too.
    m.qmp()?.send_key("backspace")?;
    focus_is(&mut m, 1)?;
    for _ in 0..50 {
        if m.shell("xenstore read /reptar/focus", SHELL_TIMEOUT)? == "1" {
            break;
        }
        m.shell("sleep 0.1", SHELL_TIMEOUT)?;
    }
    ensure!(m.shell("xenstore read /reptar/focus", SHELL_TIMEOUT)? == "1", "/reptar/focus after BACKSPACE");
    m.qmp()?.send_key("esc")?;
    focus_is(&mut m, 0)?;
    ensure!(m.shell("sleep 0.2; xenstore read /reptar/focus", SHELL_TIMEOUT)? == "0", "/reptar/focus after ESC");
    // The monitor's `screen 1` gives domU the buttons without a BACKSPACE.
    m.switch_input_to("Xen", SHELL_TIMEOUT)?;
    m.send("screen 1\r")?;
    m.expect(r"screen and buttons: domU1", SHELL_TIMEOUT)?;
    std::thread::sleep(std::time::Duration::from_millis(300));
    m.qmp()?.send_key("down")?;
    m.switch_to_shell("DOM1", "domU", SHELL_TIMEOUT)?;
    let keys = m.shell("wait; cat /tmp/domu-keys", SHELL_TIMEOUT)?;
    ensure!(keys.contains("EV_KEY KEY_DOWN 1"), "domU after the monitor's screen 1: {keys}");
    Ok(())
}
