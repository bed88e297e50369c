//! Xen event channels for the REPTAR hypervisor: the state behind `HYPERVISOR_event_channel_op`
//! (hypercall 32) for the 2-level ABI, as unmodified Linux with `CONFIG_XEN` uses it on arm64.
//!
//! The names and numbers come from the Xen public headers as Linux carries them:
//! `include/xen/interface/event_channel.h` (`EVTCHNOP_*`, `EVTCHNSTAT_*`, the argument
//! structures), `include/xen/interface/xen.h` (`VIRQ_*`, `DOMID_*`, `struct shared_info`,
//! `struct vcpu_info`) and `include/xen/arm/interface.h` (`xen_ulong_t` is 64 bits, so the
//! 2-level ABI has `EVTCHN_2L_NR_CHANNELS` = 64 * 64 = 4096 ports). The semantics follow Xen's
//! `xen/common/event_channel.c` and `event_2l.c`.
//!
//! # Pieces
//!
//! - [`EventChannels`]: the port tables of every domain, and the `EVTCHNOP_*` operations on
//!   them. One object for all domains, because interdomain operations change two tables at
//!   once; the hypervisor keeps it behind one lock (see "Locking" below).
//! - [`delivery`]: the 2-level delivery algorithm over the guest's own memory, as atomics
//!   ([`delivery::SharedBitmaps`] over `shared_info.evtchn_pending`/`evtchn_mask`,
//!   [`delivery::VcpuInfoBits`] over `vcpu_info.evtchn_upcall_pending`/`evtchn_pending_sel`),
//!   and the byte offsets of those fields ([`delivery::layout`]).
//! - [`wire`]: the argument structures of each `EVTCHNOP_*` as bytes (decode, encode), and
//!   [`EventChannels::hypercall`], which runs one hypercall from its argument bytes.
//!
//! # What the hypervisor provides
//!
//! The hypervisor implements [`EventMemory`] over its own records of each domain's
//! `shared_info` page and registered `vcpu_info` areas. Operations that raise an event
//! ([`EventChannels::send`], [`EventChannels::bind_interdomain`], [`EventChannels::unmask`],
//! [`EventChannels::raise_virq`], [`EventChannels::notify_guest`]) write the guest's bitmaps
//! themselves and return an [`Upcall`] when the target vCPU must be interrupted: inject the
//! event-channel PPI (the one named by the `/hypervisor` node's `interrupts`) into that vCPU
//! and kick it. That is Xen's `vcpu_mark_events_pending()` on Arm.
//!
//! Services inside the hypervisor (xenstore, consoles) get their own end of a channel with
//! [`EventChannels::bind_hypervisor`]: the guest's sends on it come back as
//! [`Sent::Hypervisor`], and the service raises events with [`EventChannels::notify_guest`].
//!
//! # Limits
//!
//! - Ports per domain: [`DomainConfig::max_ports`], at most [`EVTCHN_2L_NR_CHANNELS`] (4096),
//!   [`DEFAULT_MAX_PORTS`] (1024) by default. Port 0 is reserved (`ECS_RESERVED` in Xen;
//!   Linux treats port 0 as invalid). Linux sizes its own tables for 4096 and simply gets
//!   `-ENOSPC` beyond the limit.
//! - vCPUs per domain: [`MAX_VCPUS`]. Domains: fixed by [`EventChannels::new`].
//! - Memory is allocated only by [`EventChannels::new`] (the domain table) and
//!   [`EventChannels::add_domain`] (12 bytes per port plus 96 bytes per vCPU), with
//!   `try_reserve`, so that an allocation failure is an error and not an abort.
//! - Xen-internal VIRQ senders are the hypervisor's: [`EventChannels::raise_virq`] takes the
//!   target domain (Xen sends global VIRQs to the hardware domain unless another handler
//!   was set).
//! - Not implemented: the FIFO ABI (`EVTCHNOP_init_control`, `EVTCHNOP_expand_array`,
//!   `EVTCHNOP_set_priority`: `-ENOSYS`, so Linux falls back to the 2-level ABI), physical
//!   IRQs (`EVTCHNOP_bind_pirq`: `-ENOSYS`), Xen-internal consumers, `SCHEDOP_poll`.
//!
//! # Locking
//!
//! Every operation takes `&mut self` or `&self`: the hypervisor serialises them with one lock.
//! Delivery happens inside the operation, under that lock, as Xen sets pending bits under the
//! channel lock: a `close` cannot overtake a `send` that is still writing the bitmaps, so a
//! port is never left pending after it was freed (Xen's `evtchn_free()` clears it).
//! The guest writes the same words concurrently with atomic instructions; the delivery code
//! uses only atomic read-modify-write operations on them (see [`delivery`]).
//!
//! # Errors
//!
//! Every argument may come from a guest. Wrong ones give the errno Xen gives ([`Errno`]); no
//! function panics on any argument. `-ESRCH` for a domain that does not exist, `-EINVAL` for
//! a port out of range or in the wrong state, `-ENOSPC` when the domain has no free port,
//! `-EEXIST` for a VIRQ already bound on that vCPU, `-ENOENT` for a vCPU that does not exist,
//! `-EPERM` when an unprivileged domain names another domain. The choice per operation is
//! documented on each method and in docs/xen-evtchn-gnttab.md.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(target_endian = "big")]
compile_error!("the Xen ABI layouts here assume a little-endian guest (arm64)");

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod delivery;
mod table;
pub mod wire;

pub use delivery::{Delivery, SharedBitmaps, VcpuInfoBits};
pub use table::{
    Bound, ChannelStatus, DomainConfig, DomainStats, EventChannels, EventMemory, HypercallOutcome,
    HypervisorEvent, Notify, PortStatus, ResetSummary, Sent, Upcall,
};

/// A domain identifier (`domid_t`).
pub type DomId = u16;
/// An event-channel port (`evtchn_port_t`).
pub type Port = u32;

/// `DOMID_FIRST_RESERVED`: domain ids from here up cannot name ordinary domains.
pub const DOMID_FIRST_RESERVED: DomId = 0x7FF0;
/// `DOMID_SELF`: the calling domain.
pub const DOMID_SELF: DomId = 0x7FF0;
/// `DOMID_XEN`: the hypervisor, as the remote domain of a hypervisor-bound port in
/// `EVTCHNOP_status`.
pub const DOMID_XEN: DomId = 0x7FF2;

/// `EVTCHN_2L_NR_CHANNELS`: `sizeof(xen_ulong_t) * sizeof(xen_ulong_t) * 64` with a 64-bit
/// `xen_ulong_t` (arm64).
pub const EVTCHN_2L_NR_CHANNELS: u32 = 8 * 8 * 64;
/// Bits in one `xen_ulong_t` word of the 2-level bitmaps (`BITS_PER_EVTCHN_WORD`).
pub const BITS_PER_EVTCHN_WORD: u32 = 64;
/// Ports per domain unless [`DomainConfig::max_ports`] says otherwise.
pub const DEFAULT_MAX_PORTS: u32 = 1024;
/// Most vCPUs a domain may have here (each costs one VIRQ table of [`NR_VIRQS`] ports).
pub const MAX_VCPUS: u32 = 64;

/// `EVTCHNOP_bind_interdomain`.
pub const EVTCHNOP_BIND_INTERDOMAIN: u32 = 0;
/// `EVTCHNOP_bind_virq`.
pub const EVTCHNOP_BIND_VIRQ: u32 = 1;
/// `EVTCHNOP_bind_pirq` (not implemented: `-ENOSYS`).
pub const EVTCHNOP_BIND_PIRQ: u32 = 2;
/// `EVTCHNOP_close`.
pub const EVTCHNOP_CLOSE: u32 = 3;
/// `EVTCHNOP_send`.
pub const EVTCHNOP_SEND: u32 = 4;
/// `EVTCHNOP_status`.
pub const EVTCHNOP_STATUS: u32 = 5;
/// `EVTCHNOP_alloc_unbound`.
pub const EVTCHNOP_ALLOC_UNBOUND: u32 = 6;
/// `EVTCHNOP_bind_ipi`.
pub const EVTCHNOP_BIND_IPI: u32 = 7;
/// `EVTCHNOP_bind_vcpu`.
pub const EVTCHNOP_BIND_VCPU: u32 = 8;
/// `EVTCHNOP_unmask`.
pub const EVTCHNOP_UNMASK: u32 = 9;
/// `EVTCHNOP_reset`.
pub const EVTCHNOP_RESET: u32 = 10;
/// `EVTCHNOP_init_control` (FIFO ABI, not implemented: `-ENOSYS`, Linux falls back to 2-level).
pub const EVTCHNOP_INIT_CONTROL: u32 = 11;
/// `EVTCHNOP_expand_array` (FIFO ABI, not implemented: `-ENOSYS`).
pub const EVTCHNOP_EXPAND_ARRAY: u32 = 12;
/// `EVTCHNOP_set_priority` (FIFO ABI, not implemented: `-ENOSYS`).
pub const EVTCHNOP_SET_PRIORITY: u32 = 13;

/// `EVTCHNSTAT_closed`: the channel is not in use.
pub const EVTCHNSTAT_CLOSED: u32 = 0;
/// `EVTCHNSTAT_unbound`: the channel waits for an interdomain connection.
pub const EVTCHNSTAT_UNBOUND: u32 = 1;
/// `EVTCHNSTAT_interdomain`: the channel is connected to a remote domain.
pub const EVTCHNSTAT_INTERDOMAIN: u32 = 2;
/// `EVTCHNSTAT_pirq`: bound to a physical IRQ (never, here).
pub const EVTCHNSTAT_PIRQ: u32 = 3;
/// `EVTCHNSTAT_virq`: bound to a virtual IRQ.
pub const EVTCHNSTAT_VIRQ: u32 = 4;
/// `EVTCHNSTAT_ipi`: bound to a virtual IPI.
pub const EVTCHNSTAT_IPI: u32 = 5;

/// `VIRQ_TIMER`: per-vCPU timebase update / timeout.
pub const VIRQ_TIMER: u32 = 0;
/// `VIRQ_DEBUG`: per-vCPU "dump debug info" request.
pub const VIRQ_DEBUG: u32 = 1;
/// `VIRQ_CONSOLE`: global, bytes received on the emergency console (dom0's hvc_xen binds it).
pub const VIRQ_CONSOLE: u32 = 2;
/// `VIRQ_DOM_EXC`: global, exceptional event for some domain.
pub const VIRQ_DOM_EXC: u32 = 3;
/// `VIRQ_TBUF`: global, trace buffer records available.
pub const VIRQ_TBUF: u32 = 4;
/// `VIRQ_DEBUGGER`: global, a domain paused for debugging.
pub const VIRQ_DEBUGGER: u32 = 6;
/// `VIRQ_XENOPROF`: per-vCPU profiling sample.
pub const VIRQ_XENOPROF: u32 = 7;
/// `VIRQ_CON_RING`: global, bytes received on the console ring.
pub const VIRQ_CON_RING: u32 = 8;
/// `VIRQ_PCPU_STATE`: global, physical CPU state changed.
pub const VIRQ_PCPU_STATE: u32 = 9;
/// `VIRQ_MEM_EVENT`: global, memory event.
pub const VIRQ_MEM_EVENT: u32 = 10;
/// `VIRQ_XC_RESERVED`: global, reserved for XenClient.
pub const VIRQ_XC_RESERVED: u32 = 11;
/// `VIRQ_ENOMEM`: global, low on heap memory.
pub const VIRQ_ENOMEM: u32 = 12;
/// `VIRQ_XENPMU`: per-vCPU PMC interrupt.
pub const VIRQ_XENPMU: u32 = 13;
/// `VIRQ_ARCH_0`: first architecture-specific VIRQ (global on Arm).
pub const VIRQ_ARCH_0: u32 = 16;
/// `VIRQ_ARCH_7`: last architecture-specific VIRQ.
pub const VIRQ_ARCH_7: u32 = 23;
/// `NR_VIRQS` (Xen's `xen.h`): VIRQ numbers are `0..NR_VIRQS`.
pub const NR_VIRQS: u32 = 24;

/// Whether a VIRQ is global (one binding per domain, on vCPU 0, re-targetable with
/// `EVTCHNOP_bind_vcpu`) rather than per-vCPU. Xen's `virq_is_global()`: `VIRQ_TIMER`,
/// `VIRQ_DEBUG`, `VIRQ_XENOPROF` and `VIRQ_XENPMU` are per-vCPU; `VIRQ_ARCH_*` are global on
/// Arm (`arch_virq_is_global()`); every other number below [`NR_VIRQS`] is global.
pub const fn virq_is_global(virq: u32) -> bool {
    !matches!(virq, VIRQ_TIMER | VIRQ_DEBUG | VIRQ_XENOPROF | VIRQ_XENPMU)
}

/// The errors of the event-channel hypercalls: Xen's `xen/include/public/errno.h`, whose
/// values are Linux's (asm-generic/errno-base.h). The hypercall returns the negated value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Errno {
    /// `EPERM`: an unprivileged domain named another domain.
    Perm = 1,
    /// `ENOENT`: no such vCPU.
    NoEnt = 2,
    /// `ESRCH`: no such domain.
    Srch = 3,
    /// `ENXIO`: a `vcpu_info` area crossing a page or misaligned (`map_guest_area()`).
    NxIo = 6,
    /// `ENOMEM`: the hypervisor could not allocate a domain's tables.
    NoMem = 12,
    /// `EFAULT`: the argument structure could not be read (too short).
    Fault = 14,
    /// `EEXIST`: VIRQ already bound on that vCPU; domain already registered.
    Exist = 17,
    /// `EINVAL`: bad port, port in the wrong state, bad VIRQ number, bad vCPU for a global VIRQ.
    Inval = 22,
    /// `ENOSPC`: no free port in the domain (or no free domain slot).
    NoSpc = 28,
    /// `ENOSYS`: operation not implemented (FIFO ABI, PIRQs, unknown command).
    NoSys = 38,
}

impl Errno {
    /// The positive errno value.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// What the hypercall returns in x0: `-errno`, sign-extended.
    pub const fn to_ret(self) -> i64 {
        -(self as i64)
    }
}
