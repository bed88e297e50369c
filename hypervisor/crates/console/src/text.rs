//! Small text helpers shared by the modules: numbers as the monitor reads them, and
//! formatting into a stack buffer (the console formats without allocating).

use core::fmt;

/// A number in decimal (`4096`) or hex with a `0x`/`0X` prefix (`0x1000`). No sign, no
/// separators, no surrounding space. `None` if it is not one or does not fit in 64 bits.
pub(crate) fn parse_number(text: &str) -> Option<u64> {
    let (digits, radix) = match text.get(..2) {
        Some("0x" | "0X") => (&text[2..], 16),
        _ => (text, 10),
    };
    // from_str_radix accepts a leading '+': only digits are numbers here.
    if digits.is_empty() || !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// A `fmt::Write` into a fixed buffer. Text that does not fit is cut (at a byte boundary:
/// the console carries bytes) and [`StackText::overflowed`] says so.
pub(crate) struct StackText<const N: usize> {
    buf: [u8; N],
    len: usize,
    overflowed: bool,
}

impl<const N: usize> StackText<N> {
    pub(crate) const fn new() -> Self {
        StackText {
            buf: [0; N],
            len: 0,
            overflowed: false,
        }
    }

    /// Formats `args` into a new buffer.
    pub(crate) fn format(args: fmt::Arguments<'_>) -> Self {
        let mut text = Self::new();
        let _ = fmt::Write::write_fmt(&mut text, args);
        text
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    #[cfg(test)]
    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed
    }
}

impl<const N: usize> fmt::Write for StackText<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = N - self.len;
        let taken = s.len().min(room);
        self.buf[self.len..self.len + taken].copy_from_slice(&s.as_bytes()[..taken]);
        self.len += taken;
        if taken < s.len() {
            self.overflowed = true;
            return Err(fmt::Error);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("0"), Some(0));
        assert_eq!(parse_number("4096"), Some(4096));
        assert_eq!(parse_number("0x1000"), Some(0x1000));
        assert_eq!(parse_number("0XfF"), Some(0xff));
        assert_eq!(parse_number("0xffffffffffffffff"), Some(u64::MAX));
        assert_eq!(parse_number("18446744073709551615"), Some(u64::MAX));
        for bad in [
            "",
            "0x",
            "x1",
            "+1",
            "-1",
            "0x+1",
            "1_000",
            " 1",
            "1 ",
            "0x10000000000000000",
            "18446744073709551616",
            "12a",
            "0b1",
            "١",
            "0xé",
        ] {
            assert_eq!(parse_number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn stack_text_cuts() {
        let text = StackText::<4>::format(format_args!("{}", 123456));
        assert_eq!(text.as_bytes(), b"1234");
        assert!(text.overflowed());
        let text = StackText::<8>::format(format_args!("{}", 12));
        assert_eq!(text.as_bytes(), b"12");
        assert!(!text.overflowed());
    }
}
