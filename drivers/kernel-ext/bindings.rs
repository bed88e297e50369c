// SPDX-License-Identifier: GPL-2.0

//! Bindings the kernel crate does not carry, generated per module by `bindgen` (see `kext.mk`).
//!
//! Everything from [`kernel::bindings`] is re-exported too, and the generated items refer to the
//! kernel crate's types for everything they do not define themselves, so a `struct device *` here
//! is the same Rust type as in the kernel crate. Items defined here take precedence over the glob
//! import.

#![allow(
    clippy::all,
    dead_code,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn
)]

pub use kernel::bindings::*;
use kernel::ffi;
#[allow(unused_imports)]
use pin_init::{MaybeZeroable, Zeroable};

include!(concat!(env!("KEXT_GEN_DIR"), "/kext_bindings_generated.rs"));
