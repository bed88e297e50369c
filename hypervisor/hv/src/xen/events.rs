//! Event channels: the xen-evtchn state of every domain behind one lock, the guests' 2-level
//! bitmaps reached in their own memory, upcalls injected as the event-channel PPI.

use super::{HypercallResult, EVENT_PPI};
use crate::domain;
use crate::guest::{self, CurrentVcpu};
use crate::println;
use core::sync::atomic::AtomicU64;
use spin::Mutex;
use xen_evtchn::{DomainConfig, EventChannels, EventMemory, SharedBitmaps, Upcall, VcpuInfoBits};
use xen_hypercall::{Errno, EventChannelOp, Poll};

static EVENTS: Mutex<Option<EventChannels>> = Mutex::new(None);

/// Words of a page seen as 64-bit atomics.
const PAGE_WORDS: usize = 4096 / 8;
/// sizeof(struct vcpu_info) on arm64, in 64-bit words.
const VCPU_INFO_WORDS: usize = xen_hypercall::layout::VCPU_INFO_SIZE / 8;

/// Adds a domain's event channels (dom0 is the privileged one).
pub fn add_domain(id: u16, nr_vcpus: usize) {
    let mut events = EVENTS.lock();
    let events = events.get_or_insert_with(|| EventChannels::new(domain::MAX_DOMAINS).expect("event channels"));
    let mut config = DomainConfig::new(id, nr_vcpus as u32);
    config.privileged = id == 0;
    if let Err(error) = events.add_domain(config) {
        println!("dom{id}: no event channels: {error:?}");
    }
}

/// The guests' event memory: each domain's shared_info page and vcpu_infos, where it said they
/// are (pages of its own RAM, Normal memory in the hypervisor's map).
struct GuestEventMemory;

/// A guest page or part of one as 64-bit atomics.
fn words(host: u64, len: usize) -> &'static [AtomicU64] {
    // SAFETY: `host` is 8-byte aligned, in RAM of the domain (checked through its stage 2
    // before), identity mapped in the hypervisor's map for its whole life, and `len` words
    // stay within the page. The guest writes the same words with its own atomics: every
    // access here is atomic too.
    unsafe { core::slice::from_raw_parts(host as *const AtomicU64, len) }
}

impl EventMemory for GuestEventMemory {
    fn shared_bitmaps(&self, dom: u16) -> Option<SharedBitmaps<'_>> {
        let dom = domain::get(dom)?;
        let host = guest::ipa_to_host(dom, dom.xen.shared_info()?, true)?;
        SharedBitmaps::from_shared_info(words(host, PAGE_WORDS))
    }

    fn vcpu_info(&self, dom: u16, vcpu: u32) -> Option<VcpuInfoBits<'_>> {
        let dom = domain::get(dom)?;
        let ipa = match dom.xen.vcpu_info(vcpu as usize) {
            Some(ipa) => ipa,
            // Before registration vCPU 0 uses shared_info.vcpu_info[0], at its start.
            None if vcpu == 0 => dom.xen.shared_info()?,
            None => return None,
        };
        if ipa % 8 != 0 {
            return None;
        }
        let host = guest::ipa_to_host(dom, ipa, true)?;
        VcpuInfoBits::from_vcpu_info(words(host, VCPU_INFO_WORDS))
    }
}

/// Injects the event-channel interrupt into the vCPU an event is for.
fn inject(upcall: Upcall) {
    let Some(dom) = domain::get(upcall.dom) else { return };
    let result = dom.vgic.lock().raise_ppi(upcall.vcpu as usize, EVENT_PPI);
    match result {
        Ok(Some(vcpu)) => crate::irq::kick(dom, vcpu),
        Ok(None) => {}
        Err(error) => println!("{}v{}: event upcall lost: {error}", dom.name, upcall.vcpu),
    }
}

/// EVTCHNOP_*: the argument structure in (read as xen-hypercall's one-element array), the
/// crate's answer out.
pub fn event_channel_op(op: EventChannelOp, mem: &CurrentVcpu) -> HypercallResult {
    let mut buf = [0u8; xen_hypercall::MAX_ELEMENT_SIZE];
    let bytes = op.read_arg(mem, &mut buf)?;
    let caller = domain::current().id;
    let outcome = {
        let mut events = EVENTS.lock();
        let Some(events) = events.as_mut() else { return Err(Errno::ENOSYS) };
        let outcome = events.hypercall(caller, op.cmd, bytes, &GuestEventMemory);
        if let Some(upcall) = outcome.upcall {
            inject(upcall);
        }
        outcome
    };
    if outcome.ret < 0 {
        return Err(Errno::from_ret(outcome.ret).unwrap_or(Errno::EINVAL));
    }
    if op.cmd == xen_evtchn::EVTCHNOP_BIND_VIRQ {
        // dom0's console may just have moved to console_io (hvc0 binds VIRQ_CONSOLE): typed
        // input held back for its UART now has somewhere to go.
        crate::console::resume_input();
    }
    guest::write_va(op.arg.0, bytes)?;
    if let Some(event) = outcome.hypervisor {
        super::services::notify(event.dom, event.port, event.consumer);
    }
    Ok(outcome.ret)
}

/// SCHEDOP_poll, as Xen's do_poll() checks it: each port read (-EFAULT) and one of the
/// caller's (-EINVAL); 0 at once when one is pending. When none is, 0 at once as well rather
/// than a wait: each vCPU here owns its physical CPU, and a poll may return early on Xen too
/// (any event wakes the vCPU; a timeout may have passed), so callers check their ports again.
pub fn poll(dom: u16, poll: &Poll, mem: &CurrentVcpu) -> HypercallResult {
    for i in 0..poll.ports.len() {
        let port = poll.port(mem, i)?;
        let events = EVENTS.lock();
        let events = events.as_ref().ok_or(Errno::EINVAL)?;
        events.status(dom, dom, port).map_err(|_| Errno::EINVAL)?;
        let pending = GuestEventMemory.shared_bitmaps(dom).is_some_and(|b| b.is_pending(port));
        if pending {
            return Ok(0);
        }
    }
    Ok(0)
}

/// A vCPU registered its vcpu_info: events pending before are announced there (Xen's
/// behaviour), so none is lost.
pub fn vcpu_info_registered(dom: u16, vcpu: u32) {
    let events = EVENTS.lock();
    if let Some(bits) = GuestEventMemory.vcpu_info(dom, vcpu) {
        if xen_evtchn::delivery::mark_all_pending(&bits) == xen_evtchn::Delivery::Upcall {
            inject(Upcall { dom, vcpu });
        }
    }
    drop(events);
}

/// Binds a port of `dom` to a hypervisor service (`consumer`); returns the port.
pub fn bind_hypervisor(dom: u16, consumer: u32) -> Option<u32> {
    EVENTS.lock().as_mut()?.bind_hypervisor(dom, consumer).ok()
}

/// A hypervisor service notifies `dom` on `port`.
pub fn notify_guest(dom: u16, port: u32) {
    let mut events = EVENTS.lock();
    let Some(events) = events.as_mut() else { return };
    if let Ok(Some(upcall)) = events.notify_guest(dom, port, &GuestEventMemory) {
        inject(upcall);
    }
}

/// Raises `virq` for `dom`'s vCPU `vcpu`, if the domain bound it.
pub fn raise_virq(dom: u16, virq: u32, vcpu: u32) {
    let mut events = EVENTS.lock();
    let Some(events) = events.as_mut() else { return };
    if let Some(upcall) = events.raise_virq(dom, virq, vcpu, &GuestEventMemory) {
        inject(upcall);
    }
}

/// Whether `dom` bound `virq` (on vCPU 0).
pub fn virq_bound(dom: u16, virq: u32) -> bool {
    EVENTS.lock().as_ref().is_some_and(|e| e.virq_binding(dom, virq, 0).is_some())
}

/// Ports in use, for the monitor.
pub fn stats(dom: u16) -> Option<xen_evtchn::DomainStats> {
    EVENTS.lock().as_ref()?.stats(dom)
}

/// Closes every port of a stopped domain (its interdomain peers go back to unbound) and
/// forgets it; returns how many ports were closed.
pub fn remove_domain(dom: u16) -> u32 {
    EVENTS.lock().as_mut().and_then(|e| e.remove_domain(dom).ok()).map_or(0, |s| s.closed)
}
