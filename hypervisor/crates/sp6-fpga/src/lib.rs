//! The REPTAR Spartan-6 FPGA as dom0's `sp6` driver sees it: a bank of 16-bit registers
//! (DIP switches, push buttons, interrupt control, 7-segment display, LEDs) behind trapped
//! MMIO, and one level-sensitive interrupt line.
//!
//! The hypervisor owns one [`Sp6`]. It forwards dom0's data aborts on the FPGA's page to
//! [`Sp6::read`] / [`Sp6::write`], its keyboard and monitor button events to [`Sp6::press`] /
//! [`Sp6::release`], and acts on the returned [`Effects`]: log an LED row when the LEDs
//! change, drive the FPGA's SPI on the vGIC when the interrupt line changes. A [`BusError`]
//! is answered with an external abort injected into the guest (and a log line), as a bus
//! error on the board's GPMC bus would be.
//!
//! # Register map
//!
//! | offset | register | access | contents |
//! |---|---|---|---|
//! | `0x10` | [`DIP_SW`] | RO | the DIP switches, as given to [`Sp6::new`] |
//! | `0x12` | [`PUSH_BUT`] | RO | bit N = button N pressed since the last clear, or held now |
//! | `0x18` | [`IRQ_CTL`] | RW | see [`irq_ctl`] |
//! | `0x30` | [`DISP_7SEG1`] | RW | 7-segment display, 16 bits stored as written |
//! | `0x3A` | [`LED`] | RW | bit N = LED N, N = 0..=5 (see below) |
//!
//! Only 16-bit accesses to these offsets are valid. Any other width, an offset that is not
//! a multiple of 2, or an offset that is no register, is a [`BusError`]. Buttons are
//! numbered as [`Button`] says.
//!
//! # Choices where the board's documentation is silent
//!
//! - **Writes to read-only registers** (`DIP_SW`, `PUSH_BUT`) are ignored, not bus errors:
//!   the FPGA decodes them and drops the data, as its read-only registers do on the board.
//!   [`Effects::write_ignored`] says so, for the log. Writes to the read-only bits of
//!   `IRQ_CTL` (3:1, 4, 6:5) are ignored the same way, silently.
//! - **LEDs 6 and 7** belong to the FPGA: bits 7:6 of `LED` (and 15:8) read as 0 and
//!   ignore writes. The model drives only the CPU's six LEDs ([`NR_LEDS`]).
//! - **Presses while the interrupt is disabled** (`IRQ_CTL.ENABLE` = 0) only latch the
//!   button in `PUSH_BUT`; they neither set `IRQ_CTL.STATUS` nor record the button number.
//!   Setting `ENABLE` later does not turn such a latched press into an interrupt: an
//!   interrupt is raised only by a press that happens while enabled (the specification:
//!   "button presses raise the FPGA interrupt only while IRQ_CTL enables it, and latch
//!   until cleared").
//! - **Clearing `ENABLE` while `STATUS` is set** keeps `STATUS` (the interrupt stays
//!   pending) and lowers the line; setting `ENABLE` again raises it. The line is always
//!   `STATUS && ENABLE` ([`Sp6::irq_line`]).
//! - **A press of a button already held** (keyboard auto-repeat) is no new press: no effect.
//! - **Writing `CLEAR` and `ENABLE` together** clears first, then applies `ENABLE`.
//! - The button number (`IRQ_CTL` bits 3:1) survives a clear: it names the last button whose
//!   press raised the interrupt.
//!
//! # Example
//!
//! ```
//! use sp6_fpga::{irq_ctl, AccessWidth, Button, LedRow, Sp6, IRQ_CTL, LED, PUSH_BUT};
//!
//! let h = AccessWidth::Halfword;
//! let mut fpga = Sp6::new(0);
//! // dom0's sp6 driver enables the interrupt and lights LED 2.
//! fpga.write(IRQ_CTL, h, irq_ctl::ENABLE.into()).unwrap();
//! let effects = fpga.write(LED, h, 0b100).unwrap();
//! assert_eq!(effects.leds, Some((0, 0b100)));
//! assert_eq!(format!("LEDs: {}", LedRow(fpga.leds())), "LEDs: o o * o o o");
//! // Enter is pressed in the QEMU window: the line goes up.
//! assert_eq!(fpga.press(Button::Enter).irq_line, Some(true));
//! // The hard IRQ handler reads the buttons and acks.
//! assert_eq!(fpga.read(PUSH_BUT, h), Ok(Button::Enter.bit().into()));
//! let effects = fpga.write(IRQ_CTL, h, (irq_ctl::CLEAR | irq_ctl::ENABLE).into()).unwrap();
//! assert_eq!(effects.irq_line, Some(false));
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(test)]
extern crate std;

mod button;

pub use button::{keys, Button, UnknownButton, NR_BUTTONS};

use core::fmt;

/// Offset of `DIP_SW`, the DIP switches (read-only).
pub const DIP_SW: u64 = 0x10;
/// Offset of `PUSH_BUT`, the push buttons (read-only).
pub const PUSH_BUT: u64 = 0x12;
/// Offset of `IRQ_CTL`, the interrupt control and status register.
pub const IRQ_CTL: u64 = 0x18;
/// Offset of `DISP_7SEG1`, the 7-segment display.
pub const DISP_7SEG1: u64 = 0x30;
/// Offset of `LED`, the LEDs.
pub const LED: u64 = 0x3A;

/// Size of the MMIO window the hypervisor traps for the FPGA (one 4 KiB stage-2 page; every
/// offset past the last register is a [`BusError::NoRegister`]).
pub const REGION_SIZE: u64 = 0x1000;

/// Fields of `IRQ_CTL`.
pub mod irq_ctl {
    /// Bit 0, write 1 to clear: clears `STATUS` and the `PUSH_BUT` latch. Reads as 0.
    pub const CLEAR: u16 = 1 << 0;
    /// Shift of the button number field (bits 3:1, read-only).
    pub const BUTTON_SHIFT: u32 = 1;
    /// Mask of the button number field (bits 3:1, read-only): the last button whose press
    /// raised the interrupt.
    pub const BUTTON_MASK: u16 = 0b111 << BUTTON_SHIFT;
    /// Bit 4, read-only: an interrupt is pending.
    pub const STATUS: u16 = 1 << 4;
    /// Shift of the source field (bits 6:5, read-only).
    pub const SOURCE_SHIFT: u32 = 5;
    /// Mask of the source field (bits 6:5, read-only).
    pub const SOURCE_MASK: u16 = 0b11 << SOURCE_SHIFT;
    /// Source field value: the push buttons (the only source this model has).
    pub const SOURCE_BUTTONS: u16 = 0;
    /// Bit 7, read-write: the interrupt is enabled.
    pub const ENABLE: u16 = 1 << 7;
}

/// Number of LEDs that belong to the CPU (LED 0 to 5, bits 5:0 of `LED`).
pub const NR_LEDS: usize = 6;
/// The CPU's LEDs in `LED`; the other bits read as 0 and ignore writes.
pub const LED_CPU_MASK: u16 = (1 << NR_LEDS) - 1;

pub use arm_trap::AccessWidth;

/// An access the FPGA does not answer; the hypervisor injects an external abort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusError {
    /// Not a 16-bit access.
    Width {
        /// Offset of the access in the FPGA's window.
        offset: u64,
        /// Its width.
        width: AccessWidth,
    },
    /// A 16-bit access at an odd offset.
    Misaligned {
        /// Offset of the access in the FPGA's window.
        offset: u64,
    },
    /// A 16-bit access at an offset where there is no register.
    NoRegister {
        /// Offset of the access in the FPGA's window.
        offset: u64,
    },
}

impl fmt::Display for BusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BusError::Width { offset, width } => write!(
                f,
                "{}-bit access at offset {offset:#x}: FPGA registers are 16-bit",
                width.bytes() * 8
            ),
            BusError::Misaligned { offset } => {
                write!(f, "misaligned 16-bit access at offset {offset:#x}")
            }
            BusError::NoRegister { offset } => write!(f, "no FPGA register at offset {offset:#x}"),
        }
    }
}

/// What an operation changed that the hypervisor acts on. `Default` is "nothing".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Effects {
    /// The CPU LEDs changed, `(old, new)`, bit N = LED N (log a row with [`LedRow`]).
    pub leds: Option<(u8, u8)>,
    /// The interrupt line changed to this level (drive the FPGA's SPI with it).
    pub irq_line: Option<bool>,
    /// The 7-segment display changed, `(old, new)`.
    pub display: Option<(u16, u16)>,
    /// A write to a read-only register was ignored (worth a log line: a driver bug).
    pub write_ignored: bool,
}

impl Effects {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == Effects::default()
    }
}

/// The FPGA's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sp6 {
    dip_switches: u16,
    /// Buttons held now.
    held: u8,
    /// Buttons pressed since the last `IRQ_CTL.CLEAR`.
    latched: u8,
    /// `IRQ_CTL` bits 3:1.
    last_button: u8,
    /// `IRQ_CTL.STATUS`.
    status: bool,
    /// `IRQ_CTL.ENABLE`.
    enable: bool,
    /// `LED` bits 5:0.
    leds: u8,
    display: u16,
}

impl Sp6 {
    /// The FPGA after reset: DIP switches set to `dip_switches`, no button held or latched,
    /// interrupt disabled and not pending, LEDs off, display 0.
    pub const fn new(dip_switches: u16) -> Sp6 {
        Sp6 {
            dip_switches,
            held: 0,
            latched: 0,
            last_button: 0,
            status: false,
            enable: false,
            leds: 0,
            display: 0,
        }
    }

    /// Checks an access and names the register it reaches.
    fn decode(offset: u64, width: AccessWidth) -> Result<Register, BusError> {
        if width != AccessWidth::Halfword {
            return Err(BusError::Width { offset, width });
        }
        if offset % 2 != 0 {
            return Err(BusError::Misaligned { offset });
        }
        match offset {
            DIP_SW => Ok(Register::DipSw),
            PUSH_BUT => Ok(Register::PushBut),
            IRQ_CTL => Ok(Register::IrqCtl),
            DISP_7SEG1 => Ok(Register::Disp7Seg1),
            LED => Ok(Register::Led),
            _ => Err(BusError::NoRegister { offset }),
        }
    }

    /// A guest read of `width` at `offset` in the FPGA's window. Reads have no side effect.
    pub fn read(&self, offset: u64, width: AccessWidth) -> Result<u16, BusError> {
        Ok(match Sp6::decode(offset, width)? {
            Register::DipSw => self.dip_switches,
            Register::PushBut => self.push_buttons().into(),
            Register::IrqCtl => self.irq_ctl(),
            Register::Disp7Seg1 => self.display,
            Register::Led => self.leds.into(),
        })
    }

    /// A guest write of `value` (the low 16 bits of the written register; higher bits are
    /// ignored) with `width` at `offset` in the FPGA's window.
    pub fn write(
        &mut self,
        offset: u64,
        width: AccessWidth,
        value: u64,
    ) -> Result<Effects, BusError> {
        let register = Sp6::decode(offset, width)?;
        let value = value as u16; // a 16-bit access: the rest of the register is not stored
        let line = self.irq_line();
        let mut effects = Effects::default();
        match register {
            Register::DipSw | Register::PushBut => effects.write_ignored = true,
            Register::IrqCtl => {
                if value & irq_ctl::CLEAR != 0 {
                    self.status = false;
                    self.latched = 0;
                }
                self.enable = value & irq_ctl::ENABLE != 0;
            }
            Register::Disp7Seg1 => {
                if value != self.display {
                    effects.display = Some((self.display, value));
                    self.display = value;
                }
            }
            Register::Led => {
                let new = (value & LED_CPU_MASK) as u8;
                if new != self.leds {
                    effects.leds = Some((self.leds, new));
                    self.leds = new;
                }
            }
        }
        effects.irq_line = self.line_change(line);
        Ok(effects)
    }

    /// Button `button` goes down (a key press in the QEMU window, the monitor's `press`).
    /// It is held and latched in `PUSH_BUT`; if the interrupt is enabled it becomes pending
    /// (`STATUS`) with `button` as the last button. A button already held is not pressed again.
    pub fn press(&mut self, button: Button) -> Effects {
        if self.held & button.bit() != 0 {
            return Effects::default();
        }
        let line = self.irq_line();
        self.held |= button.bit();
        self.latched |= button.bit();
        if self.enable {
            self.status = true;
            self.last_button = button.index();
        }
        Effects {
            irq_line: self.line_change(line),
            ..Effects::default()
        }
    }

    /// Button `button` goes up. It stays in `PUSH_BUT` until the next clear if it was latched.
    pub fn release(&mut self, button: Button) -> Effects {
        self.held &= !button.bit();
        Effects::default()
    }

    fn line_change(&self, before: bool) -> Option<bool> {
        let now = self.irq_line();
        (now != before).then_some(now)
    }

    /// The level of the FPGA's interrupt line: `IRQ_CTL.STATUS && IRQ_CTL.ENABLE`.
    pub const fn irq_line(&self) -> bool {
        self.status && self.enable
    }

    /// The CPU's LEDs, bit N = LED N (N = 0..=5).
    pub const fn leds(&self) -> u8 {
        self.leds
    }

    /// The DIP switches.
    pub const fn dip_switches(&self) -> u16 {
        self.dip_switches
    }

    /// The value of `PUSH_BUT`: buttons latched since the last clear or held now.
    pub const fn push_buttons(&self) -> u8 {
        self.latched | self.held
    }

    /// The buttons held now.
    pub const fn held_buttons(&self) -> u8 {
        self.held
    }

    /// The value of `IRQ_CTL` as a read returns it.
    pub const fn irq_ctl(&self) -> u16 {
        let mut value = (self.last_button as u16) << irq_ctl::BUTTON_SHIFT & irq_ctl::BUTTON_MASK;
        if self.status {
            value |= irq_ctl::STATUS;
        }
        value |= irq_ctl::SOURCE_BUTTONS << irq_ctl::SOURCE_SHIFT;
        if self.enable {
            value |= irq_ctl::ENABLE;
        }
        value
    }

    /// The 7-segment display register.
    pub const fn display(&self) -> u16 {
        self.display
    }
}

#[derive(Debug, Clone, Copy)]
enum Register {
    DipSw,
    PushBut,
    IrqCtl,
    Disp7Seg1,
    Led,
}

/// Lit LED in [`led_row`] and [`LedRow`].
pub const LED_ON: char = '*';
/// Dark LED in [`led_row`] and [`LedRow`].
pub const LED_OFF: char = 'o';

/// The CPU's six LEDs as characters, LED 0 first: [`LED_ON`] when bit N of `leds` is set,
/// else [`LED_OFF`]. Bits 7:6 are not shown.
pub fn led_row(leds: u8) -> [char; NR_LEDS] {
    core::array::from_fn(|n| {
        if leds & (1 << n) != 0 {
            LED_ON
        } else {
            LED_OFF
        }
    })
}

/// Displays the CPU's LEDs as a row, LED 0 first, separated by spaces: `LedRow(0b100)`
/// shows `o o * o o o`. The hypervisor logs it as `LEDs: o o * o o o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedRow(pub u8);

impl fmt::Display for LedRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, c) in led_row(self.0).into_iter().enumerate() {
            if n > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}
