//! Each `EVTCHNOP_*` on its own: results, state changes, and the errno of every rejected
//! argument (Xen's choice, see xen/common/event_channel.c).

mod harness;

use harness::GuestMem;
use xen_evtchn::{
    Bound, ChannelStatus, DomainConfig, Errno, EventChannels, HypervisorEvent, PortStatus,
    ResetSummary, Sent, Upcall, DEFAULT_MAX_PORTS, DOMID_SELF, EVTCHN_2L_NR_CHANNELS, MAX_VCPUS,
    VIRQ_CONSOLE, VIRQ_DEBUG, VIRQ_TIMER,
};

const DOM0: u16 = 0;
const DOMU: u16 = 1;
const DOM2: u16 = 2;

fn world() -> (EventChannels, GuestMem) {
    let mut ev = EventChannels::new(4).unwrap();
    let mut mem = GuestMem::default();
    ev.add_domain(DomainConfig {
        privileged: true,
        ..DomainConfig::new(DOM0, 2)
    })
    .unwrap();
    ev.add_domain(DomainConfig::new(DOMU, 2)).unwrap();
    ev.add_domain(DomainConfig {
        max_ports: 4,
        ..DomainConfig::new(DOM2, 1)
    })
    .unwrap();
    for d in [DOM0, DOMU, DOM2] {
        mem.add_domain(d);
        mem.register_vcpu_info(d, 0);
        mem.register_vcpu_info(d, 1);
        // Registration marks everything pending; start from a quiet state.
        mem.handle_upcall(d, 0);
        mem.handle_upcall(d, 1);
    }
    (ev, mem)
}

fn st(ev: &EventChannels, dom: u16, port: u32) -> PortStatus {
    ev.status(DOM0, dom, port).unwrap()
}

#[test]
fn add_domain_checks_its_configuration() {
    let mut ev = EventChannels::new(2).unwrap();
    let bad = [
        DomainConfig::new(0x7ff0, 1),
        DomainConfig::new(0x7fff, 1),
        DomainConfig::new(1, 0),
        DomainConfig::new(1, MAX_VCPUS + 1),
        DomainConfig {
            max_ports: 1,
            ..DomainConfig::new(1, 1)
        },
        DomainConfig {
            max_ports: EVTCHN_2L_NR_CHANNELS + 1,
            ..DomainConfig::new(1, 1)
        },
    ];
    for c in bad {
        assert_eq!(ev.add_domain(c), Err(Errno::Inval), "{c:?}");
    }
    ev.add_domain(DomainConfig {
        max_ports: EVTCHN_2L_NR_CHANNELS,
        ..DomainConfig::new(1, MAX_VCPUS)
    })
    .unwrap();
    assert_eq!(ev.add_domain(DomainConfig::new(1, 1)), Err(Errno::Exist));
    ev.add_domain(DomainConfig::new(2, 1)).unwrap();
    assert_eq!(ev.add_domain(DomainConfig::new(3, 1)), Err(Errno::NoSpc));
    assert_eq!(ev.stats(1).unwrap().max_ports, EVTCHN_2L_NR_CHANNELS);
    assert_eq!(ev.stats(2).unwrap().max_ports, DEFAULT_MAX_PORTS);
}

#[test]
fn port_zero_is_reserved() {
    let (mut ev, mem) = world();
    assert_eq!(
        st(&ev, DOMU, 0),
        PortStatus {
            status: ChannelStatus::Closed,
            vcpu: 0
        }
    );
    assert_eq!(ev.close(DOMU, 0, &mem), Err(Errno::Inval));
    assert_eq!(ev.send(DOMU, 0, &mem), Err(Errno::Inval));
    assert_eq!(ev.bind_vcpu(DOMU, 0, 0), Err(Errno::Inval));
    // The first allocation is port 1.
    assert_eq!(ev.alloc_unbound(DOMU, DOMID_SELF, DOM0), Ok(1));
    assert_eq!(ev.stats(DOMU).unwrap().ports_in_use, 1);
}

#[test]
fn alloc_unbound() {
    let (mut ev, _mem) = world();
    // DOMID_SELF for both: a loopback listener.
    assert_eq!(ev.alloc_unbound(DOMU, DOMID_SELF, DOMID_SELF), Ok(1));
    assert_eq!(
        st(&ev, DOMU, 1).status,
        ChannelStatus::Unbound { remote_dom: DOMU }
    );
    // Our own id works like DOMID_SELF.
    assert_eq!(ev.alloc_unbound(DOMU, DOMU, DOM0), Ok(2));
    // The remote domain is not checked (Xen does not either).
    assert_eq!(ev.alloc_unbound(DOMU, DOMID_SELF, 0x1234), Ok(3));
    assert_eq!(
        st(&ev, DOMU, 3).status,
        ChannelStatus::Unbound { remote_dom: 0x1234 }
    );
    // Unprivileged on another domain: EPERM; privileged: allowed.
    assert_eq!(ev.alloc_unbound(DOMU, DOM2, DOMU), Err(Errno::Perm));
    assert_eq!(ev.alloc_unbound(DOM0, DOM2, DOMU), Ok(1));
    // Nonexistent domain.
    assert_eq!(ev.alloc_unbound(DOMU, 5, DOM0), Err(Errno::Srch));
    assert_eq!(ev.alloc_unbound(DOMU, 0x7ff4, DOM0), Err(Errno::Srch));
    // Out of ports: dom2 has 4 ports (0 reserved, 1 used above). ENOSPC comes before EPERM.
    assert_eq!(ev.alloc_unbound(DOM2, DOMID_SELF, DOM0), Ok(2));
    assert_eq!(ev.alloc_unbound(DOM2, DOMID_SELF, DOM0), Ok(3));
    assert_eq!(ev.alloc_unbound(DOM2, DOMID_SELF, DOM0), Err(Errno::NoSpc));
    assert_eq!(ev.alloc_unbound(DOMU, DOM2, DOM0), Err(Errno::NoSpc));
}

#[test]
fn bind_interdomain_connects_and_sets_the_local_port_pending() {
    let (mut ev, mem) = world();
    let listen = ev.alloc_unbound(DOMU, DOMID_SELF, DOM0).unwrap();
    let b = ev.bind_interdomain(DOM0, DOMU, listen, &mem).unwrap();
    assert_eq!(
        b,
        Bound {
            port: 1,
            upcall: Some(Upcall { dom: DOM0, vcpu: 0 })
        }
    );
    assert!(mem.is_pending(DOM0, b.port));
    assert_eq!(
        st(&ev, DOM0, b.port).status,
        ChannelStatus::Interdomain {
            remote_dom: DOMU,
            remote_port: listen
        }
    );
    assert_eq!(
        st(&ev, DOMU, listen).status,
        ChannelStatus::Interdomain {
            remote_dom: DOM0,
            remote_port: b.port
        }
    );
    // The remote end was already bound: EINVAL. So is a port reserved for someone else, a
    // free port, port 0 and a port beyond the table.
    assert_eq!(
        ev.bind_interdomain(DOM2, DOMU, listen, &mem),
        Err(Errno::Inval)
    );
    let other = ev.alloc_unbound(DOMU, DOMID_SELF, DOM0).unwrap();
    assert_eq!(
        ev.bind_interdomain(DOM2, DOMU, other, &mem),
        Err(Errno::Inval)
    );
    for p in [0, 40, DEFAULT_MAX_PORTS, u32::MAX] {
        assert_eq!(
            ev.bind_interdomain(DOM0, DOMU, p, &mem),
            Err(Errno::Inval),
            "port {p}"
        );
    }
    // Nonexistent remote domain.
    assert_eq!(ev.bind_interdomain(DOM0, 9, 1, &mem), Err(Errno::Srch));
    // Nothing leaked by the failures.
    assert_eq!(ev.stats(DOM0).unwrap().ports_in_use, 1);
    assert_eq!(ev.stats(DOM2).unwrap().ports_in_use, 0);
}

#[test]
fn bind_interdomain_without_a_free_local_port() {
    let (mut ev, mem) = world();
    let listen = ev.alloc_unbound(DOMU, DOMID_SELF, DOM2).unwrap();
    for _ in 0..3 {
        ev.bind_ipi(DOM2, 0).unwrap();
    }
    // ENOSPC is reported before the remote port is looked at (Xen's order).
    assert_eq!(
        ev.bind_interdomain(DOM2, DOMU, listen, &mem),
        Err(Errno::NoSpc)
    );
    assert_eq!(
        ev.bind_interdomain(DOM2, DOMU, 999, &mem),
        Err(Errno::NoSpc)
    );
    assert_eq!(
        st(&ev, DOMU, listen).status,
        ChannelStatus::Unbound { remote_dom: DOM2 }
    );
}

#[test]
fn loopback_interdomain() {
    let (mut ev, mem) = world();
    let a = ev.alloc_unbound(DOMU, DOMID_SELF, DOMID_SELF).unwrap();
    let b = ev.bind_interdomain(DOMU, DOMID_SELF, a, &mem).unwrap().port;
    assert_ne!(a, b);
    assert_eq!(
        st(&ev, DOMU, a).status,
        ChannelStatus::Interdomain {
            remote_dom: DOMU,
            remote_port: b
        }
    );
    mem.handle_upcall(DOMU, 0);
    assert_eq!(
        ev.send(DOMU, a, &mem),
        Ok(Sent::Guest(Some(Upcall { dom: DOMU, vcpu: 0 })))
    );
    assert_eq!(mem.handle_upcall(DOMU, 0), [b]);
    assert_eq!(ev.close(DOMU, b, &mem), Ok(()));
    assert_eq!(
        st(&ev, DOMU, a).status,
        ChannelStatus::Unbound { remote_dom: DOMU }
    );
    assert_eq!(
        ev.reset(DOMU, DOMID_SELF, &mem),
        Ok(ResetSummary {
            closed: 1,
            peers_unbound: 0
        })
    );
}

#[test]
fn bind_virq() {
    let (mut ev, _mem) = world();
    // Per-vCPU VIRQ on each vCPU: one port each.
    let t0 = ev.bind_virq(DOMU, VIRQ_TIMER, 0).unwrap();
    let t1 = ev.bind_virq(DOMU, VIRQ_TIMER, 1).unwrap();
    assert_ne!(t0, t1);
    assert_eq!(
        st(&ev, DOMU, t1),
        PortStatus {
            status: ChannelStatus::Virq { virq: VIRQ_TIMER },
            vcpu: 1
        }
    );
    assert_eq!(ev.bind_virq(DOMU, VIRQ_TIMER, 1), Err(Errno::Exist));
    // Global VIRQ: vCPU 0 only.
    assert_eq!(ev.bind_virq(DOMU, VIRQ_CONSOLE, 1), Err(Errno::Inval));
    let c = ev.bind_virq(DOMU, VIRQ_CONSOLE, 0).unwrap();
    assert_eq!(ev.bind_virq(DOMU, VIRQ_CONSOLE, 0), Err(Errno::Exist));
    // Bad numbers: EINVAL before ENOENT.
    assert_eq!(ev.bind_virq(DOMU, 24, 0), Err(Errno::Inval));
    assert_eq!(ev.bind_virq(DOMU, u32::MAX, 0), Err(Errno::Inval));
    assert_eq!(ev.bind_virq(DOMU, VIRQ_DEBUG, 2), Err(Errno::NoEnt));
    assert_eq!(ev.bind_virq(DOMU, VIRQ_DEBUG, u32::MAX), Err(Errno::NoEnt));
    assert_eq!(ev.bind_virq(DOMU, VIRQ_CONSOLE, 5), Err(Errno::Inval));
    // Sending on a VIRQ port is not allowed.
    let mem = GuestMem::default();
    assert_eq!(ev.send(DOMU, c, &mem), Err(Errno::Inval));
    // Closing frees the VIRQ for a new binding.
    ev.close(DOMU, t1, &mem).unwrap();
    assert!(ev.virq_binding(DOMU, VIRQ_TIMER, 1).is_none());
    assert_eq!(ev.bind_virq(DOMU, VIRQ_TIMER, 1), Ok(t1));
    // Full table.
    assert_eq!(ev.bind_virq(DOM2, VIRQ_TIMER, 0), Ok(1));
    assert_eq!(ev.bind_virq(DOM2, VIRQ_DEBUG, 0), Ok(2));
    assert_eq!(ev.bind_virq(DOM2, VIRQ_CONSOLE, 0), Ok(3));
    assert_eq!(ev.bind_virq(DOM2, 5, 0), Err(Errno::NoSpc));
    assert_eq!(ev.bind_virq(DOM2, VIRQ_TIMER, 0), Err(Errno::Exist));
}

#[test]
fn raise_virq_goes_to_the_bound_vcpu() {
    let (mut ev, mem) = world();
    let t1 = ev.bind_virq(DOMU, VIRQ_TIMER, 1).unwrap();
    assert_eq!(
        ev.raise_virq(DOMU, VIRQ_TIMER, 0, &mem),
        None,
        "not bound on vCPU 0"
    );
    assert_eq!(
        ev.raise_virq(DOMU, VIRQ_TIMER, 1, &mem),
        Some(Upcall { dom: DOMU, vcpu: 1 })
    );
    assert_eq!(mem.handle_upcall(DOMU, 1), [t1]);
    // Global VIRQ, moved to vCPU 1 with bind_vcpu: the vcpu argument does not matter.
    let c = ev.bind_virq(DOMU, VIRQ_CONSOLE, 0).unwrap();
    ev.bind_vcpu(DOMU, c, 1).unwrap();
    assert_eq!(st(&ev, DOMU, c).vcpu, 1);
    assert_eq!(
        ev.raise_virq(DOMU, VIRQ_CONSOLE, 0, &mem),
        Some(Upcall { dom: DOMU, vcpu: 1 })
    );
    assert_eq!(mem.handle_upcall(DOMU, 1), [c]);
    // Unknown domain, VIRQ, vCPU.
    assert_eq!(ev.raise_virq(9, VIRQ_TIMER, 0, &mem), None);
    assert_eq!(ev.raise_virq(DOMU, 99, 0, &mem), None);
    assert_eq!(ev.raise_virq(DOMU, VIRQ_TIMER, 99, &mem), None);
    // Closing it after the move clears the global binding (kept in vCPU 0's table).
    ev.close(DOMU, c, &mem).unwrap();
    assert_eq!(ev.virq_binding(DOMU, VIRQ_CONSOLE, 0), None);
    assert_eq!(ev.bind_virq(DOMU, VIRQ_CONSOLE, 0), Ok(c));
}

#[test]
fn bind_ipi_and_send_to_self() {
    let (mut ev, mem) = world();
    let p = ev.bind_ipi(DOMU, 1).unwrap();
    assert_eq!(
        st(&ev, DOMU, p),
        PortStatus {
            status: ChannelStatus::Ipi,
            vcpu: 1
        }
    );
    assert_eq!(
        ev.send(DOMU, p, &mem),
        Ok(Sent::Guest(Some(Upcall { dom: DOMU, vcpu: 1 })))
    );
    // Second send before the guest handled it: merged.
    assert_eq!(ev.send(DOMU, p, &mem), Ok(Sent::Guest(None)));
    assert_eq!(mem.handle_upcall(DOMU, 1), [p]);
    assert_eq!(ev.bind_ipi(DOMU, 2), Err(Errno::NoEnt));
    // IPIs cannot be re-targeted.
    assert_eq!(ev.bind_vcpu(DOMU, p, 0), Err(Errno::Inval));
    assert_eq!(ev.stats(DOMU).unwrap().sends, 2);
}

#[test]
fn send_on_an_unbound_port_is_dropped_silently() {
    let (mut ev, mem) = world();
    let p = ev.alloc_unbound(DOMU, DOMID_SELF, DOM0).unwrap();
    assert_eq!(ev.send(DOMU, p, &mem), Ok(Sent::Guest(None)));
    assert!(!mem.is_pending(DOMU, p));
    for bad in [2, 1000, DEFAULT_MAX_PORTS, u32::MAX] {
        assert_eq!(ev.send(DOMU, bad, &mem), Err(Errno::Inval), "port {bad}");
    }
    assert_eq!(ev.send(9, 1, &mem), Err(Errno::Srch));
}

#[test]
fn send_goes_to_the_peer_notify_vcpu() {
    let (mut ev, mem) = world();
    let fe = ev.alloc_unbound(DOMU, DOMID_SELF, DOM0).unwrap();
    let be = ev.bind_interdomain(DOM0, DOMU, fe, &mem).unwrap().port;
    mem.handle_upcall(DOM0, 0);
    assert_eq!(
        ev.send(DOMU, fe, &mem),
        Ok(Sent::Guest(Some(Upcall { dom: DOM0, vcpu: 0 })))
    );
    assert_eq!(mem.handle_upcall(DOM0, 0), [be]);
    // dom0 moves its end to vCPU 1 (Linux: irq affinity).
    ev.bind_vcpu(DOM0, be, 1).unwrap();
    assert_eq!(
        ev.send(DOMU, fe, &mem),
        Ok(Sent::Guest(Some(Upcall { dom: DOM0, vcpu: 1 })))
    );
    assert_eq!(mem.handle_upcall(DOM0, 1), [be]);
    // And back the other way.
    assert_eq!(
        ev.send(DOM0, be, &mem),
        Ok(Sent::Guest(Some(Upcall { dom: DOMU, vcpu: 0 })))
    );
    assert_eq!(mem.handle_upcall(DOMU, 0), [fe]);
}

#[test]
fn masked_ports_do_not_upcall_until_unmasked() {
    let (mut ev, mem) = world();
    let p = ev.bind_ipi(DOMU, 0).unwrap();
    mem.mask(DOMU, p);
    assert_eq!(ev.send(DOMU, p, &mem), Ok(Sent::Guest(None)));
    assert!(mem.is_pending(DOMU, p));
    assert!(!mem.vi(DOMU, 0).upcall_pending());
    assert_eq!(ev.stats(DOMU).unwrap().masked, 1);
    // EVTCHNOP_unmask re-raises it.
    assert_eq!(
        ev.unmask(DOMU, p, &mem),
        Ok(Some(Upcall { dom: DOMU, vcpu: 0 }))
    );
    assert!(!mem.is_masked(DOMU, p));
    assert_eq!(mem.handle_upcall(DOMU, 0), [p]);
    // Unmasking an unmasked or idle port does nothing.
    assert_eq!(ev.unmask(DOMU, p, &mem), Ok(None));
    // Any port in range may be unmasked, even a free one; beyond the table, EINVAL.
    assert_eq!(ev.unmask(DOMU, 500, &mem), Ok(None));
    assert_eq!(ev.unmask(DOMU, DEFAULT_MAX_PORTS, &mem), Err(Errno::Inval));
}

#[test]
fn close_puts_the_peer_back_to_unbound_and_clears_pending() {
    let (mut ev, mem) = world();
    let fe = ev.alloc_unbound(DOMU, DOMID_SELF, DOM0).unwrap();
    let be = ev.bind_interdomain(DOM0, DOMU, fe, &mem).unwrap().port;
    ev.send(DOM0, be, &mem).unwrap();
    assert!(mem.is_pending(DOMU, fe));
    // Frontend closes: its pending bit goes, the backend's end waits for the frontend again.
    ev.close(DOMU, fe, &mem).unwrap();
    assert!(!mem.is_pending(DOMU, fe));
    assert_eq!(
        st(&ev, DOMU, fe),
        PortStatus {
            status: ChannelStatus::Closed,
            vcpu: 0
        }
    );
    assert_eq!(
        st(&ev, DOM0, be).status,
        ChannelStatus::Unbound { remote_dom: DOMU }
    );
    assert_eq!(ev.close(DOMU, fe, &mem), Err(Errno::Inval), "double close");
    // The frontend reconnects to the same backend port.
    let fe2 = ev.bind_interdomain(DOMU, DOM0, be, &mem).unwrap().port;
    assert_eq!(
        st(&ev, DOM0, be).status,
        ChannelStatus::Interdomain {
            remote_dom: DOMU,
            remote_port: fe2
        }
    );
    // A re-used port notifies vCPU 0 again.
    ev.bind_vcpu(DOMU, fe2, 1).unwrap();
    ev.close(DOMU, fe2, &mem).unwrap();
    let again = ev.alloc_unbound(DOMU, DOMID_SELF, DOM0).unwrap();
    assert_eq!(again, fe2);
    assert_eq!(st(&ev, DOMU, again).vcpu, 0);
    for bad in [DEFAULT_MAX_PORTS, u32::MAX] {
        assert_eq!(ev.close(DOMU, bad, &mem), Err(Errno::Inval));
    }
}

#[test]
fn status_permissions_and_ranges() {
    let (mut ev, _mem) = world();
    let p = ev.bind_ipi(DOM2, 0).unwrap();
    assert_eq!(
        ev.status(DOM2, DOMID_SELF, p).unwrap().status,
        ChannelStatus::Ipi
    );
    assert_eq!(ev.status(DOM2, DOM2, p).unwrap().status, ChannelStatus::Ipi);
    assert_eq!(ev.status(DOMU, DOM2, p), Err(Errno::Perm));
    assert_eq!(ev.status(DOM0, DOM2, p).unwrap().status, ChannelStatus::Ipi);
    // Xen's order: ESRCH, then EINVAL, then EPERM.
    assert_eq!(ev.status(DOMU, 9, p), Err(Errno::Srch));
    assert_eq!(ev.status(DOMU, DOM2, 4), Err(Errno::Inval));
    assert_eq!(ev.status(DOM2, DOMID_SELF, u32::MAX), Err(Errno::Inval));
}

#[test]
fn bind_vcpu_rules() {
    let (mut ev, mem) = world();
    let unbound = ev.alloc_unbound(DOMU, DOMID_SELF, DOM0).unwrap();
    let timer = ev.bind_virq(DOMU, VIRQ_TIMER, 0).unwrap();
    assert_eq!(ev.bind_vcpu(DOMU, unbound, 1), Ok(()));
    assert_eq!(st(&ev, DOMU, unbound).vcpu, 1);
    // The interdomain binding keeps the notify vCPU of the port that was unbound.
    let be = ev.bind_interdomain(DOM0, DOMU, unbound, &mem).unwrap().port;
    assert_eq!(
        ev.send(DOM0, be, &mem),
        Ok(Sent::Guest(Some(Upcall { dom: DOMU, vcpu: 1 })))
    );
    assert_eq!(
        ev.bind_vcpu(DOMU, timer, 1),
        Err(Errno::Inval),
        "per-vCPU VIRQ"
    );
    assert_eq!(ev.bind_vcpu(DOMU, 77, 1), Err(Errno::Inval), "free port");
    assert_eq!(ev.bind_vcpu(DOMU, DEFAULT_MAX_PORTS, 1), Err(Errno::Inval));
    // ENOENT is checked before the port.
    assert_eq!(ev.bind_vcpu(DOMU, DEFAULT_MAX_PORTS, 2), Err(Errno::NoEnt));
}

#[test]
fn reset_closes_everything() {
    let (mut ev, mem) = world();
    let fe = ev.alloc_unbound(DOMU, DOMID_SELF, DOM0).unwrap();
    let be = ev.bind_interdomain(DOM0, DOMU, fe, &mem).unwrap().port;
    ev.bind_virq(DOMU, VIRQ_TIMER, 1).unwrap();
    let ipi = ev.bind_ipi(DOMU, 0).unwrap();
    ev.send(DOMU, ipi, &mem).unwrap();
    ev.alloc_unbound(DOMU, DOMID_SELF, DOM2).unwrap();
    assert_eq!(ev.reset(DOMU, DOM0, &mem), Err(Errno::Perm));
    assert_eq!(
        ev.reset(DOM0, DOMU, &mem),
        Err(Errno::Inval),
        "privileged, other domain"
    );
    assert_eq!(ev.reset(DOMU, 9, &mem), Err(Errno::Srch));
    assert_eq!(
        ev.reset(DOMU, DOMID_SELF, &mem),
        Ok(ResetSummary {
            closed: 4,
            peers_unbound: 1
        })
    );
    assert!(!mem.is_pending(DOMU, ipi));
    assert_eq!(ev.stats(DOMU).unwrap().ports_in_use, 0);
    assert_eq!(
        st(&ev, DOM0, be).status,
        ChannelStatus::Unbound { remote_dom: DOMU }
    );
    assert!(ev.virq_binding(DOMU, VIRQ_TIMER, 1).is_none());
}

#[test]
fn remove_domain_unbinds_the_peers() {
    let (mut ev, mut mem) = world();
    let fe = ev.alloc_unbound(DOMU, DOMID_SELF, DOM0).unwrap();
    let be = ev.bind_interdomain(DOM0, DOMU, fe, &mem).unwrap().port;
    let fe2 = ev.alloc_unbound(DOM2, DOMID_SELF, DOMU).unwrap();
    let mid = ev.bind_interdomain(DOMU, DOM2, fe2, &mem).unwrap().port;
    assert_eq!(
        ev.remove_domain(DOMU),
        Ok(ResetSummary {
            closed: 2,
            peers_unbound: 2
        })
    );
    mem.remove_domain(DOMU);
    assert!(!ev.has_domain(DOMU));
    assert_eq!(
        st(&ev, DOM0, be).status,
        ChannelStatus::Unbound { remote_dom: DOMU }
    );
    assert_eq!(
        st(&ev, DOM2, fe2).status,
        ChannelStatus::Unbound { remote_dom: DOMU }
    );
    // Everything about DOMU is now ESRCH, and sends toward it are dropped.
    assert_eq!(ev.status(DOM0, DOMU, mid), Err(Errno::Srch));
    assert_eq!(ev.send(DOMU, mid, &mem), Err(Errno::Srch));
    assert_eq!(ev.send(DOM0, be, &mem), Ok(Sent::Guest(None)));
    assert_eq!(ev.remove_domain(DOMU), Err(Errno::Srch));
    // A new domain with the same id can bind to the waiting backend port.
    ev.add_domain(DomainConfig::new(DOMU, 1)).unwrap();
    mem.add_domain(DOMU);
    let fe3 = ev.bind_interdomain(DOMU, DOM0, be, &mem).unwrap().port;
    assert_eq!(fe3, 1);
}

#[test]
fn events_without_shared_info_or_vcpu_info() {
    let mut ev = EventChannels::new(2).unwrap();
    ev.add_domain(DomainConfig::new(1, 2)).unwrap();
    // No shared_info at all: the event is dropped and counted.
    let none = GuestMem::default();
    let p = ev.bind_ipi(1, 1).unwrap();
    assert_eq!(ev.send(1, p, &none), Ok(Sent::Guest(None)));
    assert_eq!(ev.stats(1).unwrap().dropped, 1);
    // shared_info but vCPU 1 has not registered its vcpu_info: pending, no upcall; the
    // registration then marks everything pending and raises the interrupt.
    let mut mem = GuestMem::default();
    mem.add_domain(1);
    assert_eq!(ev.send(1, p, &mem), Ok(Sent::Guest(None)));
    assert!(mem.is_pending(1, p));
    assert_eq!(mem.register_vcpu_info(1, 1), xen_evtchn::Delivery::Upcall);
    assert_eq!(mem.handle_upcall(1, 1), [p]);
    // vCPU 0 uses shared_info.vcpu_info[0] until it registers.
    let q = ev.bind_ipi(1, 0).unwrap();
    assert_eq!(
        ev.send(1, q, &mem),
        Ok(Sent::Guest(Some(Upcall { dom: 1, vcpu: 0 })))
    );
    assert_ne!(
        mem.page(1)[0].load(std::sync::atomic::Ordering::SeqCst) & 1,
        0
    );
}

/// The xenstore and console channels: the hypervisor end of an interdomain channel.
#[test]
fn hypervisor_bound_ports() {
    let (mut ev, mem) = world();
    const XENSTORE: u32 = 0;
    let p = ev.bind_hypervisor(DOMU, XENSTORE).unwrap();
    assert_eq!(
        st(&ev, DOMU, p),
        PortStatus {
            status: ChannelStatus::Hypervisor { consumer: XENSTORE },
            vcpu: 0
        }
    );
    assert_eq!(ev.stats(DOMU).unwrap().hypervisor, 1);
    // The guest notifies the hypervisor.
    assert_eq!(
        ev.send(DOMU, p, &mem),
        Ok(Sent::Hypervisor(HypervisorEvent {
            dom: DOMU,
            port: p,
            consumer: XENSTORE
        }))
    );
    // The hypervisor notifies the guest, on the vCPU the guest chose.
    assert_eq!(
        ev.notify_guest(DOMU, p, &mem),
        Ok(Some(Upcall { dom: DOMU, vcpu: 0 }))
    );
    assert_eq!(mem.handle_upcall(DOMU, 0), [p]);
    ev.bind_vcpu(DOMU, p, 1).unwrap();
    assert_eq!(
        ev.notify_guest(DOMU, p, &mem),
        Ok(Some(Upcall { dom: DOMU, vcpu: 1 }))
    );
    // Nobody else can bind to it.
    assert_eq!(ev.bind_interdomain(DOM0, DOMU, p, &mem), Err(Errno::Inval));
    // Other ports are not the hypervisor's to notify.
    let ipi = ev.bind_ipi(DOMU, 0).unwrap();
    assert_eq!(ev.notify_guest(DOMU, ipi, &mem), Err(Errno::Inval));
    assert_eq!(ev.notify_guest(DOMU, u32::MAX, &mem), Err(Errno::Inval));
    assert_eq!(ev.notify_guest(9, p, &mem), Err(Errno::Srch));
    assert_eq!(ev.bind_hypervisor(9, XENSTORE), Err(Errno::Srch));
    // The guest may close it; the hypervisor's next notification is refused.
    ev.close(DOMU, p, &mem).unwrap();
    assert_eq!(ev.notify_guest(DOMU, p, &mem), Err(Errno::Inval));
    // Full table.
    for _ in 0..3 {
        ev.bind_hypervisor(DOM2, 1).unwrap();
    }
    assert_eq!(ev.bind_hypervisor(DOM2, 1), Err(Errno::NoSpc));
}

#[test]
fn unknown_caller_is_esrch() {
    let (mut ev, mem) = world();
    assert_eq!(ev.bind_ipi(9, 0), Err(Errno::Srch));
    assert_eq!(ev.bind_virq(9, 0, 0), Err(Errno::Srch));
    assert_eq!(ev.close(9, 1, &mem), Err(Errno::Srch));
    assert_eq!(ev.unmask(9, 1, &mem), Err(Errno::Srch));
    assert_eq!(ev.bind_vcpu(9, 1, 0), Err(Errno::Srch));
    assert_eq!(ev.bind_interdomain(9, DOM0, 1, &mem), Err(Errno::Srch));
    assert_eq!(ev.alloc_unbound(9, DOMID_SELF, DOM0), Err(Errno::Srch));
    assert_eq!(ev.reset(9, DOMID_SELF, &mem), Err(Errno::Srch));
    assert!(ev.stats(9).is_none());
}

#[test]
fn errno_values_are_xens() {
    let codes = [
        (Errno::Perm, 1),
        (Errno::NoEnt, 2),
        (Errno::Srch, 3),
        (Errno::NxIo, 6),
        (Errno::NoMem, 12),
        (Errno::Fault, 14),
        (Errno::Exist, 17),
        (Errno::Inval, 22),
        (Errno::NoSpc, 28),
        (Errno::NoSys, 38),
    ];
    for (e, c) in codes {
        assert_eq!(e.code(), c);
        assert_eq!(e.to_ret(), -i64::from(c));
    }
}
