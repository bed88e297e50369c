//! What Linux 7.3 (drivers/xen/events/, xenbus_client.c, hvc_xen.c) does, replayed through
//! the byte-level entry point `EventChannels::hypercall`, with the argument structures laid
//! out as in include/xen/interface/event_channel.h.

mod harness;

use harness::GuestMem;
use xen_evtchn::wire::{self, arg_size};
use xen_evtchn::{
    DomainConfig, Errno, EventChannels, HypercallOutcome, Upcall, DOMID_SELF,
    EVTCHNOP_ALLOC_UNBOUND, EVTCHNOP_BIND_INTERDOMAIN, EVTCHNOP_BIND_IPI, EVTCHNOP_BIND_PIRQ,
    EVTCHNOP_BIND_VCPU, EVTCHNOP_BIND_VIRQ, EVTCHNOP_CLOSE, EVTCHNOP_EXPAND_ARRAY,
    EVTCHNOP_INIT_CONTROL, EVTCHNOP_RESET, EVTCHNOP_SEND, EVTCHNOP_SET_PRIORITY, EVTCHNOP_STATUS,
    EVTCHNOP_UNMASK, EVTCHNSTAT_CLOSED, EVTCHNSTAT_INTERDOMAIN, EVTCHNSTAT_IPI, EVTCHNSTAT_UNBOUND,
    EVTCHNSTAT_VIRQ, EVTCHN_2L_NR_CHANNELS, VIRQ_CONSOLE,
};

const DOM0: u16 = 0;
const DOMU: u16 = 1;

struct Sys {
    ev: EventChannels,
    mem: GuestMem,
}

impl Sys {
    fn new() -> Self {
        let mut ev = EventChannels::new(2).unwrap();
        let mut mem = GuestMem::default();
        ev.add_domain(DomainConfig {
            privileged: true,
            ..DomainConfig::new(DOM0, 2)
        })
        .unwrap();
        ev.add_domain(DomainConfig::new(DOMU, 1)).unwrap();
        mem.add_domain(DOM0);
        mem.add_domain(DOMU);
        Self { ev, mem }
    }

    /// `HYPERVISOR_event_channel_op(cmd, arg)` as the hypervisor would run it: copy
    /// `arg_size(cmd)` bytes in, run, copy back on success.
    fn op(&mut self, caller: u16, cmd: u32, arg: &mut [u8]) -> HypercallOutcome {
        let Some(n) = arg_size(cmd) else {
            return self.ev.hypercall(caller, cmd, &mut [], &self.mem);
        };
        let mut copy = arg[..n].to_vec();
        let out = self.ev.hypercall(caller, cmd, &mut copy, &self.mem);
        if out.ret == 0 {
            arg[..n].copy_from_slice(&copy);
        }
        out
    }
}

fn le16(v: u16) -> [u8; 2] {
    v.to_le_bytes()
}

fn le32(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}

/// `xen_init_IRQ()`: FIFO first (`EVTCHNOP_init_control` must fail so Linux uses 2-level),
/// then per CPU the IPIs (`bind_ipi_to_irq`), and dom0's console VIRQ (hvc_xen).
#[test]
fn boot_falls_back_to_2_level_and_binds_ipis_and_the_console_virq() {
    let mut s = Sys::new();
    let mut init_control = [0u8; 24];
    assert_eq!(
        s.op(DOM0, EVTCHNOP_INIT_CONTROL, &mut init_control).ret,
        -38
    );
    for cmd in [
        EVTCHNOP_EXPAND_ARRAY,
        EVTCHNOP_SET_PRIORITY,
        EVTCHNOP_BIND_PIRQ,
        14,
        0xffff_ffff,
    ] {
        assert_eq!(arg_size(cmd), None);
        assert_eq!(s.op(DOM0, cmd, &mut [0u8; 32]).ret, Errno::NoSys.to_ret());
    }
    let mut ipi_ports = Vec::new();
    for cpu in 0..2u32 {
        for _ in 0..4 {
            // struct evtchn_bind_ipi { uint32_t vcpu; evtchn_port_t port; }
            let mut a = [0u8; 8];
            a[..4].copy_from_slice(&le32(cpu));
            assert_eq!(s.op(DOM0, EVTCHNOP_BIND_IPI, &mut a).ret, 0);
            ipi_ports.push(u32_at(&a, 4));
        }
    }
    assert_eq!(ipi_ports, (1..=8).collect::<Vec<_>>());
    // hvc_xen: bind_virq_to_irq(VIRQ_CONSOLE, 0, false).
    let mut a = [0u8; 12];
    a[..4].copy_from_slice(&le32(VIRQ_CONSOLE));
    assert_eq!(s.op(DOM0, EVTCHNOP_BIND_VIRQ, &mut a).ret, 0);
    let console = u32_at(&a, 8);
    assert_eq!(console, 9);
    // A second bind_virq fails with EEXIST; Linux's find_virq() then walks every port of
    // the 2-level ABI with EVTCHNOP_status looking for it.
    let mut a2 = [0u8; 12];
    a2[..4].copy_from_slice(&le32(VIRQ_CONSOLE));
    assert_eq!(s.op(DOM0, EVTCHNOP_BIND_VIRQ, &mut a2).ret, -17);
    let mut found = None;
    for port in 0..EVTCHN_2L_NR_CHANNELS {
        // struct evtchn_status { domid_t dom; evtchn_port_t port; uint32_t status, vcpu; u }
        let mut st = [0u8; 24];
        st[..2].copy_from_slice(&le16(DOMID_SELF));
        st[4..8].copy_from_slice(&le32(port));
        let r = s.op(DOM0, EVTCHNOP_STATUS, &mut st);
        if r.ret < 0 {
            assert_eq!(r.ret, -22, "ports beyond the table are EINVAL");
            continue;
        }
        if u32_at(&st, 8) == EVTCHNSTAT_VIRQ && u32_at(&st, 16) == VIRQ_CONSOLE {
            assert_eq!(u32_at(&st, 12), 0, "on vCPU 0");
            found = Some(port);
        }
    }
    assert_eq!(found, Some(console));
    // Sending an IPI to CPU 1 (xen_send_IPI_one -> notify_remote_via_evtchn).
    s.mem.register_vcpu_info(DOM0, 1);
    s.mem.handle_upcall(DOM0, 1);
    let mut send = le32(ipi_ports[4]);
    assert_eq!(
        s.op(DOM0, EVTCHNOP_SEND, &mut send),
        HypercallOutcome {
            ret: 0,
            upcall: Some(Upcall { dom: DOM0, vcpu: 1 }),
            hypervisor: None
        }
    );
    assert_eq!(s.mem.handle_upcall(DOM0, 1), [ipi_ports[4]]);
}

/// A frontend and backend pair as xenbus sets them up: the frontend allocates an unbound
/// port for the backend domain (`xenbus_alloc_evtchn`), publishes it in xenstore, the backend
/// binds to it (`bind_interdomain_evtchn_to_irqhandler`), then both notify each other.
#[test]
fn xenbus_frontend_backend_channel() {
    let mut s = Sys::new();
    // struct evtchn_alloc_unbound { domid_t dom, remote_dom; evtchn_port_t port; }
    let mut a = [0u8; 8];
    a[..2].copy_from_slice(&le16(DOMID_SELF));
    a[2..4].copy_from_slice(&le16(DOM0));
    assert_eq!(s.op(DOMU, EVTCHNOP_ALLOC_UNBOUND, &mut a).ret, 0);
    let fe = u32_at(&a, 4);
    // Status while waiting.
    let mut st = [0u8; 24];
    st[..2].copy_from_slice(&le16(DOMU));
    st[4..8].copy_from_slice(&le32(fe));
    assert_eq!(s.op(DOM0, EVTCHNOP_STATUS, &mut st).ret, 0);
    assert_eq!(
        (u32_at(&st, 8), u16::from_le_bytes([st[16], st[17]])),
        (EVTCHNSTAT_UNBOUND, DOM0)
    );
    // An event sent before the backend connects is dropped...
    let mut send = le32(fe);
    assert_eq!(s.op(DOMU, EVTCHNOP_SEND, &mut send).ret, 0);
    // struct evtchn_bind_interdomain { domid_t remote_dom; evtchn_port_t remote_port, local_port; }
    let mut b = [0u8; 12];
    b[..2].copy_from_slice(&le16(DOMU));
    b[4..8].copy_from_slice(&le32(fe));
    let out = s.op(DOM0, EVTCHNOP_BIND_INTERDOMAIN, &mut b);
    // ...which is why the new backend port starts pending.
    assert_eq!(
        out,
        HypercallOutcome {
            ret: 0,
            upcall: Some(Upcall { dom: DOM0, vcpu: 0 }),
            hypervisor: None
        }
    );
    let be = u32_at(&b, 8);
    assert_eq!(s.mem.handle_upcall(DOM0, 0), [be]);
    let mut st = [0u8; 24];
    st[..2].copy_from_slice(&le16(DOMID_SELF));
    st[4..8].copy_from_slice(&le32(be));
    assert_eq!(s.op(DOM0, EVTCHNOP_STATUS, &mut st).ret, 0);
    assert_eq!(u32_at(&st, 8), EVTCHNSTAT_INTERDOMAIN);
    assert_eq!(
        (u16::from_le_bytes([st[16], st[17]]), u32_at(&st, 20)),
        (DOMU, fe)
    );
    // Notifications both ways.
    let mut send = le32(fe);
    assert_eq!(
        s.op(DOMU, EVTCHNOP_SEND, &mut send).upcall,
        Some(Upcall { dom: DOM0, vcpu: 0 })
    );
    assert_eq!(s.op(DOMU, EVTCHNOP_SEND, &mut send).hypervisor, None);
    assert_eq!(s.mem.handle_upcall(DOM0, 0), [be]);
    let mut send = le32(be);
    assert_eq!(
        s.op(DOM0, EVTCHNOP_SEND, &mut send).upcall,
        Some(Upcall { dom: DOMU, vcpu: 0 })
    );
    assert_eq!(s.mem.handle_upcall(DOMU, 0), [fe]);
    // The backend moves its interrupt to CPU 1: mask, EVTCHNOP_bind_vcpu, unmask.
    s.mem.register_vcpu_info(DOM0, 1);
    s.mem.handle_upcall(DOM0, 1);
    s.mem.mask(DOM0, be);
    let mut bv = [0u8; 8];
    bv[..4].copy_from_slice(&le32(be));
    bv[4..].copy_from_slice(&le32(1));
    assert_eq!(s.op(DOM0, EVTCHNOP_BIND_VCPU, &mut bv).ret, 0);
    // An event arrives while it is masked.
    let mut send = le32(fe);
    assert_eq!(s.op(DOMU, EVTCHNOP_SEND, &mut send).upcall, None);
    // Linux's evtchn_2l_unmask() on Arm (an HVM guest): clear the mask, see it pending,
    // mask again and ask Xen.
    s.mem.clear_mask(DOM0, be);
    assert!(s.mem.is_pending(DOM0, be));
    s.mem.mask(DOM0, be);
    let mut um = le32(be);
    assert_eq!(
        s.op(DOM0, EVTCHNOP_UNMASK, &mut um).upcall,
        Some(Upcall { dom: DOM0, vcpu: 1 })
    );
    assert_eq!(s.mem.handle_upcall(DOM0, 1), [be]);
    // Frontend goes away (module unload): close; the backend's end is unbound again.
    let mut cl = le32(fe);
    assert_eq!(s.op(DOMU, EVTCHNOP_CLOSE, &mut cl).ret, 0);
    assert_eq!(s.op(DOMU, EVTCHNOP_CLOSE, &mut cl).ret, -22);
    let mut st = [0u8; 24];
    st[4..8].copy_from_slice(&le32(be));
    assert_eq!(s.op(DOM0, EVTCHNOP_STATUS, &mut st).ret, 0);
    assert_eq!((u32_at(&st, 8), u32_at(&st, 12)), (EVTCHNSTAT_UNBOUND, 1));
    // The backend closes too.
    let mut cl = le32(be);
    assert_eq!(s.op(DOM0, EVTCHNOP_CLOSE, &mut cl).ret, 0);
    let mut st = [0u8; 24];
    st[4..8].copy_from_slice(&le32(be));
    assert_eq!(s.op(DOM0, EVTCHNOP_STATUS, &mut st).ret, 0);
    assert_eq!(u32_at(&st, 8), EVTCHNSTAT_CLOSED);
}

/// Linux's xenbus on the store channel the hypervisor published in HVM_PARAM_STORE_EVTCHN:
/// it sends on it (the hypervisor's xenstore runs), the hypervisor notifies back, and
/// EVTCHNOP_status shows an interdomain channel to DOMID_XEN.
#[test]
fn xenstore_channel_to_the_hypervisor() {
    let mut s = Sys::new();
    let store = s.ev.bind_hypervisor(DOMU, 7).unwrap();
    let mut send = le32(store);
    let out = s.op(DOMU, EVTCHNOP_SEND, &mut send);
    assert_eq!(out.ret, 0);
    assert_eq!(out.upcall, None);
    assert_eq!(
        out.hypervisor,
        Some(xen_evtchn::HypervisorEvent {
            dom: DOMU,
            port: store,
            consumer: 7
        })
    );
    assert_eq!(
        s.ev.notify_guest(DOMU, store, &s.mem),
        Ok(Some(Upcall { dom: DOMU, vcpu: 0 }))
    );
    assert_eq!(s.mem.handle_upcall(DOMU, 0), [store]);
    let mut st = [0u8; 24];
    st[..2].copy_from_slice(&le16(DOMID_SELF));
    st[4..8].copy_from_slice(&le32(store));
    assert_eq!(s.op(DOMU, EVTCHNOP_STATUS, &mut st).ret, 0);
    assert_eq!(u32_at(&st, 8), EVTCHNSTAT_INTERDOMAIN);
    assert_eq!(
        (u16::from_le_bytes([st[16], st[17]]), u32_at(&st, 20)),
        (xen_evtchn::DOMID_XEN, 0)
    );
}

#[test]
fn reset_and_short_arguments() {
    let mut s = Sys::new();
    let mut a = [0u8; 8];
    assert_eq!(s.op(DOMU, EVTCHNOP_BIND_IPI, &mut a).ret, 0);
    let mut st = [0u8; 24];
    st[..2].copy_from_slice(&le16(DOMID_SELF));
    st[4..8].copy_from_slice(&le32(1));
    assert_eq!(s.op(DOMU, EVTCHNOP_STATUS, &mut st).ret, 0);
    assert_eq!(u32_at(&st, 8), EVTCHNSTAT_IPI);
    // struct evtchn_reset { domid_t dom; }
    let mut r = le16(DOM0);
    assert_eq!(s.op(DOMU, EVTCHNOP_RESET, &mut r).ret, -1, "EPERM");
    let mut r = le16(DOMID_SELF);
    assert_eq!(s.op(DOMU, EVTCHNOP_RESET, &mut r).ret, 0);
    // Arguments shorter than their structure: EFAULT, nothing done.
    for cmd in 0..=10 {
        let Some(n) = arg_size(cmd) else { continue };
        let mut short = vec![0u8; n - 1];
        let out = s.ev.hypercall(DOMU, cmd, &mut short, &s.mem);
        assert_eq!(out.ret, -14, "cmd {cmd}");
        assert_eq!(wire::decode(cmd, &short), Err(Errno::Fault));
    }
    assert_eq!(s.ev.stats(DOMU).unwrap().ports_in_use, 0);
}
