//! What the hypervisor does when a guest traps: hypercalls and PSCI, stage-2 faults, anything
//! else a guest may try. A guest's mistake is answered in the guest (an error code, an abort or
//! an undefined instruction exception) and logged; it never stops the hypervisor.

use crate::arch::cpu::{self, El1ExceptionState, Syndrome};
use crate::arch::exceptions::{ExceptionKind, TrapFrame};
use crate::domain;
use crate::mmio;
use crate::psci;
use arm_trap::{Esr, SysReg};

use arm_trap::class as ec;

/// The HVC immediate of the Xen hypercall ABI (arch-arm.h).
const XEN_HYPERCALL_TAG: u64 = 0xea1;

pub fn handle_exception(frame: &mut TrapFrame, kind: ExceptionKind) {
    let from_guest = matches!(kind, ExceptionKind::Lower64Sync | ExceptionKind::Lower64Irq | ExceptionKind::Lower64Fiq);
    if from_guest {
        crate::arch::percpu::record_guest_frame(frame);
        crate::irq::sync_from_guest();
    }
    match kind {
        ExceptionKind::Lower64Sync => guest_sync(frame),
        ExceptionKind::Lower64Irq | ExceptionKind::Lower64Fiq => crate::irq::handle_physical(),
        ExceptionKind::Lower32Sync | ExceptionKind::Lower32Irq | ExceptionKind::Lower32Fiq | ExceptionKind::Lower32SError => {
            // EL1 is AArch64 (HCR_EL2.RW) and our guests run AArch64 user space only.
            let dom = domain::current();
            crate::println!("{}: AArch32 exception {:?} at {:#x}: not supported, stopping the domain", dom.name, kind, frame.elr);
            crate::stop_domain(dom, "AArch32 guest code");
        }
        ExceptionKind::Lower64SError => {
            let syndrome = Syndrome::read();
            crate::println!("unexpected {:?} from guest, ESR {:#x}, PC {:#x}: ignored", kind, syndrome.esr, frame.elr);
        }
        _ => hypervisor_fault(frame, kind),
    }
    if from_guest {
        crate::lifecycle::stop_if_dying(domain::current());
        crate::irq::fill_for_guest();
    }
}

/// An exception taken from EL2 itself is a hypervisor bug: report it and stop the board.
fn hypervisor_fault(frame: &TrapFrame, kind: ExceptionKind) -> ! {
    let s = Syndrome::read();
    crate::println!("hypervisor exception {:?}: ESR {:#x} (class {:#x}), FAR {:#x}, PC {:#x}", kind, s.esr, s.class(), s.far, frame.elr);
    for (i, pair) in frame.x.chunks(2).enumerate() {
        match pair {
            [a, b] => crate::println!("  x{:<2} {:#018x}  x{:<2} {:#018x}", 2 * i, a, 2 * i + 1, b),
            [a] => crate::println!("  x{:<2} {:#018x}", 2 * i, a),
            _ => {}
        }
    }
    crate::system_off("hypervisor fault")
}

fn guest_sync(frame: &mut TrapFrame) {
    let s = Syndrome::read();
    match s.class() {
        ec::HVC64 => {
            // ELR already points past the HVC.
            let imm = s.iss() & 0xffff;
            if imm == XEN_HYPERCALL_TAG {
                crate::xen::hypercall(frame);
            } else if imm == 0 {
                smccc_call(frame);
            } else {
                frame.x[0] = u64::MAX; // SMCCC NOT_SUPPORTED
            }
        }
        ec::SMC64 => {
            // A trapped SMC returns to the SMC itself: step over it.
            frame.elr += 4;
            smccc_call(frame);
        }
        ec::DATA_ABORT_LOWER => data_abort(frame, &s),
        ec::INST_ABORT_LOWER => stage2_abort(frame, &s),
        ec::SYSREG => sysreg(frame, &s),
        _ => {
            let dom = domain::current();
            crate::println!("{}v{}: unhandled trap, ESR {:#x} (class {:#x}) at {:#x}: undefined", dom.name, domain::current_vcpu().id, s.esr, s.class(), frame.elr);
            inject_undefined(frame, &s);
        }
    }
}

fn smccc_call(frame: &mut TrapFrame) {
    let function = frame.x[0] as u32;
    match psci::handle_call(function, [frame.x[1], frame.x[2], frame.x[3]]) {
        psci::Outcome::Return(value) => frame.x[0] = value as u64,
        psci::Outcome::CpuOff => crate::vcpu_stopped(),
    }
}

/// A load or store to an address the domain's stage 2 does not map: an emulated device's
/// register, or memory that is not the domain's.
fn data_abort(frame: &mut TrapFrame, s: &Syndrome) {
    let esr = Esr(s.esr);
    if let Some(access) = esr.data_access() {
        match mmio::emulate(domain::current(), frame, s.fault_ipa(), access) {
            mmio::Outcome::Done => {
                frame.elr += esr.instruction_len();
                return;
            }
            mmio::Outcome::BusError => return inject_abort(frame, s, true),
            mmio::Outcome::NotEmulated => {}
        }
    }
    stage2_abort(frame, s)
}

/// MSR/MRS that trap: the SGI generation registers (HCR_EL2.IMO), delivered by the vGIC.
/// Anything else is undefined for the guest.
fn sysreg(frame: &mut TrapFrame, s: &Syndrome) {
    let dom = domain::current();
    let vcpu = domain::current_vcpu();
    let Some(access) = Esr(s.esr).sysreg_access() else { return inject_undefined(frame, s) };
    let sgi = match access.register {
        SysReg::ICC_SGI1R_EL1 | SysReg::ICC_ASGI1R_EL1 if !access.read => Some(false),
        SysReg::ICC_SGI0R_EL1 if !access.read => Some(true),
        _ => None,
    };
    let Some(group0) = sgi else {
        crate::println!("{}v{}: {} of {} at {:#x}: undefined", dom.name, vcpu.id, if access.read { "read" } else { "write" }, access.register, frame.elr);
        return inject_undefined(frame, s);
    };
    let value = mmio::register(frame, access.gpr);
    let targets = {
        let mut vgic = dom.vgic.lock();
        if group0 {
            vgic.send_sgi0(vcpu.id, value)
        } else {
            vgic.send_sgi(vcpu.id, value)
        }
    };
    for target in targets.iter() {
        crate::irq::kick(dom, target);
    }
    frame.elr += Esr(s.esr).instruction_len();
}


/// A guest touched an address its stage 2 does not map: not its memory. It gets a synchronous
/// external abort, as a bus error on a real board would give it, and we log the access.
fn stage2_abort(frame: &mut TrapFrame, s: &Syndrome) {
    let dom = domain::current();
    let vcpu = domain::current_vcpu();
    let is_data = s.class() == ec::DATA_ABORT_LOWER;
    let vbar = cpu::vbar_el1();
    if !is_data && (vbar..vbar.saturating_add(VECTOR_TABLE_SIZE)).contains(&frame.elr) {
        // The guest's own exception vectors are not in its memory: every abort we inject would
        // fault again. It cannot run any more.
        crate::println!("{}v{}: its exception vectors at {:#x} are not in its memory", dom.name, vcpu.id, vbar);
        crate::stop_domain(dom, "guest cannot take exceptions");
    }
    let write = is_data && (s.iss() & (1 << 6)) != 0;
    crate::println!(
        "{}v{}: stage-2 {} abort at IPA {:#x} ({}, VA {:#x}, PC {:#x}): not the domain's memory, abort injected",
        dom.name,
        vcpu.id,
        if is_data { "data" } else { "instruction" },
        s.fault_ipa(),
        if !is_data { "fetch" } else if write { "write" } else { "read" },
        s.far,
        frame.elr
    );
    inject_abort(frame, s, is_data);
}

/// SPSR_ELx.M values and vector offsets (Arm ARM D1.10.2).
const MODE_MASK: u64 = 0xf;
const MODE_EL0T: u64 = 0b0000;
const MODE_EL1T: u64 = 0b0100;
const VECTOR_CURRENT_SP0: u64 = 0x000;
const VECTOR_CURRENT_SPX: u64 = 0x200;
const VECTOR_LOWER_A64: u64 = 0x400;
const VECTOR_TABLE_SIZE: u64 = 0x800;
const SPSR_EL1H_DAIF_MASKED: u64 = 0x3c5;
const ESR_IL: u64 = 1 << 25;
/// Fault status: synchronous external abort, not on a translation table walk.
const FSC_SYNC_EXTERNAL: u64 = 0x10;

fn take_exception_to_el1(frame: &mut TrapFrame, class_lower: u8, class_same: u8, iss: u64, far: u64) {
    let from_el0 = frame.spsr & MODE_MASK == MODE_EL0T;
    let class = if from_el0 { class_lower } else { class_same };
    let vbar = cpu::set_el1_exception_state(&El1ExceptionState {
        esr: (u64::from(class) << 26) | ESR_IL | iss,
        far,
        elr: frame.elr,
        spsr: frame.spsr,
    });
    let offset = match frame.spsr & MODE_MASK {
        MODE_EL0T => VECTOR_LOWER_A64,
        MODE_EL1T => VECTOR_CURRENT_SP0,
        _ => VECTOR_CURRENT_SPX,
    };
    frame.elr = vbar + offset;
    frame.spsr = SPSR_EL1H_DAIF_MASKED;
}

fn inject_abort(frame: &mut TrapFrame, s: &Syndrome, is_data: bool) {
    if is_data {
        let wnr = s.iss() & (1 << 6);
        take_exception_to_el1(frame, ec::DATA_ABORT_LOWER, ec::DATA_ABORT_SAME, wnr | FSC_SYNC_EXTERNAL, s.far);
    } else {
        take_exception_to_el1(frame, ec::INST_ABORT_LOWER, ec::INST_ABORT_SAME, FSC_SYNC_EXTERNAL, s.far);
    }
}

fn inject_undefined(frame: &mut TrapFrame, s: &Syndrome) {
    // The trapped instruction is 4 bytes (IL set) and ELR points at it.
    let _ = s;
    take_exception_to_el1(frame, ec::UNKNOWN, ec::UNKNOWN, 0, 0);
}
