//! Register-level behaviour of the FPGA model, as dom0's `sp6` driver exercises it.

use sp6_fpga::{
    irq_ctl, led_row, AccessWidth, BusError, Button, Effects, LedRow, Sp6, DIP_SW, DISP_7SEG1,
    IRQ_CTL, LED, PUSH_BUT,
};

const H: AccessWidth = AccessWidth::Halfword;

fn rd(sp6: &Sp6, offset: u64) -> u16 {
    sp6.read(offset, H).unwrap()
}

fn wr(sp6: &mut Sp6, offset: u64, value: u16) -> Effects {
    sp6.write(offset, H, value.into()).unwrap()
}

#[test]
fn reset_state() {
    let sp6 = Sp6::new(0xa5);
    assert_eq!(rd(&sp6, DIP_SW), 0xa5);
    assert_eq!(rd(&sp6, PUSH_BUT), 0);
    assert_eq!(rd(&sp6, IRQ_CTL), 0);
    assert_eq!(rd(&sp6, DISP_7SEG1), 0);
    assert_eq!(rd(&sp6, LED), 0);
    assert!(!sp6.irq_line());
}

#[test]
fn dip_switches_are_read_only() {
    let mut sp6 = Sp6::new(0x1234);
    let e = wr(&mut sp6, DIP_SW, 0xffff);
    assert_eq!(
        e,
        Effects {
            write_ignored: true,
            ..Effects::default()
        }
    );
    assert_eq!(rd(&sp6, DIP_SW), 0x1234);
    let e = wr(&mut sp6, PUSH_BUT, 0xff);
    assert!(e.write_ignored);
    assert_eq!(rd(&sp6, PUSH_BUT), 0);
}

#[test]
fn press_raises_irq_when_enabled_and_clear_lowers_it() {
    let mut sp6 = Sp6::new(0);
    assert_eq!(wr(&mut sp6, IRQ_CTL, irq_ctl::ENABLE), Effects::default());
    let e = sp6.press(Button::Enter);
    assert_eq!(e.irq_line, Some(true));
    assert!(sp6.irq_line());
    let ctl = rd(&sp6, IRQ_CTL);
    assert_eq!(ctl & irq_ctl::STATUS, irq_ctl::STATUS);
    assert_eq!((ctl & irq_ctl::BUTTON_MASK) >> irq_ctl::BUTTON_SHIFT, 2);
    assert_eq!(ctl & irq_ctl::SOURCE_MASK, 0);
    assert_eq!(ctl & irq_ctl::ENABLE, irq_ctl::ENABLE);
    assert_eq!(ctl & irq_ctl::CLEAR, 0);
    assert_eq!(rd(&sp6, PUSH_BUT), Button::Enter.bit().into());

    // The driver's hard IRQ handler: latch PUSH_BUT, ack with CLEAR (keeping ENABLE).
    assert_eq!(sp6.release(Button::Enter), Effects::default());
    assert_eq!(rd(&sp6, PUSH_BUT), 0b100, "latched after release");
    let e = wr(&mut sp6, IRQ_CTL, irq_ctl::CLEAR | irq_ctl::ENABLE);
    assert_eq!(e.irq_line, Some(false));
    assert!(!sp6.irq_line());
    assert_eq!(rd(&sp6, PUSH_BUT), 0);
    let ctl = rd(&sp6, IRQ_CTL);
    assert_eq!(ctl & irq_ctl::STATUS, 0);
    assert_eq!(ctl & irq_ctl::ENABLE, irq_ctl::ENABLE);
    assert_eq!(
        (ctl & irq_ctl::BUTTON_MASK) >> irq_ctl::BUTTON_SHIFT,
        2,
        "number survives clear"
    );
}

#[test]
fn held_button_shows_after_clear() {
    let mut sp6 = Sp6::new(0);
    wr(&mut sp6, IRQ_CTL, irq_ctl::ENABLE);
    sp6.press(Button::Up);
    sp6.press(Button::Esc);
    sp6.release(Button::Esc);
    assert_eq!(rd(&sp6, PUSH_BUT), 0b1_0001);
    assert_eq!(
        (rd(&sp6, IRQ_CTL) & irq_ctl::BUTTON_MASK) >> 1,
        0,
        "last pressed: ESC"
    );
    wr(&mut sp6, IRQ_CTL, irq_ctl::CLEAR | irq_ctl::ENABLE);
    assert_eq!(rd(&sp6, PUSH_BUT), Button::Up.bit().into(), "UP still held");
    // Auto-repeat of a held key is no new press.
    assert_eq!(sp6.press(Button::Up), Effects::default());
    assert!(!sp6.irq_line());
    sp6.release(Button::Up);
    assert_eq!(rd(&sp6, PUSH_BUT), 0);
}

#[test]
fn presses_while_disabled_only_latch() {
    let mut sp6 = Sp6::new(0);
    assert_eq!(sp6.press(Button::Down), Effects::default());
    sp6.release(Button::Down);
    assert_eq!(rd(&sp6, PUSH_BUT), Button::Down.bit().into());
    assert_eq!(rd(&sp6, IRQ_CTL), 0, "no status, no number");
    // Enabling afterwards does not raise the interrupt for the old press.
    assert_eq!(wr(&mut sp6, IRQ_CTL, irq_ctl::ENABLE), Effects::default());
    assert!(!sp6.irq_line());
    assert_eq!(rd(&sp6, PUSH_BUT), Button::Down.bit().into());
    assert_eq!(sp6.press(Button::Space).irq_line, Some(true));
    assert_eq!(
        rd(&sp6, PUSH_BUT),
        (Button::Down.bit() | Button::Space.bit()).into()
    );
}

#[test]
fn disable_keeps_status_and_masks_line() {
    let mut sp6 = Sp6::new(0);
    wr(&mut sp6, IRQ_CTL, irq_ctl::ENABLE);
    sp6.press(Button::Right);
    assert_eq!(wr(&mut sp6, IRQ_CTL, 0).irq_line, Some(false));
    assert_eq!(
        rd(&sp6, IRQ_CTL) & (irq_ctl::STATUS | irq_ctl::ENABLE),
        irq_ctl::STATUS
    );
    assert_eq!(wr(&mut sp6, IRQ_CTL, irq_ctl::ENABLE).irq_line, Some(true));
    // Clear without enable: status gone, line stays low.
    assert_eq!(wr(&mut sp6, IRQ_CTL, irq_ctl::CLEAR).irq_line, Some(false));
    assert_eq!(rd(&sp6, IRQ_CTL) & (irq_ctl::STATUS | irq_ctl::ENABLE), 0);
}

#[test]
fn read_only_irq_ctl_bits_ignore_writes() {
    let mut sp6 = Sp6::new(0);
    let e = wr(&mut sp6, IRQ_CTL, !irq_ctl::CLEAR & !irq_ctl::ENABLE);
    assert_eq!(e, Effects::default());
    assert_eq!(rd(&sp6, IRQ_CTL), 0);
}

#[test]
fn leds_and_effects() {
    let mut sp6 = Sp6::new(0);
    let e = wr(&mut sp6, LED, 0b100);
    assert_eq!(
        e,
        Effects {
            leds: Some((0, 0b100)),
            ..Effects::default()
        }
    );
    assert_eq!(sp6.leds(), 0b100);
    assert_eq!(rd(&sp6, LED), 0b100);
    // Same value: no change reported.
    assert!(wr(&mut sp6, LED, 0b100).is_empty());
    // FPGA-owned bits 7:6 and bits 15:8 are not the CPU's.
    let e = wr(&mut sp6, LED, 0xffc1);
    assert_eq!(e.leds, Some((0b100, 0b1)));
    assert_eq!(rd(&sp6, LED), 0b1);
    assert!(wr(&mut sp6, LED, 0xc1).is_empty());
    assert_eq!(wr(&mut sp6, LED, 0).leds, Some((1, 0)));
    assert_eq!(format!("LEDs: {}", LedRow(0b100)), "LEDs: o o * o o o");
    assert_eq!(LedRow(0xff).to_string(), "* * * * * *");
    assert_eq!(led_row(0b10_0001), ['*', 'o', 'o', 'o', 'o', '*']);
}

#[test]
fn display_register() {
    let mut sp6 = Sp6::new(0);
    assert_eq!(wr(&mut sp6, DISP_7SEG1, 0xbeef).display, Some((0, 0xbeef)));
    assert_eq!(rd(&sp6, DISP_7SEG1), 0xbeef);
    assert!(wr(&mut sp6, DISP_7SEG1, 0xbeef).is_empty());
    // Only the 16-bit register is written.
    assert_eq!(
        sp6.write(DISP_7SEG1, H, 0xdead_0001).unwrap().display,
        Some((0xbeef, 1))
    );
}

#[test]
fn bad_widths_offsets_and_alignment() {
    let mut sp6 = Sp6::new(0);
    for width in [
        AccessWidth::Byte,
        AccessWidth::Word,
        AccessWidth::Doubleword,
    ] {
        for offset in [DIP_SW, PUSH_BUT, IRQ_CTL, DISP_7SEG1, LED, 0x11, 0x1000] {
            assert_eq!(
                sp6.read(offset, width),
                Err(BusError::Width { offset, width })
            );
            assert_eq!(
                sp6.write(offset, width, 0),
                Err(BusError::Width { offset, width })
            );
        }
    }
    for offset in [0x11, 0x13, 0x3b, u64::MAX] {
        assert_eq!(sp6.read(offset, H), Err(BusError::Misaligned { offset }));
        assert_eq!(
            sp6.write(offset, H, 0),
            Err(BusError::Misaligned { offset })
        );
    }
    for offset in [
        0,
        0xe,
        0x14,
        0x16,
        0x1a,
        0x2e,
        0x32,
        0x38,
        0x3c,
        0xffe,
        0x1000,
        u64::MAX - 1,
    ] {
        assert_eq!(sp6.read(offset, H), Err(BusError::NoRegister { offset }));
        assert_eq!(
            sp6.write(offset, H, 0xffff),
            Err(BusError::NoRegister { offset })
        );
    }
    assert_eq!(sp6, Sp6::new(0), "failed accesses change nothing");
    assert_eq!(
        BusError::Width {
            offset: 0x3a,
            width: AccessWidth::Word
        }
        .to_string(),
        "32-bit access at offset 0x3a: FPGA registers are 16-bit"
    );
}

#[test]
fn access_width_from_syndrome() {
    assert_eq!(AccessWidth::from_sas(0), AccessWidth::Byte);
    assert_eq!(AccessWidth::from_sas(1), AccessWidth::Halfword);
    assert_eq!(AccessWidth::from_sas(2), AccessWidth::Word);
    assert_eq!(AccessWidth::from_sas(3), AccessWidth::Doubleword);
    assert_eq!(AccessWidth::from_sas(7), AccessWidth::Doubleword);
}
