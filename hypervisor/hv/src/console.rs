//! The hypervisor's console: the board's PL011, every line prefixed `(XEN) ` as Xen does, so the
//! serial log tells the hypervisor's words from the guests'. Lines are written whole under a lock.

use arm_pl011_uart::{PL011Registers, Uart, UniqueMmioPointer};
use core::fmt::{self, Write};
use core::ptr::NonNull;
use spin::Mutex;

/// QEMU virt's PL011, used until the device tree names the console.
pub const DEFAULT_UART_BASE: usize = 0x0900_0000;

struct Console {
    uart: Option<Uart<'static>>,
    at_line_start: bool,
}

static CONSOLE: Mutex<Console> = Mutex::new(Console { uart: None, at_line_start: true });

/// Starts writing to the PL011 at `base`. QEMU's PL011 needs no baud-rate setup, and the line
/// settings firmware left are kept, so output works the same on a board whose UART is already
/// configured by its boot loader.
pub fn init(base: usize) {
    let Some(regs) = NonNull::new(base as *mut PL011Registers) else { return };
    // SAFETY: `base` is the PL011's MMIO region, identity-mapped as Device memory, and the
    // console owns it exclusively from here on (the guests get no mapping of it while they
    // have an emulated or paravirtual console; until then they share it line by line).
    let uart = Uart::new(unsafe { UniqueMmioPointer::new(regs) });
    CONSOLE.lock().uart = Some(uart);
}

impl Console {
    fn put(&mut self, byte: u8) {
        if let Some(uart) = self.uart.as_mut() {
            while uart.is_tx_fifo_full() {}
            uart.write_word(byte);
        }
    }
}

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            if self.at_line_start {
                for b in b"(XEN) " {
                    self.put(*b);
                }
                self.at_line_start = false;
            }
            if byte == b'\n' {
                self.put(b'\r');
                self.at_line_start = true;
            }
            self.put(byte);
        }
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    let mut console = CONSOLE.lock();
    let _ = console.write_fmt(args);
}

/// Prints to the hypervisor console; every line gets the `(XEN) ` prefix.
#[macro_export]
macro_rules! println {
    () => { $crate::console::_print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::_print(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Lets the panic handler print even if the panicking code held the console.
pub fn force_unlock() {
    if CONSOLE.is_locked() {
        // SAFETY: only called on the way to stopping the system; a half-written line is better
        // than a silent hang.
        unsafe { CONSOLE.force_unlock() };
    }
}
