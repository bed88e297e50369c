// SPDX-License-Identifier: GPL-2.0

//! LED class devices (`struct led_classdev`).
//!
//! C header: [`include/linux/leds.h`](srctree/include/linux/leds.h)
//!
//! A driver describes an LED with a [`Config`], implements [`Ops`] for the object that drives it
//! and calls [`register`] from `probe`. The LED then appears as `/sys/class/leds/<name>` and
//! stays registered as long as the parent device is bound: the registration is a device resource
//! of the parent (like the kernel crate's `pwm::Chip`), so the driver keeps no handle, cannot leak
//! it past unbind, and [`Ops`] is never called after the parent is unbound.
//!
//! ```ignore
//! struct MyLed { /* ... */ }
//!
//! #[vtable]
//! impl led::Ops for MyLed {
//!     fn brightness_set(&self, _parent: &Device, brightness: u32) {
//!         // write the hardware; must not sleep
//!     }
//! }
//!
//! led::register(
//!     pdev.as_ref(),
//!     led::Config::new(CString::try_from_fmt(fmt!("board_led{i}"))?, 1),
//!     pin_init!(MyLed { /* ... */ }),
//! )?;
//! ```
//!
//! Reading `brightness` in sysfs gives the LED core's record of the last value set (clamped to
//! `max_brightness`), unless [`Ops::brightness_get`] is implemented.

use core::ptr;

use kernel::{
    device::{Bound, Device},
    devres,
    error::{from_result, to_result, VTABLE_DEFAULT_ERROR},
    prelude::*,
    str::{CStrExt, CString},
    sync::aref::ARef,
    types::Opaque,
};

use super::bindings;

/// The operations of an LED, called by the LED core.
///
/// Implement [`Ops::brightness_set`] (cannot sleep), [`Ops::brightness_set_blocking`] (may sleep)
/// or both. `parent` is the device the LED was registered under, for messages.
#[vtable]
pub trait Ops: Send + Sync + 'static {
    /// Sets the LED to `brightness` (`0..=max_brightness`) without sleeping.
    ///
    /// Called from process context (sysfs) and from atomic context (triggers, blink timers).
    fn brightness_set(&self, _parent: &Device, _brightness: u32) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Sets the LED to `brightness` (`0..=max_brightness`); may sleep.
    ///
    /// The LED core defers calls from atomic context to a workqueue.
    fn brightness_set_blocking(&self, _parent: &Device, _brightness: u32) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Reads the current brightness back from the hardware.
    fn brightness_get(&self, _parent: &Device) -> u32 {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// How an LED class device shows up.
pub struct Config {
    /// Name of the device in `/sys/class/leds/`. Registration fails with `EEXIST` if another LED
    /// already has it (the LED core's silent renaming is turned off: the name is an interface).
    pub name: CString,
    /// Highest brightness: 1 for an on/off LED.
    pub max_brightness: u32,
    /// Leave the LED as it is when it is unregistered. By default the LED core switches it off
    /// (brightness 0) while unregistering, through the driver's [`Ops`].
    pub retain_state: bool,
}

impl Config {
    /// An LED named `name` with brightness `0..=max_brightness`, switched off when unregistered.
    pub fn new(name: CString, max_brightness: u32) -> Self {
        Self {
            name,
            max_brightness,
            retain_state: false,
        }
    }
}

/// Registers an LED class device under `parent` for as long as `parent` stays bound.
///
/// `ops` drives the LED. The LED is unregistered when `parent` is unbound, with its other device
/// resources (in reverse order of registration: resources obtained before this call, such as a
/// `DevresIoMem`, are still there while the LED is switched off and unregistered).
pub fn register<T: Ops, E>(
    parent: &Device<Bound>,
    config: Config,
    ops: impl PinInit<T, E>,
) -> Result
where
    Error: From<E>,
{
    const {
        assert!(
            T::HAS_BRIGHTNESS_SET || T::HAS_BRIGHTNESS_SET_BLOCKING,
            "led::Ops needs brightness_set or brightness_set_blocking"
        )
    };

    devres::register::<Registration<T>, Error>(
        parent,
        Registration::new(parent, config, ops),
        GFP_KERNEL,
    )
}

/// A registered `struct led_classdev` and what its callbacks use.
///
/// # Invariants
///
/// Once initialised, `cdev` is registered with the LED core; its callbacks are those of
/// `Registration<T>` and they find `ops` and `parent` through `container_of!`.
#[pin_data(PinnedDrop)]
struct Registration<T: Ops> {
    #[pin]
    ops: T,
    parent: ARef<Device>,
    /// Storage for `cdev.name`.
    name: CString,
    #[pin]
    cdev: Opaque<bindings::led_classdev>,
}

// SAFETY: The LED core may call the callbacks and `led_classdev_unregister()` from any thread;
// `T` is `Send + Sync`, `ARef<Device>` and `CString` are `Send`, and the raw pointers inside
// `cdev` are only used by the LED core, under its own locking.
unsafe impl<T: Ops> Send for Registration<T> {}

impl<T: Ops> Registration<T> {
    fn new<E>(
        parent: &Device<Bound>,
        config: Config,
        ops: impl PinInit<T, E>,
    ) -> impl PinInit<Self, Error>
    where
        Error: From<E>,
    {
        let parent_raw = super::device::as_raw(parent);
        let parent: ARef<Device> = parent.into();
        // The string's buffer is on the heap: the pointer stays valid when `name` moves into
        // `Self` below.
        let name_ptr = config.name.as_char_ptr();
        let max_brightness = config.max_brightness;
        let mut flags = bindings::LED_REJECT_NAME_CONFLICT;
        if config.retain_state {
            flags |= bindings::LED_RETAIN_AT_SHUTDOWN;
        }

        // Fields are initialised in the order written: `ops`, `parent` and `name` are in place
        // before `cdev` is registered, since the LED core may call back during registration.
        try_pin_init!(Self {
            ops <- ops,
            parent,
            name: config.name,
            cdev <- Opaque::try_ffi_init(move |slot: *mut bindings::led_classdev| {
                // SAFETY: `slot` is valid for writing one `led_classdev`. All-zeroes is what the
                // LED core expects of every field it does not get from us (it initialises its
                // own locks, work and lists in `led_classdev_register_ext()`).
                unsafe { slot.write_bytes(0, 1) };

                // SAFETY: `slot` is valid and initialised (zeroed) just above.
                let cdev = unsafe { &mut *slot };
                cdev.name = name_ptr;
                cdev.max_brightness = max_brightness;
                cdev.flags = flags;
                if T::HAS_BRIGHTNESS_SET {
                    cdev.brightness_set = Some(Self::brightness_set_callback);
                }
                if T::HAS_BRIGHTNESS_SET_BLOCKING {
                    cdev.brightness_set_blocking = Some(Self::brightness_set_blocking_callback);
                }
                if T::HAS_BRIGHTNESS_GET {
                    cdev.brightness_get = Some(Self::brightness_get_callback);
                }

                // SAFETY:
                // - `parent_raw` is a valid, bound device (`parent: &Device<Bound>`).
                // - `slot` is a set-up `led_classdev` at its final, pinned address; it stays
                //   valid until `drop` unregisters it.
                // - `name_ptr` points into `name`, which is dropped only after `drop`.
                // - The callbacks only touch `ops` and `parent`, initialised above.
                to_result(unsafe {
                    bindings::led_classdev_register_ext(parent_raw, slot, ptr::null_mut())
                })
            }),
        })
    }

    /// Returns the `ops` and `parent` of the `Registration` that holds `cdev`.
    ///
    /// # Safety
    ///
    /// `cdev` must point to the `cdev` field of a `Registration<T>` whose `ops` and `parent` are
    /// initialised, and the returned references must not outlive that registration. Both hold for
    /// the pointer the LED core passes to a callback installed by [`Self::new`]: the callbacks
    /// only run while `cdev` is registered.
    unsafe fn parts<'a>(cdev: *mut bindings::led_classdev) -> (&'a T, &'a Device) {
        let cdev = Opaque::cast_from(cdev).cast_mut();
        // SAFETY: By the safety requirements, `cdev` is the `cdev` field of a `Registration<T>`.
        let this = unsafe { kernel::container_of!(cdev, Self, cdev) };
        // SAFETY: By the safety requirements, `ops` and `parent` are initialised and live long
        // enough. Only these fields are borrowed, never the `cdev` the LED core works on.
        unsafe { (&(*this).ops, &*(*this).parent) }
    }

    unsafe extern "C" fn brightness_set_callback(
        cdev: *mut bindings::led_classdev,
        brightness: bindings::led_brightness,
    ) {
        // SAFETY: The LED core calls this callback, installed by `new`, with our `cdev`.
        let (ops, parent) = unsafe { Self::parts(cdev) };
        ops.brightness_set(parent, brightness);
    }

    unsafe extern "C" fn brightness_set_blocking_callback(
        cdev: *mut bindings::led_classdev,
        brightness: bindings::led_brightness,
    ) -> c_int {
        // SAFETY: The LED core calls this callback, installed by `new`, with our `cdev`.
        let (ops, parent) = unsafe { Self::parts(cdev) };
        from_result(|| {
            ops.brightness_set_blocking(parent, brightness)?;
            Ok(0)
        })
    }

    unsafe extern "C" fn brightness_get_callback(
        cdev: *mut bindings::led_classdev,
    ) -> bindings::led_brightness {
        // SAFETY: The LED core calls this callback, installed by `new`, with our `cdev`.
        let (ops, parent) = unsafe { Self::parts(cdev) };
        ops.brightness_get(parent)
    }
}

#[pinned_drop]
impl<T: Ops> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant, `cdev` is registered. `led_classdev_unregister()` stops
        // triggers and blinking, switches the LED off unless `retain_state`, flushes pending work
        // and removes the sysfs device; no callback runs after it returns, so `ops`, `parent` and
        // `name` can go.
        unsafe { bindings::led_classdev_unregister(self.cdev.get()) };
    }
}
