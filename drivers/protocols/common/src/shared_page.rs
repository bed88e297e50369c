// SPDX-License-Identifier: MIT

//! The shared page as the protocols see it: [`SharedPage`], the one trait through which every
//! protocol file (`vled`, `kbdif`, `fbif`) reaches memory shared with the other side, and the
//! memory ordering each of its methods promises.
//!
//! This file is plain `core` Rust without `unsafe`. The host crate `protocol-common`
//! (`drivers/protocols/common/src/lib.rs`) compiles it for the protocol crates, their tests and
//! user space; the kernel modules compile it as `kext::shared_page` (drivers/kernel-ext/mod.rs),
//! whose page types implement it, so that a module needs no adapter. The protocol files name it
//! `crate::shared_page::SharedPage`: whoever includes one puts this module, or a re-export of
//! it, at its crate root:
//!
//! ```ignore
//! pub use kext::shared_page;               // a kernel module
//! pub use protocol_common::shared_page;    // a protocol crate (its src/lib.rs)
//! ```

use core::sync::atomic::{fence, Ordering};

/// Memory shared with the other side (a page, or pages), implemented by whoever owns it: the
/// kernel's granted, mapped and foreign pages, user space's mappings, a buffer in tests.
///
/// # Offsets
///
/// The protocols pass only offsets they define (each protocol file says which), inside their
/// page, and 4-aligned ones to [`load_u32`](Self::load_u32) and [`store_u32`](Self::store_u32).
/// No value read from the page makes them pass another: an implementation may panic on one
/// (the test doubles do, to catch a protocol bug).
///
/// # The other side
///
/// The other side may change the memory at any time. An implementation must not assume that it
/// keeps a value it read: single, volatile or atomic accesses, never a Rust reference to the
/// memory. A protocol copies what it reads once and decodes the copy.
///
/// # Ordering
///
/// What Linux's Xen drivers get from `virt_rmb()`, `virt_wmb()` and `virt_mb()` around plain
/// accesses, an implementation gives with these methods:
///
/// - [`load_u32`](Self::load_u32) is an acquire: what the protocol reads from the page after it
///   is at least as new as the index it read (`virt_rmb()` after the load).
/// - [`store_u32`](Self::store_u32) is a release: what the protocol wrote to the page before it
///   is visible to the other side no later than the index (`virt_wmb()` before the store).
/// - [`full_barrier`](Self::full_barrier) orders every access before it against every access
///   after it (`virt_mb()`). A protocol calls it where a release is not enough: before the
///   store that gives back slots it has just read (the reads must be done before the other side
///   may overwrite the slots), and between a store and a load that must see the other side's
///   answer to it (an event index check).
/// - [`read`](Self::read) and [`write`](Self::write) order nothing of their own.
///
/// A Rust `Ordering::Acquire` load and `Ordering::Release` store of an `AtomicU32` keep the
/// first two; a volatile access with a `fence` after (acquire) or before (release) does too.
pub trait SharedPage {
    /// Reads the 32-bit little-endian index at `offset` (4-aligned) with acquire ordering:
    /// what is read from the page afterwards is at least as new.
    fn load_u32(&self, offset: usize) -> u32;
    /// Writes the 32-bit little-endian index at `offset` (4-aligned) with release ordering:
    /// what was written to the page before is visible first.
    fn store_u32(&mut self, offset: usize, value: u32);
    /// Copies `buf.len()` bytes of the page from `offset` into `buf`.
    fn read(&self, offset: usize, buf: &mut [u8]);
    /// Copies `data` to the page at `offset`.
    fn write(&mut self, offset: usize, data: &[u8]);
    /// A full barrier: every read and write of the page before it is done before any after it
    /// (a store before it is visible before a load after it reads). The default,
    /// `fence(SeqCst)`, is `dmb ish` on arm64, what `virt_mb()` is there.
    fn full_barrier(&self) {
        fence(Ordering::SeqCst);
    }
}
