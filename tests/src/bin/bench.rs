//! Boot benchmark: wall time from spawning QEMU to the dom0 shell prompt, over a few boots, and
//! the size of the hypervisor binary. Prints figures; never fails on a time.
//!
//! usage: bench [--runs N] [--icount]
//!   --runs N    boots to measure (default 3)
//!   --icount    run QEMU with -icount shift=0 (deterministic single-threaded TCG)

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use reptar_tests::{Artifacts, LaunchOptions, Machine, BOOT_TIMEOUT, EXIT_TIMEOUT};

struct Settings {
    runs: usize,
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
    let mut settings = Settings { runs: 3, icount: false };
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
            "--icount" => settings.icount = true,
            _ => bail!("unknown argument {arg} (usage: bench [--runs N] [--icount])"),
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
