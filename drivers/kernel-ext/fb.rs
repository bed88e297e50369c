// SPDX-License-Identifier: GPL-2.0

//! Framebuffer devices (`struct fb_info`) in system memory, with deferred I/O.
//!
//! C header: [`include/linux/fb.h`](srctree/include/linux/fb.h)
//!
//! A [`Registration`] is a registered `/dev/fbN` with one fixed XRGB8888 mode (32 bits per
//! pixel: red at bit 16, green at 8, blue at 0) whose pixels are a [`Memory`]: zeroed vmalloc'd
//! pages, which another domain can map by their frame numbers ([`Memory::frame`]). The driver
//! learns of every change of the picture through its [`Damage`] handler, as a rectangle:
//!
//! - writes through `mmap()`: deferred I/O collects the written pages for about 50 ms
//!   (`HZ / 20`) and reports the rows they cover, whole (as xen-fbfront does);
//! - `write()` on the device: the rows of the byte range written;
//! - drawing by the kernel (fbcon: `fillrect`, `copyarea`, `imageblit`): its rectangle.
//!
//! ```ignore
//! struct Screen { /* ... */ }
//!
//! impl fb::Damage for Screen {
//!     fn damage(&self, rect: fb::Rect) {
//!         // send `rect` to whoever shows the picture; must not sleep
//!     }
//! }
//!
//! let config = fb::Config { id: c"xen", width: 800, height: 480, line_length: 3200, mem_length: 2 << 20 };
//! let display = fb::Registration::new(dev, &config, Screen { /* ... */ })?;
//! for (i, frame) in display.memory().frames().enumerate() { /* ... */ }
//! ```
//!
//! # The C part
//!
//! A `struct fb_ops` for deferred I/O over system memory can only be built with the kernel's
//! macros (`FB_GEN_DEFAULT_DEFERRED_SYSMEM_OPS`, `FB_DEFAULT_DEFERRED_OPS`). A module using this
//! file compiles a C shim of a few lines (drivers/vfb/fb_ops.c) that defines them as
//! `kext_fb_defio_ops`, with callbacks that call the `kext_fb_*` functions of this file. Only
//! [`Registration::new`] refers to it, and it is generic: modules that do not use it need no
//! shim.
//!
//! # Lifetime
//!
//! Dropping the [`Registration`] unregisters the device: fbcon lets go of it, and `read()`,
//! `write()`, `ioctl()` and new mappings of open files fail. Everything the device uses (the
//! `fb_info`, the memory, the handler) belongs to the fbdev core from registration on and is
//! freed by its last reference (`fb_destroy`), after deferred I/O is cancelled: at once, or
//! when user space closes (and unmaps) the device. Until then, writes through an existing
//! mapping still reach the handler, so a handler must not rely on its driver being bound.
//!
//! Open files pin the module (the shim's `fb_open`, for users only), fbcon does not: it lets
//! go of the device when it is unregistered, so the module can be unloaded while fbcon shows
//! the console on it (the module's exit unregisters it), as DRM's fbdev emulation allows.

use core::{alloc::Layout, ptr::NonNull};

use kernel::{
    alloc::{allocator::Vmalloc, flags, Allocator, NumaNode},
    device::{Bound, Device},
    error::to_result,
    ffi::{c_uint, c_ulong},
    prelude::*,
    time::msecs_to_jiffies,
    types::{ForeignOwnable, Opaque},
};

use super::{bindings, shared_memory::SharedMemory};

/// The kernel's page size: [`Memory`] comes in whole pages of this size.
pub const PAGE_SIZE: usize = kernel::page::PAGE_SIZE;

/// Bits per pixel of the one mode supported (XRGB8888).
pub const BITS_PER_PIXEL: u32 = 32;

/// Bytes per pixel.
pub const BYTES_PER_PIXEL: u32 = BITS_PER_PIXEL / 8;

/// How long deferred I/O collects written pages before reporting them (`HZ / 20`).
const DEFERRED_IO_DELAY_MS: u32 = 50;

/// Entries of the pseudo palette: the 16 console colours (fbcon's).
const PALETTE_LEN: usize = 16;

/// Zeroed, page-aligned memory from vmalloc, in whole pages, that another domain may map by
/// frame number: the pixels of a [`Registration`], or pages a driver shares by frame number
/// rather than by grant (a Xen frontend's page directory).
///
/// Others may read and write it at any time (user space through mmap, the console, another
/// domain): its bytes are only reached as a [`SharedMemory`] ([`Memory::shared`]).
///
/// # Invariants
///
/// `shared` is a `Vmalloc` allocation of `layout` (a non-zero multiple of [`PAGE_SIZE`] bytes,
/// aligned to [`PAGE_SIZE`]) until `drop` frees it.
pub struct Memory {
    shared: SharedMemory,
    layout: Layout,
}

impl Memory {
    /// `len` bytes rounded up to whole pages (at least one), zeroed.
    pub fn new(len: usize) -> Result<Self> {
        let len = len.max(1).checked_next_multiple_of(PAGE_SIZE).ok_or(EINVAL)?;
        let layout = Layout::from_size_align(len, PAGE_SIZE).map_err(|_| EINVAL)?;
        let ptr = Vmalloc::alloc(layout, flags::GFP_KERNEL | flags::__GFP_ZERO, NumaNode::NO_NODE)?;
        // SAFETY: `len` bytes, page-aligned, ours until `drop` frees them; reached only through
        // `shared`.
        let shared = unsafe { SharedMemory::new(ptr.cast(), len) };
        // INVARIANT: A `Vmalloc` allocation of `layout`, whole pages.
        Ok(Self { shared, layout })
    }

    /// The bytes: whole pages.
    pub fn shared(&self) -> &SharedMemory {
        &self.shared
    }

    /// Pages.
    pub fn pages(&self) -> usize {
        self.shared.len() / PAGE_SIZE
    }

    /// The frame number of page `page`, `None` beyond the memory. Guest frames (gfn) on Xen
    /// guests whose memory is auto-translated (all of arm64) with 4 KiB pages: what xen-fbfront
    /// gets from `vmalloc_to_gfn()`.
    pub fn frame(&self, page: usize) -> Option<u64> {
        if page >= self.pages() {
            return None;
        }
        let addr = self.shared.range_ptr(page * PAGE_SIZE, PAGE_SIZE);
        // SAFETY: An address inside our vmalloc allocation (type invariant).
        let pfn = unsafe { bindings::vmalloc_to_pfn(addr.cast()) };
        Some(pfn as u64)
    }

    /// The frame numbers of every page, in order.
    pub fn frames(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.pages()).filter_map(|page| self.frame(page))
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        // SAFETY: Allocated by `Vmalloc` with this layout (type invariant), not used after this.
        // Pages user space still maps stay allocated until unmapped (vfree drops one reference
        // per page; the mapping holds its own).
        unsafe { Vmalloc::free(self.shared.base(), self.layout) };
    }
}

/// A rectangle of the picture that changed: not empty, inside the mode.
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

/// The driver's side of a [`Registration`]: told of every change of the picture.
pub trait Damage: Send + Sync + 'static {
    /// `rect` of the picture changed.
    ///
    /// Called from any context, interrupts possibly off (the console draws from `printk`): it
    /// must not sleep. Printing is allowed, but not with a lock held that this method takes:
    /// the message may be drawn on this very framebuffer, which calls this method again.
    fn damage(&self, rect: Rect);
}

/// The mode and size of a framebuffer (XRGB8888).
#[derive(Clone, Copy, Debug)]
pub struct Config<'a> {
    /// Identification (`fix.id`, `/sys/class/graphics/fbN/name`): at most 15 bytes.
    pub id: &'a CStr,
    /// Visible width, pixels.
    pub width: u32,
    /// Visible height, pixels.
    pub height: u32,
    /// Bytes from one row to the next: at least `width * 4`.
    pub line_length: u32,
    /// Bytes of memory (`fix.smem_len`), rounded up to whole pages: at least
    /// `line_length * height`.
    pub mem_length: usize,
}

impl Config<'_> {
    /// The memory's size if the mode is valid.
    fn check(&self) -> Result<u32> {
        let mem_length = self.mem_length.checked_next_multiple_of(PAGE_SIZE).ok_or(EINVAL)?;
        let mem_length = u32::try_from(mem_length).map_err(|_| EINVAL)?;
        let row = u64::from(self.width) * u64::from(BYTES_PER_PIXEL);
        let picture = u64::from(self.line_length) * u64::from(self.height);
        if self.id.to_bytes().len() > 15
            || self.width == 0
            || self.height == 0
            || u64::from(self.line_length) < row
            || picture > u64::from(mem_length)
        {
            return Err(EINVAL);
        }
        Ok(mem_length)
    }
}

/// What the non-generic callbacks find through `fb_info.par`: the mode, and the functions of
/// the handler's type.
///
/// `Inner<T>` starts with it (`repr(C)`), so that a pointer to one is a pointer to the other.
#[repr(C)]
struct Header {
    width: u32,
    height: u32,
    line_length: u32,
    /// `Inner::<T>::damage`.
    damage: unsafe fn(*const Header, Rect),
    /// `Inner::<T>::destroy`.
    destroy: unsafe fn(*mut Header),
}

impl Header {
    /// The whole rows holding bytes `first..=last` of the memory, `None` if none is visible.
    fn rows(&self, first: u64, last: u64) -> Option<Rect> {
        let line_length = u64::from(self.line_length);
        let y1 = first / line_length;
        let y2 = (last / line_length).min(u64::from(self.height) - 1);
        if y1 > y2 {
            return None;
        }
        // y1 <= y2 < height: both fit in u32.
        Some(Rect { x: 0, y: y1 as u32, width: self.width, height: (y2 - y1 + 1) as u32 })
    }

    /// The part of a rectangle inside the mode, `None` if it is empty.
    fn clip(&self, x: u32, y: u32, width: u32, height: u32) -> Option<Rect> {
        let x2 = (u64::from(x) + u64::from(width)).min(u64::from(self.width));
        let y2 = (u64::from(y) + u64::from(height)).min(u64::from(self.height));
        if u64::from(x) >= x2 || u64::from(y) >= y2 {
            return None;
        }
        // x < x2 <= self.width and the same for y: all fit in u32.
        Some(Rect { x, y, width: (x2 - u64::from(x)) as u32, height: (y2 - u64::from(y)) as u32 })
    }

}

/// A `struct fb_info` from `framebuffer_alloc()`, released when dropped.
///
/// # Invariants
///
/// `self.0` comes from `framebuffer_alloc()` and is not released yet.
struct FbInfo(NonNull<bindings::fb_info>);

// SAFETY: The structure is only touched by its owner before registration, by the fbdev core
// (under its own locking) after; releasing it is allowed from any thread.
unsafe impl Send for FbInfo {}
// SAFETY: As above: `&FbInfo` gives nothing but the pointer.
unsafe impl Sync for FbInfo {}

impl FbInfo {
    fn alloc(parent: &Device<Bound>) -> Result<Self> {
        // SAFETY: No private area; `parent` is a valid device, which the core only uses as the
        // parent of the class device it creates at registration.
        let info = unsafe { bindings::framebuffer_alloc(0, super::device::as_raw(parent)) };
        // INVARIANT: Just allocated.
        NonNull::new(info).map(Self).ok_or(ENOMEM)
    }

    fn as_raw(&self) -> *mut bindings::fb_info {
        self.0.as_ptr()
    }
}

impl Drop for FbInfo {
    fn drop(&mut self) {
        // SAFETY: Allocated and not released (type invariant); the owner is done with it.
        unsafe { bindings::framebuffer_release(self.as_raw()) };
    }
}

/// Everything a registered framebuffer uses, owned by the fbdev core from registration until
/// its last reference goes (`fb_destroy`).
///
/// # Invariants
///
/// Once registered, `info.par` points to the `Inner` (and so to `header`; it is the pointer
/// `into_foreign()` gave), `info.pseudo_palette` to `palette`, `info.fbdefio` to `defio` and
/// `info.screen_buffer` to `memory`.
#[repr(C)]
struct Inner<T: Damage> {
    /// First: `par` points to it.
    header: Header,
    info: FbInfo,
    defio: Opaque<bindings::fb_deferred_io>,
    palette: Opaque<[u32; PALETTE_LEN]>,
    memory: Memory,
    handler: T,
}

/// The `fb_ops` of deferred I/O over system memory, with the callbacks of this file.
///
/// Defined by the module's C shim (drivers/vfb/fb_ops.c): only `Registration::new`, which is
/// generic, refers to it, so that only the modules that register a framebuffer need the shim.
mod shim {
    // Only its address is taken: the empty lock classes of `fb_ops` (without lockdep) do not
    // matter.
    #[allow(improper_ctypes)]
    extern "C" {
        pub(super) static kext_fb_defio_ops: super::bindings::fb_ops;
    }
}

impl<T: Damage> Inner<T> {
    /// # Safety
    ///
    /// `header` must be the `header` of a live `Inner<T>`.
    unsafe fn damage(header: *const Header, rect: Rect) {
        // SAFETY: The caller's promise: `header` starts an `Inner<T>` (`repr(C)`).
        let this = unsafe { &*header.cast::<Self>() };
        this.handler.damage(rect);
    }

    /// # Safety
    ///
    /// `header` must be the `header` of an `Inner<T>` whose ownership was given away with
    /// `into_foreign()`, after `fb_deferred_io_init()` succeeded, and not taken back.
    unsafe fn destroy(header: *mut Header) {
        // SAFETY: The caller's promise: this is the pointer `into_foreign()` gave (the address
        // of the `Inner<T>`, which starts with `header`), taken back once.
        let this = unsafe { <Pin<KBox<Self>> as ForeignOwnable>::from_foreign(header.cast()) };
        // SAFETY: Deferred I/O was set up (the caller's promise). This waits for (and runs) the
        // pending work, which may still call the handler, alive until `this` is dropped below;
        // faults and writes through remaining mappings get SIGBUS from now on.
        unsafe { bindings::fb_deferred_io_cleanup(this.info.as_raw()) };
        // Releases the `fb_info`, frees the memory (pages still mapped stay until unmapped) and
        // drops the handler.
        drop(this);
    }

    /// Describes the mode, memory and callbacks in the `fb_info`.
    fn set_up(self: Pin<&Self>, config: &Config<'_>, mem_length: u32) {
        let info = self.info.as_raw();
        // SAFETY: `framebuffer_alloc()` zeroes the structure; nobody else knows it before
        // registration, so writing it is ours. The pointers stored point into `self`, pinned
        // in its box, which the fbdev core owns from registration until `fb_destroy`; `par` is
        // set by `Registration::new` (INVARIANT).
        unsafe {
            (*info).pseudo_palette = self.palette.get().cast();
            (*info).fbdefio = self.defio.get();
            (*info).__bindgen_anon_1.screen_buffer = self.memory.shared.base().as_ptr().cast();
            (*info).fbops = &raw const shim::kext_fb_defio_ops;
            (*info).flags = bindings::FBINFO_VIRTFB as i32;

            let fix = &mut (*info).fix;
            for (dst, src) in fix.id.iter_mut().zip(config.id.to_bytes()) {
                *dst = *src as _;
            }
            fix.type_ = bindings::FB_TYPE_PACKED_PIXELS;
            fix.visual = bindings::FB_VISUAL_TRUECOLOR;
            fix.accel = bindings::FB_ACCEL_NONE;
            fix.line_length = config.line_length;
            fix.smem_start = 0;
            fix.smem_len = mem_length;

            let var = &mut (*info).var;
            var.xres = config.width;
            var.yres = config.height;
            var.xres_virtual = config.width;
            var.yres_virtual = config.height;
            var.bits_per_pixel = BITS_PER_PIXEL;
            var.red = bindings::fb_bitfield { offset: 16, length: 8, msb_right: 0 };
            var.green = bindings::fb_bitfield { offset: 8, length: 8, msb_right: 0 };
            var.blue = bindings::fb_bitfield { offset: 0, length: 8, msb_right: 0 };
            var.activate = bindings::FB_ACTIVATE_NOW;
            // Physical size unknown.
            var.height = u32::MAX;
            var.width = u32::MAX;
            var.vmode = bindings::FB_VMODE_NONINTERLACED;
        }
    }
}

/// A registered framebuffer device (`/dev/fbN`); unregistered when dropped.
///
/// # Invariants
///
/// `info` is registered with the fbdev core, which holds a reference to it (and so keeps the
/// `Inner` it was set up with, whose `memory` is `memory`) until `drop` unregisters it.
pub struct Registration {
    info: NonNull<bindings::fb_info>,
    memory: NonNull<Memory>,
}

// SAFETY: The fbdev core allows unregistering from any thread; `memory` is `Sync`.
unsafe impl Send for Registration {}
// SAFETY: `&Registration` only reads the fixed node number and gives `&Memory`, which is `Sync`.
unsafe impl Sync for Registration {}

impl Registration {
    /// Registers a framebuffer of mode `config` under `parent`, its memory zeroed, its
    /// changes going to `handler`.
    pub fn new<T: Damage>(parent: &Device<Bound>, config: &Config<'_>, handler: T) -> Result<Self> {
        let mem_length = config.check()?;
        let memory = Memory::new(mem_length as usize)?;
        let info = FbInfo::alloc(parent)?;
        let defio = bindings::fb_deferred_io {
            delay: msecs_to_jiffies(DEFERRED_IO_DELAY_MS),
            deferred_io: Some(deferred_io_callback),
            ..Default::default()
        };
        let inner = KBox::pin(
            Inner {
                header: Header {
                    width: config.width,
                    height: config.height,
                    line_length: config.line_length,
                    damage: Inner::<T>::damage,
                    destroy: Inner::<T>::destroy,
                },
                info,
                defio: Opaque::new(defio),
                palette: Opaque::new([0; PALETTE_LEN]),
                memory,
                handler,
            },
            GFP_KERNEL,
        )?;
        inner.as_ref().set_up(config, mem_length);
        let info = inner.info.0;
        let raw = info.as_ptr();
        let memory = NonNull::from(&inner.memory);
        // SAFETY: `fbdefio` and `smem_len` are set; on failure nothing is left to clean up
        // and `inner` frees the rest.
        to_result(unsafe { bindings::fb_deferred_io_init(raw) })?;
        // From here the `Inner` is the fbdev core's: `fb_destroy` frees it.
        let header = inner.into_foreign().cast::<Header>();
        // SAFETY: Not registered yet: the structure is still ours to write.
        unsafe { (*raw).par = header.cast() };
        // SAFETY: Fully set up; its callbacks (ours) only use what the `Inner` holds, which
        // lives until `fb_destroy`.
        if let Err(e) = to_result(unsafe { bindings::register_framebuffer(raw) }) {
            // SAFETY: Not registered: the `Inner` is ours again, deferred I/O set up.
            unsafe { Inner::<T>::destroy(header) };
            return Err(e);
        }
        // INVARIANT: Registered; `memory` is the `Inner`'s.
        Ok(Self { info, memory })
    }

    /// The pixels: `mem_length` bytes, row `y` at `y * line_length`.
    pub fn memory(&self) -> &Memory {
        // SAFETY: The `Inner` holding it lives while registered (type invariant).
        unsafe { self.memory.as_ref() }
    }

    /// `N` of `/dev/fbN`.
    pub fn index(&self) -> i32 {
        // SAFETY: Registered (type invariant): `node` is fixed at registration.
        unsafe { (*self.info.as_ptr()).node }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: Registered (type invariant). fbcon lets go of the device and the core drops
        // its reference: the last one (now, or when user space closes the device) calls
        // `fb_destroy`, which frees everything. Nothing of it is used here afterwards.
        unsafe { bindings::unregister_framebuffer(self.info.as_ptr()) };
    }
}

/// The `Header` of a framebuffer registered by [`Registration::new`]: the pointer to its
/// `Inner`, which the handler's functions are given.
///
/// # Safety
///
/// `info` must be such a framebuffer, before its `fb_destroy` returns.
unsafe fn header(info: *mut bindings::fb_info) -> *mut Header {
    // SAFETY: The caller's promise: `par` points to a live `Inner` (type invariant of `Inner`).
    unsafe { (*info).par.cast() }
}

/// Hands `rect`, if any, to the handler of the framebuffer whose header is `header`.
///
/// # Safety
///
/// `header` must come from [`header`], for a framebuffer before its `fb_destroy` returns.
unsafe fn damage(header: *const Header, rect: Option<Rect>) {
    if let Some(rect) = rect {
        // SAFETY: The caller's promise: `header` is the pointer to a live `Inner<T>`, whose
        // `damage` is `Inner::<T>::damage`.
        unsafe { ((*header).damage)(header, rect) };
    }
}

/// Deferred I/O (`fbdefio->deferred_io`): the pages written through mappings, as whole rows.
unsafe extern "C" fn deferred_io_callback(info: *mut bindings::fb_info, pages: *mut bindings::list_head) {
    // SAFETY: The deferred work of one of our framebuffers, which `fb_destroy` cancels first.
    let header = unsafe { header(info) };
    // SAFETY: As above: the header is alive; only read.
    let mode = unsafe { &*header };
    let (mut first, mut last) = (u64::MAX, 0);
    // SAFETY: The core holds the list's lock during the call; `pages` is its head.
    let mut pos = unsafe { (*pages).next };
    while pos != pages {
        // SAFETY: Every entry is the `list` of a `struct fb_deferred_io_pageref`.
        let offset = unsafe { (*kernel::container_of!(pos, bindings::fb_deferred_io_pageref, list)).offset } as u64;
        first = first.min(offset);
        last = last.max(offset + PAGE_SIZE as u64 - 1);
        // SAFETY: A valid entry of the locked list.
        pos = unsafe { (*pos).next };
    }
    if first <= last {
        // SAFETY: As above.
        unsafe { damage(header, mode.rows(first, last)) };
    }
}

/// `damage_range` of the C shim's ops: `write()` changed `len` bytes at `offset`.
///
/// # Safety
///
/// `info` must be one of our framebuffers (called by its `fb_ops`).
#[no_mangle]
pub unsafe extern "C" fn kext_fb_damage_range(info: *mut bindings::fb_info, offset: c_ulong, len: usize) {
    if len == 0 {
        return;
    }
    // SAFETY: The caller's promise; file operations only reach a registered framebuffer.
    let header = unsafe { header(info) };
    // SAFETY: As above: the header is alive; only read.
    let mode = unsafe { &*header };
    let first = offset as u64;
    // SAFETY: As above.
    unsafe { damage(header, mode.rows(first, first.saturating_add(len as u64 - 1))) };
}

/// `damage_area` of the C shim's ops: the kernel drew a rectangle (fbcon).
///
/// # Safety
///
/// `info` must be one of our framebuffers (called by its `fb_ops`).
#[no_mangle]
pub unsafe extern "C" fn kext_fb_damage_area(info: *mut bindings::fb_info, x: u32, y: u32, width: u32, height: u32) {
    // SAFETY: The caller's promise; drawing only reaches a registered framebuffer.
    let header = unsafe { header(info) };
    // SAFETY: As above: the header is alive; only read.
    let mode = unsafe { &*header };
    // SAFETY: As above.
    unsafe { damage(header, mode.clip(x, y, width, height)) };
}

/// `fb_setcolreg`: the console's colour `regno` (0 to 15) in the pseudo palette, as XRGB8888.
///
/// # Safety
///
/// `info` must be one of our framebuffers (called by its `fb_ops`).
#[no_mangle]
pub unsafe extern "C" fn kext_fb_setcolreg(
    regno: c_uint,
    red: c_uint,
    green: c_uint,
    blue: c_uint,
    _transp: c_uint,
    info: *mut bindings::fb_info,
) -> c_int {
    let regno = regno as usize;
    if regno >= PALETTE_LEN {
        return EINVAL.to_errno();
    }
    // 16-bit components to 8 bits each.
    let value = ((red >> 8) & 0xff) << 16 | ((green >> 8) & 0xff) << 8 | ((blue >> 8) & 0xff);
    // SAFETY: The caller's promise: `pseudo_palette` is the `Inner`'s palette of
    // `PALETTE_LEN` entries (`regno` checked); the core serialises palette changes.
    unsafe { (*info).pseudo_palette.cast::<u32>().add(regno).write_volatile(value) };
    0
}

/// `fb_destroy`: the fbdev core's last reference went; frees everything.
///
/// # Safety
///
/// `info` must be one of our framebuffers (called by its `fb_ops`), once.
#[no_mangle]
pub unsafe extern "C" fn kext_fb_destroy(info: *mut bindings::fb_info) {
    // SAFETY: The caller's promise.
    let header = unsafe { header(info) };
    // SAFETY: `header` is the pointer `into_foreign()` gave for the `Inner<T>` the core owns,
    // and `destroy` is `Inner::<T>::destroy`, called once.
    unsafe { ((*header).destroy)(header) };
}
