//! Destroying and rebuilding a domU (the monitor's `destroy` and `restart`), as Xen's toolstack
//! does with `xl destroy` and `xl create` of the same configuration.
//!
//! Destroy: the domain is marked dying and its vCPUs' physical CPUs are kicked; each vCPU stops
//! at its next exit and its CPU is turned off (the firmware resets it before it runs anything
//! again). Once the firmware reports them off, the domain is released: its event channels
//! closed (peers see them unbound), the grants it mapped unpinned, its xenstore connection and
//! /local/domain/N removed (@releaseDomain fires), its console quiet; if it had the screen and
//! buttons (/reptar/focus names it), they go back to dom0.
//!
//! Restart: a destroyed domain is rebuilt from its boot configuration (builder::rebuild_domu)
//! and its vCPU 0 started. Not while another domain still maps one of its pages (a grant or a
//! foreign mapping: dom0's backends unmap theirs when they see the domain's xenstore entries
//! go): the RAM would change under that mapping, so the restart waits for the last unmap.

use crate::arch::{percpu, timer};
use crate::domain::{Domain, DomainState};
use crate::println;
use core::sync::atomic::{AtomicBool, Ordering};

/// How long the dying vCPUs have to stop, in seconds of the generic timer.
const STOP_TIMEOUT_SECONDS: u64 = 2;

fn counter_frequency() -> u64 {
    aarch64_cpu::registers::Readable::get(&aarch64_cpu::registers::CNTFRQ_EL0).max(1)
}

/// Stops and releases `dom`. Errors say why it could not be done.
pub fn destroy(dom: &'static Domain) -> Result<(), &'static str> {
    if dom.id == 0 {
        return Err("dom0 cannot be destroyed: it is the board's domain");
    }
    match dom.state() {
        DomainState::Destroyed if RESTART_PENDING[dom.id as usize].swap(false, Ordering::AcqRel) => {
            println!("{}: its pending restart is cancelled", dom.name);
            return Ok(());
        }
        DomainState::Destroyed => return Err("already destroyed"),
        DomainState::Running => dom.set_state(DomainState::Dying),
        DomainState::Dying => {}
    }
    let here = percpu::this_cpu().index;
    if dom.vcpus.iter().any(|v| v.pcpu == here) {
        return Err("its vCPU runs on this CPU: destroy it from another one");
    }
    for vcpu in &dom.vcpus {
        crate::irq::kick(dom, vcpu.id);
    }
    let deadline = timer::count() + STOP_TIMEOUT_SECONDS * counter_frequency();
    while !dom.vcpus.iter().all(|v| v.state() == crate::domain::VcpuState::Off && crate::psci::physical_cpu_is_off(v.pcpu)) {
        if timer::count() > deadline {
            return Err("its vCPUs did not stop (still dying; try again)");
        }
        core::hint::spin_loop();
    }
    release(dom);
    dom.set_state(DomainState::Destroyed);
    Ok(())
}

/// Gives back what the stopped domain held in the hypervisor's shared state.
fn release(dom: &Domain) {
    let ports = crate::xen::events::remove_domain(dom.id);
    let foreign = crate::xen::grants::release_domain(dom.id);
    let focus_reset = crate::xen::xenstore::disconnect(dom.id);
    crate::xen::console_ring::disconnect(dom.id);
    println!("{} destroyed: {ports} event channel(s) closed; {foreign} of its granted pages still mapped by others", dom.name);
    if focus_reset {
        // The guest screen shows its last picture: dom0's framebuffer instead, even without a
        // vfb backend in dom0 to follow the focus.
        crate::display::show_dom0();
        println!("screen and buttons: back to dom0 ({} had them)", dom.name);
    }
}

/// Domains whose restart waits for other domains to unmap their pages, by id.
static RESTART_PENDING: [AtomicBool; crate::domain::MAX_DOMAINS] = [const { AtomicBool::new(false) }; crate::domain::MAX_DOMAINS];

/// Pages of `dom` other domains still map (grants, foreign mappings).
fn pages_mapped_by_others(dom: &Domain) -> usize {
    crate::xen::grants::orphaned_mappings(dom.id) as usize + crate::xen::memory::foreign_maps_of(dom.id)
}

/// Rebuilds `dom` from its boot configuration and starts it (destroying it first if it runs).
/// While other domains still map some of its pages (a backend that has not noticed yet), the
/// restart waits: it goes ahead when the last of them is unmapped.
pub fn restart(dom: &'static Domain) -> Result<(), alloc::string::String> {
    if dom.id == 0 {
        return Err("dom0 cannot be restarted: it is the board's domain".into());
    }
    if dom.state() != DomainState::Destroyed {
        destroy(dom)?;
    }
    let mapped = pages_mapped_by_others(dom);
    if mapped > 0 {
        RESTART_PENDING[dom.id as usize].store(true, Ordering::Release);
        println!("{}: restart waits until other domains unmap its last {mapped} page(s)", dom.name);
        return Ok(());
    }
    rebuild_and_start(dom)
}

fn rebuild_and_start(dom: &'static Domain) -> Result<(), alloc::string::String> {
    RESTART_PENDING[dom.id as usize].store(false, Ordering::Release);
    let (vcpu, entry, dtb) = crate::builder::rebuild_domu(dom).map_err(|e| alloc::format!("cannot rebuild it: {e}"))?;
    vcpu.request_start(entry, dtb).map_err(|state| alloc::format!("its vCPU 0 is {state:?}"))?;
    dom.set_state(DomainState::Running);
    if let Err(error) = crate::psci::start_physical_cpu(vcpu.pcpu) {
        vcpu.abort_start();
        dom.set_state(DomainState::Destroyed);
        return Err(alloc::format!("the firmware did not start CPU {}: {error:?}", vcpu.pcpu));
    }
    println!("{} restarted from its boot configuration", dom.name);
    Ok(())
}

/// Another domain unmapped pages of others: a restart that waited for them goes ahead. Called
/// with no lock held, at the end of the unmapping hypercall.
pub fn resume_pending_restarts() {
    for dom in crate::domain::all() {
        if RESTART_PENDING[dom.id as usize].load(Ordering::Acquire)
            && dom.state() == DomainState::Destroyed
            && pages_mapped_by_others(dom) == 0
        {
            if let Err(error) = rebuild_and_start(dom) {
                println!("{}: not restarted: {error}", dom.name);
            }
        }
    }
}

/// Called on the way back to a guest: a vCPU of a dying domain stops here, and its physical
/// CPU is turned off.
pub fn stop_if_dying(dom: &Domain) {
    if dom.is_dying() {
        crate::domain::current_vcpu().set_off();
        crate::psci::firmware_cpu_off()
    }
}
