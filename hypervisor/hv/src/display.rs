//! The board's display, the REPTAR LCD: 800x480 pixels, 32 bits each (XRGB8888), shown by
//! QEMU's ramfb device in the QEMU window. The hypervisor owns the display controller: it
//! finds ramfb through QEMU's fw_cfg device (its DMA interface; the protocol is the `fw-cfg`
//! crate, this is the MMIO glue), points it at a framebuffer in host RAM that the layout set
//! aside for no domain, and gives that framebuffer to dom0 as a `simple-framebuffer` (mapped
//! in its stage 2 1:1, Normal non-cacheable). fw_cfg itself is not given to any guest, so
//! only the hypervisor decides what the screen scans out (see docs/board.md, "Display").
//!
//! A second picture of the same size, the *guest screen*, is set aside too and mapped into
//! dom0 the same way: dom0's vfb backend copies a domU's framebuffer into it, and switches the
//! display between the two pictures with the board's display controller (the
//! `display-controller` crate's register, emulated here), as REPTAR's display controller
//! switched between domains. Neither picture is ever copied over the other: a focus switch
//! loses neither.

use crate::arch::cache;
use crate::println;
use boot_info::guest_dt::{SimpleFramebuffer, FORMAT_X8R8G8B8};
use boot_info::MemRange;
use alloc::string::{String, ToString};
use arm_trap::AccessWidth;
use core::ptr::{read_volatile, write_volatile};
use display_controller::{Controller, Effect, Picture};
use fw_cfg::ramfb::{Ramfb, RamfbConfig};
use fw_cfg::{Dma, DmaAccess, DmaStatus, FwCfg, DMA_SIGNATURE, REG_DMA};
use spin::Mutex;

/// The REPTAR LCD.
pub const WIDTH: u32 = 800;
pub const HEIGHT: u32 = 480;
pub const STRIDE: u32 = WIDTH * fw_cfg::ramfb::XRGB8888_BYTES_PER_PIXEL;
/// Bytes of one picture (1500 KiB, a whole number of pages).
pub const FRAME_BYTES: u64 = STRIDE as u64 * HEIGHT as u64;

/// Where the display controller's registers are in dom0's address space (free IPA space on
/// QEMU virt, next to the SP6 FPGA's).
pub const CONTROLLER_BASE: u64 = 0x1810_0000;
pub const CONTROLLER_SIZE: u64 = display_controller::REGION_SIZE;

pub fn controller_range() -> MemRange {
    MemRange::new(CONTROLLER_BASE, CONTROLLER_SIZE)
}

/// How many times a DMA descriptor is read back before the transfer is given up. QEMU
/// completes a transfer within the register write; this only bounds a broken device.
const DMA_POLLS: usize = 1 << 20;

/// fw_cfg's registers (identity mapped as Device memory in the hypervisor's map).
struct FwCfgMmio {
    base: usize,
}

/// A DMA descriptor: 16 bytes, aligned as the device reads it.
#[repr(C, align(16))]
struct Descriptor([u8; DmaAccess::SIZE]);

impl FwCfgMmio {
    /// Whether the window is fw_cfg with the DMA interface: its DMA register reads "QEMU CFG".
    fn has_dma(&self) -> bool {
        // SAFETY: the fw_cfg window from the host device tree (at least 0x18 bytes), mapped as
        // Device memory; reading the DMA address register has no side effect.
        let raw = unsafe { read_volatile((self.base + REG_DMA as usize) as *const u64) };
        u64::from_be(raw) == DMA_SIGNATURE
    }
}

impl Dma for FwCfgMmio {
    fn transfer(&mut self, control: u32, buffer: &mut [u8]) -> u32 {
        let access = DmaAccess {
            control,
            length: buffer.len() as u32,
            // The hypervisor's map is the identity: a buffer's address is its physical one.
            address: buffer.as_mut_ptr() as u64,
        };
        let mut descriptor = Descriptor([0; DmaAccess::SIZE]);
        let descriptor_pa = &mut descriptor as *mut Descriptor as u64;
        // SAFETY: `descriptor` is ours, on this CPU's stack. The store is volatile: only the
        // device reads it, so the compiler would otherwise drop it as dead.
        unsafe { write_volatile(&mut descriptor.0, access.to_be_bytes()) };
        // The descriptor and the buffer reach memory before the device is told to read them.
        cache::dma_barrier();
        // SAFETY: fw_cfg's DMA address register, big-endian: writing it as one 64-bit value
        // starts the transfer, which reads the descriptor and the buffer, writes the buffer
        // (reads) and the descriptor's control word, all memory we own for this call.
        unsafe { write_volatile((self.base + REG_DMA as usize) as *mut u64, descriptor_pa.to_be()) };
        let mut left = DMA_POLLS;
        loop {
            // SAFETY: reading back our own descriptor, which the device updates.
            let word = unsafe { read_volatile(&descriptor.0) };
            let control = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
            left -= 1;
            if DmaStatus::of(control) != DmaStatus::Busy || left == 0 {
                // What the device wrote into the buffer is visible before we read it.
                cache::dma_barrier();
                return control;
            }
            core::hint::spin_loop();
        }
    }
}

/// The display found at boot, before the layout has placed its framebuffer.
pub struct Probe {
    fw: FwCfg<FwCfgMmio>,
    ramfb: Ramfb,
}

/// The display as set up.
struct Display {
    fw: FwCfg<FwCfgMmio>,
    ramfb: Ramfb,
    /// dom0's register model: which of the two pictures ramfb scans out.
    controller: Controller,
}

static DISPLAY: Mutex<Option<Display>> = Mutex::new(None);

/// Finds ramfb behind the host's fw_cfg device. `None`, with a line saying why, when there is
/// no display to drive (QEMU without `-device ramfb`): the board then runs without one.
pub fn probe(fw_cfg: Option<MemRange>) -> Option<Probe> {
    let Some(window) = fw_cfg else {
        println!("display: none (the device tree has no qemu,fw-cfg-mmio node)");
        return None;
    };
    let mmio = FwCfgMmio { base: window.base as usize };
    if !mmio.has_dma() {
        println!("display: none (fw_cfg at {:#x} has no DMA interface)", window.base);
        return None;
    }
    let found = FwCfg::new(mmio).and_then(|mut fw| Ramfb::find(&mut fw).map(|ramfb| Probe { fw, ramfb }));
    match found {
        Ok(probe) => Some(probe),
        Err(fw_cfg::Error::NoSuchFile) => {
            println!("display: none (no {} in fw_cfg: QEMU has no -device ramfb)", fw_cfg::ramfb::FILE);
            None
        }
        Err(error) => {
            println!("display: none ({error})");
            None
        }
    }
}

/// What [`start`] gives dom0: its framebuffer, and the display controller with the guest
/// screen.
pub struct Dom0Display {
    pub framebuffer: SimpleFramebuffer<'static>,
    /// The guest screen: the second picture the controller can show.
    pub guest_screen: MemRange,
}

/// Clears `framebuffer` and `guest_screen` (host RAM the layout reserved, at least
/// [`FRAME_BYTES`] each) and makes ramfb show the framebuffer. Returns what dom0 gets, or
/// `None` (said on the console) if ramfb refused the configuration.
pub fn start(probe: Probe, framebuffer: MemRange, guest_screen: MemRange) -> Option<Dom0Display> {
    let Probe { mut fw, ramfb } = probe;
    let framebuffer = MemRange::new(framebuffer.base, FRAME_BYTES.min(framebuffer.size));
    let guest_screen = MemRange::new(guest_screen.base, FRAME_BYTES.min(guest_screen.size));
    for picture in [framebuffer, guest_screen] {
        // SAFETY: a block the layout reserved for the display: host RAM in the hypervisor's
        // identity map, in no domain and not the hypervisor's; nothing else writes it yet.
        unsafe { core::ptr::write_bytes(picture.base as *mut u8, 0, picture.size as usize) };
        // dom0 maps it non-cacheable and QEMU reads RAM: no dirty line may be left to
        // overwrite it.
        cache::clean_for_guest_entry(picture.base as usize, picture.size as usize);
    }
    let scanout = RamfbConfig::xrgb8888(framebuffer.base, WIDTH, HEIGHT);
    if let Err(error) = ramfb.configure(&mut fw, &scanout) {
        println!("display: none (ramfb: {error})");
        return None;
    }
    println!(
        "display: ramfb {}x{} XRGB8888 at {:#x} ({} KiB), dom0's simple-framebuffer; guest screen at {:#x}",
        WIDTH,
        HEIGHT,
        framebuffer.base,
        framebuffer.size / 1024,
        guest_screen.base
    );
    let picture = |range: MemRange| Picture { base: range.base, size: range.size };
    let controller = Controller::new(WIDTH, HEIGHT, STRIDE, picture(framebuffer), picture(guest_screen));
    *DISPLAY.lock() = Some(Display { fw, ramfb, controller });
    let framebuffer = SimpleFramebuffer { reg: framebuffer, width: WIDTH, height: HEIGHT, stride: STRIDE, format: FORMAT_X8R8G8B8 };
    Some(Dom0Display { framebuffer, guest_screen })
}

/// What the display shows now, for the monitor: `Some(true)` dom0's framebuffer, `Some(false)`
/// the guest screen, `None` without a display.
pub fn shows_dom0() -> Option<bool> {
    DISPLAY.lock().as_ref().map(|d| d.controller.shows_dom0())
}

/// dom0's load from the display controller's registers.
pub fn controller_read(offset: u64, width: AccessWidth) -> Result<u64, String> {
    let display = DISPLAY.lock();
    let display = display.as_ref().ok_or_else(|| String::from("the board has no display"))?;
    display.controller.read(offset, width).map(u64::from).map_err(|e| e.to_string())
}

/// dom0's store to the display controller's registers: a new scanout base moves ramfb.
pub fn controller_write(offset: u64, width: AccessWidth, value: u64) -> Result<(), String> {
    let mut display = DISPLAY.lock();
    let display = display.as_mut().ok_or_else(|| String::from("the board has no display"))?;
    let effect = display.controller.write(offset, width, value).map_err(|e| e.to_string())?;
    display.apply(effect);
    Ok(())
}

/// Shows dom0's framebuffer again, whatever the controller was told: when the domain whose
/// picture the guest screen holds is gone.
pub fn show_dom0() {
    if let Some(display) = DISPLAY.lock().as_mut() {
        let effect = display.controller.show_dom0();
        display.apply(effect);
    }
}

impl Display {
    fn apply(&mut self, effect: Effect) {
        match effect {
            Effect::None => {}
            Effect::Scanout(base) => {
                // The base was checked against the display's pictures: host RAM of no domain,
                // FRAME_BYTES long, staying put.
                if let Err(error) = self.ramfb.configure(&mut self.fw, &RamfbConfig::xrgb8888(base, WIDTH, HEIGHT)) {
                    println!("display: scanout {base:#x} failed (ramfb: {error})");
                }
            }
            Effect::Refused(base) => println!("display: scanout base {base:#x} refused: not one of the display's pictures"),
            Effect::ReadOnly => println!("display: write to a read-only display controller register ignored"),
        }
    }
}
