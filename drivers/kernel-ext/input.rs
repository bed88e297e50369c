// SPDX-License-Identifier: GPL-2.0

//! Input devices (`struct input_dev`).
//!
//! C header: [`include/linux/input.h`](srctree/include/linux/input.h)
//!
//! A [`Builder`] allocates and describes a device (name, parent, id, the events it can send);
//! [`Builder::register`] turns it into a [`Registration`], which reports events and unregisters
//! the device when dropped.
//!
//! ```ignore
//! let mut buttons = input::Builder::new(c"my_buttons")?;
//! buttons.set_parent(pdev.as_ref());
//! buttons.set_id(input::Id::host());
//! for key in [KEY_ENTER, KEY_ESC] {
//!     buttons.set_key(key)?;
//! }
//! let buttons = buttons.register()?;
//!
//! buttons.report_key(KEY_ENTER, true);
//! buttons.sync();
//! ```
//!
//! Event codes (`KEY_ENTER`, `BTN_LEFT`, `REL_X`, ...) are the `u32` constants of
//! [`super::bindings`], generated from `include/uapi/linux/input-event-codes.h`.
//!
//! A [`Tap`] is the other way round: an input handler that sees another driver's device's
//! events first and may consume them (a backend forwarding the board's buttons to a domain).
//!
//! The device only calls into the driver if the driver asked for it, and this wrapper installs no
//! callbacks (open, close, event): a [`Registration`] can be shared with any context and even
//! outlive its parent's binding without the input core ever running driver code.

use core::ptr::NonNull;

use kernel::{
    device::Device,
    error::{from_result, to_result},
    prelude::*,
    str::{CStrExt, CString},
    sync::aref::ARef,
    types::Opaque,
};

use super::bindings;

/// Types of events, with the highest code each one accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum EventType {
    /// Keys and buttons (`EV_KEY`, codes `KEY_*` and `BTN_*`).
    Key = bindings::EV_KEY,
    /// Relative axes (`EV_REL`, codes `REL_*`).
    Rel = bindings::EV_REL,
    /// Absolute axes (`EV_ABS`, codes `ABS_*`); set their range with [`Builder::set_abs_params`].
    Abs = bindings::EV_ABS,
    /// Miscellaneous events (`EV_MSC`, codes `MSC_*`).
    Msc = bindings::EV_MSC,
    /// Switches (`EV_SW`, codes `SW_*`).
    Sw = bindings::EV_SW,
}

impl EventType {
    /// The highest code valid for this type.
    pub const fn max_code(self) -> u32 {
        match self {
            Self::Key => bindings::KEY_MAX,
            Self::Rel => bindings::REL_MAX,
            Self::Abs => bindings::ABS_MAX,
            Self::Msc => bindings::MSC_MAX,
            Self::Sw => bindings::SW_MAX,
        }
    }

    fn check(self, code: u32) -> Result {
        if code > self.max_code() {
            return Err(EINVAL);
        }
        Ok(())
    }
}

/// Identity of an input device (`struct input_id`), shown in `/proc/bus/input/devices`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Id {
    /// Bus type, one of the `BUS_*` constants.
    pub bustype: u16,
    /// Vendor id.
    pub vendor: u16,
    /// Product id.
    pub product: u16,
    /// Version.
    pub version: u16,
}

impl Id {
    /// A device on the host bus (`BUS_HOST`: built into the board) with no particular ids.
    pub const fn host() -> Self {
        Self {
            bustype: bindings::BUS_HOST as u16,
            vendor: 0,
            product: 0,
            version: 0,
        }
    }
}

/// An allocated `struct input_dev` that is not registered: freed on drop.
///
/// # Invariants
///
/// `self.0` comes from `input_allocate_device()` and has not been registered nor freed.
struct Allocated(NonNull<bindings::input_dev>);

impl Allocated {
    /// Gives up ownership without freeing.
    fn into_raw(self) -> NonNull<bindings::input_dev> {
        let raw = self.0;
        core::mem::forget(self);
        raw
    }
}

impl Drop for Allocated {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, the device is allocated and not registered.
        unsafe { bindings::input_free_device(self.0.as_ptr()) };
    }
}

/// An input device being described, before registration.
///
/// Dropping it frees the device.
pub struct Builder {
    dev: Allocated,
    /// Storage for `input_dev.name`.
    name: CString,
    /// Reference on `input_dev.dev.parent`, until registration takes its own.
    parent: Option<ARef<Device>>,
}

impl Builder {
    /// Allocates an input device called `name`.
    pub fn new(name: &CStr) -> Result<Self> {
        let name = name.to_cstring()?;
        // SAFETY: No requirements; returns NULL on failure.
        let raw = NonNull::new(unsafe { bindings::input_allocate_device() }).ok_or(ENOMEM)?;
        // INVARIANT: `raw` was just allocated.
        let dev = Allocated(raw);
        // SAFETY: `raw` is a valid, unregistered device; `name`'s buffer is on the heap and lives
        // in `Self`, then in the `Registration`, for as long as the device is registered.
        unsafe { (*raw.as_ptr()).name = name.as_char_ptr() };
        Ok(Self {
            dev,
            name,
            parent: None,
        })
    }

    fn raw(&self) -> *mut bindings::input_dev {
        self.dev.0.as_ptr()
    }

    /// Places the device under `parent` in the device tree (`/sys/devices/...`).
    pub fn set_parent(&mut self, parent: &Device) {
        let parent: ARef<Device> = parent.into();
        // SAFETY: `self.raw()` is a valid, unregistered device; `parent` is a valid device kept
        // alive by the reference stored in `self.parent` until registration, where the driver core
        // takes a reference of its own.
        unsafe { (*self.raw()).dev.parent = super::device::as_raw(&parent) };
        self.parent = Some(parent);
    }

    /// Sets the bus type and ids.
    pub fn set_id(&mut self, id: Id) {
        // SAFETY: `self.raw()` is a valid, unregistered device.
        let dev_id = unsafe { &mut (*self.raw()).id };
        dev_id.bustype = id.bustype;
        dev_id.vendor = id.vendor;
        dev_id.product = id.product;
        dev_id.version = id.version;
    }

    /// Declares that the device can send events of type `ev` with code `code`.
    ///
    /// Fails with `EINVAL` if `code` is out of range for `ev`.
    pub fn set_capability(&mut self, ev: EventType, code: u32) -> Result {
        ev.check(code)?;
        // SAFETY: `self.raw()` is a valid, unregistered device and `code` is in range for `ev`
        // (`input_set_capability()` does not check it).
        unsafe { bindings::input_set_capability(self.raw(), ev as u32, code) };
        Ok(())
    }

    /// Declares that the device has the key or button `code` (`KEY_*`, `BTN_*`).
    pub fn set_key(&mut self, code: u32) -> Result {
        self.set_capability(EventType::Key, code)
    }

    /// Declares the absolute axis `axis` (`ABS_*`) with its range, noise filter and dead zone.
    pub fn set_abs_params(
        &mut self,
        axis: u32,
        min: i32,
        max: i32,
        fuzz: i32,
        flat: i32,
    ) -> Result {
        EventType::Abs.check(axis)?;
        // SAFETY: `self.raw()` is a valid, unregistered device and `axis` is in range.
        unsafe { bindings::input_set_abs_params(self.raw(), axis, min, max, fuzz, flat) };
        Ok(())
    }

    /// Registers the device with the input core; handlers such as evdev attach to it.
    pub fn register(self) -> Result<Registration> {
        let Self { dev, name, parent } = self;
        // SAFETY: `dev` is a valid, allocated, unregistered device with a name.
        to_result(unsafe { bindings::input_register_device(dev.0.as_ptr()) })?;
        // The driver core now holds its own reference on the parent.
        drop(parent);
        // INVARIANT: the device is registered.
        Ok(Registration {
            dev: dev.into_raw(),
            _name: name,
        })
    }
}

/// A registered input device: reports events, unregisters on drop.
///
/// # Invariants
///
/// `dev` is a registered `struct input_dev`, owned by this object.
pub struct Registration {
    dev: NonNull<bindings::input_dev>,
    /// Storage for `input_dev.name`, kept until the device is unregistered.
    _name: CString,
}

// SAFETY: The input core lets any thread report events and unregister a device.
unsafe impl Send for Registration {}

// SAFETY: Reporting (`&self`) may happen concurrently from any context, including hard IRQ: the
// input core serialises events with the device's `event_lock` (a spinlock taken with IRQs off).
unsafe impl Sync for Registration {}

impl Registration {
    fn raw(&self) -> *mut bindings::input_dev {
        self.dev.as_ptr()
    }

    /// Reports an event. Events the device did not declare are dropped by the input core.
    pub fn event(&self, ev: EventType, code: u32, value: i32) {
        // SAFETY: By the type invariant, the device is registered.
        unsafe { bindings::input_event(self.raw(), ev as u32, code, value) };
    }

    /// Reports key or button `code` as pressed or released.
    pub fn report_key(&self, code: u32, pressed: bool) {
        // SAFETY: By the type invariant, the device is registered.
        unsafe { bindings::input_report_key(self.raw(), code, i32::from(pressed)) };
    }

    /// Reports a move of `value` on relative axis `code` (`REL_*`).
    pub fn report_rel(&self, code: u32, value: i32) {
        // SAFETY: By the type invariant, the device is registered.
        unsafe { bindings::input_report_rel(self.raw(), code, value) };
    }

    /// Reports the position `value` on absolute axis `code` (`ABS_*`).
    pub fn report_abs(&self, code: u32, value: i32) {
        // SAFETY: By the type invariant, the device is registered.
        unsafe { bindings::input_report_abs(self.raw(), code, value) };
    }

    /// Ends a packet of events (`SYN_REPORT`): readers see the events reported so far at once.
    pub fn sync(&self) {
        // SAFETY: By the type invariant, the device is registered.
        unsafe { bindings::input_sync(self.raw()) };
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: By the type invariant, the device is registered and ours. This also drops the
        // allocation's last reference the driver holds: the device must not be used afterwards.
        unsafe { bindings::input_unregister_device(self.raw()) };
    }
}

/// What a [`Tap`] does with each event of the device it watches: called by the input core with
/// the device's event lock held and interrupts off, so it must not sleep.
pub trait Filter: Send + Sync + 'static {
    /// Returns true to consume the event: no other handler (evdev, the console) sees it.
    fn filter(&self, ev_type: u32, code: u32, value: i32) -> bool;
}

/// `INPUT_DEVICE_ID_MATCH_EVBIT` (`mod_devicetable.h`).
const INPUT_DEVICE_ID_MATCH_EVBIT: bindings::kernel_ulong_t = 0x0010;

/// The devices a [`Tap`] is offered: those with keys (it then picks its one by name).
static KEY_DEVICES: [bindings::input_device_id; 2] = {
    // SAFETY: `input_device_id` is integers only: all-zero is a valid value (and the table's
    // terminating entry).
    let mut ids: [bindings::input_device_id; 2] = unsafe { core::mem::zeroed() };
    ids[0].flags = INPUT_DEVICE_ID_MATCH_EVBIT;
    ids[0].evbit[0] = 1 << bindings::EV_KEY;
    ids
};

/// An input handler (`struct input_handler`) that sees the events of the input device called
/// `device` before every other handler, and may consume them: a backend forwarding a device's
/// keys to another domain. Attaches to the device whenever it appears (its driver may be
/// loaded later, or again); unregistered, and detached, when dropped.
///
/// # Invariants
///
/// `handler` is registered with the input core with our callbacks, which find `filter` and
/// `device` through `container_of!`.
#[pin_data(PinnedDrop)]
pub struct Tap<F: Filter> {
    #[pin]
    handler: Opaque<bindings::input_handler>,
    device: &'static CStr,
    name: &'static CStr,
    #[pin]
    filter: F,
}

// SAFETY: The input core calls the callbacks from any thread; `F` is `Send + Sync` and the
// rest is read-only after registration.
unsafe impl<F: Filter> Send for Tap<F> {}
// SAFETY: As above: `&Tap` gives nothing but what the callbacks read.
unsafe impl<F: Filter> Sync for Tap<F> {}

impl<F: Filter> Tap<F> {
    /// A handler named `name` tapping the input device named `device`.
    pub fn new(name: &'static CStr, device: &'static CStr, filter: impl PinInit<F, Error>) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            device,
            name,
            filter <- filter,
            handler <- Opaque::try_ffi_init(move |slot: *mut bindings::input_handler| {
                // SAFETY: `slot` is valid for one `input_handler`; all-zero is what the input
                // core expects of the fields we do not set (it initialises its own lists).
                unsafe { slot.write_bytes(0, 1) };
                // SAFETY: Valid and zeroed above.
                let handler = unsafe { &mut *slot };
                handler.filter = Some(Self::filter_callback);
                handler.connect = Some(Self::connect_callback);
                handler.disconnect = Some(Self::disconnect_callback);
                handler.name = name.as_char_ptr();
                handler.id_table = KEY_DEVICES.as_ptr();
                // SAFETY: The handler is set up at its final, pinned address, with `device`
                // and `filter` initialised before it (fields are initialised in order); it is
                // unregistered by drop before they go.
                to_result(unsafe { bindings::input_register_handler(slot) })
            }),
        })
    }

    /// # Safety
    ///
    /// `handler` must be the `handler` field of a live `Tap<F>`.
    unsafe fn from_handler<'a>(handler: *mut bindings::input_handler) -> &'a Self {
        let handler = Opaque::cast_from(handler).cast_mut();
        // SAFETY: The caller's promise.
        unsafe { &*kernel::container_of!(handler, Self, handler) }
    }

    unsafe extern "C" fn connect_callback(
        handler: *mut bindings::input_handler,
        dev: *mut bindings::input_dev,
        _id: *const bindings::input_device_id,
    ) -> c_int {
        // SAFETY: The input core calls connect with our registered handler.
        let this = unsafe { Self::from_handler(handler) };
        // SAFETY: `dev` is a registered device; its name, if any, is a NUL-terminated string.
        let name = unsafe { (*dev).name };
        // SAFETY: Not NULL: a NUL-terminated string of the device's.
        if name.is_null() || unsafe { CStr::from_char_ptr(name) } != this.device {
            return ENODEV.to_errno();
        }
        from_result(|| {
            // SAFETY: All-zero is a valid `input_handle` before registration.
            let handle = KBox::new(unsafe { core::mem::zeroed::<bindings::input_handle>() }, GFP_KERNEL)?;
            let handle = KBox::into_raw(handle);
            // SAFETY: `handle` is ours; the device and handler are valid for the connection.
            unsafe {
                (*handle).dev = dev;
                (*handle).handler = handler;
                (*handle).name = this.name.as_char_ptr();
                if let Err(e) = to_result(bindings::input_register_handle(handle)) {
                    drop(KBox::from_raw(handle));
                    return Err(e);
                }
                if let Err(e) = to_result(bindings::input_open_device(handle)) {
                    bindings::input_unregister_handle(handle);
                    drop(KBox::from_raw(handle));
                    return Err(e);
                }
            }
            Ok(0)
        })
    }

    unsafe extern "C" fn disconnect_callback(handle: *mut bindings::input_handle) {
        // SAFETY: A handle connect registered and opened; freed once, here.
        unsafe {
            bindings::input_close_device(handle);
            bindings::input_unregister_handle(handle);
            drop(KBox::from_raw(handle));
        }
    }

    unsafe extern "C" fn filter_callback(handle: *mut bindings::input_handle, ev_type: c_uint, code: c_uint, value: c_int) -> bool {
        // SAFETY: The input core passes a handle of ours, whose `handler` is our registered one.
        let this = unsafe { Self::from_handler((*handle).handler) };
        this.filter.filter(ev_type, code, value)
    }
}

#[pinned_drop]
impl<F: Filter> PinnedDrop for Tap<F> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Registered (type invariant): disconnects every handle, and no callback runs
        // after it returns.
        unsafe { bindings::input_unregister_handler(self.handler.get()) };
    }
}
