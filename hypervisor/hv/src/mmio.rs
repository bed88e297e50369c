//! Emulated MMIO: a guest's load or store to a device the hypervisor emulates (absent from its
//! stage 2) arrives as a data abort whose syndrome describes it; we perform it on the device
//! model and step over the instruction. An access the device refuses is a bus error for the
//! guest: an external abort, logged.

use crate::arch::exceptions::TrapFrame;
use crate::board;
use crate::domain::{self, Domain};
use crate::println;
use arm_trap::{DataAccess, ZERO_REGISTER};
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
    /// The domain's console UART.
    Uart,
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
            Emulated::Uart => match &dom.console {
                Some(uart) => uart.write(dom, offset, width, value).map(|()| 0).map_err(|e| e.to_string()),
                None => Err("no console UART".to_string()),
            },
        }
    } else {
        let value = match region.device {
            Emulated::Gicd => read_gic(dom.vgic.lock().dist_read(offset, width)),
            Emulated::Gicr => read_gic(dom.vgic.lock().redist_read(offset, width)),
            Emulated::Sp6 => board::sp6_read(offset, width).map_err(|e| e.to_string()),
            Emulated::Uart => match &dom.console {
                Some(uart) => uart.read(dom, offset, width).map_err(|e| e.to_string()),
                None => Err("no console UART".to_string()),
            },
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
