//! Per physical CPU state, found through TPIDR_EL2.

use aarch64_cpu::registers::{Readable, Writeable, MPIDR_EL1, TPIDR_EL2};

/// Physical CPUs the hypervisor supports (QEMU virt here has 2).
pub const MAX_CPUS: usize = 4;
/// EL2 stack per physical CPU.
pub const STACK_SIZE: usize = 0x10000;

/// What each physical CPU knows about itself.
#[derive(Debug)]
pub struct PerCpu {
    pub index: usize,
    pub mpidr: u64,
}

static mut PER_CPU: [PerCpu; MAX_CPUS] = [const { PerCpu { index: 0, mpidr: 0 } }; MAX_CPUS];

/// Affinity fields of MPIDR_EL1 (Aff3..Aff0), without the U/MT bits.
pub const MPIDR_AFFINITY_MASK: u64 = 0xff_00ff_ffff;

/// Records this CPU's index and points TPIDR_EL2 at its `PerCpu`.
pub fn init(index: usize) {
    assert!(index < MAX_CPUS);
    // SAFETY: each CPU writes only its own slot, once, before anything reads it.
    let slot = unsafe { &mut *core::ptr::addr_of_mut!(PER_CPU[index]) };
    slot.index = index;
    slot.mpidr = MPIDR_EL1.get() & MPIDR_AFFINITY_MASK;
    TPIDR_EL2.set(slot as *mut PerCpu as u64);
}

/// This CPU's `PerCpu`.
pub fn this_cpu() -> &'static PerCpu {
    let ptr = TPIDR_EL2.get() as *const PerCpu;
    assert!(!ptr.is_null(), "per-CPU data used before percpu::init");
    // SAFETY: TPIDR_EL2 is set by `init` to a static slot that is never written again.
    unsafe { &*ptr }
}

/// Returns the top of physical CPU `index`'s EL2 stack.
pub fn stack_top(index: usize) -> usize {
    let base = core::ptr::addr_of!(crate::arch::head::BOOT_STACKS) as usize;
    base + (index + 1) * STACK_SIZE
}

/// Guest entry frames, staged off the stack by `exceptions::enter_guest`.
static mut ENTRY_FRAMES: [crate::arch::exceptions::TrapFrame; MAX_CPUS] =
    [const { crate::arch::exceptions::TrapFrame::zeroed() }; MAX_CPUS];

/// This CPU's staging slot for the frame it enters a guest with.
pub fn entry_frame() -> &'static mut crate::arch::exceptions::TrapFrame {
    // SAFETY: each CPU uses only its own slot, and only between building a frame and entering
    // the guest with it, never reentrantly.
    unsafe { &mut *core::ptr::addr_of_mut!(ENTRY_FRAMES[this_cpu().index]) }
}

/// Each CPU's guest context as of its last exit to the hypervisor, for the monitor.
static LAST_GUEST_FRAMES: [spin::Mutex<crate::arch::exceptions::TrapFrame>; MAX_CPUS] =
    [const { spin::Mutex::new(crate::arch::exceptions::TrapFrame::zeroed()) }; MAX_CPUS];

/// Records the guest context of this CPU's latest exit.
pub fn record_guest_frame(frame: &crate::arch::exceptions::TrapFrame) {
    *LAST_GUEST_FRAMES[this_cpu().index].lock() = *frame;
}

/// The guest context physical CPU `index` last exited with.
pub fn last_guest_frame(index: usize) -> crate::arch::exceptions::TrapFrame {
    LAST_GUEST_FRAMES.get(index).map(|f| *f.lock()).unwrap_or_default()
}
