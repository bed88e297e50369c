//! How the hypervisor uses the crate (the example of docs/xen-evtchn-gnttab.md, compiled).

use std::sync::atomic::AtomicU64;

use xen_evtchn::delivery::{self, layout};
use xen_evtchn::{
    DomId, DomainConfig, EventChannels, EventMemory, SharedBitmaps, Upcall, VcpuInfoBits,
    EVTCHNOP_ALLOC_UNBOUND, EVTCHNOP_BIND_INTERDOMAIN, EVTCHNOP_SEND,
};

/// What the hypervisor keeps per domain: its shared_info page (allocated at domain creation,
/// mapped into the guest on XENMAPSPACE_shared_info) and, per vCPU, where its vcpu_info is.
/// In the hypervisor these are views of guest pages through its own mapping; here, vectors.
struct Domain {
    id: DomId,
    shared_info: Vec<AtomicU64>,
    vcpu_info: Vec<Option<Vec<AtomicU64>>>,
}

struct Hypervisor {
    domains: Vec<Domain>,
}

impl EventMemory for Hypervisor {
    fn shared_bitmaps(&self, dom: DomId) -> Option<SharedBitmaps<'_>> {
        let d = self.domains.iter().find(|d| d.id == dom)?;
        SharedBitmaps::from_shared_info(&d.shared_info)
    }

    fn vcpu_info(&self, dom: DomId, vcpu: u32) -> Option<VcpuInfoBits<'_>> {
        let d = self.domains.iter().find(|d| d.id == dom)?;
        match d.vcpu_info.get(vcpu as usize)? {
            Some(area) => VcpuInfoBits::from_vcpu_info(area),
            // Before VCPUOP_register_vcpu_info, vCPU 0 uses shared_info.vcpu_info[0].
            None if vcpu < layout::LEGACY_MAX_VCPUS => {
                VcpuInfoBits::from_vcpu_info(&d.shared_info[..layout::VCPU_INFO_SIZE / 8])
            }
            None => None,
        }
    }
}

fn page() -> Vec<AtomicU64> {
    (0..512).map(|_| AtomicU64::new(0)).collect()
}

#[test]
fn glue_example() {
    // At boot: one table for all domains, behind the hypervisor's event-channel lock.
    let mut ev = EventChannels::new(8).unwrap();
    let mut hv = Hypervisor {
        domains: Vec::new(),
    };
    for (id, vcpus, privileged) in [(0u16, 2u32, true), (1, 1, false)] {
        ev.add_domain(DomainConfig {
            privileged,
            ..DomainConfig::new(id, vcpus)
        })
        .unwrap();
        hv.domains.push(Domain {
            id,
            shared_info: page(),
            vcpu_info: (0..vcpus).map(|_| None).collect(),
        });
    }

    // VCPUOP_register_vcpu_info from dom0's vCPU 1: check the placement, record the area,
    // then mark everything pending and inject the event PPI, as Xen does.
    let gaddr = 0x4123_4040u64;
    delivery::vcpu_info_area_check(gaddr).unwrap();
    hv.domains[0].vcpu_info[1] = Some((0..6).map(|_| AtomicU64::new(0)).collect());
    let vi = hv.vcpu_info(0, 1).unwrap();
    assert_eq!(delivery::mark_all_pending(&vi), delivery::Delivery::Upcall);

    // Trap: hvc #0xEA1 with x16 = __HYPERVISOR_event_channel_op (32), x0 = cmd, x1 = arg.
    // The glue copies arg_size(cmd) bytes from the guest, runs the operation, copies back
    // on success, sets x0, and injects the upcall if one is returned.
    let mut alloc = [0u8; 8];
    alloc[..2].copy_from_slice(&0x7ff0u16.to_le_bytes()); // dom = DOMID_SELF
    alloc[2..4].copy_from_slice(&0u16.to_le_bytes()); // remote_dom = 0
    let out = ev.hypercall(1, EVTCHNOP_ALLOC_UNBOUND, &mut alloc, &hv);
    assert_eq!(out.ret, 0);
    let port = u32::from_le_bytes(alloc[4..8].try_into().unwrap());

    let mut bind = [0u8; 12];
    bind[..2].copy_from_slice(&1u16.to_le_bytes());
    bind[4..8].copy_from_slice(&port.to_le_bytes());
    let out = ev.hypercall(0, EVTCHNOP_BIND_INTERDOMAIN, &mut bind, &hv);
    assert_eq!(out.ret, 0);
    assert_eq!(out.upcall, Some(Upcall { dom: 0, vcpu: 0 }));

    let mut send = port.to_le_bytes();
    let out = ev.hypercall(1, EVTCHNOP_SEND, &mut send, &hv);
    assert_eq!(out.ret, 0);
    // dom0 has not handled the bind's event yet: the port is still pending, events merge.
    assert_eq!(out.upcall, None);

    // The monitor.
    let s = ev.stats(0).unwrap();
    assert_eq!((s.ports_in_use, s.interdomain, s.upcalls), (1, 1, 1));

    // Domain destruction: peers go back to unbound.
    let summary = ev.remove_domain(1).unwrap();
    assert_eq!(summary.peers_unbound, 1);
}
