//! Helpers shared by the integration tests: building vGICs, MMIO shorthands, and a model
//! of what the guest's virtual CPU interface does to list registers.
#![allow(dead_code)]

use vgic::lr::{ListRegister, LrState};
use vgic::redistributor::GICR_SGI_BASE;
use vgic::{AccessWidth, Config, Vgic, GICR_STRIDE};

pub const W: AccessWidth = AccessWidth::Word;
pub const D: AccessWidth = AccessWidth::Doubleword;
pub const B: AccessWidth = AccessWidth::Byte;

/// MPIDRs as QEMU virt gives its CPUs (Aff0 = CPU number), with the RES1 bit 31 set.
pub const MPIDRS: [u64; 2] = [0x8000_0000, 0x8000_0001];

pub fn vgic(nr_vcpus: usize, nr_spis: u32) -> Vgic {
    let mpidrs: Vec<u64> = (0..nr_vcpus as u64).map(|i| 0x8000_0000 | i).collect();
    Vgic::new(&Config {
        vcpu_mpidrs: &mpidrs,
        nr_spis,
        priority_bits: 5,
    })
    .unwrap()
}

pub fn dr(v: &Vgic, offset: u64) -> u32 {
    let r = v.dist_read(offset, W).unwrap();
    assert_eq!(r.note, None, "GICD {offset:#x} is a register");
    r.value as u32
}

pub fn dw(v: &mut Vgic, offset: u64, value: u32) -> vgic::WriteOutcome {
    let r = v.dist_write(offset, W, value.into()).unwrap();
    assert_eq!(r.note, None, "GICD {offset:#x} is a writable register");
    r
}

pub fn dr64(v: &Vgic, offset: u64) -> u64 {
    v.dist_read(offset, D).unwrap().value
}

pub fn dw64(v: &mut Vgic, offset: u64, value: u64) {
    assert_eq!(v.dist_write(offset, D, value).unwrap().note, None);
}

/// Offset of `vcpu`'s RD_base frame register `offset` in the GICR region.
pub fn rd(vcpu: usize, offset: u64) -> u64 {
    vcpu as u64 * GICR_STRIDE + offset
}

/// Offset of `vcpu`'s SGI_base frame register `offset` in the GICR region.
pub fn sgi(vcpu: usize, offset: u64) -> u64 {
    vcpu as u64 * GICR_STRIDE + GICR_SGI_BASE + offset
}

pub fn rr(v: &Vgic, offset: u64) -> u32 {
    let r = v.redist_read(offset, W).unwrap();
    assert_eq!(r.note, None, "GICR {offset:#x} is a register");
    r.value as u32
}

pub fn rr64(v: &Vgic, offset: u64) -> u64 {
    v.redist_read(offset, D).unwrap().value
}

pub fn rw(v: &mut Vgic, offset: u64, value: u32) -> vgic::WriteOutcome {
    let r = v.redist_write(offset, W, value.into()).unwrap();
    assert_eq!(r.note, None, "GICR {offset:#x} is a writable register");
    r
}

/// The vINTIDs in `lrs` with their state, in LR order (invalid ones skipped).
pub fn lr_view(lrs: &[u64]) -> Vec<(u32, LrState)> {
    lrs.iter()
        .map(|&v| ListRegister::decode(v))
        .filter(|lr| lr.state != LrState::Invalid)
        .map(|lr| (lr.vintid, lr.state))
        .collect()
}

/// The guest acknowledges an interrupt (`ICC_IAR1_EL1`): the highest-priority pending LR
/// that is not also active becomes active. Returns its vINTID.
pub fn ack(lrs: &mut [u64]) -> Option<u32> {
    let (i, lr) = lrs
        .iter()
        .map(|&v| ListRegister::decode(v))
        .enumerate()
        .filter(|(_, lr)| lr.state == LrState::Pending)
        .min_by_key(|(_, lr)| (lr.priority, lr.vintid))?;
    let mut new = lr;
    new.state = LrState::Active;
    lrs[i] = new.encode();
    Some(lr.vintid)
}

/// The guest deactivates `vintid` (`ICC_EOIR1_EL1` with EOImode = 0): its LR loses the
/// active state. Panics if no LR holds it active (the test expects it there).
pub fn eoi(lrs: &mut [u64], vintid: u32) {
    let i = lrs
        .iter()
        .position(|&v| {
            let lr = ListRegister::decode(v);
            lr.vintid == vintid && lr.state.active()
        })
        .unwrap_or_else(|| panic!("vINTID {vintid} not active in the LRs"));
    let mut lr = ListRegister::decode(lrs[i]);
    lr.state = LrState::new(lr.state.pending(), false);
    lrs[i] = lr.encode();
}

/// One guest run of `vcpu` on a 4-LR CPU: fill, let `guest` act on the LRs, sync.
pub fn run(v: &mut Vgic, vcpu: usize, guest: impl FnOnce(&mut [u64])) -> bool {
    let mut lrs = [0u64; 4];
    let more = v.fill_lrs(vcpu, &mut lrs);
    guest(&mut lrs);
    v.sync_lrs(vcpu, &lrs);
    more
}

/// What `vcpu` would see on entry (fills and syncs back untouched).
pub fn peek(v: &mut Vgic, vcpu: usize) -> Vec<(u32, LrState)> {
    let mut seen = Vec::new();
    run(v, vcpu, |lrs| seen = lr_view(lrs));
    seen
}

pub const P: LrState = LrState::Pending;
pub const A: LrState = LrState::Active;
pub const PA: LrState = LrState::PendingActive;
