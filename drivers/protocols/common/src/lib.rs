// SPDX-License-Identifier: MIT

//! What the protocol files share, as a crate, for host tests and user space.
//!
//! - [`shared_page`]: the [`SharedPage`](shared_page::SharedPage) trait, the one way every
//!   protocol reaches memory shared with the other side, and its memory-ordering contract.
//! - [`ring_index`]: the producer's and consumer's index rules of Xen's simple event rings, the
//!   ones of `kbdif` and `fbif`, and their halves typed by event ([`ring_index::Event`]).
//! - [`xenbus_state`]: the xenbus state of a device's end
//!   ([`XenbusState`](xenbus_state::XenbusState)) and xenstore's decimal numbers.
//!
//! Each is one file the kernel modules also compile, at their crate root (`crate::shared_page`,
//! `crate::ring_index`, `crate::xenbus_state`, where the protocol files look for them; drivers/kernel-ext/mod.rs). The
//! files may therefore use nothing but `core` and each other: no crate attribute, no `alloc`,
//! no other crate, no `unsafe`. This crate root proves that they build that way (`#![no_std]`,
//! `#![forbid(unsafe_code)]`); the protocol crates re-export the modules they use at their root.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ring_index;
pub mod shared_page;
pub mod xenbus_state;

pub use shared_page::SharedPage;
