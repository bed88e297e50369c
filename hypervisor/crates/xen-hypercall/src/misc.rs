//! `hvm_op`, `console_io` and `vm_assist`.

use crate::abi::*;
use crate::guest::{read_struct, Fields, GuestBuffer, GuestMemory, GuestVa};
use crate::ids::DomainId;
use crate::layout::*;
use crate::Errno;

/// An `hvm_op` sub-operation (`HYPERVISOR_hvm_op(int op, void *arg)`: x0 = `op`, x1 =
/// `arg`; Xen reads `op` as `unsigned long`). Xen answers an unknown `op` with `-ENOSYS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HvmOp {
    /// `HVMOP_set_param`.
    SetParam(HvmParam),
    /// `HVMOP_get_param`: the value goes back in `value` ([`XEN_HVM_PARAM_VALUE`]).
    GetParam(HvmParam),
    /// Any other `op`.
    Unknown {
        /// The operation.
        op: u64,
        /// The argument, unread.
        arg: GuestVa,
    },
}

/// `struct xen_hvm_param`, checked: `index < HVM_NR_PARAMS` (`-EINVAL`), a domain id
/// (`-ESRCH`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HvmParam {
    /// `domid`.
    pub domid: DomainId,
    /// `index` (`HVM_PARAM_*`).
    pub index: u32,
    /// `value` (the input of `set_param`; whatever the guest left there for `get_param`).
    pub value: u64,
    /// Where the structure is, to write `value` back.
    pub arg: GuestVa,
}

pub(crate) fn hvm_op(op: u64, arg: GuestVa, mem: &impl GuestMemory) -> Result<HvmOp, Errno> {
    if op != HVMOP_SET_PARAM && op != HVMOP_GET_PARAM {
        return Ok(HvmOp::Unknown { op, arg });
    }
    let b = read_struct::<XEN_HVM_PARAM_SIZE>(mem, arg)?;
    let f = Fields(&b);
    let index = f.u32(XEN_HVM_PARAM_INDEX)?;
    if index >= HVM_NR_PARAMS {
        return Err(Errno::EINVAL);
    }
    let param = HvmParam {
        domid: DomainId::decode(f.u16(XEN_HVM_PARAM_DOMID)?)?,
        index,
        value: f.u64(XEN_HVM_PARAM_VALUE)?,
        arg,
    };
    Ok(if op == HVMOP_SET_PARAM {
        HvmOp::SetParam(param)
    } else {
        HvmOp::GetParam(param)
    })
}

/// Bytes one `console_io` call moves at most: a write of more is `-E2BIG`, a read of more
/// reads at most this (a short read is a normal answer). Linux's `hvc_xen` writes at most
/// 256 bytes at a time.
pub const CONSOLE_IO_MAX: u32 = 4096;

/// A `console_io` sub-operation (`HYPERVISOR_console_io(int cmd, int count, char *str)`:
/// x0 = `cmd`, x1 = `count`, x2 = `str`). Xen answers an unknown `cmd` with `-ENOSYS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleIo {
    /// `CONSOLEIO_write`: `count` bytes to print (at most [`CONSOLE_IO_MAX`]). Xen returns 0.
    Write(GuestBuffer),
    /// `CONSOLEIO_read`: room for up to `count` bytes (clamped to [`CONSOLE_IO_MAX`]; Xen:
    /// `-E2BIG` above `INT_MAX`). Returns the number of bytes read.
    Read(GuestBuffer),
    /// Any other `cmd`.
    Unknown {
        /// The command.
        cmd: u32,
    },
}

pub(crate) fn console_io(cmd: u32, count: u32, buf: GuestVa) -> Result<ConsoleIo, Errno> {
    Ok(match cmd {
        CONSOLEIO_WRITE => {
            if count > CONSOLE_IO_MAX {
                return Err(Errno::E2BIG);
            }
            ConsoleIo::Write(GuestBuffer::new(buf, count)?)
        }
        CONSOLEIO_READ => {
            if count > i32::MAX as u32 {
                return Err(Errno::E2BIG);
            }
            ConsoleIo::Read(GuestBuffer::new(buf, count.min(CONSOLE_IO_MAX))?)
        }
        _ => ConsoleIo::Unknown { cmd },
    })
}

/// `HYPERVISOR_vm_assist(unsigned int cmd, unsigned int type)`: x0 = `cmd`, x1 = `type`.
/// Checked as Xen on Arm does: the one type Arm has, `VMASST_TYPE_runstate_update_flag`
/// (`-EINVAL` for the others), then `VMASST_CMD_enable` or `disable` (`-ENOSYS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmAssist {
    /// `VMASST_CMD_enable` rather than `disable`.
    pub enable: bool,
    /// `type`.
    pub vmasst_type: VmAssistType,
}

/// The `VMASST_TYPE_*` Xen offers on Arm (`VM_ASSIST_VALID`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VmAssistType {
    /// `VMASST_TYPE_runstate_update_flag`: set `XEN_RUNSTATE_UPDATE` in
    /// `state_entry_time` while the runstate area is being written.
    RunstateUpdateFlag,
}

pub(crate) fn vm_assist(cmd: u32, vmasst_type: u32) -> Result<VmAssist, Errno> {
    if vmasst_type != VMASST_TYPE_RUNSTATE_UPDATE_FLAG {
        return Err(Errno::EINVAL);
    }
    let enable = match cmd {
        VMASST_CMD_ENABLE => true,
        VMASST_CMD_DISABLE => false,
        _ => return Err(Errno::ENOSYS),
    };
    Ok(VmAssist {
        enable,
        vmasst_type: VmAssistType::RunstateUpdateFlag,
    })
}
