//! The memory plan: which host RAM backs each guest, and where its kernel, initrd and
//! device tree go inside it.
//!
//! Guest RAM is one contiguous block of host RAM per domain, 2 MiB aligned and a multiple
//! of 2 MiB (so stage 2 can map it with block descriptors). Blocks are carved from the RAM
//! that is left once the hypervisor, the host device tree and *every* boot module are set
//! aside: modules are copied into the guests later, from where the boot loader put them, so
//! no guest block may cover one. Blocks are taken top-down, first fit: QEMU puts the
//! device tree, the hypervisor and the guest-loader modules at the bottom of RAM, so the
//! largest free hole is at the top and taking from it keeps the rest in one piece for the
//! next domain.
//!
//! Inside a guest's RAM, following Documentation/arch/arm64/booting.rst:
//!
//! ```text
//! ram_ipa.base                     2 MiB aligned
//!   + text_offset                  kernel load address = entry point
//!   .. + image_size                kernel Image with its bss (not the file size)
//! next 2 MiB boundary              initrd, if any
//! next 2 MiB boundary              device tree, 2 MiB reserved (the most booting.rst allows)
//! at least 32 MiB more             for the kernel to run in
//! ```
//!
//! The initrd directly follows the kernel, which keeps both inside the 1 GiB aligned,
//! 32 GiB window booting.rst requires of any guest smaller than 32 GiB.
//!
//! Host RAM the board itself needs (the framebuffer the display scans out) is reserved
//! after the domains are placed, the same way (2 MiB aligned blocks, top-down first fit), so
//! that no domain's RAM covers it and the domains land where they would without it.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::image::ImageHeader;
use crate::{align_down, align_up, Bytes, MemRange, MIB};

/// Alignment and granule of guest RAM blocks: one stage-2 level-2 block.
pub const GUEST_RAM_ALIGN: u64 = 2 * MIB;
/// Room reserved for a guest's device tree (booting.rst: at most 2 MiB).
pub const GUEST_DTB_SIZE: u64 = 2 * MIB;
/// Guest RAM that must remain after the kernel, initrd and device tree, for the kernel's
/// own allocations until it can use the rest (page tables, memblock, early console).
pub const MIN_FREE_GUEST_RAM: u64 = 32 * MIB;
/// Where a domU's RAM starts in its IPA space: Xen's GUEST_RAM0_BASE, which is what the
/// Xen guest ABI lets a guest assume.
pub const DOMU_IPA_BASE: u64 = 0x4000_0000;

/// Everything [`plan`] needs to know.
#[derive(Debug, Clone, Copy)]
pub struct LayoutInput<'a> {
    /// Host RAM banks (from [`crate::host_dt::Platform::ram`]).
    pub ram: &'a [MemRange],
    /// Everything the hypervisor occupies at run time: image, bss, stacks, heap.
    pub hypervisor: MemRange,
    /// The device tree QEMU passed (its `totalsize`, or more).
    pub host_dtb: MemRange,
    /// Every boot module, with a label for messages ("dom0 kernel"). Each domain's kernel
    /// and initrd should be here too; they are set aside even if they are not.
    pub modules: &'a [(&'a str, MemRange)],
    /// The domains to place, in order.
    pub domains: &'a [DomainRequest],
    /// Host RAM to set aside for no domain, placed after the domains, in order.
    pub reservations: &'a [Reservation<'a>],
}

/// Host RAM the hypervisor sets aside (a framebuffer): in no domain's RAM block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation<'a> {
    /// For messages ("framebuffer").
    pub label: &'a str,
    /// Bytes needed; the block is this rounded up to 2 MiB, 2 MiB aligned.
    pub size: u64,
}

/// The whole plan: the domains, and the reservations in the order asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// One plan per domain, in order.
    pub domains: Vec<DomainPlan>,
    /// One block per [`Reservation`], in order: `size` bytes rounded up to 2 MiB.
    pub reserved: Vec<MemRange>,
}

/// One domain to place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRequest {
    /// For messages.
    pub name: String,
    /// RAM to give it; rounded up to 2 MiB.
    pub mem_bytes: u64,
    /// Its kernel.
    pub kernel: KernelInfo,
    /// Where its initrd module lies in host memory, if it has one.
    pub initrd: Option<MemRange>,
    /// Map its RAM 1:1 (IPA = PA), as for dom0, so DMA works without an IOMMU.
    pub identity: bool,
    /// Where its RAM starts in its IPA space when not identity mapped (normally
    /// [`DOMU_IPA_BASE`]); 2 MiB aligned. Ignored when `identity` is set.
    pub ipa_base: u64,
}

/// A kernel module and what its header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelInfo {
    /// Where the Image file lies in host memory.
    pub module: MemRange,
    /// Its parsed header.
    pub header: ImageHeader,
}

/// Where one domain's memory goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainPlan {
    /// The domain's name, from its request.
    pub name: String,
    /// Host RAM backing the guest's RAM.
    pub ram_pa: MemRange,
    /// The guest's RAM in its IPA space (same size as `ram_pa`; equal to it if identity).
    pub ram_ipa: MemRange,
    /// Where to copy the Image and where to enter it (IPA).
    pub kernel_ipa: u64,
    /// The IPA range reserved for the kernel: `kernel_ipa .. + image_size`.
    pub kernel: MemRange,
    /// Where to copy the initrd (IPA), if any.
    pub initrd_ipa: Option<MemRange>,
    /// Where to write the guest's device tree (IPA); its size is the most it may take.
    pub dtb_ipa: MemRange,
}

/// Why no plan fits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutError {
    /// A region runs past the end of the 64-bit address space.
    InvalidRange {
        /// What it is.
        label: String,
        /// The region.
        range: MemRange,
    },
    /// A boot module does not lie entirely in RAM.
    ModuleOutsideRam {
        /// Which module.
        label: String,
        /// Where it is.
        range: MemRange,
    },
    /// Two boot modules overlap: the later one loaded overwrote the other.
    ModulesOverlap {
        /// One module.
        a: String,
        /// Where it is.
        a_range: MemRange,
        /// The other.
        b: String,
        /// Where that one is.
        b_range: MemRange,
    },
    /// A boot module overlaps the hypervisor.
    OverlapsHypervisor {
        /// Which module.
        label: String,
        /// Where it is.
        range: MemRange,
        /// Where the hypervisor is.
        hypervisor: MemRange,
    },
    /// A boot module overlaps the host device tree.
    OverlapsHostDtb {
        /// Which module.
        label: String,
        /// Where it is.
        range: MemRange,
        /// Where the device tree is.
        host_dtb: MemRange,
    },
    /// No free block of host RAM is large enough for a domain.
    NotEnoughMemory {
        /// The domain.
        domain: String,
        /// Size of the block it needs (its memory, rounded up to 2 MiB).
        needed: u64,
        /// The largest 2 MiB aligned block still free.
        largest_free: u64,
    },
    /// A kernel file is larger than the `image_size` its header declares.
    KernelTooLarge {
        /// The domain.
        domain: String,
        /// Size of the module.
        file_size: u64,
        /// What the header says.
        image_size: u64,
    },
    /// A domain's memory cannot hold its kernel, initrd and device tree plus
    /// [`MIN_FREE_GUEST_RAM`].
    TooLittleGuestMemory {
        /// The domain.
        domain: String,
        /// The least memory that would do.
        needed: u64,
        /// The memory it was given (rounded up to 2 MiB).
        available: u64,
    },
    /// No free block of host RAM is large enough for a reservation.
    NoRoomToReserve {
        /// The reservation's label.
        label: String,
        /// Size of the block it needs (rounded up to 2 MiB).
        needed: u64,
        /// The largest 2 MiB aligned block still free.
        largest_free: u64,
    },
    /// A domain's IPA base is not 2 MiB aligned.
    MisalignedIpaBase {
        /// The domain.
        domain: String,
        /// Its IPA base.
        ipa_base: u64,
    },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayoutError::InvalidRange { label, range } => {
                write!(
                    f,
                    "{label} {range} runs past the end of the 64-bit address space"
                )
            }
            LayoutError::ModuleOutsideRam { label, range } => write!(
                f,
                "boot module {label} at {range} is not inside RAM; load it inside a memory bank \
                 (guest-loader addr=) or give QEMU more memory (-m)"
            ),
            LayoutError::ModulesOverlap {
                a,
                a_range,
                b,
                b_range,
            } => write!(
                f,
                "boot modules {a} {a_range} and {b} {b_range} overlap; load them at addresses \
                 further apart (guest-loader addr=)"
            ),
            LayoutError::OverlapsHypervisor {
                label,
                range,
                hypervisor,
            } => write!(
                f,
                "boot module {label} {range} overlaps the hypervisor {hypervisor}; load it above \
                 the hypervisor (guest-loader addr=)"
            ),
            LayoutError::OverlapsHostDtb {
                label,
                range,
                host_dtb,
            } => write!(
                f,
                "boot module {label} {range} overlaps the device tree QEMU passes {host_dtb}; \
                 load it elsewhere (guest-loader addr=)"
            ),
            LayoutError::NotEnoughMemory {
                domain,
                needed,
                largest_free,
            } => write!(
                f,
                "not enough free RAM for {domain}: it needs a contiguous block of {}, the largest \
                 free one is {}; give it less memory or give QEMU more (-m)",
                Bytes(*needed),
                Bytes(*largest_free)
            ),
            LayoutError::KernelTooLarge {
                domain,
                file_size,
                image_size,
            } => write!(
                f,
                "the kernel of {domain} is {} long but its header declares an image_size of {}: \
                 it is not a plain arm64 Image (use arch/arm64/boot/Image)",
                Bytes(*file_size),
                Bytes(*image_size)
            ),
            LayoutError::TooLittleGuestMemory {
                domain,
                needed,
                available,
            } => write!(
                f,
                "{domain} has {} of RAM but needs at least {} (kernel, initrd, device tree and \
                 {} to run in); give it more memory",
                Bytes(*available),
                Bytes(*needed),
                Bytes(MIN_FREE_GUEST_RAM)
            ),
            LayoutError::NoRoomToReserve {
                label,
                needed,
                largest_free,
            } => write!(
                f,
                "no free RAM left for the {label}: it needs a block of {}, the largest free one \
                 is {}; give the domains less memory or give QEMU more (-m)",
                Bytes(*needed),
                Bytes(*largest_free)
            ),
            LayoutError::MisalignedIpaBase { domain, ipa_base } => write!(
                f,
                "the guest RAM base {ipa_base:#x} of {domain} is not 2 MiB aligned"
            ),
        }
    }
}

/// Plans every domain, in order, or says why it cannot be done (the reservations are
/// planned too, and their blocks dropped: see [`plan_all`]).
pub fn plan(input: &LayoutInput<'_>) -> Result<Vec<DomainPlan>, LayoutError> {
    plan_all(input).map(|layout| layout.domains)
}

/// Plans every domain, then every reservation, in order, or says why it cannot be done.
pub fn plan_all(input: &LayoutInput<'_>) -> Result<Layout, LayoutError> {
    for bank in input.ram {
        check_range("RAM bank", *bank)?;
    }
    check_range("hypervisor", input.hypervisor)?;
    check_range("host device tree", input.host_dtb)?;
    for (label, range) in input.modules {
        check_range(label, *range)?;
    }
    let ram = coalesce(input.ram);

    for (label, range) in input.modules {
        check_module(&ram, input, label, *range)?;
    }
    for (i, (a, a_range)) in input.modules.iter().enumerate() {
        for (b, b_range) in input.modules.iter().skip(i + 1) {
            if a_range.overlaps(b_range) {
                return Err(LayoutError::ModulesOverlap {
                    a: String::from(*a),
                    a_range: *a_range,
                    b: String::from(*b),
                    b_range: *b_range,
                });
            }
        }
    }
    for domain in input.domains {
        let kernel_label = format!("{} kernel", domain.name);
        check_range(&kernel_label, domain.kernel.module)?;
        check_module(&ram, input, &kernel_label, domain.kernel.module)?;
        if let Some(initrd) = domain.initrd {
            let initrd_label = format!("{} initrd", domain.name);
            check_range(&initrd_label, initrd)?;
            check_module(&ram, input, &initrd_label, initrd)?;
        }
    }

    let mut free = ram;
    let reserved = [input.hypervisor, input.host_dtb]
        .into_iter()
        .chain(input.modules.iter().map(|(_, range)| *range))
        .chain(
            input
                .domains
                .iter()
                .flat_map(|d| [Some(d.kernel.module), d.initrd])
                .flatten(),
        );
    for hole in reserved {
        free = subtract(&free, hole);
    }

    let mut plans = Vec::new();
    for domain in input.domains {
        plans.push(plan_domain(domain, &mut free)?);
    }
    let mut reserved = Vec::new();
    for reservation in input.reservations {
        let no_room = |needed: u64, free: &[MemRange]| LayoutError::NoRoomToReserve {
            label: String::from(reservation.label),
            needed,
            largest_free: largest_free_block(free),
        };
        let size = align_up(reservation.size, GUEST_RAM_ALIGN)
            .ok_or_else(|| no_room(reservation.size, &free))?;
        let block = take_block(&mut free, size).ok_or_else(|| no_room(size, &free))?;
        reserved.push(block);
    }
    Ok(Layout {
        domains: plans,
        reserved,
    })
}

fn check_range(label: &str, range: MemRange) -> Result<(), LayoutError> {
    match range.end() {
        Some(_) => Ok(()),
        None => Err(LayoutError::InvalidRange {
            label: String::from(label),
            range,
        }),
    }
}

/// A module must lie in RAM and must not overlap the hypervisor or the host device tree.
fn check_module(
    ram: &[MemRange],
    input: &LayoutInput<'_>,
    label: &str,
    range: MemRange,
) -> Result<(), LayoutError> {
    if !ram.iter().any(|bank| bank.contains_range(&range)) {
        return Err(LayoutError::ModuleOutsideRam {
            label: String::from(label),
            range,
        });
    }
    if range.overlaps(&input.hypervisor) {
        return Err(LayoutError::OverlapsHypervisor {
            label: String::from(label),
            range,
            hypervisor: input.hypervisor,
        });
    }
    if range.overlaps(&input.host_dtb) {
        return Err(LayoutError::OverlapsHostDtb {
            label: String::from(label),
            range,
            host_dtb: input.host_dtb,
        });
    }
    Ok(())
}

/// RAM banks sorted, without empty ones, touching or overlapping banks merged. The banks
/// have been checked not to wrap.
fn coalesce(banks: &[MemRange]) -> Vec<MemRange> {
    let mut sorted: Vec<MemRange> = banks.iter().copied().filter(|b| !b.is_empty()).collect();
    sorted.sort_by_key(|b| b.base);
    let mut merged: Vec<MemRange> = Vec::new();
    for bank in sorted {
        let bank_end = bank.end().unwrap_or(u64::MAX);
        if let Some(last) = merged.last_mut() {
            let last_end = last.end().unwrap_or(u64::MAX);
            if bank.base <= last_end {
                last.size = last_end.max(bank_end) - last.base;
                continue;
            }
        }
        merged.push(bank);
    }
    merged
}

/// `free` (sorted, disjoint, not wrapping) without `hole`.
fn subtract(free: &[MemRange], hole: MemRange) -> Vec<MemRange> {
    let Some(hole_end) = hole.end() else {
        return free.to_vec();
    };
    let mut out = Vec::new();
    for range in free {
        let end = range.end().unwrap_or(u64::MAX);
        if !range.overlaps(&hole) {
            out.push(*range);
            continue;
        }
        if hole.base > range.base {
            out.push(MemRange::new(range.base, hole.base - range.base));
        }
        if hole_end < end {
            out.push(MemRange::new(hole_end, end - hole_end));
        }
    }
    out
}

/// The 2 MiB aligned part of a free range, if any.
fn aligned_part(range: &MemRange) -> Option<MemRange> {
    let base = align_up(range.base, GUEST_RAM_ALIGN)?;
    let end = align_down(range.end()?, GUEST_RAM_ALIGN);
    (end > base).then(|| MemRange::new(base, end - base))
}

/// Takes a `size` block (a multiple of 2 MiB) from the highest free range that holds one,
/// at the top of that range.
fn take_block(free: &mut Vec<MemRange>, size: u64) -> Option<MemRange> {
    let (index, block) = free.iter().enumerate().rev().find_map(|(i, range)| {
        let usable = aligned_part(range)?;
        let base = usable.end()?.checked_sub(size)?;
        (base >= usable.base).then(|| (i, MemRange::new(base, size)))
    })?;
    let rest = subtract(free.get(index..=index)?, block);
    free.splice(index..=index, rest);
    Some(block)
}

/// Size of the largest 2 MiB aligned block still free, for messages.
fn largest_free_block(free: &[MemRange]) -> u64 {
    free.iter()
        .filter_map(aligned_part)
        .map(|r| r.size)
        .max()
        .unwrap_or(0)
}

/// `value` rounded up to 2 MiB, in 128 bits so that it cannot overflow.
fn align_up_wide(value: u128) -> u128 {
    let align = u128::from(GUEST_RAM_ALIGN);
    value.div_ceil(align) * align
}

fn plan_domain(
    domain: &DomainRequest,
    free: &mut Vec<MemRange>,
) -> Result<DomainPlan, LayoutError> {
    let name = || domain.name.clone();
    if !domain.identity && !domain.ipa_base.is_multiple_of(GUEST_RAM_ALIGN) {
        return Err(LayoutError::MisalignedIpaBase {
            domain: name(),
            ipa_base: domain.ipa_base,
        });
    }
    let header = domain.kernel.header;
    if domain.kernel.module.size > header.image_size {
        return Err(LayoutError::KernelTooLarge {
            domain: name(),
            file_size: domain.kernel.module.size,
            image_size: header.image_size,
        });
    }
    let Some(size) = align_up(domain.mem_bytes, GUEST_RAM_ALIGN) else {
        return Err(LayoutError::NotEnoughMemory {
            domain: name(),
            needed: domain.mem_bytes,
            largest_free: largest_free_block(free),
        });
    };

    // Offsets from the start of guest RAM, in 128 bits: header fields are arbitrary.
    let kernel_offset = u128::from(header.text_offset);
    let kernel_end = kernel_offset + u128::from(header.image_size);
    let initrd_offset = align_up_wide(kernel_end);
    let initrd_end = initrd_offset + domain.initrd.map_or(0, |r| u128::from(r.size));
    let dtb_offset = if domain.initrd.is_some() {
        align_up_wide(initrd_end)
    } else {
        initrd_offset
    };
    let dtb_end = dtb_offset + u128::from(GUEST_DTB_SIZE);
    let needed = dtb_end + u128::from(MIN_FREE_GUEST_RAM);
    if needed > u128::from(size) {
        return Err(LayoutError::TooLittleGuestMemory {
            domain: name(),
            needed: u64::try_from(align_up_wide(needed)).unwrap_or(u64::MAX),
            available: size,
        });
    }

    if !domain.identity {
        let ipa_range = MemRange::new(domain.ipa_base, size);
        check_range(&format!("{} guest RAM", domain.name), ipa_range)?;
    }

    let ram_pa = take_block(free, size).ok_or_else(|| LayoutError::NotEnoughMemory {
        domain: name(),
        needed: size,
        largest_free: largest_free_block(free),
    })?;
    let ram_ipa = if domain.identity {
        ram_pa
    } else {
        MemRange::new(domain.ipa_base, size)
    };

    // Everything below fits in `size` (checked above) and ram_ipa does not wrap, so these
    // conversions and additions cannot fail; the fallbacks only keep the code panic-free.
    let at = |offset: u128| {
        ram_ipa
            .base
            .saturating_add(u64::try_from(offset).unwrap_or(u64::MAX))
    };
    let kernel_ipa = at(kernel_offset);
    Ok(DomainPlan {
        name: name(),
        ram_pa,
        ram_ipa,
        kernel_ipa,
        kernel: MemRange::new(kernel_ipa, header.image_size),
        initrd_ipa: domain
            .initrd
            .map(|initrd| MemRange::new(at(initrd_offset), initrd.size)),
        dtb_ipa: MemRange::new(at(dtb_offset), GUEST_DTB_SIZE),
    })
}

#[cfg(test)]
mod tests;
