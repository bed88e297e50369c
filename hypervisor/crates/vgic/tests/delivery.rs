//! Interrupts through the list registers: routing, SGIs, level-sensitive lines, priority
//! ordering and overflow, physically linked interrupts, and register writes racing with a
//! running vCPU.

mod common;

use common::*;
use vgic::distributor::{GICD_CTLR, GICD_CTLR_ENABLE_GRP0, GICD_CTLR_ENABLE_GRP1, GICD_IROUTER};
use vgic::irq::{
    ICACTIVER, ICENABLER, ICPENDR, IGROUPR, IPRIORITYR, ISACTIVER, ISENABLER, ISPENDR,
};
use vgic::lr::{ListRegister, LrState};
use vgic::{InjectError, Vgic};

const ENABLE_ALL: u32 = GICD_CTLR_ENABLE_GRP0 | GICD_CTLR_ENABLE_GRP1;

/// Two vCPUs, 64 SPIs, distributor enabled, SPIs 32-95 enabled at priority 0xa0 and
/// routed to vCPU 0, all private interrupts of both vCPUs enabled at priority 0xa0.
fn setup() -> Vgic {
    let mut v = vgic(2, 64);
    dw(&mut v, GICD_CTLR, ENABLE_ALL);
    for n in 1..3 {
        dw(&mut v, ISENABLER + 4 * n, !0);
    }
    for i in (32..96).step_by(4) {
        dw(&mut v, IPRIORITYR + i, 0xa0a0_a0a0);
    }
    for cpu in 0..2 {
        rw(&mut v, sgi(cpu, ISENABLER), !0);
        for i in (0..32).step_by(4) {
            rw(&mut v, sgi(cpu, IPRIORITYR + i), 0xa0a0_a0a0);
        }
    }
    v
}

fn route(v: &mut Vgic, intid: u64, vcpu: usize) {
    dw64(v, GICD_IROUTER + 8 * intid, MPIDRS[vcpu] & 0xff_ffff);
}

#[test]
fn spi_goes_to_the_routed_vcpu() {
    let mut v = setup();
    route(&mut v, 40, 1);
    assert_eq!(v.route(40), Some(1));
    assert_eq!(v.raise_edge(40), Ok(Some(1)));
    assert!(!v.has_pending(0));
    assert!(v.has_pending(1));
    assert_eq!(peek(&mut v, 0), []);
    assert_eq!(peek(&mut v, 1), [(40, P)]);
    // Re-routed while only pending: it moves.
    let out = v
        .dist_write(GICD_IROUTER + 8 * 40, W, MPIDRS[0] & 0xff)
        .unwrap();
    assert_eq!(out.kick.iter().collect::<Vec<_>>(), [0, 1]);
    assert_eq!(peek(&mut v, 1), []);
    assert_eq!(peek(&mut v, 0), [(40, P)]);
}

#[test]
fn lr_contents() {
    let mut v = setup();
    dw(&mut v, IGROUPR + 4, !(1 << 9)); // SPI 41 in Group 0
    dw(&mut v, vgic::irq::ICFGR + 8, 0b10 << 18); // SPI 41 edge-triggered
    v.raise_edge(41).unwrap();
    let mut lrs = [0xdead_beef; 4];
    assert!(!v.fill_lrs(0, &mut lrs));
    let lr = ListRegister::decode(lrs[0]);
    assert_eq!(
        lr,
        ListRegister {
            state: P,
            pintid: None,
            eoi: false,
            group1: false,
            priority: 0xa0,
            vintid: 41
        }
    );
    assert_eq!(&lrs[1..], [0, 0, 0], "unused LRs are invalid");
    // A level-sensitive one carries EOI.
    v.set_level(42, true).unwrap();
    v.sync_lrs(0, &lrs);
    v.fill_lrs(0, &mut lrs);
    let lrs: Vec<ListRegister> = lrs.iter().map(|&l| ListRegister::decode(l)).collect();
    assert_eq!(
        (lrs[0].vintid, lrs[0].eoi, lrs[0].group1),
        (41, false, false)
    );
    assert_eq!((lrs[1].vintid, lrs[1].eoi, lrs[1].group1), (42, true, true));
}

#[test]
fn edge_spi_lifecycle() {
    let mut v = setup();
    v.raise_edge(33).unwrap();
    run(&mut v, 0, |lrs| assert_eq!(ack(lrs), Some(33)));
    let info = v.irq_info(0, 33).unwrap();
    assert!(info.active && !info.pending);
    assert!(!v.has_pending(0), "active, not pending");
    assert_eq!(dr(&v, ISACTIVER + 4), 1 << 1);
    // Still presented (active) so that the guest can deactivate it.
    run(&mut v, 0, |lrs| {
        assert_eq!(lr_view(lrs), [(33, A)]);
        eoi(lrs, 33);
    });
    let info = v.irq_info(0, 33).unwrap();
    assert!(!info.active && !info.pending);
    assert_eq!(peek(&mut v, 0), []);
}

#[test]
fn edge_while_active_becomes_pending_and_active() {
    let mut v = setup();
    v.raise_edge(33).unwrap();
    let mut lrs = [0; 4];
    v.fill_lrs(0, &mut lrs);
    assert_eq!(ack(&mut lrs), Some(33));
    // A second edge arrives from another CPU while vCPU 0 runs the handler.
    assert_eq!(v.raise_edge(33), Ok(Some(0)), "kick the vCPU holding it");
    v.sync_lrs(0, &lrs);
    run(&mut v, 0, |lrs| {
        assert_eq!(lr_view(lrs), [(33, PA)]);
        eoi(lrs, 33);
        assert_eq!(lr_view(lrs), [(33, P)]);
        assert_eq!(ack(lrs), Some(33));
        eoi(lrs, 33);
    });
    assert_eq!(peek(&mut v, 0), []);
}

#[test]
fn edge_before_ack_is_one_interrupt() {
    let mut v = setup();
    v.raise_edge(33).unwrap();
    v.raise_edge(33).unwrap();
    run(&mut v, 0, |lrs| {
        ack(lrs);
        eoi(lrs, 33);
    });
    assert_eq!(peek(&mut v, 0), []);
}

#[test]
fn active_spi_stays_with_its_vcpu_when_rerouted() {
    let mut v = setup();
    v.raise_edge(50).unwrap();
    run(&mut v, 0, |lrs| assert_eq!(ack(lrs), Some(50)));
    route(&mut v, 50, 1);
    assert_eq!(v.route(50), Some(0), "held by vCPU 0 until deactivated");
    assert_eq!(peek(&mut v, 1), []);
    v.raise_edge(50).unwrap();
    run(&mut v, 0, |lrs| {
        assert_eq!(lr_view(lrs), [(50, PA)]);
        eoi(lrs, 50);
    });
    // Deactivated: the pending edge now follows the new route.
    assert_eq!(v.route(50), Some(1));
    assert_eq!(peek(&mut v, 0), []);
    assert_eq!(peek(&mut v, 1), [(50, P)]);
}

#[test]
fn sgis_between_vcpus() {
    let mut v = setup();
    // vCPU 0 sends SGI 3 to vCPU 1 (Aff3.Aff2.Aff1 = 0.0.0, TargetList bit 1).
    let t = v.send_sgi(0, (3 << 24) | 0b10);
    assert_eq!(t.iter().collect::<Vec<_>>(), [1]);
    assert_eq!(peek(&mut v, 0), []);
    run(&mut v, 1, |lrs| {
        assert_eq!(lr_view(lrs), [(3, P)]);
        assert_eq!(ack(lrs), Some(3));
        eoi(lrs, 3);
    });
    // IRM = 1: everyone but the sender.
    let t = v.send_sgi(1, (1 << 40) | (5 << 24));
    assert_eq!(t.iter().collect::<Vec<_>>(), [0]);
    assert_eq!(peek(&mut v, 0), [(5, P)]);
    assert_eq!(peek(&mut v, 1), []);
    // Both, including self.
    let t = v.send_sgi(1, (6 << 24) | 0b11);
    assert_eq!(t.bits(), 0b11);
    // Targets that do not exist: other Aff1, other RS, absent Aff0.
    assert!(v.send_sgi(0, (1 << 16) | 0b11).is_empty());
    assert!(v.send_sgi(0, (1 << 44) | 0b11).is_empty());
    assert!(v.send_sgi(0, 0b1100).is_empty());
    assert!(v.send_sgi(0, (1 << 48) | 0b11).is_empty(), "Aff3");
    // A disabled SGI is pended but not presented.
    rw(&mut v, sgi(1, ICENABLER), 1 << 7);
    assert_eq!(v.send_sgi(0, (7 << 24) | 0b10).bits(), 0b10);
    assert_eq!(rr(&v, sgi(1, ISPENDR)) & (1 << 7), 1 << 7);
    assert_eq!(peek(&mut v, 1), [(6, P)]);
    // SGI0R reaches only Group 0 SGIs.
    assert!(v.send_sgi0(0, (8 << 24) | 0b10).is_empty());
    rw(&mut v, sgi(1, IGROUPR), !(1 << 8));
    assert_eq!(v.send_sgi0(0, (8 << 24) | 0b10).bits(), 0b10);
}

#[test]
fn level_line_still_high_after_eoi_is_pending_again() {
    let mut v = setup();
    route(&mut v, 40, 1);
    assert_eq!(v.set_level(40, true), Ok(Some(1)));
    assert_eq!(v.set_level(40, true), Ok(None), "no change");
    run(&mut v, 1, |lrs| {
        assert_eq!(ack(lrs), Some(40));
        eoi(lrs, 40); // the driver did not clear the device
    });
    let info = v.irq_info(1, 40).unwrap();
    assert!(info.pending && !info.active && info.line);
    assert_eq!(peek(&mut v, 1), [(40, P)], "re-pended");
    // The driver acks the device (hypervisor lowers the line) then EOIs.
    run(&mut v, 1, |lrs| {
        assert_eq!(ack(lrs), Some(40));
    });
    assert_eq!(
        v.set_level(40, false),
        Ok(Some(1)),
        "pending and active -> active"
    );
    run(&mut v, 1, |lrs| eoi(lrs, 40));
    assert_eq!(peek(&mut v, 1), []);
    assert!(!v.has_pending(1));
}

#[test]
fn level_line_lowered_while_in_lr_is_withdrawn() {
    let mut v = setup();
    v.set_level(40, true).unwrap();
    let mut lrs = [0; 4];
    v.fill_lrs(0, &mut lrs);
    assert_eq!(
        v.set_level(40, false),
        Ok(Some(0)),
        "kick the vCPU holding it"
    );
    v.sync_lrs(0, &lrs); // the guest did not take it
    assert_eq!(peek(&mut v, 0), []);
}

#[test]
fn software_pend_of_level_interrupt_is_consumed_by_ack() {
    let mut v = setup();
    dw(&mut v, ISPENDR + 4, 1 << 10); // SPI 42, line low
    assert_eq!(dr(&v, ISPENDR + 4), 1 << 10);
    run(&mut v, 0, |lrs| {
        ack(lrs);
        eoi(lrs, 42);
    });
    assert_eq!(dr(&v, ISPENDR + 4), 0);
    // ICPENDR clears the latch but not a high line.
    v.set_level(42, true).unwrap();
    dw(&mut v, ISPENDR + 4, 1 << 10);
    dw(&mut v, ICPENDR + 4, 1 << 10);
    assert_eq!(dr(&v, ISPENDR + 4), 1 << 10);
    v.set_level(42, false).unwrap();
    assert_eq!(dr(&v, ISPENDR + 4), 0);
}

#[test]
fn priority_order_and_overflow() {
    let mut v = setup();
    // SPIs 32..38 with priorities 0x60, 0x58, ..., 0x30; SPI 33 lower than 32, etc.
    for (i, intid) in (32u64..38).enumerate() {
        let b = v
            .dist_write(IPRIORITYR + intid, B, 0x60 - 8 * i as u64)
            .unwrap();
        assert_eq!(b.note, None);
        v.raise_edge(intid as u32).unwrap();
    }
    v.raise_edge(90).unwrap(); // priority 0xa0
    let mut lrs = [0; 4];
    assert!(v.fill_lrs(0, &mut lrs), "7 pending, 4 LRs");
    assert_eq!(lr_view(&lrs), [(37, P), (36, P), (35, P), (34, P)]);
    // The guest takes the best one and the rest wait.
    assert_eq!(ack(&mut lrs), Some(37));
    eoi(&mut lrs, 37);
    v.sync_lrs(0, &lrs);
    let more = v.fill_lrs(0, &mut lrs);
    assert!(more);
    assert_eq!(lr_view(&lrs), [(36, P), (35, P), (34, P), (33, P)]);
    for _ in 0..4 {
        let i = ack(&mut lrs).unwrap();
        eoi(&mut lrs, i);
    }
    v.sync_lrs(0, &lrs);
    assert!(!v.fill_lrs(0, &mut lrs));
    assert_eq!(lr_view(&lrs), [(32, P), (90, P)]);
    // Equal priorities: lower INTID first. Fewer LRs than interrupts: never duplicates.
    let mut two = [0; 2];
    v.sync_lrs(0, &lrs);
    assert!(!v.fill_lrs(0, &mut two));
    assert_eq!(lr_view(&two), [(32, P), (90, P)]);
}

#[test]
fn active_interrupts_keep_their_lr() {
    let mut v = setup();
    dw(&mut v, IPRIORITYR + 88, 0xf0f0_f0f0); // SPIs 88-91 lowest priority
    v.raise_edge(88).unwrap();
    run(&mut v, 0, |lrs| assert_eq!(ack(lrs), Some(88)));
    for intid in 32..36 {
        v.raise_edge(intid).unwrap();
    }
    let mut lrs = [0; 4];
    assert!(v.fill_lrs(0, &mut lrs));
    assert_eq!(lr_view(&lrs), [(88, A), (32, P), (33, P), (34, P)]);
    // With no room at all, nothing is written and the caller is told.
    let mut none: [u64; 0] = [];
    v.sync_lrs(0, &lrs);
    assert!(v.fill_lrs(0, &mut none));
}

#[test]
fn disabled_and_group_disabled_interrupts_are_not_presented() {
    let mut v = setup();
    dw(&mut v, ICENABLER + 4, 1 << 2);
    v.raise_edge(34).unwrap();
    assert!(!v.has_pending(0));
    assert_eq!(peek(&mut v, 0), []);
    let out = dw(&mut v, ISENABLER + 4, 1 << 2);
    assert_eq!(
        out.kick.bits(),
        0b01,
        "enabling a pending interrupt kicks its vCPU"
    );
    assert_eq!(peek(&mut v, 0), [(34, P)]);
    // Group 1 disabled in GICD_CTLR: kept pending, not presented; every vCPU is kicked.
    let out = dw(&mut v, GICD_CTLR, GICD_CTLR_ENABLE_GRP0);
    assert_eq!(out.kick.bits(), 0b11);
    assert!(!v.has_pending(0));
    assert_eq!(peek(&mut v, 0), []);
    dw(&mut v, GICD_CTLR, ENABLE_ALL);
    assert_eq!(peek(&mut v, 0), [(34, P)]);
}

#[test]
fn disabling_an_active_interrupt_keeps_it_deactivatable() {
    let mut v = setup();
    v.raise_edge(34).unwrap();
    run(&mut v, 0, |lrs| assert_eq!(ack(lrs), Some(34)));
    dw(&mut v, ICENABLER + 4, 1 << 2);
    v.raise_edge(34).unwrap();
    run(&mut v, 0, |lrs| {
        assert_eq!(lr_view(lrs), [(34, A)], "active only: pending but disabled");
        eoi(lrs, 34);
    });
    assert_eq!(peek(&mut v, 0), []);
    assert!(v.irq_info(0, 34).unwrap().pending);
}

#[test]
fn register_writes_while_in_a_running_vcpus_lrs() {
    let mut v = setup();
    route(&mut v, 40, 1);
    v.raise_edge(40).unwrap();
    let mut lrs1 = [0; 4];
    v.fill_lrs(1, &mut lrs1); // vCPU 1 runs with SPI 40 pending
                              // vCPU 0 clears the pending state: vCPU 1 is kicked, and at its sync the model wins.
    let out = dw(&mut v, ICPENDR + 4, 1 << 8);
    assert_eq!(out.kick.bits(), 0b10);
    v.sync_lrs(1, &lrs1);
    assert!(!v.irq_info(1, 40).unwrap().pending);
    assert_eq!(peek(&mut v, 1), []);

    // Same for the active state: the guest acked it, then vCPU 0 clears active.
    v.raise_edge(40).unwrap();
    v.fill_lrs(1, &mut lrs1);
    ack(&mut lrs1);
    dw(&mut v, ICACTIVER + 4, 1 << 8);
    v.sync_lrs(1, &lrs1);
    assert!(!v.irq_info(1, 40).unwrap().active);
    assert_eq!(v.route(40), Some(1));

    // While vCPU 1 holds an SPI in its LRs, vCPU 0 never gets it, even re-routed.
    v.raise_edge(40).unwrap();
    v.fill_lrs(1, &mut lrs1);
    route(&mut v, 40, 0);
    assert_eq!(peek(&mut v, 0), []);
    v.sync_lrs(1, &lrs1);
    assert_eq!(peek(&mut v, 0), [(40, P)]);
}

#[test]
fn guest_sets_pending_and_active_through_registers() {
    let mut v = setup();
    rw(&mut v, sgi(0, ISPENDR), 1 << 20);
    rw(&mut v, sgi(0, ISACTIVER), 1 << 21);
    assert_eq!(rr(&v, sgi(0, ISACTIVER)), 1 << 21);
    assert_eq!(peek(&mut v, 0), [(21, A), (20, P)]);
    rw(&mut v, sgi(0, ICACTIVER), 1 << 21);
    rw(&mut v, sgi(0, ICPENDR), 1 << 20);
    assert_eq!(peek(&mut v, 0), []);
}

#[test]
fn lost_or_garbage_lrs_keep_the_model_state() {
    let mut v = setup();
    v.raise_edge(33).unwrap();
    let mut lrs = [0; 4];
    v.fill_lrs(0, &mut lrs);
    // The hypervisor hands back something else entirely.
    v.sync_lrs(0, &[u64::MAX, 0x4000_0000_0000_0021, 7]);
    assert_eq!(peek(&mut v, 0), [(33, P)]);
    // Two fills without a sync.
    v.fill_lrs(0, &mut lrs);
    v.fill_lrs(0, &mut lrs);
    v.sync_lrs(0, &lrs);
    assert_eq!(peek(&mut v, 0), [(33, P)]);
    // Unknown vCPUs.
    assert!(!v.fill_lrs(2, &mut lrs));
    assert_eq!(lrs, [0; 4]);
    v.sync_lrs(9, &lrs);
    assert!(!v.has_pending(5));
}

#[test]
fn more_than_sixteen_lrs_are_not_used() {
    let mut v = setup();
    for intid in 32..60 {
        v.raise_edge(intid).unwrap();
    }
    let mut lrs = [0; 20];
    assert!(v.fill_lrs(0, &mut lrs));
    assert_eq!(lr_view(&lrs).len(), 16);
    assert_eq!(&lrs[16..], [0; 4]);
}

#[test]
fn physically_linked_interrupt() {
    let mut v = setup();
    v.link_hw(60, Some(75)).unwrap();
    v.raise_edge(60).unwrap();
    let mut lrs = [0; 4];
    v.fill_lrs(0, &mut lrs);
    let lr = ListRegister::decode(lrs[0]);
    assert_eq!(
        (lr.vintid, lr.pintid, lr.eoi, lr.state),
        (60, Some(75), false, P)
    );
    ack(&mut lrs);
    v.sync_lrs(0, &lrs);
    // Never pending and active with HW = 1.
    v.raise_edge(60).unwrap();
    v.fill_lrs(0, &mut lrs);
    assert_eq!(lr_view(&lrs), [(60, A)]);
    eoi(&mut lrs, 60); // the hardware deactivates pINTID 75
    v.sync_lrs(0, &lrs);
    assert_eq!(peek(&mut v, 0), [(60, P)]);

    // The guest clears the state by register: the hypervisor deactivates the physical one.
    let out = dw(&mut v, ICPENDR + 4, 1 << 28);
    assert_eq!(out.deactivate.as_slice(), [75]);
    v.raise_edge(60).unwrap();
    run(&mut v, 0, |lrs| assert_eq!(ack(lrs), Some(60)));
    dw(&mut v, ISPENDR + 4, 1 << 28);
    let out = dw(&mut v, ICACTIVER + 4, 1 << 28);
    assert!(
        out.deactivate.is_empty(),
        "still pending: the physical one stays active"
    );
    let out = dw(&mut v, ICPENDR + 4, 1 << 28);
    assert_eq!(out.deactivate.as_slice(), [75]);

    // PPIs link too; SGIs and special INTIDs do not.
    v.link_ppi_hw(1, 27, Some(27)).unwrap();
    assert_eq!(v.irq_info(1, 27).unwrap().hw, Some(27));
    assert_eq!(v.irq_info(0, 27).unwrap().hw, None);
    assert_eq!(v.link_hw(60, Some(1020)), Err(InjectError::Pintid(1020)));
    assert_eq!(v.link_hw(60, Some(3)), Err(InjectError::Pintid(3)));
    v.link_hw(60, None).unwrap();
    assert_eq!(v.irq_info(0, 60).unwrap().hw, None);
}

#[test]
fn ppis() {
    let mut v = setup();
    assert_eq!(v.set_ppi_level(1, 27, true), Ok(Some(1)));
    assert_eq!(peek(&mut v, 1), [(27, P)]);
    assert_eq!(peek(&mut v, 0), []);
    // PPI 31 configured edge by the guest: a rising line sets the latch.
    rw(&mut v, sgi(0, vgic::irq::ICFGR + 4), 0b10 << 30);
    v.set_ppi_level(0, 31, true).unwrap();
    v.set_ppi_level(0, 31, false).unwrap();
    assert_eq!(peek(&mut v, 0), [(31, P)]);
    assert_eq!(v.raise_ppi(0, 16), Ok(Some(0)));
    assert_eq!(v.set_ppi_level(2, 27, true), Err(InjectError::Vcpu(2)));
    assert_eq!(v.set_ppi_level(0, 15, true), Err(InjectError::Intid(15)));
    assert_eq!(v.raise_ppi(0, 32), Err(InjectError::Intid(32)));
    assert_eq!(v.set_level(27, true), Err(InjectError::Intid(27)));
    assert_eq!(v.raise_edge(96), Err(InjectError::Intid(96)));
    assert_eq!(v.raise_edge(u32::MAX), Err(InjectError::Intid(u32::MAX)));
    assert_eq!(v.route(27), None);
}

#[test]
fn wfi_wake_up_respects_priority() {
    let mut v = setup();
    v.dist_write(IPRIORITYR + 45, B, 0xf0).unwrap();
    v.raise_edge(45).unwrap();
    assert!(v.has_pending(0));
    assert_eq!(v.highest_pending_priority(0), Some(0xf0));
    v.raise_edge(44).unwrap();
    assert_eq!(v.highest_pending_priority(0), Some(0xa0));
    assert_eq!(v.highest_pending_priority(1), None);
    let _ = LrState::Invalid;
}
