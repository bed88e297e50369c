//! Emulated MMIO: a guest's load or store to a device the hypervisor emulates (absent from its
//! stage 2) arrives as a data abort whose syndrome describes it; we perform it on the device
//! model and step over the instruction. An access the device refuses is a bus error for the
//! guest: an external abort, logged.

use crate::arch::exceptions::TrapFrame;
use crate::board;
use crate::domain::{self, Domain};
use crate::println;
use arm_trap::{AccessWidth, DataAccess, ZERO_REGISTER};
use boot_info::MemRange;
use alloc::string::{String, ToString};

/// The devices a domain's accesses can reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emulated {
    /// The vGIC distributor.
    Gicd,
    /// The vGIC redistributors, one pair of frames per vCPU.
    Gicr,
    /// The REPTAR SP6 FPGA (dom0).
    Sp6,
    /// The board's display controller (dom0).
    DisplayController,
    /// The domain's console UART.
    Uart,
    /// A host device given to the domain, its registers reached through the hypervisor
    /// because they share a page with another owner's (virtio-mmio slots are 512 bytes).
    Passthrough,
}

/// One emulated window of a domain's IPA space.
#[derive(Clone, Copy, Debug)]
pub struct Region {
    pub range: MemRange,
    pub device: Emulated,
}

/// What became of an access.
pub enum Outcome {
    /// Done: the guest continues after the instruction.
    Done,
    /// No emulated device there.
    NotEmulated,
    /// The device refused it: the guest gets a bus error.
    BusError,
}

/// Emulates `access` at `ipa` for the vCPU whose context is `frame`.
pub fn emulate(dom: &Domain, frame: &mut TrapFrame, ipa: u64, access: DataAccess) -> Outcome {
    let Some(region) = dom.mmio.iter().find(|r| r.range.contains(ipa)) else { return Outcome::NotEmulated };
    let offset = ipa - region.range.base;
    let width = access.width;
    let vcpu = domain::current_vcpu().id;
    let result: Result<u64, String> = if access.write {
        let value = access.store_value(register(frame, access.register));
        match region.device {
            Emulated::Gicd => write_gic(dom, dom.vgic.lock().dist_write(offset, width, value)),
            Emulated::Gicr => write_gic(dom, dom.vgic.lock().redist_write(offset, width, value)),
            Emulated::Sp6 => board::sp6_write(offset, width, value).map(|()| 0).map_err(|e| e.to_string()),
            Emulated::DisplayController => crate::display::controller_write(offset, width, value).map(|()| 0),
            Emulated::Uart => match &dom.console {
                Some(uart) => uart.write(dom, offset, width, value).map(|()| 0).map_err(|e| e.to_string()),
                None => Err("no console UART".to_string()),
            },
            Emulated::Passthrough => passthrough_write(region.range.base + offset, width, value).map(|()| 0),
        }
    } else {
        let value = match region.device {
            Emulated::Gicd => read_gic(dom.vgic.lock().dist_read(offset, width)),
            Emulated::Gicr => read_gic(dom.vgic.lock().redist_read(offset, width)),
            Emulated::Sp6 => board::sp6_read(offset, width).map_err(|e| e.to_string()),
            Emulated::DisplayController => crate::display::controller_read(offset, width),
            Emulated::Uart => match &dom.console {
                Some(uart) => uart.read(dom, offset, width).map_err(|e| e.to_string()),
                None => Err("no console UART".to_string()),
            },
            Emulated::Passthrough => passthrough_read(region.range.base + offset, width),
        };
        value.inspect(|&v| set_register(frame, access.register, access.load_result(v)))
    };
    match result {
        Ok(_) => Outcome::Done,
        Err(error) => {
            println!(
                "{}v{vcpu}: {} of {:?} at {:#x} (+{offset:#x}) refused: {error}; bus error injected",
                dom.name,
                if access.write { "write" } else { "read" },
                region.device,
                ipa
            );
            Outcome::BusError
        }
    }
}

fn read_gic(result: Result<vgic::ReadOutcome, vgic::AccessError>) -> Result<u64, String> {
    let outcome = result.map_err(|e| e.to_string())?;
    note(outcome.note);
    Ok(outcome.value)
}

fn write_gic(dom: &Domain, result: Result<vgic::WriteOutcome, vgic::AccessError>) -> Result<u64, String> {
    let outcome = result.map_err(|e| e.to_string())?;
    note(outcome.note);
    for vcpu in outcome.kick.iter() {
        crate::irq::kick(dom, vcpu);
    }
    for &pintid in outcome.deactivate.as_slice() {
        crate::arch::gic::deactivate(u32::from(pintid));
    }
    Ok(0)
}

fn note(note: Option<vgic::Note>) {
    if let Some(vgic::Note::Reserved) = note {
        static REPORTED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
        if !REPORTED.swap(true, core::sync::atomic::Ordering::Relaxed) {
            println!("vGIC: access to a reserved register (read as zero, write ignored; reported once)");
        }
    }
}

pub fn register(frame: &TrapFrame, index: u8) -> u64 {
    if index == ZERO_REGISTER {
        0
    } else {
        frame.x[index as usize]
    }
}

pub fn set_register(frame: &mut TrapFrame, index: u8, value: u64) {
    if index != ZERO_REGISTER {
        frame.x[index as usize] = value;
    }
}

/// A naturally aligned access of a passed-through device register at host address `pa`.
fn check_alignment(pa: u64, width: AccessWidth) -> Result<(), String> {
    if pa % width.bytes() != 0 {
        return Err("misaligned access".to_string());
    }
    Ok(())
}

fn passthrough_read(pa: u64, width: AccessWidth) -> Result<u64, String> {
    check_alignment(pa, width)?;
    // SAFETY: `pa` lies in the device window given to this domain (checked by the region
    // lookup), identity mapped as Device memory in the hypervisor's map, naturally aligned.
    Ok(unsafe {
        match width {
            AccessWidth::Byte => u64::from(core::ptr::read_volatile(pa as *const u8)),
            AccessWidth::Halfword => u64::from(core::ptr::read_volatile(pa as *const u16)),
            AccessWidth::Word => u64::from(core::ptr::read_volatile(pa as *const u32)),
            AccessWidth::Doubleword => core::ptr::read_volatile(pa as *const u64),
        }
    })
}

fn passthrough_write(pa: u64, width: AccessWidth, value: u64) -> Result<(), String> {
    check_alignment(pa, width)?;
    // SAFETY: as for passthrough_read.
    unsafe {
        match width {
            AccessWidth::Byte => core::ptr::write_volatile(pa as *mut u8, value as u8),
            AccessWidth::Halfword => core::ptr::write_volatile(pa as *mut u16, value as u16),
            AccessWidth::Word => core::ptr::write_volatile(pa as *mut u32, value as u32),
            AccessWidth::Doubleword => core::ptr::write_volatile(pa as *mut u64, value),
        }
    }
    Ok(())
}
