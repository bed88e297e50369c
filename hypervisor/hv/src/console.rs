//! The board's serial line, owned by the hypervisor: its own messages (`(XEN) `), every
//! domain's console (`[DOM-0] `...) and the user's input, shared by the multiplexer of
//! hv-console. Typing CTRL-a three times moves the input between the domains and the monitor.

use crate::monitor;
use arm_pl011_uart::{Interrupts, PL011Registers, Uart, UniqueMmioPointer};
use core::fmt::{self, Write};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};
use hv_console::monitor::LineEditor;
use hv_console::mux::{Focus, InputAction, Mux, Source};
use hv_console::DomId;
use spin::Mutex;

/// QEMU virt's PL011, used until the device tree names the console.
pub const DEFAULT_UART_BASE: usize = 0x0900_0000;

struct Console {
    uart: Option<Uart<'static>>,
    /// Made by `init` (it allocates); until then nothing is printed.
    mux: Option<Mux>,
}

static CONSOLE: Mutex<Console> = Mutex::new(Console { uart: None, mux: None });
/// The monitor's input line; taken before CONSOLE when both are needed.
static MONITOR_LINE: Mutex<LineEditor> = Mutex::new(LineEditor::new());

/// Starts writing to the PL011 at `base`. QEMU's PL011 needs no baud-rate setup, and the line
/// settings firmware left are kept, so output works the same on a board whose UART is already
/// configured by its boot loader.
pub fn init(base: usize) {
    let Some(regs) = NonNull::new(base as *mut PL011Registers) else { return };
    // SAFETY: `base` is the PL011's MMIO region, identity mapped as Device memory; the console
    // owns it exclusively (no guest has it in its stage 2).
    let uart = Uart::new(unsafe { UniqueMmioPointer::new(regs) });
    let mut console = CONSOLE.lock();
    console.uart = Some(uart);
    // dom0 from the start; domUs join with `set_domains`.
    console.mux.get_or_insert_with(|| Mux::new(1));
}

/// Sets the domains the console serves (their prefixes, the input focus cycle).
pub fn set_domains(domains: &[DomId]) {
    let mut console = CONSOLE.lock();
    let Console { uart, mux: Some(mux) } = &mut *console else { return };
    mux.set_domains(domains, &mut |bytes| write_uart(uart, bytes));
}

/// Takes the user's input from the UART's receive interrupt from now on.
pub fn enable_input() {
    if let Some(uart) = CONSOLE.lock().uart.as_mut() {
        uart.set_interrupt_masks(Interrupts::RXI | Interrupts::RTI);
    }
}

fn write_uart(uart: &mut Option<Uart<'static>>, bytes: &[u8]) {
    if let Some(uart) = uart.as_mut() {
        for &byte in bytes {
            while uart.is_tx_fifo_full() {}
            uart.write_word(byte);
        }
    }
}

/// Output of `source` on the terminal.
fn output(source: Source, bytes: &[u8]) {
    let mut console = CONSOLE.lock();
    let Console { uart, mux: Some(mux) } = &mut *console else { return };
    mux.output(source, bytes, &mut |out| write_uart(uart, out));
}

/// A byte a domain's console device transmitted.
pub fn guest_output(domain: DomId, bytes: &[u8]) {
    output(Source::Domain(domain), bytes);
}

struct HypervisorWriter;

impl Write for HypervisorWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        output(Source::Xen, s.as_bytes());
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    // One message at a time, whole: format it first, then hand it to the multiplexer.
    let mut line = alloc::string::String::new();
    let _ = line.write_fmt(args);
    let _ = HypervisorWriter.write_str(&line);
}

/// Prints to the hypervisor console; every line gets the `(XEN) ` prefix.
#[macro_export]
macro_rules! println {
    () => { $crate::console::_print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::_print(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Prints without a newline (the monitor's prompt, its echo).
pub fn print_raw(bytes: &[u8]) {
    output(Source::Xen, bytes);
}

/// Moves the serial input to `focus`, as the monitor's `focus` command asks.
pub fn set_focus(focus: Focus) -> Result<(), hv_console::mux::UnknownDomain> {
    let mut console = CONSOLE.lock();
    let Console { uart, mux: Some(mux) } = &mut *console else { return Ok(()) };
    mux.set_focus(focus, &mut |bytes| write_uart(uart, bytes))
}

/// Set while typed bytes wait in the board UART's FIFO (and QEMU's buffer behind it) because
/// the focused domain's receive FIFO is full: the receive interrupt is masked until the domain
/// reads, as a real UART's flow control would hold the sender.
static INPUT_THROTTLED: AtomicBool = AtomicBool::new(false);

/// The focused domain read from its UART: take typed bytes again if they were held.
pub fn resume_input() {
    if INPUT_THROTTLED.swap(false, Ordering::AcqRel) {
        enable_input();
    }
}

/// The UART's receive interrupt: every byte typed goes where the input focus is.
pub fn handle_rx_interrupt(_intid: u32) {
    loop {
        // The focused domain's room is looked at without the console lock: it takes the
        // domain's own locks, which are held elsewhere while printing.
        let focus = CONSOLE.lock().mux.as_ref().map(Mux::focus);
        if let Some(Focus::Domain(domain)) = focus {
            if !crate::vconsole::can_receive(domain) {
                INPUT_THROTTLED.store(true, Ordering::Release);
                if let Some(uart) = CONSOLE.lock().uart.as_mut() {
                    uart.set_interrupt_masks(Interrupts::empty());
                }
                break;
            }
        }
        let action = {
            let mut console = CONSOLE.lock();
            let Console { uart, mux: Some(mux) } = &mut *console else { break };
            let Some(byte) = uart.as_mut().and_then(|u| u.read_word().ok().flatten()) else { break };
            mux.input(byte, &mut |bytes| write_uart(uart, bytes))
        };
        match action {
            InputAction::ToDomain(domain, bytes) => crate::vconsole::receive(domain, bytes.as_slice()),
            InputAction::ToMonitor(bytes) => {
                for &byte in bytes.as_slice() {
                    monitor_input(byte);
                }
            }
            InputAction::FocusChanged(Focus::Monitor) => MONITOR_LINE.lock().show_prompt(&mut print_raw),
            InputAction::FocusChanged(_) | InputAction::Held => {}
        }
    }
}

fn monitor_input(byte: u8) {
    let line = MONITOR_LINE.lock().input(byte, &mut print_raw);
    if let Some(line) = line {
        monitor::execute(line.as_str());
        MONITOR_LINE.lock().show_prompt(&mut print_raw);
    }
}

/// Lets the panic handler print even if the panicking code held the console.
pub fn force_unlock() {
    if CONSOLE.is_locked() {
        // SAFETY: only called on the way to stopping the system; a half-written line is better
        // than a silent hang.
        unsafe { CONSOLE.force_unlock() };
    }
}
