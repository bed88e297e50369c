//! A domU's console (its hvc0): the Xen console ring of io/console.h on a hypervisor page at
//! the domain's magic IPA (HVM_PARAM_CONSOLE_PFN) and an event channel bound to the hypervisor
//! (HVM_PARAM_CONSOLE_EVTCHN). Its output goes to the serial console with the domain's
//! prefix, the user's typing into its `in` ring (hv-console's xencons has the ring logic).
//! dom0 has console_io instead, as on Xen.

use super::events;
use crate::domain::{self, Domain};
use crate::println;
use core::sync::atomic::{AtomicU32, Ordering};
use hv_console::xencons::{self, ConsoleRingPage, RingError};
use spin::Mutex;

/// Where each domU finds its console page: Xen's GUEST_MAGIC_BASE + CONSOLE_PFN_OFFSET (0).
pub const CONSOLE_PAGE_IPA: u64 = 0x3900_0000;
const PAGE: u64 = 4096;

/// Each domU's ring page.
static PAGES: super::MagicPages = super::MagicPages::at(CONSOLE_PAGE_IPA);
/// Each domain's ring page (host address) and event channel, by domain id.
static RINGS: Mutex<[Option<(u64, u32)>; domain::MAX_DOMAINS]> = Mutex::new([None; domain::MAX_DOMAINS]);

/// A console ring page in hypervisor memory the domain maps.
struct HostRing(u64);

impl ConsoleRingPage for HostRing {
    fn index(&self, offset: usize) -> u32 {
        // SAFETY: one of the four index offsets, 4-byte aligned, inside the hypervisor's own
        // page (identity mapped); the guest writes the other side's with its own atomics.
        unsafe { &*((self.0 as usize + offset) as *const AtomicU32) }.load(Ordering::Acquire)
    }
    fn set_index(&mut self, offset: usize, value: u32) {
        // SAFETY: as in `index`.
        unsafe { &*((self.0 as usize + offset) as *const AtomicU32) }.store(value, Ordering::Release)
    }
    fn read(&self, offset: usize, dst: &mut [u8]) {
        let offset = offset.min(PAGE as usize - dst.len());
        // SAFETY: within the page (clamped above); bytes the guest may change meanwhile are
        // only copied, never trusted.
        unsafe { core::ptr::copy_nonoverlapping((self.0 as usize + offset) as *const u8, dst.as_mut_ptr(), dst.len()) }
    }
    fn write(&mut self, offset: usize, src: &[u8]) {
        let offset = offset.min(PAGE as usize - src.len());
        // SAFETY: as in `read`.
        unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), (self.0 as usize + offset) as *mut u8, src.len()) }
    }
}

/// Gives domU `dom` its console ring: its page mapped at CONSOLE_PAGE_IPA and a port bound to
/// the hypervisor's console service.
pub fn connect(dom: &Domain) -> Result<(), &'static str> {
    let page = PAGES.map_for(dom)?;
    RINGS.lock()[dom.id as usize] = Some((page, 0));
    let port = events::bind_hypervisor(dom.id, super::services::CONSOLE).ok_or("no event channel for the console")?;
    RINGS.lock()[dom.id as usize] = Some((page, port));
    dom.xen.set_console(CONSOLE_PAGE_IPA / PAGE, port);
    Ok(())
}

fn ring_of(dom: u16) -> Option<(u64, u32)> {
    RINGS.lock().get(dom as usize).copied().flatten().filter(|&(_, port)| port != 0)
}

/// Whether `dom`'s console is its ring: it has one and its output last came that way.
pub fn uses_ring(dom: &Domain) -> bool {
    ring_of(dom.id).is_some() && dom.xen.pv_console_active.load(Ordering::Relaxed)
}

/// `dom` notified its console port: print what it wrote; it may also have read typed bytes.
pub fn on_event(dom: u16) {
    let Some((page, _)) = ring_of(dom) else { return };
    let Some(domain) = domain::get(dom) else { return };
    let mut ring = HostRing(page);
    let mut buf = [0u8; 256];
    loop {
        match xencons::take_output(&mut ring, &mut buf) {
            Ok(0) => break,
            Ok(n) => {
                domain.xen.pv_console_active.store(true, Ordering::Relaxed);
                crate::console::guest_output(dom, &buf[..n]);
            }
            Err(RingError::Overrun { claimed }) => {
                println!("{}: console ring claims {claimed} bytes written, more than it holds: skipped", domain.name);
                break;
            }
        }
    }
    if xencons::input_space(&ring) > 0 {
        crate::console::resume_input();
    }
}

/// Room for typed bytes in `dom`'s console ring.
pub fn input_space(dom: u16) -> usize {
    ring_of(dom).map_or(0, |(page, _)| xencons::input_space(&HostRing(page)))
}

/// Bytes the user typed for `dom`'s console: into its ring (what does not fit is dropped,
/// which flow control avoids), then a notification.
pub fn receive(dom: u16, bytes: &[u8]) {
    let Some((page, port)) = ring_of(dom) else { return };
    let taken = xencons::put_input(&mut HostRing(page), bytes);
    if taken < bytes.len() {
        println!("dom{dom}: console input dropped: its ring is full");
    }
    events::notify_guest(dom, port);
}

/// A destroyed domain's console goes quiet (its page is kept for a rebuilt domain).
pub fn disconnect(dom: u16) {
    if let Some(slot) = RINGS.lock().get_mut(dom as usize) {
        if let Some((_, port)) = slot.as_mut() {
            *port = 0;
        }
    }
}
