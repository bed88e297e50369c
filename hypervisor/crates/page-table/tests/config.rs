//! Configurations and control-register values, checked against values computed by hand from
//! the Arm ARM register descriptions (TCR_EL2 with E2H = 0, VTCR_EL2, MAIR_EL2).

use page_table::{
    ConfigError, El2Config, PhysAddrSize, Regime, Stage2Config, TableConfig, MAIR_EL2,
};

// Register fields, each written out from the Arm ARM, to build the expected values.
const T0SZ_SHIFT: u32 = 0; // [5:0]
const SL0_SHIFT: u32 = 6; // VTCR_EL2 [7:6]
const IRGN0_SHIFT: u32 = 8; // [9:8]
const ORGN0_SHIFT: u32 = 10; // [11:10]
const SH0_SHIFT: u32 = 12; // [13:12]
const TG0_SHIFT: u32 = 14; // [15:14]
const PS_SHIFT: u32 = 16; // [18:16]
const WB_RA_WA: u64 = 0b01;
const INNER_SHAREABLE: u64 = 0b11;
const TG0_4K: u64 = 0b00;
const PS_40: u64 = 0b010;
const PS_44: u64 = 0b100;

#[test]
fn tcr_el2_48_bit_va_44_bit_pa() {
    let expected = (1 << 31) // RES1
        | (1 << 23) // RES1
        | (PS_44 << PS_SHIFT)
        | (TG0_4K << TG0_SHIFT)
        | (INNER_SHAREABLE << SH0_SHIFT)
        | (WB_RA_WA << ORGN0_SHIFT)
        | (WB_RA_WA << IRGN0_SHIFT)
        | (16 << T0SZ_SHIFT); // 64 - 48
    assert_eq!(expected, 0x8084_3510);
    let tcr = El2Config::new(48).unwrap().tcr_el2(PhysAddrSize::Bits44);
    assert_eq!(tcr, expected, "{tcr:#x}");
}

#[test]
fn tcr_el2_39_bit_va_40_bit_pa() {
    let expected = (1 << 31)
        | (1 << 23)
        | (PS_40 << PS_SHIFT)
        | (INNER_SHAREABLE << SH0_SHIFT)
        | (WB_RA_WA << ORGN0_SHIFT)
        | (WB_RA_WA << IRGN0_SHIFT)
        | (25 << T0SZ_SHIFT); // 64 - 39
    assert_eq!(expected, 0x8082_3519);
    assert_eq!(
        El2Config::new(39).unwrap().tcr_el2(PhysAddrSize::Bits40),
        expected
    );
}

#[test]
fn vtcr_el2_39_bit_ipa_starts_at_level_1() {
    let expected = (1 << 31) // RES1
        | (PS_44 << PS_SHIFT)
        | (TG0_4K << TG0_SHIFT)
        | (INNER_SHAREABLE << SH0_SHIFT)
        | (WB_RA_WA << ORGN0_SHIFT)
        | (WB_RA_WA << IRGN0_SHIFT)
        | (0b01 << SL0_SHIFT) // start at level 1
        | (25 << T0SZ_SHIFT); // 64 - 39
    assert_eq!(expected, 0x8004_3559);
    let config = Stage2Config::new(39).unwrap();
    assert_eq!(config.vtcr_el2(PhysAddrSize::Bits44), Ok(expected));
    assert_eq!(config.table_config().start_level(), 1);
    assert_eq!(config.table_config().start_level_tables(), 1);
}

#[test]
fn vtcr_el2_40_bit_ipa_uses_two_concatenated_level_1_tables() {
    let expected = (1 << 31)
        | (PS_44 << PS_SHIFT)
        | (INNER_SHAREABLE << SH0_SHIFT)
        | (WB_RA_WA << ORGN0_SHIFT)
        | (WB_RA_WA << IRGN0_SHIFT)
        | (0b01 << SL0_SHIFT)
        | (24 << T0SZ_SHIFT);
    assert_eq!(expected, 0x8004_3558);
    let config = Stage2Config::new(40).unwrap();
    assert_eq!(config.vtcr_el2(PhysAddrSize::Bits44), Ok(expected));
    assert_eq!(
        config.vtcr_el2(PhysAddrSize::Bits40),
        Ok(expected & !(0b111 << PS_SHIFT) | (PS_40 << PS_SHIFT))
    );
    assert_eq!(config.table_config().start_level_tables(), 2);
    assert_eq!(config.table_config().start_level_entries(), 1024);
}

#[test]
fn vtcr_el2_44_bit_ipa_starts_at_level_0_and_32_bit_at_level_2() {
    let level0 = Stage2Config::new(44)
        .unwrap()
        .vtcr_el2(PhysAddrSize::Bits44)
        .unwrap();
    assert_eq!(level0, 0x8004_3594); // SL0 = 0b10, T0SZ = 20
    let level2 = Stage2Config::new(32)
        .unwrap()
        .vtcr_el2(PhysAddrSize::Bits32)
        .unwrap();
    assert_eq!(level2, 0x8000_3520); // PS = 0, SL0 = 0b00, T0SZ = 32
}

#[test]
fn vtcr_el2_refuses_an_ipa_space_wider_than_the_pa_space() {
    assert_eq!(
        Stage2Config::new(40)
            .unwrap()
            .vtcr_el2(PhysAddrSize::Bits36),
        Err(ConfigError::IpaWiderThanPhysical {
            ipa_bits: 40,
            pa_bits: 36
        })
    );
}

#[test]
fn mair_el2_has_the_documented_indices() {
    let attr = |index: u32| (MAIR_EL2 >> (8 * index)) & 0xff;
    assert_eq!(attr(0), 0x00); // Device-nGnRnE
    assert_eq!(attr(1), 0x04); // Device-nGnRE
    assert_eq!(attr(2), 0x44); // Normal Inner/Outer Non-cacheable
    assert_eq!(attr(3), 0xff); // Normal Inner/Outer WB RA WA
    assert_eq!(MAIR_EL2, 0x0000_0000_ff44_0400);
    assert_eq!(El2Config::mair_el2(), MAIR_EL2);
}

#[test]
fn start_levels_and_concatenation() {
    // (regime, input bits, start level, start-level entries, start-level tables)
    let cases = [
        (Regime::El2Stage1, 25, 2, 16, 1),
        (Regime::El2Stage1, 30, 2, 512, 1),
        (Regime::El2Stage1, 31, 1, 2, 1),
        (Regime::El2Stage1, 39, 1, 512, 1),
        (Regime::El2Stage1, 40, 0, 2, 1),
        (Regime::El2Stage1, 48, 0, 512, 1),
        (Regime::Stage2, 25, 2, 16, 1),
        (Regime::Stage2, 34, 2, 8192, 16),
        (Regime::Stage2, 35, 1, 32, 1),
        (Regime::Stage2, 39, 1, 512, 1),
        (Regime::Stage2, 40, 1, 1024, 2),
        (Regime::Stage2, 43, 1, 8192, 16),
        (Regime::Stage2, 44, 0, 32, 1),
        (Regime::Stage2, 48, 0, 512, 1),
    ];
    for (regime, bits, level, entries, tables) in cases {
        let config = TableConfig::new(regime, bits).unwrap();
        assert_eq!(
            (
                config.start_level(),
                config.start_level_entries(),
                config.start_level_tables()
            ),
            (level, entries, tables),
            "{regime:?} {bits}"
        );
        assert_eq!(config.input_size(), 1 << bits);
    }
}

#[test]
fn unsupported_input_widths_are_refused() {
    for regime in [Regime::El2Stage1, Regime::Stage2] {
        for bits in [0, 1, 24, 49, 52, 64, 255] {
            assert_eq!(
                TableConfig::new(regime, bits),
                Err(ConfigError::UnsupportedInputBits { regime, bits })
            );
        }
    }
    assert!(El2Config::new(24).is_err());
    assert!(Stage2Config::new(49).is_err());
}

#[test]
fn physical_address_sizes() {
    let expected = [32, 36, 40, 42, 44, 48, 48, 48];
    for (parange, bits) in expected.into_iter().enumerate() {
        assert_eq!(PhysAddrSize::from_parange(parange as u64).bits(), bits);
    }
    assert_eq!(PhysAddrSize::from_parange(0xf), PhysAddrSize::Bits48);
    // ID_AA64MMFR0_EL1 as a whole: only PARange [3:0] counts (QEMU cortex-a72: 0x1124).
    assert_eq!(PhysAddrSize::from_parange(0x1124), PhysAddrSize::Bits44);
    for bits in [32, 36, 40, 42, 44, 48] {
        assert_eq!(
            PhysAddrSize::from_bits(bits).map(PhysAddrSize::bits),
            Some(bits)
        );
    }
    assert_eq!(PhysAddrSize::from_bits(39), None);
    assert_eq!(PhysAddrSize::from_bits(52), None);
}

#[test]
fn errors_display() {
    let e = ConfigError::UnsupportedInputBits {
        regime: Regime::Stage2,
        bits: 52,
    };
    assert!(e.to_string().contains("52"));
    let e = ConfigError::IpaWiderThanPhysical {
        ipa_bits: 40,
        pa_bits: 36,
    };
    assert!(e.to_string().contains("40") && e.to_string().contains("36"));
}
