//! Interrupts: physical ones taken at EL2 (HCR_EL2.IMO) and the virtual ones each domain's
//! vGIC presents to its vCPUs through the list registers.
//!
//! On every exit from a guest the list registers are read back into the vGIC (what the guest
//! acknowledged or finished), and right before going back they are filled again with what is
//! pending for that vCPU. An interrupt raised for a vCPU running on another physical CPU kicks
//! that CPU with an SGI, so it exits and refills.

use crate::arch::gic;
use crate::domain::{self, Domain};
use crate::println;
use core::sync::atomic::{AtomicBool, Ordering};

/// List registers of this implementation, the same on every CPU.
fn nr_lrs() -> usize {
    gic::nr_list_registers().min(vgic::MAX_LRS)
}

/// Reads this CPU's list registers back into the running vCPU's vGIC state. On every exit,
/// before anything is emulated.
pub fn sync_from_guest() {
    let dom = domain::current();
    let vcpu = domain::current_vcpu();
    let n = nr_lrs();
    let mut lrs = [0u64; vgic::MAX_LRS];
    for (i, lr) in lrs.iter_mut().enumerate().take(n) {
        *lr = gic::read_lr(i);
    }
    dom.vgic.lock().sync_lrs(vcpu.id, &lrs[..n]);
}

/// Fills this CPU's list registers with what the running vCPU has pending. Right before
/// returning to the guest.
pub fn fill_for_guest() {
    let dom = domain::current();
    let vcpu = domain::current_vcpu();
    let n = nr_lrs();
    let mut lrs = [0u64; vgic::MAX_LRS];
    let more = dom.vgic.lock().fill_lrs(vcpu.id, &mut lrs[..n]);
    for (i, lr) in lrs.iter().enumerate().take(n) {
        gic::write_lr(i, *lr);
    }
    gic::set_underflow_interrupt(more);
}

/// Makes the physical CPU running `vcpu` of `dom` look at its interrupts again.
pub fn kick(dom: &Domain, vcpu: usize) {
    let Some(target) = dom.vcpus.get(vcpu) else { return };
    if target.pcpu != crate::arch::percpu::this_cpu().index {
        gic::send_sgi(gic::KICK_SGI, crate::platform().cpu_mpidr(target.pcpu));
    }
}

/// Sets the level of a virtual SPI of `dom` (a level-sensitive emulated device's line).
pub fn set_spi_level(dom: &Domain, intid: u32, level: bool) {
    let result = dom.vgic.lock().set_level(intid, level);
    match result {
        Ok(Some(vcpu)) => kick(dom, vcpu),
        Ok(None) => {}
        Err(error) => println!("{}: cannot set INTID {intid}: {error}", dom.name),
    }
}

/// Physical SPIs of devices given to a domain: (INTID, domain id). The virtual SPI of the same
/// number is linked to it, so the physical one stays active until the guest deactivates its
/// virtual twin.
static FORWARDED: spin::Mutex<[(u32, u16); 8]> = spin::Mutex::new([(0, 0); 8]);

/// Forwards physical SPI `intid` to `dom`'s SPI of the same number and enables it: for a
/// device given to a domain.
pub fn forward(dom: &Domain, intid: u32) -> Result<(), vgic::InjectError> {
    dom.vgic.lock().link_hw(intid, Some(intid))?;
    let mut forwarded = FORWARDED.lock();
    let slot = forwarded.iter_mut().find(|(i, _)| *i == 0).ok_or(vgic::InjectError::Pintid(intid))?;
    *slot = (intid, dom.id);
    drop(forwarded);
    gic::enable(intid);
    Ok(())
}

fn forwarded_to(intid: u32) -> Option<&'static Domain> {
    let forwarded = FORWARDED.lock();
    let &(_, domid) = forwarded.iter().find(|(i, _)| *i == intid && intid != 0)?;
    domain::get(domid)
}

/// Physical interrupts the hypervisor itself handles (its console, its keyboard).
pub type Handler = fn(intid: u32);
static HANDLERS: spin::Mutex<[(u32, Option<Handler>); 8]> = spin::Mutex::new([(0, None); 8]);

/// Routes physical SPI `intid` to `handler` and enables it.
pub fn register_handler(intid: u32, handler: Handler) {
    let mut handlers = HANDLERS.lock();
    if let Some(slot) = handlers.iter_mut().find(|(_, h)| h.is_none()) {
        *slot = (intid, Some(handler));
        drop(handlers);
        gic::enable(intid);
    } else {
        println!("no room to handle INTID {intid}");
    }
}

static UNEXPECTED_REPORTED: AtomicBool = AtomicBool::new(false);

/// Takes every pending physical interrupt of this CPU (an IRQ exception while a guest ran).
pub fn handle_physical() {
    while let Some(intid) = gic::acknowledge() {
        gic::end_of_interrupt(intid);
        match intid {
            gic::VIRTUAL_TIMER_PPI => {
                // The vCPU's own timer: linked to its virtual PPI 27, so it stays active
                // until the guest deactivates that one.
                let dom = domain::current();
                let vcpu = domain::current_vcpu();
                if let Err(error) = dom.vgic.lock().raise_ppi(vcpu.id, intid) {
                    println!("{}v{}: timer interrupt lost: {error}", dom.name, vcpu.id);
                    gic::deactivate(intid);
                }
            }
            gic::MAINTENANCE_PPI => {
                // Level-sensitive: asserted while a list register awaits our attention (an
                // EOI'd level interrupt, an underflow). The exit already synced them into the
                // vGIC, so empty them now; the refill before returning to the guest puts back
                // what is still pending. Without this the interrupt would be taken forever.
                for lr in 0..nr_lrs() {
                    gic::write_lr(lr, 0);
                }
                gic::set_underflow_interrupt(false);
                gic::deactivate(intid);
            }
            gic::KICK_SGI => gic::deactivate(intid),
            _ if let Some(dom) = forwarded_to(intid) => {
                let result = dom.vgic.lock().raise_edge(intid);
                match result {
                    Ok(Some(vcpu)) => kick(dom, vcpu),
                    Ok(None) => {}
                    Err(error) => {
                        println!("{}: forwarded interrupt {intid} lost: {error}", dom.name);
                        gic::deactivate(intid);
                    }
                }
            }
            _ => {
                let handler = HANDLERS.lock().iter().find(|(i, h)| *i == intid && h.is_some()).and_then(|(_, h)| *h);
                match handler {
                    Some(handler) => handler(intid),
                    None if !UNEXPECTED_REPORTED.swap(true, Ordering::Relaxed) => {
                        println!("unexpected physical interrupt {intid}: ignored (reported once)")
                    }
                    None => {}
                }
                gic::deactivate(intid);
            }
        }
    }
}
