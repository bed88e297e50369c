// SPDX-License-Identifier: MIT

//! The `vled` paravirtual LED protocol (docs/protocols/vled.md) as a crate, for host tests and
//! fuzzing.
//!
//! All of it is in `src/ring.rs`, which the kernel modules compile as a module of their own
//! (`#[path = "../protocols/vled/src/ring.rs"] pub mod vled;`). That file may therefore use
//! nothing but `core`: no crate attribute, no `crate::` path, no `alloc`, no other crate, no
//! `unsafe`. This crate root only proves that it builds that way (`#![no_std]`,
//! `#![forbid(unsafe_code)]`) and re-exports it.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[path = "ring.rs"]
mod ring;

pub use ring::*;
