//! The port tables of all domains and the `EVTCHNOP_*` operations.

use alloc::vec::Vec;

use crate::delivery::{self, Delivery, SharedBitmaps, VcpuInfoBits};
use crate::wire::{self, Op};
use crate::{
    virq_is_global, DomId, Errno, Port, DEFAULT_MAX_PORTS, DOMID_FIRST_RESERVED, DOMID_SELF,
    EVTCHNSTAT_CLOSED, EVTCHNSTAT_INTERDOMAIN, EVTCHNSTAT_IPI, EVTCHNSTAT_UNBOUND, EVTCHNSTAT_VIRQ,
    EVTCHN_2L_NR_CHANNELS, MAX_VCPUS, NR_VIRQS,
};

/// How the hypervisor reaches a domain's event memory, for the operations that raise or
/// clear events. Implemented by the hypervisor over its records of each domain's pages.
pub trait EventMemory {
    /// The 2-level bitmaps in `dom`'s `shared_info` page, or `None` while there is none.
    /// `None` drops the event (counted in [`DomainStats::dropped`]). Xen allocates
    /// `shared_info` itself when it creates the domain, so nothing is ever dropped there;
    /// a hypervisor that uses the page the guest names in `XENMAPSPACE_shared_info` instead
    /// drops only events raised before that call (Linux makes it before it binds any port).
    fn shared_bitmaps(&self, dom: DomId) -> Option<SharedBitmaps<'_>>;

    /// `vcpu_info` of vCPU `vcpu` of `dom`: the area registered with
    /// `VCPUOP_register_vcpu_info`, or `shared_info.vcpu_info[0]` for vCPU 0 before that
    /// (`layout::LEGACY_MAX_VCPUS`), or `None` (the port is set pending without an upcall,
    /// as Xen's `dummy_vcpu_info`; registration calls [`delivery::mark_all_pending`]).
    fn vcpu_info(&self, dom: DomId, vcpu: u32) -> Option<VcpuInfoBits<'_>>;
}

/// Configuration of one domain's event channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomainConfig {
    /// The domain id (below `DOMID_FIRST_RESERVED`).
    pub domid: DomId,
    /// vCPUs 0 to `nr_vcpus - 1` exist (1 to [`MAX_VCPUS`]).
    pub nr_vcpus: u32,
    /// May name other domains where Xen's XSM dummy policy says `XSM_TARGET`
    /// (`EVTCHNOP_alloc_unbound`, `EVTCHNOP_status`, `EVTCHNOP_reset`): the control domain
    /// (dom0).
    pub privileged: bool,
    /// Ports `0..max_ports` exist (2 to `EVTCHN_2L_NR_CHANNELS`; port 0 is reserved).
    pub max_ports: u32,
}

impl DomainConfig {
    /// An unprivileged domain with [`DEFAULT_MAX_PORTS`] ports.
    pub const fn new(domid: DomId, nr_vcpus: u32) -> Self {
        Self {
            domid,
            nr_vcpus,
            privileged: false,
            max_ports: DEFAULT_MAX_PORTS,
        }
    }
}

/// The interrupt to raise after an event: inject the event-channel PPI into vCPU `vcpu` of
/// domain `dom`, and kick it (IPI the CPU running it, or wake it from WFI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Upcall {
    /// Target domain.
    pub dom: DomId,
    /// Target vCPU.
    pub vcpu: u32,
}

/// Where a port's events go: domain, port, and the vCPU it notifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Notify {
    /// Domain owning the port.
    pub dom: DomId,
    /// The port.
    pub port: Port,
    /// The vCPU it notifies (`notify_vcpu_id`).
    pub vcpu: u32,
}

/// Result of [`EventChannels::bind_interdomain`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bound {
    /// The new local port.
    pub port: Port,
    /// Xen sets the new local port pending ("we may have lost notifications on the remote
    /// unbound port"); the interrupt to raise for it, if any.
    pub upcall: Option<Upcall>,
}

/// A channel's state as `EVTCHNOP_status` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChannelStatus {
    /// `EVTCHNSTAT_closed` (free, or the reserved port 0).
    Closed,
    /// `EVTCHNSTAT_unbound`: accepts a binding from `remote_dom`.
    Unbound {
        /// The domain allowed to bind (`u.unbound.dom`).
        remote_dom: DomId,
    },
    /// `EVTCHNSTAT_interdomain`: connected to `remote_port` of `remote_dom`.
    Interdomain {
        /// `u.interdomain.dom`.
        remote_dom: DomId,
        /// `u.interdomain.port`.
        remote_port: Port,
    },
    /// `EVTCHNSTAT_virq`.
    Virq {
        /// `u.virq`.
        virq: u32,
    },
    /// `EVTCHNSTAT_ipi`.
    Ipi,
    /// Connected to the hypervisor itself ([`EventChannels::bind_hypervisor`]); reported to
    /// guests as `EVTCHNSTAT_interdomain` with `DOMID_XEN` and remote port 0.
    Hypervisor {
        /// The consumer id.
        consumer: u32,
    },
}

impl ChannelStatus {
    /// The `EVTCHNSTAT_*` value.
    pub const fn code(&self) -> u32 {
        match self {
            Self::Closed => EVTCHNSTAT_CLOSED,
            Self::Unbound { .. } => EVTCHNSTAT_UNBOUND,
            Self::Interdomain { .. } | Self::Hypervisor { .. } => EVTCHNSTAT_INTERDOMAIN,
            Self::Virq { .. } => EVTCHNSTAT_VIRQ,
            Self::Ipi => EVTCHNSTAT_IPI,
        }
    }
}

/// Result of [`EventChannels::status`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortStatus {
    /// The state.
    pub status: ChannelStatus,
    /// The vCPU it notifies (`vcpu` field; 0 for a closed port).
    pub vcpu: u32,
}

/// What closing all of a domain's ports did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResetSummary {
    /// Ports closed.
    pub closed: u32,
    /// Interdomain peers (in other domains or the same one) put back to unbound.
    pub peers_unbound: u32,
}

/// Counters of one domain, for the hypervisor monitor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DomainStats {
    /// Ports in a state other than closed (port 0 not counted).
    pub ports_in_use: u32,
    /// Size of the port table.
    pub max_ports: u32,
    /// Of which unbound.
    pub unbound: u32,
    /// Of which interdomain.
    pub interdomain: u32,
    /// Of which VIRQ.
    pub virq: u32,
    /// Of which IPI.
    pub ipi: u32,
    /// Of which bound to the hypervisor.
    pub hypervisor: u32,
    /// Successful `EVTCHNOP_send` calls by this domain.
    pub sends: u64,
    /// Upcalls raised toward this domain (interrupts injected).
    pub upcalls: u64,
    /// Events that found the port masked.
    pub masked: u64,
    /// Events dropped because the domain had no `shared_info` ([`EventMemory`]).
    pub dropped: u64,
}

/// A guest notified a port whose other end is the hypervisor (see
/// [`EventChannels::bind_hypervisor`]): run `consumer` for `dom`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HypervisorEvent {
    /// The notifying domain.
    pub dom: DomId,
    /// Its port.
    pub port: Port,
    /// The hypervisor's consumer id given to `bind_hypervisor`.
    pub consumer: u32,
}

/// What `EVTCHNOP_send` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// The event went to a guest port (or was dropped or merged); the interrupt to raise.
    Guest(Option<Upcall>),
    /// The port's other end is the hypervisor: notify that consumer.
    Hypervisor(HypervisorEvent),
}

impl Sent {
    /// The interrupt to raise, if any.
    pub const fn upcall(&self) -> Option<Upcall> {
        match self {
            Self::Guest(u) => *u,
            Self::Hypervisor(_) => None,
        }
    }
}

/// Outcome of [`EventChannels::hypercall`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HypercallOutcome {
    /// The value for x0: 0 or `-errno`.
    pub ret: i64,
    /// An interrupt to raise.
    pub upcall: Option<Upcall>,
    /// A hypervisor consumer to notify (a send on a hypervisor-bound port).
    pub hypervisor: Option<HypervisorEvent>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Free,
    /// Port 0 (`ECS_RESERVED`).
    Reserved,
    Unbound {
        remote: DomId,
    },
    Interdomain {
        remote: DomId,
        port: Port,
    },
    Virq {
        virq: u32,
    },
    Ipi,
    /// The other end is the hypervisor (consumer id).
    Hypervisor {
        consumer: u32,
    },
}

#[derive(Clone, Copy, Debug)]
struct Channel {
    state: State,
    notify_vcpu: u32,
}

const FREE: Channel = Channel {
    state: State::Free,
    notify_vcpu: 0,
};

struct Domain {
    id: DomId,
    privileged: bool,
    nr_vcpus: u32,
    chans: Vec<Channel>,
    /// `virq_to_evtchn` of each vCPU: 0 = not bound. Global VIRQs live in vCPU 0's.
    virqs: Vec<[Port; NR_VIRQS as usize]>,
    in_use: u32,
    sends: u64,
    upcalls: u64,
    masked: u64,
    dropped: u64,
}

impl Domain {
    fn chan(&self, port: Port) -> Option<&Channel> {
        self.chans.get(port as usize)
    }

    fn chan_mut(&mut self, port: Port) -> Option<&mut Channel> {
        self.chans.get_mut(port as usize)
    }

    /// Xen's `get_free_port()`: the lowest free port.
    fn free_port(&self) -> Result<Port, Errno> {
        self.chans
            .iter()
            .position(|c| c.state == State::Free)
            .map(|p| p as Port)
            .ok_or(Errno::NoSpc)
    }

    /// Binds a free port (from `free_port`).
    fn take(&mut self, port: Port, state: State, notify_vcpu: u32) {
        if let Some(c) = self.chan_mut(port) {
            *c = Channel { state, notify_vcpu };
            self.in_use += 1;
        }
    }

    /// Xen's `evtchn_free()` (without the pending bit, which is guest memory).
    fn free(&mut self, port: Port) {
        if let Some(c) = self.chan_mut(port) {
            if !matches!(c.state, State::Free | State::Reserved) {
                *c = FREE;
                self.in_use = self.in_use.saturating_sub(1);
            }
        }
    }

    fn virq_slot(&mut self, vcpu: u32, virq: u32) -> Option<&mut Port> {
        self.virqs.get_mut(vcpu as usize)?.get_mut(virq as usize)
    }
}

/// The event channels of every domain.
pub struct EventChannels {
    domains: Vec<Domain>,
    max_domains: usize,
}

impl EventChannels {
    /// Room for `max_domains` domains (the slot table is allocated now).
    pub fn new(max_domains: usize) -> Result<Self, Errno> {
        let mut domains = Vec::new();
        domains
            .try_reserve_exact(max_domains)
            .map_err(|_| Errno::NoMem)?;
        Ok(Self {
            domains,
            max_domains,
        })
    }

    /// Creates a domain's port table (Xen's `evtchn_init()`): port 0 reserved, all others
    /// free. `-EEXIST` if the id is taken, `-EINVAL` for a reserved id, 0 or more than
    /// [`MAX_VCPUS`] vCPUs, fewer than 2 or more than `EVTCHN_2L_NR_CHANNELS` ports,
    /// `-ENOSPC` if all domain slots are used, `-ENOMEM` if the table cannot be allocated.
    pub fn add_domain(&mut self, config: DomainConfig) -> Result<(), Errno> {
        if config.domid >= DOMID_FIRST_RESERVED
            || config.nr_vcpus == 0
            || config.nr_vcpus > MAX_VCPUS
            || config.max_ports < 2
            || config.max_ports > EVTCHN_2L_NR_CHANNELS
        {
            return Err(Errno::Inval);
        }
        if self.index(config.domid).is_some() {
            return Err(Errno::Exist);
        }
        if self.domains.len() >= self.max_domains {
            return Err(Errno::NoSpc);
        }
        let mut chans = Vec::new();
        chans
            .try_reserve_exact(config.max_ports as usize)
            .map_err(|_| Errno::NoMem)?;
        chans.resize(config.max_ports as usize, FREE);
        if let Some(c) = chans.first_mut() {
            c.state = State::Reserved;
        }
        let mut virqs = Vec::new();
        virqs
            .try_reserve_exact(config.nr_vcpus as usize)
            .map_err(|_| Errno::NoMem)?;
        virqs.resize(config.nr_vcpus as usize, [0; NR_VIRQS as usize]);
        // `max_domains` slots were reserved by `new`: this push does not allocate.
        self.domains.push(Domain {
            id: config.domid,
            privileged: config.privileged,
            nr_vcpus: config.nr_vcpus,
            chans,
            virqs,
            in_use: 0,
            sends: 0,
            upcalls: 0,
            masked: 0,
            dropped: 0,
        });
        Ok(())
    }

    /// Domain destruction (Xen's `evtchn_destroy()`): closes every port, which puts the
    /// interdomain peers back to unbound toward `dom` (their pending bits are left alone, as
    /// in Xen), and forgets the domain. Its own memory is going away: nothing of it is
    /// touched. `-ESRCH` if there is no such domain.
    pub fn remove_domain(&mut self, dom: DomId) -> Result<ResetSummary, Errno> {
        let d = self.index(dom).ok_or(Errno::Srch)?;
        let summary = self.close_all(d, None);
        self.domains.swap_remove(d);
        Ok(summary)
    }

    /// Whether `dom` has a port table.
    pub fn has_domain(&self, dom: DomId) -> bool {
        self.index(dom).is_some()
    }

    /// `EVTCHNOP_alloc_unbound`: a fresh port in `dom` (`DOMID_SELF` allowed) accepting a
    /// binding from `remote_dom` (`DOMID_SELF` = the caller; not checked for existence, as in
    /// Xen). Errors in Xen's order: `-ESRCH` (no such `dom`), `-ENOSPC`, `-EPERM` (`dom` is
    /// another domain and the caller is not privileged).
    pub fn alloc_unbound(
        &mut self,
        caller: DomId,
        dom: DomId,
        remote_dom: DomId,
    ) -> Result<Port, Errno> {
        let target = self.resolve(caller, dom)?;
        let d = self.index(target).ok_or(Errno::Srch)?;
        let port = self.domains[d].free_port()?;
        self.check_target(caller, target)?;
        let remote = if remote_dom == DOMID_SELF {
            caller
        } else {
            remote_dom
        };
        self.domains[d].take(port, State::Unbound { remote }, 0);
        Ok(port)
    }

    /// `EVTCHNOP_bind_interdomain`: connects a fresh port of the caller to `remote_port` of
    /// `remote_dom` (`DOMID_SELF` allowed: loopback), which must be unbound and accept the
    /// caller. Errors: `-ESRCH` (no such domain), `-ENOSPC` (no free local port), `-EINVAL`
    /// (remote port out of range, not unbound, or reserved for another domain).
    ///
    /// As Xen does, the new local port is set pending at once, since events sent to the
    /// unbound remote end were dropped; [`Bound::upcall`] is the interrupt to raise for it.
    pub fn bind_interdomain<M: EventMemory + ?Sized>(
        &mut self,
        caller: DomId,
        remote_dom: DomId,
        remote_port: Port,
        mem: &M,
    ) -> Result<Bound, Errno> {
        let l = self.index(caller).ok_or(Errno::Srch)?;
        let rdom = if remote_dom == DOMID_SELF {
            caller
        } else {
            remote_dom
        };
        let r = self.index(rdom).ok_or(Errno::Srch)?;
        let lport = self.domains[l].free_port()?;
        match self.domains[r].chan(remote_port) {
            Some(Channel {
                state: State::Unbound { remote },
                ..
            }) if *remote == caller => {}
            _ => return Err(Errno::Inval),
        }
        // The remote port is not free, so `lport != remote_port` even for a loopback.
        if let Some(c) = self.domains[r].chan_mut(remote_port) {
            c.state = State::Interdomain {
                remote: caller,
                port: lport,
            };
        }
        self.domains[l].take(
            lport,
            State::Interdomain {
                remote: rdom,
                port: remote_port,
            },
            0,
        );
        let upcall = self.deliver(l, lport, mem);
        Ok(Bound {
            port: lport,
            upcall,
        })
    }

    /// `EVTCHNOP_bind_virq`: a fresh port of the caller for `virq` on `vcpu`. Errors in Xen's
    /// order: `-EINVAL` (`virq` not below `NR_VIRQS`, or a global VIRQ with `vcpu` != 0),
    /// `-ENOENT` (no such vCPU), `-EEXIST` (already bound on that vCPU), `-ENOSPC`.
    pub fn bind_virq(&mut self, caller: DomId, virq: u32, vcpu: u32) -> Result<Port, Errno> {
        let d = self.index(caller).ok_or(Errno::Srch)?;
        if virq >= NR_VIRQS || (virq_is_global(virq) && vcpu != 0) {
            return Err(Errno::Inval);
        }
        let dom = &mut self.domains[d];
        if vcpu >= dom.nr_vcpus {
            return Err(Errno::NoEnt);
        }
        if dom.virq_slot(vcpu, virq).map_or(true, |p| *p != 0) {
            return Err(Errno::Exist);
        }
        let port = dom.free_port()?;
        dom.take(port, State::Virq { virq }, vcpu);
        if let Some(slot) = dom.virq_slot(vcpu, virq) {
            *slot = port;
        }
        Ok(port)
    }

    /// `EVTCHNOP_bind_ipi`: a fresh port of the caller notifying `vcpu`. `-ENOENT` (no such
    /// vCPU), `-ENOSPC`.
    pub fn bind_ipi(&mut self, caller: DomId, vcpu: u32) -> Result<Port, Errno> {
        let d = self.index(caller).ok_or(Errno::Srch)?;
        let dom = &mut self.domains[d];
        if vcpu >= dom.nr_vcpus {
            return Err(Errno::NoEnt);
        }
        let port = dom.free_port()?;
        dom.take(port, State::Ipi, vcpu);
        Ok(port)
    }

    /// `EVTCHNOP_close`: frees `port` of the caller. An interdomain peer goes back to unbound,
    /// accepting a new binding from the caller (Xen's `evtchn_close()`); a VIRQ binding is
    /// forgotten. The port's pending bit is cleared (Xen's `evtchn_free()`), so a re-bound
    /// port starts clean. `-EINVAL` for a port out of range, free, or reserved.
    pub fn close<M: EventMemory + ?Sized>(
        &mut self,
        caller: DomId,
        port: Port,
        mem: &M,
    ) -> Result<(), Errno> {
        let d = self.index(caller).ok_or(Errno::Srch)?;
        match self.domains[d].chan(port).map(|c| c.state) {
            None | Some(State::Free | State::Reserved) => return Err(Errno::Inval),
            Some(_) => {}
        }
        self.close_port(d, port);
        if let Some(b) = mem.shared_bitmaps(caller) {
            delivery::clear_pending(&b, port);
        }
        Ok(())
    }

    /// `EVTCHNOP_send` on the caller's `port`: interdomain, the remote port is set pending
    /// toward its notify vCPU; IPI, the port itself; unbound, the event is dropped silently
    /// (`Sent::Guest(None)`), as in Xen; bound to the hypervisor, [`Sent::Hypervisor`].
    /// `-EINVAL` for a port out of range or in another state (free, reserved, VIRQ).
    pub fn send<M: EventMemory + ?Sized>(
        &mut self,
        caller: DomId,
        port: Port,
        mem: &M,
    ) -> Result<Sent, Errno> {
        let d = self.index(caller).ok_or(Errno::Srch)?;
        let state = self.domains[d]
            .chan(port)
            .map(|c| c.state)
            .ok_or(Errno::Inval)?;
        let sent = match state {
            State::Interdomain {
                remote,
                port: rport,
            } => {
                // Invariant: the peer exists and points back (kept by close/remove_domain).
                Sent::Guest(match self.index(remote) {
                    Some(r) => self.deliver(r, rport, mem),
                    None => None,
                })
            }
            State::Ipi => Sent::Guest(self.deliver(d, port, mem)),
            State::Unbound { .. } => Sent::Guest(None),
            State::Hypervisor { consumer } => Sent::Hypervisor(HypervisorEvent {
                dom: caller,
                port,
                consumer,
            }),
            State::Free | State::Reserved | State::Virq { .. } => return Err(Errno::Inval),
        };
        self.domains[d].sends = self.domains[d].sends.wrapping_add(1);
        Ok(sent)
    }

    /// Connects a fresh port of `dom` to a consumer inside the hypervisor (the xenstore
    /// server, a console backend): the port to publish as `HVM_PARAM_STORE_EVTCHN` or
    /// `HVM_PARAM_CONSOLE_EVTCHN`. The guest uses it as an interdomain port: its sends come
    /// back as [`Sent::Hypervisor`] with `consumer`, the hypervisor raises events on it with
    /// [`Self::notify_guest`]; the guest may re-target (`bind_vcpu`) or close it. Xen's
    /// equivalent is an interdomain channel to xenstored's domain. `-ESRCH`, `-ENOSPC`.
    pub fn bind_hypervisor(&mut self, dom: DomId, consumer: u32) -> Result<Port, Errno> {
        let d = self.index(dom).ok_or(Errno::Srch)?;
        let port = self.domains[d].free_port()?;
        self.domains[d].take(port, State::Hypervisor { consumer }, 0);
        Ok(port)
    }

    /// The hypervisor's consumer raises an event on `port` of `dom` (bound by
    /// [`Self::bind_hypervisor`]). `-ESRCH`; `-EINVAL` if the port is out of range or no
    /// longer bound to the hypervisor (the guest closed it).
    pub fn notify_guest<M: EventMemory + ?Sized>(
        &mut self,
        dom: DomId,
        port: Port,
        mem: &M,
    ) -> Result<Option<Upcall>, Errno> {
        let d = self.index(dom).ok_or(Errno::Srch)?;
        match self.domains[d].chan(port).map(|c| c.state) {
            Some(State::Hypervisor { .. }) => Ok(self.deliver(d, port, mem)),
            _ => Err(Errno::Inval),
        }
    }

    /// `EVTCHNOP_status` of `port` in `dom` (`DOMID_SELF` allowed). `-ESRCH` (no such
    /// domain), `-EINVAL` (port out of range), `-EPERM` (another domain, caller not
    /// privileged), in Xen's order.
    pub fn status(&self, caller: DomId, dom: DomId, port: Port) -> Result<PortStatus, Errno> {
        let target = self.resolve(caller, dom)?;
        let d = self.index(target).ok_or(Errno::Srch)?;
        let c = self.domains[d].chan(port).ok_or(Errno::Inval)?;
        self.check_target(caller, target)?;
        let status = match c.state {
            State::Free | State::Reserved => ChannelStatus::Closed,
            State::Unbound { remote } => ChannelStatus::Unbound { remote_dom: remote },
            State::Interdomain { remote, port } => ChannelStatus::Interdomain {
                remote_dom: remote,
                remote_port: port,
            },
            State::Virq { virq } => ChannelStatus::Virq { virq },
            State::Ipi => ChannelStatus::Ipi,
            State::Hypervisor { consumer } => ChannelStatus::Hypervisor { consumer },
        };
        Ok(PortStatus {
            status,
            vcpu: c.notify_vcpu,
        })
    }

    /// `EVTCHNOP_bind_vcpu`: the caller's `port` now notifies `vcpu`. Allowed for unbound and
    /// interdomain ports and global VIRQs; `-EINVAL` for per-vCPU VIRQs, IPIs, free or
    /// reserved ports and ports out of range; `-ENOENT` (checked first) for no such vCPU.
    /// Linux masks the port around this call; pending events stay where they are.
    pub fn bind_vcpu(&mut self, caller: DomId, port: Port, vcpu: u32) -> Result<(), Errno> {
        let d = self.index(caller).ok_or(Errno::Srch)?;
        let dom = &mut self.domains[d];
        if vcpu >= dom.nr_vcpus {
            return Err(Errno::NoEnt);
        }
        let c = dom.chan_mut(port).ok_or(Errno::Inval)?;
        match c.state {
            State::Virq { virq } if virq_is_global(virq) => c.notify_vcpu = vcpu,
            State::Unbound { .. } | State::Interdomain { .. } | State::Hypervisor { .. } => {
                c.notify_vcpu = vcpu
            }
            _ => return Err(Errno::Inval),
        }
        Ok(())
    }

    /// `EVTCHNOP_unmask` of the caller's `port` (any state: Xen only checks the range):
    /// Xen's `evtchn_2l_unmask()` toward the port's notify vCPU (see
    /// [`delivery::unmask`]). `-EINVAL` for a port out of range.
    pub fn unmask<M: EventMemory + ?Sized>(
        &mut self,
        caller: DomId,
        port: Port,
        mem: &M,
    ) -> Result<Option<Upcall>, Errno> {
        let d = self.index(caller).ok_or(Errno::Srch)?;
        let vcpu = self.domains[d].chan(port).ok_or(Errno::Inval)?.notify_vcpu;
        let Some(bitmaps) = mem.shared_bitmaps(caller) else {
            return Ok(None);
        };
        let vi = mem.vcpu_info(caller, vcpu);
        let r = delivery::unmask(&bitmaps, vi.as_ref(), port);
        Ok(self.count(d, vcpu, r))
    }

    /// `EVTCHNOP_reset` of `dom` (`DOMID_SELF` allowed): closes every port as
    /// [`Self::close`] would (peers unbound, pending bits of the closed ports cleared).
    /// `-ESRCH`, `-EPERM` (another domain, caller not privileged); `-EINVAL` for another
    /// domain even when privileged: Xen requires it to be paused by its controller, which
    /// this hypervisor does not do (it uses [`Self::remove_domain`] for destruction).
    pub fn reset<M: EventMemory + ?Sized>(
        &mut self,
        caller: DomId,
        dom: DomId,
        mem: &M,
    ) -> Result<ResetSummary, Errno> {
        let target = self.resolve(caller, dom)?;
        let d = self.index(target).ok_or(Errno::Srch)?;
        self.check_target(caller, target)?;
        if target != caller {
            return Err(Errno::Inval);
        }
        let bitmaps = mem.shared_bitmaps(target);
        Ok(self.close_all(d, bitmaps.as_ref()))
    }

    /// The port bound to `virq` that an event for vCPU `vcpu` would go to: for a per-vCPU
    /// VIRQ, that vCPU's binding; for a global VIRQ, vCPU 0's binding, notifying whichever
    /// vCPU `EVTCHNOP_bind_vcpu` chose (`vcpu` is ignored). `None` if not bound or no such
    /// domain, VIRQ or vCPU.
    pub fn virq_binding(&self, dom: DomId, virq: u32, vcpu: u32) -> Option<Notify> {
        let d = &self.domains[self.index(dom)?];
        let table_vcpu = if virq_is_global(virq) { 0 } else { vcpu };
        let port = *d.virqs.get(table_vcpu as usize)?.get(virq as usize)?;
        if port == 0 {
            return None;
        }
        let c = d.chan(port)?;
        let notify = if virq_is_global(virq) {
            c.notify_vcpu
        } else {
            vcpu
        };
        Some(Notify {
            dom,
            port,
            vcpu: notify,
        })
    }

    /// Raises `virq` in `dom` (Xen's `send_guest_vcpu_virq()` / `send_guest_global_virq()`;
    /// the hypervisor picks the domain for global VIRQs, normally dom0 as Xen's
    /// `hardware_domain`). `None` when nothing is bound or no interrupt is needed.
    pub fn raise_virq<M: EventMemory + ?Sized>(
        &mut self,
        dom: DomId,
        virq: u32,
        vcpu: u32,
        mem: &M,
    ) -> Option<Upcall> {
        let n = self.virq_binding(dom, virq, vcpu)?;
        let d = self.index(dom)?;
        self.deliver_to(d, n.port, n.vcpu, mem)
    }

    /// Counters of `dom`, for the monitor.
    pub fn stats(&self, dom: DomId) -> Option<DomainStats> {
        let d = &self.domains[self.index(dom)?];
        let mut s = DomainStats {
            ports_in_use: d.in_use,
            max_ports: d.chans.len() as u32,
            sends: d.sends,
            upcalls: d.upcalls,
            masked: d.masked,
            dropped: d.dropped,
            ..DomainStats::default()
        };
        for c in &d.chans {
            match c.state {
                State::Unbound { .. } => s.unbound += 1,
                State::Interdomain { .. } => s.interdomain += 1,
                State::Virq { .. } => s.virq += 1,
                State::Ipi => s.ipi += 1,
                State::Hypervisor { .. } => s.hypervisor += 1,
                State::Free | State::Reserved => {}
            }
        }
        Some(s)
    }

    /// The domains, in no particular order (for the monitor).
    pub fn domains(&self) -> impl Iterator<Item = DomId> + '_ {
        self.domains.iter().map(|d| d.id)
    }

    /// Runs one `HYPERVISOR_event_channel_op(cmd, arg)` for `caller`. `arg` holds the
    /// argument structure copied from the guest ([`wire::arg_size`] bytes; a shorter slice
    /// gives `-EFAULT`); outputs (`port`, `local_port`, status fields) are written into it.
    /// Copy `arg` back to the guest when `ret` is 0, as Xen's `__copy_to_guest()` does only on
    /// success. Unknown and unimplemented commands give `-ENOSYS` without reading `arg`.
    pub fn hypercall<M: EventMemory + ?Sized>(
        &mut self,
        caller: DomId,
        cmd: u32,
        arg: &mut [u8],
        mem: &M,
    ) -> HypercallOutcome {
        let op = match wire::decode(cmd, arg) {
            Ok(op) => op,
            Err(e) => {
                return HypercallOutcome {
                    ret: e.to_ret(),
                    upcall: None,
                    hypervisor: None,
                }
            }
        };
        let mut upcall = None;
        let mut hypervisor = None;
        let r: Result<(), Errno> = match op {
            Op::AllocUnbound { dom, remote_dom } => self
                .alloc_unbound(caller, dom, remote_dom)
                .map(|p| wire::put_u32(arg, wire::ALLOC_UNBOUND_PORT, p)),
            Op::BindInterdomain {
                remote_dom,
                remote_port,
            } => self
                .bind_interdomain(caller, remote_dom, remote_port, mem)
                .map(|b| {
                    upcall = b.upcall;
                    wire::put_u32(arg, wire::BIND_INTERDOMAIN_LOCAL_PORT, b.port)
                }),
            Op::BindVirq { virq, vcpu } => self
                .bind_virq(caller, virq, vcpu)
                .map(|p| wire::put_u32(arg, wire::BIND_VIRQ_PORT, p)),
            Op::BindIpi { vcpu } => self
                .bind_ipi(caller, vcpu)
                .map(|p| wire::put_u32(arg, wire::BIND_IPI_PORT, p)),
            Op::Close { port } => self.close(caller, port, mem),
            Op::Send { port } => self.send(caller, port, mem).map(|s| match s {
                Sent::Guest(u) => upcall = u,
                Sent::Hypervisor(h) => hypervisor = Some(h),
            }),
            Op::Status { dom, port } => self
                .status(caller, dom, port)
                .map(|s| wire::encode_status(arg, &s)),
            Op::BindVcpu { port, vcpu } => self.bind_vcpu(caller, port, vcpu),
            Op::Unmask { port } => self.unmask(caller, port, mem).map(|u| upcall = u),
            Op::Reset { dom } => self.reset(caller, dom, mem).map(|_| ()),
        };
        HypercallOutcome {
            ret: r.err().map_or(0, Errno::to_ret),
            upcall,
            hypervisor,
        }
    }

    fn index(&self, dom: DomId) -> Option<usize> {
        self.domains.iter().position(|d| d.id == dom)
    }

    /// Xen's `rcu_lock_domain_by_any_id()`: `DOMID_SELF` is the caller; `-ESRCH` otherwise
    /// if the domain does not exist.
    fn resolve(&self, caller: DomId, dom: DomId) -> Result<DomId, Errno> {
        let id = if dom == DOMID_SELF { caller } else { dom };
        self.index(id).map(|_| id).ok_or(Errno::Srch)
    }

    /// XSM dummy policy, `XSM_TARGET`: the domain itself or a privileged caller.
    fn check_target(&self, caller: DomId, target: DomId) -> Result<(), Errno> {
        if caller == target {
            return Ok(());
        }
        match self.index(caller) {
            Some(c) if self.domains[c].privileged => Ok(()),
            _ => Err(Errno::Perm),
        }
    }

    /// Closes a port known to be bound (not free or reserved).
    fn close_port(&mut self, d: usize, port: Port) -> bool {
        let Some(c) = self.domains[d].chan(port).copied() else {
            return false;
        };
        let id = self.domains[d].id;
        let mut peer_unbound = false;
        match c.state {
            State::Free | State::Reserved => return false,
            State::Virq { virq } => {
                let v = if virq_is_global(virq) {
                    0
                } else {
                    c.notify_vcpu
                };
                if let Some(slot) = self.domains[d].virq_slot(v, virq) {
                    if *slot == port {
                        *slot = 0;
                    }
                }
            }
            State::Interdomain {
                remote,
                port: rport,
            } => {
                if let Some(r) = self.index(remote) {
                    if let Some(rc) = self.domains[r].chan_mut(rport) {
                        if rc.state == (State::Interdomain { remote: id, port }) {
                            rc.state = State::Unbound { remote: id };
                            peer_unbound = true;
                        }
                    }
                }
            }
            State::Unbound { .. } | State::Ipi | State::Hypervisor { .. } => {}
        }
        self.domains[d].free(port);
        peer_unbound
    }

    fn close_all(&mut self, d: usize, bitmaps: Option<&SharedBitmaps<'_>>) -> ResetSummary {
        let mut s = ResetSummary::default();
        for port in 1..self.domains[d].chans.len() as Port {
            if matches!(
                self.domains[d].chan(port).map(|c| c.state),
                Some(State::Free | State::Reserved) | None
            ) {
                continue;
            }
            s.closed += 1;
            if self.close_port(d, port) {
                s.peers_unbound += 1;
            }
            if let Some(b) = bitmaps {
                delivery::clear_pending(b, port);
            }
        }
        s
    }

    /// Sets `port` of domain slot `d` pending toward its notify vCPU.
    fn deliver<M: EventMemory + ?Sized>(
        &mut self,
        d: usize,
        port: Port,
        mem: &M,
    ) -> Option<Upcall> {
        let vcpu = self.domains[d].chan(port)?.notify_vcpu;
        self.deliver_to(d, port, vcpu, mem)
    }

    fn deliver_to<M: EventMemory + ?Sized>(
        &mut self,
        d: usize,
        port: Port,
        vcpu: u32,
        mem: &M,
    ) -> Option<Upcall> {
        let id = self.domains[d].id;
        let Some(bitmaps) = mem.shared_bitmaps(id) else {
            self.domains[d].dropped = self.domains[d].dropped.wrapping_add(1);
            return None;
        };
        let vi = mem.vcpu_info(id, vcpu);
        let r = delivery::set_pending(&bitmaps, vi.as_ref(), port);
        self.count(d, vcpu, r)
    }

    fn count(&mut self, d: usize, vcpu: u32, r: Delivery) -> Option<Upcall> {
        let dom = &mut self.domains[d];
        match r {
            Delivery::Upcall => {
                dom.upcalls = dom.upcalls.wrapping_add(1);
                Some(Upcall { dom: dom.id, vcpu })
            }
            Delivery::Masked => {
                dom.masked = dom.masked.wrapping_add(1);
                None
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::size_of;

    #[test]
    fn per_port_memory() {
        assert!(size_of::<Channel>() <= 12, "{}", size_of::<Channel>());
        assert_eq!(size_of::<[Port; NR_VIRQS as usize]>(), 96);
    }
}
