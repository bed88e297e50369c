//! How the crate reaches the guests' grant tables.

use core::sync::atomic::{AtomicU32, Ordering::SeqCst};

use crate::{DomId, GrantRef, ENTRIES_PER_FRAME};

/// One `struct grant_entry_v1` in guest-visible memory, as two 32-bit words:
/// `header` = `flags | domid << 16` (bytes 0-3: `uint16_t flags; domid_t domid;`, Xen's
/// `union grant_combo`) and `frame` (bytes 4-7, the granted guest frame number).
#[derive(Clone, Copy, Debug)]
pub struct GrantEntry<'a> {
    /// `flags` (low half) and `domid` (high half).
    pub header: &'a AtomicU32,
    /// `frame`.
    pub frame: &'a AtomicU32,
}

impl<'a> GrantEntry<'a> {
    /// From the entry's two words (at least two; more are ignored).
    pub fn from_words(words: &'a [AtomicU32]) -> Option<Self> {
        Some(Self {
            header: words.first()?,
            frame: words.get(1)?,
        })
    }

    /// Entry `gref` of a table whose frames are given in order, each seen as 32-bit words
    /// (1024 per 4 KiB frame): frame `gref / 512`, words `2 * (gref % 512)` and the next.
    /// `None` when the frame is missing or too short.
    pub fn in_frames<F: AsRef<[AtomicU32]>>(frames: &'a [F], gref: GrantRef) -> Option<Self> {
        let frame = frames.get((gref / ENTRIES_PER_FRAME) as usize)?.as_ref();
        let w = (gref % ENTRIES_PER_FRAME) as usize * 2;
        Self::from_words(frame.get(w..w + 2)?)
    }

    /// Current `flags`.
    pub fn flags(&self) -> u16 {
        self.header.load(SeqCst) as u16
    }

    /// Current `domid`.
    pub fn domid(&self) -> DomId {
        (self.header.load(SeqCst) >> 16) as u16
    }
}

/// The hypervisor's view of every domain's grant table (the frames it allocated for it).
///
/// The crate calls [`GrantTableMemory::entry`] only for references below the domain's
/// current size (`nr_frames * 512`), but the implementation must check bounds anyway and
/// answer `None` for anything it does not back; the crate then fails the operation with
/// `GNTST_bad_gntref` (or skips clearing flags in a table that is gone).
pub trait GrantTableMemory {
    /// Entry `gref` of `dom`'s table.
    fn entry(&self, dom: DomId, gref: GrantRef) -> Option<GrantEntry<'_>>;
}
