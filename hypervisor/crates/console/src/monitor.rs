//! The hypervisor monitor: its line editor and its command parser. Executing the commands
//! (dumping memory, pressing a button, destroying a domain) is the hypervisor's business.
//!
//! The user reaches the monitor by typing CTRL-a three times (see [`crate::mux`]). The
//! hypervisor then feeds the typed bytes ([`crate::mux::InputAction::ToMonitor`]) to a
//! [`LineEditor`], writes the echo it produces as hypervisor output
//! ([`crate::mux::Source::Xen`]), and parses each submitted line with [`parse_command`].
//! The monitor's lines are therefore the hypervisor's: the prompt shows as
//! `(XEN) reptar> ` and the output of a command as `(XEN) ` lines, so that the log says who
//! wrote what, and a log line of the hypervisor can never pass for the monitor's.
//!
//! ```
//! use hv_console::monitor::{parse_command, Command, LineEditor, PROMPT};
//!
//! let mut editor = LineEditor::new();
//! let mut echo = Vec::new();
//! echo.extend_from_slice(PROMPT.as_bytes());
//! let mut line = None;
//! for &byte in b"hexdump 0 0x4000\r" {
//!     line = editor.input(byte, &mut |bytes| echo.extend_from_slice(bytes));
//! }
//! assert_eq!(echo, b"reptar> hexdump 0 0x4000\n");
//! let line = line.unwrap();
//! assert_eq!(parse_command(line.as_str()), Ok(Some(Command::Hexdump { domain: 0, guest_physical: 0x4000, length: 64 })));
//! ```

mod command;
mod editor;

pub use command::{
    parse_command, Command, CommandError, CommandName, HELP, HEXDUMP_DEFAULT_LENGTH,
    HEXDUMP_MAX_LENGTH,
};
pub use editor::{Line, LineEditor, LINE_CAPACITY, PROMPT};
