//! The list registers (`ICH_LR<n>_EL2`, IHI 0069, 12.5.x) and how the model moves
//! interrupts through them.
//!
//! # Format (`ICH_LR<n>_EL2`)
//!
//! | bits | field |
//! |---|---|
//! | 63:62 | State: 00 invalid, 01 pending, 10 active, 11 pending and active |
//! | 61 | HW: the virtual interrupt is linked to physical interrupt pINTID |
//! | 60 | Group |
//! | 55:48 | Priority |
//! | 44:32 | pINTID (HW = 1); with HW = 0, bit 41 is EOI (maintenance interrupt on deactivation) |
//! | 31:0 | vINTID |
//!
//! # Protocol
//!
//! Each vCPU's list registers belong to the guest while it runs. The model keeps, for
//! every interrupt, the last state it knows (what a register read returns) and, for the
//! interrupts in list registers, which slot holds them and whether the model changed them
//! since ([`Irq::pend_dirty`](crate::irq) for register writes and injections from other
//! CPUs while the vCPU ran).
//!
//! - [`Vgic::fill_lrs`] rewrites all list registers of the vCPU: first the interrupts that
//!   are active (they must be in a list register for the guest's deactivation to reach
//!   them; pending and active when they are also pending and deliverable), then the
//!   deliverable pending ones, each group by priority (lowest value first, then lowest
//!   INTID), as many as fit. Unused list registers are written 0 (invalid).
//! - [`Vgic::sync_lrs`] reads them back. For each interrupt the previous fill placed: a list
//!   register no longer pending that was written pending means the guest acknowledged it:
//!   its latch is cleared (a level-sensitive line still high keeps it pending, so it is
//!   presented again); the active state is taken from the list register. Where the model
//!   changed an interrupt meanwhile, the model wins for that state. An SPI stays with the
//!   vCPU that has it active.
//!
//! The guest's acknowledge (pending to active) and deactivation (active to invalid) are
//! the only transitions the hardware makes, so nothing else has to be reconciled. A list
//! register that does not hold what fill wrote (the hypervisor lost it) leaves the
//! interrupt as the model knew it.
//!
//! Limitation: `ICH_HCR_EL2.EOIcount` is not consumed. Should a vCPU have more active
//! interrupts than list registers (more than 4 nested handlers on Cortex-A72; Linux nests
//! at most an interrupt and a pseudo-NMI), a deactivation of one not in a list register
//! would be lost and it would stay active.

use crate::irq::{Irq, Trigger, SPI_BASE};
use crate::{Bank, Vgic, MAX_LRS};

/// `ICH_LR<n>_EL2.State` shift (63:62).
pub const ICH_LR_STATE_SHIFT: u32 = 62;
/// `ICH_LR<n>_EL2.State` pending bit.
pub const ICH_LR_PENDING: u64 = 1 << 62;
/// `ICH_LR<n>_EL2.State` active bit.
pub const ICH_LR_ACTIVE: u64 = 1 << 63;
/// `ICH_LR<n>_EL2.HW`.
pub const ICH_LR_HW: u64 = 1 << 61;
/// `ICH_LR<n>_EL2.Group`.
pub const ICH_LR_GROUP: u64 = 1 << 60;
/// Shift of `ICH_LR<n>_EL2.Priority` (55:48).
pub const ICH_LR_PRIORITY_SHIFT: u32 = 48;
/// `ICH_LR<n>_EL2.EOI` (HW = 0 only): maintenance interrupt when the guest deactivates it.
pub const ICH_LR_EOI: u64 = 1 << 41;
/// Shift of `ICH_LR<n>_EL2.pINTID` (44:32, HW = 1 only).
pub const ICH_LR_PINTID_SHIFT: u32 = 32;
/// Mask of `ICH_LR<n>_EL2.pINTID` once shifted down (13 bits).
pub const ICH_LR_PINTID_MASK: u64 = 0x1fff;
/// Mask of `ICH_LR<n>_EL2.vINTID` (31:0).
pub const ICH_LR_VINTID_MASK: u64 = 0xffff_ffff;

/// `ICH_LR<n>_EL2.State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LrState {
    /// 0b00: the list register holds no interrupt.
    Invalid,
    /// 0b01.
    Pending,
    /// 0b10.
    Active,
    /// 0b11.
    PendingActive,
}

impl LrState {
    /// The state with these pending and active bits.
    pub const fn new(pending: bool, active: bool) -> LrState {
        match (pending, active) {
            (false, false) => LrState::Invalid,
            (true, false) => LrState::Pending,
            (false, true) => LrState::Active,
            (true, true) => LrState::PendingActive,
        }
    }

    /// Whether the pending bit is set.
    pub const fn pending(self) -> bool {
        matches!(self, LrState::Pending | LrState::PendingActive)
    }

    /// Whether the active bit is set.
    pub const fn active(self) -> bool {
        matches!(self, LrState::Active | LrState::PendingActive)
    }
}

/// An `ICH_LR<n>_EL2` value, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListRegister {
    /// State.
    pub state: LrState,
    /// HW = 1 with this pINTID: the guest's deactivation deactivates the physical interrupt.
    pub pintid: Option<u16>,
    /// EOI (only without HW): a maintenance interrupt when the guest deactivates it.
    pub eoi: bool,
    /// Group 1 (else Group 0).
    pub group1: bool,
    /// Priority.
    pub priority: u8,
    /// vINTID.
    pub vintid: u32,
}

impl ListRegister {
    /// Decodes a list register value (RES0 bits are ignored).
    pub const fn decode(value: u64) -> ListRegister {
        let hw = value & ICH_LR_HW != 0;
        ListRegister {
            state: LrState::new(value & ICH_LR_PENDING != 0, value & ICH_LR_ACTIVE != 0),
            pintid: if hw {
                Some(((value >> ICH_LR_PINTID_SHIFT) & ICH_LR_PINTID_MASK) as u16)
            } else {
                None
            },
            eoi: !hw && value & ICH_LR_EOI != 0,
            group1: value & ICH_LR_GROUP != 0,
            priority: (value >> ICH_LR_PRIORITY_SHIFT) as u8,
            vintid: (value & ICH_LR_VINTID_MASK) as u32,
        }
    }

    /// The list register value.
    pub const fn encode(&self) -> u64 {
        let mut value = self.vintid as u64 | (self.priority as u64) << ICH_LR_PRIORITY_SHIFT;
        if self.state.pending() {
            value |= ICH_LR_PENDING;
        }
        if self.state.active() {
            value |= ICH_LR_ACTIVE;
        }
        if self.group1 {
            value |= ICH_LR_GROUP;
        }
        match self.pintid {
            Some(p) => {
                value |= ICH_LR_HW | ((p as u64 & ICH_LR_PINTID_MASK) << ICH_LR_PINTID_SHIFT)
            }
            None if self.eoi => value |= ICH_LR_EOI,
            None => {}
        }
        value
    }
}

/// What [`Vgic::fill_lrs`] put in one list register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LrSlot {
    pub(crate) vintid: u32,
    /// The list register was written with the pending bit.
    pub(crate) wrote_pending: bool,
}

/// Sort key of a candidate: active first, then priority, then INTID (lowest first).
fn key(intid: u32, irq: &Irq) -> u64 {
    (u64::from(!irq.active) << 40) | (u64::from(irq.priority) << 32) | u64::from(intid)
}

impl Vgic {
    /// Folds `vcpu`'s list registers, read back after it ran, into the model. Call on
    /// every exit from the vCPU before emulating anything, with the list registers in the
    /// order [`Vgic::fill_lrs`] filled them (`lrs[n]` = `ICH_LR<n>_EL2`). Values that do not
    /// hold what fill wrote are ignored; an unknown `vcpu` does nothing.
    pub fn sync_lrs(&mut self, vcpu: usize, lrs: &[u64]) {
        let Some(redist) = self.redists.get_mut(vcpu) else {
            return;
        };
        let slots = core::mem::replace(&mut redist.lr_slots, [None; MAX_LRS]);
        for (n, slot) in slots.iter().enumerate() {
            let Some(slot) = slot else { continue };
            let bank = if slot.vintid < SPI_BASE {
                Bank::Private(vcpu)
            } else {
                Bank::Spis
            };
            let Some(irq) = self.irq_mut(bank, slot.vintid) else {
                continue;
            };
            if !irq.in_lr {
                continue;
            }
            let lr = lrs.get(n).map(|&v| ListRegister::decode(v));
            if let Some(lr) = lr.filter(|lr| lr.vintid == slot.vintid) {
                if slot.wrote_pending && !lr.state.pending() && !irq.pend_dirty {
                    // Acknowledged by the guest: the edge (or software pend) is consumed.
                    irq.latch = false;
                }
                if !irq.active_dirty {
                    irq.active = lr.state.active();
                }
            }
            irq.in_lr = false;
            irq.pend_dirty = false;
            irq.active_dirty = false;
            if bank == Bank::Spis {
                irq.owner = if irq.active { Some(vcpu as u8) } else { None };
            }
        }
    }

    /// Writes the interrupts `vcpu` should see into `lrs` (`lrs[n]` = `ICH_LR<n>_EL2`; pass
    /// `ICH_VTR_EL2.ListRegs` + 1 of them, at most [`MAX_LRS`] are used, the rest are
    /// zeroed). Returns whether interrupts were left out for lack of list registers: then
    /// set `ICH_HCR_EL2.UIE` so that the guest exits when it has drained them.
    ///
    /// Never writes the same vINTID twice, nor a pending state for a disabled interrupt (or
    /// one whose group `GICD_CTLR` disables). Level-sensitive interrupts without a
    /// physical link carry the EOI bit (see the crate documentation). A physically linked
    /// interrupt is never written pending and active: it is presented active until the
    /// guest deactivates it, pending after.
    pub fn fill_lrs(&mut self, vcpu: usize, lrs: &mut [u64]) -> bool {
        lrs.fill(0);
        let Some(redist) = self.redists.get(vcpu) else {
            return false;
        };
        // Anything still recorded from a fill without sync: forget it (the model's state is
        // the last known one).
        let stale = redist.lr_slots;
        for slot in stale.iter().flatten() {
            let bank = if slot.vintid < SPI_BASE {
                Bank::Private(vcpu)
            } else {
                Bank::Spis
            };
            if let Some(irq) = self.irq_mut(bank, slot.vintid) {
                irq.in_lr = false;
                irq.pend_dirty = false;
                irq.active_dirty = false;
                if bank == Bank::Spis && !irq.active {
                    irq.owner = None;
                }
            }
        }

        let n = lrs.len().min(MAX_LRS);
        // The best n candidates, kept sorted by key (insertion; len <= n <= MAX_LRS, so every
        // index below is in bounds).
        let mut best: [(u64, u32, bool); MAX_LRS] = [(u64::MAX, 0, false); MAX_LRS];
        let mut len = 0;
        let mut left_out = false;
        self.for_each_candidate(vcpu, |intid, irq, deliverable| {
            if !irq.active && !deliverable {
                return;
            }
            let k = key(intid, irq);
            if len == n {
                left_out = true;
                if n == 0 || k >= best[n - 1].0 {
                    return;
                }
                len -= 1;
            }
            let mut i = len;
            while i > 0 && best[i - 1].0 > k {
                best[i] = best[i - 1];
                i -= 1;
            }
            best[i] = (k, intid, deliverable);
            len += 1;
        });

        let mut slots = [None; MAX_LRS];
        for (i, &(_, intid, deliverable)) in best[..len].iter().enumerate() {
            let bank = if intid < SPI_BASE {
                Bank::Private(vcpu)
            } else {
                Bank::Spis
            };
            let Some(irq) = self.irq_mut(bank, intid) else {
                continue;
            };
            // HW = 1 cannot be pending and active: the physical interrupt is active until
            // the guest deactivates the virtual one.
            let pending = deliverable && !(irq.active && irq.hw.is_some());
            let lr = ListRegister {
                state: LrState::new(pending, irq.active),
                pintid: irq.hw,
                eoi: irq.hw.is_none() && irq.trigger == Trigger::Level,
                group1: irq.group1,
                priority: irq.priority,
                vintid: intid,
            };
            irq.in_lr = true;
            irq.pend_dirty = false;
            irq.active_dirty = false;
            if bank == Bank::Spis {
                irq.owner = Some(vcpu as u8);
            }
            if let Some(slot) = lrs.get_mut(i) {
                *slot = lr.encode();
            }
            slots[i] = Some(LrSlot {
                vintid: intid,
                wrote_pending: pending,
            });
        }
        if let Some(redist) = self.redists.get_mut(vcpu) {
            redist.lr_slots = slots;
        }
        left_out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode() {
        let lr = ListRegister {
            state: LrState::PendingActive,
            pintid: Some(0x1abc & 0x3ff),
            eoi: false,
            group1: true,
            priority: 0xa0,
            vintid: 42,
        };
        let v = lr.encode();
        assert_eq!(v, 0xf0a0_02bc_0000_002a);
        assert_eq!(ListRegister::decode(v), lr);
        let lr = ListRegister {
            state: LrState::Pending,
            pintid: None,
            eoi: true,
            group1: false,
            priority: 0x80,
            vintid: 27,
        };
        assert_eq!(lr.encode(), 0x4080_0200_0000_001b);
        assert_eq!(ListRegister::decode(lr.encode()), lr);
        assert_eq!(ListRegister::decode(0).state, LrState::Invalid);
        // EOI means nothing with HW = 1: bit 41 is part of pINTID.
        let hw = ListRegister::decode(ICH_LR_HW | ICH_LR_EOI | 5);
        assert_eq!((hw.eoi, hw.pintid), (false, Some(0x200)));
    }
}
