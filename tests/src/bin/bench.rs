//! Benchmarks. Print figures; never fail on a time.
//!
//! - boot: wall time from spawning QEMU to the dom0 shell prompt, over a few boots, and the size
//!   of the hypervisor binary;
//! - board: latency from a button pressed (QMP) to dom0's input event, and from an LED write in
//!   dom0 to the hypervisor's LED register change, both in guest time: the hypervisor stamps its
//!   side with the generic timer's count, dom0's programs stamp theirs with the same counter;
//! - paravirtual devices: vled writes, event channels, xenstore; a button to domU's input event
//!   (vkbd) and full-screen updates per second from domU to the display (vfb).
//!
//! usage: bench [--runs N] [--samples N] [--icount]
//!   --runs N     boots to measure (default 3)
//!   --samples N  board latency samples (default 100)
//!   --icount     run QEMU with -icount shift=0 (deterministic single-threaded TCG)

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use regex::Regex;
use reptar_tests::{Artifacts, LaunchOptions, Machine, BOOT_TIMEOUT, EXIT_TIMEOUT, SHELL_TIMEOUT};

struct Settings {
    runs: usize,
    samples: usize,
    icount: bool,
}

fn main() -> ExitCode {
    match parse_args().and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args() -> Result<Settings> {
    let mut settings = Settings { runs: 3, samples: 100, icount: false };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                let runs = args.next().context("--runs needs a number")?;
                settings.runs = runs.parse().with_context(|| format!("--runs {runs}"))?;
                if settings.runs == 0 {
                    bail!("--runs must be at least 1");
                }
            }
            "--samples" => {
                let samples = args.next().context("--samples needs a number")?;
                settings.samples = samples.parse().with_context(|| format!("--samples {samples}"))?;
                if settings.samples == 0 {
                    bail!("--samples must be at least 1");
                }
            }
            "--icount" => settings.icount = true,
            _ => bail!("unknown argument {arg} (usage: bench [--runs N] [--samples N] [--icount])"),
        }
    }
    Ok(settings)
}

fn run(settings: Settings) -> Result<()> {
    let artifacts = Artifacts::locate();
    artifacts.require_all()?;

    let size = std::fs::metadata(&artifacts.hypervisor)
        .with_context(|| format!("reading {}", artifacts.hypervisor.display()))?
        .len();
    println!("hypervisor.bin: {size} bytes ({:.1} KiB)", size as f64 / 1024.0);

    let mode = if settings.icount { " (-icount shift=0)" } else { "" };
    let mut times = Vec::with_capacity(settings.runs);
    for run in 1..=settings.runs {
        let boot = boot_once(run, settings.icount)?;
        println!("run {run}: boot to dom0 shell {:.2} s{mode}", boot.as_secs_f64());
        times.push(boot);
    }
    let runs: Vec<String> = times.iter().map(|t| format!("{:.2}", t.as_secs_f64())).collect();
    println!(
        "boot to dom0 shell: median {:.2} s (runs: {}){mode}",
        median(&mut times).as_secs_f64(),
        runs.join(", ")
    );
    board_latencies(settings.samples, settings.icount)?;
    event_channel_round_trip(settings.icount)?;
    paravirtual_leds(1000, settings.icount)?;
    paravirtual_screen_and_keys(settings.samples, settings.icount)
}

/// vled: a brightness write in domU (through vledfront, the ring, vledback and sp6.ko) to the
/// hypervisor's LED register, median and p99 of `samples`; and domU's LED writes per second.
fn paravirtual_leds(samples: usize, icount: bool) -> Result<()> {
    let mut options = LaunchOptions::new("bench-vled");
    if icount {
        options = options.icount();
    }
    let mut m = Machine::boot_to_dom0_shell(options)?;
    m.shell("insmod /sp6.ko && insmod /vledback.ko", SHELL_TIMEOUT)?;
    m.switch_to_shell("DOM1", "domU", SHELL_TIMEOUT)?;
    m.shell("insmod /vledfront.ko", SHELL_TIMEOUT)?;
    for _ in 0..100 {
        if m.shell("cat /sys/bus/xen/devices/vled-0/state", SHELL_TIMEOUT)? == "Connected" {
            break;
        }
        m.shell("sleep 0.05", SHELL_TIMEOUT)?;
    }
    // The LED core hands a write to its worker and returns: writes closer than the round trip
    // would be merged (and some register changes never happen), so each gets 10 ms.
    let mark = m.mark();
    let output = m.shell(
        &format!("i=0; while [ $i -lt {samples} ]; do leds set 0 $((i % 2 == 0)) --stamp; sleep 0.01; i=$((i+1)); done"),
        Duration::from_secs(600),
    )?;
    let hz = frequency(&output).context("no counter frequency from domU")?;
    let guest = stamps(&output);
    let hypervisor: Vec<u64> = m.output_since(mark).lines().filter(|l| l.starts_with("(XEN) LEDs:")).flat_map(stamps).collect();
    let led: Vec<u64> = guest.iter().zip(&hypervisor).map(|(g, h)| h.saturating_sub(*g)).collect();
    report("LED write in domU (vled) -> hypervisor LED register", led, hz);
    let rate = m.shell("leds bench 10000", Duration::from_secs(600))?;
    println!("LED writes from domU user space (vled): {}", rate.lines().find(|l| l.contains("writes/s")).unwrap_or(&rate).trim());
    m.switch_to_shell("DOM0", "dom0", SHELL_TIMEOUT)?;
    m.send_line("poweroff -f")?;
    let _ = m.wait_exit(EXIT_TIMEOUT);
    Ok(())
}

/// Event-channel round trip dom0 -> domU -> dom0, median of 10,000 (dom0's `evtchn ping`
/// against domU's `evtchn serve`), the xenstore read round trip in each domain (median of
/// 1,000), and the time from QEMU's start to domU's shell.
fn event_channel_round_trip(icount: bool) -> Result<()> {
    const ROUND_TRIPS: u32 = 10_000;
    const XENSTORE_READS: u32 = 1_000;
    let mut options = LaunchOptions::new("bench-events");
    if icount {
        options = options.icount();
    }
    let mut m = Machine::launch(options)?;
    m.expect(r"^\[DOM-U\] Enter 'help' for a list of built-in commands", BOOT_TIMEOUT)?;
    println!("boot to domU shell: {:.2} s", m.launched_at().elapsed().as_secs_f64());
    m.wait_for_shell("dom0", BOOT_TIMEOUT)?;
    m.switch_input_to("DOM1", SHELL_TIMEOUT)?;
    m.wait_for_shell("domU", SHELL_TIMEOUT)?;
    m.send_line(&format!("evtchn serve --remote 0 --count {ROUND_TRIPS} &"))?;
    let served = m.expect(r"serving port (\d+) for domain 0", SHELL_TIMEOUT)?;
    let port: u32 = served.get(1).context("port")?.parse()?;
    m.switch_input_to("DOM0", SHELL_TIMEOUT)?;
    m.wait_for_shell("dom0", SHELL_TIMEOUT)?;
    let result = m.shell(&format!("evtchn ping --remote 1 --port {port} --count {ROUND_TRIPS}"), Duration::from_secs(900))?;
    // domU's "served" line may land in the middle of dom0's output: keep the figure's line.
    let figure = |text: &str, what: &str| text.lines().find(|l| l.contains(what)).unwrap_or(text).trim().to_string();
    println!("event channel dom0 -> domU -> dom0: {}", figure(&result, "round trips"));
    // Xenstore read round trip, through each domain's ring to the hypervisor's store.
    let dom0_reads = m.shell(&format!("xenstore bench-read /local/domain/0/name {XENSTORE_READS}"), Duration::from_secs(300))?;
    println!("xenstore read round trip in dom0: {}", figure(&dom0_reads, "reads of"));
    m.switch_input_to("DOM1", SHELL_TIMEOUT)?;
    m.wait_for_shell("domU", SHELL_TIMEOUT)?;
    let domu_reads = m.shell(&format!("xenstore bench-read name {XENSTORE_READS}"), Duration::from_secs(300))?;
    println!("xenstore read round trip in domU: {}", figure(&domu_reads, "reads of"));
    m.switch_input_to("DOM0", SHELL_TIMEOUT)?;
    m.wait_for_shell("dom0", SHELL_TIMEOUT)?;
    m.send_line("poweroff -f")?;
    let _ = m.wait_exit(EXIT_TIMEOUT);
    Ok(())
}

/// The generic timer's count printed as `cntvct=N`, and its frequency if given.
fn stamps(text: &str) -> Vec<u64> {
    let re = Regex::new(r"cntvct=(\d+)").expect("stamp pattern");
    re.captures_iter(text).filter_map(|c| c[1].parse().ok()).collect()
}

fn frequency(text: &str) -> Option<u64> {
    Regex::new(r"cntfrq=(\d+)").ok()?.captures(text)?[1].parse().ok()
}

/// Median and 99th percentile of `ticks` in microseconds.
fn report(what: &str, mut ticks: Vec<u64>, hz: u64) {
    if ticks.is_empty() {
        println!("{what}: no samples");
        return;
    }
    ticks.sort_unstable();
    let micros = |t: u64| t as f64 * 1e6 / hz as f64;
    let p99 = ticks[((ticks.len() * 99).div_ceil(100)).saturating_sub(1)];
    println!(
        "{what}: median {:.1} us, p99 {:.1} us ({} samples, guest time)",
        micros(ticks[ticks.len() / 2]),
        micros(p99),
        ticks.len()
    );
}

/// Button press to dom0 input event, and dom0 LED write to the hypervisor's LED register.
fn board_latencies(samples: usize, icount: bool) -> Result<()> {
    let mut options = LaunchOptions::new("bench-board");
    if icount {
        options = options.icount();
    }
    let mut m = Machine::boot_to_dom0_shell(options)?;
    m.shell("insmod /sp6.ko", SHELL_TIMEOUT)?;

    // LEDs: each write stamped by `leds set --stamp` just before it, and by the hypervisor when
    // the register changes. Alternate 1 and 0 so that every write changes the LED.
    let mark = m.mark();
    let output = m.shell(
        &format!("i=0; while [ $i -lt {samples} ]; do leds set 0 $((i % 2 == 0)) --stamp; i=$((i+1)); done"),
        Duration::from_secs(300),
    )?;
    let hz = frequency(&output).context("no counter frequency from dom0")?;
    let guest = stamps(&output);
    let hypervisor: Vec<u64> = m
        .output_since(mark)
        .lines()
        .filter(|l| l.starts_with("(XEN) LEDs:"))
        .flat_map(stamps)
        .collect();
    let led: Vec<u64> = guest.iter().zip(&hypervisor).map(|(g, h)| h.saturating_sub(*g)).collect();
    report("LED write in dom0 -> hypervisor LED register", led, hz);

    let button = button_latencies(&mut m, "reptar_sp6_buttons", samples)?;
    report("button press -> dom0 input event", button, hz);
    m.send_line("poweroff -f")?;
    let _ = m.wait_exit(EXIT_TIMEOUT);
    Ok(())
}

/// Presses ENTER `samples` times: the hypervisor stamps each press, `input-events` at the
/// shell the console is on stamps the event's arrival on input device `device`. In ticks.
fn button_latencies(m: &mut Machine, device: &str, samples: usize) -> Result<Vec<u64>> {
    let mut button = Vec::with_capacity(samples);
    m.send_line(&format!("input-events --name '{device}' --keys-only --stamp --count {}", 2 * samples))?;
    m.expect(r"reading /dev/input/event\d+", SHELL_TIMEOUT)?;
    for _ in 0..samples {
        m.qmp()?.send_key("ret")?;
        let pressed = m.expect(r"\(XEN\) button (?i:enter) pressed \(cntvct=(\d+)\)", SHELL_TIMEOUT)?;
        let at: u64 = pressed.get(1).context("press stamp")?.parse()?;
        let seen = m.expect(r"EV_KEY KEY_ENTER 1 \(press\) cntvct=(\d+)", SHELL_TIMEOUT)?;
        let seen: u64 = seen.get(1).context("event stamp")?.parse()?;
        button.push(seen.saturating_sub(at));
        m.expect(r"EV_KEY KEY_ENTER 0 \(release\)", SHELL_TIMEOUT)?;
    }
    m.wait_for_prompt(SHELL_TIMEOUT)?;
    Ok(button)
}

/// vkbd and vfb with domU holding the focus: a button press to domU's input event (through
/// vkbdback and vkbdfront), median and p99 of `samples`; and full-screen 800x480x32 updates
/// per second from domU's /dev/fb0 (vfbfront) to the display's guest screen (vfbback), in
/// guest time: `fb-bench draw` in domU writes the frames, `fb-bench watch` in dom0 sees the
/// last one arrive.
fn paravirtual_screen_and_keys(samples: usize, icount: bool) -> Result<()> {
    const FRAMES: usize = 200;
    let mut options = LaunchOptions::new("bench-screen");
    if icount {
        options = options.icount();
    }
    let mut m = Machine::boot_to_dom0_shell(options)?;
    m.shell("insmod /sp6.ko && insmod /vkbdback.ko && insmod /vfbback.ko", SHELL_TIMEOUT)?;
    m.switch_to_shell("DOM1", "domU", SHELL_TIMEOUT)?;
    m.shell("insmod /vfbfront.ko && insmod /vkbdfront.ko", SHELL_TIMEOUT)?;
    m.wait_connected("vfb-0")?;
    m.wait_connected("vkbd-0")?;
    m.qmp()?.send_key("backspace")?;
    m.shell("sleep 0.5", SHELL_TIMEOUT)?;
    let hz = frequency(&m.shell("fb-bench draw --frames 1", SHELL_TIMEOUT)?).context("no counter frequency from domU")?;
    let button = button_latencies(&mut m, "Xen Virtual Keyboard", samples)?;
    report("button press -> domU input event (vkbd)", button, hz);

    m.switch_to_shell("DOM0", "dom0", SHELL_TIMEOUT)?;
    m.send_line(&format!("fb-bench watch --frames {FRAMES} > /tmp/watch.log 2>&1 &"))?;
    m.shell("sleep 0.5", SHELL_TIMEOUT)?;
    m.switch_to_shell("DOM1", "domU", SHELL_TIMEOUT)?;
    let drawn = m.shell(&format!("fb-bench draw --frames {FRAMES}"), Duration::from_secs(600))?;
    let start = *stamps(&drawn).first().with_context(|| format!("fb-bench draw: {drawn}"))?;
    m.switch_to_shell("DOM0", "dom0", SHELL_TIMEOUT)?;
    let watched = m.shell("wait; cat /tmp/watch.log", Duration::from_secs(120))?;
    let seen = *stamps(&watched).first().with_context(|| format!("fb-bench watch: {watched}"))?;
    let seconds = seen.saturating_sub(start) as f64 / hz as f64;
    println!(
        "full-screen 800x480x32 updates domU -> display (vfb): {:.1} per second ({FRAMES} frames written back to back, the last on the display {seconds:.2} s after the first write, guest time; the backend merges updates that wait)",
        FRAMES as f64 / seconds
    );
    m.send_line("poweroff -f")?;
    let _ = m.wait_exit(EXIT_TIMEOUT);
    Ok(())
}

/// One boot to the dom0 shell, then a clean power-off.
fn boot_once(run: usize, icount: bool) -> Result<Duration> {
    let mut options = LaunchOptions::new(format!("bench-boot-{run}"));
    if icount {
        options = options.icount();
    }
    let mut machine = Machine::launch(options)?;
    let boot = machine.wait_for_shell("dom0", BOOT_TIMEOUT)?;
    machine.send_line("poweroff -f")?;
    if let Err(error) = machine.wait_exit(EXIT_TIMEOUT) {
        // Not a figure: report it and go on (dropping the machine kills QEMU).
        eprintln!("bench: run {run}: dom0 did not power off cleanly: {error:#}");
    }
    Ok(boot)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    let middle = times.len() / 2;
    if times.len() % 2 == 1 {
        times[middle]
    } else {
        (times[middle - 1] + times[middle]) / 2
    }
}
