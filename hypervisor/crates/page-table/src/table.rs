//! The translation table itself: map, unmap, translate.

use core::cmp::{max, min};
use core::fmt;
use core::sync::atomic::{fence, Ordering};

use crate::attributes::{self, Attributes};
use crate::config::TableConfig;
use crate::descriptor::{
    classify, leaf_descriptor, level_allows_leaf, level_shift, level_size, table_descriptor, Entry,
    DESCRIPTORS_PER_TABLE, INVALID, LEAF_ATTRIBUTE_MASK, MAX_OUTPUT_BITS, OUTPUT_ADDRESS_MASK,
    PAGE_SIZE, PERMISSION_MASK, VALID,
};
use crate::memory::TableMemory;

/// Why a [`PageTable`] operation was refused. On every error, each input address translates
/// exactly as before the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// `input`, `output` or `size` is not a multiple of 4 KiB.
    Unaligned,
    /// `size` is zero.
    ZeroSize,
    /// `input + size` or `output + size` does not fit in 64 bits.
    Overflow,
    /// The input range reaches beyond [`TableConfig::input_size`], or the output range beyond
    /// 2^48 ([`MAX_OUTPUT_BITS`]).
    OutOfRange,
    /// The regime cannot express these attributes; see [`Attributes::is_supported_by`].
    UnsupportedAttributes,
    /// [`TableMemory`] had no page left. Tables allocated before the failure stay linked
    /// (empty, or equivalent to the block they split) and are used by later calls.
    OutOfMemory,
    /// [`TableMemory`] handed out a page that is not 4 KiB aligned (for concatenated
    /// start-level tables: aligned to their total size) or not below 2^48. The page is not
    /// used.
    InvalidTableAddress {
        /// The address it handed out.
        pa: u64,
    },
    /// Input address `at` is already mapped to another output address. Mapping over a live
    /// mapping is allowed only to change its attributes (same output); to move it, unmap it
    /// first. `at` is the lowest such address of the requested range.
    AlreadyMapped {
        /// The first input address of the request that maps elsewhere.
        at: u64,
    },
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Unaligned => f.write_str("address or size not a multiple of 4 KiB"),
            Self::ZeroSize => f.write_str("empty range"),
            Self::Overflow => f.write_str("range wraps around the 64-bit address space"),
            Self::OutOfRange => f.write_str("range beyond the table's input or output size"),
            Self::UnsupportedAttributes => {
                f.write_str("attributes not expressible in this translation regime")
            }
            Self::OutOfMemory => f.write_str("out of translation table pages"),
            Self::InvalidTableAddress { pa } => {
                write!(f, "table page at {pa:#x} is misaligned or beyond 48 bits")
            }
            Self::AlreadyMapped { at } => {
                write!(f, "{at:#x} is already mapped to another output address")
            }
        }
    }
}

impl core::error::Error for MapError {}

/// The result of a software table walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// The output address the input address translates to (offset within the page kept).
    pub output: u64,
    /// The attributes of the mapping.
    pub attrs: Attributes,
    /// Size of the block or page the walk ended on: 4 KiB, 2 MiB or 1 GiB.
    pub block_size: u64,
    /// The raw leaf descriptor, for diagnostics.
    pub descriptor: u64,
}

/// A VMSAv8-64 translation table with the 4 KiB granule: an EL2 stage-1 table (for
/// TTBR0_EL2) or a stage-2 table (for VTTBR_EL2).
///
/// The table owns its pages, which live in a [`TableMemory`] passed to each call; it does not
/// free them when dropped (see [`destroy`](Self::destroy)). Methods that change the table take
/// `&mut self`, so the caller serialises them (one lock per table); the hardware may walk the
/// table concurrently, which the descriptor write order and
/// [`TableMemory::invalidate_tlb`] account for. See the crate documentation for the barriers
/// the caller issues after a change.
#[derive(Debug)]
pub struct PageTable {
    root: u64,
    config: TableConfig,
}

impl PageTable {
    /// Allocates the start-level table(s) for `config`, all entries invalid.
    ///
    /// Errors: [`MapError::OutOfMemory`], [`MapError::InvalidTableAddress`].
    pub fn new<M: TableMemory + ?Sized>(
        config: impl Into<TableConfig>,
        mem: &mut M,
    ) -> Result<Self, MapError> {
        let config = config.into();
        let tables = config.start_level_tables();
        let root = if tables == 1 {
            mem.alloc_table()
        } else {
            mem.alloc_concatenated_tables(tables)
        }
        .ok_or(MapError::OutOfMemory)?;
        check_table_address(root, tables as u64 * PAGE_SIZE)?;
        for page in 0..tables as u64 {
            mem.table_mut(root + page * PAGE_SIZE).fill(INVALID);
        }
        Ok(Self { root, config })
    }

    /// Physical address of the start-level table: the BADDR to put in TTBR0_EL2, or in
    /// VTTBR_EL2 with the VMID ORed into bits `[55:48]`. Aligned to the size of the start-level
    /// tables, so bit 0 (CnP) is clear.
    pub fn root(&self) -> u64 {
        self.root
    }

    /// The configuration the table was created with.
    pub fn config(&self) -> TableConfig {
        self.config
    }

    /// Maps `input .. input + size` to `output .. output + size` with `attrs`.
    ///
    /// Uses the largest leaves that fit: a 1 GiB (level 1) or 2 MiB (level 2) block wherever
    /// input and output are both aligned to the block size and the range covers the whole
    /// block, 4 KiB pages elsewhere. Existing tables are reused, never merged into blocks.
    ///
    /// Policy over existing mappings:
    /// - an input already mapped to the same output address gets `attrs` (a permission
    ///   change is written in place; any other change goes through break-before-make); if
    ///   that concerns only part of a block, the block is first split into next-level
    ///   entries that keep the rest of it as it was;
    /// - an input already mapped to another output address makes the whole call fail with
    ///   [`MapError::AlreadyMapped`] before anything changes: unmap first.
    ///
    /// The call is all or nothing for translations: it first checks the whole range, then
    /// links every table it needs, then writes the leaves, so that an error (out of memory
    /// included) leaves every address translating as before.
    ///
    /// Errors, checked in this order: [`MapError::ZeroSize`], [`MapError::Unaligned`],
    /// [`MapError::Overflow`], [`MapError::OutOfRange`], [`MapError::UnsupportedAttributes`],
    /// [`MapError::AlreadyMapped`], [`MapError::OutOfMemory`],
    /// [`MapError::InvalidTableAddress`].
    pub fn map<M: TableMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        input: u64,
        output: u64,
        size: u64,
        attrs: Attributes,
    ) -> Result<(), MapError> {
        if size == 0 {
            return Err(MapError::ZeroSize);
        }
        if (input | output | size) % PAGE_SIZE != 0 {
            return Err(MapError::Unaligned);
        }
        let end = input.checked_add(size).ok_or(MapError::Overflow)?;
        let output_end = output.checked_add(size).ok_or(MapError::Overflow)?;
        if end > self.config.input_size() || output_end > 1 << MAX_OUTPUT_BITS {
            return Err(MapError::OutOfRange);
        }
        let leaf_attributes = attributes::encode(self.config.regime(), attrs)
            .ok_or(MapError::UnsupportedAttributes)?;
        let request = MapRequest {
            start: input,
            end,
            output,
            leaf_attributes,
        };
        let root = self.root_table();
        let mut pending = PendingInvalidation::default();
        let result = self
            .map_in(mem, MapPass::Check, root, &request, &mut pending)
            .and_then(|()| self.map_in(mem, MapPass::Prepare, root, &request, &mut pending))
            .and_then(|()| self.map_in(mem, MapPass::Commit, root, &request, &mut pending));
        pending.flush(mem, self.config);
        result
    }

    /// Unmaps `input .. input + size`. Addresses of the range that are not mapped are
    /// skipped. A block the range covers only in part is first split (break-before-make), so
    /// that the rest of it keeps translating to the same output addresses. Tables left
    /// without any valid entry are unlinked and given back with [`TableMemory::free_table`]
    /// (the start-level table excepted).
    ///
    /// Splitting needs table pages: on [`MapError::OutOfMemory`] nothing was unmapped.
    ///
    /// Errors, checked in this order: [`MapError::ZeroSize`], [`MapError::Unaligned`],
    /// [`MapError::Overflow`], [`MapError::OutOfRange`], [`MapError::OutOfMemory`],
    /// [`MapError::InvalidTableAddress`].
    pub fn unmap<M: TableMemory + ?Sized>(
        &mut self,
        mem: &mut M,
        input: u64,
        size: u64,
    ) -> Result<(), MapError> {
        if size == 0 {
            return Err(MapError::ZeroSize);
        }
        if (input | size) % PAGE_SIZE != 0 {
            return Err(MapError::Unaligned);
        }
        let end = input.checked_add(size).ok_or(MapError::Overflow)?;
        if end > self.config.input_size() {
            return Err(MapError::OutOfRange);
        }
        let root = self.root_table();
        let mut pending = PendingInvalidation::default();
        let result = self
            .unmap_in(mem, UnmapPass::Prepare, root, input, end, &mut pending)
            .and_then(|()| self.unmap_in(mem, UnmapPass::Commit, root, input, end, &mut pending));
        pending.flush(mem, self.config);
        result
    }

    /// Walks the table in software as the MMU would for `input` (any alignment): the output
    /// address and attributes, or `None` if `input` is outside the table or not mapped.
    pub fn translate<M: TableMemory + ?Sized>(&self, mem: &M, input: u64) -> Option<Translation> {
        if input >= self.config.input_size() {
            return None;
        }
        let mut table = self.root_table();
        loop {
            let index = table.index_of(input);
            let descriptor = table.read(mem, index);
            match classify(descriptor, table.level) {
                Entry::Invalid => return None,
                Entry::Table(next) => table = table.child(next, index),
                Entry::Leaf(output) => {
                    let block_size = level_size(table.level);
                    return Some(Translation {
                        output: output + (input & (block_size - 1)),
                        attrs: attributes::decode(self.config.regime(), descriptor),
                        block_size,
                        descriptor,
                    });
                }
            }
        }
    }

    /// Gives every page of the table back to `mem`: the next-level tables with
    /// [`TableMemory::free_table`], then the start level with `free_table` or, if
    /// concatenated, [`TableMemory::free_concatenated_tables`].
    ///
    /// No PE may use the table any more: TTBR0_EL2 / VTTBR_EL2 no longer point to it and its
    /// TLB entries are invalidated (for a guest, `TLBI VMALLS12E1IS` with its VMID).
    pub fn destroy<M: TableMemory + ?Sized>(self, mem: &mut M) {
        self.free_subtables(mem, self.root_table());
        let tables = self.config.start_level_tables();
        if tables == 1 {
            mem.free_table(self.root);
        } else {
            mem.free_concatenated_tables(self.root, tables);
        }
    }

    fn root_table(&self) -> TableRef {
        TableRef {
            pa: self.root,
            level: self.config.start_level(),
            entries: self.config.start_level_entries(),
            input_base: 0,
        }
    }

    fn map_in<M: TableMemory + ?Sized>(
        &self,
        mem: &mut M,
        pass: MapPass,
        table: TableRef,
        request: &MapRequest,
        pending: &mut PendingInvalidation,
    ) -> Result<(), MapError> {
        let level = table.level;
        let entry_size = level_size(level);
        for range in table.entries_in(request.start, request.end) {
            let output = request.output_at(range.start);
            let leaf_fits =
                range.covers_entry() && level_allows_leaf(level) && output % entry_size == 0;
            let descriptor = table.read(mem, range.index);
            match classify(descriptor, level) {
                Entry::Table(next) => {
                    self.map_in(mem, pass, table.child(next, range.index), request, pending)?;
                }
                Entry::Invalid if leaf_fits => {
                    if pass == MapPass::Commit {
                        let leaf = leaf_descriptor(output, level, request.leaf_attributes);
                        table.write(mem, range.index, leaf);
                    }
                }
                Entry::Invalid => {
                    // Nothing mapped below, so nothing to check.
                    if pass != MapPass::Check {
                        let child = self.link_empty_table(mem, table, range.index)?;
                        self.map_in(mem, pass, child, request, pending)?;
                    }
                }
                Entry::Leaf(mapped) => {
                    // A leaf maps its whole entry with one offset: checking the first address
                    // of the overlap checks all of it.
                    if mapped + (range.start - range.entry_start) != output {
                        return Err(MapError::AlreadyMapped { at: range.start });
                    }
                    let current = descriptor & LEAF_ATTRIBUTE_MASK;
                    if current == request.leaf_attributes || pass == MapPass::Check {
                        continue;
                    }
                    if range.covers_entry() {
                        // Same output, same entry size (a live leaf's output is aligned to
                        // it): only the attributes change.
                        if pass == MapPass::Commit {
                            let leaf = leaf_descriptor(output, level, request.leaf_attributes);
                            if (current ^ request.leaf_attributes) & !PERMISSION_MASK == 0 {
                                table.write(mem, range.index, leaf);
                                pending.add(range.entry_start, range.entry_end);
                            } else {
                                self.break_before_make(mem, table, range.index, leaf);
                            }
                        }
                    } else {
                        let child = self.split_block(mem, table, range.index, mapped, current)?;
                        self.map_in(mem, pass, child, request, pending)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn unmap_in<M: TableMemory + ?Sized>(
        &self,
        mem: &mut M,
        pass: UnmapPass,
        table: TableRef,
        start: u64,
        end: u64,
        pending: &mut PendingInvalidation,
    ) -> Result<(), MapError> {
        for range in table.entries_in(start, end) {
            let descriptor = table.read(mem, range.index);
            match classify(descriptor, table.level) {
                Entry::Invalid => {}
                Entry::Leaf(_) if range.covers_entry() => {
                    if pass == UnmapPass::Commit {
                        table.write(mem, range.index, INVALID);
                        pending.add(range.entry_start, range.entry_end);
                    }
                }
                Entry::Leaf(mapped) => {
                    let attributes = descriptor & LEAF_ATTRIBUTE_MASK;
                    let child = self.split_block(mem, table, range.index, mapped, attributes)?;
                    self.unmap_in(mem, pass, child, start, end, pending)?;
                }
                Entry::Table(next) => {
                    self.unmap_in(
                        mem,
                        pass,
                        table.child(next, range.index),
                        start,
                        end,
                        pending,
                    )?;
                    if pass == UnmapPass::Commit && table_is_empty(mem, next) {
                        // The walk caches may still hold the table address: invalidate before
                        // the page can be reused.
                        table.write(mem, range.index, INVALID);
                        let size = range.entry_end - range.entry_start;
                        mem.invalidate_tlb(self.config.regime(), range.entry_start, size);
                        mem.free_table(next);
                    }
                }
            }
        }
        Ok(())
    }

    /// Links a new table with every entry invalid at `index` of `parent`, which is invalid.
    fn link_empty_table<M: TableMemory + ?Sized>(
        &self,
        mem: &mut M,
        parent: TableRef,
        index: usize,
    ) -> Result<TableRef, MapError> {
        let pa = alloc_table_page(mem)?;
        mem.table_mut(pa).fill(INVALID);
        // The walker must not see the link before the table's contents.
        fence(Ordering::Release);
        parent.write(mem, index, table_descriptor(pa));
        Ok(parent.child(pa, index))
    }

    /// Replaces the block at `index` of `parent` (level 1 or 2), mapping to `output` with
    /// leaf attribute bits `attributes`, by a table of 512 next-level leaves that translate
    /// every address as the block did.
    fn split_block<M: TableMemory + ?Sized>(
        &self,
        mem: &mut M,
        parent: TableRef,
        index: usize,
        output: u64,
        attributes: u64,
    ) -> Result<TableRef, MapError> {
        let pa = alloc_table_page(mem)?;
        let child = parent.child(pa, index);
        let child_entry_size = level_size(child.level);
        let mut child_output = output;
        for slot in mem.table_mut(pa).iter_mut() {
            *slot = leaf_descriptor(child_output, child.level, attributes);
            child_output += child_entry_size;
        }
        self.break_before_make(mem, parent, index, table_descriptor(pa));
        Ok(child)
    }

    /// Replaces the valid entry at `index` of `table` by `new` with the break-before-make
    /// sequence the Arm ARM (D8.14.1) requires for a change of block size, memory type or
    /// output address: write an invalid entry, invalidate the TLBs for its region, then write
    /// the new entry. A PE touching the region in between takes a Translation fault, which
    /// the fault handler must treat as spurious and retry.
    fn break_before_make<M: TableMemory + ?Sized>(
        &self,
        mem: &mut M,
        table: TableRef,
        index: usize,
        new: u64,
    ) {
        table.write(mem, index, INVALID);
        let entry_start = table.entry_start(index);
        mem.invalidate_tlb(self.config.regime(), entry_start, level_size(table.level));
        // Orders the new entry after whatever it points to (a freshly filled table).
        fence(Ordering::Release);
        table.write(mem, index, new);
    }

    fn free_subtables<M: TableMemory + ?Sized>(&self, mem: &mut M, table: TableRef) {
        for index in 0..table.entries {
            if let Entry::Table(next) = classify(table.read(mem, index), table.level) {
                self.free_subtables(mem, table.child(next, index));
                mem.free_table(next);
            }
        }
    }
}

/// The passes of [`PageTable::map`]. Only the last one changes translations, and it cannot
/// fail once the first two succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MapPass {
    /// Read only: finds the first input mapped to another output.
    Check,
    /// Links every table the leaves need, splitting blocks whose attributes change in part;
    /// every address still translates as before.
    Prepare,
    /// Writes the leaves.
    Commit,
}

/// The passes of [`PageTable::unmap`]: split the blocks the range covers in part, then clear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UnmapPass {
    Prepare,
    Commit,
}

/// What [`PageTable::map`] was asked for, validated.
struct MapRequest {
    start: u64,
    end: u64,
    output: u64,
    leaf_attributes: u64,
}

impl MapRequest {
    /// The output address `input` (inside the request) maps to.
    fn output_at(&self, input: u64) -> u64 {
        self.output + (input - self.start)
    }
}

/// The hull of the input ranges whose leaves changed permissions or were removed: the TLB
/// invalidation owed at the end of the operation.
#[derive(Default)]
struct PendingInvalidation {
    range: Option<(u64, u64)>,
}

impl PendingInvalidation {
    fn add(&mut self, start: u64, end: u64) {
        self.range = Some(match self.range {
            None => (start, end),
            Some((s, e)) => (min(s, start), max(e, end)),
        });
    }

    fn flush<M: TableMemory + ?Sized>(self, mem: &mut M, config: TableConfig) {
        if let Some((start, end)) = self.range {
            mem.invalidate_tlb(config.regime(), start, end - start);
        }
    }
}

/// One table of the walk: a 4 KiB table, or the concatenated start-level tables seen as one
/// array of descriptors.
#[derive(Clone, Copy, Debug)]
struct TableRef {
    /// Physical address of the (first) table page.
    pa: u64,
    /// Lookup level of its entries.
    level: u8,
    /// Number of entries in use.
    entries: usize,
    /// First input address its entry 0 translates.
    input_base: u64,
}

impl TableRef {
    /// The table linked at `index`, one level down.
    fn child(self, pa: u64, index: usize) -> TableRef {
        TableRef {
            pa,
            level: self.level + 1,
            entries: DESCRIPTORS_PER_TABLE,
            input_base: self.entry_start(index),
        }
    }

    /// Index of the entry translating `input`, which lies within this table's range.
    fn index_of(self, input: u64) -> usize {
        ((input - self.input_base) >> level_shift(self.level)) as usize
    }

    /// First input address entry `index` translates.
    fn entry_start(self, index: usize) -> u64 {
        self.input_base + ((index as u64) << level_shift(self.level))
    }

    /// Physical address of the table page holding entry `index`, and its slot there.
    fn slot(self, index: usize) -> (u64, usize) {
        let page = (index / DESCRIPTORS_PER_TABLE) as u64;
        (self.pa + page * PAGE_SIZE, index % DESCRIPTORS_PER_TABLE)
    }

    fn read<M: TableMemory + ?Sized>(self, mem: &M, index: usize) -> u64 {
        let (page, slot) = self.slot(index);
        mem.table(page)[slot]
    }

    fn write<M: TableMemory + ?Sized>(self, mem: &mut M, index: usize, descriptor: u64) {
        let (page, slot) = self.slot(index);
        write_descriptor(&mut mem.table_mut(page)[slot], descriptor);
    }

    /// The entries of this table that translate part of `start .. end`, in address order.
    fn entries_in(self, start: u64, end: u64) -> EntriesIn {
        let table_end = self.entry_start(self.entries);
        EntriesIn {
            table: self,
            next: max(start, self.input_base),
            end: min(end, table_end),
        }
    }
}

/// Iterator behind [`TableRef::entries_in`].
struct EntriesIn {
    table: TableRef,
    next: u64,
    end: u64,
}

/// One entry of a table and the part of a requested range it translates.
struct EntryRange {
    index: usize,
    entry_start: u64,
    entry_end: u64,
    /// First address of the request within the entry.
    start: u64,
    /// End (exclusive) of the request within the entry.
    end: u64,
}

impl EntryRange {
    fn covers_entry(&self) -> bool {
        self.start == self.entry_start && self.end == self.entry_end
    }
}

impl Iterator for EntriesIn {
    type Item = EntryRange;

    fn next(&mut self) -> Option<EntryRange> {
        if self.next >= self.end {
            return None;
        }
        let index = self.table.index_of(self.next);
        let entry_start = self.table.entry_start(index);
        let entry_end = entry_start + level_size(self.table.level);
        let range = EntryRange {
            index,
            entry_start,
            entry_end,
            start: self.next,
            end: min(self.end, entry_end),
        };
        self.next = range.end;
        Some(range)
    }
}

/// Writes one descriptor of a table the MMU may be walking: a single 64-bit store (so
/// single-copy atomic, Arm ARM B2.2.1) that the compiler may neither split, merge nor drop.
fn write_descriptor(slot: &mut u64, descriptor: u64) {
    // SAFETY: `slot` is a valid, aligned and exclusive reference to a `u64`.
    unsafe { core::ptr::write_volatile(slot, descriptor) }
}

/// Whether no entry of the table page at `pa` is valid.
fn table_is_empty<M: TableMemory + ?Sized>(mem: &M, pa: u64) -> bool {
    mem.table(pa)
        .iter()
        .all(|&descriptor| descriptor & VALID == 0)
}

fn alloc_table_page<M: TableMemory + ?Sized>(mem: &mut M) -> Result<u64, MapError> {
    let pa = mem.alloc_table().ok_or(MapError::OutOfMemory)?;
    check_table_address(pa, PAGE_SIZE)?;
    Ok(pa)
}

/// Checks that a page from [`TableMemory`] is aligned to `alignment` and fits in a descriptor.
fn check_table_address(pa: u64, alignment: u64) -> Result<(), MapError> {
    if pa % alignment != 0 || pa & !OUTPUT_ADDRESS_MASK != 0 {
        return Err(MapError::InvalidTableAddress { pa });
    }
    Ok(())
}
