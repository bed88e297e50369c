//! The buttons: a Linux input device (/dev/input/eventN) found by its name, read as
//! `struct input_event`s.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::os_error;

/// The name of the SP6 button device of sp6.ko (dom0).
pub const SP6_BUTTONS: &str = "reptar_sp6_buttons";

/// `struct input_event` on 64-bit Linux: struct timeval (2 x 8 bytes), type, code, value.
pub const EVENT_SIZE: usize = 24;
pub const EV_KEY: u16 = 1;

/// input-event-codes.h: the keys of the board's eight buttons.
pub mod key {
    pub const ESC: u16 = 1;
    pub const BACKSPACE: u16 = 14;
    pub const ENTER: u16 = 28;
    pub const SPACE: u16 = 57;
    pub const UP: u16 = 103;
    pub const LEFT: u16 = 105;
    pub const RIGHT: u16 = 106;
    pub const DOWN: u16 = 108;
}

pub fn key_name(code: u16) -> Option<&'static str> {
    Some(match code {
        key::ESC => "ESC",
        key::BACKSPACE => "BACKSPACE",
        key::ENTER => "ENTER",
        key::SPACE => "SPACE",
        key::UP => "UP",
        key::LEFT => "LEFT",
        key::RIGHT => "RIGHT",
        key::DOWN => "DOWN",
        _ => return None,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: u16,
    pub code: u16,
    pub value: i32,
}

impl Event {
    pub fn parse(bytes: &[u8; EVENT_SIZE]) -> Event {
        Event {
            kind: u16::from_ne_bytes([bytes[16], bytes[17]]),
            code: u16::from_ne_bytes([bytes[18], bytes[19]]),
            value: i32::from_ne_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]),
        }
    }
}

/// Which device to read: one named on the command line, or the default search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wanted {
    /// The device with exactly this name, or this /dev/input/eventN path.
    Named(String),
    /// reptar_sp6_buttons (dom0), else a Xen virtual keyboard (domU's vkbd frontend), else
    /// any other device whose name has "Xen" or "vkbd" in it.
    Default,
}

/// How well a device's name fits the default search (lower is better), None if not at all.
fn default_rank(name: &str) -> Option<u8> {
    let lower = name.to_ascii_lowercase();
    if name == SP6_BUTTONS {
        Some(0)
    } else if lower.contains("vkbd") || (lower.contains("xen") && lower.contains("keyboard")) {
        Some(1)
    } else if lower.contains("xen") {
        Some(2)
    } else {
        None
    }
}

/// Finds the device in `class` (/sys/class/input): its /dev/input node and its name.
pub fn find(class: &Path, wanted: &Wanted) -> Result<(PathBuf, String), String> {
    if let Wanted::Named(path) = wanted {
        if path.starts_with('/') {
            return Ok((PathBuf::from(path), path.clone()));
        }
    }
    let mut devices = Vec::new();
    if let Ok(entries) = fs::read_dir(class) {
        for entry in entries.flatten() {
            let node = entry.file_name().to_string_lossy().into_owned();
            let Some(number) = node.strip_prefix("event").and_then(|n| n.parse::<u32>().ok()) else { continue };
            let name = fs::read_to_string(entry.path().join("device/name")).unwrap_or_default();
            devices.push((number, node, name.trim_end().to_string()));
        }
    }
    devices.sort();
    let best = match wanted {
        Wanted::Named(name) => devices.iter().find(|(_, _, n)| n == name),
        Wanted::Default => {
            devices.iter().filter_map(|d| default_rank(&d.2).map(|rank| (rank, d))).min_by_key(|(rank, _)| *rank).map(|(_, d)| d)
        }
    };
    if let Some((_, node, name)) = best {
        return Ok((PathBuf::from("/dev/input").join(node), name.clone()));
    }
    let found = if devices.is_empty() {
        "none".to_string()
    } else {
        devices.iter().map(|(_, node, name)| format!("{node} \"{name}\"")).collect::<Vec<_>>().join(", ")
    };
    Err(match wanted {
        Wanted::Named(name) => format!("no input device named \"{name}\" (found: {found})"),
        Wanted::Default => format!(
            "no input device named \"{SP6_BUTTONS}\" nor a Xen virtual keyboard (found: {found}); \
             in dom0, insmod /sp6.ko gives the buttons, or name one with --input NAME"
        ),
    })
}

/// An open input device, read without blocking.
pub struct Device {
    file: File,
    pub path: PathBuf,
    pub name: String,
}

impl Device {
    pub fn open(path: PathBuf, name: String) -> Result<Device, String> {
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .map_err(|e| format!("cannot open input device {} (\"{name}\"): {}", path.display(), os_error(&e)))?;
        Ok(Device { file, path, name })
    }

    pub fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// The events waiting, without blocking.
    pub fn read_events(&mut self) -> io::Result<Vec<Event>> {
        let mut events = Vec::new();
        let mut buffer = [0u8; EVENT_SIZE * 32];
        loop {
            match self.file.read(&mut buffer) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the device is gone")),
                Ok(n) => {
                    // evdev hands out whole events only.
                    for bytes in buffer[..n].chunks_exact(EVENT_SIZE) {
                        events.push(Event::parse(bytes.try_into().expect("EVENT_SIZE bytes")));
                    }
                    if n < buffer.len() {
                        return Ok(events);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(events),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A /sys/class/input of its own in a temporary directory.
    struct FakeClass(PathBuf);

    impl FakeClass {
        fn new(test: &str, devices: &[(&str, &str)]) -> FakeClass {
            let dir = std::env::temp_dir().join(format!("qtrun-test-{}-{test}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            for (node, name) in devices {
                fs::create_dir_all(dir.join(node).join("device")).unwrap();
                fs::write(dir.join(node).join("device/name"), format!("{name}\n")).unwrap();
            }
            // Not an event node: ignored.
            fs::create_dir_all(dir.join("input3")).unwrap();
            fs::create_dir_all(&dir).unwrap();
            FakeClass(dir)
        }
    }

    impl Drop for FakeClass {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn input_events_are_read_from_their_24_bytes() {
        let mut bytes = [0u8; EVENT_SIZE];
        bytes[..8].copy_from_slice(&12i64.to_ne_bytes());
        bytes[16..18].copy_from_slice(&EV_KEY.to_ne_bytes());
        bytes[18..20].copy_from_slice(&key::ENTER.to_ne_bytes());
        bytes[20..24].copy_from_slice(&1i32.to_ne_bytes());
        assert_eq!(Event::parse(&bytes), Event { kind: EV_KEY, code: 28, value: 1 });
        assert_eq!(key_name(28), Some("ENTER"));
        assert_eq!(key_name(30), None);
    }

    #[test]
    fn the_default_search_takes_the_sp6_buttons_then_a_xen_keyboard() {
        let class = FakeClass::new("sp6", &[("event0", "Xen Virtual Keyboard"), ("event1", "reptar_sp6_buttons")]);
        assert_eq!(find(&class.0, &Wanted::Default).unwrap(), (PathBuf::from("/dev/input/event1"), "reptar_sp6_buttons".into()));

        let class =
            FakeClass::new("xen", &[("event0", "Xen Virtual Pointer"), ("event2", "Xen Virtual Keyboard"), ("event10", "gpio-keys")]);
        assert_eq!(find(&class.0, &Wanted::Default).unwrap().0, PathBuf::from("/dev/input/event2"));

        let class = FakeClass::new("vkbd", &[("event0", "gpio-keys"), ("event4", "reptar vkbd")]);
        assert_eq!(find(&class.0, &Wanted::Default).unwrap().0, PathBuf::from("/dev/input/event4"));
    }

    #[test]
    fn a_missing_device_is_reported_with_the_devices_found() {
        let class = FakeClass::new("missing", &[("event1", "gpio-keys"), ("event0", "power")]);
        let error = find(&class.0, &Wanted::Default).unwrap_err();
        assert!(error.starts_with("no input device named \"reptar_sp6_buttons\""), "{error}");
        assert!(error.contains("(found: event0 \"power\", event1 \"gpio-keys\")"), "{error}");

        let error = find(&class.0, &Wanted::Named("vkbd".into())).unwrap_err();
        assert_eq!(error, "no input device named \"vkbd\" (found: event0 \"power\", event1 \"gpio-keys\")");
        assert_eq!(find(&class.0, &Wanted::Named("power".into())).unwrap().0, PathBuf::from("/dev/input/event0"));

        let empty = FakeClass::new("empty", &[]);
        assert!(find(&empty.0, &Wanted::Default).unwrap_err().contains("(found: none)"));
        assert!(find(Path::new("/nonexistent"), &Wanted::Default).unwrap_err().contains("(found: none)"));
        // A path is taken as it is.
        assert_eq!(find(&empty.0, &Wanted::Named("/dev/input/event7".into())).unwrap().0, PathBuf::from("/dev/input/event7"));
    }
}
