// SPDX-License-Identifier: GPL-2.0

//! The keyboard page's memory: a page shared with the other end (granted by the frontend,
//! mapped by the backend) as the protocol's `SharedPage`.

use crate::{kbdif, kext::xenbus::SharedPage};

/// The protocol's view of `page`.
pub(crate) struct Page<'a>(pub(crate) &'a SharedPage);

impl kbdif::SharedPage for Page<'_> {
    fn load_u32(&self, offset: usize) -> u32 {
        self.0.load_u32(offset)
    }
    fn store_u32(&mut self, offset: usize, value: u32) {
        self.0.full_barrier();
        self.0.store_u32(offset, value)
    }
    fn read(&self, offset: usize, buf: &mut [u8]) {
        self.0.read(offset, buf)
    }
    fn write(&mut self, offset: usize, data: &[u8]) {
        self.0.write(offset, data)
    }
}
