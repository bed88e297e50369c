//! The monitor's commands and their parser.

use core::fmt;
use core::str::SplitAsciiWhitespace;

use sp6_fpga::Button;

use crate::text::parse_number;
use crate::{parse_domain, DomId};

/// Bytes `hexdump` shows when no length is given.
pub const HEXDUMP_DEFAULT_LENGTH: u32 = 64;

/// The most bytes one `hexdump` shows.
pub const HEXDUMP_MAX_LENGTH: u32 = 4096;

/// What `help` shows: every command with its usage, as [`CommandName::usage`] spells it.
pub const HELP: &str = "\
Monitor commands (<dom>: 0, 1, dom0, domU, domU2...; numbers: decimal, or hex with 0x):
  help                              this list
  ver                               the hypervisor's version
  doms                              list the domains
  regs [dom] [vcpu]                 vCPU registers (default: dom0, every vCPU)
  hexdump <dom> <address> [length]  dump guest physical memory (length 1-4096, default 64)
  v2p <dom> <address>               host physical address of a guest physical address
  leds                              the board's LEDs
  press <button>                    press and release a board button: esc, backspace,
                                    enter, space, up, left, right, down, or 0-7
  destroy <dom>                     destroy a domain
  restart <dom>                     restart a domain
  focus [dom]                       serial input to a domain (default: dom0)
  screen [dom]                      which domain has the board's screen and buttons
                                    (/reptar/focus); with <dom>, give them to it
Type CTRL-a three times to switch serial input between the domains and the monitor.
";

/// A parsed monitor command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `help` (or `?`): show [`HELP`].
    Help,
    /// `ver`: the hypervisor's version.
    Version,
    /// `doms`: list the domains.
    Domains,
    /// `regs [dom] [vcpu]`: a domain's vCPU registers.
    Registers {
        /// The domain (dom0 if not given).
        domain: DomId,
        /// The vCPU; `None` for every vCPU of the domain.
        vcpu: Option<u32>,
    },
    /// `hexdump <dom> <address> [length]`: dump a domain's memory.
    Hexdump {
        /// The domain.
        domain: DomId,
        /// The first guest physical address (IPA) to show.
        guest_physical: u64,
        /// Bytes to show, 1 to [`HEXDUMP_MAX_LENGTH`] ([`HEXDUMP_DEFAULT_LENGTH`] if not
        /// given); the range does not wrap past the top of the address space.
        length: u32,
    },
    /// `v2p <dom> <address>`: the host physical address of a domain's guest physical
    /// address (its stage-2 translation).
    TranslateAddress {
        /// The domain.
        domain: DomId,
        /// The guest physical address (IPA) to translate.
        guest_physical: u64,
    },
    /// `leds`: the board's LEDs.
    Leds,
    /// `press <button>`: press and release a button of the board.
    Press(Button),
    /// `destroy <dom>`: destroy a domain.
    Destroy(DomId),
    /// `restart <dom>`: restart a domain.
    Restart(DomId),
    /// `focus [dom]`: give the serial input to a domain (dom0 if not given).
    Focus(DomId),
    /// `screen [dom]`: show which domain owns the board's screen and buttons (the store's
    /// `/reptar/focus`), or, with a domain, give them to it. Not the serial input: that is
    /// [`Command::Focus`].
    Screen(Option<DomId>),
}

/// The monitor's commands, by the word that starts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandName {
    /// `help`.
    Help,
    /// `ver`.
    Ver,
    /// `doms`.
    Doms,
    /// `regs`.
    Regs,
    /// `hexdump`.
    Hexdump,
    /// `v2p`.
    V2p,
    /// `leds`.
    Leds,
    /// `press`.
    Press,
    /// `destroy`.
    Destroy,
    /// `restart`.
    Restart,
    /// `focus`.
    Focus,
    /// `screen`.
    Screen,
}

impl CommandName {
    /// Every command, in [`HELP`]'s order.
    pub const ALL: [CommandName; 12] = [
        CommandName::Help,
        CommandName::Ver,
        CommandName::Doms,
        CommandName::Regs,
        CommandName::Hexdump,
        CommandName::V2p,
        CommandName::Leds,
        CommandName::Press,
        CommandName::Destroy,
        CommandName::Restart,
        CommandName::Focus,
        CommandName::Screen,
    ];

    /// The word that starts the command.
    pub const fn word(self) -> &'static str {
        match self {
            CommandName::Help => "help",
            CommandName::Ver => "ver",
            CommandName::Doms => "doms",
            CommandName::Regs => "regs",
            CommandName::Hexdump => "hexdump",
            CommandName::V2p => "v2p",
            CommandName::Leds => "leds",
            CommandName::Press => "press",
            CommandName::Destroy => "destroy",
            CommandName::Restart => "restart",
            CommandName::Focus => "focus",
            CommandName::Screen => "screen",
        }
    }

    /// The command's usage, as [`HELP`] shows it.
    pub const fn usage(self) -> &'static str {
        match self {
            CommandName::Regs => "regs [dom] [vcpu]",
            CommandName::Hexdump => "hexdump <dom> <address> [length]",
            CommandName::V2p => "v2p <dom> <address>",
            CommandName::Press => "press <button>",
            CommandName::Destroy => "destroy <dom>",
            CommandName::Restart => "restart <dom>",
            CommandName::Focus => "focus [dom]",
            CommandName::Screen => "screen [dom]",
            other => other.word(),
        }
    }

    /// The command `word` starts, in any case; `?` is `help`.
    pub fn from_word(word: &str) -> Option<CommandName> {
        if word == "?" {
            return Some(CommandName::Help);
        }
        CommandName::ALL
            .into_iter()
            .find(|name| name.word().eq_ignore_ascii_case(word))
    }
}

impl fmt::Display for CommandName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// A line that is no command. Its `Display` says what is wrong and how to use the command,
/// on one line; the user's words in it are escaped (`escape_debug`), so that control bytes
/// typed by the user do not reach the terminal raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandError<'a> {
    /// The first word is no command.
    Unknown(&'a str),
    /// A required argument is missing.
    MissingArgument {
        /// The command.
        command: CommandName,
        /// The missing argument, as the usage names it (`<address>`).
        argument: &'static str,
    },
    /// More arguments than the command takes.
    UnexpectedArgument {
        /// The command.
        command: CommandName,
        /// The first argument too many.
        argument: &'a str,
    },
    /// An argument that should be a number (decimal, or hex with `0x`) is not one, or is
    /// too large.
    BadNumber {
        /// The command.
        command: CommandName,
        /// The argument.
        argument: &'a str,
    },
    /// An argument that should name a domain does not (see [`crate::parse_domain`]).
    BadDomain {
        /// The command.
        command: CommandName,
        /// The argument.
        argument: &'a str,
    },
    /// `press` names no button.
    BadButton(&'a str),
    /// A `hexdump` length of 0 or past [`HEXDUMP_MAX_LENGTH`].
    HexdumpLength(u64),
    /// A `hexdump` range that wraps past the top of the address space.
    HexdumpWraps {
        /// The first address.
        guest_physical: u64,
        /// The length.
        length: u32,
    },
}

impl CommandError<'_> {
    /// The command the error is about (none for an unknown command).
    pub const fn command(&self) -> Option<CommandName> {
        match *self {
            CommandError::Unknown(_) => None,
            CommandError::MissingArgument { command, .. }
            | CommandError::UnexpectedArgument { command, .. }
            | CommandError::BadNumber { command, .. }
            | CommandError::BadDomain { command, .. } => Some(command),
            CommandError::BadButton(_) => Some(CommandName::Press),
            CommandError::HexdumpLength(_) | CommandError::HexdumpWraps { .. } => {
                Some(CommandName::Hexdump)
            }
        }
    }
}

impl fmt::Display for CommandError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CommandError::Unknown(word) => {
                return write!(f, "unknown command '{}' (type 'help' for the list)", word.escape_debug())
            }
            CommandError::MissingArgument { command, argument } => write!(f, "{command}: missing {argument}")?,
            CommandError::UnexpectedArgument { command, argument } => {
                write!(f, "{command}: unexpected '{}'", argument.escape_debug())?
            }
            CommandError::BadNumber { command, argument } => write!(
                f,
                "{command}: '{}' is not a number (decimal, or hex with 0x)",
                argument.escape_debug()
            )?,
            CommandError::BadDomain { command, argument } => write!(
                f,
                "{command}: '{}' is not a domain (0, 1, dom0, domU, domU2...)",
                argument.escape_debug()
            )?,
            CommandError::BadButton(argument) => write!(
                f,
                "press: '{}' is not a button (esc, backspace, enter, space, up, left, right, down, or 0-7)",
                argument.escape_debug()
            )?,
            CommandError::HexdumpLength(length) => {
                write!(f, "hexdump: length {length} is not 1 to {HEXDUMP_MAX_LENGTH}")?
            }
            CommandError::HexdumpWraps { guest_physical, length } => write!(
                f,
                "hexdump: {length} bytes from {guest_physical:#x} wrap past the top of the address space"
            )?,
        }
        if let Some(command) = self.command() {
            write!(f, "; usage: {}", command.usage())?;
        }
        Ok(())
    }
}

/// Parses a monitor line: words separated by blanks, the first one a command (in any case).
/// `Ok(None)` for a blank line. Never panics, whatever the line.
pub fn parse_command(line: &str) -> Result<Option<Command>, CommandError<'_>> {
    let mut words = line.split_ascii_whitespace();
    let Some(word) = words.next() else {
        return Ok(None);
    };
    let command = CommandName::from_word(word).ok_or(CommandError::Unknown(word))?;
    let mut arguments = Arguments { command, words };
    let parsed = match command {
        CommandName::Help => Command::Help,
        CommandName::Ver => Command::Version,
        CommandName::Doms => Command::Domains,
        CommandName::Regs => {
            let domain = arguments.optional_domain()?.unwrap_or(0);
            let vcpu = match arguments.optional_number()? {
                Some((text, number)) => {
                    Some(u32::try_from(number).map_err(|_| arguments.bad_number(text))?)
                }
                None => None,
            };
            Command::Registers { domain, vcpu }
        }
        CommandName::Hexdump => {
            let domain = arguments.domain()?;
            let guest_physical = arguments.number("<address>")?;
            let length = match arguments.optional_number()? {
                Some((_, length)) => length,
                None => u64::from(HEXDUMP_DEFAULT_LENGTH),
            };
            let length = match u32::try_from(length) {
                Ok(length @ 1..=HEXDUMP_MAX_LENGTH) => length,
                _ => return Err(CommandError::HexdumpLength(length)),
            };
            if guest_physical.checked_add(u64::from(length) - 1).is_none() {
                return Err(CommandError::HexdumpWraps {
                    guest_physical,
                    length,
                });
            }
            Command::Hexdump {
                domain,
                guest_physical,
                length,
            }
        }
        CommandName::V2p => {
            let domain = arguments.domain()?;
            let guest_physical = arguments.number("<address>")?;
            Command::TranslateAddress {
                domain,
                guest_physical,
            }
        }
        CommandName::Leds => Command::Leds,
        CommandName::Press => {
            let name = arguments.required("<button>")?;
            Command::Press(Button::from_name(name).ok_or(CommandError::BadButton(name))?)
        }
        CommandName::Destroy => Command::Destroy(arguments.domain()?),
        CommandName::Restart => Command::Restart(arguments.domain()?),
        CommandName::Focus => Command::Focus(arguments.optional_domain()?.unwrap_or(0)),
        CommandName::Screen => Command::Screen(arguments.optional_domain()?),
    };
    arguments.finish()?;
    Ok(Some(parsed))
}

/// The arguments of a command, taken in order.
struct Arguments<'a> {
    command: CommandName,
    words: SplitAsciiWhitespace<'a>,
}

impl<'a> Arguments<'a> {
    fn required(&mut self, argument: &'static str) -> Result<&'a str, CommandError<'a>> {
        self.words.next().ok_or(CommandError::MissingArgument {
            command: self.command,
            argument,
        })
    }

    fn bad_number(&self, argument: &'a str) -> CommandError<'a> {
        CommandError::BadNumber {
            command: self.command,
            argument,
        }
    }

    fn parse_domain(&self, argument: &'a str) -> Result<DomId, CommandError<'a>> {
        parse_domain(argument).ok_or(CommandError::BadDomain {
            command: self.command,
            argument,
        })
    }

    fn domain(&mut self) -> Result<DomId, CommandError<'a>> {
        let argument = self.required("<dom>")?;
        self.parse_domain(argument)
    }

    fn optional_domain(&mut self) -> Result<Option<DomId>, CommandError<'a>> {
        self.words
            .next()
            .map(|argument| self.parse_domain(argument))
            .transpose()
    }

    fn number(&mut self, argument: &'static str) -> Result<u64, CommandError<'a>> {
        let text = self.required(argument)?;
        parse_number(text).ok_or(self.bad_number(text))
    }

    /// The next argument as a number, with its text, if there is one.
    fn optional_number(&mut self) -> Result<Option<(&'a str, u64)>, CommandError<'a>> {
        self.words
            .next()
            .map(|text| {
                parse_number(text)
                    .map(|number| (text, number))
                    .ok_or(self.bad_number(text))
            })
            .transpose()
    }

    fn finish(mut self) -> Result<(), CommandError<'a>> {
        match self.words.next() {
            Some(argument) => Err(CommandError::UnexpectedArgument {
                command: self.command,
                argument,
            }),
            None => Ok(()),
        }
    }
}
