//! The serial console of the REPTAR hypervisor, as plain logic: no MMIO, no locks, no time.
//!
//! The board has one serial line (QEMU virt's PL011), owned by the hypervisor. Three pieces
//! share it between the hypervisor and its domains:
//!
//! - [`vuart`]: the UART a guest sees. dom0's device tree describes an
//!   `"arm,sbsa-uart"`; the hypervisor traps its page and forwards the accesses to a
//!   [`vuart::VUart`], an emulated Arm SBSA Generic UART (the PL011 subset), as Xen's
//!   vpl011 does. What the guest transmits comes back as bytes for the multiplexer; what
//!   the user types for the guest goes into its receive FIFO.
//! - [`mux`]: the multiplexer, what the user sees on the terminal. Every line carries one
//!   prefix naming its source (`(XEN) `, `[DOM-0] `, `[DOM-U] `...), lines of different
//!   sources never mix, and typing CTRL-a three times moves the input focus from dom0 to
//!   each domU, to the hypervisor's monitor, and back to dom0, as on Xen.
//! - [`xencons`]: a domU's Xen console ring (`io/console.h`), the paravirtual console Linux's
//!   `hvc_xen` uses in a domU: the hypervisor's side of it.
//! - [`monitor`]: the hypervisor monitor's line editor and command parser (`help`, `doms`,
//!   `hexdump`, `press`...). Executing the commands is the hypervisor's business.
//!
//! Domains are named by [`DomId`]; [`DomainName`] is the one place that spells a domain's
//! name for the console, and [`parse_domain`] reads it back.
//!
//! Nothing here panics on guest or user input: guest accesses the UART does not answer are
//! errors the hypervisor turns into aborts, and user input the monitor does not understand
//! is an error whose text says how to use the command.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

#[cfg(test)]
extern crate std;

pub mod monitor;
pub mod mux;
pub mod vuart;
pub mod xencons;

mod text;

use core::fmt;

/// A domain's ID, as Xen numbers domains (`domid_t`): 0 is dom0, the domUs follow.
pub type DomId = u16;

/// A domain's name on the console: `DOM-0` for dom0, `DOM-U` for domain 1, then `DOM-U2`,
/// `DOM-U3`... for the further domUs. The multiplexer's line prefixes (`[DOM-0] `) and the
/// monitor's listings use it; [`parse_domain`] reads it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainName(pub DomId);

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("DOM-0"),
            1 => f.write_str("DOM-U"),
            id => write!(f, "DOM-U{id}"),
        }
    }
}

/// Reads a domain named on the monitor's command line, in any case:
///
/// - a number, decimal or `0x` hex: `0`, `1`, `0x2`;
/// - `dom` and a number, as Xen writes them: `dom0`, `DOM1`;
/// - a [`DomainName`], with or without its dash: `dom-0`, `DOM-U`, `domU`, `domU2`
///   (`domU` alone is domain 1; `domU<n>` is domain n, n >= 1).
///
/// Returns `None` for anything else, and for numbers past [`DomId`]'s range.
pub fn parse_domain(text: &str) -> Option<DomId> {
    let (named, rest) = match text.get(..3) {
        Some(dom) if dom.eq_ignore_ascii_case("dom") => {
            let rest = &text[3..];
            (true, rest.strip_prefix('-').unwrap_or(rest))
        }
        _ => (false, text),
    };
    let id = match rest.as_bytes().first() {
        Some(b'u' | b'U') if named => match &rest[1..] {
            "" => 1,
            number => match text::parse_number(number)? {
                0 => return None,
                n => n,
            },
        },
        _ => text::parse_number(rest)?,
    };
    DomId::try_from(id).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn domain_names() {
        assert_eq!(DomainName(0).to_string(), "DOM-0");
        assert_eq!(DomainName(1).to_string(), "DOM-U");
        assert_eq!(DomainName(2).to_string(), "DOM-U2");
        assert_eq!(DomainName(17).to_string(), "DOM-U17");
        for id in [0, 1, 2, 3, 42, DomId::MAX] {
            assert_eq!(parse_domain(&DomainName(id).to_string()), Some(id));
        }
    }

    #[test]
    fn parse_domains() {
        for (text, id) in [
            ("0", 0),
            ("1", 1),
            ("0x2", 2),
            ("dom0", 0),
            ("DOM1", 1),
            ("dom-0", 0),
            ("Dom-U", 1),
            ("domU", 1),
            ("domu", 1),
            ("domU2", 2),
            ("domu1", 1),
            ("dom-u3", 3),
            ("dom0x3", 3),
            ("65535", 65535),
        ] {
            assert_eq!(parse_domain(text), Some(id), "{text}");
        }
        for text in [
            "", "dom", "dom-", "domU0", "dom-u0", "u", "x", "-1", "+1", "65536", "dom--0", "domx",
            "dom 0", " 0", "0x", "é", "doé", "domé",
        ] {
            assert_eq!(parse_domain(text), None, "{text:?}");
        }
    }
}
