//! The Xen ARM guest ABI (docs/xen-abi.md): `hvc #0xEA1`, hypercall number in x16, arguments
//! in x0-x4, result in x0. Each hypercall family has its module; unknown calls are -ENOSYS.

pub mod console_io;
pub mod console_ring;
pub mod events;
pub mod grants;
pub mod memory;
mod services;
mod state;
mod vcpu;
mod version;
pub mod xenstore;

pub use state::DomainXen;

use crate::arch::exceptions::TrapFrame;
use crate::domain;

/// Where every domain maps its grant-table frames: Xen's GUEST_GNTTAB_BASE (free IPA space
/// in every domain here, which has no PCIe).
pub const GRANT_TABLE_BASE: u64 = 0x3800_0000;
pub const GRANT_TABLE_SIZE: u64 = 0x100_0000;
/// The event-channel upcall: PPI 15 = INTID 31 (Xen's GUEST_EVTCHN_PPI).
pub const EVENT_PPI: u32 = 31;

/// Hypervisor pages each domain maps at one IPA of its magic region (its xenstore ring, its
/// console ring), one per domain id, kept when the domain goes so that a rebuilt domain gets
/// its page back, zeroed.
pub struct MagicPages {
    ipa: u64,
    pages: spin::Mutex<[Option<u64>; domain::MAX_DOMAINS]>,
}

impl MagicPages {
    pub const fn at(ipa: u64) -> Self {
        MagicPages { ipa, pages: spin::Mutex::new([None; domain::MAX_DOMAINS]) }
    }

    /// `dom`'s page, zeroed, mapped read-write at the IPA (replacing what was there).
    pub fn map_for(&self, dom: &domain::Domain) -> Result<u64, &'static str> {
        const PAGE: u64 = page_table::PAGE_SIZE;
        let mut pages = self.pages.lock();
        let slot = pages.get_mut(dom.id as usize).ok_or("no such domain slot")?;
        let page = match *slot {
            Some(page) => {
                // SAFETY: the hypervisor's page, kept for this domain id; the domain is being
                // (re)built and runs no vCPU, so nothing else uses it.
                unsafe { core::ptr::write_bytes(page as *mut u8, 0, PAGE as usize) };
                page
            }
            None => {
                let layout = core::alloc::Layout::from_size_align(PAGE as usize, PAGE as usize).map_err(|_| "layout")?;
                // SAFETY: the layout has a non-zero size. The page is never freed.
                let page = unsafe { alloc::alloc::alloc_zeroed(layout) } as u64;
                if page == 0 {
                    return Err("out of memory for a ring page");
                }
                *slot = Some(page);
                page
            }
        };
        let rw = page_table::Attributes { mem: page_table::MemType::Normal, access: page_table::Access::RW };
        let mut stage2 = dom.stage2.lock();
        let tables = &mut crate::arch::mmu::HeapTables;
        stage2.unmap(tables, self.ipa, PAGE).map_err(|_| "cannot map a ring page")?;
        stage2.map(tables, self.ipa, page, PAGE, rw).map_err(|_| "cannot map a ring page")?;
        Ok(page)
    }
}

/// The `/hypervisor` node of a domain's device tree.
pub fn dt_node() -> boot_info::guest_dt::XenNode {
    const GIC_PPI: u32 = 1;
    // CPU mask 0xf, level-sensitive high: the flags Xen gives.
    const PPI_FLAGS: u32 = 0xf08;
    boot_info::guest_dt::XenNode {
        version: (version::MAJOR, version::MINOR),
        grant_table: boot_info::MemRange::new(GRANT_TABLE_BASE, GRANT_TABLE_SIZE),
        event_interrupt: [GIC_PPI, EVENT_PPI - 16, PPI_FLAGS],
    }
}

/// Hypercall numbers (xen.h).
mod nr {
    pub const MEMORY_OP: u64 = 12;
    pub const XEN_VERSION: u64 = 17;
    pub const CONSOLE_IO: u64 = 18;
    pub const GRANT_TABLE_OP: u64 = 20;
    pub const VM_ASSIST: u64 = 21;
    pub const VCPU_OP: u64 = 24;
    pub const SCHED_OP: u64 = 29;
    pub const EVENT_CHANNEL_OP: u64 = 32;
    pub const HVM_OP: u64 = 34;
}

/// Linux errno values Xen returns (negated).
pub mod errno {
    pub const EPERM: i64 = 1;
    pub const ESRCH: i64 = 3;
    pub const EFAULT: i64 = 14;
    pub const EINVAL: i64 = 22;
    pub const ENOSPC: i64 = 28;
    pub const ENOSYS: i64 = 38;
    pub const ENOENT: i64 = 2;
    pub const ENOMEM: i64 = 12;
    pub const EBUSY: i64 = 16;
}

/// A hypercall's result: a value (>= 0) or a negated errno.
pub type HypercallResult = Result<i64, i64>;

impl From<crate::guest::Fault> for i64 {
    fn from(_: crate::guest::Fault) -> i64 {
        errno::EFAULT
    }
}

/// Handles the hypercall in `frame` and puts its result in x0.
pub fn hypercall(frame: &mut TrapFrame) {
    let args = [frame.x[0], frame.x[1], frame.x[2], frame.x[3], frame.x[4]];
    let result = match frame.x[16] {
        nr::XEN_VERSION => version::xen_version(args[0], args[1]),
        nr::MEMORY_OP => memory::memory_op(args[0], args[1]),
        nr::VCPU_OP => vcpu::vcpu_op(args[0], args[1], args[2]),
        nr::CONSOLE_IO => console_io::console_io(args[0], args[1], args[2]),
        nr::VM_ASSIST => vm_assist(args[0], args[1]),
        nr::SCHED_OP => sched_op(args[0], args[1]),
        nr::HVM_OP => hvm_op(args[0], args[1]),
        nr::EVENT_CHANNEL_OP => events::event_channel_op(args[0], args[1]),
        nr::GRANT_TABLE_OP => grants::grant_table_op(args[0], args[1], args[2]),
        _ => Err(errno::ENOSYS),
    };
    frame.x[0] = match result {
        Ok(value) => value as u64,
        Err(error) => (-error) as u64,
    };
}

/// VMASST_CMD_enable/disable of VMASST_TYPE_runstate_update_flag: accepted (the runstate area is
/// never updated, so the flag has nothing to guard).
fn vm_assist(cmd: u64, kind: u64) -> HypercallResult {
    const VMASST_CMD_ENABLE: u64 = 0;
    const VMASST_CMD_DISABLE: u64 = 1;
    const VMASST_TYPE_RUNSTATE_UPDATE_FLAG: u64 = 5;
    match (cmd, kind) {
        (VMASST_CMD_ENABLE | VMASST_CMD_DISABLE, VMASST_TYPE_RUNSTATE_UPDATE_FLAG) => Ok(0),
        _ => Err(errno::EINVAL),
    }
}

/// SCHEDOP_*: yield and block return at once (each vCPU has its physical CPU to itself; an
/// event wakes a blocked vCPU through its interrupt), shutdown stops the domain.
fn sched_op(cmd: u64, arg: u64) -> HypercallResult {
    const SCHEDOP_YIELD: u64 = 0;
    const SCHEDOP_BLOCK: u64 = 1;
    const SCHEDOP_SHUTDOWN: u64 = 2;
    const SHUTDOWN_POWEROFF: u32 = 0;
    const SHUTDOWN_REBOOT: u32 = 1;
    const SHUTDOWN_CRASH: u32 = 3;
    match cmd {
        SCHEDOP_YIELD | SCHEDOP_BLOCK => Ok(0),
        SCHEDOP_SHUTDOWN => {
            let reason = crate::guest::Args::<4>::read(arg)?.u32(0);
            let dom = domain::current();
            // dom0's end is the board's; a domU stops alone (the monitor's restart brings it back).
            match (dom.id, reason) {
                (0, SHUTDOWN_POWEROFF) => crate::system_off(&alloc::format!("{} shut down (poweroff)", dom.name)),
                (0, SHUTDOWN_REBOOT) => crate::system_reset(&alloc::format!("{} shut down (reboot)", dom.name)),
                (_, SHUTDOWN_POWEROFF) => crate::stop_domain(dom, "powered off"),
                (_, SHUTDOWN_REBOOT) => crate::stop_domain(dom, "rebooted (`restart` in the monitor starts it again)"),
                (_, SHUTDOWN_CRASH) => crate::stop_domain(dom, "crashed"),
                _ => crate::stop_domain(dom, "shut down"),
            }
        }
        _ => Err(errno::ENOSYS),
    }
}

/// HVMOP_get_param for the parameters Linux reads; HVMOP_set_param is refused.
fn hvm_op(cmd: u64, arg: u64) -> HypercallResult {
    const HVMOP_GET_PARAM: u64 = 1;
    const DOMID_SELF: u16 = 0x7ff0;
    if cmd != HVMOP_GET_PARAM {
        return Err(errno::ENOSYS);
    }
    // struct xen_hvm_param { domid_t domid; uint32_t index; uint64_t value; }
    let mut param = crate::guest::Args::<16>::read(arg)?;
    let dom = domain::current();
    if param.u16(0) != DOMID_SELF && param.u16(0) != dom.id {
        return Err(errno::EPERM);
    }
    let value = dom.xen.hvm_param(param.u32(4)).ok_or(errno::EINVAL)?;
    param.set_u64(8, value);
    param.write(arg)?;
    Ok(0)
}

