// SPDX-License-Identifier: GPL-2.0

//! vkbdback: the board's buttons for the domain that has the focus, over Xen's keyboard
//! protocol (`io/kbdif.h`, docs/protocols/kbdif.md), in dom0.
//!
//! Once a domain's `vkbd` frontend is connected (ours or Linux's xen-kbdfront), a tap on dom0's
//! `reptar_sp6_buttons` input device sees every button first: BACKSPACE gives the focus to that
//! domain, ESC gives it back to dom0 (both consumed); while the domain has the focus, each key
//! goes to it as a KEY event on the shared page and dom0 sees none.
//!
//! The focus is xenstore's `/reptar/focus` (docs/focus.md): written on BACKSPACE and ESC (from
//! a work item: the tap cannot sleep), watched so that the hypervisor monitor's `screen N`
//! moves the buttons too; the tap reads a copy of it.

use kernel::{
    prelude::*,
    str::CString,
    sync::{
        atomic::{Atomic, Relaxed},
        new_mutex, new_spinlock_irq, Arc, Mutex, SpinLockIrq,
    },
};

#[path = "../protocols/kbdif/src/kbdif.rs"]
pub mod kbdif;
#[path = "../kernel-ext/mod.rs"]
pub mod kext;
#[path = "../protocols/common/src/ring_index.rs"]
pub mod ring_index;
pub use kext::{shared_page, xenbus_state};

use kbdif::{InEvent, InProducer};
use kext::{
    bindings,
    input::{Filter, Tap},
    xenbus::{self, End, EventChannel, EventHandler, MappedPage, Notifier, State, Watch, WatchHandler},
};
use kernel::workqueue::{self, impl_has_work, new_work, Work, WorkItem};

/// The domain that has the board's screen and buttons: 0 (dom0) or a domU's id. A copy of
/// xenstore's `/reptar/focus`, for the tap.
static FOCUS: Atomic<u32> = Atomic::new(0);
const FOCUS_DIR: &CStr = c"/reptar";
const FOCUS_KEY: &CStr = c"focus";

/// The input device whose keys are forwarded: sp6.ko's buttons.
const BUTTONS: &CStr = c"reptar_sp6_buttons";
/// The screen the frontends are told about (the REPTAR LCD).
const WIDTH: u32 = 800;
const HEIGHT: u32 = 480;

struct VkbdBack;

/// One frontend's device.
#[pin_data]
struct Device {
    #[pin]
    connection: Mutex<Option<Connection>>,
}

/// A connected frontend: the tap and the watch go first, then the writer, then the link.
struct Connection {
    _tap: Pin<KBox<Tap<Forwarder>>>,
    _watch: Pin<KBox<Watch<FocusReader>>>,
    writer: Arc<FocusWriter>,
    _link: Arc<Link>,
}

/// Writes the focus to xenstore after the tap changed it.
#[pin_data]
struct FocusWriter {
    #[pin]
    work: Work<FocusWriter>,
}

impl_has_work! {
    impl HasWork<Self> for FocusWriter { self.work }
}

impl WorkItem for FocusWriter {
    type Pointer = Arc<FocusWriter>;

    fn run(_this: Arc<FocusWriter>) {
        write_focus(FOCUS.load(Relaxed));
    }
}

fn write_focus(domid: u32) {
    let written = CString::try_from_fmt(fmt!("{domid}")).and_then(|value| xenbus::write(FOCUS_DIR, FOCUS_KEY, &value));
    if let Err(e) = written {
        pr_warn!("cannot write the focus ({domid}) to xenstore: {e:?}\n");
    }
}

/// Keeps the tap's copy of the focus: the monitor (or another backend) may move it.
#[pin_data]
struct FocusReader {}

impl WatchHandler for FocusReader {
    fn changed(&self) {
        // A value naming no domain of ours is dom0's: the tap compares it with its domain.
        if let Ok(Some(domid)) = xenbus::read(FOCUS_DIR, FOCUS_KEY, kbdif::parse_uint) {
            FOCUS.store(domid, Relaxed);
        }
    }
}

/// The shared page and the way to notify the frontend.
#[pin_data]
struct Link {
    page: MappedPage,
    #[pin]
    producer: SpinLockIrq<InProducer>,
    events: Pin<KBox<EventChannel<Quiet>>>,
    domid: u16,
    /// Keys dropped so far (a full or broken page): the first is logged, then every 1024th.
    dropped: Atomic<u64>,
}

/// The frontend's notifications: nothing to do (it has no requests).
#[pin_data]
struct Quiet {}

impl EventHandler for Quiet {
    fn handle_event(&self, _dev: &xenbus::Device, _events: &Notifier) -> bool {
        false
    }
}

/// Routes the board's buttons: the focus keys, and every key to the domain with the focus.
#[pin_data]
struct Forwarder {
    link: Arc<Link>,
    writer: Arc<FocusWriter>,
}

impl Forwarder {
    fn set_focus(&self, domid: u32) {
        if FOCUS.load(Relaxed) != domid {
            FOCUS.store(domid, Relaxed);
            pr_info!("screen and buttons: dom{domid}\n");
            let _ = workqueue::system().enqueue(self.writer.clone());
        }
    }
}

impl Filter for Forwarder {
    fn filter(&self, ev_type: u32, code: u32, value: i32) -> bool {
        let domid = u32::from(self.link.domid);
        if ev_type == bindings::EV_KEY && code == bindings::KEY_BACKSPACE {
            if value == 1 {
                self.set_focus(domid);
            }
            return true;
        }
        if ev_type == bindings::EV_KEY && code == bindings::KEY_ESC {
            if value == 1 {
                self.set_focus(0);
            }
            return true;
        }
        if FOCUS.load(Relaxed) != domid {
            return false;
        }
        if ev_type == bindings::EV_KEY {
            // Key repeats (value 2) are the frontend's business, as on a real keyboard.
            if value != 2 {
                self.link.send(&InEvent::Key { pressed: value != 0, keycode: code });
            }
        }
        // Its syncs and scan codes go nowhere else either.
        true
    }
}

impl Link {
    fn send(&self, event: &InEvent) {
        let pushed = self.producer.lock().push(&mut self.page.page(), event);
        match pushed {
            Ok(()) => self.events.notify(),
            Err(e) => {
                // The tap runs in atomic context: no xenbus_dev_fatal() here. A broken page
                // stays broken (the producer refuses from then on) until the frontend
                // reconnects; a full one, until it consumes.
                let dropped = self.dropped.fetch_add(1, Relaxed) + 1;
                if dropped == 1 || dropped % 1024 == 0 {
                    pr_warn!("dom{}: key dropped ({dropped} so far): {e:?}\n", self.domid);
                }
            }
        }
    }
}

impl Device {
    /// Drops the connection to domain `domid`'s frontend; a domain without a keyboard has no
    /// focus.
    fn disconnect(&self, domid: u16) {
        let Some(connection) = self.connection.lock().take() else { return };
        let Connection { _tap, _watch, writer, _link } = connection;
        drop(_tap);
        drop(_watch);
        kext::work::cancel_sync(&writer.work);
        drop(_link);
        if FOCUS.load(Relaxed) == u32::from(domid) {
            FOCUS.store(0, Relaxed);
            write_focus(0);
        }
    }

    fn connect(&self, dev: &xenbus::Device) -> Result {
        let gref = dev.read(End::Other, c"page-gref", kbdif::parse_grant_ref)?.ok_or(EINVAL)?;
        let port = dev.read(End::Other, c"event-channel", kbdif::parse_event_channel)?.ok_or(EINVAL)?;
        let page = MappedPage::new(dev, gref).inspect_err(|e| dev_err!(dev.as_dev(), "cannot map page {gref}: {e:?}\n"))?;
        let producer = InProducer::attach(&page.page()).map_err(|e| {
            dev_err!(dev.as_dev(), "the frontend's page is broken: {e:?}\n");
            EINVAL
        })?;
        let events = KBox::pin_init(EventChannel::bind_interdomain(dev, port, c"vkbdback", try_pin_init!(Quiet {})), GFP_KERNEL)?;
        let link = Arc::pin_init(
            pin_init!(Link { page, producer <- new_spinlock_irq!(producer), events, domid: dev.otherend_id(), dropped: Atomic::new(0) }),
            GFP_KERNEL,
        )?;
        let writer = Arc::pin_init(pin_init!(FocusWriter { work <- new_work!("vkbdback::focus") }), GFP_KERNEL)?;
        let watch = KBox::pin_init(Watch::new(c"/reptar/focus", try_pin_init!(FocusReader {})), GFP_KERNEL)?;
        let (forwarded, forwarded_writer) = (link.clone(), writer.clone());
        let tap = KBox::pin_init(Tap::new(c"vkbdback", BUTTONS, try_pin_init!(Forwarder { link: forwarded, writer: forwarded_writer })), GFP_KERNEL)?;
        *self.connection.lock() = Some(Connection { _tap: tap, _watch: watch, writer, _link: link });
        Ok(())
    }
}

/// What the frontends read at their probe: an absolute pointer of the screen's size.
fn write_keys(dev: &xenbus::Device) -> Result {
    for (key, value) in kbdif::backend_keys(WIDTH, HEIGHT) {
        dev.write_u32(&CString::try_from_fmt(fmt!("{key}"))?, value)?;
    }
    Ok(())
}

impl xenbus::Driver for VkbdBack {
    type Data = Device;
    const ID_TABLE: &'static [bindings::xenbus_device_id; 2] = &xenbus::id_table(c"vkbd");

    fn probe(dev: &xenbus::Device) -> Result<impl PinInit<Device, Error>> {
        write_keys(dev)
            .and_then(|()| dev.switch_state(State::InitWait))
            .inspect_err(|e| dev_err!(dev.as_dev(), "cannot offer the keyboard: {e:?}\n"))?;
        Ok(try_pin_init!(Device { connection <- new_mutex!(None) }))
    }

    fn otherend_changed(dev: &xenbus::Device, data: Pin<&Device>, frontend: State) {
        let me = dev.state();
        match frontend {
            // Linux's xen-kbdfront goes Connected as soon as it sees InitWait: connect on either.
            State::Initialised | State::Connected if me == State::InitWait => match data.connect(dev) {
                Ok(()) => {
                    let _ = dev.switch_state(State::Connected);
                    dev_info!(dev.as_dev(), "dom{}: BACKSPACE gives it the buttons, ESC takes them back\n", dev.otherend_id());
                }
                Err(e) => dev.fatal(e, c"cannot connect to the frontend"),
            },
            State::Initialising if me != State::InitWait => {
                data.disconnect(dev.otherend_id());
                if let Err(e) = write_keys(dev).and_then(|()| dev.switch_state(State::InitWait)) {
                    dev_err!(dev.as_dev(), "cannot offer the keyboard: {e:?}\n");
                }
            }
            State::Closing if !matches!(me, State::Initialising | State::Closing | State::Closed) => {
                data.disconnect(dev.otherend_id());
                let _ = dev.switch_state(State::Closing);
            }
            State::Closed | State::Unknown if !matches!(me, State::Initialising | State::Closed) => {
                data.disconnect(dev.otherend_id());
                let _ = dev.switch_state(State::Closed);
            }
            _ => {}
        }
    }

    fn remove(dev: &xenbus::Device, data: Pin<&Device>) {
        data.disconnect(dev.otherend_id());
    }
}

kernel::module_driver!(<T>, kext::xenbus::Backend<T>, {
    type: VkbdBack,
    name: "vkbdback",
    authors: ["REPTAR project"],
    description: "Paravirtual keyboard backend: the board's buttons for the domain that has the focus",
    license: "GPL v2",
});
