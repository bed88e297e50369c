//! `pv-user vkbd`: a keyboard frontend (docs/protocols/kbdif.md) with hostile variants, in
//! place of xen-kbdfront: one zeroed page granted to the backend's domain (`page-gref`), an
//! event channel, and the in ring read as Linux's frontend reads it.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kbdif_protocol::{self as kbdif, InConsumer, InEvent};
use xen_user::{state, EventChannel, GrantedPage};

use crate::device::{Answer, Device};
use crate::shared::Shared;

/// The keys xen-kbdfront writes (a reset removes them).
const KEYS: &[&str] = &[kbdif::FIELD_RING_GREF, kbdif::FIELD_RING_REF, kbdif::FIELD_EVT_CHANNEL, kbdif::FIELD_REQ_ABS_POINTER];

/// The in ring's slots, for a fingerprint of what the backend wrote.
const IN_RING: (usize, usize) = (kbdif::IN_RING_OFFS, kbdif::IN_RING_SIZE);

/// One connection attempt's difference from an honest frontend.
#[derive(Clone, Debug, PartialEq)]
pub enum Case {
    Honest,
    /// `page-gref` written as this text.
    Gref(String),
    /// The reference of a grant ended before the backend maps it.
    EndedGrant,
    /// A page granted to another domain (not the backend's).
    GrantedTo(u16),
    /// A page the backend may only read.
    ReadOnly,
    /// The page's `in_cons` at connection (its `in_prod` is 0).
    InCons(u32),
    /// `event-channel` written as this text.
    EventChannel(String),
}

impl Case {
    pub fn describe(&self) -> String {
        match self {
            Case::Honest => "honest".into(),
            Case::Gref(text) => format!("page-gref {text:?}"),
            Case::EndedGrant => "page-gref of a grant ended before the backend maps it".into(),
            Case::GrantedTo(domid) => format!("page-gref of a page granted to domain {domid}, not the backend's"),
            Case::ReadOnly => "page-gref of a page granted read-only".into(),
            Case::InCons(cons) => format!("in_cons {cons} at connection (in_prod 0)"),
            Case::EventChannel(text) => format!("event-channel {text:?}"),
        }
    }
}

/// The hostile connection attempts of `bad-page`.
pub fn bad_page_cases() -> Vec<Case> {
    vec![
        Case::EndedGrant,
        Case::Gref("4294967295".into()),
        Case::Gref("100000".into()),
        Case::Gref("-1".into()),
        Case::Gref("garbage".into()),
        Case::GrantedTo(5),
        Case::ReadOnly,
        Case::InCons(100),
        Case::InCons(u32::MAX - 100),
        Case::EventChannel("4095".into()),
        Case::EventChannel("0".into()),
    ]
}

pub struct Vkbd {
    dev: Device,
    page: Option<GrantedPage>,
    /// Pages granted for an attempt besides the shared one (kept until the reset).
    extra: Vec<GrantedPage>,
    channel: Option<EventChannel>,
    consumer: Option<InConsumer>,
}

impl Vkbd {
    pub fn open() -> Result<Self, String> {
        let dev = Device::open(kbdif::DEVICE_TYPE, KEYS)?;
        println!("vkbd: backend {} (domain {})", dev.backend, dev.backend_id);
        Ok(Vkbd { dev, page: None, extra: Vec::new(), channel: None, consumer: None })
    }

    fn page(&self) -> Shared<'_> {
        page_of(self.page.as_ref().expect("a page while connected"))
    }

    /// One connection attempt from a clean device: the backend's answer.
    pub fn attempt(&mut self, case: &Case) -> Result<Answer, String> {
        let remote = self.dev.backend_id;
        let text = |e: std::io::Error| e.to_string();
        let page = GrantedPage::new(remote).map_err(text)?;
        let mut gref = page.gref().to_string();
        self.page = Some(page);
        let mut port = None;
        match case {
            Case::Honest => {}
            Case::Gref(value) => gref = value.clone(),
            Case::EndedGrant => {
                let ended = GrantedPage::new(remote).map_err(text)?;
                gref = ended.gref().to_string();
            }
            Case::GrantedTo(domid) => {
                let other = GrantedPage::new(*domid).map_err(text)?;
                gref = other.gref().to_string();
                self.extra.push(other);
            }
            Case::ReadOnly => {
                let read_only = GrantedPage::with_access(remote, false).map_err(text)?;
                gref = read_only.gref().to_string();
                self.extra.push(read_only);
            }
            Case::InCons(cons) => self.page().store(kbdif::IN_CONS_OFFSET, *cons),
            Case::EventChannel(value) => port = Some(value.clone()),
        }
        let channel = EventChannel::alloc_unbound(remote).map_err(text)?;
        let port = port.unwrap_or_else(|| channel.port().to_string());
        self.channel = Some(channel);
        self.dev.write(kbdif::FIELD_RING_GREF, &gref)?;
        self.dev.write(kbdif::FIELD_EVT_CHANNEL, &port)?;
        self.dev.offer()
    }

    /// Hands the device back; the channel and the grants end after the backend let them go.
    pub fn reset(&mut self) -> Result<(), String> {
        self.consumer = None;
        let result = self.dev.reset();
        self.channel = None;
        self.page = None;
        self.extra.clear();
        result
    }

    /// An honest connection: Connected, or an error.
    pub fn connect(&mut self) -> Result<(), String> {
        match self.attempt(&Case::Honest)? {
            Answer::Connected => {
                self.consumer = Some(InConsumer::attach(&self.page()).map_err(|e| format!("our own page: {e}"))?);
                Ok(())
            }
            other => Err(format!("an honest frontend was not connected: {}", other.describe())),
        }
    }

    fn channel(&mut self) -> &mut EventChannel {
        self.channel.as_mut().expect("a channel while connected")
    }

    /// Takes the events there are, notifies the backend if any (as xen-kbdfront does).
    fn take(&mut self, mut each: impl FnMut(InEvent)) -> Result<u32, String> {
        let mut page = page_of(self.page.as_ref().expect("a page while connected"));
        let consumer = self.consumer.as_mut().expect("connected");
        let taken = consumer.consume(&mut page, &mut each).map_err(|e| format!("the backend broke the in ring: {e}"))?;
        if taken > 0 {
            self.channel().notify().map_err(|e| format!("notify: {e}"))?;
        }
        Ok(taken)
    }
}

fn page_of(grant: &GrantedPage) -> Shared<'_> {
    let (base, len) = grant.memory();
    // SAFETY: the granted page's mapping, page-aligned, readable and writable while the grant
    // lives; reached only through `Shared` views.
    unsafe { Shared::new(base, len) }
}

/// Set by SIGTERM: the watch ends early (the test has pressed its keys), with the report.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigterm(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// Until `deadline` or SIGTERM.
fn watching(deadline: Instant) -> bool {
    Instant::now() < deadline && !STOP.load(Ordering::Relaxed)
}

fn catch_sigterm() {
    // SAFETY: the handler only stores to an atomic (async-signal-safe).
    unsafe { libc::signal(libc::SIGTERM, on_sigterm as extern "C" fn(libc::c_int) as libc::sighandler_t) };
}

fn flush() {
    let _ = std::io::stdout().flush();
}

/// `connect SECONDS`: the honest frontend; prints each event for SECONDS (or until SIGTERM).
pub fn connect(vkbd: &mut Vkbd, seconds: Duration) -> Result<(), String> {
    catch_sigterm();
    vkbd.connect()?;
    println!("vkbd connect: {}; listening for {} s", Answer::Connected.describe(), seconds.as_secs());
    flush();
    let result = (|| {
        let deadline = Instant::now() + seconds;
        let mut events = 0;
        while watching(deadline) {
            events += vkbd.take(|event| {
                match event {
                    InEvent::Key { pressed, keycode } => {
                        println!("vkbd: key {keycode} {}", if pressed { "pressed" } else { "released" })
                    }
                    other => println!("vkbd: {other:?}"),
                }
                flush();
            })?;
            let left = deadline.saturating_duration_since(Instant::now()).as_millis().clamp(1, 100) as i32;
            vkbd.channel().wait(left).map_err(|e| format!("event channel: {e}"))?;
        }
        println!("vkbd connect: {events} events");
        Ok(())
    })();
    vkbd.reset()?;
    println!("vkbd connect: device handed back");
    result
}

/// `bad-page`: grants that are no grant for the backend, bogus indices at connection, bogus
/// event channels: each must be refused.
pub fn bad_page(vkbd: &mut Vkbd) -> Result<(), String> {
    let cases = bad_page_cases();
    let mut accepted = Vec::new();
    for case in &cases {
        let answer = vkbd.attempt(case)?;
        println!("vkbd bad-page: {}: {}", case.describe(), answer.describe());
        if !matches!(answer, Answer::Refused(_)) {
            accepted.push(case.describe());
        }
        vkbd.reset()?;
    }
    if !accepted.is_empty() {
        return Err(format!("{} of {} hostile pages were not refused: {}", accepted.len(), cases.len(), accepted.join("; ")));
    }
    println!("vkbd bad-page: all {} refused; the device is back in InitWait", cases.len());
    Ok(())
}

/// `in-cons OFFSET SECONDS`: connected, `in_cons` moved OFFSET beyond `in_prod` (wrapping: a
/// negative OFFSET puts it behind); for SECONDS or until SIGTERM (keys pressed meanwhile) the
/// backend must write nothing: neither `in_prod` nor any slot changes.
pub fn in_cons(vkbd: &mut Vkbd, offset: i64, seconds: Duration) -> Result<(), String> {
    catch_sigterm();
    vkbd.connect()?;
    let result = (|| {
        let prod = vkbd.page().load(kbdif::IN_PROD_OFFSET);
        let cons = prod.wrapping_add(offset as u32);
        vkbd.page().store(kbdif::IN_CONS_OFFSET, cons);
        let slots = vkbd.page().checksum(IN_RING.0, IN_RING.1);
        println!("vkbd in-cons: in_cons set to {cons} with in_prod {prod}: ready, watching for {} s", seconds.as_secs());
        flush();
        let start = Instant::now();
        let deadline = start + seconds;
        let mut notified = 0;
        while watching(deadline) {
            let left = deadline.saturating_duration_since(Instant::now()).as_millis().clamp(1, 100) as i32;
            if vkbd.channel().wait(left).map_err(|e| format!("event channel: {e}"))? {
                notified += 1;
            }
        }
        let (prod_after, slots_after) = (vkbd.page().load(kbdif::IN_PROD_OFFSET), vkbd.page().checksum(IN_RING.0, IN_RING.1));
        let backend = vkbd.dev.backend_state()?;
        let wrote = prod_after != prod || slots_after != slots;
        println!(
            "vkbd in-cons: after {:.1} s: in_prod {prod_after}, slots {}, {notified} notifications; backend {}",
            start.elapsed().as_secs_f64(),
            if slots_after == slots { "untouched" } else { "CHANGED" },
            state::name(backend)
        );
        if wrote {
            return Err("the backend wrote to a ring whose in_cons is bogus".into());
        }
        println!("vkbd in-cons: the backend wrote nothing");
        Ok(())
    })();
    vkbd.reset()?;
    result
}

/// `garbage N`: connected, garbage over the out ring (which no one reads) and its indices, a
/// bogus `in_prod` (the backend keeps its own), then N notifications; the device stays
/// Connected.
pub fn garbage(vkbd: &mut Vkbd, count: u64) -> Result<(), String> {
    vkbd.connect()?;
    let result = (|| {
        let mut page = vkbd.page();
        page.write_bytes(kbdif::OUT_RING_OFFS, &[0xff; kbdif::OUT_RING_SIZE]);
        page.store(kbdif::OUT_PROD_OFFSET, 0xdead_beef);
        page.store(kbdif::OUT_CONS_OFFSET, 7);
        page.store(kbdif::IN_PROD_OFFSET, 12345);
        let start = Instant::now();
        for _ in 0..count {
            vkbd.channel().notify().map_err(|e| format!("notify: {e}"))?;
        }
        let took = start.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_millis(500));
        let backend = vkbd.dev.backend_state()?;
        println!(
            "vkbd garbage: garbage out ring, out_prod 0xdeadbeef, in_prod 12345; {count} notifications in {took:.3} s ({:.0}/s); backend {}",
            count as f64 / took.max(1e-9),
            state::name(backend)
        );
        if backend != state::CONNECTED {
            return Err(format!("the backend left Connected: {}", state::name(backend)));
        }
        Ok(())
    })();
    vkbd.reset()?;
    result
}
