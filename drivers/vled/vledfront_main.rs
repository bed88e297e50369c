// SPDX-License-Identifier: GPL-2.0

//! vledfront: the frontend of paravirtual LEDs (docs/protocols/vled.md), in a domU.
//!
//! It creates an LED class device for each LED its backend offers (`sp6_led0`...: the names
//! come from the backend), and turns each brightness write into a request on the shared ring,
//! waiting for its answer: a failure (the backend's LED gone, no backend at all) is logged and
//! the LED keeps reading back the brightness it really has. The backend may go and come back:
//! the LEDs stay, requests made meanwhile fail at once rather than block.

use kernel::{
    prelude::*,
    str::CString,
    sync::{new_condvar, new_mutex, Arc, CondVar, Mutex},
    time::msecs_to_jiffies,
};

#[path = "../kernel-ext/mod.rs"]
pub mod kext;
pub use kext::{shared_page, xenbus_state};
#[path = "../protocols/vled/src/ring.rs"]
pub mod vled;

use kext::{
    led,
    xenbus::{self, End, EventChannel, EventHandler, GrantedPage, Notifier, State},
};
use vled::{Command, FrontRing, FrontendAction, Reply};

/// How long a request waits for its answer.
const ANSWER_TIMEOUT_MS: u32 = 1000;

struct VledFront;

/// A connection to the backend: the ring and its answers.
struct Link {
    page: GrantedPage,
    ring: KBox<FrontRing>,
    /// The last answer taken off the ring: (request id, its outcome).
    answer: Option<(u32, Result<u32, vled::Status>)>,
    /// The event channel to the backend.
    events: Arc<EventChannel<Answers>>,
}

/// What the LEDs and the event handler share.
#[pin_data]
struct Shared {
    #[pin]
    link: Mutex<Option<Link>>,
    #[pin]
    answered: CondVar,
    /// The brightness each LED really has, as the backend last said.
    #[pin]
    known: Mutex<KVec<u32>>,
    domid: u16,
}

impl Shared {
    /// Sends `command` and waits for its answer: the LED's brightness afterwards.
    fn request(&self, command: Command) -> Result<u32> {
        let mut link = self.link.lock();
        let Some(up) = &mut *link else { return Err(ENOTCONN) };
        let id = up.ring.push_command(&mut up.page.page(), command).map_err(|_| EBUSY)?;
        if up.ring.push_requests_and_check_notify(&mut up.page.page()) {
            up.events.notify();
        }
        loop {
            match &mut *link {
                None => return Err(ENOTCONN),
                Some(up) => {
                    if let Some((answered, outcome)) = up.answer {
                        if answered == id {
                            up.answer = None;
                            return outcome.map_err(|status| {
                                pr_warn!("LED {}: the backend answered {}\n", command.led(), status.name());
                                EIO
                            });
                        }
                    }
                }
            }
            if let kernel::sync::CondVarTimeoutResult::Timeout =
                self.answered.wait_interruptible_timeout(&mut link, msecs_to_jiffies(ANSWER_TIMEOUT_MS))
            {
                pr_warn!("LED {}: no answer from the backend\n", command.led());
                return Err(ETIMEDOUT);
            }
        }
    }

    fn set_known(&self, led: u16, brightness: u32) {
        if let Some(slot) = self.known.lock().get_mut(usize::from(led)) {
            *slot = brightness;
        }
    }
}

/// The event handler: takes the answers off the ring.
#[pin_data]
struct Answers {
    shared: Arc<Shared>,
}

impl EventHandler for Answers {
    fn handle_event(&self, _dev: &xenbus::Device, _events: &Notifier) -> bool {
        let mut link = self.shared.link.lock();
        let Some(up) = &mut *link else { return false };
        let mut any = false;
        loop {
            match up.ring.next_response(&up.page.page()) {
                Ok(Some(Reply::Answered { request, response })) => {
                    let outcome = if response.status().is_ok() { Ok(response.brightness) } else { Err(response.status()) };
                    if let Ok(brightness) = outcome {
                        self.shared.set_known(request.led, brightness);
                    }
                    up.answer = Some((request.id, outcome));
                    any = true;
                }
                Ok(Some(Reply::Mismatched { request, .. })) => {
                    pr_warn!("dom{}: an answer to request {} does not match it\n", self.shared.domid, request.id);
                    up.answer = Some((request.id, Err(vled::Status::BadRequest)));
                    any = true;
                }
                Ok(None) => match up.ring.final_check_for_responses(&mut up.page.page()) {
                    Ok(true) => continue,
                    _ => break,
                },
                Err(error) => {
                    pr_err!("dom{}: ring broken ({error:?})\n", self.shared.domid);
                    break;
                }
            }
        }
        drop(link);
        if any {
            self.shared.answered.notify_all();
        }
        any
    }
}

/// One LED: its brightness written becomes a request.
#[pin_data]
struct FrontLed {
    shared: Arc<Shared>,
    index: u16,
}

#[vtable]
impl led::Ops for FrontLed {
    fn brightness_set_blocking(&self, _parent: &kernel::device::Device, brightness: u32) -> Result {
        self.shared.request(Command::Set { led: self.index, brightness }).map(drop)
    }

    fn brightness_get(&self, _parent: &kernel::device::Device) -> u32 {
        self.shared.known.lock().get(usize::from(self.index)).copied().unwrap_or(0)
    }
}

/// The LEDs as the backend described them.
struct Offer {
    names: KVec<CString>,
    max_brightness: u32,
}

/// The device's data.
#[pin_data]
struct Device {
    shared: Arc<Shared>,
    #[pin]
    state: Mutex<FrontState>,
}

struct FrontState {
    events: Option<Arc<EventChannel<Answers>>>,
    offer: Option<Offer>,
    leds_created: bool,
    attempts: u32,
}

fn read_offer(dev: &xenbus::Device) -> Result<Offer> {
    let nr = dev.read(End::Other, c"nr-leds", vled::parse_nr_leds)?.ok_or(EINVAL)?;
    let max_brightness = dev.read(End::Other, c"max-brightness", vled::parse_max_brightness)?.ok_or(EINVAL)?;
    let mut names = KVec::new();
    for i in 0..nr {
        let key = CString::try_from_fmt(fmt!("name-{i}"))?;
        let name = dev.read(End::Other, &key, |v| vled::parse_led_name(v).map(|n| CString::try_from_fmt(fmt!("{n}"))))?;
        names.push(name.ok_or(EINVAL)??, GFP_KERNEL)?;
    }
    if !vled::names_are_distinct(names.iter().map(|n| n.to_bytes())) {
        return Err(EINVAL);
    }
    Ok(Offer { names, max_brightness })
}

impl Device {
    fn disconnect(&self, state: &mut FrontState) {
        // Taken out under the lock, dropped outside it: the channel's handler may be waiting
        // for the lock, and dropping the channel waits for its handler.
        let link = self.shared.link.lock().take();
        self.shared.answered.notify_all();
        drop(link);
        state.events = None;
    }

    fn connect(&self, dev: &xenbus::Device, state: &mut FrontState) -> Result {
        state.attempts += 1;
        let offer = read_offer(dev).inspect_err(|e| dev_err!(dev.as_dev(), "the backend's LEDs are not usable: {e:?}\n"))?;
        let page = GrantedPage::new(dev)?;
        let ring = KBox::new(FrontRing::new(&mut page.page()), GFP_KERNEL)?;
        let events = Arc::pin_init(EventChannel::alloc(dev, c"vledfront", try_pin_init!(Answers { shared: self.shared.clone() })), GFP_KERNEL)?;
        dev.write_u32(c"ring-ref", page.gref())?;
        dev.write_u32(c"event-channel", events.port())?;
        {
            let mut known = self.shared.known.lock();
            known.clear();
            for _ in 0..offer.names.len() {
                known.push(0, GFP_KERNEL)?;
            }
        }
        *self.shared.link.lock() = Some(Link { page, ring, answer: None, events: events.clone() });
        state.events = Some(events);
        state.offer = Some(offer);
        dev.switch_state(State::Initialised)
    }

    /// The backend is connected: the LEDs appear (once), each read back.
    fn activate(&self, dev: &xenbus::Device, state: &mut FrontState) -> Result {
        state.attempts = 0;
        let Some(offer) = state.offer.as_ref() else { return Err(EINVAL) };
        if !state.leds_created {
            for (i, name) in offer.names.iter().enumerate() {
                let mut config = led::Config::new(CString::try_from_fmt(fmt!("{}", name.to_str().map_err(|_| EINVAL)?))?, offer.max_brightness);
                // The domain's LEDs stay as they are when this module goes.
                config.retain_state = true;
                led::register(dev.as_dev(), config, pin_init!(FrontLed { shared: self.shared.clone(), index: i as u16 }))?;
            }
            state.leds_created = true;
        }
        dev.switch_state(State::Connected)?;
        for i in 0..offer.names.len() {
            if let Err(e) = self.shared.request(Command::Get { led: i as u16 }) {
                dev_warn!(dev.as_dev(), "cannot read LED {i}: {e:?}\n");
            }
        }
        Ok(())
    }
}

impl xenbus::Driver for VledFront {
    type Data = Device;
    const ID_TABLE: &'static [kext::bindings::xenbus_device_id; 2] = &xenbus::id_table(c"vled");

    fn probe(dev: &xenbus::Device) -> Result<impl PinInit<Device, Error>> {
        dev.switch_state(State::Initialising)?;
        let shared = Arc::pin_init(
            pin_init!(Shared {
                link <- new_mutex!(None),
                answered <- new_condvar!(),
                known <- new_mutex!(KVec::new()),
                domid: dev.otherend_id(),
            }),
            GFP_KERNEL,
        )?;
        Ok(try_pin_init!(Device {
            shared,
            state <- new_mutex!(FrontState { events: None, offer: None, leds_created: false, attempts: 0 }),
        }))
    }

    fn otherend_changed(dev: &xenbus::Device, data: Pin<&Device>, backend: State) {
        let mut state = data.state.lock();
        let may_reinit = state.attempts < vled::MAX_CONNECT_ATTEMPTS;
        let result = match vled::frontend_action(dev.state(), backend, may_reinit) {
            FrontendAction::Nothing => Ok(()),
            FrontendAction::Connect => data.connect(dev, &mut state),
            FrontendAction::Reconnect => {
                data.disconnect(&mut state);
                data.connect(dev, &mut state)
            }
            FrontendAction::Activate => data.activate(dev, &mut state),
            FrontendAction::Close => {
                data.disconnect(&mut state);
                dev.switch_state(State::Closed)
            }
            FrontendAction::CloseAndReinit => {
                data.disconnect(&mut state);
                dev.switch_state(State::Closed).and_then(|()| dev.switch_state(State::Initialising))
            }
            FrontendAction::Reinit => dev.switch_state(State::Initialising),
        };
        if let Err(e) = result {
            data.disconnect(&mut state);
            dev.fatal(e, c"cannot connect to the backend");
        }
    }

    fn remove(_dev: &xenbus::Device, data: Pin<&Device>) {
        let mut state = data.state.lock();
        data.disconnect(&mut state);
    }
}

kernel::module_driver!(<T>, kext::xenbus::Frontend<T>, {
    type: VledFront,
    name: "vledfront",
    authors: ["REPTAR project"],
    description: "Paravirtual LEDs frontend: LED class devices whose writes go to the backend's LEDs",
    license: "GPL v2",
});
