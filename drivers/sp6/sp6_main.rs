// SPDX-License-Identifier: GPL-2.0

//! REPTAR Spartan-6 FPGA driver: the board's CPU LEDs and push buttons.
//!
//! Binds to `compatible = "reds,reptar-sp6"` and exposes
//!
//! - LEDs 0 to 5 (the CPU's) as LED class devices `sp6_led0` to `sp6_led5` (on/off),
//! - the 8 push buttons as the input device `reptar_sp6_buttons` (ESC, BACKSPACE, ENTER, SPACE,
//!   UP, LEFT, RIGHT, DOWN for bits 0 to 7 of `PUSH_BUT`).
//!
//! Buttons raise the FPGA interrupt: the hard IRQ handler latches the pressed buttons and acks
//! the FPGA, the IRQ thread reports a press and a release per button. The register model, the
//! key map and the IRQ flow are described in `docs/sp6.md`.

use kernel::{
    device::{Bound, Core, Device},
    io::{mem::DevresIoMem, register, Io},
    irq::{self, IrqReturn, ThreadedIrqReturn},
    of, platform,
    prelude::*,
    str::CString,
    sync::{
        atomic::{Atomic, Full, Relaxed},
        new_spinlock_irq, Arc, SpinLockIrq,
    },
};

#[path = "../kernel-ext/mod.rs"]
pub mod kext;

use kext::{bindings, input, led};

/// Registers the driver uses lie below this offset (the device tree window is larger).
const SP6_REGS_SIZE: usize = 0x40;

register! {
    /// Push buttons pressed since the last IRQ clear (latched) or held now: bit N = button N.
    PUSH_BUT(u16) @ 0x12 {
        7:0 buttons;
    }

    /// Interrupt control and status.
    IRQ_CTL(u16) @ 0x18 {
        /// Interrupt enable: the line is asserted while `status` and `enable` are both set.
        7:7 enable => bool;
        /// Source of the pending interrupt (0: buttons).
        6:5 source;
        /// An interrupt is pending.
        4:4 status => bool;
        /// Number of the last button pressed.
        3:1 button;
        /// Write 1: clears `status` and the `PUSH_BUT` latch.
        0:0 clear => bool;
    }

    /// LEDs: bit N = LED N. LEDs 0 to 5 are the CPU's, 6 and 7 the FPGA's.
    LED(u16) @ 0x3a {
        7:0 leds;
    }
}

/// `IRQ_CTL.source` of button interrupts.
const IRQ_SOURCE_BUTTONS: u16 = 0;

/// Number of LEDs that belong to the CPU (LED register bits 0 to 5).
const CPU_LEDS: u32 = 6;

/// Mask of the CPU's LEDs in the LED register.
const CPU_LEDS_MASK: u16 = (1 << CPU_LEDS) - 1;

/// Key reported for each button, indexed by its bit in `PUSH_BUT` (our order, see docs/sp6.md).
const BUTTON_KEYS: [u32; 8] = [
    bindings::KEY_ESC,
    bindings::KEY_BACKSPACE,
    bindings::KEY_ENTER,
    bindings::KEY_SPACE,
    bindings::KEY_UP,
    bindings::KEY_LEFT,
    bindings::KEY_RIGHT,
    bindings::KEY_DOWN,
];

/// The FPGA's registers, shared by the LEDs and the IRQ handler.
#[pin_data]
struct Sp6Hw {
    /// Mapped until the device is unbound (a device resource, released after the LEDs).
    regs: DevresIoMem<SP6_REGS_SIZE>,
    /// Serialises the read-modify-write cycles of the LED register, shared by all the LEDs.
    #[pin]
    led_lock: SpinLockIrq<()>,
}

impl Sp6Hw {
    /// Maps the registers and puts the FPGA in a known state: interrupt disabled and cleared,
    /// CPU LEDs off.
    fn new(pdev: &platform::Device<Core<'_>>) -> Result<Arc<Self>> {
        let dev = pdev.as_ref();
        let request = pdev.io_request_by_index(0).ok_or_else(|| {
            dev_err!(dev, "no register window in the device tree\n");
            ENODEV
        })?;
        // Not `iomap_exclusive_sized()`: in 7.3 its region is requested under the device's own
        // resource but released from the global iomem tree ("Trying to free nonexistent
        // resource"), so it leaks and the next probe fails with EBUSY.
        let regs = request
            .iomap_sized::<SP6_REGS_SIZE>()
            .and_then(|regs| regs.into_devres())
            .inspect_err(|e| dev_err!(dev, "cannot map the registers: {e:?}\n"))?;

        let hw = Arc::pin_init(
            try_pin_init!(Self {
                regs,
                led_lock <- new_spinlock_irq!(()),
            }),
            GFP_KERNEL,
        )?;

        let regs = hw.regs.access(dev)?;
        regs.write_reg(IRQ_CTL::zeroed().with_clear(true));
        {
            let _guard = hw.led_lock.lock();
            regs.update(LED, |r| LED::from_raw(r.into_raw() & !CPU_LEDS_MASK));
        }
        Ok(hw)
    }

    /// Enables the FPGA interrupt, clearing what is pending.
    fn enable_irq(&self, dev: &Device<Bound>) -> Result {
        self.regs
            .access(dev)?
            .write_reg(IRQ_CTL::zeroed().with_clear(true).with_enable(true));
        Ok(())
    }

    /// Disables the FPGA interrupt, clearing what is pending.
    fn disable_irq(&self, dev: &Device<Bound>) -> Result {
        self.regs
            .access(dev)?
            .write_reg(IRQ_CTL::zeroed().with_clear(true));
        Ok(())
    }

    /// Switches LED `index` on or off, keeping the other LEDs as they are.
    fn set_led(&self, index: u32, on: bool) {
        // The mapping goes away when the device is unbound, after the LEDs are unregistered: if
        // it is already gone there is no LED left to drive.
        let Some(regs) = self.regs.try_access() else {
            return;
        };
        let bit = 1u16 << index;
        let _guard = self.led_lock.lock();
        regs.update(LED, |r| {
            let leds = r.into_raw();
            LED::from_raw(if on { leds | bit } else { leds & !bit })
        });
    }
}

/// One of the CPU's LEDs.
#[pin_data]
struct Sp6Led {
    hw: Arc<Sp6Hw>,
    index: u32,
}

#[vtable]
impl led::Ops for Sp6Led {
    fn brightness_set(&self, _parent: &Device, brightness: u32) {
        self.hw.set_led(self.index, brightness != 0);
    }
}

/// The button interrupt: latched in hard IRQ context, reported by the IRQ thread.
#[pin_data]
struct Sp6Irq<'bound> {
    dev: &'bound Device<Bound>,
    hw: Arc<Sp6Hw>,
    /// Buttons latched by the hard IRQ handler and not reported yet, bit N = button N.
    pending: Atomic<u32>,
    /// Buttons held at the last ack (only used by the hard IRQ handler).
    held: Atomic<u32>,
    /// The input device `reptar_sp6_buttons`; unregistered after the IRQ is freed.
    buttons: input::Registration,
}

impl Sp6Irq<'_> {
    /// Adds `buttons` to the pending set.
    fn latch(&self, buttons: u32) {
        let mut old = self.pending.load(Relaxed);
        while let Err(current) = self.pending.cmpxchg(old, old | buttons, Full) {
            old = current;
        }
    }
}

impl irq::ThreadedHandler for Sp6Irq<'_> {
    fn handle(&self) -> ThreadedIrqReturn {
        let Ok(regs) = self.hw.regs.access(self.dev) else {
            return ThreadedIrqReturn::None;
        };
        let ctl = regs.read(IRQ_CTL);
        if !ctl.status() {
            return ThreadedIrqReturn::None;
        }

        let pushed = u32::from(regs.read(PUSH_BUT).buttons().get());

        // Ack: clears the status (the line drops) and the PUSH_BUT latch; keep enabled.
        regs.write_reg(IRQ_CTL::zeroed().with_clear(true).with_enable(true));

        // With the latch cleared, PUSH_BUT shows the buttons held now. A button held since the
        // previous ack is in `pushed` only because it is still down: it was reported then.
        let held = u32::from(regs.read(PUSH_BUT).buttons().get());
        let held_before = self.held.xchg(held, Relaxed);
        let mut buttons = pushed & !held_before;
        if ctl.source().get() == IRQ_SOURCE_BUTTONS {
            // The press that raised this interrupt, even if that button was held before (it
            // was released and pressed again).
            buttons |= 1 << ctl.button().get();
        }

        if buttons == 0 {
            return ThreadedIrqReturn::Handled;
        }
        self.latch(buttons);
        ThreadedIrqReturn::WakeThread
    }

    fn handle_threaded(&self) -> IrqReturn {
        let pending = self.pending.xchg(0, Full);
        for (bit, &key) in BUTTON_KEYS.iter().enumerate() {
            if pending & (1 << bit) != 0 {
                self.buttons.report_key(key, true);
                self.buttons.sync();
                self.buttons.report_key(key, false);
                self.buttons.sync();
            }
        }
        IrqReturn::Handled
    }
}

/// Creates and registers the input device `reptar_sp6_buttons`.
fn register_buttons(dev: &Device<Bound>) -> Result<input::Registration> {
    let mut buttons = input::Builder::new(c"reptar_sp6_buttons")?;
    buttons.set_parent(dev);
    buttons.set_id(input::Id::host());
    for key in BUTTON_KEYS {
        buttons.set_key(key)?;
    }
    buttons
        .register()
        .inspect_err(|e| dev_err!(dev, "cannot register the input device: {e:?}\n"))
}

/// Registers LED class device `sp6_led<index>`.
fn register_led(dev: &Device<Bound>, hw: &Arc<Sp6Hw>, index: u32) -> Result {
    let name = CString::try_from_fmt(fmt!("sp6_led{index}"))?;
    led::register(
        dev,
        led::Config::new(name, 1),
        pin_init!(Sp6Led {
            hw: hw.clone(),
            index,
        }),
    )
    .inspect_err(|e| dev_err!(dev, "cannot register LED sp6_led{index}: {e:?}\n"))
}

/// Driver data of a bound FPGA.
///
/// Dropped after `unbind` (which disables the FPGA interrupt), in field order: the IRQ is freed
/// (waiting for its thread), then the input device is unregistered. The LEDs and the register
/// mapping are device resources, released after that, LEDs first.
#[pin_data]
struct Sp6<'bound> {
    #[pin]
    irq: irq::ThreadedRegistration<'bound, Sp6Irq<'bound>>,
    hw: Arc<Sp6Hw>,
}

struct Sp6Driver;

kernel::of_device_table!(
    OF_TABLE,
    <Sp6Driver as platform::Driver>::IdInfo,
    [(of::DeviceId::new(c"reds,reptar-sp6"), ())]
);

impl platform::Driver for Sp6Driver {
    type IdInfo = ();
    type Data<'bound> = Sp6<'bound>;
    const OF_ID_TABLE: Option<of::IdTable<Self::IdInfo>> = Some(&OF_TABLE);

    fn probe<'bound>(
        pdev: &'bound platform::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pin_init::pin_init_scope(move || {
            let dev: &'bound Device<Bound> = pdev.as_ref();
            let hw = Sp6Hw::new(pdev)?;
            let buttons = register_buttons(dev)?;
            for index in 0..CPU_LEDS {
                register_led(dev, &hw, index)?;
            }

            let irq_hw = hw.clone();
            let handler = try_pin_init!(Sp6Irq {
                dev,
                hw: irq_hw,
                pending: Atomic::new(0),
                held: Atomic::new(0),
                buttons,
            }? Error);
            // SAFETY: The registration is initialised in place in the driver data, which the
            // platform core owns and drops when the device is unbound; it is never forgotten.
            let irq = unsafe {
                pdev.request_threaded_irq_by_index(irq::Flags::TRIGGER_NONE, 0, c"sp6", handler)
            };
            let irq = kext::init::inspect_err(irq, move |e| {
                dev_err!(dev, "cannot request the interrupt: {e:?}\n");
            });

            Ok(try_pin_init!(Sp6 {
                irq <- irq,
                hw: hw.clone(),
                _: {
                    hw.enable_irq(dev)?;
                    dev_info!(dev, "REPTAR SP6: {} LEDs, {} buttons\n", CPU_LEDS, BUTTON_KEYS.len());
                },
            }))
        })
    }

    fn unbind<'bound>(pdev: &'bound platform::Device<Core<'_>>, this: Pin<&Self::Data<'bound>>) {
        // Silence the FPGA before its IRQ is freed (when the driver data is dropped).
        if let Err(e) = this.hw.disable_irq(pdev.as_ref()) {
            dev_err!(pdev.as_ref(), "cannot disable the interrupt: {e:?}\n");
        }
    }
}

kernel::module_platform_driver! {
    type: Sp6Driver,
    name: "sp6",
    authors: ["REPTAR project"],
    description: "REPTAR Spartan-6 FPGA: CPU LEDs and push buttons",
    license: "GPL v2",
}
