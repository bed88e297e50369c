//! The physical GICv3, owned by the hypervisor: distributor and redistributors set up once,
//! the CPU interface of each physical CPU, and the virtual CPU interface (ICH_*_EL2) through
//! which the vGIC presents interrupts to the vCPU running here.
//!
//! The physical CPU interface runs with EOImode = 1: acknowledging and dropping the priority of
//! an interrupt is separate from deactivating it, so an interrupt forwarded to a guest stays
//! active until the guest deactivates its virtual twin (ICH_LR.HW), and a device cannot
//! interrupt again before the guest is done with it.

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

// Distributor registers (IHI 0069, 12.9).
const GICD_CTLR: usize = 0x0000;
const GICD_TYPER: usize = 0x0004;
const GICD_IGROUPR: usize = 0x0080;
const GICD_ISENABLER: usize = 0x0100;
const GICD_ICENABLER: usize = 0x0180;
const GICD_ICPENDR: usize = 0x0280;
const GICD_ICACTIVER: usize = 0x0380;
const GICD_IPRIORITYR: usize = 0x0400;
const GICD_IROUTER: usize = 0x6000;
const GICD_CTLR_RWP: u32 = 1 << 31;
const GICD_CTLR_ARE: u32 = 1 << 4;
const GICD_CTLR_ENABLE_GRP1: u32 = 1 << 1;

// Redistributor registers (IHI 0069, 12.11): RD_base frame, then SGI_base 64 KiB above it.
const GICR_TYPER: usize = 0x0008;
const GICR_WAKER: usize = 0x0014;
const GICR_SGI_BASE: usize = 0x1_0000;
const GICR_FRAME_STRIDE: usize = 0x2_0000;
const GICR_TYPER_LAST: u64 = 1 << 4;
const GICR_WAKER_PROCESSOR_SLEEP: u32 = 1 << 1;
const GICR_WAKER_CHILDREN_ASLEEP: u32 = 1 << 2;

/// Priority of every interrupt the hypervisor takes; lower than any guest can mask.
const DEFAULT_PRIORITY: u8 = 0xa0;
/// INTIDs 1020-1023 are special: nothing to acknowledge.
pub const SPURIOUS_FIRST: u32 = 1020;
/// SGI the hypervisor sends another physical CPU to make it look at its vCPU's interrupts.
pub const KICK_SGI: u32 = 0;
/// PPIs (IHI 0069 / Server Base System Architecture assignments, as on QEMU virt).
pub const MAINTENANCE_PPI: u32 = 25;
pub const VIRTUAL_TIMER_PPI: u32 = 27;

static DIST_BASE: AtomicUsize = AtomicUsize::new(0);
static REDIST_BASE: [AtomicUsize; super::percpu::MAX_CPUS] = [const { AtomicUsize::new(0) }; super::percpu::MAX_CPUS];
/// Number of INTIDs the distributor implements (SGIs and PPIs included).
static NR_LINES: AtomicU64 = AtomicU64::new(0);

fn read32(addr: usize) -> u32 {
    // SAFETY: `addr` is a GIC register in the identity-mapped Device region of the GIC.
    unsafe { read_volatile(addr as *const u32) }
}
fn write32(addr: usize, value: u32) {
    // SAFETY: as for read32.
    unsafe { write_volatile(addr as *mut u32, value) }
}
fn read64(addr: usize) -> u64 {
    // SAFETY: as for read32; GICR_TYPER and GICD_IROUTER are 64-bit registers.
    unsafe { read_volatile(addr as *const u64) }
}
fn write64(addr: usize, value: u64) {
    // SAFETY: as for read64.
    unsafe { write_volatile(addr as *mut u64, value) }
}

fn dist() -> usize {
    DIST_BASE.load(Ordering::Relaxed)
}

fn wait_for_rwp() {
    while read32(dist() + GICD_CTLR) & GICD_CTLR_RWP != 0 {
        core::hint::spin_loop();
    }
}

/// Number of interrupt lines (INTIDs 0..n) the distributor implements.
pub fn nr_lines() -> u32 {
    NR_LINES.load(Ordering::Relaxed) as u32
}

/// Sets up the distributor: affinity routing, every SPI Group 1, disabled, routed to CPU 0.
/// Boot CPU, once.
pub fn init_distributor(base: usize) {
    DIST_BASE.store(base, Ordering::Relaxed);
    write32(base + GICD_CTLR, 0);
    wait_for_rwp();
    let lines = (((read32(base + GICD_TYPER) & 0x1f) + 1) * 32).min(1020);
    NR_LINES.store(lines as u64, Ordering::Relaxed);
    for n in (32..lines as usize).step_by(32) {
        write32(base + GICD_ICENABLER + n / 8, u32::MAX);
        write32(base + GICD_ICPENDR + n / 8, u32::MAX);
        write32(base + GICD_ICACTIVER + n / 8, u32::MAX);
        write32(base + GICD_IGROUPR + n / 8, u32::MAX);
    }
    for n in (32..lines as usize).step_by(4) {
        write32(base + GICD_IPRIORITYR + n, u32::from_ne_bytes([DEFAULT_PRIORITY; 4]));
    }
    for n in 32..lines as usize {
        write64(base + GICD_IROUTER + n * 8, 0);
    }
    write32(base + GICD_CTLR, GICD_CTLR_ARE | GICD_CTLR_ENABLE_GRP1);
    wait_for_rwp();
}

/// Finds this CPU's redistributor in `regions` (by GICR_TYPER affinity), wakes it, and sets up
/// the physical and virtual CPU interfaces. Every CPU, before running a vCPU.
pub fn init_cpu(index: usize, mpidr: u64, regions: &[(u64, u64)]) -> bool {
    let Some(rd) = find_redistributor(mpidr, regions) else { return false };
    REDIST_BASE[index].store(rd, Ordering::Relaxed);
    let waker = read32(rd + GICR_WAKER);
    write32(rd + GICR_WAKER, waker & !GICR_WAKER_PROCESSOR_SLEEP);
    while read32(rd + GICR_WAKER) & GICR_WAKER_CHILDREN_ASLEEP != 0 {
        core::hint::spin_loop();
    }
    let sgi = rd + GICR_SGI_BASE;
    write32(sgi + GICD_ICENABLER, u32::MAX);
    write32(sgi + GICD_ICPENDR, u32::MAX);
    write32(sgi + GICD_ICACTIVER, u32::MAX);
    write32(sgi + GICD_IGROUPR, u32::MAX);
    for n in (0..32).step_by(4) {
        write32(sgi + GICD_IPRIORITYR + n, u32::from_ne_bytes([DEFAULT_PRIORITY; 4]));
    }
    // SAFETY: configuring this CPU's own GIC CPU interfaces; EL1 is not running yet.
    unsafe {
        // System register interface for EL2 and EL1.
        core::arch::asm!("msr ICC_SRE_EL2, {}", in(reg) 0b1001u64, options(nostack));
        core::arch::asm!("isb", options(nostack));
        core::arch::asm!("msr ICC_PMR_EL1, {}", in(reg) 0xffu64, options(nostack));
        core::arch::asm!("msr ICC_BPR1_EL1, xzr", options(nostack));
        // EOImode = 1: EOIR drops priority, DIR deactivates.
        core::arch::asm!("msr ICC_CTLR_EL1, {}", in(reg) 1u64 << 1, options(nostack));
        core::arch::asm!("msr ICC_IGRPEN1_EL1, {}", in(reg) 1u64, options(nostack));
        // Virtual CPU interface on; nothing in the list registers.
        for lr in 0..nr_list_registers() {
            write_lr(lr, 0);
        }
        core::arch::asm!("msr ICH_VMCR_EL2, xzr", options(nostack));
        core::arch::asm!("msr ICH_HCR_EL2, {}", in(reg) 1u64, options(nostack));
        core::arch::asm!("isb", options(nostack));
    }
    for ppi in [KICK_SGI, MAINTENANCE_PPI, VIRTUAL_TIMER_PPI] {
        enable(ppi);
    }
    true
}

fn find_redistributor(mpidr: u64, regions: &[(u64, u64)]) -> Option<usize> {
    let affinity = ((mpidr >> 8) & 0xff00_0000) | (mpidr & 0x00ff_ffff);
    for &(base, size) in regions {
        let mut rd = base as usize;
        while (rd as u64) < base + size {
            let typer = read64(rd + GICR_TYPER);
            if typer >> 32 == affinity {
                return Some(rd);
            }
            if typer & GICR_TYPER_LAST != 0 {
                break;
            }
            rd += GICR_FRAME_STRIDE;
        }
    }
    None
}

fn this_redist() -> usize {
    REDIST_BASE[super::percpu::this_cpu().index].load(Ordering::Relaxed)
}

/// Enables `intid`: an SGI/PPI of this CPU, or an SPI (then also routed to physical CPU
/// `cpu_mpidr`'s affinity = CPU 0 by default, level or edge as configured).
pub fn enable(intid: u32) {
    let (base, n) = if intid < 32 { (this_redist() + GICR_SGI_BASE, intid) } else { (dist(), intid) };
    write32(base + GICD_ISENABLER + (n as usize / 32) * 4, 1 << (n % 32));
    if intid >= 32 {
        wait_for_rwp();
    }
}

/// Acknowledges the highest-priority pending interrupt; `None` when there is none.
pub fn acknowledge() -> Option<u32> {
    let intid: u64;
    // SAFETY: reading IAR acknowledges an interrupt, which the caller then handles.
    unsafe { core::arch::asm!("mrs {}, ICC_IAR1_EL1", out(reg) intid, options(nostack)) };
    let intid = (intid & 0xff_ffff) as u32;
    (intid < SPURIOUS_FIRST).then_some(intid)
}

/// Drops the running priority of `intid` (EOImode = 1: it stays active).
pub fn end_of_interrupt(intid: u32) {
    // SAFETY: `intid` was acknowledged on this CPU.
    unsafe { core::arch::asm!("msr ICC_EOIR1_EL1, {}", in(reg) intid as u64, options(nostack)) };
}

/// Deactivates `intid`: it may be signalled again.
pub fn deactivate(intid: u32) {
    // SAFETY: `intid` was acknowledged on this CPU and is not linked to a guest's interrupt.
    unsafe { core::arch::asm!("msr ICC_DIR_EL1, {}", in(reg) intid as u64, options(nostack)) };
}

/// Sends SGI `intid` to the physical CPU with affinity `mpidr`.
pub fn send_sgi(intid: u32, mpidr: u64) {
    let aff1 = (mpidr >> 8) & 0xff;
    let aff2 = (mpidr >> 16) & 0xff;
    let aff3 = (mpidr >> 32) & 0xff;
    let target_list = 1u64 << (mpidr & 0xf);
    let range_selector = (mpidr & 0xff) >> 4;
    let value = (aff3 << 48) | (range_selector << 44) | (aff2 << 32) | ((intid as u64 & 0xf) << 24) | (aff1 << 16) | target_list;
    // SAFETY: generating an SGI has no memory effects.
    unsafe { core::arch::asm!("dsb ishst", "msr ICC_SGI1R_EL1, {}", "isb", in(reg) value, options(nostack)) };
}

/// Implemented virtual priority bits (ICH_VTR_EL2.PRIbits + 1).
pub fn priority_bits() -> u8 {
    let vtr: u64;
    // SAFETY: reading ICH_VTR_EL2 has no side effect.
    unsafe { core::arch::asm!("mrs {}, ICH_VTR_EL2", out(reg) vtr, options(nomem, nostack)) };
    (((vtr >> 29) & 0x7) + 1) as u8
}

/// Number of list registers (ICH_VTR_EL2.ListRegs + 1).
pub fn nr_list_registers() -> usize {
    let vtr: u64;
    // SAFETY: reading ICH_VTR_EL2 has no side effect.
    unsafe { core::arch::asm!("mrs {}, ICH_VTR_EL2", out(reg) vtr, options(nomem, nostack)) };
    ((vtr & 0x1f) + 1) as usize
}

macro_rules! lr_access {
    ($($n:literal),*) => {
        /// Reads list register `index`.
        pub fn read_lr(index: usize) -> u64 {
            let value: u64;
            match index {
                $($n => {
                    // SAFETY: reading a list register has no side effect.
                    unsafe { core::arch::asm!(concat!("mrs {}, ICH_LR", $n, "_EL2"), out(reg) value, options(nomem, nostack)) }
                })*
                _ => value = 0,
            }
            value
        }

        /// Writes list register `index`.
        pub fn write_lr(index: usize, value: u64) {
            match index {
                $($n => {
                    // SAFETY: list registers only affect what the vCPU on this CPU sees.
                    unsafe { core::arch::asm!(concat!("msr ICH_LR", $n, "_EL2, {}"), in(reg) value, options(nomem, nostack)) }
                })*
                _ => {}
            }
        }
    };
}
lr_access!(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

/// ICH_HCR_EL2: the virtual CPU interface enabled, with the underflow maintenance interrupt
/// when more interrupts wait than the list registers hold.
pub fn set_underflow_interrupt(enabled: bool) {
    let value: u64 = 1 | if enabled { 1 << 1 } else { 0 };
    // SAFETY: only changes when the maintenance interrupt fires on this CPU.
    unsafe { core::arch::asm!("msr ICH_HCR_EL2, {}", in(reg) value, options(nostack)) };
}
