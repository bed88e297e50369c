//! The serial console multiplexer: one terminal for the hypervisor and every domain.
//!
//! The hypervisor hands every byte meant for the terminal to [`Mux::output`], naming its
//! [`Source`], and every byte the user types to [`Mux::input`]. The multiplexer writes the
//! terminal's bytes to a sink (the board's UART) and says where typed bytes go.
//!
//! # Output
//!
//! - **One prefix per line.** Every line on the terminal starts with its source's
//!   [`Prefix`]: `(XEN) ` for the hypervisor, `[DOM-0] ` for dom0, `[DOM-U] ` for
//!   domain 1, `[DOM-U2] `, `[DOM-U3] `... for the next domUs ([`DomainName`]).
//! - **Lines never mix.** When a source writes while another source's line is open (no
//!   newline yet), that line is ended (`\r\n` is inserted) and the new source starts its
//!   own prefixed line. When the interrupted source goes on, it gets a fresh prefix and
//!   nothing else: no continuation marker (the prefix already says whose line it is, and
//!   the text stays what the guest wrote, for whoever greps the log). If its next byte is
//!   the newline that would have ended the interrupted line, that newline is dropped: the
//!   line was ended already, and an empty prefixed line would say nothing.
//! - **Line buffering.** The hypervisor's own output and the output of the domain that has
//!   the input focus go out at once, partial lines included: a shell prompt without a
//!   newline shows, and so does the echo of what the user types. The other domains' output
//!   is held until a newline (or until [`HELD_LINE_CAPACITY`] bytes, when the line is
//!   written and broken as above), so that a background domain cannot chop the lines of
//!   the one the user is talking to byte by byte. When a domain gets the focus, its held
//!   partial line (its prompt, typically) is written at once; [`Mux::flush`] writes every
//!   held line (before a reset, or after a panic).
//! - **Newlines.** `\n` ends the line with `\r\n`; the `\r\n` a guest's tty (ONLCR) or
//!   Linux's console already sends is the same newline, not two. A lone `\r` (one not
//!   followed by `\n`, as progress meters and line editors send it to rewrite their line)
//!   is written as `\r` followed by the prefix again, so that the rewritten line keeps its
//!   prefix and the prefix is not overwritten. Deciding whether a `\r` is lone needs the
//!   next byte, so a trailing `\r` waits for the source's next output.
//! - Other bytes, escape sequences included, pass through untouched: the multiplexer does
//!   not parse them, and a sequence cut by another source's line may show as garbage.
//!
//! # Input
//!
//! Typed bytes go to the focused target: a domain ([`InputAction::ToDomain`], for its
//! UART's receive FIFO or its PV console) or the hypervisor's monitor
//! ([`InputAction::ToMonitor`]). Typing CTRL-a ([`SWITCH_CHAR`]) three times in a row
//! moves the focus, as Xen's console does, in this cycle: dom0, each further domain by
//! increasing ID, the monitor, dom0 again. The switch is announced on the terminal in Xen's
//! words ([`Announcement`]):
//!
//! ```text
//! (XEN) *** Serial input to DOM1 (type 'CTRL-a' three times to switch input)
//! ```
//!
//! One or two CTRL-a followed by any other byte are not lost: they are held back (until it
//! is clear they do not switch) and then passed on before that byte, so CTRL-a still works
//! in a guest's shell (busybox and readline line editing: start of line).
//!
//! # Example
//!
//! ```
//! use hv_console::mux::{Focus, InputAction, Mux, Source};
//!
//! let mut terminal = Vec::new();
//! let mut mux = Mux::new(2);
//! let mut sink = |bytes: &[u8]| terminal.extend_from_slice(bytes);
//! mux.output(Source::Xen, b"Hello\n", &mut sink);
//! mux.output(Source::Domain(0), b"/ # ", &mut sink); // dom0 has the focus: shown at once
//! mux.output(Source::Domain(1), b"domU booting", &mut sink); // held until its newline
//! assert!(matches!(mux.input(b'l', &mut sink), InputAction::ToDomain(0, _)));
//! for _ in 0..3 {
//!     mux.input(0x01, &mut sink);
//! }
//! assert_eq!(mux.focus(), Focus::Domain(1));
//! assert_eq!(
//!     String::from_utf8(terminal).unwrap(),
//!     "(XEN) Hello\r\n\
//!      [DOM-0] / # \r\n\
//!      (XEN) *** Serial input to DOM1 (type 'CTRL-a' three times to switch input)\r\n\
//!      [DOM-U] domU booting"
//! );
//! ```

use alloc::vec::Vec;
use core::fmt;

use crate::text::StackText;
use crate::{DomId, DomainName};

/// The byte that switches the input focus when typed [`SWITCH_PRESSES`] times in a row:
/// CTRL-a, as on Xen.
pub const SWITCH_CHAR: u8 = 0x01;

/// How many [`SWITCH_CHAR`]s in a row switch the focus.
pub const SWITCH_PRESSES: usize = 3;

/// The longest partial line held for a domain without the focus; a longer line is written
/// in pieces of this size, each on its own prefixed line.
pub const HELD_LINE_CAPACITY: usize = 512;

/// Who writes to the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The hypervisor itself, its monitor included.
    Xen,
    /// A domain (its UART or its PV console).
    Domain(DomId),
}

/// The prefix of a source's lines on the terminal: `(XEN) `, or the [`DomainName`] in
/// brackets and a space (`[DOM-0] `, `[DOM-U] `, `[DOM-U2] `).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix(pub Source);

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Source::Xen => f.write_str("(XEN) "),
            Source::Domain(id) => write!(f, "[{}] ", DomainName(id)),
        }
    }
}

/// The longest prefix: `[DOM-U65535] `.
const PREFIX_CAPACITY: usize = 16;

/// Where typed bytes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Focus {
    /// A domain.
    Domain(DomId),
    /// The hypervisor's monitor.
    Monitor,
}

impl fmt::Display for Focus {
    /// As Xen's announcement names the target: `DOM0`, `DOM1`... or `Xen`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Focus::Domain(id) => write!(f, "DOM{id}"),
            Focus::Monitor => f.write_str("Xen"),
        }
    }
}

/// The line announcing a focus switch, in the words of Xen's `console_switch_input()`:
/// `*** Serial input to DOM1 (type 'CTRL-a' three times to switch input)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announcement(pub Focus);

impl fmt::Display for Announcement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "*** Serial input to {} (type 'CTRL-a' three times to switch input)",
            self.0
        )
    }
}

/// The longest announcement, with its newline.
const ANNOUNCEMENT_CAPACITY: usize = 96;

/// Typed bytes for the focused target: the byte just typed, after the one or two
/// [`SWITCH_CHAR`]s that were held back before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InputBytes {
    bytes: [u8; SWITCH_PRESSES],
    len: usize,
}

impl InputBytes {
    /// The bytes, in the order typed.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn push(&mut self, byte: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
    }
}

impl AsRef<[u8]> for InputBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

/// What to do with a typed byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputAction {
    /// Nothing yet: a [`SWITCH_CHAR`] is held back until the next byte says whether it
    /// switches the focus.
    Held,
    /// Give these bytes to the domain (its UART's receive FIFO, or its PV console).
    ToDomain(DomId, InputBytes),
    /// Give these bytes to the hypervisor's monitor.
    ToMonitor(InputBytes),
    /// The focus moved (and the switch was announced on the terminal). On
    /// [`Focus::Monitor`], the monitor shows its prompt.
    FocusChanged(Focus),
}

/// [`Mux::set_focus`] named a domain the multiplexer does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownDomain(pub DomId);

impl fmt::Display for UnknownDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no domain {}", self.0)
    }
}

/// Where a source's line stands, beyond the terminal's open line.
#[derive(Debug, Clone, Copy, Default)]
struct LineState {
    /// A `\r` came last: lone, or the first half of `\r\n`.
    pending_cr: bool,
    /// Another source ended this source's line; a newline coming next is dropped.
    broken: bool,
}

/// A domain as the multiplexer knows it.
#[derive(Debug)]
struct DomainConsole {
    id: DomId,
    line: LineState,
    /// Output held while the domain does not have the focus (at most
    /// [`HELD_LINE_CAPACITY`] bytes, allocated once).
    held: Vec<u8>,
}

impl DomainConsole {
    fn new(id: DomId) -> Self {
        DomainConsole {
            id,
            line: LineState::default(),
            held: Vec::with_capacity(HELD_LINE_CAPACITY),
        }
    }
}

/// The terminal's state: who has the focus, whose line is open, what is held.
#[derive(Debug)]
pub struct Mux {
    /// Known domains, by increasing ID.
    domains: Vec<DomainConsole>,
    xen: LineState,
    /// Line state of domains the multiplexer does not know (their output goes out at once).
    stray: LineState,
    /// The source whose line is open on the terminal (the cursor is not at a line start).
    open_line: Option<Source>,
    focus: Focus,
    /// [`SWITCH_CHAR`]s typed in a row, held back.
    switch_presses: usize,
}

impl Mux {
    /// A multiplexer for domains `0..nr_domains`, with the focus on dom0 (on the monitor if
    /// there is no domain). Nothing is announced: call [`Mux::announce`] when the domains
    /// start, as Xen does at the end of its boot.
    pub fn new(nr_domains: usize) -> Mux {
        let nr_domains = nr_domains.min(usize::from(DomId::MAX) + 1);
        let domains: Vec<DomainConsole> = (0..nr_domains)
            .map(|id| DomainConsole::new(id as DomId))
            .collect();
        let focus = if domains.is_empty() {
            Focus::Monitor
        } else {
            Focus::Domain(0)
        };
        Mux {
            domains,
            xen: LineState::default(),
            stray: LineState::default(),
            open_line: None,
            focus,
            switch_presses: 0,
        }
    }

    /// Who has the input focus.
    pub fn focus(&self) -> Focus {
        self.focus
    }

    /// The domains the multiplexer knows, by increasing ID.
    pub fn domains(&self) -> impl Iterator<Item = DomId> + '_ {
        self.domains.iter().map(|d| d.id)
    }

    /// Writes `bytes` from `source` to the terminal through `sink`, or holds them (a
    /// domain without the focus, until its newline), as the module's documentation says.
    ///
    /// Output from a domain the multiplexer does not know (see [`Mux::set_domains`]) is
    /// not lost: it goes out at once, like the focused domain's.
    pub fn output(&mut self, source: Source, bytes: &[u8], sink: &mut dyn FnMut(&[u8])) {
        if let Source::Domain(id) = source {
            if self.focus != Focus::Domain(id) {
                if let Ok(index) = self.index_of(id) {
                    self.hold(index, bytes, sink);
                    return;
                }
            }
        }
        self.emit(source, bytes, sink);
    }

    /// A byte typed by the user: where it goes, or the focus switch it completes.
    pub fn input(&mut self, byte: u8, sink: &mut dyn FnMut(&[u8])) -> InputAction {
        if byte == SWITCH_CHAR {
            self.switch_presses += 1;
            if self.switch_presses < SWITCH_PRESSES {
                return InputAction::Held;
            }
            let next = self.next_focus();
            self.change_focus(next, sink);
            return InputAction::FocusChanged(next);
        }
        let mut bytes = InputBytes::default();
        for _ in 0..core::mem::take(&mut self.switch_presses) {
            bytes.push(SWITCH_CHAR);
        }
        bytes.push(byte);
        match self.focus {
            Focus::Domain(id) => InputAction::ToDomain(id, bytes),
            Focus::Monitor => InputAction::ToMonitor(bytes),
        }
    }

    /// Moves the focus to `focus` (the monitor's `focus` command) and announces it. Held
    /// CTRL-a presses are forgotten.
    pub fn set_focus(
        &mut self,
        focus: Focus,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<(), UnknownDomain> {
        if let Focus::Domain(id) = focus {
            self.index_of(id).map_err(|_| UnknownDomain(id))?;
        }
        self.change_focus(focus, sink);
        Ok(())
    }

    /// Announces who has the focus, on a line of its own.
    pub fn announce(&mut self, sink: &mut dyn FnMut(&[u8])) {
        let text = StackText::<ANNOUNCEMENT_CAPACITY>::format(format_args!(
            "{}\n",
            Announcement(self.focus)
        ));
        self.end_open_line(sink);
        self.emit(Source::Xen, text.as_bytes(), sink);
    }

    /// The domains are now `domains` (in any order; duplicates are ignored). A domain that
    /// goes away has its held output written and its line ended; if it had the focus, the
    /// focus moves to the monitor, announced, and the new focus is returned.
    pub fn set_domains(&mut self, domains: &[DomId], sink: &mut dyn FnMut(&[u8])) -> Option<Focus> {
        let mut index = 0;
        while let Some(domain) = self.domains.get(index) {
            let id = domain.id;
            if domains.contains(&id) {
                index += 1;
                continue;
            }
            self.release_held(index, sink);
            self.break_line_of(Source::Domain(id), sink);
            self.domains.remove(index);
        }
        for &id in domains {
            if let Err(position) = self.index_of(id) {
                self.domains.insert(position, DomainConsole::new(id));
            }
        }
        match self.focus {
            Focus::Domain(id) if self.index_of(id).is_err() => {
                self.change_focus(Focus::Monitor, sink);
                Some(Focus::Monitor)
            }
            _ => None,
        }
    }

    /// Writes every domain's held partial line (their lines stay open).
    pub fn flush(&mut self, sink: &mut dyn FnMut(&[u8])) {
        for index in 0..self.domains.len() {
            self.release_held(index, sink);
        }
    }

    fn index_of(&self, id: DomId) -> Result<usize, usize> {
        self.domains.binary_search_by_key(&id, |d| d.id)
    }

    fn line_state(&mut self, source: Source) -> &mut LineState {
        match source {
            Source::Xen => &mut self.xen,
            Source::Domain(id) => match self.index_of(id) {
                Ok(index) => &mut self.domains[index].line,
                Err(_) => &mut self.stray,
            },
        }
    }

    /// The focus after the current one in the cycle: each domain by increasing ID, then the
    /// monitor, then the first domain.
    fn next_focus(&self) -> Focus {
        let next_domain = match self.focus {
            Focus::Monitor => self.domains.first(),
            Focus::Domain(id) => self.domains.iter().find(|d| d.id > id),
        };
        next_domain.map_or(Focus::Monitor, |d| Focus::Domain(d.id))
    }

    fn change_focus(&mut self, focus: Focus, sink: &mut dyn FnMut(&[u8])) {
        self.switch_presses = 0;
        self.focus = focus;
        self.announce(sink);
        if let Focus::Domain(id) = focus {
            if let Ok(index) = self.index_of(id) {
                self.release_held(index, sink);
            }
        }
    }

    /// Holds the output of the domain at `index`, writing each complete line.
    fn hold(&mut self, index: usize, bytes: &[u8], sink: &mut dyn FnMut(&[u8])) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let held = &mut self.domains[index].held;
            let room = HELD_LINE_CAPACITY.saturating_sub(held.len());
            match rest.iter().position(|&b| b == b'\n') {
                Some(newline) if newline < room => {
                    held.extend_from_slice(&rest[..=newline]);
                    rest = &rest[newline + 1..];
                    self.release_held(index, sink);
                }
                _ => {
                    let taken = room.min(rest.len());
                    held.extend_from_slice(&rest[..taken]);
                    rest = &rest[taken..];
                    if held.len() >= HELD_LINE_CAPACITY {
                        let id = self.domains[index].id;
                        self.release_held(index, sink);
                        self.break_line_of(Source::Domain(id), sink);
                    }
                }
            }
        }
    }

    /// Writes what the domain at `index` holds.
    fn release_held(&mut self, index: usize, sink: &mut dyn FnMut(&[u8])) {
        let domain = &mut self.domains[index];
        if domain.held.is_empty() {
            return;
        }
        let id = domain.id;
        let mut held = core::mem::take(&mut domain.held);
        self.emit(Source::Domain(id), &held, sink);
        held.clear();
        self.domains[index].held = held;
    }

    /// Writes `bytes` from `source` now: prefixes, line breaks, newline conversion.
    fn emit(&mut self, source: Source, bytes: &[u8], sink: &mut dyn FnMut(&[u8])) {
        let mut rest = bytes;
        while let Some((&byte, tail)) = rest.split_first() {
            match byte {
                b'\n' => {
                    rest = tail;
                    let line = self.line_state(source);
                    line.pending_cr = false;
                    if core::mem::take(&mut line.broken) {
                        continue;
                    }
                    self.start_line(source, sink);
                    sink(b"\r\n");
                    self.open_line = None;
                }
                b'\r' => {
                    rest = tail;
                    self.line_state(source).pending_cr = true;
                }
                _ => {
                    let run_len = rest
                        .iter()
                        .position(|&b| b == b'\n' || b == b'\r')
                        .unwrap_or(rest.len());
                    let (run, tail) = rest.split_at(run_len);
                    rest = tail;
                    let line = self.line_state(source);
                    line.broken = false;
                    let lone_cr = core::mem::take(&mut line.pending_cr);
                    if lone_cr && self.open_line == Some(source) {
                        // Back to the line start, and past the prefix again.
                        sink(b"\r");
                        write_prefix(source, sink);
                    }
                    self.start_line(source, sink);
                    sink(run);
                }
            }
        }
    }

    /// Makes `source`'s line the open one, ending another source's line first.
    fn start_line(&mut self, source: Source, sink: &mut dyn FnMut(&[u8])) {
        if self.open_line == Some(source) {
            return;
        }
        self.end_open_line(sink);
        write_prefix(source, sink);
        self.open_line = Some(source);
    }

    /// Ends the open line, whoever's it is, as broken.
    fn end_open_line(&mut self, sink: &mut dyn FnMut(&[u8])) {
        if let Some(owner) = self.open_line.take() {
            sink(b"\r\n");
            let line = self.line_state(owner);
            line.broken = true;
            line.pending_cr = false;
        }
    }

    /// Ends `source`'s line, as broken, if it is the open one.
    fn break_line_of(&mut self, source: Source, sink: &mut dyn FnMut(&[u8])) {
        if self.open_line == Some(source) {
            self.end_open_line(sink);
        }
    }
}

fn write_prefix(source: Source, sink: &mut dyn FnMut(&[u8])) {
    sink(StackText::<PREFIX_CAPACITY>::format(format_args!("{}", Prefix(source))).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities_fit() {
        let prefix = StackText::<PREFIX_CAPACITY>::format(format_args!(
            "{}",
            Prefix(Source::Domain(DomId::MAX))
        ));
        assert!(!prefix.overflowed());
        assert_eq!(prefix.as_bytes(), b"[DOM-U65535] ");
        let text = StackText::<ANNOUNCEMENT_CAPACITY>::format(format_args!(
            "{}\n",
            Announcement(Focus::Domain(DomId::MAX))
        ));
        assert!(!text.overflowed());
    }
}
