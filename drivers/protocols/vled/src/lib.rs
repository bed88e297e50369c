// SPDX-License-Identifier: MIT

//! The `vled` paravirtual LED protocol (docs/protocols/vled.md) as a crate, for host tests and
//! fuzzing.
//!
//! All of it is in `src/ring.rs`, which the kernel modules compile as a module of their own
//! (`#[path = "../protocols/vled/src/ring.rs"] pub mod vled;`), beside the files it shares
//! with the other protocols (`crate::shared_page`, `crate::xenbus_state`: the crate
//! `protocol-common`, drivers/protocols/common). That file may therefore use nothing but `core`
//! and those modules: no crate attribute, no other `crate::` path, no `alloc`, no other crate,
//! no `unsafe`. This crate root only proves that it builds that way (`#![no_std]`,
//! `#![forbid(unsafe_code)]`), with the shared modules where a module has them, and re-exports
//! it.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use protocol_common::{shared_page, xenbus_state};

#[path = "ring.rs"]
mod ring;

pub use ring::*;

