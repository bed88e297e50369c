// SPDX-License-Identifier: GPL-2.0

//! vkbdfront: a keyboard from the backend's keys, over Xen's keyboard protocol (`io/kbdif.h`,
//! docs/protocols/kbdif.md), in a domU: the input device "Xen Virtual Keyboard" reports the
//! board's buttons while this domain has the focus.

use kernel::{
    prelude::*,
    sync::{new_mutex, Arc, Mutex},
};

#[path = "../protocols/kbdif/src/kbdif.rs"]
pub mod kbdif;
#[path = "../kernel-ext/mod.rs"]
pub mod kext;
#[path = "../protocols/common/src/ring_index.rs"]
pub mod ring_index;
pub use kext::{shared_page, xenbus_state};

use kbdif::{InConsumer, InEvent};
use kext::{
    bindings, input,
    xenbus::{self, EventChannel, EventHandler, GrantedPage, Notifier, State},
};

struct VkbdFront;

/// The device's data.
#[pin_data]
struct Device {
    keyboard: Arc<input::Registration>,
    #[pin]
    link: Mutex<Option<Pin<KBox<EventChannel<Reader>>>>>,
}

/// Takes the backend's events off the page and reports them.
#[pin_data]
struct Reader {
    page: GrantedPage,
    #[pin]
    consumer: Mutex<InConsumer>,
    keyboard: Arc<input::Registration>,
    domid: u16,
}

impl EventHandler for Reader {
    fn handle_event(&self, _dev: &xenbus::Device, _events: &Notifier) -> bool {
        let mut consumer = self.consumer.lock();
        let consumed = consumer.consume(&mut self.page.page(), |event| {
            if let InEvent::Key { pressed, keycode } = event {
                self.keyboard.report_key(keycode, pressed);
            }
        });
        match consumed {
            Ok(0) => false,
            Ok(_) => {
                self.keyboard.sync();
                true
            }
            Err(e) => {
                pr_err!("dom{}: the keyboard page is broken: {e:?}\n", self.domid);
                false
            }
        }
    }
}

impl Device {
    fn disconnect(&self) {
        let link = self.link.lock().take();
        drop(link);
    }

    fn connect(&self, dev: &xenbus::Device) -> Result {
        let page = GrantedPage::new(dev)?;
        let consumer = InConsumer::attach(&page.page()).map_err(|_| EINVAL)?;
        let gref = page.gref();
        let reader = try_pin_init!(Reader {
            page,
            consumer <- new_mutex!(consumer),
            keyboard: self.keyboard.clone(),
            domid: dev.otherend_id(),
        });
        let events = KBox::pin_init(EventChannel::alloc(dev, c"vkbdfront", reader), GFP_KERNEL)?;
        dev.write_u32(c"page-gref", gref)?;
        dev.write_u32(c"event-channel", events.port())?;
        *self.link.lock() = Some(events);
        dev.switch_state(State::Initialised)
    }
}

/// The keyboard: the keys a kbdif KEY event may carry (`KEY_ESC` up to `KEY_UNKNOWN`), with
/// the ids xen-kbdfront gives its keyboard (Xen's PCI vendor id).
fn new_keyboard(dev: &xenbus::Device) -> Result<input::Registration> {
    let mut keyboard = input::Builder::new(c"Xen Virtual Keyboard")?;
    keyboard.set_parent(dev.as_dev());
    keyboard.set_id(input::Id { bustype: bindings::BUS_PCI as u16, vendor: 0x5853, product: 0xffff, version: 0 });
    for key in kbdif::KEY_ESC..kbdif::KEY_UNKNOWN {
        keyboard.set_key(key)?;
    }
    keyboard.register()
}

impl xenbus::Driver for VkbdFront {
    type Data = Device;
    const ID_TABLE: &'static [bindings::xenbus_device_id; 2] = &xenbus::id_table(c"vkbd");

    fn probe(dev: &xenbus::Device) -> Result<impl PinInit<Device, Error>> {
        let keyboard = Arc::new(new_keyboard(dev)?, GFP_KERNEL)?;
        dev.switch_state(State::Initialising)?;
        Ok(try_pin_init!(Device { keyboard, link <- new_mutex!(None) }))
    }

    fn otherend_changed(dev: &xenbus::Device, data: Pin<&Device>, backend: State) {
        let me = dev.state();
        let result = match backend {
            State::InitWait if matches!(me, State::Initialising | State::Closed) => data.connect(dev),
            State::Connected if me == State::Initialised => dev.switch_state(State::Connected),
            State::Closing | State::Closed | State::Unknown if matches!(me, State::Initialised | State::Connected | State::Closing) => {
                data.disconnect();
                dev.switch_state(State::Closed).and_then(|()| dev.switch_state(State::Initialising))
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            data.disconnect();
            dev.fatal(e, c"cannot connect to the backend");
        }
    }

    fn remove(_dev: &xenbus::Device, data: Pin<&Device>) {
        data.disconnect();
    }
}

kernel::module_driver!(<T>, kext::xenbus::Frontend<T>, {
    type: VkbdFront,
    name: "vkbdfront",
    authors: ["REPTAR project"],
    description: "Paravirtual keyboard frontend: the board's buttons while this domain has the focus",
    license: "GPL v2",
});
