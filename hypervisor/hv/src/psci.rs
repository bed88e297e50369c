//! PSCI 1.0 for the guests (DEN0022), over HVC or SMC: the guest's CPU_ON starts the physical
//! CPU its vCPU is pinned to, SYSTEM_OFF/RESET from dom0 stop the board. Calls the hypervisor
//! makes to the firmware go through the conduit the host device tree names.

use crate::domain::{self, VcpuState};
use smccc::psci;
use smccc::{Hvc, Smc};

/// SMCCC calls we answer besides PSCI (DEN0028).
const SMCCC_VERSION: u32 = 0x8000_0000;
const SMCCC_ARCH_FEATURES: u32 = 0x8000_0001;
const SMCCC_VERSION_1_1: u64 = 0x1_0001;
const PSCI_VERSION_1_0: u64 = 0x1_0000;

// PSCI return codes.
const SUCCESS: i64 = 0;
const NOT_SUPPORTED: i64 = -1;
const INVALID_PARAMETERS: i64 = -2;
const ALREADY_ON: i64 = -4;
const ON_PENDING: i64 = -5;
const INTERNAL_FAILURE: i64 = -6;
const INVALID_ADDRESS: i64 = -9;

/// MIGRATE_INFO_TYPE: no Trusted OS that would need migrating.
const MIGRATE_TYPE_NOT_PRESENT: i64 = 2;

/// What the trap handler must do after a PSCI call.
pub enum Outcome {
    /// Return to the guest with this value in x0.
    Return(i64),
    /// The calling vCPU turned itself off.
    CpuOff,
}

/// Handles SMCCC function `function` with arguments x1..x3 from the vCPU running here.
pub fn handle_call(function: u32, args: [u64; 3]) -> Outcome {
    let ret = match function {
        SMCCC_VERSION => SMCCC_VERSION_1_1 as i64,
        SMCCC_ARCH_FEATURES => NOT_SUPPORTED,
        psci::PSCI_VERSION => PSCI_VERSION_1_0 as i64,
        psci::PSCI_FEATURES => features(args[0] as u32),
        psci::PSCI_MIGRATE_INFO_TYPE => MIGRATE_TYPE_NOT_PRESENT,
        psci::PSCI_CPU_ON_32 => cpu_on(args[0] & 0xffff_ffff, args[1] & 0xffff_ffff, args[2] & 0xffff_ffff),
        psci::PSCI_CPU_ON_64 => cpu_on(args[0], args[1], args[2]),
        psci::PSCI_AFFINITY_INFO_32 | psci::PSCI_AFFINITY_INFO_64 => affinity_info(args[0], args[1]),
        psci::PSCI_CPU_OFF => return cpu_off(),
        psci::PSCI_SYSTEM_OFF => system_off_of(domain::current(), false),
        psci::PSCI_SYSTEM_RESET => system_off_of(domain::current(), true),
        _ => NOT_SUPPORTED,
    };
    Outcome::Return(ret)
}

/// SYSTEM_OFF/RESET: dom0's is the board's; a domU's stops that domU only.
fn system_off_of(dom: &'static domain::Domain, reset: bool) -> ! {
    match (dom.id, reset) {
        (0, false) => crate::system_off("dom0 asked for SYSTEM_OFF"),
        (0, true) => crate::system_reset("dom0 asked for SYSTEM_RESET"),
        _ => crate::stop_domain(dom, if reset { "asked for SYSTEM_RESET" } else { "powered off" }),
    }
}

fn features(function: u32) -> i64 {
    match function {
        SMCCC_VERSION
        | psci::PSCI_VERSION
        | psci::PSCI_FEATURES
        | psci::PSCI_MIGRATE_INFO_TYPE
        | psci::PSCI_CPU_ON_32
        | psci::PSCI_CPU_ON_64
        | psci::PSCI_CPU_OFF
        | psci::PSCI_AFFINITY_INFO_32
        | psci::PSCI_AFFINITY_INFO_64
        | psci::PSCI_SYSTEM_OFF
        | psci::PSCI_SYSTEM_RESET => SUCCESS,
        _ => NOT_SUPPORTED,
    }
}

fn cpu_on(target_mpidr: u64, entry: u64, context: u64) -> i64 {
    let dom = domain::current();
    let Some(vcpu) = dom.vcpu_by_mpidr(target_mpidr) else { return INVALID_PARAMETERS };
    if !dom.ipa_is_ram(entry) {
        return INVALID_ADDRESS;
    }
    match vcpu.request_start(entry, context) {
        Ok(()) => {}
        Err(VcpuState::On) => return ALREADY_ON,
        Err(_) => return ON_PENDING,
    }
    let pcpu_mpidr = crate::platform().cpu_mpidr(vcpu.pcpu);
    match firmware_cpu_on(pcpu_mpidr, vcpu.pcpu as u64) {
        Ok(()) => SUCCESS,
        Err(error) => {
            crate::println!("{}v{}: firmware CPU_ON of CPU {} failed: {:?}", dom.name, vcpu.id, vcpu.pcpu, error);
            vcpu.abort_start();
            INTERNAL_FAILURE
        }
    }
}

fn affinity_info(target_mpidr: u64, lowest_level: u64) -> i64 {
    if lowest_level != 0 {
        return INVALID_PARAMETERS;
    }
    match domain::current().vcpu_by_mpidr(target_mpidr) {
        None => INVALID_PARAMETERS,
        Some(vcpu) => match vcpu.state() {
            VcpuState::On => 0,
            VcpuState::Off => 1,
            VcpuState::OnPending => 2,
        },
    }
}

fn cpu_off() -> Outcome {
    domain::current_vcpu().set_off();
    Outcome::CpuOff
}

/// Starts physical CPU `pcpu` at the hypervisor's secondary entry, where it runs the vCPU
/// pinned to it that waits to start.
pub fn start_physical_cpu(pcpu: usize) -> Result<(), psci::error::Error> {
    firmware_cpu_on(crate::platform().cpu_mpidr(pcpu), pcpu as u64)
}

/// Starts physical CPU `mpidr` at the hypervisor's secondary entry with x0 = `cpu_index`.
fn firmware_cpu_on(mpidr: u64, cpu_index: u64) -> Result<(), psci::error::Error> {
    let entry = crate::arch::head::secondary_entry as *const () as u64;
    if crate::firmware_uses_hvc() {
        psci::cpu_on::<Hvc>(mpidr, entry, cpu_index)
    } else {
        psci::cpu_on::<Smc>(mpidr, entry, cpu_index)
    }
}

/// Turns this physical CPU off through the firmware; does not return.
pub fn firmware_cpu_off() -> ! {
    let _ = if crate::firmware_uses_hvc() { psci::cpu_off::<Hvc>() } else { psci::cpu_off::<Smc>() };
    crate::arch::cpu::halt()
}

pub fn firmware_system_off() -> ! {
    let _ = if crate::firmware_uses_hvc() { psci::system_off::<Hvc>() } else { psci::system_off::<Smc>() };
    crate::arch::cpu::halt()
}

pub fn firmware_system_reset() -> ! {
    let _ = if crate::firmware_uses_hvc() { psci::system_reset::<Hvc>() } else { psci::system_reset::<Smc>() };
    crate::arch::cpu::halt()
}

/// Whether the firmware reports physical CPU `pcpu` off (a CPU_OFF it asked for completed).
pub fn physical_cpu_is_off(pcpu: usize) -> bool {
    let mpidr = crate::platform().cpu_mpidr(pcpu);
    let state = if crate::firmware_uses_hvc() {
        psci::affinity_info::<Hvc>(mpidr, psci::LowestAffinityLevel::All)
    } else {
        psci::affinity_info::<Smc>(mpidr, psci::LowestAffinityLevel::All)
    };
    state == Ok(psci::AffinityState::Off)
}
