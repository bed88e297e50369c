// SPDX-License-Identifier: MIT

//! Xen's `vfb` protocol (`include/xen/interface/io/fbif.h`): xenstore keys, the shared page
//! (`struct xenfb_page`: rings, framebuffer geometry, page directory), the 40-byte events, the
//! backend's consumer of `out` events with their validation, the page directory arithmetic, and
//! the byte ranges a backend copies for a dirty rectangle (docs/protocols/fbif.md).
//!
//! This one file is the protocol, on top of two files shared with the other protocols
//! (drivers/protocols/common/src): `crate::shared_page`, the page's trait, and
//! `crate::ring_index`, the index rules of the rings. It is plain `core` Rust without `unsafe`,
//! so that both the host-tested crate `fbif-protocol` (`drivers/protocols/fbif/src/lib.rs`) and
//! the kernel modules can compile it. A module includes it from its crate root with
//!
//! ```ignore
//! pub use kext::shared_page;    // kernel-ext includes it and implements it
//! #[path = "../protocols/common/src/ring_index.rs"]
//! pub mod ring_index;
//! #[path = "../protocols/fbif/src/fbif.rs"]
//! pub mod fbif;
//! ```
//!
//! The shared page is only reached through [`SharedPage`], which the includer implements over
//! its memory (kernel-ext for the frontend's page and the backend's foreign mapping of it),
//! and only at these offsets: `load_u32`/`store_u32` one of the four indices, `read`/`write`
//! one whole event at [`in_event_offset`] or [`out_event_offset`], the geometry
//! ([`HEADER_SIZE`] bytes at [`WIDTH_OFFSET`]) or one `pd[]` entry at [`pd_entry_offset`].
//! Every value read from it is treated as hostile: geometry is validated before
//! anything is mapped, indices are checked before use, events are copied once and decoded
//! from the copy, and rectangles are clipped to the framebuffer in 64-bit arithmetic, so that
//! no value on the page can make a call panic, address memory outside the framebuffer or the
//! ring, or loop more than one ring's worth.
//!
//! Backend (dom0), at connection and then per notification:
//!
//! ```ignore
//! let info = fbif::PageInfo::read(&page);
//! let layout = fbif::Layout::from_page(&info, videoram_mib << 20)?;   // before mapping
//! // map the layout.pd_pages() directory pages (fbif::read_pd_entry), then the
//! // layout.frames() framebuffer frames they list (fbif::frame_entry)
//! let mut mode = layout.mode();
//! let mut ring = fbif::OutConsumer::attach(&page)?;
//! let n = ring.serve(&mut page, &mut mode, false, |mode, action| match action {
//!     Ok(fbif::Action::Blit(rect)) => mode.lines(&rect).into_iter().flatten().for_each(copy),
//!     Ok(fbif::Action::Resized(m)) => { /* new geometry: copy m.full() */ }
//!     Err(e) => { /* log, rate-limited: the event is ignored */ }
//! })?;                             // Err(RingError): xenbus_dev_fatal
//! if n != 0 { evtchn.notify() }    // xen-fbfront flushes the updates it held back
//! ```

use core::fmt;
use core::ops::Range;

use crate::ring_index::{self, EventConsumer, EventProducer, Ring};
pub use crate::ring_index::{slot_reused_across_wrap, Event, PushError, RingError};
pub use crate::shared_page::SharedPage;

// ---------------------------------------------------------------------------------------------
// Xenbus: device type and keys.
// ---------------------------------------------------------------------------------------------

/// The xenbus device type: frontends under `device/vfb/<id>`, backends under
/// `backend/vfb/<frontend-domid>/<id>`.
pub const DEVICE_TYPE: &str = "vfb";

/// Frontend key `page-ref`: the **frame number** (gfn) of the shared page, not a grant
/// reference (Linux's xen-fbfront grants nothing): the backend needs a foreign mapping.
pub const FIELD_PAGE_REF: &str = "page-ref";
/// Frontend key `event-channel`: an unbound port toward the backend domain.
pub const FIELD_EVENT_CHANNEL: &str = "event-channel";
/// Frontend key `protocol`: the frontend's ABI, [`PROTOCOL_ARM`] here; it fixes the size of
/// the page directory's entries.
pub const FIELD_PROTOCOL: &str = "protocol";
/// Frontend key `feature-update`: 1 = it can send [`OutEvent::Update`].
pub const FIELD_FEATURE_UPDATE: &str = "feature-update";
/// Backend key `request-update`: 1 = send updates. **Written by our backend** (1), before it
/// switches to Connected: xen-fbfront reads it when it sees Connected, never again.
pub const FIELD_REQUEST_UPDATE: &str = "request-update";
/// Backend key `feature-resize`: 1 = the frontend may send [`OutEvent::Resize`]. **Not
/// written by our backend** (its display has one size); read by xen-fbfront on Connected.
pub const FIELD_FEATURE_RESIZE: &str = "feature-resize";
/// Backend key `width`: the framebuffer's width, pixels. **Written by our backend**.
pub const FIELD_WIDTH: &str = "width";
/// Backend key `height`: the framebuffer's height, pixels. **Written by our backend**.
pub const FIELD_HEIGHT: &str = "height";
/// Backend key `videoram`: the most framebuffer memory the frontend may use, **in MiB**.
/// **Written by our backend**. xen-fbfront only lowers its own default (2) with it.
pub const FIELD_VIDEORAM: &str = "videoram";

/// `XEN_IO_PROTO_ABI_ARM`, what `protocol` says for arm and arm64 frontends (both!).
pub const PROTOCOL_ARM: &str = "arm-abi";

/// Our display (the REPTAR LCD): width.
pub const DEFAULT_WIDTH: u32 = 800;
/// Our display: height.
pub const DEFAULT_HEIGHT: u32 = 480;
/// Our display: bits per pixel (XRGB8888).
pub const DEFAULT_DEPTH: u32 = 32;
/// Our `videoram`, MiB: 800 x 480 x 4 bytes fit in 2 MiB, xen-fbfront's own default.
pub const DEFAULT_VIDEORAM_MIB: u32 = 2;

/// `XENFB_WIDTH`: xen-fbfront's width when the backend gives none (or an unusable one).
pub const LINUX_WIDTH: u32 = 800;
/// `XENFB_HEIGHT`.
pub const LINUX_HEIGHT: u32 = 600;
/// `XENFB_DEPTH`: the only depth xen-fbfront uses.
pub const LINUX_DEPTH: u32 = 32;
/// xen-fbfront's default `video[0]`, MiB: its framebuffer is this big unless `videoram` (or
/// the `video` module parameter) makes it smaller.
pub const LINUX_VIDEORAM_MIB: u32 = 2;

/// The keys our backend writes, with their values. xen-fbfront reads `width`, `height` and
/// `videoram` once, in its probe, which can run before the backend module is loaded: whoever
/// creates the backend directory (here the hypervisor, at domain build) writes them too.
pub const fn backend_keys(width: u32, height: u32, videoram_mib: u32) -> [(&'static str, u32); 4] {
    [
        (FIELD_WIDTH, width),
        (FIELD_HEIGHT, height),
        (FIELD_VIDEORAM, videoram_mib),
        (FIELD_REQUEST_UPDATE, 1),
    ]
}

/// What Linux's xen-fbfront (default module parameters) sets up from the backend's keys
/// (`None`: key absent), as it writes it to the shared page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinuxGeometry {
    /// `width` on the page.
    pub width: u32,
    /// `height`.
    pub height: u32,
    /// `line_length`: width x 4.
    pub line_length: u32,
    /// `mem_length`: the whole framebuffer, `videoram` MiB (at most 2), not width x height x 4.
    pub mem_length: u32,
}

/// The geometry xen-fbfront's probe derives from `videoram`, `width` and `height`; `None` for
/// values its `int` arithmetic does not survive (width x height x 32 overflowing, a `videoram`
/// above `i32::MAX`). A backend that wants its keys obeyed checks that this gives them back.
pub const fn linux_frontend_geometry(
    videoram_mib: Option<u32>,
    width: Option<u32>,
    height: Option<u32>,
) -> Option<LinuxGeometry> {
    let mut mem = LINUX_VIDEORAM_MIB as u64;
    if let Some(v) = videoram_mib {
        if v > i32::MAX as u32 {
            return None;
        }
        if (v as u64) < mem {
            mem = v as u64;
        }
    }
    let w = match width {
        Some(w) => w as u64,
        None => LINUX_WIDTH as u64,
    };
    let h = match height {
        Some(h) => h as u64,
        None => LINUX_HEIGHT as u64,
    };
    if w * h * LINUX_DEPTH as u64 > i32::MAX as u64 {
        return None;
    }
    let fb_size = mem << 20;
    let (w, h, fb_size) = if w * h * (LINUX_DEPTH as u64 / 8) > fb_size {
        // "display parameters ... invalid, use defaults"
        let (w, h) = (LINUX_WIDTH as u64, LINUX_HEIGHT as u64);
        (w, h, w * h * (LINUX_DEPTH as u64 / 8))
    } else {
        (w, h, fb_size)
    };
    Some(LinuxGeometry {
        width: w as u32,
        height: h as u32,
        line_length: (w * (LINUX_DEPTH as u64 / 8)) as u32,
        mem_length: fb_size as u32,
    })
}

/// A decimal `u32` as xenstore holds numbers: digits only (no sign, no spaces), at most 10 of
/// them, within `u32`.
pub fn parse_uint(value: &[u8]) -> Option<u32> {
    parse_u64(value).and_then(|n| u32::try_from(n).ok())
}

fn parse_u64(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &c in value {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(n)
}

/// `page-ref`: a frame number (`%lu`: 64 bits), not 0.
pub fn parse_page_ref(value: &[u8]) -> Option<u64> {
    parse_u64(value).filter(|&g| g != 0)
}

/// `event-channel`: a port number, not 0 (Xen's invalid port).
pub fn parse_event_channel(value: &[u8]) -> Option<u32> {
    parse_uint(value).filter(|&p| p != 0)
}

/// A `feature-*` or `request-*` key: on iff present and a non-zero number.
pub fn feature_enabled(value: Option<&[u8]>) -> bool {
    value.and_then(parse_uint).is_some_and(|n| n != 0)
}

/// `protocol`: true if the frontend's page directory has this build's layout (8-byte
/// entries at [`PD_OFFSET`]): the key absent (native, as QEMU's backend assumes) or
/// [`PROTOCOL_ARM`]. A 32-bit Arm frontend also says `arm-abi` but has 4-byte entries at 36:
/// not supported (all our domains are arm64).
pub fn protocol_is_native(value: Option<&[u8]>) -> bool {
    match value {
        None => true,
        Some(v) => v == PROTOCOL_ARM.as_bytes(),
    }
}

/// True if a frontend in xenbus state `state` has published its keys and page: Initialised
/// (3) or Connected (4). Linux's xen-fbfront switches to Connected as soon as it sees the
/// backend's InitWait, so a backend in InitWait may never read Initialised: it connects on
/// either.
pub const fn frontend_ready(state: u32) -> bool {
    matches!(state, 3 | 4)
}

// ---------------------------------------------------------------------------------------------
// Shared page layout (64-bit frontends: `unsigned long` is 8 bytes).
// ---------------------------------------------------------------------------------------------

/// Size of the shared page and of every framebuffer frame: a 4 KiB Xen page.
pub const PAGE_SIZE: usize = 4096;
/// `in_cons`: written by the frontend.
pub const IN_CONS_OFFSET: usize = 0;
/// `in_prod`: written by the backend.
pub const IN_PROD_OFFSET: usize = 4;
/// `out_cons`: written by the backend.
pub const OUT_CONS_OFFSET: usize = 8;
/// `out_prod`: written by the frontend.
pub const OUT_PROD_OFFSET: usize = 12;
/// `int32_t width`, pixels: written by the frontend.
pub const WIDTH_OFFSET: usize = 16;
/// `int32_t height`.
pub const HEIGHT_OFFSET: usize = 20;
/// `uint32_t line_length`, bytes per row.
pub const LINE_LENGTH_OFFSET: usize = 24;
/// `uint32_t mem_length`, bytes of framebuffer.
pub const MEM_LENGTH_OFFSET: usize = 28;
/// `uint8_t depth`, bits per pixel.
pub const DEPTH_OFFSET: usize = 32;
/// The geometry fields, from [`WIDTH_OFFSET`] to the page directory (padding included).
pub const HEADER_SIZE: usize = PD_OFFSET - WIDTH_OFFSET;
/// `unsigned long pd[256]`: 8-aligned after `depth`.
pub const PD_OFFSET: usize = 40;
/// `sizeof(unsigned long)` on arm64.
pub const PD_ENTRY_SIZE: usize = 8;
/// Entries of `pd[]` as declared.
pub const PD_LEN: u32 = 256;
/// `sizeof(struct xenfb_page)`: 2088. **It overlaps the rings** (the in ring starts at 1024):
/// only the first [`PD_USABLE`] entries of `pd[]` are the directory's own.
pub const PAGE_STRUCT_SIZE: usize = PD_OFFSET + PD_LEN as usize * PD_ENTRY_SIZE;
/// Entries of `pd[]` before the in ring: 123. A framebuffer needing more cannot be described.
pub const PD_USABLE: u32 = ((IN_RING_OFFS - PD_OFFSET) / PD_ENTRY_SIZE) as u32;
/// Frame numbers per page-directory page (4096 / 8).
pub const FRAMES_PER_PD_PAGE: u32 = (PAGE_SIZE / PD_ENTRY_SIZE) as u32;
/// The largest `mem_length` [`PD_USABLE`] directory pages can describe (about 247 MiB).
pub const MAX_MEM_LENGTH: u32 = PD_USABLE * FRAMES_PER_PD_PAGE * PAGE_SIZE as u32;

/// `XENFB_IN_EVENT_SIZE`.
pub const IN_EVENT_SIZE: usize = 40;
/// `XENFB_IN_RING_SIZE`.
pub const IN_RING_SIZE: usize = 1024;
/// `XENFB_IN_RING_LEN`: 25.
pub const IN_RING_LEN: u32 = (IN_RING_SIZE / IN_EVENT_SIZE) as u32;
/// `XENFB_IN_RING_OFFS`.
pub const IN_RING_OFFS: usize = 1024;
/// `XENFB_OUT_EVENT_SIZE`.
pub const OUT_EVENT_SIZE: usize = 40;
/// `XENFB_OUT_RING_SIZE`.
pub const OUT_RING_SIZE: usize = 2048;
/// `XENFB_OUT_RING_LEN`: 51.
pub const OUT_RING_LEN: u32 = (OUT_RING_SIZE / OUT_EVENT_SIZE) as u32;
/// `XENFB_OUT_RING_OFFS`: 2048, after the in ring.
pub const OUT_RING_OFFS: usize = IN_RING_OFFS + IN_RING_SIZE;

/// Byte offset in the page of the in event with ring index `idx` (`XENFB_IN_RING_REF`).
pub const fn in_event_offset(idx: u32) -> usize {
    IN_RING_OFFS + (idx % IN_RING_LEN) as usize * IN_EVENT_SIZE
}

/// Byte offset in the page of the out event with ring index `idx` (`XENFB_OUT_RING_REF`).
pub const fn out_event_offset(idx: u32) -> usize {
    OUT_RING_OFFS + (idx % OUT_RING_LEN) as usize * OUT_EVENT_SIZE
}

/// Framebuffer frames (4 KiB) holding `mem_length` bytes.
pub const fn frames_for(mem_length: u32) -> u32 {
    mem_length.div_ceil(PAGE_SIZE as u32)
}

/// Page-directory pages listing `frames` frame numbers.
pub const fn pd_pages_for(frames: u32) -> u32 {
    frames.div_ceil(FRAMES_PER_PD_PAGE)
}

/// Where frame `frame`'s number is: (index in `pd[]` of its directory page, byte offset in
/// that page). xen-fbfront fills the directory pages from their start, 512 numbers each.
pub const fn frame_entry(frame: u32) -> (u32, usize) {
    (frame / FRAMES_PER_PD_PAGE, (frame % FRAMES_PER_PD_PAGE) as usize * PD_ENTRY_SIZE)
}

/// Byte offset in the shared page of `pd[i]`, for `i` below [`PD_USABLE`].
pub const fn pd_entry_offset(i: u32) -> Option<usize> {
    if i < PD_USABLE {
        Some(PD_OFFSET + i as usize * PD_ENTRY_SIZE)
    } else {
        None
    }
}

/// A frame number as a page-directory page stores it (8 bytes, little-endian).
pub const fn decode_frame_number(bytes: [u8; PD_ENTRY_SIZE]) -> u64 {
    u64::from_le_bytes(bytes)
}

// ---------------------------------------------------------------------------------------------
// The shared page (`SharedPage`).
// ---------------------------------------------------------------------------------------------

/// `pd[i]`, the frame number of the `i`th page-directory page; `None` for `i` at or beyond
/// [`PD_USABLE`] (never read: those bytes are the rings').
pub fn read_pd_entry<M: SharedPage + ?Sized>(mem: &M, i: u32) -> Option<u64> {
    let off = pd_entry_offset(i)?;
    let mut b = [0u8; PD_ENTRY_SIZE];
    mem.read(off, &mut b);
    Some(decode_frame_number(b))
}

/// Frontend: writes `pd[i]`; false (nothing written) for `i` at or beyond [`PD_USABLE`].
pub fn write_pd_entry<M: SharedPage + ?Sized>(mem: &mut M, i: u32, frame: u64) -> bool {
    match pd_entry_offset(i) {
        Some(off) => {
            mem.write(off, &frame.to_le_bytes());
            true
        }
        None => false,
    }
}

/// The geometry fields of `struct xenfb_page`, as the frontend wrote them (unchecked).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageInfo {
    /// Width, pixels.
    pub width: i32,
    /// Height, pixels.
    pub height: i32,
    /// Bytes per row.
    pub line_length: u32,
    /// Bytes of framebuffer (what the page directory maps).
    pub mem_length: u32,
    /// Bits per pixel.
    pub depth: u8,
}

impl PageInfo {
    /// The wire form, [`HEADER_SIZE`] bytes from [`WIDTH_OFFSET`] (padding zero).
    pub fn encode(&self) -> [u8; HEADER_SIZE] {
        let mut b = [0u8; HEADER_SIZE];
        let mut put = |off: usize, v: [u8; 4]| {
            let i = off - WIDTH_OFFSET;
            b[i..i + 4].copy_from_slice(&v);
        };
        put(WIDTH_OFFSET, self.width.to_le_bytes());
        put(HEIGHT_OFFSET, self.height.to_le_bytes());
        put(LINE_LENGTH_OFFSET, self.line_length.to_le_bytes());
        put(MEM_LENGTH_OFFSET, self.mem_length.to_le_bytes());
        b[DEPTH_OFFSET - WIDTH_OFFSET] = self.depth;
        b
    }

    /// Decodes the wire form.
    pub fn decode(b: &[u8; HEADER_SIZE]) -> Self {
        let word = |off: usize| {
            let i = off - WIDTH_OFFSET;
            [b[i], b[i + 1], b[i + 2], b[i + 3]]
        };
        PageInfo {
            width: i32::from_le_bytes(word(WIDTH_OFFSET)),
            height: i32::from_le_bytes(word(HEIGHT_OFFSET)),
            line_length: u32::from_le_bytes(word(LINE_LENGTH_OFFSET)),
            mem_length: u32::from_le_bytes(word(MEM_LENGTH_OFFSET)),
            depth: b[DEPTH_OFFSET - WIDTH_OFFSET],
        }
    }

    /// Reads the fields off the page, once (validate the copy with [`Layout::from_page`]).
    pub fn read<M: SharedPage + ?Sized>(mem: &M) -> Self {
        let mut b = [0u8; HEADER_SIZE];
        mem.read(WIDTH_OFFSET, &mut b);
        Self::decode(&b)
    }

    /// Frontend: writes the fields to the page.
    pub fn write<M: SharedPage + ?Sized>(&self, mem: &mut M) {
        mem.write(WIDTH_OFFSET, &self.encode());
    }
}

// ---------------------------------------------------------------------------------------------
// Geometry.
// ---------------------------------------------------------------------------------------------

/// Why a geometry (the page's, or a resize's) was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeometryError {
    /// Width or height below 1 (or above `u32::MAX`).
    Size {
        /// The width given.
        width: i64,
        /// The height given.
        height: i64,
    },
    /// A depth other than 8, 16, 24 or 32 bits.
    Depth(i64),
    /// A stride shorter than a row (width x bytes per pixel), or above `u32::MAX`.
    Stride {
        /// The stride given.
        stride: i64,
        /// A row's bytes.
        row: u64,
    },
    /// A negative (or beyond `u32::MAX`) offset.
    Offset(i64),
    /// The picture ends beyond the framebuffer memory.
    TooBig {
        /// Where the last row ends (saturated at `u64::MAX`).
        end: u64,
        /// The framebuffer's bytes.
        mem_length: u32,
    },
    /// `mem_length` above what the backend allows (or [`MAX_MEM_LENGTH`]).
    MemLength {
        /// The page's `mem_length`.
        mem_length: u32,
        /// The limit.
        max: u32,
    },
}

impl fmt::Display for GeometryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            GeometryError::Size { width, height } => write!(f, "bad size {width}x{height}"),
            GeometryError::Depth(d) => write!(f, "unsupported depth {d}"),
            GeometryError::Stride { stride, row } => {
                write!(f, "bad stride {stride} (row of {row} bytes)")
            }
            GeometryError::Offset(o) => write!(f, "bad offset {o}"),
            GeometryError::TooBig { end, mem_length } => {
                write!(f, "picture ends at byte {end}, beyond the framebuffer's {mem_length}")
            }
            GeometryError::MemLength { mem_length, max } => {
                write!(f, "framebuffer of {mem_length} bytes, above the limit of {max}")
            }
        }
    }
}

/// A validated framebuffer geometry: `height` rows of `width` pixels of `depth` bits, row `y`
/// at byte `offset + y * stride`, all of it inside `mem_length` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode {
    width: u32,
    height: u32,
    stride: u32,
    depth: u8,
    offset: u32,
    mem_length: u32,
}

impl Mode {
    /// Checks a geometry (any integers: the page's fields or a resize's) against
    /// `mem_length` bytes of framebuffer: width and height at least 1, depth 8, 16, 24 or 32,
    /// stride at least a row, offset not negative, the last row inside the memory.
    pub fn new(
        width: i64,
        height: i64,
        stride: i64,
        depth: i64,
        offset: i64,
        mem_length: u32,
    ) -> Result<Mode, GeometryError> {
        let max = i64::from(u32::MAX);
        if !(1..=max).contains(&width) || !(1..=max).contains(&height) {
            return Err(GeometryError::Size { width, height });
        }
        let bpp: u64 = match depth {
            8 => 1,
            16 => 2,
            24 => 3,
            32 => 4,
            _ => return Err(GeometryError::Depth(depth)),
        };
        let row = width as u64 * bpp;
        if stride < 0 || stride > max || (stride as u64) < row {
            return Err(GeometryError::Stride { stride, row });
        }
        if !(0..=max).contains(&offset) {
            return Err(GeometryError::Offset(offset));
        }
        // All three below 2^34: no overflow in u128, and the end saturates into u64.
        let end = offset as u128 + stride as u128 * (height as u128 - 1) + row as u128;
        if end > u128::from(mem_length) {
            let end = if end > u64::MAX as u128 { u64::MAX } else { end as u64 };
            return Err(GeometryError::TooBig { end, mem_length });
        }
        Ok(Mode {
            width: width as u32,
            height: height as u32,
            stride: stride as u32,
            depth: depth as u8,
            offset: offset as u32,
            mem_length,
        })
    }

    /// Width, pixels.
    pub const fn width(&self) -> u32 {
        self.width
    }

    /// Height, pixels.
    pub const fn height(&self) -> u32 {
        self.height
    }

    /// Bytes from one row to the next.
    pub const fn stride(&self) -> u32 {
        self.stride
    }

    /// Bits per pixel.
    pub const fn depth(&self) -> u32 {
        self.depth as u32
    }

    /// Bytes per pixel.
    pub const fn bytes_per_pixel(&self) -> u32 {
        self.depth as u32 / 8
    }

    /// Byte offset of the first row in the framebuffer memory.
    pub const fn offset(&self) -> u32 {
        self.offset
    }

    /// Bytes of framebuffer memory the mode lives in.
    pub const fn mem_length(&self) -> u32 {
        self.mem_length
    }

    /// The whole picture.
    pub const fn full(&self) -> Rect {
        Rect { x: 0, y: 0, width: self.width, height: self.height }
    }

    /// The byte ranges of framebuffer memory holding `rect`, one per row, top to bottom: what a
    /// backend copies for a dirty rectangle. `rect` must lie inside the mode (what
    /// [`Update::clip`] returns for this mode does); every range then lies inside
    /// `0..mem_length`.
    pub fn lines(&self, rect: &Rect) -> Result<Lines, UpdateError> {
        let inside = rect.width >= 1
            && rect.height >= 1
            && u64::from(rect.x) + u64::from(rect.width) <= u64::from(self.width)
            && u64::from(rect.y) + u64::from(rect.height) <= u64::from(self.height);
        if !inside {
            return Err(UpdateError::NotInMode(*rect));
        }
        let bpp = u64::from(self.bytes_per_pixel());
        let row = u64::from(self.offset) + u64::from(rect.y) * u64::from(self.stride);
        Ok(Lines {
            next: row + u64::from(rect.x) * bpp,
            step: u64::from(self.stride),
            len: u64::from(rect.width) * bpp,
            left: rect.height,
        })
    }
}

/// The initial framebuffer of a connection, from the shared page: its mode (offset 0) and
/// how many frames and page-directory pages describe its memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    mode: Mode,
    frames: u32,
    pd_pages: u32,
}

impl Layout {
    /// Validates the frontend's geometry before anything is mapped: `mem_length` at most
    /// `max_mem_length` (the backend's `videoram` in bytes; never above [`MAX_MEM_LENGTH`]),
    /// and the mode as [`Mode::new`] checks it, at offset 0.
    pub fn from_page(info: &PageInfo, max_mem_length: u32) -> Result<Layout, GeometryError> {
        let max = if max_mem_length < MAX_MEM_LENGTH { max_mem_length } else { MAX_MEM_LENGTH };
        if info.mem_length > max {
            return Err(GeometryError::MemLength { mem_length: info.mem_length, max });
        }
        let mode = Mode::new(
            i64::from(info.width),
            i64::from(info.height),
            i64::from(info.line_length),
            i64::from(info.depth),
            0,
            info.mem_length,
        )?;
        let frames = frames_for(info.mem_length);
        Ok(Layout { mode, frames, pd_pages: pd_pages_for(frames) })
    }

    /// The mode the frontend starts with.
    pub const fn mode(&self) -> Mode {
        self.mode
    }

    /// Framebuffer frames to map: `mem_length` rounded up to 4 KiB.
    pub const fn frames(&self) -> u32 {
        self.frames
    }

    /// Page-directory pages (`pd[0..pd_pages]`), each listing up to 512 frame numbers.
    pub const fn pd_pages(&self) -> u32 {
        self.pd_pages
    }

    /// Frame numbers to read from directory page `i` (512 but in the last one; 0 beyond).
    /// The rest of the last page is not the protocol's (xen-fbfront leaves it uninitialised).
    pub const fn frames_in_pd_page(&self, i: u32) -> u32 {
        if i >= self.pd_pages {
            0
        } else if i + 1 < self.pd_pages {
            FRAMES_PER_PD_PAGE
        } else {
            self.frames - i * FRAMES_PER_PD_PAGE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rectangles and the bytes they cover.
// ---------------------------------------------------------------------------------------------

/// A rectangle of pixels, inside the mode it was clipped to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    /// Left column.
    pub x: u32,
    /// Top row.
    pub y: u32,
    /// Columns, at least 1.
    pub width: u32,
    /// Rows, at least 1.
    pub height: u32,
}

impl Rect {
    /// The smallest rectangle holding both (to merge dirty rectangles before a copy).
    pub fn union(&self, other: &Rect) -> Rect {
        let x0 = self.x.min(other.x);
        let y0 = self.y.min(other.y);
        let end = |start: u32, len: u32| u64::from(start) + u64::from(len);
        let x1 = end(self.x, self.width).max(end(other.x, other.width));
        let y1 = end(self.y, self.height).max(end(other.y, other.height));
        Rect {
            x: x0,
            y: y0,
            width: u32::try_from(x1 - u64::from(x0)).unwrap_or(u32::MAX),
            height: u32::try_from(y1 - u64::from(y0)).unwrap_or(u32::MAX),
        }
    }

    /// Pixels.
    pub const fn area(&self) -> u64 {
        self.width as u64 * self.height as u64
    }
}

/// Why an update rectangle gives nothing to copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateError {
    /// Width or height 0.
    Empty,
    /// Width or height negative.
    Negative {
        /// The width sent.
        width: i32,
        /// The height sent.
        height: i32,
    },
    /// Nothing of it is inside the framebuffer.
    Outside,
    /// [`Mode::lines`]: a rectangle that is not inside the mode.
    NotInMode(Rect),
}

impl fmt::Display for UpdateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            UpdateError::Empty => write!(f, "empty rectangle"),
            UpdateError::Negative { width, height } => write!(f, "negative size {width}x{height}"),
            UpdateError::Outside => write!(f, "rectangle outside the framebuffer"),
            UpdateError::NotInMode(r) => {
                write!(f, "rectangle {}x{}+{}+{} not inside the mode", r.width, r.height, r.x, r.y)
            }
        }
    }
}

/// The byte ranges of one rectangle, a row each ([`Mode::lines`]).
#[derive(Clone, Debug)]
pub struct Lines {
    next: u64,
    step: u64,
    len: u64,
    left: u32,
}

impl Iterator for Lines {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        if self.left == 0 {
            return None;
        }
        // Inside mem_length (a u32) by Mode's invariant: the casts are exact.
        let range = self.next as usize..(self.next + self.len) as usize;
        self.left -= 1;
        if self.left != 0 {
            self.next += self.step;
        }
        Some(range)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left as usize, Some(self.left as usize))
    }

    /// Skips `n` rows in one step (a backend can copy any part of a tall rectangle).
    fn nth(&mut self, n: usize) -> Option<Range<usize>> {
        if n >= self.left as usize {
            self.left = 0;
            return None;
        }
        // n < left <= height: the row is inside the mode.
        self.next += self.step * n as u64;
        self.left -= n as u32;
        self.next()
    }
}

impl ExactSizeIterator for Lines {}

/// A piece of a byte range within one framebuffer frame ([`page_chunks`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// Frame index (0 for the first [`PAGE_SIZE`] bytes of the framebuffer).
    pub frame: u32,
    /// Offset in the frame.
    pub offset: usize,
    /// Bytes, at least 1.
    pub len: usize,
}

/// Splits a byte range of the framebuffer at frame boundaries (for a backend whose mapped
/// frames are not contiguous).
pub const fn page_chunks(range: Range<usize>) -> PageChunks {
    PageChunks { next: range.start, end: range.end }
}

/// The pieces of one byte range, frame by frame ([`page_chunks`]).
#[derive(Clone, Debug)]
pub struct PageChunks {
    next: usize,
    end: usize,
}

impl Iterator for PageChunks {
    type Item = Chunk;

    fn next(&mut self) -> Option<Chunk> {
        if self.next >= self.end {
            return None;
        }
        let offset = self.next % PAGE_SIZE;
        let len = (PAGE_SIZE - offset).min(self.end - self.next);
        let chunk = Chunk { frame: (self.next / PAGE_SIZE) as u32, offset, len };
        self.next += len;
        Some(chunk)
    }
}

// ---------------------------------------------------------------------------------------------
// Events.
// ---------------------------------------------------------------------------------------------

/// `XENFB_TYPE_UPDATE` (out): a rectangle changed.
pub const TYPE_UPDATE: u8 = 2;
/// `XENFB_TYPE_RESIZE` (out): the frontend changed its mode.
pub const TYPE_RESIZE: u8 = 3;
/// `XENFB_TYPE_REFRESH_PERIOD` (in): Xen's public fbif.h (not Linux's copy, and xen-fbfront
/// ignores every in event).
pub const TYPE_REFRESH_PERIOD: u8 = 1;
/// `XENFB_NO_REFRESH`: a refresh period of 0, no refresh needed.
pub const NO_REFRESH: u32 = 0;

/// `struct xenfb_update`: `x` at 4, `y` at 8, `width` at 12, `height` at 16.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// Left column.
    pub x: i32,
    /// Top row.
    pub y: i32,
    /// Columns.
    pub width: i32,
    /// Rows.
    pub height: i32,
}

impl Update {
    /// The part of the rectangle inside `mode`, in 64-bit arithmetic (no overflow in
    /// `x + width`). A rectangle partly outside is clipped (xen-fbfront's can be: after a
    /// resize it still reports damage with the initial size); one with a negative or zero
    /// size, or wholly outside, is an error (nothing to copy).
    pub fn clip(&self, mode: &Mode) -> Result<Rect, UpdateError> {
        if self.width < 0 || self.height < 0 {
            return Err(UpdateError::Negative { width: self.width, height: self.height });
        }
        if self.width == 0 || self.height == 0 {
            return Err(UpdateError::Empty);
        }
        let x0 = i64::from(self.x).max(0);
        let y0 = i64::from(self.y).max(0);
        let x1 = (i64::from(self.x) + i64::from(self.width)).min(i64::from(mode.width));
        let y1 = (i64::from(self.y) + i64::from(self.height)).min(i64::from(mode.height));
        if x0 >= x1 || y0 >= y1 {
            return Err(UpdateError::Outside);
        }
        // 0 <= x0 < x1 <= mode.width: all within u32.
        Ok(Rect { x: x0 as u32, y: y0 as u32, width: (x1 - x0) as u32, height: (y1 - y0) as u32 })
    }
}

/// `struct xenfb_resize`: `width` at 4, `height` at 8, `stride` at 12, `depth` at 16,
/// `offset` at 20.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resize {
    /// Width, pixels.
    pub width: i32,
    /// Height, pixels.
    pub height: i32,
    /// Bytes per row.
    pub stride: i32,
    /// Bits per pixel.
    pub depth: i32,
    /// Byte offset of the picture in the framebuffer memory.
    pub offset: i32,
}

impl Resize {
    /// The new mode, checked against the connection's `mem_length` ([`Mode::new`]).
    pub fn mode(&self, mem_length: u32) -> Result<Mode, GeometryError> {
        Mode::new(
            i64::from(self.width),
            i64::from(self.height),
            i64::from(self.stride),
            i64::from(self.depth),
            i64::from(self.offset),
            mem_length,
        )
    }
}

/// An out event (`union xenfb_out_event`), decoded. Every 40-byte pattern decodes to one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutEvent {
    /// `XENFB_TYPE_UPDATE`.
    Update(Update),
    /// `XENFB_TYPE_RESIZE`.
    Resize(Resize),
    /// Any other `type` ("receipt of an unknown out event is an error").
    Other(u8),
}

fn put_i32(b: &mut [u8; OUT_EVENT_SIZE], at: usize, v: i32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn get_i32(b: &[u8; OUT_EVENT_SIZE], at: usize) -> i32 {
    i32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl OutEvent {
    /// Decodes the first [`OUT_EVENT_SIZE`] bytes of `bytes`; `None` if it is shorter.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let b: &[u8; OUT_EVENT_SIZE] = bytes.get(..OUT_EVENT_SIZE)?.try_into().ok()?;
        Some(Self::decode(b))
    }
}

/// An in event (`union xenfb_in_event`), decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InEvent {
    /// `XENFB_TYPE_REFRESH_PERIOD`: `period` (u32) at 4.
    RefreshPeriod {
        /// Milliseconds between refreshes the backend would like, [`NO_REFRESH`] for none.
        period_ms: u32,
    },
    /// Any other `type` (frontends ignore it).
    Other(u8),
}

/// What the backend does for a valid out event ([`OutConsumer::serve`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Copy this rectangle (inside the current mode) from the framebuffer.
    Blit(Rect),
    /// The frontend switched to this mode (already the current one); copy all of it.
    Resized(Mode),
}

/// Why an out event was ignored ([`OutConsumer::serve`]): log it (rate-limited), go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventError {
    /// An update with nothing to copy.
    Update(UpdateError),
    /// A resize to an invalid geometry (the mode is unchanged).
    Resize(GeometryError),
    /// A resize, though the backend did not offer `feature-resize`.
    ResizeNotOffered,
    /// An unknown event type.
    Type(u8),
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::Update(e) => write!(f, "update: {e}"),
            EventError::Resize(e) => write!(f, "resize: {e}"),
            EventError::ResizeNotOffered => write!(f, "resize without feature-resize"),
            EventError::Type(t) => write!(f, "unknown out event type {t}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The rings (their index rules, errors and barriers: `crate::ring_index`).
// ---------------------------------------------------------------------------------------------

/// The in ring: refresh-period advice from the backend (xen-fbfront ignores it).
impl ring_index::Event<IN_EVENT_SIZE> for InEvent {
    const RING: Ring = Ring {
        cons_offset: IN_CONS_OFFSET,
        prod_offset: IN_PROD_OFFSET,
        slot_offset: in_event_offset,
        len: IN_RING_LEN,
    };
    type PushError = PushError;

    /// The wire form: little-endian, unused bytes zero.
    fn encode(&self) -> [u8; IN_EVENT_SIZE] {
        let mut b = [0u8; IN_EVENT_SIZE];
        match *self {
            InEvent::RefreshPeriod { period_ms } => {
                b[0] = TYPE_REFRESH_PERIOD;
                b[4..8].copy_from_slice(&period_ms.to_le_bytes());
            }
            InEvent::Other(t) => b[0] = t,
        }
        b
    }

    /// Decodes the wire form.
    fn decode(b: &[u8; IN_EVENT_SIZE]) -> Self {
        match b[0] {
            TYPE_REFRESH_PERIOD => {
                InEvent::RefreshPeriod { period_ms: u32::from_le_bytes([b[4], b[5], b[6], b[7]]) }
            }
            other => InEvent::Other(other),
        }
    }
}

/// The out ring: updates and resizes from the frontend.
impl ring_index::Event<OUT_EVENT_SIZE> for OutEvent {
    const RING: Ring = Ring {
        cons_offset: OUT_CONS_OFFSET,
        prod_offset: OUT_PROD_OFFSET,
        slot_offset: out_event_offset,
        len: OUT_RING_LEN,
    };
    type PushError = PushError;

    /// The wire form: little-endian, unused bytes zero.
    fn encode(&self) -> [u8; OUT_EVENT_SIZE] {
        let mut b = [0u8; OUT_EVENT_SIZE];
        match *self {
            OutEvent::Update(u) => {
                b[0] = TYPE_UPDATE;
                put_i32(&mut b, 4, u.x);
                put_i32(&mut b, 8, u.y);
                put_i32(&mut b, 12, u.width);
                put_i32(&mut b, 16, u.height);
            }
            OutEvent::Resize(r) => {
                b[0] = TYPE_RESIZE;
                put_i32(&mut b, 4, r.width);
                put_i32(&mut b, 8, r.height);
                put_i32(&mut b, 12, r.stride);
                put_i32(&mut b, 16, r.depth);
                put_i32(&mut b, 20, r.offset);
            }
            OutEvent::Other(t) => b[0] = t,
        }
        b
    }

    /// Decodes the wire form.
    fn decode(b: &[u8; OUT_EVENT_SIZE]) -> Self {
        match b[0] {
            TYPE_UPDATE => OutEvent::Update(Update {
                x: get_i32(b, 4),
                y: get_i32(b, 8),
                width: get_i32(b, 12),
                height: get_i32(b, 16),
            }),
            TYPE_RESIZE => OutEvent::Resize(Resize {
                width: get_i32(b, 4),
                height: get_i32(b, 8),
                stride: get_i32(b, 12),
                depth: get_i32(b, 16),
                offset: get_i32(b, 20),
            }),
            other => OutEvent::Other(other),
        }
    }
}

/// The backend's half of the out ring: the frontend produces updates and resizes, the backend
/// consumes them. The backend's own count is the only `out_cons` it trusts; the page's
/// `out_prod` is checked at every call (at most a ring ahead, never behind).
///
/// An [`EventConsumer`] of [`OutEvent`]s (`attach`, `pending`, `consume`, `consumed`, `error`
/// through `Deref`; xen-fbfront zeroes the indices at probe and keeps them when a backend
/// reconnects), plus [`serve`](Self::serve), which checks them. If a call consumed any event,
/// notify the frontend (xen-fbfront holds updates back while the ring is full and sends them
/// when notified).
#[derive(Clone, Copy, Debug)]
pub struct OutConsumer(EventConsumer<OutEvent, OUT_EVENT_SIZE>);

impl OutConsumer {
    /// Attaches to the page at its current indices. `Err` if `out_prod` is more than a ring
    /// ahead of `out_cons`.
    pub fn attach<M: SharedPage + ?Sized>(mem: &M) -> Result<Self, RingError> {
        EventConsumer::attach(mem).map(OutConsumer)
    }

    /// [`consume`](EventConsumer::consume) with the checks: each update clipped to `*mode`, each
    /// resize (refused unless `resize_offered`) checked against `mode.mem_length()` and, if
    /// valid, made the current `*mode` before `handle` sees it. `handle` gets the current mode
    /// and what to do, or why the event is ignored.
    pub fn serve<M, F>(
        &mut self,
        mem: &mut M,
        mode: &mut Mode,
        resize_offered: bool,
        mut handle: F,
    ) -> Result<u32, RingError>
    where
        M: SharedPage + ?Sized,
        F: FnMut(&Mode, Result<Action, EventError>),
    {
        self.consume(mem, |ev| {
            let result = match ev {
                OutEvent::Update(u) => u.clip(mode).map(Action::Blit).map_err(EventError::Update),
                OutEvent::Resize(_) if !resize_offered => Err(EventError::ResizeNotOffered),
                OutEvent::Resize(r) => match r.mode(mode.mem_length()) {
                    Ok(m) => {
                        *mode = m;
                        Ok(Action::Resized(m))
                    }
                    Err(e) => Err(EventError::Resize(e)),
                },
                OutEvent::Other(t) => Err(EventError::Type(t)),
            };
            handle(mode, result);
        })
    }

}

impl core::ops::Deref for OutConsumer {
    type Target = EventConsumer<OutEvent, OUT_EVENT_SIZE>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl core::ops::DerefMut for OutConsumer {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// The frontend's half of the out ring. `push` writes an event and publishes it (`out_prod`,
/// after a full barrier): `Ok` means notify the backend; `Full`: nothing written (merge the
/// update into the next one); `Ring`: the backend's `out_cons` is bogus, the ring is dead.
pub type OutProducer = EventProducer<OutEvent, OUT_EVENT_SIZE>;

/// The backend's half of the in ring (refresh-period advice; xen-fbfront ignores it).
pub type InProducer = EventProducer<InEvent, IN_EVENT_SIZE>;

/// The frontend's half of the in ring.
pub type InConsumer = EventConsumer<InEvent, IN_EVENT_SIZE>;
