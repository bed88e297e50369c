//! An emulated Arm SBSA Generic UART, the UART a guest drives for its console.
//!
//! The guest's device tree describes it as `compatible = "arm,sbsa-uart"` with
//! `current-speed = <115200>`, as Xen's vpl011 does; Linux drives it with
//! `drivers/tty/serial/amba-pl011.c` (`sbsa_uart_probe`, `vendor_sbsa`: 32-bit accesses, no
//! baud rate or line settings, always enabled). The hypervisor leaves the UART's 4 KiB page
//! ([`REGION_SIZE`]) out of stage 2 and forwards the guest's data aborts there to
//! [`VUart::read`] and [`VUart::write`]; it feeds what the user types for the guest to
//! [`VUart::push_rx`] and drives the UART's SPI at the level [`VUart::irq_line`] gives,
//! acting on the [`Effects`] every call returns.
//!
//! References: the *PrimeCell UART (PL011) Technical Reference Manual* (ARM DDI 0183,
//! "PL011 TRM" below, chapter 3 "Programmers Model") for the register layout and bits; the
//! Arm *Base System Architecture* (DEN0094, formerly the SBSA, DEN0029), appendix "Generic
//! UART", for the subset a Generic UART implements: `UARTDR`, `UARTRSR/UARTECR`, `UARTFR`,
//! `UARTIMSC`, `UARTRIS`, `UARTMIS` and `UARTICR`, with fixed line settings and no modem
//! or DMA signals.
//!
//! # Registers
//!
//! | offset | register | here |
//! |---|---|---|
//! | `0x000` | [`UARTDR`] | write: transmit the low byte. Read: the oldest received byte and its error bits ([`dr`]), 0 when the FIFO is empty |
//! | `0x004` | [`UARTRSR`] / `UARTECR` | read: [`rsr`] errors; any write clears them |
//! | `0x018` | [`UARTFR`] | read-only flags ([`fr`]): `TXFE` always, `RXFE`/`RXFF` from the receive FIFO |
//! | `0x038` | [`UARTIMSC`] | interrupt mask, bits 10:0 ([`irq`]) |
//! | `0x03C` | [`UARTRIS`] | read-only raw interrupt status |
//! | `0x040` | [`UARTMIS`] | read-only `UARTRIS & UARTIMSC` |
//! | `0x044` | [`UARTICR`] | write-only: write 1 to clear a latched interrupt |
//! | PL011 only | `UARTILPR`, `UARTIBRD`, `UARTFBRD`, `UARTLCR_H`, `UARTCR`, `UARTIFLS`, `UARTDMACR`, `UARTPeriphID0-3`, `UARTPCellID0-3` | read as zero, writes ignored; [`Effects::unimplemented`] names each the first time the guest touches it |
//!
//! Every other offset in the page (the PL011's reserved and test registers) is a
//! [`VUartError::NoRegister`], as is any offset past the page: Linux touches none of them,
//! so an access there is a guest bug worth an abort.
//!
//! # Access widths
//!
//! The Generic UART is specified for 32-bit accesses, which is what Linux's `sbsa-uart`
//! driver does. 8- and 16-bit accesses are accepted too, on every register: Linux's
//! `earlycon` writes and reads `UARTDR` with single bytes unless the device tree says
//! `reg-io-width = <4>`, and its `pl011` earlycon reads `UARTCR` with 16 bits. A narrow
//! access reaches the low bits of the register and must start at the register's offset (a
//! multiple of 4). 64-bit accesses ([`VUartError::Width`]) and accesses inside a register
//! ([`VUartError::Misaligned`]) are errors, like unknown offsets.
//!
//! # Behaviour
//!
//! - **Transmit.** The hypervisor takes every byte written to `UARTDR` at once
//!   ([`Effects::tx`]), so the transmit FIFO is always empty: `UARTFR.TXFE` = 1, `TXFF` =
//!   `BUSY` = 0, and the transmit interrupt (`TXRIS`, "FIFO at or below its trigger level")
//!   is always asserted; writing `UARTICR.TXIC` does not clear it for longer than the write.
//!   This is Xen's vpl011 model too, and what Linux's interrupt-driven transmit expects: it
//!   unmasks `TXIM` when it has more to send and masks it when done.
//! - **Receive.** A [`RX_FIFO_DEPTH`]-byte FIFO, filled by [`VUart::push_rx`]. There is no
//!   time here: a byte is available as soon as it is pushed, and the "receive timeout" (32
//!   bit periods without a new byte) counts as elapsed at once. So each pushed byte sets
//!   both `RXRIS` (a trigger level of one byte: waiting for a fuller FIFO would only delay
//!   a console) and `RTRIS`. Both stay set until the FIFO is empty or the guest clears
//!   them in `UARTICR`, as on the PL011 (a cleared bit is set again by the next byte).
//!   Linux reads `UARTDR` until `UARTFR.RXFE` for either.
//! - **Overrun.** A byte pushed into a full FIFO is lost and counted
//!   ([`VUart::rx_dropped`], [`Effects::rx_overrun`]); as on the PL011 (TRM 3.3.1, 3.3.2)
//!   this sets `UARTRSR.OE` and `OERIS`, and the next byte that enters the FIFO carries
//!   `UARTDR.OE`, which Linux counts as an overrun. [`VUart::rx_space`] lets the caller
//!   hold bytes back instead.
//! - **Break.** [`VUart::push_break`] receives a break condition: a NUL with `UARTDR.BE`
//!   and `BERIS`, which Linux turns into a Magic SysRq prefix on its console.
//! - **Interrupt line** = `(UARTRIS & UARTIMSC) != 0`, level-sensitive
//!   ([`VUart::irq_line`]). Every call reports a change of level in
//!   [`Effects::irq_line`].
//!
//! # Example
//!
//! ```
//! use hv_console::vuart::{fr, irq, AccessWidth, VUart, UARTDR, UARTFR, UARTIMSC};
//!
//! let w = AccessWidth::Word;
//! let mut uart = VUart::new();
//! // Linux's sbsa-uart startup unmasks the receive interrupts.
//! uart.write(UARTIMSC, w, (irq::RT | irq::RX).into()).unwrap();
//! // The guest prints.
//! assert_eq!(uart.write(UARTDR, w, b'h'.into()).unwrap().tx, Some(b'h'));
//! // The user types: the line goes up; the guest reads until the FIFO is empty.
//! assert_eq!(uart.push_rx(b'l').irq_line, Some(true));
//! assert_eq!(uart.read(UARTFR, w).unwrap().value & fr::RXFE, 0);
//! let read = uart.read(UARTDR, w).unwrap();
//! assert_eq!((read.value, read.effects.irq_line), (b'l'.into(), Some(false)));
//! ```

use core::fmt;

pub use arm_trap::AccessWidth;

/// Size of the UART's MMIO frame: one 4 KiB page, trapped as a whole.
pub const REGION_SIZE: u64 = 0x1000;

/// Depth of the receive FIFO, in bytes (the PL011's, and what Linux's `sbsa_uart_probe`
/// assumes).
pub const RX_FIFO_DEPTH: usize = 32;

/// `UARTDR`, data register (PL011 TRM 3.3.1; SBSA Generic UART).
pub const UARTDR: u64 = 0x000;
/// `UARTRSR` on read, `UARTECR` on write: receive status / error clear (TRM 3.3.2; SBSA).
pub const UARTRSR: u64 = 0x004;
/// `UARTFR`, flag register (TRM 3.3.3; SBSA).
pub const UARTFR: u64 = 0x018;
/// `UARTILPR`, IrDA low-power counter (TRM 3.3.4; PL011 only).
pub const UARTILPR: u64 = 0x020;
/// `UARTIBRD`, integer baud rate divisor (TRM 3.3.5; PL011 only).
pub const UARTIBRD: u64 = 0x024;
/// `UARTFBRD`, fractional baud rate divisor (TRM 3.3.6; PL011 only).
pub const UARTFBRD: u64 = 0x028;
/// `UARTLCR_H`, line control (TRM 3.3.7; PL011 only).
pub const UARTLCR_H: u64 = 0x02C;
/// `UARTCR`, control register (TRM 3.3.8; PL011 only: the Generic UART is always enabled).
pub const UARTCR: u64 = 0x030;
/// `UARTIFLS`, FIFO interrupt level select (TRM 3.3.9; PL011 only).
pub const UARTIFLS: u64 = 0x034;
/// `UARTIMSC`, interrupt mask set/clear (TRM 3.3.10; SBSA).
pub const UARTIMSC: u64 = 0x038;
/// `UARTRIS`, raw interrupt status (TRM 3.3.11; SBSA).
pub const UARTRIS: u64 = 0x03C;
/// `UARTMIS`, masked interrupt status (TRM 3.3.12; SBSA).
pub const UARTMIS: u64 = 0x040;
/// `UARTICR`, interrupt clear (TRM 3.3.13; SBSA).
pub const UARTICR: u64 = 0x044;
/// `UARTDMACR`, DMA control (TRM 3.3.14; PL011 only).
pub const UARTDMACR: u64 = 0x048;
/// `UARTPeriphID0`; `UARTPeriphID1` to `3` follow at 4-byte steps (TRM 3.3.15; PL011 only).
pub const UARTPERIPHID0: u64 = 0xFE0;
/// `UARTPCellID0`; `UARTPCellID1` to `3` follow at 4-byte steps (TRM 3.3.16; PL011 only).
pub const UARTPCELLID0: u64 = 0xFF0;

/// Bits of a `UARTDR` read (PL011 TRM 3.3.1): the received byte and its error flags.
pub mod dr {
    /// Bits 7:0: the received (or, on write, transmitted) byte.
    pub const DATA: u32 = 0xFF;
    /// Bit 8: framing error (never set here).
    pub const FE: u32 = 1 << 8;
    /// Bit 9: parity error (never set here).
    pub const PE: u32 = 1 << 9;
    /// Bit 10: break error: this NUL stands for a break condition.
    pub const BE: u32 = 1 << 10;
    /// Bit 11: overrun error: bytes were lost before this one.
    pub const OE: u32 = 1 << 11;
}

/// Bits of `UARTRSR` (PL011 TRM 3.3.2). `FE`, `PE` and `BE` are those of the byte last read
/// from `UARTDR`; `OE` is set by an overrun. A write to `UARTECR` clears all four.
pub mod rsr {
    /// Bit 0: framing error (never set here).
    pub const FE: u32 = 1 << 0;
    /// Bit 1: parity error (never set here).
    pub const PE: u32 = 1 << 1;
    /// Bit 2: break error.
    pub const BE: u32 = 1 << 2;
    /// Bit 3: overrun error.
    pub const OE: u32 = 1 << 3;
}

/// Bits of `UARTFR` (PL011 TRM 3.3.3). The modem status bits (`CTS`, `DSR`, `DCD`, `RI`)
/// read as 0: the Generic UART has no modem lines.
pub mod fr {
    /// Bit 3: busy transmitting (always 0: transmission is instant).
    pub const BUSY: u32 = 1 << 3;
    /// Bit 4: receive FIFO empty.
    pub const RXFE: u32 = 1 << 4;
    /// Bit 5: transmit FIFO full (always 0).
    pub const TXFF: u32 = 1 << 5;
    /// Bit 6: receive FIFO full.
    pub const RXFF: u32 = 1 << 6;
    /// Bit 7: transmit FIFO empty (always 1).
    pub const TXFE: u32 = 1 << 7;
}

/// Interrupt bits, the same in `UARTIMSC` (`..IM`), `UARTRIS` (`..RIS`), `UARTMIS`
/// (`..MIS`) and `UARTICR` (`..IC`) (PL011 TRM 3.3.10 to 3.3.13).
pub mod irq {
    /// Bit 0: nUARTRI modem interrupt (never raised).
    pub const RI: u32 = 1 << 0;
    /// Bit 1: nUARTCTS modem interrupt (never raised).
    pub const CTS: u32 = 1 << 1;
    /// Bit 2: nUARTDCD modem interrupt (never raised).
    pub const DCD: u32 = 1 << 2;
    /// Bit 3: nUARTDSR modem interrupt (never raised).
    pub const DSR: u32 = 1 << 3;
    /// Bit 4: receive interrupt.
    pub const RX: u32 = 1 << 4;
    /// Bit 5: transmit interrupt.
    pub const TX: u32 = 1 << 5;
    /// Bit 6: receive timeout interrupt.
    pub const RT: u32 = 1 << 6;
    /// Bit 7: framing error interrupt (never raised).
    pub const FE: u32 = 1 << 7;
    /// Bit 8: parity error interrupt (never raised).
    pub const PE: u32 = 1 << 8;
    /// Bit 9: break error interrupt.
    pub const BE: u32 = 1 << 9;
    /// Bit 10: overrun error interrupt.
    pub const OE: u32 = 1 << 10;
    /// Every interrupt bit; the rest of these registers reads as 0.
    pub const ALL: u32 = (1 << 11) - 1;
}

/// A register of the UART's frame, as [`VUart::read`] and [`VUart::write`] decode it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Register {
    /// `UARTDR`.
    Dr,
    /// `UARTRSR` / `UARTECR`.
    Rsr,
    /// `UARTFR`.
    Fr,
    /// `UARTIMSC`.
    Imsc,
    /// `UARTRIS`.
    Ris,
    /// `UARTMIS`.
    Mis,
    /// `UARTICR`.
    Icr,
    /// `UARTILPR` (PL011 only).
    Ilpr,
    /// `UARTIBRD` (PL011 only).
    Ibrd,
    /// `UARTFBRD` (PL011 only).
    Fbrd,
    /// `UARTLCR_H` (PL011 only).
    LcrH,
    /// `UARTCR` (PL011 only).
    Cr,
    /// `UARTIFLS` (PL011 only).
    Ifls,
    /// `UARTDMACR` (PL011 only).
    Dmacr,
    /// `UARTPeriphID<n>`, n = 0..=3 (PL011 only).
    PeriphId(u8),
    /// `UARTPCellID<n>`, n = 0..=3 (PL011 only).
    PCellId(u8),
}

impl Register {
    /// The register at `offset` (a multiple of 4 below [`REGION_SIZE`]), if there is one.
    pub const fn at(offset: u64) -> Option<Register> {
        Some(match offset {
            UARTDR => Register::Dr,
            UARTRSR => Register::Rsr,
            UARTFR => Register::Fr,
            UARTILPR => Register::Ilpr,
            UARTIBRD => Register::Ibrd,
            UARTFBRD => Register::Fbrd,
            UARTLCR_H => Register::LcrH,
            UARTCR => Register::Cr,
            UARTIFLS => Register::Ifls,
            UARTIMSC => Register::Imsc,
            UARTRIS => Register::Ris,
            UARTMIS => Register::Mis,
            UARTICR => Register::Icr,
            UARTDMACR => Register::Dmacr,
            0xFE0 | 0xFE4 | 0xFE8 | 0xFEC => {
                Register::PeriphId(((offset - UARTPERIPHID0) / 4) as u8)
            }
            0xFF0 | 0xFF4 | 0xFF8 | 0xFFC => Register::PCellId(((offset - UARTPCELLID0) / 4) as u8),
            _ => return None,
        })
    }

    /// Whether the SBSA Generic UART has this register (else it is a PL011 register the
    /// model reads as zero and ignores writes to).
    pub const fn is_sbsa(self) -> bool {
        matches!(
            self,
            Register::Dr
                | Register::Rsr
                | Register::Fr
                | Register::Imsc
                | Register::Ris
                | Register::Mis
                | Register::Icr
        )
    }

    /// The bit recording, in [`VUart`], that a PL011-only register was reported.
    const fn report_bit(self) -> u32 {
        let index = match self {
            Register::Ilpr => 0,
            Register::Ibrd => 1,
            Register::Fbrd => 2,
            Register::LcrH => 3,
            Register::Cr => 4,
            Register::Ifls => 5,
            Register::Dmacr => 6,
            Register::PeriphId(n) => 7 + (n as u32 & 3),
            Register::PCellId(n) => 11 + (n as u32 & 3),
            _ => return 0,
        };
        1 << index
    }
}

impl fmt::Display for Register {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            Register::Dr => "UARTDR",
            Register::Rsr => "UARTRSR/UARTECR",
            Register::Fr => "UARTFR",
            Register::Imsc => "UARTIMSC",
            Register::Ris => "UARTRIS",
            Register::Mis => "UARTMIS",
            Register::Icr => "UARTICR",
            Register::Ilpr => "UARTILPR",
            Register::Ibrd => "UARTIBRD",
            Register::Fbrd => "UARTFBRD",
            Register::LcrH => "UARTLCR_H",
            Register::Cr => "UARTCR",
            Register::Ifls => "UARTIFLS",
            Register::Dmacr => "UARTDMACR",
            Register::PeriphId(n) => return write!(f, "UARTPeriphID{n}"),
            Register::PCellId(n) => return write!(f, "UARTPCellID{n}"),
        };
        f.write_str(name)
    }
}

/// An access the UART does not answer; the hypervisor injects a data abort into the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VUartError {
    /// A 64-bit access.
    Width {
        /// Offset of the access in the UART's frame.
        offset: u64,
        /// Its width.
        width: AccessWidth,
    },
    /// An access that does not start at a register's offset (a multiple of 4).
    Misaligned {
        /// Offset of the access in the UART's frame.
        offset: u64,
        /// Its width.
        width: AccessWidth,
    },
    /// An offset where neither the Generic UART nor the PL011 has a register, or one past
    /// the frame.
    NoRegister {
        /// Offset of the access in the UART's frame.
        offset: u64,
    },
}

impl fmt::Display for VUartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            VUartError::Width { offset, width } => write!(
                f,
                "{}-bit access at offset {offset:#x}: the UART takes 8, 16 and 32-bit accesses",
                width.bits()
            ),
            VUartError::Misaligned { offset, width } => write!(
                f,
                "{}-bit access at offset {offset:#x} does not start at a register",
                width.bits()
            ),
            VUartError::NoRegister { offset } => {
                write!(f, "no UART register at offset {offset:#x}")
            }
        }
    }
}

/// What an operation changed that the hypervisor acts on. `Default` is "nothing".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Effects {
    /// A byte the guest transmitted: hand it to the console multiplexer.
    pub tx: Option<u8>,
    /// The interrupt line changed to this level: drive the UART's SPI with it.
    pub irq_line: Option<bool>,
    /// The guest touched, for the first time, a PL011 register the Generic UART does not
    /// have (read as zero, write ignored): worth one log line.
    pub unimplemented: Option<Register>,
    /// [`VUart::push_rx`] found the receive FIFO full: the byte was lost.
    pub rx_overrun: bool,
}

impl Effects {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == Effects::default()
    }
}

/// The result of a guest read: the value for the guest's register (already cut to the
/// access width) and what the read changed (reading `UARTDR` takes a byte from the FIFO,
/// which may lower the interrupt line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterRead {
    /// The value read, zero-extended from the access width.
    pub value: u32,
    /// What the read changed.
    pub effects: Effects,
}

/// The UART's state: receive FIFO, interrupt mask and status, errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VUart {
    /// Receive FIFO entries, as `UARTDR` returns them (byte and error bits), oldest at
    /// `rx_head`.
    rx_fifo: [u16; RX_FIFO_DEPTH],
    rx_head: usize,
    rx_len: usize,
    /// `UARTIMSC`.
    imsc: u32,
    /// The latched bits of `UARTRIS`: `RX`, `RT`, `BE`, `OE` (`TX` is always set).
    ris_latched: u32,
    /// `UARTRSR`.
    rsr: u32,
    /// Bytes were lost since the last byte entered the FIFO: the next one carries `DR.OE`.
    overrun: bool,
    /// Bytes lost to overruns since the UART was created.
    rx_dropped: u64,
    /// PL011-only registers already reported in [`Effects::unimplemented`].
    reported: u32,
}

impl Default for VUart {
    fn default() -> Self {
        VUart::new()
    }
}

impl VUart {
    /// The UART after reset: FIFO empty, every interrupt masked, no error.
    pub const fn new() -> VUart {
        VUart {
            rx_fifo: [0; RX_FIFO_DEPTH],
            rx_head: 0,
            rx_len: 0,
            imsc: 0,
            ris_latched: 0,
            rsr: 0,
            overrun: false,
            rx_dropped: 0,
            reported: 0,
        }
    }

    /// Checks an access and names the register it reaches.
    fn decode(offset: u64, width: AccessWidth) -> Result<Register, VUartError> {
        if width == AccessWidth::Doubleword {
            return Err(VUartError::Width { offset, width });
        }
        if offset >= REGION_SIZE {
            return Err(VUartError::NoRegister { offset });
        }
        if offset % 4 != 0 {
            return Err(VUartError::Misaligned { offset, width });
        }
        Register::at(offset).ok_or(VUartError::NoRegister { offset })
    }

    /// A guest read of `width` at `offset` in the UART's frame.
    pub fn read(&mut self, offset: u64, width: AccessWidth) -> Result<RegisterRead, VUartError> {
        let register = VUart::decode(offset, width)?;
        let line = self.irq_line();
        let mut effects = Effects::default();
        let value = match register {
            Register::Dr => self.pop_rx(),
            Register::Rsr => self.rsr,
            Register::Fr => self.flags(),
            Register::Imsc => self.imsc,
            Register::Ris => self.raw_interrupt_status(),
            Register::Mis => self.masked_interrupt_status(),
            // Write-only: reads as zero (the PL011 TRM leaves it undefined).
            Register::Icr => 0,
            pl011_only => {
                effects.unimplemented = self.report(pl011_only);
                0
            }
        };
        effects.irq_line = self.line_change(line);
        Ok(RegisterRead {
            value: (u64::from(value) & width.mask()) as u32,
            effects,
        })
    }

    /// A guest write of `value` (the store's register value: bits past `width` are ignored)
    /// with `width` at `offset` in the UART's frame. A narrow write changes only the low
    /// bits of the register it reaches.
    pub fn write(
        &mut self,
        offset: u64,
        width: AccessWidth,
        value: u64,
    ) -> Result<Effects, VUartError> {
        let register = VUart::decode(offset, width)?;
        let mask = width.mask() as u32;
        let value = value as u32 & mask;
        let line = self.irq_line();
        let mut effects = Effects::default();
        match register {
            Register::Dr => effects.tx = Some((value & dr::DATA) as u8),
            // UARTECR: any value clears the errors.
            Register::Rsr => self.rsr = 0,
            // Read-only: Linux's split-LCR_H vendors write UARTMIS as a delay; ignored.
            Register::Fr | Register::Ris | Register::Mis => {}
            Register::Imsc => self.imsc = ((self.imsc & !mask) | value) & irq::ALL,
            Register::Icr => self.ris_latched &= !value,
            pl011_only => effects.unimplemented = self.report(pl011_only),
        }
        effects.irq_line = self.line_change(line);
        Ok(effects)
    }

    /// The user typed `byte` for this guest: it enters the receive FIFO, or is lost if the
    /// FIFO is full (an overrun, see the module's documentation).
    pub fn push_rx(&mut self, byte: u8) -> Effects {
        self.receive(u16::from(byte))
    }

    /// A break condition on the receive line (a NUL with `UARTDR.BE`, `UARTRSR.BE` when
    /// read, `BERIS`); Linux's console takes it as the start of a Magic SysRq sequence.
    pub fn push_break(&mut self) -> Effects {
        let line = self.irq_line();
        let mut effects = self.receive(dr::BE as u16);
        if !effects.rx_overrun {
            self.ris_latched |= irq::BE;
            effects.irq_line = self.line_change(line);
        }
        effects
    }

    /// Room left in the receive FIFO, in bytes.
    pub const fn rx_space(&self) -> usize {
        RX_FIFO_DEPTH - self.rx_len
    }

    /// Bytes lost because the receive FIFO was full, since the UART was created.
    pub const fn rx_dropped(&self) -> u64 {
        self.rx_dropped
    }

    /// The level of the UART's interrupt line: `(UARTRIS & UARTIMSC) != 0`.
    pub const fn irq_line(&self) -> bool {
        self.masked_interrupt_status() != 0
    }

    /// `UARTIMSC`.
    pub const fn interrupt_mask(&self) -> u32 {
        self.imsc
    }

    /// `UARTRIS`.
    pub const fn raw_interrupt_status(&self) -> u32 {
        self.ris_latched | irq::TX
    }

    /// `UARTMIS`.
    pub const fn masked_interrupt_status(&self) -> u32 {
        self.raw_interrupt_status() & self.imsc
    }

    /// `UARTFR`.
    pub const fn flags(&self) -> u32 {
        let mut flags = fr::TXFE;
        if self.rx_len == 0 {
            flags |= fr::RXFE;
        }
        if self.rx_len == RX_FIFO_DEPTH {
            flags |= fr::RXFF;
        }
        flags
    }

    /// Puts a FIFO entry (a byte and its `UARTDR` error bits) into the receive FIFO.
    fn receive(&mut self, entry: u16) -> Effects {
        let line = self.irq_line();
        let mut effects = Effects::default();
        if self.rx_len == RX_FIFO_DEPTH {
            self.rx_dropped = self.rx_dropped.saturating_add(1);
            self.overrun = true;
            self.rsr |= rsr::OE;
            self.ris_latched |= irq::OE;
            effects.rx_overrun = true;
        } else {
            let overrun = if core::mem::take(&mut self.overrun) {
                dr::OE as u16
            } else {
                0
            };
            self.rx_fifo[(self.rx_head + self.rx_len) % RX_FIFO_DEPTH] = entry | overrun;
            self.rx_len += 1;
            self.ris_latched |= irq::RX | irq::RT;
        }
        effects.irq_line = self.line_change(line);
        effects
    }

    /// Takes the oldest FIFO entry for a `UARTDR` read (0 if the FIFO is empty).
    fn pop_rx(&mut self) -> u32 {
        if self.rx_len == 0 {
            return 0;
        }
        let entry = u32::from(self.rx_fifo[self.rx_head]);
        self.rx_head = (self.rx_head + 1) % RX_FIFO_DEPTH;
        self.rx_len -= 1;
        if self.rx_len == 0 {
            self.ris_latched &= !(irq::RX | irq::RT);
        }
        // UARTRSR's FE, PE, BE (bits 2:0) describe the byte just read: UARTDR bits 10:8.
        let errors = (entry >> 8) & (rsr::FE | rsr::PE | rsr::BE);
        self.rsr = (self.rsr & rsr::OE) | errors;
        entry
    }

    /// `Some(register)` the first time a PL011-only register is touched.
    fn report(&mut self, register: Register) -> Option<Register> {
        let bit = register.report_bit();
        if self.reported & bit != 0 {
            return None;
        }
        self.reported |= bit;
        Some(register)
    }

    fn line_change(&self, before: bool) -> Option<bool> {
        let now = self.irq_line();
        (now != before).then_some(now)
    }
}
