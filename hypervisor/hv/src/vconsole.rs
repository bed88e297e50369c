//! A domain's console device: an emulated SBSA UART (hv-console's vuart), its transmitted
//! bytes to the console multiplexer, the user's typing into its receive FIFO, its interrupt
//! line to the domain's vGIC.

use crate::domain::{self, Domain};
use crate::irq;
use crate::println;
use arm_trap::AccessWidth;
use core::sync::atomic::{AtomicBool, Ordering};
use hv_console::vuart::{Effects, VUart, VUartError};
use hv_console::DomId;
use spin::Mutex;

/// A domain's UART and the SPI it raises.
pub struct VirtualUart {
    uart: Mutex<VUart>,
    intid: u32,
    unimplemented_reported: AtomicBool,
}

impl VirtualUart {
    pub fn new(intid: u32) -> Self {
        VirtualUart { uart: Mutex::new(VUart::new()), intid, unimplemented_reported: AtomicBool::new(false) }
    }

    /// Back to its reset state, for a rebuilt domain.
    pub fn reset(&self) {
        *self.uart.lock() = VUart::new();
    }

    pub fn read(&self, dom: &Domain, offset: u64, width: AccessWidth) -> Result<u64, VUartError> {
        let (read, space) = {
            let mut uart = self.uart.lock();
            let read = uart.read(offset, width)?;
            (read, uart.rx_space())
        };
        self.apply(dom, read.effects);
        if space > 0 {
            crate::console::resume_input();
        }
        Ok(u64::from(read.value))
    }

    pub fn write(&self, dom: &Domain, offset: u64, width: AccessWidth, value: u64) -> Result<(), VUartError> {
        let effects = self.uart.lock().write(offset, width, value)?;
        self.apply(dom, effects);
        Ok(())
    }

    fn apply(&self, dom: &Domain, effects: Effects) {
        if let Some(byte) = effects.tx {
            dom.xen.pv_console_active.store(false, Ordering::Relaxed);
            crate::console::guest_output(dom.id, &[byte]);
        }
        if let Some(level) = effects.irq_line {
            irq::set_spi_level(dom, self.intid, level);
        }
        if let Some(register) = effects.unimplemented {
            if !self.unimplemented_reported.swap(true, Ordering::Relaxed) {
                println!("{}: UART register {register} is not emulated (reads 0, writes ignored; reported once)", dom.name);
            }
        }
        if effects.rx_overrun {
            println!("{}: console input dropped: the UART's receive FIFO is full", dom.name);
        }
    }
}

/// Bytes the user typed for `domain`: to its paravirtual console if it reads one (hvc0:
/// dom0's console_io, a domU's console ring), else to its UART.
pub fn receive(domain: DomId, bytes: &[u8]) {
    let Some(dom) = domain::get(domain) else { return };
    if crate::xen::console_io::uses_console_io(domain) {
        return crate::xen::console_io::receive(dom, bytes);
    }
    if crate::xen::console_ring::uses_ring(dom) {
        return crate::xen::console_ring::receive(domain, bytes);
    }
    let Some(uart) = dom.console.as_ref() else { return };
    for &byte in bytes {
        let effects = uart.uart.lock().push_rx(byte);
        uart.apply(dom, effects);
    }
}

/// Whether `domain`'s console can take a typed byte now (a domain without one drops input).
pub fn can_receive(domain: DomId) -> bool {
    if crate::xen::console_io::uses_console_io(domain) {
        return domain::get(domain).is_some_and(|d| crate::xen::console_io::input_space(d) > 0);
    }
    if domain::get(domain).is_some_and(crate::xen::console_ring::uses_ring) {
        return crate::xen::console_ring::input_space(domain) > 0;
    }
    match domain::get(domain).and_then(|d| d.console.as_ref()) {
        Some(uart) => uart.uart.lock().rx_space() > 0,
        None => true,
    }
}
