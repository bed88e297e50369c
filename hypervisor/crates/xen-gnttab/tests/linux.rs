//! What Linux 7.3 does with grants on arm64, replayed through the argument structures as
//! bytes (include/xen/interface/grant_table.h layouts): boot-time table setup
//! (grant-table.c), a frontend granting its ring and a backend mapping it with
//! `xenbus_map_ring_valloc()` (GNTMAP_host_map into a ballooned page), the backend's unmap,
//! the frontend's `gnttab_end_foreign_access()`.

mod harness;

use harness::{World, RAM_BASE};
use xen_gnttab::wire::{self, arg_size, is_batch};
use xen_gnttab::{
    set_version, status_code, DomainConfig, Errno, GntSt, DOMID_SELF, GNTCOPY_DEST_GREF,
    GNTMAP_HOST_MAP, GNTTABOP_CACHE_FLUSH, GNTTABOP_COPY, GNTTABOP_DUMP_TABLE,
    GNTTABOP_GET_STATUS_FRAMES, GNTTABOP_GET_VERSION, GNTTABOP_MAP_GRANT_REF, GNTTABOP_QUERY_SIZE,
    GNTTABOP_SETUP_TABLE, GNTTABOP_SET_VERSION, GNTTABOP_SWAP_GRANT_REF, GNTTABOP_TRANSFER,
    GNTTABOP_UNMAP_AND_REPLACE, GNTTABOP_UNMAP_GRANT_REF, GTF_PERMIT_ACCESS, GTF_READING,
    GTF_WRITING, INVALID_GFN,
};

const DOM0: u16 = 0;
const DOMU: u16 = 1;

/// The hypervisor's dispatch of one element, as the glue would write it.
fn op(w: &mut World, caller: u16, cmd: u32, arg: &mut [u8]) -> i64 {
    match cmd {
        GNTTABOP_QUERY_SIZE => {
            let dom = wire::decode_query_size(arg).unwrap();
            let r = w.gt.query_size(caller, dom);
            wire::encode_query_size(arg, &r);
            0
        }
        GNTTABOP_SET_VERSION => {
            let r = set_version(wire::decode_set_version(arg).unwrap());
            wire::put_u32(arg, 0, xen_gnttab::GNTTAB_VERSION);
            r.err().map_or(0, Errno::to_ret)
        }
        GNTTABOP_GET_VERSION => match w
            .gt
            .get_version(caller, wire::decode_get_version(arg).unwrap())
        {
            Ok(v) => {
                wire::put_u32(arg, 4, v);
                0
            }
            Err(e) => e.to_ret(),
        },
        GNTTABOP_SETUP_TABLE => {
            let (dom, nr, _list) = wire::decode_setup_table(arg).unwrap();
            let r = w.gt.setup_table(caller, dom, nr);
            wire::encode_status(arg, wire::SETUP_TABLE_STATUS, r.map(|_| ()));
            0
        }
        GNTTABOP_MAP_GRANT_REF => {
            let req = wire::decode_map(arg).unwrap();
            let s2 = &mut w.s2;
            let r =
                w.gt.map_grant_ref(caller, &req, &w.tables, |t| s2.install(caller, t));
            wire::encode_map(arg, &r);
            0
        }
        GNTTABOP_UNMAP_GRANT_REF => {
            let req = wire::decode_unmap(arg).unwrap();
            let s2 = &mut w.s2;
            let r =
                w.gt.unmap_grant_ref(caller, &req, &w.tables, |m| s2.remove(caller, m));
            wire::encode_status(arg, wire::UNMAP_STATUS, r);
            0
        }
        GNTTABOP_UNMAP_AND_REPLACE => {
            let (req, new_addr) = wire::decode_unmap_and_replace(arg).unwrap();
            let r = if new_addr != 0 {
                Err(GntSt::GeneralError)
            } else {
                let s2 = &mut w.s2;
                w.gt.unmap_grant_ref(caller, &req, &w.tables, |m| s2.remove(caller, m))
            };
            wire::encode_status(arg, wire::UNMAP_STATUS, r);
            0
        }
        GNTTABOP_COPY => {
            let req = wire::decode_copy(arg).unwrap();
            let r = w.copy(caller, &req);
            wire::encode_status(arg, wire::COPY_STATUS, r);
            0
        }
        _ => Errno::NoSys.to_ret(),
    }
}

fn i16_at(b: &[u8], o: usize) -> i16 {
    i16::from_le_bytes(b[o..o + 2].try_into().unwrap())
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}

fn map_op(host_addr: u64, flags: u32, gref: u32, dom: u16) -> [u8; 32] {
    let mut a = [0u8; 32];
    a[..8].copy_from_slice(&host_addr.to_le_bytes());
    a[8..12].copy_from_slice(&flags.to_le_bytes());
    a[12..16].copy_from_slice(&gref.to_le_bytes());
    a[16..18].copy_from_slice(&dom.to_le_bytes());
    a
}

fn unmap_op(host_addr: u64, handle: u32) -> [u8; 24] {
    let mut a = [0u8; 24];
    a[..8].copy_from_slice(&host_addr.to_le_bytes());
    a[16..20].copy_from_slice(&handle.to_le_bytes());
    a
}

fn system() -> World {
    let mut w = World::new(2);
    w.add(DomainConfig {
        privileged: true,
        ..DomainConfig::new(DOM0)
    });
    w.add(DomainConfig::new(DOMU));
    w
}

/// gnttab_init() on Arm: set_version(1), query_size (max frames for the grant list and
/// the frame region), then XENMAPSPACE_grant_table for frame 0; gnttab_expand() adds
/// frames later.
#[test]
fn boot_table_setup() {
    let mut w = system();
    let mut v = 1u32.to_le_bytes();
    assert_eq!(op(&mut w, DOMU, GNTTABOP_SET_VERSION, &mut v), 0);
    assert_eq!(u32::from_le_bytes(v), 1);
    // A Linux booted with gnttab.version=2 gets ENOSYS and version 1 back.
    let mut v = 2u32.to_le_bytes();
    assert_eq!(op(&mut w, DOMU, GNTTABOP_SET_VERSION, &mut v), -38);
    assert_eq!(u32::from_le_bytes(v), 1);
    let mut q = [0u8; 16];
    q[..2].copy_from_slice(&DOMID_SELF.to_le_bytes());
    assert_eq!(op(&mut w, DOMU, GNTTABOP_QUERY_SIZE, &mut q), 0);
    assert_eq!((u32_at(&q, 4), u32_at(&q, 8), i16_at(&q, 12)), (0, 4, 0));
    // gnttab_setup() -> gnttab_map(0, 0): add_to_physmap(XENMAPSPACE_grant_table, idx 0).
    w.gt.map_frame(DOMU, 0, 0x38000).unwrap();
    // gnttab_expand() by 2 frames: highest index first.
    w.gt.map_frame(DOMU, 2, 0x38002).unwrap();
    w.gt.map_frame(DOMU, 1, 0x38001).unwrap();
    assert_eq!(op(&mut w, DOMU, GNTTABOP_QUERY_SIZE, &mut q), 0);
    assert_eq!(u32_at(&q, 4), 3);
    // Beyond max_nr_frames Linux would get EINVAL from add_to_physmap.
    assert_eq!(w.gt.map_frame(DOMU, 4, 0x38004), Err(Errno::Inval));
    // setup_table reports where the frames are.
    let mut s = [0u8; 24];
    s[..2].copy_from_slice(&DOMID_SELF.to_le_bytes());
    s[4..8].copy_from_slice(&4u32.to_le_bytes());
    assert_eq!(op(&mut w, DOMU, GNTTABOP_SETUP_TABLE, &mut s), 0);
    assert_eq!(i16_at(&s, 8), 0);
    let list: Vec<u64> = (0..4)
        .map(|i| w.gt.frame_gfn(DOMU, i).unwrap_or(INVALID_GFN))
        .collect();
    assert_eq!(list, [0x38000, 0x38001, 0x38002, INVALID_GFN]);
    let mut gv = [0u8; 8];
    gv[..2].copy_from_slice(&DOMID_SELF.to_le_bytes());
    assert_eq!(op(&mut w, DOMU, GNTTABOP_GET_VERSION, &mut gv), 0);
    assert_eq!(u32_at(&gv, 4), 1);
    gv[..2].copy_from_slice(&DOM0.to_le_bytes());
    assert_eq!(op(&mut w, DOMU, GNTTABOP_GET_VERSION, &mut gv), -1);
}

/// A frontend (domU) shares its ring: xenbus_setup_ring() grants it to the backend domain;
/// the backend (dom0) maps it with xenbus_map_ring_valloc() -> GNTTABOP_map_grant_ref
/// (GNTMAP_host_map, host_addr = __pa of a ballooned page), writes responses through the
/// mapping, unmaps on disconnect; the frontend then ends foreign access.
#[test]
fn xenbus_ring_map_and_unmap() {
    let mut w = system();
    w.gt.map_frame(DOMU, 0, 0x38000).unwrap();
    w.gt.map_frame(DOM0, 0, 0x40200).unwrap();
    // Grant references 0-7 are reserved (GNTTAB_NR_RESERVED_ENTRIES); Linux hands out 8 up.
    let ring_gfn = RAM_BASE + 7;
    w.tables.grant(DOMU, 8, DOM0, ring_gfn as u32, false);
    let balloon = 0x7_0123u64;
    let mut m = map_op(balloon << 12, GNTMAP_HOST_MAP, 8, DOMU);
    assert_eq!(op(&mut w, DOM0, GNTTABOP_MAP_GRANT_REF, &mut m), 0);
    assert_eq!(i16_at(&m, wire::MAP_STATUS), 0);
    let handle = u32_at(&m, wire::MAP_HANDLE);
    let bus = u64::from_le_bytes(m[24..32].try_into().unwrap());
    // dev_bus_addr is the machine address of the ring page (Linux's Arm p2m records it).
    assert_eq!(Some(bus), w.s2.maddr(DOMU, ring_gfn));
    assert_eq!(w.s2.maps[&(DOM0, balloon)], (DOMU, ring_gfn, false));
    assert_eq!(
        w.tables.flags(DOMU, 8),
        GTF_PERMIT_ACCESS | GTF_READING | GTF_WRITING
    );
    // The frontend tries to take the page back too early: refused while mapped.
    assert!(!w.tables.end_access(DOMU, 8));
    // Same ring mapped again by mistake at another page: a second handle.
    let mut m2 = map_op((balloon + 1) << 12, GNTMAP_HOST_MAP, 8, DOMU);
    assert_eq!(op(&mut w, DOM0, GNTTABOP_MAP_GRANT_REF, &mut m2), 0);
    let h2 = u32_at(&m2, wire::MAP_HANDLE);
    assert_ne!(h2, handle);
    w.check();
    // Disconnect: xenbus_unmap_ring(): host_addr, handle, dev_bus_addr 0.
    let mut u = unmap_op(balloon << 12, handle);
    assert_eq!(op(&mut w, DOM0, GNTTABOP_UNMAP_GRANT_REF, &mut u), 0);
    assert_eq!(i16_at(&u, wire::UNMAP_STATUS), 0);
    assert!(!w.tables.end_access(DOMU, 8), "second mapping still there");
    // unmap_and_replace with new_addr 0 is an unmap; with new_addr, Arm refuses.
    let mut r = unmap_op((balloon + 1) << 12, h2);
    r[8..16].copy_from_slice(&0x1000u64.to_le_bytes());
    assert_eq!(op(&mut w, DOM0, GNTTABOP_UNMAP_AND_REPLACE, &mut r), 0);
    assert_eq!(i16_at(&r, wire::UNMAP_STATUS), GntSt::GeneralError.code());
    r[8..16].copy_from_slice(&0u64.to_le_bytes());
    assert_eq!(op(&mut w, DOM0, GNTTABOP_UNMAP_AND_REPLACE, &mut r), 0);
    assert_eq!(i16_at(&r, wire::UNMAP_STATUS), 0);
    assert!(w.tables.end_access(DOMU, 8));
    assert_eq!(w.tables.flags(DOMU, 8), 0);
    // Mapping the revoked grant now fails.
    let mut m3 = map_op(balloon << 12, GNTMAP_HOST_MAP, 8, DOMU);
    assert_eq!(op(&mut w, DOM0, GNTTABOP_MAP_GRANT_REF, &mut m3), 0);
    assert_eq!(i16_at(&m3, wire::MAP_STATUS), GntSt::GeneralError.code());
    w.check();
}

/// A backend copying into a frontend's granted page (netback-style GNTTABOP_copy).
#[test]
fn grant_copy_by_bytes() {
    let mut w = system();
    w.gt.map_frame(DOMU, 0, 0x38000).unwrap();
    w.tables.grant(DOMU, 9, DOM0, (RAM_BASE + 1) as u32, false);
    w.s2.ram.get_mut(&DOM0).unwrap()[3][..5].copy_from_slice(b"hello");
    let mut c = [0u8; 40];
    c[..8].copy_from_slice(&(RAM_BASE + 3).to_le_bytes());
    c[8..10].copy_from_slice(&DOMID_SELF.to_le_bytes());
    c[16..20].copy_from_slice(&9u32.to_le_bytes());
    c[24..26].copy_from_slice(&DOMU.to_le_bytes());
    c[26..28].copy_from_slice(&16u16.to_le_bytes());
    c[32..34].copy_from_slice(&5u16.to_le_bytes());
    c[34..36].copy_from_slice(&GNTCOPY_DEST_GREF.to_le_bytes());
    assert_eq!(op(&mut w, DOM0, GNTTABOP_COPY, &mut c), 0);
    assert_eq!(i16_at(&c, wire::COPY_STATUS), 0);
    assert_eq!(&w.s2.ram[&DOMU][1][16..21], b"hello");
    assert_eq!(w.tables.flags(DOMU, 9) & (GTF_READING | GTF_WRITING), 0);
}

#[test]
fn unsupported_operations_and_sizes() {
    let mut w = system();
    for cmd in [
        GNTTABOP_DUMP_TABLE,
        GNTTABOP_TRANSFER,
        GNTTABOP_GET_STATUS_FRAMES,
        GNTTABOP_SWAP_GRANT_REF,
        GNTTABOP_CACHE_FLUSH,
        13,
        u32::MAX,
    ] {
        assert_eq!(arg_size(cmd), None, "cmd {cmd}");
        assert_eq!(op(&mut w, DOM0, cmd, &mut []), -38);
    }
    assert!(is_batch(GNTTABOP_MAP_GRANT_REF) && is_batch(GNTTABOP_COPY));
    assert!(!is_batch(GNTTABOP_QUERY_SIZE) && !is_batch(GNTTABOP_SETUP_TABLE));
    // Every decoder refuses a short element.
    for (cmd, n) in [
        (GNTTABOP_MAP_GRANT_REF, 32),
        (GNTTABOP_UNMAP_GRANT_REF, 24),
        (GNTTABOP_COPY, 40),
    ] {
        assert_eq!(arg_size(cmd), Some(n));
        let short = vec![0u8; n - 1];
        let ok = match cmd {
            GNTTABOP_MAP_GRANT_REF => wire::decode_map(&short).is_some(),
            GNTTABOP_UNMAP_GRANT_REF => wire::decode_unmap(&short).is_some(),
            _ => wire::decode_copy(&short).is_some(),
        };
        assert!(!ok, "cmd {cmd}");
    }
    assert!(wire::decode_setup_table(&[0u8; 23]).is_none());
    assert!(wire::decode_unmap_and_replace(&[0u8; 23]).is_none());
    assert!(wire::decode_query_size(&[0u8; 15]).is_none());
    // Encoders never write out of bounds.
    let mut tiny = [0u8; 3];
    wire::encode_map(&mut tiny, &Err(GntSt::BadDomain));
    wire::encode_query_size(&mut tiny, &Err(GntSt::BadDomain));
    wire::encode_status(&mut tiny, 2, Err(GntSt::BadDomain));
    assert_eq!(tiny, [0; 3]);
    assert_eq!(status_code(Err(GntSt::NoSpace)), -13);
}
