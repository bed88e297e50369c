//! Register-level behaviour of the emulated SBSA UART.

use hv_console::vuart::{
    dr, fr, irq, rsr, AccessWidth, Effects, Register, VUart, VUartError, REGION_SIZE,
    RX_FIFO_DEPTH, UARTCR, UARTDMACR, UARTDR, UARTFBRD, UARTFR, UARTIBRD, UARTICR, UARTIFLS,
    UARTILPR, UARTIMSC, UARTLCR_H, UARTMIS, UARTPCELLID0, UARTPERIPHID0, UARTRIS, UARTRSR,
};

const W: AccessWidth = AccessWidth::Word;
const SBSA_REGISTERS: [u64; 7] = [UARTDR, UARTRSR, UARTFR, UARTIMSC, UARTRIS, UARTMIS, UARTICR];

fn read(uart: &mut VUart, offset: u64) -> u32 {
    uart.read(offset, W).unwrap().value
}

fn write(uart: &mut VUart, offset: u64, value: u32) -> Effects {
    uart.write(offset, W, value.into()).unwrap()
}

#[test]
fn reset_state() {
    let mut uart = VUart::new();
    assert_eq!(read(&mut uart, UARTFR), fr::TXFE | fr::RXFE);
    assert_eq!(read(&mut uart, UARTRIS), irq::TX);
    assert_eq!(read(&mut uart, UARTMIS), 0);
    assert_eq!(read(&mut uart, UARTIMSC), 0);
    assert_eq!(read(&mut uart, UARTRSR), 0);
    assert_eq!(read(&mut uart, UARTICR), 0);
    assert_eq!(read(&mut uart, UARTDR), 0, "an empty FIFO reads 0");
    assert!(!uart.irq_line());
    assert_eq!(uart.rx_space(), RX_FIFO_DEPTH);
    assert_eq!(uart.rx_dropped(), 0);
    assert_eq!(uart, VUart::default());
}

#[test]
fn widths() {
    for offset in SBSA_REGISTERS {
        for width in [AccessWidth::Byte, AccessWidth::Halfword, AccessWidth::Word] {
            let mut uart = VUart::new();
            assert!(uart.read(offset, width).is_ok(), "{offset:#x} {width:?}");
            assert!(
                uart.write(offset, width, 0).is_ok(),
                "{offset:#x} {width:?}"
            );
        }
        let mut uart = VUart::new();
        let width = AccessWidth::Doubleword;
        assert_eq!(
            uart.read(offset, width),
            Err(VUartError::Width { offset, width })
        );
        assert_eq!(
            uart.write(offset, width, 0),
            Err(VUartError::Width { offset, width })
        );
    }
    // Narrow reads return the low bits.
    let mut uart = VUart::new();
    write(&mut uart, UARTIMSC, irq::ALL);
    assert_eq!(uart.read(UARTIMSC, AccessWidth::Byte).unwrap().value, 0xFF);
    assert_eq!(
        uart.read(UARTIMSC, AccessWidth::Halfword).unwrap().value,
        irq::ALL
    );
}

#[test]
fn misaligned_and_unknown_offsets() {
    let mut uart = VUart::new();
    for offset in [1, 2, 3, 0x19, 0x3A, 0x45, 0xFFF] {
        for width in [AccessWidth::Byte, AccessWidth::Halfword, AccessWidth::Word] {
            assert_eq!(
                uart.read(offset, width),
                Err(VUartError::Misaligned { offset, width })
            );
            assert_eq!(
                uart.write(offset, width, 0x41),
                Err(VUartError::Misaligned { offset, width })
            );
        }
    }
    for offset in [
        0x008, 0x00C, 0x010, 0x014, 0x01C, 0x04C, 0x080, 0x090, 0xFCC, 0xFD0, 0xFDC,
    ] {
        assert_eq!(uart.read(offset, W), Err(VUartError::NoRegister { offset }));
        assert_eq!(
            uart.write(offset, W, 0),
            Err(VUartError::NoRegister { offset })
        );
    }
    for offset in [REGION_SIZE, REGION_SIZE + 1, 0x2000, u64::MAX, u64::MAX - 3] {
        assert_eq!(uart.read(offset, W), Err(VUartError::NoRegister { offset }));
        assert_eq!(
            uart.write(offset, W, 0),
            Err(VUartError::NoRegister { offset })
        );
    }
    // Nothing changed.
    assert_eq!(uart, VUart::new());
}

#[test]
fn pl011_only_registers_read_as_zero_ignore_writes_and_are_reported_once() {
    let mut offsets = vec![
        UARTILPR, UARTIBRD, UARTFBRD, UARTLCR_H, UARTCR, UARTIFLS, UARTDMACR,
    ];
    offsets.extend((0..4).map(|n| UARTPERIPHID0 + 4 * n));
    offsets.extend((0..4).map(|n| UARTPCELLID0 + 4 * n));
    let mut uart = VUart::new();
    let mut reported = Vec::new();
    for &offset in &offsets {
        let register = Register::at(offset).unwrap();
        assert!(!register.is_sbsa());
        let first = uart.write(offset, W, 0xFFFF_FFFF).unwrap();
        assert_eq!(
            first,
            Effects {
                unimplemented: Some(register),
                ..Effects::default()
            }
        );
        reported.push(register);
        // Then quiet, for reads and writes, at any width.
        let read = uart.read(offset, AccessWidth::Halfword).unwrap();
        assert_eq!(read.value, 0);
        assert!(read.effects.is_empty());
        assert!(uart.write(offset, AccessWidth::Byte, 1).unwrap().is_empty());
    }
    // Fifteen distinct registers.
    for (i, a) in reported.iter().enumerate() {
        assert!(!reported[i + 1..].contains(a));
    }
    // The rest of the state is untouched.
    let mut fresh = VUart::new();
    for offset in SBSA_REGISTERS {
        assert_eq!(read(&mut uart, offset), read(&mut fresh, offset));
    }
    // Each UART reports for itself; a read is reported too.
    let mut other = VUart::new();
    assert_eq!(
        other
            .read(UARTCR, AccessWidth::Halfword)
            .unwrap()
            .effects
            .unimplemented,
        Some(Register::Cr)
    );
}

#[test]
fn register_names() {
    assert_eq!(Register::at(UARTDR).unwrap().to_string(), "UARTDR");
    assert_eq!(
        Register::at(UARTRSR).unwrap().to_string(),
        "UARTRSR/UARTECR"
    );
    assert_eq!(Register::at(UARTLCR_H).unwrap().to_string(), "UARTLCR_H");
    assert_eq!(Register::at(0xFE8).unwrap().to_string(), "UARTPeriphID2");
    assert_eq!(Register::at(0xFFC).unwrap().to_string(), "UARTPCellID3");
    assert_eq!(Register::at(0x008), None);
    assert_eq!(Register::at(0xFE1), None);
    for offset in SBSA_REGISTERS {
        assert!(Register::at(offset).unwrap().is_sbsa());
    }
}

#[test]
fn error_messages() {
    assert_eq!(
        VUartError::Width {
            offset: 0x18,
            width: AccessWidth::Doubleword
        }
        .to_string(),
        "64-bit access at offset 0x18: the UART takes 8, 16 and 32-bit accesses"
    );
    assert_eq!(
        VUartError::Misaligned {
            offset: 0x1,
            width: AccessWidth::Byte
        }
        .to_string(),
        "8-bit access at offset 0x1 does not start at a register"
    );
    assert_eq!(
        VUartError::NoRegister { offset: 0x80 }.to_string(),
        "no UART register at offset 0x80"
    );
}

#[test]
fn transmit() {
    let mut uart = VUart::new();
    // Only the low byte of the register is sent, whatever the width.
    assert_eq!(
        uart.write(UARTDR, W, 0x1234_5641).unwrap(),
        Effects {
            tx: Some(0x41),
            ..Effects::default()
        }
    );
    assert_eq!(
        uart.write(UARTDR, AccessWidth::Halfword, 0x0F42)
            .unwrap()
            .tx,
        Some(0x42)
    );
    assert_eq!(
        uart.write(UARTDR, AccessWidth::Byte, 0xFF43).unwrap().tx,
        Some(0x43)
    );
    // The transmit FIFO stays empty.
    assert_eq!(
        read(&mut uart, UARTFR) & (fr::TXFE | fr::TXFF | fr::BUSY),
        fr::TXFE
    );
}

#[test]
fn transmit_interrupt_is_always_raised() {
    let mut uart = VUart::new();
    assert_eq!(write(&mut uart, UARTIMSC, irq::TX).irq_line, Some(true));
    // Clearing it does not stick.
    assert_eq!(write(&mut uart, UARTICR, irq::TX).irq_line, None);
    assert_eq!(read(&mut uart, UARTMIS), irq::TX);
    assert_eq!(write(&mut uart, UARTIMSC, 0).irq_line, Some(false));
}

#[test]
fn interrupt_mask() {
    let mut uart = VUart::new();
    // Bits past 10 do not exist.
    write(&mut uart, UARTIMSC, 0xFFFF_FFFF);
    assert_eq!(read(&mut uart, UARTIMSC), irq::ALL);
    // A narrow write changes only its bytes.
    uart.write(UARTIMSC, AccessWidth::Byte, 0).unwrap();
    assert_eq!(read(&mut uart, UARTIMSC), irq::ALL & !0xFF);
    uart.write(UARTIMSC, AccessWidth::Halfword, u64::from(irq::RX))
        .unwrap();
    assert_eq!(read(&mut uart, UARTIMSC), irq::RX);
    // Read-only registers ignore writes, quietly.
    for offset in [UARTFR, UARTRIS, UARTMIS] {
        assert!(write(&mut uart, offset, 0xFFFF).is_empty());
    }
    assert_eq!(read(&mut uart, UARTIMSC), irq::RX);
    assert_eq!(read(&mut uart, UARTRIS), irq::TX);
}

#[test]
fn receive_interrupts_follow_the_fifo_and_icr() {
    let mut uart = VUart::new();
    write(&mut uart, UARTIMSC, irq::RX | irq::RT);
    let effects = uart.push_rx(b'a');
    assert_eq!(
        effects,
        Effects {
            irq_line: Some(true),
            ..Effects::default()
        }
    );
    assert_eq!(read(&mut uart, UARTRIS), irq::TX | irq::RX | irq::RT);
    assert_eq!(uart.push_rx(b'b').irq_line, None, "already high");
    // Clearing RX alone keeps RT: still high.
    assert_eq!(write(&mut uart, UARTICR, irq::RX).irq_line, None);
    assert_eq!(read(&mut uart, UARTMIS), irq::RT);
    // Clearing RT too lowers the line though data waits...
    assert_eq!(write(&mut uart, UARTICR, irq::RT).irq_line, Some(false));
    assert_eq!(read(&mut uart, UARTFR) & fr::RXFE, 0);
    // ...until the next byte.
    assert_eq!(uart.push_rx(b'c').irq_line, Some(true));
    // Reading the FIFO empty lowers it.
    let a = uart.read(UARTDR, W).unwrap();
    assert_eq!((a.value, a.effects.irq_line), (u32::from(b'a'), None));
    assert_eq!(read(&mut uart, UARTDR), u32::from(b'b'));
    let c = uart.read(UARTDR, AccessWidth::Byte).unwrap();
    assert_eq!(
        (c.value, c.effects.irq_line),
        (u32::from(b'c'), Some(false))
    );
    assert_eq!(read(&mut uart, UARTRIS), irq::TX);
    // A narrow ICR write clears only its bits.
    uart.push_rx(b'd');
    uart.write(UARTICR, AccessWidth::Byte, 0xFFFF_FF00).unwrap();
    assert_eq!(read(&mut uart, UARTRIS), irq::TX | irq::RX | irq::RT);
}

#[test]
fn fifo_flags_and_order() {
    let mut uart = VUart::new();
    for i in 0..RX_FIFO_DEPTH {
        assert_eq!(uart.rx_space(), RX_FIFO_DEPTH - i);
        assert!(!uart.push_rx(i as u8).rx_overrun);
        assert_eq!(read(&mut uart, UARTFR) & fr::RXFE, 0);
    }
    assert_eq!(read(&mut uart, UARTFR), fr::TXFE | fr::RXFF);
    for i in 0..RX_FIFO_DEPTH {
        assert_eq!(read(&mut uart, UARTDR), i as u32);
        assert_eq!(read(&mut uart, UARTFR) & fr::RXFF, 0);
    }
    assert_eq!(read(&mut uart, UARTFR), fr::TXFE | fr::RXFE);
    // The ring wraps.
    for round in 0..3u8 {
        for i in 0..20u8 {
            uart.push_rx(round * 20 + i);
        }
        for i in 0..20u8 {
            assert_eq!(read(&mut uart, UARTDR), u32::from(round * 20 + i));
        }
    }
}

#[test]
fn overrun_and_error_clear() {
    let mut uart = VUart::new();
    write(&mut uart, UARTIMSC, irq::OE);
    for i in 0..RX_FIFO_DEPTH as u8 {
        uart.push_rx(i);
    }
    let effects = uart.push_rx(0xEE);
    assert_eq!(
        effects,
        Effects {
            rx_overrun: true,
            irq_line: Some(true),
            ..Effects::default()
        }
    );
    assert!(uart.push_rx(0xEF).rx_overrun);
    assert_eq!(uart.rx_dropped(), 2);
    assert_eq!(read(&mut uart, UARTRSR), rsr::OE);
    assert_eq!(read(&mut uart, UARTRIS) & irq::OE, irq::OE);
    // The bytes already in the FIFO carry no error.
    assert_eq!(read(&mut uart, UARTDR), 0);
    // The next byte in carries OE.
    uart.push_rx(b'n');
    for i in 1..RX_FIFO_DEPTH as u32 {
        assert_eq!(read(&mut uart, UARTDR), i);
    }
    assert_eq!(read(&mut uart, UARTDR), dr::OE | u32::from(b'n'));
    // UARTRSR.OE stays until UARTECR is written (any value, any width).
    assert_eq!(read(&mut uart, UARTRSR), rsr::OE);
    uart.write(UARTRSR, AccessWidth::Byte, 0).unwrap();
    assert_eq!(read(&mut uart, UARTRSR), 0);
    // OERIS stays until UARTICR clears it.
    assert_eq!(write(&mut uart, UARTICR, irq::OE).irq_line, Some(false));
}

#[test]
fn break_condition() {
    let mut uart = VUart::new();
    write(&mut uart, UARTIMSC, irq::BE);
    assert_eq!(uart.push_break().irq_line, Some(true));
    assert_eq!(
        read(&mut uart, UARTRIS),
        irq::TX | irq::RX | irq::RT | irq::BE
    );
    uart.push_rx(b's');
    assert_eq!(read(&mut uart, UARTDR), dr::BE);
    // UARTRSR describes the byte last read.
    assert_eq!(read(&mut uart, UARTRSR), rsr::BE);
    assert_eq!(read(&mut uart, UARTDR), u32::from(b's'));
    assert_eq!(read(&mut uart, UARTRSR), 0);
    assert_eq!(write(&mut uart, UARTICR, irq::BE).irq_line, Some(false));
    // A break into a full FIFO is lost like a byte.
    for _ in 0..RX_FIFO_DEPTH {
        uart.push_rx(0);
    }
    let effects = uart.push_break();
    assert!(effects.rx_overrun);
    assert_eq!(read(&mut uart, UARTRIS) & irq::BE, 0);
}
