//! The frontend's side of the xenbus handshake and of the ring, in user space: what vledfront.ko
//! does (docs/protocols/vled.md, "State machine"), with gntalloc, evtchn and xenbus.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use vled_protocol::{
    self as vled, FrontRing, Reply, Request, SharedPage, XenbusState, FIELD_EVENT_CHANNEL, FIELD_RING_REF,
};

use crate::page::RingPage;
use xen_user::{EventChannel, GrantedPage, Xenbus};

/// The frontend's xenstore directory (relative to this domain's /local/domain/<id>).
pub const DEVICE: &str = "device/vled/0";
/// Its xenbus device in sysfs: a driver bound there (vledfront.ko) owns the device.
const SYSFS_DEVICE: &str = "/sys/bus/xen/devices/vled-0";
/// How long the backend gets for each state change.
const STATE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the backend offers (its keys, read at InitWait).
pub struct Leds {
    pub nr: u16,
    pub max: Vec<u32>,
}

/// A connected (or connecting) frontend. [`Frontend::close`] undoes everything.
pub struct Frontend {
    bus: Xenbus,
    backend: String,
    pub backend_id: u16,
    pub leds: Leds,
    channel: Option<EventChannel>,
    grant: Option<GrantedPage>,
    pub ring: FrontRing,
    /// Requests pushed so far (the next request's ring index).
    pub pushed: u32,
}

fn state_name(state: XenbusState) -> String {
    format!("{state:?} ({})", state.as_u32())
}

fn io_other(text: String) -> io::Error {
    io::Error::other(text)
}

/// The backend's state, Unknown if its key is missing.
fn backend_state(bus: &mut Xenbus, backend: &str) -> io::Result<XenbusState> {
    Ok(bus.read(&format!("{backend}/state"))?.map_or(XenbusState::Unknown, |v| XenbusState::parse(&v)))
}

/// Polls the backend's state until `done` accepts it, or `timeout`; the last state read.
fn wait_backend(
    bus: &mut Xenbus,
    backend: &str,
    timeout: Duration,
    done: impl Fn(XenbusState) -> bool,
) -> io::Result<(bool, XenbusState)> {
    let deadline = Instant::now() + timeout;
    loop {
        let state = backend_state(bus, backend)?;
        if done(state) {
            return Ok((true, state));
        }
        if Instant::now() >= deadline {
            return Ok((false, state));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn read_leds(bus: &mut Xenbus, backend: &str) -> io::Result<Leds> {
    let mut key = |name: &str| -> io::Result<Option<Vec<u8>>> { bus.read(&format!("{backend}/{name}")) };
    let bad = |name: &str, value: &Option<Vec<u8>>| {
        let value = value.as_deref().map(String::from_utf8_lossy);
        io_other(format!("backend key {name} is {value:?}: not valid"))
    };
    let nr_value = key(vled::FIELD_NR_LEDS)?;
    let nr = nr_value.as_deref().and_then(vled::parse_nr_leds).ok_or_else(|| bad(vled::FIELD_NR_LEDS, &nr_value))?;
    let default_value = key(vled::FIELD_MAX_BRIGHTNESS)?;
    let default = default_value
        .as_deref()
        .and_then(vled::parse_max_brightness)
        .ok_or_else(|| bad(vled::FIELD_MAX_BRIGHTNESS, &default_value))?;
    let mut max = Vec::with_capacity(nr.into());
    for n in 0..nr {
        let name = format!("{}{n}", vled::FIELD_MAX_BRIGHTNESS_PREFIX);
        max.push(match key(&name)? {
            None => default,
            Some(v) => vled::parse_max_brightness(&v).ok_or_else(|| bad(&name, &Some(v)))?,
        });
    }
    Ok(Leds { nr, max })
}

impl Frontend {
    /// Connects as the protocol's frontend: waits for the backend's InitWait, grants a fresh
    /// ring page, allocates an event channel, writes `ring-ref`, `event-channel`, state
    /// Initialised, and waits for the backend's Connected. On failure after the keys are
    /// written, the frontend is closed again (see [`close`](Self::close)).
    pub fn connect() -> Result<Self, String> {
        if Path::new(SYSFS_DEVICE).join("driver").exists() {
            return Err(format!("{SYSFS_DEVICE} has a driver (vledfront.ko?): rmmod it first"));
        }
        let mut bus = Xenbus::open().map_err(|e| e.to_string())?;
        let missing = |key: &str| format!("{DEVICE}/{key} is missing: no vled device for this domain");
        let backend = bus.read(&format!("{DEVICE}/backend")).map_err(|e| e.to_string())?.ok_or_else(|| missing("backend"))?;
        let backend = String::from_utf8_lossy(&backend).into_owned();
        let backend_id = bus.read(&format!("{DEVICE}/backend-id")).map_err(|e| e.to_string())?.ok_or_else(|| missing("backend-id"))?;
        let backend_id = vled::parse_uint(&backend_id)
            .and_then(|id| u16::try_from(id).ok())
            .ok_or_else(|| format!("{DEVICE}/backend-id is not a domain id"))?;

        // As a probe: Initialising first, whatever a previous frontend left.
        let own = bus.read(&format!("{DEVICE}/state")).map_err(|e| e.to_string())?;
        let own = own.as_deref().map_or(XenbusState::Unknown, XenbusState::parse);
        if own != XenbusState::Initialising {
            println!("frontend state was {}: back to Initialising", state_name(own));
            bus.write(&format!("{DEVICE}/state"), "1").map_err(|e| e.to_string())?;
        }
        let (ready, state) = wait_backend(&mut bus, &backend, STATE_TIMEOUT, |s| s == XenbusState::InitWait).map_err(|e| e.to_string())?;
        if !ready {
            return Err(format!("backend {backend} is in state {}, not InitWait: is vledback.ko loaded in dom0?", state_name(state)));
        }
        let leds = read_leds(&mut bus, &backend).map_err(|e| e.to_string())?;

        let grant = GrantedPage::new(backend_id).map_err(|e| e.to_string())?;
        let channel = EventChannel::alloc_unbound(backend_id).map_err(|e| e.to_string())?;
        let mut frontend = Frontend {
            bus,
            backend,
            backend_id,
            leds,
            ring: FrontRing::new(&mut page_of(&grant)),
            channel: Some(channel),
            grant: Some(grant),
            pushed: 0,
        };
        match frontend.publish() {
            Ok(()) => Ok(frontend),
            Err(e) => {
                frontend.close();
                Err(e)
            }
        }
    }

    fn publish(&mut self) -> Result<(), String> {
        let (gref, port) = (self.gref(), self.port());
        let bus = &mut self.bus;
        bus.write(&format!("{DEVICE}/{FIELD_RING_REF}"), &gref.to_string()).map_err(|e| e.to_string())?;
        bus.write(&format!("{DEVICE}/{FIELD_EVENT_CHANNEL}"), &port.to_string()).map_err(|e| e.to_string())?;
        bus.write(&format!("{DEVICE}/state"), "3").map_err(|e| e.to_string())?;
        let (connected, state) = wait_backend(bus, &self.backend, STATE_TIMEOUT, |s| s != XenbusState::InitWait).map_err(|e| e.to_string())?;
        if !connected || state != XenbusState::Connected {
            return Err(format!("backend {} went to {} instead of Connected", self.backend, state_name(state)));
        }
        println!(
            "connected to {} (domain {}): ring-ref {gref}, event-channel {port}, {} LEDs",
            self.backend, self.backend_id, self.leds.nr
        );
        Ok(())
    }

    pub fn gref(&self) -> u32 {
        self.grant.as_ref().map_or(0, GrantedPage::gref)
    }

    pub fn port(&self) -> u32 {
        self.channel.as_ref().map_or(0, EventChannel::port)
    }

    /// The ring page (while connected).
    pub fn page(&self) -> RingPage<'_> {
        page_of(self.grant.as_ref().expect("the page is granted until close"))
    }

    pub fn channel(&mut self) -> &mut EventChannel {
        self.channel.as_mut().expect("the channel is open until close")
    }

    pub fn backend_state(&mut self) -> io::Result<XenbusState> {
        backend_state(&mut self.bus, &self.backend)
    }

    /// Queues `request` (any fields: the ring only replaces the id).
    pub fn push(&mut self, request: Request) -> Result<u32, String> {
        let grant = self.grant.as_ref().expect("the page is granted until close");
        let id = self.ring.push_request(&mut page_of(grant), request).map_err(|e| e.to_string())?;
        self.pushed = self.pushed.wrapping_add(1);
        Ok(id)
    }

    /// Publishes the queued requests and notifies the backend if the ring says so.
    pub fn publish_requests(&mut self) -> Result<(), String> {
        let grant = self.grant.as_ref().expect("the page is granted until close");
        if self.ring.push_requests_and_check_notify(&mut page_of(grant)) {
            self.channel().notify().map_err(|e| format!("notify: {e}"))?;
        }
        Ok(())
    }

    /// Takes every response there is, without waiting.
    pub fn take_responses(&mut self, mut each: impl FnMut(Reply)) -> Result<u32, String> {
        let grant = self.grant.as_ref().expect("the page is granted until close");
        let page = page_of(grant);
        let mut taken = 0;
        while let Some(reply) = self.ring.next_response(&page).map_err(|e| format!("ring broken by the backend: {e}"))? {
            each(reply);
            taken += 1;
        }
        Ok(taken)
    }

    /// Takes responses until `count` were taken, sleeping on the event channel between them
    /// (after `RING_FINAL_CHECK_FOR_RESPONSES`); fails if none comes for `timeout`.
    pub fn wait_responses(&mut self, count: u32, timeout: Duration, mut each: impl FnMut(Reply)) -> Result<(), String> {
        let mut taken = 0;
        let mut last = Instant::now();
        while taken < count {
            let now = self.take_responses(&mut each)?;
            if now > 0 {
                taken += now;
                last = Instant::now();
                continue;
            }
            if self.wait_for_event(last, timeout)? {
                continue;
            }
            return Err(format!("no response for {} ms ({taken} of {count} taken)", timeout.as_millis()));
        }
        Ok(())
    }

    /// After finding no response: re-arms `rsp_event` and, unless responses came meanwhile,
    /// waits for the event until `since + timeout`. False on timeout.
    pub fn wait_for_event(&mut self, since: Instant, timeout: Duration) -> Result<bool, String> {
        let grant = self.grant.as_ref().expect("the page is granted until close");
        let waiting = self
            .ring
            .final_check_for_responses(&mut page_of(grant))
            .map_err(|e| format!("ring broken by the backend: {e}"))?;
        if waiting {
            return Ok(true);
        }
        let left = timeout.saturating_sub(since.elapsed());
        if left.is_zero() {
            return Ok(false);
        }
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        self.channel().wait(ms).map_err(|e| format!("event channel: {e}"))?;
        Ok(true)
    }

    /// Writes `req_prod` directly, as a broken frontend would, and notifies.
    pub fn force_req_prod(&mut self, value: u32) -> Result<(), String> {
        let grant = self.grant.as_ref().expect("the page is granted until close");
        let mut page = page_of(grant);
        page.store_u32(vled::REQ_PROD_OFFSET, value);
        page.full_barrier();
        self.channel().notify().map_err(|e| format!("notify: {e}"))
    }

    /// Disconnects as a frontend that goes away does, and hands the device back: state Closed,
    /// wait for the backend to let the ring go (Closed), close the event channel and end the
    /// grant, remove `ring-ref` and `event-channel`, state Initialising (so that vledfront.ko
    /// or another run can connect), wait for the backend's InitWait. Problems are reported on
    /// stderr; the remaining steps are done anyway.
    pub fn close(mut self) {
        let state_key = format!("{DEVICE}/state");
        let report = |what: &str, e: io::Error| eprintln!("vled-user: close: {what}: {e}");
        if let Err(e) = self.bus.write(&state_key, "6") {
            report("state Closed", e);
        }
        // The backend unmaps the page and unbinds the channel before it switches to Closed.
        let released = |s: XenbusState| !matches!(s, XenbusState::Connected | XenbusState::Initialised);
        match wait_backend(&mut self.bus, &self.backend, STATE_TIMEOUT, released) {
            Ok((true, state)) => println!("closed: backend state {}", state_name(state)),
            Ok((false, state)) => eprintln!("vled-user: close: the backend stayed {}", state_name(state)),
            Err(e) => report("backend state", e),
        }
        drop(self.channel.take());
        drop(self.grant.take());
        for key in [FIELD_RING_REF, FIELD_EVENT_CHANNEL] {
            if let Err(e) = self.bus.remove(&format!("{DEVICE}/{key}")) {
                report(key, e);
            }
        }
        if let Err(e) = self.bus.write(&state_key, "1") {
            report("state Initialising", e);
        }
        match wait_backend(&mut self.bus, &self.backend, STATE_TIMEOUT, |s| s == XenbusState::InitWait) {
            Ok((true, _)) => println!("device handed back: frontend Initialising, backend InitWait"),
            Ok((false, state)) => eprintln!("vled-user: close: the backend is {}, not InitWait", state_name(state)),
            Err(e) => report("backend state", e),
        }
    }
}

fn page_of(grant: &GrantedPage) -> RingPage<'_> {
    let (base, len) = grant.memory();
    // SAFETY: the granted page's mapping is page-aligned, readable and writable while `grant`
    // lives; this program only reaches it through RingPage's volatile and atomic accesses.
    unsafe { RingPage::new(base, len) }
}
