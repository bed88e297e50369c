//! xen_version: which Xen we are (4.20, the ABI we follow) and the features a domain has.

use super::{errno, HypercallResult};
use crate::domain;
use crate::guest;

const XENVER_VERSION: u64 = 0;
const XENVER_EXTRAVERSION: u64 = 1;
const XENVER_GET_FEATURES: u64 = 6;

pub const MAJOR: u32 = 4;
pub const MINOR: u32 = 20;
const EXTRA_VERSION: &[u8; 16] = b"-reptar\0\0\0\0\0\0\0\0\0";

// features.h
const XENFEAT_AUTO_TRANSLATED_PHYSMAP: u32 = 2;
const XENFEAT_GNTTAB_MAP_AVAIL_BITS: u32 = 7;
const XENFEAT_DOM0: u32 = 11;
const XENFEAT_NOT_DIRECT_MAPPED: u32 = 16;
const XENFEAT_DIRECT_MAPPED: u32 = 17;

pub fn xen_version(cmd: u64, arg: u64) -> HypercallResult {
    match cmd {
        XENVER_VERSION => Ok(((MAJOR << 16) | MINOR) as i64),
        XENVER_EXTRAVERSION => {
            guest::write_va(arg, EXTRA_VERSION)?;
            Ok(0)
        }
        XENVER_GET_FEATURES => {
            // struct xen_feature_info { unsigned int submap_idx; uint32_t submap; }
            let mut info = guest::Args::<8>::read(arg)?;
            let submap = if info.u32(0) == 0 { features(domain::current()) } else { 0 };
            info.set_u32(4, submap);
            info.write(arg)?;
            Ok(0)
        }
        _ => Err(errno::ENOSYS),
    }
}

fn features(dom: &domain::Domain) -> u32 {
    let mut submap = (1 << XENFEAT_AUTO_TRANSLATED_PHYSMAP) | (1 << XENFEAT_GNTTAB_MAP_AVAIL_BITS);
    if dom.ram_ipa == dom.ram_pa {
        submap |= 1 << XENFEAT_DIRECT_MAPPED;
    } else {
        submap |= 1 << XENFEAT_NOT_DIRECT_MAPPED;
    }
    if dom.id == 0 {
        submap |= 1 << XENFEAT_DOM0;
    }
    submap
}
