//! leds: the board's LEDs through the Linux LED class (/sys/class/leds/sp6_ledN), whichever
//! driver gives them (sp6.ko in dom0, the vled frontend in a domU).
//!
//!     leds                      show each LED's brightness
//!     leds set N VALUE [--stamp] set LED N; --stamp prints the generic timer's count first
//!     leds bench N              set N times, cycling through the LEDs, and print writes/s

use std::fs;
use std::io;
use std::process::ExitCode;
use std::time::Instant;

const CLASS: &str = "/sys/class/leds";
const NR_LEDS: usize = 6;

fn brightness_path(led: usize) -> String {
    format!("{CLASS}/sp6_led{led}/brightness")
}

fn set(led: usize, value: u32) -> io::Result<()> {
    let path = brightness_path(led);
    fs::write(&path, format!("{value}\n")).map_err(|e| io::Error::new(e.kind(), format!("{path}: {e} (is the LED driver loaded?)")))
}

fn show() -> io::Result<()> {
    for led in 0..NR_LEDS {
        let path = brightness_path(led);
        let value = fs::read_to_string(&path).map_err(|e| io::Error::new(e.kind(), format!("{path}: {e} (is the LED driver loaded?)")))?;
        println!("sp6_led{led} {}", value.trim());
    }
    Ok(())
}

/// `count` writes as fast as the LED class takes them; the last write of each LED is known,
/// so a test can check the final state.
fn bench(count: u64) -> io::Result<()> {
    let start = Instant::now();
    for i in 0..count {
        let led = (i % NR_LEDS as u64) as usize;
        set(led, ((i / NR_LEDS as u64) % 2) as u32)?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!("{count} writes in {elapsed:.3} s: {:.0} writes/s", count as f64 / elapsed.max(1e-9));
    Ok(())
}

fn number<T: std::str::FromStr>(text: Option<String>, what: &str) -> Result<T, String> {
    let text = text.ok_or(format!("missing {what}"))?;
    text.parse().map_err(|_| format!("bad {what} '{text}'"))
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        None | Some("show") => show().map_err(|e| e.to_string()),
        Some("set") => {
            let led: usize = number(args.next(), "LED number")?;
            if led >= NR_LEDS {
                return Err(format!("LED {led} does not exist (0 to {})", NR_LEDS - 1));
            }
            let value: u32 = number(args.next(), "brightness")?;
            if args.next().as_deref() == Some("--stamp") {
                println!("{}", generic_timer::now());
            }
            set(led, value).map_err(|e| e.to_string())
        }
        Some("bench") => bench(number(args.next(), "count")?).map_err(|e| e.to_string()),
        Some(other) => Err(format!("unknown command '{other}'")),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("leds: {error}");
            eprintln!("usage: leds [show] | leds set N VALUE [--stamp] | leds bench COUNT");
            ExitCode::from(2)
        }
    }
}
