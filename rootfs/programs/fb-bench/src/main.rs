//! fb-bench: full-screen updates from a domain's framebuffer to the board's display.
//!
//!     fb-bench draw [--fb /dev/fb0] --frames N
//!     fb-bench watch --frames N [--timeout SECONDS]
//!
//! `draw` (in domU) writes N whole frames to the framebuffer with write(), each one full-screen
//! update for the paravirtual framebuffer (vfbfront or xen-fbfront reports the written range at
//! once), frame k filled with `colour(k)`; it prints the generic timer's count before the first.
//! `watch` (in dom0, started first) maps the display's guest screen (the second `reg` entry of
//! the display controller's device-tree node) through /dev/mem and waits until its last pixel,
//! the last one vfbback copies, has frame N's colour; it prints the count then. Both counts are
//! the board's generic timer, so N over their difference is the rate at which full-screen updates
//! reached the display.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: fb-bench draw [--fb /dev/fb0] --frames N | fb-bench watch --frames N [--timeout SECONDS]";

/// The board's LCD, as the guest screen holds it.
const WIDTH: usize = 800;
const HEIGHT: usize = 480;
const STRIDE: usize = WIDTH * 4;

/// Frame `k`'s colour (XRGB8888): distinct for consecutive frames, never black.
fn colour(k: u32) -> u32 {
    (k.wrapping_mul(0x9e37_79b9) >> 8 | 0x10_1010) & 0x00ff_ffff
}

enum Command {
    Draw { fb: PathBuf, frames: u32 },
    Watch { frames: u32, timeout: Duration },
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let command = args.next().ok_or("no command")?;
    let (mut fb, mut frames, mut timeout) = (PathBuf::from("/dev/fb0"), None, Duration::from_secs(60));
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--fb" => fb = PathBuf::from(value()?),
            "--frames" => frames = Some(value()?.parse::<u32>().map_err(|e| format!("--frames: {e}"))?.max(1)),
            "--timeout" => timeout = Duration::from_secs(value()?.parse().map_err(|e| format!("--timeout: {e}"))?),
            _ => return Err(format!("unknown argument {arg}")),
        }
    }
    let frames = frames.ok_or("--frames N is needed")?;
    match command.as_str() {
        "draw" => Ok(Command::Draw { fb, frames }),
        "watch" => Ok(Command::Watch { frames, timeout }),
        _ => Err(format!("unknown command {command}")),
    }
}

/// The numbers of a sysfs attribute of the framebuffer ("800,480").
fn sysfs_numbers(fb: &Path, attribute: &str) -> Result<Vec<usize>, String> {
    let name = fb.file_name().and_then(|n| n.to_str()).ok_or(format!("{}: not a device path", fb.display()))?;
    let path = format!("/sys/class/graphics/{name}/{attribute}");
    let text = fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    text.trim().split(',').map(|n| n.parse().map_err(|_| format!("{path}: {text:?} is no number"))).collect()
}

fn draw(fb: &Path, frames: u32) -> Result<(), String> {
    let stride = sysfs_numbers(fb, "stride")?[0];
    let height = *sysfs_numbers(fb, "virtual_size")?.get(1).ok_or("no height in virtual_size")?;
    let device = OpenOptions::new().write(true).open(fb).map_err(|e| format!("{}: {e}", fb.display()))?;
    let mut frame = vec![0u8; stride * height];
    let start = generic_timer::now();
    let began = Instant::now();
    println!("start {start}");
    for k in 1..=frames {
        let pixel = colour(k).to_le_bytes();
        for chunk in frame.chunks_exact_mut(4) {
            chunk.copy_from_slice(&pixel);
        }
        // One write of the whole picture from offset 0: one full-screen update.
        device.write_all_at(&frame, 0).map_err(|e| format!("{}: {e}", fb.display()))?;
    }
    let took = began.elapsed().as_secs_f64();
    println!("wrote {frames} frames of {}x{height} in {took:.2} s ({:.1} frames/s written)", stride / 4, f64::from(frames) / took);
    println!("last colour {:06x}", colour(frames));
    Ok(())
}

/// Where the display controller's guest screen is: the second (address, size) pair of its
/// `reg`, two cells each.
fn guest_screen() -> Result<u64, String> {
    let node = fs::read_dir("/proc/device-tree")
        .map_err(|e| format!("/proc/device-tree: {e}"))?
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with("display-controller@"))
        .ok_or("no display controller in the device tree (not dom0, or no display)")?;
    let reg = fs::read(node.path().join("reg")).map_err(|e| format!("{}: {e}", node.path().display()))?;
    let cell = |i: usize| reg.get(4 * i..4 * i + 4).map(|b| u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])));
    match (cell(4), cell(5)) {
        (Some(high), Some(low)) => Ok(high << 32 | low),
        _ => Err(format!("{}: no second reg entry", node.path().display())),
    }
}

fn watch(frames: u32, timeout: Duration) -> Result<(), String> {
    let base = guest_screen()?;
    let mem = File::open("/dev/mem").map_err(|e| format!("/dev/mem: {e}"))?;
    let len = STRIDE * HEIGHT;
    // SAFETY: a new shared read-only mapping of the guest screen (memory of no process); the
    // result is checked before use.
    let map = unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_SHARED, mem.as_raw_fd(), base as libc::off_t) };
    if map == libc::MAP_FAILED {
        return Err(format!("/dev/mem at {base:#x}: {}", std::io::Error::last_os_error()));
    }
    let last = (HEIGHT - 1) * STRIDE + (WIDTH - 1) * 4;
    let want = colour(frames);
    println!("watching the guest screen at {base:#x} for {want:#08x}");
    let deadline = Instant::now() + timeout;
    loop {
        // SAFETY: inside the mapping, aligned; volatile: vfbback writes it.
        let pixel = unsafe { std::ptr::read_volatile(map.cast::<u8>().add(last).cast::<u32>()) } & 0x00ff_ffff;
        if pixel == want {
            println!("seen {}", generic_timer::now());
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("frame {frames} not on the guest screen after {timeout:?} (last pixel {pixel:#08x})"));
        }
        // Not a busy loop: dom0's backend needs the CPU to copy the frames.
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn main() -> ExitCode {
    let result = parse_args(std::env::args().skip(1)).and_then(|command| match command {
        Command::Draw { fb, frames } => draw(&fb, frames),
        Command::Watch { frames, timeout } => watch(frames, timeout),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "fb-bench: {error}\n{USAGE}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_frames_have_distinct_visible_colours() {
        for k in 1..10_000 {
            assert_ne!(colour(k), colour(k + 1), "frame {k}");
            assert_ne!(colour(k), 0, "frame {k} is black");
            assert_eq!(colour(k) >> 24, 0);
        }
    }

    #[test]
    fn arguments() {
        let args = |s: &str| parse_args(s.split(' ').map(String::from));
        assert!(matches!(args("draw --frames 5"), Ok(Command::Draw { frames: 5, .. })));
        assert!(matches!(args("watch --frames 7 --timeout 3"), Ok(Command::Watch { frames: 7, .. })));
        assert!(args("draw").is_err());
        assert!(args("paint --frames 1").is_err());
        assert!(args("draw --frames x").is_err());
    }
}
