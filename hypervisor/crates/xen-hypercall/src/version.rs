//! `HYPERVISOR_xen_version(int cmd, void *arg)`: x0 = `cmd`, x1 = `arg`.

use crate::abi::*;
use crate::guest::{read_struct, Fields, GuestMemory, GuestVa};
use crate::layout::*;
use crate::Errno;

/// A `xen_version` sub-operation. Most only name where the answer goes; which ones are
/// answered, and with what, is the hypervisor's business (Xen answers an unknown `cmd`
/// with `-ENOSYS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XenVersion {
    /// `XENVER_version`: returns `major << 16 | minor`; no argument.
    Version,
    /// `XENVER_extraversion`: a 16-byte string at `out`.
    ExtraVersion {
        /// `xen_extraversion_t *`.
        out: GuestVa,
    },
    /// `XENVER_compile_info`: `struct xen_compile_info` (144 bytes) at `out`.
    CompileInfo {
        /// `struct xen_compile_info *`.
        out: GuestVa,
    },
    /// `XENVER_capabilities`: a 1024-byte string at `out`.
    Capabilities {
        /// `xen_capabilities_info_t *`.
        out: GuestVa,
    },
    /// `XENVER_changeset`: a 64-byte string at `out`.
    Changeset {
        /// `xen_changeset_info_t *`.
        out: GuestVa,
    },
    /// `XENVER_platform_parameters`: `struct xen_platform_parameters` (8 bytes) at `out`.
    PlatformParameters {
        /// `struct xen_platform_parameters *`.
        out: GuestVa,
    },
    /// `XENVER_get_features`: the submap `submap_idx` goes in `info.submap`
    /// ([`XEN_FEATURE_INFO_SUBMAP`]). Xen answers `-EINVAL` for `submap_idx >=`
    /// [`XENFEAT_NR_SUBMAPS`].
    GetFeatures {
        /// `submap_idx`, read from the structure.
        submap_idx: u32,
        /// `struct xen_feature_info *`.
        info: GuestVa,
    },
    /// `XENVER_pagesize`: returns the page size; no argument.
    PageSize,
    /// `XENVER_guest_handle`: the domain's 16-byte handle at `out`.
    GuestHandle {
        /// `xen_domain_handle_t *`.
        out: GuestVa,
    },
    /// `XENVER_commandline`: a 1024-byte string at `out`.
    CommandLine {
        /// `struct xen_commandline *`.
        out: GuestVa,
    },
    /// `XENVER_build_id` with a null `arg`: returns the size of the build id.
    BuildIdSize,
    /// `XENVER_build_id`: up to `len` bytes of build id in `buf`, at `arg + 4`; returns how
    /// many (Xen: `-ENOBUFS` if the id is longer than `len`).
    BuildId {
        /// `struct xen_build_id *`.
        arg: GuestVa,
        /// Its `len`.
        len: u32,
    },
    /// Any other `cmd`.
    Unknown {
        /// The command.
        cmd: u32,
        /// The argument, unread.
        arg: GuestVa,
    },
}

impl XenVersion {
    /// Bytes the hypervisor writes at the output pointer of the string and structure
    /// queries (`None` for the others).
    pub const fn out_len(&self) -> Option<usize> {
        Some(match self {
            XenVersion::ExtraVersion { .. } => XEN_EXTRAVERSION_LEN,
            XenVersion::CompileInfo { .. } => XEN_COMPILE_INFO_SIZE,
            XenVersion::Capabilities { .. } => XEN_CAPABILITIES_INFO_LEN,
            XenVersion::Changeset { .. } => XEN_CHANGESET_INFO_LEN,
            XenVersion::PlatformParameters { .. } => XEN_PLATFORM_PARAMETERS_SIZE,
            XenVersion::GuestHandle { .. } => XEN_DOMAIN_HANDLE_SIZE,
            XenVersion::CommandLine { .. } => XEN_COMMANDLINE_SIZE,
            _ => return None,
        })
    }
}

pub(crate) fn decode(cmd: u32, arg: GuestVa, mem: &impl GuestMemory) -> Result<XenVersion, Errno> {
    Ok(match cmd {
        XENVER_VERSION => XenVersion::Version,
        XENVER_EXTRAVERSION => XenVersion::ExtraVersion { out: arg },
        XENVER_COMPILE_INFO => XenVersion::CompileInfo { out: arg },
        XENVER_CAPABILITIES => XenVersion::Capabilities { out: arg },
        XENVER_CHANGESET => XenVersion::Changeset { out: arg },
        XENVER_PLATFORM_PARAMETERS => XenVersion::PlatformParameters { out: arg },
        XENVER_GET_FEATURES => {
            let b = read_struct::<XEN_FEATURE_INFO_SIZE>(mem, arg)?;
            XenVersion::GetFeatures {
                submap_idx: Fields(&b).u32(XEN_FEATURE_INFO_SUBMAP_IDX)?,
                info: arg,
            }
        }
        XENVER_PAGESIZE => XenVersion::PageSize,
        XENVER_GUEST_HANDLE => XenVersion::GuestHandle { out: arg },
        XENVER_COMMANDLINE => XenVersion::CommandLine { out: arg },
        XENVER_BUILD_ID if arg.is_null() => XenVersion::BuildIdSize,
        XENVER_BUILD_ID => {
            let b = read_struct::<XEN_BUILD_ID_SIZE>(mem, arg)?;
            XenVersion::BuildId {
                arg,
                len: Fields(&b).u32(0)?,
            }
        }
        _ => XenVersion::Unknown { cmd, arg },
    })
}
