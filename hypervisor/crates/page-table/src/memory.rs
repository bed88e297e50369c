//! What a [`PageTable`](crate::PageTable) needs from its environment: table pages, access to
//! them by physical address, and TLB maintenance.

use crate::config::Regime;
use crate::descriptor::DESCRIPTORS_PER_TABLE;

/// The memory that holds translation tables and the TLBs that cache them.
///
/// In the hypervisor, table pages come from a frame allocator and are reached through the
/// identity map (`pa as *mut [u64; 512]`); in host tests, from an arena. The crate never
/// keeps a reference returned by [`table`](Self::table) or [`table_mut`](Self::table_mut)
/// across another call into this trait.
///
/// # Contract
///
/// - Every page handed out is 4 KiB aligned, below 2^48, and reserved for this table until
///   it is given back. Its contents need not be zeroed: the crate initialises every
///   descriptor of a page before linking it into a table.
/// - [`table`](Self::table) and [`table_mut`](Self::table_mut) are only called with the
///   address of a page handed out and not yet given back (the root included).
/// - [`invalidate_tlb`](Self::invalidate_tlb) is not optional on a live table; see there.
pub trait TableMemory {
    /// Returns the physical address of a free 4 KiB-aligned page for a table, or `None` when
    /// out of memory.
    fn alloc_table(&mut self) -> Option<u64>;

    /// Returns `count` physically contiguous free pages aligned to `count` × 4 KiB, for the
    /// concatenated start-level tables of a stage-2 table (`count` is a power of two, at most
    /// 16; see [`TableConfig::start_level_tables`](crate::TableConfig::start_level_tables)),
    /// or `None` when out of memory.
    ///
    /// The default only serves `count == 1`, through [`alloc_table`](Self::alloc_table): a
    /// configuration with concatenated tables (stage 2 with 40 to 43 IPA bits) then fails in
    /// [`PageTable::new`](crate::PageTable::new) with
    /// [`MapError::OutOfMemory`](crate::MapError::OutOfMemory).
    fn alloc_concatenated_tables(&mut self, count: usize) -> Option<u64> {
        if count == 1 {
            self.alloc_table()
        } else {
            None
        }
    }

    /// Gives read access to the 512 descriptors of the table page at physical address `pa`.
    ///
    /// Used by the read-only walks ([`PageTable::translate`](crate::PageTable::translate)
    /// and the checks before a change), so that a translation needs only a shared borrow of
    /// the memory. Plain reads are enough: only this crate writes descriptors, because the
    /// hardware update of the Access flag and dirty state (FEAT_HAFDBS) is left disabled.
    fn table(&self, pa: u64) -> &[u64; DESCRIPTORS_PER_TABLE];

    /// Gives write access to the 512 descriptors of the table page at physical address `pa`.
    ///
    /// The crate writes every descriptor of a live table with one volatile 64-bit store
    /// (single-copy atomic, as the table walker requires), and orders the initialisation of a
    /// new table before the descriptor that links it with a release fence.
    fn table_mut(&mut self, pa: u64) -> &mut [u64; DESCRIPTORS_PER_TABLE];

    /// Gives back a table page that is no longer linked, once no TLB can hold it any more
    /// (the crate calls [`invalidate_tlb`](Self::invalidate_tlb) in between). Called when an
    /// unmap empties a table and by [`PageTable::destroy`](crate::PageTable::destroy). The
    /// default does nothing, i.e. leaks the page.
    fn free_table(&mut self, _pa: u64) {}

    /// Gives back pages obtained from
    /// [`alloc_concatenated_tables`](Self::alloc_concatenated_tables). The default gives
    /// each page back with [`free_table`](Self::free_table).
    fn free_concatenated_tables(&mut self, pa: u64, count: usize) {
        let mut page = pa;
        for _ in 0..count {
            self.free_table(page);
            page = page.wrapping_add(crate::PAGE_SIZE);
        }
    }

    /// Makes every descriptor write done so far visible to the table walkers of all PEs, and
    /// removes from every TLB and walk cache any entry for an input address in
    /// `input .. input + size` of this table. Returns once that is complete.
    ///
    /// The crate calls it whenever it has changed or removed a valid descriptor: in the
    /// middle of a break-before-make sequence (Arm ARM D8.14.1: splitting a block, changing a
    /// memory type), before giving an emptied table back, and once at the end of a
    /// [`map`](crate::PageTable::map) that changed permissions or an
    /// [`unmap`](crate::PageTable::unmap). A table that no PE uses yet (the EL2 table before
    /// the MMU is on, a guest's table before it first runs) may implement it as a no-op.
    ///
    /// Sequences (Arm ARM D8.14 "TLB maintenance"), with `page = address >> 12`:
    /// - [`Regime::El2Stage1`]: `DSB ISHST; TLBI VAE2IS, page` for each page (or
    ///   `TLBI ALLE2IS`); `DSB ISH; ISB`.
    /// - [`Regime::Stage2`]: with VTTBR_EL2 holding this table's VMID, `DSB ISHST;
    ///   TLBI IPAS2E1IS, page` for each page; `DSB ISH; TLBI VMALLE1IS; DSB ISH; ISB` (the
    ///   second TLBI drops the combined stage 1+2 entries, which IPAS2E1IS does not), or
    ///   simply `DSB ISHST; TLBI VMALLS12E1IS; DSB ISH; ISB`.
    ///
    /// `size` can be up to the whole input range: above a few hundred pages, invalidating
    /// the whole VMID (or all of EL2) is cheaper than one TLBI per page, as Linux does.
    fn invalidate_tlb(&mut self, regime: Regime, input: u64, size: u64);
}
