//! Register-level behaviour: identification, widths, offsets, reserved space, read-only
//! registers, GICR_TYPER, GICR_WAKER, priorities, routing, configuration.

mod common;

use common::*;
use vgic::distributor::*;
use vgic::irq::{ICFGR, IGROUPR, IPRIORITYR, ISENABLER, ISPENDR};
use vgic::redistributor::*;
use vgic::{AccessError, AccessWidth, Config, ConfigError, Note, Vgic, GICR_STRIDE};

const H: AccessWidth = AccessWidth::Halfword;

#[test]
fn identification() {
    let v = vgic(2, 64);
    assert_eq!(dr(&v, GICD_PIDR2), 0x3b);
    assert_eq!(rr(&v, rd(1, GICR_PIDR2)), 0x3b);
    let cidr: Vec<u32> = (0..4).map(|i| dr(&v, 0xfff0 + 4 * i)).collect();
    assert_eq!(cidr, [0x0d, 0xf0, 0x05, 0xb1]);
    assert_eq!(dr(&v, 0xffd0), 0x04);
    assert_eq!(dr(&v, GICD_IIDR), GICD_IIDR_VALUE);
    assert_eq!(rr(&v, rd(0, GICR_IIDR)), GICD_IIDR_VALUE);
    assert_eq!(dr(&v, GICD_TYPER2), 0);
    assert_eq!(dr(&v, GICD_STATUSR), 0);
}

#[test]
fn gicd_typer() {
    // 64 SPIs: ITLinesNumber 2, IDbits 9, A3V, No1N, no RSS.
    assert_eq!(
        dr(&vgic(2, 64), GICD_TYPER),
        2 | (9 << 19) | (1 << 24) | (1 << 25)
    );
    assert_eq!(dr(&vgic(1, 0), GICD_TYPER) & 0x1f, 0);
    assert_eq!(dr(&vgic(1, 40), GICD_TYPER) & 0x1f, 2, "rounded up");
    assert_eq!(dr(&vgic(8, 988), GICD_TYPER) & 0x1f, 31);
    // A vCPU with Aff0 > 15 needs range selectors.
    let mut v = Vgic::new(&Config {
        vcpu_mpidrs: &[0, 0x10],
        nr_spis: 32,
        priority_bits: 5,
    })
    .unwrap();
    assert_ne!(dr(&v, GICD_TYPER) & GICD_TYPER_RSS, 0);
    assert_eq!(
        v.send_sgi(0, (1 << 44) | 1).bits(),
        0b10,
        "RS = 1, TargetList bit 0: Aff0 16"
    );
}

#[test]
fn gicd_ctlr() {
    let mut v = vgic(2, 64);
    assert_eq!(dr(&v, GICD_CTLR), GICD_CTLR_ARE | GICD_CTLR_DS);
    dw(&mut v, GICD_CTLR, !0);
    assert_eq!(
        dr(&v, GICD_CTLR),
        0x53,
        "EnableGrp0/1, ARE, DS; RWP, E1NWF, nASSGIreq read 0"
    );
    dw(&mut v, GICD_CTLR, 0);
    assert_eq!(
        dr(&v, GICD_CTLR),
        GICD_CTLR_ARE | GICD_CTLR_DS,
        "ARE and DS are RAO/WI"
    );
}

#[test]
fn gicr_typer_and_last() {
    // Three vCPUs with every affinity level used.
    let mpidrs = [0x01_8002_0300, 0x01_0002_0301, 0x02_0000_0000];
    let v = Vgic::new(&Config {
        vcpu_mpidrs: &mpidrs,
        nr_spis: 32,
        priority_bits: 5,
    })
    .unwrap();
    let typers: Vec<u64> = (0..3).map(|c| rr64(&v, rd(c, GICR_TYPER))).collect();
    assert_eq!(typers[0], 0x0102_0300_0000_0000);
    assert_eq!(typers[1], 0x0102_0301_0000_0100);
    assert_eq!(typers[2], 0x0200_0000_0000_0210, "Processor_Number 2, Last");
    // 32-bit halves.
    assert_eq!(rr(&v, rd(2, GICR_TYPER)), 0x210);
    assert_eq!(rr(&v, rd(2, GICR_TYPER + 4)), 0x0200_0000);
    assert_eq!(v.gicr_typer(3), None);
    assert_eq!(v.redist_region_size(), 3 * GICR_STRIDE);
    // Past the last redistributor: reserved, RAZ/WI.
    let r = v
        .redist_read(rd(3, GICR_TYPER), AccessWidth::Doubleword)
        .unwrap();
    assert_eq!((r.value, r.note), (0, Some(Note::Reserved)));
}

#[test]
fn gicr_waker_handshake() {
    let mut v = vgic(2, 32);
    let asleep = GICR_WAKER_PROCESSOR_SLEEP | GICR_WAKER_CHILDREN_ASLEEP;
    assert_eq!(rr(&v, rd(1, GICR_WAKER)), asleep, "reset: asleep");
    rw(&mut v, rd(1, GICR_WAKER), 0);
    assert_eq!(rr(&v, rd(1, GICR_WAKER)), 0);
    assert_eq!(rr(&v, rd(0, GICR_WAKER)), asleep, "per vCPU");
    rw(&mut v, rd(1, GICR_WAKER), GICR_WAKER_PROCESSOR_SLEEP);
    assert_eq!(rr(&v, rd(1, GICR_WAKER)), asleep);
    rw(
        &mut v,
        rd(1, GICR_WAKER),
        GICR_WAKER_CHILDREN_ASLEEP | 1 | (1 << 31),
    );
    assert_eq!(rr(&v, rd(1, GICR_WAKER)), 0, "ChildrenAsleep is read-only");
    assert_eq!(rr(&v, rd(1, GICR_CTLR)), 0);
    assert_eq!(rr(&v, rd(1, GICR_SYNCR)), 0);
}

#[test]
fn widths() {
    let mut v = vgic(2, 64);
    let err = |offset, width| AccessError::Width { offset, width };
    // Halfword: nowhere.
    for offset in [
        GICD_CTLR,
        IPRIORITYR + 32,
        GICD_IROUTER + 8 * 32,
        GICD_PIDR2,
    ] {
        assert_eq!(v.dist_read(offset, H).err(), Some(err(offset, H)));
        assert_eq!(v.dist_write(offset, H, 0).err(), Some(err(offset, H)));
    }
    // Byte: only priority (and ITARGETSR, CPENDSGIR, SPENDSGIR) registers.
    assert_eq!(
        v.dist_read(GICD_CTLR + 1, B).err(),
        Some(err(GICD_CTLR + 1, B))
    );
    assert_eq!(
        v.dist_read(ISENABLER + 4, B).err(),
        Some(err(ISENABLER + 4, B))
    );
    assert_eq!(
        v.dist_read(GICD_IROUTER + 8 * 40, B).err(),
        Some(err(GICD_IROUTER + 8 * 40, B))
    );
    assert!(v.dist_read(GICD_ITARGETSR + 33, B).is_ok());
    assert!(v.dist_write(GICD_CPENDSGIR + 1, B, 1).is_ok());
    assert_eq!(v.redist_read(sgi(1, IPRIORITYR + 3), B).unwrap().value, 0);
    assert_eq!(
        v.redist_read(sgi(1, ISENABLER), B).err(),
        Some(err(sgi(1, ISENABLER), B))
    );
    // Doubleword: only 64-bit registers.
    assert_eq!(v.dist_read(GICD_CTLR, D).err(), Some(err(GICD_CTLR, D)));
    assert_eq!(
        v.dist_write(IPRIORITYR + 32, D, 0).err(),
        Some(err(IPRIORITYR + 32, D))
    );
    assert_eq!(
        v.redist_read(rd(0, GICR_WAKER - 4), D).err(),
        Some(err(rd(0, GICR_WAKER - 4), D))
    );
    assert_eq!(
        v.redist_read(sgi(0, ISPENDR), D).err(),
        Some(err(sgi(0, ISPENDR), D))
    );
    // Misaligned.
    for (offset, width) in [
        (2, W),
        (GICD_IROUTER + 8 * 40 + 4, D),
        (IPRIORITYR + 33, W),
        (1, H),
    ] {
        assert_eq!(
            v.dist_read(offset, width),
            Err(AccessError::Misaligned { offset, width })
        );
        assert_eq!(
            v.dist_write(offset, width, 0),
            Err(AccessError::Misaligned { offset, width })
        );
    }
    assert_eq!(
        v.redist_read(rd(1, GICR_TYPER + 2), W),
        Err(AccessError::Misaligned {
            offset: rd(1, GICR_TYPER + 2),
            width: W
        })
    );
    assert_eq!(
        v.redist_read(u64::MAX, W),
        Err(AccessError::Misaligned {
            offset: u64::MAX,
            width: W
        })
    );
    assert_eq!(
        AccessError::Width {
            offset: 0x10,
            width: H
        }
        .to_string(),
        "16-bit access at offset 0x10: not a width this register supports"
    );
}

#[test]
fn reserved_offsets_are_raz_wi_and_noted() {
    let mut v = vgic(2, 64);
    let reserved = [
        0x20,
        0x40,
        0x1000,
        0x2000,
        0x5ffc,
        GICD_IROUTER,
        GICD_IROUTER + 8 * 31,
        0x7fe0,
        0xc000,
        0xffcc,
        0x1_0000,
        u64::MAX - 3,
    ];
    for offset in reserved {
        let r = v.dist_read(offset, W).unwrap();
        assert_eq!((r.value, r.note), (0, Some(Note::Reserved)), "{offset:#x}");
        assert_eq!(
            v.dist_write(offset, W, !0).unwrap().note,
            Some(Note::Reserved)
        );
    }
    let r = v.dist_read(0x2000, AccessWidth::Byte).unwrap();
    assert_eq!(r.note, Some(Note::Reserved), "any aligned width");
    for offset in [
        rd(0, 0x18),
        rd(0, 0x40),
        rd(0, 0x70),
        rd(1, 0x78),
        rd(0, 0xa0),
        sgi(0, 0x84),
        sgi(0, 0x420),
        sgi(1, 0xc08),
        sgi(1, 0xffe8),
        2 * GICR_STRIDE,
        u64::MAX - 7,
    ] {
        let r = v.redist_read(offset, W).unwrap();
        assert_eq!((r.value, r.note), (0, Some(Note::Reserved)), "{offset:#x}");
        assert_eq!(
            v.redist_write(offset, W, !0).unwrap().note,
            Some(Note::Reserved)
        );
    }
    // Registers RAZ/WI in this configuration are not noted.
    for offset in [
        GICD_IGRPMODR + 4,
        GICD_NSACR + 8,
        GICD_SGIR,
        GICD_INMIR + 4,
        GICD_STATUSR,
        GICD_ITARGETSR + 32,
        IGROUPR,
        ISENABLER,
        IPRIORITYR,
        ICFGR,
        ICFGR + 4,
    ] {
        dw(&mut v, offset, !0);
        assert_eq!(dr(&v, offset), 0, "{offset:#x}");
    }
    for offset in [
        sgi(0, GICR_IGRPMODR0),
        sgi(0, GICR_NSACR),
        sgi(0, GICR_INMIR0),
        rd(0, GICR_STATUSR),
        rd(0, GICR_CTLR),
    ] {
        rw(&mut v, offset, !0);
        assert_eq!(rr(&v, offset), 0, "{offset:#x}");
    }
}

#[test]
fn read_only_registers() {
    let mut v = vgic(2, 64);
    for offset in [GICD_TYPER, GICD_IIDR, GICD_TYPER2, GICD_PIDR2] {
        let before = dr(&v, offset);
        assert_eq!(
            v.dist_write(offset, W, !0).unwrap().note,
            Some(Note::ReadOnly)
        );
        assert_eq!(dr(&v, offset), before);
    }
    for offset in [rd(0, GICR_IIDR), rd(1, GICR_PIDR2), rd(1, GICR_TYPER)] {
        let before = rr(&v, offset);
        assert_eq!(
            v.redist_write(offset, W, !0).unwrap().note,
            Some(Note::ReadOnly)
        );
        assert_eq!(rr(&v, offset), before);
    }
    assert_eq!(
        v.redist_write(rd(1, GICR_TYPER), D, 0).unwrap().note,
        Some(Note::ReadOnly)
    );
}

#[test]
fn priorities() {
    let mut v = vgic(2, 64);
    // Byte writes, 5 implemented bits: the low 3 read as zero.
    v.dist_write(IPRIORITYR + 41, B, 0xff).unwrap();
    v.dist_write(IPRIORITYR + 42, B, 0x47).unwrap();
    assert_eq!(dr(&v, IPRIORITYR + 40), 0x0040_f800);
    assert_eq!(v.dist_read(IPRIORITYR + 41, B).unwrap().value, 0xf8);
    assert_eq!(v.irq_info(0, 41).unwrap().priority, 0xf8);
    // INTIDs 0-31 are not the distributor's.
    v.dist_write(IPRIORITYR + 4, B, 0x80).unwrap();
    assert_eq!(dr(&v, IPRIORITYR + 4), 0);
    // Past the last SPI: RAZ/WI.
    dw(&mut v, IPRIORITYR + 96, !0);
    assert_eq!(dr(&v, IPRIORITYR + 96), 0);
    // Redistributor, per vCPU.
    rw(&mut v, sgi(1, IPRIORITYR + 24), 0x1020_3040);
    assert_eq!(rr(&v, sgi(1, IPRIORITYR + 24)), 0x1020_3040);
    assert_eq!(rr(&v, sgi(0, IPRIORITYR + 24)), 0);
    assert_eq!(
        v.redist_read(sgi(1, IPRIORITYR + 27), B).unwrap().value,
        0x10
    );
    // 8 bits implemented.
    let mut v8 = Vgic::new(&Config {
        vcpu_mpidrs: &[0],
        nr_spis: 32,
        priority_bits: 8,
    })
    .unwrap();
    v8.dist_write(IPRIORITYR + 33, B, 0x47).unwrap();
    assert_eq!(v8.dist_read(IPRIORITYR + 33, B).unwrap().value, 0x47);
}

#[test]
fn irouter() {
    let mut v = vgic(2, 64);
    assert_eq!(dr64(&v, GICD_IROUTER + 8 * 32), 0, "reset: vCPU 0");
    // IRM and RES0 bits are not kept; Aff3 is.
    dw64(&mut v, GICD_IROUTER + 8 * 33, 0xffff_ffff_8000_0001);
    assert_eq!(dr64(&v, GICD_IROUTER + 8 * 33), 0x0000_00ff_0000_0001);
    assert_eq!(v.route(33), None, "Aff3 0xff: no such vCPU");
    // 32-bit halves.
    dw(&mut v, GICD_IROUTER + 8 * 33 + 4, 0);
    assert_eq!(dr64(&v, GICD_IROUTER + 8 * 33), 1);
    assert_eq!(v.route(33), Some(1));
    assert_eq!(dr(&v, GICD_IROUTER + 8 * 33), 1);
    assert_eq!(dr(&v, GICD_IROUTER + 8 * 33 + 4), 0);
    // An SPI routed nowhere is pending for nobody.
    dw64(&mut v, GICD_IROUTER + 8 * 34, 0x0000_0000_0001_0000);
    dw(&mut v, GICD_CTLR, 3);
    dw(&mut v, ISENABLER + 4, 1 << 2);
    assert_eq!(v.raise_edge(34), Ok(None));
    assert!(!v.has_pending(0) && !v.has_pending(1));
    // Past the last SPI: RAZ/WI.
    dw64(&mut v, GICD_IROUTER + 8 * 96, 1);
    assert_eq!(dr64(&v, GICD_IROUTER + 8 * 96), 0);
    // The last architectural one.
    let mut big = vgic(8, 988);
    dw64(&mut big, GICD_IROUTER + 8 * 1019, 7);
    assert_eq!(big.route(1019), Some(7));
}

#[test]
fn config_registers() {
    let mut v = vgic(2, 64);
    // SGIs: always edge, read-only.
    rw(&mut v, sgi(0, ICFGR), 0);
    assert_eq!(rr(&v, sgi(0, ICFGR)), 0xaaaa_aaaa);
    // PPIs: level at reset, programmable; bit 2k is RES0.
    assert_eq!(rr(&v, sgi(0, ICFGR + 4)), 0);
    rw(&mut v, sgi(0, ICFGR + 4), 0xffff_ffff);
    assert_eq!(rr(&v, sgi(0, ICFGR + 4)), 0xaaaa_aaaa);
    assert_eq!(rr(&v, sgi(1, ICFGR + 4)), 0);
    // SPIs: ICFGR2 covers 32-47; ICFGR0/1 are the redistributors'.
    dw(&mut v, ICFGR + 8, 0x8000_0002);
    assert_eq!(dr(&v, ICFGR + 8), 0x8000_0002);
    assert_eq!(v.irq_info(0, 32).unwrap().trigger, vgic::irq::Trigger::Edge);
    assert_eq!(v.irq_info(0, 47).unwrap().trigger, vgic::irq::Trigger::Edge);
    assert_eq!(
        v.irq_info(0, 33).unwrap().trigger,
        vgic::irq::Trigger::Level
    );
    dw(&mut v, ICFGR + 24, !0);
    assert_eq!(dr(&v, ICFGR + 24), 0, "INTIDs 96-111 do not exist");
}

#[test]
fn groups_and_banked_registers() {
    let mut v = vgic(2, 40);
    // Reset: Group 1.
    assert_eq!(dr(&v, IGROUPR + 4), !0);
    assert_eq!(
        dr(&v, IGROUPR + 8),
        0xff,
        "40 SPIs: INTIDs 32-71, 64-71 in register 2"
    );
    assert_eq!(dr(&v, IGROUPR + 12), 0);
    dw(&mut v, IGROUPR + 4, 0x0f);
    assert_eq!(dr(&v, IGROUPR + 4), 0x0f);
    assert!(!v.irq_info(0, 36).unwrap().group1);
    // Register 0 of the distributor is RAZ/WI; each redistributor has its own.
    dw(&mut v, ISENABLER, !0);
    assert_eq!(dr(&v, ISENABLER), 0);
    rw(&mut v, sgi(1, ISENABLER), 0x8000_0001);
    assert_eq!(rr(&v, sgi(1, ISENABLER)), 0x8000_0001);
    assert_eq!(rr(&v, sgi(0, ISENABLER)), 0);
    rw(&mut v, sgi(1, vgic::irq::ICENABLER), 1);
    assert_eq!(rr(&v, sgi(1, vgic::irq::ICENABLER)), 0x8000_0000);
}

#[test]
fn configuration_errors() {
    let new = |mpidrs: &[u64], nr_spis, priority_bits| {
        Vgic::new(&Config {
            vcpu_mpidrs: mpidrs,
            nr_spis,
            priority_bits,
        })
        .map(|_| ())
    };
    assert_eq!(new(&[], 32, 5), Err(ConfigError::VcpuCount(0)));
    assert_eq!(
        new(&[0, 1, 2, 3, 4, 5, 6, 7, 8], 32, 5),
        Err(ConfigError::VcpuCount(9))
    );
    assert_eq!(
        new(&[0, 0x8000_0000], 32, 5),
        Err(ConfigError::DuplicateAffinity(0))
    );
    assert_eq!(new(&[0], 989, 5), Err(ConfigError::SpiCount(989)));
    assert_eq!(new(&[0], 32, 3), Err(ConfigError::PriorityBits(3)));
    assert_eq!(new(&[0], 32, 9), Err(ConfigError::PriorityBits(9)));
    assert_eq!(new(&[0, 1, 2, 3, 4, 5, 6, 7], 988, 8), Ok(()));
    assert_eq!(new(&[0], 0, 4), Ok(()));
}
