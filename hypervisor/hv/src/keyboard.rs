//! The keyboard of the QEMU window: a virtio-mmio input device the hypervisor drives itself
//! (dom0 is not given it). Esc, Backspace, Enter, Space and the arrows press the board's eight
//! buttons; other keys are ignored.

use crate::board;
use crate::println;
use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use boot_info::host_dt::VirtioMmio;
use core::ptr::NonNull;
use sp6_fpga::Button;
use spin::Mutex;
use virtio_drivers::device::input::VirtIOInput;
use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::{DeviceType, Transport};
use virtio_drivers::{BufferDirection, Hal, PhysAddr, PAGE_SIZE};

/// Linux input event type of key presses (include/uapi/linux/input-event-codes.h).
const EV_KEY: u16 = 1;
const KEY_RELEASED: u32 = 0;
const KEY_PRESSED: u32 = 1;

/// DMA for virtio: heap pages, identity mapped, so an address is the same for the device and
/// for us, and nothing needs sharing or bouncing.
struct IdentityHal;

// SAFETY: `dma_alloc` returns zeroed, page-aligned memory owned by the caller until
// `dma_dealloc`; physical and virtual addresses are equal in the hypervisor's map.
unsafe impl Hal for IdentityHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let layout = Layout::from_size_align(pages * PAGE_SIZE, PAGE_SIZE).expect("DMA layout");
        // SAFETY: the layout has a non-zero size (virtio never asks for 0 pages).
        let ptr = NonNull::new(unsafe { alloc_zeroed(layout) }).expect("out of memory for virtio DMA");
        (ptr.as_ptr() as PhysAddr, ptr)
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, vaddr: NonNull<u8>, pages: usize) -> i32 {
        let layout = Layout::from_size_align(pages * PAGE_SIZE, PAGE_SIZE).expect("DMA layout");
        // SAFETY: the caller gives back what `dma_alloc` returned, with the same size.
        unsafe { dealloc(vaddr.as_ptr(), layout) };
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        NonNull::new(paddr as *mut u8).expect("MMIO at address 0")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        buffer.as_ptr() as *mut u8 as PhysAddr
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}

type Keyboard = VirtIOInput<IdentityHal, MmioTransport<'static>>;

static KEYBOARD: Mutex<Option<Keyboard>> = Mutex::new(None);

/// Starts the first virtio input device among `slots`. Returns the SPI INTID to hand to
/// `irq::register_handler`, or `None` when there is no keyboard (the monitor's `press` still
/// works).
pub fn probe<'a>(slots: impl Iterator<Item = &'a VirtioMmio>) -> Option<u32> {
    for slot in slots {
        let Some(header) = NonNull::new(slot.reg.base as *mut VirtIOHeader) else { continue };
        // SAFETY: the slot is a virtio-mmio window from the host device tree, identity mapped
        // as Device memory in the hypervisor's map and given to no guest.
        let Ok(transport) = (unsafe { MmioTransport::new(header, slot.reg.size as usize) }) else { continue };
        if transport.device_type() != DeviceType::Input {
            continue;
        }
        let [0, spi, _] = slot.interrupts[..] else {
            println!("keyboard at {:#x}: no usable interrupt", slot.reg.base);
            continue;
        };
        match Keyboard::new(transport) {
            Ok(keyboard) => {
                *KEYBOARD.lock() = Some(keyboard);
                println!("keyboard: virtio input at {:#x}, SPI {spi}: Esc Backspace Enter Space and arrows press the board's buttons", slot.reg.base);
                return Some(32 + spi);
            }
            Err(error) => println!("keyboard at {:#x}: {error:?}", slot.reg.base),
        }
    }
    println!("keyboard: none found (the monitor's `press` works without one)");
    None
}

/// The keyboard's interrupt: every queued key event, then the buffers go back to the device.
pub fn handle_interrupt(_intid: u32) {
    let mut keyboard = KEYBOARD.lock();
    let Some(keyboard) = keyboard.as_mut() else { return };
    keyboard.ack_interrupt();
    while let Some(event) = keyboard.pop_pending_event() {
        if event.event_type != EV_KEY {
            continue;
        }
        let Some(button) = Button::from_key_code(event.code) else { continue };
        match event.value {
            KEY_PRESSED => board::press(button),
            KEY_RELEASED => board::release(button),
            _ => {} // auto-repeat: the board's buttons do not repeat
        }
    }
}
