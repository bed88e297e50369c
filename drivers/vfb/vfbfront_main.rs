// SPDX-License-Identifier: GPL-2.0

//! vfbfront: this domain's screen, over Xen's framebuffer protocol (`io/fbif.h`,
//! docs/protocols/fbif.md), spoken as Linux's xen-fbfront speaks it, in a domU: a framebuffer
//! `/dev/fbN` ("xen") in this domain's memory, whose frames the backend maps by number (nothing
//! is granted), and UPDATE events for the rectangles that change once the backend asks for them.
//!
//! The framebuffer exists from probe to remove, whether a backend is there or not; the
//! connection (event channel, published keys, updates) comes and goes with the backend. The
//! keys are published as soon as the bus reports the backend's state (right after probe, in
//! the xenwatch thread, where our own writes cannot race the bus's check for a reset device).

use kernel::{
    prelude::*,
    str::CString,
    sync::{new_spinlock_irq, Arc, SpinLockIrq},
};

#[path = "../protocols/fbif/src/fbif.rs"]
pub mod fbif;
#[path = "../kernel-ext/mod.rs"]
pub mod kext;
#[path = "../protocols/common/src/ring_index.rs"]
pub mod ring_index;
pub use kext::{shared_page, xenbus_state};

use fbif::{OutEvent, OutProducer, PageInfo, PushError, Rect, Update};
use kext::{
    bindings, fb,
    xenbus::{self, End, EventChannel, EventHandler, Notifier, State},
};

// The protocol's frames are the kernel's pages (xen-fbfront lists one frame per PAGE_SIZE).
const _: () = assert!(fb::PAGE_SIZE == fbif::PAGE_SIZE);

/// The most video memory taken from the backend's `videoram`, MiB: 16 page-directory pages.
const MAX_VIDEORAM_MIB: u32 = 32;

/// The widest and tallest picture taken from the backend's keys, pixels.
const MAX_SIDE: u32 = 8192;

/// The framebuffer's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Geometry {
    width: u32,
    height: u32,
    /// Bytes of video memory: whole MiB, at least the picture.
    mem_length: u32,
}

impl Geometry {
    /// From the backend's `videoram` (MiB), `width` and `height` (`None`: absent or not a
    /// number), by default 2 MiB and 800x480. `Err` (with the default picture, in enough
    /// memory) when the picture does not fit in the memory or is absurd.
    fn from_keys(videoram_mib: Option<u32>, width: Option<u32>, height: Option<u32>) -> Result<Self, Self> {
        let videoram_mib = videoram_mib.unwrap_or(fbif::DEFAULT_VIDEORAM_MIB).clamp(1, MAX_VIDEORAM_MIB);
        let mem_length = videoram_mib << 20;
        let width = width.unwrap_or(fbif::DEFAULT_WIDTH);
        let height = height.unwrap_or(fbif::DEFAULT_HEIGHT);
        let picture = |w: u32, h: u32| u64::from(w) * u64::from(h) * u64::from(fb::BYTES_PER_PIXEL);
        let sane = (1..=MAX_SIDE).contains(&width) && (1..=MAX_SIDE).contains(&height);
        if sane && picture(width, height) <= u64::from(mem_length) {
            return Ok(Self { width, height, mem_length });
        }
        let (width, height) = (fbif::DEFAULT_WIDTH, fbif::DEFAULT_HEIGHT);
        // 1.5 MiB: a u32.
        let needed = (picture(width, height) as u32).next_multiple_of(1 << 20);
        Err(Self { width, height, mem_length: mem_length.max(needed) })
    }

    /// Bytes per row: packed.
    fn line_length(&self) -> u32 {
        self.width * fb::BYTES_PER_PIXEL
    }

    /// The whole picture.
    fn screen(&self) -> Rect {
        Rect { x: 0, y: 0, width: self.width, height: self.height }
    }
}

/// The geometry the backend's keys ask for (read once, at probe, as xen-fbfront does).
fn backend_geometry(dev: &xenbus::Device) -> Geometry {
    let key = |name: &CStr| dev.read(End::Other, name, fbif::parse_uint).ok().flatten();
    let (videoram, width, height) = (key(c"videoram"), key(c"width"), key(c"height"));
    Geometry::from_keys(videoram, width, height).unwrap_or_else(|fallback| {
        dev_warn!(
            dev.as_dev(),
            "backend's display (width {width:?}, height {height:?}, videoram {videoram:?} MiB) unusable, using {}x{}\n",
            fallback.width,
            fallback.height
        );
        fallback
    })
}

/// The smallest rectangle holding both.
fn merge(a: Option<Rect>, b: Option<Rect>) -> Option<Rect> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.union(&b)),
        (a, b) => a.or(b),
    }
}

struct VfbFront;

/// The device's data.
#[pin_data]
struct Device {
    /// `/dev/fbN`, its changes going to `link`.
    display: fb::Registration,
    link: Arc<Link>,
}

/// What the framebuffer's changes and the backend's notifications share: the shared page and
/// the connection.
#[pin_data]
struct Link {
    /// The shared page (`page-ref`): rings, geometry, `pd[]`. Its geometry and `pd[]` are
    /// written once, at probe.
    page: fb::Memory,
    /// The page directory: the framebuffer's frame numbers, 512 per page, in order.
    directory: fb::Memory,
    /// The whole picture.
    screen: Rect,
    #[pin]
    connection: SpinLockIrq<Connection>,
}

/// The connection to a backend: empty when there is none.
#[derive(Default)]
struct Connection {
    /// The event channel (`event-channel`), from the keys' publication on.
    events: Option<Pin<KBox<EventChannel<Events>>>>,
    /// Our half of the out ring, from the keys' publication on.
    ring: Option<OutProducer>,
    /// The backend asked for updates (`request-update`, read when it is Connected).
    updates: bool,
    /// What changed and is not sent yet (the ring was full).
    dirty: Option<Rect>,
    /// The backend broke the ring (logged once): nothing more is sent.
    broken: bool,
}

impl Link {
    /// The pages of a framebuffer of `geometry`, still empty.
    fn new(geometry: &Geometry) -> Result<impl PinInit<Self, Error>> {
        let pd_pages = fbif::pd_pages_for(fbif::frames_for(geometry.mem_length));
        if pd_pages > fbif::PD_USABLE {
            return Err(EINVAL);
        }
        let page = fb::Memory::new(fbif::PAGE_SIZE)?;
        let directory = fb::Memory::new(pd_pages as usize * fbif::PAGE_SIZE)?;
        let screen = geometry.screen();
        Ok(try_pin_init!(Self {
            page,
            directory,
            screen,
            connection <- new_spinlock_irq!(Connection::default()),
        }))
    }

    /// Describes `display` on the shared page: geometry, and the page directory listing every
    /// frame of its memory.
    fn describe(&self, display: &fb::Registration, geometry: &Geometry) -> Result {
        let memory = display.memory();
        for (i, frame) in memory.frames().enumerate() {
            self.directory.shared().write(i * fbif::PD_ENTRY_SIZE, &frame.to_le_bytes());
        }
        let mut page = self.page.shared();
        PageInfo {
            width: geometry.width as i32,
            height: geometry.height as i32,
            line_length: geometry.line_length(),
            mem_length: u32::try_from(memory.shared().len())?,
            depth: fb::BITS_PER_PIXEL as u8,
        }
        .write(&mut page);
        for (i, frame) in self.directory.frames().enumerate() {
            if !fbif::write_pd_entry(&mut page, i as u32, frame) {
                return Err(EINVAL);
            }
        }
        Ok(())
    }

    /// Publishes the page and a new event channel, and switches to Initialised. On error the
    /// caller disconnects.
    fn connect(self: &Arc<Self>, dev: &xenbus::Device) -> Result {
        // No backend uses the page now: start its rings afresh.
        for offset in [fbif::IN_CONS_OFFSET, fbif::IN_PROD_OFFSET, fbif::OUT_CONS_OFFSET, fbif::OUT_PROD_OFFSET] {
            self.page.shared().store_u32(offset, 0);
        }
        let ring = OutProducer::attach(&self.page.shared()).map_err(|_| EIO)?;
        let handler = Ok::<_, Error>(Events(self.clone()));
        let events = KBox::pin_init(EventChannel::alloc(dev, c"vfbfront", handler), GFP_KERNEL)?;
        let port = events.port();
        let connection = Connection { events: Some(events), ring: Some(ring), ..Connection::default() };
        let old = core::mem::replace(&mut *self.connection.lock(), connection);
        drop(old);

        let frame = self.page.frame(0).ok_or(EINVAL)?;
        dev.write(c"page-ref", &CString::try_from_fmt(fmt!("{frame}"))?)?;
        dev.write_u32(c"event-channel", port)?;
        dev.write(c"protocol", c"arm-abi")?;
        dev.write(c"feature-update", c"1")?;
        dev.switch_state(State::Initialised)
    }

    /// The backend is Connected: so are we; updates start if it asks for them, with the
    /// whole picture.
    fn backend_connected(&self, dev: &xenbus::Device) -> Result {
        if dev.state() != State::Connected {
            dev.switch_state(State::Connected)?;
        }
        let wanted = dev
            .read(End::Other, c"request-update", |value| fbif::feature_enabled(Some(value)))
            .unwrap_or(false);
        {
            let mut connection = self.connection.lock();
            if wanted && !connection.updates && connection.ring.is_some() {
                // First: whatever else changes meanwhile is merged into it.
                connection.dirty = Some(self.screen);
            }
            connection.updates = wanted;
        }
        self.update(None);
        Ok(())
    }

    /// Closes the connection: the event channel (waiting for its handler), the ring, the
    /// updates held back.
    fn disconnect(&self) {
        let old = core::mem::take(&mut *self.connection.lock());
        drop(old);
    }

    /// Sends `rect` with what is held back, if the backend wants updates; holds it back while
    /// the ring is full. Any context.
    fn update(&self, rect: Option<Rect>) {
        let broke = {
            let mut guard = self.connection.lock();
            let connection = &mut *guard;
            let (Some(events), Some(ring), true, false) =
                (connection.events.as_ref(), connection.ring.as_mut(), connection.updates, connection.broken)
            else {
                return;
            };
            let Some(rect) = merge(connection.dirty.take(), rect) else { return };
            // Inside the picture, whose sides are at most MAX_SIDE: no overflow.
            let update = OutEvent::Update(Update {
                x: rect.x as i32,
                y: rect.y as i32,
                width: rect.width as i32,
                height: rect.height as i32,
            });
            match ring.push(&mut self.page.shared(), &update) {
                Ok(()) => {
                    events.notify();
                    None
                }
                Err(PushError::Full) => {
                    connection.dirty = Some(rect);
                    None
                }
                Err(PushError::Ring(e)) => {
                    connection.broken = true;
                    Some(e)
                }
            }
        };
        // Not under the lock: the message may be drawn on this framebuffer, which comes back here.
        if let Some(e) = broke {
            pr_err!("the backend broke the out ring ({e:?}): no more updates until it reconnects\n");
        }
    }
}

/// The framebuffer's changes, to the backend.
struct Damage(Arc<Link>);

impl fb::Damage for Damage {
    fn damage(&self, rect: fb::Rect) {
        self.0.update(Some(Rect { x: rect.x, y: rect.y, width: rect.width, height: rect.height }));
    }
}

/// The backend's notifications: its in events consumed and ignored (as xen-fbfront does), then
/// what was held back while the ring was full sent.
struct Events(Arc<Link>);

impl EventHandler for Events {
    fn handle_event(&self, _dev: &xenbus::Device, events: &Notifier) -> bool {
        let page = self.0.page.shared();
        let in_prod = page.load_u32(fbif::IN_PROD_OFFSET);
        if page.load_u32(fbif::IN_CONS_OFFSET) != in_prod {
            page.full_barrier();
            page.store_u32(fbif::IN_CONS_OFFSET, in_prod);
            events.notify();
        }
        self.0.update(None);
        true
    }
}

impl xenbus::Driver for VfbFront {
    type Data = Device;
    const ID_TABLE: &'static [bindings::xenbus_device_id; 2] = &xenbus::id_table(c"vfb");

    fn probe(dev: &xenbus::Device) -> Result<impl PinInit<Device, Error>> {
        let geometry = backend_geometry(dev);
        let link = Arc::pin_init(Link::new(&geometry)?, GFP_KERNEL)?;
        let config = fb::Config {
            id: c"xen",
            width: geometry.width,
            height: geometry.height,
            line_length: geometry.line_length(),
            mem_length: geometry.mem_length as usize,
        };
        let display = fb::Registration::new(dev.as_dev(), &config, Damage(link.clone())).inspect_err(|e| {
            dev_err!(dev.as_dev(), "cannot register a {}x{} framebuffer: {e:?}\n", geometry.width, geometry.height)
        })?;
        link.describe(&display, &geometry)
            .inspect_err(|e| dev_err!(dev.as_dev(), "cannot describe the framebuffer on the shared page: {e:?}\n"))?;
        dev_info!(
            dev.as_dev(),
            "fb{}: {}x{}, {} bits per pixel, {} KiB\n",
            display.index(),
            geometry.width,
            geometry.height,
            fb::BITS_PER_PIXEL,
            display.memory().shared().len() >> 10
        );
        Ok(try_pin_init!(Device { display, link }))
    }

    fn otherend_changed(dev: &xenbus::Device, data: Pin<&Device>, backend: State) {
        let link = &data.link;
        let follow = || -> Result {
            // A previous binding of the device (rmmod, unbind) left it Closed.
            if dev.state() == State::Closed {
                dev.switch_state(State::Initialising)?;
            }
            match (backend, dev.state()) {
                // Published without waiting for InitWait, as xen-fbfront does in its probe.
                (State::Initialising | State::InitWait, State::Initialising) => link.connect(dev),
                (State::Connected, State::Initialised | State::Connected) => link.backend_connected(dev),
                (
                    State::Closing | State::Closed | State::Unknown,
                    State::Initialised | State::Connected | State::Closing,
                ) => {
                    link.disconnect();
                    dev.switch_state(State::Closed)?;
                    dev.switch_state(State::Initialising)
                }
                _ => Ok(()),
            }
        };
        // The framebuffer stays: the device closes, and reconnects when the backend does.
        if let Err(e) = follow() {
            link.disconnect();
            dev_err!(dev.as_dev(), "backend (dom{}) {backend:?}: cannot follow it: {e:?}\n", dev.otherend_id());
            dev.fatal(e, c"cannot connect to the backend");
        }
    }

    fn remove(_dev: &xenbus::Device, data: Pin<&Device>) {
        data.link.disconnect();
    }
}

kernel::module_driver!(<T>, kext::xenbus::Frontend<T>, {
    type: VfbFront,
    name: "vfbfront",
    authors: ["REPTAR project"],
    description: "Paravirtual framebuffer frontend: this domain's screen on the board's display",
    license: "GPL v2",
});
