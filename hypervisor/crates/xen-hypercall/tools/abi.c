/*
 * The numbers and layouts xen-hypercall relies on (src/abi.rs, src/layout.rs), checked
 * against the Xen interface headers Linux carries, compiled for aarch64. Run by
 * check-abi.sh; every number here is also a constant in the crate (tests/layout.rs repeats
 * the layouts).
 */
#include <linux/types.h>
#include <xen/interface/xen.h>
#include <xen/interface/memory.h>
#include <xen/interface/vcpu.h>
#include <xen/interface/sched.h>
#include <xen/interface/version.h>
#include <xen/interface/hvm/hvm_op.h>
#include <xen/interface/hvm/params.h>
#include <stddef.h>

#define CHECK(expr, val) _Static_assert((expr) == (val), #expr " != " #val)
#define OFF(s, f, val) CHECK(offsetof(struct s, f), val)
#define SIZE(s, val) CHECK(sizeof(struct s), val)

/* Hypercall numbers (abi::HYPERVISOR_*). */
CHECK(__HYPERVISOR_platform_op, 7);
CHECK(__HYPERVISOR_memory_op, 12);
CHECK(__HYPERVISOR_multicall, 13);
CHECK(__HYPERVISOR_xen_version, 17);
CHECK(__HYPERVISOR_console_io, 18);
CHECK(__HYPERVISOR_grant_table_op, 20);
CHECK(__HYPERVISOR_vm_assist, 21);
CHECK(__HYPERVISOR_vcpu_op, 24);
CHECK(__HYPERVISOR_sched_op, 29);
CHECK(__HYPERVISOR_event_channel_op, 32);
CHECK(__HYPERVISOR_physdev_op, 33);
CHECK(__HYPERVISOR_hvm_op, 34);

/* 64-bit xen_ulong_t, xen_pfn_t and guest handles, also in structures. */
CHECK(sizeof(xen_ulong_t), 8);
CHECK(sizeof(xen_pfn_t), 8);
CHECK(sizeof(GUEST_HANDLE(xen_pfn_t)), 8);
CHECK(_Alignof(GUEST_HANDLE(xen_pfn_t)), 8);
CHECK(sizeof(domid_t), 2);

/* xen_version */
CHECK(XENVER_version, 0);
CHECK(XENVER_extraversion, 1);
CHECK(XENVER_compile_info, 2);
CHECK(XENVER_capabilities, 3);
CHECK(XENVER_changeset, 4);
CHECK(XENVER_platform_parameters, 5);
CHECK(XENVER_get_features, 6);
CHECK(XENVER_pagesize, 7);
CHECK(XENVER_guest_handle, 8);
CHECK(XENVER_commandline, 9);
CHECK(XENVER_build_id, 10);
CHECK(XENFEAT_NR_SUBMAPS, 1);
SIZE(xen_feature_info, 8);
OFF(xen_feature_info, submap_idx, 0);
OFF(xen_feature_info, submap, 4);
CHECK(XEN_EXTRAVERSION_LEN, 16);
SIZE(xen_compile_info, 144);
CHECK(XEN_CAPABILITIES_INFO_LEN, 1024);
CHECK(XEN_CHANGESET_INFO_LEN, 64);
SIZE(xen_platform_parameters, 8);
CHECK(sizeof(xen_domain_handle_t), 16);
SIZE(xen_commandline, 1024);
SIZE(xen_build_id, 4);
OFF(xen_build_id, buf, 4);

/* memory_op */
CHECK(XENMEM_increase_reservation, 0);
CHECK(XENMEM_decrease_reservation, 1);
CHECK(XENMEM_current_reservation, 3);
CHECK(XENMEM_maximum_reservation, 4);
CHECK(XENMEM_populate_physmap, 6);
CHECK(XENMEM_add_to_physmap, 7);
CHECK(XENMEM_remove_from_physmap, 15);
CHECK(XENMEM_add_to_physmap_range, 23); /* Xen's XENMEM_add_to_physmap_batch */
CHECK(XENMAPSPACE_shared_info, 0);
CHECK(XENMAPSPACE_grant_table, 1);
CHECK(XENMAPSPACE_gmfn, 2);
CHECK(XENMAPSPACE_gmfn_range, 3);
CHECK(XENMAPSPACE_gmfn_foreign, 4);
CHECK(XENMAPSPACE_dev_mmio, 5);

SIZE(xen_add_to_physmap, 24);
OFF(xen_add_to_physmap, domid, 0);
OFF(xen_add_to_physmap, size, 2);
OFF(xen_add_to_physmap, space, 4);
OFF(xen_add_to_physmap, idx, 8);
OFF(xen_add_to_physmap, gpfn, 16);

SIZE(xen_add_to_physmap_range, 32);
OFF(xen_add_to_physmap_range, domid, 0);
OFF(xen_add_to_physmap_range, space, 2);
OFF(xen_add_to_physmap_range, size, 4);
OFF(xen_add_to_physmap_range, foreign_domid, 6);
OFF(xen_add_to_physmap_range, idxs, 8);
OFF(xen_add_to_physmap_range, gpfns, 16);
OFF(xen_add_to_physmap_range, errs, 24);

SIZE(xen_remove_from_physmap, 16);
OFF(xen_remove_from_physmap, domid, 0);
OFF(xen_remove_from_physmap, gpfn, 8);

SIZE(xen_memory_reservation, 32);
OFF(xen_memory_reservation, extent_start, 0);
OFF(xen_memory_reservation, nr_extents, 8);
OFF(xen_memory_reservation, extent_order, 16);
OFF(xen_memory_reservation, address_bits, 20); /* Xen: mem_flags */
OFF(xen_memory_reservation, domid, 24);

/* vcpu_op */
CHECK(VCPUOP_initialise, 0);
CHECK(VCPUOP_up, 1);
CHECK(VCPUOP_down, 2);
CHECK(VCPUOP_is_up, 3);
CHECK(VCPUOP_get_runstate_info, 4);
CHECK(VCPUOP_register_runstate_memory_area, 5);
CHECK(VCPUOP_set_periodic_timer, 6);
CHECK(VCPUOP_stop_periodic_timer, 7);
CHECK(VCPUOP_set_singleshot_timer, 8);
CHECK(VCPUOP_stop_singleshot_timer, 9);
CHECK(VCPUOP_register_vcpu_info, 10);
CHECK(VCPUOP_send_nmi, 11);
CHECK(VCPUOP_get_physid, 12);
CHECK(VCPUOP_register_vcpu_time_memory_area, 13);
CHECK(VCPU_SSHOTTMR_future, 1);
SIZE(vcpu_register_vcpu_info, 16);
OFF(vcpu_register_vcpu_info, mfn, 0);
OFF(vcpu_register_vcpu_info, offset, 8);
OFF(vcpu_register_vcpu_info, rsvd, 12);
SIZE(vcpu_info, 48);
CHECK(_Alignof(struct vcpu_info), 8);
SIZE(vcpu_register_runstate_memory_area, 8);
SIZE(vcpu_runstate_info, 48);
OFF(vcpu_runstate_info, state_entry_time, 8);
OFF(vcpu_runstate_info, time, 16);
SIZE(vcpu_set_periodic_timer, 8);
SIZE(vcpu_set_singleshot_timer, 16);
OFF(vcpu_set_singleshot_timer, timeout_abs_ns, 0);
OFF(vcpu_set_singleshot_timer, flags, 8);

/* sched_op */
CHECK(SCHEDOP_yield, 0);
CHECK(SCHEDOP_block, 1);
CHECK(SCHEDOP_shutdown, 2);
CHECK(SCHEDOP_poll, 3);
CHECK(SCHEDOP_remote_shutdown, 4);
CHECK(SCHEDOP_shutdown_code, 5);
CHECK(SCHEDOP_watchdog, 6);
CHECK(SCHEDOP_pin_override, 7);
CHECK(SHUTDOWN_poweroff, 0);
CHECK(SHUTDOWN_reboot, 1);
CHECK(SHUTDOWN_suspend, 2);
CHECK(SHUTDOWN_crash, 3);
CHECK(SHUTDOWN_watchdog, 4);
CHECK(SHUTDOWN_soft_reset, 5);
SIZE(sched_shutdown, 4);
SIZE(sched_poll, 24);
OFF(sched_poll, ports, 0);
OFF(sched_poll, nr_ports, 8);
OFF(sched_poll, timeout, 16);
CHECK(sizeof(evtchn_port_t), 4);

/* hvm_op */
CHECK(HVMOP_set_param, 0);
CHECK(HVMOP_get_param, 1);
SIZE(xen_hvm_param, 16);
OFF(xen_hvm_param, domid, 0);
OFF(xen_hvm_param, index, 4);
OFF(xen_hvm_param, value, 8);
CHECK(HVM_PARAM_CALLBACK_IRQ, 0);
CHECK(HVM_PARAM_STORE_PFN, 1);
CHECK(HVM_PARAM_STORE_EVTCHN, 2);
CHECK(HVM_PARAM_CONSOLE_PFN, 17);
CHECK(HVM_PARAM_CONSOLE_EVTCHN, 18);
/* HVM_NR_PARAMS: the kernel's copy says 19, Xen 4.20 has 39 (abi::HVM_NR_PARAMS). */
CHECK(HVM_NR_PARAMS, 19);

/* console_io, vm_assist, multicall, domain ids */
CHECK(CONSOLEIO_write, 0);
CHECK(CONSOLEIO_read, 1);
CHECK(VMASST_CMD_enable, 0);
CHECK(VMASST_CMD_disable, 1);
CHECK(VMASST_TYPE_runstate_update_flag, 5);
SIZE(multicall_entry, 64);
CHECK(DOMID_FIRST_RESERVED, 0x7FF0);
CHECK(DOMID_SELF, 0x7FF0);
CHECK(DOMID_IO, 0x7FF1);
CHECK(DOMID_XEN, 0x7FF2);
CHECK(DOMID_COW, 0x7FF3);
CHECK(DOMID_INVALID, 0x7FF4);
CHECK(DOMID_IDLE, 0x7FFF);
