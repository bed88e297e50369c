//! Domains and their vCPUs. A domain is a guest: its stage-2 translation, its RAM and its vCPUs,
//! each pinned to one physical CPU. Scheduling is that pinning for now: a physical CPU runs the
//! one vCPU pinned to it, and this file is where a scheduler would grow.

use crate::arch::percpu;
use alloc::string::String;
use alloc::vec::Vec;
use boot_info::MemRange;
use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use page_table::PageTable;
use spin::{Mutex, Once};

/// Domain IDs the hypervisor can hold (dom0 and its domUs).
pub const MAX_DOMAINS: usize = 4;
/// vCPUs a domain can have.
pub const MAX_VCPUS: usize = crate::arch::percpu::MAX_CPUS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum VcpuState {
    Off = 0,
    OnPending = 1,
    On = 2,
}

/// A virtual CPU: the MPIDR its guest sees and the physical CPU that runs it.
pub struct Vcpu {
    pub id: usize,
    pub mpidr: u64,
    pub pcpu: usize,
    state: AtomicU8,
    /// Entry point and context ID of a pending PSCI CPU_ON.
    start: Mutex<Option<(u64, u64)>>,
}

impl Vcpu {
    pub fn new(id: usize, mpidr: u64, pcpu: usize) -> Self {
        Vcpu { id, mpidr, pcpu, state: AtomicU8::new(VcpuState::Off as u8), start: Mutex::new(None) }
    }

    pub fn state(&self) -> VcpuState {
        match self.state.load(Ordering::Acquire) {
            0 => VcpuState::Off,
            1 => VcpuState::OnPending,
            _ => VcpuState::On,
        }
    }

    /// Off -> OnPending with the entry point and context the vCPU will start with.
    pub fn request_start(&self, entry: u64, context: u64) -> Result<(), VcpuState> {
        let mut start = self.start.lock();
        self.state
            .compare_exchange(VcpuState::Off as u8, VcpuState::OnPending as u8, Ordering::AcqRel, Ordering::Acquire)
            .map_err(|_| self.state())?;
        *start = Some((entry, context));
        Ok(())
    }

    /// OnPending -> On; returns the entry point and context ID to start at.
    pub fn take_start(&self) -> Option<(u64, u64)> {
        let mut start = self.start.lock();
        let taken = start.take()?;
        self.state.store(VcpuState::On as u8, Ordering::Release);
        Some(taken)
    }

    /// A CPU_ON the firmware refused: back to Off.
    pub fn abort_start(&self) {
        *self.start.lock() = None;
        self.state.store(VcpuState::Off as u8, Ordering::Release);
    }

    pub fn set_on(&self) {
        self.state.store(VcpuState::On as u8, Ordering::Release);
    }

    pub fn set_off(&self) {
        self.state.store(VcpuState::Off as u8, Ordering::Release);
    }
}

/// Where a domain is in its life (a domU can be destroyed and rebuilt from its boot config).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum DomainState {
    Running = 0,
    /// Being destroyed: its vCPUs stop at their next exit.
    Dying = 1,
    /// Stopped and released; its RAM block and id wait for a restart.
    Destroyed = 2,
}

/// A domain's state, changed by the monitor's destroy and restart and by its stopping vCPUs.
pub struct Lifecycle(AtomicU8);

impl Lifecycle {
    pub const fn new() -> Self {
        Lifecycle(AtomicU8::new(DomainState::Running as u8))
    }
}

/// A guest.
pub struct Domain {
    pub id: u16,
    pub name: String,
    pub lifecycle: Lifecycle,
    /// Guest RAM as the guest sees it, and the host block behind it.
    pub ram_ipa: MemRange,
    pub ram_pa: MemRange,
    /// VTTBR_EL2 value: stage-2 root and VMID.
    pub vttbr: u64,
    pub stage2: Mutex<PageTable>,
    pub vcpus: Vec<Vcpu>,
    /// The domain's interrupt controller.
    pub vgic: Mutex<vgic::Vgic>,
    /// Windows of its IPA space the hypervisor emulates.
    pub mmio: Vec<crate::mmio::Region>,
    /// Its console UART.
    pub console: Option<crate::vconsole::VirtualUart>,
    /// Its Xen ABI state.
    pub xen: crate::xen::DomainXen,
}

impl Domain {
    pub fn state(&self) -> DomainState {
        match self.lifecycle.0.load(Ordering::Acquire) {
            0 => DomainState::Running,
            1 => DomainState::Dying,
            _ => DomainState::Destroyed,
        }
    }

    pub fn set_state(&self, state: DomainState) {
        self.lifecycle.0.store(state as u8, Ordering::Release);
    }

    pub fn is_dying(&self) -> bool {
        self.state() == DomainState::Dying
    }

    pub fn vcpu_by_mpidr(&self, mpidr: u64) -> Option<&Vcpu> {
        let mpidr = mpidr & percpu::MPIDR_AFFINITY_MASK;
        self.vcpus.iter().find(|v| v.mpidr == mpidr)
    }

    pub fn ipa_is_ram(&self, ipa: u64) -> bool {
        self.ram_ipa.contains(ipa)
    }

    /// The host address behind `ipa` in the domain's RAM block (whatever its stage 2 maps
    /// there now: a hole, or a page it mapped from another domain), if `ipa` is in its RAM.
    pub fn ram_block_host(&self, ipa: u64) -> Option<u64> {
        self.ipa_is_ram(ipa).then(|| self.ram_pa.base + (ipa - self.ram_ipa.base))
    }
}

static DOMAINS: [Once<Domain>; MAX_DOMAINS] = [const { Once::new() }; MAX_DOMAINS];

/// Which domain and vCPU each physical CPU runs (domain id << 16 | vcpu id), or NONE.
static RUNNING: [AtomicUsize; percpu::MAX_CPUS] = [const { AtomicUsize::new(NONE) }; percpu::MAX_CPUS];
const NONE: usize = usize::MAX;

/// Registers a domain built at boot; it lives as long as the hypervisor.
pub fn register(domain: Domain) -> &'static Domain {
    let slot = &DOMAINS[domain.id as usize];
    assert!(!slot.is_completed(), "domain {} registered twice", domain.id);
    slot.call_once(|| domain)
}

pub fn get(id: u16) -> Option<&'static Domain> {
    DOMAINS.get(id as usize)?.get()
}

pub fn all() -> impl Iterator<Item = &'static Domain> {
    DOMAINS.iter().filter_map(|d| d.get())
}

/// Records that this physical CPU now runs `vcpu` of `domain`.
pub fn set_running(domain: &Domain, vcpu: &Vcpu) {
    RUNNING[percpu::this_cpu().index].store(((domain.id as usize) << 16) | vcpu.id, Ordering::Release);
}

fn running() -> (&'static Domain, usize) {
    let value = RUNNING[percpu::this_cpu().index].load(Ordering::Acquire);
    assert!(value != NONE, "no vCPU runs on this CPU");
    let domain = get((value >> 16) as u16).expect("running domain exists");
    (domain, value & 0xffff)
}

/// The domain whose vCPU trapped on this CPU.
pub fn current() -> &'static Domain {
    running().0
}

/// The vCPU that trapped on this CPU.
pub fn current_vcpu() -> &'static Vcpu {
    let (domain, vcpu) = running();
    &domain.vcpus[vcpu]
}

/// The vCPU of any domain pinned to physical CPU `pcpu` that waits to be started.
pub fn pending_vcpu_for(pcpu: usize) -> Option<(&'static Domain, &'static Vcpu)> {
    all().find_map(|d| d.vcpus.iter().find(|v| v.pcpu == pcpu && v.state() == VcpuState::OnPending).map(|v| (d, v)))
}
