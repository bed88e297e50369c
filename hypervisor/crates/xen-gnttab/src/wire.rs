//! The `GNTTABOP_*` argument structures as bytes (little-endian, arm64 layout of
//! `include/xen/interface/grant_table.h`; offsets checked by `tools/check-abi.sh`).
//!
//! `HYPERVISOR_grant_table_op(cmd, uop, count)`: x0 = `cmd`, x1 = guest address of an array
//! of `count` structures, x2 = `count`. Map, unmap, unmap-and-replace and copy take batches:
//! the hypervisor reads element `i` at `uop + i * `[`arg_size`]`(cmd)`, runs it, and writes
//! it back (the status always; the other outputs on success). The others require
//! `count == 1` (`-EINVAL` otherwise, as Xen). The decoders take one element's bytes and
//! return `None` if there are fewer than the whole structure (the glue answers `-EFAULT`).

use crate::{
    CopyPtr, CopyRequest, DomId, GntSt, MapRequest, Mapped, TableSize, UnmapRequest, GNTST_OKAY,
    GNTTABOP_COPY, GNTTABOP_GET_VERSION, GNTTABOP_MAP_GRANT_REF, GNTTABOP_QUERY_SIZE,
    GNTTABOP_SETUP_TABLE, GNTTABOP_SET_VERSION, GNTTABOP_UNMAP_AND_REPLACE,
    GNTTABOP_UNMAP_GRANT_REF,
};

/// `sizeof(struct gnttab_map_grant_ref)`: `host_addr` @0, `flags` @8, `ref` @12, `dom` @16,
/// `status` @18, `handle` @20, `dev_bus_addr` @24.
pub const MAP_GRANT_REF_SIZE: usize = 32;
/// Offset of `status` in `struct gnttab_map_grant_ref`.
pub const MAP_STATUS: usize = 18;
/// Offset of `handle`.
pub const MAP_HANDLE: usize = 20;
/// Offset of `dev_bus_addr`.
pub const MAP_DEV_BUS_ADDR: usize = 24;
/// `sizeof(struct gnttab_unmap_grant_ref)`: `host_addr` @0, `dev_bus_addr` @8, `handle` @16,
/// `status` @20.
pub const UNMAP_GRANT_REF_SIZE: usize = 24;
/// Offset of `status` in `struct gnttab_unmap_grant_ref` (and `gnttab_unmap_and_replace`).
pub const UNMAP_STATUS: usize = 20;
/// `sizeof(struct gnttab_unmap_and_replace)`: `host_addr` @0, `new_addr` @8, `handle` @16,
/// `status` @20.
pub const UNMAP_AND_REPLACE_SIZE: usize = 24;
/// `sizeof(struct gnttab_setup_table)`: `dom` @0, `nr_frames` @4, `status` @8,
/// `frame_list` (guest handle, 8 bytes) @16.
pub const SETUP_TABLE_SIZE: usize = 24;
/// Offset of `status` in `struct gnttab_setup_table`.
pub const SETUP_TABLE_STATUS: usize = 8;
/// `sizeof(struct gnttab_copy)`: `source` @0 and `dest` @16 (`struct gnttab_copy_ptr`: union
/// `u` @0, 8 bytes; `domid` @8; `offset` @10), `len` @32, `flags` @34, `status` @36.
pub const COPY_SIZE: usize = 40;
/// Offset of `status` in `struct gnttab_copy`.
pub const COPY_STATUS: usize = 36;
/// `sizeof(struct gnttab_query_size)`: `dom` @0, `nr_frames` @4, `max_nr_frames` @8,
/// `status` @12.
pub const QUERY_SIZE_SIZE: usize = 16;
/// `sizeof(struct gnttab_set_version)`: `version` @0.
pub const SET_VERSION_SIZE: usize = 4;
/// `sizeof(struct gnttab_get_version)`: `dom` @0, `pad` @2, `version` @4.
pub const GET_VERSION_SIZE: usize = 8;

/// Size of one element of `cmd`'s argument array; `None` for operations answered `-ENOSYS`
/// (`GNTTABOP_dump_table`, `transfer`, `get_status_frames`, `swap_grant_ref`,
/// `cache_flush`, unknown numbers).
pub const fn arg_size(cmd: u32) -> Option<usize> {
    Some(match cmd {
        GNTTABOP_MAP_GRANT_REF => MAP_GRANT_REF_SIZE,
        GNTTABOP_UNMAP_GRANT_REF => UNMAP_GRANT_REF_SIZE,
        GNTTABOP_UNMAP_AND_REPLACE => UNMAP_AND_REPLACE_SIZE,
        GNTTABOP_SETUP_TABLE => SETUP_TABLE_SIZE,
        GNTTABOP_COPY => COPY_SIZE,
        GNTTABOP_QUERY_SIZE => QUERY_SIZE_SIZE,
        GNTTABOP_SET_VERSION => SET_VERSION_SIZE,
        GNTTABOP_GET_VERSION => GET_VERSION_SIZE,
        _ => return None,
    })
}

/// Whether `cmd` takes a batch (`count` elements) rather than exactly one.
pub const fn is_batch(cmd: u32) -> bool {
    matches!(
        cmd,
        GNTTABOP_MAP_GRANT_REF
            | GNTTABOP_UNMAP_GRANT_REF
            | GNTTABOP_UNMAP_AND_REPLACE
            | GNTTABOP_COPY
    )
}

/// `struct gnttab_map_grant_ref` inputs.
pub fn decode_map(b: &[u8]) -> Option<MapRequest> {
    whole(b, MAP_GRANT_REF_SIZE)?;
    Some(MapRequest {
        host_addr: get_u64(b, 0)?,
        flags: get_u32(b, 8)?,
        gref: get_u32(b, 12)?,
        dom: get_u16(b, 16)?,
    })
}

/// Writes the outputs of a map: `status`, and on success `handle` and `dev_bus_addr`.
pub fn encode_map(b: &mut [u8], r: &Result<Mapped, GntSt>) {
    match r {
        Ok(m) => {
            put_u16(b, MAP_STATUS, GNTST_OKAY as u16);
            put_u32(b, MAP_HANDLE, m.handle);
            put_u64(b, MAP_DEV_BUS_ADDR, m.dev_bus_addr);
        }
        Err(e) => put_u16(b, MAP_STATUS, e.code() as u16),
    }
}

/// `struct gnttab_unmap_grant_ref` inputs.
pub fn decode_unmap(b: &[u8]) -> Option<UnmapRequest> {
    whole(b, UNMAP_GRANT_REF_SIZE)?;
    Some(UnmapRequest {
        host_addr: get_u64(b, 0)?,
        dev_bus_addr: get_u64(b, 8)?,
        handle: get_u32(b, 16)?,
    })
}

/// `struct gnttab_unmap_and_replace` inputs: the unmap (with `dev_bus_addr` 0) and
/// `new_addr`. On Arm, a non-zero `new_addr` is `GNTST_general_error`
/// (`replace_grant_host_mapping()`); with 0 it is an unmap.
pub fn decode_unmap_and_replace(b: &[u8]) -> Option<(UnmapRequest, u64)> {
    whole(b, UNMAP_AND_REPLACE_SIZE)?;
    Some((
        UnmapRequest {
            host_addr: get_u64(b, 0)?,
            dev_bus_addr: 0,
            handle: get_u32(b, 16)?,
        },
        get_u64(b, 8)?,
    ))
}

/// `struct gnttab_copy` inputs.
pub fn decode_copy(b: &[u8]) -> Option<CopyRequest> {
    whole(b, COPY_SIZE)?;
    let ptr = |o: usize| -> Option<CopyPtr> {
        Some(CopyPtr {
            ref_or_gmfn: get_u64(b, o)?,
            domid: get_u16(b, o + 8)?,
            offset: get_u16(b, o + 10)?,
        })
    };
    Some(CopyRequest {
        source: ptr(0)?,
        dest: ptr(16)?,
        len: get_u16(b, 32)?,
        flags: get_u16(b, 34)?,
    })
}

/// `struct gnttab_setup_table` inputs: `dom`, `nr_frames`, and the guest address of
/// `frame_list` (where the hypervisor writes `nr_frames` `xen_pfn_t`).
pub fn decode_setup_table(b: &[u8]) -> Option<(DomId, u32, u64)> {
    whole(b, SETUP_TABLE_SIZE)?;
    Some((get_u16(b, 0)?, get_u32(b, 4)?, get_u64(b, 16)?))
}

/// `struct gnttab_query_size` input: `dom`.
pub fn decode_query_size(b: &[u8]) -> Option<DomId> {
    whole(b, QUERY_SIZE_SIZE)?;
    get_u16(b, 0)
}

/// Writes the outputs of `GNTTABOP_query_size`.
pub fn encode_query_size(b: &mut [u8], r: &Result<TableSize, GntSt>) {
    match r {
        Ok(s) => {
            put_u32(b, 4, s.nr_frames);
            put_u32(b, 8, s.max_nr_frames);
            put_u16(b, 12, GNTST_OKAY as u16);
        }
        Err(e) => put_u16(b, 12, e.code() as u16),
    }
}

/// `struct gnttab_set_version` input: `version` (the output `version` goes at the same
/// offset).
pub fn decode_set_version(b: &[u8]) -> Option<u32> {
    whole(b, SET_VERSION_SIZE)?;
    get_u32(b, 0)
}

/// `struct gnttab_get_version` input: `dom`.
pub fn decode_get_version(b: &[u8]) -> Option<DomId> {
    whole(b, GET_VERSION_SIZE)?;
    get_u16(b, 0)
}

/// `Some` if `b` holds a whole element of `size` bytes (outputs are written back too).
fn whole(b: &[u8], size: usize) -> Option<()> {
    (b.len() >= size).then_some(())
}

/// Writes a `GNTST_*` status (`int16_t`) at `off`.
pub fn encode_status(b: &mut [u8], off: usize, r: Result<(), GntSt>) {
    put_u16(b, off, crate::status_code(r) as u16);
}

/// Bounds-checked little-endian fields, shared with the other Xen ABI crates.
pub use xen_wire::{get_u16, get_u32, get_u64, put_u16, put_u32, put_u64};
