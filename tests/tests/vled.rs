//! Paravirtual LEDs (docs/protocols/vled.md): vledfront.ko in domU, vledback.ko in dom0 over
//! the LEDs of sp6.ko, through xenbus, a granted ring and an event channel.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use reptar_tests::{LaunchOptions, Machine, SHELL_TIMEOUT};

/// Both domains up; dom0 with sp6.ko and vledback.ko, domU with vledfront.ko; the console on
/// domU's shell.
fn connected(name: &str) -> Result<Machine> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new(name))?;
    m.shell("insmod /sp6.ko && insmod /vledback.ko", SHELL_TIMEOUT).context("dom0's modules")?;
    to_domu(&mut m)?;
    m.shell("insmod /vledfront.ko", SHELL_TIMEOUT).context("insmod vledfront.ko")?;
    // The LEDs appear once the backend is connected.
    for _ in 0..50 {
        if m.shell("ls /sys/class/leds", SHELL_TIMEOUT)?.split_whitespace().count() == 6 {
            break;
        }
        m.shell("sleep 0.1", SHELL_TIMEOUT)?;
    }
    Ok(m)
}

fn to_domu(m: &mut Machine) -> Result<()> {
    m.switch_input_to("DOM1", SHELL_TIMEOUT)?;
    m.wait_for_shell("domU", SHELL_TIMEOUT).map(drop)
}

fn to_dom0(m: &mut Machine) -> Result<()> {
    m.switch_input_to("DOM0", SHELL_TIMEOUT)?;
    m.wait_for_shell("dom0", SHELL_TIMEOUT).map(drop)
}

#[test]
fn each_led_written_in_domu_lights_the_board() -> Result<()> {
    let mut m = connected("vled-leds")?;
    let leds = m.shell("ls /sys/class/leds", SHELL_TIMEOUT)?;
    ensure!(
        leds.split_whitespace().collect::<Vec<_>>() == ["sp6_led0", "sp6_led1", "sp6_led2", "sp6_led3", "sp6_led4", "sp6_led5"],
        "domU's LEDs: {leds:?}"
    );
    for led in 0..6 {
        let mut row = ["o"; 6];
        row[led] = "*";
        let mark = m.mark();
        m.shell(&format!("echo 1 > /sys/class/leds/sp6_led{led}/brightness"), SHELL_TIMEOUT)?;
        m.expect_since(mark, &format!(r"^\(XEN\) LEDs: {}", regex::escape(&row.join(" "))), SHELL_TIMEOUT)
            .with_context(|| format!("LED {led} on from domU"))?;
        let back = m.shell(&format!("cat /sys/class/leds/sp6_led{led}/brightness"), SHELL_TIMEOUT)?;
        ensure!(back == "1", "domU's LED {led} reads back {back:?}");
        to_dom0(&mut m)?;
        let dom0 = m.shell(&format!("cat /sys/class/leds/sp6_led{led}/brightness"), SHELL_TIMEOUT)?;
        ensure!(dom0 == "1", "dom0's LED {led} reads {dom0:?} after domU's write");
        to_domu(&mut m)?;
        let mark = m.mark();
        m.shell(&format!("echo 0 > /sys/class/leds/sp6_led{led}/brightness"), SHELL_TIMEOUT)?;
        m.expect_since(mark, r"^\(XEN\) LEDs: o o o o o o", SHELL_TIMEOUT).with_context(|| format!("LED {led} off from domU"))?;
    }
    Ok(())
}

/// The row of the hypervisor's `(XEN) LEDs:` line with only `led` on.
fn only_on(led: usize) -> String {
    let mut row = ["o"; 6];
    row[led] = "*";
    format!(r"^\(XEN\) LEDs: {}", regex::escape(&row.join(" ")))
}

/// rootfs/programs/vled-user plays a hostile frontend in domU (no vledfront.ko): garbage
/// requests get their error statuses, a flood is served, a req_prod that overruns the ring
/// makes the backend log it and stop serving; dom0 logs each, keeps working, and vledfront.ko
/// loaded afterwards connects and drives the LEDs.
#[test]
fn a_malicious_frontend_gets_errors_and_dom0_survives() -> Result<()> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new("vled-malicious"))?;
    m.shell("insmod /sp6.ko && insmod /vledback.ko", SHELL_TIMEOUT).context("dom0's modules")?;
    to_domu(&mut m)?;

    // The same tool's correct requests work (the control).
    let mark = m.mark();
    let set = m.shell("vled-user set 3 1", SHELL_TIMEOUT).context("a correct request from vled-user")?;
    ensure!(set.contains("set led 3 brightness 0x1: OK (0), brightness 1"), "vled-user set:\n{set}");
    m.expect_since(mark, &only_on(3), SHELL_TIMEOUT).context("LED 3 on from vled-user")?;
    let mark = m.mark();
    m.shell("vled-user set 3 0", SHELL_TIMEOUT).context("LED 3 off from vled-user")?;
    m.expect_since(mark, r"^\(XEN\) LEDs: o o o o o o", SHELL_TIMEOUT).context("LED 3 off from vled-user")?;

    let garbage = m.shell("vled-user garbage", SHELL_TIMEOUT).context("garbage requests")?;
    for (status, count) in [("UNKNOWN_LED (-2)", 2), ("BAD_BRIGHTNESS (-3)", 2), ("BAD_REQUEST (-1)", 5), ("OK (0)", 1)] {
        let seen = garbage.lines().filter(|l| l.ends_with(&format!(": {status}: as expected"))).count();
        ensure!(seen == count, "{count} answers {status} expected, {seen} seen:\n{garbage}");
    }
    ensure!(garbage.contains("every answer as expected"), "garbage:\n{garbage}");
    ensure!(garbage.contains("device handed back"), "the backend did not go back to InitWait:\n{garbage}");

    let flood = m.shell("vled-user flood 20000", Duration::from_secs(600)).context("flood")?;
    ensure!(
        flood.contains("flood: 20000 requests answered") && flood.contains("; 0 failed, 0 mismatched;"),
        "flood:\n{flood}"
    );
    ensure!(flood.contains("device handed back"), "the backend did not go back to InitWait:\n{flood}");

    let overrun = m.shell("vled-user overrun", SHELL_TIMEOUT).context("overrun")?;
    ensure!(overrun.contains("the backend stopped serving"), "overrun:\n{overrun}");
    ensure!(overrun.contains("device handed back"), "the backend did not go back to InitWait:\n{overrun}");

    // dom0 logged each kind of bad request and the broken ring, and nothing went wrong in it.
    to_dom0(&mut m)?;
    ensure!(m.shell("echo alive", SHELL_TIMEOUT)? == "alive", "dom0's shell");
    let log = m.shell("dmesg", SHELL_TIMEOUT)?;
    for pattern in [
        r"vledback: dom1: request \d+ \(led 6, brightness 0\): unknown LED",
        r"vledback: dom1: request \d+ \(led 65535, brightness 1\): unknown LED",
        r"vledback: dom1: request \d+ \(led 0, brightness 4294967295\): brightness above the maximum",
        r"vledback: dom1: request \d+ \(led 0, brightness 0\): bad request",
        r"vledback: dom1: ring broken \(RequestOverflow \{ req_prod: \d+, .*\): no longer served",
    ] {
        let re = regex::Regex::new(pattern)?;
        ensure!(re.is_match(&log), "dom0's log has no /{pattern}/:\n{log}");
    }
    for bad in ["BUG:", "WARNING:", "Oops", "soft lockup", "hung task", "rcu_sched self-detected stall"] {
        ensure!(!log.contains(bad), "dom0's log has {bad:?}:\n{log}");
    }
    let mark = m.mark();
    m.shell("echo 1 > /sys/class/leds/sp6_led4/brightness", SHELL_TIMEOUT)?;
    m.expect_since(mark, &only_on(4), SHELL_TIMEOUT).context("dom0 lights LED 4 after the attacks")?;
    let mark = m.mark();
    m.shell("echo 0 > /sys/class/leds/sp6_led4/brightness", SHELL_TIMEOUT)?;
    m.expect_since(mark, r"^\(XEN\) LEDs: o o o o o o", SHELL_TIMEOUT).context("dom0 turns LED 4 off")?;

    // A correct frontend connects after them and works.
    to_domu(&mut m)?;
    m.shell("insmod /vledfront.ko", SHELL_TIMEOUT).context("insmod vledfront.ko")?;
    let mut leds = String::new();
    for _ in 0..50 {
        leds = m.shell("ls /sys/class/leds", SHELL_TIMEOUT)?;
        if leds.split_whitespace().count() == 6 {
            break;
        }
        m.shell("sleep 0.1", SHELL_TIMEOUT)?;
    }
    ensure!(leds.split_whitespace().count() == 6, "domU's LEDs after the attacks: {leds:?}");
    let mark = m.mark();
    m.shell("echo 1 > /sys/class/leds/sp6_led2/brightness", SHELL_TIMEOUT)?;
    m.expect_since(mark, &only_on(2), SHELL_TIMEOUT).context("LED 2 on from domU's vledfront after the attacks")?;
    let back = m.shell("cat /sys/class/leds/sp6_led2/brightness", SHELL_TIMEOUT)?;
    ensure!(back == "1", "domU's LED 2 reads back {back:?}");
    Ok(())
}
