//! The state of one interrupt and the registers that hold one field per interrupt.
//!
//! The distributor (for SPIs) and each redistributor's SGI_base frame (for its SGIs and
//! PPIs) share these register layouts (IHI 0069, 12.9 and 12.11): `IGROUPR`,
//! `ISENABLER`/`ICENABLER`, `ISPENDR`/`ICPENDR`, `ISACTIVER`/`ICACTIVER` (one bit per
//! interrupt, 32 per register), `IPRIORITYR` (one byte per interrupt) and `ICFGR` (two bits
//! per interrupt, 16 per register). The semantics live here; [`crate::distributor`] and
//! [`crate::redistributor`] decode offsets and say which interrupts a register reaches.
//!
//! # Pending state
//!
//! An interrupt is pending when its latch is set (an edge, a write to `ISPENDR`, an SGI)
//! or, if it is level-sensitive, while its input line is high (IHI 0069, 4.1.2). Writes to
//! `ICPENDR` clear the latch only: a level-sensitive interrupt whose line is high stays
//! pending. The guest acknowledging the interrupt clears the latch (seen in
//! [`crate::lr`] when the list register stops being pending).

use crate::{Bank, Vgic, WriteOutcome};

/// First SGI.
pub const SGI_BASE: u32 = 0;
/// Number of SGIs.
pub const NR_SGIS: u32 = 16;
/// First PPI.
pub const PPI_BASE: u32 = 16;
/// First SPI; INTIDs below are private to each vCPU (SGIs and PPIs).
pub const SPI_BASE: u32 = 32;
/// First special INTID (1020-1023); nothing at or above it is an SPI.
pub const SPECIAL_INTID_BASE: u32 = 1020;

/// Offset of `GICD_IGROUPR<n>` / `GICR_IGROUPR0` (in SGI_base).
pub const IGROUPR: u64 = 0x0080;
/// Offset of `GICD_ISENABLER<n>` / `GICR_ISENABLER0`.
pub const ISENABLER: u64 = 0x0100;
/// Offset of `GICD_ICENABLER<n>` / `GICR_ICENABLER0`.
pub const ICENABLER: u64 = 0x0180;
/// Offset of `GICD_ISPENDR<n>` / `GICR_ISPENDR0`.
pub const ISPENDR: u64 = 0x0200;
/// Offset of `GICD_ICPENDR<n>` / `GICR_ICPENDR0`.
pub const ICPENDR: u64 = 0x0280;
/// Offset of `GICD_ISACTIVER<n>` / `GICR_ISACTIVER0`.
pub const ISACTIVER: u64 = 0x0300;
/// Offset of `GICD_ICACTIVER<n>` / `GICR_ICACTIVER0`.
pub const ICACTIVER: u64 = 0x0380;
/// Offset of `GICD_IPRIORITYR<n>` / `GICR_IPRIORITYR<n>`.
pub const IPRIORITYR: u64 = 0x0400;
/// Offset of `GICD_ICFGR<n>` / `GICR_ICFGR0`.
pub const ICFGR: u64 = 0x0C00;
/// `ICFGR<n>` field value (bit 2k+1 for interrupt k of the register): edge-triggered.
pub const ICFGR_EDGE: u32 = 0b10;
/// `GICR_ICFGR0` as it always reads: all SGIs edge-triggered (RO).
pub const ICFGR_SGIS: u32 = 0xaaaa_aaaa;

/// How an interrupt is triggered (`ICFGR<n>.Int_config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// Level-sensitive: pending while the line is high.
    Level,
    /// Edge-triggered: a rising edge sets the pending latch.
    Edge,
}

/// One interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Irq {
    pub(crate) enabled: bool,
    /// Pending latch: an edge, `ISPENDR`, an SGI.
    pub(crate) latch: bool,
    /// Input line level (makes a level-sensitive interrupt pending).
    pub(crate) line: bool,
    pub(crate) active: bool,
    pub(crate) priority: u8,
    pub(crate) group1: bool,
    pub(crate) trigger: Trigger,
    /// Physical INTID this interrupt is linked to (`ICH_LR<n>_EL2.HW`).
    pub(crate) hw: Option<u16>,
    /// SPIs: the vCPU its `GICD_IROUTER<n>` names (`None`: no vCPU has that affinity).
    pub(crate) route: Option<u8>,
    /// SPIs: the vCPU holding it in a list register, or having it active (it stays with
    /// that vCPU until deactivated, whatever `GICD_IROUTER<n>` says meanwhile).
    pub(crate) owner: Option<u8>,
    /// In a list register of its vCPU since the last `fill_lrs`.
    pub(crate) in_lr: bool,
    /// While in a list register: the pending state was changed by other means (register
    /// write, injection); at sync the model wins over the list register.
    pub(crate) pend_dirty: bool,
    /// As `pend_dirty`, for the active state.
    pub(crate) active_dirty: bool,
}

impl Irq {
    pub(crate) const fn new(trigger: Trigger) -> Irq {
        Irq {
            enabled: false,
            latch: false,
            line: false,
            active: false,
            priority: 0,
            group1: true,
            trigger,
            hw: None,
            route: None,
            owner: None,
            in_lr: false,
            pend_dirty: false,
            active_dirty: false,
        }
    }

    /// The pending state (IHI 0069, 4.1.2): latch, or line high for a level-sensitive one.
    pub(crate) fn pending(&self) -> bool {
        self.latch || (self.trigger == Trigger::Level && self.line)
    }

    /// What a register reads or the guest can tell apart: changes here may change what the
    /// vCPU should see.
    fn visible(&self) -> (bool, bool, bool, u8, bool, Trigger) {
        (
            self.enabled,
            self.pending(),
            self.active,
            self.priority,
            self.group1,
            self.trigger,
        )
    }
}

/// The registers with one bit per interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BitReg {
    Group,
    SetEnable,
    ClearEnable,
    SetPending,
    ClearPending,
    SetActive,
    ClearActive,
}

impl BitReg {
    /// The register block at `base` (one of [`IGROUPR`] .. [`ICACTIVER`]).
    pub(crate) fn at(base: u64) -> Option<BitReg> {
        Some(match base {
            IGROUPR => BitReg::Group,
            ISENABLER => BitReg::SetEnable,
            ICENABLER => BitReg::ClearEnable,
            ISPENDR => BitReg::SetPending,
            ICPENDR => BitReg::ClearPending,
            ISACTIVER => BitReg::SetActive,
            ICACTIVER => BitReg::ClearActive,
            _ => return None,
        })
    }

    fn get(self, irq: &Irq) -> bool {
        match self {
            BitReg::Group => irq.group1,
            BitReg::SetEnable | BitReg::ClearEnable => irq.enabled,
            BitReg::SetPending | BitReg::ClearPending => irq.pending(),
            BitReg::SetActive | BitReg::ClearActive => irq.active,
        }
    }

    /// The effect of writing `bit` for `irq`.
    fn set(self, irq: &mut Irq, bit: bool) {
        match (self, bit) {
            (BitReg::Group, g) => irq.group1 = g,
            (_, false) => {}
            (BitReg::SetEnable, true) => irq.enabled = true,
            (BitReg::ClearEnable, true) => irq.enabled = false,
            (BitReg::SetPending, true) => {
                irq.latch = true;
                irq.pend_dirty |= irq.in_lr;
            }
            (BitReg::ClearPending, true) => {
                irq.latch = false;
                irq.pend_dirty |= irq.in_lr;
            }
            (BitReg::SetActive, true) => {
                irq.active = true;
                irq.active_dirty |= irq.in_lr;
            }
            (BitReg::ClearActive, true) => {
                irq.active = false;
                irq.active_dirty |= irq.in_lr;
            }
        }
    }
}

impl Vgic {
    /// Applies `change` to interrupt `intid` of `bank` (if it exists) and records what the
    /// hypervisor must do about it in `out`: kick the vCPUs concerned when something the
    /// guest can see changed, deactivate a linked physical interrupt whose virtual one the
    /// guest made neither pending nor active.
    pub(crate) fn update_irq(
        &mut self,
        bank: Bank,
        intid: u32,
        out: &mut WriteOutcome,
        change: impl FnOnce(&mut Irq),
    ) {
        let vcpu_before = self.delivery_vcpu(bank, intid);
        let Some(irq) = self.irq_mut(bank, intid) else {
            return;
        };
        let before = *irq;
        change(irq);
        if let (Some(pintid), true) = (irq.hw, before.pending() || before.active) {
            if !irq.pending() && !irq.active {
                out.deactivate.push(pintid);
            }
        }
        if bank == Bank::Spis && !irq.active && !irq.in_lr {
            irq.owner = None;
        }
        // Only an interrupt that is pending, active or in a list register matters to what
        // a vCPU presents; configuring an idle one needs no kick.
        let relevant = |i: &Irq| i.pending() || i.active || i.in_lr;
        let changed = irq.visible() != before.visible() || irq.route != before.route;
        if changed && (relevant(&before) || relevant(irq)) {
            if let Some(v) = vcpu_before {
                out.kick.insert(v);
            }
            if let Some(v) = self.delivery_vcpu(bank, intid) {
                out.kick.insert(v);
            }
        }
    }

    /// Reads a one-bit-per-interrupt register covering `first..first + 32`. Interrupts
    /// `bank` does not hold read as 0.
    pub(crate) fn read_bits(&self, bank: Bank, reg: BitReg, first: u32) -> u32 {
        (0..32u32).fold(0, |value, i| {
            let bit = first
                .checked_add(i)
                .and_then(|intid| self.irq(bank, intid))
                .is_some_and(|irq| reg.get(irq));
            value | (u32::from(bit) << i)
        })
    }

    /// Writes a one-bit-per-interrupt register covering `first..first + 32`.
    pub(crate) fn write_bits(
        &mut self,
        bank: Bank,
        reg: BitReg,
        first: u32,
        value: u32,
        out: &mut WriteOutcome,
    ) {
        for i in 0..32u32 {
            let bit = value & (1 << i) != 0;
            if reg != BitReg::Group && !bit {
                continue;
            }
            if let Some(intid) = first.checked_add(i) {
                self.update_irq(bank, intid, out, |irq| reg.set(irq, bit));
            }
        }
    }

    /// Reads `n` consecutive priority bytes from interrupt `first` (little-endian: the
    /// lowest INTID in the lowest byte).
    pub(crate) fn read_priorities(&self, bank: Bank, first: u32, n: u32) -> u64 {
        (0..n).fold(0, |value, i| {
            let p = first
                .checked_add(i)
                .and_then(|intid| self.irq(bank, intid))
                .map_or(0, |irq| irq.priority);
            value | (u64::from(p) << (8 * i))
        })
    }

    /// Writes `n` consecutive priority bytes from interrupt `first`; the bits below the
    /// implemented priority bits are dropped (RAZ/WI).
    pub(crate) fn write_priorities(
        &mut self,
        bank: Bank,
        first: u32,
        n: u32,
        value: u64,
        out: &mut WriteOutcome,
    ) {
        let mask = self.priority_mask;
        for i in 0..n {
            let p = (value >> (8 * i)) as u8 & mask;
            if let Some(intid) = first.checked_add(i) {
                self.update_irq(bank, intid, out, |irq| irq.priority = p);
            }
        }
    }

    /// Reads an `ICFGR<n>` register covering `first..first + 16`.
    pub(crate) fn read_config(&self, bank: Bank, first: u32) -> u32 {
        (0..16u32).fold(0, |value, i| {
            let edge = first
                .checked_add(i)
                .and_then(|intid| self.irq(bank, intid))
                .is_some_and(|irq| irq.trigger == Trigger::Edge);
            value | if edge { ICFGR_EDGE << (2 * i) } else { 0 }
        })
    }

    /// Writes an `ICFGR<n>` register covering `first..first + 16`. SGIs are always
    /// edge-triggered (their field is read-only).
    pub(crate) fn write_config(
        &mut self,
        bank: Bank,
        first: u32,
        value: u32,
        out: &mut WriteOutcome,
    ) {
        for i in 0..16u32 {
            let trigger = if value & (ICFGR_EDGE << (2 * i)) != 0 {
                Trigger::Edge
            } else {
                Trigger::Level
            };
            match first.checked_add(i) {
                Some(intid) if intid >= NR_SGIS => {
                    self.update_irq(bank, intid, out, |irq| irq.trigger = trigger)
                }
                _ => {}
            }
        }
    }
}
