//! memory_op: where the domain wants its shared-info page and grant-table frames, the pages it
//! gives back and takes again (ballooning), and dom0's mappings of other domains' pages.
//!
//! A domain's RAM is one block of host memory for its whole life. Giving a page back
//! (decrease_reservation) leaves a hole in its stage 2, the place where Linux then maps grants
//! and foreign pages; taking one again (populate_physmap, increase_reservation) maps the same
//! host page back, zeroed. So a domain never holds more than its block, and a page it gave back
//! is never anyone else's.

use super::{errno, grants, HypercallResult};
use crate::arch::mmu::HeapTables;
use crate::domain::{self, Domain};
use crate::guest;
use crate::println;
use alloc::vec::Vec;
use page_table::{Access, Attributes, MemType, PAGE_SIZE};
use core::sync::atomic::Ordering;
use spin::Mutex;

const XENMEM_INCREASE_RESERVATION: u64 = 0;
const XENMEM_DECREASE_RESERVATION: u64 = 1;
const XENMEM_POPULATE_PHYSMAP: u64 = 6;
const XENMEM_ADD_TO_PHYSMAP: u64 = 7;
const XENMEM_REMOVE_FROM_PHYSMAP: u64 = 15;
const XENMEM_ADD_TO_PHYSMAP_RANGE: u64 = 23;
const XENMAPSPACE_SHARED_INFO: u32 = 0;
const XENMAPSPACE_GRANT_TABLE: u32 = 1;
const XENMAPSPACE_GMFN_FOREIGN: u32 = 4;
const DOMID_SELF: u16 = 0x7ff0;
/// Extents handled in one reservation call (Linux's balloon sends at most a page of them).
const MAX_EXTENTS: u64 = 4096;
/// dom0's mappings of other domains' pages held at once (privcmd's foreign maps).
const MAX_FOREIGN_MAPS: usize = 1024;

pub fn memory_op(cmd: u64, arg: u64) -> HypercallResult {
    match cmd {
        XENMEM_ADD_TO_PHYSMAP => add_to_physmap(arg),
        XENMEM_DECREASE_RESERVATION => reservation(arg, Change::GiveBack),
        XENMEM_POPULATE_PHYSMAP | XENMEM_INCREASE_RESERVATION => reservation(arg, Change::Populate),
        XENMEM_ADD_TO_PHYSMAP_RANGE => add_to_physmap_range(arg),
        XENMEM_REMOVE_FROM_PHYSMAP => remove_from_physmap(arg),
        _ => Err(errno::ENOSYS),
    }
}

/// The domain a memory_op names: itself only.
fn own_domain(domid: u16) -> Result<&'static Domain, i64> {
    let dom = domain::current();
    if domid != DOMID_SELF && domid != dom.id {
        return Err(errno::ESRCH);
    }
    Ok(dom)
}

/// struct xen_add_to_physmap { domid_t domid; uint16_t size; unsigned int space;
///                             xen_ulong_t idx; xen_pfn_t gpfn; }
fn add_to_physmap(arg: u64) -> HypercallResult {
    let request = guest::Args::<24>::read(arg)?;
    let dom = own_domain(request.u16(0))?;
    let (space, idx, gpfn) = (request.u32(4), request.u64(8), request.u64(16));
    let ipa = gpfn.checked_mul(PAGE_SIZE).ok_or(errno::EINVAL)?;
    match space {
        XENMAPSPACE_SHARED_INFO if idx == 0 => {
            // The page stays the domain's own RAM: it is where the hypervisor and the domain
            // share the event-channel bitmaps.
            grants::own_page(dom, gpfn).ok_or(errno::EINVAL)?;
            dom.xen.set_shared_info(ipa);
            Ok(0)
        }
        XENMAPSPACE_GRANT_TABLE => grants::map_table_frame(dom, idx, ipa),
        _ => Err(errno::EINVAL),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    GiveBack,
    Populate,
}

/// struct xen_memory_reservation { xen_pfn_t *extent_start; xen_ulong_t nr_extents;
/// unsigned int extent_order; unsigned int mem_flags; domid_t domid; }: order-0 extents only,
/// each a guest frame of the domain's RAM. Returns the number of extents done; the first one
/// that cannot be done stops the call, as on Xen.
fn reservation(arg: u64, change: Change) -> HypercallResult {
    let request = guest::Args::<32>::read(arg)?;
    let dom = own_domain(request.u16(24))?;
    let (extents, count, order) = (request.u64(0), request.u64(8), request.u32(16));
    if order != 0 {
        println!("{}: memory reservation of order-{order} extents: only single pages are", dom.name);
        return Err(errno::EINVAL);
    }
    if count > MAX_EXTENTS {
        return Err(errno::EINVAL);
    }
    for i in 0..count {
        let at = i.checked_mul(8).and_then(|o| extents.checked_add(o)).ok_or(errno::EFAULT)?;
        let gfn = guest::Args::<8>::read(at)?.u64(0);
        let done = match change {
            Change::GiveBack => give_back(dom, gfn),
            Change::Populate => populate(dom, gfn),
        };
        if !done {
            return Ok(i as i64);
        }
    }
    Ok(count as i64)
}

/// The host page behind `gfn` of the domain's RAM block, whatever its stage 2 holds now.
fn ram_block_page(dom: &Domain, gfn: u64) -> Option<(u64, u64)> {
    let ipa = gfn.checked_mul(PAGE_SIZE)?;
    dom.ipa_is_ram(ipa).then(|| (ipa, dom.ram_pa.base + (ipa - dom.ram_ipa.base)))
}

/// decrease_reservation of one page: it must be the domain's own RAM page, mapped.
fn give_back(dom: &Domain, gfn: u64) -> bool {
    let Some((ipa, _)) = ram_block_page(dom, gfn) else {
        println!("{}: decrease_reservation of frame {gfn:#x}, not its RAM", dom.name);
        return false;
    };
    if grants::own_page(dom, gfn).is_none() {
        println!("{}: decrease_reservation of frame {gfn:#x}, not a page it holds", dom.name);
        return false;
    }
    let done = dom.stage2.lock().unmap(&mut HeapTables, ipa, PAGE_SIZE).is_ok();
    if done {
        dom.xen.pages_given_back.fetch_add(1, Ordering::Relaxed);
    }
    done
}

/// populate_physmap of one page: a hole of the domain's RAM gets its own page back, zeroed; a
/// page it holds already stays as it is.
fn populate(dom: &Domain, gfn: u64) -> bool {
    let Some((ipa, host)) = ram_block_page(dom, gfn) else {
        println!("{}: populate_physmap of frame {gfn:#x}, outside its RAM", dom.name);
        return false;
    };
    let mut stage2 = dom.stage2.lock();
    match stage2.translate(&HeapTables, ipa) {
        Some(t) => t.output == host,
        None => {
            // SAFETY: the domain's own RAM page, not mapped in its stage 2 (so no vCPU uses
            // it), identity mapped in the hypervisor's map.
            unsafe { core::ptr::write_bytes(host as *mut u8, 0, PAGE_SIZE as usize) };
            let done = stage2.map(&mut HeapTables, ipa, host, PAGE_SIZE, Attributes { mem: MemType::Normal, access: Access::RWX }).is_ok();
            if done {
                // A hole left by a grant or foreign unmap was never counted as given back.
                let _ = dom.xen.pages_given_back.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
            }
            done
        }
    }
}

/// A page of another domain that dom0 mapped (XENMAPSPACE_gmfn_foreign).
#[derive(Clone, Copy)]
struct ForeignMap {
    mapper: u16,
    gfn: u64,
    owner: u16,
    page: u64,
}

static FOREIGN: Mutex<Vec<ForeignMap>> = Mutex::new(Vec::new());

/// Pages of `owner` other domains map through XENMAPSPACE_gmfn_foreign now.
pub fn foreign_maps_of(owner: u16) -> usize {
    FOREIGN.lock().iter().filter(|m| m.owner == owner).count()
}

/// struct xen_add_to_physmap_range { domid_t domid; uint16_t space; uint16_t size;
/// domid_t foreign_domid; xen_ulong_t *idxs; xen_pfn_t *gpfns; int *errs; }: for dom0 only,
/// space XENMAPSPACE_gmfn_foreign: page idxs[i] of domain foreign_domid at gpfns[i], a hole
/// of dom0's RAM (privcmd's foreign mappings). Per-page errors go to errs[i].
fn add_to_physmap_range(arg: u64) -> HypercallResult {
    let request = guest::Args::<32>::read(arg)?;
    let dom = own_domain(request.u16(0))?;
    let (space, size, foreign) = (request.u16(2), request.u16(4), request.u16(6));
    let (idxs, gpfns, errs) = (request.u64(8), request.u64(16), request.u64(24));
    if u32::from(space) != XENMAPSPACE_GMFN_FOREIGN {
        return Err(errno::EINVAL);
    }
    if dom.id != 0 {
        println!("{}: foreign mapping refused: only dom0 may map other domains' pages", dom.name);
        return Err(errno::EPERM);
    }
    let owner = domain::get(foreign).filter(|o| o.id != dom.id).ok_or(errno::ESRCH)?;
    for i in 0..u64::from(size) {
        let idx = guest::Args::<8>::read(idxs.checked_add(8 * i).ok_or(errno::EFAULT)?)?.u64(0);
        let gpfn = guest::Args::<8>::read(gpfns.checked_add(8 * i).ok_or(errno::EFAULT)?)?.u64(0);
        let error: i32 = match map_foreign(dom, owner, idx, gpfn) {
            Ok(()) => 0,
            Err(e) => -(e as i32),
        };
        guest::write_va(errs.checked_add(4 * i).ok_or(errno::EFAULT)?, &error.to_le_bytes())?;
    }
    Ok(0)
}

fn map_foreign(dom: &Domain, owner: &Domain, idx: u64, gpfn: u64) -> Result<(), i64> {
    let page = grants::own_page(owner, idx).ok_or(errno::EINVAL)?;
    let (ipa, _) = ram_block_page(dom, gpfn).ok_or(errno::EINVAL)?;
    let mut foreign = FOREIGN.lock();
    if foreign.len() >= MAX_FOREIGN_MAPS {
        println!("{}: {MAX_FOREIGN_MAPS} foreign pages mapped already", dom.name);
        return Err(errno::ENOSPC);
    }
    let mut stage2 = dom.stage2.lock();
    if stage2.translate(&HeapTables, ipa).is_some() {
        println!("{}: foreign page mapped at {ipa:#x}, not a page it gave back", dom.name);
        return Err(errno::EBUSY);
    }
    stage2.map(&mut HeapTables, ipa, page, PAGE_SIZE, Attributes { mem: MemType::Normal, access: Access::RW }).map_err(|_| errno::ENOMEM)?;
    foreign.push(ForeignMap { mapper: dom.id, gfn: gpfn, owner: owner.id, page });
    Ok(())
}

/// struct xen_remove_from_physmap { domid_t domid; xen_pfn_t gpfn; }: undoes a foreign
/// mapping (the page becomes a hole again) or takes a RAM page out as decrease_reservation.
fn remove_from_physmap(arg: u64) -> HypercallResult {
    let request = guest::Args::<16>::read(arg)?;
    let dom = own_domain(request.u16(0))?;
    let gpfn = request.u64(8);
    let mut foreign = FOREIGN.lock();
    if let Some(i) = foreign.iter().position(|m| m.mapper == dom.id && m.gfn == gpfn) {
        let ipa = gpfn * PAGE_SIZE;
        let mut stage2 = dom.stage2.lock();
        if stage2.translate(&HeapTables, ipa).map(|t| t.output) == Some(foreign[i].page) {
            stage2.unmap(&mut HeapTables, ipa, PAGE_SIZE).map_err(|_| errno::ENOMEM)?;
        }
        foreign.swap_remove(i);
        return Ok(0);
    }
    drop(foreign);
    if give_back(dom, gpfn) {
        Ok(0)
    } else {
        Err(errno::EINVAL)
    }
}
