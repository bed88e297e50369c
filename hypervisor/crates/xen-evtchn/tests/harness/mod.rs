//! Shared by the integration tests and the cargo-fuzz target (fuzz/fuzz_targets/ops.rs
//! includes this file with `#[path]`): a model of the guests' event memory, and a driver
//! that runs an arbitrary byte string as a sequence of operations and checks, after each,
//! the invariants the hypervisor relies on.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::vec::Vec;

use xen_evtchn::delivery::{self, layout};
use xen_evtchn::{
    ChannelStatus, DomId, DomainConfig, Errno, EventChannels, EventMemory, Port, SharedBitmaps,
    Upcall, VcpuInfoBits, DOMID_SELF, NR_VIRQS,
};

/// Words in a page.
pub const PAGE_WORDS: usize = layout::XEN_PAGE_SIZE / 8;
/// Words in a `vcpu_info`.
pub const VCPU_INFO_WORDS: usize = layout::VCPU_INFO_SIZE / 8;

/// The event memory of some domains: a `shared_info` page each, and the `vcpu_info` areas
/// registered per vCPU.
#[derive(Default)]
pub struct GuestMem {
    shared: HashMap<DomId, Vec<AtomicU64>>,
    vcpu_info: HashMap<(DomId, u32), Vec<AtomicU64>>,
}

fn zeroed(n: usize) -> Vec<AtomicU64> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

impl GuestMem {
    /// Adds (or resets) a domain's `shared_info` page, all zero.
    pub fn add_domain(&mut self, dom: DomId) {
        self.shared.insert(dom, zeroed(PAGE_WORDS));
        self.vcpu_info.retain(|(d, _), _| *d != dom);
    }

    /// Forgets a domain's pages.
    pub fn remove_domain(&mut self, dom: DomId) {
        self.shared.remove(&dom);
        self.vcpu_info.retain(|(d, _), _| *d != dom);
    }

    /// `VCPUOP_register_vcpu_info`: a fresh area for `(dom, vcpu)`, then what Xen does
    /// (everything marked pending, interrupt injected).
    pub fn register_vcpu_info(&mut self, dom: DomId, vcpu: u32) -> delivery::Delivery {
        self.vcpu_info.insert((dom, vcpu), zeroed(VCPU_INFO_WORDS));
        let vi = self.vcpu_info(dom, vcpu).expect("just registered");
        delivery::mark_all_pending(&vi)
    }

    /// The raw `shared_info` words.
    pub fn page(&self, dom: DomId) -> &[AtomicU64] {
        &self.shared[&dom]
    }

    pub fn bitmaps(&self, dom: DomId) -> SharedBitmaps<'_> {
        self.shared_bitmaps(dom).expect("domain has shared_info")
    }

    pub fn vi(&self, dom: DomId, vcpu: u32) -> VcpuInfoBits<'_> {
        self.vcpu_info(dom, vcpu).expect("vcpu_info")
    }

    fn word(&self, dom: DomId, byte_off: usize, port: Port) -> (&AtomicU64, u64) {
        let w = byte_off / 8 + (port / 64) as usize;
        (&self.page(dom)[w], 1u64 << (port % 64))
    }

    pub fn is_pending(&self, dom: DomId, port: Port) -> bool {
        self.bitmaps(dom).is_pending(port)
    }

    pub fn is_masked(&self, dom: DomId, port: Port) -> bool {
        self.bitmaps(dom).is_masked(port)
    }

    /// Guest: `sync_set_bit(port, evtchn_mask)`.
    pub fn mask(&self, dom: DomId, port: Port) {
        let (w, b) = self.word(dom, layout::SHARED_INFO_EVTCHN_MASK, port);
        w.fetch_or(b, SeqCst);
    }

    /// Guest: `sync_clear_bit(port, evtchn_mask)`.
    pub fn clear_mask(&self, dom: DomId, port: Port) {
        let (w, b) = self.word(dom, layout::SHARED_INFO_EVTCHN_MASK, port);
        w.fetch_and(!b, SeqCst);
    }

    /// Guest: `sync_clear_bit(port, evtchn_pending)` (`clear_evtchn()`).
    pub fn clear_pending(&self, dom: DomId, port: Port) {
        let (w, b) = self.word(dom, layout::SHARED_INFO_EVTCHN_PENDING, port);
        w.fetch_and(!b, SeqCst);
    }

    /// Guest: Linux's `xen_evtchn_do_upcall()` on `vcpu`, simplified: clears
    /// `evtchn_upcall_pending`, exchanges the selector with 0, and acknowledges (clears) every
    /// pending, unmasked port of the selected words. Returns the ports handled.
    pub fn handle_upcall(&self, dom: DomId, vcpu: u32) -> Vec<Port> {
        let mut handled = Vec::new();
        let Some(words) = self.vcpu_words(dom, vcpu) else {
            return handled;
        };
        loop {
            words[0].fetch_and(!0xff, SeqCst);
            let sel = words[1].swap(0, SeqCst);
            let page = self.page(dom);
            let pend = layout::SHARED_INFO_EVTCHN_PENDING / 8;
            let mask = layout::SHARED_INFO_EVTCHN_MASK / 8;
            for w in 0..64usize {
                if sel & (1 << w) == 0 {
                    continue;
                }
                let bits = page[pend + w].load(SeqCst) & !page[mask + w].load(SeqCst);
                for b in 0..64u32 {
                    if bits & (1 << b) != 0 {
                        page[pend + w].fetch_and(!(1u64 << b), SeqCst);
                        handled.push(w as u32 * 64 + b);
                    }
                }
            }
            if words[0].load(SeqCst) & 0xff == 0 {
                break;
            }
        }
        handled
    }

    fn vcpu_words(&self, dom: DomId, vcpu: u32) -> Option<&[AtomicU64]> {
        match self.vcpu_info.get(&(dom, vcpu)) {
            Some(v) => Some(v),
            None if vcpu < layout::LEGACY_MAX_VCPUS => {
                self.shared.get(&dom).map(|p| &p[..VCPU_INFO_WORDS])
            }
            None => None,
        }
    }
}

impl EventMemory for GuestMem {
    fn shared_bitmaps(&self, dom: DomId) -> Option<SharedBitmaps<'_>> {
        SharedBitmaps::from_shared_info(self.shared.get(&dom)?)
    }

    fn vcpu_info(&self, dom: DomId, vcpu: u32) -> Option<VcpuInfoBits<'_>> {
        VcpuInfoBits::from_vcpu_info(self.vcpu_words(dom, vcpu)?)
    }
}

/// The domains of the fuzz world: (config, has a registered vcpu_info for every vCPU).
pub fn world_configs() -> [DomainConfig; 3] {
    [
        DomainConfig {
            domid: 0,
            nr_vcpus: 2,
            privileged: true,
            max_ports: 40,
        },
        DomainConfig {
            domid: 1,
            nr_vcpus: 1,
            privileged: false,
            max_ports: 16,
        },
        DomainConfig {
            domid: 7,
            nr_vcpus: 3,
            privileged: false,
            max_ports: 5,
        },
    ]
}

/// Checks every invariant of `ev` visible through the public API; panics (test failure)
/// with a description otherwise.
pub fn check_invariants(ev: &EventChannels, mem: &GuestMem) {
    let doms: Vec<DomId> = ev.domains().collect();
    // dom0 (privileged) asks about everyone. When dom0 itself is gone, ask each domain about
    // itself.
    for &d in &doms {
        let asker = if ev.has_domain(0) { 0 } else { d };
        let stats = ev.stats(d).expect("stats of a listed domain");
        let mut in_use = 0;
        for p in 0..stats.max_ports + 3 {
            let st = ev.status(asker, d, p);
            if p >= stats.max_ports {
                assert_eq!(st, Err(Errno::Inval), "d{d} port {p} beyond the table");
                continue;
            }
            let st = st.expect("status of an in-range port");
            if p == 0 {
                assert_eq!(st.status, ChannelStatus::Closed, "port 0 is reserved");
                continue;
            }
            match st.status {
                ChannelStatus::Closed => {
                    assert_eq!(st.vcpu, 0, "free port notifies vCPU 0");
                    assert!(!mem.is_pending(d, p), "d{d} port {p} free but pending");
                }
                ChannelStatus::Interdomain {
                    remote_dom,
                    remote_port,
                } => {
                    in_use += 1;
                    let asker2 = if ev.has_domain(0) { 0 } else { remote_dom };
                    let back = ev
                        .status(asker2, remote_dom, remote_port)
                        .expect("peer of an interdomain channel exists");
                    assert_eq!(
                        back.status,
                        ChannelStatus::Interdomain {
                            remote_dom: d,
                            remote_port: p
                        },
                        "d{d}:{p} -> d{remote_dom}:{remote_port} is not symmetric"
                    );
                }
                ChannelStatus::Virq { virq } => {
                    in_use += 1;
                    assert!(virq < NR_VIRQS);
                    let n = ev.virq_binding(d, virq, st.vcpu).expect("virq bound");
                    assert_eq!((n.port, n.vcpu), (p, st.vcpu), "virq table of d{d}");
                }
                ChannelStatus::Unbound { .. }
                | ChannelStatus::Ipi
                | ChannelStatus::Hypervisor { .. } => in_use += 1,
            }
        }
        assert_eq!(stats.ports_in_use, in_use, "d{d} ports_in_use");
        assert_eq!(
            stats.unbound + stats.interdomain + stats.virq + stats.ipi + stats.hypervisor,
            in_use,
            "d{d} per-state counts"
        );
        // Every VIRQ binding points at a port in the VIRQ state for that VIRQ.
        for virq in 0..NR_VIRQS {
            for vcpu in 0..4 {
                if let Some(n) = ev.virq_binding(d, virq, vcpu) {
                    let st = ev.status(asker, d, n.port).expect("bound port in range");
                    assert_eq!(st.status, ChannelStatus::Virq { virq });
                }
            }
        }
    }
}

fn check_upcall(ev: &EventChannels, mem: &GuestMem, u: Option<Upcall>) {
    if let Some(u) = u {
        assert!(ev.has_domain(u.dom), "upcall to a missing domain");
        assert!(
            mem.vi(u.dom, u.vcpu).upcall_pending(),
            "upcall without upcall_pending"
        );
    }
}

/// Reads the fuzz input.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    /// A small number most of the time (ports are allocated lowest first, so the low ones
    /// are the live ones), sometimes a full 32-bit value.
    fn num(&mut self) -> Option<u32> {
        let b = self.byte()?;
        if b < 0xa0 {
            return Some(u32::from(b) % 6);
        }
        if b < 0xf0 {
            return Some(u32::from(b) % 48);
        }
        let mut v = 0u32;
        for _ in 0..4 {
            v = v << 8 | u32::from(self.byte()?);
        }
        Some(v)
    }

    fn dom(&mut self) -> Option<DomId> {
        Some(match self.byte()? % 16 {
            0..=3 => 0,
            4..=7 => 1,
            8..=11 => 7,
            12 | 13 => DOMID_SELF,
            14 => 3,     // never exists
            _ => 0x7ff4, // DOMID_INVALID
        })
    }
}

/// Runs `data` as a sequence of operations on a fresh world, checking the invariants after
/// each. Never panics unless an invariant breaks (or the crate panics). Returns how many
/// interdomain bindings, successful sends and successful closes happened (to see that the
/// driver reaches them).
pub fn run(data: &[u8]) -> [u64; 3] {
    let mut done = [0u64; 3];
    let mut ev = EventChannels::new(4).expect("room for 4 domains");
    let mut mem = GuestMem::default();
    for c in world_configs() {
        ev.add_domain(c).expect("fresh domain");
        mem.add_domain(c.domid);
    }
    let mut input = Input(data);
    while let Some(op) = input.byte() {
        let Some(()) = step(&mut ev, &mut mem, op, &mut input, &mut done) else {
            break;
        };
        check_invariants(&ev, &mem);
    }
    done
}

fn step(
    ev: &mut EventChannels,
    mem: &mut GuestMem,
    op: u8,
    input: &mut Input<'_>,
    done: &mut [u64; 3],
) -> Option<()> {
    let caller = match input.dom()? {
        DOMID_SELF | 3 | 0x7ff4 => 0,
        d => d,
    };
    let live = ev.has_domain(caller);
    match op % 21 {
        0 => {
            let (dom, remote) = (input.dom()?, input.dom()?);
            let _ = ev.alloc_unbound(caller, dom, remote);
        }
        1 => {
            let (rdom, rport) = (input.dom()?, input.num()?);
            let r = ev.bind_interdomain(caller, rdom, rport, &*mem);
            if let Ok(b) = r {
                done[0] += 1;
                check_upcall(ev, mem, b.upcall);
                assert!(
                    mem.is_pending(caller, b.port),
                    "new interdomain port is pending"
                );
            }
        }
        2 => {
            let (virq, vcpu) = (input.num()?, input.num()?);
            let _ = ev.bind_virq(caller, virq, vcpu);
        }
        3 => {
            let _ = ev.bind_ipi(caller, input.num()?);
        }
        4 => {
            let port = input.num()?;
            if ev.close(caller, port, &*mem).is_ok() {
                done[2] += 1;
                assert!(!mem.is_pending(caller, port), "closed port left pending");
            }
        }
        5 | 6 => {
            let r = ev.send(caller, input.num()?, &*mem);
            done[1] += u64::from(r.is_ok());
            check_upcall(ev, mem, r.ok().and_then(|s| s.upcall()));
        }
        7 => {
            let _ = ev.status(caller, input.dom()?, input.num()?);
        }
        8 => {
            let _ = ev.bind_vcpu(caller, input.num()?, input.num()?);
        }
        9 => {
            let r = ev.unmask(caller, input.num()?, &*mem);
            check_upcall(ev, mem, r.ok().flatten());
        }
        10 => {
            let _ = ev.reset(caller, input.dom()?, &*mem);
        }
        11 => {
            let u = ev.raise_virq(caller, input.num()?, input.num()?, &*mem);
            check_upcall(ev, mem, u);
        }
        12 if live => mem.mask(caller, input.num()? % 64),
        13 if live => mem.clear_mask(caller, input.num()? % 64),
        14 if live => mem.clear_pending(caller, input.num()? % 64),
        15 if live => {
            let _ = mem.handle_upcall(caller, input.num()? % 3);
        }
        16 if live => {
            let vcpu = input.num()? % 3;
            mem.register_vcpu_info(caller, vcpu);
        }
        17 => {
            // Bring back a destroyed domain, or (now and then) destroy one.
            let pick = input.byte()?;
            let dead = world_configs()
                .into_iter()
                .find(|c| !ev.has_domain(c.domid));
            if dead.is_none() && pick < 0xc0 {
                return Some(());
            }
            let cfg = dead.unwrap_or(world_configs()[usize::from(pick) % 3]);
            if ev.has_domain(cfg.domid) {
                ev.remove_domain(cfg.domid).expect("listed domain");
                mem.remove_domain(cfg.domid);
                assert!(!ev.has_domain(cfg.domid));
            } else {
                ev.add_domain(cfg).expect("slot free again");
                mem.add_domain(cfg.domid);
            }
        }
        19 if live => {
            // The hypervisor's side: a xenstore-like channel, and notifications on ports.
            if input.byte()? < 0x40 {
                let _ = ev.bind_hypervisor(caller, input.num()?);
            } else {
                let r = ev.notify_guest(caller, input.num()?, &*mem);
                check_upcall(ev, mem, r.ok().flatten());
            }
        }
        18 => {
            // Raw hypercall: any command, any bytes.
            let cmd = input.num()? % 16;
            let len = usize::from(input.byte()? % 28);
            let mut arg = Vec::with_capacity(len);
            for _ in 0..len {
                arg.push(input.byte()?);
            }
            let out = ev.hypercall(caller, cmd, &mut arg, &*mem);
            check_upcall(ev, mem, out.upcall);
            assert!(out.ret <= 0);
        }
        _ => {
            let _ = ev.stats(caller);
        }
    }
    Some(())
}
