//! Property tests: arbitrary operation sequences (the fuzz driver of tests/harness, with its
//! invariants checked after every step), arbitrary hypercall bytes, and the delivery
//! algorithm against a cooperative guest, where no event may ever be stranded.

mod harness;

use harness::GuestMem;
use proptest::prelude::*;
use xen_evtchn::delivery::{self, Delivery};
use xen_evtchn::{wire, DomainConfig, EventChannels, DOMID_SELF};

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Any byte string is a valid run: the hypervisor state stays consistent (interdomain
    /// links symmetric, VIRQ tables and counters agree with the ports, freed ports never left
    /// pending), and nothing panics.
    #[test]
    fn random_operation_sequences_keep_the_invariants(
        data in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let _ = harness::run(&data);
    }

    /// Decoding never panics, and accepts exactly the structures that are long enough.
    #[test]
    fn decode_any_bytes(cmd in 0u32..20, data in prop::collection::vec(any::<u8>(), 0..40)) {
        match (wire::arg_size(cmd), wire::decode(cmd, &data)) {
            (None, r) => prop_assert_eq!(r, Err(xen_evtchn::Errno::NoSys)),
            (Some(n), Ok(_)) => prop_assert!(data.len() >= n),
            (Some(n), Err(e)) => {
                prop_assert!(data.len() < n);
                prop_assert_eq!(e, xen_evtchn::Errno::Fault);
            }
        }
    }

    /// Hypercalls with arbitrary arguments from an unprivileged domain never touch another
    /// domain's ports except through the channels that domain offered it.
    #[test]
    fn unprivileged_hypercalls_stay_in_their_lane(
        ops in prop::collection::vec((0u32..12, prop::collection::vec(any::<u8>(), 0..24)), 0..60),
    ) {
        let mut ev = EventChannels::new(2).unwrap();
        let mut mem = GuestMem::default();
        let dom0 = DomainConfig { privileged: true, max_ports: 32, ..DomainConfig::new(0, 1) };
        ev.add_domain(dom0).unwrap();
        ev.add_domain(DomainConfig { max_ports: 32, ..DomainConfig::new(1, 1) }).unwrap();
        mem.add_domain(0);
        mem.add_domain(1);
        // dom0 offers exactly one port to dom1.
        let offered = ev.alloc_unbound(0, DOMID_SELF, 1).unwrap();
        for (cmd, mut arg) in ops {
            let out = ev.hypercall(1, cmd, &mut arg, &mem);
            prop_assert!(out.ret <= 0);
            harness::check_invariants(&ev, &mem);
            let s0 = ev.stats(0).unwrap();
            prop_assert_eq!(s0.ports_in_use, 1, "dom1 changed dom0's table");
            let st = ev.status(0, 0, offered).unwrap();
            prop_assert!(st.status != xen_evtchn::ChannelStatus::Closed);
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 250, ..ProptestConfig::default() })]

    /// The delivery algorithm with a cooperative guest (Linux's handler and unmask path) on
    /// two vCPUs, one step at a time: after every step, each pending and unmasked port has
    /// its selector bit and `evtchn_upcall_pending` set on its vCPU (so an upcall will find
    /// it), and after draining nothing is left pending.
    #[test]
    fn no_stranded_events(steps in prop::collection::vec((0u8..5, 0u32..200), 0..300)) {
        let mut mem = GuestMem::default();
        mem.add_domain(1);
        for v in 0..2 {
            mem.register_vcpu_info(1, v);
            mem.handle_upcall(1, v);
        }
        let vcpu_of = |p: u32| p % 2;
        let raise = |mem: &GuestMem, p: u32| {
            let (b, vi) = (mem.bitmaps(1), mem.vi(1, vcpu_of(p)));
            delivery::set_pending(&b, Some(&vi), p)
        };
        let linux_unmask = |mem: &GuestMem, p: u32| {
            mem.clear_mask(1, p);
            if mem.is_pending(1, p) {
                mem.mask(1, p);
                let (b, vi) = (mem.bitmaps(1), mem.vi(1, vcpu_of(p)));
                let r = delivery::unmask(&b, Some(&vi), p);
                assert!(matches!(r, Delivery::Upcall | Delivery::Coalesced), "{r:?}");
            }
        };
        for (kind, p) in steps {
            match kind {
                0 | 1 => {
                    let r = raise(&mem, p);
                    if r == Delivery::Upcall {
                        prop_assert!(mem.vi(1, vcpu_of(p)).upcall_pending());
                    }
                }
                2 => mem.mask(1, p),
                3 => linux_unmask(&mem, p),
                _ => { mem.handle_upcall(1, p % 2); }
            }
            for q in 0..200u32 {
                if mem.is_pending(1, q) && !mem.is_masked(1, q) {
                    let vi = mem.vi(1, vcpu_of(q));
                    let sel = vi.pending_sel() & (1 << (q / 64));
                    prop_assert!(sel != 0, "port {} without selector", q);
                    prop_assert!(vi.upcall_pending(), "port {} without upcall", q);
                }
            }
        }
        // Drain: unmask everything, take the upcalls.
        for q in 0..200u32 {
            if mem.is_masked(1, q) {
                linux_unmask(&mem, q);
            }
        }
        for v in 0..2 {
            if mem.vi(1, v).upcall_pending() {
                mem.handle_upcall(1, v);
            }
        }
        for q in 0..200u32 {
            prop_assert!(!mem.is_pending(1, q), "port {} stranded", q);
        }
    }
}

/// Longer fuzz-style runs with a cheap generator, so that `cargo test` goes deeper than the
/// proptest cases.
#[test]
fn long_pseudo_random_runs() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut done = [0u64; 3];
    for _ in 0..100 {
        let data: Vec<u8> = (0..3000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        for (t, d) in done.iter_mut().zip(harness::run(&data)) {
            *t += d;
        }
    }
    // The driver does reach the interesting paths.
    assert!(
        done[0] > 30 && done[1] > 200 && done[2] > 200,
        "interdomain binds, sends, closes: {done:?}"
    );
}
