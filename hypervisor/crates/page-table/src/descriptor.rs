//! Geometry of the 4 KiB translation granule and the bit layout of VMSAv8-64 descriptors
//! (Arm ARM D8.2 "Translation table walk", D8.3 "Translation table descriptor formats").
//!
//! With a 4 KiB granule every table is one 4 KiB page of 512 eight-byte descriptors, and each
//! lookup level resolves 9 bits of the input address:
//!
//! | level | input bits | one entry maps | leaf allowed                       |
//! |-------|------------|----------------|------------------------------------|
//! | 0     | 47:39      | 512 GiB        | no (level-0 blocks need FEAT_LPA2) |
//! | 1     | 38:30      | 1 GiB          | block                              |
//! | 2     | 29:21      | 2 MiB          | block                              |
//! | 3     | 20:12      | 4 KiB          | page                               |

/// log2 of the translation granule.
pub const PAGE_SHIFT: u32 = 12;
/// The translation granule: the size of a page and of a translation table.
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;
/// Number of descriptors in one translation table (4 KiB / 8 bytes).
pub const DESCRIPTORS_PER_TABLE: usize = 512;
/// Size of the region one level-2 block descriptor maps (2 MiB).
pub const LEVEL2_BLOCK_SIZE: u64 = level_size(2);
/// Size of the region one level-1 block descriptor maps (1 GiB).
pub const LEVEL1_BLOCK_SIZE: u64 = level_size(1);
/// Widest output address a descriptor can hold with the 4 KiB granule and without
/// FEAT_LPA2: `OA[47:12]` (Arm ARM D8.3).
pub const MAX_OUTPUT_BITS: u8 = 48;

/// Input-address bits resolved by one lookup level (log2 of [`DESCRIPTORS_PER_TABLE`]).
pub(crate) const BITS_PER_LEVEL: u32 = 9;
/// The level that holds page descriptors.
pub(crate) const LAST_LEVEL: u8 = 3;
/// The shallowest level at which a block descriptor is allowed with the 4 KiB granule.
pub(crate) const FIRST_BLOCK_LEVEL: u8 = 1;

/// Lowest input-address bit resolved by `level` (39, 30, 21, 12 for levels 0 to 3).
pub(crate) const fn level_shift(level: u8) -> u32 {
    PAGE_SHIFT + BITS_PER_LEVEL * (LAST_LEVEL - level) as u32
}

/// Size of the input region one descriptor at `level` covers.
pub(crate) const fn level_size(level: u8) -> u64 {
    1 << level_shift(level)
}

/// Whether a descriptor at `level` may be a leaf (block or page).
pub(crate) const fn level_allows_leaf(level: u8) -> bool {
    level >= FIRST_BLOCK_LEVEL
}

/// Bit 0: the descriptor is valid. An invalid descriptor makes a lookup fault with a
/// Translation fault; the other 63 bits are ignored by the hardware.
pub(crate) const VALID: u64 = 1 << 0;
/// Bit 1: at levels 0 to 2, 1 = table descriptor, 0 = block descriptor; at level 3,
/// 1 = page descriptor (0 is reserved and behaves as invalid).
pub(crate) const TABLE_OR_PAGE: u64 = 1 << 1;
/// The "invalid" descriptor this crate writes.
pub(crate) const INVALID: u64 = 0;
/// Output address of a page, block or next-level table: bits `[47:12]`. A block descriptor
/// only uses the bits above its size (`OA[47:30]` at level 1, `OA[47:21]` at level 2); the
/// bits below are RES0 and always zero here.
pub(crate) const OUTPUT_ADDRESS_MASK: u64 = ((1 << MAX_OUTPUT_BITS) - 1) & !(PAGE_SIZE - 1);

/// Lower attributes, bits `[4:2]`: AttrIndx, index of the memory attributes in MAIR_EL2
/// (stage 1).
pub(crate) const ATTR_INDX_SHIFT: u32 = 2;
/// Mask of AttrIndx once shifted down.
pub(crate) const ATTR_INDX_MASK: u64 = 0b111;
/// Lower attributes, bits `[5:2]`: MemAttr, the stage-2 memory type and cacheability
/// (without FEAT_S2FWB).
pub(crate) const MEM_ATTR_SHIFT: u32 = 2;
/// Mask of MemAttr once shifted down.
pub(crate) const MEM_ATTR_MASK: u64 = 0b1111;
/// Lower attributes, bits `[7:6]`: `AP[2:1]` at stage 1, `S2AP[1:0]` at stage 2.
pub(crate) const AP_SHIFT: u32 = 6;
/// Mask of AP / S2AP once shifted down.
pub(crate) const AP_MASK: u64 = 0b11;
/// Lower attributes, bits `[9:8]`: SH, shareability.
pub(crate) const SH_SHIFT: u32 = 8;
/// SH = 0b11: Inner Shareable. Used for every mapping (Device and Normal Non-cacheable
/// memory are Outer Shareable whatever SH says).
pub(crate) const SH_INNER_SHAREABLE: u64 = 0b11;
/// Bit 10: AF, the Access flag. Always set: this crate does not use Access flag faults and
/// the hardware update of the flag (FEAT_HAFDBS) stays disabled (TCR_EL2.HA = VTCR_EL2.HA = 0).
pub(crate) const AF: u64 = 1 << 10;
/// Bit 54: XN at stage 1 of the EL2 regime (one privilege level, PXN is RES0), and `XN[1]` at
/// stage 2: with `XN[1:0]` = 0b10 the page is executable neither at EL1 nor at EL0, with or
/// without FEAT_XNX.
pub(crate) const XN: u64 = 1 << 54;
/// Bits `[54:53]`: the stage-2 XN field (bit 53 is `XN[0]`, defined by FEAT_XNX).
pub(crate) const STAGE2_XN_MASK: u64 = 0b11 << 53;

/// Every bit of a leaf descriptor that is not its output address or its type: the lower
/// attributes `[11:2]` and the upper attributes `[63:50]`.
pub(crate) const LEAF_ATTRIBUTE_MASK: u64 = !(OUTPUT_ADDRESS_MASK | VALID | TABLE_OR_PAGE);
/// The permission fields of a leaf (AP/S2AP and XN). A change confined to these bits needs
/// no break-before-make; any other change of a live leaf does (Arm ARM D8.14.1).
pub(crate) const PERMISSION_MASK: u64 = (AP_MASK << AP_SHIFT) | STAGE2_XN_MASK;

/// What a descriptor is, at the level it was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Faults: invalid, a level-0 block (not allowed with the 4 KiB granule) or the reserved
    /// level-3 encoding.
    Invalid,
    /// Points to the next-level table at this physical address.
    Table(u64),
    /// A block or page mapping the region of its level to this output address.
    Leaf(u64),
}

/// Decodes the type of `descriptor`, read from a table at `level`.
pub(crate) const fn classify(descriptor: u64, level: u8) -> Entry {
    if descriptor & VALID == 0 {
        return Entry::Invalid;
    }
    let table_or_page = descriptor & TABLE_OR_PAGE != 0;
    if level == LAST_LEVEL {
        return if table_or_page {
            Entry::Leaf(descriptor & OUTPUT_ADDRESS_MASK)
        } else {
            Entry::Invalid
        };
    }
    if table_or_page {
        Entry::Table(descriptor & OUTPUT_ADDRESS_MASK)
    } else if level_allows_leaf(level) {
        Entry::Leaf(descriptor & OUTPUT_ADDRESS_MASK & !(level_size(level) - 1))
    } else {
        Entry::Invalid
    }
}

/// A table descriptor pointing to the table at `table_pa`. The table attributes
/// (NSTable, APTable, XNTable, PXNTable) stay zero: they impose no further restriction.
pub(crate) const fn table_descriptor(table_pa: u64) -> u64 {
    (table_pa & OUTPUT_ADDRESS_MASK) | TABLE_OR_PAGE | VALID
}

/// A block (levels 1 and 2) or page (level 3) descriptor mapping to `output` with the leaf
/// attribute bits `attributes`.
pub(crate) const fn leaf_descriptor(output: u64, level: u8, attributes: u64) -> u64 {
    let type_bits = if level == LAST_LEVEL {
        TABLE_OR_PAGE | VALID
    } else {
        VALID
    };
    (output & OUTPUT_ADDRESS_MASK) | (attributes & LEAF_ATTRIBUTE_MASK) | type_bits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_matches_the_arm_arm() {
        assert_eq!(level_shift(0), 39);
        assert_eq!(level_shift(1), 30);
        assert_eq!(level_shift(2), 21);
        assert_eq!(level_shift(3), 12);
        assert_eq!(LEVEL1_BLOCK_SIZE, 1 << 30);
        assert_eq!(LEVEL2_BLOCK_SIZE, 2 << 20);
        assert_eq!(OUTPUT_ADDRESS_MASK, 0x0000_ffff_ffff_f000);
        assert_eq!(DESCRIPTORS_PER_TABLE, 1 << BITS_PER_LEVEL);
    }

    #[test]
    fn classify_decodes_every_type() {
        assert_eq!(classify(0, 1), Entry::Invalid);
        assert_eq!(classify(0x1234_5000 | 0b11, 0), Entry::Table(0x1234_5000));
        assert_eq!(classify(0x4000_0000 | 0b01, 0), Entry::Invalid);
        assert_eq!(classify(0x4000_0000 | 0b01, 1), Entry::Leaf(0x4000_0000));
        assert_eq!(classify(0x4020_0000 | 0b01, 2), Entry::Leaf(0x4020_0000));
        assert_eq!(classify(0x4020_1000 | 0b11, 3), Entry::Leaf(0x4020_1000));
        assert_eq!(classify(0x4020_1000 | 0b01, 3), Entry::Invalid);
        // Upper attributes never leak into the address.
        assert_eq!(
            classify(XN | 0x4020_1000 | 0b11, 3),
            Entry::Leaf(0x4020_1000)
        );
    }
}
