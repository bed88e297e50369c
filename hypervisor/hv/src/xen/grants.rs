//! Grant tables: the xen-gnttab state of every domain behind one lock, each domain's table in
//! hypervisor pages it maps in its grant-table window (XENMAPSPACE_grant_table), granted pages
//! mapped into the mapper's stage 2 (GNTTABOP_map_grant_ref) or copied (GNTTABOP_copy).
//!
//! Where a grant may be mapped: only over a hole in the mapper's RAM, a page it gave back with
//! XENMEM_decrease_reservation (Linux's ballooned pages, where gntdev, xenbus and the backends
//! map grants). Xen would replace whatever is there; refusing keeps every page the hypervisor
//! itself uses (shared info, vcpu_info) the domain's own.

use super::{HypercallResult, GRANT_TABLE_BASE, GRANT_TABLE_SIZE};
use crate::arch::mmu::HeapTables;
use crate::domain::{self, Domain};
use crate::guest::{self, CurrentVcpu};
use crate::println;
use core::sync::atomic::AtomicU32;
use page_table::{Access, Attributes, MemType, PAGE_SIZE};
use spin::Mutex;
use xen_gnttab::{wire, CopyPlan, DomId, GntSt, GrantEntry, GrantRef, GrantTableMemory, GrantTables, MapTarget, MappingInfo};
use xen_hypercall::{Errno, GrantTableOp};

/// Frames in each domain's table (GNTTABOP_query_size's max_nr_frames: Linux's default).
pub const MAX_GRANT_FRAMES: usize = xen_gnttab::DEFAULT_MAX_FRAMES as usize;
/// Elements of a batch (map, unmap, copy) handled in one hypercall: a 800x480x32 framebuffer
/// is 375 pages; Linux's gntdev maps a whole mapping in one call.
const MAX_BATCH: u32 = 4096;

static GRANTS: Mutex<Option<GrantTables>> = Mutex::new(None);

/// A domain's grant table: hypervisor pages, zeroed, that live as long as the hypervisor (a
/// restarted domain gets them back zeroed), seen as the 32-bit words the guest writes.
pub struct TableFrames {
    pages: [u64; MAX_GRANT_FRAMES],
}

impl TableFrames {
    pub fn new() -> Option<Self> {
        let layout = core::alloc::Layout::from_size_align(PAGE_SIZE as usize, PAGE_SIZE as usize).ok()?;
        let mut pages = [0u64; MAX_GRANT_FRAMES];
        for page in &mut pages {
            // SAFETY: the layout has a non-zero size. The pages are never freed.
            let p = unsafe { alloc::alloc::alloc_zeroed(layout) };
            if p.is_null() {
                return None;
            }
            *page = p as u64;
        }
        Some(TableFrames { pages })
    }

    /// The host page of frame `index`.
    pub fn page(&self, index: usize) -> Option<u64> {
        self.pages.get(index).copied()
    }

    fn words(&self, index: usize) -> Option<&'static [AtomicU32]> {
        let page = self.page(index)?;
        // SAFETY: a page-aligned hypervisor page that is never freed, identity mapped; the guest
        // writes it through its own mapping, so every access here is atomic.
        Some(unsafe { core::slice::from_raw_parts(page as *const AtomicU32, PAGE_SIZE as usize / 4) })
    }

    /// Zeroes the table for a new instance of the domain.
    pub fn clear(&self) {
        for index in 0..MAX_GRANT_FRAMES {
            for word in self.words(index).into_iter().flatten() {
                word.store(0, core::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}

/// Every domain's table, for the xen-gnttab crate.
struct GuestTables;

impl GrantTableMemory for GuestTables {
    fn entry(&self, dom: DomId, gref: GrantRef) -> Option<GrantEntry<'_>> {
        let frames = &domain::get(dom)?.xen.grant_table;
        let per_frame = xen_gnttab::ENTRIES_PER_FRAME;
        let words = frames.words((gref / per_frame) as usize)?;
        let w = (gref % per_frame) as usize * 2;
        GrantEntry::from_words(words.get(w..w + 2)?)
    }
}

fn with_grants<T>(f: impl FnOnce(&mut GrantTables) -> T) -> Option<T> {
    GRANTS.lock().as_mut().map(f)
}

/// Creates a domain's grant state (dom0 is the privileged one).
pub fn add_domain(id: u16) {
    let mut grants = GRANTS.lock();
    let grants = grants.get_or_insert_with(|| GrantTables::new(domain::MAX_DOMAINS).expect("grant tables"));
    let mut config = xen_gnttab::DomainConfig::new(id);
    config.privileged = id == 0;
    config.max_frames = MAX_GRANT_FRAMES as u32;
    if let Err(error) = grants.add_domain(config) {
        println!("dom{id}: no grant table: {error:?}");
    }
}

/// Drops a stopped domain's grant state: the grants it mapped are unpinned in their granters'
/// tables. Returns how many of its own grants other domains still map.
pub fn release_domain(id: u16) -> u32 {
    with_grants(|g| g.release_domain(id, &GuestTables).map(|r| r.foreign_mappings).unwrap_or(0)).unwrap_or(0)
}

/// Mappings live domains still hold of grants of a released instance of `id`.
pub fn orphaned_mappings(id: u16) -> u32 {
    with_grants(|g| g.orphaned_mappings(id)).unwrap_or(0)
}

pub fn stats(id: u16) -> Option<xen_gnttab::DomainStats> {
    with_grants(|g| g.stats(id)).flatten()
}

/// XENMEM_add_to_physmap, XENMAPSPACE_grant_table: table frame `index` at `ipa`, which must be
/// in the domain's grant-table window (the /hypervisor node's region, where Linux puts them).
pub fn map_table_frame(dom: &Domain, index: u64, ipa: u64) -> HypercallResult {
    if !(GRANT_TABLE_BASE..GRANT_TABLE_BASE + GRANT_TABLE_SIZE).contains(&ipa) {
        println!("{}: grant-table frame {index} asked at {ipa:#x}, outside the grant-table window", dom.name);
        return Err(Errno::EINVAL);
    }
    let mapping = with_grants(|g| g.map_frame(dom.id, index, ipa / PAGE_SIZE)).ok_or(Errno::EINVAL)?.map_err(|e| super::errno(e.code()))?;
    let page = dom.xen.grant_table.page(mapping.idx as usize).ok_or(Errno::EINVAL)?;
    let mut stage2 = dom.stage2.lock();
    // Only table frames live in the window: what was there, if anything, was one of them.
    stage2.unmap(&mut HeapTables, ipa, PAGE_SIZE).map_err(|_| Errno::ENOMEM)?;
    stage2.map(&mut HeapTables, ipa, page, PAGE_SIZE, Attributes { mem: MemType::Normal, access: Access::RW }).map_err(|e| {
        println!("{}: cannot map grant frame {index} at {ipa:#x}: {e}", dom.name);
        Errno::ENOMEM
    })?;
    Ok(0)
}

/// The host address of `dom`'s guest frame `gfn` when it is a page of its own RAM (not a hole,
/// not a grant it mapped from someone else).
pub fn own_page(dom: &Domain, gfn: u64) -> Option<u64> {
    let ipa = gfn.checked_mul(PAGE_SIZE)?;
    let own = dom.ram_block_host(ipa)?;
    (guest::ipa_to_host(dom, ipa, false)? == own).then_some(own)
}

/// HYPERVISOR_grant_table_op(cmd, uop, count): xen-hypercall has checked the command (no
/// continuation bits), the count (1 for the single operations) and the array; each element is
/// read as its element, run and written back.
pub fn grant_table_op(op: GrantTableOp, mem: &CurrentVcpu) -> HypercallResult {
    let Some(uops) = op.uops else { return Err(Errno::ENOSYS) };
    let batch = wire::is_batch(op.cmd);
    if batch && op.count > MAX_BATCH {
        println!("{}: grant_table_op {} with {} elements (at most {MAX_BATCH})", domain::current().name, op.cmd, op.count);
        return Err(Errno::EINVAL);
    }
    let dom = domain::current();
    for i in 0..op.count {
        let va = uops.addr(i)?.0;
        let mut element = [0u8; xen_hypercall::MAX_ELEMENT_SIZE];
        let bytes = op.read_uop(mem, i, &mut element)?;
        let result = operation(dom, op.cmd, va, bytes)?;
        guest::write_va(va, bytes)?;
        if !batch {
            return Ok(result);
        }
    }
    if op.cmd == xen_gnttab::GNTTABOP_UNMAP_GRANT_REF || op.cmd == xen_gnttab::GNTTABOP_UNMAP_AND_REPLACE {
        crate::lifecycle::resume_pending_restarts();
    }
    Ok(0)
}

/// One element of a grant_table_op: reads its inputs from `bytes` and writes its outputs there.
fn operation(dom: &'static Domain, cmd: u32, uop: u64, bytes: &mut [u8]) -> HypercallResult {
    let me = dom.id;
    let fault = Errno::EFAULT;
    match cmd {
        xen_gnttab::GNTTABOP_MAP_GRANT_REF => {
            let request = wire::decode_map(bytes).ok_or(fault)?;
            let result = with_grants(|g| g.map_grant_ref(me, &request, &GuestTables, |t| install(dom, t))).ok_or(Errno::EINVAL)?;
            if let Err(status) = result {
                report(dom, format_args!("map of grant {} of dom{} at {:#x} (flags {:#x}): {status:?}", request.gref, request.dom, request.host_addr, request.flags));
            }
            wire::encode_map(bytes, &result);
        }
        xen_gnttab::GNTTABOP_UNMAP_GRANT_REF => {
            let request = wire::decode_unmap(bytes).ok_or(fault)?;
            let result = with_grants(|g| g.unmap_grant_ref(me, &request, &GuestTables, |m| remove(dom, m))).ok_or(Errno::EINVAL)?;
            if let Err(status) = result {
                report(dom, format_args!("unmap of handle {} at {:#x}: {status:?}", request.handle, request.host_addr));
            }
            wire::encode_status(bytes, wire::UNMAP_STATUS, result);
        }
        xen_gnttab::GNTTABOP_UNMAP_AND_REPLACE => {
            let (request, new_addr) = wire::decode_unmap_and_replace(bytes).ok_or(fault)?;
            let result = if new_addr != 0 {
                Err(GntSt::GeneralError)
            } else {
                with_grants(|g| g.unmap_grant_ref(me, &request, &GuestTables, |m| remove(dom, m))).ok_or(Errno::EINVAL)?
            };
            wire::encode_status(bytes, wire::UNMAP_STATUS, result);
        }
        xen_gnttab::GNTTABOP_COPY => {
            let request = wire::decode_copy(bytes).ok_or(fault)?;
            let result = with_grants(|g| g.copy(me, &request, &GuestTables, copy)).ok_or(Errno::EINVAL)?;
            if let Err(status) = result {
                report(dom, format_args!("grant copy of {} bytes: {status:?}", request.len));
            }
            wire::encode_status(bytes, wire::COPY_STATUS, result);
        }
        xen_gnttab::GNTTABOP_QUERY_SIZE => {
            let target = wire::decode_query_size(bytes).ok_or(fault)?;
            let result = with_grants(|g| g.query_size(me, target)).ok_or(Errno::EINVAL)?;
            wire::encode_query_size(bytes, &result);
        }
        xen_gnttab::GNTTABOP_SETUP_TABLE => {
            let (target, nr_frames, frame_list) = wire::decode_setup_table(bytes).ok_or(fault)?;
            let target = if target == xen_gnttab::DOMID_SELF { me } else { target };
            let result = with_grants(|g| {
                let n = g.setup_table(me, target, nr_frames)?;
                Ok((0..n).map(|i| g.frame_gfn(target, i).unwrap_or(xen_gnttab::INVALID_GFN)).collect::<alloc::vec::Vec<_>>())
            })
            .ok_or(Errno::EINVAL)?;
            if let Ok(gfns) = &result {
                for (i, gfn) in gfns.iter().enumerate() {
                    guest::write_va(frame_list.checked_add(8 * i as u64).ok_or(fault)?, &gfn.to_le_bytes())?;
                }
            }
            wire::encode_status(bytes, wire::SETUP_TABLE_STATUS, result.map(drop));
        }
        xen_gnttab::GNTTABOP_SET_VERSION => {
            let version = wire::decode_set_version(bytes).ok_or(fault)?;
            // Xen writes the version in force back whatever the outcome.
            wire::put_u32(bytes, 0, xen_gnttab::GNTTAB_VERSION);
            let result = xen_gnttab::set_version(version);
            guest::write_va(uop, bytes)?;
            result.map_err(|e| super::errno(e.code()))?;
        }
        xen_gnttab::GNTTABOP_GET_VERSION => {
            let target = wire::decode_get_version(bytes).ok_or(fault)?;
            let version = with_grants(|g| g.get_version(me, target)).ok_or(Errno::EINVAL)?.map_err(|e| super::errno(e.code()))?;
            wire::put_u32(bytes, 4, version);
        }
        _ => return Err(Errno::ENOSYS),
    }
    Ok(0)
}

/// Failed grant operations logged before going quiet: a guest looping on bad requests must
/// not flood the console (the monitor's `doms` counts every failure).
const FAILURES_LOGGED: u32 = 32;
static FAILURES_SEEN: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

fn report(dom: &Domain, what: core::fmt::Arguments) {
    match FAILURES_SEEN.fetch_add(1, core::sync::atomic::Ordering::Relaxed) {
        n if n < FAILURES_LOGGED => println!("{}: grant_table_op: {what}", dom.name),
        FAILURES_LOGGED => println!("{}: grant_table_op: {what}; further failures are not logged", dom.name),
        _ => {}
    }
}

/// Maps a pinned grant into the mapper's stage 2, over a hole of its RAM; returns the machine
/// address of the granted page (dev_bus_addr).
fn install(mapper: &Domain, target: &MapTarget) -> Result<u64, GntSt> {
    let granter = domain::get(target.granter).ok_or(GntSt::BadDomain)?;
    let page = own_page(granter, target.gfn).ok_or_else(|| {
        println!("{}: grant {} of {} names frame {:#x}, not its RAM", mapper.name, target.gref, granter.name, target.gfn);
        GntSt::BadPage
    })?;
    let ipa = target.host_gfn.checked_mul(PAGE_SIZE).ok_or(GntSt::GeneralError)?;
    let mut stage2 = mapper.stage2.lock();
    if !mapper.ipa_is_ram(ipa) || stage2.translate(&HeapTables, ipa).is_some() {
        println!("{}: grant mapped at {ipa:#x}, not a page it gave back (decrease_reservation)", mapper.name);
        return Err(GntSt::GeneralError);
    }
    let access = if target.readonly { Access::RO } else { Access::RW };
    stage2.map(&mut HeapTables, ipa, page, PAGE_SIZE, Attributes { mem: MemType::Normal, access }).map_err(|e| {
        println!("{}: cannot map a grant at {ipa:#x}: {e}", mapper.name);
        GntSt::GeneralError
    })?;
    Ok(page)
}

/// Removes a grant mapping from the mapper's stage 2, leaving the hole it was mapped over.
fn remove(mapper: &Domain, mapping: &MappingInfo) -> Result<(), GntSt> {
    let ipa = mapping.host_gfn.checked_mul(PAGE_SIZE).ok_or(GntSt::GeneralError)?;
    let mut stage2 = mapper.stage2.lock();
    match stage2.translate(&HeapTables, ipa) {
        Some(t) if t.output == mapping.dev_bus_addr => {
            stage2.unmap(&mut HeapTables, ipa, PAGE_SIZE).map_err(|_| GntSt::GeneralError)
        }
        _ => Err(GntSt::GeneralError),
    }
}

/// GNTTABOP_copy once both sides are checked and pinned: each side must be a page of its
/// domain's own RAM.
fn copy(plan: &CopyPlan) -> Result<(), GntSt> {
    let page_of = |side: &xen_gnttab::CopySide| {
        let dom = domain::get(side.dom).ok_or(GntSt::BadDomain)?;
        own_page(dom, side.gfn).ok_or(GntSt::BadPage)
    };
    let source = page_of(&plan.source)? + u64::from(plan.source.offset);
    let dest = page_of(&plan.dest)? + u64::from(plan.dest.offset);
    // SAFETY: both ranges are within one page (checked by the crate) of RAM the domains own,
    // identity mapped in the hypervisor's map; they may overlap (a domain copying within itself).
    unsafe { core::ptr::copy(source as *const u8, dest as *mut u8, usize::from(plan.len)) };
    Ok(())
}
