// SPDX-License-Identifier: MIT

//! The xenbus state of a paravirtual device's end (`enum xenbus_state`,
//! include/xen/interface/io/xenbus.h), as its `state` key holds it, and the decimal numbers
//! xenstore keys hold ([`parse_uint`]): one definition for the protocol files (vled's state
//! machine, kbdif's and vkbd's keys) and for kernel-ext's xenbus drivers
//! (`kext::xenbus::State`).
//!
//! This file is plain `core` Rust without `unsafe`, compiled by the crate `protocol-common` and,
//! at their crate root (`crate::xenbus_state`, where the protocol files look for it), by the
//! kernel modules: kernel-ext includes it as `kext::xenbus_state` and a module that includes a
//! protocol file re-exports it (drivers/kernel-ext/mod.rs):
//!
//! ```ignore
//! pub use kext::{shared_page, xenbus_state};
//! ```

/// `enum xenbus_state`; a `state` key holds it in decimal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum XenbusState {
    /// `XenbusStateUnknown` (0): no such node (the other end is gone), also any value that is
    /// not a state, or a missing key.
    Unknown = 0,
    /// `XenbusStateInitialising` (1).
    Initialising = 1,
    /// `XenbusStateInitWait` (2): a backend waiting for its frontend's details.
    InitWait = 2,
    /// `XenbusStateInitialised` (3): a frontend's details are written.
    Initialised = 3,
    /// `XenbusStateConnected` (4).
    Connected = 4,
    /// `XenbusStateClosing` (5).
    Closing = 5,
    /// `XenbusStateClosed` (6).
    Closed = 6,
    /// `XenbusStateReconfiguring` (7; not used by our drivers).
    Reconfiguring = 7,
    /// `XenbusStateReconfigured` (8; not used by our drivers).
    Reconfigured = 8,
}

impl XenbusState {
    /// Every state, in order.
    pub const ALL: [XenbusState; 9] = [
        XenbusState::Unknown,
        XenbusState::Initialising,
        XenbusState::InitWait,
        XenbusState::Initialised,
        XenbusState::Connected,
        XenbusState::Closing,
        XenbusState::Closed,
        XenbusState::Reconfiguring,
        XenbusState::Reconfigured,
    ];

    /// The state of a number (Unknown for anything else).
    pub const fn from_u32(v: u32) -> Self {
        match v {
            1 => XenbusState::Initialising,
            2 => XenbusState::InitWait,
            3 => XenbusState::Initialised,
            4 => XenbusState::Connected,
            5 => XenbusState::Closing,
            6 => XenbusState::Closed,
            7 => XenbusState::Reconfiguring,
            8 => XenbusState::Reconfigured,
            _ => XenbusState::Unknown,
        }
    }

    /// The number.
    pub const fn as_u32(self) -> u32 {
        self as u32
    }

    /// The state a `state` key's value holds (Unknown if it is not one).
    pub fn parse(value: &[u8]) -> Self {
        parse_uint(value).map_or(XenbusState::Unknown, Self::from_u32)
    }

    /// The name, as in `XenbusState<name>`.
    pub const fn name(self) -> &'static str {
        match self {
            XenbusState::Unknown => "Unknown",
            XenbusState::Initialising => "Initialising",
            XenbusState::InitWait => "InitWait",
            XenbusState::Initialised => "Initialised",
            XenbusState::Connected => "Connected",
            XenbusState::Closing => "Closing",
            XenbusState::Closed => "Closed",
            XenbusState::Reconfiguring => "Reconfiguring",
            XenbusState::Reconfigured => "Reconfigured",
        }
    }
}

/// A decimal `u32` as xenstore holds numbers: digits only (no sign, no spaces), at most 10 of
/// them, within `u32`.
pub fn parse_uint(value: &[u8]) -> Option<u32> {
    if value.is_empty() || value.len() > 10 {
        return None;
    }
    let mut n: u32 = 0;
    for &c in value {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u32::from(c - b'0'))?;
    }
    Some(n)
}
