//! The hypervisor's xenstore (the xenstore crate's server) connected to each domain's ring:
//! a hypervisor page at the domain's magic IPA (HVM_PARAM_STORE_PFN) and an event channel
//! bound to the hypervisor (HVM_PARAM_STORE_EVTCHN).

use super::events;
use crate::domain::{self, Domain};
use crate::println;
use alloc::format;
use core::sync::atomic::{AtomicU32, Ordering};
use spin::Mutex;
use xenstore::perms::{Access, Perms};
use xenstore::ring::RingPage;
use xenstore::{Server, Store};

/// The domain that owns the board's screen and buttons, as a decimal domain id (docs/focus.md):
/// owned by dom0, every domain may read and watch it (`r0`). Created with "0" when dom0
/// connects; dom0's backends and the monitor's `screen` write it.
pub const FOCUS_PATH: &str = "/reptar/focus";
/// The directory of the REPTAR keys, readable by every domain as its keys are.
const REPTAR_DIR: &str = "/reptar";

/// `r0`: dom0 owns it (and, privileged, writes it), every other domain may read it.
fn focus_perms() -> Perms {
    Perms::new(0, Access::Read)
}

/// Where each domain finds its xenstore page: Xen's GUEST_MAGIC_BASE + XENSTORE_PFN_OFFSET (1).
pub const STORE_PAGE_IPA: u64 = 0x3900_1000;
const PAGE: u64 = 4096;

/// struct xenstore_domain_interface (io/xs_wire.h).
const REQ: usize = 0;
const RSP: usize = 1024;
const REQ_CONS: usize = 2048;
const REQ_PROD: usize = 2052;
const RSP_CONS: usize = 2056;
const RSP_PROD: usize = 2060;
const ERROR: usize = 2072;

static SERVER: Mutex<Option<Server>> = Mutex::new(None);
/// Each connected domain's ring page (host address) and event channel, by domain id.
static RINGS: Mutex<[Option<(u64, u32)>; domain::MAX_DOMAINS]> = Mutex::new([None; domain::MAX_DOMAINS]);
/// Each domain's ring page.
static PAGES: super::MagicPages = super::MagicPages::at(STORE_PAGE_IPA);

/// A domain's ring page, in hypervisor memory the domain maps.
struct HostRing(u64);

impl HostRing {
    fn word(&self, offset: usize) -> &AtomicU32 {
        // SAFETY: the page is the hypervisor's own (heap), identity mapped, 4-byte aligned
        // offsets inside it; the guest writes the same words, so they are accessed atomically.
        unsafe { &*((self.0 as usize + offset) as *const AtomicU32) }
    }
    fn bytes(&self, offset: usize, len: usize) -> *mut u8 {
        (self.0 as usize + offset.min(PAGE as usize - len)) as *mut u8
    }
}

impl RingPage for HostRing {
    fn req_cons(&self) -> u32 {
        self.word(REQ_CONS).load(Ordering::Relaxed)
    }
    fn req_prod(&self) -> u32 {
        self.word(REQ_PROD).load(Ordering::Acquire)
    }
    fn set_req_cons(&mut self, v: u32) {
        self.word(REQ_CONS).store(v, Ordering::Release)
    }
    fn rsp_cons(&self) -> u32 {
        self.word(RSP_CONS).load(Ordering::Acquire)
    }
    fn rsp_prod(&self) -> u32 {
        self.word(RSP_PROD).load(Ordering::Relaxed)
    }
    fn set_rsp_prod(&mut self, v: u32) {
        self.word(RSP_PROD).store(v, Ordering::Release)
    }
    fn read_req(&self, offset: usize, dst: &mut [u8]) {
        // SAFETY: the crate keeps `offset + len` within the 1 KiB request ring of the page.
        unsafe { core::ptr::copy_nonoverlapping(self.bytes(REQ + offset, dst.len()), dst.as_mut_ptr(), dst.len()) }
    }
    fn write_rsp(&mut self, offset: usize, src: &[u8]) {
        // SAFETY: as read_req, in the response ring.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), self.bytes(RSP + offset, src.len()), src.len()) }
    }
    fn set_error(&mut self, error: u32) {
        self.word(ERROR).store(error, Ordering::Release)
    }
}

/// Gives `dom` its xenstore: the ring page mapped at STORE_PAGE_IPA, a port bound to us, its
/// connection, and the entries a toolstack writes for a new domain, with a frontend and a
/// backend directory (dom0 the backend) for each paravirtual device type in `pv_devices`.
pub fn connect(dom: &Domain, pv_devices: &[alloc::string::String]) -> Result<(), &'static str> {
    let page = PAGES.map_for(dom)?;
    let port = events::bind_hypervisor(dom.id, super::services::XENSTORE).ok_or("no event channel for xenstore")?;
    RINGS.lock()[dom.id as usize] = Some((page, port));
    let dirty = {
        let mut server = SERVER.lock();
        let server = server.get_or_insert_with(|| Server::new(Store::new()));
        let mut dirty = server.connect(dom.id, dom.id == 0).map_err(|_| "xenstore connection refused")?;
        let base = format!("/local/domain/{}", dom.id);
        let owned = Perms::owned_by(dom.id).with(0, Access::Read);
        let mut fired = alloc::vec::Vec::new();
        let store = server.store_mut();
        for (path, value) in [(base.clone(), ""), (format!("{base}/name"), dom.name.as_str()), (format!("{base}/domid"), &*format!("{}", dom.id))] {
            match store.write_as(&path, value.as_bytes(), &owned) {
                Ok(out) => fired.extend(out),
                Err(_) => println!("{}: xenstore: cannot write {path}", dom.name),
            }
        }
        for dir in ["device", "data", "control"] {
            if let Ok(out) = store.mkdir_as(&format!("{base}/{dir}"), &owned) {
                fired.extend(out);
            }
        }
        for kind in pv_devices {
            match write_device(store, dom.id, kind) {
                Ok(out) => fired.extend(out),
                Err(_) => println!("{}: xenstore: cannot write its {kind} device", dom.name),
            }
        }
        // The focus starts on dom0, once: dom0 connects at boot only (it is never rebuilt).
        if dom.id == 0 && store.read(FOCUS_PATH).is_none() {
            match store.mkdir_as(REPTAR_DIR, &focus_perms()).and_then(|mut out| {
                out.extend(store.write_as(FOCUS_PATH, b"0", &focus_perms())?);
                Ok(out)
            }) {
                Ok(out) => fired.extend(out),
                Err(_) => println!("xenstore: cannot write {FOCUS_PATH}"),
            }
        }
        dirty.extend(server.deliver(fired));
        dirty
    };
    dom.xen.set_store(STORE_PAGE_IPA / PAGE, port);
    flush(&dirty);
    Ok(())
}

/// The framebuffer memory a vfb frontend may use, in MiB: xen-fbfront's default, which holds
/// the LCD's 1500 KiB.
const VFB_VIDEORAM_MIB: &str = "2";

/// Device 0 of type `kind` for domain `dom`, served by dom0: the frontend directory
/// (/local/domain/N/device/KIND/0, the domain's, dom0 may read) and the backend one
/// (/local/domain/0/backend/KIND/N/0, dom0's, the domain may read), both in state
/// Initialising, as Xen's toolstack writes them.
fn write_device(store: &mut Store, dom: u16, kind: &str) -> Result<alloc::vec::Vec<xenstore::Outgoing>, xenstore::XsError> {
    const BACKEND_DOM: u16 = 0;
    const XENBUS_STATE_INITIALISING: &str = "1";
    let frontend = format!("/local/domain/{dom}/device/{kind}/0");
    let backend = format!("/local/domain/{BACKEND_DOM}/backend/{kind}/{dom}/0");
    let frontend_perms = Perms::owned_by(dom).with(BACKEND_DOM, Access::Read);
    let backend_perms = Perms::owned_by(BACKEND_DOM).with(dom, Access::Read);
    let mut fired = alloc::vec::Vec::new();
    // The backend first: a frontend that appears looks for its backend at once. xen-fbfront
    // reads the display's geometry at probe only, perhaps before dom0's backend is loaded:
    // the board's LCD, as dom0's vfb backend writes it too (docs/protocols/fbif.md).
    let (width, height) = (format!("{}", crate::display::WIDTH), format!("{}", crate::display::HEIGHT));
    let geometry = [("width", width.as_str()), ("height", height.as_str()), ("videoram", VFB_VIDEORAM_MIB)];
    let display: &[(&str, &str)] = if kind == "vfb" { &geometry } else { &[] };
    let common = [("frontend", frontend.as_str()), ("frontend-id", &*format!("{dom}")), ("online", "1")];
    for (key, value) in common.iter().chain(display).chain(&[("state", XENBUS_STATE_INITIALISING)]) {
        fired.extend(store.write_as(&format!("{backend}/{key}"), value.as_bytes(), &backend_perms)?);
    }
    fired.extend(store.set_perms_as(&backend, &backend_perms)?);
    for (key, value) in [("backend", backend.as_str()), ("backend-id", &*format!("{BACKEND_DOM}")), ("state", XENBUS_STATE_INITIALISING)] {
        fired.extend(store.write_as(&format!("{frontend}/{key}"), value.as_bytes(), &frontend_perms)?);
    }
    fired.extend(store.set_perms_as(&frontend, &frontend_perms)?);
    Ok(fired)
}

/// A destroyed domain leaves the store: its connection, watches and transactions go,
/// `@releaseDomain` fires, and its /local/domain/N subtree and its backend directories are
/// removed, as a toolstack does. If the focus named it, it goes back to dom0 (watchers of
/// /reptar/focus fire): returns whether it did.
pub fn disconnect(dom: u16) -> bool {
    RINGS.lock()[dom as usize] = None;
    let mut focus_reset = false;
    let dirty = {
        let mut server = SERVER.lock();
        let Some(server) = server.as_mut() else { return false };
        let mut dirty = server.remove_domain(dom);
        let store = server.store_mut();
        let mut removed = alloc::vec::Vec::new();
        // Its backends in dom0's tree go too, as the toolstack removes them.
        let kinds = store.children("/local/domain/0/backend").map(|k| k.to_vec()).unwrap_or_default();
        for kind in kinds {
            removed.extend(store.rm_tree(&format!("/local/domain/0/backend/{kind}/{dom}")).unwrap_or_default());
        }
        removed.extend(store.rm_tree(&format!("/local/domain/{dom}")).unwrap_or_default());
        if dom != 0 && store.read(FOCUS_PATH).and_then(parse_domid) == Some(dom) {
            match write_focus(store, 0) {
                Ok(out) => {
                    removed.extend(out);
                    focus_reset = true;
                }
                Err(_) => println!("xenstore: cannot write {FOCUS_PATH}"),
            }
        }
        dirty.extend(server.deliver(removed));
        dirty
    };
    flush(&dirty);
    focus_reset
}

/// A domain id as the focus key holds it: decimal digits only, within `u16`.
fn parse_domid(value: &[u8]) -> Option<u16> {
    if value.is_empty() || value.len() > 5 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    core::str::from_utf8(value).ok()?.parse().ok()
}

/// Writes `dom` into the focus key as the hypervisor, keeping the node's permissions (`r0`
/// unless dom0 changed them). Fires watches as any write does.
fn write_focus(store: &mut Store, dom: u16) -> Result<alloc::vec::Vec<xenstore::Outgoing>, xenstore::XsError> {
    let perms = store.perms(FOCUS_PATH).cloned().unwrap_or_else(focus_perms);
    store.write_as(FOCUS_PATH, format!("{dom}").as_bytes(), &perms)
}

/// What the focus key holds: `Ok(Ok(id))` for a domain id (which may name no running domain:
/// readers then take dom0), `Ok(Err(value))` for anything else (the value, escaped for
/// printing), `Err` if the key (or the store) is missing.
pub fn focus() -> Result<Result<u16, alloc::string::String>, &'static str> {
    let server = SERVER.lock();
    let server = server.as_ref().ok_or("no xenstore")?;
    let value = server.store().read(FOCUS_PATH).ok_or("no /reptar/focus in the store")?;
    Ok(parse_domid(value).ok_or_else(|| alloc::string::String::from_utf8_lossy(value).escape_debug().collect()))
}

/// Writes `dom` into the focus key as the hypervisor, so that dom0's watchers (its vkbd and vfb
/// backends) fire. The caller checks that `dom` is a running domain.
pub fn set_focus(dom: u16) -> Result<(), &'static str> {
    let dirty = {
        let mut server = SERVER.lock();
        let server = server.as_mut().ok_or("no xenstore")?;
        let out = write_focus(server.store_mut(), dom).map_err(|_| "cannot write /reptar/focus")?;
        server.deliver(out)
    };
    flush(&dirty);
    Ok(())
}

/// Writes the queued watch events of these domains into their rings and notifies them.
fn flush(domains: &[u16]) {
    let rings = *RINGS.lock();
    let mut to_notify = alloc::vec::Vec::new();
    {
        let mut server = SERVER.lock();
        let Some(server) = server.as_mut() else { return };
        for &id in domains {
            if let Some((page, port)) = rings.get(id as usize).copied().flatten() {
                if server.flush(id, &mut HostRing(page)).notify {
                    to_notify.push((id, port));
                }
            }
        }
    }
    for (id, port) in to_notify {
        events::notify_guest(id, port);
    }
}

/// `dom` notified its xenstore port: serve its requests, then flush what watches queued for
/// the others, notifying each domain whose ring moved.
pub fn on_event(dom: u16) {
    let rings = *RINGS.lock();
    let mut to_notify = [false; domain::MAX_DOMAINS];
    {
        let mut server = SERVER.lock();
        let Some(server) = server.as_mut() else { return };
        let Some((page, _)) = rings.get(dom as usize).copied().flatten() else { return };
        loop {
            let served = server.on_event(dom, &mut HostRing(page));
            if served.notify {
                to_notify[dom as usize] = true;
            }
            if let Some(error) = served.broken {
                println!("dom{dom}: xenstore ring broken ({error:?}): no longer served");
            }
            for other in served.dirty {
                if let Some((other_page, _)) = rings.get(other as usize).copied().flatten() {
                    if server.flush(other, &mut HostRing(other_page)).notify {
                        to_notify[other as usize] = true;
                    }
                }
            }
            if !served.more {
                break;
            }
        }
    }
    for (id, notify) in to_notify.iter().enumerate() {
        if let (true, Some((_, port))) = (notify, rings[id]) {
            events::notify_guest(id as u16, port);
        }
    }
}
