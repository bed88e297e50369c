// SPDX-License-Identifier: GPL-2.0

//! vfbback: a domU's screen on the board's display while it has the focus, over Xen's
//! framebuffer protocol (`io/fbif.h`, docs/protocols/fbif.md), in dom0.
//!
//! The frontend (ours or Linux's xen-fbfront) draws into its own memory and names its frames
//! by number: the backend maps them as foreign frames (dom0's privilege), checks the geometry
//! first, and copies each dirty rectangle the frontend reports into the board's *guest screen*,
//! a second picture beside dom0's framebuffer. Which of the two the LCD shows is the board's
//! display controller's scanout base (`reptar,display-controller`, docs/board.md): this backend
//! points it at the guest screen while the domain has the focus (xenstore's `/reptar/focus`,
//! docs/focus.md) and back at dom0's framebuffer otherwise. Neither picture is ever drawn over
//! the other, so switching loses neither, and dom0 may keep drawing while hidden.
//!
//! One guest screen: one connected frontend at a time; a second is refused with a message.

use kernel::{
    prelude::*,
    str::CString,
    sync::{
        atomic::{Atomic, Full, Release},
        new_mutex, Arc, Mutex,
    },
};

#[path = "../protocols/fbif/src/fbif.rs"]
pub mod fbif;
#[path = "../kernel-ext/mod.rs"]
pub mod kext;
#[path = "../protocols/common/src/ring_index.rs"]
pub mod ring_index;
pub use kext::{shared_page, xenbus_state};

use fbif::{Action, Layout, Mode, OutConsumer, PageInfo, Rect};
use kext::{
    bindings,
    foreign::ForeignFrames,
    of_region::{Memory, Node, Registers},
    shared_memory::SharedMemory,
    xenbus::{self, End, EventChannel, EventHandler, Notifier, State, Watch, WatchHandler},
};

const FOCUS_DIR: &CStr = c"/reptar";
const FOCUS_KEY: &CStr = c"focus";

/// The board's LCD, as the display controller reports it too.
const WIDTH: u32 = 800;
const HEIGHT: u32 = 480;
const BYTES_PER_PIXEL: u32 = 4;
const STRIDE: u32 = WIDTH * BYTES_PER_PIXEL;
/// Framebuffer memory offered to frontends (`videoram`, MiB): xen-fbfront's default.
const VIDEORAM_MIB: u32 = fbif::DEFAULT_VIDEORAM_MIB;

/// The display controller's registers (docs/board.md, the `display-controller` crate).
mod lcd_regs {
    pub(crate) const ID: usize = 0x00;
    pub(crate) const WIDTH: usize = 0x04;
    pub(crate) const HEIGHT: usize = 0x08;
    pub(crate) const STRIDE: usize = 0x0c;
    pub(crate) const SCANOUT_LO: usize = 0x10;
    pub(crate) const SCANOUT_HI: usize = 0x14;
    pub(crate) const STATUS: usize = 0x18;
    /// "RDC1".
    pub(crate) const ID_VALUE: u32 = u32::from_be_bytes(*b"RDC1");
    pub(crate) const STATUS_REFUSED: u32 = 1;
}

/// Whether a frontend holds the guest screen.
static GUEST_SCREEN_TAKEN: Atomic<bool> = Atomic::new(false);

struct VfbBack;

/// The display as this backend drives it: the controller's registers, the guest screen, and
/// where dom0's own framebuffer is (to point the scanout back at it).
struct Screen {
    registers: Registers,
    guest: Memory,
    dom0_base: u64,
    _controller: Node,
}

impl Screen {
    /// Finds the board's display controller and dom0's framebuffer in the device tree.
    fn find() -> Result<Self> {
        let controller = Node::find_compatible(c"reptar,display-controller").ok_or_else(|| {
            pr_err!("no reptar,display-controller in the device tree: the hypervisor gave dom0 no display\n");
            ENODEV
        })?;
        let dom0_fb = Node::find_compatible(c"simple-framebuffer").ok_or_else(|| {
            pr_err!("no simple-framebuffer in the device tree: nothing to show when domU has no focus\n");
            ENODEV
        })?;
        let (dom0_base, _) = dom0_fb.reg(0)?;
        let registers = controller.registers(0)?;
        let geometry = [
            (lcd_regs::ID, lcd_regs::ID_VALUE),
            (lcd_regs::WIDTH, WIDTH),
            (lcd_regs::HEIGHT, HEIGHT),
            (lcd_regs::STRIDE, STRIDE),
        ];
        if let Some((reg, want)) = geometry.into_iter().find(|&(reg, want)| registers.read32(reg) != want) {
            pr_err!("display controller register {reg:#x} reads {:#x}, not {want:#x}\n", registers.read32(reg));
            return Err(ENODEV);
        }
        let guest = controller.memory(1)?;
        if guest.len() < (STRIDE * HEIGHT) as usize {
            pr_err!("the guest screen is {} bytes, not a whole picture\n", guest.len());
            return Err(ENODEV);
        }
        Ok(Self { registers, guest, dom0_base, _controller: controller })
    }

    /// Points the LCD at the guest screen or at dom0's framebuffer.
    fn show(&self, guest: bool) {
        let base = if guest { self.guest.phys() } else { self.dom0_base };
        self.registers.write32(lcd_regs::SCANOUT_HI, (base >> 32) as u32);
        self.registers.write32(lcd_regs::SCANOUT_LO, base as u32);
        if self.registers.read32(lcd_regs::STATUS) & lcd_regs::STATUS_REFUSED != 0 {
            pr_err!("the display controller refused scanout base {base:#x}\n");
        }
    }

    /// Copies `rect` (inside `mode`) of `framebuffer` to the same place on the guest screen,
    /// cut to the LCD. Only 32-bit pixels are shown: other depths would need converting.
    fn blit(&self, framebuffer: &SharedMemory, mode: &Mode, rect: &Rect) {
        if mode.depth() != 32 || rect.x >= WIDTH || rect.y >= HEIGHT {
            return;
        }
        let shown = Rect {
            x: rect.x,
            y: rect.y,
            width: rect.width.min(WIDTH - rect.x),
            height: rect.height.min(HEIGHT - rect.y),
        };
        let Ok(lines) = mode.lines(&shown) else { return };
        for (row, src) in (shown.y..).zip(lines) {
            let dst = (row * STRIDE + shown.x * BYTES_PER_PIXEL) as usize;
            framebuffer.copy_to_memory(src.start, &self.guest, dst, src.len());
        }
    }

    /// Clears the guest screen (a domain without a picture shows black).
    fn clear(&self) {
        self.guest.fill(0, (STRIDE * HEIGHT) as usize, 0);
    }
}

/// One frontend's device.
#[pin_data]
struct Device {
    #[pin]
    connection: Mutex<Option<Connection>>,
}

/// A connected frontend, dropped in this order: the focus watch, the event channel (and with
/// it the mappings), then the guest screen is given back.
struct Connection {
    _watch: Pin<KBox<Watch<FocusFollower>>>,
    _events: Pin<KBox<EventChannel<Blitter>>>,
    _lease: Lease,
}

/// The guest screen, held by one connection at a time; given back when dropped, the LCD
/// showing dom0's framebuffer again (no picture of a disconnected domain stays on it).
struct Lease {
    screen: Arc<Screen>,
}

impl Lease {
    fn take() -> Result<Self> {
        if GUEST_SCREEN_TAKEN.xchg(true, Full) {
            return Err(EBUSY);
        }
        // Built now, so that the flag is cleared on the error paths too.
        let lease = Screen::find().and_then(|screen| Ok(Arc::new(screen, GFP_KERNEL)?));
        match lease {
            Ok(screen) => Ok(Self { screen }),
            Err(e) => {
                GUEST_SCREEN_TAKEN.store(false, Release);
                Err(e)
            }
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.screen.show(false);
        GUEST_SCREEN_TAKEN.store(false, Release);
    }
}

/// Follows the focus: the guest screen while it names our domain.
#[pin_data]
struct FocusFollower {
    screen: Arc<Screen>,
    domid: u32,
}

impl WatchHandler for FocusFollower {
    fn changed(&self) {
        // A value that is no number means dom0 (docs/focus.md).
        let focus = xenbus::read(FOCUS_DIR, FOCUS_KEY, fbif::parse_uint).ok().flatten().unwrap_or(0);
        self.screen.show(focus == self.domid);
    }
}

/// Consumes the frontend's updates and copies them to the guest screen.
#[pin_data]
struct Blitter {
    page: ForeignFrames,
    framebuffer: ForeignFrames,
    screen: Arc<Screen>,
    #[pin]
    stream: Mutex<Stream>,
    domid: u16,
}

/// The out ring as this backend reads it.
struct Stream {
    consumer: OutConsumer,
    mode: Mode,
    /// Events ignored so far (bad rectangles, resizes not offered): logged sparingly.
    ignored: u64,
}

/// How many ignored events are logged one by one before only every 1024th is.
const IGNORED_LOGGED: u64 = 8;

/// Passes over the ring before the handler lets the thread go (each takes up to 51 events).
const PASSES_PER_EVENT: usize = 16;

impl EventHandler for Blitter {
    fn handle_event(&self, dev: &xenbus::Device, events: &Notifier) -> bool {
        let mut stream = self.stream.lock();
        // A broken ring was reported once and the device closed: later notifications are
        // the frontend's noise (and count against it, as spurious, through late EOI).
        if stream.consumer.error().is_some() {
            return false;
        }
        let mut work = false;
        for _ in 0..PASSES_PER_EVENT {
            let Stream { consumer, mode, ignored } = &mut *stream;
            let mut dirty: Option<Rect> = None;
            let served = consumer.serve(&mut self.page.shared(), mode, false, |mode, result| match result {
                Ok(Action::Blit(rect)) => dirty = Some(dirty.map_or(rect, |d| d.union(&rect))),
                Ok(Action::Resized(_)) => dirty = Some(mode.full()),
                Err(error) => {
                    *ignored += 1;
                    let count = *ignored;
                    if count <= IGNORED_LOGGED || count % 1024 == 0 {
                        dev_warn!(dev.as_dev(), "dom{}: event ignored ({count} so far): {}\n", self.domid, Text(error));
                    }
                }
            });
            if let Some(rect) = dirty {
                self.screen.blit(self.framebuffer.shared(), mode, &rect);
            }
            match served {
                Ok(0) => break,
                Ok(_) => {
                    // xen-fbfront sends what it held back while the ring was full when told.
                    events.notify();
                    work = true;
                }
                Err(e) => {
                    dev_err!(dev.as_dev(), "dom{}: the framebuffer ring is broken ({e:?}): disconnecting\n", self.domid);
                    dev.fatal(EINVAL, c"broken out ring");
                    break;
                }
            }
        }
        work
    }
}

/// A protocol error's message (`core::fmt::Display`) for the kernel's formatter.
struct Text<T>(T);

impl<T: core::fmt::Display> kernel::fmt::Display for Text<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

/// Reads the frame numbers of the framebuffer from the page directory, each directory page
/// mapped only while it is read.
fn framebuffer_frames(dev: &xenbus::Device, page: &ForeignFrames, layout: &Layout) -> Result<KVec<u64>> {
    let domid = dev.otherend_id();
    let mut frames = KVec::with_capacity(layout.frames() as usize, GFP_KERNEL)?;
    for i in 0..layout.pd_pages() {
        let directory_gfn = fbif::read_pd_entry(&page.shared(), i).ok_or(EINVAL)?;
        let directory = ForeignFrames::map(domid, &[directory_gfn])
            .inspect_err(|e| dev_err!(dev.as_dev(), "dom{domid}: pd[{i}] = {directory_gfn:#x} cannot be mapped ({e:?})\n"))?;
        for j in 0..layout.frames_in_pd_page(i) as usize {
            let mut entry = [0u8; fbif::PD_ENTRY_SIZE];
            directory.shared().read(j * fbif::PD_ENTRY_SIZE, &mut entry);
            frames.push(fbif::decode_frame_number(entry), GFP_KERNEL)?;
        }
    }
    Ok(frames)
}

impl Device {
    fn disconnect(&self) {
        let connection = self.connection.lock().take();
        drop(connection);
    }

    fn connect(&self, dev: &xenbus::Device) -> Result {
        let domid = dev.otherend_id();
        let page_ref = dev.read(End::Other, c"page-ref", fbif::parse_page_ref)?.ok_or(EINVAL)?;
        let port = dev.read(End::Other, c"event-channel", fbif::parse_event_channel)?.ok_or(EINVAL)?;
        let protocol_ok = dev.read(End::Other, c"protocol", |v| fbif::protocol_is_native(Some(v))).unwrap_or(true);
        if !protocol_ok {
            dev_err!(dev.as_dev(), "dom{domid}: protocol other than {}: not supported\n", fbif::PROTOCOL_ARM);
            return Err(EINVAL);
        }
        let page = ForeignFrames::map(domid, &[page_ref])
            .inspect_err(|e| dev_err!(dev.as_dev(), "dom{domid}: page-ref {page_ref:#x} cannot be mapped ({e:?})\n"))?;
        let info = PageInfo::read(&page.shared());
        let layout = Layout::from_page(&info, VIDEORAM_MIB << 20).map_err(|e| {
            dev_err!(dev.as_dev(), "dom{domid}: framebuffer geometry refused: {}\n", Text(e));
            EINVAL
        })?;
        let frames = framebuffer_frames(dev, &page, &layout)?;
        let framebuffer = ForeignFrames::map(domid, &frames)
            .inspect_err(|e| dev_err!(dev.as_dev(), "dom{domid}: its framebuffer frames cannot be mapped ({e:?}): not all its own?\n"))?;
        let consumer = OutConsumer::attach(&page.shared()).map_err(|e| {
            dev_err!(dev.as_dev(), "dom{domid}: the framebuffer ring is broken: {e:?}\n");
            EINVAL
        })?;
        let lease = Lease::take().inspect_err(|e| {
            if *e == EBUSY {
                dev_err!(dev.as_dev(), "dom{domid}: the guest screen shows another domain already\n");
            }
        })?;
        let screen = lease.screen.clone();
        // Nothing it drew before connecting was reported: copy the whole picture now.
        let mode = layout.mode();
        screen.clear();
        screen.blit(framebuffer.shared(), &mode, &mode.full());
        let blitter_screen = screen.clone();
        let blitter = try_pin_init!(Blitter {
            page,
            framebuffer,
            screen: blitter_screen,
            stream <- new_mutex!(Stream { consumer, mode, ignored: 0 }),
            domid,
        });
        let events = KBox::pin_init(EventChannel::bind_interdomain(dev, port, c"vfbback", blitter), GFP_KERNEL)?;
        let follower = try_pin_init!(FocusFollower { screen, domid: u32::from(domid) });
        let watch = KBox::pin_init(Watch::new(c"/reptar/focus", follower), GFP_KERNEL)?;
        *self.connection.lock() = Some(Connection { _watch: watch, _events: events, _lease: lease });
        dev_info!(
            dev.as_dev(),
            "dom{domid}: {}x{}x{} framebuffer, {} frames; shown while it has the focus\n",
            mode.width(),
            mode.height(),
            mode.depth(),
            layout.frames()
        );
        Ok(())
    }
}

/// The LCD's geometry and the framebuffer memory offered, and `request-update`: what the
/// frontend reads at probe (the hypervisor wrote the same when it made the directory) and when
/// it sees Connected.
fn write_keys(dev: &xenbus::Device) -> Result {
    for (key, value) in fbif::backend_keys(WIDTH, HEIGHT, VIDEORAM_MIB) {
        dev.write_u32(&CString::try_from_fmt(fmt!("{key}"))?, value)?;
    }
    Ok(())
}

impl xenbus::Driver for VfbBack {
    type Data = Device;
    const ID_TABLE: &'static [bindings::xenbus_device_id; 2] = &xenbus::id_table(c"vfb");

    fn probe(dev: &xenbus::Device) -> Result<impl PinInit<Device, Error>> {
        write_keys(dev)
            .and_then(|()| dev.switch_state(State::InitWait))
            .inspect_err(|e| dev_err!(dev.as_dev(), "cannot offer the display: {e:?}\n"))?;
        Ok(try_pin_init!(Device { connection <- new_mutex!(None) }))
    }

    fn otherend_changed(dev: &xenbus::Device, data: Pin<&Device>, frontend: State) {
        let me = dev.state();
        match frontend {
            // Linux's xen-fbfront goes Connected as soon as it sees InitWait: connect on either.
            State::Initialised | State::Connected if me == State::InitWait => {
                match data.connect(dev).and_then(|()| dev.switch_state(State::Connected)) {
                    Ok(()) => {}
                    Err(e) => {
                        data.disconnect();
                        dev.fatal(e, c"cannot connect to the frontend");
                    }
                }
            }
            State::Initialising if me != State::InitWait => {
                data.disconnect();
                if let Err(e) = write_keys(dev).and_then(|()| dev.switch_state(State::InitWait)) {
                    dev_err!(dev.as_dev(), "cannot offer the display: {e:?}\n");
                }
            }
            State::Closing if !matches!(me, State::Initialising | State::Closing | State::Closed) => {
                data.disconnect();
                let _ = dev.switch_state(State::Closing);
            }
            State::Closed | State::Unknown if !matches!(me, State::Initialising | State::Closed) => {
                data.disconnect();
                let _ = dev.switch_state(State::Closed);
            }
            _ => {}
        }
    }

    fn remove(_dev: &xenbus::Device, data: Pin<&Device>) {
        data.disconnect();
    }
}

kernel::module_driver!(<T>, kext::xenbus::Backend<T>, {
    type: VfbBack,
    name: "vfbback",
    authors: ["REPTAR project"],
    description: "Paravirtual framebuffer backend: a domain's screen on the board's display while it has the focus",
    license: "GPL v2",
});
