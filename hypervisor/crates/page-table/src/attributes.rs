//! Memory type and access permissions of a mapping, and their encoding in the leaf
//! descriptors of each regime (Arm ARM D8.3.2 "Stage 1 attribute fields", D8.3.3 "Stage 2
//! attribute fields").

use crate::config::{mair_index, Regime};
use crate::descriptor::{
    AF, AP_MASK, AP_SHIFT, ATTR_INDX_MASK, ATTR_INDX_SHIFT, MEM_ATTR_MASK, MEM_ATTR_SHIFT,
    SH_INNER_SHAREABLE, SH_SHIFT, STAGE2_XN_MASK, XN,
};

/// The memory type of a mapping (Arm ARM B2.8 "Memory types and attributes").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemType {
    /// Normal memory, Inner and Outer Write-Back cacheable: RAM.
    Normal,
    /// Device-nGnRE (non-Gathering, non-Reordering, Early write acknowledgement): MMIO.
    Device,
    /// Device-nGnRnE (no Early write acknowledgement either): the strictest device type.
    DeviceStrict,
    /// Normal memory, Inner and Outer Non-cacheable: e.g. a frame buffer read by a device
    /// that does not snoop caches.
    NormalNonCacheable,
}

impl MemType {
    /// Whether this is one of the Device types. Device mappings are never executable: the
    /// Arm ARM only stops speculative instruction fetches from Device memory when it is
    /// execute-never.
    pub const fn is_device(self) -> bool {
        matches!(self, Self::Device | Self::DeviceStrict)
    }
}

/// Access permissions of a mapping, for the accesses the translation regime controls: EL2
/// for the EL2 stage-1 regime, the guest (EL1 and EL0) for stage 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    /// Data reads allowed.
    pub read: bool,
    /// Data writes allowed.
    pub write: bool,
    /// Instruction fetches allowed.
    pub execute: bool,
}

impl Access {
    /// No access (stage 2 only: the page faults on every access but stays mapped).
    pub const NONE: Self = Self::new(false, false, false);
    /// Read-only data.
    pub const RO: Self = Self::new(true, false, false);
    /// Read-write data.
    pub const RW: Self = Self::new(true, true, false);
    /// Read-only code.
    pub const RX: Self = Self::new(true, false, true);
    /// Read, write and execute.
    pub const RWX: Self = Self::new(true, true, true);

    /// The permissions `read`, `write`, `execute`.
    pub const fn new(read: bool, write: bool, execute: bool) -> Self {
        Self {
            read,
            write,
            execute,
        }
    }
}

/// What a mapping is: its memory type and its access permissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Attributes {
    /// The memory type.
    pub mem: MemType,
    /// The access permissions.
    pub access: Access,
}

impl Attributes {
    /// `mem` memory with `access` permissions.
    pub const fn new(mem: MemType, access: Access) -> Self {
        Self { mem, access }
    }

    /// Whether the regime can express these attributes:
    /// - Device memory is never executable (see [`MemType::is_device`]);
    /// - the EL2 stage-1 regime has one privilege level whose data-read permission is
    ///   implied (`AP[2]` only selects read-write or read-only), so `read` must be set.
    ///
    /// Every other combination is encodable; at stage 2 that includes write-only,
    /// execute-only and no access.
    pub const fn is_supported_by(&self, regime: Regime) -> bool {
        if self.mem.is_device() && self.access.execute {
            return false;
        }
        match regime {
            Regime::El2Stage1 => self.access.read,
            Regime::Stage2 => true,
        }
    }
}

/// EL2 stage-1 `AP[2:1]` = 0b01: read-write at EL2 (`AP[1]` is RES1 in a regime with one
/// privilege level).
const EL2_AP_READ_WRITE: u64 = 0b01;
/// EL2 stage-1 `AP[2:1]` = 0b11: read-only at EL2.
const EL2_AP_READ_ONLY: u64 = 0b11;
/// `AP[2]`, the read-only bit, within the `AP[2:1]` field.
const EL2_AP_READ_ONLY_BIT: u64 = 0b10;
/// `S2AP[0]`: the guest may read.
const S2AP_READ: u64 = 0b01;
/// `S2AP[1]`: the guest may write.
const S2AP_WRITE: u64 = 0b10;

// Stage-2 MemAttr[3:0] encodings (without FEAT_S2FWB): [3:2] is the outer type
// (0b00 = Device, 0b01 = Non-cacheable, 0b10 = Write-Through, 0b11 = Write-Back), [1:0] the
// Device kind when [3:2] = 0b00, else the inner type with the same encoding as [3:2].
/// MemAttr 0b0000: Device-nGnRnE.
const S2_MEM_ATTR_DEVICE_NGNRNE: u64 = 0b0000;
/// MemAttr 0b0001: Device-nGnRE.
const S2_MEM_ATTR_DEVICE_NGNRE: u64 = 0b0001;
/// MemAttr 0b0101: Normal, Outer and Inner Non-cacheable.
const S2_MEM_ATTR_NORMAL_NON_CACHEABLE: u64 = 0b0101;
/// MemAttr 0b1111: Normal, Outer and Inner Write-Back.
const S2_MEM_ATTR_NORMAL_WRITE_BACK: u64 = 0b1111;
/// `MemAttr[3:2]` = 0b00 selects Device memory.
const S2_MEM_ATTR_OUTER_SHIFT: u32 = 2;

/// The leaf attribute bits (everything but output address and type) encoding `attrs` in
/// `regime`, or `None` if the regime cannot express them.
pub(crate) const fn encode(regime: Regime, attrs: Attributes) -> Option<u64> {
    if !attrs.is_supported_by(regime) {
        return None;
    }
    let common = (SH_INNER_SHAREABLE << SH_SHIFT) | AF;
    let bits = match regime {
        Regime::El2Stage1 => {
            let attr_indx = match attrs.mem {
                MemType::DeviceStrict => mair_index::DEVICE_NGNRNE,
                MemType::Device => mair_index::DEVICE_NGNRE,
                MemType::NormalNonCacheable => mair_index::NORMAL_NON_CACHEABLE,
                MemType::Normal => mair_index::NORMAL_WRITE_BACK,
            };
            let ap = if attrs.access.write {
                EL2_AP_READ_WRITE
            } else {
                EL2_AP_READ_ONLY
            };
            let xn = if attrs.access.execute { 0 } else { XN };
            (attr_indx << ATTR_INDX_SHIFT) | (ap << AP_SHIFT) | xn
        }
        Regime::Stage2 => {
            let mem_attr = match attrs.mem {
                MemType::DeviceStrict => S2_MEM_ATTR_DEVICE_NGNRNE,
                MemType::Device => S2_MEM_ATTR_DEVICE_NGNRE,
                MemType::NormalNonCacheable => S2_MEM_ATTR_NORMAL_NON_CACHEABLE,
                MemType::Normal => S2_MEM_ATTR_NORMAL_WRITE_BACK,
            };
            let read = if attrs.access.read { S2AP_READ } else { 0 };
            let write = if attrs.access.write { S2AP_WRITE } else { 0 };
            let xn = if attrs.access.execute { 0 } else { XN };
            (mem_attr << MEM_ATTR_SHIFT) | ((read | write) << AP_SHIFT) | xn
        }
    };
    Some(common | bits)
}

/// The attributes of the leaf `descriptor` of a `regime` table.
///
/// Total over all descriptors, so that a software walk never fails on bits this crate did
/// not write: EL2 AttrIndx 4 to 7 select MAIR_EL2 fields that [`crate::MAIR_EL2`] leaves at
/// 0x00 (Device-nGnRnE); stage-2 Device-nGRE/GRE report `Device`, and Normal encodings other
/// than inner and outer Write-Back report `NormalNonCacheable`. The stage-2 XN field means
/// executable only when it is 0b00 (the only executable value this crate writes).
pub(crate) const fn decode(regime: Regime, descriptor: u64) -> Attributes {
    let ap = (descriptor >> AP_SHIFT) & AP_MASK;
    match regime {
        Regime::El2Stage1 => {
            let mem = match (descriptor >> ATTR_INDX_SHIFT) & ATTR_INDX_MASK {
                mair_index::DEVICE_NGNRE => MemType::Device,
                mair_index::NORMAL_NON_CACHEABLE => MemType::NormalNonCacheable,
                mair_index::NORMAL_WRITE_BACK => MemType::Normal,
                _ => MemType::DeviceStrict,
            };
            Attributes::new(
                mem,
                Access::new(true, ap & EL2_AP_READ_ONLY_BIT == 0, descriptor & XN == 0),
            )
        }
        Regime::Stage2 => {
            let mem_attr = (descriptor >> MEM_ATTR_SHIFT) & MEM_ATTR_MASK;
            let mem = if mem_attr == S2_MEM_ATTR_DEVICE_NGNRNE {
                MemType::DeviceStrict
            } else if mem_attr >> S2_MEM_ATTR_OUTER_SHIFT == 0 {
                MemType::Device
            } else if mem_attr == S2_MEM_ATTR_NORMAL_WRITE_BACK {
                MemType::Normal
            } else {
                MemType::NormalNonCacheable
            };
            Attributes::new(
                mem,
                Access::new(
                    ap & S2AP_READ != 0,
                    ap & S2AP_WRITE != 0,
                    descriptor & STAGE2_XN_MASK == 0,
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEM_TYPES: [MemType; 4] = [
        MemType::Normal,
        MemType::Device,
        MemType::DeviceStrict,
        MemType::NormalNonCacheable,
    ];

    fn all_attributes() -> impl Iterator<Item = Attributes> {
        MEM_TYPES.into_iter().flat_map(|mem| {
            (0..8u8).map(move |bits| {
                Attributes::new(
                    mem,
                    Access::new(bits & 1 != 0, bits & 2 != 0, bits & 4 != 0),
                )
            })
        })
    }

    #[test]
    fn every_supported_combination_round_trips() {
        for regime in [Regime::El2Stage1, Regime::Stage2] {
            for attrs in all_attributes() {
                match encode(regime, attrs) {
                    Some(bits) => assert_eq!(decode(regime, bits), attrs, "{regime:?}"),
                    None => assert!(!attrs.is_supported_by(regime)),
                }
            }
        }
    }

    #[test]
    fn unsupported_combinations() {
        let device_exec = Attributes::new(MemType::Device, Access::RX);
        assert_eq!(encode(Regime::Stage2, device_exec), None);
        assert_eq!(encode(Regime::El2Stage1, device_exec), None);
        let write_only = Attributes::new(MemType::Normal, Access::new(false, true, false));
        assert_eq!(encode(Regime::El2Stage1, write_only), None);
        assert!(encode(Regime::Stage2, write_only).is_some());
        assert!(encode(
            Regime::Stage2,
            Attributes::new(MemType::Normal, Access::NONE)
        )
        .is_some());
    }
}
