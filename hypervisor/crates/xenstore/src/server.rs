//! The store and every domain's ring, together: what the hypervisor calls.
//!
//! The hypervisor owns one [`Server`] (behind one lock). For each domain it creates the
//! ring page (zeroed, `server_features` =
//! [`SERVER_FEATURES`](crate::ring::SERVER_FEATURES), `connection` =
//! `XENSTORE_CONNECTED`), binds an event channel to itself, publishes both through
//! `HVM_PARAM_STORE_PFN` / `HVM_PARAM_STORE_EVTCHN`, writes the domain's nodes with the
//! store's build helpers and calls [`Server::connect`]. Then:
//!
//! - when the domain signals the store event channel: [`Server::on_event`] with that
//!   domain's page. It takes requests (up to [`MAX_REQUESTS_PER_EVENT`]), answers them, and
//!   writes what fits of the replies. Notify the domain if [`Served::notify`]; call
//!   [`Server::flush`] for every domain in [`Served::dirty`] (watch events were queued for
//!   them) and notify those for which it says so; if [`Served::more`], call `on_event`
//!   again soon (after other work: a guest cannot monopolise the CPU);
//! - if [`Served::broken`] is set, the guest broke the protocol (garbage ring indices, or a
//!   header announcing more than `XENSTORE_PAYLOAD_MAX`): log it once. The page's `error`
//!   field says why (`XENSTORE_ERROR_RINGIDX`, `XENSTORE_ERROR_PROTO`), the domain's
//!   watches and transactions are gone, and its ring is not served any more (its nodes
//!   stay: it is still "introduced"). Linux does not recover from that; its xenbus calls
//!   hang, exactly as with Xen's xenstored;
//! - domain build and teardown: the helpers of [`Server::store_mut`] return the watch
//!   events they fire: pass them to [`Server::deliver`], then flush the dirty domains.
//!   [`Server::remove_domain`] when a domain is destroyed.

use crate::engine::{Outgoing, Store};
use crate::ring::{Port, PortState, RingError, RingPage};
use crate::wire::XsError;
use crate::DomId;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Most requests served per [`Server::on_event`] call.
pub const MAX_REQUESTS_PER_EVENT: usize = 16;

/// What [`Server::on_event`] or [`Server::flush`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Served {
    /// Notify the domain (its ring moved).
    pub notify: bool,
    /// Requests remain in the ring: call `on_event` again.
    pub more: bool,
    /// Other domains with new output queued: `flush` them.
    pub dirty: Vec<DomId>,
    /// The connection broke just now.
    pub broken: Option<RingError>,
}

/// The store with one [`Port`] per connected domain.
#[derive(Clone, Debug, Default)]
pub struct Server {
    store: Store,
    ports: BTreeMap<DomId, Port>,
}

impl Server {
    /// A server over `store` (already holding the nodes the hypervisor wrote, perhaps).
    pub fn new(store: Store) -> Server {
        Server { store, ports: BTreeMap::new() }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store, for the build helpers (deliver what they return).
    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    /// Domain `domid`'s connection.
    pub fn port(&self, domid: DomId) -> Option<&Port> {
        self.ports.get(&domid)
    }

    /// Connects domain `domid` (its ring page is ready): returns the domains to flush
    /// (watchers of `@introduceDomain`).
    pub fn connect(&mut self, domid: DomId, privileged: bool) -> Result<Vec<DomId>, XsError> {
        let out = self.store.connect(domid, privileged)?;
        self.ports.insert(domid, Port::new());
        Ok(self.deliver(out))
    }

    /// Domain `domid` is gone: returns the domains to flush (watchers of `@releaseDomain`).
    pub fn remove_domain(&mut self, domid: DomId) -> Vec<DomId> {
        self.ports.remove(&domid);
        let out = self.store.remove_domain(domid);
        self.deliver(out)
    }

    /// Queues messages for their domains; returns the domains to flush.
    pub fn deliver(&mut self, out: Vec<Outgoing>) -> Vec<DomId> {
        self.sync_ports();
        let mut dirty = Vec::new();
        route(&mut self.ports, out, None, &mut dirty);
        dirty
    }

    /// Serves domain `domid` after it signalled: its requests, then its output.
    pub fn on_event(&mut self, domid: DomId, ring: &mut impl RingPage) -> Served {
        let mut served = Served::default();
        let mut handled = 0;
        self.sync_ports();
        loop {
            let Some(port) = self.ports.get_mut(&domid).filter(|p| p.is_active()) else { break };
            match port.push(ring) {
                Ok(wrote) => served.notify |= wrote,
                Err(e) => {
                    self.break_port(domid, ring, e, &mut served);
                    break;
                }
            }
            if !port.wants_requests() {
                // The guest reads its replies first; it signals when it has.
                break;
            }
            if handled == MAX_REQUESTS_PER_EVENT {
                served.more = true;
                break;
            }
            let msg = match port.pull(ring) {
                Ok(pulled) => {
                    served.notify |= pulled.consumed;
                    match pulled.msg {
                        Some(msg) => msg,
                        None => break,
                    }
                }
                Err(e) => {
                    self.break_port(domid, ring, e, &mut served);
                    break;
                }
            };
            handled += 1;
            let out = self.store.handle(domid, &msg);
            route(&mut self.ports, out, Some(domid), &mut served.dirty);
            // XS_RELEASE may have disconnected another domain.
            self.sync_ports();
        }
        served.dirty.sort_unstable();
        served.dirty.dedup();
        served
    }

    /// Writes what fits of domain `domid`'s queued output.
    pub fn flush(&mut self, domid: DomId, ring: &mut impl RingPage) -> Served {
        let mut served = Served::default();
        self.sync_ports();
        if let Some(port) = self.ports.get_mut(&domid).filter(|p| p.is_active()) {
            match port.push(ring) {
                Ok(wrote) => served.notify = wrote,
                Err(e) => self.break_port(domid, ring, e, &mut served),
            }
        }
        served
    }

    /// Drops the ports of domains the store no longer serves (released by `XS_RELEASE`, or
    /// removed from the store directly).
    fn sync_ports(&mut self) {
        let store = &self.store;
        self.ports.retain(|d, _| store.is_connected(*d));
    }

    fn break_port(
        &mut self,
        domid: DomId,
        ring: &mut impl RingPage,
        err: RingError,
        served: &mut Served,
    ) {
        if let Some(port) = self.ports.get_mut(&domid) {
            port.break_with(ring, err);
        }
        self.store.reset_connection(domid);
        served.broken = Some(err);
        served.notify = true;
    }

    /// Whether domain `domid`'s ring is served.
    pub fn is_serving(&self, domid: DomId) -> bool {
        self.ports.get(&domid).is_some_and(|p| p.state() == PortState::Active)
    }
}

fn route(
    ports: &mut BTreeMap<DomId, Port>,
    out: Vec<Outgoing>,
    from: Option<DomId>,
    dirty: &mut Vec<DomId>,
) {
    for o in out {
        if let Some(port) = ports.get_mut(&o.domid).filter(|p| p.is_active()) {
            port.queue(o.kind, o.msg);
            if Some(o.domid) != from {
                dirty.push(o.domid);
            }
        }
    }
    dirty.sort_unstable();
    dirty.dedup();
}
