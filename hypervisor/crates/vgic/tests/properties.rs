//! Random guests: any register access, injection and list-register traffic, with vCPUs
//! running concurrently (several vCPUs between fill and sync at once). Nothing panics,
//! and the list registers are always well-formed.

mod common;

use std::collections::HashSet;

use common::*;
use proptest::prelude::*;
use vgic::distributor::{GICD_CTLR_ENABLE_GRP0, GICD_CTLR_ENABLE_GRP1};
use vgic::lr::{ListRegister, LrState};
use vgic::{AccessWidth, Vgic};

const NR_VCPUS: usize = 3;
const NR_SPIS: u32 = 64;

#[derive(Debug, Clone)]
enum Op {
    DistRead(u64, AccessWidth),
    DistWrite(u64, AccessWidth, u64),
    RedistRead(u64, AccessWidth),
    RedistWrite(u64, AccessWidth, u64),
    SetLevel(u32, bool),
    RaiseEdge(u32),
    SetPpiLevel(usize, u32, bool),
    SendSgi(usize, u64),
    LinkHw(u32, Option<u32>),
    /// The hypervisor enters the vCPU (fill) if it is not running.
    Enter(usize, usize),
    /// The running guest acknowledges its best pending interrupt.
    Ack(usize),
    /// The running guest deactivates its n-th active interrupt.
    Eoi(usize, usize),
    /// The vCPU exits (sync) if it is running.
    Exit(usize),
}

fn width() -> impl Strategy<Value = AccessWidth> {
    prop_oneof![4 => Just(AccessWidth::Word), 1 => (0u64..4).prop_map(AccessWidth::from_sas)]
}

/// Mostly aligned offsets in the interesting ranges, sometimes anything.
fn dist_offset() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => (0u64..0x1000).prop_map(|o| o & !3),
        2 => (0x6100u64..0x6400).prop_map(|o| o & !3),
        1 => 0xffd0u64..0x10000,
        1 => any::<u64>(),
    ]
}

fn redist_offset() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => (0..NR_VCPUS as u64 + 1, 0u64..0x1000, any::<bool>())
            .prop_map(|(v, o, s)| v * 0x20000 + if s { 0x10000 } else { 0 } + (o & !3)),
        1 => any::<u64>(),
    ]
}

/// Values that often hit the register bits Linux uses.
fn value() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        Just(u64::MAX),
        (0u64..4),
        (0u64..0x100).prop_map(|b| b * 0x0101_0101)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let vcpu = 0..NR_VCPUS + 1;
    prop_oneof![
        2 => (dist_offset(), width()).prop_map(|(o, w)| Op::DistRead(o, w)),
        4 => (dist_offset(), width(), value()).prop_map(|(o, w, v)| Op::DistWrite(o, w, v)),
        1 => (redist_offset(), width()).prop_map(|(o, w)| Op::RedistRead(o, w)),
        3 => (redist_offset(), width(), value()).prop_map(|(o, w, v)| Op::RedistWrite(o, w, v)),
        3 => (28u32..100, any::<bool>()).prop_map(|(i, l)| Op::SetLevel(i, l)),
        3 => (28u32..100).prop_map(Op::RaiseEdge),
        2 => (vcpu.clone(), 14u32..34, any::<bool>()).prop_map(|(v, i, l)| Op::SetPpiLevel(v, i, l)),
        2 => (vcpu.clone(), any::<u64>(), 0u64..16, 0u64..8)
            .prop_map(|(v, r, intid, list)| Op::SendSgi(v, if r & 1 == 0 { (intid << 24) | list } else { r })),
        1 => (28u32..100, prop::option::of(0u32..1100)).prop_map(|(i, p)| Op::LinkHw(i, p)),
        8 => (vcpu.clone(), 0usize..7).prop_map(|(v, n)| Op::Enter(v, n)),
        6 => vcpu.clone().prop_map(Op::Ack),
        6 => (vcpu.clone(), 0usize..4).prop_map(|(v, n)| Op::Eoi(v, n)),
        8 => vcpu.prop_map(Op::Exit),
    ]
}

/// Checks what `fill_lrs` wrote for `vcpu` right after it did.
fn check_fill(
    v: &Vgic,
    vcpu: usize,
    lrs: &[u64],
    more: bool,
    running: &[Option<Vec<u64>>],
) -> Result<(), TestCaseError> {
    let ctlr = v.dist_read(0, AccessWidth::Word).unwrap().value as u32;
    let group_enabled = |g1: bool| {
        ctlr & if g1 {
            GICD_CTLR_ENABLE_GRP1
        } else {
            GICD_CTLR_ENABLE_GRP0
        } != 0
    };
    let mut seen = HashSet::new();
    for (n, &raw) in lrs.iter().enumerate() {
        let lr = ListRegister::decode(raw);
        if lr.state == LrState::Invalid {
            prop_assert_eq!(raw, 0);
            continue;
        }
        prop_assert!(n < 16);
        prop_assert!(seen.insert(lr.vintid), "vINTID {} twice", lr.vintid);
        prop_assert!(lr.vintid < 32 || v.is_spi(lr.vintid));
        let info = v.irq_info(vcpu, lr.vintid).unwrap();
        prop_assert_eq!(info.vcpu, Some(vcpu));
        prop_assert_eq!(lr.group1, info.group1);
        prop_assert_eq!(lr.priority, info.priority);
        prop_assert_eq!(lr.pintid, info.hw);
        prop_assert_eq!(lr.state.active(), info.active);
        if lr.state.pending() {
            prop_assert!(
                info.enabled && info.pending && group_enabled(info.group1),
                "{:?} {:?}",
                lr,
                info
            );
        }
        if lr.pintid.is_some() {
            prop_assert!(lr.state != LrState::PendingActive);
            prop_assert!(!lr.eoi);
        }
        // An SPI is in one running vCPU's list registers at most.
        if lr.vintid >= 32 {
            for (other, lrs) in running.iter().enumerate() {
                if other == vcpu {
                    continue;
                }
                let found = lrs.iter().flatten().any(|&r| {
                    let o = ListRegister::decode(r);
                    o.state != LrState::Invalid && o.vintid == lr.vintid
                });
                prop_assert!(!found, "SPI {} in vCPU {} and {}", lr.vintid, vcpu, other);
            }
        }
    }
    // Nothing that should be presented was left out unless the caller was told.
    if !more {
        for intid in (0..32).chain(32..32 + NR_SPIS) {
            let info = v.irq_info(vcpu, intid).unwrap();
            if info.vcpu != Some(vcpu) {
                continue;
            }
            let deliverable = info.pending && info.enabled && group_enabled(info.group1);
            if info.active || deliverable {
                prop_assert!(
                    seen.contains(&intid),
                    "INTID {} left out: {:?}",
                    intid,
                    info
                );
            }
        }
    }
    Ok(())
}

/// A state as Linux leaves it after boot, with random priorities and routes (route 3: no
/// vCPU), so that random operations start where interrupts flow.
fn boot(v: &mut Vgic, priorities: &[u8], routes: &[u64]) {
    use vgic::irq::{IPRIORITYR, ISENABLER};
    dw(v, 0, GICD_CTLR_ENABLE_GRP0 | GICD_CTLR_ENABLE_GRP1);
    for n in 1..3 {
        dw(v, ISENABLER + 4 * n, !0);
    }
    for (intid, &p) in (32u64..).zip(&priorities[32..]) {
        v.dist_write(IPRIORITYR + intid, AccessWidth::Byte, p.into())
            .unwrap();
    }
    for (intid, &r) in (32u64..).zip(routes) {
        dw64(
            v,
            vgic::distributor::GICD_IROUTER + 8 * intid,
            0x8000_0000 | r,
        );
    }
    for c in 0..NR_VCPUS {
        rw(v, sgi(c, ISENABLER), !0);
        for (intid, &p) in (0u64..32).zip(priorities) {
            v.redist_write(sgi(c, IPRIORITYR + intid), AccessWidth::Byte, p.into())
                .unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_guests(
        booted in any::<bool>(),
        priorities in proptest::collection::vec(any::<u8>(), 96),
        routes in proptest::collection::vec(0u64..4, 64),
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let mut v = vgic(NR_VCPUS, NR_SPIS);
        if booted {
            boot(&mut v, &priorities, &routes);
        }
        let mut running: Vec<Option<Vec<u64>>> = vec![None; NR_VCPUS + 1];
        for op in ops {
            match op {
                Op::DistRead(o, w) => { let _ = v.dist_read(o, w); }
                Op::DistWrite(o, w, x) => {
                    if let Ok(out) = v.dist_write(o, w, x) {
                        prop_assert!(out.kick.bits() >> NR_VCPUS == 0);
                    }
                }
                Op::RedistRead(o, w) => { let _ = v.redist_read(o, w); }
                Op::RedistWrite(o, w, x) => { let _ = v.redist_write(o, w, x); }
                Op::SetLevel(i, l) => { let _ = v.set_level(i, l); }
                Op::RaiseEdge(i) => { let _ = v.raise_edge(i); }
                Op::SetPpiLevel(c, i, l) => { let _ = v.set_ppi_level(c, i, l); }
                Op::SendSgi(c, x) => {
                    let t = v.send_sgi(c, x);
                    prop_assert!(t.bits() >> NR_VCPUS == 0);
                }
                Op::LinkHw(i, p) => { let _ = v.link_hw(i, p); }
                Op::Enter(c, n) => {
                    if running[c].is_none() {
                        let mut lrs = vec![0; n];
                        let more = v.fill_lrs(c, &mut lrs);
                        if c < NR_VCPUS {
                            check_fill(&v, c, &lrs, more, &running)?;
                        } else {
                            prop_assert!(!more && lrs.iter().all(|&l| l == 0));
                        }
                        running[c] = Some(lrs);
                    }
                }
                Op::Ack(c) => {
                    if let Some(lrs) = running[c].as_mut() {
                        ack(lrs);
                    }
                }
                Op::Eoi(c, n) => {
                    if let Some(lrs) = running[c].as_mut() {
                        let active: Vec<u32> = lrs.iter().map(|&r| ListRegister::decode(r))
                            .filter(|lr| lr.state.active()).map(|lr| lr.vintid).collect();
                        if let Some(&i) = active.get(n) {
                            eoi(lrs, i);
                        }
                    }
                }
                Op::Exit(c) => {
                    if let Some(lrs) = running[c].take() {
                        v.sync_lrs(c, &lrs);
                    }
                }
            }
            for c in 0..NR_VCPUS {
                let _ = v.has_pending(c);
            }
        }
    }

    #[test]
    fn any_access_is_answered(offset in any::<u64>(), sas in 0u64..4, value in any::<u64>()) {
        let mut v = vgic(2, 988);
        let w = AccessWidth::from_sas(sas);
        let _ = v.dist_read(offset, w);
        let _ = v.dist_write(offset, w, value);
        let _ = v.redist_read(offset, w);
        let _ = v.redist_write(offset, w, value);
        // Every register takes aligned 32-bit accesses; nothing else is refused then.
        let word = offset & !3;
        prop_assert!(v.dist_read(word, AccessWidth::Word).is_ok());
        prop_assert!(v.dist_write(word, AccessWidth::Word, value).is_ok());
        prop_assert!(v.redist_read(word, AccessWidth::Word).is_ok());
        prop_assert!(v.redist_write(word, AccessWidth::Word, value).is_ok());
        // Misaligned accesses are always refused.
        if offset % w.bytes() != 0 {
            prop_assert!(v.dist_read(offset, w).is_err());
            prop_assert!(v.redist_write(offset, w, value).is_err());
        }
    }
}
