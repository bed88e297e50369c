// SPDX-License-Identifier: MIT

//! Xen's `vkbd` protocol (include/xen/interface/io/kbdif.h, docs/protocols/kbdif.md) as a
//! crate, for host tests and fuzzing.
//!
//! All of it is in `src/kbdif.rs`, which the kernel modules compile as a module of their own
//! (`#[path = "../protocols/kbdif/src/kbdif.rs"] pub mod kbdif;`). That file may therefore use
//! nothing but `core`: no crate attribute, no `crate::` path, no `alloc`, no other crate, no
//! `unsafe`. This crate root only proves that it builds that way (`#![no_std]`,
//! `#![forbid(unsafe_code)]`) and re-exports it.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[path = "kbdif.rs"]
mod kbdif;

pub use kbdif::*;
