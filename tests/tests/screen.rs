//! The REPTAR demo across domains: qtrun in dom0 on the board's display, BACKSPACE gives the
//! screen and the buttons to domU (its qtrun shows within a second, ENTER changes its text and
//! not dom0's), ESC gives them back and the display shows dom0's screen exactly as it was,
//! though dom0's qtrun kept drawing all along. vfbback and vkbdback in dom0, with our Rust
//! frontends or Linux's C ones (xen-fbfront, xen-kbdfront) in domU; vled gives domU's qtrun the
//! board's LEDs.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use reptar_tests::qtrun_screen::{led_centre, DOM0, DOMU, LED_ON, MESSAGE, TITLE, TITLE_SHOWN};
use reptar_tests::{LaunchOptions, Machine, Picture, SHELL_TIMEOUT};

/// How long qtrun may take to show a change.
const DRAWN: Duration = Duration::from_secs(20);
/// How soon after BACKSPACE domU's screen must show.
const SWITCH: Duration = Duration::from_secs(1);

fn dom0_shown(p: &Picture) -> bool {
    p.count(TITLE, DOM0) > TITLE_SHOWN
}

fn domu_shown(p: &Picture) -> bool {
    p.count(TITLE, DOMU) > TITLE_SHOWN
}

/// Starts qtrun in the shell's domain and waits until it says it runs.
fn start_qtrun(m: &mut Machine, domain: &str) -> Result<()> {
    m.shell("qtrun > /tmp/qtrun.log 2>&1 & :", SHELL_TIMEOUT)?;
    let started = Instant::now();
    loop {
        let log = m.shell("cat /tmp/qtrun.log", SHELL_TIMEOUT)?;
        if log.contains(&format!(", in {domain}")) {
            return Ok(());
        }
        ensure!(started.elapsed() < DRAWN, "qtrun did not start in {domain}: {log:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The whole story with the frontends `fb` and `kbd` in domU.
fn story(name: &str, fb: &str, kbd: &str) -> Result<()> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new(name))?;
    m.shell("insmod /sp6.ko && insmod /vkbdback.ko && insmod /vfbback.ko && insmod /vledback.ko", SHELL_TIMEOUT)?;
    m.shell("echo 1 > /sys/class/leds/sp6_led3/brightness", SHELL_TIMEOUT)?;
    start_qtrun(&mut m, "dom0")?;
    let first = m.wait_for_screen("1-dom0", "dom0's qtrun", DRAWN, |p| dom0_shown(p) && p.pixel(led_centre(3).0, led_centre(3).1) == LED_ON)?;
    m.qmp()?.send_key("ret")?;
    let before = m.wait_for_screen("2-dom0-enter", "dom0's text after ENTER", DRAWN, |p| {
        dom0_shown(p) && p.area(MESSAGE) != first.area(MESSAGE)
    })?;

    // domU: its frontends and its qtrun, drawing while dom0 has the screen.
    m.switch_to_shell("DOM1", "domU", SHELL_TIMEOUT)?;
    m.shell(&format!("insmod /{fb}.ko && insmod /{kbd}.ko && insmod /vledfront.ko"), SHELL_TIMEOUT)?;
    m.wait_connected("vfb-0")?;
    m.wait_connected("vkbd-0")?;
    m.wait_connected("vled-0")?;
    start_qtrun(&mut m, "domU")?;
    let still = m.screen_dump("3-domu-started")?;
    ensure!(still == before, "domU's qtrun showed on the display while dom0 had the focus");

    // BACKSPACE: domU's screen within a second.
    let pressed = Instant::now();
    m.qmp()?.send_key("backspace")?;
    while !domu_shown(&m.screen_dump("4-backspace")?) {
        ensure!(pressed.elapsed() < DRAWN, "domU's qtrun never showed after BACKSPACE");
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = pressed.elapsed();
    ensure!(took < SWITCH, "domU's screen took {took:?} to show (the first screen dump showing it)");
    let domu_first = m.wait_for_screen("4-backspace", "domU's qtrun after BACKSPACE", DRAWN, domu_shown)?;
    // domU sees the board's LEDs through vled: LED 3, lit from dom0.
    ensure!(domu_first.pixel(led_centre(3).0, led_centre(3).1) == LED_ON, "domU's qtrun does not show LED 3 lit");

    // ENTER is domU's now: its text changes.
    m.qmp()?.send_key("ret")?;
    m.wait_for_screen("5-domu-enter", "domU's text after ENTER", DRAWN, |p| {
        domu_shown(p) && p.area(MESSAGE) != domu_first.area(MESSAGE)
    })?;

    // ESC: dom0's screen as it was, pixel for pixel (its qtrun redrew it every 200 ms meanwhile,
    // and did not see ENTER).
    m.qmp()?.send_key("esc")?;
    let after = m.wait_for_screen("6-esc", "dom0's screen after ESC", DRAWN, dom0_shown)?;
    let differ = (0..480).flat_map(|y| (0..800).map(move |x| (x, y))).filter(|&(x, y)| after.pixel(x, y) != before.pixel(x, y)).count();
    ensure!(differ == 0, "dom0's screen after ESC differs from before BACKSPACE in {differ} pixels");

    // dom0's qtrun is still running; domU's too.
    m.switch_to_shell("DOM0", "dom0", SHELL_TIMEOUT)?;
    ensure!(m.shell("pidof qtrun >/dev/null && echo running", SHELL_TIMEOUT)? == "running", "dom0's qtrun is gone");
    let log = m.shell("dmesg | grep -ci 'vfbback.*\\(error\\|refused\\|broken\\)' || true", SHELL_TIMEOUT)?;
    ensure!(log == "0", "vfbback complained:\n{}", m.shell("dmesg | grep vfb", SHELL_TIMEOUT)?);
    Ok(())
}

#[test]
fn backspace_shows_domus_qtrun_and_esc_gives_dom0_its_screen_back() -> Result<()> {
    story("screen-story", "vfbfront", "vkbdfront")
}

#[test]
fn the_same_with_linux_xen_fbfront_and_xen_kbdfront() -> Result<()> {
    story("screen-story-c", "xen-fbfront", "xen-kbdfront").context("Linux's C frontends")
}

/// Runs `command` at the shell of `host` ("dom0" or "domU").
fn at(m: &mut Machine, host: &str, command: &str) -> Result<String> {
    let target = if host == "dom0" { "DOM0" } else { "DOM1" };
    m.switch_to_shell(target, host, SHELL_TIMEOUT)?;
    m.shell(command, SHELL_TIMEOUT).with_context(|| format!("{host}: {command}"))
}

/// The module reloads of cycle `cycle`: (host, command) in order. Each module alone in turn,
/// and every fifth cycle all four, backends out first or frontends out first, in alternation.
fn reloads(cycle: usize) -> Vec<(&'static str, &'static str)> {
    let reload = |host, module| -> Vec<(&'static str, &'static str)> {
        match module {
            "vfbfront" => vec![(host, "rmmod vfbfront"), (host, "insmod /vfbfront.ko")],
            "vkbdfront" => vec![(host, "rmmod vkbdfront"), (host, "insmod /vkbdfront.ko")],
            "vfbback" => vec![(host, "rmmod vfbback"), (host, "insmod /vfbback.ko")],
            _ => vec![(host, "rmmod vkbdback"), (host, "insmod /vkbdback.ko")],
        }
    };
    match cycle % 5 {
        0 => reload("domU", "vfbfront"),
        1 => reload("dom0", "vfbback"),
        2 => reload("domU", "vkbdfront"),
        3 => reload("dom0", "vkbdback"),
        _ if cycle % 10 == 4 => vec![
            ("dom0", "rmmod vfbback && rmmod vkbdback"),
            ("domU", "rmmod vkbdfront && rmmod vfbfront"),
            // Like every Xen frontend, insmod waits (up to 30 s, the xenbus core's
            // wait_for_devices) for its device to connect when its backend is not there yet:
            // in the background, as a user would.
            ("domU", "(insmod /vfbfront.ko && insmod /vkbdfront.ko) > /tmp/insmod.log 2>&1 & :"),
            ("dom0", "insmod /vkbdback.ko && insmod /vfbback.ko"),
        ],
        _ => vec![
            ("domU", "rmmod vfbfront && rmmod vkbdfront"),
            ("dom0", "rmmod vkbdback && rmmod vfbback"),
            ("dom0", "insmod /vfbback.ko && insmod /vkbdback.ko"),
            ("domU", "insmod /vkbdfront.ko && insmod /vfbfront.ko"),
        ],
    }
}

#[test]
fn twenty_cycles_of_reloads_with_focus_switches() -> Result<()> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new("screen-cycles"))?;
    m.shell("insmod /sp6.ko && insmod /vkbdback.ko && insmod /vfbback.ko", SHELL_TIMEOUT)?;
    // dom0's picture: one qtrun frame, left on the screen (the console stays in graphics mode).
    m.shell("qtrun --once", SHELL_TIMEOUT)?;
    let dom0 = m.wait_for_screen("dom0", "dom0's qtrun frame", DRAWN, dom0_shown)?;
    at(&mut m, "domU", "insmod /vfbfront.ko && insmod /vkbdfront.ko")?;
    m.wait_connected("vfb-0")?;
    m.wait_connected("vkbd-0")?;
    let before = m.resources()?;
    for cycle in 0..20 {
        let context = || format!("cycle {cycle}: {:?}", reloads(cycle));
        for (host, command) in reloads(cycle) {
            at(&mut m, host, command).with_context(context)?;
        }
        at(&mut m, "domU", ":")?;
        m.wait_connected("vfb-0").with_context(context)?;
        m.wait_connected("vkbd-0").with_context(context)?;
        // A background insmod returns once its device is connected.
        m.shell("wait", SHELL_TIMEOUT).with_context(context)?;
        // domU's picture: the whole screen in a colour of this cycle.
        let drawn = m.shell(&format!("fb-bench draw --frames {}", cycle + 1), SHELL_TIMEOUT)?;
        let colour = drawn.lines().find_map(|l| l.strip_prefix("last colour ")).with_context(|| format!("fb-bench: {drawn}"))?;
        let rgb = u32::from_str_radix(colour.trim(), 16)?.to_be_bytes();
        let rgb = [rgb[1], rgb[2], rgb[3]];
        m.send_line("input-events --name 'Xen Virtual Keyboard' --keys-only --count 2 > /tmp/keys 2>&1 &")?;
        m.shell("sleep 0.3", SHELL_TIMEOUT)?;
        m.qmp()?.send_key("backspace")?;
        m.wait_for_screen(&format!("cycle-{cycle}-domu"), "domU's picture after BACKSPACE", DRAWN, |p| p.pixel(400, 240) == rgb && p.pixel(799, 479) == rgb)
            .with_context(context)?;
        m.qmp()?.send_key("ret")?;
        let keys = m.shell("wait; cat /tmp/keys", SHELL_TIMEOUT)?;
        ensure!(keys.contains("EV_KEY KEY_ENTER 1") && keys.contains("EV_KEY KEY_ENTER 0"), "{}: domU's keys: {keys}", context());
        m.qmp()?.send_key("esc")?;
        m.wait_for_screen(&format!("cycle-{cycle}-dom0"), "dom0's picture after ESC", DRAWN, |p| *p == dom0).with_context(context)?;
    }
    let after = m.resources()?;
    ensure!(after == before, "after 20 cycles: {after:?}; before {before:?}");
    for host in ["dom0", "domU"] {
        at(&mut m, host, ":")?;
        m.check_kernel_log(host)?;
    }
    Ok(())
}
