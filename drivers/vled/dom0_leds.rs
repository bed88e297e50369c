// SPDX-License-Identifier: GPL-2.0

//! dom0's LED class devices by name (`led_by_name.c`: the LED core's list is walked with a C
//! macro under its lock).

use kernel::{error::to_result, prelude::*, str::CStrExt};

extern "C" {
    fn vled_led_by_name(name: *const c_char, set: bool, brightness: c_uint, now: *mut c_uint) -> c_int;
}

/// Sets the LED called `name` to `brightness` (or only reads it with `None`); returns its
/// brightness afterwards. `ENODEV`: no such LED now; `ERANGE`: above its maximum.
pub(crate) fn access(name: &CStr, brightness: Option<u32>) -> Result<u32> {
    let mut now: c_uint = 0;
    // SAFETY: `name` is NUL-terminated and `now` is writable, both for the call; the C side
    // holds the LED list lock while it uses the LED.
    to_result(unsafe { vled_led_by_name(name.as_char_ptr(), brightness.is_some(), brightness.unwrap_or(0), &mut now) })?;
    Ok(now)
}
