//! Whatever dom0 writes, the display shows one of its two pictures.

use display_controller::*;
use proptest::prelude::*;

const DOM0: Picture = Picture { base: 0x9780_0000, size: 0x20_0000 };
const GUEST: Picture = Picture { base: 0x9760_0000, size: 0x20_0000 };

fn width() -> impl Strategy<Value = AccessWidth> {
    prop_oneof![Just(AccessWidth::Byte), Just(AccessWidth::Halfword), Just(AccessWidth::Word), Just(AccessWidth::Doubleword)]
}

fn value() -> impl Strategy<Value = u64> {
    prop_oneof![any::<u64>(), Just(DOM0.base), Just(GUEST.base), Just(0)]
}

proptest! {
    #[test]
    fn the_scanout_is_always_a_picture_of_the_display(
        accesses in proptest::collection::vec((0u64..0x40, width(), value(), any::<bool>()), 0..64)
    ) {
        let mut lcd = Controller::new(800, 480, 3200, DOM0, GUEST);
        for (offset, width, value, write) in accesses {
            let before = lcd.scanout();
            if write {
                match lcd.write(offset, width, value) {
                    Ok(Effect::Scanout(base)) => prop_assert_eq!(base, lcd.scanout()),
                    Ok(_) | Err(_) => prop_assert_eq!(before, lcd.scanout()),
                }
            } else {
                let _ = lcd.read(offset, width);
                prop_assert_eq!(before, lcd.scanout());
            }
            prop_assert!(lcd.scanout() == DOM0.base || lcd.scanout() == GUEST.base);
        }
    }
}
