//! input-events: prints the events of a Linux input device, one line each.
//!
//!     input-events [DEVICE | --name NAME] [--count N] [--keys-only] [--stamp]
//!
//! DEVICE is /dev/input/eventN; --name picks the device by its name (e.g.
//! reptar_sp6_buttons). --count stops after N key events. --stamp adds the generic timer's
//! virtual count (CNTVCT_EL0, the hypervisor's clock too) read when the event arrived, for
//! latency measurements.

use std::fs::{self, File};
use std::io::{self, Read};
use std::process::ExitCode;

/// `struct input_event` on 64-bit Linux: struct timeval (2 x i64), type, code, value.
const EVENT_SIZE: usize = 24;
const EV_SYN: u16 = 0;
const EV_KEY: u16 = 1;

/// Key names for the codes the REPTAR board and keyboards use (input-event-codes.h).
fn key_name(code: u16) -> Option<&'static str> {
    Some(match code {
        1 => "KEY_ESC",
        14 => "KEY_BACKSPACE",
        28 => "KEY_ENTER",
        57 => "KEY_SPACE",
        103 => "KEY_UP",
        105 => "KEY_LEFT",
        106 => "KEY_RIGHT",
        108 => "KEY_DOWN",
        _ => return None,
    })
}

struct Options {
    device: Option<String>,
    name: Option<String>,
    count: Option<u64>,
    keys_only: bool,
    stamp: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options { device: None, name: None, count: None, keys_only: false, stamp: false };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--name" => options.name = Some(args.next().ok_or("--name needs a device name")?),
            "--count" => {
                let n = args.next().ok_or("--count needs a number")?;
                options.count = Some(n.parse().map_err(|_| format!("bad count '{n}'"))?);
            }
            "--keys-only" => options.keys_only = true,
            "--stamp" => options.stamp = true,
            "-h" | "--help" => return Err(String::new()),
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}")),
            _ => options.device = Some(arg),
        }
    }
    Ok(options)
}

/// /dev/input/eventN of the device called `name`, from /sys/class/input/eventN/device/name.
fn find_by_name(name: &str) -> io::Result<String> {
    let mut available = Vec::new();
    for entry in fs::read_dir("/sys/class/input")? {
        let entry = entry?;
        let node = entry.file_name().to_string_lossy().into_owned();
        if !node.starts_with("event") {
            continue;
        }
        let device_name = fs::read_to_string(entry.path().join("device/name")).unwrap_or_default();
        let device_name = device_name.trim_end();
        if device_name == name {
            return Ok(format!("/dev/input/{node}"));
        }
        available.push(format!("{node}: {device_name}"));
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("no input device named '{name}' (devices: {})", if available.is_empty() { "none".into() } else { available.join(", ") }),
    ))
}

fn run(options: Options) -> io::Result<()> {
    let path = match (&options.device, &options.name) {
        (Some(device), _) => device.clone(),
        (None, Some(name)) => find_by_name(name)?,
        (None, None) => "/dev/input/event0".to_string(),
    };
    let mut device = File::open(&path).map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?;
    println!("reading {path}");
    let mut keys = 0u64;
    let mut event = [0u8; EVENT_SIZE];
    loop {
        device.read_exact(&mut event)?;
        let count = generic_timer::now();
        let seconds = i64::from_ne_bytes(event[0..8].try_into().unwrap());
        let micros = i64::from_ne_bytes(event[8..16].try_into().unwrap());
        let kind = u16::from_ne_bytes(event[16..18].try_into().unwrap());
        let code = u16::from_ne_bytes(event[18..20].try_into().unwrap());
        let value = i32::from_ne_bytes(event[20..24].try_into().unwrap());
        if options.keys_only && kind != EV_KEY {
            continue;
        }
        let what = match kind {
            EV_SYN => "EV_SYN".to_string(),
            EV_KEY => {
                let action = match value {
                    0 => "release",
                    1 => "press",
                    2 => "repeat",
                    _ => "?",
                };
                format!("EV_KEY {} {value} ({action})", key_name(code).map_or(code.to_string(), str::to_string))
            }
            _ => format!("type {kind} code {code} value {value}"),
        };
        if options.stamp {
            println!("{seconds}.{micros:06} {what} {count}");
        } else {
            println!("{seconds}.{micros:06} {what}");
        }
        if kind == EV_KEY {
            keys += 1;
            if options.count.is_some_and(|n| keys >= n) {
                return Ok(());
            }
        }
    }
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(error) => {
            if !error.is_empty() {
                eprintln!("input-events: {error}");
            }
            eprintln!("usage: input-events [/dev/input/eventN | --name NAME] [--count N] [--keys-only] [--stamp]");
            return ExitCode::from(2);
        }
    };
    match run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("input-events: {error}");
            ExitCode::FAILURE
        }
    }
}
