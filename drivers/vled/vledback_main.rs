// SPDX-License-Identifier: GPL-2.0

//! vledback: the backend of paravirtual LEDs (docs/protocols/vled.md), in dom0.
//!
//! For each domain's `vled` device it offers dom0's LEDs `sp6_led0` to `sp6_led5` (the REPTAR
//! CPU LEDs, whoever drives them: sp6.ko or any LED class driver), maps the frontend's ring,
//! and applies each request to the dom0 LED of that name, looked up per request so that the
//! LED's driver may come and go: requests then fail with `UNAVAILABLE`. A frontend that breaks
//! the ring (indices that overrun) is logged and no longer served; bad requests get error
//! statuses, logged (the first few of each connection).

use kernel::{
    prelude::*,
    str::CString,
    sync::{new_mutex, Mutex},
};

#[path = "../kernel-ext/mod.rs"]
pub mod kext;
pub use kext::{shared_page, xenbus_state};
#[path = "../protocols/vled/src/ring.rs"]
pub mod vled;
mod dom0_leds;

use kext::xenbus::{self, End, EventChannel, EventHandler, MappedPage, Notifier, State};
use vled::{BackRing, BackendAction, Command, Request, Status};

/// The LEDs offered to every frontend, in order.
const LED_NAMES: [&CStr; 6] = [c"sp6_led0", c"sp6_led1", c"sp6_led2", c"sp6_led3", c"sp6_led4", c"sp6_led5"];
/// dom0's LEDs are on/off.
const MAX_BRIGHTNESS: u32 = 1;
/// Bad requests logged per connection before going quiet.
const BAD_REQUESTS_LOGGED: u32 = 8;

struct VledBack;

/// One frontend's device.
#[pin_data]
struct Device {
    /// The connection to the frontend while its ring is mapped.
    #[pin]
    connection: Mutex<Option<Pin<KBox<EventChannel<RingServer>>>>>,
}

/// Serves a mapped ring: runs in the event channel's thread.
#[pin_data]
struct RingServer {
    page: MappedPage,
    #[pin]
    ring: Mutex<Served>,
    domid: u16,
}

struct Served {
    ring: BackRing,
    bad_requests: u32,
    dead: bool,
}

/// Applies one request to dom0's LED; its brightness afterwards, or the status to answer.
fn apply(request: &Request) -> Result<u32, Status> {
    let command = vled::check_request(request, LED_NAMES.len() as u16, |_| MAX_BRIGHTNESS)?;
    let name = LED_NAMES[usize::from(command.led())];
    let brightness = match command {
        Command::Set { brightness, .. } => Some(brightness),
        Command::Get { .. } => None,
    };
    dom0_leds::access(name, brightness).map_err(|e| match e {
        e if e == ENODEV => Status::Unavailable,
        e if e == ERANGE => Status::BadBrightness,
        _ => Status::IoError,
    })
}

impl EventHandler for RingServer {
    fn handle_event(&self, dev: &xenbus::Device, events: &Notifier) -> bool {
        let mut served = self.ring.lock();
        if served.dead {
            return false;
        }
        let mut handled = 0;
        loop {
            let Served { ring, bad_requests, .. } = &mut *served;
            let domid = self.domid;
            let pass = ring.serve_pass(&mut self.page.page(), |request| {
                apply(request).inspect_err(|status| {
                    *bad_requests += 1;
                    if *bad_requests <= BAD_REQUESTS_LOGGED {
                        pr_warn!("dom{domid}: request {} (led {}, brightness {}): {}\n", request.id, request.led, request.brightness, status.name());
                    }
                })
            });
            match pass {
                Ok(pass) => {
                    handled += pass.handled;
                    if pass.notify {
                        events.notify();
                    }
                    if !pass.more {
                        break;
                    }
                    // More came meanwhile, with no event for them: another pass. The IRQ thread
                    // is preemptible (the kernel is built with PREEMPTION) and the lock is
                    // dropped between passes, so a flooding frontend cannot starve dom0.
                    drop(served);
                    served = self.ring.lock();
                    if served.dead {
                        break;
                    }
                }
                Err(error) => {
                    pr_err!("dom{}: ring broken ({error:?}): no longer served\n", self.domid);
                    served.dead = true;
                    // The protocol's answer to a broken ring: the device goes to Closing.
                    dev.fatal(EIO, c"the frontend broke the ring");
                    break;
                }
            }
        }
        handled > 0
    }
}

impl Device {
    /// Drops the connection: the event channel is unbound (waiting for a running handler), then
    /// the ring unmapped.
    fn disconnect(&self) {
        let connection = self.connection.lock().take();
        drop(connection);
    }

    fn connect(&self, dev: &xenbus::Device) -> Result {
        let read = |key: &CStr| -> Result<u32> {
            dev.read(End::Other, key, vled::parse_uint)?.ok_or(EINVAL)
        };
        let gref = read(c"ring-ref")?;
        let port = read(c"event-channel")?;
        let page = MappedPage::new(dev, gref)
            .inspect_err(|e| dev_err!(dev.as_dev(), "cannot map ring {gref}: {e:?}\n"))?;
        let server = try_pin_init!(RingServer {
            page,
            ring <- new_mutex!(Served { ring: BackRing::new(), bad_requests: 0, dead: false }),
            domid: dev.otherend_id(),
        });
        let channel = KBox::pin_init(EventChannel::bind_interdomain(dev, port, c"vledback", server), GFP_KERNEL)
            .inspect_err(|e| dev_err!(dev.as_dev(), "cannot bind event channel {port}: {e:?}\n"))?;
        *self.connection.lock() = Some(channel);
        Ok(())
    }
}

/// Writes what the frontend needs to know: the LEDs and their names.
fn write_keys(dev: &xenbus::Device) -> Result {
    dev.write_u32(c"nr-leds", LED_NAMES.len() as u32)?;
    dev.write_u32(c"max-brightness", MAX_BRIGHTNESS)?;
    for (i, name) in LED_NAMES.iter().enumerate() {
        dev.write(&CString::try_from_fmt(fmt!("name-{i}"))?, name)?;
    }
    Ok(())
}

impl xenbus::Driver for VledBack {
    type Data = Device;
    const ID_TABLE: &'static [kext::bindings::xenbus_device_id; 2] = &xenbus::id_table(c"vled");

    fn probe(dev: &xenbus::Device) -> Result<impl PinInit<Device, Error>> {
        write_keys(dev)
            .and_then(|()| dev.switch_state(State::InitWait))
            .inspect_err(|e| dev_err!(dev.as_dev(), "cannot offer the LEDs: {e:?}\n"))?;
        Ok(try_pin_init!(Device { connection <- new_mutex!(None) }))
    }

    fn otherend_changed(dev: &xenbus::Device, data: Pin<&Device>, state: State) {
        match vled::backend_action(dev.state(), state) {
            BackendAction::Nothing => {}
            BackendAction::Prepare => {
                data.disconnect();
                if let Err(e) = write_keys(dev).and_then(|()| dev.switch_state(State::InitWait)) {
                    dev_err!(dev.as_dev(), "cannot offer the LEDs: {e:?}\n");
                }
            }
            BackendAction::Connect => match data.connect(dev) {
                Ok(()) => {
                    if let Err(e) = dev.switch_state(State::Connected) {
                        dev_err!(dev.as_dev(), "cannot switch to Connected: {e:?}\n");
                    }
                    dev_info!(dev.as_dev(), "dom{} connected: LEDs sp6_led0..5\n", dev.otherend_id());
                }
                Err(e) => dev.fatal(e, c"cannot connect to the frontend"),
            },
            BackendAction::Close => {
                data.disconnect();
                let _ = dev.switch_state(State::Closing);
            }
            BackendAction::Closed => {
                data.disconnect();
                let _ = dev.switch_state(State::Closed);
            }
        }
    }

    fn remove(_dev: &xenbus::Device, data: Pin<&Device>) {
        data.disconnect();
    }
}

kernel::module_driver!(<T>, kext::xenbus::Backend<T>, {
    type: VledBack,
    name: "vledback",
    authors: ["REPTAR project"],
    description: "Paravirtual LEDs backend: other domains' LED requests applied to dom0's LEDs",
    license: "GPL v2",
});
