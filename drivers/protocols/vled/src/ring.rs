// SPDX-License-Identifier: MIT

//! The `vled` paravirtual LED protocol: constants, wire format, shared ring and xenbus state
//! machine, exactly as `docs/protocols/vled.md` specifies them.
//!
//! This one file is the whole protocol but for the page's trait, `crate::shared_page`, and the
//! xenbus state with xenstore's numbers, `crate::xenbus_state`, which it shares with the other
//! protocols and kernel-ext (drivers/protocols/common/src). It is plain
//! `core` Rust without `unsafe`, so that both the host-tested crate `vled-protocol`
//! (`drivers/protocols/vled/src/lib.rs`) and the kernel modules can compile it. A module
//! includes it from its crate root with
//!
//! ```ignore
//! pub use kext::{shared_page, xenbus_state};    // kernel-ext includes them
//! #[path = "../protocols/vled/src/ring.rs"]
//! pub mod vled;
//! ```
//!
//! (`pub`, like `kext`, so that the items a given module does not use are neither dead code nor
//! unreachable `pub` items).
//!
//! The shared page is only reached through [`SharedPage`], which the includer implements over
//! its memory (kernel-ext for the granted page in the frontend and the grant mapping in the
//! backend, a plain buffer in tests), and only at these offsets: `load_u32`/`store_u32` one of
//! the four indices, `read`/`write` one entry (`ENTRY_SIZE` bytes at [`entry_offset`]);
//! [`FrontRing::new`] also writes the padding. Indices are published with the trait's release
//! store, and [`SharedPage::full_barrier`] separates a store from the load of the other side's
//! event index after it (Xen's `RING_PUSH_*_AND_CHECK_NOTIFY`, `RING_FINAL_CHECK_FOR_*`).
//! Every value read from the page is treated as hostile: indices are checked before
//! use, entries are copied once and then decoded from the copy, and no value read from the page
//! can make a call panic, touch memory outside the ring, or do more than one ring's worth of
//! work.
//!
//! Usage, backend (one pass per notification, see [`BackRing::serve_pass`]):
//!
//! ```ignore
//! let pass = ring.serve_pass(&mut page, |req| {
//!     let cmd = vled::check_request(req, nr_leds, |led| max[usize::from(led)])?;
//!     leds.apply(cmd) // Ok(brightness now) or Err(Status::Unavailable)
//! })?;                // Err(RingError::RequestOverflow { .. }): log, xenbus_dev_fatal
//! if pass.notify { evtchn.notify() }
//! if pass.more { /* yield, then run another pass: no event will come for these */ }
//! ```
//!
//! Frontend: [`FrontRing::new`] when connecting, [`FrontRing::push_request`] and
//! [`FrontRing::push_requests_and_check_notify`] to send, [`FrontRing::next_response`] and
//! [`FrontRing::final_check_for_responses`] in the event handler.

use core::fmt;

pub use crate::shared_page::SharedPage;
pub use crate::xenbus_state::{parse_uint, XenbusState};

// ---------------------------------------------------------------------------------------------
// Xenbus: device type, keys, limits.
// ---------------------------------------------------------------------------------------------

/// The xenbus device type: frontends live under `device/vled/<id>`, backends under
/// `backend/vled/<frontend-domid>/<id>`.
pub const DEVICE_TYPE: &str = "vled";

/// Frontend key: grant reference of the shared ring page (decimal).
pub const FIELD_RING_REF: &str = "ring-ref";
/// Frontend key: event channel port, unbound toward the backend domain (decimal).
pub const FIELD_EVENT_CHANNEL: &str = "event-channel";
/// Backend key: number of LEDs, 1 to [`MAX_LEDS`] (decimal).
pub const FIELD_NR_LEDS: &str = "nr-leds";
/// Backend key: largest brightness of every LED without a `max-brightness-<n>` key, 1 to
/// [`MAX_BRIGHTNESS_LIMIT`] (decimal).
pub const FIELD_MAX_BRIGHTNESS: &str = "max-brightness";
/// Backend keys `name-<n>`, `<n>` in decimal from 0 to `nr-leds - 1`: the name of LED `<n>`,
/// which is both the frontend's LED class device name and the backend's (see
/// [`parse_led_name`]).
pub const FIELD_NAME_PREFIX: &str = "name-";
/// Optional backend keys `max-brightness-<n>`: the largest brightness of LED `<n>`, when it
/// differs from `max-brightness`.
pub const FIELD_MAX_BRIGHTNESS_PREFIX: &str = "max-brightness-";

/// Most LEDs one device can have (`nr-leds`).
pub const MAX_LEDS: u16 = 64;
/// Longest LED name, in bytes (Linux's `LED_MAX_NAME_SIZE` is 64 with the NUL).
pub const MAX_NAME_LEN: usize = 63;
/// Largest `max-brightness` a frontend accepts (Linux's `enum led_brightness` is an `int`).
pub const MAX_BRIGHTNESS_LIMIT: u32 = 0x7fff_ffff;
/// Connection attempts a frontend makes on its own initiative (see [`frontend_action`]) before
/// it waits for the backend to restart.
pub const MAX_CONNECT_ATTEMPTS: u32 = 3;

// ---------------------------------------------------------------------------------------------
// Shared page layout (DEFINE_RING_TYPES(vled, struct vled_request, struct vled_response)).
// ---------------------------------------------------------------------------------------------

/// Size of the shared page: one 4 KiB Xen page, whatever the guest's page size.
pub const PAGE_SIZE: usize = 4096;
/// `RING_IDX req_prod`: written by the frontend.
pub const REQ_PROD_OFFSET: usize = 0;
/// `RING_IDX req_event`: written by the backend.
pub const REQ_EVENT_OFFSET: usize = 4;
/// `RING_IDX rsp_prod`: written by the backend.
pub const RSP_PROD_OFFSET: usize = 8;
/// `RING_IDX rsp_event`: written by the frontend.
pub const RSP_EVENT_OFFSET: usize = 12;
/// `uint8_t __pad[48]`: zero.
pub const PAD_OFFSET: usize = 16;
/// Size of the padding.
pub const PAD_SIZE: usize = 48;
/// `union vled_sring_entry ring[]`.
pub const RING_OFFSET: usize = 64;
/// `sizeof(struct vled_request)`.
pub const REQUEST_SIZE: usize = 12;
/// `sizeof(struct vled_response)`.
pub const RESPONSE_SIZE: usize = 12;
/// `sizeof(union vled_sring_entry)`.
pub const ENTRY_SIZE: usize = if REQUEST_SIZE > RESPONSE_SIZE { REQUEST_SIZE } else { RESPONSE_SIZE };
/// Entries in the ring: `__CONST_RING_SIZE(vled, 4096)` = 256.
pub const RING_SIZE: u32 = ring_size(PAGE_SIZE, ENTRY_SIZE);
/// End of the last entry (3136): the rest of the page is unused.
pub const RING_END: usize = RING_OFFSET + RING_SIZE as usize * ENTRY_SIZE;

/// Xen's `__CONST_RING_SIZE`: the entries of `entry_size` bytes that fit in `page_size` after
/// the 64-byte header, rounded down to a power of two.
pub const fn ring_size(page_size: usize, entry_size: usize) -> u32 {
    if entry_size == 0 || page_size <= RING_OFFSET {
        return 0;
    }
    let fit = (page_size - RING_OFFSET) / entry_size;
    if fit == 0 {
        return 0;
    }
    let pow2 = 1usize << (usize::BITS - 1 - fit.leading_zeros());
    if pow2 > u32::MAX as usize {
        0x8000_0000
    } else {
        pow2 as u32
    }
}

/// Byte offset in the page of the entry used by ring index `idx`.
pub const fn entry_offset(idx: u32) -> usize {
    RING_OFFSET + (idx & (RING_SIZE - 1)) as usize * ENTRY_SIZE
}

// ---------------------------------------------------------------------------------------------
// Requests and responses.
// ---------------------------------------------------------------------------------------------

/// `VLED_OP_SET_BRIGHTNESS`: set LED `led` to `brightness`.
pub const OP_SET_BRIGHTNESS: u8 = 1;
/// `VLED_OP_GET_BRIGHTNESS`: read LED `led` (`brightness` must be 0).
pub const OP_GET_BRIGHTNESS: u8 = 2;

/// `VLED_STATUS_OK`: done; the response's `brightness` is the LED's brightness now.
pub const STATUS_OK: i16 = 0;
/// `VLED_STATUS_BAD_REQUEST`: unknown operation, or a reserved or unused field not zero.
pub const STATUS_BAD_REQUEST: i16 = -1;
/// `VLED_STATUS_UNKNOWN_LED`: `led >= nr-leds`.
pub const STATUS_UNKNOWN_LED: i16 = -2;
/// `VLED_STATUS_BAD_BRIGHTNESS`: `brightness` above the LED's maximum.
pub const STATUS_BAD_BRIGHTNESS: i16 = -3;
/// `VLED_STATUS_UNAVAILABLE`: the backend's LED of that name does not exist (now).
pub const STATUS_UNAVAILABLE: i16 = -4;
/// `VLED_STATUS_IO_ERROR`: the backend's LED driver failed.
pub const STATUS_IO_ERROR: i16 = -5;

/// `struct vled_request`, as plain fields (any bit pattern decodes; see [`check_request`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// Chosen by the frontend, echoed in the response. [`FrontRing`] uses the ring index.
    pub id: u32,
    /// `OP_*`.
    pub operation: u8,
    /// Zero.
    pub reserved: u8,
    /// LED number, below `nr-leds`.
    pub led: u16,
    /// New brightness (set), 0 (get).
    pub brightness: u32,
}

impl Request {
    /// A request to set `led` to `brightness` (its id is given when it is queued).
    pub const fn set(led: u16, brightness: u32) -> Self {
        Request { id: 0, operation: OP_SET_BRIGHTNESS, reserved: 0, led, brightness }
    }

    /// A request to read `led`.
    pub const fn get(led: u16) -> Self {
        Request { id: 0, operation: OP_GET_BRIGHTNESS, reserved: 0, led, brightness: 0 }
    }

    /// The wire form: little-endian, id at 0, operation at 4, reserved at 5, led at 6,
    /// brightness at 8.
    pub fn encode(&self) -> [u8; REQUEST_SIZE] {
        let mut b = [0u8; REQUEST_SIZE];
        b[0..4].copy_from_slice(&self.id.to_le_bytes());
        b[4] = self.operation;
        b[5] = self.reserved;
        b[6..8].copy_from_slice(&self.led.to_le_bytes());
        b[8..12].copy_from_slice(&self.brightness.to_le_bytes());
        b
    }

    /// Decodes the wire form (every bit pattern is a `Request`).
    pub fn decode(b: &[u8; REQUEST_SIZE]) -> Self {
        Request {
            id: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            operation: b[4],
            reserved: b[5],
            led: u16::from_le_bytes([b[6], b[7]]),
            brightness: u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
        }
    }

    /// Decodes the first [`REQUEST_SIZE`] bytes of `bytes`; `None` if it is shorter.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let b: &[u8; REQUEST_SIZE] = bytes.get(..REQUEST_SIZE)?.try_into().ok()?;
        Some(Self::decode(b))
    }
}

/// `struct vled_response`, as plain fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Response {
    /// The request's id.
    pub id: u32,
    /// The request's operation.
    pub operation: u8,
    /// Zero.
    pub reserved: u8,
    /// `STATUS_*` (see [`Status`]).
    pub status: i16,
    /// With `STATUS_OK`, the LED's brightness after the request as the backend's LED reports
    /// it; 0 otherwise.
    pub brightness: u32,
}

impl Response {
    /// The answer to `req`: its id and operation echoed, `status`, and `brightness` (forced to 0
    /// unless `status` is [`Status::Ok`]).
    pub fn answer(req: &Request, status: Status, brightness: u32) -> Self {
        let brightness = if status.is_ok() { brightness } else { 0 };
        Response {
            id: req.id,
            operation: req.operation,
            reserved: 0,
            status: status.to_wire(),
            brightness,
        }
    }

    /// The status, decoded.
    pub const fn status(&self) -> Status {
        Status::from_wire(self.status)
    }

    /// The wire form: little-endian, id at 0, operation at 4, reserved at 5, status at 6,
    /// brightness at 8.
    pub fn encode(&self) -> [u8; RESPONSE_SIZE] {
        let mut b = [0u8; RESPONSE_SIZE];
        b[0..4].copy_from_slice(&self.id.to_le_bytes());
        b[4] = self.operation;
        b[5] = self.reserved;
        b[6..8].copy_from_slice(&self.status.to_le_bytes());
        b[8..12].copy_from_slice(&self.brightness.to_le_bytes());
        b
    }

    /// Decodes the wire form (every bit pattern is a `Response`).
    pub fn decode(b: &[u8; RESPONSE_SIZE]) -> Self {
        Response {
            id: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            operation: b[4],
            reserved: b[5],
            status: i16::from_le_bytes([b[6], b[7]]),
            brightness: u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
        }
    }

    /// Decodes the first [`RESPONSE_SIZE`] bytes of `bytes`; `None` if it is shorter.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let b: &[u8; RESPONSE_SIZE] = bytes.get(..RESPONSE_SIZE)?.try_into().ok()?;
        Some(Self::decode(b))
    }
}

/// A response status (`int16_t` on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// [`STATUS_OK`].
    Ok,
    /// [`STATUS_BAD_REQUEST`].
    BadRequest,
    /// [`STATUS_UNKNOWN_LED`].
    UnknownLed,
    /// [`STATUS_BAD_BRIGHTNESS`].
    BadBrightness,
    /// [`STATUS_UNAVAILABLE`].
    Unavailable,
    /// [`STATUS_IO_ERROR`].
    IoError,
    /// Any other value (a failure: frontends treat every status but 0 as one).
    Other(i16),
}

impl Status {
    /// Decodes a wire status.
    pub const fn from_wire(v: i16) -> Self {
        match v {
            STATUS_OK => Status::Ok,
            STATUS_BAD_REQUEST => Status::BadRequest,
            STATUS_UNKNOWN_LED => Status::UnknownLed,
            STATUS_BAD_BRIGHTNESS => Status::BadBrightness,
            STATUS_UNAVAILABLE => Status::Unavailable,
            STATUS_IO_ERROR => Status::IoError,
            other => Status::Other(other),
        }
    }

    /// The wire value.
    pub const fn to_wire(self) -> i16 {
        match self {
            Status::Ok => STATUS_OK,
            Status::BadRequest => STATUS_BAD_REQUEST,
            Status::UnknownLed => STATUS_UNKNOWN_LED,
            Status::BadBrightness => STATUS_BAD_BRIGHTNESS,
            Status::Unavailable => STATUS_UNAVAILABLE,
            Status::IoError => STATUS_IO_ERROR,
            Status::Other(v) => v,
        }
    }

    /// True for success (wire value 0).
    pub const fn is_ok(self) -> bool {
        self.to_wire() == STATUS_OK
    }

    /// A short name for logs.
    pub const fn name(self) -> &'static str {
        match Status::from_wire(self.to_wire()) {
            Status::Ok => "ok",
            Status::BadRequest => "bad request",
            Status::UnknownLed => "unknown LED",
            Status::BadBrightness => "brightness above the maximum",
            Status::Unavailable => "LED unavailable",
            Status::IoError => "LED driver error",
            Status::Other(_) => "unknown status",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.to_wire())
    }
}

/// A request that passed [`check_request`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Set `led` to `brightness` (at most its maximum).
    Set {
        /// LED number, below `nr-leds`.
        led: u16,
        /// New brightness.
        brightness: u32,
    },
    /// Read `led`.
    Get {
        /// LED number, below `nr-leds`.
        led: u16,
    },
}

impl Command {
    /// The LED it is about.
    pub const fn led(&self) -> u16 {
        match *self {
            Command::Set { led, .. } | Command::Get { led } => led,
        }
    }

    /// The request that carries it (id 0 until queued).
    pub const fn request(&self) -> Request {
        match *self {
            Command::Set { led, brightness } => Request::set(led, brightness),
            Command::Get { led } => Request::get(led),
        }
    }
}

/// The backend's check of a request, in this order: a known operation with its reserved and
/// unused fields zero ([`Status::BadRequest`]), `led < nr_leds` ([`Status::UnknownLed`]),
/// `brightness <= max_brightness(led)` for a set ([`Status::BadBrightness`]).
/// `max_brightness` is only called with `led < nr_leds`.
pub fn check_request(
    req: &Request,
    nr_leds: u16,
    max_brightness: impl Fn(u16) -> u32,
) -> Result<Command, Status> {
    let command = match (req.operation, req.reserved, req.brightness) {
        (OP_SET_BRIGHTNESS, 0, brightness) => Command::Set { led: req.led, brightness },
        (OP_GET_BRIGHTNESS, 0, 0) => Command::Get { led: req.led },
        _ => return Err(Status::BadRequest),
    };
    if req.led >= nr_leds {
        return Err(Status::UnknownLed);
    }
    if let Command::Set { led, brightness } = command {
        if brightness > max_brightness(led) {
            return Err(Status::BadBrightness);
        }
    }
    Ok(command)
}

// ---------------------------------------------------------------------------------------------
// Ring errors and entries.
// ---------------------------------------------------------------------------------------------

/// Why a ring stopped (or refused one call).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingError {
    /// [`FrontRing::push_request`]: no free slot.
    Full,
    /// [`BackRing::push_response`]: every consumed request has its response already.
    NoRequest,
    /// Backend: the frontend's `req_prod` claims more than a ring of requests, or moved back
    /// (Xen's `RING_REQUEST_PROD_OVERFLOW`). The ring is dead from then on.
    RequestOverflow {
        /// The `req_prod` read.
        req_prod: u32,
        /// Requests consumed so far.
        req_cons: u32,
        /// Responses produced so far.
        rsp_prod: u32,
    },
    /// Frontend: the backend's `rsp_prod` runs ahead of the requests pushed, or moved back.
    /// The ring is dead from then on.
    ResponseOverflow {
        /// The `rsp_prod` read.
        rsp_prod: u32,
        /// Responses consumed so far.
        rsp_cons: u32,
        /// Requests pushed so far.
        req_prod: u32,
    },
}

impl fmt::Display for RingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RingError::Full => write!(f, "ring full"),
            RingError::NoRequest => write!(f, "no request to answer"),
            RingError::RequestOverflow { req_prod, req_cons, rsp_prod } => write!(
                f,
                "bogus req_prod {req_prod} (consumed {req_cons}, answered {rsp_prod}, ring {RING_SIZE})"
            ),
            RingError::ResponseOverflow { rsp_prod, rsp_cons, req_prod } => write!(
                f,
                "bogus rsp_prod {rsp_prod} (consumed {rsp_cons}, requested {req_prod})"
            ),
        }
    }
}

fn read_entry<M: SharedPage + ?Sized>(mem: &M, idx: u32) -> [u8; ENTRY_SIZE] {
    let mut buf = [0u8; ENTRY_SIZE];
    mem.read(entry_offset(idx), &mut buf);
    buf
}

fn write_entry<M: SharedPage + ?Sized>(mem: &mut M, idx: u32, bytes: &[u8]) {
    let mut buf = [0u8; ENTRY_SIZE];
    let n = bytes.len().min(ENTRY_SIZE);
    buf[..n].copy_from_slice(&bytes[..n]);
    mem.write(entry_offset(idx), &buf);
}

/// `RING_PUSH_*_AND_CHECK_NOTIFY`'s test: the other side asked (with its event index) to be
/// notified about one of the entries in `(old, new]`.
pub const fn need_notify(old: u32, new: u32, event: u32) -> bool {
    new.wrapping_sub(event) < new.wrapping_sub(old)
}

// ---------------------------------------------------------------------------------------------
// Frontend half.
// ---------------------------------------------------------------------------------------------

/// What the frontend remembers of a request in flight (its id is its ring index).
#[derive(Clone, Copy, Debug, Default)]
struct Sent {
    operation: u8,
    reserved: u8,
    led: u16,
    brightness: u32,
}

/// A response taken off the ring by [`FrontRing::next_response`], with the request it answers.
///
/// The backend answers in order, so the response at ring position `i` answers the request
/// queued at position `i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The response carries the request's id and operation.
    Answered {
        /// The request, as the frontend queued it (not re-read from the page).
        request: Request,
        /// The response.
        response: Response,
    },
    /// The response does not carry the id or operation of the request it should answer: a
    /// backend bug. The request is to be treated as failed (its LED's brightness unknown to be
    /// changed) and the response dropped, with a (rate-limited) log line.
    Mismatched {
        /// The request it should have answered.
        request: Request,
        /// What came instead.
        response: Response,
    },
}

impl Reply {
    /// The request this reply completes.
    pub const fn request(&self) -> &Request {
        match self {
            Reply::Answered { request, .. } | Reply::Mismatched { request, .. } => request,
        }
    }
}

/// The frontend's half of the ring (Xen's `front_ring` plus a copy of each request in flight).
///
/// The id of each request is its ring index (`req_prod_pvt` when it was queued), so ids are
/// unique among the requests in flight and responses can be checked against them.
#[derive(Clone, Debug)]
pub struct FrontRing {
    req_prod_pvt: u32,
    req_prod: u32,
    rsp_cons: u32,
    error: Option<RingError>,
    sent: [Sent; RING_SIZE as usize],
}

impl FrontRing {
    /// Initialises the shared page (`SHARED_RING_INIT`: indices 0, event indices 1, padding and
    /// entries zero) and returns the frontend half (`FRONT_RING_INIT`). Done for every new
    /// connection, before the page is granted.
    pub fn new<M: SharedPage + ?Sized>(mem: &mut M) -> Self {
        Self::new_at(mem, 0)
    }

    /// As [`new`](Self::new), with the indices starting at `start` instead of 0 (Xen's
    /// `FRONT_RING_ATTACH`). The protocol always starts at 0; this is for tests of the index
    /// wrap-around.
    pub fn new_at<M: SharedPage + ?Sized>(mem: &mut M, start: u32) -> Self {
        mem.write(PAD_OFFSET, &[0u8; PAD_SIZE]);
        for idx in 0..RING_SIZE {
            write_entry(mem, idx, &[0u8; ENTRY_SIZE]);
        }
        mem.store_u32(REQ_PROD_OFFSET, start);
        mem.store_u32(RSP_PROD_OFFSET, start);
        mem.store_u32(REQ_EVENT_OFFSET, start.wrapping_add(1));
        mem.store_u32(RSP_EVENT_OFFSET, start.wrapping_add(1));
        FrontRing {
            req_prod_pvt: start,
            req_prod: start,
            rsp_cons: start,
            error: None,
            sent: [Sent { operation: 0, reserved: 0, led: 0, brightness: 0 }; RING_SIZE as usize],
        }
    }

    /// Requests queued or pushed and not answered yet.
    pub const fn outstanding(&self) -> u32 {
        self.req_prod_pvt.wrapping_sub(self.rsp_cons)
    }

    /// `RING_FREE_REQUESTS`.
    pub const fn free_requests(&self) -> u32 {
        RING_SIZE - self.outstanding()
    }

    /// `RING_FULL`.
    pub const fn is_full(&self) -> bool {
        self.free_requests() == 0
    }

    /// The error that stopped this ring, if any.
    pub const fn error(&self) -> Option<RingError> {
        self.error
    }

    /// Queues `req` (its `id` replaced by its ring index, which is returned) in the next free
    /// slot; the backend sees it after [`push_requests_and_check_notify`](Self::push_requests_and_check_notify).
    pub fn push_request<M: SharedPage + ?Sized>(
        &mut self,
        mem: &mut M,
        req: Request,
    ) -> Result<u32, RingError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.is_full() {
            return Err(RingError::Full);
        }
        let id = self.req_prod_pvt;
        let req = Request { id, ..req };
        write_entry(mem, id, &req.encode());
        self.sent[(id & (RING_SIZE - 1)) as usize] = Sent {
            operation: req.operation,
            reserved: req.reserved,
            led: req.led,
            brightness: req.brightness,
        };
        self.req_prod_pvt = id.wrapping_add(1);
        Ok(id)
    }

    /// Queues a checked command (see [`push_request`](Self::push_request)).
    pub fn push_command<M: SharedPage + ?Sized>(
        &mut self,
        mem: &mut M,
        command: Command,
    ) -> Result<u32, RingError> {
        self.push_request(mem, command.request())
    }

    /// `RING_PUSH_REQUESTS_AND_CHECK_NOTIFY`: publishes the queued requests; true if the backend
    /// must be notified. The previous `req_prod` is the frontend's own record, not the page's.
    pub fn push_requests_and_check_notify<M: SharedPage + ?Sized>(&mut self, mem: &mut M) -> bool {
        if self.error.is_some() {
            return false;
        }
        let old = self.req_prod;
        let new = self.req_prod_pvt;
        mem.store_u32(REQ_PROD_OFFSET, new);
        self.req_prod = new;
        mem.full_barrier();
        need_notify(old, new, mem.load_u32(REQ_EVENT_OFFSET))
    }

    fn request_at(&self, idx: u32) -> Request {
        let s = self.sent[(idx & (RING_SIZE - 1)) as usize];
        Request {
            id: idx,
            operation: s.operation,
            reserved: s.reserved,
            led: s.led,
            brightness: s.brightness,
        }
    }

    /// Responses available on the page, checked: `Err` if `rsp_prod` runs ahead of the
    /// requests pushed (the ring is then dead).
    fn available<M: SharedPage + ?Sized>(&mut self, mem: &M) -> Result<u32, RingError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let rsp_prod = mem.load_u32(RSP_PROD_OFFSET);
        let available = rsp_prod.wrapping_sub(self.rsp_cons);
        if available > self.req_prod.wrapping_sub(self.rsp_cons) {
            let e = RingError::ResponseOverflow {
                rsp_prod,
                rsp_cons: self.rsp_cons,
                req_prod: self.req_prod,
            };
            self.error = Some(e);
            return Err(e);
        }
        Ok(available)
    }

    /// Takes the next response off the ring, if any, with the request it answers.
    pub fn next_response<M: SharedPage + ?Sized>(
        &mut self,
        mem: &M,
    ) -> Result<Option<Reply>, RingError> {
        if self.available(mem)? == 0 {
            return Ok(None);
        }
        let idx = self.rsp_cons;
        let response = Response::decode(&read_entry(mem, idx));
        self.rsp_cons = idx.wrapping_add(1);
        let request = self.request_at(idx);
        Ok(Some(if response.id == request.id && response.operation == request.operation {
            Reply::Answered { request, response }
        } else {
            Reply::Mismatched { request, response }
        }))
    }

    /// `RING_FINAL_CHECK_FOR_RESPONSES`: true if responses are waiting; otherwise asks for a
    /// notification on the next one (`rsp_event = rsp_cons + 1`) and checks again.
    pub fn final_check_for_responses<M: SharedPage + ?Sized>(
        &mut self,
        mem: &mut M,
    ) -> Result<bool, RingError> {
        if self.available(mem)? != 0 {
            return Ok(true);
        }
        mem.store_u32(RSP_EVENT_OFFSET, self.rsp_cons.wrapping_add(1));
        mem.full_barrier();
        Ok(self.available(mem)? != 0)
    }

    /// The requests queued or pushed and not answered, oldest first (to fail them when the
    /// connection goes away).
    pub fn unanswered(&self) -> impl Iterator<Item = Request> + '_ {
        (0..self.outstanding()).map(move |i| self.request_at(self.rsp_cons.wrapping_add(i)))
    }
}

// ---------------------------------------------------------------------------------------------
// Backend half.
// ---------------------------------------------------------------------------------------------

/// What one [`BackRing::serve_pass`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Requests answered (at most [`RING_SIZE`]).
    pub handled: u32,
    /// The frontend must be notified.
    pub notify: bool,
    /// More requests are waiting: run another pass after yielding. No notification will come
    /// for them (`req_event` was not re-armed).
    pub more: bool,
}

/// The backend's half of the ring (Xen's `back_ring`), with Xen's checks against a hostile
/// frontend.
#[derive(Clone, Debug, Default)]
pub struct BackRing {
    rsp_prod_pvt: u32,
    rsp_prod: u32,
    req_cons: u32,
    pass_end: u32,
    error: Option<RingError>,
}

impl BackRing {
    /// `BACK_RING_INIT` on a ring the frontend has just initialised (indices 0).
    pub const fn new() -> Self {
        Self::new_at(0)
    }

    /// As [`new`](Self::new), on a ring whose indices start at `start` (Xen's
    /// `BACK_RING_ATTACH`; see [`FrontRing::new_at`]).
    pub const fn new_at(start: u32) -> Self {
        BackRing { rsp_prod_pvt: start, rsp_prod: start, req_cons: start, pass_end: start, error: None }
    }

    /// The error that stopped this ring, if any.
    pub const fn error(&self) -> Option<RingError> {
        self.error
    }

    /// Requests consumed so far (`req_cons`).
    pub const fn consumed(&self) -> u32 {
        self.req_cons
    }

    /// Starts a pass: reads `req_prod` once and returns how many requests the pass may take
    /// (at most [`RING_SIZE`]). `Err` if `req_prod` is bogus (Xen's
    /// `RING_REQUEST_PROD_OVERFLOW`, or behind what was consumed): the ring is dead from then
    /// on; log it and close the device.
    pub fn begin_pass<M: SharedPage + ?Sized>(&mut self, mem: &M) -> Result<u32, RingError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let req_prod = mem.load_u32(REQ_PROD_OFFSET);
        let ahead = req_prod.wrapping_sub(self.rsp_prod_pvt);
        let unanswered = self.req_cons.wrapping_sub(self.rsp_prod_pvt);
        if ahead > RING_SIZE || ahead < unanswered {
            let e = RingError::RequestOverflow {
                req_prod,
                req_cons: self.req_cons,
                rsp_prod: self.rsp_prod_pvt,
            };
            self.error = Some(e);
            return Err(e);
        }
        self.pass_end = req_prod;
        Ok(ahead - unanswered)
    }

    /// Takes the next request of the current pass (a copy, decoded once), or `None` when the
    /// pass is done (`RING_REQUEST_CONS_OVERFLOW` also ends it).
    pub fn next_request<M: SharedPage + ?Sized>(&mut self, mem: &M) -> Option<Request> {
        if self.error.is_some() || self.req_cons == self.pass_end {
            return None;
        }
        if self.req_cons.wrapping_sub(self.rsp_prod_pvt) >= RING_SIZE {
            return None;
        }
        let req = Request::decode(&read_entry(mem, self.req_cons));
        self.req_cons = self.req_cons.wrapping_add(1);
        Some(req)
    }

    /// Queues the response to the oldest consumed request without one (responses go in the
    /// order requests were consumed).
    pub fn push_response<M: SharedPage + ?Sized>(
        &mut self,
        mem: &mut M,
        rsp: &Response,
    ) -> Result<(), RingError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.rsp_prod_pvt == self.req_cons {
            return Err(RingError::NoRequest);
        }
        write_entry(mem, self.rsp_prod_pvt, &rsp.encode());
        self.rsp_prod_pvt = self.rsp_prod_pvt.wrapping_add(1);
        Ok(())
    }

    /// `RING_PUSH_RESPONSES_AND_CHECK_NOTIFY`: publishes the queued responses; true if the
    /// frontend must be notified. The previous `rsp_prod` is the backend's own record, not the
    /// page's (which the frontend could have changed).
    pub fn push_responses_and_check_notify<M: SharedPage + ?Sized>(&mut self, mem: &mut M) -> bool {
        if self.error.is_some() {
            return false;
        }
        let old = self.rsp_prod;
        let new = self.rsp_prod_pvt;
        if old == new {
            return false;
        }
        mem.store_u32(RSP_PROD_OFFSET, new);
        self.rsp_prod = new;
        mem.full_barrier();
        need_notify(old, new, mem.load_u32(RSP_EVENT_OFFSET))
    }

    /// `RING_HAS_UNCONSUMED_REQUESTS`: `min(req_prod - req_cons, free response slots)`.
    fn unconsumed<M: SharedPage + ?Sized>(&self, mem: &M) -> u32 {
        let req = mem.load_u32(REQ_PROD_OFFSET).wrapping_sub(self.req_cons);
        let rsp = RING_SIZE.saturating_sub(self.req_cons.wrapping_sub(self.rsp_prod_pvt));
        req.min(rsp)
    }

    /// `RING_FINAL_CHECK_FOR_REQUESTS`: true if requests are waiting (then no notification will
    /// come for them); otherwise asks for a notification on the next one
    /// (`req_event = req_cons + 1`) and checks again. False once the ring is dead.
    pub fn final_check_for_requests<M: SharedPage + ?Sized>(&mut self, mem: &mut M) -> bool {
        if self.error.is_some() {
            return false;
        }
        if self.unconsumed(mem) != 0 {
            return true;
        }
        mem.store_u32(REQ_EVENT_OFFSET, self.req_cons.wrapping_add(1));
        mem.full_barrier();
        self.unconsumed(mem) != 0
    }

    /// One pass, the whole of what the backend does per notification: takes at most one ring
    /// of requests, answers each in order with `handle`'s result (`Ok(brightness)` is
    /// [`Status::Ok`] with the LED's brightness, `Err(status)` a failure), publishes the
    /// responses and re-arms `req_event` (unless more requests are already waiting).
    ///
    /// `Err` only for a bogus `req_prod` (nothing done; the ring is dead: log it, close the
    /// device). Use either this or the lower-level calls on a ring, not both: a request consumed
    /// with [`next_request`](Self::next_request) and left unanswered would be answered by the
    /// next pass's first response.
    pub fn serve_pass<M, F>(&mut self, mem: &mut M, mut handle: F) -> Result<Pass, RingError>
    where
        M: SharedPage + ?Sized,
        F: FnMut(&Request) -> Result<u32, Status>,
    {
        self.begin_pass(mem)?;
        let mut handled = 0;
        while let Some(req) = self.next_request(mem) {
            let rsp = match handle(&req) {
                Ok(brightness) => Response::answer(&req, Status::Ok, brightness),
                Err(status) => Response::answer(&req, status, 0),
            };
            // Cannot fail: `req` was consumed and has no response yet.
            let _ = self.push_response(mem, &rsp);
            handled += 1;
        }
        let notify = self.push_responses_and_check_notify(mem);
        let more = self.final_check_for_requests(mem);
        Ok(Pass { handled, notify, more })
    }
}

// ---------------------------------------------------------------------------------------------
// Xenstore values.
// ---------------------------------------------------------------------------------------------

/// `nr-leds`: 1 to [`MAX_LEDS`].
pub fn parse_nr_leds(value: &[u8]) -> Option<u16> {
    let n = u16::try_from(parse_uint(value)?).ok()?;
    (1..=MAX_LEDS).contains(&n).then_some(n)
}

/// `max-brightness`, `max-brightness-<n>`: 1 to [`MAX_BRIGHTNESS_LIMIT`].
pub fn parse_max_brightness(value: &[u8]) -> Option<u32> {
    let n = parse_uint(value)?;
    (1..=MAX_BRIGHTNESS_LIMIT).contains(&n).then_some(n)
}

/// `name-<n>`: 1 to [`MAX_NAME_LEN`] printable ASCII characters (`!` to `~`) other than `/`,
/// so that it is a valid LED class device name as it is (no space, no path separator).
pub fn parse_led_name(value: &[u8]) -> Option<&str> {
    let ok = !value.is_empty()
        && value.len() <= MAX_NAME_LEN
        && value.iter().all(|&c| c.is_ascii_graphic() && c != b'/');
    if ok {
        core::str::from_utf8(value).ok()
    } else {
        None
    }
}

/// True if no two of `names` are equal (a frontend refuses a backend that repeats a name: Linux
/// would silently rename the second LED).
pub fn names_are_distinct<'a, I>(names: I) -> bool
where
    I: IntoIterator<Item = &'a [u8]>,
    I::IntoIter: Clone,
{
    let names = names.into_iter();
    let mut rest = names.clone();
    while let Some(name) = rest.next() {
        if rest.clone().any(|other| other == name) {
            return false;
        }
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Xenbus state machine.
// ---------------------------------------------------------------------------------------------

/// What a frontend does when it sees the backend's state (its `otherend_changed`).
///
/// "Disconnect" below: stop queueing, complete every unanswered request as failed (brightness
/// unchanged), remove the LED class devices, unbind and free the event channel, end access to
/// the ring page's grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrontendAction {
    /// Nothing.
    Nothing,
    /// Read and check the backend's keys (`nr-leds`, `max-brightness[-<n>]`, `name-<n>`);
    /// initialise a new ring page ([`FrontRing::new`]), grant it, allocate an event channel,
    /// write `ring-ref` and `event-channel`, switch to Initialised. One connection attempt.
    /// On any failure: undo, `xenbus_dev_fatal` (Closing).
    Connect,
    /// The backend restarted under a connected frontend: disconnect, then as Connect.
    Reconnect,
    /// The backend is connected: create the LED class devices (`name-<n>`), optionally read
    /// each LED ([`Request::get`]), switch to Connected. Connection attempts go back to 0.
    Activate,
    /// Disconnect, switch to Closed.
    Close,
    /// Disconnect, switch to Closed, then to Initialising (ready for a new backend).
    CloseAndReinit,
    /// Switch to Initialising (ready for a new backend).
    Reinit,
}

/// The frontend's state machine: what to do, in state `me`, on reading the backend's state
/// `backend`. `may_reinit` is `attempts < MAX_CONNECT_ATTEMPTS`, attempts being the Connect
/// and Reconnect actions since the last Activate; it keeps a frontend from looping with a
/// backend that fails every connection. (A frontend's probe switches to Initialising first,
/// whatever state a previous instance left.)
pub fn frontend_action(me: XenbusState, backend: XenbusState, may_reinit: bool) -> FrontendAction {
    use XenbusState as S;
    match backend {
        S::InitWait => match me {
            S::Initialising | S::Closed => FrontendAction::Connect,
            // Backend InitWait after it was Connected: it restarted (its Closed may have been
            // missed: a watch reports the state as it is when read).
            S::Connected => FrontendAction::Reconnect,
            // Initialised: our ring is set up, the backend has not read it yet.
            _ => FrontendAction::Nothing,
        },
        S::Connected => match me {
            S::Initialised => FrontendAction::Activate,
            _ => FrontendAction::Nothing,
        },
        S::Closing => match me {
            S::Initialised | S::Connected | S::Closing => FrontendAction::Close,
            _ => FrontendAction::Nothing,
        },
        // Initialising, Closed, Unknown (gone), Reconfiguring/Reconfigured: no backend.
        _ => match (me, may_reinit) {
            (S::Initialised | S::Connected | S::Closing, true) => FrontendAction::CloseAndReinit,
            (S::Initialised | S::Connected | S::Closing, false) => FrontendAction::Close,
            (S::Closed, true) => FrontendAction::Reinit,
            _ => FrontendAction::Nothing,
        },
    }
}

/// What a backend does when it sees the frontend's state (its `frontend_changed`).
///
/// "Disconnect" below: stop the ring handler and wait for it, unbind the event channel, unmap
/// the ring page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendAction {
    /// Nothing.
    Nothing,
    /// Disconnect (if connected), write the keys (`nr-leds`, `max-brightness[-<n>]`,
    /// `name-<n>`), switch to InitWait. Also what the backend's probe does.
    Prepare,
    /// Read `ring-ref` and `event-channel`, map the ring, start a [`BackRing`], bind the event
    /// channel, switch to Connected. On any failure: undo, `xenbus_dev_fatal` (Closing).
    Connect,
    /// Disconnect, switch to Closing.
    Close,
    /// Disconnect, switch to Closed (the device stays, as `online` is 1).
    Closed,
}

/// The backend's state machine: what to do, in state `me`, on reading the frontend's state
/// `frontend`. (A dead ring, [`RingError::RequestOverflow`], is handled apart: disconnect and
/// `xenbus_dev_fatal`, i.e. Closing.)
pub fn backend_action(me: XenbusState, frontend: XenbusState) -> BackendAction {
    use XenbusState as S;
    match frontend {
        // A new frontend (probe), or one that wants to reconnect.
        S::Initialising => match me {
            S::InitWait => BackendAction::Nothing,
            _ => BackendAction::Prepare,
        },
        S::Initialised => match me {
            S::InitWait => BackendAction::Connect,
            // Connected: the frontend has not seen our Connected yet. Closing: waiting for
            // the frontend to close.
            _ => BackendAction::Nothing,
        },
        S::Connected => BackendAction::Nothing,
        S::Closing => match me {
            S::Initialising | S::Closing | S::Closed => BackendAction::Nothing,
            _ => BackendAction::Close,
        },
        // A backend waiting for a frontend keeps waiting for a Closed one: the frontend may
        // have given up before this backend was loaded (MAX_CONNECT_ATTEMPTS), and comes back
        // when it sees InitWait; closing too would leave both Closed for good.
        S::Closed if me == S::InitWait => BackendAction::Nothing,
        // Closed, Unknown (gone), Reconfiguring/Reconfigured.
        _ => match me {
            S::Initialising | S::Closed => BackendAction::Nothing,
            _ => BackendAction::Closed,
        },
    }
}
