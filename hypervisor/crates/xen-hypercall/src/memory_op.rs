//! `HYPERVISOR_memory_op(unsigned long cmd, void *arg)`: x0 = `cmd`, x1 = `arg`.

use crate::abi::*;
use crate::guest::{read_struct, Fields, GuestArray, GuestMemory, GuestVa};
use crate::ids::{DomainId, Gfn};
use crate::layout::*;
use crate::Errno;

/// Extents one reservation call may name: what Linux's balloon driver sends at most
/// (`frame_list[PAGE_SIZE / sizeof(xen_pfn_t)]`, 512 with 4 KiB pages), so that one call
/// does a bounded amount of work without Xen's continuations. More is `-E2BIG`.
pub const MAX_EXTENTS: u32 = 512;

/// A `memory_op` sub-operation.
///
/// The command's bits above the low six are Xen's continuation index (`start_extent`); this
/// hypervisor never creates continuations, so a known operation with any of them set is
/// `-EINVAL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryOp {
    /// `XENMEM_increase_reservation`: returns the number of extents allocated.
    IncreaseReservation(Reservation),
    /// `XENMEM_decrease_reservation`: returns the number of extents freed.
    DecreaseReservation(Reservation),
    /// `XENMEM_populate_physmap`: returns the number of extents populated.
    PopulatePhysmap(Reservation),
    /// `XENMEM_current_reservation`: returns the domain's page count.
    CurrentReservation {
        /// The `domid_t` `arg` points to.
        domid: DomainId,
    },
    /// `XENMEM_maximum_reservation`: returns the domain's page limit.
    MaximumReservation {
        /// The `domid_t` `arg` points to.
        domid: DomainId,
    },
    /// `XENMEM_add_to_physmap`.
    AddToPhysmap(AddToPhysmap),
    /// `XENMEM_add_to_physmap_batch` (Linux: `XENMEM_add_to_physmap_range`).
    AddToPhysmapBatch(AddToPhysmapBatch),
    /// `XENMEM_remove_from_physmap`.
    RemoveFromPhysmap {
        /// `domid`.
        domid: DomainId,
        /// `gpfn`: the frame to unmap (out of range: `-ENOENT`, as Xen finds no page).
        gpfn: Gfn,
    },
    /// Any other operation (`XENMEM_exchange`, `XENMEM_get_sharing_freed_pages`, ...):
    /// Xen answers what it does not know with `-ENOSYS`.
    Unknown {
        /// The whole command register.
        cmd: u64,
        /// The argument, unread.
        arg: GuestVa,
    },
}

/// `struct xen_memory_reservation`, checked: `extent_order` is 0 (4 KiB extents; anything
/// else `-EINVAL`), at most [`MAX_EXTENTS`] extents (`-E2BIG`), and the `extent_start`
/// array does not wrap (`-EFAULT`).
///
/// Xen reports the failure of these operations as the number of extents done (here 0)
/// rather than an error number: see [`crate::error_return`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// `extent_start[nr_extents]`: frame numbers (`xen_pfn_t`). May be null for
    /// `increase_reservation` (auto-translated guests get no frame numbers back).
    pub extents: GuestArray,
    /// `mem_flags` (Linux: `address_bits`): `XENMEMF_*`, address width in bits 0-7.
    pub mem_flags: u32,
    /// `domid`.
    pub domid: DomainId,
}

impl Reservation {
    /// `nr_extents`.
    pub const fn nr_extents(&self) -> u32 {
        self.extents.len()
    }

    /// Reads `extent_start[index]`. `-EINVAL` if `index >= nr_extents` or the frame number's
    /// address does not fit in 64 bits, `-EFAULT` if it cannot be read.
    pub fn extent(&self, mem: &impl GuestMemory, index: u32) -> Result<Gfn, Errno> {
        Gfn::new(self.extents.read_u64(mem, index)?).ok_or(Errno::EINVAL)
    }
}

/// The source spaces of `add_to_physmap` (`XENMAPSPACE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MapSpace {
    /// `XENMAPSPACE_shared_info`: the shared-info page (`idx` 0).
    SharedInfo,
    /// `XENMAPSPACE_grant_table`: grant-table frame `idx` (with
    /// [`XENMAPIDX_GRANT_TABLE_STATUS`]: a v2 status frame).
    GrantTable,
    /// `XENMAPSPACE_gmfn`: another frame of the domain (x86; Xen on Arm: `-ENOSYS`).
    Gmfn,
    /// `XENMAPSPACE_gmfn_range`: `size` frames from `idx` (x86; not with the batch call).
    GmfnRange,
    /// `XENMAPSPACE_gmfn_foreign`: frame `idx` of another domain (batch call only).
    GmfnForeign,
    /// `XENMAPSPACE_dev_mmio`: device frame `idx` (hardware domain, for itself).
    DevMmio,
}

impl MapSpace {
    /// The space numbered `raw`.
    pub const fn from_raw(raw: u32) -> Option<MapSpace> {
        Some(match raw {
            XENMAPSPACE_SHARED_INFO => MapSpace::SharedInfo,
            XENMAPSPACE_GRANT_TABLE => MapSpace::GrantTable,
            XENMAPSPACE_GMFN => MapSpace::Gmfn,
            XENMAPSPACE_GMFN_RANGE => MapSpace::GmfnRange,
            XENMAPSPACE_GMFN_FOREIGN => MapSpace::GmfnForeign,
            XENMAPSPACE_DEV_MMIO => MapSpace::DevMmio,
            _ => return None,
        })
    }

    /// Its number.
    pub const fn raw(self) -> u32 {
        match self {
            MapSpace::SharedInfo => XENMAPSPACE_SHARED_INFO,
            MapSpace::GrantTable => XENMAPSPACE_GRANT_TABLE,
            MapSpace::Gmfn => XENMAPSPACE_GMFN,
            MapSpace::GmfnRange => XENMAPSPACE_GMFN_RANGE,
            MapSpace::GmfnForeign => XENMAPSPACE_GMFN_FOREIGN,
            MapSpace::DevMmio => XENMAPSPACE_DEV_MMIO,
        }
    }
}

/// `struct xen_add_to_physmap`, checked: a known space other than `gmfn_foreign` (Xen:
/// `-ENOSYS`), `idx` 0 for the shared-info page (`-EINVAL`), a `gpfn` whose address fits
/// (`-EINVAL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddToPhysmap {
    /// `domid`.
    pub domid: DomainId,
    /// `space`.
    pub space: MapSpace,
    /// `size`: pages, for [`MapSpace::GmfnRange`] only.
    pub size: u16,
    /// `idx`: index into the space.
    pub idx: u64,
    /// `gpfn`: where the page appears in the domain.
    pub gpfn: Gfn,
}

/// A grant-table frame named by `add_to_physmap`'s `idx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrantFrame {
    /// The frame index, [`XENMAPIDX_GRANT_TABLE_STATUS`] removed.
    pub index: u64,
    /// A status frame (grant tables v2) rather than a shared frame.
    pub status: bool,
}

impl AddToPhysmap {
    /// The grant-table frame, for [`MapSpace::GrantTable`].
    pub const fn grant_frame(&self) -> Option<GrantFrame> {
        match self.space {
            MapSpace::GrantTable => Some(GrantFrame {
                index: self.idx & !XENMAPIDX_GRANT_TABLE_STATUS,
                status: self.idx & XENMAPIDX_GRANT_TABLE_STATUS != 0,
            }),
            _ => None,
        }
    }
}

/// `struct xen_add_to_physmap_batch`, checked: a known space other than `gmfn_range`
/// (`-EOPNOTSUPP`; unknown: `-ENOSYS`), a valid foreign domain for `gmfn_foreign`
/// (`-ESRCH`), and three arrays of `size` elements that do not wrap (`-EFAULT`).
///
/// For each `i < size`: map [`idx`](Self::idx)`(i)` of the space at
/// [`gpfn`](Self::gpfn)`(i)`, and write that element's result (0 or `-errno`, an `int`) at
/// [`err_addr`](Self::err_addr)`(i)`. The call itself returns 0 unless it could not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddToPhysmapBatch {
    /// `domid`: the domain whose physmap changes.
    pub domid: DomainId,
    /// `space`.
    pub space: MapSpace,
    /// `u.foreign_domid`, for [`MapSpace::GmfnForeign`] only (`u.res0` otherwise, ignored).
    pub foreign_domid: Option<DomainId>,
    /// `idxs[size]` (`xen_ulong_t`).
    pub idxs: GuestArray,
    /// `gpfns[size]` (`xen_pfn_t`).
    pub gpfns: GuestArray,
    /// `errs[size]` (`int`, output).
    pub errs: GuestArray,
}

impl AddToPhysmapBatch {
    /// `size`: elements in each array.
    pub const fn size(&self) -> u32 {
        self.idxs.len()
    }

    /// Reads `idxs[index]`. `-EINVAL` if `index >= size`, `-EFAULT` if unreadable.
    pub fn idx(&self, mem: &impl GuestMemory, index: u32) -> Result<u64, Errno> {
        self.idxs.read_u64(mem, index)
    }

    /// Reads `gpfns[index]`. `-EINVAL` if `index >= size` or the frame's address does not
    /// fit, `-EFAULT` if unreadable.
    pub fn gpfn(&self, mem: &impl GuestMemory, index: u32) -> Result<Gfn, Errno> {
        Gfn::new(self.gpfns.read_u64(mem, index)?).ok_or(Errno::EINVAL)
    }

    /// Where `errs[index]` goes (4 bytes). `-EINVAL` if `index >= size`.
    pub fn err_addr(&self, index: u32) -> Result<GuestVa, Errno> {
        self.errs.addr(index)
    }
}

pub(crate) fn decode(cmd: u64, arg: GuestVa, mem: &impl GuestMemory) -> Result<MemoryOp, Errno> {
    let op = (cmd & MEMOP_CMD_MASK) as u32;
    let continuation = cmd >> MEMOP_EXTENT_SHIFT != 0;
    let known = matches!(
        op,
        XENMEM_INCREASE_RESERVATION
            | XENMEM_DECREASE_RESERVATION
            | XENMEM_POPULATE_PHYSMAP
            | XENMEM_CURRENT_RESERVATION
            | XENMEM_MAXIMUM_RESERVATION
            | XENMEM_ADD_TO_PHYSMAP
            | XENMEM_ADD_TO_PHYSMAP_BATCH
            | XENMEM_REMOVE_FROM_PHYSMAP
    );
    if !known {
        return Ok(MemoryOp::Unknown { cmd, arg });
    }
    if continuation {
        return Err(Errno::EINVAL);
    }
    Ok(match op {
        XENMEM_INCREASE_RESERVATION => MemoryOp::IncreaseReservation(reservation(mem, arg)?),
        XENMEM_DECREASE_RESERVATION => MemoryOp::DecreaseReservation(reservation(mem, arg)?),
        XENMEM_POPULATE_PHYSMAP => MemoryOp::PopulatePhysmap(reservation(mem, arg)?),
        XENMEM_CURRENT_RESERVATION => MemoryOp::CurrentReservation {
            domid: domid_arg(mem, arg)?,
        },
        XENMEM_MAXIMUM_RESERVATION => MemoryOp::MaximumReservation {
            domid: domid_arg(mem, arg)?,
        },
        XENMEM_ADD_TO_PHYSMAP => MemoryOp::AddToPhysmap(add_to_physmap(mem, arg)?),
        XENMEM_ADD_TO_PHYSMAP_BATCH => MemoryOp::AddToPhysmapBatch(batch(mem, arg)?),
        _ => {
            let b = read_struct::<XEN_REMOVE_FROM_PHYSMAP_SIZE>(mem, arg)?;
            let f = Fields(&b);
            MemoryOp::RemoveFromPhysmap {
                domid: DomainId::decode(f.u16(XEN_REMOVE_FROM_PHYSMAP_DOMID)?)?,
                gpfn: Gfn::new(f.u64(XEN_REMOVE_FROM_PHYSMAP_GPFN)?).ok_or(Errno::ENOENT)?,
            }
        }
    })
}

fn domid_arg(mem: &impl GuestMemory, arg: GuestVa) -> Result<DomainId, Errno> {
    let b = read_struct::<DOMID_SIZE>(mem, arg)?;
    DomainId::decode(Fields(&b).u16(0)?)
}

fn reservation(mem: &impl GuestMemory, arg: GuestVa) -> Result<Reservation, Errno> {
    let b = read_struct::<XEN_MEMORY_RESERVATION_SIZE>(mem, arg)?;
    let f = Fields(&b);
    let domid = DomainId::decode(f.u16(XEN_MEMORY_RESERVATION_DOMID)?)?;
    if f.u32(XEN_MEMORY_RESERVATION_EXTENT_ORDER)? != 0 {
        return Err(Errno::EINVAL);
    }
    let nr_extents = f.u64(XEN_MEMORY_RESERVATION_NR_EXTENTS)?;
    let nr_extents = u32::try_from(nr_extents)
        .ok()
        .filter(|&n| n <= MAX_EXTENTS)
        .ok_or(Errno::E2BIG)?;
    Ok(Reservation {
        extents: GuestArray::new(f.va(XEN_MEMORY_RESERVATION_EXTENT_START)?, nr_extents, 8)?,
        mem_flags: f.u32(XEN_MEMORY_RESERVATION_MEM_FLAGS)?,
        domid,
    })
}

fn add_to_physmap(mem: &impl GuestMemory, arg: GuestVa) -> Result<AddToPhysmap, Errno> {
    let b = read_struct::<XEN_ADD_TO_PHYSMAP_SIZE>(mem, arg)?;
    let f = Fields(&b);
    // Foreign mappings only go through the batch call.
    let space = MapSpace::from_raw(f.u32(XEN_ADD_TO_PHYSMAP_SPACE)?)
        .filter(|&s| s != MapSpace::GmfnForeign)
        .ok_or(Errno::ENOSYS)?;
    let domid = DomainId::decode(f.u16(XEN_ADD_TO_PHYSMAP_DOMID)?)?;
    let idx = f.u64(XEN_ADD_TO_PHYSMAP_IDX)?;
    if space == MapSpace::SharedInfo && idx != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(AddToPhysmap {
        domid,
        space,
        size: f.u16(XEN_ADD_TO_PHYSMAP_SIZE_FIELD)?,
        idx,
        gpfn: Gfn::new(f.u64(XEN_ADD_TO_PHYSMAP_GPFN)?).ok_or(Errno::EINVAL)?,
    })
}

fn batch(mem: &impl GuestMemory, arg: GuestVa) -> Result<AddToPhysmapBatch, Errno> {
    let b = read_struct::<XEN_ADD_TO_PHYSMAP_BATCH_SIZE>(mem, arg)?;
    let f = Fields(&b);
    let size = u32::from(f.u16(XEN_ADD_TO_PHYSMAP_BATCH_SIZE_FIELD)?);
    let idxs = GuestArray::new(f.va(XEN_ADD_TO_PHYSMAP_BATCH_IDXS)?, size, 8)?;
    let gpfns = GuestArray::new(f.va(XEN_ADD_TO_PHYSMAP_BATCH_GPFNS)?, size, 8)?;
    let errs = GuestArray::new(f.va(XEN_ADD_TO_PHYSMAP_BATCH_ERRS)?, size, 4)?;
    let space = match MapSpace::from_raw(u32::from(f.u16(XEN_ADD_TO_PHYSMAP_BATCH_SPACE)?)) {
        Some(MapSpace::GmfnRange) => return Err(Errno::EOPNOTSUPP),
        Some(space) => space,
        None => return Err(Errno::ENOSYS),
    };
    let domid = DomainId::decode(f.u16(XEN_ADD_TO_PHYSMAP_BATCH_DOMID)?)?;
    let foreign_domid = match space {
        MapSpace::GmfnForeign => Some(DomainId::decode(
            f.u16(XEN_ADD_TO_PHYSMAP_BATCH_FOREIGN_DOMID)?,
        )?),
        _ => None,
    };
    Ok(AddToPhysmapBatch {
        domid,
        space,
        foreign_domid,
        idxs,
        gpfns,
        errs,
    })
}
