//! console_io: dom0's console (hvc0) without a device: bytes written go to the serial console
//! with its `[DOM-0] ` prefix.

use super::{errno, HypercallResult};
use crate::domain;
use crate::guest;

const CONSOLEIO_WRITE: u64 = 0;
/// Bytes copied at a time.
const CHUNK: usize = 128;

pub fn console_io(cmd: u64, count: u64, buffer: u64) -> HypercallResult {
    let dom = domain::current();
    if dom.id != 0 {
        return Err(errno::EPERM);
    }
    match cmd {
        CONSOLEIO_WRITE => {
            let count = count.min(u64::from(u32::MAX));
            let mut done = 0u64;
            let mut chunk = [0u8; CHUNK];
            while done < count {
                let n = ((count - done) as usize).min(CHUNK);
                guest::read_va(buffer.checked_add(done).ok_or(errno::EFAULT)?, &mut chunk[..n])?;
                crate::console::guest_output(dom.id, &chunk[..n]);
                done += n as u64;
            }
            Ok(count as i64)
        }
        _ => Err(errno::ENOSYS),
    }
}
