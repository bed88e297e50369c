//! Hostile frontends against dom0's display and keyboard backends (vfbback.ko, vkbdback.ko):
//! rootfs/programs/pv-user plays device vfb/0 or vkbd/0 in domU's user space, in place of
//! xen-fbfront or xen-kbdfront, with frames it does not own, geometries that do not fit, bad
//! page directories, huge and negative rectangles, unknown events, ring overruns, grants that
//! are none, bogus indices and event floods. Each hostile connection must be refused, each bad
//! event ignored, each broken ring dropped, and dom0 must log each, specifically; afterwards
//! dom0 holds none of domU's pages, its kernel log has no warning, the backends unload and load
//! again, and Linux's own frontends connect and work (domU's picture on the display after
//! BACKSPACE, its keys in domU).

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use regex::Regex;
use reptar_tests::qtrun_screen::{DOMU, TITLE, TITLE_SHOWN};
use reptar_tests::{LaunchOptions, Machine, SHELL_TIMEOUT};

/// A pv-user run: at most a few seconds each here, more on a loaded machine.
const RUN_TIMEOUT: Duration = Duration::from_secs(180);
/// How long qtrun may take to show.
const DRAWN: Duration = Duration::from_secs(20);

fn to_domu(m: &mut Machine) -> Result<()> {
    m.switch_to_shell("DOM1", "domU", SHELL_TIMEOUT)
}

fn to_dom0(m: &mut Machine) -> Result<()> {
    m.switch_to_shell("DOM0", "dom0", SHELL_TIMEOUT)
}

/// Both domains up, dom0 with sp6.ko, vkbdback.ko and vfbback.ko (its log cleared), domU with
/// no frontend loaded; the console on domU's shell.
fn boot(name: &str) -> Result<Machine> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new(name))?;
    m.shell(
        "insmod /sp6.ko && insmod /vkbdback.ko && insmod /vfbback.ko && dmesg -c > /dev/null",
        SHELL_TIMEOUT,
    )
    .context("dom0's modules")?;
    to_domu(&mut m)?;
    Ok(m)
}

/// Runs `pv-user ARGS` in domU: its output; fails unless it says the backend behaved.
fn pv_user(m: &mut Machine, args: &str) -> Result<String> {
    let (output, status) = m.shell_status(&format!("pv-user {args} 2>&1"), RUN_TIMEOUT)?;
    ensure!(status == 0, "pv-user {args} failed (exit {status}):\n{output}");
    Ok(output)
}

/// Lines of `output` that `pattern` matches.
fn count(output: &str, pattern: &str) -> Result<usize> {
    let re = Regex::new(pattern)?;
    Ok(output.lines().filter(|line| re.is_match(line)).count())
}

/// Each pattern matches exactly that many lines of `log`.
fn expect_lines(log: &str, what: &str, expected: &[(String, usize)]) -> Result<()> {
    for (pattern, n) in expected {
        let seen = count(log, pattern)?;
        ensure!(seen == *n, "{what}: {n} line(s) /{pattern}/ expected, {seen} seen in:\n{log}");
    }
    Ok(())
}

/// What dom0's kernel logged since the last call (`dmesg -c`), with no warning, bug or oops;
/// the console on domU's shell again.
fn dom0_log(m: &mut Machine) -> Result<String> {
    to_dom0(m)?;
    ensure!(m.shell("echo alive", SHELL_TIMEOUT)? == "alive", "dom0's shell does not answer");
    m.check_kernel_log("dom0")?;
    let log = m.shell("dmesg -c", SHELL_TIMEOUT)?;
    to_domu(m)?;
    Ok(log)
}

/// Once the frontend let go, dom0 maps none of domU's pages (foreign maps, grants) and
/// domU's grants are all back; the console on domU's shell again.
fn nothing_held(m: &mut Machine, after: &str) -> Result<()> {
    let resources = m.resources()?;
    to_domu(m)?;
    ensure!(
        resources.domu_foreign_maps == 0,
        "after {after}: dom0 still maps {} of domU's frames (foreign maps) with no frontend connected",
        resources.domu_foreign_maps
    );
    ensure!(
        resources.domu_granted_pages == 0 && resources.dom0_mappings_held == 0,
        "after {after}: {} of domU's granted pages still in use, dom0 holds {} grant mappings, with no frontend connected",
        resources.domu_granted_pages,
        resources.dom0_mappings_held
    );
    Ok(())
}

/// `regex::escape` for the log patterns below.
fn lit(text: &str) -> String {
    regex::escape(text)
}

/// dom0 unloads both backends and loads them again; the console on domU's shell again.
fn reload_backends(m: &mut Machine) -> Result<()> {
    to_dom0(m)?;
    m.shell(
        "rmmod vfbback && rmmod vkbdback && insmod /vkbdback.ko && insmod /vfbback.ko",
        SHELL_TIMEOUT,
    )
    .context("the backends unload and load again after the attacks")?;
    m.check_kernel_log("dom0")?;
    to_domu(m)
}

/// vfbback's lines in dom0's log start so.
const VFB: &str = r"^\[ *[0-9.]+\] vfbback vfb-1-0: ";

/// vfbback's line for each connection.
fn framebuffer_connected() -> String {
    format!("{VFB}dom1: 800x480x32 framebuffer, 512 frames; shown while it has the focus$")
}

/// `xenbus_dev_fatal()`'s line for a connection refused with EINVAL.
fn vfb_einval() -> String {
    format!("{VFB}22 cannot connect to the frontend$")
}

/// The honest pv-user connects (the control, before and after the attacks).
fn honest_vfb(m: &mut Machine, when: &str) -> Result<()> {
    let out = pv_user(m, "vfb connect")?;
    ensure!(
        out.contains("vfb connect: backend Connected (4): accepted; full-screen update consumed"),
        "pv-user vfb connect {when}:\n{out}"
    );
    Ok(())
}

/// The frame just past domU's RAM, as pv-user found it (its attempts name it).
fn past_ram(out: &str) -> Result<String> {
    let re =
        Regex::new(r"(?:page-ref|pd\[0\]) (0x[0-9a-f]+) \(just past its RAM\): backend Closing")?;
    Ok(re.captures(out).context("no frame past domU's RAM in pv-user's output")?[1].to_string())
}

/// After the attacks: dom0 holds nothing of domU's, its backends unload and load again, the
/// honest pv-user connects, then Linux's xen-fbfront (with xen-kbdfront, for BACKSPACE) and
/// domU's qtrun shows on the display; dom0 logged xen-fbfront's connection and no trouble.
fn vfb_still_works(m: &mut Machine, name: &str, started: Instant) -> Result<()> {
    nothing_held(m, "the attacks")?;
    reload_backends(m)?;
    honest_vfb(m, "after the attacks")?;
    m.shell("insmod /xen-fbfront.ko && insmod /xen-kbdfront.ko", SHELL_TIMEOUT)?;
    m.wait_connected("vfb-0").context("Linux's xen-fbfront after the attacks")?;
    m.wait_connected("vkbd-0")?;
    m.shell("qtrun --once > /tmp/qtrun.log 2>&1", SHELL_TIMEOUT).context("qtrun --once in domU")?;
    m.qmp()?.send_key("backspace")?;
    m.wait_for_screen(
        "domu-after-attacks",
        "domU's qtrun through xen-fbfront after the attacks",
        DRAWN,
        |p| p.count(TITLE, DOMU) > TITLE_SHOWN,
    )?;
    m.qmp()?.send_key("esc")?;
    let log = dom0_log(m)?;
    expect_lines(
        &log,
        "dom0's log of pv-user's and xen-fbfront's connections",
        &[(framebuffer_connected(), 2)],
    )?;
    m.check_kernel_log("domU")?;
    eprintln!("[{name}] {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// `page-ref` naming frames domU does not own or no number, bogus event channels, another
/// protocol; geometries that do not fit and a ring broken before the connection: each
/// connection refused with its reason in dom0's log.
#[test]
fn vfb_bad_keys_and_geometries_are_refused() -> Result<()> {
    let started = Instant::now();
    let mut m = boot("hostile-vfb-keys")?;
    honest_vfb(&mut m, "before the attacks")?;

    let out = pv_user(&mut m, "vfb keys")?;
    ensure!(out.contains("vfb keys: all 12 refused"), "vfb keys:\n{out}");
    let past_ram = past_ram(&out)?;
    let log = dom0_log(&mut m)?;
    let mut expected: Vec<(String, usize)> = ["0x3ffff", &past_ram, "0xfffffffffffff"]
        .iter()
        .map(|frame| {
            (format!("{VFB}dom1: page-ref {frame} cannot be mapped {}$", lit("(Error(22))")), 1)
        })
        .collect();
    expected.push((format!("{VFB}dom1: protocol other than arm-abi: not supported$"), 1));
    expected.push((vfb_einval(), 12));
    expected.push((framebuffer_connected(), 1));
    expect_lines(&log, "dom0's log of the bad keys", &expected)?;

    let out = pv_user(&mut m, "vfb geometry")?;
    ensure!(out.contains("vfb geometry: all 11 refused"), "vfb geometry:\n{out}");
    let log = dom0_log(&mut m)?;
    let refused =
        |why: &str| (format!("{VFB}dom1: framebuffer geometry refused: {}$", lit(why)), 1);
    let expected = vec![
        refused("framebuffer of 4194304 bytes, above the limit of 2097152"),
        refused("framebuffer of 4294967295 bytes, above the limit of 2097152"),
        refused("picture ends at byte 1536000, beyond the framebuffer's 1048576"),
        refused("unsupported depth 7"),
        refused("unsupported depth 0"),
        refused("bad size -800x480"),
        refused("bad size 800x0"),
        refused("bad stride 100 (row of 3200 bytes)"),
        refused("bad stride 4294967295 (row of 8589934588 bytes)"),
        refused("bad size 800x-2147483648"),
        (
            format!(
                "{VFB}dom1: the framebuffer ring is broken: {}$",
                lit("BadProducerIndex { prod: 100, cons: 0 }")
            ),
            1,
        ),
        (vfb_einval(), 11),
        (framebuffer_connected(), 0),
    ];
    expect_lines(&log, "dom0's log of the geometries", &expected)?;
    vfb_still_works(&mut m, "hostile-vfb-keys", started)
}

/// Connected: rectangles huge, negative, empty, outside, unknown event types, a resize never
/// offered (each bad one ignored and logged, the rest consumed); out_prod 52 ahead of a full
/// ring, then behind (the connection dropped, logged once, however often the frontend notifies
/// afterwards); a flood of updates and of bare notifications; a frontend killed while
/// connected.
#[test]
fn vfb_bad_events_and_broken_rings_are_dropped() -> Result<()> {
    let started = Instant::now();
    let mut m = boot("hostile-vfb-events")?;

    let out = pv_user(&mut m, "vfb events")?;
    ensure!(
        out.contains("13 events sent (8 bad), out_cons 13: all consumed; Connected (4)"),
        "vfb events:\n{out}"
    );
    let log = dom0_log(&mut m)?;
    let ignored = |n: usize, why: &str| {
        (format!("{VFB}dom1: event ignored {}$", lit(&format!("({n} so far): {why}"))), 1)
    };
    let expected = vec![
        ignored(1, "update: negative size -5x10"),
        ignored(2, "update: empty rectangle"),
        ignored(3, "update: rectangle outside the framebuffer"),
        ignored(4, "update: rectangle outside the framebuffer"),
        ignored(5, "update: rectangle outside the framebuffer"),
        ignored(6, "resize without feature-resize"),
        ignored(7, "unknown out event type 0"),
        ignored(8, "unknown out event type 255"),
        (format!("{VFB}dom1: event ignored "), 8),
        (framebuffer_connected(), 1),
    ];
    expect_lines(&log, "dom0's log of the bad events", &expected)?;

    let out = pv_user(&mut m, "vfb overrun")?;
    for line in [
        "vfb overrun ahead: out_prod 103 with 51 consumed: backend Closing (5): refused",
        "vfb overrun behind: out_prod 2 with 3 consumed: backend Closing (5): refused",
    ] {
        ensure!(out.contains(line), "vfb overrun: no {line:?} in:\n{out}");
    }
    let log = dom0_log(&mut m)?;
    let broken = |indices: &str| {
        (
            format!(
                "{VFB}dom1: the framebuffer ring is broken {}$",
                lit(&format!("(BadProducerIndex {{ {indices} }}): disconnecting"))
            ),
            1,
        )
    };
    let expected = vec![
        broken("prod: 103, cons: 51"),
        broken("prod: 2, cons: 3"),
        (format!("{VFB}22 broken out ring$"), 2),
        (framebuffer_connected(), 2),
    ];
    expect_lines(
        &log,
        "dom0's log of the broken rings (each logged once, though notified 100 times more)",
        &expected,
    )?;

    let out = pv_user(&mut m, "vfb flood 20000")?;
    ensure!(
        out.contains("vfb flood: 20000 updates consumed")
            && out.contains("then an update consumed; backend Connected (4)"),
        "vfb flood:\n{out}"
    );
    // A frontend that dies while connected: the next one connects.
    pv_user_background(&mut m, "vfb connect 600", "full-screen update consumed")?;
    m.shell("kill -9 $! && wait $!; :", SHELL_TIMEOUT)?;
    honest_vfb(&mut m, "after one was killed while connected")?;
    let log = dom0_log(&mut m)?;
    expect_lines(
        &log,
        "dom0's log of the flood and the killed frontend",
        &[(framebuffer_connected(), 3), (format!("{VFB}"), 3)],
    )?;
    vfb_still_works(&mut m, "hostile-vfb-events", started)
}

/// Page directories naming frames domU does not own: pd[0] itself, then directory entries (all
/// of them, the last, one in the middle, the first, the others domU's own): each connection
/// refused, and none of the frames mapped around the bad one stays mapped.
#[test]
fn vfb_page_directories_naming_frames_not_owned_are_refused() -> Result<()> {
    let started = Instant::now();
    let mut m = boot("hostile-vfb-pd")?;
    let out = pv_user(&mut m, "vfb pd")?;
    ensure!(out.contains("vfb pd: all 7 refused"), "vfb pd:\n{out}");
    nothing_held(&mut m, "the page directories naming frames not domU's (pv-user vfb pd)")?;
    let past_ram = past_ram(&out)?;
    let log = dom0_log(&mut m)?;
    let mut expected: Vec<(String, usize)> = ["0x3ffff", &past_ram, "0xfffffffffffff"]
        .iter()
        .map(|frame| {
            (
                format!(
                    "{VFB}dom1: pd{} = {frame} cannot be mapped {}$",
                    lit("[0]"),
                    lit("(Error(22))")
                ),
                1,
            )
        })
        .collect();
    expected.push((
        format!(
            "{VFB}dom1: its framebuffer frames cannot be mapped {}: not all its own\\?$",
            lit("(Error(22))")
        ),
        4,
    ));
    expected.push((vfb_einval(), 7));
    expect_lines(&log, "dom0's log of the page directories", &expected)?;
    vfb_still_works(&mut m, "hostile-vfb-pd", started)
}

/// Starts `pv-user ARGS` in domU's background (output in /tmp/pv-user.log) and waits until it
/// prints `ready`.
fn pv_user_background(m: &mut Machine, args: &str, ready: &str) -> Result<()> {
    m.shell(&format!("pv-user {args} > /tmp/pv-user.log 2>&1 & :"), SHELL_TIMEOUT)?;
    wait_for_output(m, ready)
}

/// Waits until the background pv-user printed `text`.
fn wait_for_output(m: &mut Machine, text: &str) -> Result<()> {
    let started = Instant::now();
    loop {
        let log = m.shell("cat /tmp/pv-user.log", SHELL_TIMEOUT)?;
        if log.contains(text) {
            return Ok(());
        }
        ensure!(
            !log.contains("FAILED") && started.elapsed() < RUN_TIMEOUT,
            "the background pv-user did not print {text:?}:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Presses and releases `keys` on the board (QMP), one after the other.
fn press(m: &mut Machine, keys: &[&str]) -> Result<()> {
    for key in keys {
        m.qmp()?.send_key(key)?;
        m.shell("sleep 0.2", SHELL_TIMEOUT)?;
    }
    Ok(())
}

/// Ends the background pv-user's watch with SIGTERM (it reports and hands the device back):
/// its output; fails unless it says the backend behaved.
fn stop_background(m: &mut Machine) -> Result<String> {
    let out =
        m.shell("kill $! && wait $!; echo pv-user exit $?; cat /tmp/pv-user.log", RUN_TIMEOUT)?;
    ensure!(count(&out, "^pv-user exit 0$")? == 1, "the background pv-user failed:\n{out}");
    Ok(out)
}

/// Grants that are none for dom0 (ended, beyond the table, not a number, another domain's,
/// read-only), indices broken at connection, bogus event channels: each connection refused with
/// its reason logged. Connected, an in_cons moved beyond in_prod: the keys are dropped (logged),
/// nothing is written to the page. Garbage in the out ring and indices, a hundred thousand
/// notifications, a frontend killed while connected: nothing happens. Afterwards xen-kbdfront
/// connects and gets the keys.
#[test]
fn vkbd_bad_pages_and_a_bogus_in_cons_are_refused() -> Result<()> {
    let started = Instant::now();
    let mut m = boot("hostile-vkbd")?;
    const VKBD: &str = r"^\[ *[0-9.]+\] vkbdback vkbd-1-0: ";
    let keyboard_connected =
        format!("{VKBD}dom1: BACKSPACE gives it the buttons, ESC takes them back$");

    // The control: the same tool, honest, gets the board's keys once BACKSPACE gave them to
    // domU (ENTER is KEY_ENTER, 28).
    pv_user_background(&mut m, "vkbd connect 600", "listening")?;
    press(&mut m, &["backspace", "ret"])?;
    wait_for_output(&mut m, "vkbd: key 28 released")?;
    let out = stop_background(&mut m)?;
    ensure!(out.contains("vkbd: key 28 pressed"), "vkbd connect:\n{out}");

    // Grants that are none for dom0, indices broken at connection, bogus event channels.
    let mark = m.mark();
    let out = pv_user(&mut m, "vkbd bad-page")?;
    ensure!(out.contains("vkbd bad-page: all 11 refused"), "vkbd bad-page:\n{out}");
    // The hypervisor refused the two references beyond domU's grant table.
    for gref in ["4294967295", "100000"] {
        m.expect_since(
            mark,
            &format!(r"^\(XEN\) dom0: grant_table_op: map of grant {gref} of dom1 .*: BadGntref"),
            SHELL_TIMEOUT,
        )?;
    }
    nothing_held(&mut m, "the refused connections")?;
    let log = dom0_log(&mut m)?;
    let expected = vec![
        // Linux's xenbus_map_ring_valloc() says why the map failed (the grant status): the
        // ended grant, the page granted to another domain, the read-only one (GNTST_general_error)...
        (format!(r"{VKBD}1 mapping in shared page \d+ from domain 1$"), 3),
        // ... and the references beyond the table (GNTST_bad_gntref).
        (format!("{VKBD}3 mapping in shared page -1 from domain 1$"), 1),
        (format!("{VKBD}3 mapping in shared page 100000 from domain 1$"), 1),
        (format!("{VKBD}cannot map page 4294967295: {}$", lit("Error(2)")), 1),
        (format!("{VKBD}cannot map page 100000: {}$", lit("Error(2)")), 1),
        (format!(r"{VKBD}cannot map page \d+: {}$", lit("Error(2)")), 5),
        (
            format!(
                "{VKBD}the frontend's page is broken: {}$",
                lit("BadConsumerIndex { cons: 100, prod: 0 }")
            ),
            1,
        ),
        (
            format!(
                "{VKBD}the frontend's page is broken: {}$",
                lit("BadConsumerIndex { cons: 4294967195, prod: 0 }")
            ),
            1,
        ),
        (format!("{VKBD}2 cannot connect to the frontend$"), 5),
        // page-gref -1 and garbage, in_cons twice, event channels 4095 and 0.
        (format!("{VKBD}22 cannot connect to the frontend$"), 6),
        (keyboard_connected.clone(), 1),
    ];
    expect_lines(&log, "dom0's log of the bad pages", &expected)?;

    // Connected, in_cons moved 1000 beyond in_prod: the keys pressed meanwhile are dropped,
    // nothing is written to the page.
    pv_user_background(&mut m, "vkbd in-cons 1000 600", "ready")?;
    press(&mut m, &["backspace", "ret", "up"])?;
    // ENTER and UP, each pressed and released, dropped: dom0 says so once (a frontend that
    // keeps its page broken must not flood dom0's log), the page is left alone.
    let dropped = lit("vkbdback: dom1: key dropped (1 so far): Ring(BadConsumerIndex { cons: 1000, prod: 0 })");
    to_dom0(&mut m)?;
    let started_waiting = Instant::now();
    while count(&m.shell("dmesg", SHELL_TIMEOUT)?, &dropped)? < 1 {
        ensure!(
            started_waiting.elapsed() < SHELL_TIMEOUT,
            "dom0 did not log the dropped keys:\n{}",
            m.shell("dmesg", SHELL_TIMEOUT)?
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let log = m.shell("dmesg", SHELL_TIMEOUT)?;
    ensure!(count(&log, &lit("key dropped ("))? == 1, "dropped keys logged more than once:\n{log}");
    to_domu(&mut m)?;
    let out = stop_background(&mut m)?;
    ensure!(out.contains("vkbd in-cons: the backend wrote nothing"), "vkbd in-cons:\n{out}");
    // Garbage out ring and indices, a hundred thousand notifications.
    let out = pv_user(&mut m, "vkbd garbage 100000")?;
    ensure!(
        out.contains("100000 notifications in") && out.contains("backend Connected (4)"),
        "vkbd garbage:\n{out}"
    );
    // A frontend that dies while connected: the next one connects.
    pv_user_background(&mut m, "vkbd connect 600", "listening")?;
    m.shell("kill -9 $! && wait $!; :", SHELL_TIMEOUT)?;
    pv_user_background(&mut m, "vkbd connect 600", "listening")?;
    stop_background(&mut m)?;
    nothing_held(&mut m, "the broken ring, the garbage and the killed frontend")?;
    let log = dom0_log(&mut m)?;
    let dropped = format!(r"^\[ *[0-9.]+\] {dropped}$");
    // The dropped keys said once; four connections: in-cons, garbage, the killed frontend and
    // the next one.
    expect_lines(
        &log,
        "dom0's log of the broken ring",
        &[(dropped, 1), (keyboard_connected.clone(), 4)],
    )?;

    // dom0 is unharmed: the backends unload and load again; Linux's xen-kbdfront connects and
    // gets ENTER after BACKSPACE.
    reload_backends(&mut m)?;
    m.shell("insmod /xen-kbdfront.ko", SHELL_TIMEOUT)?;
    m.wait_connected("vkbd-0")?;
    m.shell("input-events --name 'Xen Virtual Keyboard' --keys-only --count 2 > /tmp/domu-keys 2>&1 & :", SHELL_TIMEOUT)?;
    m.shell("sleep 0.5", SHELL_TIMEOUT)?;
    m.qmp()?.send_key("backspace")?;
    m.shell("sleep 0.3", SHELL_TIMEOUT)?;
    m.qmp()?.send_key("ret")?;
    let keys = m.shell("wait; cat /tmp/domu-keys", SHELL_TIMEOUT)?;
    ensure!(
        keys.contains("EV_KEY KEY_ENTER 1") && keys.contains("EV_KEY KEY_ENTER 0"),
        "xen-kbdfront after the attacks saw: {keys}"
    );
    m.qmp()?.send_key("esc")?;
    let log = dom0_log(&mut m)?;
    expect_lines(&log, "dom0's log of xen-kbdfront's connection", &[(keyboard_connected, 1)])?;
    m.check_kernel_log("domU")?;
    eprintln!("[hostile-vkbd] {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
