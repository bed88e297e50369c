//! console_io: dom0's console (hvc0) without a device: bytes written go to the serial console
//! with its `[DOM-0] ` prefix; what the user types is queued, announced with VIRQ_CONSOLE and
//! read with CONSOLEIO_read.

use super::HypercallResult;
use crate::domain;
use crate::guest::{self, CurrentVcpu};
use xen_hypercall::{ConsoleIo, Errno};

/// Bytes copied at a time.
const CHUNK: usize = 128;

/// CONSOLEIO_write (at most xen_hypercall::CONSOLE_IO_MAX bytes a call, -E2BIG beyond; 0 on
/// success, as Xen) and CONSOLEIO_read (the typed bytes waiting, up to the buffer's size; they
/// leave the queue only once copied to the guest). dom0 only, as Xen without a debug build.
pub fn console_io(op: ConsoleIo, mem: &CurrentVcpu) -> HypercallResult {
    let dom = domain::current();
    if dom.id != 0 {
        return Err(Errno::EPERM);
    }
    match op {
        ConsoleIo::Write(buffer) => {
            dom.xen.pv_console_active.store(true, core::sync::atomic::Ordering::Relaxed);
            let mut done = 0u32;
            let mut chunk = [0u8; CHUNK];
            while done < buffer.len() {
                let n = buffer.read(mem, done, &mut chunk)?;
                crate::console::guest_output(dom.id, &chunk[..n]);
                done += n as u32;
            }
            Ok(0)
        }
        ConsoleIo::Read(buffer) => {
            let mut bytes = [0u8; super::state::CONSOLE_INPUT_CAPACITY];
            let n = {
                let mut input = dom.xen.console_input.lock();
                let n = input.len().min(bytes.len()).min(buffer.len() as usize);
                for (byte, queued) in bytes.iter_mut().zip(input.iter()).take(n) {
                    *byte = *queued;
                }
                // Still under the lock, so that no other reader takes the same bytes.
                guest::write_va(buffer.base().0, &bytes[..n])?;
                input.drain(..n);
                n
            };
            crate::console::resume_input();
            Ok(n as i64)
        }
        ConsoleIo::Unknown { .. } => Err(Errno::ENOSYS),
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
