//! The Linux framebuffer (/dev/fb0): its geometry from the FBIOGET_VSCREENINFO and
//! FBIOGET_FSCREENINFO ioctls, the memory mapped, and a frame copied in line by line.
//!
//! The structures are read from their bytes at the offsets of include/uapi/linux/fb.h for a
//! 64-bit (LP64) kernel such as aarch64's: `struct fb_var_screeninfo` is 40 `__u32` (160 bytes,
//! the four `struct fb_bitfield` of three `__u32` each at 32, 44, 56 and 68);
//! `struct fb_fix_screeninfo` is 80 bytes with `unsigned long smem_start` at 16, `smem_len` at
//! 24, `type` at 28, `visual` at 36, padding after `ywrapstep` and `line_length` at 48.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::canvas::Canvas;
use crate::os_error;

/// fb.h: `#define FBIOGET_VSCREENINFO 0x4600` (a plain number, not an _IOR code).
const FBIOGET_VSCREENINFO: u64 = 0x4600;
/// fb.h: `#define FBIOGET_FSCREENINFO 0x4602`.
const FBIOGET_FSCREENINFO: u64 = 0x4602;
pub const VAR_SCREENINFO_SIZE: usize = 160;
pub const FIX_SCREENINFO_SIZE: usize = 80;

/// `struct fb_bitfield`: where a colour component lies in a pixel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bitfield {
    pub offset: u32,
    pub length: u32,
    pub msb_right: u32,
}

/// The fields of `struct fb_var_screeninfo` that qtrun uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VarScreenInfo {
    pub xres: u32,
    pub yres: u32,
    pub xres_virtual: u32,
    pub yres_virtual: u32,
    pub xoffset: u32,
    pub yoffset: u32,
    pub bits_per_pixel: u32,
    pub grayscale: u32,
    pub red: Bitfield,
    pub green: Bitfield,
    pub blue: Bitfield,
    pub transp: Bitfield,
    pub nonstd: u32,
}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    u32::from_ne_bytes(bytes[offset..offset + 4].try_into().expect("4 bytes"))
}

impl VarScreenInfo {
    pub fn parse(bytes: &[u8]) -> Result<VarScreenInfo, String> {
        if bytes.len() < VAR_SCREENINFO_SIZE {
            return Err(format!("fb_var_screeninfo is {VAR_SCREENINFO_SIZE} bytes, got {}", bytes.len()));
        }
        let field = |index: usize| u32_at(bytes, index * 4);
        let bitfield = |index: usize| Bitfield { offset: field(index), length: field(index + 1), msb_right: field(index + 2) };
        Ok(VarScreenInfo {
            xres: field(0),
            yres: field(1),
            xres_virtual: field(2),
            yres_virtual: field(3),
            xoffset: field(4),
            yoffset: field(5),
            bits_per_pixel: field(6),
            grayscale: field(7),
            red: bitfield(8),
            green: bitfield(11),
            blue: bitfield(14),
            transp: bitfield(17),
            nonstd: field(20),
        })
    }
}

/// The fields of `struct fb_fix_screeninfo` that qtrun uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FixScreenInfo {
    pub id: String,
    pub smem_len: u32,
    pub kind: u32,
    pub visual: u32,
    pub line_length: u32,
}

impl FixScreenInfo {
    pub fn parse(bytes: &[u8]) -> Result<FixScreenInfo, String> {
        if bytes.len() < FIX_SCREENINFO_SIZE {
            return Err(format!("fb_fix_screeninfo is {FIX_SCREENINFO_SIZE} bytes, got {}", bytes.len()));
        }
        let id = &bytes[..16];
        let id = &id[..id.iter().position(|&b| b == 0).unwrap_or(16)];
        Ok(FixScreenInfo {
            id: String::from_utf8_lossy(id).into_owned(),
            smem_len: u32_at(bytes, 24),
            kind: u32_at(bytes, 28),
            visual: u32_at(bytes, 36),
            line_length: u32_at(bytes, 48),
        })
    }
}

/// How a pixel is packed: a 32-bit word with 8-bit red, green and blue at these bit offsets
/// (XRGB8888: 16, 8, 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelFormat {
    pub red: u32,
    pub green: u32,
    pub blue: u32,
}

impl PixelFormat {
    pub const XRGB8888: PixelFormat = PixelFormat { red: 16, green: 8, blue: 0 };

    /// The pixel word of a canvas colour (0x00RRGGBB).
    fn pack(self, rgb: u32) -> u32 {
        let (r, g, b) = ((rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff);
        (r << self.red) | (g << self.green) | (b << self.blue)
    }
}

/// Where the visible screen lies in the framebuffer memory and how its pixels are packed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub id: String,
    pub width: u32,
    pub height: u32,
    /// Bytes from one line to the next (`line_length`).
    pub stride: usize,
    /// Byte offset of the visible pixel (0, 0) (`xoffset`, `yoffset` of a panned screen).
    pub origin: usize,
    pub format: PixelFormat,
    /// Bytes to map (`smem_len`).
    pub size: usize,
}

impl Geometry {
    /// Checks that the screen is one qtrun can draw: 32 bits per pixel with 8-bit red, green
    /// and blue (XRGB8888, or another order of them), all of it inside the memory.
    pub fn new(var: &VarScreenInfo, fix: &FixScreenInfo) -> Result<Geometry, String> {
        let components = [var.red, var.green, var.blue];
        let true_colour = var.grayscale == 0
            && var.nonstd == 0
            && components.iter().all(|c| c.length == 8 && c.offset % 8 == 0 && c.offset <= 24 && c.msb_right == 0);
        if var.bits_per_pixel != 32 || !true_colour {
            return Err(format!(
                "{} bits per pixel (red {}@{}, green {}@{}, blue {}@{}): qtrun draws 32 bpp XRGB8888 only",
                var.bits_per_pixel, var.red.length, var.red.offset, var.green.length, var.green.offset, var.blue.length, var.blue.offset
            ));
        }
        if var.xres == 0 || var.yres == 0 {
            return Err(format!("empty screen {}x{}", var.xres, var.yres));
        }
        let stride = fix.line_length as usize;
        if stride < var.xres as usize * 4 {
            return Err(format!("line length {stride} is shorter than {} pixels of 4 bytes", var.xres));
        }
        let origin = var.yoffset as usize * stride + var.xoffset as usize * 4;
        let end = origin + (var.yres as usize - 1) * stride + var.xres as usize * 4;
        if end > fix.smem_len as usize {
            return Err(format!(
                "the {}x{} screen at offset {origin} with lines of {stride} bytes needs {end} bytes, the framebuffer has {}",
                var.xres, var.yres, fix.smem_len
            ));
        }
        Ok(Geometry {
            id: fix.id.clone(),
            width: var.xres,
            height: var.yres,
            stride,
            origin,
            format: PixelFormat { red: var.red.offset, green: var.green.offset, blue: var.blue.offset },
            size: fix.smem_len as usize,
        })
    }
}

/// Copies the canvas into framebuffer memory laid out as `geometry` says: line by line at
/// `stride`, the padding at the end of each line left as it is. A canvas larger than the
/// screen is clipped.
pub fn copy_frame(canvas: &Canvas, geometry: &Geometry, memory: &mut [u8]) {
    let width = canvas.width().min(geometry.width) as usize;
    let height = canvas.height().min(geometry.height) as usize;
    for y in 0..height {
        let start = geometry.origin + y * geometry.stride;
        let line = &mut memory[start..start + width * 4];
        let pixels = &canvas.row(y)[..width];
        if geometry.format == PixelFormat::XRGB8888 {
            for (word, &rgb) in line.chunks_exact_mut(4).zip(pixels) {
                word.copy_from_slice(&rgb.to_ne_bytes());
            }
        } else {
            for (word, &rgb) in line.chunks_exact_mut(4).zip(pixels) {
                word.copy_from_slice(&geometry.format.pack(rgb).to_ne_bytes());
            }
        }
    }
}

/// /dev/fb0, mapped.
pub struct Framebuffer {
    _file: File,
    memory: *mut u8,
    pub geometry: Geometry,
}

impl Framebuffer {
    pub fn open(path: &Path) -> Result<Framebuffer, String> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| format!("no framebuffer: {}: {} (is the display driver loaded?)", path.display(), os_error(&e)))?;
        let fd = file.as_raw_fd();
        let mut var = [0u8; VAR_SCREENINFO_SIZE];
        let mut fix = [0u8; FIX_SCREENINFO_SIZE];
        for (request, buffer, name) in
            [(FBIOGET_VSCREENINFO, &mut var[..], "FBIOGET_VSCREENINFO"), (FBIOGET_FSCREENINFO, &mut fix[..], "FBIOGET_FSCREENINFO")]
        {
            // SAFETY: both requests write one structure of the size of `buffer` (fb.h, LP64)
            // and keep no reference to it.
            if unsafe { libc::ioctl(fd, request as _, buffer.as_mut_ptr()) } < 0 {
                let error = std::io::Error::last_os_error();
                return Err(format!("{}: {name}: {} (not a framebuffer?)", path.display(), os_error(&error)));
            }
        }
        let var = VarScreenInfo::parse(&var)?;
        let fix = FixScreenInfo::parse(&fix)?;
        let geometry = Geometry::new(&var, &fix).map_err(|e| format!("{}: {e}", path.display()))?;
        // SAFETY: a new shared mapping of the device's memory, of the size the driver gives;
        // nothing else in this process refers to it.
        let memory =
            unsafe { libc::mmap(std::ptr::null_mut(), geometry.size, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, 0) };
        if memory == libc::MAP_FAILED {
            let error = std::io::Error::last_os_error();
            return Err(format!("{}: mmap of {} bytes: {}", path.display(), geometry.size, os_error(&error)));
        }
        Ok(Framebuffer { _file: file, memory: memory.cast(), geometry })
    }

    /// Shows a frame: the whole canvas, drawn off screen, goes to the framebuffer at once.
    pub fn present(&mut self, canvas: &Canvas) {
        // SAFETY: `memory` maps `geometry.size` bytes for as long as `self` lives and only
        // this slice refers to it while it exists (`&mut self`).
        let memory = unsafe { std::slice::from_raw_parts_mut(self.memory, self.geometry.size) };
        copy_frame(canvas, &self.geometry, memory);
    }
}

impl Drop for Framebuffer {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `open`, not used after this.
        unsafe { libc::munmap(self.memory.cast(), self.geometry.size) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of a fb_var_screeninfo as an LP64 kernel writes them.
    pub fn var_bytes(fields: &[(usize, u32)]) -> Vec<u8> {
        let mut bytes = vec![0u8; VAR_SCREENINFO_SIZE];
        for &(index, value) in fields {
            bytes[index * 4..index * 4 + 4].copy_from_slice(&value.to_ne_bytes());
        }
        bytes
    }

    /// simplefb's 800x480 a8r8g8b8 screen.
    fn simplefb_var() -> Vec<u8> {
        // xres, yres, xres_virtual, yres_virtual, xoffset, yoffset, bpp, grayscale,
        // red {16, 8, 0}, green {8, 8, 0}, blue {0, 8, 0}, transp {24, 8, 0}, nonstd,
        // then height and width in mm at 22 and 23.
        var_bytes(&[
            (0, 800),
            (1, 480),
            (2, 800),
            (3, 480),
            (6, 32),
            (8, 16),
            (9, 8),
            (11, 8),
            (12, 8),
            (14, 0),
            (15, 8),
            (17, 24),
            (18, 8),
            (22, 0xffff_ffff),
            (23, 0xffff_ffff),
            (39, 0xdead),
        ])
    }

    fn fix_bytes(id: &str, smem_len: u32, line_length: u32) -> Vec<u8> {
        let mut bytes = vec![0u8; FIX_SCREENINFO_SIZE];
        bytes[..id.len()].copy_from_slice(id.as_bytes());
        bytes[16..24].copy_from_slice(&0x4000_0000u64.to_ne_bytes()); // smem_start
        bytes[24..28].copy_from_slice(&smem_len.to_ne_bytes());
        bytes[36..40].copy_from_slice(&2u32.to_ne_bytes()); // FB_VISUAL_TRUECOLOR
        bytes[48..52].copy_from_slice(&line_length.to_ne_bytes());
        bytes[56..64].copy_from_slice(&u64::MAX.to_ne_bytes()); // mmio_start
        bytes
    }

    #[test]
    fn var_screeninfo_fields_are_read_at_the_uapi_offsets() {
        let var = VarScreenInfo::parse(&simplefb_var()).unwrap();
        assert_eq!((var.xres, var.yres, var.xres_virtual, var.yres_virtual), (800, 480, 800, 480));
        assert_eq!((var.xoffset, var.yoffset, var.bits_per_pixel, var.grayscale), (0, 0, 32, 0));
        assert_eq!(var.red, Bitfield { offset: 16, length: 8, msb_right: 0 });
        assert_eq!(var.green, Bitfield { offset: 8, length: 8, msb_right: 0 });
        assert_eq!(var.blue, Bitfield { offset: 0, length: 8, msb_right: 0 });
        assert_eq!(var.transp, Bitfield { offset: 24, length: 8, msb_right: 0 });
        assert_eq!(var.nonstd, 0);
        assert!(VarScreenInfo::parse(&simplefb_var()[..159]).unwrap_err().contains("160 bytes"));
    }

    #[test]
    fn fix_screeninfo_fields_are_read_at_the_lp64_offsets() {
        let fix = FixScreenInfo::parse(&fix_bytes("simple", 0x177000, 3200)).unwrap();
        assert_eq!(fix, FixScreenInfo { id: "simple".into(), smem_len: 0x177000, kind: 0, visual: 2, line_length: 3200 });
        let full = FixScreenInfo::parse(&fix_bytes("0123456789abcdef", 1, 2)).unwrap();
        assert_eq!(full.id, "0123456789abcdef");
        assert!(FixScreenInfo::parse(&[0; 79]).is_err());
    }

    #[test]
    fn xrgb8888_is_accepted_and_other_formats_are_refused_clearly() {
        let var = VarScreenInfo::parse(&simplefb_var()).unwrap();
        let fix = FixScreenInfo::parse(&fix_bytes("simple", 800 * 480 * 4, 3200)).unwrap();
        let geometry = Geometry::new(&var, &fix).unwrap();
        assert_eq!((geometry.width, geometry.height, geometry.stride, geometry.origin), (800, 480, 3200, 0));
        assert_eq!(geometry.format, PixelFormat::XRGB8888);

        let rgb565 = VarScreenInfo {
            bits_per_pixel: 16,
            red: Bitfield { offset: 11, length: 5, msb_right: 0 },
            green: Bitfield { offset: 5, length: 6, msb_right: 0 },
            blue: Bitfield { offset: 0, length: 5, msb_right: 0 },
            ..var.clone()
        };
        let error = Geometry::new(&rgb565, &fix).unwrap_err();
        assert!(error.starts_with("16 bits per pixel"), "{error}");
        assert!(error.contains("32 bpp XRGB8888 only"), "{error}");

        let short = FixScreenInfo { smem_len: 800 * 480 * 4 - 1, ..fix.clone() };
        assert!(Geometry::new(&var, &short).unwrap_err().contains("needs 1536000 bytes"));
        let narrow = FixScreenInfo { line_length: 3196, ..fix };
        assert!(Geometry::new(&var, &narrow).is_err());
    }

    #[test]
    fn frames_are_copied_line_by_line_at_the_stride() {
        // 3x2 canvas onto a 3x2 screen with 16-byte lines, panned one line down.
        let mut canvas = Canvas::new(3, 2, 0);
        canvas.set(0, 0, 0x112233);
        canvas.set(2, 1, 0xaabbcc);
        let geometry = Geometry { id: "test".into(), width: 3, height: 2, stride: 16, origin: 16, format: PixelFormat::XRGB8888, size: 48 };
        let mut memory = vec![0xeeu8; 48];
        copy_frame(&canvas, &geometry, &mut memory);
        assert!(memory[..16].iter().all(|&b| b == 0xee), "the line above the origin is untouched");
        assert_eq!(memory[16..20], 0x0011_2233u32.to_ne_bytes());
        assert_eq!(memory[20..28], [0; 8]);
        assert!(memory[28..32].iter().all(|&b| b == 0xee), "the padding at the end of a line is untouched");
        assert_eq!(memory[40..44], 0x00aa_bbccu32.to_ne_bytes());
        assert!(memory[44..48].iter().all(|&b| b == 0xee));

        // XBGR8888: red and blue swap places.
        let bgr = Geometry { format: PixelFormat { red: 0, green: 8, blue: 16 }, ..geometry };
        copy_frame(&canvas, &bgr, &mut memory);
        assert_eq!(memory[16..20], 0x0033_2211u32.to_ne_bytes());
    }
}
