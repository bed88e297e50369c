//! Linux's `sbsa-uart` driver (drivers/tty/serial/amba-pl011.c, `vendor_sbsa`) replayed
//! against the emulated UART: probe, startup, transmit, receive, throttling, polling,
//! shutdown, and the earlycon, with the interrupt handler run whenever the line is high.

use hv_console::vuart::{
    dr, fr, irq, AccessWidth, VUart, UARTDR, UARTFR, UARTICR, UARTIMSC, UARTMIS, UARTRIS,
};
use std::collections::VecDeque;

/// `uap->fifosize` for an SBSA UART.
const FIFOSIZE: usize = 32;
/// `AMBA_ISR_PASS_LIMIT`.
const ISR_PASS_LIMIT: usize = 256;

/// The driver's state and the hypervisor's view of the UART.
struct Guest {
    uart: VUart,
    /// `uap->im`.
    im: u32,
    /// The interrupt line as the hypervisor drives it (from `Effects::irq_line`).
    line: bool,
    /// What the hypervisor's console received.
    console: Vec<u8>,
    /// The tty's transmit queue (`xmit_fifo`).
    xmit: VecDeque<u8>,
    /// What reached the tty layer, with the UARTDR error bits.
    received: Vec<u32>,
    interrupts: usize,
}

impl Guest {
    fn new() -> Guest {
        Guest {
            uart: VUart::new(),
            im: 0,
            line: false,
            console: Vec::new(),
            xmit: VecDeque::new(),
            received: Vec::new(),
            interrupts: 0,
        }
    }

    fn track(&mut self, effects: hv_console::vuart::Effects) {
        if let Some(byte) = effects.tx {
            self.console.push(byte);
        }
        if let Some(level) = effects.irq_line {
            assert_ne!(level, self.line, "a change of level must be a change");
            self.line = level;
        }
        assert_eq!(
            self.line,
            self.uart.irq_line(),
            "every change of level is reported"
        );
        assert_eq!(
            effects.unimplemented, None,
            "Linux's sbsa-uart touches only SBSA registers"
        );
    }

    /// `readl_relaxed`.
    fn readl(&mut self, offset: u64) -> u32 {
        self.read(offset, AccessWidth::Word)
    }

    fn read(&mut self, offset: u64, width: AccessWidth) -> u32 {
        let read = self.uart.read(offset, width).unwrap();
        self.track(read.effects);
        read.value
    }

    /// `writel_relaxed`.
    fn writel(&mut self, value: u32, offset: u64) {
        self.write(value, offset, AccessWidth::Word);
    }

    fn write(&mut self, value: u32, offset: u64, width: AccessWidth) {
        let effects = self.uart.write(offset, width, value.into()).unwrap();
        self.track(effects);
    }

    /// The hypervisor: a byte typed for this guest.
    fn type_byte(&mut self, byte: u8) {
        let effects = self.uart.push_rx(byte);
        self.track(effects);
        self.run_interrupts();
    }

    /// The vGIC delivers the level-sensitive interrupt while the line is high.
    fn run_interrupts(&mut self) {
        for _ in 0..1000 {
            if !self.line {
                return;
            }
            assert!(
                self.pl011_int(),
                "the line is high: the handler must find a cause"
            );
        }
        panic!("interrupt storm");
    }

    /// `pl011_register_port`.
    fn register_port(&mut self) {
        self.writel(0, UARTIMSC);
        self.writel(0xffff, UARTICR);
    }

    /// `sbsa_uart_startup`: `pl011_hwinit`, `pl011_allocate_irq`, `pl011_enable_interrupts`.
    fn startup(&mut self) {
        self.writel(
            irq::OE | irq::BE | irq::PE | irq::FE | irq::RT | irq::RX,
            UARTICR,
        );
        self.im = self.readl(UARTIMSC);
        self.writel(irq::RT | irq::RX, UARTIMSC);
        self.writel(self.im, UARTIMSC);
        self.writel(irq::RT | irq::RX, UARTICR);
        for _ in 0..FIFOSIZE * 2 {
            if self.readl(UARTFR) & fr::RXFE != 0 {
                break;
            }
            self.readl(UARTDR);
        }
        self.im = irq::RT | irq::RX;
        self.writel(self.im, UARTIMSC);
        self.run_interrupts();
    }

    /// `pl011_disable_interrupts` (from `sbsa_uart_shutdown`).
    fn shutdown(&mut self) {
        self.im = 0;
        self.writel(self.im, UARTIMSC);
        self.writel(0xffff, UARTICR);
    }

    /// `pl011_stop_tx`.
    fn stop_tx(&mut self) {
        self.im &= !irq::TX;
        self.writel(self.im, UARTIMSC);
    }

    /// `pl011_tx_chars`: true if the transmit interrupt must stay enabled.
    fn tx_chars(&mut self, from_irq: bool) -> bool {
        let mut count = FIFOSIZE >> 1;
        if self.xmit.is_empty() {
            self.stop_tx();
            return false;
        }
        loop {
            if from_irq {
                if count == 0 {
                    break;
                }
                count -= 1;
            }
            let Some(&c) = self.xmit.front() else { break };
            // pl011_tx_char
            if !from_irq && self.readl(UARTFR) & fr::TXFF != 0 {
                break;
            }
            self.writel(c.into(), UARTDR);
            self.xmit.pop_front();
        }
        if self.xmit.is_empty() {
            self.stop_tx();
            return false;
        }
        true
    }

    /// `uart_write` then `pl011_start_tx` (`pl011_start_tx_pio`).
    fn tty_write(&mut self, bytes: &[u8]) {
        self.xmit.extend(bytes);
        if self.tx_chars(false) {
            self.im |= irq::TX;
            self.writel(self.im, UARTIMSC);
        }
        self.run_interrupts();
    }

    /// `pl011_fifo_to_tty`.
    fn fifo_to_tty(&mut self) {
        for _ in 0..256 {
            if self.readl(UARTFR) & fr::RXFE != 0 {
                break;
            }
            let ch = self.readl(UARTDR);
            self.received.push(ch);
        }
    }

    /// `pl011_int`: true if handled.
    fn pl011_int(&mut self) -> bool {
        self.interrupts += 1;
        let mut status = self.readl(UARTRIS) & self.im;
        if status == 0 {
            return false;
        }
        let mut pass_counter = ISR_PASS_LIMIT;
        loop {
            self.writel(status & !(irq::TX | irq::RT | irq::RX), UARTICR);
            if status & (irq::RT | irq::RX) != 0 {
                self.fifo_to_tty();
            }
            if status & irq::TX != 0 {
                self.tx_chars(true);
            }
            if pass_counter == 0 {
                break;
            }
            pass_counter -= 1;
            status = self.readl(UARTRIS) & self.im;
            if status == 0 {
                break;
            }
        }
        true
    }

    /// `pl011_stop_rx` (also what `throttle` does).
    fn stop_rx(&mut self) {
        self.im &= !(irq::RX | irq::RT | irq::FE | irq::PE | irq::BE | irq::OE);
        self.writel(self.im, UARTIMSC);
    }

    /// `pl011_unthrottle_rx` without DMA.
    fn unthrottle_rx(&mut self) {
        self.im = irq::RT | irq::RX;
        self.writel(self.im, UARTIMSC);
        self.run_interrupts();
    }

    fn received_bytes(&self) -> Vec<u8> {
        self.received
            .iter()
            .map(|&ch| (ch & dr::DATA) as u8)
            .collect()
    }
}

fn started() -> Guest {
    let mut guest = Guest::new();
    guest.register_port();
    guest.startup();
    assert_eq!(guest.uart.interrupt_mask(), irq::RT | irq::RX);
    assert!(!guest.line);
    guest
}

#[test]
fn probe_and_startup_leave_the_receive_interrupts_unmasked() {
    let guest = started();
    assert_eq!(guest.interrupts, 0);
    assert!(guest.console.is_empty());
}

#[test]
fn startup_drains_input_typed_before_the_driver_came() {
    let mut guest = Guest::new();
    for &b in b"early" {
        let effects = guest.uart.push_rx(b);
        guest.track(effects);
    }
    // Every interrupt is masked: the line stays low.
    assert!(!guest.line);
    guest.register_port();
    guest.startup();
    // pl011_enable_interrupts drains the FIFO and drops what it reads.
    assert!(guest.received.is_empty());
    assert_eq!(guest.uart.flags() & fr::RXFE, fr::RXFE);
    assert!(!guest.line);
}

#[test]
fn transmit_goes_out_synchronously() {
    let mut guest = started();
    let text = b"Welcome to REPTAR dom0!\r\n/ # ".repeat(5);
    guest.tty_write(&text);
    assert_eq!(guest.console, text);
    // The FIFO never filled: TXIM was never needed, no interrupt was taken.
    assert_eq!(guest.uart.interrupt_mask() & irq::TX, 0);
    assert_eq!(guest.interrupts, 0);
    assert!(!guest.line);
}

#[test]
fn interrupt_driven_transmit_runs_until_the_queue_is_empty() {
    // As if pl011_start_tx_pio had found TXFF set: the driver unmasks TXIM with data queued.
    let mut guest = started();
    guest.xmit.extend(b"0123456789".repeat(10));
    guest.im |= irq::TX;
    guest.writel(guest.im, UARTIMSC);
    // TXRIS is always set: the line rises at once.
    assert!(guest.line);
    guest.run_interrupts();
    assert_eq!(guest.console, b"0123456789".repeat(10));
    assert!(guest.xmit.is_empty());
    // pl011_stop_tx masked TXIM and the line went down.
    assert_eq!(guest.uart.interrupt_mask() & irq::TX, 0);
    assert!(!guest.line);
    // 100 bytes at 16 per pass, all in one interrupt.
    assert_eq!(guest.interrupts, 1);
}

#[test]
fn typed_bytes_reach_the_tty() {
    let mut guest = started();
    for &b in b"ls -l\r" {
        guest.type_byte(b);
    }
    assert_eq!(guest.received_bytes(), b"ls -l\r");
    assert!(
        guest.received.iter().all(|&ch| ch & !dr::DATA == 0),
        "no error bits"
    );
    assert_eq!(guest.interrupts, 6);
    assert!(!guest.line);
    assert_eq!(
        guest.readl(UARTRIS),
        irq::TX,
        "RX and RT are cleared once the FIFO is empty"
    );
}

#[test]
fn a_burst_is_read_in_one_interrupt() {
    let mut guest = started();
    for &b in b"paste" {
        let effects = guest.uart.push_rx(b);
        guest.track(effects);
    }
    assert!(guest.line);
    assert_eq!(guest.readl(UARTMIS), irq::RT | irq::RX);
    guest.run_interrupts();
    assert_eq!(guest.received_bytes(), b"paste");
    assert_eq!(guest.interrupts, 1);
}

#[test]
fn overrun_is_reported_on_the_next_byte() {
    let mut guest = started();
    guest.stop_rx(); // throttled: nobody reads
    for i in 0..40u8 {
        let effects = guest.uart.push_rx(b'a' + i % 26);
        assert_eq!(effects.rx_overrun, i >= 32);
        guest.track(effects);
    }
    assert_eq!(guest.uart.rx_dropped(), 8);
    assert_eq!(guest.uart.rx_space(), 0);
    assert!(!guest.line, "masked while throttled");
    guest.unthrottle_rx();
    assert_eq!(guest.received.len(), 32);
    assert!(guest.received.iter().all(|&ch| ch & dr::OE == 0));
    // The next byte that fits carries the overrun, which Linux counts.
    guest.type_byte(b'z');
    assert_eq!(guest.received.last(), Some(&(dr::OE | u32::from(b'z'))));
    guest.type_byte(b'y');
    assert_eq!(guest.received.last(), Some(&u32::from(b'y')));
    // OERIS is latched (masked by Linux) until cleared.
    assert_eq!(guest.readl(UARTRIS) & irq::OE, irq::OE);
    guest.shutdown();
    assert_eq!(guest.readl(UARTRIS), irq::TX);
}

#[test]
fn break_then_sysrq_key() {
    let mut guest = started();
    let effects = guest.uart.push_break();
    guest.track(effects);
    guest.run_interrupts();
    guest.type_byte(b't');
    assert_eq!(guest.received, [dr::BE, u32::from(b't')]);
}

#[test]
fn polling_console_quiesce_and_get_char() {
    // pl011_get_poll_char (kgdb): pl011_quiesce_irqs, then FR and DR.
    let mut guest = started();
    guest.im |= irq::TX;
    guest.writel(guest.im, UARTIMSC);
    let effects = guest.uart.push_rx(b'g');
    guest.track(effects);
    let mis = guest.readl(UARTMIS);
    guest.writel(mis, UARTICR);
    let imsc = guest.readl(UARTIMSC);
    guest.writel(imsc & !irq::TX, UARTIMSC);
    // RX and RT were cleared by the ICR write: the line is down though a byte waits.
    assert!(!guest.line);
    assert_eq!(guest.readl(UARTFR) & fr::RXFE, 0);
    assert_eq!(guest.readl(UARTDR), u32::from(b'g'));
    assert_eq!(guest.readl(UARTFR) & fr::RXFE, fr::RXFE);
}

#[test]
fn shutdown_masks_everything() {
    let mut guest = started();
    guest.shutdown();
    let effects = guest.uart.push_rx(b'x');
    guest.track(effects);
    assert!(!guest.line);
    // A new startup drains the stale byte and unmasks again.
    guest.startup();
    assert!(guest.received.is_empty());
    guest.type_byte(b'y');
    assert_eq!(guest.received_bytes(), b"y");
}

#[test]
fn earlycon_byte_writes_and_reads() {
    // pl011_putc / pl011_getc with the default UPIO_MEM: 32-bit FR, 8-bit DR.
    let mut guest = Guest::new();
    for &c in b"earlycon\n" {
        while guest.readl(UARTFR) & fr::TXFF != 0 {}
        guest.write(c.into(), UARTDR, AccessWidth::Byte);
        while guest.readl(UARTFR) & fr::BUSY != 0 {}
    }
    assert_eq!(guest.console, b"earlycon\n");
    let effects = guest.uart.push_rx(b'q');
    guest.track(effects);
    assert_eq!(guest.readl(UARTFR) & fr::RXFE, 0);
    assert_eq!(guest.read(UARTDR, AccessWidth::Byte), u32::from(b'q'));
    assert_eq!(guest.readl(UARTFR) & fr::RXFE, fr::RXFE);
}
