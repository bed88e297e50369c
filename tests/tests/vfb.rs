//! vfbfront.ko in domU without a backend module: its framebuffer (/dev/fb0, 800x480x32 from
//! the keys the hypervisor writes), the keys it publishes for the backend, the shared page and
//! page directory read from dom0 through foreign mappings (`grant peek`) as a backend maps them,
//! and the UPDATE events it puts on the page once dom0's shell plays the backend's part in
//! xenstore (Connected, `request-update`).

use anyhow::{ensure, Context, Result};
use reptar_tests::{LaunchOptions, Machine, SHELL_TIMEOUT};

/// domU's frontend directory in xenstore.
const FRONTEND: &str = "/local/domain/1/device/vfb/0";
/// Its backend directory (dom0's).
const BACKEND: &str = "/local/domain/0/backend/vfb/1/0";

/// Both domains up, no vfb backend in dom0, vfbfront.ko loaded in domU and its keys published
/// (Initialised); the console on domU's shell.
fn frontend_alone(name: &str) -> Result<Machine> {
    let mut m = Machine::boot_to_dom0_shell(LaunchOptions::new(name))?;
    m.switch_to_shell("DOM1", "domU", SHELL_TIMEOUT)?;
    // insmod of a xenbus frontend waits (the bus's wait_for_devices) until its device is
    // Connected, which it is not without a backend: it waits in the background.
    m.shell("insmod /vfbfront.ko > /tmp/insmod.log 2>&1 & :", SHELL_TIMEOUT)?;
    frontend_state_is(&mut m, "Initialised")?;
    Ok(m)
}

/// Waits (in domU) until the frontend's state is `state`.
fn frontend_state_is(m: &mut Machine, state: &str) -> Result<()> {
    let mut last = String::new();
    for _ in 0..100 {
        last = m.shell("cat /sys/bus/xen/devices/vfb-0/state 2>&1", SHELL_TIMEOUT)?;
        if last == state {
            return Ok(());
        }
        m.shell("sleep 0.05", SHELL_TIMEOUT)?;
    }
    anyhow::bail!("vfb-0 is {last:?}, never {state}")
}

/// `/sys/class/graphics/fb0/<attribute>` in domU.
fn fb0(m: &mut Machine, attribute: &str) -> Result<String> {
    m.shell(&format!("cat /sys/class/graphics/fb0/{attribute}"), SHELL_TIMEOUT)
}

/// The bytes `grant peek` prints: LENGTH bytes of frame `gfn` of domU from OFFSET (in dom0).
fn peek(m: &mut Machine, gfn: u64, offset: usize, length: usize) -> Result<Vec<u8>> {
    let out = m.shell(&format!("grant peek --remote 1 --gfn {gfn} --offset {offset} --length {length}"), SHELL_TIMEOUT)?;
    let (_, hex) = out.rsplit_once(": ").with_context(|| format!("grant peek printed {out:?}"))?;
    let bytes = hex.split_whitespace().map(|b| u8::from_str_radix(b, 16)).collect::<Result<Vec<_>, _>>()?;
    ensure!(bytes.len() == length, "grant peek printed {out:?}");
    Ok(bytes)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

/// An UPDATE event: x, y, width, height.
type Update = (i32, i32, i32, i32);

/// The out events produced so far (nobody consumes them: at most a ring of 51), decoded as
/// UPDATEs, after checking their type (in dom0).
fn updates(m: &mut Machine, page_ref: u64) -> Result<Vec<Update>> {
    let indices = peek(m, page_ref, 0, 16)?;
    let (out_cons, out_prod) = (u32_at(&indices, 8), u32_at(&indices, 12));
    ensure!(out_cons == 0 && out_prod <= 51, "out_cons {out_cons}, out_prod {out_prod}");
    let mut events = Vec::new();
    for i in 0..out_prod as usize {
        let event = peek(m, page_ref, 2048 + 40 * i, 20)?;
        ensure!(event[0] == 2, "out event {i} has type {}", event[0]);
        let field = |at| u32_at(&event, at) as i32;
        events.push((field(4), field(8), field(12), field(16)));
    }
    Ok(events)
}

/// domU's `page-ref` (in dom0).
fn page_ref(m: &mut Machine) -> Result<u64> {
    m.shell(&format!("xenstore read {FRONTEND}/page-ref"), SHELL_TIMEOUT)?.parse().context("page-ref")
}

#[test]
fn domu_has_an_800x480_framebuffer_without_a_backend() -> Result<()> {
    let mut m = frontend_alone("vfb-front-fb")?;
    ensure!(m.shell("test -c /dev/fb0 && echo yes", SHELL_TIMEOUT)? == "yes", "no /dev/fb0 in domU");
    ensure!(fb0(&mut m, "name")? == "xen", "fb0 is not ours");
    ensure!(fb0(&mut m, "virtual_size")? == "800,480", "virtual_size");
    ensure!(fb0(&mut m, "stride")? == "3200", "stride");
    ensure!(fb0(&mut m, "bits_per_pixel")? == "32", "bits_per_pixel");
    // Published, waiting for a backend.
    ensure!(m.shell("cat /sys/bus/xen/devices/vfb-0/state", SHELL_TIMEOUT)? == "Initialised", "state");
    let log = m.shell("dmesg | grep vfb", SHELL_TIMEOUT)?;
    ensure!(log.contains("fb0: 800x480, 32 bits per pixel, 2048 KiB"), "vfbfront's log:\n{log}");
    // Writing and reading it back through the device works.
    m.shell("printf 'REPTAR-vfb' | dd of=/dev/fb0 bs=4096 seek=500 conv=notrunc 2>/dev/null", SHELL_TIMEOUT)?;
    let back = m.shell("dd if=/dev/fb0 bs=4096 skip=500 count=1 2>/dev/null | head -c 10", SHELL_TIMEOUT)?;
    ensure!(back == "REPTAR-vfb", "read back {back:?}");
    Ok(())
}

#[test]
fn the_keys_and_the_shared_page_describe_the_framebuffer_to_a_backend() -> Result<()> {
    let mut m = frontend_alone("vfb-front-page")?;
    // Marks in two frames outside the picture (800x480x4 = 1500 KiB), where fbcon does not draw:
    // frame 400 and the last one, 511.
    for (frame, mark) in [(400, "vfb-frame-400"), (511, "vfb-frame-511")] {
        m.shell(&format!("printf '{mark}' | dd of=/dev/fb0 bs=4096 seek={frame} conv=notrunc 2>/dev/null"), SHELL_TIMEOUT)?;
    }
    m.switch_to_shell("DOM0", "dom0", SHELL_TIMEOUT)?;
    let key = |m: &mut Machine, key: &str| m.shell(&format!("xenstore read {FRONTEND}/{key}"), SHELL_TIMEOUT);
    ensure!(key(&mut m, "state")? == "3", "the frontend is not Initialised");
    ensure!(key(&mut m, "protocol")? == "arm-abi", "protocol");
    ensure!(key(&mut m, "feature-update")? == "1", "feature-update");
    let port: u32 = key(&mut m, "event-channel")?.parse().context("event-channel")?;
    ensure!(port != 0, "event-channel 0");
    let page_ref = page_ref(&mut m)?;

    // struct xenfb_page: indices 0, geometry, pd[0] the only directory page (512 frames).
    let page = peek(&mut m, page_ref, 0, 56)?;
    ensure!(page[..16].iter().all(|&b| b == 0), "ring indices: {:02x?}", &page[..16]);
    let geometry = (u32_at(&page, 16), u32_at(&page, 20), u32_at(&page, 24), u32_at(&page, 28), page[32]);
    ensure!(geometry == (800, 480, 3200, 2 << 20, 32), "width, height, line_length, mem_length, depth: {geometry:?}");
    let directory = u64_at(&page, 40);
    ensure!(directory != 0, "pd[0] is 0");
    ensure!(u64_at(&page, 48) == 0, "pd[1] is set for a 2 MiB framebuffer");

    // The directory lists the framebuffer's frames: the marks are where it says.
    for (frame, mark) in [(400, "vfb-frame-400"), (511, "vfb-frame-511")] {
        let gfn = u64_at(&peek(&mut m, directory, frame * 8, 8)?, 0);
        let seen = peek(&mut m, gfn, 0, mark.len())?;
        ensure!(seen == mark.as_bytes(), "frame {frame} (gfn {gfn:#x}): {:?}", String::from_utf8_lossy(&seen));
    }
    Ok(())
}

#[test]
fn updates_start_when_the_backend_is_connected_and_asks_for_them() -> Result<()> {
    let mut m = frontend_alone("vfb-front-updates")?;
    // fbcon's blinking cursor would add updates of its own.
    m.shell("echo 0 > /sys/class/graphics/fbcon/cursor_blink", SHELL_TIMEOUT)?;
    m.shell("printf 'before' | dd of=/dev/fb0 bs=3200 seek=10 conv=notrunc 2>/dev/null", SHELL_TIMEOUT)?;
    m.switch_to_shell("DOM0", "dom0", SHELL_TIMEOUT)?;
    let page_ref = page_ref(&mut m)?;
    ensure!(updates(&mut m, page_ref)?.is_empty(), "updates before the backend asked for them");

    // dom0 plays the backend: it asks for updates and says it is Connected.
    m.shell(&format!("xenstore write {BACKEND}/request-update 1 && xenstore write {BACKEND}/state 4"), SHELL_TIMEOUT)?;
    m.switch_to_shell("DOM1", "domU", SHELL_TIMEOUT)?;
    frontend_state_is(&mut m, "Connected")?;
    // write(): the rows of the bytes written (row 100), whole.
    m.shell("printf 'row 100' | dd of=/dev/fb0 bs=3200 seek=100 conv=notrunc 2>/dev/null", SHELL_TIMEOUT)?;
    // Drawing through a mapping (deferred I/O): the rows of the pages written, after ~50 ms.
    // qtrun wants buttons: the virtual keyboard's (it waits for its backend in the background).
    m.shell("insmod /vkbdfront.ko > /dev/null 2>&1 & :", SHELL_TIMEOUT)?;
    m.shell("for i in $(seq 50); do grep -q 'Xen Virtual Keyboard' /proc/bus/input/devices && break; sleep 0.1; done", SHELL_TIMEOUT)?;
    m.shell("qtrun --once", SHELL_TIMEOUT)?;

    // Deferred I/O reports ~50 ms after the drawing, later on a loaded host: wait for all rows.
    m.switch_to_shell("DOM0", "dom0", SHELL_TIMEOUT)?;
    let rows_of = |events: &[Update]| (0..480).filter(|&row| events.iter().skip(2).any(|&(_, y, _, h)| (y..y + h).contains(&row))).count();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut events = updates(&mut m, page_ref)?;
    while rows_of(&events) < 480 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
        events = updates(&mut m, page_ref)?;
    }
    // First the whole picture (what was drawn before), then the row written.
    ensure!(events.get(..2) == Some(&[(0, 0, 800, 480), (0, 100, 800, 1)][..]), "updates: {events:?}");
    let mapped = &events[2..];
    ensure!(!mapped.is_empty(), "no update for qtrun's drawing: {events:?}");
    let covered = mapped.iter().all(|&(x, y, w, h)| x == 0 && w == 800 && y >= 0 && h >= 1 && y + h <= 480);
    ensure!(covered, "updates of the mapping are not whole rows inside the picture: {mapped:?}");
    // qtrun copies whole frames: its updates cover every row (in one or more batches).
    let rows = rows_of(&events);
    ensure!(rows == 480, "qtrun's frame reported on {rows} rows of 480: {mapped:?}");
    Ok(())
}
