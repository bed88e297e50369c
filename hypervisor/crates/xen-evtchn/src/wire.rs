//! The `EVTCHNOP_*` argument structures as bytes (little-endian, arm64 layout of
//! `include/xen/interface/event_channel.h`; offsets checked by `tools/check-abi.sh`).
//!
//! `HYPERVISOR_event_channel_op(cmd, arg)`: x0 = `cmd`, x1 = guest address of the structure.
//! The hypervisor copies [`arg_size`]`(cmd)` bytes from the guest, runs
//! [`crate::EventChannels::hypercall`] on them, and copies them back on success.

use crate::{
    ChannelStatus, DomId, Errno, Port, PortStatus, DOMID_XEN, EVTCHNOP_ALLOC_UNBOUND,
    EVTCHNOP_BIND_INTERDOMAIN, EVTCHNOP_BIND_IPI, EVTCHNOP_BIND_VCPU, EVTCHNOP_BIND_VIRQ,
    EVTCHNOP_CLOSE, EVTCHNOP_RESET, EVTCHNOP_SEND, EVTCHNOP_STATUS, EVTCHNOP_UNMASK,
};

/// `sizeof(struct evtchn_alloc_unbound)`: `dom` @0, `remote_dom` @2, `port` @4.
pub const ALLOC_UNBOUND_SIZE: usize = 8;
/// Offset of the output `port` in `struct evtchn_alloc_unbound`.
pub const ALLOC_UNBOUND_PORT: usize = 4;
/// `sizeof(struct evtchn_bind_interdomain)`: `remote_dom` @0, `remote_port` @4,
/// `local_port` @8.
pub const BIND_INTERDOMAIN_SIZE: usize = 12;
/// Offset of the output `local_port`.
pub const BIND_INTERDOMAIN_LOCAL_PORT: usize = 8;
/// `sizeof(struct evtchn_bind_virq)`: `virq` @0, `vcpu` @4, `port` @8.
pub const BIND_VIRQ_SIZE: usize = 12;
/// Offset of the output `port`.
pub const BIND_VIRQ_PORT: usize = 8;
/// `sizeof(struct evtchn_bind_ipi)`: `vcpu` @0, `port` @4.
pub const BIND_IPI_SIZE: usize = 8;
/// Offset of the output `port`.
pub const BIND_IPI_PORT: usize = 4;
/// `sizeof(struct evtchn_close)`, `evtchn_send`, `evtchn_unmask`: `port` @0.
pub const PORT_ONLY_SIZE: usize = 4;
/// `sizeof(struct evtchn_status)`: `dom` @0, `port` @4, `status` @8, `vcpu` @12, union `u`
/// @16 (`unbound.dom` u16 @16; `interdomain.dom` u16 @16, `interdomain.port` @20;
/// `virq` @16).
pub const STATUS_SIZE: usize = 24;
/// Offset of `status` in `struct evtchn_status`.
pub const STATUS_STATUS: usize = 8;
/// Offset of `vcpu`.
pub const STATUS_VCPU: usize = 12;
/// Offset of the union `u`.
pub const STATUS_U: usize = 16;
/// Offset of `u.interdomain.port`.
pub const STATUS_U_PORT: usize = 20;
/// `sizeof(struct evtchn_bind_vcpu)`: `port` @0, `vcpu` @4.
pub const BIND_VCPU_SIZE: usize = 8;
/// `sizeof(struct evtchn_reset)`: `dom` @0.
pub const RESET_SIZE: usize = 2;

/// One decoded operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `EVTCHNOP_alloc_unbound`.
    AllocUnbound {
        /// `dom`.
        dom: DomId,
        /// `remote_dom`.
        remote_dom: DomId,
    },
    /// `EVTCHNOP_bind_interdomain`.
    BindInterdomain {
        /// `remote_dom`.
        remote_dom: DomId,
        /// `remote_port`.
        remote_port: Port,
    },
    /// `EVTCHNOP_bind_virq`.
    BindVirq {
        /// `virq`.
        virq: u32,
        /// `vcpu`.
        vcpu: u32,
    },
    /// `EVTCHNOP_bind_ipi`.
    BindIpi {
        /// `vcpu`.
        vcpu: u32,
    },
    /// `EVTCHNOP_close`.
    Close {
        /// `port`.
        port: Port,
    },
    /// `EVTCHNOP_send`.
    Send {
        /// `port`.
        port: Port,
    },
    /// `EVTCHNOP_status`.
    Status {
        /// `dom`.
        dom: DomId,
        /// `port`.
        port: Port,
    },
    /// `EVTCHNOP_bind_vcpu`.
    BindVcpu {
        /// `port`.
        port: Port,
        /// `vcpu`.
        vcpu: u32,
    },
    /// `EVTCHNOP_unmask`.
    Unmask {
        /// `port`.
        port: Port,
    },
    /// `EVTCHNOP_reset`.
    Reset {
        /// `dom`.
        dom: DomId,
    },
}

/// Bytes to copy from the guest for `cmd`; `None` for commands answered `-ENOSYS` without
/// reading memory (FIFO ABI `EVTCHNOP_init_control`/`expand_array`/`set_priority`,
/// `EVTCHNOP_bind_pirq`, unknown numbers).
pub const fn arg_size(cmd: u32) -> Option<usize> {
    Some(match cmd {
        EVTCHNOP_ALLOC_UNBOUND => ALLOC_UNBOUND_SIZE,
        EVTCHNOP_BIND_INTERDOMAIN => BIND_INTERDOMAIN_SIZE,
        EVTCHNOP_BIND_VIRQ => BIND_VIRQ_SIZE,
        EVTCHNOP_BIND_IPI => BIND_IPI_SIZE,
        EVTCHNOP_CLOSE | EVTCHNOP_SEND | EVTCHNOP_UNMASK => PORT_ONLY_SIZE,
        EVTCHNOP_STATUS => STATUS_SIZE,
        EVTCHNOP_BIND_VCPU => BIND_VCPU_SIZE,
        EVTCHNOP_RESET => RESET_SIZE,
        _ => return None,
    })
}

/// Decodes the argument of `cmd`. `-ENOSYS` for commands [`arg_size`] does not know,
/// `-EFAULT` if `arg` is shorter than the structure (extra bytes are ignored).
pub fn decode(cmd: u32, arg: &[u8]) -> Result<Op, Errno> {
    let size = arg_size(cmd).ok_or(Errno::NoSys)?;
    if arg.len() < size {
        return Err(Errno::Fault);
    }
    let u16_at = |o| get_u16(arg, o).ok_or(Errno::Fault);
    let u32_at = |o| get_u32(arg, o).ok_or(Errno::Fault);
    Ok(match cmd {
        EVTCHNOP_ALLOC_UNBOUND => Op::AllocUnbound {
            dom: u16_at(0)?,
            remote_dom: u16_at(2)?,
        },
        EVTCHNOP_BIND_INTERDOMAIN => Op::BindInterdomain {
            remote_dom: u16_at(0)?,
            remote_port: u32_at(4)?,
        },
        EVTCHNOP_BIND_VIRQ => Op::BindVirq {
            virq: u32_at(0)?,
            vcpu: u32_at(4)?,
        },
        EVTCHNOP_BIND_IPI => Op::BindIpi { vcpu: u32_at(0)? },
        EVTCHNOP_CLOSE => Op::Close { port: u32_at(0)? },
        EVTCHNOP_SEND => Op::Send { port: u32_at(0)? },
        EVTCHNOP_UNMASK => Op::Unmask { port: u32_at(0)? },
        EVTCHNOP_STATUS => Op::Status {
            dom: u16_at(0)?,
            port: u32_at(4)?,
        },
        EVTCHNOP_BIND_VCPU => Op::BindVcpu {
            port: u32_at(0)?,
            vcpu: u32_at(4)?,
        },
        EVTCHNOP_RESET => Op::Reset { dom: u16_at(0)? },
        _ => return Err(Errno::NoSys),
    })
}

/// Writes the outputs of `EVTCHNOP_status` into its structure: `status`, `vcpu`, and the
/// union (zeroed first, then the member of that status).
pub fn encode_status(arg: &mut [u8], s: &PortStatus) {
    put_u32(arg, STATUS_STATUS, s.status.code());
    put_u32(arg, STATUS_VCPU, s.vcpu);
    put_u32(arg, STATUS_U, 0);
    put_u32(arg, STATUS_U_PORT, 0);
    match s.status {
        ChannelStatus::Closed | ChannelStatus::Ipi => {}
        ChannelStatus::Unbound { remote_dom } => put_u16(arg, STATUS_U, remote_dom),
        ChannelStatus::Interdomain {
            remote_dom,
            remote_port,
        } => {
            put_u16(arg, STATUS_U, remote_dom);
            put_u32(arg, STATUS_U_PORT, remote_port);
        }
        ChannelStatus::Virq { virq } => put_u32(arg, STATUS_U, virq),
        ChannelStatus::Hypervisor { .. } => put_u16(arg, STATUS_U, DOMID_XEN),
    }
}

/// Bounds-checked little-endian fields, shared with the other Xen ABI crates.
pub use xen_wire::{get_u16, get_u32, put_u16, put_u32};
