//! The REPTAR board the hypervisor models for dom0: the Spartan-6 FPGA (6 LEDs, 8 push
//! buttons, an interrupt), at the address it has on the real board. Buttons are pressed from
//! the QEMU window's keyboard or the monitor; LED changes are reported on the console.

use crate::arch::timer;
use crate::domain;
use crate::println;
use arm_trap::AccessWidth;
use boot_info::MemRange;
use sp6_fpga::{Button, Effects, LedRow, Sp6};
use spin::Mutex;

/// Where the FPGA's registers are in dom0's address space: 0x18000000 as on REPTAR (free IPA
/// space on QEMU virt, which gives dom0 no PCIe).
pub const SP6_BASE: u64 = 0x1800_0000;
pub const SP6_SIZE: u64 = sp6_fpga::REGION_SIZE;
/// The FPGA's interrupt: SPI 90 (INTID 122), level-sensitive, active high.
pub const SP6_SPI: u32 = 90;
pub const SP6_INTID: u32 = 32 + SP6_SPI;
/// The DIP switches of our board.
const DIP_SWITCHES: u16 = 0x00a5;

static SP6: Mutex<Sp6> = Mutex::new(Sp6::new(DIP_SWITCHES));

pub fn sp6_range() -> MemRange {
    MemRange::new(SP6_BASE, SP6_SIZE)
}

/// A guest register access to the FPGA.
pub fn sp6_read(offset: u64, width: AccessWidth) -> Result<u64, sp6_fpga::BusError> {
    SP6.lock().read(offset, width).map(u64::from)
}

pub fn sp6_write(offset: u64, width: AccessWidth, value: u64) -> Result<(), sp6_fpga::BusError> {
    let effects = SP6.lock().write(offset, width, value)?;
    if effects.write_ignored {
        println!("SP6: write {value:#x} to read-only register {offset:#x} ignored");
    }
    apply(effects);
    Ok(())
}

/// Presses and releases a board button (the monitor's `press`, or a key typed in the window).
pub fn press(button: Button) {
    let (effects, already_held) = {
        let mut sp6 = SP6.lock();
        let held = sp6.held_buttons() & button.bit() != 0;
        (sp6.press(button), held)
    };
    if !already_held {
        println!("button {} pressed (cntvct={})", button.name(), timer::count());
    }
    apply(effects);
}

pub fn release(button: Button) {
    let effects = SP6.lock().release(button);
    apply(effects);
}

/// LEDs (bit N = LED N), IRQ_CTL and PUSH_BUT as they are now, for the monitor.
pub fn state() -> (u8, u16, u8) {
    let sp6 = SP6.lock();
    (sp6.leds(), sp6.irq_ctl(), sp6.push_buttons())
}

/// What a register change or a button does outside the FPGA: LEDs on the console, the
/// interrupt line to dom0's vGIC.
fn apply(effects: Effects) {
    if let Some((_, new)) = effects.leds {
        // Stamped with the generic timer's count, for latency measurements against guests.
        println!("LEDs: {} (cntvct={})", LedRow(new), timer::count());
    }
    if let Some(level) = effects.irq_line {
        if let Some(dom0) = domain::get(0) {
            crate::irq::set_spi_level(dom0, SP6_INTID, level);
        }
    }
}
