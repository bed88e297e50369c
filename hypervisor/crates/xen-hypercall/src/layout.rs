//! Byte offsets and sizes of the argument structures, arm64 layout (AAPCS64, little endian;
//! `xen_ulong_t`, `xen_pfn_t` and guest handles are 8 bytes, 8-aligned). Named
//! `<STRUCT>_<FIELD>`; `<STRUCT>_SIZE` is `sizeof`. `tools/check-abi.sh` compiles each one
//! against the kernel's `include/xen/interface/` headers for aarch64, and tests/layout.rs
//! decodes structures built at these offsets.

// struct xen_add_to_physmap (memory.h)
/// `sizeof(struct xen_add_to_physmap)`.
pub const XEN_ADD_TO_PHYSMAP_SIZE: usize = 24;
/// `domid` (`domid_t`).
pub const XEN_ADD_TO_PHYSMAP_DOMID: usize = 0;
/// `size` (`uint16_t`, pages of a `XENMAPSPACE_gmfn_range`).
pub const XEN_ADD_TO_PHYSMAP_SIZE_FIELD: usize = 2;
/// `space` (`unsigned int`).
pub const XEN_ADD_TO_PHYSMAP_SPACE: usize = 4;
/// `idx` (`xen_ulong_t`).
pub const XEN_ADD_TO_PHYSMAP_IDX: usize = 8;
/// `gpfn` (`xen_pfn_t`).
pub const XEN_ADD_TO_PHYSMAP_GPFN: usize = 16;

// struct xen_add_to_physmap_batch (Xen's memory.h; Linux's xen_add_to_physmap_range)
/// `sizeof(struct xen_add_to_physmap_batch)`.
pub const XEN_ADD_TO_PHYSMAP_BATCH_SIZE: usize = 32;
/// `domid`.
pub const XEN_ADD_TO_PHYSMAP_BATCH_DOMID: usize = 0;
/// `space` (`uint16_t`).
pub const XEN_ADD_TO_PHYSMAP_BATCH_SPACE: usize = 2;
/// `size` (`uint16_t`): elements of each array.
pub const XEN_ADD_TO_PHYSMAP_BATCH_SIZE_FIELD: usize = 4;
/// `u.foreign_domid` (`domid_t`; `u.res0` for the other spaces).
pub const XEN_ADD_TO_PHYSMAP_BATCH_FOREIGN_DOMID: usize = 6;
/// `idxs` (handle of `xen_ulong_t`).
pub const XEN_ADD_TO_PHYSMAP_BATCH_IDXS: usize = 8;
/// `gpfns` (handle of `xen_pfn_t`).
pub const XEN_ADD_TO_PHYSMAP_BATCH_GPFNS: usize = 16;
/// `errs` (handle of `int`, output).
pub const XEN_ADD_TO_PHYSMAP_BATCH_ERRS: usize = 24;

// struct xen_remove_from_physmap
/// `sizeof(struct xen_remove_from_physmap)`.
pub const XEN_REMOVE_FROM_PHYSMAP_SIZE: usize = 16;
/// `domid`.
pub const XEN_REMOVE_FROM_PHYSMAP_DOMID: usize = 0;
/// `gpfn`.
pub const XEN_REMOVE_FROM_PHYSMAP_GPFN: usize = 8;

// struct xen_memory_reservation
/// `sizeof(struct xen_memory_reservation)`.
pub const XEN_MEMORY_RESERVATION_SIZE: usize = 32;
/// `extent_start` (handle of `xen_pfn_t`).
pub const XEN_MEMORY_RESERVATION_EXTENT_START: usize = 0;
/// `nr_extents` (`xen_ulong_t`).
pub const XEN_MEMORY_RESERVATION_NR_EXTENTS: usize = 8;
/// `extent_order` (`unsigned int`).
pub const XEN_MEMORY_RESERVATION_EXTENT_ORDER: usize = 16;
/// `mem_flags` (`unsigned int`; Linux's `address_bits`).
pub const XEN_MEMORY_RESERVATION_MEM_FLAGS: usize = 20;
/// `domid`.
pub const XEN_MEMORY_RESERVATION_DOMID: usize = 24;

/// `domid_t`, the argument of `XENMEM_current_reservation`/`maximum_reservation`.
pub const DOMID_SIZE: usize = 2;

// struct vcpu_register_vcpu_info (vcpu.h)
/// `sizeof(struct vcpu_register_vcpu_info)`.
pub const VCPU_REGISTER_VCPU_INFO_SIZE: usize = 16;
/// `mfn` (a guest frame number on auto-translated Arm).
pub const VCPU_REGISTER_VCPU_INFO_MFN: usize = 0;
/// `offset` within that page.
pub const VCPU_REGISTER_VCPU_INFO_OFFSET: usize = 8;
/// `rsvd`.
pub const VCPU_REGISTER_VCPU_INFO_RSVD: usize = 12;
/// `sizeof(struct vcpu_info)` on arm64: what must fit in the page from `offset`.
pub const VCPU_INFO_SIZE: usize = 48;
/// `_Alignof(struct vcpu_info)` (its `xen_ulong_t`): `offset` must be a multiple.
pub const VCPU_INFO_ALIGN: usize = 8;

// struct vcpu_register_runstate_memory_area
/// `sizeof(struct vcpu_register_runstate_memory_area)`: one guest virtual address `addr` @0.
pub const VCPU_REGISTER_RUNSTATE_MEMORY_AREA_SIZE: usize = 8;
/// `sizeof(struct vcpu_runstate_info)`: `state` @0, `state_entry_time` @8, `time[4]` @16.
pub const VCPU_RUNSTATE_INFO_SIZE: usize = 48;

// struct vcpu_set_periodic_timer, vcpu_set_singleshot_timer
/// `sizeof(struct vcpu_set_periodic_timer)`: `period_ns` @0.
pub const VCPU_SET_PERIODIC_TIMER_SIZE: usize = 8;
/// `sizeof(struct vcpu_set_singleshot_timer)`.
pub const VCPU_SET_SINGLESHOT_TIMER_SIZE: usize = 16;
/// `timeout_abs_ns`.
pub const VCPU_SET_SINGLESHOT_TIMER_TIMEOUT_ABS_NS: usize = 0;
/// `flags`.
pub const VCPU_SET_SINGLESHOT_TIMER_FLAGS: usize = 8;

// version.h
/// `sizeof(struct xen_feature_info)`.
pub const XEN_FEATURE_INFO_SIZE: usize = 8;
/// `submap_idx` (input).
pub const XEN_FEATURE_INFO_SUBMAP_IDX: usize = 0;
/// `submap` (output).
pub const XEN_FEATURE_INFO_SUBMAP: usize = 4;
/// `XEN_EXTRAVERSION_LEN`.
pub const XEN_EXTRAVERSION_LEN: usize = 16;
/// `sizeof(struct xen_compile_info)`.
pub const XEN_COMPILE_INFO_SIZE: usize = 144;
/// `XEN_CAPABILITIES_INFO_LEN`.
pub const XEN_CAPABILITIES_INFO_LEN: usize = 1024;
/// `XEN_CHANGESET_INFO_LEN`.
pub const XEN_CHANGESET_INFO_LEN: usize = 64;
/// `sizeof(struct xen_platform_parameters)`: `virt_start` @0.
pub const XEN_PLATFORM_PARAMETERS_SIZE: usize = 8;
/// `sizeof(xen_domain_handle_t)`.
pub const XEN_DOMAIN_HANDLE_SIZE: usize = 16;
/// `sizeof(struct xen_commandline)`.
pub const XEN_COMMANDLINE_SIZE: usize = 1024;
/// `sizeof(struct xen_build_id)`: `len` @0, then `buf[]` @4.
pub const XEN_BUILD_ID_SIZE: usize = 4;

// struct xen_hvm_param (hvm/hvm_op.h)
/// `sizeof(struct xen_hvm_param)`.
pub const XEN_HVM_PARAM_SIZE: usize = 16;
/// `domid`.
pub const XEN_HVM_PARAM_DOMID: usize = 0;
/// `index`.
pub const XEN_HVM_PARAM_INDEX: usize = 4;
/// `value` (output of `HVMOP_get_param`).
pub const XEN_HVM_PARAM_VALUE: usize = 8;

// sched.h
/// `sizeof(struct sched_shutdown)`: `reason` @0.
pub const SCHED_SHUTDOWN_SIZE: usize = 4;
/// `sizeof(struct sched_poll)`.
pub const SCHED_POLL_SIZE: usize = 24;
/// `ports` (handle of `evtchn_port_t`, 4 bytes each).
pub const SCHED_POLL_PORTS: usize = 0;
/// `nr_ports`.
pub const SCHED_POLL_NR_PORTS: usize = 8;
/// `timeout` (absolute system time in ns, 0 = none).
pub const SCHED_POLL_TIMEOUT: usize = 16;

/// `sizeof(struct multicall_entry)`: `op` @0, `result` @8, `args[6]` @16.
pub const MULTICALL_ENTRY_SIZE: usize = 64;

/// The largest structure a decode reads (`xen_memory_reservation`,
/// `xen_add_to_physmap_batch`): no decode reads more, in one read.
pub const MAX_DECODE_READ: usize = 32;
