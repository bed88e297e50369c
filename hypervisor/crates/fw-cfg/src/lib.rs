//! QEMU's firmware configuration device, fw_cfg, as the hypervisor uses it: to find the
//! `etc/ramfb` file and write the display's configuration into it ([`ramfb`]).
//!
//! fw_cfg (QEMU's docs/specs/fw_cfg.rst) is a set of items, each named by a 16-bit selector:
//! a few fixed ones (the signature, the feature bitmap, the file directory) and the files,
//! which the directory lists by name. On QEMU's `virt` machine it is a `qemu,fw-cfg-mmio`
//! device tree node with three big-endian registers ([`REG_DATA`], [`REG_SELECTOR`],
//! [`REG_DMA`]). Writes are only possible through DMA, so everything here goes through DMA:
//! the driver writes the physical address of a 16-byte [`DmaAccess`] descriptor to the DMA
//! register; the device performs the transfer described and then clears the descriptor's
//! control word (or leaves [`control::ERROR`] set).
//!
//! What touches hardware is the [`Dma`] trait, implemented by the hypervisor (volatile
//! stores of the descriptor, a barrier, the register write, polling) and by the tests (a
//! model of QEMU's device). Everything else (descriptor encoding, the directory walk, the
//! ramfb configuration) is plain code tested on the host.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(test)]
extern crate std;

use core::fmt;

pub mod ramfb;

/// Offset of the data register (reads the selected item byte by byte; not used here).
pub const REG_DATA: u64 = 0x00;
/// Offset of the 16-bit big-endian selector register.
pub const REG_SELECTOR: u64 = 0x08;
/// Offset of the 64-bit big-endian DMA address register: writing it (as one 64-bit store,
/// or the high half then the low half) starts a transfer.
pub const REG_DMA: u64 = 0x10;
/// Size of the register window.
pub const MMIO_SIZE: u64 = 0x18;
/// What the DMA address register reads when the device supports DMA: "QEMU CFG".
pub const DMA_SIGNATURE: u64 = u64::from_be_bytes(*b"QEMU CFG");

/// Selector of the signature item: the bytes [`SIGNATURE`].
pub const SELECT_SIGNATURE: u16 = 0x0000;
/// Selector of the feature bitmap (a little-endian u32: [`ID_TRADITIONAL`], [`ID_DMA`]).
pub const SELECT_ID: u16 = 0x0001;
/// Selector of the file directory: a big-endian u32 count, then [`FILE_ENTRY_SIZE`]-byte
/// entries (see [`File`]).
pub const SELECT_FILE_DIR: u16 = 0x0019;
/// The signature item's contents.
pub const SIGNATURE: [u8; 4] = *b"QEMU";
/// Feature bit: the traditional (data register) interface.
pub const ID_TRADITIONAL: u32 = 1 << 0;
/// Feature bit: the DMA interface.
pub const ID_DMA: u32 = 1 << 1;
/// Size of one directory entry: size (u32), select (u16), reserved (u16), name (56 bytes).
pub const FILE_ENTRY_SIZE: usize = 64;
/// Longest file name, NUL terminator included.
pub const FILE_NAME_SIZE: usize = 56;
/// The most directory entries we walk: QEMU's largest `x-file-slots` is 0x1000 (the file
/// selectors run from 0x20 to 0x3fff); a larger count is a corrupt directory.
pub const MAX_FILES: u32 = 0x4000 - 0x20;

/// Bits of a DMA descriptor's control word; the selector goes in bits 31:16 with
/// [`SELECT`](control::SELECT).
pub mod control {
    /// Set by the device when the transfer failed.
    pub const ERROR: u32 = 1 << 0;
    /// Read the selected item into the buffer.
    pub const READ: u32 = 1 << 1;
    /// Skip `length` bytes of the selected item.
    pub const SKIP: u32 = 1 << 2;
    /// Select the item in bits 31:16 first (else continue where the last transfer ended).
    pub const SELECT: u32 = 1 << 3;
    /// Write the buffer into the selected item (only writable items accept it).
    pub const WRITE: u32 = 1 << 4;
}

/// What a transfer does with the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Item to buffer.
    Read,
    /// Buffer to item.
    Write,
    /// Advance the item's offset, no data moved.
    Skip,
}

/// The control word of a transfer: `op`, after selecting `select` if given.
pub const fn control_word(op: Op, select: Option<u16>) -> u32 {
    let op = match op {
        Op::Read => control::READ,
        Op::Write => control::WRITE,
        Op::Skip => control::SKIP,
    };
    match select {
        Some(selector) => ((selector as u32) << 16) | control::SELECT | op,
        None => op,
    }
}

/// A DMA descriptor (`FWCfgDmaAccess`): 16 bytes, every field big-endian, 8-byte aligned
/// in guest-physical memory (the device reads it where the DMA register points).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmaAccess {
    /// [`control_word`]; the device clears it when done.
    pub control: u32,
    /// Bytes to transfer.
    pub length: u32,
    /// Physical address of the buffer.
    pub address: u64,
}

impl DmaAccess {
    /// Size of the descriptor in memory.
    pub const SIZE: usize = 16;

    /// The descriptor as the device reads it.
    pub fn to_be_bytes(&self) -> [u8; Self::SIZE] {
        let mut bytes = [0; Self::SIZE];
        bytes[0..4].copy_from_slice(&self.control.to_be_bytes());
        bytes[4..8].copy_from_slice(&self.length.to_be_bytes());
        bytes[8..16].copy_from_slice(&self.address.to_be_bytes());
        bytes
    }

    /// A descriptor read back from memory.
    pub fn from_be_bytes(bytes: &[u8; Self::SIZE]) -> Self {
        let [c0, c1, c2, c3, l0, l1, l2, l3, a0, a1, a2, a3, a4, a5, a6, a7] = *bytes;
        Self {
            control: u32::from_be_bytes([c0, c1, c2, c3]),
            length: u32::from_be_bytes([l0, l1, l2, l3]),
            address: u64::from_be_bytes([a0, a1, a2, a3, a4, a5, a6, a7]),
        }
    }
}

/// Where a transfer is, from the control word the device left in the descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmaStatus {
    /// Control word 0: the transfer is complete.
    Done,
    /// [`control::ERROR`] set: the device refused it (no such item, not writable, too long).
    Failed,
    /// Other bits still set: the device has not finished.
    Busy,
}

impl DmaStatus {
    /// The status a control word read back from the descriptor says.
    pub const fn of(control: u32) -> Self {
        if control & control::ERROR != 0 {
            DmaStatus::Failed
        } else if control == 0 {
            DmaStatus::Done
        } else {
            DmaStatus::Busy
        }
    }
}

/// The hardware side: one DMA transfer.
pub trait Dma {
    /// Runs the transfer `control` (a [`control_word`]) on `buffer`: writes a descriptor
    /// `{control, buffer.len(), physical address of buffer}`, starts it, waits for the
    /// device (for a bounded time), and returns the control word the device left (see
    /// [`DmaStatus::of`]). For [`Op::Write`] the device only reads `buffer`.
    fn transfer(&mut self, control: u32, buffer: &mut [u8]) -> u32;
}

/// Why fw_cfg cannot be used as asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The signature item is not "QEMU": this is no fw_cfg device.
    NoSignature([u8; 4]),
    /// The feature bitmap lacks [`ID_DMA`].
    NoDma {
        /// The bitmap.
        features: u32,
    },
    /// The device set the error bit.
    DmaFailed {
        /// The transfer's control word.
        control: u32,
    },
    /// The device did not finish in time.
    DmaTimeout {
        /// The transfer's control word.
        control: u32,
    },
    /// A buffer longer than a descriptor's 32-bit length.
    TooLong,
    /// The directory says it has more than [`MAX_FILES`] entries.
    BadDirectory {
        /// The count it gives.
        count: u32,
    },
    /// No file of that name.
    NoSuchFile,
    /// A ramfb configuration QEMU would ignore (see [`ramfb::RamfbConfig::is_valid`]).
    BadRamfbConfig,
    /// The file is not the size its user expects.
    FileSize {
        /// Its size.
        actual: u32,
        /// The size expected.
        expected: u32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoSignature(bytes) => write!(f, "no fw_cfg signature (read {bytes:02x?})"),
            Error::NoDma { features } => {
                write!(f, "fw_cfg without the DMA interface (features {features:#x})")
            }
            Error::DmaFailed { control } => {
                write!(f, "fw_cfg DMA transfer {control:#010x} failed")
            }
            Error::DmaTimeout { control } => {
                write!(f, "fw_cfg DMA transfer {control:#010x} did not complete")
            }
            Error::TooLong => f.write_str("fw_cfg transfer longer than 4 GiB"),
            Error::BadDirectory { count } => {
                write!(f, "fw_cfg file directory claims {count} files")
            }
            Error::NoSuchFile => f.write_str("no such fw_cfg file"),
            Error::BadRamfbConfig => f.write_str("a ramfb configuration QEMU would not show"),
            Error::FileSize { actual, expected } => {
                write!(f, "fw_cfg file is {actual} bytes, expected {expected}")
            }
        }
    }
}

/// A directory entry.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct File {
    /// Size of the item in bytes.
    pub size: u32,
    /// Its selector.
    pub select: u16,
    name: [u8; FILE_NAME_SIZE],
}

impl File {
    /// An entry as the directory stores it (big-endian numbers, NUL-padded name).
    pub fn parse(entry: &[u8; FILE_ENTRY_SIZE]) -> Self {
        let mut name = [0; FILE_NAME_SIZE];
        name.copy_from_slice(&entry[8..]);
        File {
            size: u32::from_be_bytes([entry[0], entry[1], entry[2], entry[3]]),
            select: u16::from_be_bytes([entry[4], entry[5]]),
            name,
        }
    }

    /// The name's bytes, up to the first NUL (all 56 if there is none).
    pub fn name(&self) -> &[u8] {
        let end = self.name.iter().position(|&b| b == 0).unwrap_or(FILE_NAME_SIZE);
        &self.name[..end]
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("size", &self.size)
            .field("select", &self.select)
            .field("name", &core::str::from_utf8(self.name()).unwrap_or("<not UTF-8>"))
            .finish()
    }
}

/// A fw_cfg device reached through `D`.
pub struct FwCfg<D> {
    dma: D,
}

impl<D: Dma> FwCfg<D> {
    /// Checks that the device is fw_cfg (its signature) with the DMA interface.
    pub fn new(dma: D) -> Result<Self, Error> {
        let mut fw = FwCfg { dma };
        let mut signature = [0; 4];
        fw.read(SELECT_SIGNATURE, &mut signature)?;
        if signature != SIGNATURE {
            return Err(Error::NoSignature(signature));
        }
        let mut id = [0; 4];
        fw.read(SELECT_ID, &mut id)?;
        let features = u32::from_le_bytes(id);
        if features & ID_DMA == 0 {
            return Err(Error::NoDma { features });
        }
        Ok(fw)
    }

    /// The transport, for its owner.
    pub fn dma(&mut self) -> &mut D {
        &mut self.dma
    }

    fn run(&mut self, op: Op, select: Option<u16>, buffer: &mut [u8]) -> Result<(), Error> {
        if u32::try_from(buffer.len()).is_err() {
            return Err(Error::TooLong);
        }
        let control = control_word(op, select);
        match DmaStatus::of(self.dma.transfer(control, buffer)) {
            DmaStatus::Done => Ok(()),
            DmaStatus::Failed => Err(Error::DmaFailed { control }),
            DmaStatus::Busy => Err(Error::DmaTimeout { control }),
        }
    }

    /// Reads the first `buffer.len()` bytes of item `select` (past its end, the device
    /// fills with zeros).
    pub fn read(&mut self, select: u16, buffer: &mut [u8]) -> Result<(), Error> {
        self.run(Op::Read, Some(select), buffer)
    }

    /// Reads on from where the last transfer on the selected item ended.
    fn read_on(&mut self, buffer: &mut [u8]) -> Result<(), Error> {
        self.run(Op::Read, None, buffer)
    }

    /// Writes `data` at the start of item `select`. The device reads `data` only; it is
    /// `mut` because a DMA buffer is handed over as such.
    pub fn write(&mut self, select: u16, data: &mut [u8]) -> Result<(), Error> {
        self.run(Op::Write, Some(select), data)
    }

    /// The directory entry named `name`.
    pub fn find_file(&mut self, name: &str) -> Result<File, Error> {
        let mut count = [0; 4];
        self.read(SELECT_FILE_DIR, &mut count)?;
        let count = u32::from_be_bytes(count);
        if count > MAX_FILES {
            return Err(Error::BadDirectory { count });
        }
        for _ in 0..count {
            let mut entry = [0; FILE_ENTRY_SIZE];
            self.read_on(&mut entry)?;
            let file = File::parse(&entry);
            if file.name() == name.as_bytes() {
                return Ok(file);
            }
        }
        Err(Error::NoSuchFile)
    }
}

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;
