//! qtrun: the REPTAR demo application (the lab's Qt demo, in Rust with embedded-graphics).
//!
//!     qtrun [--input NAME] [--fb PATH] [--once | --frames N]
//!
//! Draws on the framebuffer (/dev/fb0) which domain it runs in, the six LEDs
//! (/sys/class/leds/sp6_ledN, read again every 200 ms), the last button pressed and a text
//! that changes at each ENTER (the middle button); the arrows move a marker and SPACE turns
//! LED 0 on or off. ESC and BACKSPACE switch the screen and buttons between dom0 and domU:
//! the backends take them; qtrun only shows them if it sees them.
//!
//! The buttons are the input device --input names (by its name or its /dev/input/eventN),
//! by default the one named "reptar_sp6_buttons" (sp6.ko, dom0), else a Xen virtual keyboard
//! (the vkbd frontend, domU), else any device with "Xen" or "vkbd" in its name.
//!
//! Each frame is drawn off screen and copied to the framebuffer whole. While qtrun runs, the
//! text console (fbcon) is kept off the screen and its keyboard off (KD_GRAPHICS and K_OFF on
//! /dev/tty0); SIGINT or SIGTERM ends it and gives both back to the console. --once draws one
//! frame and exits, --frames N stops after N frames (one per batch of input events or per
//! 200 ms): both leave their last frame on the screen (the console stays in graphics mode
//! until a qtrun ends on a signal), for screenshots.

mod app;
mod board;
mod canvas;
mod fb;
mod input;

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use embedded_graphics::prelude::*;

use app::{Action, State};
use board::{Domain, Leds};
use canvas::{rgb, Canvas};
use input::Wanted;

const USAGE: &str = "usage: qtrun [--input NAME] [--fb PATH] [--once | --frames N]";
/// How often the LEDs are read again when no button is pressed.
const REFRESH: Duration = Duration::from_millis(200);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Options {
    input: Wanted,
    fb: PathBuf,
    /// Stop after this many frames (--once: 1).
    frames: Option<u64>,
}

/// Ok(None) for --help.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options { input: Wanted::Default, fb: PathBuf::from("/dev/fb0"), frames: None };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |what: &str| args.next().ok_or_else(|| format!("{arg} needs {what}"));
        match arg.as_str() {
            "--input" => options.input = Wanted::Named(value("an input device name")?),
            "--fb" => options.fb = PathBuf::from(value("a framebuffer device")?),
            "--once" => options.frames = Some(1),
            "--frames" => {
                let n = value("a number of frames")?;
                match n.parse() {
                    Ok(0) | Err(_) => return Err(format!("bad number of frames '{n}'")),
                    Ok(n) => options.frames = Some(n),
                }
            }
            "-h" | "--help" => return Ok(None),
            _ => return Err(format!("unknown argument '{arg}'")),
        }
    }
    Ok(Some(options))
}

/// An OS error's message without Rust's " (os error N)".
pub fn os_error(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// The signal that asked qtrun to stop (SIGINT, SIGTERM), 0 while none has.
static STOP: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    STOP.store(signal, Ordering::Relaxed);
}

/// SIGINT and SIGTERM end the main loop (their handler only records them; poll returns EINTR,
/// no SA_RESTART). A SIGINT ignored on entry (a background job of a shell without job
/// control) stays ignored.
fn catch_signals() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: sigaction with zeroed (valid) structures; the handler only stores to an
        // atomic, which is async-signal-safe.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN {
                continue;
            }
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// The text console kept off the screen: the virtual terminal in KD_GRAPHICS mode, so that
/// fbcon neither draws its cursor nor prints over qtrun, and its keyboard off (K_OFF), so that
/// the buttons, which the VT keyboard handler also sees, are not typed into it (as Qt's
/// linuxfb platform does).
struct GraphicsConsole {
    tty: std::fs::File,
    keyboard_mode: Option<libc::c_int>,
}

/// linux/kd.h.
const KDSETMODE: u64 = 0x4b3a;
const KD_TEXT: libc::c_int = 0;
const KD_GRAPHICS: libc::c_int = 1;
const KDGKBMODE: u64 = 0x4b44;
const KDSKBMODE: u64 = 0x4b45;
const K_OFF: libc::c_int = 4;

impl GraphicsConsole {
    /// None when there is no virtual terminal (no /dev/tty0): nothing to keep off then.
    fn take() -> Option<GraphicsConsole> {
        use std::os::unix::fs::OpenOptionsExt;
        let tty = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NOCTTY).open("/dev/tty0").ok()?;
        let fd = tty.as_raw_fd();
        let mut keyboard_mode: libc::c_int = 0;
        // SAFETY: KDGKBMODE writes one int; KDSETMODE and KDSKBMODE take their argument by
        // value.
        unsafe {
            if libc::ioctl(fd, KDSETMODE as _, KD_GRAPHICS as libc::c_ulong) < 0 {
                return None;
            }
            let keyboard_off =
                libc::ioctl(fd, KDGKBMODE as _, &mut keyboard_mode) == 0 && libc::ioctl(fd, KDSKBMODE as _, K_OFF as libc::c_ulong) == 0;
            Some(GraphicsConsole { tty, keyboard_mode: keyboard_off.then_some(keyboard_mode) })
        }
    }

    /// Gives the keyboard back to the console and, if `screen`, the screen too: text mode,
    /// whatever the mode was (a `qtrun --once` before leaves it in graphics), and the console
    /// redraws its text over the picture.
    fn release(self, screen: bool) {
        let fd = self.tty.as_raw_fd();
        // SAFETY: as in `take`.
        unsafe {
            if let Some(mode) = self.keyboard_mode {
                libc::ioctl(fd, KDSKBMODE as _, mode as libc::c_ulong);
            }
            if screen {
                libc::ioctl(fd, KDSETMODE as _, KD_TEXT as libc::c_ulong);
            }
        }
    }
}

fn run(options: Options) -> Result<(), String> {
    let mut framebuffer = fb::Framebuffer::open(&options.fb)?;
    let (path, name) = input::find(Path::new("/sys/class/input"), &options.input)?;
    let mut device = input::Device::open(path, name)?;
    let geometry = framebuffer.geometry.clone();
    let leds = Leds::new("/sys/class/leds");

    let info = format!(
        "input: {} \"{}\"   screen: {} \"{}\" {}x{}",
        device.path.display(),
        device.name,
        options.fb.display(),
        geometry.id,
        geometry.width,
        geometry.height
    );
    let mut state = State::new(Domain::detect(), info);
    state.leds = leds.read();

    catch_signals();
    let console = GraphicsConsole::take();
    let mut canvas = Canvas::new(geometry.width, geometry.height, rgb(app::BACKGROUND));
    // The 800x480 picture in the middle of a larger screen (clipped on a smaller one).
    let offset =
        Point::new((geometry.width.saturating_sub(app::WIDTH) / 2) as i32, (geometry.height.saturating_sub(app::HEIGHT) / 2) as i32);
    println!(
        "qtrun: {} ({}x{} \"{}\"), buttons {} \"{}\", in {}",
        options.fb.display(),
        geometry.width,
        geometry.height,
        geometry.id,
        device.path.display(),
        device.name,
        state.domain.name
    );

    let mut frames = 0u64;
    let mut next_refresh = Instant::now() + REFRESH;
    let result = loop {
        let _ = app::draw(&state, &mut canvas.translated(offset));
        framebuffer.present(&canvas);
        frames += 1;
        if options.frames.is_some_and(|n| frames >= n) {
            break Ok(());
        }

        // Wait for a button or the next LED refresh.
        let mut poll = libc::pollfd { fd: device.fd(), events: libc::POLLIN, revents: 0 };
        let timeout = next_refresh.saturating_duration_since(Instant::now()).as_millis() as libc::c_int;
        // SAFETY: one pollfd, valid for the call.
        let ready = unsafe { libc::poll(&mut poll, 1, timeout) };
        if STOP.load(Ordering::Relaxed) != 0 {
            break Ok(());
        }
        if ready < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            break Err(format!("poll: {}", os_error(&error)));
        }
        if poll.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
            break Err(format!("{}: the input device is gone", device.path.display()));
        }
        if ready > 0 {
            let events = match device.read_events() {
                Ok(events) => events,
                Err(e) => break Err(format!("{}: {}", device.path.display(), os_error(&e))),
            };
            for event in events.iter().filter(|e| e.kind == input::EV_KEY) {
                if let Some(Action::SetLed(led, on)) = state.key(event.code, event.value) {
                    let written = leds.set(led, on);
                    state.status_is_error = written.is_err();
                    state.status = match written {
                        Ok(()) => format!("LED {led} turned {}", if on { "on" } else { "off" }),
                        Err(error) => format!("LED {led}: {error}"),
                    };
                    state.leds = leds.read();
                }
            }
        }
        if Instant::now() >= next_refresh {
            state.leds = leds.read();
            next_refresh = Instant::now() + REFRESH;
        }
    };

    // Frames counted for a screenshot stay on the screen; otherwise the console gets it back.
    if let Some(console) = console {
        console.release(options.frames.is_none() || result.is_err());
    }
    result
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("qtrun: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("qtrun: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Options>, String> {
        parse_args(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn arguments() {
        let defaults = parse(&[]).unwrap().unwrap();
        assert_eq!(defaults, Options { input: Wanted::Default, fb: "/dev/fb0".into(), frames: None });
        let all = parse(&["--input", "Xen Virtual Keyboard", "--fb", "/dev/fb1", "--frames", "5"]).unwrap().unwrap();
        assert_eq!(all, Options { input: Wanted::Named("Xen Virtual Keyboard".into()), fb: "/dev/fb1".into(), frames: Some(5) });
        assert_eq!(parse(&["--once"]).unwrap().unwrap().frames, Some(1));
        assert_eq!(parse(&["--help"]).unwrap(), None);
        assert_eq!(parse(&["--frames"]).unwrap_err(), "--frames needs a number of frames");
        assert_eq!(parse(&["--frames", "0"]).unwrap_err(), "bad number of frames '0'");
        assert_eq!(parse(&["--frames", "x"]).unwrap_err(), "bad number of frames 'x'");
        assert_eq!(parse(&["--input"]).unwrap_err(), "--input needs an input device name");
        assert_eq!(parse(&["--fb"]).unwrap_err(), "--fb needs a framebuffer device");
        assert_eq!(parse(&["-x"]).unwrap_err(), "unknown argument '-x'");
    }

    #[test]
    fn a_missing_framebuffer_is_named_with_its_error() {
        let error = fb::Framebuffer::open(Path::new("/nonexistent/fb0")).err().unwrap();
        assert_eq!(error, "no framebuffer: /nonexistent/fb0: No such file or directory (is the display driver loaded?)");
        // A file that is not a framebuffer.
        let error = fb::Framebuffer::open(Path::new("/dev/null")).err().unwrap();
        assert!(error.starts_with("/dev/null: FBIOGET_VSCREENINFO: "), "{error}");
    }

    #[test]
    fn a_frame_centred_on_a_larger_screen() {
        let mut canvas = Canvas::new(1024, 768, 0);
        let state = State::new(Domain::new("dom0", Some(0)), String::new());
        app::draw(&state, &mut canvas.translated(Point::new(112, 144))).unwrap();
        assert_eq!(canvas.get(111, 144), 0);
        assert_eq!(canvas.get(112, 144), canvas::rgb(embedded_graphics::pixelcolor::Rgb888::new(0x1e, 0x29, 0x3b)));
        assert_eq!(canvas.get(912, 624), 0);
    }
}
