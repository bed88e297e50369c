//! Test support: an arena of table pages that checks how the crate uses it, and a reference
//! table walker written from the Arm ARM independently of the crate's own walk.

#![allow(dead_code)]

use page_table::{PageTable, Regime, TableConfig, TableMemory, Translation, DESCRIPTORS_PER_TABLE};

/// Physical address of the arena's first page: high bits set to catch address-mask bugs,
/// 2 MiB aligned so that concatenated tables can be aligned.
pub const ARENA_BASE: u64 = 0x0000_f123_4560_0000;
/// What newly allocated and freed pages are filled with. Bit 0 is set, so a descriptor the
/// crate forgot to initialise (or a freed table still linked) looks valid and is caught.
pub const POISON: u64 = 0xdead_beef_dead_beef;
pub const PAGE: u64 = 4096;
pub const MIB2: u64 = 2 << 20;
pub const GIB: u64 = 1 << 30;

/// One call of `invalidate_tlb`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalidation {
    pub regime: Regime,
    pub start: u64,
    pub size: u64,
    /// When the arena watches a table: what the reference walker saw at `start` at the time
    /// of the call (`None` = not mapped, as break-before-make requires).
    pub seen_at_start: Option<Option<u64>>,
}

pub struct Arena {
    pages: Vec<[u64; DESCRIPTORS_PER_TABLE]>,
    in_use: Vec<bool>,
    /// Pages that may still be allocated (`None`: up to the capacity).
    pub budget: Option<usize>,
    pub invalidations: Vec<Invalidation>,
    /// Table whose state `invalidate_tlb` and `free_table` inspect.
    pub watch: Option<(u64, TableConfig)>,
    /// Check that a table is only freed after an invalidation that followed the last write.
    pub check_free_order: bool,
    invalidated_since_write: bool,
    pub frees: usize,
}

impl Arena {
    pub fn new(capacity: usize) -> Self {
        Self {
            pages: vec![[POISON; DESCRIPTORS_PER_TABLE]; capacity],
            in_use: vec![false; capacity],
            budget: None,
            invalidations: Vec::new(),
            watch: None,
            check_free_order: true,
            invalidated_since_write: false,
            frees: 0,
        }
    }

    /// Number of pages currently allocated.
    pub fn live_pages(&self) -> usize {
        self.in_use.iter().filter(|&&u| u).count()
    }

    pub fn watch(&mut self, table: &PageTable) {
        self.watch = Some((table.root(), table.config()));
    }

    fn index(&self, pa: u64) -> usize {
        assert_eq!(pa % PAGE, 0, "table address {pa:#x} not page aligned");
        assert!(pa >= ARENA_BASE, "table address {pa:#x} outside the arena");
        let index = ((pa - ARENA_BASE) / PAGE) as usize;
        assert!(
            index < self.pages.len(),
            "table address {pa:#x} outside the arena"
        );
        assert!(self.in_use[index], "access to free page {pa:#x}");
        index
    }

    /// Reads the 8 bytes at physical address `pa`, as the table walker does.
    pub fn read_u64(&self, pa: u64) -> u64 {
        let page = pa & !(PAGE - 1);
        self.table(page)[((pa % PAGE) / 8) as usize]
    }

    fn take(&mut self, count: usize) -> Option<u64> {
        if let Some(budget) = self.budget {
            if budget < count {
                return None;
            }
        }
        let mut first = 0;
        while first + count <= self.pages.len() {
            if self.in_use[first..first + count].iter().all(|&u| !u) {
                for i in first..first + count {
                    self.in_use[i] = true;
                    self.pages[i] = [POISON; DESCRIPTORS_PER_TABLE];
                }
                if let Some(budget) = &mut self.budget {
                    *budget -= count;
                }
                return Some(ARENA_BASE + first as u64 * PAGE);
            }
            first += count; // keeps `first` aligned to `count`
        }
        None
    }

    /// Every table page reachable from the watched root.
    fn reachable_tables(&self) -> Vec<u64> {
        let Some((root, config)) = self.watch else {
            return Vec::new();
        };
        let mut found = Vec::new();
        let mut stack = vec![(root, config.start_level(), config.start_level_entries())];
        while let Some((table, level, entries)) = stack.pop() {
            for index in 0..entries as u64 {
                let descriptor = self.read_u64(table + index * 8);
                if level < 3 && descriptor & 0b11 == 0b11 {
                    let next = descriptor & 0x0000_ffff_ffff_f000;
                    found.push(next);
                    stack.push((next, level + 1, DESCRIPTORS_PER_TABLE));
                }
            }
        }
        found
    }
}

impl TableMemory for Arena {
    fn alloc_table(&mut self) -> Option<u64> {
        self.take(1)
    }

    fn alloc_concatenated_tables(&mut self, count: usize) -> Option<u64> {
        assert!(
            count.is_power_of_two() && count <= 16,
            "bad concatenation {count}"
        );
        self.take(count)
    }

    fn table(&self, pa: u64) -> &[u64; DESCRIPTORS_PER_TABLE] {
        &self.pages[self.index(pa)]
    }

    fn table_mut(&mut self, pa: u64) -> &mut [u64; DESCRIPTORS_PER_TABLE] {
        let index = self.index(pa);
        self.invalidated_since_write = false;
        &mut self.pages[index]
    }

    fn free_table(&mut self, pa: u64) {
        if self.check_free_order {
            assert!(
                self.invalidated_since_write,
                "table {pa:#x} freed without a TLB invalidation after it was unlinked"
            );
            assert!(
                !self.reachable_tables().contains(&pa),
                "table {pa:#x} freed while still linked"
            );
        }
        let index = self.index(pa);
        self.in_use[index] = false;
        self.pages[index] = [POISON; DESCRIPTORS_PER_TABLE];
        if let Some(budget) = &mut self.budget {
            *budget += 1;
        }
        self.frees += 1;
    }

    fn invalidate_tlb(&mut self, regime: Regime, start: u64, size: u64) {
        assert!(
            size > 0 && size % PAGE == 0 && start % PAGE == 0,
            "bad range {start:#x}+{size:#x}"
        );
        let seen_at_start = self
            .watch
            .map(|(root, config)| reference_walk(self, root, config, start).map(|w| w.output));
        self.invalidations.push(Invalidation {
            regime,
            start,
            size,
            seen_at_start,
        });
        self.invalidated_since_write = true;
    }
}

/// A leaf found by [`reference_walk`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Walk {
    pub descriptor: u64,
    pub level: u8,
    pub output: u64,
}

/// The VMSAv8-64 4 KiB-granule walk (Arm ARM D8.2), from the descriptor addresses: at level
/// L the index is input[47 - 9L : 39 - 9L] (all bits above, at the start level, which covers
/// concatenated tables), the descriptor is at table + 8 * index; bits[1:0] = 0b11 is a table
/// (levels 0-2) or page (level 3), 0b01 a block (levels 1-2), anything else faults.
pub fn reference_walk(arena: &Arena, root: u64, config: TableConfig, input: u64) -> Option<Walk> {
    if input >> config.input_bits() != 0 {
        return None;
    }
    let mut table = root;
    let mut level = config.start_level();
    loop {
        let shift = 39 - 9 * level as u32;
        let index = if level == config.start_level() {
            input >> shift
        } else {
            (input >> shift) & 0x1ff
        };
        let descriptor = arena.read_u64(table + 8 * index);
        let block_mask = (1u64 << shift) - 1;
        match (descriptor & 0b11, level) {
            (0b11, 3) | (0b01, 1..=2) => {
                let base = descriptor & 0x0000_ffff_ffff_f000 & !block_mask;
                return Some(Walk {
                    descriptor,
                    level,
                    output: base | (input & block_mask),
                });
            }
            (0b11, 0..=2) => {
                table = descriptor & 0x0000_ffff_ffff_f000;
                level += 1;
            }
            _ => return None,
        }
    }
}

/// Translates with the crate and checks it agrees with the reference walker.
pub fn translate(table: &PageTable, arena: &Arena, input: u64) -> Option<Translation> {
    let t = table.translate(arena, input);
    let reference = reference_walk(arena, table.root(), table.config(), input);
    assert_eq!(
        t.map(|t| (t.output, t.descriptor)),
        reference.map(|w| (w.output, w.descriptor)),
        "crate and reference walks disagree at {input:#x}"
    );
    if let (Some(t), Some(w)) = (t, reference) {
        assert_eq!(t.block_size, 1 << (39 - 9 * w.level as u32));
    }
    t
}

/// `(output, attributes)` of every page of `start .. end`, with `step` between probes.
pub fn snapshot(
    table: &PageTable,
    arena: &Arena,
    start: u64,
    end: u64,
    step: u64,
) -> Vec<Option<(u64, page_table::Attributes)>> {
    (start..end)
        .step_by(step as usize)
        .map(|a| translate(table, arena, a).map(|t| (t.output, t.attrs)))
        .collect()
}
