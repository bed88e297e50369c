//! The monitor's line editor: a line of printable ASCII, typed on a plain serial terminal.

use core::fmt;

/// The monitor's prompt (shown after the hypervisor's `(XEN) ` prefix).
pub const PROMPT: &str = "reptar> ";

/// The longest line, in bytes; further typing rings the terminal's bell.
pub const LINE_CAPACITY: usize = 128;

const CTRL_C: u8 = 0x03;
const BELL: u8 = 0x07;
const BACKSPACE: u8 = 0x08;
const LINE_FEED: u8 = b'\n';
const CTRL_L: u8 = 0x0C;
const CARRIAGE_RETURN: u8 = b'\r';
const CTRL_U: u8 = 0x15;
const ESCAPE: u8 = 0x1B;
const DELETE: u8 = 0x7F;

/// What erases one character on the terminal: back, blank it, back.
const RUB_OUT: &[u8] = b"\x08 \x08";

/// Where the editor stands in an escape sequence (the arrow and function keys send
/// `ESC [ ... final` or `ESC O final`): such sequences are swallowed, not inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    /// After `ESC`.
    Started,
    /// After `ESC [` or `ESC O`, until a final byte (0x40 to 0x7E).
    Sequence,
}

/// A submitted line: printable ASCII, without its line end.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Line {
    bytes: [u8; LINE_CAPACITY],
    len: usize,
}

impl Line {
    /// The line's text.
    pub fn as_str(&self) -> &str {
        // Only printable ASCII is ever stored, so this cannot fail; no panic path anyway.
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl fmt::Debug for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The line being typed.
///
/// | typed | effect | echo |
/// |---|---|---|
/// | printable ASCII (`0x20`-`0x7E`) | appended ([`LINE_CAPACITY`] at most) | the byte (BEL when full) |
/// | backspace (`0x08`) or DEL (`0x7F`) | last character erased | `BS SP BS` |
/// | CR or LF (CR LF counts once) | the line is submitted | `\n` |
/// | CTRL-u | the line is erased | `BS SP BS` per character |
/// | CTRL-c | the line is abandoned: an empty line is submitted | `^C\n` |
/// | CTRL-l | the line is shown again on a new line (after a message cut it) | `\n`, prompt, line |
/// | escape sequences (arrows, function keys) | ignored | nothing |
/// | other control bytes, bytes past ASCII (`0x80`-`0xFF`) | ignored | nothing |
///
/// The echo goes to the terminal as hypervisor output, where the multiplexer turns `\n`
/// into `\r\n`.
#[derive(Debug, Clone)]
pub struct LineEditor {
    buf: [u8; LINE_CAPACITY],
    len: usize,
    escape: Escape,
    /// The last byte was a CR: an LF right after it belongs to the same line end.
    after_cr: bool,
}

impl Default for LineEditor {
    fn default() -> Self {
        LineEditor::new()
    }
}

impl LineEditor {
    /// An empty line.
    pub const fn new() -> LineEditor {
        LineEditor {
            buf: [0; LINE_CAPACITY],
            len: 0,
            escape: Escape::None,
            after_cr: false,
        }
    }

    /// The line typed so far.
    pub fn contents(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }

    /// Writes the prompt and the line typed so far (for a new line, or when the monitor
    /// gets the focus back).
    pub fn show_prompt(&self, echo: &mut dyn FnMut(&[u8])) {
        echo(PROMPT.as_bytes());
        echo(&self.buf[..self.len]);
    }

    /// Takes one typed byte, writes its echo, and returns the line it submits, if it does.
    pub fn input(&mut self, byte: u8, echo: &mut dyn FnMut(&[u8])) -> Option<Line> {
        let after_cr = core::mem::take(&mut self.after_cr);
        match self.escape {
            Escape::None => {}
            Escape::Started => {
                self.escape = match byte {
                    b'[' | b'O' => Escape::Sequence,
                    ESCAPE => Escape::Started,
                    // ESC and one byte (Alt-key): both dropped.
                    _ => Escape::None,
                };
                return None;
            }
            Escape::Sequence => match byte {
                // Parameter and intermediate bytes.
                0x20..=0x3F => return None,
                // The final byte ends the sequence.
                0x40..=0x7E => {
                    self.escape = Escape::None;
                    return None;
                }
                // Not a sequence after all: drop it, and take this byte as typed.
                _ => self.escape = Escape::None,
            },
        }
        match byte {
            0x20..=0x7E => match self.buf.get_mut(self.len) {
                Some(slot) => {
                    *slot = byte;
                    self.len += 1;
                    echo(&[byte]);
                }
                None => echo(&[BELL]),
            },
            BACKSPACE | DELETE => {
                if self.len > 0 {
                    self.len -= 1;
                    echo(RUB_OUT);
                }
            }
            CARRIAGE_RETURN => {
                self.after_cr = true;
                return Some(self.submit(echo));
            }
            LINE_FEED if after_cr => {}
            LINE_FEED => return Some(self.submit(echo)),
            CTRL_U => {
                for _ in 0..self.len {
                    echo(RUB_OUT);
                }
                self.len = 0;
            }
            CTRL_C => {
                echo(b"^C\n");
                self.len = 0;
                return Some(Line {
                    bytes: [0; LINE_CAPACITY],
                    len: 0,
                });
            }
            CTRL_L => {
                echo(b"\n");
                self.show_prompt(echo);
            }
            ESCAPE => self.escape = Escape::Started,
            _ => {}
        }
        None
    }

    fn submit(&mut self, echo: &mut dyn FnMut(&[u8])) -> Line {
        echo(b"\n");
        let line = Line {
            bytes: self.buf,
            len: self.len,
        };
        self.len = 0;
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// Types `bytes`; returns the echo and the submitted lines.
    fn type_bytes(editor: &mut LineEditor, bytes: &[u8]) -> (Vec<u8>, Vec<std::string::String>) {
        let mut echo = Vec::new();
        let mut lines = Vec::new();
        for &byte in bytes {
            if let Some(line) = editor.input(byte, &mut |b| echo.extend_from_slice(b)) {
                lines.push(line.as_str().into());
            }
        }
        (echo, lines)
    }

    #[test]
    fn typing_and_submitting() {
        let mut editor = LineEditor::new();
        let (echo, lines) = type_bytes(&mut editor, b"doms\r");
        assert_eq!(echo, b"doms\n");
        assert_eq!(lines, ["doms"]);
        assert_eq!(editor.contents(), "");
        // CR LF is one line end; LF alone is one too; CR CR is two.
        let (echo, lines) = type_bytes(&mut editor, b"a\r\nb\nc\r\r");
        assert_eq!(echo, b"a\nb\nc\n\n");
        assert_eq!(lines, ["a", "b", "c", ""]);
        // An LF right after the CR that ended a line belongs to it, even in a later call.
        let (_, lines) = type_bytes(&mut editor, b"\n");
        assert!(lines.is_empty());
        // LF LF is two.
        let (_, lines) = type_bytes(&mut editor, b"\n\n");
        assert_eq!(lines, ["", ""]);
    }

    #[test]
    fn erasing() {
        let mut editor = LineEditor::new();
        let (echo, _) = type_bytes(&mut editor, b"lesd\x08\x7fds");
        assert_eq!(echo, b"lesd\x08 \x08\x08 \x08ds");
        assert_eq!(editor.contents(), "leds");
        // Backspace on an empty line: nothing.
        let mut empty = LineEditor::new();
        let (echo, _) = type_bytes(&mut empty, b"\x08\x7f");
        assert_eq!(echo, b"");
        // CTRL-u erases the line.
        let (echo, lines) = type_bytes(&mut editor, b"\x15ver\r");
        assert_eq!(echo, b"\x08 \x08\x08 \x08\x08 \x08\x08 \x08ver\n");
        assert_eq!(lines, ["ver"]);
    }

    #[test]
    fn ctrl_c_abandons_and_ctrl_l_redraws() {
        let mut editor = LineEditor::new();
        let (echo, lines) = type_bytes(&mut editor, b"destroy 1\x03");
        assert_eq!(echo, b"destroy 1^C\n");
        assert_eq!(lines, [""]);
        assert_eq!(editor.contents(), "");
        let (echo, lines) = type_bytes(&mut editor, b"he\x0c");
        assert_eq!(echo, b"he\nreptar> he");
        assert!(lines.is_empty());
    }

    #[test]
    fn full_line_rings() {
        let mut editor = LineEditor::new();
        let (echo, _) = type_bytes(&mut editor, &[b'x'; LINE_CAPACITY + 2]);
        assert_eq!(echo.len(), LINE_CAPACITY + 2);
        assert_eq!(&echo[LINE_CAPACITY..], [BELL, BELL]);
        let (_, lines) = type_bytes(&mut editor, b"\r");
        assert_eq!(lines[0].len(), LINE_CAPACITY);
    }

    #[test]
    fn escape_sequences_and_other_bytes_are_ignored() {
        let mut editor = LineEditor::new();
        // Up, Left, Delete (ESC [ 3 ~), F1 (ESC O P), Alt-x, Tab, NUL, non-ASCII.
        let (echo, lines) = type_bytes(
            &mut editor,
            b"h\x1b[A\x1b[De\x1b[3~\x1bOPl\x1bx\t\0\xc3\xa9p\r",
        );
        assert_eq!(echo, b"help\n");
        assert_eq!(lines, ["help"]);
        // A control byte inside a sequence ends it and counts.
        let (_, lines) = type_bytes(&mut editor, b"\x1b[1\rok\r");
        assert_eq!(lines, ["", "ok"]);
        // ESC ESC [ A is one sequence.
        let (echo, _) = type_bytes(&mut editor, b"\x1b\x1b[Aq");
        assert_eq!(echo, b"q");
    }

    #[test]
    fn prompt_shows_the_line_so_far() {
        let mut editor = LineEditor::new();
        type_bytes(&mut editor, b"le");
        let mut echo = Vec::new();
        editor.show_prompt(&mut |b| echo.extend_from_slice(b));
        assert_eq!(echo, b"reptar> le");
    }
}
