// SPDX-License-Identifier: MIT

//! Xen's `vfb` protocol (include/xen/interface/io/fbif.h, docs/protocols/fbif.md) as a crate,
//! for host tests and fuzzing.
//!
//! All of it is in `src/fbif.rs`, which the kernel modules compile as a module of their own
//! (`#[path = "../protocols/fbif/src/fbif.rs"] pub mod fbif;`). That file may therefore use
//! nothing but `core`: no crate attribute, no `crate::` path, no `alloc`, no other crate, no
//! `unsafe`. This crate root only proves that it builds that way (`#![no_std]`,
//! `#![forbid(unsafe_code)]`) and re-exports it.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[path = "fbif.rs"]
mod fbif;

pub use fbif::*;
