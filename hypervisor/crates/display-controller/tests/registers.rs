//! The register map, access by access.

use display_controller::*;

const DOM0: Picture = Picture { base: 0x9780_0000, size: 0x20_0000 };
const GUEST: Picture = Picture { base: 0x1_9760_0000, size: 0x20_0000 };
const W: AccessWidth = AccessWidth::Word;

fn lcd() -> Controller {
    Controller::new(800, 480, 3200, DOM0, GUEST)
}

fn set_base(lcd: &mut Controller, base: u64) -> Effect {
    assert_eq!(lcd.write(SCANOUT_HI, W, base >> 32).unwrap(), Effect::None);
    lcd.write(SCANOUT_LO, W, base & 0xffff_ffff).unwrap()
}

fn base(lcd: &Controller) -> u64 {
    u64::from(lcd.read(SCANOUT_HI, W).unwrap()) << 32 | u64::from(lcd.read(SCANOUT_LO, W).unwrap())
}

#[test]
fn identity_and_geometry() {
    let lcd = lcd();
    assert_eq!(lcd.read(ID, W), Ok(ID_VALUE));
    assert_eq!(&ID_VALUE.to_be_bytes(), b"RDC1");
    assert_eq!(lcd.read(WIDTH, W), Ok(800));
    assert_eq!(lcd.read(HEIGHT, W), Ok(480));
    assert_eq!(lcd.read(STRIDE, W), Ok(3200));
    assert_eq!(lcd.read(STATUS, W), Ok(0));
}

#[test]
fn starts_on_dom0s_framebuffer() {
    let lcd = lcd();
    assert_eq!(base(&lcd), DOM0.base);
    assert!(lcd.shows_dom0());
}

#[test]
fn switches_between_the_two_pictures() {
    let mut lcd = lcd();
    assert_eq!(set_base(&mut lcd, GUEST.base), Effect::Scanout(GUEST.base));
    assert_eq!(base(&lcd), GUEST.base);
    assert!(!lcd.shows_dom0());
    // The same base again changes nothing.
    assert_eq!(set_base(&mut lcd, GUEST.base), Effect::None);
    assert_eq!(set_base(&mut lcd, DOM0.base), Effect::Scanout(DOM0.base));
    assert!(lcd.shows_dom0());
}

#[test]
fn the_high_half_waits_for_the_low_write() {
    let mut lcd = lcd();
    lcd.write(SCANOUT_HI, W, GUEST.base >> 32).unwrap();
    // Not applied yet: the display still shows dom0's picture.
    assert_eq!(base(&lcd), DOM0.base);
    assert_eq!(lcd.write(SCANOUT_LO, W, GUEST.base & 0xffff_ffff).unwrap(), Effect::Scanout(GUEST.base));
}

#[test]
fn refuses_what_is_not_a_picture_of_the_display() {
    let mut lcd = lcd();
    for bad in [0, 0x4000_0000, DOM0.base + 4096, GUEST.base - 4096, GUEST.base & 0xffff_ffff, u64::MAX] {
        assert_eq!(set_base(&mut lcd, bad), Effect::Refused(bad), "{bad:#x}");
        assert_eq!(base(&lcd), DOM0.base);
        assert_eq!(lcd.read(STATUS, W), Ok(status::REFUSED));
    }
    // An accepted base clears the status.
    assert_eq!(set_base(&mut lcd, GUEST.base), Effect::Scanout(GUEST.base));
    assert_eq!(lcd.read(STATUS, W), Ok(0));
}

#[test]
fn refuses_a_picture_too_small_for_the_mode() {
    let small = Picture { base: GUEST.base, size: 3200 * 480 - 1 };
    let mut lcd = Controller::new(800, 480, 3200, DOM0, small);
    assert_eq!(set_base(&mut lcd, small.base), Effect::Refused(small.base));
}

#[test]
fn read_only_registers_ignore_writes() {
    let mut lcd = lcd();
    for reg in [ID, WIDTH, HEIGHT, STRIDE, STATUS] {
        let before = lcd.read(reg, W).unwrap();
        assert_eq!(lcd.write(reg, W, 0xdead_beef), Ok(Effect::ReadOnly));
        assert_eq!(lcd.read(reg, W), Ok(before));
    }
}

#[test]
fn other_accesses_are_bus_errors() {
    let mut lcd = lcd();
    for width in [AccessWidth::Byte, AccessWidth::Halfword, AccessWidth::Doubleword] {
        assert_eq!(lcd.read(SCANOUT_LO, width), Err(BusError::Width { offset: SCANOUT_LO, width }));
        assert_eq!(lcd.write(SCANOUT_LO, width, GUEST.base), Err(BusError::Width { offset: SCANOUT_LO, width }));
    }
    for offset in [0x2, 0x1c, 0x20, 0xffc] {
        assert_eq!(lcd.read(offset, W), Err(BusError::NoRegister { offset }));
        assert_eq!(lcd.write(offset, W, 0), Err(BusError::NoRegister { offset }));
    }
    assert_eq!(base(&lcd), DOM0.base);
}

#[test]
fn show_dom0_goes_back() {
    let mut lcd = lcd();
    assert_eq!(lcd.show_dom0(), Effect::None);
    set_base(&mut lcd, GUEST.base);
    assert_eq!(lcd.show_dom0(), Effect::Scanout(DOM0.base));
    assert!(lcd.shows_dom0());
}
