// SPDX-License-Identifier: GPL-2.0

//! Helpers around [`kernel::device::Device`] for the wrappers of this layer.

use kernel::{
    bindings,
    device::{Device, DeviceContext},
};

/// Returns the `struct device *` behind `dev`, for C functions that take a device.
///
/// The kernel crate keeps `Device::as_raw()` to itself; this is the same cast, which its type
/// documents: `Device<Ctx>` is `#[repr(transparent)]` over `Opaque<bindings::device>`, itself
/// `#[repr(transparent)]` over the C structure.
pub fn as_raw<Ctx: DeviceContext>(dev: &Device<Ctx>) -> *mut bindings::device {
    core::ptr::from_ref(dev).cast_mut().cast()
}
