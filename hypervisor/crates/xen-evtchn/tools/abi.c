/*
 * The layouts xen-evtchn relies on (src/delivery.rs `layout`, src/wire.rs), checked against
 * the Xen interface headers Linux carries, compiled for aarch64. Run by check-abi.sh; every
 * number here is also a constant in the crate (tests/delivery.rs repeats them).
 */
#include <linux/types.h>
#include <xen/interface/xen.h>
#include <xen/interface/event_channel.h>
#include <stddef.h>

#define CHECK(expr, val) _Static_assert((expr) == (val), #expr " != " #val)

/* xen_ulong_t is 64 bits: 4096 ports, 64 words per bitmap. */
CHECK(sizeof(xen_ulong_t), 8);
CHECK(EVTCHN_2L_NR_CHANNELS, 4096);
CHECK(MAX_VIRT_CPUS, 1);
CHECK(DOMID_SELF, 0x7FF0);
CHECK(DOMID_FIRST_RESERVED, 0x7FF0);

/* struct vcpu_info (src/delivery.rs layout::VCPU_INFO_*) */
CHECK(sizeof(struct vcpu_info), 48);
CHECK(offsetof(struct vcpu_info, evtchn_upcall_pending), 0);
CHECK(offsetof(struct vcpu_info, evtchn_upcall_mask), 1);
CHECK(offsetof(struct vcpu_info, evtchn_pending_sel), 8);
CHECK(offsetof(struct vcpu_info, time), 16);
CHECK(_Alignof(struct vcpu_info), 8);

/* struct shared_info (layout::SHARED_INFO_*) */
CHECK(sizeof(struct shared_info), 1096);
CHECK(offsetof(struct shared_info, vcpu_info), 0);
CHECK(offsetof(struct shared_info, evtchn_pending), 48);
CHECK(sizeof(((struct shared_info *)0)->evtchn_pending), 64 * 8);
CHECK(offsetof(struct shared_info, evtchn_mask), 560);
CHECK(sizeof(((struct shared_info *)0)->evtchn_mask), 64 * 8);
CHECK(offsetof(struct shared_info, wc), 1072);
CHECK(offsetof(struct shared_info, wc_sec_hi), 1088);

/* EVTCHNOP_* numbers (src/lib.rs) */
CHECK(EVTCHNOP_bind_interdomain, 0);
CHECK(EVTCHNOP_bind_virq, 1);
CHECK(EVTCHNOP_bind_pirq, 2);
CHECK(EVTCHNOP_close, 3);
CHECK(EVTCHNOP_send, 4);
CHECK(EVTCHNOP_status, 5);
CHECK(EVTCHNOP_alloc_unbound, 6);
CHECK(EVTCHNOP_bind_ipi, 7);
CHECK(EVTCHNOP_bind_vcpu, 8);
CHECK(EVTCHNOP_unmask, 9);
CHECK(EVTCHNOP_reset, 10);
CHECK(EVTCHNOP_init_control, 11);
CHECK(EVTCHNOP_expand_array, 12);
CHECK(EVTCHNOP_set_priority, 13);
CHECK(EVTCHNSTAT_closed, 0);
CHECK(EVTCHNSTAT_unbound, 1);
CHECK(EVTCHNSTAT_interdomain, 2);
CHECK(EVTCHNSTAT_pirq, 3);
CHECK(EVTCHNSTAT_virq, 4);
CHECK(EVTCHNSTAT_ipi, 5);
CHECK(VIRQ_TIMER, 0);
CHECK(VIRQ_DEBUG, 1);
CHECK(VIRQ_CONSOLE, 2);
CHECK(VIRQ_XENOPROF, 7);
CHECK(VIRQ_XENPMU, 13);
CHECK(VIRQ_ARCH_0, 16);
CHECK(VIRQ_ARCH_7, 23);

/* Argument structures (src/wire.rs) */
CHECK(sizeof(struct evtchn_alloc_unbound), 8);
CHECK(offsetof(struct evtchn_alloc_unbound, remote_dom), 2);
CHECK(offsetof(struct evtchn_alloc_unbound, port), 4);
CHECK(sizeof(struct evtchn_bind_interdomain), 12);
CHECK(offsetof(struct evtchn_bind_interdomain, remote_port), 4);
CHECK(offsetof(struct evtchn_bind_interdomain, local_port), 8);
CHECK(sizeof(struct evtchn_bind_virq), 12);
CHECK(offsetof(struct evtchn_bind_virq, vcpu), 4);
CHECK(offsetof(struct evtchn_bind_virq, port), 8);
CHECK(sizeof(struct evtchn_bind_ipi), 8);
CHECK(offsetof(struct evtchn_bind_ipi, port), 4);
CHECK(sizeof(struct evtchn_close), 4);
CHECK(sizeof(struct evtchn_send), 4);
CHECK(sizeof(struct evtchn_unmask), 4);
CHECK(sizeof(struct evtchn_status), 24);
CHECK(offsetof(struct evtchn_status, port), 4);
CHECK(offsetof(struct evtchn_status, status), 8);
CHECK(offsetof(struct evtchn_status, vcpu), 12);
CHECK(offsetof(struct evtchn_status, u), 16);
CHECK(offsetof(struct evtchn_status, u.unbound.dom), 16);
CHECK(offsetof(struct evtchn_status, u.interdomain.dom), 16);
CHECK(offsetof(struct evtchn_status, u.interdomain.port), 20);
CHECK(offsetof(struct evtchn_status, u.virq), 16);
CHECK(sizeof(struct evtchn_bind_vcpu), 8);
CHECK(offsetof(struct evtchn_bind_vcpu, vcpu), 4);
CHECK(sizeof(struct evtchn_reset), 2);
