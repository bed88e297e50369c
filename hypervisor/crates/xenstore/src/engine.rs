//! The store engine: connections (one per domain), requests to replies, watches and
//! transactions.
//!
//! [`Store::handle`] takes one whole request message from a domain and returns what to
//! send: the reply to that domain and the watch events the request fired, for any domain.
//! It never panics, whatever the bytes: a malformed request gets an `XS_ERROR` reply.
//!
//! Rules follow cxenstored (Xen's C xenstored) unless docs/xenstore.md says otherwise:
//!
//! - unknown types (and `XS_WATCH_EVENT`/`XS_ERROR` from a client) are `ENOSYS`;
//!   privileged-only types (`XS_CONTROL`, `XS_INTRODUCE`, `XS_RELEASE`,
//!   `XS_IS_DOMAIN_INTRODUCED`, `XS_RESUME`, `XS_SET_TARGET`) from an unprivileged domain are
//!   `EACCES`; a `tx_id` that is not one of the connection's open transactions is `ENOENT`
//!   (`XS_WATCH` and `XS_UNWATCH` ignore `tx_id`); then the payload is checked.
//! - Transactions are optimistic: a transaction reads the tree as it is when it first looks
//!   at a node, keeps its writes to itself, and at `XS_TRANSACTION_END` commits only if no
//!   node it looked at (read, listed, written, or found missing) has changed generation
//!   since; otherwise the whole transaction is dropped and the answer is `EAGAIN`, and the
//!   client retries (Linux's `xenbus_switch_state()` does). Watches fire at commit.
//! - A watch fires once when set (`XS_WATCH` reply first, then the event), then on every
//!   change at or below its path, for removals of a subtree (a watch above the removed node
//!   hears about that node; a watch on a node below hears about its node), and on permission
//!   changes. A watcher hears only about nodes it may read (under the old or the new
//!   permissions) or whose parent it may read. A relative watch gets relative paths.
//!   `@introduceDomain` and `@releaseDomain` fire on [`Store::connect`] and
//!   [`Store::remove_domain`], to watchers allowed to read the special node (privileged
//!   domains, unless its permissions are changed).

use crate::path::{self, Canonical, INTRODUCE_DOMAIN, RELEASE_DOMAIN};
use crate::perms::{Perms, DOMID_FIRST_RESERVED, XS_PERM_OWNER, XS_PERM_READ, XS_PERM_WRITE};
use crate::store::{Actor, Change, Layers, Node, Overlay, Tree, NODE_OVERHEAD};
use crate::wire::{self, Header, MsgType, XsError, OK_REPLY, XENSTORE_PAYLOAD_MAX};
use crate::DomId;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// Limits on what one domain may hold. Every request from a domain is checked against
/// them (privileged domains included, with [`Quota::PRIVILEGED`]: unlike Xen's dom0, our
/// dom0 shares the hypervisor's heap with everything else). The hypervisor's own domain
/// build helpers are not limited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Nodes the domain owns (`ENOSPC`).
    pub nodes: usize,
    /// Longest value the domain may write (`ENOSPC`).
    pub value_size: usize,
    /// Entries in a permission list the domain sets (`ENOSPC`).
    pub perms: usize,
    /// Watches (`E2BIG`, as cxenstored).
    pub watches: usize,
    /// Open transactions (`ENOSPC`).
    pub transactions: usize,
    /// Nodes one transaction may look at (`ENOSPC`).
    pub tx_nodes: usize,
    /// Bytes: owned nodes ([`Node::cost`]), watches ([`WATCH_OVERHEAD`] + path + token),
    /// and open transactions (their copies of nodes and the paths they looked at)
    /// (`ENOMEM`, as cxenstored's memory quota).
    pub memory: usize,
}

impl Quota {
    /// For unprivileged domains (cxenstored's defaults, smaller where an embedded system
    /// allows: 1000 nodes, 128 watches, 10 transactions there).
    pub const UNPRIVILEGED: Quota = Quota {
        nodes: 256,
        value_size: 2048,
        perms: 5,
        watches: 64,
        transactions: 8,
        tx_nodes: 256,
        memory: 256 * 1024,
    };
    /// For privileged domains (dom0).
    pub const PRIVILEGED: Quota = Quota {
        nodes: 8192,
        value_size: XENSTORE_PAYLOAD_MAX,
        perms: 32,
        watches: 1024,
        transactions: 32,
        tx_nodes: 2048,
        memory: 2 * 1024 * 1024,
    };
}

/// Fixed cost charged per watch, on top of its path and token.
pub const WATCH_OVERHEAD: usize = 64;
/// Fixed cost charged per node a transaction looked at, on top of its path.
pub const TX_ACCESS_OVERHEAD: usize = 48;
/// Most distinct permission lists remembered per pending watch event of a transaction.
const TX_EVENT_PERMS_MAX: usize = 4;

/// What an outgoing message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutKind {
    /// The reply to a request (or `XS_ERROR`): must be delivered.
    Reply,
    /// An `XS_WATCH_EVENT`: may be dropped if the domain does not read its ring.
    WatchEvent,
}

/// A message for a domain's response ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The domain it is for.
    pub domid: DomId,
    /// Reply or watch event.
    pub kind: OutKind,
    /// The whole message, header included.
    pub msg: Vec<u8>,
}

#[derive(Clone, Debug)]
struct Watch {
    /// Canonical path (or special name).
    path: String,
    token: Vec<u8>,
    /// Bytes dropped from event paths: the `/local/domain/<domid>/` of a relative watch.
    prefix_len: usize,
}

impl Watch {
    fn cost(&self) -> usize {
        WATCH_OVERHEAD + self.path.len() + self.token.len()
    }
}

#[derive(Clone, Debug, Default)]
struct Transaction {
    /// Every node looked at, with its generation then (`None`: it did not exist).
    accessed: BTreeMap<String, Option<u64>>,
    /// Writes, applied at commit.
    overlay: Overlay,
    /// Watch events, fired at commit; one per (path, exact).
    changes: Vec<Change>,
    /// What the transaction costs its domain.
    bytes: usize,
}

fn overlay_entry_cost(p: &str, entry: &Option<Node>) -> usize {
    entry.as_ref().map_or(NODE_OVERHEAD + p.len(), |n| n.cost(p))
}

#[derive(Clone, Debug)]
struct Conn {
    privileged: bool,
    watches: Vec<Watch>,
    transactions: BTreeMap<u32, Transaction>,
    next_tx: u32,
}

impl Conn {
    fn new(privileged: bool) -> Conn {
        Conn { privileged, watches: Vec::new(), transactions: BTreeMap::new(), next_tx: 1 }
    }

    fn watch_bytes(&self) -> usize {
        self.watches.iter().map(Watch::cost).sum()
    }

    fn tx_bytes(&self) -> usize {
        self.transactions.values().map(|t| t.bytes).sum()
    }
}

/// The store: the tree, the connected domains, the special nodes.
#[derive(Clone, Debug)]
pub struct Store {
    tree: Tree,
    conns: BTreeMap<DomId, Conn>,
    introduce_perms: Perms,
    release_perms: Perms,
    unprivileged: Quota,
    privileged: Quota,
}

impl Default for Store {
    fn default() -> Store {
        Store::new()
    }
}

/// What a request handler returns: the reply payload, and watch events to send after it.
type Handled = Result<(Vec<u8>, Vec<Outgoing>), XsError>;

impl Store {
    /// An empty store (`/`, `/local`, `/local/domain`, owned by dom0, `n0`) with the
    /// default quotas and no domain connected.
    pub fn new() -> Store {
        Store::with_quotas(Quota::UNPRIVILEGED, Quota::PRIVILEGED)
    }

    /// An empty store with the given quotas.
    pub fn with_quotas(unprivileged: Quota, privileged: Quota) -> Store {
        Store {
            tree: Tree::new(),
            conns: BTreeMap::new(),
            introduce_perms: Perms::owned_by(0),
            release_perms: Perms::owned_by(0),
            unprivileged,
            privileged,
        }
    }

    // ---------------------------------------------------------------------------------
    // Domains.

    /// Connects (introduces) domain `domid`: from now on [`Store::handle`] serves its
    /// requests. Fires `@introduceDomain`. `EEXIST` if it is connected already, `EINVAL` for a
    /// reserved id.
    pub fn connect(&mut self, domid: DomId, privileged: bool) -> Result<Vec<Outgoing>, XsError> {
        if u32::from(domid) >= DOMID_FIRST_RESERVED {
            return Err(XsError::EINVAL);
        }
        if self.conns.contains_key(&domid) {
            return Err(XsError::EEXIST);
        }
        self.conns.insert(domid, Conn::new(privileged));
        Ok(self.fire_special(INTRODUCE_DOMAIN))
    }

    /// Whether domain `domid` is connected.
    pub fn is_connected(&self, domid: DomId) -> bool {
        self.conns.contains_key(&domid)
    }

    /// The connected domains.
    pub fn domains(&self) -> impl Iterator<Item = DomId> + '_ {
        self.conns.keys().copied()
    }

    /// Domain `domid` is gone: drops its connection, watches and transactions, scrubs it
    /// from every permission list (what it owned passes to dom0, see [`Perms::forget`]),
    /// and fires `@releaseDomain` if it was connected. Its nodes stay: removing
    /// `/local/domain/<domid>` and its backend entries is the caller's business
    /// ([`Store::rm_tree`]), as it is the toolstack's on Xen.
    pub fn remove_domain(&mut self, domid: DomId) -> Vec<Outgoing> {
        let was = self.conns.remove(&domid).is_some();
        self.tree.forget_domain(domid);
        self.introduce_perms.forget(domid);
        self.release_perms.forget(domid);
        if was {
            self.fire_special(RELEASE_DOMAIN)
        } else {
            Vec::new()
        }
    }

    /// Drops domain `domid`'s watches and transactions, keeping it connected: what the
    /// hypervisor does when the domain's ring breaks (cxenstored's `ignore_connection()`).
    pub fn reset_connection(&mut self, domid: DomId) {
        if let Some(c) = self.conns.get_mut(&domid) {
            c.watches.clear();
            c.transactions.clear();
        }
    }

    fn quota(&self, domid: DomId) -> &Quota {
        match self.conns.get(&domid) {
            Some(c) if c.privileged => &self.privileged,
            _ => &self.unprivileged,
        }
    }

    /// Bytes charged to domain `domid` (its nodes, watches and open transactions).
    pub fn memory(&self, domid: DomId) -> usize {
        let conn = self.conns.get(&domid).map_or(0, |c| c.watch_bytes() + c.tx_bytes());
        self.tree.usage(domid).bytes + conn
    }

    /// Nodes owned by domain `domid`.
    pub fn node_count(&self, domid: DomId) -> usize {
        self.tree.usage(domid).nodes
    }

    /// Number of watches domain `domid` has.
    pub fn watch_count(&self, domid: DomId) -> usize {
        self.conns.get(&domid).map_or(0, |c| c.watches.len())
    }

    /// Number of transactions domain `domid` has open.
    pub fn transaction_count(&self, domid: DomId) -> usize {
        self.conns.get(&domid).map_or(0, |c| c.transactions.len())
    }

    // ---------------------------------------------------------------------------------
    // Reading, for the hypervisor (monitor, backends it runs itself): no permission check.

    /// The value of `path` (absolute).
    pub fn read(&self, path: &str) -> Option<&[u8]> {
        self.tree.get(path).map(|n| n.value.as_slice())
    }

    /// The children of `path`.
    pub fn children(&self, path: &str) -> Option<&[String]> {
        self.tree.get(path).map(|n| n.children.as_slice())
    }

    /// The permissions of `path`.
    pub fn perms(&self, path: &str) -> Option<&Perms> {
        self.tree.get(path).map(|n| &n.perms)
    }

    /// The tree.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    // ---------------------------------------------------------------------------------
    // Domain build helpers: the hypervisor acting as the toolstack.

    /// Writes `value` at absolute `path` and gives the node `perms` (owner first), creating
    /// missing ancestors (they inherit their parent's permissions). Fires watches. No quota
    /// applies. Example: `write_as("/local/domain/1/device/vkbd/0/backend-id", b"0",
    /// &Perms::owned_by(1).with(0, Access::Read))`.
    pub fn write_as(
        &mut self,
        path: &str,
        value: &[u8],
        perms: &Perms,
    ) -> Result<Vec<Outgoing>, XsError> {
        let p = path::absolute(path)?;
        self.builder(|l, c| {
            l.write(Actor::HYPERVISOR, &p, value, c)?;
            set_perms_quiet(l, &p, perms);
            Ok(())
        })
    }

    /// Creates absolute `path` (empty value) if missing, and gives it `perms`.
    pub fn mkdir_as(&mut self, path: &str, perms: &Perms) -> Result<Vec<Outgoing>, XsError> {
        let p = path::absolute(path)?;
        self.builder(|l, c| {
            l.mkdir(Actor::HYPERVISOR, &p, c)?;
            set_perms_quiet(l, &p, perms);
            Ok(())
        })
    }

    /// Gives absolute `path` (which must exist) `perms`. Fires watches.
    pub fn set_perms_as(&mut self, path: &str, perms: &Perms) -> Result<Vec<Outgoing>, XsError> {
        let p = path::absolute(path)?;
        self.builder(|l, c| l.set_perms(Actor::HYPERVISOR, &p, perms.clone(), c))
    }

    /// Removes absolute `path` and everything below it; nothing if it does not exist.
    /// `EINVAL` for `/`.
    pub fn rm_tree(&mut self, path: &str) -> Result<Vec<Outgoing>, XsError> {
        let p = path::absolute(path)?;
        if p == "/" {
            return Err(XsError::EINVAL);
        }
        if self.tree.get(&p).is_none() {
            return Ok(Vec::new());
        }
        self.builder(|l, c| l.remove_subtree(&p, c))
    }

    /// Sets the permissions of `@introduceDomain` or `@releaseDomain` (initially `n0`: only
    /// privileged domains hear about domains coming and going).
    pub fn set_special_perms(&mut self, name: &str, perms: Perms) -> Result<(), XsError> {
        *self.special_perms_mut(name).ok_or(XsError::ENOENT)? = perms;
        Ok(())
    }

    fn builder(
        &mut self,
        op: impl FnOnce(&mut Layers, &mut Vec<Change>) -> Result<(), XsError>,
    ) -> Result<Vec<Outgoing>, XsError> {
        let mut changes = Vec::new();
        let scratch = {
            let mut l = Layers::new(&self.tree, None);
            op(&mut l, &mut changes)?;
            l.scratch
        };
        self.tree.apply(scratch);
        let mut out = Vec::new();
        self.fire(&changes, &mut out);
        Ok(out)
    }

    // ---------------------------------------------------------------------------------
    // Requests.

    /// Handles one request message (header and payload) from domain `domid`: returns the
    /// reply for `domid` and any watch events, in the order to send them. A message that is
    /// not even a header, or from a domain that is not connected, is dropped (nothing to
    /// reply to). A header whose `len` disagrees with the message gets `EINVAL`.
    pub fn handle(&mut self, domid: DomId, msg: &[u8]) -> Vec<Outgoing> {
        let Some(hdr) = Header::parse(msg) else { return Vec::new() };
        if !self.conns.contains_key(&domid) {
            return Vec::new();
        }
        let result = match wire::split(msg) {
            Some((hdr, payload)) => self.dispatch(domid, &hdr, payload),
            None => Err(XsError::EINVAL),
        };
        let reply = |kind_msg: Vec<u8>| Outgoing { domid, kind: OutKind::Reply, msg: kind_msg };
        match result {
            Ok((payload, events)) if payload.len() <= XENSTORE_PAYLOAD_MAX => {
                // Events the request fired go before its reply (as cxenstored queues them),
                // except the first event of a new watch, which follows the reply.
                let (mut out, after): (Vec<Outgoing>, Vec<Outgoing>) = if hdr.ty == wire::XS_WATCH {
                    (Vec::new(), events)
                } else {
                    (events, Vec::new())
                };
                out.push(reply(wire::reply(&hdr, hdr.ty, &payload)));
                out.extend(after);
                out
            }
            // Too long for one message (a directory with many children): E2BIG, as Xen.
            // Nothing changed: only reads produce long replies.
            Ok(_) => vec![reply(wire::error_reply(&hdr, XsError::E2BIG))],
            Err(e) => vec![reply(wire::error_reply(&hdr, e))],
        }
    }

    fn dispatch(&mut self, domid: DomId, hdr: &Header, payload: &[u8]) -> Handled {
        let ty = MsgType::from_wire(hdr.ty).ok_or(XsError::ENOSYS)?;
        let conn = self.conns.get(&domid).ok_or(XsError::EIO)?;
        let actor = Actor { domid, privileged: conn.privileged };
        let privileged_only = matches!(
            ty,
            MsgType::Control
                | MsgType::Introduce
                | MsgType::Release
                | MsgType::IsDomainIntroduced
                | MsgType::Resume
                | MsgType::SetTarget
        );
        if privileged_only && !actor.privileged {
            return Err(XsError::EACCES);
        }
        let ignores_tx = matches!(ty, MsgType::Watch | MsgType::Unwatch);
        let tx = match hdr.tx_id {
            0 => None,
            _ if ignores_tx => None,
            id if conn.transactions.contains_key(&id) => Some(id),
            _ => return Err(XsError::ENOENT),
        };
        let quota = *self.quota(domid);
        let ok = |events: Vec<Outgoing>| -> Handled { Ok((Vec::from(OK_REPLY), events)) };
        match ty {
            MsgType::Read => {
                let p = self.path_arg(domid, payload, false)?;
                self.run(actor, tx, |l, _| l.read(actor, &p.path))
            }
            MsgType::Directory => {
                let p = self.path_arg(domid, payload, false)?;
                self.run(actor, tx, |l, _| l.directory(actor, &p.path))
            }
            MsgType::DirectoryPart => {
                let [raw, off] = wire::args::<2>(payload)?;
                let p = path::canonicalize(domid, raw, false)?;
                let off = wire::parse_u32(off).ok_or(XsError::EINVAL)? as usize;
                self.run(actor, tx, |l, _| l.directory_part(actor, &p.path, off))
            }
            MsgType::GetPerms => {
                let p = self.path_arg(domid, payload, true)?;
                if p.is_special() {
                    let perms = self.special_perms(&p.path).ok_or(XsError::ENOENT)?;
                    return match perms.access_bits(domid, actor.privileged) & XS_PERM_READ {
                        0 => Err(XsError::EACCES),
                        _ => Ok((perms.to_wire(), Vec::new())),
                    };
                }
                self.run(actor, tx, |l, _| l.get_perms(actor, &p.path).map(|p| p.to_wire()))
            }
            MsgType::Write => {
                let (raw, value) = wire::path_and_value(payload)?;
                let p = path::canonicalize(domid, raw, false)?;
                if value.len() > quota.value_size {
                    return Err(XsError::ENOSPC);
                }
                let (_, events) = self.run(actor, tx, |l, c| l.write(actor, &p.path, value, c))?;
                ok(events)
            }
            MsgType::Mkdir => {
                let p = self.path_arg(domid, payload, false)?;
                let (_, events) = self.run(actor, tx, |l, c| l.mkdir(actor, &p.path, c))?;
                ok(events)
            }
            MsgType::Rm => {
                let p = self.path_arg(domid, payload, false)?;
                let (_, events) = self.run(actor, tx, |l, c| l.rm(actor, &p.path, c))?;
                ok(events)
            }
            MsgType::SetPerms => {
                let args = wire::all_args(payload)?;
                let (raw, perm_strings) = args.split_first().ok_or(XsError::EINVAL)?;
                if perm_strings.is_empty() {
                    return Err(XsError::EINVAL);
                }
                if perm_strings.len() > quota.perms {
                    return Err(XsError::ENOSPC);
                }
                let perms = Perms::parse(perm_strings)?;
                let p = path::canonicalize(domid, raw, true)?;
                if p.is_special() {
                    self.set_special_from(actor, &p.path, perms)?;
                    return ok(Vec::new());
                }
                let (_, events) = self.run(actor, tx, |l, c| l.set_perms(actor, &p.path, perms, c))?;
                ok(events)
            }
            MsgType::Watch => self.watch(domid, payload, &quota),
            MsgType::Unwatch => {
                let [raw, token] = wire::args::<2>(payload)?;
                let p = path::canonicalize(domid, raw, true)?;
                let conn = self.conns.get_mut(&domid).ok_or(XsError::EIO)?;
                let i = conn
                    .watches
                    .iter()
                    .position(|w| w.path == p.path && w.token == token)
                    .ok_or(XsError::ENOENT)?;
                conn.watches.remove(i);
                ok(Vec::new())
            }
            MsgType::ResetWatches => {
                let [arg] = wire::args::<1>(payload)?;
                if !arg.is_empty() {
                    return Err(XsError::EINVAL);
                }
                self.reset_connection(domid);
                ok(Vec::new())
            }
            MsgType::TransactionStart => self.transaction_start(domid, tx, payload, &quota),
            MsgType::TransactionEnd => {
                let [arg] = wire::args::<1>(payload)?;
                let commit = match arg {
                    b"T" => true,
                    b"F" => false,
                    _ => return Err(XsError::EINVAL),
                };
                let id = tx.ok_or(XsError::ENOENT)?;
                self.transaction_end(domid, id, commit).and_then(ok)
            }
            MsgType::GetDomainPath => {
                let d = domid_arg(payload)?;
                let mut p = Vec::from(path::domain_path(d).as_bytes());
                p.push(0);
                Ok((p, Vec::new()))
            }
            MsgType::IsDomainIntroduced => {
                let d = domid_arg(payload)?;
                let answer: &[u8] = if self.conns.contains_key(&d) { b"T\0" } else { b"F\0" };
                Ok((Vec::from(answer), Vec::new()))
            }
            MsgType::Introduce => {
                // domid, ring frame, event channel. Rings are the hypervisor's business
                // (Store::connect): a connected domain is introduced already (Xen answers a
                // repeated introduce with OK too), any other is unknown here.
                let [d, gfn, port] = wire::args::<3>(payload)?;
                let d = parse_domid(d)?;
                wire::parse_u64(gfn).ok_or(XsError::EINVAL)?;
                wire::parse_u32(port).ok_or(XsError::EINVAL)?;
                if self.conns.contains_key(&d) {
                    ok(Vec::new())
                } else {
                    Err(XsError::ENOENT)
                }
            }
            MsgType::Release => {
                let d = domid_arg(payload)?;
                if d == domid {
                    return Err(XsError::EINVAL);
                }
                if !self.conns.contains_key(&d) {
                    return Err(XsError::ENOENT);
                }
                let events = self.remove_domain(d);
                ok(events)
            }
            MsgType::Resume => {
                let d = domid_arg(payload)?;
                if self.conns.contains_key(&d) {
                    ok(Vec::new())
                } else {
                    Err(XsError::ENOENT)
                }
            }
            // Device-model stub domains do not exist here.
            MsgType::SetTarget => Err(XsError::ENOSYS),
            MsgType::Control => self.control(payload),
            MsgType::WatchEvent | MsgType::Error => Err(XsError::ENOSYS),
        }
    }

    fn path_arg(
        &self,
        domid: DomId,
        payload: &[u8],
        allow_special: bool,
    ) -> Result<Canonical, XsError> {
        let [raw] = wire::args::<1>(payload)?;
        path::canonicalize(domid, raw, allow_special)
    }

    /// Runs a node operation for `actor`, directly or inside transaction `tx`, and returns
    /// its result and the watch events it fired (none inside a transaction: they wait for
    /// the commit).
    fn run<T>(
        &mut self,
        actor: Actor,
        tx: Option<u32>,
        op: impl FnOnce(&mut Layers, &mut Vec<Change>) -> Result<T, XsError>,
    ) -> Result<(T, Vec<Outgoing>), XsError> {
        let mut changes = Vec::new();
        let (result, scratch, accessed) = {
            let overlay = match tx {
                Some(id) => {
                    let conn = self.conns.get(&actor.domid).ok_or(XsError::EIO)?;
                    Some(&conn.transactions.get(&id).ok_or(XsError::ENOENT)?.overlay)
                }
                None => None,
            };
            let mut l = Layers::new(&self.tree, overlay);
            let r = op(&mut l, &mut changes);
            (r, l.scratch, l.accessed)
        };
        match tx {
            None => {
                let value = result?;
                self.check_node_quota(&scratch)?;
                self.tree.apply(scratch);
                let mut out = Vec::new();
                self.fire(&changes, &mut out);
                Ok((value, out))
            }
            Some(id) => {
                let quota = *self.quota(actor.domid);
                let memory = self.memory(actor.domid);
                let tree = &mut self.tree;
                let conn = self.conns.get_mut(&actor.domid).ok_or(XsError::EIO)?;
                let t = conn.transactions.get_mut(&id).ok_or(XsError::ENOENT)?;
                let new: Vec<String> =
                    accessed.into_iter().filter(|p| !t.accessed.contains_key(p)).collect();
                if t.accessed.len() + new.len() > quota.tx_nodes {
                    return Err(XsError::ENOSPC);
                }
                let mut grow: usize = new.iter().map(|p| TX_ACCESS_OVERHEAD + p.len()).sum();
                let mut shrink = 0;
                if result.is_ok() {
                    for (p, e) in &scratch {
                        grow += overlay_entry_cost(p, e);
                        shrink += t.overlay.get(p).map_or(0, |old| overlay_entry_cost(p, old));
                    }
                }
                if grow > shrink && memory + (grow - shrink) > quota.memory {
                    return Err(XsError::ENOMEM);
                }
                // Looked at, even if the operation failed: its answer depended on it.
                for p in new {
                    let gen = tree.get(&p).map(|n| n.gen);
                    t.accessed.insert(p, gen);
                }
                t.bytes = (t.bytes + grow).saturating_sub(shrink);
                let value = result?;
                for (p, mut e) in scratch {
                    if let Some(n) = e.as_mut() {
                        // Fresh generations for what the transaction changed, so that
                        // XS_DIRECTORY_PART inside it sees its own changes as changes.
                        n.gen = tree.next_gen();
                    }
                    t.overlay.insert(p, e);
                }
                for ch in changes {
                    queue_change(&mut t.changes, ch);
                }
                Ok((value, Vec::new()))
            }
        }
    }

    /// Checks that applying `overlay` keeps every domain it charges within its node and
    /// memory quotas (requests from domains only; frees always pass).
    fn check_node_quota(&self, overlay: &Overlay) -> Result<(), XsError> {
        for (domid, (nodes, bytes)) in self.tree.delta(overlay) {
            let q = self.quota(domid);
            if nodes > 0 && self.tree.usage(domid).nodes + nodes as usize > q.nodes {
                return Err(XsError::ENOSPC);
            }
            if bytes > 0 && self.memory(domid) + bytes as usize > q.memory {
                return Err(XsError::ENOMEM);
            }
        }
        Ok(())
    }

    fn watch(&mut self, domid: DomId, payload: &[u8], quota: &Quota) -> Handled {
        let [raw, token] = wire::args::<2>(payload)?;
        let p = path::canonicalize(domid, raw, true)?;
        let memory = self.memory(domid);
        let conn = self.conns.get_mut(&domid).ok_or(XsError::EIO)?;
        if conn.watches.iter().any(|w| w.path == p.path && w.token == token) {
            return Err(XsError::EEXIST);
        }
        if conn.watches.len() >= quota.watches {
            return Err(XsError::E2BIG);
        }
        let w = Watch { path: p.path, token: Vec::from(token), prefix_len: p.prefix_len };
        if memory + w.cost() > quota.memory {
            return Err(XsError::ENOMEM);
        }
        // Fires once up front, whatever the permissions ("simplifies clients and restart").
        let first = watch_event_for(domid, &w, &w.path);
        conn.watches.push(w);
        Ok((Vec::from(OK_REPLY), first.into_iter().collect()))
    }

    fn transaction_start(
        &mut self,
        domid: DomId,
        tx: Option<u32>,
        payload: &[u8],
        quota: &Quota,
    ) -> Handled {
        if tx.is_some() {
            return Err(XsError::EBUSY);
        }
        let [arg] = wire::args::<1>(payload)?;
        if !arg.is_empty() {
            return Err(XsError::EINVAL);
        }
        let conn = self.conns.get_mut(&domid).ok_or(XsError::EIO)?;
        if conn.transactions.len() >= quota.transactions {
            return Err(XsError::ENOSPC);
        }
        // Ids are per connection, never 0, not one in use; the number of open
        // transactions is bounded, so this finds one quickly.
        let mut id = conn.next_tx;
        while id == 0 || conn.transactions.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        conn.next_tx = id.wrapping_add(1);
        conn.transactions.insert(id, Transaction::default());
        let mut reply = Vec::new();
        wire::push_decimal(&mut reply, u64::from(id));
        reply.push(0);
        Ok((reply, Vec::new()))
    }

    fn transaction_end(
        &mut self,
        domid: DomId,
        id: u32,
        commit: bool,
    ) -> Result<Vec<Outgoing>, XsError> {
        let conn = self.conns.get_mut(&domid).ok_or(XsError::EIO)?;
        let t = conn.transactions.remove(&id).ok_or(XsError::ENOENT)?;
        if !commit {
            return Ok(Vec::new());
        }
        let conflict = t.accessed.iter().any(|(p, gen)| self.tree.get(p).map(|n| n.gen) != *gen);
        if conflict {
            return Err(XsError::EAGAIN);
        }
        self.check_node_quota(&t.overlay)?;
        if !t.overlay.is_empty() {
            self.tree.apply(t.overlay);
        }
        let mut out = Vec::new();
        self.fire(&t.changes, &mut out);
        Ok(out)
    }

    fn special_perms(&self, name: &str) -> Option<&Perms> {
        match name {
            INTRODUCE_DOMAIN => Some(&self.introduce_perms),
            RELEASE_DOMAIN => Some(&self.release_perms),
            _ => None,
        }
    }

    fn special_perms_mut(&mut self, name: &str) -> Option<&mut Perms> {
        match name {
            INTRODUCE_DOMAIN => Some(&mut self.introduce_perms),
            RELEASE_DOMAIN => Some(&mut self.release_perms),
            _ => None,
        }
    }

    fn set_special_from(&mut self, actor: Actor, name: &str, perms: Perms) -> Result<(), XsError> {
        let current = self.special_perms_mut(name).ok_or(XsError::ENOENT)?;
        let bits = current.access_bits(actor.domid, actor.privileged);
        if bits & (XS_PERM_WRITE | XS_PERM_OWNER) != (XS_PERM_WRITE | XS_PERM_OWNER) {
            return Err(XsError::EACCES);
        }
        if !actor.privileged && perms.owner() != current.owner() {
            return Err(XsError::EACCES);
        }
        *current = perms;
        Ok(())
    }

    fn control(&mut self, payload: &[u8]) -> Handled {
        let args = wire::all_args(payload)?;
        match args.first().copied() {
            Some(b"check") => {
                self.check().map_err(|_| XsError::EIO)?;
                Ok((Vec::from(OK_REPLY), Vec::new()))
            }
            Some(b"help") => Ok((Vec::from(&b"check\nhelp\n\0"[..]), Vec::new())),
            _ => Err(XsError::EINVAL),
        }
    }

    // ---------------------------------------------------------------------------------
    // Watches.

    fn fire_special(&self, name: &str) -> Vec<Outgoing> {
        let perms = self.special_perms(name).cloned().unwrap_or_else(|| Perms::owned_by(0));
        let mut out = Vec::new();
        let change = Change { path: String::from(name), exact: true, perms: vec![perms] };
        self.fire(&[change], &mut out);
        out
    }

    /// Turns changes into watch events (cxenstored's `fire_watches()`).
    fn fire(&self, changes: &[Change], out: &mut Vec<Outgoing>) {
        for ch in changes {
            for (&domid, conn) in &self.conns {
                if conn.watches.is_empty() {
                    continue;
                }
                let may_read =
                    ch.perms.iter().any(|p| p.access_bits(domid, conn.privileged) & XS_PERM_READ != 0);
                if !may_read {
                    continue;
                }
                for w in &conn.watches {
                    let hit =
                        if ch.exact { w.path == ch.path } else { path::is_child(&ch.path, &w.path) };
                    if hit {
                        out.extend(watch_event_for(domid, w, &ch.path));
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------
    // Invariants.

    /// Checks the store's invariants (the tree's, [`Tree::check`], and the connections'):
    /// what the fuzzer and `XS_CONTROL check` run.
    pub fn check(&self) -> Result<(), &'static str> {
        self.tree.check()?;
        for conn in self.conns.values() {
            for (i, w) in conn.watches.iter().enumerate() {
                if conn.watches[..i].iter().any(|v| v.path == w.path && v.token == w.token) {
                    return Err("duplicate watch");
                }
                if w.prefix_len > w.path.len() || w.token.contains(&0) {
                    return Err("malformed watch");
                }
            }
            if conn.transactions.contains_key(&0) {
                return Err("transaction id 0");
            }
            for t in conn.transactions.values() {
                let bytes: usize = t.accessed.keys().map(|p| TX_ACCESS_OVERHEAD + p.len()).sum::<usize>()
                    + t.overlay.iter().map(|(p, e)| overlay_entry_cost(p, e)).sum::<usize>();
                if bytes != t.bytes {
                    return Err("transaction accounting mismatch");
                }
                if t.overlay.keys().any(|p| !t.accessed.contains_key(p)) {
                    return Err("transaction wrote a node it did not look at");
                }
            }
        }
        Ok(())
    }
}

/// Gives `p` (in the scratch overlay) `perms` without a separate watch event: the build
/// helpers' write or mkdir already fired one for the node.
fn set_perms_quiet(l: &mut Layers, p: &str, perms: &Perms) {
    let mut ignored = Vec::new();
    // The hypervisor may do anything, and `p` exists after the write/mkdir.
    let _ = l.set_perms(Actor::HYPERVISOR, p, perms.clone(), &mut ignored);
}

/// The event for watch `w` (of domain `domid`) about `node`: relative watches get the path
/// without their domain's home prefix.
fn watch_event_for(domid: DomId, w: &Watch, node: &str) -> Option<Outgoing> {
    // A relative watch only matches nodes below its own (relative) path, so the prefix is
    // always there; the fallback to the full path is for safety only.
    let shown = match w.prefix_len {
        0 => node,
        n => node.get(n..).filter(|s| !s.is_empty()).unwrap_or(node),
    };
    let msg = wire::watch_event(shown.as_bytes(), &w.token)?;
    Some(Outgoing { domid, kind: OutKind::WatchEvent, msg })
}

/// Queues a transaction's change, once per (path, exact) (cxenstored's `queue_watches()`),
/// keeping the permission lists that decide who hears about it.
fn queue_change(queue: &mut Vec<Change>, ch: Change) {
    match queue.iter_mut().find(|q| q.path == ch.path && q.exact == ch.exact) {
        Some(q) => {
            for p in ch.perms {
                if !q.perms.contains(&p) {
                    if q.perms.len() >= TX_EVENT_PERMS_MAX {
                        q.perms.pop();
                    }
                    q.perms.push(p);
                }
            }
        }
        None => queue.push(ch),
    }
}

fn parse_domid(s: &[u8]) -> Result<DomId, XsError> {
    wire::parse_u32(s)
        .filter(|&d| d < DOMID_FIRST_RESERVED)
        .map(|d| d as DomId)
        .ok_or(XsError::EINVAL)
}

fn domid_arg(payload: &[u8]) -> Result<DomId, XsError> {
    let [d] = wire::args::<1>(payload)?;
    parse_domid(d)
}
