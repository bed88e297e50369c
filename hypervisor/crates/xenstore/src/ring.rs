//! The shared ring page, `struct xenstore_domain_interface` (xs_wire.h):
//!
//! ```text
//! offset    0  char req[XENSTORE_RING_SIZE]      requests, guest -> xenstore
//! offset 1024  char rsp[XENSTORE_RING_SIZE]      replies and watch events
//! offset 2048  XENSTORE_RING_IDX req_cons        ours
//! offset 2052  XENSTORE_RING_IDX req_prod        the guest's
//! offset 2056  XENSTORE_RING_IDX rsp_cons        the guest's
//! offset 2060  XENSTORE_RING_IDX rsp_prod        ours
//! offset 2064  uint32_t server_features          ours: XENSTORE_SERVER_FEATURE_ERROR
//! offset 2068  uint32_t connection               XENSTORE_CONNECTED
//! offset 2072  uint32_t error                    ours: XENSTORE_ERROR_*
//! ```
//!
//! Indices are free-running `u32`s; a ring holds `prod - cons` bytes (wrapping), at offset
//! `MASK_XENSTORE_IDX(idx)`. The guest is hostile: it may write any index at any time. A
//! `prod - cons` above [`XENSTORE_RING_SIZE`] is garbage ([`RingError::BadIndex`]), and a
//! header announcing more than `XENSTORE_PAYLOAD_MAX` bytes cannot be framed
//! ([`RingError::PayloadTooLong`]); either breaks the connection (see [`Port`]).
//!
//! Pieces, from the lowest:
//!
//! - pure index arithmetic ([`check_indexes`], [`input_chunk`], [`output_chunk`]) and
//!   copies with wrap-around over plain arrays ([`copy_from_ring`], [`copy_to_ring`]);
//! - [`Reassembler`]: bytes, as they trickle out of the request ring, into whole messages;
//! - [`OutQueue`]: messages waiting for room in the response ring (a reply can be 4 KiB,
//!   the ring is 1 KiB), bounded;
//! - [`RingPage`]: how the hypervisor gives access to the real shared page (atomics and
//!   barriers live there), and [`MemRing`], a plain-memory one for tests;
//! - [`Port`]: one domain's connection state over its ring.

use crate::engine::OutKind;
use crate::wire::{Header, XSD_SOCKMSG_SIZE};
use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// `XENSTORE_RING_SIZE`.
pub const XENSTORE_RING_SIZE: usize = 1024;
/// `XENSTORE_SERVER_FEATURE_RECONNECTION` (not offered).
pub const XENSTORE_SERVER_FEATURE_RECONNECTION: u32 = 1;
/// `XENSTORE_SERVER_FEATURE_ERROR`: the server reports why it stopped in `error`.
pub const XENSTORE_SERVER_FEATURE_ERROR: u32 = 2;
/// What the hypervisor puts in `server_features`.
pub const SERVER_FEATURES: u32 = XENSTORE_SERVER_FEATURE_ERROR;
/// `XENSTORE_CONNECTED`: the steady state of `connection` (Linux waits for it).
pub const XENSTORE_CONNECTED: u32 = 0;
/// `XENSTORE_RECONNECT`: the guest asks for a reconnection (not supported).
pub const XENSTORE_RECONNECT: u32 = 1;
/// `XENSTORE_ERROR_NONE`.
pub const XENSTORE_ERROR_NONE: u32 = 0;
/// `XENSTORE_ERROR_COMM`: communication problem.
pub const XENSTORE_ERROR_COMM: u32 = 1;
/// `XENSTORE_ERROR_RINGIDX`: invalid ring index.
pub const XENSTORE_ERROR_RINGIDX: u32 = 2;
/// `XENSTORE_ERROR_PROTO`: protocol violation (payload too long).
pub const XENSTORE_ERROR_PROTO: u32 = 3;

/// Byte offsets of the fields of `struct xenstore_domain_interface` in the page.
pub mod offsets {
    /// `req`.
    pub const REQ: usize = 0;
    /// `rsp`.
    pub const RSP: usize = 1024;
    /// `req_cons`.
    pub const REQ_CONS: usize = 2048;
    /// `req_prod`.
    pub const REQ_PROD: usize = 2052;
    /// `rsp_cons`.
    pub const RSP_CONS: usize = 2056;
    /// `rsp_prod`.
    pub const RSP_PROD: usize = 2060;
    /// `server_features`.
    pub const SERVER_FEATURES: usize = 2064;
    /// `connection`.
    pub const CONNECTION: usize = 2068;
    /// `error`.
    pub const ERROR: usize = 2072;
}

/// `MASK_XENSTORE_IDX()`.
pub const fn mask_xenstore_idx(idx: u32) -> usize {
    (idx as usize) & (XENSTORE_RING_SIZE - 1)
}

/// Why a connection broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingError {
    /// `prod - cons` exceeds the ring size (`XENSTORE_ERROR_RINGIDX`).
    BadIndex {
        /// The consumer index read.
        cons: u32,
        /// The producer index read.
        prod: u32,
    },
    /// A request header announced a payload above `XENSTORE_PAYLOAD_MAX`
    /// (`XENSTORE_ERROR_PROTO`): the stream cannot be framed any more.
    PayloadTooLong {
        /// The announced length.
        len: u32,
    },
}

impl RingError {
    /// The value for the page's `error` field.
    pub const fn error_code(&self) -> u32 {
        match self {
            RingError::BadIndex { .. } => XENSTORE_ERROR_RINGIDX,
            RingError::PayloadTooLong { .. } => XENSTORE_ERROR_PROTO,
        }
    }
}

/// Bytes in a ring (`prod - cons`), checked as Linux's `check_indexes()` does.
pub const fn check_indexes(cons: u32, prod: u32) -> Result<usize, RingError> {
    let used = prod.wrapping_sub(cons) as usize;
    if used > XENSTORE_RING_SIZE {
        Err(RingError::BadIndex { cons, prod })
    } else {
        Ok(used)
    }
}

/// Room left in a ring.
pub const fn free_space(cons: u32, prod: u32) -> Result<usize, RingError> {
    match check_indexes(cons, prod) {
        Ok(used) => Ok(XENSTORE_RING_SIZE - used),
        Err(e) => Err(e),
    }
}

/// The contiguous bytes the consumer may take next: `(offset, len)` in the ring, `len` 0
/// if it is empty (Linux's `get_input_chunk()`, checked).
pub const fn input_chunk(cons: u32, prod: u32) -> Result<(usize, usize), RingError> {
    let used = match check_indexes(cons, prod) {
        Ok(u) => u,
        Err(e) => return Err(e),
    };
    let off = mask_xenstore_idx(cons);
    let to_end = XENSTORE_RING_SIZE - off;
    Ok((off, if used < to_end { used } else { to_end }))
}

/// The contiguous room the producer may fill next: `(offset, len)`, `len` 0 if the ring is
/// full (Linux's `get_output_chunk()`, checked).
pub const fn output_chunk(cons: u32, prod: u32) -> Result<(usize, usize), RingError> {
    let free = match free_space(cons, prod) {
        Ok(f) => f,
        Err(e) => return Err(e),
    };
    let off = mask_xenstore_idx(prod);
    let to_end = XENSTORE_RING_SIZE - off;
    Ok((off, if free < to_end { free } else { to_end }))
}

/// Copies up to `dst.len()` bytes out of `ring` from `cons`, wrapping around; returns how
/// many (the caller then advances `cons` by that much).
pub fn copy_from_ring(
    ring: &[u8; XENSTORE_RING_SIZE],
    cons: u32,
    prod: u32,
    dst: &mut [u8],
) -> Result<usize, RingError> {
    let n = check_indexes(cons, prod)?.min(dst.len());
    for (i, b) in dst[..n].iter_mut().enumerate() {
        *b = ring[mask_xenstore_idx(cons.wrapping_add(i as u32))];
    }
    Ok(n)
}

/// Copies as much of `src` as fits into `ring` at `prod`, wrapping around; returns how many
/// bytes (the caller then advances `prod`).
pub fn copy_to_ring(
    ring: &mut [u8; XENSTORE_RING_SIZE],
    cons: u32,
    prod: u32,
    src: &[u8],
) -> Result<usize, RingError> {
    let n = free_space(cons, prod)?.min(src.len());
    for (i, &b) in src[..n].iter().enumerate() {
        ring[mask_xenstore_idx(prod.wrapping_add(i as u32))] = b;
    }
    Ok(n)
}

/// Request bytes into whole messages. A message may arrive in pieces across any number of
/// ring reads (and across the ring's wrap); the header is checked as soon as it is
/// complete, and at most `XSD_SOCKMSG_SIZE + XENSTORE_PAYLOAD_MAX` bytes are ever held.
#[derive(Clone, Debug, Default)]
pub struct Reassembler {
    hdr: [u8; XSD_SOCKMSG_SIZE],
    hdr_len: usize,
    /// Once the header is complete: the whole message so far, header included.
    msg: Vec<u8>,
    /// Once the header is complete: the whole message's length.
    total: usize,
}

impl Reassembler {
    /// Empty.
    pub fn new() -> Reassembler {
        Reassembler::default()
    }

    /// How many more bytes the current piece (header, then payload) needs: feeding at most
    /// this much never runs into the next message. Never 0.
    pub fn wanted(&self) -> usize {
        if self.hdr_len < XSD_SOCKMSG_SIZE {
            XSD_SOCKMSG_SIZE - self.hdr_len
        } else {
            self.total - self.msg.len()
        }
    }

    /// Whether no message is half-read.
    pub fn is_idle(&self) -> bool {
        self.hdr_len == 0
    }

    /// Takes bytes from `input` (at most up to the end of the current message): returns how
    /// many it took and the message if that completed one. `PayloadTooLong` if a header
    /// announces too much; the reassembler is then of no further use.
    pub fn push(&mut self, input: &[u8]) -> Result<(usize, Option<Vec<u8>>), RingError> {
        let mut taken = 0;
        if self.hdr_len < XSD_SOCKMSG_SIZE {
            let n = (XSD_SOCKMSG_SIZE - self.hdr_len).min(input.len());
            self.hdr[self.hdr_len..self.hdr_len + n].copy_from_slice(&input[..n]);
            self.hdr_len += n;
            taken = n;
            if self.hdr_len < XSD_SOCKMSG_SIZE {
                return Ok((taken, None));
            }
            let hdr = Header::parse(&self.hdr).unwrap_or_default();
            let len = hdr.payload_len().ok_or(RingError::PayloadTooLong { len: hdr.len })?;
            self.total = XSD_SOCKMSG_SIZE + len;
            self.msg = Vec::with_capacity(self.total);
            self.msg.extend_from_slice(&self.hdr);
        }
        let n = (self.total - self.msg.len()).min(input.len() - taken);
        self.msg.extend_from_slice(&input[taken..taken + n]);
        taken += n;
        if self.msg.len() < self.total {
            return Ok((taken, None));
        }
        self.hdr_len = 0;
        self.total = 0;
        Ok((taken, Some(core::mem::take(&mut self.msg))))
    }
}

/// Stop taking requests from a domain while this many reply bytes wait for room in its
/// response ring: the guest must read first (a guest that never reads cannot make us
/// queue without bound).
pub const REPLY_HIGH_WATER: usize = 8 * 1024;
/// Most watch-event bytes queued for a domain; further events are dropped (and counted).
/// cxenstored drops events a domain has not read in 20 s; we drop on size.
pub const EVENT_QUEUE_MAX: usize = 64 * 1024;

#[derive(Clone, Debug)]
struct Queued {
    kind: OutKind,
    msg: Vec<u8>,
}

/// Messages waiting for a domain's response ring.
#[derive(Clone, Debug, Default)]
pub struct OutQueue {
    queue: VecDeque<Queued>,
    /// Bytes of the front message already in the ring.
    sent: usize,
    reply_bytes: usize,
    event_bytes: usize,
    dropped: u64,
}

impl OutQueue {
    /// Empty.
    pub fn new() -> OutQueue {
        OutQueue::default()
    }

    /// Queues a message. Replies are always queued (their number is bounded by
    /// [`REPLY_HIGH_WATER`] upstream). A watch event identical to one still waiting whole
    /// is dropped as redundant (as cxenstored does, `@` events excepted), and one that
    /// would take the events above [`EVENT_QUEUE_MAX`] is dropped and counted.
    pub fn push(&mut self, kind: OutKind, msg: Vec<u8>) {
        match kind {
            OutKind::Reply => self.reply_bytes += msg.len(),
            OutKind::WatchEvent => {
                let special = msg.get(XSD_SOCKMSG_SIZE) == Some(&b'@');
                let waiting = self.queue.iter().skip(usize::from(self.sent > 0));
                let redundant = waiting.into_iter().any(|q| q.kind == OutKind::WatchEvent && q.msg == msg);
                if !special && redundant {
                    return;
                }
                if self.event_bytes + msg.len() > EVENT_QUEUE_MAX {
                    self.dropped += 1;
                    return;
                }
                self.event_bytes += msg.len();
            }
        }
        self.queue.push_back(Queued { kind, msg });
    }

    /// The unsent bytes of the front message.
    pub fn front(&self) -> Option<&[u8]> {
        self.queue.front().map(|q| q.msg.get(self.sent..).unwrap_or_default())
    }

    /// Marks `n` bytes of the front message sent (no more than [`OutQueue::front`] gave).
    pub fn consume(&mut self, n: usize) {
        let Some(front) = self.queue.front() else { return };
        self.sent = (self.sent + n).min(front.msg.len());
        if self.sent == front.msg.len() {
            if let Some(q) = self.queue.pop_front() {
                match q.kind {
                    OutKind::Reply => {
                        self.reply_bytes = self.reply_bytes.saturating_sub(q.msg.len())
                    }
                    OutKind::WatchEvent => {
                        self.event_bytes = self.event_bytes.saturating_sub(q.msg.len())
                    }
                }
            }
            self.sent = 0;
        }
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Reply bytes waiting.
    pub fn reply_bytes(&self) -> usize {
        self.reply_bytes
    }

    /// Watch-event bytes waiting.
    pub fn event_bytes(&self) -> usize {
        self.event_bytes
    }

    /// Watch events dropped so far.
    pub fn dropped_events(&self) -> u64 {
        self.dropped
    }

    /// Number of messages waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }
}

/// Access to one domain's shared ring page, as the hypervisor implements it over the real
/// page (guest memory, concurrently written by the guest's vCPUs).
///
/// Memory ordering, the counterpart of Linux's `virt_rmb()`/`virt_wmb()`/`virt_mb()` in
/// xenbus_comms.c: `req_prod` and `rsp_cons` are loaded with acquire semantics (bytes the
/// guest wrote before publishing `req_prod` are then visible to `read_req`); `set_req_cons`
/// and `set_rsp_prod` store with release semantics (our reads of `req` are done before the
/// guest may reuse the space, our writes to `rsp` are visible before the new `rsp_prod`).
/// Every index is read once per use and validated here; the guest may change bytes under
/// us, but each byte is copied out exactly once and only the copy is parsed.
pub trait RingPage {
    /// Loads `req_cons`.
    fn req_cons(&self) -> u32;
    /// Loads `req_prod` (acquire).
    fn req_prod(&self) -> u32;
    /// Stores `req_cons` (release).
    fn set_req_cons(&mut self, v: u32);
    /// Loads `rsp_cons` (acquire).
    fn rsp_cons(&self) -> u32;
    /// Loads `rsp_prod`.
    fn rsp_prod(&self) -> u32;
    /// Stores `rsp_prod` (release).
    fn set_rsp_prod(&mut self, v: u32);
    /// Copies `dst.len()` bytes of `req` from `offset` (`offset + dst.len()` is at most
    /// [`XENSTORE_RING_SIZE`]).
    fn read_req(&self, offset: usize, dst: &mut [u8]);
    /// Copies `src` into `rsp` at `offset` (`offset + src.len()` is at most
    /// [`XENSTORE_RING_SIZE`]).
    fn write_rsp(&mut self, offset: usize, src: &[u8]);
    /// Stores the `error` field (`XENSTORE_ERROR_*`).
    fn set_error(&mut self, error: u32);
}

/// A ring page in plain memory: the test double for the hypervisor's, with the guest's
/// side of the protocol (Linux's `xb_write()`/`xb_read()`) for tests and the fuzz harness.
#[derive(Clone, Debug)]
pub struct MemRing {
    /// `req`.
    pub req: [u8; XENSTORE_RING_SIZE],
    /// `rsp`.
    pub rsp: [u8; XENSTORE_RING_SIZE],
    /// `req_cons`.
    pub req_cons: u32,
    /// `req_prod`.
    pub req_prod: u32,
    /// `rsp_cons`.
    pub rsp_cons: u32,
    /// `rsp_prod`.
    pub rsp_prod: u32,
    /// `server_features`.
    pub server_features: u32,
    /// `connection`.
    pub connection: u32,
    /// `error`.
    pub error: u32,
}

impl Default for MemRing {
    fn default() -> MemRing {
        MemRing::new()
    }
}

impl MemRing {
    /// A fresh page, as the hypervisor initialises it: zeroed, [`SERVER_FEATURES`],
    /// [`XENSTORE_CONNECTED`].
    pub fn new() -> MemRing {
        MemRing {
            req: [0; XENSTORE_RING_SIZE],
            rsp: [0; XENSTORE_RING_SIZE],
            req_cons: 0,
            req_prod: 0,
            rsp_cons: 0,
            rsp_prod: 0,
            server_features: SERVER_FEATURES,
            connection: XENSTORE_CONNECTED,
            error: XENSTORE_ERROR_NONE,
        }
    }

    /// The guest writes requests: as much of `data` as fits; returns how much.
    pub fn guest_write(&mut self, data: &[u8]) -> Result<usize, RingError> {
        let n = copy_to_ring(&mut self.req, self.req_cons, self.req_prod, data)?;
        self.req_prod = self.req_prod.wrapping_add(n as u32);
        Ok(n)
    }

    /// The guest reads responses into `buf`; returns how many bytes.
    pub fn guest_read(&mut self, buf: &mut [u8]) -> Result<usize, RingError> {
        let n = copy_from_ring(&self.rsp, self.rsp_cons, self.rsp_prod, buf)?;
        self.rsp_cons = self.rsp_cons.wrapping_add(n as u32);
        Ok(n)
    }
}

impl RingPage for MemRing {
    fn req_cons(&self) -> u32 {
        self.req_cons
    }
    fn req_prod(&self) -> u32 {
        self.req_prod
    }
    fn set_req_cons(&mut self, v: u32) {
        self.req_cons = v;
    }
    fn rsp_cons(&self) -> u32 {
        self.rsp_cons
    }
    fn rsp_prod(&self) -> u32 {
        self.rsp_prod
    }
    fn set_rsp_prod(&mut self, v: u32) {
        self.rsp_prod = v;
    }
    fn read_req(&self, offset: usize, dst: &mut [u8]) {
        if let Some(src) = self.req.get(offset..offset + dst.len()) {
            dst.copy_from_slice(src);
        }
    }
    fn write_rsp(&mut self, offset: usize, src: &[u8]) {
        if let Some(dst) = self.rsp.get_mut(offset..offset + src.len()) {
            dst.copy_from_slice(src);
        }
    }
    fn set_error(&mut self, error: u32) {
        self.error = error;
    }
}

/// The state of a domain's connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortState {
    /// Served.
    Active,
    /// Broken by the guest: no longer served (see [`Port::break_with`]).
    Broken(RingError),
}

/// What one [`Port::pull`] got.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pulled {
    /// A whole request message, if one completed.
    pub msg: Option<Vec<u8>>,
    /// Whether `req_cons` moved (the guest may be waiting for room: notify it).
    pub consumed: bool,
}

/// One domain's connection over its ring page: the request reassembler, the response
/// queue, and whether the connection still stands.
#[derive(Clone, Debug)]
pub struct Port {
    rx: Reassembler,
    tx: OutQueue,
    state: PortState,
}

impl Default for Port {
    fn default() -> Port {
        Port::new()
    }
}

impl Port {
    /// A fresh connection.
    pub fn new() -> Port {
        Port { rx: Reassembler::new(), tx: OutQueue::new(), state: PortState::Active }
    }

    /// The state.
    pub fn state(&self) -> PortState {
        self.state
    }

    /// Whether the connection is served.
    pub fn is_active(&self) -> bool {
        self.state == PortState::Active
    }

    /// The response queue.
    pub fn out_queue(&self) -> &OutQueue {
        &self.tx
    }

    /// Queues a message for the domain (dropped if the connection is broken).
    pub fn queue(&mut self, kind: OutKind, msg: Vec<u8>) {
        if self.is_active() {
            self.tx.push(kind, msg);
        }
    }

    /// Whether to take another request: the connection stands and not too many replies
    /// wait for the guest to read them.
    pub fn wants_requests(&self) -> bool {
        self.is_active() && self.tx.reply_bytes() < REPLY_HIGH_WATER
    }

    /// Reads request bytes until one message completes or the ring is empty.
    pub fn pull(&mut self, ring: &mut impl RingPage) -> Result<Pulled, RingError> {
        let mut pulled = Pulled::default();
        let mut buf = [0u8; XENSTORE_RING_SIZE];
        loop {
            let cons = ring.req_cons();
            let prod = ring.req_prod();
            let (off, avail) = input_chunk(cons, prod)?;
            let n = avail.min(self.rx.wanted());
            if n == 0 {
                return Ok(pulled);
            }
            ring.read_req(off, &mut buf[..n]);
            let (taken, msg) = self.rx.push(&buf[..n])?;
            ring.set_req_cons(cons.wrapping_add(taken as u32));
            pulled.consumed = true;
            if msg.is_some() {
                pulled.msg = msg;
                return Ok(pulled);
            }
        }
    }

    /// Writes queued messages into the response ring as far as they fit; returns whether
    /// anything was written (then notify the guest).
    pub fn push(&mut self, ring: &mut impl RingPage) -> Result<bool, RingError> {
        let mut wrote = false;
        while let Some(front) = self.tx.front() {
            let cons = ring.rsp_cons();
            let prod = ring.rsp_prod();
            let (off, room) = output_chunk(cons, prod)?;
            let n = room.min(front.len());
            if n == 0 {
                break;
            }
            ring.write_rsp(off, &front[..n]);
            ring.set_rsp_prod(prod.wrapping_add(n as u32));
            self.tx.consume(n);
            wrote = true;
        }
        Ok(wrote)
    }

    /// Breaks the connection: records `err` in the page's `error` field
    /// (`XENSTORE_SERVER_FEATURE_ERROR`), drops everything queued or half-read, and serves
    /// the ring no more (cxenstored's `ignore_connection()`).
    pub fn break_with(&mut self, ring: &mut impl RingPage, err: RingError) {
        ring.set_error(err.error_code());
        self.state = PortState::Broken(err);
        self.rx = Reassembler::new();
        self.tx = OutQueue::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{build, XENSTORE_PAYLOAD_MAX, XS_READ, XS_WATCH_EVENT};

    #[test]
    fn indexes() {
        assert_eq!(check_indexes(0, 0), Ok(0));
        assert_eq!(check_indexes(u32::MAX, 3), Ok(4));
        assert_eq!(check_indexes(0, 1024), Ok(1024));
        assert_eq!(check_indexes(0, 1025), Err(RingError::BadIndex { cons: 0, prod: 1025 }));
        assert!(check_indexes(5, 4).is_err());
        assert_eq!(input_chunk(1020, 1030), Ok((1020, 4)));
        assert_eq!(input_chunk(1024, 1030), Ok((0, 6)));
        assert_eq!(output_chunk(0, 1020), Ok((1020, 4)));
        assert_eq!(output_chunk(10, 1030), Ok((6, 4)));
        assert_eq!(output_chunk(0, 1024), Ok((0, 0)));
        assert_eq!(output_chunk(u32::MAX - 1, u32::MAX), Ok((1023, 1)));
    }

    #[test]
    fn copies_wrap() {
        let mut ring = [0u8; XENSTORE_RING_SIZE];
        let data: Vec<u8> = (0..100u8).collect();
        assert_eq!(copy_to_ring(&mut ring, 1000, 1000, &data), Ok(100));
        let mut out = [0u8; 100];
        assert_eq!(copy_from_ring(&ring, 1000, 1100, &mut out), Ok(100));
        assert_eq!(&out[..], &data[..]);
        assert_eq!(ring[1023], 23);
        assert_eq!(ring[0], 24);
        assert_eq!(copy_to_ring(&mut ring, 0, 1000, &data), Ok(24));
        assert!(copy_to_ring(&mut ring, 0, 2000, &data).is_err());
    }

    #[test]
    fn reassembles_byte_by_byte() {
        let m1 = build(XS_READ, 1, 0, b"device\0");
        let m2 = build(XS_READ, 2, 0, b"");
        let stream: Vec<u8> = m1.iter().chain(m2.iter()).copied().collect();
        let mut r = Reassembler::new();
        let mut got = Vec::new();
        for b in &stream {
            let (n, msg) = r.push(core::slice::from_ref(b)).unwrap();
            assert_eq!(n, 1);
            got.extend(msg);
        }
        assert_eq!(got, [m1, m2]);
        assert!(r.is_idle());
    }

    #[test]
    fn reassembler_stops_at_message_end() {
        let m1 = build(XS_READ, 1, 0, b"a\0");
        let mut stream = m1.clone();
        stream.extend_from_slice(&build(XS_READ, 2, 0, b"b\0"));
        let mut r = Reassembler::new();
        let (n, msg) = r.push(&stream).unwrap();
        assert_eq!(n, m1.len());
        assert_eq!(msg, Some(m1));
        let (n, msg) = r.push(&stream[n..n + 5]).unwrap();
        assert_eq!((n, msg), (5, None));
        assert_eq!(r.wanted(), XSD_SOCKMSG_SIZE - 5);
    }

    #[test]
    fn reassembler_rejects_huge() {
        let h = Header { ty: XS_READ, req_id: 0, tx_id: 0, len: XENSTORE_PAYLOAD_MAX as u32 + 1 };
        let mut r = Reassembler::new();
        assert_eq!(r.push(&h.to_bytes()), Err(RingError::PayloadTooLong { len: 4097 }));
    }

    #[test]
    fn out_queue_bounds_events() {
        let mut q = OutQueue::new();
        let ev = |i: u32| {
            let mut p = alloc::format!("/p/{i}").into_bytes();
            p.extend_from_slice(b"\0tok\0");
            build(XS_WATCH_EVENT, 0, 0, &p)
        };
        q.push(OutKind::WatchEvent, ev(1));
        q.push(OutKind::WatchEvent, ev(1));
        assert_eq!(q.len(), 1, "identical waiting event coalesced");
        let mut i = 2;
        while q.dropped_events() == 0 {
            q.push(OutKind::WatchEvent, ev(i));
            i += 1;
        }
        assert!(q.event_bytes() <= EVENT_QUEUE_MAX);
        q.push(OutKind::Reply, build(XS_READ, 1, 0, b"x"));
        assert_eq!(q.reply_bytes(), XSD_SOCKMSG_SIZE + 1);
        while let Some(f) = q.front() {
            let n = f.len().min(7);
            q.consume(n);
        }
        assert_eq!((q.reply_bytes(), q.event_bytes(), q.len()), (0, 0, 0));
    }
}
