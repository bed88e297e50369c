//! memory_op: where the domain wants its shared-info page and grant-table frames, the pages it
//! gives back and takes again (ballooning), and dom0's mappings of other domains' pages.
//!
//! A domain's RAM is one block of host memory for its whole life. Giving a page back
//! (decrease_reservation) leaves a hole in its stage 2, the place where Linux then maps grants
//! and foreign pages; taking one again (populate_physmap) maps the same host page back, zeroed.
//! So a domain never holds more than its block, and a page it gave back is never anyone else's.

use super::{grants, HypercallResult};
use crate::arch::mmu::HeapTables;
use crate::domain::{self, Domain};
use crate::guest::{self, CurrentVcpu};
use crate::println;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use page_table::{Access, Attributes, MemType, PAGE_SIZE};
use spin::Mutex;
use xen_hypercall::{AddToPhysmap, AddToPhysmapBatch, DomainId, Errno, Gfn, MapSpace, MemoryOp, Reservation};

/// dom0's mappings of other domains' pages held at once (privcmd's foreign maps).
const MAX_FOREIGN_MAPS: usize = 1024;

pub fn memory_op(op: MemoryOp, mem: &CurrentVcpu) -> HypercallResult {
    match op {
        MemoryOp::AddToPhysmap(request) => add_to_physmap(&request),
        MemoryOp::DecreaseReservation(request) => Ok(reservation(&request, mem, Change::GiveBack)),
        MemoryOp::PopulatePhysmap(request) => Ok(reservation(&request, mem, Change::Populate)),
        MemoryOp::IncreaseReservation(request) => Ok(increase_reservation(&request)),
        MemoryOp::AddToPhysmapBatch(request) => add_to_physmap_batch(&request, mem),
        MemoryOp::RemoveFromPhysmap { domid, gpfn } => remove_from_physmap(domid, gpfn),
        MemoryOp::CurrentReservation { .. } | MemoryOp::MaximumReservation { .. } | MemoryOp::Unknown { .. } => {
            Err(Errno::ENOSYS)
        }
    }
}

/// The domain a memory_op names: itself only.
fn own_domain(domid: DomainId) -> Result<&'static Domain, Errno> {
    let dom = domain::current();
    if !domid.is(dom.id) {
        return Err(Errno::ESRCH);
    }
    Ok(dom)
}

/// XENMEM_add_to_physmap: the shared-info page (idx 0, checked by xen-hypercall) or a
/// grant-table frame, at `gpfn`.
fn add_to_physmap(request: &AddToPhysmap) -> HypercallResult {
    let dom = own_domain(request.domid)?;
    let (gpfn, ipa) = (request.gpfn.get(), request.gpfn.addr());
    match request.space {
        MapSpace::SharedInfo => {
            // The page stays the domain's own RAM: it is where the hypervisor and the domain
            // share the event-channel bitmaps.
            grants::own_page(dom, gpfn).ok_or(Errno::EINVAL)?;
            dom.xen.set_shared_info(ipa);
            Ok(0)
        }
        MapSpace::GrantTable => grants::map_table_frame(dom, request.idx, ipa),
        _ => Err(Errno::EINVAL),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    GiveBack,
    Populate,
}

/// decrease_reservation and populate_physmap: order-0 extents only, at most
/// xen_hypercall::MAX_EXTENTS (both checked by xen-hypercall), each a guest frame of the
/// domain's RAM. As on Xen the answer is the number of extents done, never an error: the
/// first extent that cannot be read or done stops the call, and a call for another domain
/// does nothing.
fn reservation(request: &Reservation, mem: &CurrentVcpu, change: Change) -> i64 {
    let Ok(dom) = own_domain(request.domid) else {
        println!("{}: memory reservation for dom{}: only its own", domain::current().name, request.domid.raw());
        return 0;
    };
    for i in 0..request.nr_extents() {
        let Ok(gfn) = request.extent(mem, i) else { return i64::from(i) };
        let done = match change {
            Change::GiveBack => give_back(dom, gfn.get(), "decrease_reservation"),
            Change::Populate => populate(dom, gfn.get()),
        };
        if !done {
            return i64::from(i);
        }
    }
    i64::from(request.nr_extents())
}

/// increase_reservation: on Xen, pages for an auto-translated guest that appear nowhere in
/// its physical map (Xen neither maps them nor reads or writes extent_start for such a
/// guest); Linux uses populate_physmap instead. A domain's memory here is its RAM block and
/// nothing more, so no extent is allocated: 0, Xen's answer when it has no memory to give.
fn increase_reservation(request: &Reservation) -> i64 {
    let dom = domain::current();
    if request.nr_extents() > 0 {
        println!("{}: increase_reservation of {} extents: none (populate_physmap maps pages back)", dom.name, request.nr_extents());
    }
    0
}

/// The host page behind `gfn` of the domain's RAM block, whatever its stage 2 holds now.
fn ram_block_page(dom: &Domain, gfn: u64) -> Option<(u64, u64)> {
    let ipa = gfn.checked_mul(PAGE_SIZE)?;
    Some((ipa, dom.ram_block_host(ipa)?))
}

/// decrease_reservation (or remove_from_physmap, `op`) of one page: it must be the domain's
/// own RAM page, mapped.
fn give_back(dom: &Domain, gfn: u64, op: &str) -> bool {
    let Some((ipa, _)) = ram_block_page(dom, gfn) else {
        println!("{}: {op} of frame {gfn:#x}, not its RAM", dom.name);
        return false;
    };
    if grants::own_page(dom, gfn).is_none() {
        println!("{}: {op} of frame {gfn:#x}, not a page it holds", dom.name);
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

/// XENMEM_add_to_physmap_batch (Linux: _range), for dom0 only, space XENMAPSPACE_gmfn_foreign:
/// page idxs[i] of domain foreign_domid at gpfns[i], a hole of dom0's RAM (privcmd's foreign
/// mappings). Per-page errors go to errs[i]; an element that cannot be read or written back
/// ends the call with -EFAULT, as on Xen.
fn add_to_physmap_batch(request: &AddToPhysmapBatch, mem: &CurrentVcpu) -> HypercallResult {
    let dom = own_domain(request.domid)?;
    if request.space != MapSpace::GmfnForeign {
        return Err(Errno::EINVAL);
    }
    if dom.id != 0 {
        println!("{}: foreign mapping refused: only dom0 may map other domains' pages", dom.name);
        return Err(Errno::EPERM);
    }
    let foreign = request.foreign_domid.ok_or(Errno::ESRCH)?.resolve(dom.id);
    let owner = domain::get(foreign).filter(|o| o.id != dom.id).ok_or(Errno::ESRCH)?;
    // Refusals are said once per call, with the first frame: a batch of bad frames is one line.
    let mut refused: Option<(u64, u32)> = None;
    for i in 0..request.size() {
        let idx = request.idx(mem, i)?;
        // Read as a plain number: a frame whose address does not fit is that page's error.
        let gpfn = request.gpfns.read_u64(mem, i)?;
        let error: i32 = match Gfn::new(gpfn).ok_or(Errno::EINVAL).and_then(|gpfn| map_foreign(dom, owner, idx, gpfn.get())) {
            Ok(()) => 0,
            Err(e) => {
                refused.get_or_insert((idx, 0)).1 += 1;
                e.to_ret() as i32
            }
        };
        guest::write_va(request.err_addr(i)?.0, &error.to_le_bytes())?;
    }
    if let Some((first, count)) = refused {
        println!("{}: {count} of {} foreign frame(s) of {} refused (first: frame {first:#x}): not its RAM, or no hole to map them at", dom.name, request.size(), owner.name);
    }
    Ok(0)
}

fn map_foreign(dom: &Domain, owner: &Domain, idx: u64, gpfn: u64) -> Result<(), Errno> {
    let page = grants::own_page(owner, idx).ok_or(Errno::EINVAL)?;
    let (ipa, _) = ram_block_page(dom, gpfn).ok_or(Errno::EINVAL)?;
    let mut foreign = FOREIGN.lock();
    if foreign.len() >= MAX_FOREIGN_MAPS {
        println!("{}: {MAX_FOREIGN_MAPS} foreign pages mapped already", dom.name);
        return Err(Errno::ENOSPC);
    }
    let mut stage2 = dom.stage2.lock();
    if stage2.translate(&HeapTables, ipa).is_some() {
        println!("{}: foreign page mapped at {ipa:#x}, not a page it gave back", dom.name);
        return Err(Errno::EBUSY);
    }
    stage2.map(&mut HeapTables, ipa, page, PAGE_SIZE, Attributes { mem: MemType::Normal, access: Access::RW }).map_err(|_| Errno::ENOMEM)?;
    foreign.push(ForeignMap { mapper: dom.id, gfn: gpfn, owner: owner.id, page });
    Ok(())
}

/// XENMEM_remove_from_physmap: undoes a foreign mapping (the page becomes a hole again) or
/// takes a RAM page out as decrease_reservation.
fn remove_from_physmap(domid: DomainId, gpfn: Gfn) -> HypercallResult {
    let dom = own_domain(domid)?;
    let (gfn, ipa) = (gpfn.get(), gpfn.addr());
    let mut foreign = FOREIGN.lock();
    if let Some(i) = foreign.iter().position(|m| m.mapper == dom.id && m.gfn == gfn) {
        {
            let mut stage2 = dom.stage2.lock();
            if stage2.translate(&HeapTables, ipa).map(|t| t.output) == Some(foreign[i].page) {
                stage2.unmap(&mut HeapTables, ipa, PAGE_SIZE).map_err(|_| Errno::ENOMEM)?;
            }
        }
        foreign.swap_remove(i);
        drop(foreign);
        // With no lock held: a rebuild notifies domains, which reaches their memory.
        crate::lifecycle::resume_pending_restarts();
        return Ok(0);
    }
    drop(foreign);
    // A hole already (Linux unmaps a foreign page whose mapping had failed): nothing to do.
    if dom.ipa_is_ram(ipa) && dom.stage2.lock().translate(&HeapTables, ipa).is_none() {
        return Err(Errno::ENOENT);
    }
    if give_back(dom, gfn, "remove_from_physmap") {
        Ok(0)
    } else {
        Err(Errno::EINVAL)
    }
}
