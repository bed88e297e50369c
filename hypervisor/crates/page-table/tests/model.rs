//! Property tests: random sequences of map / unmap agree with a plain model, and no argument
//! makes the crate panic.

mod common;

use std::collections::BTreeMap;

use common::{translate, Arena, GIB, MIB2, PAGE};
use page_table::{
    Access, Attributes, El2Config, MapError, MemType, PageTable, Stage2Config, TableConfig,
};
use proptest::prelude::*;

/// Number of units (pages, or 2 MiB blocks) in the window the operations touch.
const WINDOW_UNITS: u64 = 2048;

const ATTRIBUTES: [Attributes; 5] = [
    Attributes::new(MemType::Normal, Access::RW),
    Attributes::new(MemType::Normal, Access::RO),
    Attributes::new(MemType::Normal, Access::RWX),
    Attributes::new(MemType::Device, Access::RW),
    Attributes::new(MemType::NormalNonCacheable, Access::RW),
];

/// Output = input + one of these: shared offsets make remapping with the same output (an
/// attribute change) frequent, different ones make conflicts frequent. For page units, one
/// offset breaks 2 MiB alignment (forcing pages); for 2 MiB units, one breaks 1 GiB
/// alignment (forcing 2 MiB blocks).
const PAGE_UNIT_OFFSETS: [u64; 5] = [0, MIB2, 7 * PAGE, GIB, 3 * GIB];
const BLOCK_UNIT_OFFSETS: [u64; 5] = [0, 5 * MIB2, GIB, 3 * GIB, 8 * GIB];

#[derive(Clone, Copy, Debug)]
enum Op {
    Map {
        first: u64,
        units: u64,
        offset: u64,
        attrs: Attributes,
    },
    Unmap {
        first: u64,
        units: u64,
    },
}

/// A unit range inside the window; half of them aligned to 512 units.
fn unit_range() -> impl Strategy<Value = (u64, u64)> {
    prop_oneof![
        (0..WINDOW_UNITS, 1..=WINDOW_UNITS / 2),
        (0..WINDOW_UNITS / 512, 1..=WINDOW_UNITS / 512).prop_map(|(b, n)| (b * 512, n * 512)),
    ]
    .prop_map(|(first, units)| (first, units.min(WINDOW_UNITS - first)))
}

fn op(offsets: &'static [u64]) -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (unit_range(), 0..offsets.len(), 0..ATTRIBUTES.len()).prop_map(
            move |((first, units), offset, attrs)| Op::Map {
                first,
                units,
                offset: offsets[offset],
                attrs: ATTRIBUTES[attrs],
            }
        ),
        2 => unit_range().prop_map(|(first, units)| Op::Unmap { first, units }),
    ]
}

/// Runs `ops` on a table with `config` over the window `base .. base + WINDOW_UNITS * unit`
/// and checks every unit against a model after each operation.
fn check_against_model(config: TableConfig, base: u64, unit: u64, ops: &[Op]) {
    let mut arena = Arena::new(64);
    let mut table = PageTable::new(config, &mut arena).unwrap();
    arena.watch(&table);
    // Unit index -> (output, attributes).
    let mut model: BTreeMap<u64, (u64, Attributes)> = BTreeMap::new();
    let address = |u: u64| base + u * unit;
    for &op in ops {
        let before = model.clone();
        arena.invalidations.clear();
        match op {
            Op::Map {
                first,
                units,
                offset,
                attrs,
            } => {
                let conflict = (first..first + units).find(|u| {
                    model
                        .get(u)
                        .is_some_and(|&(output, _)| output != address(*u) + offset)
                });
                let result = table.map(
                    &mut arena,
                    address(first),
                    address(first) + offset,
                    units * unit,
                    attrs,
                );
                match conflict {
                    Some(u) => assert_eq!(result, Err(MapError::AlreadyMapped { at: address(u) })),
                    None => {
                        assert_eq!(result, Ok(()));
                        for u in first..first + units {
                            model.insert(u, (address(u) + offset, attrs));
                        }
                    }
                }
            }
            Op::Unmap { first, units } => {
                table
                    .unmap(&mut arena, address(first), units * unit)
                    .unwrap();
                for u in first..first + units {
                    model.remove(&u);
                }
            }
        }
        for u in 0..WINDOW_UNITS {
            for probe in [address(u), address(u) + unit - PAGE] {
                let got = translate(&table, &arena, probe).map(|t| (t.output, t.attrs));
                let expected = model
                    .get(&u)
                    .map(|&(output, attrs)| (output + (probe - address(u)), attrs));
                assert_eq!(got, expected, "unit {u} at {probe:#x} after {op:?}");
                // A mapping that changed or went away was invalidated from the TLBs.
                if before.get(&u).is_some() && before.get(&u) != model.get(&u) {
                    assert!(
                        arena
                            .invalidations
                            .iter()
                            .any(|i| (i.start..i.start + i.size).contains(&probe)),
                        "{probe:#x} changed without TLB invalidation after {op:?}"
                    );
                }
            }
        }
    }
    // Emptying the window gives back every table below the start level.
    table.unmap(&mut arena, base, WINDOW_UNITS * unit).unwrap();
    assert_eq!(arena.live_pages(), config.start_level_tables());
}

fn stage2() -> TableConfig {
    Stage2Config::new(39).unwrap().into()
}

fn el2() -> TableConfig {
    El2Config::new(48).unwrap().into()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Pages over 8 MiB straddling a 1 GiB boundary: pages, 2 MiB blocks, splits.
    #[test]
    fn stage2_pages_agree_with_model(ops in prop::collection::vec(op(&PAGE_UNIT_OFFSETS), 1..16)) {
        check_against_model(stage2(), GIB - 4 * (1 << 20), PAGE, &ops);
    }

    #[test]
    fn el2_pages_agree_with_model(ops in prop::collection::vec(op(&PAGE_UNIT_OFFSETS), 1..16)) {
        check_against_model(el2(), 512 * GIB - 4 * (1 << 20), PAGE, &ops);
    }

    /// 2 MiB units over 4 GiB: 1 GiB and 2 MiB blocks, splits of 1 GiB blocks.
    #[test]
    fn stage2_blocks_agree_with_model(ops in prop::collection::vec(op(&BLOCK_UNIT_OFFSETS), 1..16)) {
        check_against_model(stage2(), 0, MIB2, &ops);
    }

    #[test]
    fn el2_blocks_agree_with_model(ops in prop::collection::vec(op(&BLOCK_UNIT_OFFSETS), 1..16)) {
        check_against_model(el2(), 4 * GIB, MIB2, &ops);
    }
}

/// Any u64, biased towards the interesting ones.
fn any_address() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        any::<u64>().prop_map(|a| a & !(PAGE - 1)),
        (0u64..1 << 40).prop_map(|a| a & !(PAGE - 1)),
        (0u64..1 << 40).prop_map(|a| a & !(MIB2 - 1)),
        Just(0u64),
        Just(u64::MAX),
        Just(1u64 << 39),
        Just(1u64 << 48),
    ]
}

fn any_attributes() -> impl Strategy<Value = Attributes> {
    (0..4usize, any::<(bool, bool, bool)>()).prop_map(|(mem, (r, w, x))| {
        let mem = [
            MemType::Normal,
            MemType::Device,
            MemType::DeviceStrict,
            MemType::NormalNonCacheable,
        ][mem];
        Attributes::new(mem, Access::new(r, w, x))
    })
}

/// The error the checks of `map` must report first, if any.
fn expected_argument_error(
    config: TableConfig,
    input: u64,
    output: u64,
    size: u64,
    attrs: Attributes,
) -> Option<MapError> {
    if size == 0 {
        return Some(MapError::ZeroSize);
    }
    if input % PAGE != 0 || output % PAGE != 0 || size % PAGE != 0 {
        return Some(MapError::Unaligned);
    }
    let (Some(end), Some(output_end)) = (input.checked_add(size), output.checked_add(size)) else {
        return Some(MapError::Overflow);
    };
    if end > config.input_size() || output_end > 1 << 48 {
        return Some(MapError::OutOfRange);
    }
    if !attrs.is_supported_by(config.regime()) {
        return Some(MapError::UnsupportedAttributes);
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_argument_makes_it_panic(
        stage in any::<bool>(),
        input in any_address(),
        output in any_address(),
        size in any_address(),
        attrs in any_attributes(),
        probe in any_address(),
    ) {
        let config = if stage { stage2() } else { el2() };
        let mut arena = Arena::new(24);
        let mut table = PageTable::new(config, &mut arena).unwrap();
        arena.watch(&table);
        let result = table.map(&mut arena, input, output, size, attrs);
        match expected_argument_error(config, input, output, size, attrs) {
            Some(error) => prop_assert_eq!(result, Err(error)),
            None => match result {
                Ok(()) => {
                    for offset in [0, size - PAGE] {
                        let t = translate(&table, &arena, input + offset).unwrap();
                        prop_assert_eq!((t.output, t.attrs), (output + offset, attrs));
                    }
                }
                Err(e) => {
                    prop_assert_eq!(e, MapError::OutOfMemory);
                    prop_assert_eq!(translate(&table, &arena, input), None);
                }
            },
        }
        let _ = translate(&table, &arena, probe);
        let unmapped = table.unmap(&mut arena, input, size);
        let plain = Attributes::new(MemType::Normal, Access::RW);
        if expected_argument_error(config, input, 0, size, plain).is_none() {
            prop_assert_eq!(unmapped, Ok(()));
            prop_assert_eq!(translate(&table, &arena, input), None);
        } else {
            prop_assert!(unmapped.is_err());
        }
    }
}
