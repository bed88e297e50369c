//! The 2-level delivery algorithm on real atomics: each outcome, the layout of the words,
//! and the hypervisor racing a guest that runs Linux's handler and unmask path on other
//! threads.

mod harness;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::thread;

use harness::{GuestMem, PAGE_WORDS, VCPU_INFO_WORDS};
use xen_evtchn::delivery::{self, layout, Delivery, EVTCHN_2L_WORDS};
use xen_evtchn::{SharedBitmaps, VcpuInfoBits};

fn zeroed(n: usize) -> Vec<AtomicU64> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

#[test]
fn layout_matches_the_kernel_headers() {
    // The values tools/check-abi.sh checks with clang against include/xen/interface/xen.h.
    assert_eq!(layout::VCPU_INFO_SIZE, 48);
    assert_eq!(layout::VCPU_INFO_UPCALL_PENDING, 0);
    assert_eq!(layout::VCPU_INFO_UPCALL_MASK, 1);
    assert_eq!(layout::VCPU_INFO_PENDING_SEL, 8);
    assert_eq!(layout::VCPU_INFO_TIME, 16);
    assert_eq!(layout::SHARED_INFO_SIZE, 1096);
    assert_eq!(layout::SHARED_INFO_EVTCHN_PENDING, 48);
    assert_eq!(layout::SHARED_INFO_EVTCHN_MASK, 560);
    assert_eq!(layout::SHARED_INFO_WC, 1072);
    assert_eq!(layout::SHARED_INFO_WC_SEC_HI, 1088);
    // Derived: the arrays are 64 words each and back to back; everything fits a page.
    assert_eq!(EVTCHN_2L_WORDS, 64);
    assert_eq!(
        layout::SHARED_INFO_EVTCHN_MASK - layout::SHARED_INFO_EVTCHN_PENDING,
        64 * 8
    );
    assert_eq!(
        layout::SHARED_INFO_WC,
        layout::SHARED_INFO_EVTCHN_MASK + 64 * 8
    );
    assert!(layout::SHARED_INFO_SIZE <= layout::XEN_PAGE_SIZE);
    assert_eq!(
        layout::SHARED_INFO_VCPU_INFO + layout::VCPU_INFO_SIZE,
        layout::SHARED_INFO_EVTCHN_PENDING
    );
}

#[test]
fn shared_info_words_are_where_linux_looks() {
    let page = zeroed(PAGE_WORDS);
    let b = SharedBitmaps::from_shared_info(&page).unwrap();
    let vi = VcpuInfoBits::from_vcpu_info(&page[..VCPU_INFO_WORDS]).unwrap();
    // Port 130 = word 2, bit 2: evtchn_pending[2] at byte 48 + 16, selector bit 2.
    assert_eq!(delivery::set_pending(&b, Some(&vi), 130), Delivery::Upcall);
    assert_eq!(page[(48 + 16) / 8].load(SeqCst), 1 << 2);
    assert_eq!(page[1].load(SeqCst), 1 << 2, "evtchn_pending_sel at byte 8");
    assert_eq!(page[0].load(SeqCst), 1, "evtchn_upcall_pending is byte 0");
    // Mask of port 4095 is the top bit of evtchn_mask[63], byte 560 + 504.
    page[(560 + 504) / 8].store(1 << 63, SeqCst);
    assert!(b.is_masked(4095));
    assert!(!b.is_masked(4094));
    assert!(!b.is_pending(4096));
}

#[test]
fn every_outcome() {
    let (p, m) = (zeroed(64), zeroed(64));
    let (head, sel) = (AtomicU64::new(0), AtomicU64::new(0));
    let b = SharedBitmaps::new(&p, &m).unwrap();
    let v = VcpuInfoBits::new(&head, &sel);
    assert_eq!(delivery::set_pending(&b, Some(&v), 5), Delivery::Upcall);
    assert_eq!(
        delivery::set_pending(&b, Some(&v), 5),
        Delivery::AlreadyPending
    );
    // Same word, upcall not yet taken: the selector bit is already there.
    assert_eq!(delivery::set_pending(&b, Some(&v), 6), Delivery::Coalesced);
    // Other word: selector bit new, but upcall_pending still set.
    assert_eq!(delivery::set_pending(&b, Some(&v), 64), Delivery::Coalesced);
    assert_eq!(sel.load(SeqCst), 0b11);
    // Masked port.
    m[1].store(1 << 1, SeqCst);
    assert_eq!(delivery::set_pending(&b, Some(&v), 65), Delivery::Masked);
    // No vcpu_info.
    assert_eq!(delivery::set_pending(&b, None, 200), Delivery::NoVcpuInfo);
    assert!(b.is_pending(200));
    // Out of the ABI.
    assert_eq!(delivery::set_pending(&b, Some(&v), 4096), Delivery::Dropped);
    assert_eq!(delivery::unmask(&b, Some(&v), u32::MAX), Delivery::Dropped);
    delivery::clear_pending(&b, u32::MAX);
    // The guest takes the upcall, then unmasks 65 through the hypercall.
    head.store(0, SeqCst);
    sel.store(0, SeqCst);
    assert_eq!(delivery::unmask(&b, Some(&v), 65), Delivery::Upcall);
    assert_eq!(m[1].load(SeqCst), 0);
    assert_eq!(sel.load(SeqCst), 0b10);
    assert_eq!(
        delivery::unmask(&b, Some(&v), 65),
        Delivery::Idle,
        "not masked"
    );
    m[0].store(1 << 9, SeqCst);
    assert_eq!(
        delivery::unmask(&b, Some(&v), 9),
        Delivery::Idle,
        "nothing pending"
    );
    assert_eq!(m[0].load(SeqCst), 0);
    delivery::clear_pending(&b, 5);
    assert!(!b.is_pending(5));
}

#[test]
fn upcall_pending_shares_its_word_with_the_mask_byte() {
    // Only bit 0 of byte 0 is ever set; evtchn_upcall_mask (byte 1) and the padding stay.
    let (head, sel) = (AtomicU64::new(0xdead_beef_0000_0100), AtomicU64::new(0));
    let v = VcpuInfoBits::new(&head, &sel);
    assert!(!v.upcall_pending());
    let (p, m) = (zeroed(64), zeroed(64));
    let b = SharedBitmaps::new(&p, &m).unwrap();
    assert_eq!(delivery::set_pending(&b, Some(&v), 1), Delivery::Upcall);
    assert_eq!(head.load(SeqCst), 0xdead_beef_0000_0101);
    assert!(v.upcall_pending());
    assert_eq!(delivery::mark_all_pending(&v), Delivery::Upcall);
    assert_eq!(v.pending_sel(), u64::MAX);
    assert_eq!(head.load(SeqCst), 0xdead_beef_0000_0101);
}

/// One hypervisor thread raising events on random ports while guest threads (one per vCPU)
/// run Linux's upcall handler and the Arm/HVM unmask path (clear mask, test pending; if
/// pending, mask again and `EVTCHNOP_unmask`). At the end no event may be stranded: every
/// port is handled, nothing is pending, and every event raised after the guest's last look at
/// a port was seen.
#[test]
fn hypervisor_races_linux_without_losing_events() {
    const PORTS: u32 = 256;
    const ROUNDS: u32 = 100_000;
    let mem = Arc::new({
        let mut m = GuestMem::default();
        m.add_domain(1);
        m.register_vcpu_info(1, 0);
        m.register_vcpu_info(1, 1);
        m.handle_upcall(1, 0);
        m.handle_upcall(1, 1);
        m
    });
    // Port p notifies vCPU p % 2 (as Linux binds them with bind_vcpu).
    let vcpu_of = |p: u32| p % 2;
    // Interrupts "injected" per vCPU, and the count of raised/handled events per port.
    let irqs: Arc<[AtomicU64; 2]> = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let raised: Arc<Vec<AtomicU64>> = Arc::new(zeroed(PORTS as usize));
    let seen: Arc<Vec<AtomicU64>> = Arc::new(zeroed(PORTS as usize));
    let done = Arc::new(AtomicBool::new(false));

    let guests: Vec<_> = (0..2u32)
        .map(|vcpu| {
            let (mem, irqs, seen, done) = (mem.clone(), irqs.clone(), seen.clone(), done.clone());
            thread::spawn(move || {
                let mut taken = 0;
                let mut spins = 0u32;
                loop {
                    // `done` first: once it is seen, every interrupt the hypervisor raised
                    // is in `now`.
                    let finished = done.load(SeqCst);
                    let now = irqs[vcpu as usize].load(SeqCst);
                    if now != taken {
                        taken = now;
                        for p in mem.handle_upcall(1, vcpu) {
                            seen[p as usize].fetch_add(1, SeqCst);
                        }
                    } else if finished {
                        break;
                    }
                    // Now and then, mask and unmask one of our ports the way Linux does.
                    spins = spins.wrapping_add(1);
                    if spins % 7 == 0 {
                        let p = (spins / 7 % (PORTS / 2)) * 2 + vcpu;
                        mem.mask(1, p);
                        mem.clear_mask(1, p);
                        if mem.is_pending(1, p) {
                            mem.mask(1, p);
                            let b = mem.bitmaps(1);
                            let vi = mem.vi(1, vcpu_of(p));
                            if delivery::unmask(&b, Some(&vi), p) == Delivery::Upcall {
                                irqs[vcpu as usize].fetch_add(1, SeqCst);
                            }
                        }
                    }
                    std::hint::spin_loop();
                }
            })
        })
        .collect();

    let mut x = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..ROUNDS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let p = (x % u64::from(PORTS)) as u32;
        let v = vcpu_of(p);
        raised[p as usize].fetch_add(1, SeqCst);
        let b = mem.bitmaps(1);
        let vi = mem.vi(1, v);
        if delivery::set_pending(&b, Some(&vi), p) == Delivery::Upcall {
            irqs[v as usize].fetch_add(1, SeqCst);
        }
    }
    done.store(true, SeqCst);
    for g in guests {
        g.join().unwrap();
    }
    // Quiescent: the last interrupt of each vCPU was handled after the last event.
    for p in 0..PORTS {
        assert!(
            !mem.is_pending(1, p),
            "port {p} left pending: an event was lost"
        );
        assert!(!mem.is_masked(1, p));
        let (r, s) = (
            raised[p as usize].load(SeqCst),
            seen[p as usize].load(SeqCst),
        );
        assert!(s >= 1 || r == 0, "port {p}: raised {r}, never seen");
        assert!(s <= r, "port {p}: seen {s} > raised {r}");
    }
    for v in 0..2 {
        assert!(!mem.vi(1, v).upcall_pending());
    }
}
