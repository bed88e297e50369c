//! Properties over random sequences of guest accesses and button events.

use proptest::prelude::*;
use sp6_fpga::{irq_ctl, AccessWidth, Button, Effects, Sp6, IRQ_CTL, LED, PUSH_BUT};

#[derive(Debug, Clone)]
enum Op {
    Read(u64, AccessWidth),
    Write(u64, AccessWidth, u64),
    Press(Button),
    Release(Button),
}

fn width() -> impl Strategy<Value = AccessWidth> {
    (0u64..4).prop_map(AccessWidth::from_sas)
}

fn offset() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..0x48, any::<u64>(), Just(IRQ_CTL), Just(LED)]
}

fn button() -> impl Strategy<Value = Button> {
    (0u8..8).prop_map(|i| Button::from_index(i).unwrap())
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (offset(), width()).prop_map(|(o, w)| Op::Read(o, w)),
        (offset(), width(), any::<u64>()).prop_map(|(o, w, v)| Op::Write(o, w, v)),
        // IRQ_CTL writes with the bits the driver uses, so that enable/clear happen often.
        (0u16..0x100).prop_map(|v| Op::Write(IRQ_CTL, AccessWidth::Halfword, v.into())),
        button().prop_map(Op::Press),
        button().prop_map(Op::Release),
    ]
}

proptest! {
    #[test]
    fn irq_line_is_status_and_enable(dip in any::<u16>(), ops in proptest::collection::vec(op(), 0..64)) {
        let mut sp6 = Sp6::new(dip);
        let mut line = false;
        for op in ops {
            let before = sp6.clone();
            let effects = match op {
                Op::Read(o, w) => {
                    let r = sp6.read(o, w);
                    prop_assert_eq!(r.is_ok(), w == AccessWidth::Halfword && [0x10, 0x12, 0x18, 0x30, 0x3a].contains(&o));
                    Effects::default()
                }
                Op::Write(o, w, v) => sp6.write(o, w, v).unwrap_or_else(|_| {
                    assert_eq!(sp6, before, "a bus error changes nothing");
                    Effects::default()
                }),
                Op::Press(b) => sp6.press(b),
                Op::Release(b) => sp6.release(b),
            };
            let ctl = sp6.read(IRQ_CTL, AccessWidth::Halfword).unwrap();
            let status = ctl & irq_ctl::STATUS != 0;
            let enable = ctl & irq_ctl::ENABLE != 0;
            prop_assert_eq!(sp6.irq_line(), status && enable);
            prop_assert_eq!(ctl & (irq_ctl::CLEAR | irq_ctl::SOURCE_MASK | 0xff00), 0);
            // Effects report exactly the line changes.
            match effects.irq_line {
                Some(now) => { prop_assert_ne!(now, line); prop_assert_eq!(now, sp6.irq_line()); }
                None => prop_assert_eq!(line, sp6.irq_line()),
            }
            line = sp6.irq_line();
            // PUSH_BUT always shows what is held.
            let pb = sp6.read(PUSH_BUT, AccessWidth::Halfword).unwrap();
            prop_assert_eq!(pb as u8 & sp6.held_buttons(), sp6.held_buttons());
            prop_assert_eq!(pb >> 8, 0);
            prop_assert_eq!(sp6.leds() >> 6, 0);
        }
    }

    #[test]
    fn accesses_never_panic(offset in any::<u64>(), sas in any::<u64>(), value in any::<u64>()) {
        let mut sp6 = Sp6::new(0);
        let _ = sp6.read(offset, AccessWidth::from_sas(sas));
        let _ = sp6.write(offset, AccessWidth::from_sas(sas), value);
    }
}
