//! Paravirtual LEDs (docs/protocols/vled.md): vledfront.ko in domU, vledback.ko in dom0 over
//! the LEDs of sp6.ko, through xenbus, a granted ring and an event channel.

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
