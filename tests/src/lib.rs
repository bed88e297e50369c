//! The REPTAR system-test harness.
//!
//! Boots the hypervisor and its guests in QEMU through `scripts/launch --headless` and drives them
//! as a user would: the serial console (the guest shells, the `(XEN) ` lines of the hypervisor) and
//! QMP (keys, screen). A test reads like this:
//!
//! ```no_run
//! use reptar_tests::{LaunchOptions, Machine, BOOT_TIMEOUT, SHELL_TIMEOUT};
//!
//! # fn main() -> anyhow::Result<()> {
//! let mut m = Machine::launch(LaunchOptions::new("example"))?;
//! m.expect(r"^\(XEN\) REPTAR", BOOT_TIMEOUT)?;
//! m.wait_for_shell("dom0", BOOT_TIMEOUT)?;
//! assert_eq!(m.shell("cat /sys/devices/system/cpu/online", SHELL_TIMEOUT)?, "0-1");
//! # Ok(())
//! # }
//! ```
//!
//! Modules:
//! - [`console`]: a child process whose stdout is the console: expect with timeouts, log file,
//!   early-exit detection, kill on drop. Knows nothing of QEMU.
//! - [`shell`]: the protocol for running a command at a guest shell (marker, output cleanup).
//! - [`qmp`]: a QMP client.
//! - [`machine`]: QEMU as launched by `scripts/launch`, combining the three.
//! - [`artifacts`]: where the build outputs are, and the "run make" message when they are not.

use std::time::Duration;

pub mod artifacts;
pub mod console;
pub mod machine;
pub mod picture;
pub mod qmp;
pub mod qtrun_screen;
pub mod resources;
pub mod shell;

pub use artifacts::Artifacts;
pub use resources::Resources;

/// Targets the serial input cycles through at most (dom0, domUs, the monitor).
pub const MAX_CONSOLE_TARGETS: usize = 6;
pub use console::{ConsoleError, Mark, Match};
pub use machine::{LaunchOptions, Machine};
pub use picture::{Area, Picture};
pub use qmp::{ImageFormat, Qmp, QmpError};
pub use shell::shell_prompt;

/// From spawning QEMU to a guest shell, on a loaded 2-core CI machine under TCG.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(120);
/// One shell command (they are short: cat, dmesg | grep, devmem).
pub const SHELL_TIMEOUT: Duration = Duration::from_secs(30);
/// From a power-off request (or a fatal boot error) to QEMU's exit.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(60);
