//! Checks of guest accesses against what a register supports (IHI 0069, 12.1.3).

use crate::{AccessError, AccessWidth};

/// The access widths a register supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Widths {
    /// 32-bit registers.
    Word,
    /// 32-bit registers with byte-sized fields that take byte accesses too
    /// (`IPRIORITYR`, `ITARGETSR`, `CPENDSGIR`, `SPENDSGIR`).
    ByteOrWord,
    /// 64-bit registers: 64-bit accesses, or 32-bit accesses to either half.
    WordOrDoubleword,
    /// Reserved offsets: any aligned access, RAZ/WI.
    Any,
}

/// Checks that the access is aligned to its size.
pub(crate) fn check_alignment(offset: u64, width: AccessWidth) -> Result<(), AccessError> {
    if offset % width.bytes() != 0 {
        return Err(AccessError::Misaligned { offset, width });
    }
    Ok(())
}

/// Checks that a register supporting `widths` takes an access of `width`.
pub(crate) fn check_width(
    offset: u64,
    width: AccessWidth,
    widths: Widths,
) -> Result<(), AccessError> {
    let ok = match widths {
        Widths::Word => width == AccessWidth::Word,
        Widths::ByteOrWord => matches!(width, AccessWidth::Byte | AccessWidth::Word),
        Widths::WordOrDoubleword => matches!(width, AccessWidth::Word | AccessWidth::Doubleword),
        Widths::Any => true,
    };
    if ok {
        Ok(())
    } else {
        Err(AccessError::Width { offset, width })
    }
}

/// The part of 64-bit register value `reg` that an access of `width` at byte `offset`
/// (within the register) reads.
pub(crate) fn read_part(reg: u64, offset_in_reg: u64, width: AccessWidth) -> u64 {
    (reg >> ((offset_in_reg % 8) * 8)) & width.mask()
}

/// 64-bit register value `reg` after an access of `width` at byte `offset_in_reg` (within
/// the register) wrote `value`.
pub(crate) fn write_part(reg: u64, offset_in_reg: u64, width: AccessWidth, value: u64) -> u64 {
    let shift = (offset_in_reg % 8) * 8;
    let mask = width.mask() << shift;
    (reg & !mask) | ((value << shift) & mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves() {
        let r = 0x1122_3344_5566_7788;
        assert_eq!(read_part(r, 0, AccessWidth::Word), 0x5566_7788);
        assert_eq!(read_part(r, 4, AccessWidth::Word), 0x1122_3344);
        assert_eq!(read_part(r, 0, AccessWidth::Doubleword), r);
        assert_eq!(
            write_part(r, 4, AccessWidth::Word, 0xaabb_ccdd_0000_0001),
            0x0000_0001_5566_7788
        );
        assert_eq!(
            write_part(r, 0, AccessWidth::Word, 0xffff_ffff_0000_0001),
            0x1122_3344_0000_0001
        );
        assert_eq!(write_part(r, 0, AccessWidth::Doubleword, 7), 7);
    }
}
