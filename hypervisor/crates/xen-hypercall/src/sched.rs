//! `HYPERVISOR_sched_op(int cmd, void *arg)`: x0 = `cmd`, x1 = `arg`.

use crate::abi::*;
use crate::guest::{read_struct, Fields, GuestArray, GuestMemory, GuestVa};
use crate::layout::*;
use crate::Errno;

/// A `sched_op` sub-operation. Xen answers an unknown `cmd` with `-ENOSYS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchedOp {
    /// `SCHEDOP_yield`.
    Yield,
    /// `SCHEDOP_block`: wait for an event (returns at once if one is pending).
    Block,
    /// `SCHEDOP_shutdown`: the calling domain stops, for `reason`.
    Shutdown {
        /// `sched_shutdown.reason`.
        reason: ShutdownReason,
    },
    /// `SCHEDOP_poll`.
    Poll(Poll),
    /// `SCHEDOP_shutdown_code`: records the reason for a later shutdown, without stopping.
    ShutdownCode {
        /// `sched_shutdown.reason`.
        reason: ShutdownReason,
    },
    /// Any other `cmd` (`remote_shutdown`, `watchdog`, `pin_override`, ...).
    Unknown {
        /// The command.
        cmd: u32,
        /// The argument, unread.
        arg: GuestVa,
    },
}

/// `SHUTDOWN_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShutdownReason {
    /// `SHUTDOWN_poweroff`.
    Poweroff,
    /// `SHUTDOWN_reboot`.
    Reboot,
    /// `SHUTDOWN_suspend`.
    Suspend,
    /// `SHUTDOWN_crash`.
    Crash,
    /// `SHUTDOWN_watchdog`.
    Watchdog,
    /// `SHUTDOWN_soft_reset`.
    SoftReset,
    /// Another number (Xen records it as the shutdown code, truncated to 8 bits).
    Unknown(u32),
}

impl ShutdownReason {
    /// The reason numbered `raw`.
    pub const fn from_raw(raw: u32) -> ShutdownReason {
        match raw {
            SHUTDOWN_POWEROFF => ShutdownReason::Poweroff,
            SHUTDOWN_REBOOT => ShutdownReason::Reboot,
            SHUTDOWN_SUSPEND => ShutdownReason::Suspend,
            SHUTDOWN_CRASH => ShutdownReason::Crash,
            SHUTDOWN_WATCHDOG => ShutdownReason::Watchdog,
            SHUTDOWN_SOFT_RESET => ShutdownReason::SoftReset,
            other => ShutdownReason::Unknown(other),
        }
    }
}

/// `struct sched_poll`, checked: at most [`SCHED_POLL_MAX_PORTS`] ports (`-EINVAL`), in an
/// array that does not wrap (`-EFAULT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Poll {
    /// `ports[nr_ports]` (`evtchn_port_t`).
    pub ports: GuestArray,
    /// `timeout`: system time in ns at which to give up, 0 for none.
    pub timeout: u64,
}

impl Poll {
    /// Reads `ports[index]`. `-EINVAL` if `index >= nr_ports`, `-EFAULT` if unreadable.
    pub fn port(&self, mem: &impl GuestMemory, index: u32) -> Result<u32, Errno> {
        self.ports.read_u32(mem, index)
    }
}

pub(crate) fn decode(cmd: u32, arg: GuestVa, mem: &impl GuestMemory) -> Result<SchedOp, Errno> {
    Ok(match cmd {
        SCHEDOP_YIELD => SchedOp::Yield,
        SCHEDOP_BLOCK => SchedOp::Block,
        SCHEDOP_SHUTDOWN => SchedOp::Shutdown {
            reason: reason(mem, arg)?,
        },
        SCHEDOP_SHUTDOWN_CODE => SchedOp::ShutdownCode {
            reason: reason(mem, arg)?,
        },
        SCHEDOP_POLL => {
            let b = read_struct::<SCHED_POLL_SIZE>(mem, arg)?;
            let f = Fields(&b);
            let nr_ports = f.u32(SCHED_POLL_NR_PORTS)?;
            if nr_ports > SCHED_POLL_MAX_PORTS {
                return Err(Errno::EINVAL);
            }
            SchedOp::Poll(Poll {
                ports: GuestArray::new(f.va(SCHED_POLL_PORTS)?, nr_ports, 4)?,
                timeout: f.u64(SCHED_POLL_TIMEOUT)?,
            })
        }
        _ => SchedOp::Unknown { cmd, arg },
    })
}

fn reason(mem: &impl GuestMemory, arg: GuestVa) -> Result<ShutdownReason, Errno> {
    let b = read_struct::<SCHED_SHUTDOWN_SIZE>(mem, arg)?;
    Ok(ShutdownReason::from_raw(Fields(&b).u32(0)?))
}
