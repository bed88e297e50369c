//! The fuzz and property harness (feature `harness`; never in the hypervisor).
//!
//! [`run`] reads arbitrary bytes as a script of steps by three domains (dom0 privileged,
//! domains 1 and 2 not): raw byte strings handed to [`Store::handle`] as messages,
//! well-formed requests built from a dictionary of the paths Linux uses (so that the
//! fuzzer reaches deep states quickly), request bytes written into a domain's ring page in
//! arbitrary pieces and served by [`Server::on_event`], garbage ring indices, the guest
//! reading its responses, domains destroyed and rebuilt. After every step it checks:
//!
//! - every request with a header gets exactly one reply, to its sender, echoing `req_id`
//!   and `tx_id`, of the request's type or `XS_ERROR` with an error name Linux knows;
//! - every message is well framed (`len` matches, at most `XENSTORE_PAYLOAD_MAX`), watch
//!   events carry exactly `path\0token\0` and go only to domains that have watches;
//! - the store's invariants ([`Store::check`]): tree structure, accounting;
//! - bounded memory: no request makes an unprivileged domain grow beyond its quotas (nodes,
//!   memory); no domain exceeds its watch and transaction quotas; per-domain output queues
//!   stay within their bounds;
//! - the response stream a guest reads always reassembles into valid messages.
//!
//! It returns the first violation as an error; it never panics itself.

use crate::engine::{OutKind, Outgoing, Quota, Store};
use crate::perms::{Access, Perms};
use crate::ring::{MemRing, Reassembler, RingPage, EVENT_QUEUE_MAX, REPLY_HIGH_WATER};
use crate::server::Server;
use crate::wire::{self, MsgType, XsError, XENSTORE_PAYLOAD_MAX, XSD_SOCKMSG_SIZE};
use crate::DomId;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Quotas small enough for the fuzzer to hit them.
pub const FUZZ_UNPRIVILEGED: Quota =
    Quota { nodes: 24, value_size: 64, perms: 3, watches: 4, transactions: 3, tx_nodes: 24, memory: 4 * 1024 };
/// Quotas for dom0 in the harness.
pub const FUZZ_PRIVILEGED: Quota =
    Quota { nodes: 96, value_size: 512, perms: 5, watches: 10, transactions: 4, tx_nodes: 64, memory: 32 * 1024 };

/// The domains of the harness: dom0 (privileged) and two domUs.
pub const DOMAINS: [DomId; 3] = [0, 1, 2];

/// What a run did, for coverage statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Steps executed.
    pub steps: usize,
    /// Requests answered with a reply of their own type.
    pub ok_replies: usize,
    /// Requests answered with `XS_ERROR`.
    pub error_replies: usize,
    /// Of those, per error, in [`XsError::ALL`] order.
    pub errors: [usize; 15],
    /// Watch events seen.
    pub events: usize,
    /// Transactions committed.
    pub commits: usize,
    /// Rings broken by garbage.
    pub broken_rings: usize,
}

struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Input<'_> {
    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }
    fn bytes(&mut self, n: usize) -> &[u8] {
        let start = self.pos.min(self.data.len());
        let end = (self.pos + n).min(self.data.len());
        self.pos += n;
        &self.data[start..end]
    }
    fn pick<'s, T>(&mut self, items: &'s [T]) -> &'s T {
        &items[usize::from(self.byte()) % items.len()]
    }
}

const PATHS: &[&str] = &[
    "device",
    "device/vkbd",
    "device/vkbd/0",
    "device/vkbd/0/state",
    "device/vkbd/0/backend",
    "device/vkbd/0/page-ref",
    "backend",
    "backend/vkbd/1/0/state",
    "/local/domain/0/backend/vkbd/1/0",
    "/local/domain/0/backend/vkbd/1/0/state",
    "/local/domain/1/device/vkbd/0",
    "/local/domain/1/device/vkbd/0/state",
    "/local/domain/1",
    "/local/domain/2/data",
    "/local/domain",
    "/local",
    "/",
    "data",
    "data/a/b/c",
    "control/shutdown",
    "control/platform-feature-xs_reset_watches",
    "name",
    "@introduceDomain",
    "@releaseDomain",
    "@other",
    "",
    "a//b",
    "a/",
    "/a b",
    "x",
];

const PERMS: &[&str] = &["n0", "r0", "b1", "n1", "r1", "w2", "n2", "b0", "x1", "r99999", "r"];

/// The request types a structured step sends, mostly what Linux sends.
const TYPES: &[MsgType] = &[
    MsgType::Read,
    MsgType::Read,
    MsgType::Write,
    MsgType::Write,
    MsgType::Directory,
    MsgType::Mkdir,
    MsgType::Rm,
    MsgType::Watch,
    MsgType::Watch,
    MsgType::Unwatch,
    MsgType::TransactionStart,
    MsgType::TransactionEnd,
    MsgType::TransactionEnd,
    MsgType::GetPerms,
    MsgType::SetPerms,
    MsgType::GetDomainPath,
    MsgType::DirectoryPart,
    MsgType::ResetWatches,
    MsgType::IsDomainIntroduced,
    MsgType::Introduce,
    MsgType::Release,
    MsgType::Resume,
    MsgType::SetTarget,
    MsgType::Control,
];

struct Guest {
    ring: MemRing,
    /// Request bytes not yet written into the ring.
    pending: Vec<u8>,
    /// Response stream parser.
    rx: Reassembler,
    /// The harness wrote garbage indices: the response stream proves nothing any more.
    tainted: bool,
}

impl Guest {
    fn new() -> Guest {
        Guest { ring: MemRing::new(), pending: Vec::new(), rx: Reassembler::new(), tainted: false }
    }
}

struct World {
    server: Server,
    guests: BTreeMap<DomId, Guest>,
    /// Transaction ids each domain was given (to send them back).
    txs: BTreeMap<DomId, Vec<u32>>,
    next_req: u32,
    stats: Stats,
    /// (nodes, memory) of each domain after the previous step.
    usage: BTreeMap<DomId, (usize, usize)>,
    /// The step was the hypervisor's (build helpers: no quota applies).
    hypervisor_step: bool,
}

type Check = Result<(), String>;

/// Runs the script `data`; `Err` names the first violated invariant.
pub fn run(data: &[u8]) -> Result<Stats, String> {
    let mut w = World::new()?;
    let mut input = Input { data, pos: 0 };
    while !input.done() && w.stats.steps < 512 {
        w.stats.steps += 1;
        w.step(&mut input)?;
        w.check_all()?;
    }
    Ok(w.stats)
}

fn home_perms(domid: DomId) -> Perms {
    Perms::owned_by(0).with(domid, Access::Read)
}

/// The nodes a domain's build writes (libxl's layout, with the vkbd pair between dom0 and
/// domain 1).
pub fn build_domain(store: &mut Store, domid: DomId) -> Result<Vec<Outgoing>, XsError> {
    let home = crate::path::domain_path(domid);
    let mut out = Vec::new();
    out.extend(store.mkdir_as(&home, &home_perms(domid))?);
    out.extend(store.write_as(&format!("{home}/name"), format!("dom{domid}").as_bytes(), &home_perms(domid))?);
    out.extend(store.write_as(&format!("{home}/domid"), format!("{domid}").as_bytes(), &home_perms(domid))?);
    for dir in ["device", "control", "data"] {
        out.extend(store.mkdir_as(&format!("{home}/{dir}"), &Perms::owned_by(domid))?);
    }
    if domid == 1 {
        let fe = "/local/domain/1/device/vkbd/0";
        let be = "/local/domain/0/backend/vkbd/1/0";
        let fe_perms = Perms::owned_by(1).with(0, Access::Read);
        let be_perms = Perms::owned_by(0).with(1, Access::Read);
        out.extend(store.mkdir_as(fe, &fe_perms)?);
        out.extend(store.write_as(&format!("{fe}/backend"), be.as_bytes(), &fe_perms)?);
        out.extend(store.write_as(&format!("{fe}/backend-id"), b"0", &fe_perms)?);
        out.extend(store.write_as(&format!("{fe}/state"), b"1", &fe_perms)?);
        out.extend(store.mkdir_as(be, &be_perms)?);
        out.extend(store.write_as(&format!("{be}/frontend"), fe.as_bytes(), &be_perms)?);
        out.extend(store.write_as(&format!("{be}/frontend-id"), b"1", &be_perms)?);
        out.extend(store.write_as(&format!("{be}/state"), b"1", &be_perms)?);
    }
    Ok(out)
}

impl World {
    fn new() -> Result<World, String> {
        let mut store = Store::with_quotas(FUZZ_UNPRIVILEGED, FUZZ_PRIVILEGED);
        for d in DOMAINS {
            build_domain(&mut store, d).map_err(|e| format!("build d{d}: {e}"))?;
        }
        let mut server = Server::new(store);
        let mut guests = BTreeMap::new();
        for d in DOMAINS {
            server.connect(d, d == 0).map_err(|e| format!("connect d{d}: {e}"))?;
            guests.insert(d, Guest::new());
        }
        let mut w = World {
            server,
            guests,
            txs: BTreeMap::new(),
            next_req: 1,
            stats: Stats::default(),
            usage: BTreeMap::new(),
            hypervisor_step: true,
        };
        w.check_all()?;
        Ok(w)
    }

    fn step(&mut self, input: &mut Input) -> Check {
        let domid = *input.pick(&DOMAINS);
        let kind = input.byte() % 16;
        self.hypervisor_step = kind >= 14 && domid != 0;
        match kind {
            // Raw bytes as a message, straight to the engine.
            0 => {
                let len = usize::from(input.byte());
                let raw = Vec::from(input.bytes(len));
                self.engine(domid, &raw)
            }
            // A valid header over raw payload bytes.
            1 => {
                let ty = u32::from(input.byte() % 26);
                let tx = self.tx_id(domid, input);
                let len = usize::from(input.byte());
                let payload = Vec::from(input.bytes(len));
                let msg = wire::build(ty, self.req_id(), tx, &payload);
                self.engine(domid, &msg)
            }
            // Well-formed requests.
            2..=8 => {
                let msg = self.request(domid, input);
                self.engine(domid, &msg)
            }
            // Requests through the ring, in pieces.
            9 | 10 => {
                let count = 1 + input.byte() % 3;
                for _ in 0..count {
                    let msg = self.request(domid, input);
                    if let Some(g) = self.guests.get_mut(&domid) {
                        g.pending.extend_from_slice(&msg);
                    }
                }
                self.ring_round(domid, input)
            }
            // Raw bytes into the ring.
            11 => {
                let len = usize::from(input.byte());
                let raw = Vec::from(input.bytes(len));
                if let Some(g) = self.guests.get_mut(&domid) {
                    g.pending.extend_from_slice(&raw);
                }
                self.ring_round(domid, input)
            }
            // Garbage indices.
            12 => {
                let which = input.byte() % 4;
                let v = input.u32();
                if let Some(g) = self.guests.get_mut(&domid) {
                    match which {
                        0 => g.ring.req_prod = v,
                        1 => g.ring.req_cons = v,
                        2 => g.ring.rsp_cons = v,
                        _ => g.ring.rsp_prod = v,
                    }
                    g.tainted = true;
                }
                self.ring_round(domid, input)
            }
            // The guest reads its responses (and the server flushes).
            13 => self.drain(domid),
            // Domain destroyed and rebuilt (never dom0).
            14 if domid != 0 => {
                let dirty = self.server.remove_domain(domid);
                self.flush_all(&dirty)?;
                let home = crate::path::domain_path(domid);
                let out = self.server.store_mut().rm_tree(&home).map_err(|e| format!("rm_tree: {e}"))?;
                self.deliver(out)?;
                let out = build_domain(self.server.store_mut(), domid).map_err(|e| format!("rebuild: {e}"))?;
                self.deliver(out)?;
                let dirty = self.server.connect(domid, false).map_err(|e| format!("reconnect: {e}"))?;
                self.guests.insert(domid, Guest::new());
                self.txs.remove(&domid);
                self.flush_all(&dirty)
            }
            // The hypervisor writes a node.
            _ if domid != 0 => {
                let p = input.pick(PATHS);
                let path = if p.starts_with('/') { String::from(*p) } else { format!("/local/domain/{domid}/{p}") };
                let n = usize::from(input.byte() % 8);
                let value = Vec::from(input.bytes(n));
                if let Ok(out) = self.server.store_mut().write_as(&path, &value, &Perms::owned_by(domid)) {
                    self.deliver(out)?;
                }
                Ok(())
            }
            _ => self.drain(domid),
        }
    }

    fn req_id(&mut self) -> u32 {
        self.next_req = self.next_req.wrapping_add(1);
        self.next_req
    }

    fn tx_id(&mut self, domid: DomId, input: &mut Input) -> u32 {
        match input.byte() % 4 {
            0 | 1 => 0,
            2 => self.txs.get(&domid).and_then(|t| t.last().copied()).unwrap_or(0),
            _ => input.u32() % 8,
        }
    }

    /// A well-formed request (mostly: dictionary paths include invalid ones).
    fn request(&mut self, domid: DomId, input: &mut Input) -> Vec<u8> {
        let ty = *input.pick(TYPES);
        let tx = self.tx_id(domid, input);
        let mut path = Vec::from(input.pick(PATHS).as_bytes());
        if input.byte() % 4 == 0 {
            path.push(b'/');
            path.extend_from_slice(input.pick(PATHS).as_bytes());
        }
        let mut p = Vec::new();
        let nul = |v: &mut Vec<u8>| v.push(0);
        match ty {
            MsgType::Write => {
                p.extend_from_slice(&path);
                nul(&mut p);
                let n = usize::from(input.byte());
                p.extend_from_slice(input.bytes(n));
            }
            MsgType::Watch | MsgType::Unwatch => {
                p.extend_from_slice(&path);
                nul(&mut p);
                p.extend_from_slice(format!("tok{}", input.byte() % 4).as_bytes());
                nul(&mut p);
            }
            MsgType::TransactionStart | MsgType::ResetWatches => nul(&mut p),
            MsgType::TransactionEnd => {
                p.push(*input.pick(b"TTTFx"));
                nul(&mut p);
            }
            MsgType::SetPerms => {
                p.extend_from_slice(&path);
                nul(&mut p);
                for _ in 0..1 + input.byte() % 4 {
                    p.extend_from_slice(input.pick(PERMS).as_bytes());
                    nul(&mut p);
                }
            }
            MsgType::GetDomainPath | MsgType::IsDomainIntroduced | MsgType::Release | MsgType::Resume => {
                p.extend_from_slice(format!("{}", input.byte() % 4).as_bytes());
                nul(&mut p);
            }
            MsgType::Introduce => {
                p.extend_from_slice(format!("{}\0{}\0{}\0", input.byte() % 4, input.u32(), input.byte()).as_bytes());
            }
            MsgType::DirectoryPart => {
                p.extend_from_slice(&path);
                nul(&mut p);
                p.extend_from_slice(format!("{}", input.byte()).as_bytes());
                nul(&mut p);
            }
            MsgType::Control => {
                p.extend_from_slice(input.pick(&[&b"check\0"[..], b"help\0", b"bogus\0"]));
            }
            _ => {
                p.extend_from_slice(&path);
                nul(&mut p);
            }
        }
        wire::build(ty.wire(), self.req_id(), tx, &p)
    }

    /// One message straight to the engine, with every reply and event checked.
    fn engine(&mut self, domid: DomId, msg: &[u8]) -> Check {
        let connected = self.server.store().is_connected(domid);
        let out = self.server.store_mut().handle(domid, msg);
        let hdr = wire::Header::parse(msg);
        let replies: Vec<&Outgoing> = out.iter().filter(|o| o.kind == OutKind::Reply).collect();
        match hdr {
            None if !out.is_empty() => return Err(String::from("reply to a message without a header")),
            _ if !connected && !out.is_empty() => return Err(String::from("reply to a domain not connected")),
            None => {}
            Some(_) if !connected => {}
            Some(hdr) => {
                let [reply] = replies[..] else {
                    return Err(format!("{} replies to one request", replies.len()));
                };
                if reply.domid != domid {
                    return Err(String::from("reply to the wrong domain"));
                }
                self.check_reply(&hdr, &reply.msg)?;
            }
        }
        self.check_out(&out)?;
        self.learn_tx(domid, &out);
        // Events go to their domains' rings, to exercise the queues (replies do not: this
        // request did not come through the ring).
        let events: Vec<Outgoing> = out.into_iter().filter(|o| o.kind == OutKind::WatchEvent).collect();
        self.deliver(events)
    }

    fn check_reply(&mut self, req: &wire::Header, reply: &[u8]) -> Check {
        let (h, payload) = wire::split(reply).ok_or("malformed reply")?;
        if h.req_id != req.req_id || h.tx_id != req.tx_id {
            return Err(String::from("reply does not echo req_id/tx_id"));
        }
        if h.ty == wire::XS_ERROR {
            let e = XsError::from_payload(payload).ok_or_else(|| format!("unknown error string {payload:?}"))?;
            self.stats.error_replies += 1;
            if let Some(i) = XsError::ALL.iter().position(|x| *x == e) {
                self.stats.errors[i] += 1;
            }
        } else if h.ty == req.ty {
            self.stats.ok_replies += 1;
            if h.ty == wire::XS_TRANSACTION_END {
                self.stats.commits += 1;
            }
        } else {
            return Err(format!("reply type {} to request type {}", h.ty, req.ty));
        }
        Ok(())
    }

    /// Every outgoing message: well framed; events well formed and for watchers.
    fn check_out(&mut self, out: &[Outgoing]) -> Check {
        for o in out {
            let (h, payload) = wire::split(&o.msg).ok_or("malformed outgoing message")?;
            if o.kind == OutKind::WatchEvent {
                self.stats.events += 1;
                if h.ty != wire::XS_WATCH_EVENT || h.req_id != 0 || h.tx_id != 0 {
                    return Err(String::from("bad watch event header"));
                }
                wire::args::<2>(payload).map_err(|_| "watch event is not path\\0token\\0")?;
                if self.server.store().watch_count(o.domid) == 0 && !payload.starts_with(b"@") {
                    return Err(format!("event for d{} which has no watch", o.domid));
                }
            }
        }
        Ok(())
    }

    fn learn_tx(&mut self, domid: DomId, out: &[Outgoing]) {
        for o in out {
            if let Some((h, payload)) = wire::split(&o.msg) {
                if o.domid == domid && h.ty == wire::XS_TRANSACTION_START {
                    if let Ok([id]) = wire::args::<1>(payload) {
                        if let Some(id) = wire::parse_u32(id) {
                            let list = self.txs.entry(domid).or_default();
                            list.push(id);
                            if list.len() > 8 {
                                list.remove(0);
                            }
                        }
                    }
                }
            }
        }
    }

    fn deliver(&mut self, out: Vec<Outgoing>) -> Check {
        let dirty = self.server.deliver(out);
        self.flush_all(&dirty)
    }

    fn flush_all(&mut self, dirty: &[DomId]) -> Check {
        for &d in dirty {
            if let Some(g) = self.guests.get_mut(&d) {
                let s = self.server.flush(d, &mut g.ring);
                if s.broken.is_some() {
                    self.stats.broken_rings += 1;
                }
            }
        }
        Ok(())
    }

    /// The guest writes what fits of its pending bytes in pieces, the server serves.
    fn ring_round(&mut self, domid: DomId, input: &mut Input) -> Check {
        for _ in 0..4 {
            let piece = 1 + usize::from(input.byte());
            let Some(g) = self.guests.get_mut(&domid) else { return Ok(()) };
            let n = piece.min(g.pending.len());
            if let Ok(written) = g.ring.guest_write(&g.pending[..n]) {
                g.pending.drain(..written);
            }
            let served = self.server.on_event(domid, &mut g.ring);
            if served.broken.is_some() {
                self.stats.broken_rings += 1;
                if !g.tainted && matches!(served.broken, Some(crate::ring::RingError::BadIndex { .. })) {
                    return Err(String::from("clean ring reported bad indices"));
                }
            }
            self.flush_all(&served.dirty)?;
            if input.byte() % 2 == 0 {
                self.drain(domid)?;
            }
        }
        Ok(())
    }

    /// The guest reads everything in its response ring; the stream must parse.
    fn drain(&mut self, domid: DomId) -> Check {
        for _ in 0..8 {
            let Some(g) = self.guests.get_mut(&domid) else { return Ok(()) };
            let mut buf = [0u8; crate::ring::XENSTORE_RING_SIZE];
            let n = g.ring.guest_read(&mut buf).unwrap_or(0);
            let mut rest = &buf[..n];
            let mut msgs = Vec::new();
            while !rest.is_empty() {
                match g.rx.push(rest) {
                    Ok((taken, msg)) => {
                        rest = &rest[taken..];
                        msgs.extend(msg);
                    }
                    Err(_) if g.tainted => break,
                    Err(e) => return Err(format!("server sent an unframeable stream: {e:?}")),
                }
            }
            if !g.tainted {
                for m in &msgs {
                    let (h, payload) = wire::split(m).ok_or("malformed message in ring")?;
                    if h.ty == wire::XS_ERROR && XsError::from_payload(payload).is_none() {
                        return Err(String::from("unknown error string in ring"));
                    }
                }
            }
            let served = self.server.flush(domid, &mut self.guests.get_mut(&domid).ok_or("guest")?.ring);
            if n == 0 && !served.notify {
                break;
            }
        }
        Ok(())
    }

    fn check_all(&mut self) -> Check {
        let store = self.server.store();
        store.check().map_err(|e| format!("store invariant: {e}"))?;
        for d in DOMAINS {
            let q = if d == 0 { &FUZZ_PRIVILEGED } else { &FUZZ_UNPRIVILEGED };
            if store.watch_count(d) > q.watches {
                return Err(format!("d{d} over its watch quota"));
            }
            if store.transaction_count(d) > q.transactions {
                return Err(format!("d{d} over its transaction quota"));
            }
            // What a domU holds only grows through requests, which are checked against its
            // quota; the hypervisor's build helpers are not (and dom0 receives what removed
            // domains owned).
            let now = (store.node_count(d), store.memory(d));
            let before = self.usage.insert(d, now).unwrap_or(now);
            if d != 0 && !self.hypervisor_step {
                if now.0 > before.0 && now.0 > q.nodes {
                    return Err(format!("d{d} grew to {} nodes", now.0));
                }
                if now.1 > before.1 && now.1 > q.memory {
                    return Err(format!("d{d} grew to {} bytes", now.1));
                }
            }
            if let Some(port) = self.server.port(d) {
                let oq = port.out_queue();
                if oq.reply_bytes() >= REPLY_HIGH_WATER + XSD_SOCKMSG_SIZE + XENSTORE_PAYLOAD_MAX {
                    return Err(format!("d{d} reply queue unbounded"));
                }
                if oq.event_bytes() > EVENT_QUEUE_MAX {
                    return Err(format!("d{d} event queue unbounded"));
                }
            }
        }
        Ok(())
    }
}

/// The guest side of a ring as one simple client, for tests: sends `msg` through `ring`,
/// lets `server` serve, and returns the messages the guest then reads.
pub fn ring_call(server: &mut Server, domid: DomId, ring: &mut MemRing, rx: &mut Reassembler, msg: &[u8]) -> Vec<Vec<u8>> {
    let mut pending = msg;
    let mut got = Vec::new();
    for _ in 0..64 {
        if let Ok(n) = ring.guest_write(pending) {
            pending = &pending[n..];
        }
        let served = server.on_event(domid, ring);
        let mut buf = [0u8; crate::ring::XENSTORE_RING_SIZE];
        let n = ring.guest_read(&mut buf).unwrap_or(0);
        let mut rest = &buf[..n];
        while let Ok((taken, msg)) = rx.push(rest) {
            rest = &rest[taken..];
            got.extend(msg);
            if rest.is_empty() {
                break;
            }
        }
        if pending.is_empty() && n == 0 && !served.more && ring.req_cons() == ring.req_prod() {
            break;
        }
    }
    got
}
