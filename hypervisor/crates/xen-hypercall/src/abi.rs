//! The numbers of the Xen ARM hypercall ABI, under Xen's own names (`include/xen/interface/`
//! in the kernel tree; `xen/include/public/` in Xen's). `tools/check-abi.sh` checks them
//! against the kernel's headers.

#![allow(missing_docs)] // Each constant is the Xen macro of the same name.

/// The HVC immediate of a Xen hypercall (`XEN_HYPERCALL_TAG`, arch-arm.h).
pub const XEN_HYPERCALL_TAG: u16 = 0xEA1;

// Hypercall numbers (xen.h), in x16.
pub const HYPERVISOR_PLATFORM_OP: u64 = 7;
pub const HYPERVISOR_MEMORY_OP: u64 = 12;
pub const HYPERVISOR_MULTICALL: u64 = 13;
pub const HYPERVISOR_XEN_VERSION: u64 = 17;
pub const HYPERVISOR_CONSOLE_IO: u64 = 18;
pub const HYPERVISOR_GRANT_TABLE_OP: u64 = 20;
pub const HYPERVISOR_VM_ASSIST: u64 = 21;
pub const HYPERVISOR_VCPU_OP: u64 = 24;
pub const HYPERVISOR_SCHED_OP: u64 = 29;
pub const HYPERVISOR_EVENT_CHANNEL_OP: u64 = 32;
pub const HYPERVISOR_PHYSDEV_OP: u64 = 33;
pub const HYPERVISOR_HVM_OP: u64 = 34;

// xen_version (version.h).
pub const XENVER_VERSION: u32 = 0;
pub const XENVER_EXTRAVERSION: u32 = 1;
pub const XENVER_COMPILE_INFO: u32 = 2;
pub const XENVER_CAPABILITIES: u32 = 3;
pub const XENVER_CHANGESET: u32 = 4;
pub const XENVER_PLATFORM_PARAMETERS: u32 = 5;
pub const XENVER_GET_FEATURES: u32 = 6;
pub const XENVER_PAGESIZE: u32 = 7;
pub const XENVER_GUEST_HANDLE: u32 = 8;
pub const XENVER_COMMANDLINE: u32 = 9;
pub const XENVER_BUILD_ID: u32 = 10;
/// Submaps of `XENVER_get_features` (`XENFEAT_NR_SUBMAPS`).
pub const XENFEAT_NR_SUBMAPS: u32 = 1;

// memory_op (memory.h). The command's low 6 bits are the operation, the rest Xen's
// continuation index (`MEMOP_EXTENT_SHIFT`, `MEMOP_CMD_MASK`, xen/include/xen/hypercall.h).
pub const XENMEM_INCREASE_RESERVATION: u32 = 0;
pub const XENMEM_DECREASE_RESERVATION: u32 = 1;
pub const XENMEM_CURRENT_RESERVATION: u32 = 3;
pub const XENMEM_MAXIMUM_RESERVATION: u32 = 4;
pub const XENMEM_POPULATE_PHYSMAP: u32 = 6;
pub const XENMEM_ADD_TO_PHYSMAP: u32 = 7;
pub const XENMEM_REMOVE_FROM_PHYSMAP: u32 = 15;
/// Linux names it `XENMEM_add_to_physmap_range`; same number and layout.
pub const XENMEM_ADD_TO_PHYSMAP_BATCH: u32 = 23;
pub const MEMOP_EXTENT_SHIFT: u32 = 6;
pub const MEMOP_CMD_MASK: u64 = (1 << MEMOP_EXTENT_SHIFT) - 1;

pub const XENMAPSPACE_SHARED_INFO: u32 = 0;
pub const XENMAPSPACE_GRANT_TABLE: u32 = 1;
pub const XENMAPSPACE_GMFN: u32 = 2;
pub const XENMAPSPACE_GMFN_RANGE: u32 = 3;
pub const XENMAPSPACE_GMFN_FOREIGN: u32 = 4;
pub const XENMAPSPACE_DEV_MMIO: u32 = 5;
/// In `idx` of a `XENMAPSPACE_grant_table` mapping: a status frame (grant tables v2).
pub const XENMAPIDX_GRANT_TABLE_STATUS: u64 = 1 << 31;

// vcpu_op (vcpu.h).
pub const VCPUOP_INITIALISE: u32 = 0;
pub const VCPUOP_UP: u32 = 1;
pub const VCPUOP_DOWN: u32 = 2;
pub const VCPUOP_IS_UP: u32 = 3;
pub const VCPUOP_GET_RUNSTATE_INFO: u32 = 4;
pub const VCPUOP_REGISTER_RUNSTATE_MEMORY_AREA: u32 = 5;
pub const VCPUOP_SET_PERIODIC_TIMER: u32 = 6;
pub const VCPUOP_STOP_PERIODIC_TIMER: u32 = 7;
pub const VCPUOP_SET_SINGLESHOT_TIMER: u32 = 8;
pub const VCPUOP_STOP_SINGLESHOT_TIMER: u32 = 9;
pub const VCPUOP_REGISTER_VCPU_INFO: u32 = 10;
pub const VCPUOP_SEND_NMI: u32 = 11;
pub const VCPUOP_GET_PHYSID: u32 = 12;
pub const VCPUOP_REGISTER_VCPU_TIME_MEMORY_AREA: u32 = 13;
/// `VCPU_SSHOTTMR_future`: fail with `-ETIME` if the timeout has passed.
pub const VCPU_SSHOTTMR_FUTURE: u32 = 1;

// sched_op (sched.h).
pub const SCHEDOP_YIELD: u32 = 0;
pub const SCHEDOP_BLOCK: u32 = 1;
pub const SCHEDOP_SHUTDOWN: u32 = 2;
pub const SCHEDOP_POLL: u32 = 3;
pub const SCHEDOP_REMOTE_SHUTDOWN: u32 = 4;
pub const SCHEDOP_SHUTDOWN_CODE: u32 = 5;
pub const SCHEDOP_WATCHDOG: u32 = 6;
pub const SCHEDOP_PIN_OVERRIDE: u32 = 7;
pub const SHUTDOWN_POWEROFF: u32 = 0;
pub const SHUTDOWN_REBOOT: u32 = 1;
pub const SHUTDOWN_SUSPEND: u32 = 2;
pub const SHUTDOWN_CRASH: u32 = 3;
pub const SHUTDOWN_WATCHDOG: u32 = 4;
pub const SHUTDOWN_SOFT_RESET: u32 = 5;
/// Ports one `SCHEDOP_poll` may name (`do_poll()` in xen/common/sched/core.c).
pub const SCHED_POLL_MAX_PORTS: u32 = 128;

// hvm_op (hvm/hvm_op.h, hvm/params.h).
pub const HVMOP_SET_PARAM: u64 = 0;
pub const HVMOP_GET_PARAM: u64 = 1;
pub const HVM_PARAM_CALLBACK_IRQ: u32 = 0;
pub const HVM_PARAM_STORE_PFN: u32 = 1;
pub const HVM_PARAM_STORE_EVTCHN: u32 = 2;
pub const HVM_PARAM_CONSOLE_PFN: u32 = 17;
pub const HVM_PARAM_CONSOLE_EVTCHN: u32 = 18;
/// Xen 4.20's `HVM_NR_PARAMS` (the kernel's copy of params.h still says 19).
pub const HVM_NR_PARAMS: u32 = 39;

// console_io, vm_assist (xen.h).
pub const CONSOLEIO_WRITE: u32 = 0;
pub const CONSOLEIO_READ: u32 = 1;
pub const VMASST_CMD_ENABLE: u32 = 0;
pub const VMASST_CMD_DISABLE: u32 = 1;
pub const VMASST_TYPE_RUNSTATE_UPDATE_FLAG: u32 = 5;

// grant_table_op: the command's bits above GNTTABOP_ARG_SHIFT are continuation state,
// allowed only with GNTTABOP_cache_flush (`do_grant_table_op()`).
pub const GNTTABOP_ARG_SHIFT: u32 = 12;
pub const GNTTABOP_CMD_MASK: u32 = (1 << GNTTABOP_ARG_SHIFT) - 1;

// Domain ids (xen.h).
pub const DOMID_FIRST_RESERVED: u16 = 0x7FF0;
pub const DOMID_SELF: u16 = 0x7FF0;
pub const DOMID_IO: u16 = 0x7FF1;
pub const DOMID_XEN: u16 = 0x7FF2;
pub const DOMID_COW: u16 = 0x7FF3;
pub const DOMID_INVALID: u16 = 0x7FF4;
pub const DOMID_IDLE: u16 = 0x7FFF;

/// `XEN_PAGE_SHIFT`: guest frame numbers count 4 KiB pages whatever the guest's page size.
pub const XEN_PAGE_SHIFT: u32 = 12;
/// `XEN_PAGE_SIZE`.
pub const XEN_PAGE_SIZE: u64 = 1 << XEN_PAGE_SHIFT;
