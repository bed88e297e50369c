//! Access to guest memory on behalf of the guest running on this CPU: guest virtual addresses
//! (hypercall arguments are kernel pointers) translated through the guest's own stage 1 and its
//! stage 2 by the MMU itself (AT S12E1R/W), page by page. Whatever does not translate, or is
//! not Normal memory, is refused: a guest can only make the hypervisor touch its own memory.

use aarch64_cpu::registers::{Readable, Writeable, PAR_EL1};

const PAGE: u64 = 4096;

/// A guest address the hypervisor could not use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    pub va: u64,
}

/// PAR_EL1 after an AT: F (bit 0) says the walk failed; PA[47:12]; ATTR[63:56] the memory
/// attributes of the combined translation (0xff, 0x44... are Normal; 0x0x are Device).
const PAR_F: u64 = 1;
const PAR_PA_MASK: u64 = 0x0000_ffff_ffff_f000;

/// Translates the current vCPU's virtual address `va` for a read or a write by the hypervisor,
/// returning the host physical address (identity mapped in the hypervisor's map).
pub fn translate_va(va: u64, write: bool) -> Result<u64, Fault> {
    // PAR_EL1 is the guest's register: keep its value.
    let saved = PAR_EL1.get();
    // SAFETY: an address translation instruction only writes PAR_EL1 (restored below); it uses
    // the guest's EL1 translation regime and this domain's stage 2, both loaded on this CPU.
    unsafe {
        if write {
            core::arch::asm!("at s12e1w, {}", "isb", in(reg) va, options(nostack));
        } else {
            core::arch::asm!("at s12e1r, {}", "isb", in(reg) va, options(nostack));
        }
    }
    let par = PAR_EL1.get();
    PAR_EL1.set(saved);
    let attr = par >> 56;
    let normal = attr & 0xf0 != 0; // outer attribute not Device
    if par & PAR_F != 0 || !normal {
        return Err(Fault { va });
    }
    Ok((par & PAR_PA_MASK) | (va & (PAGE - 1)))
}

/// Copies `buf.len()` bytes from the current vCPU's virtual address `va`.
pub fn read_va(va: u64, buf: &mut [u8]) -> Result<(), Fault> {
    let mut done = 0usize;
    while done < buf.len() {
        let addr = va.checked_add(done as u64).ok_or(Fault { va })?;
        let chunk = ((PAGE - (addr & (PAGE - 1))) as usize).min(buf.len() - done);
        let pa = translate_va(addr, false)?;
        // SAFETY: `pa` is Normal memory the guest can read (its own), identity mapped in the
        // hypervisor's map, and the chunk stays within its page.
        unsafe { core::ptr::copy_nonoverlapping(pa as *const u8, buf[done..].as_mut_ptr(), chunk) };
        done += chunk;
    }
    Ok(())
}

/// Copies `buf` to the current vCPU's virtual address `va`.
pub fn write_va(va: u64, buf: &[u8]) -> Result<(), Fault> {
    let mut done = 0usize;
    while done < buf.len() {
        let addr = va.checked_add(done as u64).ok_or(Fault { va })?;
        let chunk = ((PAGE - (addr & (PAGE - 1))) as usize).min(buf.len() - done);
        let pa = translate_va(addr, true)?;
        // SAFETY: `pa` is Normal memory the guest can write (its own), identity mapped in the
        // hypervisor's map, and the chunk stays within its page.
        unsafe { core::ptr::copy_nonoverlapping(buf[done..].as_ptr(), pa as *mut u8, chunk) };
        done += chunk;
    }
    Ok(())
}

/// The memory of the vCPU running on this CPU, as the hypercall decoder (xen-hypercall) reads
/// it: guest virtual addresses, translated as [`read_va`] does.
pub struct CurrentVcpu;

impl xen_hypercall::GuestMemory for CurrentVcpu {
    fn read(&self, va: u64, buf: &mut [u8]) -> Result<(), xen_hypercall::Fault> {
        read_va(va, buf).map_err(|f| xen_hypercall::Fault { va: f.va })
    }
}

impl From<Fault> for xen_hypercall::Errno {
    fn from(_: Fault) -> Self {
        xen_hypercall::Errno::EFAULT
    }
}

/// The host address of the domain's guest physical address `ipa`, when its stage 2 maps it as
/// Normal memory with the access asked for.
pub fn ipa_to_host(dom: &crate::domain::Domain, ipa: u64, write: bool) -> Option<u64> {
    let t = dom.stage2.lock().translate(&crate::arch::mmu::HeapTables, ipa)?;
    (t.attrs.mem == page_table::MemType::Normal && t.attrs.access.read && (!write || t.attrs.access.write)).then_some(t.output)
}
