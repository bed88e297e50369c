//! The redistributors (GICR): IHI 0069, 12.10 and 12.11. Each vCPU has two 64 KiB frames,
//! RD_base then SGI_base ([`GICR_SGI_BASE`]); vCPU N's start at N * [`GICR_STRIDE`] in the
//! GICR region.
//!
//! RD_base frame:
//!
//! | offset | register | here |
//! |---|---|---|
//! | 0x0000 | `GICR_CTLR` | RAZ/WI: no LPIs (EnableLPIs RES0), RWP 0, UWP 0, no DPG |
//! | 0x0004 | `GICR_IIDR` | RO, as `GICD_IIDR` |
//! | 0x0008 | `GICR_TYPER` | RO 64-bit, see [`Vgic::gicr_typer`] |
//! | 0x0010 | `GICR_STATUSR` | RAZ/WI |
//! | 0x0014 | `GICR_WAKER` | ProcessorSleep RW; ChildrenAsleep RO = ProcessorSleep |
//! | 0x00C0 | `GICR_SYNCR` | RAZ (never busy) |
//! | 0xFFD0.. | `GICR_PIDR4` .. `GICR_CIDR3` | RO identification, `GICR_PIDR2` ArchRev 3 |
//!
//! SGI_base frame (offsets within the frame):
//!
//! | offset | register | here |
//! |---|---|---|
//! | 0x0080 | `GICR_IGROUPR0` | RW |
//! | 0x0100, 0x0180 | `GICR_ISENABLER0`, `GICR_ICENABLER0` | RW |
//! | 0x0200, 0x0280 | `GICR_ISPENDR0`, `GICR_ICPENDR0` | RW |
//! | 0x0300, 0x0380 | `GICR_ISACTIVER0`, `GICR_ICACTIVER0` | RW |
//! | 0x0400-0x041C | `GICR_IPRIORITYR0`-`7` | RW, byte or word |
//! | 0x0C00 | `GICR_ICFGR0` | RO 0xAAAAAAAA (SGIs are edge-triggered) |
//! | 0x0C04 | `GICR_ICFGR1` | RW (PPI configuration is programmable here) |
//! | 0x0D00 | `GICR_IGRPMODR0` | RAZ/WI (DS = 1) |
//! | 0x0E00 | `GICR_NSACR` | RAZ/WI (DS = 1) |
//! | 0x0F80 | `GICR_INMIR0` | RAZ/WI (no NMIs) |
//!
//! Everything else, LPI registers included (`GICR_TYPER.PLPIS` = 0), is reserved:
//! RAZ/WI with [`Note::Reserved`]. So are offsets past the last vCPU's frames.

use crate::access::{check_alignment, check_width, read_part, Widths};
use crate::distributor::{GICD_IDREGS, GICD_IIDR_VALUE, ID_REGISTERS};
use crate::irq::{BitReg, Irq, Trigger, ICACTIVER, ICFGR, IGROUPR, IPRIORITYR, NR_SGIS, SPI_BASE};
use crate::lr::LrSlot;
use crate::{
    AccessError, AccessWidth, Bank, Note, ReadOutcome, Vgic, WriteOutcome, GICR_FRAME_SIZE,
    GICR_STRIDE, MAX_LRS,
};

/// Offset of `GICR_CTLR` in RD_base.
pub const GICR_CTLR: u64 = 0x0000;
/// Offset of `GICR_IIDR` in RD_base.
pub const GICR_IIDR: u64 = 0x0004;
/// Offset of `GICR_TYPER` in RD_base (64-bit).
pub const GICR_TYPER: u64 = 0x0008;
/// Offset of `GICR_STATUSR` in RD_base.
pub const GICR_STATUSR: u64 = 0x0010;
/// Offset of `GICR_WAKER` in RD_base.
pub const GICR_WAKER: u64 = 0x0014;
/// Offset of `GICR_SYNCR` in RD_base.
pub const GICR_SYNCR: u64 = 0x00C0;
/// Offset of `GICR_PIDR2` in RD_base.
pub const GICR_PIDR2: u64 = 0xFFE8;
/// Offset of the SGI_base frame from RD_base.
pub const GICR_SGI_BASE: u64 = GICR_FRAME_SIZE;
/// Offset of `GICR_IGROUPR0` in SGI_base.
pub const GICR_IGROUPR0: u64 = IGROUPR;
/// Offset of `GICR_ISENABLER0` in SGI_base.
pub const GICR_ISENABLER0: u64 = crate::irq::ISENABLER;
/// Offset of `GICR_ICENABLER0` in SGI_base.
pub const GICR_ICENABLER0: u64 = crate::irq::ICENABLER;
/// Offset of `GICR_ISPENDR0` in SGI_base.
pub const GICR_ISPENDR0: u64 = crate::irq::ISPENDR;
/// Offset of `GICR_ICPENDR0` in SGI_base.
pub const GICR_ICPENDR0: u64 = crate::irq::ICPENDR;
/// Offset of `GICR_ISACTIVER0` in SGI_base.
pub const GICR_ISACTIVER0: u64 = crate::irq::ISACTIVER;
/// Offset of `GICR_ICACTIVER0` in SGI_base.
pub const GICR_ICACTIVER0: u64 = ICACTIVER;
/// Offset of `GICR_IPRIORITYR0` in SGI_base (`GICR_IPRIORITYR<n>`, n = 0..=7).
pub const GICR_IPRIORITYR0: u64 = IPRIORITYR;
/// Offset of `GICR_ICFGR0` (SGIs) in SGI_base.
pub const GICR_ICFGR0: u64 = ICFGR;
/// Offset of `GICR_ICFGR1` (PPIs) in SGI_base.
pub const GICR_ICFGR1: u64 = ICFGR + 4;
/// Offset of `GICR_IGRPMODR0` in SGI_base.
pub const GICR_IGRPMODR0: u64 = 0x0D00;
/// Offset of `GICR_NSACR` in SGI_base.
pub const GICR_NSACR: u64 = 0x0E00;
/// Offset of `GICR_INMIR0` in SGI_base.
pub const GICR_INMIR0: u64 = 0x0F80;

/// `GICR_TYPER.Last`: the last redistributor of the region.
pub const GICR_TYPER_LAST: u64 = 1 << 4;
/// Shift of `GICR_TYPER.Processor_Number` (23:8).
pub const GICR_TYPER_PROCESSOR_NUMBER_SHIFT: u32 = 8;
/// Shift of `GICR_TYPER.Affinity_Value` (63:32: Aff3.Aff2.Aff1.Aff0).
pub const GICR_TYPER_AFFINITY_SHIFT: u32 = 32;
/// `GICR_WAKER.ProcessorSleep`.
pub const GICR_WAKER_PROCESSOR_SLEEP: u32 = 1 << 1;
/// `GICR_WAKER.ChildrenAsleep`.
pub const GICR_WAKER_CHILDREN_ASLEEP: u32 = 1 << 2;

/// One vCPU's redistributor.
#[derive(Debug, Clone)]
pub(crate) struct Redistributor {
    /// The vCPU's MPIDR affinity fields.
    pub(crate) affinity: u64,
    /// SGIs 0-15 and PPIs 16-31.
    pub(crate) private: [Irq; SPI_BASE as usize],
    /// `GICR_WAKER.ProcessorSleep`.
    pub(crate) processor_sleep: bool,
    /// What the last `fill_lrs` put in each list register.
    pub(crate) lr_slots: [Option<LrSlot>; MAX_LRS],
}

impl Redistributor {
    pub(crate) fn new(affinity: u64) -> Redistributor {
        Redistributor {
            affinity,
            private: core::array::from_fn(|intid| {
                Irq::new(if (intid as u32) < NR_SGIS {
                    Trigger::Edge
                } else {
                    Trigger::Level
                })
            }),
            processor_sleep: true,
            lr_slots: [None; MAX_LRS],
        }
    }
}

/// A decoded redistributor register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reg {
    Iidr,
    Typer,
    Waker,
    Bits(BitReg),
    /// Priority byte of INTID (the access covers as many as it has bytes).
    Priority(u32),
    /// `GICR_ICFGR0` (first = 0) or `GICR_ICFGR1` (first = 16).
    Config(u32),
    Id(u32),
    RazWi,
    Reserved,
}

/// Decodes an offset (aligned to the access) in a redistributor's two frames into a
/// register, the widths it takes and the offset of its first byte.
fn decode(offset: u64) -> (Reg, Widths, u64) {
    let word = offset & !3;
    let r = |reg, widths| (reg, widths, word);
    if offset < GICR_SGI_BASE {
        return match offset {
            GICR_CTLR..=0x3 => r(Reg::RazWi, Widths::Word),
            GICR_IIDR..=0x7 => r(Reg::Iidr, Widths::Word),
            GICR_TYPER..=0xF => (Reg::Typer, Widths::WordOrDoubleword, GICR_TYPER),
            GICR_STATUSR..=0x13 => r(Reg::RazWi, Widths::Word),
            GICR_WAKER..=0x17 => r(Reg::Waker, Widths::Word),
            GICR_SYNCR..=0xC3 => r(Reg::RazWi, Widths::Word),
            GICD_IDREGS..=0xFFFF => {
                let id = ID_REGISTERS
                    .get(((offset - GICD_IDREGS) / 4) as usize)
                    .copied()
                    .unwrap_or(0);
                r(Reg::Id(id), Widths::Word)
            }
            _ => (Reg::Reserved, Widths::Any, offset),
        };
    }
    let sgi = offset - GICR_SGI_BASE;
    match sgi {
        IGROUPR..=0x3FF if sgi & 0x7f < 4 => {
            let reg = BitReg::at(sgi & !0x7f).unwrap_or(BitReg::Group);
            r(Reg::Bits(reg), Widths::Word)
        }
        IPRIORITYR..=0x41F => (
            Reg::Priority((sgi - IPRIORITYR) as u32),
            Widths::ByteOrWord,
            offset,
        ),
        GICR_ICFGR0..=0xC07 => r(Reg::Config(((sgi - ICFGR) / 4) as u32 * 16), Widths::Word),
        GICR_IGRPMODR0..=0xD03 | GICR_NSACR..=0xE03 | GICR_INMIR0..=0xF83 => {
            r(Reg::RazWi, Widths::Word)
        }
        _ => (Reg::Reserved, Widths::Any, offset),
    }
}

impl Vgic {
    /// The value of `vcpu`'s `GICR_TYPER`: its affinity, Processor_Number = `vcpu`, Last on
    /// the last vCPU; no LPIs, no vLPIs, 16 PPIs (PPInum = 0), DPGS = 0.
    pub fn gicr_typer(&self, vcpu: usize) -> Option<u64> {
        let redist = self.redists.get(vcpu)?;
        let a = redist.affinity;
        // MPIDR: Aff3 39:32, Aff2 23:16, Aff1 15:8, Aff0 7:0 -> Aff3.Aff2.Aff1.Aff0.
        let affinity_value = ((a >> 8) & 0xff00_0000) | (a & 0x00ff_ffff);
        let mut typer = (affinity_value << GICR_TYPER_AFFINITY_SHIFT)
            | ((vcpu as u64 & 0xffff) << GICR_TYPER_PROCESSOR_NUMBER_SHIFT);
        if vcpu + 1 == self.redists.len() {
            typer |= GICR_TYPER_LAST;
        }
        Some(typer)
    }

    /// The value of `vcpu`'s `GICR_WAKER`.
    pub fn gicr_waker(&self, vcpu: usize) -> Option<u32> {
        let sleep = self.redists.get(vcpu)?.processor_sleep;
        Some(if sleep {
            GICR_WAKER_PROCESSOR_SLEEP | GICR_WAKER_CHILDREN_ASLEEP
        } else {
            0
        })
    }

    /// Splits a GICR region offset into a vCPU and the offset in its two frames.
    fn redist_frame(&self, offset: u64) -> Option<(usize, u64)> {
        let vcpu = usize::try_from(offset / GICR_STRIDE).ok()?;
        (vcpu < self.redists.len()).then_some((vcpu, offset % GICR_STRIDE))
    }

    /// Emulates a guest read of `width` at `offset` in the GICR region (vCPU N's frames
    /// start at N * [`GICR_STRIDE`]).
    pub fn redist_read(&self, offset: u64, width: AccessWidth) -> Result<ReadOutcome, AccessError> {
        check_alignment(offset, width)?;
        let reserved = Ok(ReadOutcome {
            value: 0,
            note: Some(Note::Reserved),
        });
        let Some((vcpu, frame_offset)) = self.redist_frame(offset) else {
            return reserved;
        };
        let (reg, widths, reg_offset) = decode(frame_offset);
        check_width(offset, width, widths)?;
        let bank = Bank::Private(vcpu);
        let value = match reg {
            Reg::Iidr => GICD_IIDR_VALUE.into(),
            Reg::Typer => read_part(
                self.gicr_typer(vcpu).unwrap_or(0),
                frame_offset - reg_offset,
                width,
            ),
            Reg::Waker => self.gicr_waker(vcpu).unwrap_or(0).into(),
            Reg::Bits(reg) => self.read_bits(bank, reg, 0).into(),
            Reg::Priority(first) => self.read_priorities(bank, first, width.bytes() as u32),
            Reg::Config(first) => self.read_config(bank, first).into(),
            Reg::Id(value) => value.into(),
            Reg::RazWi => 0,
            Reg::Reserved => return reserved,
        };
        Ok(ReadOutcome { value, note: None })
    }

    /// Emulates a guest write of `value` (its low `width` bits) with `width` at `offset` in
    /// the GICR region.
    pub fn redist_write(
        &mut self,
        offset: u64,
        width: AccessWidth,
        value: u64,
    ) -> Result<WriteOutcome, AccessError> {
        check_alignment(offset, width)?;
        let mut out = WriteOutcome::default();
        let Some((vcpu, frame_offset)) = self.redist_frame(offset) else {
            out.note = Some(Note::Reserved);
            return Ok(out);
        };
        let (reg, widths, _) = decode(frame_offset);
        check_width(offset, width, widths)?;
        let value = value & width.mask();
        let bank = Bank::Private(vcpu);
        match reg {
            Reg::Iidr | Reg::Typer | Reg::Id(_) => out.note = Some(Note::ReadOnly),
            Reg::Waker => {
                if let Some(redist) = self.redists.get_mut(vcpu) {
                    redist.processor_sleep = value & u64::from(GICR_WAKER_PROCESSOR_SLEEP) != 0;
                }
            }
            Reg::Bits(reg) => self.write_bits(bank, reg, 0, value as u32, &mut out),
            Reg::Priority(first) => {
                self.write_priorities(bank, first, width.bytes() as u32, value, &mut out)
            }
            Reg::Config(first) => self.write_config(bank, first, value as u32, &mut out),
            Reg::RazWi => {}
            Reg::Reserved => out.note = Some(Note::Reserved),
        }
        Ok(out)
    }
}
