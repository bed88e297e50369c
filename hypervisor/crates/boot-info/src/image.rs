//! The header of an arm64 Linux `Image` (Documentation/arch/arm64/booting.rst, "Call the
//! kernel image"):
//!
//! ```text
//! offset  size  field
//!   0      4    code0        executable code (or "MZ" for an EFI stub)
//!   4      4    code1
//!   8      8    text_offset  image load offset from a 2 MiB aligned base, little endian
//!  16      8    image_size   effective image size (with bss), little endian
//!  24      8    flags        kernel flags, little endian
//!  32     24    res2..res4   reserved
//!  56      4    magic        "ARM\x64"
//!  60      4    res5         reserved (PE header offset)
//! ```

use core::fmt;

use crate::{align_up, Bytes, MIB};

/// Length of the header.
pub const HEADER_LEN: usize = 64;
/// The magic number at offset 56: "ARM\x64".
pub const MAGIC: [u8; 4] = *b"ARM\x64";
const MAGIC_OFFSET: usize = 56;

/// `text_offset` to assume when `image_size` is zero (kernels before v3.17), as booting.rst
/// says.
pub const LEGACY_TEXT_OFFSET: u64 = 0x8_0000;

/// What the loader needs from the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHeader {
    /// Offset from a 2 MiB aligned base at which the Image must be placed.
    pub text_offset: u64,
    /// Bytes from the load address that the kernel uses before it sets up its own memory
    /// map: the file plus bss and initial page tables. Never zero (see [`ImageHeader::parse`]).
    pub image_size: u64,
    /// The header's flags, raw: bit 0 big-endian kernel, bits 1-2 page size, bit 3 whether
    /// the Image may be placed anywhere in RAM.
    pub flags: u64,
}

/// Why bytes are not an arm64 Linux Image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageError {
    /// Fewer bytes than the 64-byte header.
    TooShort {
        /// How many bytes there were.
        len: usize,
    },
    /// No "ARM\x64" at offset 56.
    BadMagic {
        /// The four bytes found there.
        found: [u8; 4],
    },
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::TooShort { len } => write!(
                f,
                "the kernel is {len} bytes long, shorter than an arm64 Image header ({HEADER_LEN} bytes)"
            ),
            ImageError::BadMagic { found } => write!(
                f,
                "the kernel is not an arm64 Linux Image (magic {found:02x?} at offset 56, expected \
                 \"ARM\\x64\"); use arch/arm64/boot/Image, not a compressed Image.gz or vmlinux"
            ),
        }
    }
}

fn le64(bytes: &[u8], offset: usize) -> u64 {
    let mut field = [0u8; 8];
    if let Some(src) = bytes.get(offset..offset + 8) {
        field.copy_from_slice(src);
    }
    u64::from_le_bytes(field)
}

impl ImageHeader {
    /// Reads the header of `image`, which must be the whole Image file as loaded (its length
    /// matters for old kernels, below).
    ///
    /// Kernels before v3.17 have `image_size` 0 and do not say how much memory their bss
    /// needs. For them `text_offset` is [`LEGACY_TEXT_OFFSET`], as booting.rst prescribes
    /// (whatever the field holds), and `image_size` is a conservative estimate: twice the
    /// file size, rounded up to 2 MiB. An arm64 kernel's bss and initial page tables are
    /// smaller than its text and data in every configuration we know of, and the 2 MiB
    /// rounding keeps the next object (initrd, device tree) on its own block.
    pub fn parse(image: &[u8]) -> Result<ImageHeader, ImageError> {
        if image.len() < HEADER_LEN {
            return Err(ImageError::TooShort { len: image.len() });
        }
        let mut found = [0u8; 4];
        if let Some(magic) = image.get(MAGIC_OFFSET..MAGIC_OFFSET + 4) {
            found.copy_from_slice(magic);
        }
        if found != MAGIC {
            return Err(ImageError::BadMagic { found });
        }
        let flags = le64(image, 24);
        let image_size = le64(image, 16);
        if image_size != 0 {
            return Ok(ImageHeader {
                text_offset: le64(image, 8),
                image_size,
                flags,
            });
        }
        let file_size = image.len() as u64;
        let estimate = file_size.saturating_mul(2);
        let image_size = align_up(estimate, 2 * MIB).unwrap_or(u64::MAX & !(2 * MIB - 1));
        Ok(ImageHeader {
            text_offset: LEGACY_TEXT_OFFSET,
            image_size,
            flags,
        })
    }
}

impl fmt::Display for ImageHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "text_offset {:#x}, image_size {}, flags {:#x}",
            self.text_offset,
            Bytes(self.image_size),
            self.flags
        )
    }
}

#[cfg(test)]
mod tests;
