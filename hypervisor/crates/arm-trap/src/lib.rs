//! What a trapped guest instruction asked for, decoded from ESR_EL2 (Arm ARM D23.2.43).
//!
//! Pure functions over the syndrome value, so the decoding every emulated device relies on is
//! tested on the host. Nothing here trusts the syndrome beyond its architectural encoding:
//! every field is masked to its width, and a syndrome we cannot use decodes to `None`.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Exception classes (ESR_ELx.EC) the hypervisor handles.
pub mod class {
    /// Unknown reason (also the class used to inject an undefined instruction).
    pub const UNKNOWN: u8 = 0x00;
    /// WFI or WFE.
    pub const WFX: u8 = 0x01;
    /// HVC from AArch64.
    pub const HVC64: u8 = 0x16;
    /// SMC from AArch64.
    pub const SMC64: u8 = 0x17;
    /// MSR, MRS or system instruction from AArch64.
    pub const SYSREG: u8 = 0x18;
    /// Instruction abort from a lower exception level.
    pub const INST_ABORT_LOWER: u8 = 0x20;
    /// Instruction abort from the same exception level.
    pub const INST_ABORT_SAME: u8 = 0x21;
    /// Data abort from a lower exception level.
    pub const DATA_ABORT_LOWER: u8 = 0x24;
    /// Data abort from the same exception level.
    pub const DATA_ABORT_SAME: u8 = 0x25;
}

/// An exception syndrome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Esr(pub u64);

impl Esr {
    /// The exception class.
    pub const fn class(self) -> u8 {
        ((self.0 >> 26) & 0x3f) as u8
    }

    /// The instruction-specific syndrome, ISS[24:0].
    pub const fn iss(self) -> u32 {
        (self.0 & 0x1ff_ffff) as u32
    }

    /// IL: the trapped instruction was 32 bits long (else 16, a T32 instruction).
    pub const fn instruction_len(self) -> u64 {
        if self.0 & (1 << 25) != 0 {
            4
        } else {
            2
        }
    }

    /// The immediate of a trapped HVC or SMC.
    pub const fn call_immediate(self) -> u16 {
        (self.0 & 0xffff) as u16
    }

    /// The load or store of a data abort, when the syndrome describes it (ISV set). Without
    /// ISV (a load/store pair, writeback, SIMD register...) the access cannot be emulated from
    /// the syndrome alone.
    pub fn data_access(self) -> Option<DataAccess> {
        if self.class() != class::DATA_ABORT_LOWER {
            return None;
        }
        let iss = self.iss();
        const ISV: u32 = 1 << 24;
        if iss & ISV == 0 {
            return None;
        }
        let sas = (iss >> 22) & 0b11;
        Some(DataAccess {
            width: AccessWidth::from_sas(sas as u64),
            sign_extend: iss & (1 << 21) != 0,
            register: ((iss >> 16) & 0x1f) as u8,
            sixty_four: iss & (1 << 15) != 0,
            write: iss & (1 << 6) != 0,
        })
    }

    /// Whether a data abort was caused by a write (WnR), whatever ISV says.
    pub const fn is_write(self) -> bool {
        self.0 & (1 << 6) != 0
    }

    /// The system register access of an MSR/MRS trap (class SYSREG).
    pub fn sysreg_access(self) -> Option<SysregAccess> {
        if self.class() != class::SYSREG {
            return None;
        }
        let iss = self.iss();
        Some(SysregAccess {
            register: SysReg {
                op0: ((iss >> 20) & 0b11) as u8,
                op1: ((iss >> 14) & 0b111) as u8,
                crn: ((iss >> 10) & 0xf) as u8,
                crm: ((iss >> 1) & 0xf) as u8,
                op2: ((iss >> 17) & 0b111) as u8,
            },
            gpr: ((iss >> 5) & 0x1f) as u8,
            read: iss & 1 != 0,
        })
    }
}

/// The width of a memory access, as the data abort syndrome gives it (ESR_EL2.ISS.SAS). The
/// one type every emulated device takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessWidth {
    /// 8 bits (SAS = 0b00).
    Byte,
    /// 16 bits (SAS = 0b01).
    Halfword,
    /// 32 bits (SAS = 0b10).
    Word,
    /// 64 bits (SAS = 0b11).
    Doubleword,
}

impl AccessWidth {
    /// The width encoded by ESR_EL2.ISS.SAS (only the two low bits of `sas` are used).
    pub const fn from_sas(sas: u64) -> AccessWidth {
        match sas & 0b11 {
            0 => AccessWidth::Byte,
            1 => AccessWidth::Halfword,
            2 => AccessWidth::Word,
            _ => AccessWidth::Doubleword,
        }
    }

    /// Bytes accessed.
    pub const fn bytes(self) -> u64 {
        match self {
            AccessWidth::Byte => 1,
            AccessWidth::Halfword => 2,
            AccessWidth::Word => 4,
            AccessWidth::Doubleword => 8,
        }
    }

    /// Bits accessed.
    pub const fn bits(self) -> u32 {
        (self.bytes() * 8) as u32
    }

    /// Mask of the accessed bits.
    pub const fn mask(self) -> u64 {
        match self {
            AccessWidth::Doubleword => u64::MAX,
            _ => (1u64 << self.bits()) - 1,
        }
    }
}

/// A single load or store to emulate, from a data abort with ISV set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataAccess {
    /// Access size (SAS).
    pub width: AccessWidth,
    /// A load sign-extends the value (SSE).
    pub sign_extend: bool,
    /// The general-purpose register transferred (SRT); 31 is XZR/WZR.
    pub register: u8,
    /// The register is 64 bits wide (SF), else 32.
    pub sixty_four: bool,
    /// A store (WnR), else a load.
    pub write: bool,
}

/// The general-purpose register number that stands for the zero register in transfers.
pub const ZERO_REGISTER: u8 = 31;

impl DataAccess {
    /// The value a store writes, taken from `register_value` (0 for XZR).
    pub fn store_value(&self, register_value: u64) -> u64 {
        if self.register == ZERO_REGISTER {
            0
        } else {
            register_value & self.width.mask()
        }
    }

    /// The register value a load of `loaded` produces: sign-extended if SSE, truncated to 32
    /// bits for a W register.
    pub fn load_result(&self, loaded: u64) -> u64 {
        let value = loaded & self.width.mask();
        let value = if self.sign_extend && self.width != AccessWidth::Doubleword {
            let shift = 64 - self.width.bits();
            (((value << shift) as i64) >> shift) as u64
        } else {
            value
        };
        if self.sixty_four {
            value
        } else {
            value & 0xffff_ffff
        }
    }
}

/// A system register, by its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SysReg {
    /// op0.
    pub op0: u8,
    /// op1.
    pub op1: u8,
    /// CRn.
    pub crn: u8,
    /// CRm.
    pub crm: u8,
    /// op2.
    pub op2: u8,
}

impl SysReg {
    /// ICC_SGI1R_EL1: generate a Group 1 SGI.
    pub const ICC_SGI1R_EL1: SysReg = SysReg { op0: 3, op1: 0, crn: 12, crm: 11, op2: 5 };
    /// ICC_ASGI1R_EL1: generate a Group 1 SGI for the other security state.
    pub const ICC_ASGI1R_EL1: SysReg = SysReg { op0: 3, op1: 0, crn: 12, crm: 11, op2: 6 };
    /// ICC_SGI0R_EL1: generate a Group 0 SGI.
    pub const ICC_SGI0R_EL1: SysReg = SysReg { op0: 3, op1: 0, crn: 12, crm: 11, op2: 7 };
}

impl core::fmt::Display for SysReg {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "S{}_{}_C{}_C{}_{}", self.op0, self.op1, self.crn, self.crm, self.op2)
    }
}

/// An MSR or MRS to emulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SysregAccess {
    /// Which register.
    pub register: SysReg,
    /// The general-purpose register transferred; 31 is XZR.
    pub gpr: u8,
    /// An MRS (read), else an MSR (write).
    pub read: bool,
}

#[cfg(test)]
extern crate std;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const IL: u64 = 1 << 25;

    fn data_abort(iss: u64) -> Esr {
        Esr(((class::DATA_ABORT_LOWER as u64) << 26) | IL | iss)
    }

    #[test]
    fn str_w1_is_a_32_bit_store_of_x1() {
        // ISV, SAS=2 (word), SRT=1, WnR, DFSC translation fault level 3.
        let esr = data_abort((1 << 24) | (2 << 22) | (1 << 16) | (1 << 6) | 0x07);
        let access = esr.data_access().unwrap();
        assert_eq!(access, DataAccess { width: AccessWidth::Word, sign_extend: false, register: 1, sixty_four: false, write: true });
        assert_eq!(access.store_value(0xdead_beef_1234_5678), 0x1234_5678);
        assert_eq!(esr.instruction_len(), 4);
    }

    #[test]
    fn ldrsh_x3_sign_extends_to_64_bits() {
        let esr = data_abort((1 << 24) | (1 << 22) | (1 << 21) | (3 << 16) | (1 << 15));
        let access = esr.data_access().unwrap();
        assert!(!access.write && access.sign_extend && access.sixty_four);
        assert_eq!(access.load_result(0x8001), 0xffff_ffff_ffff_8001);
        assert_eq!(access.load_result(0x7001), 0x7001);
    }

    #[test]
    fn ldrsb_w_register_keeps_32_bits() {
        let esr = data_abort((1 << 24) | (1 << 21) | (5 << 16));
        let access = esr.data_access().unwrap();
        assert_eq!(access.width, AccessWidth::Byte);
        assert_eq!(access.load_result(0x80), 0xffff_ff80);
    }

    #[test]
    fn store_of_xzr_writes_zero() {
        let esr = data_abort((1 << 24) | (3 << 22) | (31 << 16) | (1 << 15) | (1 << 6));
        assert_eq!(esr.data_access().unwrap().store_value(0x1234), 0);
    }

    #[test]
    fn no_isv_means_no_access_to_emulate() {
        assert_eq!(data_abort(1 << 6).data_access(), None);
        assert!(data_abort(1 << 6).is_write());
    }

    #[test]
    fn other_classes_are_not_data_accesses() {
        let hvc = Esr(((class::HVC64 as u64) << 26) | IL | 0xea1);
        assert_eq!(hvc.data_access(), None);
        assert_eq!(hvc.sysreg_access(), None);
        assert_eq!(hvc.call_immediate(), 0xea1);
    }

    #[test]
    fn msr_icc_sgi1r_el1_decodes() {
        // MSR ICC_SGI1R_EL1, x2: Op0=3 Op2=5 Op1=0 CRn=12 Rt=2 CRm=11, direction write.
        let iss = (3 << 20) | (5 << 17) | (12 << 10) | (2 << 5) | (11 << 1);
        let esr = Esr(((class::SYSREG as u64) << 26) | IL | iss);
        let access = esr.sysreg_access().unwrap();
        assert_eq!(access.register, SysReg::ICC_SGI1R_EL1);
        assert_eq!(access.gpr, 2);
        assert!(!access.read);
        assert_eq!(access.register.to_string_for_test(), "S3_0_C12_C11_5");
    }

    impl SysReg {
        fn to_string_for_test(&self) -> std::string::String {
            std::format!("{self}")
        }
    }

    proptest! {
        #[test]
        fn decoding_never_panics(esr in any::<u64>(), value in any::<u64>()) {
            let esr = Esr(esr);
            if let Some(access) = esr.data_access() {
                prop_assert!(access.register <= 31);
                let loaded = access.load_result(value);
                if !access.sixty_four { prop_assert!(loaded <= u32::MAX as u64); }
                prop_assert!(access.store_value(value) <= access.width.mask());
            }
            if let Some(access) = esr.sysreg_access() {
                prop_assert!(access.gpr <= 31 && access.register.crn <= 15);
            }
        }
    }
}
