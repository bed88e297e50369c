//! The 2-level event delivery, over the guest's own memory.
//!
//! A domain's event state lives in guest-visible memory that the guest changes concurrently
//! with atomic instructions (Linux: `sync_set_bit`, `sync_clear_bit`, `xchg_xen_ulong`, and
//! plain byte stores to `evtchn_upcall_pending`):
//!
//! - `struct shared_info` (one page per domain, `XENMAPSPACE_shared_info`):
//!   `xen_ulong_t evtchn_pending[64]` and `xen_ulong_t evtchn_mask[64]`, one bit per port.
//! - `struct vcpu_info` (per vCPU: registered with `VCPUOP_register_vcpu_info`, or
//!   `shared_info.vcpu_info[0]` for vCPU 0 until then): `uint8_t evtchn_upcall_pending` and
//!   `xen_ulong_t evtchn_pending_sel`, one selector bit per word of `evtchn_pending`.
//!
//! [`layout`] gives the byte offsets, checked against the kernel headers. The hypervisor hands
//! these words over as `&AtomicU64` (it maps the pages; the views are 8-byte aligned because
//! the structures are, and [`vcpu_info_area_check`] enforces it for registered areas).
//!
//! `evtchn_upcall_pending` is a byte; this module reaches it through the 64-bit word that
//! starts `vcpu_info` (bytes 0-7: `evtchn_upcall_pending`, `evtchn_upcall_mask`, padding) and
//! only ever sets or tests bit 0 of it. Xen does the same (`guest_test_and_set_bit(d, 0,
//! &vcpu_info(v, evtchn_upcall_pending))` operates on the enclosing word). An atomic
//! read-modify-write of the whole word cannot lose a concurrent byte store by the guest
//! (the store breaks the exclusive monitor or is ordered by the LSE atomic), and keeping every
//! hypervisor access 64 bits wide avoids mixed-size atomics on one location.
//!
//! All read-modify-writes are `SeqCst`: Xen's guest bit operations are full barriers, and the
//! algorithm depends on their order (pending, then mask, then selector, then upcall), which is
//! mirrored by Linux's handler (clear upcall, exchange selector, read pending & ~mask).
//!
//! # Bounded time
//!
//! Built for a CPU without FEAT_LSE (the default for `aarch64-unknown-none-softfloat`), each
//! atomic is a load-/store-exclusive loop, which a guest writing the same cache line from
//! another CPU could in theory keep failing (Xen's XSA-295 answer is `guest_atomics` with a
//! bounded retry count and pausing the domain). With `-C target-feature=+lse` on a CPU that
//! has it (Neoverse-N1, not Cortex-A72) every operation here is a single instruction.

use core::sync::atomic::{AtomicU64, Ordering::SeqCst};

use crate::{Errno, Port, BITS_PER_EVTCHN_WORD, EVTCHN_2L_NR_CHANNELS};

/// Words in each of the 2-level bitmaps: `sizeof(xen_ulong_t) * 8` = 64.
pub const EVTCHN_2L_WORDS: usize = (EVTCHN_2L_NR_CHANNELS / BITS_PER_EVTCHN_WORD) as usize;

/// Byte offsets the hypervisor must use, for arm64 (`xen_ulong_t` = 64 bits,
/// `MAX_VIRT_CPUS` = 1, `struct arch_vcpu_info` and `struct arch_shared_info` empty,
/// `struct pvclock_vcpu_time_info` packed, 32 bytes), as `offsetof()` gives them for
/// `include/xen/interface/xen.h` compiled for aarch64 (checked by
/// `tools/check-abi.sh` with clang against the kernel headers).
pub mod layout {
    /// `MAX_VIRT_CPUS` on Arm (`XEN_LEGACY_MAX_VCPUS`): `shared_info` holds one `vcpu_info`.
    pub const LEGACY_MAX_VCPUS: u32 = 1;

    /// `sizeof(struct vcpu_info)`.
    pub const VCPU_INFO_SIZE: usize = 48;
    /// `offsetof(struct vcpu_info, evtchn_upcall_pending)` (a byte).
    pub const VCPU_INFO_UPCALL_PENDING: usize = 0;
    /// `offsetof(struct vcpu_info, evtchn_upcall_mask)` (a byte; Linux on Arm does not use it
    /// and Xen on Arm ignores it).
    pub const VCPU_INFO_UPCALL_MASK: usize = 1;
    /// `offsetof(struct vcpu_info, evtchn_pending_sel)` (a `xen_ulong_t`).
    pub const VCPU_INFO_PENDING_SEL: usize = 8;
    /// `offsetof(struct vcpu_info, time)` (`struct pvclock_vcpu_time_info`, 32 bytes).
    pub const VCPU_INFO_TIME: usize = 16;
    /// Alignment a registered `vcpu_info` must have: `alignof(xen_ulong_t)`.
    pub const VCPU_INFO_ALIGN: u64 = 8;

    /// `sizeof(struct shared_info)`.
    pub const SHARED_INFO_SIZE: usize = 1096;
    /// `offsetof(struct shared_info, vcpu_info)`: `vcpu_info[0]`.
    pub const SHARED_INFO_VCPU_INFO: usize = 0;
    /// `offsetof(struct shared_info, evtchn_pending)`: 64 `xen_ulong_t`.
    pub const SHARED_INFO_EVTCHN_PENDING: usize = 48;
    /// `offsetof(struct shared_info, evtchn_mask)`: 64 `xen_ulong_t`.
    pub const SHARED_INFO_EVTCHN_MASK: usize = 560;
    /// `offsetof(struct shared_info, wc)` (`struct pvclock_wall_clock`, packed, 16 bytes).
    pub const SHARED_INFO_WC: usize = 1072;
    /// `offsetof(struct shared_info, wc_sec_hi)`.
    pub const SHARED_INFO_WC_SEC_HI: usize = 1088;

    /// Page size of the Xen ABI (`XEN_PAGE_SIZE`).
    pub const XEN_PAGE_SIZE: usize = 4096;
}

/// The 2-level bitmaps of one domain: `shared_info.evtchn_pending` and `evtchn_mask`.
#[derive(Clone, Copy, Debug)]
pub struct SharedBitmaps<'a> {
    pending: &'a [AtomicU64],
    mask: &'a [AtomicU64],
}

impl<'a> SharedBitmaps<'a> {
    /// The bitmaps from their two arrays, each exactly [`EVTCHN_2L_WORDS`] words; `None`
    /// otherwise.
    pub fn new(pending: &'a [AtomicU64], mask: &'a [AtomicU64]) -> Option<Self> {
        (pending.len() == EVTCHN_2L_WORDS && mask.len() == EVTCHN_2L_WORDS)
            .then_some(Self { pending, mask })
    }

    /// The bitmaps inside a `shared_info` page seen as 64-bit words (the page starts the
    /// structure; at least `SHARED_INFO_EVTCHN_MASK / 8 + 64` words). `None` if too short.
    pub fn from_shared_info(page: &'a [AtomicU64]) -> Option<Self> {
        let p = layout::SHARED_INFO_EVTCHN_PENDING / 8;
        let m = layout::SHARED_INFO_EVTCHN_MASK / 8;
        Self::new(
            page.get(p..p + EVTCHN_2L_WORDS)?,
            page.get(m..m + EVTCHN_2L_WORDS)?,
        )
    }

    /// Whether `port`'s pending bit is set (false for ports beyond the ABI).
    pub fn is_pending(&self, port: Port) -> bool {
        test(self.pending, port)
    }

    /// Whether `port`'s mask bit is set (false for ports beyond the ABI).
    pub fn is_masked(&self, port: Port) -> bool {
        test(self.mask, port)
    }
}

/// The event fields of one vCPU's `vcpu_info`.
#[derive(Clone, Copy, Debug)]
pub struct VcpuInfoBits<'a> {
    /// Bytes 0-7 of `vcpu_info`: `evtchn_upcall_pending` is bit 0 of byte 0.
    head: &'a AtomicU64,
    /// `evtchn_pending_sel`.
    pending_sel: &'a AtomicU64,
}

impl<'a> VcpuInfoBits<'a> {
    /// From the first word of `vcpu_info` (holding `evtchn_upcall_pending` in its low byte)
    /// and `evtchn_pending_sel`.
    pub fn new(head: &'a AtomicU64, pending_sel: &'a AtomicU64) -> Self {
        Self { head, pending_sel }
    }

    /// From a `vcpu_info` seen as 64-bit words (at least the first two). `None` if shorter.
    pub fn from_vcpu_info(words: &'a [AtomicU64]) -> Option<Self> {
        Some(Self::new(
            words.get(layout::VCPU_INFO_UPCALL_PENDING / 8)?,
            words.get(layout::VCPU_INFO_PENDING_SEL / 8)?,
        ))
    }

    /// Whether `evtchn_upcall_pending` is set (non-zero byte).
    pub fn upcall_pending(&self) -> bool {
        self.head.load(SeqCst) & 0xff != 0
    }

    /// The current selector.
    pub fn pending_sel(&self) -> u64 {
        self.pending_sel.load(SeqCst)
    }

    /// Sets `evtchn_upcall_pending`; true if it was clear (Xen's `vcpu_mark_events_pending()`:
    /// only a 0 -> 1 transition injects the interrupt).
    fn mark_upcall_pending(&self) -> bool {
        self.head.fetch_or(1, SeqCst) & 0xff == 0
    }
}

/// What setting a port pending did. Only [`Delivery::Upcall`] asks for an interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// The vCPU's `evtchn_upcall_pending` went from 0 to 1: inject the event-channel PPI
    /// into that vCPU and kick it.
    Upcall,
    /// Newly pending and unmasked, but the selector bit or `evtchn_upcall_pending` was
    /// already set: an upcall is already on its way and will see this port.
    Coalesced,
    /// Newly pending but masked: no upcall; the guest finds it when it unmasks
    /// (`EVTCHNOP_unmask` or its own unmask path).
    Masked,
    /// The port was already pending: events on a port merge.
    AlreadyPending,
    /// Pending set, but the vCPU has no `vcpu_info` yet (Xen's `dummy_vcpu_info`): no
    /// selector, no upcall. [`mark_all_pending`] at registration recovers it.
    NoVcpuInfo,
    /// Nothing to deliver: [`unmask`] of a port that was not masked (Xen then does nothing)
    /// or that has no event pending.
    Idle,
    /// Port beyond the 2-level ABI (cannot come from [`crate::EventChannels`]): nothing done.
    Dropped,
}

/// Xen's `evtchn_2l_set_pending()`: set `port` pending; if it was not pending and is not
/// masked, set its selector bit in the target vCPU's `evtchn_pending_sel` and, if that bit
/// was clear, `evtchn_upcall_pending`.
pub fn set_pending(
    bitmaps: &SharedBitmaps<'_>,
    vcpu: Option<&VcpuInfoBits<'_>>,
    port: Port,
) -> Delivery {
    let Some((word, bit)) = split(port) else {
        return Delivery::Dropped;
    };
    let (Some(pending), Some(mask)) = (bitmaps.pending.get(word), bitmaps.mask.get(word)) else {
        return Delivery::Dropped;
    };
    if pending.fetch_or(bit, SeqCst) & bit != 0 {
        return Delivery::AlreadyPending;
    }
    if mask.load(SeqCst) & bit != 0 {
        return Delivery::Masked;
    }
    raise_selector(vcpu, word)
}

/// Xen's `evtchn_2l_unmask()` (`EVTCHNOP_unmask`): clear `port`'s mask bit; if it was set and
/// the port is pending, set the selector bit and the upcall as for a new event.
///
/// Linux on Arm (an HVM guest for `events_2l.c`) clears the mask itself, finds the port
/// pending, sets the mask again and makes this hypercall, so the mask bit is set here.
pub fn unmask(
    bitmaps: &SharedBitmaps<'_>,
    vcpu: Option<&VcpuInfoBits<'_>>,
    port: Port,
) -> Delivery {
    let Some((word, bit)) = split(port) else {
        return Delivery::Dropped;
    };
    let (Some(pending), Some(mask)) = (bitmaps.pending.get(word), bitmaps.mask.get(word)) else {
        return Delivery::Dropped;
    };
    if mask.fetch_and(!bit, SeqCst) & bit == 0 || pending.load(SeqCst) & bit == 0 {
        // Not masked before (Xen does nothing more), or nothing pending.
        return Delivery::Idle;
    }
    raise_selector(vcpu, word)
}

/// Clears `port`'s pending bit (Xen's `evtchn_port_clear_pending()`, done when a port is
/// freed so that a re-bound port does not start with a stale event).
pub fn clear_pending(bitmaps: &SharedBitmaps<'_>, port: Port) {
    if let Some((word, bit)) = split(port) {
        if let Some(w) = bitmaps.pending.get(word) {
            w.fetch_and(!bit, SeqCst);
        }
    }
}

/// What `VCPUOP_register_vcpu_info` does once the new area is in place: "mark everything as
/// being pending just to make sure nothing gets lost" (every selector bit and
/// `evtchn_upcall_pending`), then inject the event interrupt unconditionally
/// (`arch_evtchn_inject()`): always [`Delivery::Upcall`].
pub fn mark_all_pending(vcpu: &VcpuInfoBits<'_>) -> Delivery {
    vcpu.pending_sel.fetch_or(u64::MAX, SeqCst);
    vcpu.head.fetch_or(1, SeqCst);
    Delivery::Upcall
}

/// Checks a `VCPUOP_register_vcpu_info` placement as Xen's `map_guest_area()` does: the
/// [`layout::VCPU_INFO_SIZE`] bytes at guest physical address `gaddr` must not cross a page,
/// and `gaddr` must be aligned to `alignof(xen_ulong_t)`; `-ENXIO` otherwise. (The caller
/// builds `gaddr` as `mfn << 12 | offset` and rejects an overflowing one with `-EINVAL`.)
pub fn vcpu_info_area_check(gaddr: u64) -> Result<(), Errno> {
    let size = layout::VCPU_INFO_SIZE as u64;
    let last = gaddr.checked_add(size - 1).ok_or(Errno::NxIo)?;
    if gaddr >> 12 != last >> 12 || gaddr % layout::VCPU_INFO_ALIGN != 0 {
        return Err(Errno::NxIo);
    }
    Ok(())
}

/// Sets the selector bit for `word` and then the upcall: the tail of both Xen functions.
fn raise_selector(vcpu: Option<&VcpuInfoBits<'_>>, word: usize) -> Delivery {
    let Some(v) = vcpu else {
        return Delivery::NoVcpuInfo;
    };
    let sel = 1u64 << word;
    if v.pending_sel.fetch_or(sel, SeqCst) & sel != 0 {
        return Delivery::Coalesced;
    }
    if v.mark_upcall_pending() {
        Delivery::Upcall
    } else {
        Delivery::Coalesced
    }
}

/// Word index and bit mask of a port, or `None` beyond the 2-level ABI.
fn split(port: Port) -> Option<(usize, u64)> {
    (port < EVTCHN_2L_NR_CHANNELS).then(|| {
        (
            (port / BITS_PER_EVTCHN_WORD) as usize,
            1u64 << (port % BITS_PER_EVTCHN_WORD),
        )
    })
}

fn test(words: &[AtomicU64], port: Port) -> bool {
    split(port)
        .and_then(|(w, bit)| words.get(w).map(|x| x.load(SeqCst) & bit != 0))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn words(n: usize) -> Vec<AtomicU64> {
        (0..n).map(|_| AtomicU64::new(0)).collect()
    }

    #[test]
    fn split_covers_the_abi() {
        assert_eq!(split(0), Some((0, 1)));
        assert_eq!(split(63), Some((0, 1 << 63)));
        assert_eq!(split(64), Some((1, 1)));
        assert_eq!(split(4095), Some((63, 1 << 63)));
        assert_eq!(split(4096), None);
        assert_eq!(split(u32::MAX), None);
    }

    #[test]
    fn vcpu_info_area() {
        assert_eq!(vcpu_info_area_check(0x4000_0000), Ok(()));
        assert_eq!(vcpu_info_area_check(0x4000_0fd0), Ok(())); // ends at 0xfff
        assert_eq!(vcpu_info_area_check(0x4000_0fd8), Err(Errno::NxIo));
        assert_eq!(vcpu_info_area_check(0x4000_0004), Err(Errno::NxIo));
        assert_eq!(vcpu_info_area_check(u64::MAX - 7), Err(Errno::NxIo));
    }

    #[test]
    fn bitmaps_need_the_right_lengths() {
        let a = words(64);
        let b = words(63);
        assert!(SharedBitmaps::new(&a, &a).is_some());
        assert!(SharedBitmaps::new(&a, &b).is_none());
        let page = words(512);
        assert!(SharedBitmaps::from_shared_info(&page).is_some());
        assert!(SharedBitmaps::from_shared_info(&page[..133]).is_none());
        assert!(SharedBitmaps::from_shared_info(&page[..134]).is_some());
        assert!(VcpuInfoBits::from_vcpu_info(&page[..1]).is_none());
    }
}
