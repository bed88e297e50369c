//! `HYPERVISOR_vcpu_op(int cmd, int vcpuid, void *extra_args)`: x0 = `cmd`, x1 = `vcpuid`,
//! x2 = `extra_args`.

use crate::abi::*;
use crate::guest::{read_struct, Fields, GuestMemory, GuestVa};
use crate::ids::Gfn;
use crate::layout::*;
use crate::Errno;

/// A `vcpu_op` sub-operation, for the vCPU named beside it in
/// [`Hypercall::VcpuOp`](crate::Hypercall::VcpuOp) (whether it exists is the hypervisor's
/// check: Xen answers `-ENOENT`, before anything else).
///
/// Xen 4.20 on Arm serves only `register_vcpu_info` and `register_runstate_memory_area`
/// (and the `*_phys_area` ones Linux does not use); every other sub-operation gets
/// `-EINVAL` there. The others are decoded because Linux knows them (x86 uses them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VcpuOp {
    /// `VCPUOP_register_vcpu_info`: where the vCPU's `struct vcpu_info` lives.
    RegisterVcpuInfo(VcpuInfoArea),
    /// `VCPUOP_register_runstate_memory_area`: the guest virtual address of the vCPU's
    /// `struct vcpu_runstate_info` (48 bytes), kept up to date by the hypervisor.
    RegisterRunstateMemoryArea {
        /// `addr` (a kernel virtual address; 0 unregisters).
        addr: GuestVa,
    },
    /// `VCPUOP_is_up`: returns 1 if the vCPU runs, else 0.
    IsUp,
    /// `VCPUOP_up`.
    Up,
    /// `VCPUOP_down`.
    Down,
    /// `VCPUOP_set_periodic_timer`.
    SetPeriodicTimer {
        /// `period_ns`.
        period_ns: u64,
    },
    /// `VCPUOP_stop_periodic_timer`.
    StopPeriodicTimer,
    /// `VCPUOP_set_singleshot_timer`.
    SetSingleshotTimer {
        /// `timeout_abs_ns`: system time of the deadline.
        timeout_abs_ns: u64,
        /// `flags` ([`VCPU_SSHOTTMR_FUTURE`]).
        flags: u32,
    },
    /// `VCPUOP_stop_singleshot_timer`.
    StopSingleshotTimer,
    /// Any other `cmd` (`VCPUOP_initialise`, `send_nmi`, `get_physid`, ...).
    Unknown {
        /// The command.
        cmd: u32,
        /// The argument, unread.
        arg: GuestVa,
    },
}

/// `struct vcpu_register_vcpu_info`, checked as Xen 4.20 does: `offset` within the page
/// (`-EINVAL` otherwise, as is a frame whose address overflows), and the 48-byte
/// `vcpu_info` aligned to 8 and inside the page (`-ENXIO` otherwise, `map_guest_area()`).
/// `rsvd` is ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VcpuInfoArea {
    /// `mfn`: the guest frame.
    pub gfn: Gfn,
    /// `offset` in it (a multiple of 8, at most 4096 - 48).
    pub offset: u16,
}

impl VcpuInfoArea {
    /// The guest physical address of the `vcpu_info`.
    pub const fn addr(&self) -> u64 {
        // Cannot overflow: the frame's address fits and offset < 4096.
        self.gfn.addr() | self.offset as u64
    }
}

pub(crate) fn decode(cmd: u32, arg: GuestVa, mem: &impl GuestMemory) -> Result<VcpuOp, Errno> {
    Ok(match cmd {
        VCPUOP_REGISTER_VCPU_INFO => {
            let b = read_struct::<VCPU_REGISTER_VCPU_INFO_SIZE>(mem, arg)?;
            let f = Fields(&b);
            let gfn = Gfn::new(f.u64(VCPU_REGISTER_VCPU_INFO_MFN)?).ok_or(Errno::EINVAL)?;
            let offset = u16::try_from(f.u32(VCPU_REGISTER_VCPU_INFO_OFFSET)?)
                .ok()
                .filter(|&o| u64::from(o) < XEN_PAGE_SIZE)
                .ok_or(Errno::EINVAL)?;
            let end = usize::from(offset) + VCPU_INFO_SIZE;
            if end as u64 > XEN_PAGE_SIZE || usize::from(offset) % VCPU_INFO_ALIGN != 0 {
                return Err(Errno::ENXIO);
            }
            VcpuOp::RegisterVcpuInfo(VcpuInfoArea { gfn, offset })
        }
        VCPUOP_REGISTER_RUNSTATE_MEMORY_AREA => {
            let b = read_struct::<VCPU_REGISTER_RUNSTATE_MEMORY_AREA_SIZE>(mem, arg)?;
            VcpuOp::RegisterRunstateMemoryArea {
                addr: Fields(&b).va(0)?,
            }
        }
        VCPUOP_IS_UP => VcpuOp::IsUp,
        VCPUOP_UP => VcpuOp::Up,
        VCPUOP_DOWN => VcpuOp::Down,
        VCPUOP_SET_PERIODIC_TIMER => {
            let b = read_struct::<VCPU_SET_PERIODIC_TIMER_SIZE>(mem, arg)?;
            VcpuOp::SetPeriodicTimer {
                period_ns: Fields(&b).u64(0)?,
            }
        }
        VCPUOP_STOP_PERIODIC_TIMER => VcpuOp::StopPeriodicTimer,
        VCPUOP_SET_SINGLESHOT_TIMER => {
            let b = read_struct::<VCPU_SET_SINGLESHOT_TIMER_SIZE>(mem, arg)?;
            let f = Fields(&b);
            VcpuOp::SetSingleshotTimer {
                timeout_abs_ns: f.u64(VCPU_SET_SINGLESHOT_TIMER_TIMEOUT_ABS_NS)?,
                flags: f.u32(VCPU_SET_SINGLESHOT_TIMER_FLAGS)?,
            }
        }
        VCPUOP_STOP_SINGLESHOT_TIMER => VcpuOp::StopSingleshotTimer,
        _ => VcpuOp::Unknown { cmd, arg },
    })
}
