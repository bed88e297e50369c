//! The harness's QMP client against the real QEMU (needs qemu-system-aarch64, no REPTAR
//! artifacts): QEMU is started paused, with a display and a keyboard, and nothing to run.

use anyhow::{ensure, Result};
use reptar_tests::{ImageFormat, LaunchOptions, Machine, EXIT_TIMEOUT};
use serde_json::{json, Value};

#[test]
fn qmp_drives_a_real_qemu() -> Result<()> {
    let qemu = [
        "qemu-system-aarch64",
        "-machine",
        "virt",
        "-cpu",
        "cortex-a72",
        "-nodefaults",
        "-nic",
        "none",
        "-display",
        "none",
        "-serial",
        "stdio",
        "-monitor",
        "none",
        "-device",
        "ramfb,id=screen",
        "-device",
        "virtio-keyboard-device",
        "-qmp",
        "unix:{qmp},server=on,wait=off",
        "-S",
    ];
    let mut m = Machine::launch(LaunchOptions::new("harness-qmp").command_override(qemu))?;
    let dir = tempfile::tempdir()?;
    let qmp = m.qmp()?;
    ensure!(qmp.greeting()["QMP"]["version"]["qemu"]["major"].as_u64() >= Some(7));

    ensure!(qmp.execute("query-status", Value::Null)?["status"] == json!("prelaunch"));
    qmp.execute("cont", Value::Null)?;
    qmp.wait_event("RESUME", EXIT_TIMEOUT)?;

    qmp.send_key("esc")?;
    qmp.send_key_to("screen", "ret")?;

    let screen = dir.path().join("screen");
    let format = qmp.screendump(&screen)?;
    let image = std::fs::read(&screen)?;
    let magic: &[u8] = if format == ImageFormat::Png { b"\x89PNG" } else { b"P6" };
    ensure!(image.starts_with(magic), "{format:?} screen dump starts with {:?}", &image[..8]);

    qmp.quit()?;
    m.wait_exit(EXIT_TIMEOUT)?;
    Ok(())
}
