//! How the hypervisor uses the crate (the example of docs/xen-evtchn-gnttab.md, compiled).

use std::collections::HashMap;
use std::sync::atomic::AtomicU32;

use xen_gnttab::{
    DomId, DomainConfig, GntSt, GrantEntry, GrantRef, GrantTableMemory, GrantTables, MapRequest,
    UnmapRequest, GNTMAP_HOST_MAP, GTF_PERMIT_ACCESS,
};

/// The hypervisor allocates `max_frames` zeroed pages per domain for its grant table when it
/// creates the domain, and maps them into the guest on XENMAPSPACE_grant_table. Here the
/// pages are vectors of words; in the hypervisor, views of its own pages.
struct Hypervisor {
    grant_frames: HashMap<DomId, Vec<Vec<AtomicU32>>>,
    /// Stage 2, reduced to what this example needs: (domain, gfn) -> machine address.
    stage2: HashMap<(DomId, u64), u64>,
}

impl GrantTableMemory for Hypervisor {
    fn entry(&self, dom: DomId, gref: GrantRef) -> Option<GrantEntry<'_>> {
        GrantEntry::in_frames(self.grant_frames.get(&dom)?, gref)
    }
}

#[test]
fn glue_example() {
    let mut gt = GrantTables::new(8).unwrap();
    let mut hv = Hypervisor {
        grant_frames: HashMap::new(),
        stage2: HashMap::new(),
    };
    for (dom, privileged) in [(0u16, true), (1, false)] {
        let c = DomainConfig {
            privileged,
            ..DomainConfig::new(dom)
        };
        gt.add_domain(c).unwrap();
        let frames = (0..c.max_frames)
            .map(|_| (0..1024).map(|_| AtomicU32::new(0)).collect())
            .collect();
        hv.grant_frames.insert(dom, frames);
    }
    hv.stage2.insert((1, 0x40010), 0x8_4001_0000);

    // domU: XENMEM_add_to_physmap(XENMAPSPACE_grant_table, idx 0, gpfn 0x38000). The
    // hypervisor maps grant_frames[1][0] at gfn 0x38000 of domU's stage 2.
    let f = gt.map_frame(1, 0, 0x38000).unwrap();
    assert_eq!(f.idx, 0);

    // domU grants its ring page (gfn 0x40010) to dom0 by writing entry 8 of its table.
    let e = hv.entry(1, 8).unwrap();
    e.frame.store(0x40010, std::sync::atomic::Ordering::SeqCst);
    e.header.store(
        u32::from(GTF_PERMIT_ACCESS),
        std::sync::atomic::Ordering::SeqCst,
    );

    // dom0: GNTTABOP_map_grant_ref { host_addr, GNTMAP_host_map, ref 8, dom 1 }. The
    // closure runs once the grant is validated and pinned: translate the granter's gfn,
    // map it at host_gfn in dom0's stage 2, return the machine address (dev_bus_addr).
    let req = MapRequest {
        host_addr: 0x7_0000_0000,
        flags: GNTMAP_HOST_MAP,
        gref: 8,
        dom: 1,
    };
    let stage2 = &hv.stage2;
    let m = gt
        .map_grant_ref(0, &req, &hv, |t| {
            let maddr = *stage2.get(&(t.granter, t.gfn)).ok_or(GntSt::BadPage)?;
            // ... install t.host_gfn -> maddr (read-only if t.readonly) in dom0's stage 2 ...
            Ok(maddr)
        })
        .unwrap();
    assert_eq!(m.dev_bus_addr, 0x8_4001_0000);

    // dom0: GNTTABOP_unmap_grant_ref { host_addr, dev_bus_addr 0, handle }. The closure
    // removes the stage-2 entry and invalidates the TLB before the grant is released.
    let req = UnmapRequest {
        host_addr: 0x7_0000_0000,
        dev_bus_addr: 0,
        handle: m.handle,
    };
    gt.unmap_grant_ref(0, &req, &hv, |mapping| {
        assert_eq!(mapping.host_gfn, 0x70_0000);
        // ... remove mapping.host_gfn from dom0's stage 2, TLBI, DSB ...
        Ok(())
    })
    .unwrap();

    // Monitor, then domain destruction.
    let s = gt.stats(0).unwrap();
    assert_eq!((s.maps, s.unmaps, s.maptrack_used), (1, 1, 0));
    let report = gt.release_domain(1, &hv).unwrap();
    assert_eq!(report.foreign_mappings, 0);
}
