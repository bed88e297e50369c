//! REPTAR on Rust: the EL2 hypervisor.
//!
//! QEMU enters it at EL2 with the host device tree; it turns its MMU on, reads the boot
//! configuration (the dom0 kernel and initramfs as multiboot modules), builds dom0 (its RAM
//! mapped 1:1 by stage 2, its kernel, initramfs and device tree), and runs it at EL1. From then
//! on it runs only when a guest traps.

#![no_std]
#![no_main]

extern crate alloc;

mod arch;
mod board;
mod builder;
mod console;
mod display;
mod domain;
mod guest;
mod heap;
mod irq;
mod keyboard;
mod lifecycle;
mod mmio;
mod monitor;
mod psci;
mod traps;
mod vconsole;
mod virtio;
mod xen;

use alloc::vec::Vec;
use arch::{exceptions, mmu, percpu};
use core::sync::atomic::{AtomicBool, Ordering};
use spin::Once;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the hypervisor learnt about the board at boot and every CPU needs afterwards.
pub struct Platform {
    /// MPIDR affinity of each physical CPU, by index.
    pub cpus: Vec<u64>,
    /// The GIC redistributor regions (base, size), where each CPU finds its own.
    pub redist_regions: Vec<(u64, u64)>,
    /// Whether the firmware's PSCI is reached by HVC (else SMC).
    pub firmware_uses_hvc: bool,
    /// The hypervisor's EL2 translation table root.
    pub el2_root: u64,
    /// VTCR_EL2 for every domain.
    pub vtcr: u64,
}

impl Platform {
    pub fn cpu_mpidr(&self, index: usize) -> u64 {
        self.cpus.get(index).copied().unwrap_or(u64::MAX)
    }
}

static PLATFORM: Once<Platform> = Once::new();
/// Set when the firmware conduit is HVC; read by the power-off paths, which may run before the
/// platform is known (a bad boot configuration).
static FIRMWARE_HVC: AtomicBool = AtomicBool::new(false);

pub fn platform() -> &'static Platform {
    PLATFORM.get().expect("platform known")
}

pub fn firmware_uses_hvc() -> bool {
    FIRMWARE_HVC.load(Ordering::Relaxed)
}

fn set_platform(platform: Platform) -> &'static Platform {
    FIRMWARE_HVC.store(platform.firmware_uses_hvc, Ordering::Relaxed);
    PLATFORM.call_once(|| platform)
}

/// The boot CPU, MMU off, x0 = the host device tree.
#[no_mangle]
extern "C" fn primary_main(dtb: usize) -> ! {
    percpu::init(0);
    mmu::enable_boot_map();
    heap::init();
    console::init(console::DEFAULT_UART_BASE);
    println!("REPTAR on Rust hypervisor {VERSION}: Rust at EL2, Xen ABI for its guests");
    match builder::boot(dtb) {
        Ok(never) => match never {},
        Err(error) => {
            println!("boot error: {error}");
            system_off("cannot boot: fix the boot configuration (see scripts/launch)")
        }
    }
}

/// A secondary CPU started by a guest's PSCI CPU_ON, MMU off, x0 = its index.
#[no_mangle]
extern "C" fn secondary_main(index: usize) -> ! {
    percpu::init(index);
    let platform = platform();
    mmu::enable_final_map(platform.el2_root);
    if !arch::gic::init_cpu(index, percpu::this_cpu().mpidr, &platform.redist_regions) {
        println!("CPU {index}: no GIC redistributor: turning it off");
        psci::firmware_cpu_off()
    }
    let Some((dom, vcpu)) = domain::pending_vcpu_for(index) else {
        println!("CPU {index} started with no vCPU to run: turning it off");
        psci::firmware_cpu_off()
    };
    let Some((entry, context)) = vcpu.take_start() else {
        println!("CPU {index}: {}v{} start request vanished", dom.name, vcpu.id);
        psci::firmware_cpu_off()
    };
    run_vcpu(dom, vcpu, entry, context)
}

/// Runs `vcpu` on this physical CPU from `entry` with x0 = `x0`, MMU off at EL1.
pub fn run_vcpu(dom: &'static domain::Domain, vcpu: &'static domain::Vcpu, entry: u64, x0: u64) -> ! {
    vcpu.set_on();
    domain::set_running(dom, vcpu);
    arch::cpu::init_stage2(platform().vtcr);
    arch::cpu::load_vcpu_context(dom.vttbr, vcpu.mpidr);
    let frame = exceptions::TrapFrame::guest_entry(entry, x0);
    exceptions::enter_guest(&frame, percpu::stack_top(percpu::this_cpu().index))
}

/// The vCPU running here turned itself off (PSCI CPU_OFF).
pub fn vcpu_stopped() -> ! {
    let dom = domain::current();
    let vcpu = domain::current_vcpu();
    println!("{}v{} is off (CPU_OFF)", dom.name, vcpu.id);
    psci::firmware_cpu_off()
}

/// A domain cannot go on. dom0's end is the board's; a domU's vCPU on this CPU stops and the
/// CPU is turned off (its other vCPUs, if any, stop at their next exit).
pub fn stop_domain(dom: &domain::Domain, reason: &str) -> ! {
    println!("{} stopped: {reason}", dom.name);
    if dom.id == 0 {
        system_off("dom0 is gone")
    }
    for vcpu in &dom.vcpus {
        vcpu.set_off();
    }
    psci::firmware_cpu_off()
}

pub fn system_off(reason: &str) -> ! {
    println!("{reason}: powering off");
    psci::firmware_system_off()
}

pub fn system_reset(reason: &str) -> ! {
    println!("{reason}: resetting");
    psci::firmware_system_reset()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    console::force_unlock();
    println!("PANIC on CPU {}: {info}", aarch64_cpu::registers::Readable::get(&aarch64_cpu::registers::MPIDR_EL1) & 0xff);
    system_off("hypervisor panic")
}
