//! Every domain's grant state and the `GNTTABOP_*` operations.

use alloc::vec::Vec;
use core::sync::atomic::Ordering::SeqCst;

use crate::memory::{GrantEntry, GrantTableMemory};
use crate::{
    DomId, Errno, GntSt, GrantHandle, GrantRef, DEFAULT_MAX_FRAMES, DEFAULT_MAX_MAPTRACK,
    DOMID_FIRST_RESERVED, DOMID_SELF, ENTRIES_PER_FRAME, GNTCOPY_DEST_GREF, GNTCOPY_SOURCE_GREF,
    GNTMAP_APPLICATION_MAP, GNTMAP_CONTAINS_PTE, GNTMAP_DEVICE_MAP, GNTMAP_HOST_MAP,
    GNTMAP_READONLY, GNTTAB_VERSION, GTF_PAT, GTF_PCD, GTF_PERMIT_ACCESS, GTF_PWT, GTF_READING,
    GTF_READONLY, GTF_SUB_PAGE, GTF_TYPE_MASK, GTF_WRITING, MAX_GRANT_FRAMES, MAX_MAPTRACK,
    XEN_PAGE_SIZE,
};

/// Count of writable host mappings (`GNTPIN_hstw_*`); copies to a grant count here too.
const GNTPIN_HSTW_INC: u32 = 1;
const GNTPIN_HSTW_MASK: u32 = 0xff;
/// Count of read-only host mappings (`GNTPIN_hstr_*`); copies from a grant count here too.
const GNTPIN_HSTR_INC: u32 = 1 << 8;
/// Xen refuses a new pin once any 8-bit count reached 128.
const GNTPIN_OVERFLOW: u32 = 0x8080_8080;
/// `_set_status_v1()` tries its compare-exchange at most five times ("fails under the
/// assumption that the guest is misbehaving").
const SET_STATUS_TRIES: u32 = 5;

/// Configuration of one domain's grant table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomainConfig {
    /// The domain id (below `DOMID_FIRST_RESERVED`).
    pub domid: DomId,
    /// May name other domains where Xen's XSM dummy policy says `XSM_TARGET`
    /// (`GNTTABOP_query_size`, `setup_table`, `get_version`): the control domain (dom0).
    pub privileged: bool,
    /// Table size limit in frames, 1 to [`MAX_GRANT_FRAMES`] (`max_nr_frames`). The
    /// hypervisor must be able to back that many frames, and dom0's `/hypervisor` `reg`
    /// region must hold them (Linux maps `max_nr_frames` pages there).
    pub max_frames: u32,
    /// Maptrack handles (simultaneous mappings of others' grants), 1 to [`MAX_MAPTRACK`].
    pub max_maptrack: u32,
}

impl DomainConfig {
    /// An unprivileged domain with the default limits.
    pub const fn new(domid: DomId) -> Self {
        Self {
            domid,
            privileged: false,
            max_frames: DEFAULT_MAX_FRAMES,
            max_maptrack: DEFAULT_MAX_MAPTRACK,
        }
    }
}

/// `GNTTABOP_query_size` output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableSize {
    /// `nr_frames`: frames in use (grown by `XENMAPSPACE_grant_table` and `setup_table`).
    pub nr_frames: u32,
    /// `max_nr_frames`.
    pub max_nr_frames: u32,
}

/// Result of [`GrantTables::map_frame`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameMapping {
    /// The table frame to map at the requested gfn (the hypervisor's page for it).
    pub idx: u32,
    /// Another table frame of the domain that was mapped at that gfn and no longer is.
    pub replaced: Option<u32>,
}

/// `GNTTABOP_map_grant_ref` inputs (`struct gnttab_map_grant_ref`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapRequest {
    /// `host_addr`: guest physical address in the mapper where the page goes.
    pub host_addr: u64,
    /// `flags`: `GNTMAP_*`.
    pub flags: u32,
    /// `ref`.
    pub gref: GrantRef,
    /// `dom`: the granting domain (not `DOMID_SELF`: Xen looks it up by id only).
    pub dom: DomId,
}

/// What [`GrantTables::map_grant_ref`] asks the hypervisor to do once the grant is pinned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapTarget {
    /// The granting domain.
    pub granter: DomId,
    /// The grant reference.
    pub gref: GrantRef,
    /// The granted frame: a guest frame number of the granter (the entry's `frame` when the
    /// grant was first pinned), to translate through the granter's stage 2. Not RAM of the
    /// granter: fail with `GNTST_bad_page` (Xen's `get_paged_frame()`).
    pub gfn: u64,
    /// The mapper's guest frame number to map it at (`host_addr >> 12`); mapping it there
    /// may fail with `GNTST_general_error` (Xen's `create_grant_host_mapping()`).
    pub host_gfn: u64,
    /// Map read-only (`GNTMAP_readonly`): stage-2 permissions without write.
    pub readonly: bool,
}

/// `GNTTABOP_map_grant_ref` outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapped {
    /// `handle`.
    pub handle: GrantHandle,
    /// `dev_bus_addr`: what the hypervisor's closure returned, the machine address of the
    /// granted frame (Linux on Arm records it in its p2m for DMA through swiotlb-xen).
    pub dev_bus_addr: u64,
}

/// `GNTTABOP_unmap_grant_ref` inputs (`struct gnttab_unmap_grant_ref`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnmapRequest {
    /// `host_addr`: where the page is mapped (0: leave the mapping, as Xen).
    pub host_addr: u64,
    /// `dev_bus_addr`: 0, or the address `map_grant_ref` returned (checked).
    pub dev_bus_addr: u64,
    /// `handle`.
    pub handle: GrantHandle,
}

/// One mapping held by a domain (a maptrack entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MappingInfo {
    /// The granting domain.
    pub granter: DomId,
    /// Whether the granting domain still exists (the same instance that granted).
    pub granter_alive: bool,
    /// The grant reference.
    pub gref: GrantRef,
    /// The granter's frame.
    pub gfn: u64,
    /// The mapper's guest frame number holding the mapping.
    pub host_gfn: u64,
    /// The machine address returned at map time.
    pub dev_bus_addr: u64,
    /// Read-only mapping.
    pub readonly: bool,
}

/// One side of `GNTTABOP_copy` (`struct gnttab_copy_ptr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyPtr {
    /// The union `u`: `ref` (low 32 bits) with the `GNTCOPY_*_gref` flag, else `gmfn`.
    pub ref_or_gmfn: u64,
    /// `domid`: the granter for a reference; must be `DOMID_SELF` for a frame.
    pub domid: DomId,
    /// `offset` in the page.
    pub offset: u16,
}

/// `GNTTABOP_copy` inputs (`struct gnttab_copy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyRequest {
    /// `source`.
    pub source: CopyPtr,
    /// `dest`.
    pub dest: CopyPtr,
    /// `len`.
    pub len: u16,
    /// `flags`: `GNTCOPY_source_gref`, `GNTCOPY_dest_gref`.
    pub flags: u16,
}

/// One side of a validated copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopySide {
    /// Whose frame (the granter, or the caller for a frame number).
    pub dom: DomId,
    /// The guest frame number in that domain, to translate through its stage 2
    /// (`GNTST_bad_page` if it is not RAM).
    pub gfn: u64,
    /// Byte offset in the page.
    pub offset: u16,
}

/// What [`GrantTables::copy`] asks the hypervisor to copy: `len` bytes from `source` to
/// `dest`, both ranges within one page (checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyPlan {
    /// Read from here.
    pub source: CopySide,
    /// Write here.
    pub dest: CopySide,
    /// Bytes.
    pub len: u16,
}

/// What [`GrantTables::release_domain`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReleaseReport {
    /// The domain's own mappings of grants (maptrack entries) dropped, their grants
    /// unpinned in the granters' tables.
    pub mappings_released: u32,
    /// Mappings other domains still hold of this domain's grants. They stay valid (their
    /// holders unmap them normally, without any access to the released table); until they
    /// are gone, the released domain's granted pages must not be reused
    /// ([`GrantTables::orphaned_mappings`]).
    pub foreign_mappings: u32,
}

/// Counters of one domain, for the hypervisor monitor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DomainStats {
    /// Table frames in use (`nr_frames`).
    pub nr_frames: u32,
    /// Limit (`max_nr_frames`).
    pub max_frames: u32,
    /// Table frames the guest has mapped (`XENMAPSPACE_grant_table`).
    pub frames_mapped: u32,
    /// Grants of this domain pinned right now (mapped or being copied, by others or itself).
    pub active_grants: u32,
    /// Maptrack handles in use (this domain's mappings of grants).
    pub maptrack_used: u32,
    /// Maptrack limit.
    pub maptrack_max: u32,
    /// Of the handles in use, those whose granter was released.
    pub orphaned: u32,
    /// Successful `map_grant_ref` operations.
    pub maps: u64,
    /// Successful `unmap_grant_ref` operations.
    pub unmaps: u64,
    /// Successful `copy` operations.
    pub copies: u64,
    /// Failed map, unmap and copy operations.
    pub failures: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Active {
    /// `GNTPIN_*` counts; 0 = not pinned.
    pin: u32,
    /// The domain it is pinned for (`act->domid`).
    mapper: DomId,
    /// The frame captured at the first pin (`act->mfn`'s gfn).
    frame: u32,
}

#[derive(Clone, Copy, Debug)]
struct Track {
    granter: DomId,
    granter_gen: u64,
    gref: GrantRef,
    frame: u32,
    readonly: bool,
    host_gfn: u64,
    dev_bus_addr: u64,
}

struct Domain {
    id: DomId,
    /// Instance number, so that a later domain with the same id is not taken for this one.
    gen: u64,
    privileged: bool,
    nr_frames: u32,
    frame_gfn: Vec<Option<u64>>,
    active: Vec<Active>,
    active_grants: u32,
    maptrack: Vec<Option<Track>>,
    maptrack_used: u32,
    maps: u64,
    unmaps: u64,
    copies: u64,
    failures: u64,
}

impl Domain {
    fn max_frames(&self) -> u32 {
        self.frame_gfn.len() as u32
    }

    fn nr_entries(&self) -> u32 {
        self.nr_frames * ENTRIES_PER_FRAME
    }
}

/// Every domain's grant state.
pub struct GrantTables {
    domains: Vec<Domain>,
    max_domains: usize,
    next_gen: u64,
}

impl GrantTables {
    /// Room for `max_domains` domains (the slot table is allocated now).
    pub fn new(max_domains: usize) -> Result<Self, Errno> {
        let mut domains = Vec::new();
        domains
            .try_reserve_exact(max_domains)
            .map_err(|_| Errno::NoMem)?;
        Ok(Self {
            domains,
            max_domains,
            next_gen: 1,
        })
    }

    /// Creates a domain's grant state: an empty table (`nr_frames` 0: Linux maps frame 0
    /// first), no mappings. `-EINVAL` for a reserved id or limits out of range, `-EEXIST`,
    /// `-ENOSPC` when all slots are used, `-ENOMEM`.
    pub fn add_domain(&mut self, config: DomainConfig) -> Result<(), Errno> {
        if config.domid >= DOMID_FIRST_RESERVED
            || !(1..=MAX_GRANT_FRAMES).contains(&config.max_frames)
            || !(1..=MAX_MAPTRACK).contains(&config.max_maptrack)
        {
            return Err(Errno::Inval);
        }
        if self.index(config.domid).is_some() {
            return Err(Errno::Exist);
        }
        if self.domains.len() >= self.max_domains {
            return Err(Errno::NoSpc);
        }
        let mut frame_gfn = Vec::new();
        frame_gfn
            .try_reserve_exact(config.max_frames as usize)
            .map_err(|_| Errno::NoMem)?;
        frame_gfn.resize(config.max_frames as usize, None);
        let entries = (config.max_frames * ENTRIES_PER_FRAME) as usize;
        let mut active = Vec::new();
        active
            .try_reserve_exact(entries)
            .map_err(|_| Errno::NoMem)?;
        active.resize(entries, Active::default());
        let mut maptrack = Vec::new();
        maptrack
            .try_reserve_exact(config.max_maptrack as usize)
            .map_err(|_| Errno::NoMem)?;
        maptrack.resize(config.max_maptrack as usize, None);
        let gen = self.next_gen;
        self.next_gen += 1;
        // `max_domains` slots were reserved by `new`: this push does not allocate.
        self.domains.push(Domain {
            id: config.domid,
            gen,
            privileged: config.privileged,
            nr_frames: 0,
            frame_gfn,
            active,
            active_grants: 0,
            maptrack,
            maptrack_used: 0,
            maps: 0,
            unmaps: 0,
            copies: 0,
            failures: 0,
        });
        Ok(())
    }

    /// Whether `dom` has grant state.
    pub fn has_domain(&self, dom: DomId) -> bool {
        self.index(dom).is_some()
    }

    /// The domains, in no particular order (for the monitor).
    pub fn domains(&self) -> impl Iterator<Item = DomId> + '_ {
        self.domains.iter().map(|d| d.id)
    }

    /// Domain destruction (Xen's `gnttab_release_mappings()` then the table's end): every
    /// mapping the domain holds is dropped and its grant unpinned in the granter's table
    /// (flags cleared through `mem`); mappings others hold of its grants are reported and
    /// left to their holders. Call it once the domain's vCPUs are stopped and its stage 2
    /// is gone (TLBs invalidated): the granters see their pages free right away.
    /// `-ESRCH` if there is no such domain.
    pub fn release_domain<M: GrantTableMemory + ?Sized>(
        &mut self,
        dom: DomId,
        mem: &M,
    ) -> Result<ReleaseReport, Errno> {
        let d = self.index(dom).ok_or(Errno::Srch)?;
        let gen = self.domains[d].gen;
        let mut report = ReleaseReport::default();
        for h in 0..self.domains[d].maptrack.len() {
            let Some(t) = self.domains[d].maptrack.get_mut(h).and_then(Option::take) else {
                continue;
            };
            report.mappings_released += 1;
            if let Some(r) = self.live(t.granter, t.granter_gen) {
                self.unpin(r, t.gref, t.readonly, mem);
            }
        }
        self.domains[d].maptrack_used = 0;
        report.foreign_mappings = self
            .domains
            .iter()
            .flat_map(|m| m.maptrack.iter().flatten())
            .filter(|t| t.granter == dom && t.granter_gen == gen)
            .count() as u32;
        self.domains.swap_remove(d);
        Ok(report)
    }

    /// Mappings that live domains still hold of grants of released instances of `dom`
    /// (see [`ReleaseReport::foreign_mappings`]).
    pub fn orphaned_mappings(&self, dom: DomId) -> u32 {
        self.domains
            .iter()
            .flat_map(|m| m.maptrack.iter().flatten())
            .filter(|t| t.granter == dom && self.live(t.granter, t.granter_gen).is_none())
            .count() as u32
    }

    /// `GNTTABOP_query_size` of `dom` (`DOMID_SELF` allowed): `GNTST_bad_domain`,
    /// `GNTST_permission_denied` (another domain, caller not privileged).
    pub fn query_size(&self, caller: DomId, dom: DomId) -> Result<TableSize, GntSt> {
        let d = self.target(caller, dom)?;
        let d = &self.domains[d];
        Ok(TableSize {
            nr_frames: d.nr_frames,
            max_nr_frames: d.max_frames(),
        })
    }

    /// `GNTTABOP_setup_table` of `dom` (`DOMID_SELF` allowed): grows the table to
    /// `nr_frames` frames and returns how many `frame_list` entries to write, each
    /// [`Self::frame_gfn`] or `INVALID_GFN` (on Arm the frames are where the guest mapped
    /// them; Linux on Arm does not call this). `GNTST_bad_domain`,
    /// `GNTST_permission_denied`, `GNTST_general_error` beyond `max_nr_frames`.
    pub fn setup_table(&mut self, caller: DomId, dom: DomId, nr_frames: u32) -> Result<u32, GntSt> {
        let d = self.target(caller, dom)?;
        let d = &mut self.domains[d];
        if nr_frames > d.max_frames() {
            return Err(GntSt::GeneralError);
        }
        d.nr_frames = d.nr_frames.max(nr_frames);
        Ok(nr_frames)
    }

    /// `GNTTABOP_get_version` of `dom`: always 1. `-ESRCH`, `-EPERM` as Xen.
    pub fn get_version(&self, caller: DomId, dom: DomId) -> Result<u32, Errno> {
        let id = if dom == DOMID_SELF { caller } else { dom };
        self.index(id).ok_or(Errno::Srch)?;
        if id != caller && !self.is_privileged(caller) {
            return Err(Errno::Perm);
        }
        Ok(GNTTAB_VERSION)
    }

    /// `XENMEM_add_to_physmap` with `XENMAPSPACE_grant_table`, index `idx`, at `gfn` of
    /// domain `dom` (the caller resolves `DOMID_SELF`). Grows the table to `idx + 1` frames
    /// (Xen's `gnttab_grow_table()`; the frames are the hypervisor's, zeroed when it created
    /// them) and records where frame `idx` is. `-EINVAL` for `idx` not below `max_nr_frames`
    /// (including the v2 `XENMAPIDX_grant_table_status` flag); `-EBUSY` if that frame is
    /// already mapped somewhere (Xen/Arm asks the guest to unmap it first); `-ESRCH`.
    ///
    /// The hypervisor then maps the frame's page at `gfn` in the domain's stage 2, replacing
    /// what was there; when that was another table frame it is [`FrameMapping::replaced`].
    pub fn map_frame(&mut self, dom: DomId, idx: u64, gfn: u64) -> Result<FrameMapping, Errno> {
        let d = self.index(dom).ok_or(Errno::Srch)?;
        let d = &mut self.domains[d];
        let i = usize::try_from(idx).map_err(|_| Errno::Inval)?;
        match d.frame_gfn.get(i) {
            None => return Err(Errno::Inval),
            Some(Some(_)) => return Err(Errno::Busy),
            Some(None) => {}
        }
        let replaced = d.frame_gfn.iter().position(|g| *g == Some(gfn));
        if let Some(r) = replaced {
            d.frame_gfn[r] = None;
        }
        d.frame_gfn[i] = Some(gfn);
        d.nr_frames = d.nr_frames.max(i as u32 + 1);
        Ok(FrameMapping {
            idx: i as u32,
            replaced: replaced.map(|r| r as u32),
        })
    }

    /// The hypervisor removed whatever `dom` had at `gfn` from its stage 2
    /// (`XENMEM_remove_from_physmap`, or something else mapped there): if it was a table
    /// frame, it is no longer mapped (the table keeps its size). Returns that frame.
    pub fn unmap_frame_gfn(&mut self, dom: DomId, gfn: u64) -> Option<u32> {
        let d = self.index(dom)?;
        let d = &mut self.domains[d];
        let i = d.frame_gfn.iter().position(|g| *g == Some(gfn))?;
        d.frame_gfn[i] = None;
        Some(i as u32)
    }

    /// Where table frame `idx` of `dom` is mapped in the guest, if it is.
    pub fn frame_gfn(&self, dom: DomId, idx: u32) -> Option<u64> {
        let d = &self.domains[self.index(dom)?];
        d.frame_gfn.get(idx as usize).copied().flatten()
    }

    /// `GNTTABOP_map_grant_ref` by `mapper`. Checks, in Xen's order, each failing with the
    /// `GNTST_*` Xen gives:
    ///
    /// 1. neither `GNTMAP_host_map` nor `GNTMAP_device_map`: `bad_gntref`;
    /// 2. `GNTMAP_device_map`, `GNTMAP_application_map` or `GNTMAP_contains_pte` (Arm guests
    ///    are translated): `general_error`;
    /// 3. no granter `req.dom`: `bad_domain`;
    /// 4. no free maptrack handle: `no_space`;
    /// 5. `req.gref` beyond the granter's table: `bad_gntref`;
    /// 6. grant already pinned for another domain, or a pin count at 128: `general_error`;
    /// 7. first pin (or first writable pin): the entry must be `GTF_permit_access` without
    ///    `GTF_sub_page`, for `mapper`, and not `GTF_readonly` for a writable mapping; then
    ///    `GTF_reading` (and `GTF_writing`) are set with a compare-exchange on the
    ///    flags+domid word, retried while the guest changes it, at most 5 times (Xen's
    ///    `_set_status_v1()`): `general_error` otherwise;
    /// 8. Arm's `create_grant_host_mapping()`: other `GNTMAP_*` bits (`guest_avail`), or
    ///    cache attributes (`GTF_PAT`/`PWT`/`PCD`) in the entry: `general_error`;
    /// 9. here, deliberately stricter than Xen (which replaces the stage-2 entry): another
    ///    grant already mapped at that `host_addr` page: `general_error`;
    /// 10. `install`: the hypervisor's stage-2 work (see [`MapTarget`]); its error is
    ///     returned as is.
    ///
    /// Any failure after the pin undoes it (flags cleared as Xen's `unlock_out_clear`).
    pub fn map_grant_ref<M, F>(
        &mut self,
        mapper: DomId,
        req: &MapRequest,
        mem: &M,
        install: F,
    ) -> Result<Mapped, GntSt>
    where
        M: GrantTableMemory + ?Sized,
        F: FnOnce(&MapTarget) -> Result<u64, GntSt>,
    {
        let r = self.map_inner(mapper, req, mem, install);
        self.count(mapper, r.is_ok(), |d| d.maps = d.maps.wrapping_add(1));
        r
    }

    fn map_inner<M, F>(
        &mut self,
        mapper: DomId,
        req: &MapRequest,
        mem: &M,
        install: F,
    ) -> Result<Mapped, GntSt>
    where
        M: GrantTableMemory + ?Sized,
        F: FnOnce(&MapTarget) -> Result<u64, GntSt>,
    {
        if req.flags & (GNTMAP_DEVICE_MAP | GNTMAP_HOST_MAP) == 0 {
            return Err(GntSt::BadGntref);
        }
        if req.flags & (GNTMAP_DEVICE_MAP | GNTMAP_APPLICATION_MAP | GNTMAP_CONTAINS_PTE) != 0 {
            return Err(GntSt::GeneralError);
        }
        let l = self.index(mapper).ok_or(GntSt::BadDomain)?;
        let r = self.index(req.dom).ok_or(GntSt::BadDomain)?;
        let handle = self.domains[l]
            .maptrack
            .iter()
            .position(Option::is_none)
            .ok_or(GntSt::NoSpace)?;
        let readonly = req.flags & GNTMAP_READONLY != 0;
        let frame = self.pin(r, req.gref, mapper, readonly, true, mem)?;
        let host_gfn = req.host_addr >> 12;
        let cache = mem
            .entry(req.dom, req.gref)
            .map_or(0, |e| e.flags() & (GTF_PAT | GTF_PWT | GTF_PCD));
        let taken = self.domains[l]
            .maptrack
            .iter()
            .flatten()
            .any(|t| t.host_gfn == host_gfn);
        let result = if req.flags & !(GNTMAP_HOST_MAP | GNTMAP_READONLY) != 0 || cache != 0 || taken
        {
            Err(GntSt::GeneralError)
        } else {
            install(&MapTarget {
                granter: req.dom,
                gref: req.gref,
                gfn: u64::from(frame),
                host_gfn,
                readonly,
            })
        };
        let dev_bus_addr = match result {
            Ok(a) => a,
            Err(e) => {
                self.unpin(r, req.gref, readonly, mem);
                return Err(e);
            }
        };
        let granter_gen = self.domains[r].gen;
        let m = &mut self.domains[l];
        if let Some(slot) = m.maptrack.get_mut(handle) {
            *slot = Some(Track {
                granter: req.dom,
                granter_gen,
                gref: req.gref,
                frame,
                readonly,
                host_gfn,
                dev_bus_addr,
            });
            m.maptrack_used += 1;
        }
        Ok(Mapped {
            handle: handle as GrantHandle,
            dev_bus_addr,
        })
    }

    /// `GNTTABOP_unmap_grant_ref` (and `GNTTABOP_unmap_and_replace` with `new_addr` 0) by
    /// `mapper`:
    ///
    /// 1. `handle` beyond the maptrack or not in use (never mapped, already unmapped, or
    ///    another domain's): `GNTST_bad_handle`;
    /// 2. `dev_bus_addr` neither 0 nor the mapping's: `GNTST_general_error`;
    /// 3. `host_addr` 0: nothing is done and the handle stays (Xen: no host mapping named);
    /// 4. `host_addr` not in the mapping's page: `GNTST_general_error` (Xen/Arm's
    ///    `replace_grant_host_mapping()` finds another frame there);
    /// 5. `remove`: the hypervisor removes the stage-2 entry at [`MappingInfo::host_gfn`]
    ///    and invalidates the TLBs before returning `Ok`; its error is returned as is and
    ///    nothing changes.
    ///
    /// Then the handle is freed and the grant unpinned: `GTF_writing` cleared with its last
    /// writable pin, `GTF_reading` with its last pin. A granter that was released meanwhile
    /// is not touched.
    pub fn unmap_grant_ref<M, F>(
        &mut self,
        mapper: DomId,
        req: &UnmapRequest,
        mem: &M,
        remove: F,
    ) -> Result<(), GntSt>
    where
        M: GrantTableMemory + ?Sized,
        F: FnOnce(&MappingInfo) -> Result<(), GntSt>,
    {
        let r = self.unmap_inner(mapper, req, mem, remove);
        self.count(mapper, r.is_ok(), |d| d.unmaps = d.unmaps.wrapping_add(1));
        r
    }

    fn unmap_inner<M, F>(
        &mut self,
        mapper: DomId,
        req: &UnmapRequest,
        mem: &M,
        remove: F,
    ) -> Result<(), GntSt>
    where
        M: GrantTableMemory + ?Sized,
        F: FnOnce(&MappingInfo) -> Result<(), GntSt>,
    {
        let l = self.index(mapper).ok_or(GntSt::BadHandle)?;
        let info = self.mapping(mapper, req.handle).ok_or(GntSt::BadHandle)?;
        if req.dev_bus_addr != 0 && req.dev_bus_addr != info.dev_bus_addr {
            return Err(GntSt::GeneralError);
        }
        if req.host_addr == 0 {
            return Ok(());
        }
        if req.host_addr >> 12 != info.host_gfn {
            return Err(GntSt::GeneralError);
        }
        remove(&info)?;
        let m = &mut self.domains[l];
        let Some(t) = m
            .maptrack
            .get_mut(req.handle as usize)
            .and_then(Option::take)
        else {
            return Ok(());
        };
        m.maptrack_used = m.maptrack_used.saturating_sub(1);
        if let Some(r) = self.live(t.granter, t.granter_gen) {
            self.unpin(r, t.gref, t.readonly, mem);
        }
        Ok(())
    }

    /// The mapping `handle` of `mapper`, if in use.
    pub fn mapping(&self, mapper: DomId, handle: GrantHandle) -> Option<MappingInfo> {
        let m = &self.domains[self.index(mapper)?];
        let t = m.maptrack.get(handle as usize).copied().flatten()?;
        Some(MappingInfo {
            granter: t.granter,
            granter_alive: self.live(t.granter, t.granter_gen).is_some(),
            gref: t.gref,
            gfn: u64::from(t.frame),
            host_gfn: t.host_gfn,
            dev_bus_addr: t.dev_bus_addr,
            readonly: t.readonly,
        })
    }

    /// `GNTTABOP_copy` by `caller`. In Xen's order (`gnttab_copy_lock_domains()`,
    /// `gnttab_copy_claim_buf()`, `gnttab_copy_buf()`):
    ///
    /// 1. per side, source then destination: a frame number with a `domid` other than
    ///    `DOMID_SELF`: `GNTST_permission_denied`; no such domain: `GNTST_bad_domain`;
    /// 2. source, then destination, if a grant: as map steps 5-7 (`bad_gntref`,
    ///    `general_error`), `GTF_sub_page` allowed (v1 has no sub-page grants: the whole page),
    ///    pinned for the copy (`GTF_reading`; destination also `GTF_writing`, refused on a
    ///    `GTF_readonly` grant);
    /// 3. `offset + len` beyond the page on either side: `GNTST_bad_copy_arg`;
    /// 4. `copy`: the hypervisor translates both frames (`GNTST_bad_page` if not RAM of that
    ///    domain) and copies; its error is returned as is.
    ///
    /// The pins are dropped (flags cleared) before returning, whatever the outcome.
    pub fn copy<M, F>(
        &mut self,
        caller: DomId,
        req: &CopyRequest,
        mem: &M,
        copy: F,
    ) -> Result<(), GntSt>
    where
        M: GrantTableMemory + ?Sized,
        F: FnOnce(&CopyPlan) -> Result<(), GntSt>,
    {
        let r = self.copy_inner(caller, req, mem, copy);
        self.count(caller, r.is_ok(), |d| d.copies = d.copies.wrapping_add(1));
        r
    }

    fn copy_inner<M, F>(
        &mut self,
        caller: DomId,
        req: &CopyRequest,
        mem: &M,
        copy: F,
    ) -> Result<(), GntSt>
    where
        M: GrantTableMemory + ?Sized,
        F: FnOnce(&CopyPlan) -> Result<(), GntSt>,
    {
        self.index(caller).ok_or(GntSt::BadDomain)?;
        let src_gref = req.flags & GNTCOPY_SOURCE_GREF != 0;
        let dst_gref = req.flags & GNTCOPY_DEST_GREF != 0;
        let src_dom = self.copy_domain(caller, &req.source, src_gref)?;
        let dst_dom = self.copy_domain(caller, &req.dest, dst_gref)?;
        let source = self.claim(caller, src_dom, &req.source, src_gref, true, mem)?;
        let dest = match self.claim(caller, dst_dom, &req.dest, dst_gref, false, mem) {
            Ok(d) => d,
            Err(e) => {
                self.release_claim(src_dom, &req.source, src_gref, true, mem);
                return Err(e);
            }
        };
        let page = XEN_PAGE_SIZE;
        let result = if u32::from(req.source.offset) + u32::from(req.len) > page
            || u32::from(req.dest.offset) + u32::from(req.len) > page
        {
            Err(GntSt::BadCopyArg)
        } else {
            copy(&CopyPlan {
                source,
                dest,
                len: req.len,
            })
        };
        self.release_claim(dst_dom, &req.dest, dst_gref, false, mem);
        self.release_claim(src_dom, &req.source, src_gref, true, mem);
        result
    }

    /// Counters of `dom`, for the monitor.
    pub fn stats(&self, dom: DomId) -> Option<DomainStats> {
        let d = &self.domains[self.index(dom)?];
        let orphaned = d
            .maptrack
            .iter()
            .flatten()
            .filter(|t| self.live(t.granter, t.granter_gen).is_none())
            .count() as u32;
        Some(DomainStats {
            nr_frames: d.nr_frames,
            max_frames: d.max_frames(),
            frames_mapped: d.frame_gfn.iter().flatten().count() as u32,
            active_grants: d.active_grants,
            maptrack_used: d.maptrack_used,
            maptrack_max: d.maptrack.len() as u32,
            orphaned,
            maps: d.maps,
            unmaps: d.unmaps,
            copies: d.copies,
            failures: d.failures,
        })
    }

    /// Pin counts of grant `gref` of `dom` as (read-only, writable) pins, for the monitor
    /// and tests; `None` if out of range.
    pub fn pins(&self, dom: DomId, gref: GrantRef) -> Option<(u32, u32)> {
        let d = &self.domains[self.index(dom)?];
        if gref >= d.nr_entries() {
            return None;
        }
        let a = d.active.get(gref as usize)?;
        Some(((a.pin >> 8) & 0xff, a.pin & GNTPIN_HSTW_MASK))
    }

    fn index(&self, dom: DomId) -> Option<usize> {
        self.domains.iter().position(|d| d.id == dom)
    }

    /// The slot of `dom` if it is still instance `gen`.
    fn live(&self, dom: DomId, gen: u64) -> Option<usize> {
        self.index(dom).filter(|&i| self.domains[i].gen == gen)
    }

    fn is_privileged(&self, dom: DomId) -> bool {
        self.index(dom).is_some_and(|i| self.domains[i].privileged)
    }

    /// `rcu_lock_domain_by_any_id()` then XSM `XSM_TARGET`, in `GNTST_*` terms.
    fn target(&self, caller: DomId, dom: DomId) -> Result<usize, GntSt> {
        let id = if dom == DOMID_SELF { caller } else { dom };
        let d = self.index(id).ok_or(GntSt::BadDomain)?;
        if id != caller && !self.is_privileged(caller) {
            return Err(GntSt::PermissionDenied);
        }
        Ok(d)
    }

    fn count(&mut self, dom: DomId, ok: bool, on_ok: impl FnOnce(&mut Domain)) {
        if let Some(i) = self.index(dom) {
            let d = &mut self.domains[i];
            if ok {
                on_ok(d);
            } else {
                d.failures = d.failures.wrapping_add(1);
            }
        }
    }

    /// `gnttab_copy_lock_domain()`: the domain of one side of a copy.
    fn copy_domain(&self, caller: DomId, p: &CopyPtr, is_gref: bool) -> Result<DomId, GntSt> {
        if p.domid != DOMID_SELF && !is_gref {
            return Err(GntSt::PermissionDenied);
        }
        let id = if p.domid == DOMID_SELF {
            caller
        } else {
            p.domid
        };
        self.index(id).map(|_| id).ok_or(GntSt::BadDomain)
    }

    /// `gnttab_copy_claim_buf()`: pins a grant for the copy, or takes the caller's frame.
    fn claim<M: GrantTableMemory + ?Sized>(
        &mut self,
        caller: DomId,
        dom: DomId,
        p: &CopyPtr,
        is_gref: bool,
        readonly: bool,
        mem: &M,
    ) -> Result<CopySide, GntSt> {
        if !is_gref {
            return Ok(CopySide {
                dom,
                gfn: p.ref_or_gmfn,
                offset: p.offset,
            });
        }
        let r = self.index(dom).ok_or(GntSt::BadDomain)?;
        let frame = self.pin(r, p.ref_or_gmfn as GrantRef, caller, readonly, false, mem)?;
        Ok(CopySide {
            dom,
            gfn: u64::from(frame),
            offset: p.offset,
        })
    }

    fn release_claim<M: GrantTableMemory + ?Sized>(
        &mut self,
        dom: DomId,
        p: &CopyPtr,
        is_gref: bool,
        readonly: bool,
        mem: &M,
    ) {
        if is_gref {
            if let Some(r) = self.index(dom) {
                self.unpin(r, p.ref_or_gmfn as GrantRef, readonly, mem);
            }
        }
    }

    /// Pins grant `gref` of domain slot `r` for `ldom` (map steps 5-7); returns the frame.
    fn pin<M: GrantTableMemory + ?Sized>(
        &mut self,
        r: usize,
        gref: GrantRef,
        ldom: DomId,
        readonly: bool,
        mapflag: bool,
        mem: &M,
    ) -> Result<u32, GntSt> {
        let rid = self.domains[r].id;
        let d = &mut self.domains[r];
        if gref >= d.nr_entries() {
            return Err(GntSt::BadGntref);
        }
        let act = d.active.get_mut(gref as usize).ok_or(GntSt::BadGntref)?;
        if act.pin != 0 && (act.mapper != ldom || act.pin & GNTPIN_OVERFLOW != 0) {
            return Err(GntSt::GeneralError);
        }
        if act.pin == 0 || (!readonly && act.pin & GNTPIN_HSTW_MASK == 0) {
            let entry = mem.entry(rid, gref).ok_or(GntSt::BadGntref)?;
            set_status(&entry, act.pin != 0, readonly, mapflag, ldom)?;
            if act.pin == 0 {
                act.frame = entry.frame.load(SeqCst);
                act.mapper = ldom;
            }
        }
        let first = act.pin == 0;
        act.pin += if readonly {
            GNTPIN_HSTR_INC
        } else {
            GNTPIN_HSTW_INC
        };
        let frame = act.frame;
        if first {
            d.active_grants += 1;
        }
        Ok(frame)
    }

    /// Drops one pin taken by `pin` and clears the flags that no pin needs any more.
    fn unpin<M: GrantTableMemory + ?Sized>(
        &mut self,
        r: usize,
        gref: GrantRef,
        readonly: bool,
        mem: &M,
    ) {
        let rid = self.domains[r].id;
        let d = &mut self.domains[r];
        let Some(act) = d.active.get_mut(gref as usize) else {
            return;
        };
        let inc = if readonly {
            GNTPIN_HSTR_INC
        } else {
            GNTPIN_HSTW_INC
        };
        let count_mask = if readonly {
            0xff << 8
        } else {
            GNTPIN_HSTW_MASK
        };
        if act.pin & count_mask == 0 {
            // Not pinned this way: nothing to drop (cannot happen; never underflow).
            return;
        }
        act.pin -= inc;
        let mut clear = 0u16;
        if !readonly && act.pin & GNTPIN_HSTW_MASK == 0 {
            clear |= GTF_WRITING;
        }
        if act.pin == 0 {
            clear |= GTF_READING;
            d.active_grants = d.active_grants.saturating_sub(1);
        }
        if clear != 0 {
            if let Some(e) = mem.entry(rid, gref) {
                e.header.fetch_and(!u32::from(clear), SeqCst);
            }
        }
    }
}

/// Xen's `_set_status_v1()`: validates the entry (unless already pinned) and sets
/// `GTF_reading` (and `GTF_writing`) with a bounded compare-exchange loop on the combined
/// flags+domid word.
fn set_status(
    entry: &GrantEntry<'_>,
    pinned: bool,
    readonly: bool,
    mapflag: bool,
    ldom: DomId,
) -> Result<(), GntSt> {
    let mask = GTF_TYPE_MASK | if mapflag { GTF_SUB_PAGE } else { 0 };
    let mut cur = entry.header.load(SeqCst);
    for _ in 0..SET_STATUS_TRIES {
        let flags = cur as u16;
        let domid = (cur >> 16) as u16;
        if !pinned && (flags & mask != GTF_PERMIT_ACCESS || domid != ldom) {
            return Err(GntSt::GeneralError);
        }
        let mut new = flags | GTF_READING;
        if !readonly {
            if flags & GTF_READONLY != 0 {
                return Err(GntSt::GeneralError);
            }
            new |= GTF_WRITING;
        }
        let new = (cur & 0xffff_0000) | u32::from(new);
        match entry.header.compare_exchange(cur, new, SeqCst, SeqCst) {
            Ok(_) => return Ok(()),
            Err(seen) => cur = seen,
        }
    }
    // "Shared grant entry is unstable."
    Err(GntSt::GeneralError)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::size_of;

    #[test]
    fn per_entry_memory() {
        assert!(size_of::<Active>() <= 12);
        assert!(size_of::<Option<Track>>() <= 40);
        assert!(size_of::<Option<u64>>() <= 16);
    }
}
