//! Decoding of Xen hypercall arguments as a Xen ARM guest (unmodified Linux with
//! `CONFIG_XEN`, arm64) passes them: registers in, a typed, range-checked [`Hypercall`]
//! out, or the [`Errno`] Xen would answer.
//!
//! The decoder reads guest memory only through [`GuestMemory`], at most one argument
//! structure per call ([`layout::MAX_DECODE_READ`] = 32 bytes, one read), never allocates
//! and never panics. Arrays the guest passes (extent lists, batches of grant operations,
//! poll ports, console strings) are not read by [`decode`]: it checks their size and range
//! and returns a [`GuestArray`] or [`GuestBuffer`], whose accessors read one bounds-checked
//! element (at most [`MAX_ELEMENT_SIZE`] bytes) at a time. What to *do* (which calls and
//! sub-operations are supported, permissions, the answers) is the hypervisor's business.
//!
//! # Calling convention (Xen's `public/arch-arm.h`)
//!
//! | what | where |
//! |---|---|
//! | instruction | `hvc #0xEA1` ([`abi::XEN_HYPERCALL_TAG`] in the ISS; ESR_EL2.EC = 0x16) |
//! | hypercall number | x16 |
//! | arguments | x0, x1, x2, x3, x4 |
//! | result | x0: a value >= 0, or `-errno` ([`Errno::to_reg`]) |
//! | clobbered | x16 and the argument registers the call uses (x0 holds the result) |
//!
//! - An argument Xen declares `int` or `unsigned int` is its register's low 32 bits: AAPCS64
//!   leaves the upper half of a 32-bit argument unspecified, and Xen's C prototypes ignore
//!   it. The decoder does the same. `memory_op`'s `cmd` and `hvm_op`'s `op` are
//!   `unsigned long`: all 64 bits count.
//! - Pointers, in registers and in structures (guest handles), are guest **virtual**
//!   addresses: Linux passes kernel pointers; the hypervisor translates them through the
//!   guest's stage 1 and its stage 2.
//! - Structures are little endian with the AAPCS64 layout; `xen_ulong_t`, `xen_pfn_t` and
//!   guest handles are 8 bytes, 8-aligned, also for 32-bit guests. `domid_t` is 16 bits.
//!
//! # Hypercalls
//!
//! | x16 | hypercall | x0 | x1 | x2 | decoded as |
//! |---|---|---|---|---|---|
//! | 7 | `platform_op` | `struct xen_platform_op *` | | | [`Hypercall::PlatformOp`] (not read) |
//! | 12 | `memory_op` | `cmd` (u64: op in bits 0-5, Xen's continuation above) | `arg` | | [`MemoryOp`] |
//! | 13 | `multicall` | `struct multicall_entry *` | `nr_calls` | | [`Hypercall::Multicall`] (not read) |
//! | 17 | `xen_version` | `cmd` | `arg` | | [`XenVersion`] |
//! | 18 | `console_io` | `cmd` | `count` | `char *` | [`ConsoleIo`] |
//! | 20 | `grant_table_op` | `cmd` | `uop` (array) | `count` | [`GrantTableOp`] |
//! | 21 | `vm_assist` | `cmd` | `type` | | [`VmAssist`] |
//! | 24 | `vcpu_op` | `cmd` | `vcpuid` | `arg` | [`Hypercall::VcpuOp`]: vCPU + [`VcpuOp`] |
//! | 29 | `sched_op` | `cmd` | `arg` | | [`SchedOp`] |
//! | 32 | `event_channel_op` | `cmd` | `arg` | | [`EventChannelOp`] |
//! | 33 | `physdev_op` | `cmd` | `arg` | | [`Hypercall::PhysdevOp`] (not read) |
//! | 34 | `hvm_op` | `op` (u64) | `arg` | | [`HvmOp`] |
//! | other | | | | | [`Hypercall::Unknown`] (Xen: `-ENOSYS`) |
//!
//! An unknown sub-operation of a known hypercall decodes to that family's `Unknown` variant
//! (nothing read), which the hypervisor answers as Xen does, mostly `-ENOSYS`.
//!
//! # Argument structures (arm64; [`layout`] has each offset)
//!
//! | structure | size | fields at their byte offsets |
//! |---|---|---|
//! | `xen_add_to_physmap` | 24 | `domid` u16 @0, `size` u16 @2, `space` u32 @4, `idx` u64 @8, `gpfn` u64 @16 |
//! | `xen_add_to_physmap_batch` (Linux: `_range`) | 32 | `domid` u16 @0, `space` u16 @2, `size` u16 @4, `u.foreign_domid` u16 @6, `idxs` handle @8, `gpfns` handle @16, `errs` handle @24 |
//! | `xen_remove_from_physmap` | 16 | `domid` u16 @0, `gpfn` u64 @8 |
//! | `xen_memory_reservation` | 32 | `extent_start` handle @0, `nr_extents` u64 @8, `extent_order` u32 @16, `mem_flags` u32 @20, `domid` u16 @24 |
//! | `domid_t` (`current`/`maximum_reservation`) | 2 | @0 |
//! | `vcpu_register_vcpu_info` | 16 | `mfn` u64 @0, `offset` u32 @8, `rsvd` u32 @12 |
//! | `vcpu_register_runstate_memory_area` | 8 | `addr` (guest virtual) @0 |
//! | `vcpu_set_periodic_timer` | 8 | `period_ns` u64 @0 |
//! | `vcpu_set_singleshot_timer` | 16 | `timeout_abs_ns` u64 @0, `flags` u32 @8 |
//! | `xen_feature_info` | 8 | `submap_idx` u32 @0, `submap` u32 @4 (out) |
//! | `xen_build_id` | 4 + `len` | `len` u32 @0, `buf[]` @4 (out) |
//! | `xen_hvm_param` | 16 | `domid` u16 @0, `index` u32 @4, `value` u64 @8 (in/out) |
//! | `sched_shutdown` | 4 | `reason` u32 @0 |
//! | `sched_poll` | 24 | `ports` handle @0, `nr_ports` u32 @8, `timeout` u64 @16 |
//! | `vcpu_info` (target of `register_vcpu_info`) | 48 | aligned to 8 |
//! | `evtchn_*` | 2-24 | see `xen_evtchn::wire` |
//! | `gnttab_*` | 4-40 | see `xen_gnttab::wire` |
//!
//! # Errors and limits
//!
//! - `-EFAULT`: a structure or element that cannot be read ([`Fault`]), or an array or
//!   buffer whose end would wrap around the address space.
//! - `-ESRCH`: a `domid_t` that is neither `DOMID_SELF` nor an ordinary id ([`DomainId`]).
//! - `-EINVAL`, `-ENXIO`, `-ENOSYS`, `-EOPNOTSUPP`, `-E2BIG`: per structure, as Xen 4.20
//!   answers the same malformed input; each type's documentation says which.
//! - Limits of this hypervisor, not Xen's: at most [`MAX_EXTENTS`] (512) extents of order
//!   0 per reservation call, no `memory_op` continuations (the command's bits above 5 must
//!   be 0), a `console_io` write of at most [`CONSOLE_IO_MAX`] bytes. Xen's own: 128 poll
//!   ports, `HVM_NR_PARAMS`, `count <= INT_MAX` for grant operations, 65535 elements per
//!   `add_to_physmap_batch` (its `size` is 16 bits).
//! - Xen answers the failure of `increase_reservation`, `decrease_reservation` and
//!   `populate_physmap` with the number of extents done, not an error: [`error_return`]
//!   gives the x0 value Xen would for a failed decode.
//!
//! # Use
//!
//! The hypervisor implements [`GuestMemory`] over its guest-virtual reads, then:
//!
//! ```text
//! let args = [x[0], x[1], x[2], x[3], x[4]];
//! x[0] = match xen_hypercall::decode(x[16], args, &GuestVaReader) {
//!     Ok(call) => handle(call),        // -> i64: value or -errno
//!     Err(e) => xen_hypercall::error_return(x[16], &args, e),
//! } as u64;
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod abi;
mod errno;
mod guest;
mod ids;
pub mod layout;
mod memory_op;
mod misc;
mod sched;
mod tables;
mod vcpu;
mod version;

pub use errno::{Errno, Fault};
pub use guest::{read_element, GuestArray, GuestBuffer, GuestMemory, GuestVa, MAX_ELEMENT_SIZE};
pub use ids::{DomainId, Gfn};
pub use memory_op::{
    AddToPhysmap, AddToPhysmapBatch, GrantFrame, MapSpace, MemoryOp, Reservation, MAX_EXTENTS,
};
pub use misc::{ConsoleIo, HvmOp, HvmParam, VmAssist, VmAssistType, CONSOLE_IO_MAX};
pub use sched::{Poll, SchedOp, ShutdownReason};
pub use tables::{EventChannelOp, GrantTableOp};
pub use vcpu::{VcpuInfoArea, VcpuOp};
pub use version::XenVersion;

use abi::*;

/// One decoded hypercall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hypercall {
    /// `xen_version` (17).
    XenVersion(XenVersion),
    /// `memory_op` (12).
    MemoryOp(MemoryOp),
    /// `vcpu_op` (24).
    VcpuOp {
        /// `vcpuid`: which vCPU of the calling domain (Xen: `-ENOENT` if none).
        vcpu: u32,
        /// The operation.
        op: VcpuOp,
    },
    /// `event_channel_op` (32).
    EventChannelOp(EventChannelOp),
    /// `grant_table_op` (20).
    GrantTableOp(GrantTableOp),
    /// `hvm_op` (34).
    HvmOp(HvmOp),
    /// `sched_op` (29).
    SchedOp(SchedOp),
    /// `console_io` (18).
    ConsoleIo(ConsoleIo),
    /// `vm_assist` (21).
    VmAssist(VmAssist),
    /// `physdev_op` (33): PCI and PIRQ management, classified and not read (Xen on Arm
    /// without PCI: `-ENOSYS`).
    PhysdevOp {
        /// `cmd` (`PHYSDEVOP_*`).
        cmd: u32,
        /// The argument, unread.
        arg: GuestVa,
    },
    /// `platform_op` (7): dom0's `XENPF_*` (Linux on Arm sends `XENPF_settime64` and
    /// ignores the answer), classified and not read.
    PlatformOp {
        /// `struct xen_platform_op *`.
        arg: GuestVa,
    },
    /// `multicall` (13), classified and not read.
    Multicall {
        /// `struct multicall_entry *` (64 bytes each).
        calls: GuestVa,
        /// `nr_calls`.
        nr_calls: u32,
    },
    /// Any other hypercall number: Xen answers `-ENOSYS`.
    Unknown {
        /// x16.
        nr: u64,
    },
}

/// Decodes hypercall `nr` (x16) with arguments `args` (x0-x4) of the calling vCPU, reading
/// its argument structure, if any, through `mem`.
///
/// At most one read of at most [`layout::MAX_DECODE_READ`] bytes; a read that faults is
/// `-EFAULT`. See the crate documentation for the other errors.
pub fn decode(nr: u64, args: [u64; 5], mem: &impl GuestMemory) -> Result<Hypercall, Errno> {
    let [a0, a1, a2, _, _] = args;
    // `int` and `unsigned int` arguments: the low 32 bits, as Xen's prototypes take them.
    let int = |reg: u64| reg as u32;
    Ok(match nr {
        HYPERVISOR_XEN_VERSION => {
            Hypercall::XenVersion(version::decode(int(a0), GuestVa(a1), mem)?)
        }
        HYPERVISOR_MEMORY_OP => Hypercall::MemoryOp(memory_op::decode(a0, GuestVa(a1), mem)?),
        HYPERVISOR_VCPU_OP => Hypercall::VcpuOp {
            vcpu: int(a1),
            op: vcpu::decode(int(a0), GuestVa(a2), mem)?,
        },
        HYPERVISOR_EVENT_CHANNEL_OP => {
            Hypercall::EventChannelOp(tables::event_channel_op(int(a0), GuestVa(a1))?)
        }
        HYPERVISOR_GRANT_TABLE_OP => {
            Hypercall::GrantTableOp(tables::grant_table_op(int(a0), GuestVa(a1), int(a2))?)
        }
        HYPERVISOR_HVM_OP => Hypercall::HvmOp(misc::hvm_op(a0, GuestVa(a1), mem)?),
        HYPERVISOR_SCHED_OP => Hypercall::SchedOp(sched::decode(int(a0), GuestVa(a1), mem)?),
        HYPERVISOR_CONSOLE_IO => {
            Hypercall::ConsoleIo(misc::console_io(int(a0), int(a1), GuestVa(a2))?)
        }
        HYPERVISOR_VM_ASSIST => Hypercall::VmAssist(misc::vm_assist(int(a0), int(a1))?),
        HYPERVISOR_PHYSDEV_OP => Hypercall::PhysdevOp {
            cmd: int(a0),
            arg: GuestVa(a1),
        },
        HYPERVISOR_PLATFORM_OP => Hypercall::PlatformOp { arg: GuestVa(a0) },
        HYPERVISOR_MULTICALL => Hypercall::Multicall {
            calls: GuestVa(a0),
            nr_calls: int(a1),
        },
        _ => Hypercall::Unknown { nr },
    })
}

/// What Xen leaves in x0 (as a signed value) when hypercall `nr` with `args` fails with
/// `err` before doing anything: `-errno`, except for `XENMEM_increase_reservation`,
/// `decrease_reservation` and `populate_physmap`, which always return the number of extents
/// done, here the continuation's start (`cmd >> 6`, 0 for a first call).
pub fn error_return(nr: u64, args: &[u64; 5], err: Errno) -> i64 {
    let cmd = args[0];
    let reservation = matches!(
        (cmd & MEMOP_CMD_MASK) as u32,
        XENMEM_INCREASE_RESERVATION | XENMEM_DECREASE_RESERVATION | XENMEM_POPULATE_PHYSMAP
    );
    if nr == HYPERVISOR_MEMORY_OP && reservation {
        // At most 2^58: fits.
        (cmd >> MEMOP_EXTENT_SHIFT) as i64
    } else {
        err.to_ret()
    }
}
