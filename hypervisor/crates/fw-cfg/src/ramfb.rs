//! QEMU's `ramfb` display: a framebuffer in guest RAM that QEMU scans out, configured by
//! writing a [`RamfbConfig`] into the fw_cfg file [`FILE`] (QEMU's hw/display/ramfb.c).
//!
//! Each write replaces the configuration: QEMU shows the new buffer from its next screen
//! refresh. So the scanout can be moved from one buffer to another at any time by writing the
//! file again with another address ([`Ramfb::configure`]), which is how a display
//! controller's scanout-base register behaves.

use crate::{Dma, Error, FwCfg};

/// The fw_cfg file holding the configuration.
pub const FILE: &str = "etc/ramfb";

/// A DRM fourcc code (include/uapi/drm/drm_fourcc.h): four characters, the first in the
/// low byte.
pub const fn fourcc(code: &[u8; 4]) -> u32 {
    u32::from_le_bytes(*code)
}

/// DRM_FORMAT_XRGB8888: 32-bit little-endian pixels, bits 23:16 red, 15:8 green, 7:0 blue,
/// 31:24 unused (the `x8r8g8b8` of a simple-framebuffer node).
pub const FOURCC_XRGB8888: u32 = fourcc(b"XR24");
/// Bytes per XRGB8888 pixel.
pub const XRGB8888_BYTES_PER_PIXEL: u32 = 4;
/// The smallest width and height QEMU accepts (ramfb_create_display_surface).
pub const MIN_SIZE: u32 = 16;

/// `RAMFBCfg`: 28 bytes, every field big-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RamfbConfig {
    /// Guest-physical address of the first pixel.
    pub addr: u64,
    /// Pixel format, a DRM fourcc.
    pub fourcc: u32,
    /// No flags are defined: 0.
    pub flags: u32,
    /// Pixels per line.
    pub width: u32,
    /// Lines.
    pub height: u32,
    /// Bytes from one line to the next.
    pub stride: u32,
}

impl RamfbConfig {
    /// Size of the configuration in the fw_cfg file.
    pub const SIZE: usize = 28;

    /// An XRGB8888 framebuffer of `width` x `height` at `addr`, lines packed.
    pub const fn xrgb8888(addr: u64, width: u32, height: u32) -> Self {
        RamfbConfig {
            addr,
            fourcc: FOURCC_XRGB8888,
            flags: 0,
            width,
            height,
            stride: width.saturating_mul(XRGB8888_BYTES_PER_PIXEL),
        }
    }

    /// Bytes of memory the picture spans: `stride * height`.
    pub const fn frame_bytes(&self) -> u64 {
        self.stride as u64 * self.height as u64
    }

    /// Whether QEMU will show it: XRGB8888 (the only format used here), at least
    /// [`MIN_SIZE`] pixels each way, lines no shorter than the pixels they hold, no flags,
    /// and the buffer not wrapping around the address space.
    pub const fn is_valid(&self) -> bool {
        self.fourcc == FOURCC_XRGB8888
            && self.flags == 0
            && self.width >= MIN_SIZE
            && self.height >= MIN_SIZE
            && self.stride as u64 >= self.width as u64 * XRGB8888_BYTES_PER_PIXEL as u64
            && self.addr.checked_add(self.frame_bytes()).is_some()
    }

    /// The configuration as the file stores it.
    pub fn to_be_bytes(&self) -> [u8; Self::SIZE] {
        let mut bytes = [0; Self::SIZE];
        bytes[0..8].copy_from_slice(&self.addr.to_be_bytes());
        for (i, field) in
            [self.fourcc, self.flags, self.width, self.height, self.stride].into_iter().enumerate()
        {
            bytes[8 + 4 * i..12 + 4 * i].copy_from_slice(&field.to_be_bytes());
        }
        bytes
    }

    /// A configuration read back from its bytes.
    pub fn from_be_bytes(bytes: &[u8; Self::SIZE]) -> Self {
        let word = |i: usize| {
            u32::from_be_bytes([
                bytes[8 + 4 * i],
                bytes[9 + 4 * i],
                bytes[10 + 4 * i],
                bytes[11 + 4 * i],
            ])
        };
        let mut addr = [0; 8];
        addr.copy_from_slice(&bytes[0..8]);
        RamfbConfig {
            addr: u64::from_be_bytes(addr),
            fourcc: word(0),
            flags: word(1),
            width: word(2),
            height: word(3),
            stride: word(4),
        }
    }
}

/// The ramfb device: its configuration file found in the fw_cfg directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ramfb {
    select: u16,
}

impl Ramfb {
    /// Looks for [`FILE`]; [`Error::NoSuchFile`] means QEMU has no `-device ramfb`.
    pub fn find<D: Dma>(fw: &mut FwCfg<D>) -> Result<Self, Error> {
        let file = fw.find_file(FILE)?;
        if file.size as usize != RamfbConfig::SIZE {
            return Err(Error::FileSize { actual: file.size, expected: RamfbConfig::SIZE as u32 });
        }
        Ok(Ramfb { select: file.select })
    }

    /// The file's selector.
    pub const fn selector(&self) -> u16 {
        self.select
    }

    /// Shows `config` from QEMU's next refresh on.
    pub fn configure<D: Dma>(&self, fw: &mut FwCfg<D>, config: &RamfbConfig) -> Result<(), Error> {
        if !config.is_valid() {
            return Err(Error::BadRamfbConfig);
        }
        fw.write(self.select, &mut config.to_be_bytes())
    }
}
