// SPDX-License-Identifier: MIT

//! Xen's `vkbd` protocol (include/xen/interface/io/kbdif.h, docs/protocols/kbdif.md) as a
//! crate, for host tests and fuzzing.
//!
//! All of it is in `src/kbdif.rs`, which the kernel modules compile as a module of their own
//! (`#[path = "../protocols/kbdif/src/kbdif.rs"] pub mod kbdif;`), beside the files it shares
//! with the other protocols (`crate::shared_page`, `crate::ring_index`, `crate::xenbus_state`:
//! the crate `protocol-common`, drivers/protocols/common). That file may therefore use nothing but `core`
//! and those modules: no crate attribute, no other `crate::` path, no `alloc`, no other
//! crate, no `unsafe`. This crate root only proves that it builds that way (`#![no_std]`,
//! `#![forbid(unsafe_code)]`), with the shared modules where a module has them, and re-exports
//! it.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use protocol_common::{ring_index, shared_page, xenbus_state};

#[path = "kbdif.rs"]
mod kbdif;

pub use kbdif::*;
