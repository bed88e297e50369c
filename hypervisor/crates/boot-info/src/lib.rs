//! Boot-time configuration of the REPTAR hypervisor.
//!
//! Everything the hypervisor decides before it runs its first guest instruction, as pure
//! functions over byte slices and plain data, so that it is tested on the host:
//!
//! * [`image`]: the header of an arm64 Linux `Image` (where the kernel goes, how much room it
//!   needs);
//! * [`host_dt`]: the device tree QEMU hands the hypervisor: the platform (RAM, CPUs, GICv3,
//!   timer, UART, PSCI, virtio-mmio, fw_cfg) and the boot configuration (dom0 and dom0less domUs, in QEMU
//!   guest-loader or Xen bindings);
//! * [`layout`]: where each guest's RAM, kernel, initrd and device tree go, and the host RAM
//!   set aside for no domain (the framebuffer);
//! * [`guest_dt`]: the device trees the guests boot with.
//!
//! The crate is `no_std` + `alloc`. No function panics on any input: every address
//! computation is checked and every malformed input is an error that says what to fix.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod cmdline;
mod dtb;
pub mod guest_dt;
pub mod host_dt;
pub mod image;
pub mod layout;

#[cfg(test)]
mod test_tree;

use core::fmt;

/// 1 KiB.
pub const KIB: u64 = 1 << 10;
/// 1 MiB.
pub const MIB: u64 = 1 << 20;
/// 1 GiB.
pub const GIB: u64 = 1 << 30;

/// A range of physical (or intermediate physical) addresses: `base .. base + size`.
///
/// The fields are public so that callers can build ranges freely; nothing here assumes
/// `base + size` fits in 64 bits. Every range this crate *returns* does fit (parsing and
/// layout reject ranges that wrap), so [`MemRange::end`] is `Some` for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemRange {
    /// First address of the range.
    pub base: u64,
    /// Length in bytes.
    pub size: u64,
}

impl MemRange {
    /// The range `base .. base + size`.
    pub const fn new(base: u64, size: u64) -> Self {
        Self { base, size }
    }

    /// The first address after the range, or `None` if the range runs past the end of the
    /// 64-bit address space.
    pub const fn end(&self) -> Option<u64> {
        self.base.checked_add(self.size)
    }

    /// The end computed without overflow, for comparisons on arbitrary ranges.
    const fn wide_end(&self) -> u128 {
        self.base as u128 + self.size as u128
    }

    /// Whether the range holds no address at all.
    pub const fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Whether `addr` lies in the range.
    pub const fn contains(&self, addr: u64) -> bool {
        addr >= self.base && (addr as u128) < self.wide_end()
    }

    /// Whether every address of `other` lies in `self`. An empty `other` is contained in any
    /// range whose bounds enclose its base.
    pub const fn contains_range(&self, other: &MemRange) -> bool {
        other.base >= self.base && other.wide_end() <= self.wide_end()
    }

    /// Whether the two ranges share at least one address. Empty ranges overlap nothing.
    pub const fn overlaps(&self, other: &MemRange) -> bool {
        !self.is_empty()
            && !other.is_empty()
            && (self.base as u128) < other.wide_end()
            && (other.base as u128) < self.wide_end()
    }
}

/// Prints `[base..end)` in hexadecimal; a range that wraps prints as `[base+size)`.
impl fmt::Display for MemRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.end() {
            Some(end) => write!(f, "[{:#x}..{:#x})", self.base, end),
            None => write!(f, "[{:#x}+{:#x})", self.base, self.size),
        }
    }
}

/// A byte count printed for people: whole MiB or KiB when exact, bytes otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        if n != 0 && n.is_multiple_of(MIB) {
            write!(f, "{} MiB", n / MIB)
        } else if n != 0 && n.is_multiple_of(KIB) {
            write!(f, "{} KiB", n / KIB)
        } else {
            write!(f, "{n} bytes")
        }
    }
}

/// `value` rounded up to a multiple of `align` (a power of two), or `None` on overflow.
pub(crate) const fn align_up(value: u64, align: u64) -> Option<u64> {
    match value.checked_add(align - 1) {
        Some(v) => Some(v & !(align - 1)),
        None => None,
    }
}

/// `value` rounded down to a multiple of `align` (a power of two).
pub(crate) const fn align_down(value: u64, align: u64) -> u64 {
    value & !(align - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn mem_range_basics() {
        let r = MemRange::new(0x1000, 0x1000);
        assert_eq!(r.end(), Some(0x2000));
        assert!(r.contains(0x1000));
        assert!(r.contains(0x1fff));
        assert!(!r.contains(0x2000));
        assert!(!r.contains(0xfff));
        assert!(!r.is_empty());
        assert!(MemRange::new(5, 0).is_empty());
        assert!(!MemRange::new(5, 0).contains(5));
    }

    #[test]
    fn mem_range_overlaps() {
        let a = MemRange::new(0x1000, 0x1000);
        assert!(a.overlaps(&MemRange::new(0x1fff, 1)));
        assert!(a.overlaps(&MemRange::new(0, 0x1001)));
        assert!(a.overlaps(&MemRange::new(0, u64::MAX)));
        assert!(!a.overlaps(&MemRange::new(0x2000, 0x1000)));
        assert!(!a.overlaps(&MemRange::new(0, 0x1000)));
        // Empty ranges overlap nothing, not even a range around them.
        assert!(!a.overlaps(&MemRange::new(0x1800, 0)));
        assert!(!MemRange::new(0x1800, 0).overlaps(&a));
    }

    #[test]
    fn mem_range_near_the_top_of_the_address_space() {
        let top = MemRange::new(u64::MAX - 0xfff, 0x1000);
        assert_eq!(top.end(), None);
        assert!(top.contains(u64::MAX));
        assert!(top.overlaps(&MemRange::new(u64::MAX, 1)));
        let wrapping = MemRange::new(u64::MAX, u64::MAX);
        assert_eq!(wrapping.end(), None);
        assert!(wrapping.contains(u64::MAX));
        assert!(!wrapping.contains(0));
        assert_eq!(
            format!("{wrapping}"),
            "[0xffffffffffffffff+0xffffffffffffffff)"
        );
    }

    #[test]
    fn mem_range_contains_range() {
        let ram = MemRange::new(0x4000_0000, 0x8000_0000);
        assert!(ram.contains_range(&MemRange::new(0x4000_0000, 0x8000_0000)));
        assert!(ram.contains_range(&MemRange::new(0x4900_0000, 3)));
        assert!(!ram.contains_range(&MemRange::new(0xbfff_ffff, 2)));
        assert!(!ram.contains_range(&MemRange::new(0x3fff_ffff, 2)));
        assert!(!ram.contains_range(&MemRange::new(u64::MAX, u64::MAX)));
    }

    #[test]
    fn display() {
        assert_eq!(
            format!("{}", MemRange::new(0x4000_0000, 0x1000)),
            "[0x40000000..0x40001000)"
        );
        assert_eq!(format!("{}", Bytes(32 * MIB)), "32 MiB");
        assert_eq!(format!("{}", Bytes(3 * KIB)), "3 KiB");
        assert_eq!(format!("{}", Bytes(3)), "3 bytes");
        assert_eq!(format!("{}", Bytes(0)), "0 bytes");
    }

    #[test]
    fn alignment_helpers() {
        assert_eq!(align_up(0, 2 * MIB), Some(0));
        assert_eq!(align_up(1, 2 * MIB), Some(2 * MIB));
        assert_eq!(align_up(2 * MIB, 2 * MIB), Some(2 * MIB));
        assert_eq!(align_up(u64::MAX, 2 * MIB), None);
        assert_eq!(align_down(2 * MIB + 5, 2 * MIB), 2 * MIB);
    }
}
