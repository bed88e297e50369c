//! The distributor (GICD) frame: IHI 0069, 12.9 "The GIC Distributor register
//! descriptions", with affinity routing enabled and `GICD_CTLR.DS` = 1.
//!
//! | offset | register | here |
//! |---|---|---|
//! | 0x0000 | `GICD_CTLR` | EnableGrp0, EnableGrp1 RW; ARE, DS RAO/WI; RWP 0 |
//! | 0x0004 | `GICD_TYPER` | RO, see [`Vgic::gicd_typer`] |
//! | 0x0008 | `GICD_IIDR` | RO, [`GICD_IIDR_VALUE`] |
//! | 0x000C | `GICD_TYPER2` | RO 0 (no vPE IDs, no nASSGIcap) |
//! | 0x0010 | `GICD_STATUSR` | RAZ/WI |
//! | 0x0080.. | `GICD_IGROUPR<n>` .. `GICD_ICACTIVER<n>` | SPIs; n = 0 RAZ/WI (SGIs/PPIs are in the GICR) |
//! | 0x0400.. | `GICD_IPRIORITYR<n>` | SPIs, byte or word; INTIDs 0-31 RAZ/WI |
//! | 0x0800.. | `GICD_ITARGETSR<n>` | RAZ/WI (affinity routing) |
//! | 0x0C00.. | `GICD_ICFGR<n>` | SPIs; n = 0, 1 RAZ/WI |
//! | 0x0D00.. | `GICD_IGRPMODR<n>` | RAZ/WI (DS = 1) |
//! | 0x0E00.. | `GICD_NSACR<n>` | RAZ/WI (DS = 1) |
//! | 0x0F00 | `GICD_SGIR` | WI (affinity routing) |
//! | 0x0F10.. | `GICD_CPENDSGIR<n>`, `GICD_SPENDSGIR<n>` | RAZ/WI (affinity routing) |
//! | 0x0F80.. | `GICD_INMIR<n>` | RAZ/WI (no NMIs) |
//! | 0x6100.. | `GICD_IROUTER<n>` | SPIs, 64-bit; IRM RAZ/WI (no 1-of-N) |
//! | 0xFFD0.. | `GICD_PIDR4` .. `GICD_CIDR3` | RO identification, `GICD_PIDR2` ArchRev 3 |
//!
//! Everything else (extended SPI ranges, message-based SPIs, the IROUTER slots of INTIDs
//! 0-31) is reserved: RAZ/WI with [`Note::Reserved`].

use crate::access::{check_alignment, check_width, read_part, write_part, Widths};
use crate::irq::{BitReg, ICFGR, IGROUPR, IPRIORITYR, SPI_BASE};
use crate::{
    AccessError, AccessWidth, Bank, Note, ReadOutcome, VcpuSet, Vgic, WriteOutcome, GICD_SIZE,
    MPIDR_AFFINITY_MASK,
};

/// Offset of `GICD_CTLR`.
pub const GICD_CTLR: u64 = 0x0000;
/// Offset of `GICD_TYPER`.
pub const GICD_TYPER: u64 = 0x0004;
/// Offset of `GICD_IIDR`.
pub const GICD_IIDR: u64 = 0x0008;
/// Offset of `GICD_TYPER2`.
pub const GICD_TYPER2: u64 = 0x000C;
/// Offset of `GICD_STATUSR`.
pub const GICD_STATUSR: u64 = 0x0010;
/// Offset of `GICD_IGROUPR<n>`.
pub const GICD_IGROUPR: u64 = IGROUPR;
/// Offset of `GICD_IPRIORITYR<n>`.
pub const GICD_IPRIORITYR: u64 = IPRIORITYR;
/// Offset of `GICD_ITARGETSR<n>`.
pub const GICD_ITARGETSR: u64 = 0x0800;
/// Offset of `GICD_ICFGR<n>`.
pub const GICD_ICFGR: u64 = ICFGR;
/// Offset of `GICD_IGRPMODR<n>`.
pub const GICD_IGRPMODR: u64 = 0x0D00;
/// Offset of `GICD_NSACR<n>`.
pub const GICD_NSACR: u64 = 0x0E00;
/// Offset of `GICD_SGIR`.
pub const GICD_SGIR: u64 = 0x0F00;
/// Offset of `GICD_CPENDSGIR<n>`.
pub const GICD_CPENDSGIR: u64 = 0x0F10;
/// Offset of `GICD_SPENDSGIR<n>`.
pub const GICD_SPENDSGIR: u64 = 0x0F20;
/// Offset of `GICD_INMIR<n>`.
pub const GICD_INMIR: u64 = 0x0F80;
/// Offset of `GICD_IROUTER<n>` for n = 0 (the first register that exists is n = 32).
pub const GICD_IROUTER: u64 = 0x6000;
/// Offset of `GICD_PIDR2`.
pub const GICD_PIDR2: u64 = 0xFFE8;
/// Start of the identification registers (`GICD_PIDR4`).
pub const GICD_IDREGS: u64 = 0xFFD0;

/// `GICD_CTLR.EnableGrp0` (DS = 1 layout).
pub const GICD_CTLR_ENABLE_GRP0: u32 = 1 << 0;
/// `GICD_CTLR.EnableGrp1` (DS = 1 layout).
pub const GICD_CTLR_ENABLE_GRP1: u32 = 1 << 1;
/// `GICD_CTLR.ARE`: affinity routing enabled (RAO/WI here).
pub const GICD_CTLR_ARE: u32 = 1 << 4;
/// `GICD_CTLR.DS`: security disabled (RAO/WI here).
pub const GICD_CTLR_DS: u32 = 1 << 6;
/// `GICD_CTLR.RWP`: register write pending (always 0 here).
pub const GICD_CTLR_RWP: u32 = 1 << 31;

/// `GICD_TYPER.ITLinesNumber` field (4:0).
pub const GICD_TYPER_ITLINES_MASK: u32 = 0x1f;
/// Shift of `GICD_TYPER.IDbits` (23:19): INTID bits - 1.
pub const GICD_TYPER_IDBITS_SHIFT: u32 = 19;
/// `GICD_TYPER.A3V`: affinity level 3 supported.
pub const GICD_TYPER_A3V: u32 = 1 << 24;
/// `GICD_TYPER.No1N`: 1-of-N SPI routing not supported.
pub const GICD_TYPER_NO1N: u32 = 1 << 25;
/// `GICD_TYPER.RSS`: SGI target Aff0 values 0-255 (`ICC_SGI1R_EL1.RS`) supported.
pub const GICD_TYPER_RSS: u32 = 1 << 26;
/// INTID bits this GIC reports (SPIs up to 1019).
pub const INTID_BITS: u32 = 10;

/// JEP106 code of Arm (bank 5, 0x3B), which the Implementer fields use, as KVM does.
pub const IMPLEMENTER_ARM: u32 = 0x43B;
/// Product ID this vGIC reports: ASCII `R` (REPTAR), distinct from real GICs and KVM's `K`.
pub const PRODUCT_ID_REPTAR: u32 = 0x52;
/// `GICD_IIDR` and `GICR_IIDR`: ProductID 0x52, Variant 0, Revision 0, Implementer 0x43B.
/// (Linux keys errata on this register; a zero ProductID with Arm's code would match its
/// RK3399 quirk, hence a product ID of our own.)
pub const GICD_IIDR_VALUE: u32 = (PRODUCT_ID_REPTAR << 24) | IMPLEMENTER_ARM;

/// `GICD_IROUTER<n>` bits that hold state: Aff3, Aff2, Aff1, Aff0 (IRM is RAZ/WI).
pub const GICD_IROUTER_MASK: u64 = MPIDR_AFFINITY_MASK;

/// Values of the identification registers at 0xFFD0 + 4 * i (IHI 0069, 12.1.4):
/// `PIDR4`-`PIDR7`, `PIDR0`-`PIDR3`, `CIDR0`-`CIDR3`. JEP106 Arm (continuation 4, code
/// 0x3B), part number [`PRODUCT_ID_REPTAR`], `PIDR2.ArchRev` = 3 (GICv3).
pub const ID_REGISTERS: [u32; 12] = [
    0x04,                        // PIDR4: DES_2 = 4 (JEP106 continuation code)
    0x00,                        // PIDR5
    0x00,                        // PIDR6
    0x00,                        // PIDR7
    PRODUCT_ID_REPTAR,           // PIDR0: PART_0
    0xB0,                        // PIDR1: DES_0 = 0xB, PART_1 = 0
    GIC_PIDR2_ARCH_GICV3 | 0x0B, // PIDR2: ArchRev 3, JEDEC, DES_1 = 3
    0x00,                        // PIDR3
    0x0D,                        // CIDR0
    0xF0,                        // CIDR1
    0x05,                        // CIDR2
    0xB1,                        // CIDR3
];
/// `PIDR2.ArchRev` (7:4) = 3: GICv3.
pub const GIC_PIDR2_ARCH_GICV3: u32 = 0x30;

/// A decoded distributor register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reg {
    Ctlr,
    Typer,
    Iidr,
    Typer2,
    /// A one-bit-per-interrupt register covering INTIDs `first..first + 32`.
    Bits(BitReg, u32),
    /// The priority byte of INTID (the access covers as many as it has bytes).
    Priority(u32),
    /// `GICD_ICFGR<n>` covering INTIDs `first..first + 16`.
    Config(u32),
    /// `GICD_IROUTER<intid>`.
    Irouter(u32),
    /// A read-only identification register.
    Id(u32),
    /// A register of the architecture that is RAZ/WI in this configuration.
    RazWi,
    /// No register.
    Reserved,
}

/// Decodes `offset` (aligned to the access) into a register, the widths it takes and the
/// offset of the register's first byte.
fn decode(offset: u64) -> (Reg, Widths, u64) {
    let word = offset & !3;
    let r = |reg, widths| (reg, widths, word);
    match offset {
        GICD_CTLR..=0x3 => r(Reg::Ctlr, Widths::Word),
        GICD_TYPER..=0x7 => r(Reg::Typer, Widths::Word),
        GICD_IIDR..=0xB => r(Reg::Iidr, Widths::Word),
        GICD_TYPER2..=0xF => r(Reg::Typer2, Widths::Word),
        GICD_STATUSR..=0x13 => r(Reg::RazWi, Widths::Word),
        IGROUPR..=0x3FF => {
            let reg = BitReg::at(offset & !0x7f).unwrap_or(BitReg::Group);
            let first = ((offset & 0x7f) / 4) as u32 * 32;
            r(
                if first == 0 {
                    Reg::RazWi
                } else {
                    Reg::Bits(reg, first)
                },
                Widths::Word,
            )
        }
        IPRIORITYR..=0x7FF => (
            Reg::Priority((offset - IPRIORITYR) as u32),
            Widths::ByteOrWord,
            offset,
        ),
        GICD_ITARGETSR..=0xBFF => (Reg::RazWi, Widths::ByteOrWord, offset),
        ICFGR..=0xCFF => {
            let first = ((offset - ICFGR) / 4) as u32 * 16;
            r(
                if first < SPI_BASE {
                    Reg::RazWi
                } else {
                    Reg::Config(first)
                },
                Widths::Word,
            )
        }
        GICD_IGRPMODR..=0xD7F | GICD_NSACR..=0xEFF | GICD_SGIR..=0xF03 => {
            r(Reg::RazWi, Widths::Word)
        }
        GICD_CPENDSGIR..=0xF2F => (Reg::RazWi, Widths::ByteOrWord, offset),
        GICD_INMIR..=0xFFF => r(Reg::RazWi, Widths::Word),
        0x6100..=0x7FDF => {
            let intid = ((offset - GICD_IROUTER) / 8) as u32;
            (Reg::Irouter(intid), Widths::WordOrDoubleword, offset & !7)
        }
        GICD_IDREGS..=0xFFFF => {
            let id = ID_REGISTERS
                .get(((offset - GICD_IDREGS) / 4) as usize)
                .copied()
                .unwrap_or(0);
            r(Reg::Id(id), Widths::Word)
        }
        _ => (Reg::Reserved, Widths::Any, offset),
    }
}

impl Vgic {
    /// The value of `GICD_CTLR`.
    pub fn gicd_ctlr(&self) -> u32 {
        let mut ctlr = GICD_CTLR_ARE | GICD_CTLR_DS;
        if self.enable_grp0 {
            ctlr |= GICD_CTLR_ENABLE_GRP0;
        }
        if self.enable_grp1 {
            ctlr |= GICD_CTLR_ENABLE_GRP1;
        }
        ctlr
    }

    /// The value of `GICD_TYPER`: ITLinesNumber for the SPIs (rounded up to 32 INTIDs),
    /// IDbits = 9 (10-bit INTIDs), A3V, No1N, RSS if a vCPU needs it; no LPIs, MBIs,
    /// extended SPIs, NMIs or security extension; CPUNumber 0 (affinity routing only).
    pub fn gicd_typer(&self) -> u32 {
        let it_lines = self.nr_spis.div_ceil(32) & GICD_TYPER_ITLINES_MASK;
        let mut typer = it_lines
            | ((INTID_BITS - 1) << GICD_TYPER_IDBITS_SHIFT)
            | GICD_TYPER_A3V
            | GICD_TYPER_NO1N;
        if self.rss {
            typer |= GICD_TYPER_RSS;
        }
        typer
    }

    /// Emulates a guest read of `width` at `offset` in the GICD frame.
    pub fn dist_read(&self, offset: u64, width: AccessWidth) -> Result<ReadOutcome, AccessError> {
        check_alignment(offset, width)?;
        if offset >= GICD_SIZE {
            return Ok(ReadOutcome {
                value: 0,
                note: Some(Note::Reserved),
            });
        }
        let (reg, widths, reg_offset) = decode(offset);
        check_width(offset, width, widths)?;
        let value = match reg {
            Reg::Ctlr => self.gicd_ctlr().into(),
            Reg::Typer => self.gicd_typer().into(),
            Reg::Iidr => GICD_IIDR_VALUE.into(),
            Reg::Typer2 => 0,
            Reg::Bits(reg, first) => self.read_bits(Bank::Spis, reg, first).into(),
            Reg::Priority(first) => self.read_priorities(Bank::Spis, first, width.bytes() as u32),
            Reg::Config(first) => self.read_config(Bank::Spis, first).into(),
            Reg::Irouter(intid) => {
                let value = self.irouter_value(intid).unwrap_or(0);
                read_part(value, offset - reg_offset, width)
            }
            Reg::Id(value) => value.into(),
            Reg::RazWi | Reg::Reserved => 0,
        };
        let note = (reg == Reg::Reserved).then_some(Note::Reserved);
        Ok(ReadOutcome { value, note })
    }

    /// Emulates a guest write of `value` (its low `width` bits) with `width` at `offset` in
    /// the GICD frame.
    pub fn dist_write(
        &mut self,
        offset: u64,
        width: AccessWidth,
        value: u64,
    ) -> Result<WriteOutcome, AccessError> {
        check_alignment(offset, width)?;
        let mut out = WriteOutcome::default();
        if offset >= GICD_SIZE {
            out.note = Some(Note::Reserved);
            return Ok(out);
        }
        let (reg, widths, reg_offset) = decode(offset);
        check_width(offset, width, widths)?;
        let value = value & width.mask();
        match reg {
            Reg::Ctlr => {
                let before = (self.enable_grp0, self.enable_grp1);
                self.enable_grp0 = value & u64::from(GICD_CTLR_ENABLE_GRP0) != 0;
                self.enable_grp1 = value & u64::from(GICD_CTLR_ENABLE_GRP1) != 0;
                if (self.enable_grp0, self.enable_grp1) != before {
                    out.kick = VcpuSet::from_bits(((1u16 << self.redists.len()) - 1) as u8);
                }
            }
            Reg::Typer | Reg::Iidr | Reg::Typer2 | Reg::Id(_) => out.note = Some(Note::ReadOnly),
            Reg::Bits(reg, first) => {
                self.write_bits(Bank::Spis, reg, first, value as u32, &mut out)
            }
            Reg::Priority(first) => {
                self.write_priorities(Bank::Spis, first, width.bytes() as u32, value, &mut out)
            }
            Reg::Config(first) => self.write_config(Bank::Spis, first, value as u32, &mut out),
            Reg::Irouter(intid) => {
                if let Some(old) = self.irouter_value(intid) {
                    let new =
                        write_part(old, offset - reg_offset, width, value) & GICD_IROUTER_MASK;
                    self.set_irouter(intid, new, &mut out);
                }
            }
            Reg::RazWi => {}
            Reg::Reserved => out.note = Some(Note::Reserved),
        }
        Ok(out)
    }

    /// `GICD_IROUTER<intid>`, if `intid` is an SPI here.
    fn irouter_value(&self, intid: u32) -> Option<u64> {
        self.irouter
            .get(intid.checked_sub(SPI_BASE)? as usize)
            .copied()
    }

    fn set_irouter(&mut self, intid: u32, value: u64, out: &mut WriteOutcome) {
        let Some(slot) = intid
            .checked_sub(SPI_BASE)
            .and_then(|i| self.irouter.get_mut(i as usize))
        else {
            return;
        };
        *slot = value;
        let route = self.vcpu_by_affinity(value).map(|v| v as u8);
        self.update_irq(Bank::Spis, intid, out, |irq| irq.route = route);
    }
}
