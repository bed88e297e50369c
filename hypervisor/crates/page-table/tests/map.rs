//! map / unmap / translate on both regimes, against the reference walker of `common`.

mod common;

use common::{reference_walk, snapshot, translate, Arena, GIB, MIB2, PAGE};
use page_table::{
    Access, Attributes, El2Config, MapError, MemType, PageTable, Regime, Stage2Config, TableConfig,
    TableMemory, DESCRIPTORS_PER_TABLE,
};

const RAM_RW: Attributes = Attributes::new(MemType::Normal, Access::RW);
const RAM_RWX: Attributes = Attributes::new(MemType::Normal, Access::RWX);
const RAM_RO: Attributes = Attributes::new(MemType::Normal, Access::RO);
const MMIO: Attributes = Attributes::new(MemType::Device, Access::RW);

fn configs() -> Vec<TableConfig> {
    vec![
        Stage2Config::new(39).unwrap().into(),
        Stage2Config::new(40).unwrap().into(),
        Stage2Config::new(48).unwrap().into(),
        El2Config::new(39).unwrap().into(),
        El2Config::new(48).unwrap().into(),
    ]
}

fn new_table(config: impl Into<TableConfig>, arena: &mut Arena) -> PageTable {
    let table = PageTable::new(config, arena).unwrap();
    arena.watch(&table);
    table
}

#[test]
fn round_trip_at_every_block_size_in_both_regimes() {
    // (input, output, size, expected leaf size): page, 2 MiB block, 1 GiB block.
    let cases = [
        (0x4000_1000, 0x8765_4000, PAGE, PAGE),
        (0x4020_0000, 0x1_2340_0000, MIB2, MIB2),
        (0x4000_0000, 0x5_4000_0000, GIB, GIB),
    ];
    for config in configs() {
        for (input, output, size, leaf) in cases {
            for attrs in [RAM_RW, RAM_RWX, RAM_RO, MMIO] {
                let mut arena = Arena::new(16);
                let mut table = new_table(config, &mut arena);
                table.map(&mut arena, input, output, size, attrs).unwrap();
                for offset in [0, 8, PAGE, size / 2 + 0x123, size - 1]
                    .into_iter()
                    .filter(|&o| o < size)
                {
                    let t = translate(&table, &arena, input + offset);
                    let t =
                        t.unwrap_or_else(|| panic!("{config:?} {attrs:?} {input:#x}+{offset:#x}"));
                    assert_eq!(t.output, output + offset, "{config:?}");
                    assert_eq!(t.attrs, attrs, "{config:?}");
                    assert_eq!(t.block_size, leaf, "{config:?}");
                }
                assert_eq!(translate(&table, &arena, input - 1), None);
                assert_eq!(translate(&table, &arena, input + size), None);
                assert!(
                    arena.invalidations.is_empty(),
                    "adding mappings needs no TLBI"
                );
            }
        }
    }
}

#[test]
fn stage2_concatenated_start_level_covers_the_second_table() {
    let mut arena = Arena::new(16);
    let mut table = new_table(Stage2Config::new(40).unwrap(), &mut arena);
    assert_eq!(
        table.root() % (2 * PAGE),
        0,
        "two concatenated tables are 8 KiB aligned"
    );
    let high_ipa = 0x80_4000_0000; // entry 513: the second start-level page
    table
        .map(&mut arena, high_ipa, 0x2_0000_0000, GIB, RAM_RW)
        .unwrap();
    let descriptor = arena.table(table.root() + PAGE)[1];
    assert_eq!(descriptor & 0x0000_ffff_ffff_f000, 0x2_0000_0000);
    assert_eq!(descriptor & 0b11, 0b01, "level-1 block");
    assert_eq!(
        translate(&table, &arena, high_ipa + 0x1234).unwrap().output,
        0x2_0000_1234
    );
    assert_eq!(table.translate(&arena, 1 << 40), None);
    arena.check_free_order = false; // not live: destroy needs no TLBI
    table.destroy(&mut arena);
    assert_eq!(arena.live_pages(), 0);
}

/// A memory that implements only what the trait requires.
struct SinglePages(Arena);

impl TableMemory for SinglePages {
    fn alloc_table(&mut self) -> Option<u64> {
        self.0.alloc_table()
    }
    fn table(&self, pa: u64) -> &[u64; DESCRIPTORS_PER_TABLE] {
        self.0.table(pa)
    }
    fn table_mut(&mut self, pa: u64) -> &mut [u64; DESCRIPTORS_PER_TABLE] {
        self.0.table_mut(pa)
    }
    fn invalidate_tlb(&mut self, regime: Regime, input: u64, size: u64) {
        self.0.invalidate_tlb(regime, input, size)
    }
}

#[test]
fn concatenation_without_allocator_support_is_out_of_memory() {
    let mut mem = SinglePages(Arena::new(4));
    assert_eq!(
        PageTable::new(Stage2Config::new(40).unwrap(), &mut mem).unwrap_err(),
        MapError::OutOfMemory
    );
    assert!(PageTable::new(Stage2Config::new(39).unwrap(), &mut mem).is_ok());
}

#[test]
fn mixed_alignment_uses_the_biggest_blocks() {
    // page | 2 MiB | 1 GiB | 2 MiB | page, identity mapped, starting 2 MiB + 4 KiB below 1 GiB.
    let start = GIB - MIB2 - PAGE;
    let size = PAGE + MIB2 + GIB + MIB2 + PAGE;
    let expected = [
        (start, PAGE),
        (GIB - MIB2, MIB2),
        (GIB, GIB),
        (2 * GIB, MIB2),
        (2 * GIB + MIB2, PAGE),
    ];
    // Tables beyond the start level: level 2 + level 3 below 1 GiB, level 2 + level 3 above
    // 2 GiB; a 48-bit table adds the level-1 table under its level-0 root.
    for (config, tables) in [
        (TableConfig::from(Stage2Config::new(39).unwrap()), 4),
        (El2Config::new(39).unwrap().into(), 4),
        (El2Config::new(48).unwrap().into(), 5),
        (Stage2Config::new(48).unwrap().into(), 5),
    ] {
        let mut arena = Arena::new(16);
        let mut table = new_table(config, &mut arena);
        let before = arena.live_pages();
        table.map(&mut arena, start, start, size, RAM_RWX).unwrap();
        assert_eq!(arena.live_pages() - before, tables, "{config:?}");
        for (input, block_size) in expected {
            let t = translate(&table, &arena, input).unwrap();
            assert_eq!(
                (t.output, t.block_size),
                (input, block_size),
                "{config:?} {input:#x}"
            );
        }
        assert_eq!(translate(&table, &arena, start - PAGE), None);
        assert_eq!(translate(&table, &arena, start + size), None);
    }
}

#[test]
fn output_alignment_limits_the_block_size() {
    let mut arena = Arena::new(16);
    let mut table = new_table(Stage2Config::new(39).unwrap(), &mut arena);
    // Input 1 GiB aligned, output only 2 MiB aligned: 512 level-2 blocks in one table.
    table
        .map(&mut arena, GIB, 0x1_0020_0000, GIB, RAM_RW)
        .unwrap();
    assert_eq!(arena.live_pages(), 2);
    assert_eq!(
        translate(&table, &arena, GIB + 0x1234).unwrap().block_size,
        MIB2
    );
    // Output only 4 KiB aligned: pages, one level-3 table per 2 MiB.
    table
        .map(&mut arena, 3 * GIB, 0x2_0000_1000, 2 * MIB2, RAM_RW)
        .unwrap();
    assert_eq!(arena.live_pages(), 2 + 3);
    let t = translate(&table, &arena, 3 * GIB + MIB2 + 0x10).unwrap();
    assert_eq!(
        (t.output, t.block_size),
        (0x2_0000_1000 + MIB2 + 0x10, PAGE)
    );
}

/// Splits a 1 GiB or 2 MiB block by unmapping one page in it.
fn unmap_page_in_block(config: TableConfig, block: u64) {
    let input = 4 * GIB;
    let output = 0x7_0000_0000;
    let hole = input + block / 2 + 5 * PAGE;
    let mut arena = Arena::new(16);
    let mut table = new_table(config, &mut arena);
    table
        .map(&mut arena, input, output, block, RAM_RWX)
        .unwrap();
    let before = arena.live_pages();
    table.unmap(&mut arena, hole, PAGE).unwrap();
    let new_tables = if block == GIB { 2 } else { 1 };
    assert_eq!(arena.live_pages() - before, new_tables);
    for a in (input..input + block).step_by(if block == GIB {
        MIB2 as usize
    } else {
        PAGE as usize
    }) {
        for probe in [a, a + PAGE, a + MIB2 - PAGE] {
            if probe >= input + block {
                continue;
            }
            let t = translate(&table, &arena, probe);
            if probe == hole {
                assert_eq!(t, None);
                continue;
            }
            let t = t.unwrap();
            assert_eq!(t.output, output + (probe - input), "{probe:#x}");
            assert_eq!(t.attrs, RAM_RWX);
            let hole_region = probe & !(MIB2 - 1) == hole & !(MIB2 - 1);
            assert_eq!(t.block_size, if hole_region { PAGE } else { MIB2 });
        }
    }
    // Break-before-make: each block was invalid when the TLBs were invalidated for it.
    let splits: Vec<_> = arena
        .invalidations
        .iter()
        .filter(|i| i.size > PAGE)
        .collect();
    assert_eq!(splits.len(), new_tables);
    for split in splits {
        assert_eq!(split.seen_at_start, Some(None), "{split:?}");
    }
    let last = arena.invalidations.last().unwrap();
    assert_eq!(
        (last.start, last.size),
        (hole, PAGE),
        "the unmapped page is invalidated"
    );
    // Unmapping the rest frees every table below the start level.
    table.unmap(&mut arena, input, block).unwrap();
    assert_eq!(
        arena.live_pages(),
        config.start_level_tables(),
        "{config:?}"
    );
}

#[test]
fn unmap_inside_a_block_splits_it_and_keeps_the_rest() {
    for config in configs() {
        unmap_page_in_block(config, GIB);
        unmap_page_in_block(config, MIB2);
    }
}

#[test]
fn unmap_of_a_whole_block_inside_a_bigger_block() {
    let mut arena = Arena::new(16);
    let mut table = new_table(Stage2Config::new(39).unwrap(), &mut arena);
    table.map(&mut arena, GIB, GIB, GIB, RAM_RW).unwrap();
    table.unmap(&mut arena, GIB + 4 * MIB2, MIB2).unwrap();
    assert_eq!(arena.live_pages(), 2, "a level-2 table, no level-3 table");
    assert_eq!(translate(&table, &arena, GIB + 4 * MIB2), None);
    assert_eq!(
        translate(&table, &arena, GIB + 5 * MIB2)
            .unwrap()
            .block_size,
        MIB2
    );
}

#[test]
fn changing_attributes_of_part_of_a_block() {
    let mut arena = Arena::new(16);
    let mut table = new_table(Stage2Config::new(39).unwrap(), &mut arena);
    table.map(&mut arena, GIB, 2 * GIB, GIB, RAM_RW).unwrap();
    let page = GIB + 3 * MIB2 + 7 * PAGE;
    table
        .map(&mut arena, page, 2 * GIB + (page - GIB), PAGE, RAM_RO)
        .unwrap();
    let t = translate(&table, &arena, page).unwrap();
    assert_eq!((t.attrs, t.block_size), (RAM_RO, PAGE));
    let next = translate(&table, &arena, page + PAGE).unwrap();
    assert_eq!(
        (next.output, next.attrs),
        (2 * GIB + (page + PAGE - GIB), RAM_RW)
    );
    // Two splits (break-before-make, while invalid), then the permission change.
    let seen: Vec<_> = arena
        .invalidations
        .iter()
        .map(|i| (i.start, i.size, i.seen_at_start))
        .collect();
    assert_eq!(
        seen,
        [
            (GIB, GIB, Some(None)),
            (GIB + 3 * MIB2, MIB2, Some(None)),
            (page, PAGE, Some(Some(2 * GIB + (page - GIB)))),
        ]
    );
    // The same request again changes nothing.
    arena.invalidations.clear();
    let pages = arena.live_pages();
    table
        .map(&mut arena, page, 2 * GIB + (page - GIB), PAGE, RAM_RO)
        .unwrap();
    assert!(arena.invalidations.is_empty());
    assert_eq!(arena.live_pages(), pages);
}

#[test]
fn changing_the_memory_type_is_break_before_make() {
    let mut arena = Arena::new(16);
    let mut table = new_table(Stage2Config::new(39).unwrap(), &mut arena);
    table.map(&mut arena, GIB, GIB, MIB2, RAM_RW).unwrap();
    table.map(&mut arena, GIB, GIB, MIB2, MMIO).unwrap();
    assert_eq!(translate(&table, &arena, GIB).unwrap().attrs, MMIO);
    let i = &arena.invalidations;
    assert_eq!(i.len(), 1);
    assert_eq!(
        (i[0].start, i[0].size, i[0].seen_at_start),
        (GIB, MIB2, Some(None))
    );
}

#[test]
fn mapping_over_another_output_is_refused_and_changes_nothing() {
    let mut arena = Arena::new(16);
    let mut table = new_table(Stage2Config::new(39).unwrap(), &mut arena);
    table.map(&mut arena, GIB, 2 * GIB, MIB2, RAM_RW).unwrap();
    let window = (GIB - MIB2, GIB + 2 * MIB2);
    let before = snapshot(&table, &arena, window.0, window.1, PAGE);
    let pages = arena.live_pages();
    // Starts below the block, in unmapped space: the conflict is the block's first page.
    assert_eq!(
        table.map(&mut arena, GIB - 2 * PAGE, 3 * GIB, 4 * PAGE, RAM_RW),
        Err(MapError::AlreadyMapped { at: GIB })
    );
    // Ends past the block: the conflict is the first page asked for.
    assert_eq!(
        table.map(
            &mut arena,
            GIB + MIB2 - PAGE,
            2 * GIB + MIB2,
            2 * PAGE,
            RAM_RW
        ),
        Err(MapError::AlreadyMapped {
            at: GIB + MIB2 - PAGE
        })
    );
    assert_eq!(snapshot(&table, &arena, window.0, window.1, PAGE), before);
    assert_eq!(
        arena.live_pages(),
        pages,
        "no table allocated for a refused request"
    );
    // After an unmap the same request succeeds.
    table.unmap(&mut arena, GIB, MIB2).unwrap();
    table
        .map(&mut arena, GIB - 2 * PAGE, 3 * GIB, 4 * PAGE, RAM_RW)
        .unwrap();
    assert_eq!(
        translate(&table, &arena, GIB + PAGE).unwrap().output,
        3 * GIB + 3 * PAGE
    );
}

// Descriptor bits, from the Arm ARM (D8.3), for leaves written by the crate:
// bits[1:0] = 0b11 page / 0b01 block; [4:2] AttrIndx (stage 1) or [5:2] MemAttr (stage 2);
// [7:6] AP[2:1] (stage 1, AP[1] RES1 at EL2) or S2AP (stage 2: [6] read, [7] write);
// [9:8] SH = 0b11 Inner Shareable; [10] AF = 1; [47:12] output address; [54] XN.
const AF: u64 = 1 << 10;
const SH_INNER: u64 = 0b11 << 8;
const XN: u64 = 1 << 54;
const PAGE_TYPE: u64 = 0b11;
const BLOCK_TYPE: u64 = 0b01;

fn leaf_descriptor(
    config: TableConfig,
    input: u64,
    output: u64,
    size: u64,
    attrs: Attributes,
) -> u64 {
    let mut arena = Arena::new(16);
    let mut table = new_table(config, &mut arena);
    table.map(&mut arena, input, output, size, attrs).unwrap();
    let walk = reference_walk(&arena, table.root(), config, input).unwrap();
    assert_eq!(
        table.translate(&arena, input).unwrap().descriptor,
        walk.descriptor
    );
    walk.descriptor
}

#[test]
fn stage2_normal_rw_page_descriptor() {
    let config = Stage2Config::new(39).unwrap().into();
    let d = leaf_descriptor(config, 0x4000_0000, 0x8000_0000, PAGE, RAM_RW);
    let s2ap_rw = 0b11 << 6;
    let memattr_normal_wb = 0b1111 << 2;
    let expected = XN | 0x8000_0000 | AF | SH_INNER | s2ap_rw | memattr_normal_wb | PAGE_TYPE;
    assert_eq!(expected, 0x0040_0000_8000_07ff);
    assert_eq!(d, expected, "{d:#018x}");
}

#[test]
fn stage2_device_page_descriptor_is_execute_never() {
    let config = Stage2Config::new(39).unwrap().into();
    let d = leaf_descriptor(config, 0x0900_0000, 0x0900_0000, PAGE, MMIO);
    let s2ap_rw = 0b11 << 6;
    let memattr_device_ngnre = 0b0001 << 2;
    let expected = XN | 0x0900_0000 | AF | SH_INNER | s2ap_rw | memattr_device_ngnre | PAGE_TYPE;
    assert_eq!(expected, 0x0040_0000_0900_07c7);
    assert_eq!(d, expected, "{d:#018x}");
}

#[test]
fn stage2_other_encodings() {
    let config: TableConfig = Stage2Config::new(39).unwrap().into();
    // Normal RWX 2 MiB block: XN[1:0] = 0b00.
    let d = leaf_descriptor(config, 0x4020_0000, 0x4020_0000, MIB2, RAM_RWX);
    assert_eq!(
        d,
        0x4020_0000 | AF | SH_INNER | (0b11 << 6) | (0b1111 << 2) | BLOCK_TYPE
    );
    // Read-only: S2AP = 0b01; no access: S2AP = 0b00.
    let d = leaf_descriptor(config, 0x4000_0000, 0x4000_0000, PAGE, RAM_RO);
    assert_eq!((d >> 6) & 0b11, 0b01);
    let none = Attributes::new(MemType::Normal, Access::NONE);
    assert_eq!(
        (leaf_descriptor(config, 0, 0, PAGE, none) >> 6) & 0b11,
        0b00
    );
    // Device-nGnRnE: MemAttr 0b0000; Normal Non-cacheable: MemAttr 0b0101.
    let strict = Attributes::new(MemType::DeviceStrict, Access::RW);
    assert_eq!(
        (leaf_descriptor(config, 0, 0, PAGE, strict) >> 2) & 0b1111,
        0b0000
    );
    let nc = Attributes::new(MemType::NormalNonCacheable, Access::RW);
    assert_eq!(
        (leaf_descriptor(config, 0, 0, PAGE, nc) >> 2) & 0b1111,
        0b0101
    );
}

#[test]
fn el2_code_and_data_page_descriptors() {
    let config = El2Config::new(48).unwrap().into();
    let attr_indx_normal = 3 << 2; // MAIR_EL2 index 3: Normal WB
                                   // Code: read-only, executable: AP[2:1] = 0b11, XN = 0.
    let code = leaf_descriptor(config, 0x4008_0000, 0x4008_0000, PAGE, RAM_RO_X);
    let expected_code = 0x4008_0000 | AF | SH_INNER | (0b11 << 6) | attr_indx_normal | PAGE_TYPE;
    assert_eq!(expected_code, 0x4008_07cf);
    assert_eq!(code, expected_code, "{code:#018x}");
    // Data: read-write, execute-never: AP[2:1] = 0b01, XN = 1.
    let data = leaf_descriptor(config, 0x4010_0000, 0x4010_0000, PAGE, RAM_RW);
    let expected_data =
        XN | 0x4010_0000 | AF | SH_INNER | (0b01 << 6) | attr_indx_normal | PAGE_TYPE;
    assert_eq!(expected_data, 0x0040_0000_4010_074f);
    assert_eq!(data, expected_data, "{data:#018x}");
    // Device MMIO: AttrIndx 1, XN.
    let uart = leaf_descriptor(config, 0x0900_0000, 0x0900_0000, PAGE, MMIO);
    assert_eq!(
        uart,
        XN | 0x0900_0000 | AF | SH_INNER | (0b01 << 6) | (1 << 2) | PAGE_TYPE
    );
}

const RAM_RO_X: Attributes = Attributes::new(MemType::Normal, Access::RX);

#[test]
fn unsupported_attributes_are_refused() {
    let mut arena = Arena::new(16);
    let mut el2 = new_table(El2Config::new(39).unwrap(), &mut arena);
    let write_only = Attributes::new(MemType::Normal, Access::new(false, true, false));
    assert_eq!(
        el2.map(&mut arena, 0, 0, PAGE, write_only),
        Err(MapError::UnsupportedAttributes)
    );
    let device_exec = Attributes::new(MemType::Device, Access::RWX);
    assert_eq!(
        el2.map(&mut arena, 0, 0, PAGE, device_exec),
        Err(MapError::UnsupportedAttributes)
    );
    let mut s2 = new_table(Stage2Config::new(39).unwrap(), &mut arena);
    assert_eq!(
        s2.map(&mut arena, 0, 0, PAGE, device_exec),
        Err(MapError::UnsupportedAttributes)
    );
    assert!(s2.map(&mut arena, 0, 0, PAGE, write_only).is_ok());
}

#[test]
fn arguments_are_checked() {
    let mut arena = Arena::new(16);
    let mut table = new_table(Stage2Config::new(39).unwrap(), &mut arena);
    let top = 1u64 << 39;
    let map_cases = [
        ((0, 0, 0), MapError::ZeroSize),
        ((0x800, 0, PAGE), MapError::Unaligned),
        ((0, 0x800, PAGE), MapError::Unaligned),
        ((0, 0, 0x800), MapError::Unaligned),
        ((u64::MAX & !(PAGE - 1), 0, 2 * PAGE), MapError::Overflow),
        ((0, u64::MAX & !(PAGE - 1), 2 * PAGE), MapError::Overflow),
        ((top - PAGE, 0, 2 * PAGE), MapError::OutOfRange),
        ((top, 0, PAGE), MapError::OutOfRange),
        ((0, (1 << 48) - PAGE, 2 * PAGE), MapError::OutOfRange),
        ((0, 1 << 48, PAGE), MapError::OutOfRange),
    ];
    for ((input, output, size), error) in map_cases {
        assert_eq!(
            table.map(&mut arena, input, output, size, RAM_RW),
            Err(error),
            "{input:#x} {output:#x} {size:#x}"
        );
    }
    // The largest valid request: the whole input range onto the top of the output range.
    table
        .map(&mut arena, 0, (1 << 48) - top, top, RAM_RW)
        .unwrap();
    assert_eq!(
        translate(&table, &arena, top - 1).unwrap().output,
        (1 << 48) - 1
    );
    let unmap_cases = [
        ((0, 0), MapError::ZeroSize),
        ((0x10, PAGE), MapError::Unaligned),
        ((0, 0x10), MapError::Unaligned),
        ((u64::MAX & !(PAGE - 1), PAGE), MapError::Overflow),
        ((top - PAGE, 2 * PAGE), MapError::OutOfRange),
    ];
    for ((input, size), error) in unmap_cases {
        assert_eq!(table.unmap(&mut arena, input, size), Err(error));
    }
    table.unmap(&mut arena, 0, top).unwrap();
    assert_eq!(arena.live_pages(), 1, "only the start-level table is left");
    assert_eq!(table.translate(&arena, top), None);
    assert_eq!(table.translate(&arena, u64::MAX), None);
}

#[test]
fn unmapping_unmapped_space_is_a_no_op() {
    let mut arena = Arena::new(16);
    let mut table = new_table(El2Config::new(48).unwrap(), &mut arena);
    table.unmap(&mut arena, 0, 1 << 47).unwrap();
    assert!(arena.invalidations.is_empty());
    assert_eq!(arena.live_pages(), 1);
}

#[test]
fn out_of_memory_while_splitting_keeps_the_block() {
    let mut arena = Arena::new(16);
    let mut table = new_table(Stage2Config::new(39).unwrap(), &mut arena);
    table.map(&mut arena, GIB, 4 * GIB, GIB, RAM_RW).unwrap();
    let hole = GIB + 77 * MIB2 + 3 * PAGE;
    let before = snapshot(&table, &arena, GIB, 2 * GIB, MIB2);
    let before_fine = snapshot(&table, &arena, hole - MIB2, hole + MIB2, PAGE);
    for budget in 0..2 {
        arena.budget = Some(budget);
        assert_eq!(
            table.unmap(&mut arena, hole, PAGE),
            Err(MapError::OutOfMemory)
        );
        assert_eq!(snapshot(&table, &arena, GIB, 2 * GIB, MIB2), before);
        assert_eq!(
            snapshot(&table, &arena, hole - MIB2, hole + MIB2, PAGE),
            before_fine
        );
    }
    arena.budget = Some(1);
    table.unmap(&mut arena, hole, PAGE).unwrap();
    assert_eq!(translate(&table, &arena, hole), None);
    assert_eq!(
        translate(&table, &arena, hole + PAGE).unwrap().output,
        4 * GIB + (hole + PAGE - GIB)
    );
}

#[test]
fn out_of_memory_at_every_allocation_leaves_translations_unchanged() {
    // Existing state: a 1 GiB block, a 2 MiB block and some pages; then a request that
    // needs several new tables and splits. Retry it with one more page each time.
    let config: TableConfig = El2Config::new(48).unwrap().into();
    let window = (0, 4 * GIB);
    let mut budget = 0;
    loop {
        let mut arena = Arena::new(32);
        let mut table = new_table(config, &mut arena);
        table.map(&mut arena, GIB, GIB, GIB, RAM_RW).unwrap();
        table
            .map(&mut arena, 2 * GIB, 2 * GIB, MIB2, RAM_RW)
            .unwrap();
        table
            .map(&mut arena, 3 * GIB, 3 * GIB, 5 * PAGE, RAM_RW)
            .unwrap();
        let coarse = snapshot(&table, &arena, window.0, window.1, MIB2);
        let fine = snapshot(&table, &arena, 2 * GIB - MIB2, 2 * GIB + 2 * MIB2, PAGE);
        arena.budget = Some(budget);
        // Makes read-only the last 2 MiB + 4 KiB of the 1 GiB block and the first page of the
        // 2 MiB block: splits the 1 GiB block (a level-2 table), the 2 MiB region where the
        // request starts (a level-3 table) and the 2 MiB block (a level-3 table).
        let request = (GIB + GIB - MIB2 - PAGE, MIB2 + 2 * PAGE);
        match table.map(&mut arena, request.0, request.0, request.1, RAM_RO) {
            Err(MapError::OutOfMemory) => {
                assert_eq!(snapshot(&table, &arena, window.0, window.1, MIB2), coarse);
                assert_eq!(
                    snapshot(&table, &arena, 2 * GIB - MIB2, 2 * GIB + 2 * MIB2, PAGE),
                    fine
                );
                // Whatever was linked is still usable: unmapping everything frees it all.
                arena.budget = None;
                table.unmap(&mut arena, 0, 1 << 48).unwrap();
                assert_eq!(arena.live_pages(), 1);
                budget += 1;
            }
            Ok(()) => {
                for a in (request.0..request.0 + request.1).step_by(PAGE as usize) {
                    let t = translate(&table, &arena, a).unwrap();
                    assert_eq!((t.output, t.attrs), (a, RAM_RO));
                }
                assert_eq!(
                    translate(&table, &arena, request.0 - PAGE).unwrap().attrs,
                    RAM_RW
                );
                assert_eq!(
                    translate(&table, &arena, 2 * GIB + PAGE).unwrap().attrs,
                    RAM_RW
                );
                assert_eq!(budget, 3, "three tables needed");
                break;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
}

/// Memory that hands out a bad address.
struct BadAddresses(u64, Arena);

impl TableMemory for BadAddresses {
    fn alloc_table(&mut self) -> Option<u64> {
        Some(self.0)
    }
    fn table(&self, pa: u64) -> &[u64; DESCRIPTORS_PER_TABLE] {
        self.1.table(pa)
    }
    fn table_mut(&mut self, pa: u64) -> &mut [u64; DESCRIPTORS_PER_TABLE] {
        self.1.table_mut(pa)
    }
    fn invalidate_tlb(&mut self, _: Regime, _: u64, _: u64) {}
}

#[test]
fn bad_table_addresses_are_refused() {
    for pa in [0x1234, 1 << 48, u64::MAX] {
        let mut mem = BadAddresses(pa, Arena::new(1));
        assert_eq!(
            PageTable::new(Stage2Config::new(39).unwrap(), &mut mem).unwrap_err(),
            MapError::InvalidTableAddress { pa }
        );
    }
    let mut arena = Arena::new(4);
    let mut table = new_table(Stage2Config::new(39).unwrap(), &mut arena);
    let mut mem = BadAddresses(0x1234, arena);
    assert_eq!(
        table.map(&mut mem, 0, 0, PAGE, RAM_RW),
        Err(MapError::InvalidTableAddress { pa: 0x1234 })
    );
    assert_eq!(table.translate(&mem, 0), None);
}

#[test]
fn destroy_gives_every_page_back() {
    for config in configs() {
        let mut arena = Arena::new(32);
        let mut table = new_table(config, &mut arena);
        table
            .map(
                &mut arena,
                GIB - PAGE,
                GIB - PAGE,
                GIB + 2 * MIB2 + 2 * PAGE,
                RAM_RW,
            )
            .unwrap();
        table
            .map(&mut arena, 5 * GIB, 5 * GIB, GIB, RAM_RW)
            .unwrap();
        assert!(arena.live_pages() > config.start_level_tables());
        arena.check_free_order = false; // the table is not live: no TLBI needed
        table.destroy(&mut arena);
        assert_eq!(arena.live_pages(), 0, "{config:?}");
    }
}

#[test]
fn error_messages() {
    assert!(MapError::AlreadyMapped { at: 0x4000_0000 }
        .to_string()
        .contains("0x40000000"));
    assert!(MapError::InvalidTableAddress { pa: 0x1234 }
        .to_string()
        .contains("0x1234"));
}
