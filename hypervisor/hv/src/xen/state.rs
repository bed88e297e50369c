//! What the hypervisor keeps per domain for the Xen ABI: where its shared-info page and vCPU
//! infos are, its grant-table frames, its HVM parameters.

use crate::domain::MAX_VCPUS;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;

// hvm/params.h
pub const HVM_PARAM_STORE_PFN: u32 = 1;
pub const HVM_PARAM_STORE_EVTCHN: u32 = 2;
pub const HVM_PARAM_CONSOLE_PFN: u32 = 17;
pub const HVM_PARAM_CONSOLE_EVTCHN: u32 = 18;

/// Not set: no address yet.
const NONE: u64 = u64::MAX;

pub struct DomainXen {
    /// IPA of the shared_info page (a page of the domain's RAM it chose), or NONE.
    shared_info: AtomicU64,
    /// IPA of each vCPU's vcpu_info, or NONE.
    vcpu_info: [AtomicU64; MAX_VCPUS],
    /// Its grant table: the hypervisor pages behind it.
    pub grant_table: super::grants::TableFrames,
    store: Mutex<Option<(u64, u32)>>,
    console: Mutex<Option<(u64, u32)>>,
    /// What the user typed for dom0's console_io console (hvc0), not read yet.
    pub console_input: Mutex<alloc::collections::VecDeque<u8>>,
    /// Pages of its RAM block it gave back (decrease_reservation) and has not taken again.
    pub pages_given_back: AtomicU64,
    /// The domain's console output last came through its paravirtual console (console_io for
    /// dom0, the console ring for a domU: hvc0) rather than its UART: typed input goes where
    /// the console is.
    pub pv_console_active: core::sync::atomic::AtomicBool,
}

/// Typed bytes held for a console_io console before it reads them.
pub const CONSOLE_INPUT_CAPACITY: usize = 256;

impl DomainXen {
    /// `None` when the hypervisor has no memory left for the grant table.
    pub fn new() -> Option<Self> {
        let grant_table = super::grants::TableFrames::new()?;
        Some(DomainXen {
            shared_info: AtomicU64::new(NONE),
            vcpu_info: [const { AtomicU64::new(NONE) }; MAX_VCPUS],
            grant_table,
            pages_given_back: AtomicU64::new(0),
            store: Mutex::new(None),
            console: Mutex::new(None),
            console_input: Mutex::new(alloc::collections::VecDeque::new()),
            pv_console_active: core::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Forgets everything the domain told the hypervisor, for a rebuilt domain: no shared info,
    /// no vcpu_info, an empty grant table, no rings, no typed input.
    pub fn reset(&self) {
        self.shared_info.store(NONE, Ordering::Release);
        for slot in &self.vcpu_info {
            slot.store(NONE, Ordering::Release);
        }
        self.grant_table.clear();
        *self.store.lock() = None;
        *self.console.lock() = None;
        self.console_input.lock().clear();
        self.pv_console_active.store(false, Ordering::Relaxed);
        self.pages_given_back.store(0, Ordering::Relaxed);
    }

    pub fn set_shared_info(&self, ipa: u64) {
        self.shared_info.store(ipa, Ordering::Release);
    }

    pub fn shared_info(&self) -> Option<u64> {
        Some(self.shared_info.load(Ordering::Acquire)).filter(|&a| a != NONE)
    }

    /// Registers vCPU `vcpu`'s vcpu_info at `ipa`; once only, as Xen allows (-EBUSY after).
    pub fn register_vcpu_info(&self, vcpu: usize, ipa: u64) -> Result<(), xen_hypercall::Errno> {
        let slot = self.vcpu_info.get(vcpu).ok_or(xen_hypercall::Errno::ENOENT)?;
        slot.compare_exchange(NONE, ipa, Ordering::AcqRel, Ordering::Acquire).map(|_| ()).map_err(|_| xen_hypercall::Errno::EBUSY)
    }

    pub fn vcpu_info(&self, vcpu: usize) -> Option<u64> {
        self.vcpu_info.get(vcpu).map(|a| a.load(Ordering::Acquire)).filter(|&a| a != NONE)
    }

    /// The xenstore ring (IPA of its page, event channel), once the domain has one.
    pub fn set_store(&self, pfn: u64, port: u32) {
        *self.store.lock() = Some((pfn, port));
    }

    pub fn set_console(&self, pfn: u64, port: u32) {
        *self.console.lock() = Some((pfn, port));
    }

    /// HVMOP_get_param: 0 for the rings the domain does not have (Linux then does without).
    pub fn hvm_param(&self, index: u32) -> Option<u64> {
        let store = *self.store.lock();
        let console = *self.console.lock();
        match index {
            HVM_PARAM_STORE_PFN => Some(store.map_or(0, |s| s.0)),
            HVM_PARAM_STORE_EVTCHN => Some(store.map_or(0, |s| u64::from(s.1))),
            HVM_PARAM_CONSOLE_PFN => Some(console.map_or(0, |c| c.0)),
            HVM_PARAM_CONSOLE_EVTCHN => Some(console.map_or(0, |c| u64::from(c.1))),
            _ => None,
        }
    }
}
