//! Paravirtual LEDs under churn: either side unloaded and loaded again, in turn, fifty times;
//! a hundred thousand writes from domU.

use anyhow::{ensure, Context, Result};
use reptar_tests::{LaunchOptions, Machine, SHELL_TIMEOUT};

fn to_domu(m: &mut Machine) -> Result<()> {
    m.switch_to_shell("DOM1", "domU", SHELL_TIMEOUT)
}

fn to_dom0(m: &mut Machine) -> Result<()> {
    m.switch_to_shell("DOM0", "dom0", SHELL_TIMEOUT)
}

/// Both domains up, dom0 with sp6.ko and vledback.ko, domU with vledfront.ko connected; the
/// console on domU's shell.
fn connected(name: &str) -> Result<Machine> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new(name))?;
    m.shell("insmod /sp6.ko && insmod /vledback.ko", SHELL_TIMEOUT)?;
    to_domu(&mut m)?;
    m.shell("insmod /vledfront.ko", SHELL_TIMEOUT)?;
    wait_connected(&mut m)?;
    Ok(m)
}

/// Waits (in domU) until its vled frontend is connected to the backend.
fn wait_connected(m: &mut Machine) -> Result<()> {
    for _ in 0..100 {
        if m.shell("cat /sys/bus/xen/devices/vled-0/state 2>/dev/null || echo none", SHELL_TIMEOUT)? == "Connected" {
            return Ok(());
        }
        m.shell("sleep 0.05", SHELL_TIMEOUT)?;
    }
    anyhow::bail!("domU's vled frontend never connected")
}

/// LED `led` switched from domU; the hypervisor must report it.
fn write_and_check(m: &mut Machine, led: usize, on: bool) -> Result<()> {
    let mark = m.mark();
    m.shell(&format!("echo {} > /sys/class/leds/sp6_led{led}/brightness", on as u8), SHELL_TIMEOUT)?;
    let state = if on { r"\*" } else { "o" };
    let pattern = format!(r"^\(XEN\) LEDs: (?:\S ){{{led}}}{state}");
    m.expect_since(mark, &pattern, SHELL_TIMEOUT).with_context(|| format!("LED {led} {} from domU", if on { "on" } else { "off" }))?;
    Ok(())
}

#[test]
fn fifty_reloads_alternating_frontend_and_backend() -> Result<()> {
    let mut m = connected("vled-cycles")?;
    write_and_check(&mut m, 0, true)?;
    let before = m.resources()?;
    to_domu(&mut m)?;
    // What each LED is now: every write below changes one, so that the hypervisor reports it.
    let mut lit = [true, false, false, false, false, false];
    for cycle in 0..50 {
        let led = cycle % 6;
        if cycle % 2 == 0 {
            m.shell("rmmod vledfront", SHELL_TIMEOUT).with_context(|| format!("cycle {cycle}: rmmod vledfront"))?;
            m.shell("insmod /vledfront.ko", SHELL_TIMEOUT).with_context(|| format!("cycle {cycle}: insmod vledfront"))?;
        } else {
            to_dom0(&mut m)?;
            m.shell("rmmod vledback", SHELL_TIMEOUT).with_context(|| format!("cycle {cycle}: rmmod vledback"))?;
            to_domu(&mut m)?;
            // With no backend a write fails (the LED keeps what it really is), and does not block.
            let (_, status) = m.shell_status(&format!("echo {} > /sys/class/leds/sp6_led{led}/brightness", (!lit[led]) as u8), SHELL_TIMEOUT)?;
            ensure!(status == 0 || status == 1, "cycle {cycle}: a write with no backend: status {status}");
            to_dom0(&mut m)?;
            m.shell("insmod /vledback.ko", SHELL_TIMEOUT).with_context(|| format!("cycle {cycle}: insmod vledback"))?;
            to_domu(&mut m)?;
        }
        wait_connected(&mut m).with_context(|| format!("cycle {cycle}"))?;
        lit[led] = !lit[led];
        write_and_check(&mut m, led, lit[led]).with_context(|| format!("cycle {cycle}"))?;
    }
    // Connected again as at the start: nothing leaked.
    let after = m.resources()?;
    ensure!(after == before, "after 50 reloads: {after:?}; before {before:?}");
    to_dom0(&mut m)?;
    m.check_kernel_log("dom0")
}

#[test]
fn a_hundred_thousand_writes_end_in_the_last_state() -> Result<()> {
    let mut m = connected("vled-writes")?;
    // leds bench writes LED i % 6 with (i / 6) % 2: the last writes leave LEDs 0-3 off, 4-5 on.
    let result = m.shell("leds bench 100000", std::time::Duration::from_secs(600))?;
    ensure!(result.contains("100000 writes"), "bench: {result}");
    m.shell("sleep 1", SHELL_TIMEOUT)?;
    let domu = m.shell("leds", SHELL_TIMEOUT)?;
    let expected = "sp6_led0 0\nsp6_led1 0\nsp6_led2 0\nsp6_led3 0\nsp6_led4 1\nsp6_led5 1";
    ensure!(domu.replace("\r\n", "\n") == expected, "domU's LEDs after the writes:\n{domu}");
    m.switch_input_to("Xen", SHELL_TIMEOUT)?;
    m.send("leds\r")?;
    m.expect(r"\(XEN\) LEDs: o o o o \* \* ", SHELL_TIMEOUT).context("the board's LEDs after the writes")?;
    to_dom0(&mut m)?;
    let dom0 = m.shell("leds", SHELL_TIMEOUT)?;
    ensure!(dom0.replace("\r\n", "\n") == expected, "dom0's LEDs after domU's writes:\n{dom0}");
    for (domain, host) in [("DOM0", "dom0"), ("DOM1", "domU")] {
        m.switch_to_shell(domain, host, SHELL_TIMEOUT)?;
        m.check_kernel_log(host)?;
    }
    Ok(())
}

#[test]
fn domu_restarts_under_a_connected_backend() -> Result<()> {
    let mut m = connected("vled-restart")?;
    write_and_check(&mut m, 3, true)?;
    let before = m.resources()?;
    for round in 0..3 {
        // dom0's backend still maps domU's ring when domU goes: the restart waits for its unmap.
        let mark = m.mark();
        m.send("restart 1\r")?;
        m.expect_since(mark, r"domU1 restarted from its boot configuration", SHELL_TIMEOUT).with_context(|| format!("restart {round}"))?;
        m.expect_since(mark, r"^\[DOM-U\] Enter 'help' for a list of built-in commands", reptar_tests::BOOT_TIMEOUT)?;
        to_domu(&mut m)?;
        m.shell("insmod /vledfront.ko", SHELL_TIMEOUT)?;
        wait_connected(&mut m).with_context(|| format!("after restart {round}"))?;
        // The LED kept its state across the restart: the new frontend reads it back.
        let back = m.shell("cat /sys/class/leds/sp6_led3/brightness", SHELL_TIMEOUT)?;
        ensure!(back == "1", "LED 3 after restart {round}: {back:?}");
        write_and_check(&mut m, 3, false)?;
        write_and_check(&mut m, 3, true)?;
        let after = m.resources()?;
        ensure!(after == before, "after restart {round}: {after:?}, before {before:?}");
    }
    to_dom0(&mut m)?;
    m.check_kernel_log("dom0")
}

#[test]
fn requests_fail_with_a_status_while_dom0s_leds_are_gone() -> Result<()> {
    let mut m = connected("vled-no-sp6")?;
    write_and_check(&mut m, 1, true)?;
    // dom0's LED driver goes: domU's writes are answered UNAVAILABLE, at once.
    to_dom0(&mut m)?;
    m.shell("rmmod sp6", SHELL_TIMEOUT)?;
    to_domu(&mut m)?;
    m.shell("echo 0 > /sys/class/leds/sp6_led1/brightness; sleep 0.5", SHELL_TIMEOUT)?;
    let back = m.shell("cat /sys/class/leds/sp6_led1/brightness", SHELL_TIMEOUT)?;
    ensure!(back == "1", "domU's LED 1 reads {back:?} after a write that failed (it is still on)");
    let log = m.shell("dmesg | grep vledfront", SHELL_TIMEOUT)?;
    ensure!(log.contains("LED 1: the backend answered LED unavailable"), "domU's log: {log}");
    to_dom0(&mut m)?;
    let log = m.shell("dmesg | grep vledback", SHELL_TIMEOUT)?;
    ensure!(log.contains("LED unavailable"), "dom0's log: {log}");
    // Back again: requests work.
    m.shell("insmod /sp6.ko", SHELL_TIMEOUT)?;
    to_domu(&mut m)?;
    write_and_check(&mut m, 2, true)?;
    Ok(())
}
