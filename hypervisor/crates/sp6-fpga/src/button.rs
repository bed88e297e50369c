//! The eight push buttons of the board and the keys they report.

use core::fmt;
use core::str::FromStr;

/// Linux input key codes (`include/uapi/linux/input-event-codes.h`) of the keys the board's
/// buttons report through dom0's `sp6` driver. The hypervisor also uses them to map the keys
/// of its virtio keyboard (which speaks the same codes) to buttons.
pub mod keys {
    /// `KEY_ESC`.
    pub const KEY_ESC: u16 = 1;
    /// `KEY_BACKSPACE`.
    pub const KEY_BACKSPACE: u16 = 14;
    /// `KEY_ENTER`.
    pub const KEY_ENTER: u16 = 28;
    /// `KEY_SPACE`.
    pub const KEY_SPACE: u16 = 57;
    /// `KEY_UP`.
    pub const KEY_UP: u16 = 103;
    /// `KEY_LEFT`.
    pub const KEY_LEFT: u16 = 105;
    /// `KEY_RIGHT`.
    pub const KEY_RIGHT: u16 = 106;
    /// `KEY_DOWN`.
    pub const KEY_DOWN: u16 = 108;
}

/// Number of push buttons (one bit each in `PUSH_BUT`).
pub const NR_BUTTONS: usize = 8;

/// A push button of the board. The discriminant is the button number: its bit in
/// `PUSH_BUT` and the value of `IRQ_CTL` bits 3:1 after it raised the interrupt.
///
/// The order (ESC, BACKSPACE, ENTER, SPACE, UP, LEFT, RIGHT, DOWN for bits 0 to 7) is this
/// project's: the original lab recorded the keys but not which bit carried which. dom0's
/// `sp6` driver must use the same table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Button {
    /// Button 0, reports `KEY_ESC`.
    Esc = 0,
    /// Button 1, reports `KEY_BACKSPACE`.
    Backspace = 1,
    /// Button 2, reports `KEY_ENTER`.
    Enter = 2,
    /// Button 3, reports `KEY_SPACE`.
    Space = 3,
    /// Button 4, reports `KEY_UP`.
    Up = 4,
    /// Button 5, reports `KEY_LEFT`.
    Left = 5,
    /// Button 6, reports `KEY_RIGHT`.
    Right = 6,
    /// Button 7, reports `KEY_DOWN`.
    Down = 7,
}

impl Button {
    /// Every button, by number.
    pub const ALL: [Button; NR_BUTTONS] = [
        Button::Esc,
        Button::Backspace,
        Button::Enter,
        Button::Space,
        Button::Up,
        Button::Left,
        Button::Right,
        Button::Down,
    ];

    /// The button number (0..=7).
    pub const fn index(self) -> u8 {
        self as u8
    }

    /// The button's bit in `PUSH_BUT`.
    pub const fn bit(self) -> u8 {
        1 << self.index()
    }

    /// The button with number `index`, if there is one.
    pub const fn from_index(index: u8) -> Option<Button> {
        if (index as usize) < NR_BUTTONS {
            Some(Button::ALL[index as usize])
        } else {
            None
        }
    }

    /// The Linux key code the button reports.
    pub const fn key_code(self) -> u16 {
        match self {
            Button::Esc => keys::KEY_ESC,
            Button::Backspace => keys::KEY_BACKSPACE,
            Button::Enter => keys::KEY_ENTER,
            Button::Space => keys::KEY_SPACE,
            Button::Up => keys::KEY_UP,
            Button::Left => keys::KEY_LEFT,
            Button::Right => keys::KEY_RIGHT,
            Button::Down => keys::KEY_DOWN,
        }
    }

    /// The button that reports Linux key code `code`, if any (for the hypervisor's virtio
    /// keyboard: the QEMU window's Esc, Backspace, Enter, Space and arrow keys).
    pub fn from_key_code(code: u16) -> Option<Button> {
        Button::ALL.into_iter().find(|b| b.key_code() == code)
    }

    /// The button's name, lower case, as the monitor's `press <button>` command takes it.
    pub const fn name(self) -> &'static str {
        match self {
            Button::Esc => "esc",
            Button::Backspace => "backspace",
            Button::Enter => "enter",
            Button::Space => "space",
            Button::Up => "up",
            Button::Left => "left",
            Button::Right => "right",
            Button::Down => "down",
        }
    }

    /// Parses a button for the monitor: a name as [`Button::name`] gives it, in any case,
    /// the aliases `escape`, `bs`, `return` and `ret`, or a button number `0`..`7`.
    /// Surrounding whitespace is ignored.
    pub fn from_name(name: &str) -> Option<Button> {
        let name = name.trim();
        if let [digit @ b'0'..=b'7'] = name.as_bytes() {
            return Button::from_index(digit - b'0');
        }
        const ALIASES: [(&str, Button); 4] = [
            ("escape", Button::Esc),
            ("bs", Button::Backspace),
            ("return", Button::Enter),
            ("ret", Button::Enter),
        ];
        Button::ALL
            .into_iter()
            .map(|b| (b.name(), b))
            .chain(ALIASES)
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, b)| b)
    }
}

impl fmt::Display for Button {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// [`Button::from_str`] failed: the text names no button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownButton;

impl fmt::Display for UnknownButton {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown button (esc, backspace, enter, space, up, left, right, down or 0-7)")
    }
}

impl FromStr for Button {
    type Err = UnknownButton;

    /// As [`Button::from_name`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Button::from_name(s).ok_or(UnknownButton)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_bits_and_key_codes() {
        for (i, b) in Button::ALL.into_iter().enumerate() {
            assert_eq!(b.index() as usize, i);
            assert_eq!(b.bit(), 1 << i);
            assert_eq!(Button::from_index(i as u8), Some(b));
            assert_eq!(Button::from_key_code(b.key_code()), Some(b));
            assert_eq!(Button::from_name(b.name()), Some(b));
        }
        assert_eq!(Button::from_index(8), None);
        assert_eq!(Button::from_index(255), None);
        assert_eq!(Button::from_key_code(0), None);
        assert_eq!(Button::from_key_code(keys::KEY_DOWN + 1), None);
        let codes: [u16; 8] = Button::ALL.map(Button::key_code);
        assert_eq!(codes, [1, 14, 28, 57, 103, 105, 106, 108]);
    }

    #[test]
    fn parse_names() {
        assert_eq!(Button::from_name("enter"), Some(Button::Enter));
        assert_eq!(Button::from_name("  ENTER \n"), Some(Button::Enter));
        assert_eq!(Button::from_name("Return"), Some(Button::Enter));
        assert_eq!(Button::from_name("escape"), Some(Button::Esc));
        assert_eq!(Button::from_name("bs"), Some(Button::Backspace));
        assert_eq!(Button::from_name("7"), Some(Button::Down));
        assert_eq!(Button::from_name("0"), Some(Button::Esc));
        assert_eq!(Button::from_name("8"), None);
        assert_eq!(Button::from_name(""), None);
        assert_eq!(Button::from_name("enterr"), None);
        assert_eq!(Button::from_name("é"), None);
        assert_eq!("left".parse::<Button>(), Ok(Button::Left));
        assert_eq!("middle".parse::<Button>(), Err(UnknownButton));
    }
}
