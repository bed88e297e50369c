//! Software-generated interrupts: the guest's trapped writes to `ICC_SGI1R_EL1` (and
//! `ICC_ASGI1R_EL1`, the same with a single security state) and `ICC_SGI0R_EL1`
//! (IHI 0069, 12.2.x; they trap to EL2 while `HCR_EL2.IMO`/`FMO` are set).
//!
//! | bits | field |
//! |---|---|
//! | 55:48 | Aff3 |
//! | 47:44 | RS: the targets' Aff0 is RS * 16 + n |
//! | 40 | IRM: 1 = every PE but the sender; 0 = the list |
//! | 39:32 | Aff2 |
//! | 27:24 | INTID |
//! | 23:16 | Aff1 |
//! | 15:0 | TargetList: bit n = the PE with Aff0 = RS * 16 + n |

use crate::irq::{NR_SGIS, SGI_BASE};
use crate::{Bank, VcpuSet, Vgic, WriteOutcome};

/// Shift of `ICC_SGI1R_EL1.INTID` (27:24).
pub const ICC_SGI1R_INTID_SHIFT: u32 = 24;
/// Shift of `ICC_SGI1R_EL1.Aff1` (23:16).
pub const ICC_SGI1R_AFF1_SHIFT: u32 = 16;
/// Shift of `ICC_SGI1R_EL1.Aff2` (39:32).
pub const ICC_SGI1R_AFF2_SHIFT: u32 = 32;
/// `ICC_SGI1R_EL1.IRM` (bit 40).
pub const ICC_SGI1R_IRM: u64 = 1 << 40;
/// Shift of `ICC_SGI1R_EL1.RS` (47:44).
pub const ICC_SGI1R_RS_SHIFT: u32 = 44;
/// Shift of `ICC_SGI1R_EL1.Aff3` (55:48).
pub const ICC_SGI1R_AFF3_SHIFT: u32 = 48;

/// The PEs an SGI goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SgiTargets {
    /// IRM = 1: every PE except the sender.
    AllButSelf,
    /// IRM = 0: the PEs with affinity Aff3.Aff2.Aff1.(RS * 16 + n) for each bit n of
    /// `target_list`.
    List {
        /// Aff3.
        aff3: u8,
        /// Aff2.
        aff2: u8,
        /// Aff1.
        aff1: u8,
        /// RS.
        rs: u8,
        /// TargetList.
        target_list: u16,
    },
}

/// An `ICC_SGI1R_EL1` / `ICC_SGI0R_EL1` value, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SgiRequest {
    /// The SGI (0..=15).
    pub intid: u32,
    /// Where it goes.
    pub targets: SgiTargets,
}

impl SgiRequest {
    /// Decodes a register value (RES0 bits are ignored).
    pub const fn decode(value: u64) -> SgiRequest {
        let intid = ((value >> ICC_SGI1R_INTID_SHIFT) & 0xf) as u32;
        let targets = if value & ICC_SGI1R_IRM != 0 {
            SgiTargets::AllButSelf
        } else {
            SgiTargets::List {
                aff3: (value >> ICC_SGI1R_AFF3_SHIFT) as u8,
                aff2: (value >> ICC_SGI1R_AFF2_SHIFT) as u8,
                aff1: (value >> ICC_SGI1R_AFF1_SHIFT) as u8,
                rs: ((value >> ICC_SGI1R_RS_SHIFT) & 0xf) as u8,
                target_list: value as u16,
            }
        };
        SgiRequest { intid, targets }
    }

    /// Whether the PE with MPIDR affinity `affinity` (Aff3 39:32, Aff2..Aff0 23:0) is
    /// addressed. With [`SgiTargets::AllButSelf`] every PE is: the caller leaves out the
    /// sender.
    pub const fn targets(&self, affinity: u64) -> bool {
        match self.targets {
            SgiTargets::AllButSelf => true,
            SgiTargets::List {
                aff3,
                aff2,
                aff1,
                rs,
                target_list,
            } => {
                let aff0 = affinity as u8;
                (affinity >> 32) as u8 == aff3
                    && (affinity >> 16) as u8 == aff2
                    && (affinity >> 8) as u8 == aff1
                    && aff0 >> 4 == rs
                    && target_list & (1 << (aff0 & 0xf)) != 0
            }
        }
    }
}

impl Vgic {
    /// A write of `value` to `ICC_SGI1R_EL1` (or `ICC_ASGI1R_EL1`) by `from_vcpu`: makes the
    /// SGI pending on every target vCPU that exists, whatever its group (as with
    /// `GICD_CTLR.DS` = 1, a Group 1 SGI request also reaches Group 0 SGIs). Targets with
    /// no vCPU are ignored. Returns the vCPUs it was made pending on, to kick.
    pub fn send_sgi(&mut self, from_vcpu: usize, value: u64) -> VcpuSet {
        self.send(from_vcpu, value, true)
    }

    /// A write of `value` to `ICC_SGI0R_EL1` by `from_vcpu`: as [`Vgic::send_sgi`], but only
    /// targets whose copy of the SGI is Group 0 take it.
    pub fn send_sgi0(&mut self, from_vcpu: usize, value: u64) -> VcpuSet {
        self.send(from_vcpu, value, false)
    }

    fn send(&mut self, from_vcpu: usize, value: u64, group1_request: bool) -> VcpuSet {
        let request = SgiRequest::decode(value);
        let intid = SGI_BASE + request.intid;
        let mut targets = VcpuSet::EMPTY;
        if intid >= NR_SGIS {
            return targets;
        }
        for vcpu in 0..self.redists.len() {
            let Some(affinity) = self.vcpu_affinity(vcpu) else {
                continue;
            };
            if vcpu == from_vcpu && request.targets == SgiTargets::AllButSelf {
                continue;
            }
            if !request.targets(affinity) {
                continue;
            }
            let bank = Bank::Private(vcpu);
            if self
                .irq(bank, intid)
                .is_some_and(|irq| group1_request || !irq.group1)
            {
                let mut out = WriteOutcome::default();
                self.update_irq(bank, intid, &mut out, |irq| {
                    irq.latch = true;
                    irq.pend_dirty |= irq.in_lr;
                });
                targets.insert(vcpu);
            }
        }
        targets
    }
}
