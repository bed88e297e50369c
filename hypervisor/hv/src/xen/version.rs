//! xen_version: which Xen we are (4.20, the ABI we follow) and the features a domain has.

use super::HypercallResult;
use crate::domain;
use crate::guest;
use xen_hypercall::{layout, Errno, XenVersion};

pub const MAJOR: u32 = 4;
pub const MINOR: u32 = 20;
const EXTRA_VERSION: &[u8; layout::XEN_EXTRAVERSION_LEN] = b"-reptar\0\0\0\0\0\0\0\0\0";

// features.h
const XENFEAT_AUTO_TRANSLATED_PHYSMAP: u32 = 2;
const XENFEAT_GNTTAB_MAP_AVAIL_BITS: u32 = 7;
const XENFEAT_DOM0: u32 = 11;
const XENFEAT_NOT_DIRECT_MAPPED: u32 = 16;
const XENFEAT_DIRECT_MAPPED: u32 = 17;

/// XENVER_version, XENVER_extraversion and XENVER_get_features; the other queries -ENOSYS.
pub fn xen_version(op: XenVersion) -> HypercallResult {
    match op {
        XenVersion::Version => Ok(((MAJOR << 16) | MINOR) as i64),
        XenVersion::ExtraVersion { out } => {
            guest::write_va(out.0, EXTRA_VERSION)?;
            Ok(0)
        }
        XenVersion::GetFeatures { submap_idx, info } => {
            // One submap (XENFEAT_NR_SUBMAPS, all Linux reads); Xen refuses the others.
            if submap_idx != 0 {
                return Err(Errno::EINVAL);
            }
            let submap = features(domain::current());
            let out = info.offset(layout::XEN_FEATURE_INFO_SUBMAP as u64)?;
            guest::write_va(out.0, &submap.to_le_bytes())?;
            Ok(0)
        }
        _ => Err(Errno::ENOSYS),
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
