//! `event_channel_op` and `grant_table_op`: classified here, their structures decoded by
//! `xen_evtchn::wire` and `xen_gnttab::wire` from the element bytes read here.

use crate::abi::GNTTABOP_CMD_MASK;
use crate::guest::{GuestArray, GuestMemory, GuestVa, MAX_ELEMENT_SIZE};
use crate::Errno;

/// `HYPERVISOR_event_channel_op(int cmd, void *arg)`: x0 = `cmd`, x1 = `arg`.
///
/// Feed [`read_arg`](Self::read_arg)'s bytes to `xen_evtchn::EventChannels::hypercall` (or
/// `xen_evtchn::wire::decode`), and write them back to [`arg`](Self::arg) on success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventChannelOp {
    /// `cmd` (`EVTCHNOP_*`).
    pub cmd: u32,
    /// Where the argument structure is.
    pub arg: GuestVa,
    /// The structure as a one-element array of `xen_evtchn::wire::arg_size(cmd)` bytes;
    /// `None` for the commands xen-evtchn answers `-ENOSYS` without reading memory (FIFO
    /// ABI, PIRQs, unknown numbers).
    pub element: Option<GuestArray>,
}

impl EventChannelOp {
    /// Reads the argument structure into the start of `buf`. `-ENOSYS` for a command with no
    /// known structure, `-EFAULT` if unreadable.
    pub fn read_arg<'b>(
        &self,
        mem: &impl GuestMemory,
        buf: &'b mut [u8; MAX_ELEMENT_SIZE],
    ) -> Result<&'b mut [u8], Errno> {
        self.element.ok_or(Errno::ENOSYS)?.read(mem, 0, buf)
    }
}

pub(crate) fn event_channel_op(cmd: u32, arg: GuestVa) -> Result<EventChannelOp, Errno> {
    let element = match xen_evtchn::wire::arg_size(cmd) {
        Some(size) => Some(GuestArray::new(arg, 1, size)?),
        None => None,
    };
    Ok(EventChannelOp { cmd, arg, element })
}

/// `HYPERVISOR_grant_table_op(unsigned int cmd, void *uop, unsigned int count)`: x0 =
/// `cmd`, x1 = `uop`, x2 = `count`. Checked as Xen's `do_grant_table_op()`: `count` at most
/// `INT_MAX` and no continuation bits above `GNTTABOP_CMD_MASK` in `cmd` (`-EINVAL`), a
/// non-batch command with `count == 1` (`-EINVAL`), an array that does not wrap
/// (`-EFAULT`).
///
/// Batch commands (map, unmap, unmap_and_replace, copy) take `count` elements, which the
/// hypervisor reads one by one with [`read_uop`](Self::read_uop), feeds to
/// `xen_gnttab::wire`'s decoders and writes back at [`GuestArray::addr`]. To bound the work
/// of one call, it may do a prefix and let the guest re-issue the rest, as Xen's
/// continuations do: [`GuestArray::skip`] gives the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrantTableOp {
    /// `cmd` (`GNTTABOP_*`).
    pub cmd: u32,
    /// `uop`, the array's address.
    pub uop: GuestVa,
    /// `count`.
    pub count: u32,
    /// `count` elements of `xen_gnttab::wire::arg_size(cmd)` bytes; `None` for the commands
    /// xen-gnttab does not implement (`-ENOSYS`: dump_table, transfer, get_status_frames,
    /// swap_grant_ref, cache_flush, unknown numbers).
    pub uops: Option<GuestArray>,
}

impl GrantTableOp {
    /// Reads element `index` into the start of `buf`. `-ENOSYS` for a command with no known
    /// structure, `-EINVAL` if `index >= count`, `-EFAULT` if unreadable.
    pub fn read_uop<'b>(
        &self,
        mem: &impl GuestMemory,
        index: u32,
        buf: &'b mut [u8; MAX_ELEMENT_SIZE],
    ) -> Result<&'b mut [u8], Errno> {
        self.uops.ok_or(Errno::ENOSYS)?.read(mem, index, buf)
    }
}

pub(crate) fn grant_table_op(cmd: u32, uop: GuestVa, count: u32) -> Result<GrantTableOp, Errno> {
    if count > i32::MAX as u32 {
        return Err(Errno::EINVAL);
    }
    let op = cmd & GNTTABOP_CMD_MASK;
    if op != xen_gnttab::GNTTABOP_CACHE_FLUSH && cmd != op {
        return Err(Errno::EINVAL);
    }
    let uops = match xen_gnttab::wire::arg_size(op) {
        Some(size) => {
            if !xen_gnttab::wire::is_batch(op) && count != 1 {
                return Err(Errno::EINVAL);
            }
            Some(GuestArray::new(uop, count, size)?)
        }
        None => None,
    };
    Ok(GrantTableOp {
        cmd: op,
        uop,
        count,
        uops,
    })
}
