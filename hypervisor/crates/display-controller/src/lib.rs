//! The board's display controller as dom0 sees it: a page of 32-bit registers that says what
//! the LCD shows. The REPTAR way to share one screen between domains was a scanout switch in
//! the display controller (`omapfb_xen_switch_domain`): each domain's picture stays in its own
//! memory, and a focus change only moves the scanout base. This is that register, for QEMU's
//! ramfb.
//!
//! The hypervisor sets aside two pictures of the LCD's size in host RAM, in no domain: dom0's
//! framebuffer (its `simple-framebuffer`) and the *guest screen*, into which dom0's vfb backend
//! copies what a domU draws. Both are mapped into dom0 1:1. dom0's backend writes the scanout
//! base to show one or the other; every other address is refused, so dom0 cannot make the
//! display read memory that is not the display's (another domain's RAM, the hypervisor's).
//!
//! # Register map
//!
//! | offset | register | access | contents |
//! |---|---|---|---|
//! | `0x00` | [`ID`] | RO | [`ID_VALUE`], "RDC1" |
//! | `0x04` | [`WIDTH`] | RO | pixels per line (800) |
//! | `0x08` | [`HEIGHT`] | RO | lines (480) |
//! | `0x0c` | [`STRIDE`] | RO | bytes per line (3200; pixels are XRGB8888) |
//! | `0x10` | [`SCANOUT_LO`] | RW | bits 31:0 of the scanout base; writing it applies the base |
//! | `0x14` | [`SCANOUT_HI`] | RW | bits 63:32 of the scanout base, applied with the next `SCANOUT_LO` write |
//! | `0x18` | [`STATUS`] | RO | [`status::REFUSED`]: the last base written was refused |
//!
//! Only 32-bit accesses to these offsets are valid; any other access is a [`BusError`]. The
//! scanout base reads back as the base the display shows, not as written: after a refused
//! write it is unchanged and `STATUS.REFUSED` is set, until a base is accepted.
//!
//! # Example
//!
//! ```
//! use display_controller::{AccessWidth, Controller, Effect, Picture, SCANOUT_HI, SCANOUT_LO, STATUS};
//!
//! let dom0 = Picture { base: 0x9780_0000, size: 0x17_7000 };
//! let guest = Picture { base: 0x9760_0000, size: 0x17_7000 };
//! let mut lcd = Controller::new(800, 480, 3200, dom0, guest);
//! let w = AccessWidth::Word;
//! // dom0's vfb backend shows the guest screen: the hypervisor moves ramfb's scanout.
//! lcd.write(SCANOUT_HI, w, 0).unwrap();
//! assert_eq!(lcd.write(SCANOUT_LO, w, 0x9760_0000).unwrap(), Effect::Scanout(0x9760_0000));
//! // Anything else is refused.
//! assert_eq!(lcd.write(SCANOUT_LO, w, 0x4000_0000).unwrap(), Effect::Refused(0x4000_0000));
//! assert_eq!(lcd.read(SCANOUT_LO, w).unwrap(), 0x9760_0000);
//! assert_eq!(lcd.read(STATUS, w).unwrap(), 1);
//! ```

#![no_std]

use core::fmt;

pub use arm_trap::AccessWidth;

/// Size of the register window.
pub const REGION_SIZE: u64 = 0x1000;

/// Register offsets.
pub const ID: u64 = 0x00;
pub const WIDTH: u64 = 0x04;
pub const HEIGHT: u64 = 0x08;
pub const STRIDE: u64 = 0x0c;
pub const SCANOUT_LO: u64 = 0x10;
pub const SCANOUT_HI: u64 = 0x14;
pub const STATUS: u64 = 0x18;

/// What [`ID`] reads: "RDC1" in ASCII, most significant byte first.
pub const ID_VALUE: u32 = u32::from_be_bytes(*b"RDC1");

/// Bits of [`STATUS`].
pub mod status {
    /// The last scanout base written was not one of the display's pictures.
    pub const REFUSED: u32 = 1 << 0;
}

/// One picture the display may show: host memory of at least `stride * height` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Picture {
    /// Its address, in dom0's address space and the host's alike (mapped 1:1).
    pub base: u64,
    /// Its size in bytes.
    pub size: u64,
}

/// What a register write asks of the hypervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Nothing outside the registers.
    None,
    /// Show the picture at this base (the hypervisor reprograms ramfb).
    Scanout(u64),
    /// This base is none of the display's pictures: refused, to be logged.
    Refused(u64),
    /// A write to a read-only register, ignored, to be logged.
    ReadOnly,
}

/// An access the controller does not answer; the hypervisor injects an external abort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusError {
    /// Not a 32-bit access.
    Width {
        /// Offset of the access in the window.
        offset: u64,
        /// Its width.
        width: AccessWidth,
    },
    /// No register at this offset (or not a multiple of 4).
    NoRegister {
        /// Offset of the access in the window.
        offset: u64,
    },
}

impl fmt::Display for BusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BusError::Width { offset, width } => write!(
                f,
                "{}-bit access at offset {offset:#x}: display controller registers are 32-bit",
                width.bytes() * 8
            ),
            BusError::NoRegister { offset } => write!(f, "no display controller register at offset {offset:#x}"),
        }
    }
}

/// The controller's registers.
#[derive(Debug, Clone)]
pub struct Controller {
    width: u32,
    height: u32,
    stride: u32,
    pictures: [Picture; 2],
    scanout: u64,
    scanout_hi: u32,
    status: u32,
}

impl Controller {
    /// A controller for a `width` x `height` display of `stride` bytes per line, showing
    /// `dom0` (its framebuffer) and able to show `guest` (the guest screen).
    pub fn new(width: u32, height: u32, stride: u32, dom0: Picture, guest: Picture) -> Self {
        Controller { width, height, stride, pictures: [dom0, guest], scanout: dom0.base, scanout_hi: 0, status: 0 }
    }

    /// The base the display shows.
    pub fn scanout(&self) -> u64 {
        self.scanout
    }

    /// Whether the display shows dom0's own framebuffer.
    pub fn shows_dom0(&self) -> bool {
        self.scanout == self.pictures[0].base
    }

    /// Back to dom0's framebuffer (the hypervisor does this when it switches the display for
    /// itself, e.g. when the guest screen's owner is gone). Returns the effect to apply.
    pub fn show_dom0(&mut self) -> Effect {
        let base = self.pictures[0].base;
        if self.scanout == base {
            return Effect::None;
        }
        self.scanout = base;
        self.status = 0;
        Effect::Scanout(base)
    }

    /// A picture is acceptable if it is one of the display's, whole: the bytes a scanout reads
    /// (`stride * height` from the base) lie inside it.
    fn accepts(&self, base: u64) -> bool {
        let needed = u64::from(self.stride) * u64::from(self.height);
        self.pictures.iter().any(|p| p.base == base && p.size >= needed)
    }

    fn check(offset: u64, width: AccessWidth) -> Result<(), BusError> {
        if width != AccessWidth::Word {
            return Err(BusError::Width { offset, width });
        }
        if offset % 4 != 0 || offset > STATUS {
            return Err(BusError::NoRegister { offset });
        }
        Ok(())
    }

    /// A guest's load from `offset`.
    pub fn read(&self, offset: u64, width: AccessWidth) -> Result<u32, BusError> {
        Self::check(offset, width)?;
        Ok(match offset {
            ID => ID_VALUE,
            WIDTH => self.width,
            HEIGHT => self.height,
            STRIDE => self.stride,
            SCANOUT_LO => self.scanout as u32,
            SCANOUT_HI => (self.scanout >> 32) as u32,
            _ => self.status,
        })
    }

    /// A guest's store of `value` to `offset`: what the hypervisor must do about it.
    pub fn write(&mut self, offset: u64, width: AccessWidth, value: u64) -> Result<Effect, BusError> {
        Self::check(offset, width)?;
        let value = value as u32;
        match offset {
            SCANOUT_HI => {
                self.scanout_hi = value;
                Ok(Effect::None)
            }
            SCANOUT_LO => {
                let base = u64::from(self.scanout_hi) << 32 | u64::from(value);
                if !self.accepts(base) {
                    self.status |= status::REFUSED;
                    return Ok(Effect::Refused(base));
                }
                self.status &= !status::REFUSED;
                if base == self.scanout {
                    return Ok(Effect::None);
                }
                self.scanout = base;
                Ok(Effect::Scanout(base))
            }
            _ => Ok(Effect::ReadOnly),
        }
    }
}
