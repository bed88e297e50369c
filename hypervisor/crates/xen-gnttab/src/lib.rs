//! Xen grant tables (version 1) for the REPTAR hypervisor: the state and the checks behind
//! `HYPERVISOR_grant_table_op` (hypercall 20) and `XENMAPSPACE_grant_table`, as unmodified
//! Linux with `CONFIG_XEN` uses them on arm64 (drivers/xen/grant-table.c,
//! xenbus_client.c `xenbus_map_ring_valloc`, gntdev.c, gntalloc.c).
//!
//! Names and numbers come from `include/xen/interface/grant_table.h` (`GNTTABOP_*`,
//! `GNTMAP_*`, `GTF_*`, `GNTST_*`, `struct grant_entry_v1`, the argument structures); the
//! semantics follow Xen's `xen/common/grant_table.c` and, where Arm differs,
//! `xen/arch/arm/mm.c` (`create_grant_host_mapping()`, `replace_grant_host_mapping()`) and
//! `xen/arch/arm/include/asm/grant_table.h` (`GNTTAB_MAX_VERSION` 1).
//!
//! # The table
//!
//! A granting domain's table is an array of 8-byte `struct grant_entry_v1 { uint16_t flags;
//! domid_t domid; uint32_t frame; }`, 512 per 4 KiB frame, in frames the hypervisor owns and
//! maps into the guest where it asks (`XENMEM_add_to_physmap`, `XENMAPSPACE_grant_table`,
//! see [`GrantTables::map_frame`]). The guest writes entries at any time; the hypervisor
//! reads them and sets/clears `GTF_reading`/`GTF_writing` in them with atomic operations on
//! the 32-bit word holding `flags` and `domid` (Xen's `union grant_combo`). It reaches the
//! entries only through [`GrantTableMemory`], which the hypervisor implements with bounds
//! checks, and only for references below the domain's current size.
//!
//! # Pieces
//!
//! - [`GrantTables`]: every domain's grant state: table size, the active entries (which
//!   grants are pinned, by whom, how many times), and the maptrack (each domain's mappings of
//!   others' grants, named by handles). One object for all domains, behind one lock.
//! - Operations: [`GrantTables::query_size`], [`GrantTables::setup_table`],
//!   [`GrantTables::map_frame`] / [`GrantTables::unmap_frame_gfn`],
//!   [`GrantTables::map_grant_ref`], [`GrantTables::unmap_grant_ref`], [`GrantTables::copy`],
//!   [`GrantTables::get_version`], [`set_version`], [`GrantTables::release_domain`] /
//!   [`GrantTables::orphaned_mappings`]; [`GrantTables::stats`] for the monitor.
//! - [`wire`]: the argument structures as bytes.
//!
//! # What the hypervisor provides
//!
//! Mapping and copying touch the second stage of address translation, which is the
//! hypervisor's: [`GrantTables::map_grant_ref`] and [`GrantTables::copy`] take a closure
//! that does the stage-2 work once every check passed and the grant is pinned, and undo the
//! pin if the closure fails; [`GrantTables::unmap_grant_ref`] takes one that removes the
//! mapping, and clears the grant's flags only after it succeeded.
//!
//! # Limits
//!
//! - Frames per table: [`DomainConfig::max_frames`], 1 to [`MAX_GRANT_FRAMES`],
//!   [`DEFAULT_MAX_FRAMES`] (4 frames, 2048 entries) by default. `GNTTABOP_query_size`
//!   reports it as `max_nr_frames`; Linux sizes its grant list from it.
//! - Mappings per domain (maptrack handles): [`DomainConfig::max_maptrack`], 1 to
//!   [`MAX_MAPTRACK`], [`DEFAULT_MAX_MAPTRACK`] (1024) by default; beyond, `GNTST_no_space`.
//! - Pins per grant: at most 128 of each kind (a new pin is refused once a count reached 128:
//!   Xen's `GNTPIN_*` counters and overflow check `0x80808080`).
//! - Memory is allocated by [`GrantTables::new`] and [`GrantTables::add_domain`] only
//!   (12 bytes per grant entry, 40 bytes per maptrack handle), with `try_reserve`.
//! - Not implemented: grant table v2 (`GNTTABOP_set_version` to 2 gives `-ENOSYS` as on
//!   Xen/Arm), transitive and sub-page grants (v2 only), `GNTTABOP_transfer`,
//!   `GNTTABOP_dump_table`, `GNTTABOP_get_status_frames`, `GNTTABOP_swap_grant_ref`,
//!   `GNTTABOP_cache_flush`, device mappings (`GNTMAP_device_map`: Xen/Arm rejects them too).
//!
//! # Errors
//!
//! Per-operation status in `GNTST_*` ([`GntSt`]; `Ok(())` is `GNTST_okay`), hypercall-level
//! errors in [`Errno`]. No function panics on any argument or on any content of the guest's
//! table.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(target_endian = "big")]
compile_error!("the grant entry layout here assumes a little-endian guest (arm64)");

extern crate alloc;
#[cfg(test)]
extern crate std;

mod memory;
mod table;
pub mod wire;

pub use memory::{GrantEntry, GrantTableMemory};
pub use table::{
    CopyPlan, CopyPtr, CopyRequest, CopySide, DomainConfig, DomainStats, FrameMapping, GrantTables,
    MapRequest, MapTarget, Mapped, MappingInfo, ReleaseReport, TableSize, UnmapRequest,
};

/// A domain identifier (`domid_t`).
pub type DomId = u16;
/// A grant reference (`grant_ref_t`): index into the granter's table.
pub type GrantRef = u32;
/// A mapping handle (`grant_handle_t`): index into the mapper's maptrack.
pub type GrantHandle = u32;

/// `DOMID_SELF`.
pub const DOMID_SELF: DomId = 0x7FF0;
/// `DOMID_FIRST_RESERVED`: ids from here up are not ordinary domains.
pub const DOMID_FIRST_RESERVED: DomId = 0x7FF0;

/// `XEN_PAGE_SIZE`.
pub const XEN_PAGE_SIZE: u32 = 4096;
/// `sizeof(struct grant_entry_v1)`.
pub const GRANT_ENTRY_V1_SIZE: u32 = 8;
/// Entries per table frame (`SHGNT_PER_PAGE_V1`).
pub const ENTRIES_PER_FRAME: u32 = XEN_PAGE_SIZE / GRANT_ENTRY_V1_SIZE;
/// Upper bound of [`DomainConfig::max_frames`] (Xen's default `gnttab_max_frames`).
pub const MAX_GRANT_FRAMES: u32 = 64;
/// Frames per table unless configured (Linux's "legacy max supported number of frames").
pub const DEFAULT_MAX_FRAMES: u32 = 4;
/// Upper bound of [`DomainConfig::max_maptrack`].
pub const MAX_MAPTRACK: u32 = 16384;
/// Maptrack handles per domain unless configured.
pub const DEFAULT_MAX_MAPTRACK: u32 = 1024;
/// `INVALID_GFN` as `GNTTABOP_setup_table` reports a frame not mapped in the guest.
pub const INVALID_GFN: u64 = u64::MAX;
/// `XENMAPSPACE_grant_table` (`include/xen/interface/memory.h`): the `XENMEM_add_to_physmap`
/// space whose indices are table frames ([`GrantTables::map_frame`]).
pub const XENMAPSPACE_GRANT_TABLE: u32 = 1;
/// `XENMAPIDX_grant_table_status` (Xen's `public/memory.h`, not in Linux's copy): index flag
/// of the v2 status frames; such an index is beyond every table here (`-EINVAL`).
pub const XENMAPIDX_GRANT_TABLE_STATUS: u64 = 1 << 31;
/// The only grant table version (`GNTTAB_MAX_VERSION` on Arm).
pub const GNTTAB_VERSION: u32 = 1;

/// `GNTTABOP_map_grant_ref`.
pub const GNTTABOP_MAP_GRANT_REF: u32 = 0;
/// `GNTTABOP_unmap_grant_ref`.
pub const GNTTABOP_UNMAP_GRANT_REF: u32 = 1;
/// `GNTTABOP_setup_table`.
pub const GNTTABOP_SETUP_TABLE: u32 = 2;
/// `GNTTABOP_dump_table` (not implemented).
pub const GNTTABOP_DUMP_TABLE: u32 = 3;
/// `GNTTABOP_transfer` (not implemented).
pub const GNTTABOP_TRANSFER: u32 = 4;
/// `GNTTABOP_copy`.
pub const GNTTABOP_COPY: u32 = 5;
/// `GNTTABOP_query_size`.
pub const GNTTABOP_QUERY_SIZE: u32 = 6;
/// `GNTTABOP_unmap_and_replace` (Arm: only with `new_addr` 0, then an unmap).
pub const GNTTABOP_UNMAP_AND_REPLACE: u32 = 7;
/// `GNTTABOP_set_version`.
pub const GNTTABOP_SET_VERSION: u32 = 8;
/// `GNTTABOP_get_status_frames` (v2, not implemented).
pub const GNTTABOP_GET_STATUS_FRAMES: u32 = 9;
/// `GNTTABOP_get_version`.
pub const GNTTABOP_GET_VERSION: u32 = 10;
/// `GNTTABOP_swap_grant_ref` (not implemented).
pub const GNTTABOP_SWAP_GRANT_REF: u32 = 11;
/// `GNTTABOP_cache_flush` (not implemented).
pub const GNTTABOP_CACHE_FLUSH: u32 = 12;

/// `GNTMAP_device_map`.
pub const GNTMAP_DEVICE_MAP: u32 = 1 << 0;
/// `GNTMAP_host_map`.
pub const GNTMAP_HOST_MAP: u32 = 1 << 1;
/// `GNTMAP_readonly`.
pub const GNTMAP_READONLY: u32 = 1 << 2;
/// `GNTMAP_application_map`.
pub const GNTMAP_APPLICATION_MAP: u32 = 1 << 3;
/// `GNTMAP_contains_pte`.
pub const GNTMAP_CONTAINS_PTE: u32 = 1 << 4;

/// `GTF_invalid`.
pub const GTF_INVALID: u16 = 0;
/// `GTF_permit_access`.
pub const GTF_PERMIT_ACCESS: u16 = 1;
/// `GTF_accept_transfer`.
pub const GTF_ACCEPT_TRANSFER: u16 = 2;
/// `GTF_transitive` (v2).
pub const GTF_TRANSITIVE: u16 = 3;
/// `GTF_type_mask`.
pub const GTF_TYPE_MASK: u16 = 3;
/// `GTF_readonly`: the grantee may only read.
pub const GTF_READONLY: u16 = 1 << 2;
/// `GTF_reading`: set by the hypervisor while the grant is mapped or copied from.
pub const GTF_READING: u16 = 1 << 3;
/// `GTF_writing`: set by the hypervisor while the grant is mapped or copied to writably.
pub const GTF_WRITING: u16 = 1 << 4;
/// `GTF_PWT`.
pub const GTF_PWT: u16 = 1 << 5;
/// `GTF_PCD`.
pub const GTF_PCD: u16 = 1 << 6;
/// `GTF_PAT`.
pub const GTF_PAT: u16 = 1 << 7;
/// `GTF_sub_page` (v2; a mapping of an entry with it set is refused, as Xen's `_set_status`).
pub const GTF_SUB_PAGE: u16 = 1 << 8;

/// `GNTCOPY_source_gref`: the source is a grant reference (else a frame of the caller).
pub const GNTCOPY_SOURCE_GREF: u16 = 1 << 0;
/// `GNTCOPY_dest_gref`: the destination is a grant reference.
pub const GNTCOPY_DEST_GREF: u16 = 1 << 1;

/// `GNTST_okay`.
pub const GNTST_OKAY: i16 = 0;

/// A failed grant operation's status (`GNTST_*`, negative `int16_t` in the argument
/// structure). Success is `Ok(())`, written as [`GNTST_OKAY`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i16)]
pub enum GntSt {
    /// `GNTST_general_error`.
    GeneralError = -1,
    /// `GNTST_bad_domain`.
    BadDomain = -2,
    /// `GNTST_bad_gntref`.
    BadGntref = -3,
    /// `GNTST_bad_handle`.
    BadHandle = -4,
    /// `GNTST_bad_virt_addr`.
    BadVirtAddr = -5,
    /// `GNTST_bad_dev_addr`.
    BadDevAddr = -6,
    /// `GNTST_no_device_space`.
    NoDeviceSpace = -7,
    /// `GNTST_permission_denied`.
    PermissionDenied = -8,
    /// `GNTST_bad_page`.
    BadPage = -9,
    /// `GNTST_bad_copy_arg`.
    BadCopyArg = -10,
    /// `GNTST_address_too_big`.
    AddressTooBig = -11,
    /// `GNTST_eagain`.
    Eagain = -12,
    /// `GNTST_no_space`.
    NoSpace = -13,
}

impl GntSt {
    /// The `GNTST_*` value.
    pub const fn code(self) -> i16 {
        self as i16
    }
}

/// The status field value of a result: [`GNTST_OKAY`] or the error's code.
pub fn status_code(r: Result<(), GntSt>) -> i16 {
    r.err().map_or(GNTST_OKAY, GntSt::code)
}

/// Hypercall-level errors (the return value of `HYPERVISOR_grant_table_op` or of
/// `XENMEM_add_to_physmap`), Xen's `public/errno.h` = Linux's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Errno {
    /// `EPERM`.
    Perm = 1,
    /// `ESRCH`.
    Srch = 3,
    /// `ENOMEM`.
    NoMem = 12,
    /// `EFAULT`.
    Fault = 14,
    /// `EBUSY`.
    Busy = 16,
    /// `EEXIST`.
    Exist = 17,
    /// `EINVAL`.
    Inval = 22,
    /// `ENOSPC`.
    NoSpc = 28,
    /// `ENOSYS`.
    NoSys = 38,
}

impl Errno {
    /// The positive errno value.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// What the hypercall returns in x0: `-errno`.
    pub const fn to_ret(self) -> i64 {
        -(self as i64)
    }
}

/// `GNTTABOP_set_version` on Arm: version 1 is accepted (and already in force); 2 gives
/// `-ENOSYS` ("behave as before set_version was introduced", `GNTTAB_MAX_VERSION` 1); anything
/// else `-EINVAL`. Whatever the result, Xen writes the version in force ([`GNTTAB_VERSION`])
/// back into `version`; Linux then uses v1.
pub const fn set_version(requested: u32) -> Result<(), Errno> {
    match requested {
        1 => Ok(()),
        2 => Err(Errno::NoSys),
        _ => Err(Errno::Inval),
    }
}
