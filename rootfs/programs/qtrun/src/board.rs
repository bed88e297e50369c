//! What qtrun shows of the system around it: the six LEDs (Linux LED class devices sp6_ledN,
//! from sp6.ko in dom0 or the vled frontend in a domU) and the domain it runs in.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::os_error;

pub const NR_LEDS: usize = 6;

/// The LEDs under a class directory (/sys/class/leds).
pub struct Leds {
    class: PathBuf,
}

impl Leds {
    pub fn new(class: impl Into<PathBuf>) -> Leds {
        Leds { class: class.into() }
    }

    fn brightness(&self, led: usize) -> PathBuf {
        self.class.join(format!("sp6_led{led}/brightness"))
    }

    /// Each LED: on, off, or None when it does not exist (no driver).
    pub fn read(&self) -> [Option<bool>; NR_LEDS] {
        std::array::from_fn(|led| {
            let text = std::fs::read_to_string(self.brightness(led)).ok()?;
            Some(text.trim().parse::<u32>().ok()? > 0)
        })
    }

    pub fn set(&self, led: usize, on: bool) -> Result<(), String> {
        let path = self.brightness(led);
        std::fs::write(&path, if on { "1\n" } else { "0\n" }).map_err(|e| format!("{}: {}", path.display(), os_error(&e)))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainKind {
    Dom0,
    DomU,
    /// Neither name: not one of our guests (a host, a test).
    Other,
}

/// The domain qtrun runs in, as it shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    pub name: String,
    pub kind: DomainKind,
    pub domid: Option<u32>,
}

impl Domain {
    pub fn new(name: &str, domid: Option<u32>) -> Domain {
        let lower = name.to_ascii_lowercase();
        let kind = if lower.contains("dom0") || domid == Some(0) {
            DomainKind::Dom0
        } else if lower.contains("domu") || domid.is_some() {
            DomainKind::DomU
        } else {
            DomainKind::Other
        };
        let name = if name.is_empty() { "an unnamed domain".to_string() } else { name.to_string() };
        Domain { name, kind, domid }
    }

    /// This system's: its host name (dom0 or domU in our guests) and, when xenstore answers,
    /// its domain id.
    pub fn detect() -> Domain {
        let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        Domain::new(name.trim(), read_domid(Path::new("/dev/xen/xenbus")))
    }
}

/// The store's `domid` key (relative to the domain's home), through Linux's xenbus device:
/// one XS_READ (xs_wire.h: type 2, then request id, transaction 0, length, "domid\0").
/// Gives up after half a second: the id is only shown, never needed.
fn read_domid(xenbus: &Path) -> Option<u32> {
    const XS_READ: u32 = 2;
    let mut device = OpenOptions::new().read(true).write(true).open(xenbus).ok()?;
    let path = b"domid\0";
    let mut request = Vec::new();
    for word in [XS_READ, 0x71_7472, 0, path.len() as u32] {
        request.extend_from_slice(&word.to_ne_bytes());
    }
    request.extend_from_slice(path);
    device.write_all(&request).ok()?;
    let mut poll = libc::pollfd { fd: device.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: one pollfd, valid for the call.
    if unsafe { libc::poll(&mut poll, 1, 500) } != 1 {
        return None;
    }
    let mut reply = [0u8; 16 + 32];
    let n = device.read(&mut reply).ok()?;
    let kind = u32::from_ne_bytes(reply[..4].try_into().ok()?);
    let len = u32::from_ne_bytes(reply[12..16].try_into().ok()?) as usize;
    if kind != XS_READ || n < 16 + len {
        return None;
    }
    std::str::from_utf8(&reply[16..16 + len]).ok()?.trim_end_matches('\0').parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leds_are_read_and_written_through_the_class_files() {
        let class = std::env::temp_dir().join(format!("qtrun-test-{}-leds", std::process::id()));
        let _ = std::fs::remove_dir_all(&class);
        for (led, value) in [(0, "0\n"), (1, "1\n"), (2, "255\n"), (3, "0\n"), (5, "bad")] {
            std::fs::create_dir_all(class.join(format!("sp6_led{led}"))).unwrap();
            std::fs::write(class.join(format!("sp6_led{led}/brightness")), value).unwrap();
        }
        let leds = Leds::new(&class);
        assert_eq!(leds.read(), [Some(false), Some(true), Some(true), Some(false), None, None]);
        leds.set(0, true).unwrap();
        assert_eq!(std::fs::read_to_string(class.join("sp6_led0/brightness")).unwrap(), "1\n");
        assert_eq!(leds.read()[0], Some(true));
        let error = leds.set(4, true).unwrap_err();
        assert!(error.ends_with("sp6_led4/brightness: No such file or directory"), "{error}");
        std::fs::remove_dir_all(&class).unwrap();
    }

    #[test]
    fn the_domain_kind_comes_from_the_host_name_or_the_domain_id() {
        assert_eq!(Domain::new("dom0", None).kind, DomainKind::Dom0);
        assert_eq!(Domain::new("domU", Some(1)).kind, DomainKind::DomU);
        assert_eq!(Domain::new("reptar", Some(0)).kind, DomainKind::Dom0);
        assert_eq!(Domain::new("reptar", Some(3)).kind, DomainKind::DomU);
        assert_eq!(Domain::new("build-host", None).kind, DomainKind::Other);
        assert_eq!(Domain::new("", None).name, "an unnamed domain");
    }
}
