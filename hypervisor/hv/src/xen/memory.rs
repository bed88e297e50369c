//! memory_op: where the domain wants its shared-info page and grant-table frames.

use super::state::MAX_GRANT_FRAMES;
use super::{errno, HypercallResult};
use crate::arch::mmu::HeapTables;
use crate::domain::{self, Domain};
use crate::guest;
use crate::println;
use page_table::{Access, Attributes, MemType, PAGE_SIZE};

const XENMEM_ADD_TO_PHYSMAP: u64 = 7;
const XENMAPSPACE_SHARED_INFO: u32 = 0;
const XENMAPSPACE_GRANT_TABLE: u32 = 1;
/// XENMAPIDX_grant_table_status: the v2 status frames, which we do not have.
const XENMAPIDX_GRANT_TABLE_STATUS: u64 = 1 << 31;
const DOMID_SELF: u16 = 0x7ff0;

pub fn memory_op(cmd: u64, arg: u64) -> HypercallResult {
    match cmd {
        XENMEM_ADD_TO_PHYSMAP => add_to_physmap(arg),
        _ => Err(errno::ENOSYS),
    }
}

/// struct xen_add_to_physmap { domid_t domid; uint16_t size; unsigned int space;
///                             xen_ulong_t idx; xen_pfn_t gpfn; }
fn add_to_physmap(arg: u64) -> HypercallResult {
    let request = guest::Args::<24>::read(arg)?;
    let dom = domain::current();
    if request.u16(0) != DOMID_SELF && request.u16(0) != dom.id {
        return Err(errno::ESRCH);
    }
    let (space, idx, gpfn) = (request.u32(4), request.u64(8), request.u64(16));
    let ipa = gpfn.checked_mul(PAGE_SIZE).ok_or(errno::EINVAL)?;
    match space {
        XENMAPSPACE_SHARED_INFO if idx == 0 => {
            // The page stays the domain's own RAM: it is where the hypervisor and the domain
            // share the event-channel bitmaps.
            guest::ipa_to_host(dom, ipa, true).ok_or(errno::EINVAL)?;
            dom.xen.set_shared_info(ipa);
            Ok(0)
        }
        XENMAPSPACE_GRANT_TABLE if idx & XENMAPIDX_GRANT_TABLE_STATUS == 0 => map_grant_frame(dom, idx as usize, ipa),
        _ => Err(errno::EINVAL),
    }
}

/// Maps grant-table frame `index` (a hypervisor page, zeroed when first made) at `ipa`.
fn map_grant_frame(dom: &Domain, index: usize, ipa: u64) -> HypercallResult {
    if index >= MAX_GRANT_FRAMES {
        return Err(errno::EINVAL);
    }
    let mut frames = dom.xen.grant_frames.lock();
    while frames.len() <= index {
        let layout = core::alloc::Layout::from_size_align(PAGE_SIZE as usize, PAGE_SIZE as usize).map_err(|_| errno::ENOSPC)?;
        // SAFETY: the layout has a non-zero size.
        let page = unsafe { alloc::alloc::alloc_zeroed(layout) };
        if page.is_null() {
            return Err(errno::ENOSPC);
        }
        frames.push(page as u64);
    }
    let frame = frames[index];
    drop(frames);
    let mut stage2 = dom.stage2.lock();
    let mut tables = HeapTables;
    // Whatever was there (a RAM page Linux gives up for it, as on Xen) is replaced.
    stage2.unmap(&mut tables, ipa, PAGE_SIZE).map_err(|_| errno::EINVAL)?;
    stage2
        .map(&mut tables, ipa, frame, PAGE_SIZE, Attributes { mem: MemType::Normal, access: Access::RW })
        .map_err(|e| {
            println!("{}: cannot map grant frame {index} at {ipa:#x}: {e}", dom.name);
            errno::EINVAL
        })?;
    Ok(0)
}
