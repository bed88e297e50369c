//! console_io: dom0's console (hvc0) without a device: bytes written go to the serial console
//! with its `[DOM-0] ` prefix; what the user types is queued, announced with VIRQ_CONSOLE and
//! read with CONSOLEIO_read.

use super::{errno, HypercallResult};
use crate::domain;
use crate::guest;

const CONSOLEIO_WRITE: u64 = 0;
const CONSOLEIO_READ: u64 = 1;
/// Bytes copied at a time.
const CHUNK: usize = 128;

pub fn console_io(cmd: u64, count: u64, buffer: u64) -> HypercallResult {
    let dom = domain::current();
    if dom.id != 0 {
        return Err(errno::EPERM);
    }
    match cmd {
        CONSOLEIO_WRITE => {
            dom.xen.pv_console_active.store(true, core::sync::atomic::Ordering::Relaxed);
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
        CONSOLEIO_READ => {
            let mut chunk = [0u8; CHUNK];
            let n = {
                let mut input = dom.xen.console_input.lock();
                let n = input.len().min(CHUNK).min(count.min(CHUNK as u64) as usize);
                for byte in chunk.iter_mut().take(n) {
                    *byte = input.pop_front().unwrap_or(0);
                }
                n
            };
            guest::write_va(buffer, &chunk[..n])?;
            crate::console::resume_input();
            Ok(n as i64)
        }
        _ => Err(errno::ENOSYS),
    }
}

/// Whether `dom`'s console is its console_io one: its console output last came that way, and
/// it listens for input (bound VIRQ_CONSOLE, as Linux's hvc_xen does in dom0). A dom0 booted
/// with `console=ttyAMA0` writes to its UART instead, and gets its input there.
pub fn uses_console_io(dom: u16) -> bool {
    dom == 0
        && crate::domain::get(dom).is_some_and(|d| d.xen.pv_console_active.load(core::sync::atomic::Ordering::Relaxed))
        && super::events::virq_bound(dom, xen_evtchn::VIRQ_CONSOLE)
}

/// Room for typed bytes in `dom`'s console_io queue.
pub fn input_space(dom: &crate::domain::Domain) -> usize {
    super::state::CONSOLE_INPUT_CAPACITY.saturating_sub(dom.xen.console_input.lock().len())
}

/// Bytes the user typed for `dom`'s console_io console: queued, VIRQ_CONSOLE raised.
pub fn receive(dom: &crate::domain::Domain, bytes: &[u8]) {
    {
        let mut input = dom.xen.console_input.lock();
        for &byte in bytes {
            if input.len() < super::state::CONSOLE_INPUT_CAPACITY {
                input.push_back(byte);
            }
        }
    }
    super::events::raise_virq(dom.id, xen_evtchn::VIRQ_CONSOLE, 0);
}
