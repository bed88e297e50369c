//! The REPTAR board in the hypervisor and sp6.ko in dom0: LEDs, buttons from the QEMU window's
//! keyboard through the FPGA interrupt, and load/unload cycles.

use anyhow::{ensure, Context, Result};
use regex::Regex;
use reptar_tests::{LaunchOptions, Machine, SHELL_TIMEOUT};
use std::time::Duration;

/// The eight buttons in board order: QEMU key (qcode) and the key dom0 must see.
const BUTTONS: [(&str, &str); 8] = [
    ("esc", "KEY_ESC"),
    ("backspace", "KEY_BACKSPACE"),
    ("ret", "KEY_ENTER"),
    ("spc", "KEY_SPACE"),
    ("up", "KEY_UP"),
    ("left", "KEY_LEFT"),
    ("right", "KEY_RIGHT"),
    ("down", "KEY_DOWN"),
];

fn dom0_with_sp6(name: &str) -> Result<Machine> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new(name))?;
    m.shell("insmod /sp6.ko", SHELL_TIMEOUT).context("insmod sp6.ko")?;
    Ok(m)
}

/// The number of FPGA interrupts dom0 has taken (its line in /proc/interrupts).
fn sp6_interrupts(m: &mut Machine) -> Result<u64> {
    let line = m.shell("grep sp6 /proc/interrupts", SHELL_TIMEOUT)?;
    let counts: Vec<u64> = line.split_whitespace().skip(1).map_while(|w| w.parse().ok()).collect();
    ensure!(!counts.is_empty(), "no sp6 interrupt line in /proc/interrupts: {line:?}");
    Ok(counts.iter().sum())
}

#[test]
fn insmod_creates_the_leds_and_the_button_device() -> Result<()> {
    let mut m = dom0_with_sp6("board-insmod")?;
    let leds = m.shell("ls /sys/class/leds", SHELL_TIMEOUT)?;
    let names: Vec<&str> = leds.split_whitespace().collect();
    ensure!(names == ["sp6_led0", "sp6_led1", "sp6_led2", "sp6_led3", "sp6_led4", "sp6_led5"], "LEDs: {leds:?}");
    let inputs = m.shell("cat /sys/class/input/*/name", SHELL_TIMEOUT)?;
    ensure!(inputs.lines().any(|l| l == "reptar_sp6_buttons"), "input devices: {inputs:?}");
    Ok(())
}

#[test]
fn each_led_written_in_dom0_is_reported_by_the_hypervisor() -> Result<()> {
    let mut m = dom0_with_sp6("board-leds")?;
    for led in 0..6 {
        let mut row = ["o"; 6];
        row[led] = "*";
        let on = format!(r"^\(XEN\) LEDs: {}", regex::escape(&row.join(" ")));
        let mark = m.mark();
        m.shell(&format!("echo 1 > /sys/class/leds/sp6_led{led}/brightness"), SHELL_TIMEOUT)?;
        m.expect_since(mark, &on, SHELL_TIMEOUT).with_context(|| format!("LED {led} on"))?;
        let back = m.shell(&format!("cat /sys/class/leds/sp6_led{led}/brightness"), SHELL_TIMEOUT)?;
        ensure!(back == "1", "LED {led} reads back {back:?} after writing 1");

        let mark = m.mark();
        m.shell(&format!("echo 0 > /sys/class/leds/sp6_led{led}/brightness"), SHELL_TIMEOUT)?;
        m.expect_since(mark, r"^\(XEN\) LEDs: o o o o o o", SHELL_TIMEOUT).with_context(|| format!("LED {led} off"))?;
        let back = m.shell(&format!("cat /sys/class/leds/sp6_led{led}/brightness"), SHELL_TIMEOUT)?;
        ensure!(back == "0", "LED {led} reads back {back:?} after writing 0");
    }
    Ok(())
}

#[test]
fn every_button_reaches_dom0_through_the_fpga_interrupt() -> Result<()> {
    let mut m = dom0_with_sp6("board-buttons")?;
    let interrupts_before = sp6_interrupts(&mut m)?;
    m.send_line("input-events --name reptar_sp6_buttons --keys-only --count 16")?;
    m.expect(r"reading /dev/input/event\d+", SHELL_TIMEOUT)?;
    for (qcode, key) in BUTTONS {
        m.qmp()?.send_key(qcode)?;
        m.expect(&format!(r"EV_KEY {key} 1 \(press\)"), SHELL_TIMEOUT).with_context(|| format!("{key} press"))?;
        m.expect(&format!(r"EV_KEY {key} 0 \(release\)"), SHELL_TIMEOUT).with_context(|| format!("{key} release"))?;
    }
    m.wait_for_prompt(SHELL_TIMEOUT)?;
    let taken = sp6_interrupts(&mut m)? - interrupts_before;
    ensure!(taken >= 8, "8 buttons pressed but only {taken} FPGA interrupts taken");
    Ok(())
}

#[test]
fn dom0_runs_normally_on_the_virtual_gic() -> Result<()> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new("board-vgic").no_domu())?;
    let online = m.shell("cat /sys/devices/system/cpu/online", SHELL_TIMEOUT)?;
    ensure!(online == "0-1", "CPUs online: {online:?}");
    // The timer ticks on both CPUs and the CPUs interrupt each other.
    let ticks = |m: &mut Machine| -> Result<Vec<u64>> {
        let line = m.shell("grep arch_timer /proc/interrupts", SHELL_TIMEOUT)?;
        Ok(line.split_whitespace().skip(1).take(2).map(|w| w.parse().unwrap_or(0)).collect())
    };
    let before = ticks(&mut m)?;
    m.shell("sleep 1", SHELL_TIMEOUT)?;
    let after = ticks(&mut m)?;
    ensure!(before.len() == 2 && after.len() == 2, "timer counts {before:?} {after:?}");
    ensure!(after[0] > before[0] && after[1] > before[1], "the timer did not tick on both CPUs: {before:?} -> {after:?}");
    let ipis = m.shell("grep 'Function call' /proc/interrupts", SHELL_TIMEOUT)?;
    let counts: Vec<u64> = ipis.split_whitespace().skip(1).take(2).filter_map(|w| w.parse().ok()).collect();
    ensure!(counts.len() == 2 && counts.iter().all(|&c| c > 0), "no IPIs between the CPUs: {ipis:?}");
    // Work spread on both CPUs finishes (an IPI or timer lost would hang it).
    m.shell("for i in 1 2 3 4; do (i=0; while [ $i -lt 300 ]; do i=$((i+1)); done) & done; wait", Duration::from_secs(60))?;
    m.send_line("poweroff")?;
    m.wait_exit(Duration::from_secs(60)).context("poweroff did not end QEMU")?;
    Ok(())
}

#[test]
fn twenty_load_unload_cycles_leave_nothing_behind() -> Result<()> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new("board-cycles").dom0_args("console=hvc0 rdinit=/init quiet kmemleak=on"))?;
    m.shell("mount -t debugfs none /sys/kernel/debug", SHELL_TIMEOUT)?;
    for cycle in 0..20 {
        m.shell("insmod /sp6.ko", SHELL_TIMEOUT).with_context(|| format!("insmod, cycle {cycle}"))?;
        let led = cycle % 6;
        m.shell(&format!("echo 1 > /sys/class/leds/sp6_led{led}/brightness"), SHELL_TIMEOUT)?;
        let (qcode, key) = BUTTONS[cycle % 8];
        m.send_line("input-events --name reptar_sp6_buttons --keys-only --count 2")?;
        m.expect(r"reading /dev/input/event\d+", SHELL_TIMEOUT)?;
        m.qmp()?.send_key(qcode)?;
        m.expect(&format!(r"EV_KEY {key} 0 \(release\)"), SHELL_TIMEOUT).with_context(|| format!("{key}, cycle {cycle}"))?;
        m.wait_for_prompt(SHELL_TIMEOUT)?;
        let mark = m.mark();
        m.shell("rmmod sp6", SHELL_TIMEOUT).with_context(|| format!("rmmod, cycle {cycle}"))?;
        // Unloading turns the LEDs off and disables the FPGA interrupt.
        m.expect_since(mark, r"^\(XEN\) LEDs: o o o o o o", SHELL_TIMEOUT).with_context(|| format!("LEDs after rmmod, cycle {cycle}"))?;
        let leds = m.shell("ls /sys/class/leds | wc -l", SHELL_TIMEOUT)?;
        ensure!(leds == "0", "cycle {cycle}: {leds} LEDs left after rmmod");
    }
    const TROUBLE: &str = "WARNING:|BUG:|Oops|Unable to handle|suspected memory leak|Trying to free";
    let warnings = m.shell(&format!("dmesg | grep -cE '{TROUBLE}' || true"), SHELL_TIMEOUT)?;
    ensure!(warnings == "0", "kernel warnings: {}", m.shell(&format!("dmesg | grep -E '{TROUBLE}'"), SHELL_TIMEOUT)?);
    m.shell("echo scan > /sys/kernel/debug/kmemleak", Duration::from_secs(120))?;
    let leaks = m.shell("cat /sys/kernel/debug/kmemleak", SHELL_TIMEOUT)?;
    ensure!(leaks.trim().is_empty(), "kmemleak reports:\n{leaks}");
    // The FPGA interrupt is off: no handler in dom0, and the FPGA's IRQ_CTL has ENABLE clear
    // (bit 7) as the hypervisor's monitor shows it.
    let irq_lines = Regex::new(r"sp6")?;
    let interrupts = m.shell("cat /proc/interrupts", SHELL_TIMEOUT)?;
    ensure!(!irq_lines.is_match(&interrupts), "sp6 interrupt still registered:\n{interrupts}");
    m.switch_input_to("Xen", SHELL_TIMEOUT)?;
    m.expect(r"\(XEN\) reptar> ", SHELL_TIMEOUT)?;
    m.send("leds\r")?;
    let state = m.expect(r"LEDs: o o o o o o \(LED0 first\), IRQ_CTL (0x[0-9a-f]+)", SHELL_TIMEOUT).context("monitor leds")?;
    let irq_ctl = u16::from_str_radix(state.get(1).unwrap_or("0x0").trim_start_matches("0x"), 16)?;
    ensure!(irq_ctl & 0x80 == 0, "IRQ_CTL {irq_ctl:#x}: the FPGA interrupt is still enabled after rmmod");
    Ok(())
}

#[test]
fn a_bad_access_to_the_fpga_is_a_bus_error() -> Result<()> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new("board-bus-error"))?;
    // The FPGA's registers are 16 bits: a 16-bit read works (DIP switches), a 32-bit one and
    // an offset that is no register are bus errors, logged by the hypervisor.
    let (dip, status) = m.shell_status("devmem 0x18000010 16", SHELL_TIMEOUT)?;
    ensure!(status == 0 && dip.starts_with("0x"), "16-bit read of DIP_SW: status {status}, {dip:?}");
    for (access, why) in [("0x18000010 32", "width"), ("0x18000020 16", "no register")] {
        let mark = m.mark();
        let (output, status) = m.shell_status(&format!("devmem {access}"), SHELL_TIMEOUT)?;
        ensure!(status != 0 && output.contains("Bus error"), "devmem {access} ({why}): status {status}, {output:?}");
        m.expect_since(mark, r"^\(XEN\) dom0v\d: read of Sp6 at 0x180000[12]0 .*refused.*bus error injected", SHELL_TIMEOUT)
            .with_context(|| format!("no log of the bad access ({why})"))?;
    }
    let alive = m.shell("echo alive", SHELL_TIMEOUT)?;
    ensure!(alive == "alive", "dom0 after the bus errors: {alive:?}");
    Ok(())
}

#[test]
fn dom0_drives_a_passed_through_virtio_device() -> Result<()> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new("board-virtio-rng"))?;
    // QEMU's virtio-rng is dom0's: its registers through the hypervisor, its DMA into dom0's
    // 1:1 RAM, its interrupt forwarded.
    let bytes = m.shell("head -c 256 /dev/hwrng | wc -c", SHELL_TIMEOUT)?;
    ensure!(bytes == "256", "read {bytes:?} bytes of /dev/hwrng");
    let line = m.shell("grep virtio /proc/interrupts", SHELL_TIMEOUT)?;
    let count: u64 = line.split_whitespace().skip(1).take(2).filter_map(|w| w.parse::<u64>().ok()).sum();
    ensure!(count > 0, "no virtio interrupt taken: {line:?}");
    Ok(())
}
