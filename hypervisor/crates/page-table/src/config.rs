//! Which translation regime a table serves, how wide its input addresses are, and the
//! control-register values (TCR_EL2, VTCR_EL2, MAIR_EL2) that describe it to the MMU.

use core::fmt;

use crate::descriptor::{level_shift, BITS_PER_LEVEL, LAST_LEVEL, MAX_OUTPUT_BITS, PAGE_SHIFT};

/// The translation regime a [`PageTable`](crate::PageTable) is for. It decides the format of
/// the leaf attributes (Arm ARM D8.3) and how the start level is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Regime {
    /// Stage 1 of the non-VHE EL2 regime (HCR_EL2.E2H = 0): the hypervisor's own map, one
    /// input range from address 0, base in TTBR0_EL2. Attributes: AttrIndx into MAIR_EL2,
    /// `AP[2]` (`AP[1]` is RES1: one privilege level), XN.
    El2Stage1,
    /// Stage 2 of the EL1&0 regime: guest IPA to PA, base in VTTBR_EL2. Attributes: MemAttr,
    /// S2AP, `XN[1:0]`. The start level may use concatenated tables.
    Stage2,
}

/// Why a configuration was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The regime cannot translate this many input-address bits with the 4 KiB granule
    /// (25 to 48 bits: T0SZ 16 to 39, without FEAT_LVA or FEAT_TTST).
    UnsupportedInputBits {
        /// The regime asked for.
        regime: Regime,
        /// The width asked for.
        bits: u8,
    },
    /// A stage-2 input (IPA) range wider than the physical address size: the Arm ARM makes
    /// such a VTCR_EL2 CONSTRAINED UNPREDICTABLE and QEMU faults every access.
    IpaWiderThanPhysical {
        /// The IPA width of the table.
        ipa_bits: u8,
        /// The physical address width it was checked against.
        pa_bits: u8,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::UnsupportedInputBits { regime, bits } => write!(
                f,
                "{regime:?} cannot translate {bits}-bit input addresses (supported: \
                 {MIN_INPUT_BITS} to {MAX_INPUT_BITS})"
            ),
            Self::IpaWiderThanPhysical { ipa_bits, pa_bits } => write!(
                f,
                "a {ipa_bits}-bit IPA space needs at least {ipa_bits} physical address bits, \
                 the PE has {pa_bits}"
            ),
        }
    }
}

impl core::error::Error for ConfigError {}

/// Narrowest input range: TCR_EL2.T0SZ and VTCR_EL2.T0SZ are at most 39 with the 4 KiB
/// granule when FEAT_TTST is not implemented.
pub const MIN_INPUT_BITS: u8 = 25;
/// Widest input range: T0SZ is at least 16 without FEAT_LVA / FEAT_LPA2.
pub const MAX_INPUT_BITS: u8 = MAX_OUTPUT_BITS;

/// Up to 16 (2^4) translation tables can be concatenated at the start level of a stage-2
/// lookup (Arm ARM D8.2.x, "Concatenated translation tables"), resolving up to
/// 9 + 4 input-address bits there.
const MAX_CONCATENATION_BITS: u32 = 4;

/// A lookup cannot start at level 3 without FEAT_TTST.
const DEEPEST_START_LEVEL: u8 = LAST_LEVEL - 1;

/// A validated translation-table configuration: regime, input width, and the start level
/// and number of concatenated start-level tables derived from them.
///
/// Start level (4 KiB granule):
/// - [`Regime::El2Stage1`]: as the hardware derives it from TCR_EL2.T0SZ: level 2 for 25 to
///   30 bits, level 1 for 31 to 39, level 0 for 40 to 48.
/// - [`Regime::Stage2`]: chosen like KVM (`stage2_pgtable_levels(ipa) =
///   ARM64_HW_PGTABLE_LEVELS(ipa - 4)`): the deepest start level that needs at most 16
///   concatenated tables, i.e. level 2 for 25 to 34 bits, level 1 for 35 to 43, level 0 for
///   44 to 48. A 39-bit IPA starts at level 1 with one table, a 40-bit IPA at level 1 with
///   two concatenated tables (8 KiB, 8 KiB aligned). Every combination is inside the ranges
///   the Arm ARM allows for VTCR_EL2.{T0SZ, SL0}.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TableConfig {
    regime: Regime,
    input_bits: u8,
    start_level: u8,
}

impl TableConfig {
    /// Validates `input_bits` for `regime` and derives the start level.
    pub const fn new(regime: Regime, input_bits: u8) -> Result<Self, ConfigError> {
        if input_bits < MIN_INPUT_BITS || input_bits > MAX_INPUT_BITS {
            return Err(ConfigError::UnsupportedInputBits {
                regime,
                bits: input_bits,
            });
        }
        let extra_start_bits = match regime {
            Regime::El2Stage1 => 0,
            Regime::Stage2 => MAX_CONCATENATION_BITS,
        };
        // The deepest level whose table(s) resolve every bit above it.
        let mut start_level = DEEPEST_START_LEVEL;
        while input_bits as u32 > level_shift(start_level) + BITS_PER_LEVEL + extra_start_bits {
            start_level -= 1;
        }
        Ok(Self {
            regime,
            input_bits,
            start_level,
        })
    }

    /// The translation regime.
    pub const fn regime(&self) -> Regime {
        self.regime
    }

    /// Width of the input address range (VA for EL2 stage 1, IPA for stage 2).
    pub const fn input_bits(&self) -> u8 {
        self.input_bits
    }

    /// Size of the input address range: inputs are `0 .. input_size()`.
    pub const fn input_size(&self) -> u64 {
        1 << self.input_bits
    }

    /// The level of the first lookup (0 to 2).
    pub const fn start_level(&self) -> u8 {
        self.start_level
    }

    /// Number of descriptors the start level resolves (across every concatenated table).
    pub const fn start_level_entries(&self) -> usize {
        1 << (self.input_bits as u32 - level_shift(self.start_level))
    }

    /// Number of 4 KiB tables at the start level: more than one only for stage 2 with
    /// concatenated tables. They are physically contiguous and the first is aligned to their
    /// total size, as TTBR0_EL2 / VTTBR_EL2 BADDR requires.
    pub const fn start_level_tables(&self) -> usize {
        let tables = self.start_level_entries() >> BITS_PER_LEVEL;
        if tables == 0 {
            1
        } else {
            tables
        }
    }

    /// T0SZ for TCR_EL2 / VTCR_EL2: the input range is 2^(64 - T0SZ) bytes.
    const fn t0sz(&self) -> u64 {
        (u64::BITS - self.input_bits as u32) as u64
    }
}

/// A physical address size, as encoded in ID_AA64MMFR0_EL1.PARange and in the PS field of
/// TCR_EL2 / VTCR_EL2 (same encoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PhysAddrSize {
    /// 32 bits, 4 GiB (PARange 0b0000).
    Bits32,
    /// 36 bits, 64 GiB (0b0001).
    Bits36,
    /// 40 bits, 1 TiB (0b0010).
    Bits40,
    /// 42 bits, 4 TiB (0b0011).
    Bits42,
    /// 44 bits, 16 TiB (0b0100). QEMU's cortex-a72 reports this.
    Bits44,
    /// 48 bits, 256 TiB (0b0101).
    Bits48,
}

impl PhysAddrSize {
    /// The size given by ID_AA64MMFR0_EL1.PARange (bits `[3:0]` of the register; higher bits
    /// of `parange` are ignored). 52-bit and wider encodings are clamped to 48 bits: with
    /// the 4 KiB granule, wider output addresses need the FEAT_LPA2 descriptor format, which
    /// this crate does not use.
    pub const fn from_parange(parange: u64) -> Self {
        match parange & PARANGE_MASK {
            0b0000 => Self::Bits32,
            0b0001 => Self::Bits36,
            0b0010 => Self::Bits40,
            0b0011 => Self::Bits42,
            0b0100 => Self::Bits44,
            _ => Self::Bits48,
        }
    }

    /// The size with exactly `bits` bits, if it is one the architecture defines.
    pub const fn from_bits(bits: u8) -> Option<Self> {
        match bits {
            32 => Some(Self::Bits32),
            36 => Some(Self::Bits36),
            40 => Some(Self::Bits40),
            42 => Some(Self::Bits42),
            44 => Some(Self::Bits44),
            48 => Some(Self::Bits48),
            _ => None,
        }
    }

    /// Number of address bits.
    pub const fn bits(self) -> u8 {
        match self {
            Self::Bits32 => 32,
            Self::Bits36 => 36,
            Self::Bits40 => 40,
            Self::Bits42 => 42,
            Self::Bits44 => 44,
            Self::Bits48 => 48,
        }
    }

    /// The PS / PARange field encoding.
    const fn encoding(self) -> u64 {
        match self {
            Self::Bits32 => 0b000,
            Self::Bits36 => 0b001,
            Self::Bits40 => 0b010,
            Self::Bits42 => 0b011,
            Self::Bits44 => 0b100,
            Self::Bits48 => 0b101,
        }
    }
}

/// ID_AA64MMFR0_EL1.PARange is bits `[3:0]`.
const PARANGE_MASK: u64 = 0b1111;

// Fields shared by TCR_EL2 (non-VHE layout) and VTCR_EL2 (Arm ARM D19.2).
/// T0SZ, bits `[5:0]`.
const TCR_T0SZ_SHIFT: u32 = 0;
/// IRGN0, bits `[9:8]`: inner cacheability of table walks.
const TCR_IRGN0_SHIFT: u32 = 8;
/// ORGN0, bits `[11:10]`: outer cacheability of table walks.
const TCR_ORGN0_SHIFT: u32 = 10;
/// SH0, bits `[13:12]`: shareability of table walks.
const TCR_SH0_SHIFT: u32 = 12;
/// TG0, bits `[15:14]`: translation granule.
const TCR_TG0_SHIFT: u32 = 14;
/// PS, bits `[18:16]`: physical (output) address size.
const TCR_PS_SHIFT: u32 = 16;
/// IRGN0 / ORGN0 = 0b01: Normal memory, Write-Back Read-Allocate Write-Allocate Cacheable.
const WALK_CACHE_WB_RA_WA: u64 = 0b01;
/// SH0 = 0b11: Inner Shareable.
const WALK_INNER_SHAREABLE: u64 = 0b11;
/// TG0 = 0b00: 4 KiB granule.
const TG0_4KIB: u64 = 0b00;
/// TCR_EL2 (E2H = 0) bits 31 and 23 are RES1.
const TCR_EL2_RES1: u64 = (1 << 31) | (1 << 23);
/// VTCR_EL2 bit 31 is RES1.
const VTCR_EL2_RES1: u64 = 1 << 31;
/// VTCR_EL2.SL0, bits `[7:6]`: start level. With the 4 KiB granule (and no FEAT_TTST),
/// 0b00 = level 2, 0b01 = level 1, 0b10 = level 0, i.e. SL0 = 2 - start level.
const VTCR_SL0_SHIFT: u32 = 6;
/// The start level SL0 = 0 means with the 4 KiB granule.
const VTCR_SL0_ZERO_LEVEL: u8 = 2;

/// The walk attributes and granule common to TCR_EL2 and VTCR_EL2: table walks are Inner
/// Shareable, Write-Back Write-Allocate cacheable (inner and outer), 4 KiB granule.
const fn walk_attributes(config: &TableConfig, pa: PhysAddrSize) -> u64 {
    (config.t0sz() << TCR_T0SZ_SHIFT)
        | (WALK_CACHE_WB_RA_WA << TCR_IRGN0_SHIFT)
        | (WALK_CACHE_WB_RA_WA << TCR_ORGN0_SHIFT)
        | (WALK_INNER_SHAREABLE << TCR_SH0_SHIFT)
        | (TG0_4KIB << TCR_TG0_SHIFT)
        | (pa.encoding() << TCR_PS_SHIFT)
}

// MAIR_EL2 (Arm ARM D19.2 MAIR_EL2): eight one-byte memory attribute encodings, indexed by
// the AttrIndx field of stage-1 descriptors.
/// Attr0: Device-nGnRnE (0x00).
const MAIR_DEVICE_NGNRNE: u64 = 0x00;
/// Attr1: Device-nGnRE (0x04).
const MAIR_DEVICE_NGNRE: u64 = 0x04;
/// Attr2: Normal, Inner and Outer Non-cacheable (0x44).
const MAIR_NORMAL_NON_CACHEABLE: u64 = 0x44;
/// Attr3: Normal, Inner and Outer Write-Back Non-transient, Read-Allocate Write-Allocate
/// (0xff).
const MAIR_NORMAL_WRITE_BACK: u64 = 0xff;
/// Bits per MAIR attribute field.
const MAIR_FIELD_BITS: u32 = 8;

/// The MAIR_EL2 index of each [`MemType`](crate::MemType) in EL2 stage-1 descriptors.
pub(crate) mod mair_index {
    /// Device-nGnRnE.
    pub const DEVICE_NGNRNE: u64 = 0;
    /// Device-nGnRE.
    pub const DEVICE_NGNRE: u64 = 1;
    /// Normal Non-cacheable.
    pub const NORMAL_NON_CACHEABLE: u64 = 2;
    /// Normal Write-Back.
    pub const NORMAL_WRITE_BACK: u64 = 3;
}

/// The MAIR_EL2 value [`El2Config`] tables assume:
///
/// | index | attribute | meaning                                              | `MemType`            |
/// |-------|-----------|------------------------------------------------------|----------------------|
/// | 0     | 0x00      | Device-nGnRnE                                        | `DeviceStrict`       |
/// | 1     | 0x04      | Device-nGnRE                                         | `Device`             |
/// | 2     | 0x44      | Normal, Inner/Outer Non-cacheable                    | `NormalNonCacheable` |
/// | 3     | 0xff      | Normal, Inner/Outer Write-Back RA WA, Non-transient  | `Normal`             |
/// | 4-7   | 0x00      | unused (Device-nGnRnE)                               |                      |
///
/// So `MAIR_EL2 = 0x0000_0000_ff44_0400`.
pub const MAIR_EL2: u64 = (MAIR_DEVICE_NGNRNE
    << (mair_index::DEVICE_NGNRNE as u32 * MAIR_FIELD_BITS))
    | (MAIR_DEVICE_NGNRE << (mair_index::DEVICE_NGNRE as u32 * MAIR_FIELD_BITS))
    | (MAIR_NORMAL_NON_CACHEABLE << (mair_index::NORMAL_NON_CACHEABLE as u32 * MAIR_FIELD_BITS))
    | (MAIR_NORMAL_WRITE_BACK << (mair_index::NORMAL_WRITE_BACK as u32 * MAIR_FIELD_BITS));

/// Configuration of the hypervisor's own stage-1 table (non-VHE EL2, TTBR0_EL2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct El2Config {
    table: TableConfig,
}

impl El2Config {
    /// An EL2 stage-1 table translating `va_bits`-bit virtual addresses (25 to 48).
    pub const fn new(va_bits: u8) -> Result<Self, ConfigError> {
        match TableConfig::new(Regime::El2Stage1, va_bits) {
            Ok(table) => Ok(Self { table }),
            Err(e) => Err(e),
        }
    }

    /// The table configuration, for [`PageTable::new`](crate::PageTable::new).
    pub const fn table_config(&self) -> TableConfig {
        self.table
    }

    /// The TCR_EL2 value (HCR_EL2.E2H = 0 layout) for this table, with `pa` as the physical
    /// address size (pass the PE's, from ID_AA64MMFR0_EL1.PARange):
    ///
    /// - T0SZ `[5:0]` = 64 - `va_bits`;
    /// - IRGN0 `[9:8]` = ORGN0 `[11:10]` = 0b01 (walks Write-Back Read/Write-Allocate);
    /// - SH0 `[13:12]` = 0b11 (walks Inner Shareable);
    /// - TG0 `[15:14]` = 0b00 (4 KiB granule);
    /// - PS `[18:16]` = `pa` encoding;
    /// - bits 31 and 23 RES1; TBI, HA, HD, HPD and the rest 0.
    ///
    /// Example: 48-bit VA, 44-bit PA: `0x8000_0000 | 0x80_0000 | (0b100 << 16) | (0b11 << 12)
    /// | (0b01 << 10) | (0b01 << 8) | 16 = 0x8084_3510`.
    pub const fn tcr_el2(&self, pa: PhysAddrSize) -> u64 {
        TCR_EL2_RES1 | walk_attributes(&self.table, pa)
    }

    /// The MAIR_EL2 value the descriptors of this table index into: [`MAIR_EL2`].
    pub const fn mair_el2() -> u64 {
        MAIR_EL2
    }
}

impl From<El2Config> for TableConfig {
    fn from(config: El2Config) -> Self {
        config.table
    }
}

/// Configuration of a guest's stage-2 table (VTTBR_EL2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stage2Config {
    table: TableConfig,
}

impl Stage2Config {
    /// A stage-2 table translating `ipa_bits`-bit intermediate physical addresses (25 to
    /// 48); see [`TableConfig`] for the start level it gets.
    pub const fn new(ipa_bits: u8) -> Result<Self, ConfigError> {
        match TableConfig::new(Regime::Stage2, ipa_bits) {
            Ok(table) => Ok(Self { table }),
            Err(e) => Err(e),
        }
    }

    /// The table configuration, for [`PageTable::new`](crate::PageTable::new).
    pub const fn table_config(&self) -> TableConfig {
        self.table
    }

    /// The VTCR_EL2 value for this table, with `pa` as the physical address size (pass the
    /// PE's, from ID_AA64MMFR0_EL1.PARange). Fails if the IPA range is wider than `pa`.
    ///
    /// - T0SZ `[5:0]` = 64 - `ipa_bits`;
    /// - SL0 `[7:6]` = 2 - start level (0b01 for level 1);
    /// - IRGN0 `[9:8]` = ORGN0 `[11:10]` = 0b01 (walks Write-Back Read/Write-Allocate);
    /// - SH0 `[13:12]` = 0b11 (walks Inner Shareable);
    /// - TG0 `[15:14]` = 0b00 (4 KiB granule);
    /// - PS `[18:16]` = `pa` encoding;
    /// - VS `[19]` = 0 (8-bit VMID, `VTTBR_EL2[55:48]`); bit 31 RES1; HA, HD and the rest 0.
    ///
    /// Example: 39-bit IPA, 44-bit PA: `0x8000_0000 | (0b100 << 16) | (0b11 << 12)
    /// | (0b01 << 10) | (0b01 << 8) | (0b01 << 6) | 25 = 0x8004_3559`.
    pub const fn vtcr_el2(&self, pa: PhysAddrSize) -> Result<u64, ConfigError> {
        if self.table.input_bits > pa.bits() {
            return Err(ConfigError::IpaWiderThanPhysical {
                ipa_bits: self.table.input_bits,
                pa_bits: pa.bits(),
            });
        }
        let sl0 = (VTCR_SL0_ZERO_LEVEL - self.table.start_level) as u64;
        Ok(VTCR_EL2_RES1 | (sl0 << VTCR_SL0_SHIFT) | walk_attributes(&self.table, pa))
    }
}

impl From<Stage2Config> for TableConfig {
    fn from(config: Stage2Config) -> Self {
        config.table
    }
}

// Four levels of 9 bits above the 12-bit page offset resolve exactly the widest input range.
const _: () =
    assert!(PAGE_SHIFT + BITS_PER_LEVEL * (LAST_LEVEL as u32 + 1) == MAX_INPUT_BITS as u32);
