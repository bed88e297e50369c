// SPDX-License-Identifier: GPL-2.0

//! Helpers for in-place initialisers (`PinInit`).

use kernel::prelude::*;

/// Runs `f` on the error of `init`, if it fails; the result is passed on unchanged.
///
/// The `PinInit` counterpart of `Result::inspect_err`, to give an error its context (a
/// `dev_err!`) where it happens inside a `try_pin_init!`, e.g. an IRQ request.
pub fn inspect_err<T, E>(init: impl PinInit<T, E>, f: impl FnOnce(&E)) -> impl PinInit<T, E> {
    let init_then_inspect = move |slot: *mut T| {
        // SAFETY: `slot` is the slot given to the initialiser below, hence valid, uninitialised
        // and pinned, as `raw_try_init` requires.
        unsafe { pin_init::raw_try_init(slot, init) }.inspect_err(f)
    };
    // SAFETY: `init_then_inspect` returns the outcome of `init` on the slot unchanged: on `Ok`
    // the slot is initialised by `init`, on `Err` `init` has left it uninitialised.
    unsafe { pin_init::pin_init_from_closure(init_then_inspect) }
}
