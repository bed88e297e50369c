// SPDX-License-Identifier: GPL-2.0

//! Xen paravirtual devices: xenbus drivers (frontends and backends), their xenstore keys, shared
//! ring pages and event channels.
//!
//! C headers: [`include/xen/xenbus.h`](srctree/include/xen/xenbus.h),
//! [`include/xen/events.h`](srctree/include/xen/events.h)
//!
//! A driver implements [`Driver`] and is registered by [`kernel::module_driver!`] with
//! [`Frontend`] or [`Backend`] as the bus adapter:
//!
//! ```ignore
//! kernel::module_driver!(<T>, kext::xenbus::Frontend<T>, {
//!     type: VledFront,
//!     name: "vledfront",
//!     ...
//! });
//! ```
//!
//! `probe` makes the device's data, `otherend_changed` sees each state of the other end,
//! `remove` is called before the data is dropped. A [`GrantedPage`] (frontend) or
//! [`MappedPage`] (backend) is the shared ring page (a [`SharedMemory`]), an [`EventChannel`]
//! the notification path, its events handled in a kernel thread (so a handler may sleep) and,
//! for a backend, acknowledged with a late EOI (Xen's protection against a frontend flooding
//! events).

use core::{
    ffi::c_void,
    marker::PhantomData,
    ptr::{self, NonNull},
};

use kernel::{
    device::{self, Bound},
    driver,
    error::{from_result, to_result},
    prelude::*,
    str::{CStr, CStrExt, CString},
    types::{ForeignOwnable, Opaque},
    ThisModule,
};

use super::{bindings, shared_memory::SharedMemory};

/// The page size of shared rings (one Xen page).
pub const PAGE_SIZE: usize = 4096;

/// A xenbus device's state (`enum xenbus_state`, `XenbusState*`): the protocols' one definition
/// (drivers/protocols/common/src/xenbus_state.rs), so that a driver hands the states it sees to
/// a protocol's state machine as they are.
pub use super::xenbus_state::XenbusState as State;

/// Which end's xenstore directory a key is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// This device's own directory (`nodename`).
    Mine,
    /// The other end's (`otherend`).
    Other,
}

/// A device on xenbus (`struct xenbus_device`): a frontend or a backend end of a paravirtual
/// device, with its xenstore directory and the other end's.
///
/// # Invariants
///
/// The wrapped `xenbus_device` is valid and bound to our driver for the lifetime of the
/// reference: references are only handed out to the callbacks of [`Driver`].
#[repr(transparent)]
pub struct Device(Opaque<bindings::xenbus_device>);

impl Device {
    /// # Safety
    ///
    /// `ptr` must be a valid `xenbus_device` bound to our driver while the reference lives.
    unsafe fn from_raw<'a>(ptr: *mut bindings::xenbus_device) -> &'a Self {
        // SAFETY: `Device` is a transparent wrapper; validity is the caller's promise.
        unsafe { &*ptr.cast() }
    }

    fn as_raw(&self) -> *mut bindings::xenbus_device {
        self.0.get()
    }

    /// The generic device, bound to our driver, for messages and device resources.
    pub fn as_dev(&self) -> &device::Device<Bound> {
        // SAFETY: By the type invariant the xenbus device is valid and bound, so is the
        // `struct device` it embeds, and its reference count is held by the bus meanwhile.
        unsafe { device::Device::<Bound>::from_raw(ptr::addr_of_mut!((*self.as_raw()).dev)) }
    }

    /// This end's xenstore directory (`device/vled/0`, `backend/vled/1/0`).
    pub fn nodename(&self) -> &CStr {
        // SAFETY: `nodename` is a NUL-terminated string the bus sets before probe and frees
        // after remove.
        unsafe { CStr::from_char_ptr((*self.as_raw()).nodename) }
    }

    /// The other end's xenstore directory, once known (from probe on).
    pub fn otherend(&self) -> Option<&CStr> {
        // SAFETY: The bus reads `otherend` before probe; it stays until remove.
        let otherend = unsafe { (*self.as_raw()).otherend };
        // SAFETY: Not NULL: a NUL-terminated string owned by the bus (see above).
        (!otherend.is_null()).then(|| unsafe { CStr::from_char_ptr(otherend) })
    }

    /// The other end's domain.
    pub fn otherend_id(&self) -> u16 {
        // SAFETY: Set by the bus before probe, not changed while bound.
        unsafe { (*self.as_raw()).otherend_id as u16 }
    }

    /// This end's state as last switched.
    pub fn state(&self) -> State {
        // SAFETY: A plain read of the bus's record of our state.
        State::from_u32(unsafe { (*self.as_raw()).state } as u32)
    }

    /// Writes this end's new state to xenstore.
    pub fn switch_state(&self, state: State) -> Result {
        // SAFETY: The device is valid (type invariant); the bus serialises state writes.
        to_result(unsafe { bindings::xenbus_switch_state(self.as_raw(), state as _) })
    }

    /// The other end's state as xenstore holds it now (`Unknown` if it is gone).
    pub fn otherend_state(&self) -> State {
        let Some(otherend) = self.otherend() else { return State::Unknown };
        // SAFETY: The device and the path are valid for the call.
        State::from_u32(unsafe { bindings::xenbus_read_driver_state(self.as_raw(), otherend.as_char_ptr()) } as u32)
    }

    fn dir(&self, end: End) -> Result<&CStr> {
        match end {
            End::Mine => Ok(self.nodename()),
            End::Other => self.otherend().ok_or(ENODEV),
        }
    }

    /// Reads `key` of an end's directory; `f` sees its bytes (no NUL).
    pub fn read<R>(&self, end: End, key: &CStr, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        read(self.dir(end)?, key, f)
    }

    /// Writes `key` = `value` in this end's directory.
    pub fn write(&self, key: &CStr, value: &CStr) -> Result {
        write(self.nodename(), key, value)
    }

    /// Writes a number as xenstore holds them (decimal).
    pub fn write_u32(&self, key: &CStr, value: u32) -> Result {
        self.write(key, &CString::try_from_fmt(fmt!("{value}"))?)
    }

    /// Reports a fatal error of this end: logged, written to xenstore's `error` node, and the
    /// device switched to Closing (`xenbus_dev_fatal`).
    pub fn fatal(&self, err: Error, what: &CStr) {
        // SAFETY: The format is "%s" with one NUL-terminated string argument.
        unsafe { bindings::xenbus_dev_fatal(self.as_raw(), err.to_errno(), c"%s".as_ptr(), what.as_char_ptr()) };
    }
}

/// Reads `key` of xenstore directory `dir` (process context); `f` sees its bytes (no NUL).
pub fn read<R>(dir: &CStr, key: &CStr, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
    let mut len: u32 = 0;
    // SAFETY: `dir` and `key` are NUL-terminated; `len` is written by the call.
    let value = unsafe {
        bindings::xenbus_read(bindings::xenbus_transaction { id: 0 }, dir.as_char_ptr(), key.as_char_ptr(), &mut len)
    };
    let value = kernel::error::from_err_ptr(value)?;
    // SAFETY: On success `xenbus_read` returns a kmalloc'ed buffer of `len` bytes (plus NUL).
    let result = f(unsafe { core::slice::from_raw_parts(value.cast::<u8>(), len as usize) });
    // SAFETY: The buffer is ours to free, and not used after this.
    unsafe { bindings::kfree(value) };
    Ok(result)
}

/// Writes `key` = `value` in xenstore directory `dir` (process context).
pub fn write(dir: &CStr, key: &CStr, value: &CStr) -> Result {
    // SAFETY: All strings are NUL-terminated and live for the call.
    to_result(unsafe {
        bindings::xenbus_write(bindings::xenbus_transaction { id: 0 }, dir.as_char_ptr(), key.as_char_ptr(), value.as_char_ptr())
    })
}

/// What a [`Watch`] runs when its path changes: in the xenwatch thread (process context, no
/// lock held), once when the watch is set and then on each change.
pub trait WatchHandler: Send + Sync + 'static {
    /// `path` (or a node below it) changed.
    fn changed(&self);
}

/// A xenstore watch (`struct xenbus_watch`) on one path; unregistered when dropped.
///
/// # Invariants
///
/// `watch` is registered with our callback, which finds `handler` through `container_of!`.
#[pin_data(PinnedDrop)]
pub struct Watch<T: WatchHandler> {
    #[pin]
    watch: Opaque<bindings::xenbus_watch>,
    #[pin]
    handler: T,
}

// SAFETY: The bus calls the callback from its thread; `T` is `Send + Sync`.
unsafe impl<T: WatchHandler> Send for Watch<T> {}
// SAFETY: As above; `&Watch` gives nothing.
unsafe impl<T: WatchHandler> Sync for Watch<T> {}

impl<T: WatchHandler> Watch<T> {
    /// Watches `path` with `handler`.
    pub fn new(path: &'static CStr, handler: impl PinInit<T, Error>) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            handler <- handler,
            watch <- Opaque::try_ffi_init(move |slot: *mut bindings::xenbus_watch| {
                // SAFETY: `slot` is valid for one `xenbus_watch`; all-zero is what the bus
                // expects of the fields we do not set.
                unsafe { slot.write_bytes(0, 1) };
                // SAFETY: Valid and zeroed above; `path` is static; `handler` is initialised
                // (fields are initialised in order) and outlives the registration.
                unsafe {
                    (*slot).node = path.as_char_ptr();
                    (*slot).callback = Some(Self::callback);
                    to_result(bindings::register_xenbus_watch(slot))
                }
            }),
        })
    }

    unsafe extern "C" fn callback(watch: *mut bindings::xenbus_watch, _path: *const c_char, _token: *const c_char) {
        let watch = Opaque::cast_from(watch).cast_mut();
        // SAFETY: The bus calls back with our registered watch, the `watch` field of a live
        // `Watch<T>` (unregistering waits for running callbacks).
        let this = unsafe { &*kernel::container_of!(watch, Self, watch) };
        this.handler.changed();
    }
}

#[pinned_drop]
impl<T: WatchHandler> PinnedDrop for Watch<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Registered (type invariant); no callback runs after this returns.
        unsafe { bindings::unregister_xenbus_watch(self.watch.get()) };
    }
}

/// A xenbus driver: one device type, its per-device data and its callbacks, all called in
/// process context (the xenbus probe and watch threads).
pub trait Driver: Send + Sync + 'static {
    /// What the driver keeps per device.
    type Data: Send + Sync;

    /// The devices it drives: [`id_table`] of the xenbus device type.
    const ID_TABLE: &'static [bindings::xenbus_device_id; 2];

    /// A new device: its data.
    fn probe(dev: &Device) -> Result<impl PinInit<Self::Data, Error>>;

    /// The other end's state changed (the state as read now: intermediate ones may be missed).
    fn otherend_changed(dev: &Device, data: Pin<&Self::Data>, state: State);

    /// The device goes away (unbind, module unload, the other end's directory removed); the
    /// data is dropped after this returns.
    fn remove(_dev: &Device, _data: Pin<&Self::Data>) {}
}

/// The ID table of one xenbus device type (`vled`), for [`Driver::ID_TABLE`].
pub const fn id_table(device_type: &CStr) -> [bindings::xenbus_device_id; 2] {
    let mut ids = [bindings::xenbus_device_id { devicetype: [0; 32] }; 2];
    let bytes = device_type.to_bytes();
    assert!(bytes.len() < 32, "xenbus device types are at most 31 bytes");
    let mut i = 0;
    while i < bytes.len() {
        ids[0].devicetype[i] = bytes[i] as _;
        i += 1;
    }
    ids
}

/// The bus adapter of a frontend driver (in the domain that uses the device).
pub struct Frontend<T: Driver>(PhantomData<T>);
/// The bus adapter of a backend driver (in the domain that provides the device).
pub struct Backend<T: Driver>(PhantomData<T>);

macro_rules! adapter {
    ($adapter:ident, $register:ident) => {
        // SAFETY: `xenbus_driver` is a `repr(C)` bindgen type embedding a `struct device_driver`
        // at `DEVICE_DRIVER_OFFSET`; the device's driver data is `T::Data` (set by probe).
        unsafe impl<T: Driver> driver::DriverLayout for $adapter<T> {
            type DriverType = bindings::xenbus_driver;
            type DriverData<'bound> = T::Data;
            const DEVICE_DRIVER_OFFSET: usize = core::mem::offset_of!(bindings::xenbus_driver, driver);
        }

        // SAFETY: `unregister` is only called after a successful `register` of the same driver.
        unsafe impl<T: Driver> driver::RegistrationOps for $adapter<T> {
            unsafe fn register(
                reg: &Opaque<bindings::xenbus_driver>,
                name: &'static CStr,
                module: &'static ThisModule,
            ) -> Result {
                // SAFETY: The driver structure is ours until registered; filling it is allowed.
                unsafe {
                    let drv = reg.get();
                    (*drv).name = name.as_char_ptr();
                    (*drv).ids = T::ID_TABLE.as_ptr();
                    (*drv).probe = Some(probe_callback::<T>);
                    (*drv).otherend_changed = Some(otherend_changed_callback::<T>);
                    (*drv).remove = Some(remove_callback::<T>);
                    // Registering a frontend after boot waits until its devices are connected
                    // (the xenbus core's wait_for_devices): 300 s for an essential driver, 30 s
                    // otherwise. None of our devices is needed to boot: a frontend loaded before
                    // its backend holds insmod 30 s at most, as xen-kbdfront and xen-fbfront do.
                    (*drv).not_essential = true;
                }
                // The bus pins the driver's module while a device is bound (try_module_get in
                // its probe), so a module could not be unloaded without unbinding its devices by
                // hand first. It is given no module: unloading unregisters the driver, which
                // unbinds every device (remove runs, the other end is told) before the code goes.
                let _ = module;
                // SAFETY: `reg` is a filled-in driver that stays pinned until `unregister`.
                to_result(unsafe { bindings::$register(reg.get(), ptr::null_mut(), name.as_char_ptr()) })
            }

            unsafe fn unregister(reg: &Opaque<bindings::xenbus_driver>) {
                // SAFETY: Registered by `register` (the trait's safety contract).
                unsafe { bindings::xenbus_unregister_driver(reg.get()) }
            }
        }
    };
}

adapter!(Frontend, __xenbus_register_frontend);
adapter!(Backend, __xenbus_register_backend);

unsafe extern "C" fn probe_callback<T: Driver>(
    dev: *mut bindings::xenbus_device,
    _id: *const bindings::xenbus_device_id,
) -> c_int {
    // SAFETY: The bus calls probe with a valid device being bound to our driver.
    let xdev = unsafe { Device::from_raw(dev) };
    from_result(|| {
        let data = KBox::pin_init(T::probe(xdev)?, GFP_KERNEL)?;
        // SAFETY: The device is valid; its driver data is ours until remove takes it back.
        unsafe { bindings::dev_set_drvdata(ptr::addr_of_mut!((*dev).dev), data.into_foreign()) };
        Ok(0)
    })
}

/// The device's data, set by probe.
///
/// # Safety
///
/// `dev` must be bound to `T`'s driver, after probe succeeded and before remove.
unsafe fn data<'a, T: Driver>(dev: *mut bindings::xenbus_device) -> Pin<&'a T::Data> {
    // SAFETY: The caller's promise: driver data is a `Pin<KBox<T::Data>>` from probe.
    unsafe { <Pin<KBox<T::Data>> as ForeignOwnable>::borrow(bindings::dev_get_drvdata(ptr::addr_of_mut!((*dev).dev))) }
}

unsafe extern "C" fn otherend_changed_callback<T: Driver>(dev: *mut bindings::xenbus_device, state: bindings::xenbus_state) {
    // SAFETY: The bus only reports changes of a bound device (after probe, before remove).
    let (xdev, data) = unsafe { (Device::from_raw(dev), data::<T>(dev)) };
    T::otherend_changed(xdev, data, State::from_u32(state as u32));
}

unsafe extern "C" fn remove_callback<T: Driver>(dev: *mut bindings::xenbus_device) {
    // SAFETY: remove is called once, for a device probe succeeded on.
    let xdev = unsafe { Device::from_raw(dev) };
    // SAFETY: As above; the pointer came from `into_foreign` in probe and is taken back once.
    let data = unsafe {
        let raw = bindings::dev_get_drvdata(ptr::addr_of_mut!((*dev).dev));
        bindings::dev_set_drvdata(ptr::addr_of_mut!((*dev).dev), ptr::null_mut());
        <Pin<KBox<T::Data>> as ForeignOwnable>::from_foreign(raw)
    };
    T::remove(xdev, data.as_ref());
}

/// A frontend's ring page: allocated, zeroed and granted to the other end
/// (`xenbus_setup_ring`); the grant ended and the page freed when dropped.
pub struct GrantedPage {
    page: SharedMemory,
    gref: bindings::grant_ref_t,
}

impl GrantedPage {
    /// A new page granted to `dev`'s other end.
    pub fn new(dev: &Device) -> Result<Self> {
        let mut vaddr: *mut c_void = ptr::null_mut();
        let mut gref: bindings::grant_ref_t = 0;
        // SAFETY: The device is valid; `vaddr` and `gref` receive one page and one reference. On
        // success `vaddr` is the page (not NULL, page-aligned), granted until `drop` tears it
        // down, and reached only through `page`.
        let page = unsafe {
            to_result(bindings::xenbus_setup_ring(dev.as_raw(), bindings::GFP_KERNEL, &mut vaddr, 1, &mut gref))?;
            SharedMemory::new(NonNull::new_unchecked(vaddr.cast()), PAGE_SIZE)
        };
        Ok(Self { page, gref })
    }

    /// The grant reference the other end maps (`ring-ref`).
    pub fn gref(&self) -> u32 {
        self.gref
    }

    /// The page ([`PAGE_SIZE`] bytes).
    pub fn page(&self) -> &SharedMemory {
        &self.page
    }
}

impl Drop for GrantedPage {
    fn drop(&mut self) {
        let mut vaddr: *mut c_void = self.page.base().as_ptr().cast();
        // SAFETY: Set up by `xenbus_setup_ring`; ends the grant (deferred by the grant code
        // while the other end still maps it) and frees the page.
        unsafe { bindings::xenbus_teardown_ring(&mut vaddr, 1, &mut self.gref) };
    }
}

/// A backend's mapping of its frontend's ring page (`xenbus_map_ring_valloc`), unmapped when
/// dropped.
///
/// # Invariants
///
/// `dev` stays valid while `self` lives: the mapping is dropped before the device's remove
/// returns (it lives in the device's data).
pub struct MappedPage {
    page: SharedMemory,
    dev: *mut bindings::xenbus_device,
}

impl MappedPage {
    /// Maps the page `gref` of `dev`'s other end.
    pub fn new(dev: &Device, gref: u32) -> Result<Self> {
        let mut vaddr: *mut c_void = ptr::null_mut();
        let mut gref = gref;
        // SAFETY: The device is valid; one reference, one page mapped into `vaddr`. On success
        // `vaddr` maps the page (not NULL, page-aligned) until `drop` unmaps it, and is reached
        // only through `page`.
        let page = unsafe {
            to_result(bindings::xenbus_map_ring_valloc(dev.as_raw(), &mut gref, 1, &mut vaddr))?;
            SharedMemory::new(NonNull::new_unchecked(vaddr.cast()), PAGE_SIZE)
        };
        Ok(Self { page, dev: dev.as_raw() })
    }

    /// The page ([`PAGE_SIZE`] bytes).
    pub fn page(&self) -> &SharedMemory {
        &self.page
    }
}

impl Drop for MappedPage {
    fn drop(&mut self) {
        // SAFETY: Mapped by `xenbus_map_ring_valloc` on this device, valid (type invariant).
        unsafe { bindings::xenbus_unmap_ring_vfree(self.dev, self.page.base().as_ptr().cast()) };
    }
}

// SAFETY: The raw device pointer is only used to unmap, which the bus allows from any thread.
unsafe impl Send for MappedPage {}
// SAFETY: Shared access only reaches the page (see `SharedMemory`).
unsafe impl Sync for MappedPage {}

/// What an event channel's notifications run: called in a kernel thread, may sleep.
pub trait EventHandler: Send + Sync + 'static {
    /// The other end of `dev` notified; `events` notifies it back. Returns whether there was
    /// work (false: a spurious event, which Xen's late-EOI accounting counts against a flooding
    /// frontend).
    fn handle_event(&self, dev: &Device, events: &Notifier) -> bool;
}

/// Notifies the other end of an [`EventChannel`], from its handler.
///
/// # Invariants
///
/// `irq` is bound to the channel while the handler that got this runs.
pub struct Notifier {
    irq: u32,
}

impl Notifier {
    /// Notifies the other end.
    pub fn notify(&self) {
        // SAFETY: The IRQ is bound to the channel (type invariant).
        unsafe { bindings::notify_remote_via_irq(self.irq as c_int) };
    }
}

/// An event channel to the other end, bound to an IRQ whose thread runs `T`; unbound (and the
/// channel closed) when dropped. It belongs in the device's data: it must be dropped by the
/// device's remove at the latest (its handler is given the device).
///
/// # Invariants
///
/// `irq` is bound to the channel with our handlers and `handler` as their cookie until drop;
/// `dev` is the bound device it was made for.
#[pin_data(PinnedDrop)]
pub struct EventChannel<T: EventHandler> {
    dev: *mut bindings::xenbus_device,
    irq: u32,
    port: u32,
    lateeoi: bool,
    #[pin]
    handler: T,
}

impl<T: EventHandler> EventChannel<T> {
    /// Frontend: allocates a channel `dev`'s other end may bind (`event-channel`), runs
    /// `handler` on its notifications.
    pub fn alloc(dev: &Device, name: &'static CStr, handler: impl PinInit<T, Error>) -> impl PinInit<Self, Error> {
        let xdev = dev.as_raw();
        let bind = move |irq_slot: &mut (u32, u32)| -> Result {
            let mut port: bindings::evtchn_port_t = 0;
            // SAFETY: The device is valid for the call.
            to_result(unsafe { bindings::xenbus_alloc_evtchn(xdev, &mut port) })?;
            // SAFETY: A channel we just allocated.
            let irq = unsafe { bindings::bind_evtchn_to_irq(port) };
            if irq < 0 {
                // SAFETY: Ours, not bound.
                unsafe { bindings::xenbus_free_evtchn(xdev, port) };
                return Err(Error::from_errno(irq));
            }
            *irq_slot = (irq as u32, port);
            Ok(())
        };
        Self::bound(xdev, bind, name, false, handler)
    }

    /// Backend: binds the channel `remote_port` of `dev`'s other end, with late EOI.
    pub fn bind_interdomain(dev: &Device, remote_port: u32, name: &'static CStr, handler: impl PinInit<T, Error>) -> impl PinInit<Self, Error> {
        let xdev = dev.as_raw();
        let bind = move |irq_slot: &mut (u32, u32)| -> Result {
            // SAFETY: The device is valid for the call.
            let irq = unsafe { bindings::bind_interdomain_evtchn_to_irq_lateeoi(xdev, remote_port) };
            if irq < 0 {
                return Err(Error::from_errno(irq));
            }
            *irq_slot = (irq as u32, remote_port);
            Ok(())
        };
        Self::bound(xdev, bind, name, true, handler)
    }

    fn bound(
        xdev: *mut bindings::xenbus_device,
        bind: impl FnOnce(&mut (u32, u32)) -> Result,
        name: &'static CStr,
        lateeoi: bool,
        handler: impl PinInit<T, Error>,
    ) -> impl PinInit<Self, Error> {
        let init = move |slot: *mut Self| -> Result {
            // SAFETY: `slot` is valid for writes of `Self`; the handler goes in first so that
            // the IRQ never sees it uninitialised.
            unsafe { pin_init::raw_try_init(ptr::addr_of_mut!((*slot).handler), handler)? };
            let mut irq_port = (0, 0);
            if let Err(e) = bind(&mut irq_port) {
                // SAFETY: Initialised just above, not used by anyone yet.
                unsafe { ptr::drop_in_place(ptr::addr_of_mut!((*slot).handler)) };
                return Err(e);
            }
            let (irq, port) = irq_port;
            // SAFETY: The fields are ours to write.
            unsafe {
                ptr::addr_of_mut!((*slot).dev).write(xdev);
                ptr::addr_of_mut!((*slot).irq).write(irq);
                ptr::addr_of_mut!((*slot).port).write(port);
                ptr::addr_of_mut!((*slot).lateeoi).write(lateeoi);
            }
            // SAFETY: `slot` is pinned and stays valid until drop frees the IRQ; the cookie is
            // the whole `Self`, whose fields are all initialised now.
            let ret = unsafe {
                bindings::request_threaded_irq(irq, Some(Self::hard_irq), Some(Self::thread_irq), 0, name.as_char_ptr(), slot.cast())
            };
            if ret != 0 {
                // SAFETY: Bound above, no handler installed; unbinding closes the channel.
                unsafe {
                    bindings::unbind_from_irqhandler(irq, ptr::null_mut());
                    ptr::drop_in_place(ptr::addr_of_mut!((*slot).handler));
                }
                return Err(Error::from_errno(ret));
            }
            Ok(())
        };
        // SAFETY: On `Ok` every field is initialised; on `Err` nothing is left initialised.
        unsafe { pin_init::pin_init_from_closure(init) }
    }

    /// The local port (a frontend writes it as `event-channel`).
    pub fn port(&self) -> u32 {
        self.port
    }

    /// Notifies the other end.
    pub fn notify(&self) {
        Notifier { irq: self.irq }.notify()
    }

    unsafe extern "C" fn hard_irq(_irq: c_int, _cookie: *mut c_void) -> bindings::irqreturn_t {
        bindings::irqreturn::IRQ_WAKE_THREAD
    }

    unsafe extern "C" fn thread_irq(_irq: c_int, cookie: *mut c_void) -> bindings::irqreturn_t {
        // SAFETY: The cookie is the pinned `Self` given to `request_threaded_irq`, valid until
        // drop frees the IRQ (which waits for this thread).
        let this = unsafe { &*cookie.cast::<Self>() };
        // SAFETY: The device outlives the channel (type invariant: dropped by its remove at the
        // latest, which waits for this thread).
        let dev = unsafe { Device::from_raw(this.dev) };
        let work = this.handler.handle_event(dev, &Notifier { irq: this.irq });
        if this.lateeoi {
            let flags = if work { 0 } else { bindings::XEN_EOI_FLAG_SPURIOUS };
            // SAFETY: A late-EOI IRQ of ours, its event handled.
            unsafe { bindings::xen_irq_lateeoi(this.irq, flags) };
        }
        bindings::irqreturn::IRQ_HANDLED
    }
}

// SAFETY: The device pointer is only used by the handler thread, for the bus's functions,
// which take any thread; the rest is `T`'s, which is `Send + Sync`.
unsafe impl<T: EventHandler> Send for EventChannel<T> {}
// SAFETY: As above; `&EventChannel` only notifies, which any thread may do.
unsafe impl<T: EventHandler> Sync for EventChannel<T> {}

#[pinned_drop]
impl<T: EventHandler> PinnedDrop for EventChannel<T> {
    fn drop(self: Pin<&mut Self>) {
        let cookie = ptr::from_ref(&*self).cast_mut().cast::<c_void>();
        // SAFETY: Bound with this cookie (type invariant): frees the IRQ (waiting for a running
        // handler) and closes the channel.
        unsafe { bindings::unbind_from_irqhandler(self.irq, cookie) };
    }
}
