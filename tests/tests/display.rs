//! The board's display: the hypervisor points QEMU's ramfb (800x480, XRGB8888) at a framebuffer
//! in host RAM and gives it to dom0 as a simple-framebuffer. dom0 gets /dev/fb0 (simplefb) and
//! what it draws there is what the QEMU window shows (checked with QMP screendump, pixel by
//! pixel, and against the framebuffer memory itself); domU gets no framebuffer. The board's
//! display controller switches the scanout between dom0's framebuffer and the guest screen, and
//! refuses any other address.


use anyhow::{ensure, Context, Result};
use reptar_tests::console::Mark;
use reptar_tests::{LaunchOptions, Machine, SHELL_TIMEOUT};
use serde_json::json;

const WIDTH: usize = 800;
const HEIGHT: usize = 480;
const STRIDE: usize = WIDTH * 4;

/// Bands of solid colour dom0 draws: (first line, lines, red, green, blue).
const BANDS: [(usize, usize, u8, u8, u8); 4] = [
    (100, 50, 0xff, 0x00, 0x00),
    (150, 50, 0x00, 0xff, 0x00),
    (200, 50, 0x00, 0x00, 0xff),
    (250, 50, 0x12, 0x34, 0x56),
];
/// Lines of random pixels dom0 draws, below the bands.
const NOISE: (usize, usize) = (300, 100);

/// A shell command that writes `lines` lines of the pixel (r, g, b) to /dev/fb0 from line
/// `first`: one XRGB8888 pixel (bytes B, G, R, X) doubled to 256 KiB, then dd.
fn draw_band(first: usize, lines: usize, r: u8, g: u8, b: u8) -> String {
    assert!(lines * STRIDE <= 4 << 16);
    format!(
        r"printf '\{b:03o}\{g:03o}\{r:03o}\000' > /tmp/px; i=0; while [ $i -lt 16 ]; do cat /tmp/px /tmp/px > /tmp/px2; mv /tmp/px2 /tmp/px; i=$((i+1)); done; dd if=/tmp/px of=/dev/fb0 bs={STRIDE} seek={first} count={lines} conv=notrunc 2>/dev/null"
    )
}

/// The framebuffer's address from the hypervisor's `display:` line.
fn framebuffer_address(m: &mut Machine) -> Result<u64> {
    let line = m
        .expect_since(
            Mark::START,
            r"^\(XEN\) display: ramfb 800x480 XRGB8888 at 0x([0-9a-f]+) ",
            SHELL_TIMEOUT,
        )
        .context("the hypervisor's display line")?;
    Ok(u64::from_str_radix(line.get(1).context("address group")?, 16)?)
}

#[test]
fn dom0_draws_on_the_board_display_and_domu_has_none() -> Result<()> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new("display"))?;
    let fb = framebuffer_address(&mut m)?;

    // dom0's /dev/fb0 is simplefb on that memory, 800x480 at 32 bits per pixel.
    ensure!(
        m.shell("cat /sys/class/graphics/fb0/name", SHELL_TIMEOUT)? == "simple",
        "fb0 is not simplefb"
    );
    let geometry = m.shell(
        "cat /sys/class/graphics/fb0/virtual_size /sys/class/graphics/fb0/bits_per_pixel /sys/class/graphics/fb0/stride",
        SHELL_TIMEOUT,
    )?;
    ensure!(
        geometry.lines().collect::<Vec<_>>() == ["800,480", "32", "3200"],
        "fb0 geometry: {geometry:?}"
    );
    ensure!(m.shell("[ -c /dev/fb0 ] && echo yes", SHELL_TIMEOUT)? == "yes", "no /dev/fb0");
    let probed = m.shell("dmesg | grep -F 'simple-framebuffer'", SHELL_TIMEOUT)?;
    ensure!(
        probed.contains(&format!("framebuffer at {fb:#x}, 0x177000 bytes")),
        "simplefb's probe line names another framebuffer: {probed:?}"
    );
    // The kernel does not take it for RAM.
    let iomem = m.shell("grep 'System RAM' /proc/iomem", SHELL_TIMEOUT)?;
    for line in iomem.lines() {
        let range = line.split_whitespace().next().unwrap_or_default();
        let (start, end) =
            range.split_once('-').with_context(|| format!("/proc/iomem line {line:?}"))?;
        let (start, end) = (u64::from_str_radix(start, 16)?, u64::from_str_radix(end, 16)?);
        ensure!(
            end < fb || start >= fb + (STRIDE * HEIGHT) as u64,
            "the framebuffer is in System RAM: {line}"
        );
    }

    // dom0 draws: bands of known colours, then noise.
    for (first, lines, r, g, b) in BANDS {
        m.shell(&draw_band(first, lines, r, g, b), SHELL_TIMEOUT)?;
    }
    m.shell(
        &format!(
            "dd if=/dev/urandom of=/dev/fb0 bs={STRIDE} seek={} count={} conv=notrunc 2>/dev/null",
            NOISE.0, NOISE.1
        ),
        SHELL_TIMEOUT,
    )?;

    // The screen, and the framebuffer memory as QEMU reads it.
    let picture = m.screen_dump("screen")?;
    let dumps = m.log_path().with_extension("");
    let (screen, memory) = (dumps.join("screen.ppm"), dumps.join("framebuffer.raw"));
    m.qmp()?.execute(
        "pmemsave",
        json!({ "val": fb, "size": STRIDE * HEIGHT, "filename": memory.to_str().context("path")? }),
    )?;
    ensure!(
        (picture.width, picture.height) == (WIDTH, HEIGHT),
        "the screen is {}x{}",
        picture.width,
        picture.height
    );
    for (first, lines, r, g, b) in BANDS {
        for y in first..first + lines {
            for x in 0..WIDTH {
                let seen = picture.pixel(x, y);
                ensure!(
                    seen == [r, g, b],
                    "pixel ({x}, {y}) is {seen:02x?}, dom0 drew {:02x?} (see {})",
                    [r, g, b],
                    screen.display()
                );
            }
        }
    }
    // The noise shows as written: the screen is the memory, read as XRGB8888 (B, G, R, X).
    let memory = std::fs::read(&memory)?;
    ensure!(memory.len() == STRIDE * HEIGHT, "pmemsave gave {} bytes", memory.len());
    let mut colours = std::collections::HashSet::new();
    for y in NOISE.0..NOISE.0 + NOISE.1 {
        for x in 0..WIDTH {
            let i = y * STRIDE + x * 4;
            let expected = [memory[i + 2], memory[i + 1], memory[i]];
            let seen = picture.pixel(x, y);
            ensure!(
                seen == expected,
                "pixel ({x}, {y}) is {seen:02x?}, the framebuffer holds {expected:02x?}"
            );
            colours.insert(seen);
        }
    }
    ensure!(
        colours.len() > 10_000,
        "the noise has only {} colours: dom0's random bytes did not land",
        colours.len()
    );

    // domU has no framebuffer of the board: none in its device tree, no simplefb (a screen of
    // its own would come from its vfb frontend).
    m.switch_to_shell("DOM1", "domU", SHELL_TIMEOUT)?;
    let chosen = m.shell("ls /proc/device-tree/chosen", SHELL_TIMEOUT)?;
    ensure!(!chosen.contains("framebuffer"), "domU's /chosen: {chosen:?}");
    let (fbs, _) = m.shell_status("cat /sys/class/graphics/fb*/name", SHELL_TIMEOUT)?;
    ensure!(!fbs.lines().any(|name| name == "simple"), "domU has a simplefb: {fbs:?}");
    Ok(())
}

/// A board whose device tree has no fw_cfg (disabled here in QEMU's own tree, given back with
/// --dtb): the hypervisor says there is no display, reserves nothing, and dom0 boots without a
/// framebuffer.
#[test]
fn without_fw_cfg_the_board_has_no_display() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let dtb = dir.path().join("no-fw-cfg.dtb");
    let dumped = std::process::Command::new(reptar_tests::artifacts::launcher())
        .arg("--dumpdtb")
        .arg(&dtb)
        .output()
        .context("scripts/launch --dumpdtb")?;
    ensure!(dtb.exists(), "no device tree dumped: {}", String::from_utf8_lossy(&dumped.stderr));
    let edit = std::process::Command::new("fdtput")
        .args(["-t", "s"])
        .arg(&dtb)
        .args(["/fw-cfg@9020000", "status", "disabled"])
        .status()
        .context("fdtput (device-tree-compiler) is needed")?;
    ensure!(edit.success(), "fdtput failed");

    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new("display-none").dtb(&dtb))?;
    m.expect_since(
        Mark::START,
        r"^\(XEN\) display: none \(the device tree has no qemu,fw-cfg-mmio node\)",
        SHELL_TIMEOUT,
    )?;
    let log = std::fs::read_to_string(m.log_path())?;
    ensure!(!log.contains("(XEN)   framebuffer") && !log.contains("(XEN)   guest screen"), "RAM was reserved for the display");
    let (fbs, _) =
        m.shell_status("ls /sys/class/graphics; ls /proc/device-tree/chosen", SHELL_TIMEOUT)?;
    ensure!(
        !fbs.contains("fb0") && !fbs.contains("framebuffer"),
        "dom0 has a framebuffer: {fbs:?}"
    );
    let (nodes, _) = m.shell_status("ls -d /proc/device-tree/display-controller* 2>&1", SHELL_TIMEOUT)?;
    ensure!(nodes.contains("No such file"), "dom0 has a display controller: {nodes:?}");
    Ok(())
}

/// The display controller's registers, as dom0's shell reaches them with devmem.
const CONTROLLER: u64 = 0x1810_0000;

/// A display controller register, read by dom0.
fn register(m: &mut Machine, offset: u64) -> Result<u64> {
    let value = m.shell(&format!("devmem {:#x} 32", CONTROLLER + offset), SHELL_TIMEOUT)?;
    u64::from_str_radix(value.trim_start_matches("0x"), 16).with_context(|| format!("devmem: {value:?}"))
}

/// Writes the scanout base (high word, then the low one that applies it).
fn set_scanout(m: &mut Machine, base: u64) -> Result<()> {
    m.shell(&format!("devmem {:#x} 32 {:#x} && devmem {:#x} 32 {:#x}", CONTROLLER + 0x14, base >> 32, CONTROLLER + 0x10, base & 0xffff_ffff), SHELL_TIMEOUT)?;
    Ok(())
}

#[test]
fn the_display_controller_shows_only_the_displays_two_pictures() -> Result<()> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new("display-controller"))?;
    let fb = framebuffer_address(&mut m)?;
    // The node: registers, then the guest screen (two cells of address, two of size, each).
    let reg = m.shell("od -An -tx1 -v /proc/device-tree/display-controller@18100000/reg | tr -d ' \\n'", SHELL_TIMEOUT)?;
    ensure!(reg.len() == 64 && reg.starts_with("000000001810000000000000000010000"), "reg: {reg}");
    let guest_screen = u64::from_str_radix(&reg[32..48], 16)?;
    ensure!(guest_screen != fb && u64::from_str_radix(&reg[48..64], 16)? >= (STRIDE * HEIGHT) as u64, "reg: {reg}");
    let compatible = m.shell("cat /proc/device-tree/display-controller@18100000/compatible", SHELL_TIMEOUT)?;
    ensure!(compatible.trim_end_matches('\0') == "reptar,display-controller", "compatible: {compatible:?}");
    // Identity and geometry; the scanout base is dom0's framebuffer.
    let registers: Vec<u64> = [0x0, 0x4, 0x8, 0xc, 0x10, 0x14, 0x18].iter().map(|&o| register(&mut m, o)).collect::<Result<_>>()?;
    ensure!(registers == [0x5244_4331, 800, 480, 3200, fb & 0xffff_ffff, fb >> 32, 0], "registers: {registers:x?}");

    // dom0 draws a band; the screen shows it.
    m.shell(&draw_band(100, 50, 0xff, 0, 0), SHELL_TIMEOUT)?;
    let dom0 = m.wait_for_screen("1-dom0", "dom0's band", std::time::Duration::from_secs(10), |p| p.pixel(400, 120) == [0xff, 0, 0])?;

    // An address that is not the display's (domU's RAM, dom0's RAM, one page off): refused,
    // said, STATUS set, the picture unchanged.
    for bad in [0x9800_0000u64, 0x4000_0000, fb + 0x1000, guest_screen - 0x20_0000] {
        let mark = m.mark();
        set_scanout(&mut m, bad)?;
        m.expect_since(mark, &format!(r"^\(XEN\) display: scanout base {bad:#x} refused"), SHELL_TIMEOUT)?;
        ensure!(register(&mut m, 0x18)? == 1 && register(&mut m, 0x10)? == fb & 0xffff_ffff, "after {bad:#x}");
    }
    // (Only the band is compared: fbcon's cursor blinks on the rest of dom0's screen.)
    let band = (0, 100, 800, 50);
    ensure!(m.screen_dump("2-refused")?.area(band) == dom0.area(band), "a refused base changed the screen");
    // Another width than 32 bits is a bus error.
    let (output, status) = m.shell_status(&format!("devmem {:#x} 16", CONTROLLER + 0x10), SHELL_TIMEOUT)?;
    ensure!(status != 0 && output.contains("Bus error"), "a 16-bit read: status {status}, {output:?}");

    // The guest screen (cleared at boot: black), then dom0's picture again, as it was.
    set_scanout(&mut m, guest_screen)?;
    ensure!(register(&mut m, 0x18)? == 0 && register(&mut m, 0x10)? == guest_screen & 0xffff_ffff, "scanout on the guest screen");
    m.wait_for_screen("3-guest-screen", "the black guest screen", std::time::Duration::from_secs(10), |p| p.pixel(400, 120) == [0, 0, 0] && p.pixel(0, 0) == [0, 0, 0])?;
    set_scanout(&mut m, fb)?;
    m.wait_for_screen("4-dom0-again", "dom0's picture again", std::time::Duration::from_secs(10), |p| p.area(band) == dom0.area(band))?;
    Ok(())
}
