//! The granting guest changes its entries while the hypervisor maps, copies and unmaps them,
//! on real threads: a grant can be revoked (Linux's `gnttab_end_foreign_access_ref_v1()`)
//! only while nobody has it mapped, and an entry hammered by the guest never makes the
//! hypervisor loop forever.

mod harness;

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering::SeqCst};
use std::sync::Arc;
use std::thread;

use harness::{Stage2, Tables, RAM_BASE};
use xen_gnttab::{
    CopyPtr, CopyRequest, DomainConfig, GntSt, GrantTableMemory, GrantTables, MapRequest,
    UnmapRequest, DOMID_SELF, GNTCOPY_SOURCE_GREF, GNTMAP_HOST_MAP, GNTMAP_READONLY, GTF_READING,
    GTF_WRITING,
};

const DOM0: u16 = 0;
const DOMU: u16 = 1;
const GREF: u32 = 8;

fn setup() -> (GrantTables, Arc<Tables>, Stage2) {
    let mut gt = GrantTables::new(2).unwrap();
    let mut tables = Tables::default();
    let mut s2 = Stage2::default();
    for d in [DOM0, DOMU] {
        gt.add_domain(DomainConfig::new(d)).unwrap();
        tables.add_domain(d, 4);
        s2.add_domain(d);
        gt.map_frame(d, 0, 0x38000).unwrap();
    }
    (gt, Arc::new(tables), s2)
}

#[test]
fn revocation_never_succeeds_while_mapped() {
    let (mut gt, tables, mut s2) = setup();
    let mapped = Arc::new(AtomicI32::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let revoked = Arc::new(AtomicU32::new(0));
    let guest = {
        let (tables, mapped, stop, revoked) = (
            tables.clone(),
            mapped.clone(),
            stop.clone(),
            revoked.clone(),
        );
        thread::spawn(move || {
            let mut i = 0u32;
            while !stop.load(SeqCst) {
                i = i.wrapping_add(1);
                // Grant, sometimes read-only, sometimes to the wrong domain, then take it
                // back as Linux does: retry until the hypervisor no longer uses it.
                let to = if i % 5 == 0 { 7 } else { DOM0 };
                tables.grant(
                    DOMU,
                    GREF,
                    to,
                    (RAM_BASE + u64::from(i % 4)) as u32,
                    i % 3 == 0,
                );
                for _ in 0..(i % 50) {
                    std::hint::spin_loop();
                }
                while !tables.end_access(DOMU, GREF) {
                    std::hint::spin_loop();
                }
                assert_eq!(mapped.load(SeqCst), 0, "grant revoked while mapped");
                revoked.fetch_add(1, SeqCst);
            }
        })
    };
    let (mut ok, mut refused) = (0u32, 0u32);
    for i in 0..40_000u64 {
        let readonly = i % 2 == 0;
        let flags = GNTMAP_HOST_MAP | if readonly { GNTMAP_READONLY } else { 0 };
        let host = 0x70000 + (i % 3);
        let req = MapRequest {
            host_addr: host << 12,
            flags,
            gref: GREF,
            dom: DOMU,
        };
        match gt.map_grant_ref(DOM0, &req, &*tables, |t| s2.install(DOM0, t)) {
            Ok(m) => {
                ok += 1;
                mapped.fetch_add(1, SeqCst);
                let f = tables.flags(DOMU, GREF);
                assert_ne!(f & GTF_READING, 0);
                assert!(readonly || f & GTF_WRITING != 0);
                mapped.fetch_sub(1, SeqCst);
                let u = UnmapRequest {
                    host_addr: host << 12,
                    dev_bus_addr: 0,
                    handle: m.handle,
                };
                gt.unmap_grant_ref(DOM0, &u, &*tables, |m| s2.remove(DOM0, m))
                    .unwrap();
            }
            Err(e) => {
                assert_eq!(e, GntSt::GeneralError);
                refused += 1;
            }
        }
        // Copies pin the grant too.
        let c = CopyRequest {
            source: CopyPtr {
                ref_or_gmfn: u64::from(GREF),
                domid: DOMU,
                offset: 0,
            },
            dest: CopyPtr {
                ref_or_gmfn: RAM_BASE,
                domid: DOMID_SELF,
                offset: 0,
            },
            len: 8,
            flags: GNTCOPY_SOURCE_GREF,
        };
        let _ = gt.copy(DOM0, &c, &*tables, |p| s2.copy(p));
    }
    stop.store(true, SeqCst);
    guest.join().unwrap();
    assert!(
        ok > 0 && refused > 0,
        "both outcomes exercised ({ok} mapped, {refused} refused)"
    );
    assert!(revoked.load(SeqCst) > 0);
    assert_eq!(gt.stats(DOMU).unwrap().active_grants, 0);
    assert_eq!(gt.pins(DOMU, GREF), Some((0, 0)));
    assert_eq!(tables.flags(DOMU, GREF) & (GTF_READING | GTF_WRITING), 0);
}

/// A guest rewriting its entry as fast as it can: `_set_status`'s compare-exchange is
/// retried at most 5 times, so every map attempt ends (mapped or general error), and the
/// hypervisor's bits are consistent afterwards.
#[test]
fn unstable_entry_is_bounded() {
    let (mut gt, tables, mut s2) = setup();
    let stop = Arc::new(AtomicBool::new(false));
    let hammer = {
        let (tables, stop) = (tables.clone(), stop.clone());
        thread::spawn(move || {
            let e = tables.entry(DOMU, GREF).unwrap();
            tables.grant(DOMU, GREF, DOM0, RAM_BASE as u32, false);
            while !stop.load(SeqCst) {
                // Flip an unused flag bit (15): the word changes, the grant does not.
                e.header.fetch_xor(1 << 15, SeqCst);
            }
        })
    };
    let mut outcomes = [0u32; 2];
    for i in 0..20_000u64 {
        let req = MapRequest {
            host_addr: 0x70000 << 12,
            flags: GNTMAP_HOST_MAP,
            gref: GREF,
            dom: DOMU,
        };
        match gt.map_grant_ref(DOM0, &req, &*tables, |t| s2.install(DOM0, t)) {
            Ok(m) => {
                outcomes[0] += 1;
                let u = UnmapRequest {
                    host_addr: 0x70000 << 12,
                    dev_bus_addr: 0,
                    handle: m.handle,
                };
                gt.unmap_grant_ref(DOM0, &u, &*tables, |m| s2.remove(DOM0, m))
                    .unwrap();
            }
            Err(e) => {
                assert_eq!(e, GntSt::GeneralError, "attempt {i}");
                outcomes[1] += 1;
            }
        }
    }
    stop.store(true, SeqCst);
    hammer.join().unwrap();
    assert_eq!(outcomes[0] + outcomes[1], 20_000);
    assert_eq!(tables.flags(DOMU, GREF) & (GTF_READING | GTF_WRITING), 0);
    assert_eq!(gt.pins(DOMU, GREF), Some((0, 0)));
}
