// SPDX-License-Identifier: GPL-2.0

//! Helpers around the kernel crate's work items.
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h)

use kernel::workqueue::Work;

use super::bindings;

/// Cancels `work` if it is queued and waits for it if it runs (`cancel_work_sync()`): a
/// module's work item must not run once the module is going.
pub fn cancel_sync<T: ?Sized, const ID: u64>(work: &Work<T, ID>) {
    // SAFETY: `work` is a live, initialised work item (a reference to it exists); cancelling
    // may sleep, which callers of this do not mind (process context).
    unsafe { bindings::cancel_work_sync(Work::raw_get(work)) };
}
