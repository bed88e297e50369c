//! EL2 configuration of a physical CPU for running one guest vCPU, and the trap syndrome
//! registers the trap handlers read.

use aarch64_cpu::registers::*;

/// HCR_EL2 for our guests (Arm ARM D23.2.48):
/// - RW: EL1 is AArch64; VM: stage-2 translation on;
/// - SWIO, FB, BSU=inner shareable: set/way and TLB/cache maintenance done by the guest stay
///   coherent when its vCPUs move (Xen sets the same);
/// - TSC: SMC traps to us (PSCI over SMC is emulated like over HVC);
/// - TIDCP, TACR: implementation-defined and auxiliary control registers trap (the guest gets an
///   undefined instruction): a guest must not tune the physical core;
/// - PTW: a stage-1 walk that hits Device memory at stage 2 faults.
/// - IMO, FMO: physical interrupts are taken by the hypervisor, the guest sees virtual ones
///   (and its SGI register writes trap, to be delivered by its vGIC).
fn guest_hcr() -> u64 {
    (HCR_EL2::RW::EL1IsAarch64
        + HCR_EL2::IMO::EnableVirtualIRQ
        + HCR_EL2::FMO::EnableVirtualFIQ
        + HCR_EL2::VM::Enable
        + HCR_EL2::SWIO::SET
        + HCR_EL2::FB::SET
        + HCR_EL2::BSU::InnerShareable
        + HCR_EL2::TSC::EnableTrapEl1SmcToEl2
        + HCR_EL2::TIDCP::SET
        + HCR_EL2::TACR::SET
        + HCR_EL2::PTW::SET)
        .value
}

/// CPTR_EL2, non-VHE layout: RES1 bits [13:12], [9:0] (which include TZ, trapping SVE, absent
/// on our core), TTA (trace registers trap). FP/SIMD is the vCPU's own: one vCPU per physical
/// CPU, and the hypervisor is built soft-float so it never touches those registers.
const CPTR_EL2_RES1: u64 = 0x33ff;
const CPTR_EL2_TTA: u64 = 1 << 20;

/// SCTLR_EL1 a guest starts with: MMU and caches off, RES1 bits only (booting.rst).
const SCTLR_EL1_RESET: u64 = 0x30d0_0800;

/// Stage-2 configuration for this CPU: the translation regime every guest uses.
pub fn init_stage2(vtcr: u64) {
    VTCR_EL2.set(vtcr);
}

/// Makes this physical CPU ready to run a vCPU of the domain whose stage-2 root is `vttbr` and
/// whose vCPU reads `vmpidr` as its MPIDR_EL1.
pub fn load_vcpu_context(vttbr: u64, vmpidr: u64) {
    HCR_EL2.set(guest_hcr());
    CPTR_EL2.set(CPTR_EL2_RES1 | CPTR_EL2_TTA);
    // Debug and PMU registers stay the guest's own (it is alone on this CPU); EL1 gets all the
    // counters (HPMN = PMCR_EL0.N).
    let pmcr_n = (read_pmcr_el0() >> 11) & 0x1f;
    MDCR_EL2.set(pmcr_n);
    // The guest uses the virtual timer; the EL1 physical timer traps, the counter is readable.
    CNTHCTL_EL2.write(CNTHCTL_EL2::EL1PCTEN::SET + CNTHCTL_EL2::EL1PCEN::CLEAR);
    CNTVOFF_EL2.set(0);
    VMPIDR_EL2.set(vmpidr);
    // SAFETY: writing VPIDR_EL2 (the MIDR the guest reads) and HSTR_EL2 (no AArch32 CP15 traps)
    // only changes what EL1 observes.
    unsafe {
        core::arch::asm!("msr vpidr_el2, {}", in(reg) MIDR_EL1.get(), options(nostack));
        core::arch::asm!("msr hstr_el2, xzr", options(nostack));
    }
    SCTLR_EL1.set(SCTLR_EL1_RESET);
    VTTBR_EL2.set(vttbr);
    // SAFETY: stage-2 TLB entries of this VMID may be stale from an earlier domain with it.
    unsafe { core::arch::asm!("isb", "tlbi vmalls12e1", "dsb nsh", "isb", options(nostack)) };
}

fn read_pmcr_el0() -> u64 {
    let value: u64;
    // SAFETY: reading PMCR_EL0 at EL2 has no side effect.
    unsafe { core::arch::asm!("mrs {}, pmcr_el0", out(reg) value, options(nomem, nostack)) };
    value
}

/// The syndrome of the exception being handled (EL2 view).
#[derive(Clone, Copy, Debug)]
pub struct Syndrome {
    pub esr: u64,
    pub far: u64,
    pub hpfar: u64,
}

impl Syndrome {
    pub fn read() -> Self {
        Syndrome { esr: ESR_EL2.get(), far: FAR_EL2.get(), hpfar: HPFAR_EL2.get() }
    }
    pub fn class(&self) -> u8 {
        arm_trap::Esr(self.esr).class()
    }
    pub fn iss(&self) -> u64 {
        u64::from(arm_trap::Esr(self.esr).iss())
    }
    /// The faulting intermediate physical address of a stage-2 abort: HPFAR_EL2.FIPA holds
    /// IPA[47:12] in bits [43:4]; the page offset comes from FAR_EL2.
    pub fn fault_ipa(&self) -> u64 {
        ((self.hpfar & 0x0fff_ffff_fff0) << 8) | (self.far & 0xfff)
    }
}

/// EL1 exception state, to inject an exception into the guest.
pub struct El1ExceptionState {
    pub esr: u64,
    pub far: u64,
    pub elr: u64,
    pub spsr: u64,
}

/// Writes the EL1 registers an exception taken to EL1 sets, and returns VBAR_EL1.
pub fn set_el1_exception_state(state: &El1ExceptionState) -> u64 {
    ESR_EL1.set(state.esr);
    FAR_EL1.set(state.far);
    ELR_EL1.set(state.elr);
    SPSR_EL1.set(state.spsr);
    VBAR_EL1.get()
}

pub fn vbar_el1() -> u64 {
    VBAR_EL1.get()
}

/// The EL1 system registers of the vCPU on this CPU, for the monitor.
pub struct El1Registers {
    pub sctlr: u64,
    pub ttbr0: u64,
    pub ttbr1: u64,
    pub vbar: u64,
    pub elr: u64,
    pub spsr: u64,
    pub esr: u64,
    pub far: u64,
    pub sp_el1: u64,
    pub sp_el0: u64,
}

impl El1Registers {
    pub fn read() -> Self {
        El1Registers {
            sctlr: SCTLR_EL1.get(),
            ttbr0: TTBR0_EL1.get(),
            ttbr1: TTBR1_EL1.get(),
            vbar: VBAR_EL1.get(),
            elr: ELR_EL1.get(),
            spsr: SPSR_EL1.get(),
            esr: ESR_EL1.get(),
            far: FAR_EL1.get(),
            sp_el1: SP_EL1.get(),
            sp_el0: SP_EL0.get(),
        }
    }
}

/// Parks this CPU for good.
pub fn halt() -> ! {
    loop {
        aarch64_cpu::asm::wfe();
    }
}
