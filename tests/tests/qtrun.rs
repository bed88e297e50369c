//! qtrun, the demo application, on the board's display in dom0 (as the REPTAR lab ran the Qt
//! demo): it fails clearly without a framebuffer or buttons; with sp6.ko loaded it shows dom0's
//! screen, the middle button (ENTER) changes its text, the arrows move its marker, it follows
//! the LEDs and SPACE sets LED 0 through the LED class, and SIGTERM ends it. Checked on QMP
//! screen dumps; PNG copies for people are left next to the console log.
//!
//! The places on the screen are qtrun's layout for the 800x480 LCD (`qtrun_screen`).

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use reptar_tests::qtrun_screen::{led_centre, DOM0, LED_ON, MESSAGE, PLAYFIELD, TITLE, TITLE_SHOWN};
use reptar_tests::{LaunchOptions, Machine, Picture, SHELL_TIMEOUT};

/// How long qtrun may take to show a change.
const DRAWN: Duration = Duration::from_secs(20);

/// The screen once `done` accepts it (see `Machine::wait_for_screen`), checked to be the LCD's
/// size.
fn wait_for(m: &mut Machine, name: &str, what: &str, done: impl Fn(&Picture) -> bool) -> Result<Picture> {
    let picture = m.wait_for_screen(name, what, DRAWN, done)?;
    ensure!((picture.width, picture.height) == (800, 480), "the screen is {}x{}", picture.width, picture.height);
    Ok(picture)
}

#[test]
fn qtrun_in_dom0_shows_the_board_and_answers_its_buttons() -> Result<()> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new("qtrun"))?;

    // Without a framebuffer, or without buttons (sp6.ko not loaded yet), it says so.
    let (output, status) = m.shell_status("qtrun --fb /dev/fb9 --once", SHELL_TIMEOUT)?;
    ensure!(
        status == 1 && output == "qtrun: no framebuffer: /dev/fb9: No such file or directory (is the display driver loaded?)",
        "qtrun without a framebuffer: status {status}, {output:?}"
    );
    let (output, status) = m.shell_status("qtrun --once", SHELL_TIMEOUT)?;
    ensure!(
        status == 1 && output.starts_with("qtrun: no input device named \"reptar_sp6_buttons\" nor a Xen virtual keyboard (found: "),
        "qtrun without buttons: status {status}, {output:?}"
    );

    m.shell("insmod /sp6.ko", SHELL_TIMEOUT)?;
    m.shell("echo 1 > /sys/class/leds/sp6_led3/brightness", SHELL_TIMEOUT)?;
    m.shell("qtrun > /tmp/qtrun.log 2>&1 & :", SHELL_TIMEOUT)?;
    let started = Instant::now();
    loop {
        let log = m.shell("cat /tmp/qtrun.log", SHELL_TIMEOUT)?;
        if log.contains("qtrun: /dev/fb0 (800x480 \"simple\"), buttons /dev/input/event")
            && log.contains("reptar_sp6_buttons\", in dom0")
        {
            break;
        }
        ensure!(started.elapsed() < Duration::from_secs(20), "qtrun did not start: {log:?}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // dom0's screen: the title in dom0's colour, LED 3 lit and no other.
    let first = wait_for(&mut m, "1-started", "qtrun's first frame", |p| p.count(TITLE, DOM0) > TITLE_SHOWN)?;
    for led in 0..6 {
        let (x, y) = led_centre(led);
        ensure!(
            (first.pixel(x, y) == LED_ON) == (led == 3),
            "LED {led} shows {:02x?}",
            first.pixel(x, y)
        );
    }

    // The middle button changes the text, and only the text and the key line.
    m.qmp()?.send_key("ret")?;
    let entered = wait_for(&mut m, "2-enter", "the text after ENTER", |p| {
        p.area(MESSAGE) != first.area(MESSAGE)
    })?;
    ensure!(
        entered.area(TITLE) == first.area(TITLE)
            && entered.area(PLAYFIELD) == first.area(PLAYFIELD),
        "ENTER changed more than the text"
    );
    m.qmp()?.send_key("ret")?;
    let again = wait_for(&mut m, "3-enter-again", "the text after a second ENTER", |p| {
        p.area(MESSAGE) != entered.area(MESSAGE)
    })?;
    ensure!(again.area(MESSAGE) != first.area(MESSAGE), "the second text is the first");

    // An arrow moves the marker.
    m.qmp()?.send_key("left")?;
    let moved = wait_for(&mut m, "4-left", "the marker after LEFT", |p| {
        p.area(PLAYFIELD) != again.area(PLAYFIELD)
    })?;
    ensure!(moved.area(MESSAGE) == again.area(MESSAGE), "LEFT changed the text");
    ensure!(moved.count(PLAYFIELD, DOM0) > 200, "no marker in the playfield");

    // SPACE turns LED 0 on through the LED class: the board has it lit and qtrun shows it.
    let mark = m.mark();
    m.qmp()?.send_key("spc")?;
    m.expect_since(mark, r"^\(XEN\) LEDs: \* o o \* o o", SHELL_TIMEOUT)
        .context("LED 0 lit by SPACE")?;
    let (x0, y0) = led_centre(0);
    wait_for(&mut m, "5-space", "LED 0 on after SPACE", |p| p.pixel(x0, y0) == LED_ON)?;
    // An LED written by someone else shows within the refresh period.
    m.shell("echo 0 > /sys/class/leds/sp6_led3/brightness", SHELL_TIMEOUT)?;
    let (x3, y3) = led_centre(3);
    wait_for(&mut m, "6-led3-off", "LED 3 off", |p| p.pixel(x3, y3) != LED_ON)?;

    // SIGTERM ends it cleanly; the console gets the screen back.
    let (_, status) = m.shell_status("kill $(pidof qtrun); wait $!", SHELL_TIMEOUT)?;
    ensure!(status == 0, "qtrun exited with status {status} on SIGTERM");
    let log = m.shell("cat /tmp/qtrun.log; pidof qtrun || echo gone", SHELL_TIMEOUT)?;
    ensure!(log.ends_with("gone") && log.lines().count() == 2, "after SIGTERM: {log:?}");
    let console =
        wait_for(&mut m, "7-after-sigterm", "the console's screen after qtrun", |p| {
            p.count(TITLE, DOM0) == 0
        })?;
    // The buttons were not typed into the console meanwhile: it shows no more than its cursor.
    let lit = console.area((0, 0, 800, 480)).into_iter().filter(|&p| p != [0, 0, 0]).count();
    ensure!(lit < 40, "the console shows {lit} lit pixels after qtrun (its cursor has 16): the buttons reached it?");

    // --once draws one frame, with LED 0 still on, and leaves it on the screen.
    m.shell("qtrun --once", SHELL_TIMEOUT)?;
    let once = wait_for(&mut m, "8-once", "the frame of qtrun --once", |p| p.count(TITLE, DOM0) > TITLE_SHOWN)?;
    ensure!(
        once.pixel(x0, y0) == LED_ON && once.area(MESSAGE) == first.area(MESSAGE),
        "qtrun --once drew another frame"
    );
    Ok(())
}
