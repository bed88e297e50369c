//! Each grant operation on its own: results, the flags in the granter's table, and the
//! `GNTST_*` / errno of every rejected argument (Xen's choice, xen/common/grant_table.c and
//! xen/arch/arm/mm.c).

mod harness;

use harness::{World, RAM_BASE};
use xen_gnttab::{
    set_version, CopyPtr, CopyRequest, DomainConfig, Errno, GntSt, GrantTables, MapRequest,
    ReleaseReport, TableSize, UnmapRequest, DEFAULT_MAX_FRAMES, DEFAULT_MAX_MAPTRACK, DOMID_SELF,
    GNTCOPY_DEST_GREF, GNTCOPY_SOURCE_GREF, GNTMAP_APPLICATION_MAP, GNTMAP_CONTAINS_PTE,
    GNTMAP_DEVICE_MAP, GNTMAP_HOST_MAP, GNTMAP_READONLY, GTF_ACCEPT_TRANSFER, GTF_PAT,
    GTF_PERMIT_ACCESS, GTF_READING, GTF_READONLY, GTF_SUB_PAGE, GTF_WRITING, MAX_GRANT_FRAMES,
    MAX_MAPTRACK, XENMAPIDX_GRANT_TABLE_STATUS,
};

const DOM0: u16 = 0;
const DOMU: u16 = 1;
const DOM2: u16 = 2;
const HOST: u32 = GNTMAP_HOST_MAP;
const RO: u32 = GNTMAP_HOST_MAP | GNTMAP_READONLY;
/// Where dom0 maps grants (ballooned pages) in these tests.
const BALLOON: u64 = 0x7_0000;

fn world() -> World {
    let mut w = World::new(4);
    w.add(DomainConfig {
        privileged: true,
        ..DomainConfig::new(DOM0)
    });
    w.add(DomainConfig::new(DOMU));
    w.add(DomainConfig {
        max_frames: 1,
        max_maptrack: 2,
        ..DomainConfig::new(DOM2)
    });
    for d in [DOM0, DOMU, DOM2] {
        w.map_frames(d, 1, 0x38000);
    }
    w
}

#[test]
fn add_domain_checks_its_configuration() {
    let mut gt = GrantTables::new(1).unwrap();
    for c in [
        DomainConfig::new(DOMID_SELF),
        DomainConfig {
            max_frames: 0,
            ..DomainConfig::new(1)
        },
        DomainConfig {
            max_frames: MAX_GRANT_FRAMES + 1,
            ..DomainConfig::new(1)
        },
        DomainConfig {
            max_maptrack: 0,
            ..DomainConfig::new(1)
        },
        DomainConfig {
            max_maptrack: MAX_MAPTRACK + 1,
            ..DomainConfig::new(1)
        },
    ] {
        assert_eq!(gt.add_domain(c), Err(Errno::Inval), "{c:?}");
    }
    gt.add_domain(DomainConfig::new(1)).unwrap();
    assert_eq!(gt.add_domain(DomainConfig::new(1)), Err(Errno::Exist));
    assert_eq!(gt.add_domain(DomainConfig::new(2)), Err(Errno::NoSpc));
    let s = gt.stats(1).unwrap();
    assert_eq!(
        (s.nr_frames, s.max_frames, s.maptrack_max),
        (0, DEFAULT_MAX_FRAMES, DEFAULT_MAX_MAPTRACK)
    );
}

#[test]
fn query_size_and_setup_table() {
    let mut w = world();
    assert_eq!(
        w.gt.query_size(DOMU, DOMID_SELF),
        Ok(TableSize {
            nr_frames: 1,
            max_nr_frames: 4
        })
    );
    assert_eq!(
        w.gt.query_size(DOMU, DOMU),
        Ok(TableSize {
            nr_frames: 1,
            max_nr_frames: 4
        })
    );
    assert_eq!(w.gt.query_size(DOMU, DOM0), Err(GntSt::PermissionDenied));
    assert_eq!(w.gt.query_size(DOM0, DOMU).map(|s| s.nr_frames), Ok(1));
    assert_eq!(w.gt.query_size(DOMU, 9), Err(GntSt::BadDomain));
    // setup_table grows the table and lists the frames' gfns.
    assert_eq!(w.gt.setup_table(DOMU, DOMID_SELF, 2), Ok(2));
    assert_eq!(w.gt.query_size(DOMU, DOMID_SELF).unwrap().nr_frames, 2);
    assert_eq!(w.gt.frame_gfn(DOMU, 0), Some(0x38000));
    assert_eq!(
        w.gt.frame_gfn(DOMU, 1),
        None,
        "grown but not mapped: INVALID_GFN"
    );
    assert_eq!(
        w.gt.setup_table(DOMU, DOMID_SELF, 1),
        Ok(1),
        "never shrinks"
    );
    assert_eq!(w.gt.query_size(DOMU, DOMID_SELF).unwrap().nr_frames, 2);
    assert_eq!(
        w.gt.setup_table(DOMU, DOMID_SELF, 5),
        Err(GntSt::GeneralError)
    );
    assert_eq!(
        w.gt.setup_table(DOMU, DOM0, 1),
        Err(GntSt::PermissionDenied)
    );
    assert_eq!(w.gt.setup_table(DOMU, 9, 1), Err(GntSt::BadDomain));
}

#[test]
fn versions() {
    let w = world();
    assert_eq!(set_version(1), Ok(()));
    assert_eq!(set_version(2), Err(Errno::NoSys));
    assert_eq!(set_version(0), Err(Errno::Inval));
    assert_eq!(set_version(3), Err(Errno::Inval));
    assert_eq!(w.gt.get_version(DOMU, DOMID_SELF), Ok(1));
    assert_eq!(w.gt.get_version(DOMU, DOM0), Err(Errno::Perm));
    assert_eq!(w.gt.get_version(DOM0, DOMU), Ok(1));
    assert_eq!(w.gt.get_version(DOMU, 9), Err(Errno::Srch));
}

#[test]
fn map_frame_grows_and_tracks_frames() {
    let mut gt = GrantTables::new(1).unwrap();
    gt.add_domain(DomainConfig::new(1)).unwrap();
    // Linux maps from the highest index down so the table grows once.
    let m = gt.map_frame(1, 3, 0x38003).unwrap();
    assert_eq!((m.idx, m.replaced), (3, None));
    assert_eq!(gt.query_size(1, DOMID_SELF).unwrap().nr_frames, 4);
    for i in (0..3).rev() {
        gt.map_frame(1, i, 0x38000 + i).unwrap();
    }
    assert_eq!(gt.stats(1).unwrap().frames_mapped, 4);
    assert_eq!(gt.map_frame(1, 4, 0x38004), Err(Errno::Inval));
    assert_eq!(
        gt.map_frame(1, XENMAPIDX_GRANT_TABLE_STATUS, 0x38004),
        Err(Errno::Inval)
    );
    assert_eq!(gt.map_frame(1, u64::MAX, 0x38004), Err(Errno::Inval));
    assert_eq!(
        gt.map_frame(1, 2, 0x50000),
        Err(Errno::Busy),
        "already mapped"
    );
    assert_eq!(gt.map_frame(9, 0, 0x50000), Err(Errno::Srch));
    // The guest moves frame 2: remove_from_physmap, then map it again elsewhere.
    assert_eq!(gt.unmap_frame_gfn(1, 0x38002), Some(2));
    assert_eq!(gt.unmap_frame_gfn(1, 0x38002), None);
    assert_eq!(gt.frame_gfn(1, 2), None);
    gt.map_frame(1, 2, 0x50000).unwrap();
    // Mapping frame 2 over frame 1's gfn replaces frame 1 there.
    gt.unmap_frame_gfn(1, 0x50000).unwrap();
    assert_eq!(gt.map_frame(1, 2, 0x38001).unwrap().replaced, Some(1));
    assert_eq!(gt.frame_gfn(1, 1), None);
    assert_eq!(gt.frame_gfn(1, 2), Some(0x38001));
    assert_eq!(
        gt.query_size(1, DOMID_SELF).unwrap().nr_frames,
        4,
        "the table keeps its size"
    );
}

#[test]
fn map_and_unmap_a_grant() {
    let mut w = world();
    w.tables.grant(DOMU, 8, DOM0, (RAM_BASE + 3) as u32, false);
    let m = w.map(DOM0, DOMU, 8, BALLOON, HOST).unwrap();
    assert_eq!(m.handle, 0);
    assert_eq!(Some(m.dev_bus_addr), w.s2.maddr(DOMU, RAM_BASE + 3));
    assert_eq!(
        w.tables.flags(DOMU, 8),
        GTF_PERMIT_ACCESS | GTF_READING | GTF_WRITING
    );
    assert_eq!(w.gt.pins(DOMU, 8), Some((0, 1)));
    let s = w.gt.stats(DOMU).unwrap();
    assert_eq!(s.active_grants, 1);
    assert_eq!(w.gt.stats(DOM0).unwrap().maptrack_used, 1);
    // The granter cannot revoke it while it is mapped.
    assert!(!w.tables.end_access(DOMU, 8));
    w.check();
    // Unmap: stage-2 entry removed first, then the flags cleared.
    w.unmap(DOM0, m.handle, BALLOON).unwrap();
    assert_eq!(w.s2.removed, [(DOM0, BALLOON)]);
    assert_eq!(w.tables.flags(DOMU, 8), GTF_PERMIT_ACCESS);
    assert!(w.tables.end_access(DOMU, 8));
    // Double unmap, handles never used or out of range.
    assert_eq!(w.unmap(DOM0, m.handle, BALLOON), Err(GntSt::BadHandle));
    assert_eq!(w.unmap(DOM0, 7, BALLOON), Err(GntSt::BadHandle));
    assert_eq!(w.unmap(DOM0, u32::MAX, BALLOON), Err(GntSt::BadHandle));
    let s = w.gt.stats(DOM0).unwrap();
    assert_eq!(
        (s.maps, s.unmaps, s.failures, s.maptrack_used),
        (1, 1, 3, 0)
    );
    w.check();
}

#[test]
fn map_flag_checks() {
    let mut w = world();
    w.tables.grant(DOMU, 1, DOM0, RAM_BASE as u32, false);
    assert_eq!(w.map(DOM0, DOMU, 1, BALLOON, 0), Err(GntSt::BadGntref));
    assert_eq!(
        w.map(DOM0, DOMU, 1, BALLOON, GNTMAP_READONLY),
        Err(GntSt::BadGntref)
    );
    for f in [
        GNTMAP_DEVICE_MAP,
        HOST | GNTMAP_DEVICE_MAP,
        HOST | GNTMAP_APPLICATION_MAP,
        HOST | GNTMAP_CONTAINS_PTE,
    ] {
        assert_eq!(
            w.map(DOM0, DOMU, 1, BALLOON, f),
            Err(GntSt::GeneralError),
            "{f:#x}"
        );
    }
    // guest_avail bits pass the early checks but not Arm's create_grant_host_mapping(): the
    // pin taken meanwhile is undone.
    assert_eq!(
        w.map(DOM0, DOMU, 1, BALLOON, HOST | 1 << 16),
        Err(GntSt::GeneralError)
    );
    assert_eq!(w.tables.flags(DOMU, 1), GTF_PERMIT_ACCESS);
    assert_eq!(w.gt.pins(DOMU, 1), Some((0, 0)));
    w.check();
}

#[test]
fn map_entry_checks() {
    let mut w = world();
    let f = (RAM_BASE + 1) as u32;
    // Bad domain: unknown, DOMID_SELF (Xen looks the granter up by id only).
    assert_eq!(w.map(DOM0, 9, 1, BALLOON, HOST), Err(GntSt::BadDomain));
    assert_eq!(
        w.map(DOM0, DOMID_SELF, 1, BALLOON, HOST),
        Err(GntSt::BadDomain)
    );
    // Beyond the table (1 frame = 512 entries in use).
    assert_eq!(w.map(DOM0, DOMU, 512, BALLOON, HOST), Err(GntSt::BadGntref));
    assert_eq!(
        w.map(DOM0, DOMU, u32::MAX, BALLOON, HOST),
        Err(GntSt::BadGntref)
    );
    // Not granted, granted to someone else, wrong type, sub-page, read-only.
    assert_eq!(
        w.map(DOM0, DOMU, 1, BALLOON, HOST),
        Err(GntSt::GeneralError)
    );
    w.tables.grant(DOMU, 1, DOM2, f, false);
    assert_eq!(
        w.map(DOM0, DOMU, 1, BALLOON, HOST),
        Err(GntSt::GeneralError)
    );
    w.tables.write(DOMU, 1, DOM0, f, GTF_ACCEPT_TRANSFER);
    assert_eq!(
        w.map(DOM0, DOMU, 1, BALLOON, HOST),
        Err(GntSt::GeneralError)
    );
    w.tables
        .write(DOMU, 1, DOM0, f, GTF_PERMIT_ACCESS | GTF_SUB_PAGE);
    assert_eq!(
        w.map(DOM0, DOMU, 1, BALLOON, HOST),
        Err(GntSt::GeneralError)
    );
    w.tables.grant(DOMU, 1, DOM0, f, true);
    assert_eq!(
        w.map(DOM0, DOMU, 1, BALLOON, HOST),
        Err(GntSt::GeneralError)
    );
    assert_eq!(
        w.tables.flags(DOMU, 1),
        GTF_PERMIT_ACCESS | GTF_READONLY,
        "nothing set on failure"
    );
    // Read-only grant, read-only mapping: fine.
    let m = w.map(DOM0, DOMU, 1, BALLOON, RO).unwrap();
    assert_eq!(
        w.tables.flags(DOMU, 1),
        GTF_PERMIT_ACCESS | GTF_READONLY | GTF_READING
    );
    assert_eq!(w.s2.maps[&(DOM0, BALLOON)], (DOMU, RAM_BASE + 1, true));
    // Upgrading to a writable mapping of the same grant is refused.
    assert_eq!(
        w.map(DOM0, DOMU, 1, BALLOON + 1, HOST),
        Err(GntSt::GeneralError)
    );
    w.unmap(DOM0, m.handle, BALLOON).unwrap();
    // Cache attributes in the entry (Arm refuses them).
    w.tables
        .write(DOMU, 2, DOM0, f, GTF_PERMIT_ACCESS | GTF_PAT);
    assert_eq!(
        w.map(DOM0, DOMU, 2, BALLOON, HOST),
        Err(GntSt::GeneralError)
    );
    assert_eq!(w.tables.flags(DOMU, 2), GTF_PERMIT_ACCESS | GTF_PAT);
    w.check();
}

#[test]
fn several_mappings_of_one_grant() {
    let mut w = world();
    w.tables.grant(DOMU, 4, DOM0, (RAM_BASE + 2) as u32, false);
    let a = w.map(DOM0, DOMU, 4, BALLOON, RO).unwrap();
    assert_eq!(w.tables.flags(DOMU, 4), GTF_PERMIT_ACCESS | GTF_READING);
    let b = w.map(DOM0, DOMU, 4, BALLOON + 1, HOST).unwrap();
    assert_eq!(
        w.tables.flags(DOMU, 4),
        GTF_PERMIT_ACCESS | GTF_READING | GTF_WRITING
    );
    let c = w.map(DOM0, DOMU, 4, BALLOON + 2, RO).unwrap();
    assert_eq!(w.gt.pins(DOMU, 4), Some((2, 1)));
    // The granter changes the entry meanwhile: pinned mappings keep the first frame.
    w.tables.grant(DOMU, 4, DOM0, (RAM_BASE + 9) as u32, false);
    let d = w.map(DOM0, DOMU, 4, BALLOON + 3, HOST).unwrap();
    assert_eq!(d.dev_bus_addr, a.dev_bus_addr);
    // Another domain cannot map it while dom0 has it pinned (the entry names dom0 anyway).
    assert_eq!(w.map(DOM2, DOMU, 4, BALLOON, RO), Err(GntSt::GeneralError));
    // Unmapping the writable ones clears GTF_writing with the last of them only.
    w.unmap(DOM0, b.handle, BALLOON + 1).unwrap();
    assert_eq!(w.tables.flags(DOMU, 4) & GTF_WRITING, GTF_WRITING);
    w.unmap(DOM0, d.handle, BALLOON + 3).unwrap();
    assert_eq!(w.tables.flags(DOMU, 4), GTF_PERMIT_ACCESS | GTF_READING);
    w.unmap(DOM0, a.handle, BALLOON).unwrap();
    assert_eq!(w.tables.flags(DOMU, 4), GTF_PERMIT_ACCESS | GTF_READING);
    w.unmap(DOM0, c.handle, BALLOON + 2).unwrap();
    assert_eq!(w.tables.flags(DOMU, 4), GTF_PERMIT_ACCESS);
    assert_eq!(w.gt.stats(DOMU).unwrap().active_grants, 0);
    w.check();
}

#[test]
fn pin_counts_are_bounded() {
    let mut w = World::new(2);
    w.add(DomainConfig {
        max_maptrack: 300,
        ..DomainConfig::new(DOM0)
    });
    w.add(DomainConfig::new(DOMU));
    w.map_frames(DOMU, 1, 0x38000);
    w.tables.grant(DOMU, 3, DOM0, RAM_BASE as u32, false);
    for i in 0..128 {
        w.map(DOM0, DOMU, 3, BALLOON + i, RO).unwrap();
    }
    // Count 128 reached: Xen's overflow check refuses more of any kind.
    assert_eq!(
        w.map(DOM0, DOMU, 3, BALLOON + 200, RO),
        Err(GntSt::GeneralError)
    );
    assert_eq!(
        w.map(DOM0, DOMU, 3, BALLOON + 200, HOST),
        Err(GntSt::GeneralError)
    );
    assert_eq!(w.gt.pins(DOMU, 3), Some((128, 0)));
    w.check();
}

#[test]
fn maptrack_exhaustion_and_handle_reuse() {
    let mut w = world();
    for g in 1..=3 {
        w.tables
            .grant(DOMU, g, DOM2, (RAM_BASE + u64::from(g)) as u32, false);
    }
    let a = w.map(DOM2, DOMU, 1, BALLOON, HOST).unwrap();
    let b = w.map(DOM2, DOMU, 2, BALLOON + 1, HOST).unwrap();
    assert_eq!((a.handle, b.handle), (0, 1));
    assert_eq!(w.map(DOM2, DOMU, 3, BALLOON + 2, HOST), Err(GntSt::NoSpace));
    assert_eq!(w.tables.flags(DOMU, 3), GTF_PERMIT_ACCESS, "nothing pinned");
    w.unmap(DOM2, a.handle, BALLOON).unwrap();
    assert_eq!(w.map(DOM2, DOMU, 3, BALLOON + 2, HOST).unwrap().handle, 0);
    // A handle of another domain means nothing here.
    assert_eq!(w.unmap(DOM0, 1, BALLOON + 1), Err(GntSt::BadHandle));
    w.check();
}

#[test]
fn unmap_address_checks() {
    let mut w = world();
    w.tables.grant(DOMU, 5, DOM0, RAM_BASE as u32, false);
    let m = w.map(DOM0, DOMU, 5, BALLOON, HOST).unwrap();
    let s2 = &mut w.s2;
    let mut unmap = |gt: &mut GrantTables, host_addr, dev_bus_addr| {
        let req = UnmapRequest {
            host_addr,
            dev_bus_addr,
            handle: m.handle,
        };
        gt.unmap_grant_ref(DOM0, &req, &w.tables, |i| s2.remove(DOM0, i))
    };
    // host_addr 0: Xen does nothing and keeps the handle.
    assert_eq!(unmap(&mut w.gt, 0, 0), Ok(()));
    assert!(w.gt.mapping(DOM0, m.handle).is_some());
    // Another page, or a wrong bus address: general error, still mapped.
    assert_eq!(
        unmap(&mut w.gt, (BALLOON + 1) << 12, 0),
        Err(GntSt::GeneralError)
    );
    assert_eq!(
        unmap(&mut w.gt, BALLOON << 12, m.dev_bus_addr + 4096),
        Err(GntSt::GeneralError)
    );
    assert!(w.gt.mapping(DOM0, m.handle).is_some());
    // Any address within the page, and the right bus address, unmap it.
    assert_eq!(
        unmap(&mut w.gt, (BALLOON << 12) + 0x123, m.dev_bus_addr),
        Ok(())
    );
    assert!(w.gt.mapping(DOM0, m.handle).is_none());
    w.check();
}

#[test]
fn one_grant_per_host_page() {
    let mut w = world();
    w.tables.grant(DOMU, 1, DOM0, RAM_BASE as u32, false);
    w.tables.grant(DOMU, 2, DOM0, (RAM_BASE + 1) as u32, false);
    w.map(DOM0, DOMU, 1, BALLOON, HOST).unwrap();
    // Xen would replace the stage-2 entry; here it is refused and nothing stays pinned.
    assert_eq!(
        w.map(DOM0, DOMU, 2, BALLOON, HOST),
        Err(GntSt::GeneralError)
    );
    assert_eq!(w.tables.flags(DOMU, 2), GTF_PERMIT_ACCESS);
    w.check();
}

#[test]
fn stage2_failures_undo_the_pin() {
    let mut w = world();
    // The granted frame is not RAM of the granter.
    w.tables.grant(DOMU, 6, DOM0, 0x1234, false);
    assert_eq!(w.map(DOM0, DOMU, 6, BALLOON, HOST), Err(GntSt::BadPage));
    assert_eq!(w.tables.flags(DOMU, 6), GTF_PERMIT_ACCESS);
    // The hypervisor cannot map at host_addr.
    w.tables.grant(DOMU, 7, DOM0, RAM_BASE as u32, false);
    w.s2.fail_install = Some(GntSt::GeneralError);
    assert_eq!(
        w.map(DOM0, DOMU, 7, BALLOON, HOST),
        Err(GntSt::GeneralError)
    );
    assert_eq!(w.tables.flags(DOMU, 7), GTF_PERMIT_ACCESS);
    assert_eq!(w.gt.stats(DOM0).unwrap().maptrack_used, 0);
    // Upgrading a read-only pin fails in stage 2: GTF_writing goes, GTF_reading stays.
    let m = w.map(DOM0, DOMU, 7, BALLOON, RO).unwrap();
    w.s2.fail_install = Some(GntSt::GeneralError);
    assert_eq!(
        w.map(DOM0, DOMU, 7, BALLOON + 1, HOST),
        Err(GntSt::GeneralError)
    );
    assert_eq!(w.tables.flags(DOMU, 7), GTF_PERMIT_ACCESS | GTF_READING);
    // The removal fails: nothing changes.
    w.s2.fail_remove = Some(GntSt::GeneralError);
    assert_eq!(w.unmap(DOM0, m.handle, BALLOON), Err(GntSt::GeneralError));
    assert_eq!(w.tables.flags(DOMU, 7), GTF_PERMIT_ACCESS | GTF_READING);
    w.unmap(DOM0, m.handle, BALLOON).unwrap();
    w.check();
}

#[test]
fn self_mapping() {
    let mut w = world();
    w.tables.grant(DOMU, 9, DOMU, (RAM_BASE + 4) as u32, false);
    let m = w.map(DOMU, DOMU, 9, BALLOON, HOST).unwrap();
    w.check();
    w.unmap(DOMU, m.handle, BALLOON).unwrap();
    w.check();
}

fn gref_ptr(r: u32, dom: u16, offset: u16) -> CopyPtr {
    CopyPtr {
        ref_or_gmfn: u64::from(r),
        domid: dom,
        offset,
    }
}

fn gmfn_ptr(gfn: u64, offset: u16) -> CopyPtr {
    CopyPtr {
        ref_or_gmfn: gfn,
        domid: DOMID_SELF,
        offset,
    }
}

#[test]
fn copy_between_a_grant_and_a_local_frame() {
    let mut w = world();
    // domU grants page 2 (read-only) and page 3 (writable) to dom0.
    w.tables.grant(DOMU, 10, DOM0, (RAM_BASE + 2) as u32, true);
    w.tables.grant(DOMU, 11, DOM0, (RAM_BASE + 3) as u32, false);
    w.s2.ram.get_mut(&DOMU).unwrap()[2][..4].copy_from_slice(b"ring");
    // dom0 copies from the read-only grant into its own page 5, at offset 8.
    let req = CopyRequest {
        source: gref_ptr(10, DOMU, 0),
        dest: gmfn_ptr(RAM_BASE + 5, 8),
        len: 4,
        flags: GNTCOPY_SOURCE_GREF,
    };
    w.copy(DOM0, &req).unwrap();
    assert_eq!(&w.s2.ram[&DOM0][5][8..12], b"ring");
    // The pins are gone afterwards.
    assert_eq!(w.tables.flags(DOMU, 10), GTF_PERMIT_ACCESS | GTF_READONLY);
    // ... and back into the writable grant.
    let req = CopyRequest {
        source: gmfn_ptr(RAM_BASE + 5, 8),
        dest: gref_ptr(11, DOMU, 1),
        len: 4,
        flags: GNTCOPY_DEST_GREF,
    };
    w.copy(DOM0, &req).unwrap();
    assert_eq!(&w.s2.ram[&DOMU][3][1..5], b"ring");
    assert_eq!(w.tables.flags(DOMU, 11), GTF_PERMIT_ACCESS);
    // Grant to grant.
    let req = CopyRequest {
        source: gref_ptr(10, DOMU, 0),
        dest: gref_ptr(11, DOMU, 0),
        len: 4096,
        flags: GNTCOPY_SOURCE_GREF | GNTCOPY_DEST_GREF,
    };
    w.copy(DOM0, &req).unwrap();
    assert_eq!(w.gt.stats(DOM0).unwrap().copies, 3);
    w.check();
}

#[test]
fn copy_checks() {
    let mut w = world();
    w.tables.grant(DOMU, 10, DOM0, (RAM_BASE + 2) as u32, true);
    w.tables.grant(DOMU, 11, DOM0, (RAM_BASE + 3) as u32, false);
    let local = gmfn_ptr(RAM_BASE, 0);
    let copy = |w: &mut World, source, dest, len, flags| {
        w.copy(
            DOM0,
            &CopyRequest {
                source,
                dest,
                len,
                flags,
            },
        )
    };
    // A frame number of another domain.
    assert_eq!(
        copy(
            &mut w,
            gmfn_ptr(RAM_BASE, 0),
            CopyPtr {
                domid: DOMU,
                ..local
            },
            1,
            0
        ),
        Err(GntSt::PermissionDenied)
    );
    assert_eq!(
        copy(
            &mut w,
            CopyPtr {
                domid: DOM0,
                ..local
            },
            local,
            1,
            0
        ),
        Err(GntSt::PermissionDenied),
        "own id, not DOMID_SELF"
    );
    // Unknown granter.
    assert_eq!(
        copy(&mut w, gref_ptr(10, 9, 0), local, 1, GNTCOPY_SOURCE_GREF),
        Err(GntSt::BadDomain)
    );
    // Bad reference.
    assert_eq!(
        copy(
            &mut w,
            gref_ptr(600, DOMU, 0),
            local,
            1,
            GNTCOPY_SOURCE_GREF
        ),
        Err(GntSt::BadGntref)
    );
    // Writing into a read-only grant.
    assert_eq!(
        copy(&mut w, local, gref_ptr(10, DOMU, 0), 1, GNTCOPY_DEST_GREF),
        Err(GntSt::GeneralError)
    );
    // A grant for someone else.
    w.tables.grant(DOMU, 12, DOM2, (RAM_BASE + 3) as u32, false);
    assert_eq!(
        copy(&mut w, gref_ptr(12, DOMU, 0), local, 1, GNTCOPY_SOURCE_GREF),
        Err(GntSt::GeneralError)
    );
    // Crossing the page.
    assert_eq!(
        copy(
            &mut w,
            gref_ptr(11, DOMU, 4000),
            local,
            97,
            GNTCOPY_SOURCE_GREF
        ),
        Err(GntSt::BadCopyArg)
    );
    assert_eq!(
        copy(
            &mut w,
            local,
            gref_ptr(11, DOMU, 1),
            4096,
            GNTCOPY_DEST_GREF
        ),
        Err(GntSt::BadCopyArg)
    );
    assert_eq!(
        copy(
            &mut w,
            gref_ptr(11, DOMU, 4095),
            local,
            1,
            GNTCOPY_SOURCE_GREF
        ),
        Ok(())
    );
    // Not RAM (the hypervisor's translation fails).
    assert_eq!(
        copy(&mut w, gmfn_ptr(0x10, 0), local, 1, 0),
        Err(GntSt::BadPage)
    );
    w.tables.grant(DOMU, 13, DOM0, 0x10, false);
    assert_eq!(
        copy(&mut w, gref_ptr(13, DOMU, 0), local, 1, GNTCOPY_SOURCE_GREF),
        Err(GntSt::BadPage)
    );
    // After every failure, no flag is left behind.
    for g in [10, 11, 12, 13] {
        assert_eq!(
            w.tables.flags(DOMU, g) & (GTF_READING | GTF_WRITING),
            0,
            "gref {g}"
        );
    }
    assert_eq!(w.gt.stats(DOM0).unwrap().failures, 10);
    w.check();
}

#[test]
fn copy_uses_a_grant_mapped_by_the_same_domain() {
    let mut w = world();
    w.tables.grant(DOMU, 20, DOM0, (RAM_BASE + 6) as u32, false);
    let m = w.map(DOM0, DOMU, 20, BALLOON, RO).unwrap();
    // Copy into it while it is mapped read-only: upgrades to writing for the copy only.
    let req = CopyRequest {
        source: gmfn_ptr(RAM_BASE, 0),
        dest: gref_ptr(20, DOMU, 0),
        len: 8,
        flags: GNTCOPY_DEST_GREF,
    };
    w.copy(DOM0, &req).unwrap();
    assert_eq!(w.tables.flags(DOMU, 20), GTF_PERMIT_ACCESS | GTF_READING);
    assert_eq!(w.gt.pins(DOMU, 20), Some((1, 0)));
    // Another domain cannot copy from it while dom0 has it pinned.
    let req = CopyRequest {
        source: gref_ptr(20, DOMU, 0),
        dest: gmfn_ptr(RAM_BASE, 0),
        len: 8,
        flags: GNTCOPY_SOURCE_GREF,
    };
    assert_eq!(w.copy(DOM2, &req), Err(GntSt::GeneralError));
    w.unmap(DOM0, m.handle, BALLOON).unwrap();
    w.check();
}

#[test]
fn release_a_mapper() {
    let mut w = world();
    w.tables.grant(DOMU, 1, DOM0, RAM_BASE as u32, false);
    w.tables.grant(DOMU, 2, DOM0, (RAM_BASE + 1) as u32, true);
    w.map(DOM0, DOMU, 1, BALLOON, HOST).unwrap();
    w.map(DOM0, DOMU, 2, BALLOON + 1, RO).unwrap();
    assert_eq!(
        w.remove(DOM0),
        ReleaseReport {
            mappings_released: 2,
            foreign_mappings: 0
        }
    );
    // The granter's entries are free again.
    assert_eq!(w.tables.flags(DOMU, 1), GTF_PERMIT_ACCESS);
    assert_eq!(w.tables.flags(DOMU, 2), GTF_PERMIT_ACCESS | GTF_READONLY);
    assert_eq!(w.gt.stats(DOMU).unwrap().active_grants, 0);
    assert!(w.tables.end_access(DOMU, 1));
    assert_eq!(w.gt.release_domain(DOM0, &w.tables), Err(Errno::Srch));
    w.check();
}

#[test]
fn release_a_granter_whose_grants_are_mapped() {
    let mut w = world();
    w.tables.grant(DOMU, 1, DOM0, RAM_BASE as u32, false);
    let m = w.map(DOM0, DOMU, 1, BALLOON, HOST).unwrap();
    assert_eq!(
        w.remove(DOMU),
        ReleaseReport {
            mappings_released: 0,
            foreign_mappings: 1
        }
    );
    // dom0's mapping stays, orphaned, until dom0 unmaps it.
    let info = w.gt.mapping(DOM0, m.handle).unwrap();
    assert!(!info.granter_alive);
    assert_eq!(w.gt.orphaned_mappings(DOMU), 1);
    assert_eq!(w.gt.stats(DOM0).unwrap().orphaned, 1);
    // A new domain with the same id: the orphan is not taken for one of its grants.
    w.add(DomainConfig::new(DOMU));
    w.map_frames(DOMU, 1, 0x38000);
    w.tables.grant(DOMU, 1, DOM0, RAM_BASE as u32, false);
    assert_eq!(w.gt.pins(DOMU, 1), Some((0, 0)));
    assert_eq!(w.gt.orphaned_mappings(DOMU), 1);
    w.check();
    // Unmapping the orphan touches nothing of the new domain.
    w.unmap(DOM0, m.handle, BALLOON).unwrap();
    assert_eq!(w.gt.orphaned_mappings(DOMU), 0);
    assert_eq!(w.tables.flags(DOMU, 1), GTF_PERMIT_ACCESS);
    w.check();
}

#[test]
fn requests_from_unknown_domains() {
    let mut w = world();
    let req = MapRequest {
        host_addr: 0,
        flags: HOST,
        gref: 0,
        dom: DOMU,
    };
    let s2 = &mut w.s2;
    assert_eq!(
        w.gt.map_grant_ref(9, &req, &w.tables, |t| s2.install(9, t)),
        Err(GntSt::BadDomain)
    );
    assert_eq!(w.unmap(9, 0, BALLOON), Err(GntSt::BadHandle));
    let c = CopyRequest {
        source: gmfn_ptr(RAM_BASE, 0),
        dest: gmfn_ptr(RAM_BASE, 0),
        len: 1,
        flags: 0,
    };
    assert_eq!(w.copy(9, &c), Err(GntSt::BadDomain));
    assert!(w.gt.stats(9).is_none());
    assert!(w.gt.mapping(9, 0).is_none());
    assert!(w.gt.pins(9, 0).is_none());
    assert_eq!(w.gt.unmap_frame_gfn(9, 0), None);
    assert_eq!(w.gt.frame_gfn(9, 0), None);
}

#[test]
fn status_codes_are_xens() {
    let all = [
        (GntSt::GeneralError, -1),
        (GntSt::BadDomain, -2),
        (GntSt::BadGntref, -3),
        (GntSt::BadHandle, -4),
        (GntSt::BadVirtAddr, -5),
        (GntSt::BadDevAddr, -6),
        (GntSt::NoDeviceSpace, -7),
        (GntSt::PermissionDenied, -8),
        (GntSt::BadPage, -9),
        (GntSt::BadCopyArg, -10),
        (GntSt::AddressTooBig, -11),
        (GntSt::Eagain, -12),
        (GntSt::NoSpace, -13),
    ];
    for (s, c) in all {
        assert_eq!(s.code(), c);
        assert_eq!(xen_gnttab::status_code(Err(s)), c);
    }
    assert_eq!(xen_gnttab::status_code(Ok(())), 0);
    assert_eq!(Errno::Busy.to_ret(), -16);
}
