//! The frontend's side of the xenbus handshake, in user space: this domain's
//! `device/<type>/0` directory, written as Linux's frontends write theirs, and the backend's
//! state watched (polled) for its answer.
//!
//! Every connection attempt starts from a clean device, as a probe would (frontend
//! Initialising, backend InitWait), and [`Device::reset`] brings it back there whatever
//! happened: frontend Closed, backend Closed (it lets the memory go), our keys removed,
//! frontend Initialising, backend InitWait. A later run or Linux's own frontend
//! (xen-fbfront, xen-kbdfront) connects from there.

use std::path::Path;
use std::time::Duration;

use xen_user::{state, wait_state, Xenbus};

/// How long the backend gets to answer each state change.
pub const STATE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the backend made of an offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// It connected (state Connected).
    Connected,
    /// It refused: left InitWait for another state (Closing, with `xenbus_dev_fatal`).
    Refused(u32),
    /// It stayed in InitWait.
    Silent,
}

impl Answer {
    pub fn describe(self) -> String {
        match self {
            Answer::Connected => format!("backend {}: accepted", state::name(state::CONNECTED)),
            Answer::Refused(s) => format!("backend {}: refused", state::name(s)),
            Answer::Silent => format!("backend stayed {}: no answer", state::name(state::INIT_WAIT)),
        }
    }
}

pub struct Device {
    pub bus: Xenbus,
    /// Our directory, relative to this domain's home (`device/vfb/0`).
    pub dir: String,
    pub backend: String,
    pub backend_id: u16,
    /// The keys a frontend of this kind writes (removed by a reset, with any other written).
    keys: &'static [&'static str],
    /// Keys written since the last reset.
    written: Vec<String>,
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Device {
    /// Takes device `kind`/0 of this domain, whose frontends write `keys`: refuses if a
    /// kernel driver is bound to it, reads where its backend is, and resets it.
    pub fn open(kind: &str, keys: &'static [&'static str]) -> Result<Self, String> {
        let sysfs = format!("/sys/bus/xen/devices/{kind}-0");
        if Path::new(&sysfs).join("driver").exists() {
            return Err(format!("{sysfs} has a driver: rmmod the {kind} frontend first"));
        }
        let mut bus = Xenbus::open().map_err(text)?;
        let dir = format!("device/{kind}/0");
        let mut key = |name: &str| -> Result<String, String> {
            let value = bus.read(&format!("{dir}/{name}")).map_err(text)?;
            let value = value.ok_or_else(|| format!("{dir}/{name} is missing: no {kind} device for this domain"))?;
            Ok(String::from_utf8_lossy(&value).into_owned())
        };
        let backend = key("backend")?;
        let backend_id = key("backend-id")?;
        let backend_id = backend_id.parse().map_err(|_| format!("{dir}/backend-id is {backend_id:?}, not a domain id"))?;
        let mut device = Device { bus, dir, backend, backend_id, keys, written: Vec::new() };
        let backend = device.backend_state()?;
        if !matches!(backend, state::INIT_WAIT | state::CONNECTED | state::CLOSING | state::CLOSED) {
            return Err(format!("backend {} is {}: is the {kind} backend loaded in dom0?", device.backend, state::name(backend)));
        }
        device.reset()?;
        Ok(device)
    }

    pub fn backend_state(&mut self) -> Result<u32, String> {
        Ok(state::parse(self.bus.read(&format!("{}/state", self.backend)).map_err(text)?.as_deref()))
    }

    /// Writes one of our keys (any text: hostile values too).
    pub fn write(&mut self, name: &str, value: &str) -> Result<(), String> {
        self.bus.write(&format!("{}/{name}", self.dir), value).map_err(text)?;
        if !self.written.iter().any(|k| k == name) {
            self.written.push(name.to_string());
        }
        Ok(())
    }

    fn set_state(&mut self, value: u32) -> Result<(), String> {
        self.bus.write(&format!("{}/state", self.dir), &value.to_string()).map_err(text)
    }

    /// Switches to Initialised (our keys are written) and waits for the backend to leave
    /// InitWait.
    pub fn offer(&mut self) -> Result<Answer, String> {
        self.set_state(state::INITIALISED)?;
        let (answered, now) = wait_state(&mut self.bus, &self.backend, STATE_TIMEOUT, |s| s != state::INIT_WAIT).map_err(text)?;
        Ok(match (answered, now) {
            (false, _) => Answer::Silent,
            (true, state::CONNECTED) => Answer::Connected,
            (true, other) => Answer::Refused(other),
        })
    }

    /// Waits (at most `timeout`) for the backend to leave Connected: its state then.
    pub fn wait_disconnect(&mut self, timeout: Duration) -> Result<Option<u32>, String> {
        let (left, now) = wait_state(&mut self.bus, &self.backend, timeout, |s| s != state::CONNECTED).map_err(text)?;
        Ok(left.then_some(now))
    }

    /// Hands the device back (see the module's comment). The caller keeps the memory it
    /// shared until this returns: the backend has unmapped it once it is Closed.
    pub fn reset(&mut self) -> Result<(), String> {
        let own = state::parse(self.bus.read(&format!("{}/state", self.dir)).map_err(text)?.as_deref());
        let backend = self.backend_state()?;
        if own != state::INITIALISING || backend != state::INIT_WAIT {
            self.set_state(state::CLOSED)?;
            let (closed, now) = wait_state(&mut self.bus, &self.backend, STATE_TIMEOUT, |s| s == state::CLOSED).map_err(text)?;
            if !closed {
                return Err(format!("reset: the backend stayed {} after our Closed", state::name(now)));
            }
        }
        let written = std::mem::take(&mut self.written);
        for name in self.keys.iter().copied().chain(written.iter().map(String::as_str)) {
            self.bus.remove(&format!("{}/{name}", self.dir)).map_err(text)?;
        }
        if own != state::INITIALISING || backend != state::INIT_WAIT {
            self.set_state(state::INITIALISING)?;
            let (ready, now) = wait_state(&mut self.bus, &self.backend, STATE_TIMEOUT, |s| s == state::INIT_WAIT).map_err(text)?;
            if !ready {
                return Err(format!("reset: the backend is {}, not InitWait, after our Initialising", state::name(now)));
            }
        }
        Ok(())
    }
}
