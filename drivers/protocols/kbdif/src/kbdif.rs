// SPDX-License-Identifier: MIT

//! Xen's `vkbd` protocol (`include/xen/interface/io/kbdif.h`): xenstore keys, the shared page,
//! the 40-byte events, the backend's producer of `in` events and the frontend's consumer, with
//! the checks each side needs against the other (docs/protocols/kbdif.md).
//!
//! This one file is the protocol, on top of three files shared with the other protocols
//! (drivers/protocols/common/src): `crate::shared_page`, the page's trait, `crate::ring_index`,
//! the index rules of the ring and its typed halves, and `crate::xenbus_state`, for xenstore's
//! numbers ([`parse_uint`]). It is plain `core` Rust without `unsafe`,
//! so that both the host-tested crate `kbdif-protocol` (`drivers/protocols/kbdif/src/lib.rs`)
//! and the kernel modules can compile it. A module includes it from its crate root with
//!
//! ```ignore
//! pub use kext::{shared_page, xenbus_state};    // kernel-ext includes them
//! #[path = "../protocols/common/src/ring_index.rs"]
//! pub mod ring_index;
//! #[path = "../protocols/kbdif/src/kbdif.rs"]
//! pub mod kbdif;
//! ```
//!
//! The shared page is only reached through [`SharedPage`], which the includer implements over
//! its memory (kernel-ext for the grant mapping in the backend and the page itself in the
//! frontend, a buffer in tests), and only at these offsets: `load_u32`/`store_u32` one of the
//! four indices, `read`/`write` one whole event ([`IN_EVENT_SIZE`] bytes at
//! [`in_event_offset`]). Every index read from it is checked before use, every event is copied
//! out once and decoded from the copy, and no value on the page can make a call panic, touch
//! memory outside the ring, or loop more than one ring's worth.
//!
//! Backend (dom0), for each input event it forwards:
//!
//! ```ignore
//! let mut ring = kbdif::InProducer::attach(&page)?;       // at connection
//! match ring.push(&mut page, &kbdif::InEvent::Key { pressed: true, keycode: 28 }) {
//!     Ok(()) => evtchn.notify(),
//!     Err(kbdif::PushError::Full) => { /* dropped: log (rate-limited) */ }
//!     Err(kbdif::PushError::Invalid(e)) => { /* a bug of ours: not sent */ }
//!     Err(kbdif::PushError::Ring(e)) => { /* hostile in_cons: xenbus_dev_fatal */ }
//! }
//! ```
//!
//! Frontend (domU), in its event handler: [`InConsumer::consume`], then notify the backend if
//! it consumed anything (the backend may be waiting for room).

use core::fmt;

use crate::ring_index::{self, EventConsumer, EventProducer, Ring};
pub use crate::ring_index::{slot_reused_across_wrap, Event, RingError};
pub use crate::shared_page::SharedPage;
pub use crate::xenbus_state::parse_uint;

// ---------------------------------------------------------------------------------------------
// Xenbus: device type and keys.
// ---------------------------------------------------------------------------------------------

/// The xenbus device type (`XENKBD_DRIVER_NAME`): frontends under `device/vkbd/<id>`, backends
/// under `backend/vkbd/<frontend-domid>/<id>`.
pub const DEVICE_TYPE: &str = "vkbd";

/// Backend key `feature-disable-keyboard` (`XENKBD_FIELD_FEAT_DSBL_KEYBRD`): 1 = the frontend
/// creates no keyboard. **Not written by our backend**: Linux's xen-kbdfront dereferences its
/// keyboard device for every key that is not a pointer button, so with it set any key event
/// crashes that frontend.
pub const FIELD_FEAT_DSBL_KEYBRD: &str = "feature-disable-keyboard";
/// Backend key `feature-disable-pointer` (`XENKBD_FIELD_FEAT_DSBL_POINTER`): 1 = no pointer.
/// **Not written by our backend**: xen-kbdfront dereferences its pointer device for every key
/// event, so with it set any key event crashes that frontend.
pub const FIELD_FEAT_DSBL_POINTER: &str = "feature-disable-pointer";
/// Backend key `feature-abs-pointer` (`XENKBD_FIELD_FEAT_ABS_POINTER`): 1 = the backend can
/// send [`InEvent::Position`]. **Written by our backend** (1).
pub const FIELD_FEAT_ABS_POINTER: &str = "feature-abs-pointer";
/// Backend key `feature-raw-pointer` (`XENKBD_FIELD_FEAT_RAW_POINTER`): 1 = positions can be
/// raw, 0 to 0x7fff. Not written by our backend; Linux never requests it.
pub const FIELD_FEAT_RAW_POINTER: &str = "feature-raw-pointer";
/// Backend key `feature-multi-touch` (`XENKBD_FIELD_FEAT_MTOUCH`). Not written by our backend.
pub const FIELD_FEAT_MTOUCH: &str = "feature-multi-touch";
/// Frontend key `request-abs-pointer` (`XENKBD_FIELD_REQ_ABS_POINTER`): 1 = send
/// [`InEvent::Position`] rather than [`InEvent::Motion`]. Linux writes it when the backend
/// offers `feature-abs-pointer`; our backend reads it at connection.
pub const FIELD_REQ_ABS_POINTER: &str = "request-abs-pointer";
/// Frontend key `request-raw-pointer` (`XENKBD_FIELD_REQ_RAW_POINTER`).
pub const FIELD_REQ_RAW_POINTER: &str = "request-raw-pointer";
/// Frontend key `request-multi-touch` (`XENKBD_FIELD_REQ_MTOUCH`).
pub const FIELD_REQ_MTOUCH: &str = "request-multi-touch";
/// Frontend key `page-gref` (`XENKBD_FIELD_RING_GREF`): grant reference of the shared page.
/// What our backend maps.
pub const FIELD_RING_GREF: &str = "page-gref";
/// Frontend key `event-channel` (`XENKBD_FIELD_EVT_CHANNEL`): an unbound port toward the
/// backend domain.
pub const FIELD_EVT_CHANNEL: &str = "event-channel";
/// Backend key `width` (`XENKBD_FIELD_WIDTH`): largest X of [`InEvent::Position`], in pixels.
/// **Written by our backend** (the display's width).
pub const FIELD_WIDTH: &str = "width";
/// Backend key `height` (`XENKBD_FIELD_HEIGHT`): largest Y. **Written by our backend**.
pub const FIELD_HEIGHT: &str = "height";
/// Backend key `multi-touch-width` (`XENKBD_FIELD_MT_WIDTH`).
pub const FIELD_MT_WIDTH: &str = "multi-touch-width";
/// Backend key `multi-touch-height` (`XENKBD_FIELD_MT_HEIGHT`).
pub const FIELD_MT_HEIGHT: &str = "multi-touch-height";
/// Backend key `multi-touch-num-contacts` (`XENKBD_FIELD_MT_NUM_CONTACTS`).
pub const FIELD_MT_NUM_CONTACTS: &str = "multi-touch-num-contacts";
/// Backend key `unique-id` (`XENKBD_FIELD_UNIQUE_ID`).
pub const FIELD_UNIQUE_ID: &str = "unique-id";
/// Frontend key `page-ref` (`XENKBD_FIELD_RING_REF`, obsolete): the page's frame number.
/// Linux still writes it; our backend ignores it (it maps `page-gref`).
pub const FIELD_RING_REF: &str = "page-ref";

/// The keys our backend writes, with their values, for a display of `width` x `height`
/// pixels. Linux's xen-kbdfront reads them once, in its probe, which can run before the
/// backend module is loaded: whoever creates the backend directory (here the hypervisor, at
/// domain build) writes them too.
pub const fn backend_keys(width: u32, height: u32) -> [(&'static str, u32); 3] {
    [(FIELD_FEAT_ABS_POINTER, 1), (FIELD_WIDTH, width), (FIELD_HEIGHT, height)]
}

/// A `feature-*` or `request-*` key: on iff present and a non-zero number (what Linux's
/// `xenbus_read_unsigned(..., 0)` makes of it, minus its leniency about the format).
pub fn feature_enabled(value: Option<&[u8]>) -> bool {
    value.and_then(parse_uint).is_some_and(|n| n != 0)
}

/// `event-channel`: a port number, not 0 (Xen's invalid port).
pub fn parse_event_channel(value: &[u8]) -> Option<u32> {
    parse_uint(value).filter(|&p| p != 0)
}

/// `page-gref`: a grant reference (any `u32`; the grant map checks it).
pub fn parse_grant_ref(value: &[u8]) -> Option<u32> {
    parse_uint(value)
}

/// True if a frontend in xenbus state `state` has published its keys: Initialised (3) or
/// Connected (4). Linux's xen-kbdfront switches to Connected as soon as it sees the backend's
/// InitWait, so a backend in InitWait may never read Initialised: it connects on either.
pub const fn frontend_ready(state: u32) -> bool {
    matches!(state, 3 | 4)
}

// ---------------------------------------------------------------------------------------------
// Linux key codes (include/uapi/linux/input-event-codes.h).
// ---------------------------------------------------------------------------------------------

/// `KEY_ESC`, the first key xen-kbdfront's keyboard reports.
pub const KEY_ESC: u32 = 1;
/// `KEY_UNKNOWN`: keys `KEY_ESC..KEY_UNKNOWN` are on xen-kbdfront's keyboard.
pub const KEY_UNKNOWN: u32 = 240;
/// `BTN_LEFT`: buttons `BTN_LEFT..=BTN_TASK` are on xen-kbdfront's pointer.
pub const BTN_LEFT: u32 = 0x110;
/// `BTN_TASK`, the last pointer button.
pub const BTN_TASK: u32 = 0x117;
/// `KEY_OK`: keys `KEY_OK..KEY_MAX` are also on xen-kbdfront's keyboard.
pub const KEY_OK: u32 = 0x160;
/// `KEY_MAX`: the largest key code. xen-kbdfront tests a bit of a `KEY_CNT`-bit map with the
/// key code without checking it, so a larger one reads past the map: [`InEvent::check`]
/// refuses them.
pub const KEY_MAX: u32 = 0x2ff;

/// True if Linux's xen-kbdfront reports `keycode` (to its keyboard or its pointer). It logs
/// "unhandled keycode" for any other, without rate limit: a backend sends only these.
pub const fn linux_frontend_handles_key(keycode: u32) -> bool {
    (keycode >= KEY_ESC && keycode < KEY_UNKNOWN)
        || (keycode >= BTN_LEFT && keycode <= BTN_TASK)
        || (keycode >= KEY_OK && keycode < KEY_MAX)
}

// ---------------------------------------------------------------------------------------------
// Shared page layout.
// ---------------------------------------------------------------------------------------------

/// Size of the shared page: one 4 KiB Xen page, whatever the guest's page size.
pub const PAGE_SIZE: usize = 4096;
/// `struct xenkbd_page`'s `in_cons`: written by the frontend.
pub const IN_CONS_OFFSET: usize = 0;
/// `in_prod`: written by the backend.
pub const IN_PROD_OFFSET: usize = 4;
/// `out_cons`: written by the backend (never: no out events are defined).
pub const OUT_CONS_OFFSET: usize = 8;
/// `out_prod`: written by the frontend (never, as above).
pub const OUT_PROD_OFFSET: usize = 12;

/// `XENKBD_IN_EVENT_SIZE`: every event is 40 bytes.
pub const IN_EVENT_SIZE: usize = 40;
/// `XENKBD_IN_RING_SIZE`: bytes of the in ring.
pub const IN_RING_SIZE: usize = 2048;
/// `XENKBD_IN_RING_LEN`: events in the in ring, 51. Not a power of two: see
/// [`slot_reused_across_wrap`].
pub const IN_RING_LEN: u32 = (IN_RING_SIZE / IN_EVENT_SIZE) as u32;
/// `XENKBD_IN_RING_OFFS`: where the in ring starts in the page.
pub const IN_RING_OFFS: usize = 1024;
/// `XENKBD_OUT_EVENT_SIZE`.
pub const OUT_EVENT_SIZE: usize = 40;
/// `XENKBD_OUT_RING_SIZE`.
pub const OUT_RING_SIZE: usize = 1024;
/// `XENKBD_OUT_RING_LEN`: 25.
pub const OUT_RING_LEN: u32 = (OUT_RING_SIZE / OUT_EVENT_SIZE) as u32;
/// `XENKBD_OUT_RING_OFFS`: 3072, after the in ring.
pub const OUT_RING_OFFS: usize = IN_RING_OFFS + IN_RING_SIZE;

/// Byte offset in the page of the in event with ring index `idx` (`XENKBD_IN_RING_REF`: the
/// index modulo [`IN_RING_LEN`]).
pub const fn in_event_offset(idx: u32) -> usize {
    IN_RING_OFFS + (idx % IN_RING_LEN) as usize * IN_EVENT_SIZE
}

/// Byte offset in the page of the out event with ring index `idx`.
pub const fn out_event_offset(idx: u32) -> usize {
    OUT_RING_OFFS + (idx % OUT_RING_LEN) as usize * OUT_EVENT_SIZE
}

// ---------------------------------------------------------------------------------------------
// Events.
// ---------------------------------------------------------------------------------------------

/// `XENKBD_TYPE_MOTION`: relative pointer motion.
pub const TYPE_MOTION: u8 = 1;
/// `XENKBD_TYPE_RESERVED`: not an event.
pub const TYPE_RESERVED: u8 = 2;
/// `XENKBD_TYPE_KEY`: a key or a pointer button.
pub const TYPE_KEY: u8 = 3;
/// `XENKBD_TYPE_POS`: absolute pointer position.
pub const TYPE_POS: u8 = 4;
/// `XENKBD_TYPE_MTOUCH`: multi-touch.
pub const TYPE_MTOUCH: u8 = 5;

/// `XENKBD_MT_EV_DOWN`.
pub const MT_EV_DOWN: u8 = 0;
/// `XENKBD_MT_EV_UP`.
pub const MT_EV_UP: u8 = 1;
/// `XENKBD_MT_EV_MOTION`.
pub const MT_EV_MOTION: u8 = 2;
/// `XENKBD_MT_EV_SYN`.
pub const MT_EV_SYN: u8 = 3;
/// `XENKBD_MT_EV_SHAPE`.
pub const MT_EV_SHAPE: u8 = 4;
/// `XENKBD_MT_EV_ORIENT`.
pub const MT_EV_ORIENT: u8 = 5;

/// A multi-touch event's sub-event (`struct xenkbd_mtouch`'s `event_type` and union).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MtEvent {
    /// `XENKBD_MT_EV_DOWN`: a new contact.
    Down {
        /// Absolute X, pixels.
        abs_x: i32,
        /// Absolute Y, pixels.
        abs_y: i32,
    },
    /// `XENKBD_MT_EV_UP`: the contact is released.
    Up,
    /// `XENKBD_MT_EV_MOTION`: the contact moved.
    Motion {
        /// Absolute X, pixels.
        abs_x: i32,
        /// Absolute Y, pixels.
        abs_y: i32,
    },
    /// `XENKBD_MT_EV_SYN`: end of a set of events.
    Syn,
    /// `XENKBD_MT_EV_SHAPE`: the contact's ellipse.
    Shape {
        /// Major axis, pixels.
        major: u32,
        /// Minor axis, pixels.
        minor: u32,
    },
    /// `XENKBD_MT_EV_ORIENT`: the ellipse's orientation.
    Orient {
        /// Clockwise angle of the major axis from +Y, degrees, -180 to 180.
        orientation: i16,
    },
    /// Any other `event_type` (frontends ignore it).
    Other(u8),
}

/// An in event (`union xenkbd_in_event`), decoded. Every 40-byte pattern decodes to one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InEvent {
    /// `XENKBD_TYPE_MOTION`: `type` at 0, `rel_x` at 4, `rel_y` at 8, `rel_z` at 12.
    Motion {
        /// Relative X motion.
        rel_x: i32,
        /// Relative Y motion.
        rel_y: i32,
        /// Wheel (Linux reports `-rel_z` as `REL_WHEEL`).
        rel_z: i32,
    },
    /// `XENKBD_TYPE_KEY`: `type` at 0, `pressed` at 1, `keycode` at 4.
    Key {
        /// Pressed (1) or released (0); any non-zero byte decodes as pressed.
        pressed: bool,
        /// A Linux `KEY_*` or `BTN_*` code.
        keycode: u32,
    },
    /// `XENKBD_TYPE_POS`: `type` at 0, `abs_x` at 4, `abs_y` at 8, `rel_z` at 12.
    Position {
        /// Absolute X, 0 to the backend's `width`.
        abs_x: i32,
        /// Absolute Y, 0 to the backend's `height`.
        abs_y: i32,
        /// Wheel.
        rel_z: i32,
    },
    /// `XENKBD_TYPE_MTOUCH`: `type` at 0, `event_type` at 1, `contact_id` at 2, the union at 8
    /// (`abs_x`/`major` at 8, `abs_y`/`minor` at 12, `orientation` at 8).
    MultiTouch {
        /// The contact, 0 to `multi-touch-num-contacts - 1`.
        contact_id: u8,
        /// What happened to it.
        event: MtEvent,
    },
    /// Any other `type` (frontends ignore it).
    Other(u8),
}

fn put_i32(b: &mut [u8; IN_EVENT_SIZE], at: usize, v: i32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn get_i32(b: &[u8; IN_EVENT_SIZE], at: usize) -> i32 {
    i32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl InEvent {
    /// Decodes the first [`IN_EVENT_SIZE`] bytes of `bytes`; `None` if it is shorter.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let b: &[u8; IN_EVENT_SIZE] = bytes.get(..IN_EVENT_SIZE)?.try_into().ok()?;
        Some(Self::decode(b))
    }

    /// What a backend may send, checked: refuses what kbdif.h does not define (unknown types
    /// and multi-touch sub-events, an orientation outside -180..=180) and what Linux's
    /// xen-kbdfront mishandles (a key code 0 or above [`KEY_MAX`]: it reads past its bit map;
    /// a wheel `rel_z` of `i32::MIN`: it negates it).
    pub fn check(&self) -> Result<(), EventError> {
        match *self {
            InEvent::Key { keycode, .. } if keycode == 0 || keycode > KEY_MAX => {
                Err(EventError::Keycode(keycode))
            }
            InEvent::Motion { rel_z, .. } | InEvent::Position { rel_z, .. } if rel_z == i32::MIN => {
                Err(EventError::Wheel(rel_z))
            }
            InEvent::MultiTouch { event: MtEvent::Orient { orientation }, .. }
                if !(-180..=180).contains(&orientation) =>
            {
                Err(EventError::Orientation(orientation))
            }
            InEvent::MultiTouch { event: MtEvent::Other(e), .. } => Err(EventError::MtEventType(e)),
            InEvent::Other(t) => Err(EventError::Type(t)),
            _ => Ok(()),
        }
    }
}

/// Why [`InEvent::check`] refused an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventError {
    /// Key code 0 or above [`KEY_MAX`].
    Keycode(u32),
    /// A wheel motion of `i32::MIN`.
    Wheel(i32),
    /// An orientation outside -180..=180.
    Orientation(i16),
    /// An event type kbdif.h does not define (or `XENKBD_TYPE_RESERVED`).
    Type(u8),
    /// A multi-touch sub-event kbdif.h does not define.
    MtEventType(u8),
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            EventError::Keycode(k) => write!(f, "key code {k:#x} outside 1..={KEY_MAX:#x}"),
            EventError::Wheel(z) => write!(f, "wheel motion {z}"),
            EventError::Orientation(o) => write!(f, "orientation {o} outside -180..=180"),
            EventError::Type(t) => write!(f, "unknown event type {t}"),
            EventError::MtEventType(e) => write!(f, "unknown multi-touch event {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The shared page and its rings.
// ---------------------------------------------------------------------------------------------

/// Why [`InProducer::push`] sent nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushError {
    /// No free slot: the event is dropped (never overwritten over an unconsumed one).
    Full,
    /// The event failed [`InEvent::check`].
    Invalid(EventError),
    /// The ring is dead.
    Ring(RingError),
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Full => write!(f, "ring full"),
            PushError::Invalid(e) => write!(f, "invalid event: {e}"),
            PushError::Ring(e) => e.fmt(f),
        }
    }
}

impl From<ring_index::PushError> for PushError {
    fn from(e: ring_index::PushError) -> Self {
        match e {
            ring_index::PushError::Full => PushError::Full,
            ring_index::PushError::Ring(e) => PushError::Ring(e),
        }
    }
}

/// The in ring: events from the backend, checked ([`InEvent::check`]) before they are sent.
impl ring_index::Event<IN_EVENT_SIZE> for InEvent {
    const RING: Ring = Ring {
        cons_offset: IN_CONS_OFFSET,
        prod_offset: IN_PROD_OFFSET,
        slot_offset: in_event_offset,
        len: IN_RING_LEN,
    };
    type PushError = PushError;

    /// The wire form: little-endian, every byte the event does not use (reserved) zero.
    fn encode(&self) -> [u8; IN_EVENT_SIZE] {
        let mut b = [0u8; IN_EVENT_SIZE];
        match *self {
            InEvent::Motion { rel_x, rel_y, rel_z } => {
                b[0] = TYPE_MOTION;
                put_i32(&mut b, 4, rel_x);
                put_i32(&mut b, 8, rel_y);
                put_i32(&mut b, 12, rel_z);
            }
            InEvent::Key { pressed, keycode } => {
                b[0] = TYPE_KEY;
                b[1] = u8::from(pressed);
                b[4..8].copy_from_slice(&keycode.to_le_bytes());
            }
            InEvent::Position { abs_x, abs_y, rel_z } => {
                b[0] = TYPE_POS;
                put_i32(&mut b, 4, abs_x);
                put_i32(&mut b, 8, abs_y);
                put_i32(&mut b, 12, rel_z);
            }
            InEvent::MultiTouch { contact_id, event } => {
                b[0] = TYPE_MTOUCH;
                b[2] = contact_id;
                b[1] = match event {
                    MtEvent::Down { abs_x, abs_y } | MtEvent::Motion { abs_x, abs_y } => {
                        put_i32(&mut b, 8, abs_x);
                        put_i32(&mut b, 12, abs_y);
                        if matches!(event, MtEvent::Down { .. }) {
                            MT_EV_DOWN
                        } else {
                            MT_EV_MOTION
                        }
                    }
                    MtEvent::Up => MT_EV_UP,
                    MtEvent::Syn => MT_EV_SYN,
                    MtEvent::Shape { major, minor } => {
                        b[8..12].copy_from_slice(&major.to_le_bytes());
                        b[12..16].copy_from_slice(&minor.to_le_bytes());
                        MT_EV_SHAPE
                    }
                    MtEvent::Orient { orientation } => {
                        b[8..10].copy_from_slice(&orientation.to_le_bytes());
                        MT_EV_ORIENT
                    }
                    MtEvent::Other(e) => e,
                };
            }
            InEvent::Other(t) => b[0] = t,
        }
        b
    }

    /// Decodes the wire form (reserved bytes are ignored).
    fn decode(b: &[u8; IN_EVENT_SIZE]) -> Self {
        match b[0] {
            TYPE_MOTION => {
                InEvent::Motion { rel_x: get_i32(b, 4), rel_y: get_i32(b, 8), rel_z: get_i32(b, 12) }
            }
            TYPE_KEY => InEvent::Key {
                pressed: b[1] != 0,
                keycode: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            },
            TYPE_POS => {
                InEvent::Position { abs_x: get_i32(b, 4), abs_y: get_i32(b, 8), rel_z: get_i32(b, 12) }
            }
            TYPE_MTOUCH => {
                let (x, y) = (get_i32(b, 8), get_i32(b, 12));
                let event = match b[1] {
                    MT_EV_DOWN => MtEvent::Down { abs_x: x, abs_y: y },
                    MT_EV_UP => MtEvent::Up,
                    MT_EV_MOTION => MtEvent::Motion { abs_x: x, abs_y: y },
                    MT_EV_SYN => MtEvent::Syn,
                    MT_EV_SHAPE => MtEvent::Shape { major: x as u32, minor: y as u32 },
                    MT_EV_ORIENT => MtEvent::Orient { orientation: i16::from_le_bytes([b[8], b[9]]) },
                    other => MtEvent::Other(other),
                };
                InEvent::MultiTouch { contact_id: b[2], event }
            }
            other => InEvent::Other(other),
        }
    }

    fn check_push(&self) -> Result<(), PushError> {
        self.check().map_err(PushError::Invalid)
    }
}

/// The backend's half of the in ring: it produces events, the frontend consumes them.
///
/// The backend's own count of events produced is the only `in_prod` it trusts; the page's
/// `in_cons` is checked on every push (at most a ring behind what was published, never beyond
/// it), and a slot is written only when it holds no unconsumed event. `attach` takes the
/// page's current indices (0 on a new page; Linux's xen-kbdfront keeps its page, indices and
/// all, when a backend reconnects); `queue` and `push` refuse what fails [`InEvent::check`]
/// (`Invalid`), besides `Full` (the event is dropped, nothing is overwritten) and `Ring` (the
/// frontend's `in_cons` is bogus: the ring is dead).
pub type InProducer = EventProducer<InEvent, IN_EVENT_SIZE>;

/// The frontend's half of the in ring (a frontend zeroes its page before granting it: its
/// indices are 0 at `attach`). `consume` hands over at most [`IN_RING_LEN`] events a call;
/// if it consumed any, notify the backend (it may be waiting for room).
pub type InConsumer = EventConsumer<InEvent, IN_EVENT_SIZE>;
