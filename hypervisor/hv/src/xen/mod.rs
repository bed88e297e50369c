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
use crate::guest::{self, CurrentVcpu};
use crate::println;
use core::sync::atomic::{AtomicU32, Ordering};
use xen_hypercall::{abi, layout, Errno, HvmOp, Hypercall, SchedOp, ShutdownReason, VmAssist};

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

/// A hypercall's result: a value (>= 0) or the error Xen would answer.
pub type HypercallResult = Result<i64, Errno>;

/// The error numbered `code` (positive) as the hypercall returns it; the crates' own error
/// enums (xen-evtchn, xen-gnttab) use Xen's numbers, which all have a name here.
pub fn errno(code: i32) -> Errno {
    Errno::from_code(i64::from(code)).unwrap_or(Errno::EINVAL)
}

/// Handles the hypercall in `frame` and puts its result in x0. The arguments are decoded by
/// xen-hypercall (the decoding its property tests and fuzz target exercise), reading the
/// argument structure, if any, from the calling vCPU's memory; each family's handler gets
/// the typed call.
pub fn hypercall(frame: &mut TrapFrame) {
    let nr = frame.x[16];
    let args = [frame.x[0], frame.x[1], frame.x[2], frame.x[3], frame.x[4]];
    let mem = CurrentVcpu;
    let ret = match xen_hypercall::decode(nr, args, &mem) {
        Ok(call) => match dispatch(call, &mem) {
            Ok(value) => value,
            Err(error) => error.to_ret(),
        },
        Err(error) => {
            report_decode_failure(nr, &args, error);
            xen_hypercall::error_return(nr, &args, error)
        }
    };
    frame.x[0] = ret as u64;
}

fn dispatch(call: Hypercall, mem: &CurrentVcpu) -> HypercallResult {
    match call {
        Hypercall::XenVersion(op) => version::xen_version(op),
        Hypercall::MemoryOp(op) => memory::memory_op(op, mem),
        Hypercall::VcpuOp { vcpu, op } => vcpu::vcpu_op(vcpu, op),
        Hypercall::ConsoleIo(op) => console_io::console_io(op, mem),
        Hypercall::VmAssist(op) => vm_assist(op),
        Hypercall::SchedOp(op) => sched_op(op, mem),
        Hypercall::HvmOp(op) => hvm_op(op),
        Hypercall::EventChannelOp(op) => events::event_channel_op(op, mem),
        Hypercall::GrantTableOp(op) => grants::grant_table_op(op, mem),
        Hypercall::PhysdevOp { .. } | Hypercall::PlatformOp { .. } | Hypercall::Multicall { .. } | Hypercall::Unknown { .. } => {
            Err(Errno::ENOSYS)
        }
    }
}

/// Hypercalls refused while decoding logged before going quiet: a guest looping on bad
/// arguments must not flood the console.
const DECODE_FAILURES_LOGGED: u32 = 32;
static DECODE_FAILURES: AtomicU32 = AtomicU32::new(0);

fn report_decode_failure(nr: u64, args: &[u64; 5], error: Errno) {
    let dom = domain::current();
    match DECODE_FAILURES.fetch_add(1, Ordering::Relaxed) {
        n if n < DECODE_FAILURES_LOGGED => {
            println!("{}: hypercall {nr} (x0 {:#x}, x1 {:#x}, x2 {:#x}) refused: {error}", dom.name, args[0], args[1], args[2])
        }
        DECODE_FAILURES_LOGGED => println!(
            "{}: hypercall {nr} (x0 {:#x}, x1 {:#x}, x2 {:#x}) refused: {error}; further refused hypercalls are not logged",
            dom.name, args[0], args[1], args[2]
        ),
        _ => {}
    }
}

/// VMASST_CMD_enable/disable of VMASST_TYPE_runstate_update_flag (the one type Xen has on Arm;
/// xen-hypercall refuses the others as Xen does): accepted, the runstate area is never updated
/// so the flag has nothing to guard.
fn vm_assist(_: VmAssist) -> HypercallResult {
    Ok(0)
}

/// SCHEDOP_*: yield and block return at once (each vCPU has its physical CPU to itself; an
/// event wakes a blocked vCPU through its interrupt), poll too once its ports are checked
/// (see events::poll), shutdown stops the domain.
fn sched_op(op: SchedOp, mem: &CurrentVcpu) -> HypercallResult {
    match op {
        SchedOp::Yield | SchedOp::Block => Ok(0),
        SchedOp::Poll(poll) => events::poll(domain::current().id, &poll, mem),
        SchedOp::Shutdown { reason } => {
            let dom = domain::current();
            // dom0's end is the board's; a domU stops alone (the monitor's restart brings it back).
            match (dom.id, reason) {
                (0, ShutdownReason::Poweroff) => crate::system_off(&alloc::format!("{} shut down (poweroff)", dom.name)),
                (0, ShutdownReason::Reboot) => crate::system_reset(&alloc::format!("{} shut down (reboot)", dom.name)),
                (_, ShutdownReason::Poweroff) => crate::stop_domain(dom, "powered off"),
                (_, ShutdownReason::Reboot) => crate::stop_domain(dom, "rebooted (`restart` in the monitor starts it again)"),
                (_, ShutdownReason::Crash) => crate::stop_domain(dom, "crashed"),
                _ => crate::stop_domain(dom, "shut down"),
            }
        }
        SchedOp::ShutdownCode { .. } | SchedOp::Unknown { .. } => Err(Errno::ENOSYS),
    }
}

/// HVMOP_get_param as Xen on Arm answers a domain about itself: the parameters a guest may
/// read (the callback IRQ, the xenstore and console rings, the ioreq-server ones) give their
/// value, 0 when unset; the monitor ring is for the toolstack (-EPERM); any other index
/// -EINVAL. HVMOP_set_param: the toolstack's parameters are not the domain's to set (-EPERM)
/// and there are no ioreq servers here (-EINVAL for the rest). Only the calling domain.
fn hvm_op(op: HvmOp) -> HypercallResult {
    const HVM_PARAM_MONITOR_RING_PFN: u32 = 28;
    const HVM_PARAM_IOREQ_SERVER_PFN: u32 = 32;
    const HVM_PARAM_NR_IOREQ_SERVER_PAGES: u32 = 33;
    let (param, get) = match op {
        HvmOp::GetParam(param) => (param, true),
        HvmOp::SetParam(param) => (param, false),
        HvmOp::Unknown { .. } => return Err(Errno::ENOSYS),
    };
    let dom = domain::current();
    if !param.domid.is(dom.id) {
        return Err(if domain::get(param.domid.resolve(dom.id)).is_some() { Errno::EPERM } else { Errno::ESRCH });
    }
    let readable = matches!(
        param.index,
        abi::HVM_PARAM_CALLBACK_IRQ
            | abi::HVM_PARAM_STORE_PFN
            | abi::HVM_PARAM_STORE_EVTCHN
            | abi::HVM_PARAM_CONSOLE_PFN
            | abi::HVM_PARAM_CONSOLE_EVTCHN
            | HVM_PARAM_IOREQ_SERVER_PFN
            | HVM_PARAM_NR_IOREQ_SERVER_PAGES
    );
    if !get {
        return Err(if readable || param.index == HVM_PARAM_MONITOR_RING_PFN { Errno::EPERM } else { Errno::EINVAL });
    }
    if param.index == HVM_PARAM_MONITOR_RING_PFN {
        return Err(Errno::EPERM);
    }
    if !readable {
        return Err(Errno::EINVAL);
    }
    let value = dom.xen.hvm_param(param.index).unwrap_or(0);
    let out = param.arg.offset(layout::XEN_HVM_PARAM_VALUE as u64)?;
    guest::write_va(out.0, &value.to_le_bytes())?;
    Ok(0)
}
