//! Linux's drivers/irqchip/irq-gic-v3.c (and irq-gic-common.c) at boot, replayed access by
//! access against the vGIC: probe, distributor init on the boot CPU, redistributor init on
//! every CPU, then the IPIs, a timer PPI and a device SPI as drivers set them up.

mod common;

use common::*;
use vgic::distributor::*;
use vgic::irq::{ICACTIVER, ICENABLER, ICFGR, IGROUPR, IPRIORITYR, ISENABLER};
use vgic::redistributor::*;
use vgic::Vgic;

const GIC_PIDR2_ARCH_MASK: u32 = 0xf0;
const GICD_CTLR_ARE_NS: u32 = 1 << 4;
const GICD_CTLR_ENABLE_G1A: u32 = 1 << 1;
const GICD_CTLR_ENABLE_G1: u32 = 1 << 0;
const GICR_CTLR_RWP: u32 = 1 << 3;
const GICR_TYPER_VLPIS: u64 = 1 << 1;
const GICV3_PRIO_IRQ: u32 = 0xc0;
const REPEAT_PRIO: u32 = GICV3_PRIO_IRQ * 0x0101_0101;

/// `readl_relaxed_poll_timeout_atomic` on an RWP bit: must clear at once.
fn wait_for_rwp(read: impl Fn() -> u32, bit: u32) {
    for _ in 0..1000 {
        if read() & bit == 0 {
            return;
        }
    }
    panic!("RWP timeout, gone fishing");
}

/// `gic_iterate_rdists` with `__gic_populate_rdist`: the RD_base offset of the CPU with
/// `mpidr`, walking redistributors until GICR_TYPER.Last.
fn populate_rdist(v: &Vgic, mpidr: u64) -> u64 {
    assert_eq!(
        rr(v, GICR_PIDR2) & GIC_PIDR2_ARCH_MASK,
        0x30,
        "No redistributor present"
    );
    let aff = ((mpidr >> 8) & 0xff00_0000) | (mpidr & 0xff_ffff);
    let mut ptr = 0u64;
    loop {
        let typer = rr64(v, ptr + GICR_TYPER);
        if typer >> 32 == aff {
            return ptr;
        }
        ptr += 0x20000;
        if typer & GICR_TYPER_VLPIS != 0 {
            ptr += 0x20000;
        }
        assert!(typer & GICR_TYPER_LAST == 0, "CPU has no re-distributor");
    }
}

/// `gic_cpu_init` for the CPU with `mpidr`.
fn cpu_init(v: &mut Vgic, mpidr: u64, ppi_nr: u32) {
    let rbase = populate_rdist(v, mpidr);
    // gic_enable_redist(true)
    let val = rr(v, rbase + GICR_WAKER) & !GICR_WAKER_PROCESSOR_SLEEP;
    rw(v, rbase + GICR_WAKER, val);
    wait_for_rwp(|| rr(v, rbase + GICR_WAKER), GICR_WAKER_CHILDREN_ASLEEP);

    let sgi_base = rbase + GICR_SGI_BASE;
    let nr = ppi_nr + 16;
    for i in (0..nr).step_by(32) {
        rw(v, sgi_base + IGROUPR + u64::from(i / 8), !0);
    }
    // gic_cpu_config
    for i in (0..nr).step_by(32) {
        rw(v, sgi_base + ICACTIVER + u64::from(i / 8), !0);
        rw(v, sgi_base + ICENABLER + u64::from(i / 8), !0);
    }
    for i in (0..nr).step_by(4) {
        rw(v, sgi_base + IPRIORITYR + u64::from(i), REPEAT_PRIO);
    }
    wait_for_rwp(|| rr(v, rbase + GICR_CTLR), GICR_CTLR_RWP);
}

/// `gic_configure_irq`: read-modify-write of the ICFGR field and read-back check.
fn configure_irq(v: &mut Vgic, base: u64, irq: u32, edge: bool, redist: bool) -> bool {
    let confmask = 0x2u32 << ((irq % 16) * 2);
    let confoff = base + u64::from(irq / 16) * 4;
    let read = |v: &Vgic| {
        if redist {
            rr(v, confoff)
        } else {
            dr(v, confoff)
        }
    };
    let oldval = read(v);
    let val = if edge {
        oldval | confmask
    } else {
        oldval & !confmask
    };
    if val == oldval {
        return true;
    }
    if redist {
        rw(v, confoff, val);
    } else {
        dw(v, confoff, val);
    }
    read(v) == val
}

/// Boot of a 2-CPU guest; returns the vGIC as Linux leaves it and the number of lines.
fn boot() -> (Vgic, u32) {
    let mut v = vgic(2, 64);

    // gic_validate_dist_version
    assert_eq!(dr(&v, GICD_PIDR2) & GIC_PIDR2_ARCH_MASK, 0x30);
    // gic_init_bases
    let typer = dr(&v, GICD_TYPER);
    let gic_lines = (((typer & 0x1f) + 1) * 32).min(1020);
    assert_eq!(gic_lines, 96);
    assert_eq!(typer & (1 << 8), 0, "no extended SPIs");
    assert_eq!(typer & (1 << 17), 0, "no LPIs");
    assert_eq!(typer & (1 << 16), 0, "no MBIs");
    assert_eq!(((typer >> 19) & 0x1f) + 1, 10, "ID bits");
    let iidr = dr(&v, GICD_IIDR);
    assert_eq!(iidr & 0xff00_0fff, 0x5200_043b);
    assert_eq!(dr(&v, GICD_TYPER2), 0);

    // gic_update_rdist_properties: walk every redistributor, read TYPER and CTLR.
    assert_eq!(rr(&v, GICR_PIDR2) & GIC_PIDR2_ARCH_MASK, 0x30);
    let mut ptr = 0;
    let mut ppi_nr = u32::MAX;
    let mut seen = 0;
    loop {
        let typer = rr64(&v, ptr + GICR_TYPER);
        let ctlr = rr(&v, ptr + GICR_CTLR);
        assert_eq!(ctlr, 0);
        assert_eq!(
            typer & 0xff,
            typer & GICR_TYPER_LAST,
            "no LPI/vLPI/DirectLPI/DPGS/RVPEID bits"
        );
        let nr_ppis = match (typer >> 27) & 0x1f {
            0 => 16,
            n => 32 * n as u32 + 16,
        };
        ppi_nr = ppi_nr.min(nr_ppis);
        seen += 1;
        if typer & GICR_TYPER_LAST != 0 {
            break;
        }
        ptr += 0x20000;
    }
    assert_eq!((seen, ppi_nr), (2, 16));

    // gic_prio_init
    assert_ne!(dr(&v, GICD_CTLR) & GICD_CTLR_DS, 0, "security disabled");

    // gic_dist_init
    dw(&mut v, GICD_CTLR, 0);
    wait_for_rwp(|| dr(&v, GICD_CTLR), GICD_CTLR_RWP);
    for i in (32..gic_lines).step_by(32) {
        dw(&mut v, GICD_IGROUPR + u64::from(i / 8), !0);
    }
    // gic_dist_config
    for i in (32..gic_lines).step_by(16) {
        dw(&mut v, ICFGR + u64::from(i / 4), 0);
    }
    for i in (32..gic_lines).step_by(4) {
        dw(&mut v, IPRIORITYR + u64::from(i), REPEAT_PRIO);
    }
    for i in (32..gic_lines).step_by(32) {
        dw(&mut v, ICACTIVER + u64::from(i / 8), !0);
        dw(&mut v, ICENABLER + u64::from(i / 8), !0);
    }
    dw(
        &mut v,
        GICD_CTLR,
        GICD_CTLR_ARE_NS | GICD_CTLR_ENABLE_G1A | GICD_CTLR_ENABLE_G1,
    );
    wait_for_rwp(|| dr(&v, GICD_CTLR), GICD_CTLR_RWP);
    let affinity = MPIDRS[0] & 0xff_00ff_ffff;
    for i in 32..u64::from(gic_lines) {
        dw64(&mut v, GICD_IROUTER + i * 8, affinity);
    }

    // gic_cpu_init on the boot CPU, then gic_starting_cpu on the secondary.
    cpu_init(&mut v, MPIDRS[0], ppi_nr);
    cpu_init(&mut v, MPIDRS[1], ppi_nr);
    (v, gic_lines)
}

#[test]
fn distributor_and_redistributors_after_boot() {
    let (v, lines) = boot();
    assert_eq!(
        dr(&v, GICD_CTLR),
        GICD_CTLR_ARE | GICD_CTLR_DS | GICD_CTLR_ENABLE_GRP0 | GICD_CTLR_ENABLE_GRP1
    );
    for i in (32..lines).step_by(32) {
        let expect = if i < 96 { !0 } else { 0 };
        assert_eq!(dr(&v, GICD_IGROUPR + u64::from(i / 8)), expect);
        assert_eq!(dr(&v, ISENABLER + u64::from(i / 8)), 0);
    }
    assert_eq!(dr(&v, IPRIORITYR + 32), 0xc0c0_c0c0);
    assert_eq!(dr(&v, IPRIORITYR + 92), 0xc0c0_c0c0);
    assert_eq!(dr64(&v, GICD_IROUTER + 8 * 95), 0);
    assert_eq!(v.route(95), Some(0));
    for cpu in 0..2 {
        assert_eq!(rr(&v, rd(cpu, GICR_WAKER)), 0, "awake");
        assert_eq!(rr(&v, sgi(cpu, IGROUPR)), !0);
        assert_eq!(rr(&v, sgi(cpu, ISENABLER)), 0);
        assert_eq!(rr(&v, sgi(cpu, IPRIORITYR + 28)), 0xc0c0_c0c0);
        assert_eq!(rr(&v, sgi(cpu, ICFGR)), 0xaaaa_aaaa);
        assert!(!v.has_pending(cpu));
    }
}

#[test]
fn drivers_after_boot() {
    let (mut v, _) = boot();
    // IPIs (SGIs 0-7): request_percpu_irq + enable_percpu_irq on each CPU.
    for cpu in 0..2 {
        rw(&mut v, sgi(cpu, ISENABLER), 0xff);
    }
    // The arch timer's virtual PPI 27, level (DT type 4 or 8): gic_set_type on ICFGR1, then
    // unmask.
    for cpu in 0..2 {
        assert!(configure_irq(&mut v, sgi(cpu, ICFGR), 27, false, true));
        rw(&mut v, sgi(cpu, ISENABLER), 1 << 27);
    }
    // An edge PPI configures too (the read-back matches).
    assert!(configure_irq(&mut v, sgi(0, ICFGR), 31, true, true));
    // The SP6 FPGA's SPI 40, level-high; affinity to CPU 1; unmask.
    assert!(configure_irq(&mut v, ICFGR, 40, false, false));
    dw64(&mut v, GICD_IROUTER + 40 * 8, MPIDRS[1] & 0xff_00ff_ffff);
    let out = dw(&mut v, ISENABLER + 4, 1 << 8);
    assert!(out.kick.is_empty(), "nothing pending yet");
    // An edge SPI: the read-back check must pass for SPIs (WARN otherwise).
    assert!(configure_irq(&mut v, ICFGR, 41, true, false));

    // IPI from CPU 0 to CPU 1 (smp_cross_call: Aff1 = 0, TargetList bit 1, INTID 1).
    let targets = v.send_sgi(0, (1 << 24) | 0b10);
    assert_eq!(targets.iter().collect::<Vec<_>>(), [1]);
    // The FPGA interrupt and a timer tick on CPU 1.
    assert_eq!(v.set_level(40, true), Ok(Some(1)));
    assert_eq!(v.set_ppi_level(1, 27, true), Ok(Some(1)));
    assert!(!v.has_pending(0));
    assert!(v.has_pending(1));
    assert_eq!(v.highest_pending_priority(1), Some(0xc0));
    let seen = peek(&mut v, 1);
    assert_eq!(seen, [(1, P), (27, P), (40, P)]);
    // The guest reads the pending state through the GICR/GICD (gic_peek_irq).
    assert_eq!(rr(&v, sgi(1, vgic::irq::ISPENDR)), (1 << 27) | (1 << 1));
    assert_eq!(dr(&v, vgic::irq::ISPENDR + 4), 1 << 8);
}
