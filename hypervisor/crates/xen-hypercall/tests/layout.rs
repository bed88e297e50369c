//! Each argument structure built byte by byte at the offsets of the arm64 layout of
//! `include/xen/interface/*.h` (written out here as numbers, not taken from the crate), then
//! decoded: every field comes out where the header puts it.

mod harness;

use harness::Mem;
use xen_hypercall::abi::*;
use xen_hypercall::layout;
use xen_hypercall::*;

/// Where the tests put argument structures.
const ARG: u64 = 0xffff_0000_1234_5000;
/// Where they put arrays.
const ARRAY: u64 = 0xffff_0000_1234_6000;

/// A structure of `size` bytes with `fields` (offset, little-endian bytes) set.
fn bytes(size: usize, fields: &[(usize, &[u8])]) -> Vec<u8> {
    let mut b = vec![0u8; size];
    for &(off, v) in fields {
        b[off..off + v.len()].copy_from_slice(v);
    }
    b
}

fn mem(structure: &[u8]) -> Mem {
    Mem::new().with(ARG, structure)
}

#[test]
fn layout_constants_are_the_header_offsets() {
    use layout::*;
    // struct xen_add_to_physmap { domid_t domid; uint16_t size; unsigned int space;
    //                             xen_ulong_t idx; xen_pfn_t gpfn; }
    assert_eq!(
        (
            XEN_ADD_TO_PHYSMAP_SIZE,
            XEN_ADD_TO_PHYSMAP_DOMID,
            XEN_ADD_TO_PHYSMAP_SIZE_FIELD
        ),
        (24, 0, 2)
    );
    assert_eq!(
        (
            XEN_ADD_TO_PHYSMAP_SPACE,
            XEN_ADD_TO_PHYSMAP_IDX,
            XEN_ADD_TO_PHYSMAP_GPFN
        ),
        (4, 8, 16)
    );
    // struct xen_add_to_physmap_batch { domid_t domid; uint16_t space; uint16_t size;
    //   union { domid_t foreign_domid; } u; handle idxs, gpfns, errs; }
    assert_eq!(
        [
            XEN_ADD_TO_PHYSMAP_BATCH_SIZE,
            XEN_ADD_TO_PHYSMAP_BATCH_DOMID,
            XEN_ADD_TO_PHYSMAP_BATCH_SPACE,
            XEN_ADD_TO_PHYSMAP_BATCH_SIZE_FIELD,
            XEN_ADD_TO_PHYSMAP_BATCH_FOREIGN_DOMID,
            XEN_ADD_TO_PHYSMAP_BATCH_IDXS,
            XEN_ADD_TO_PHYSMAP_BATCH_GPFNS,
            XEN_ADD_TO_PHYSMAP_BATCH_ERRS,
        ],
        [32, 0, 2, 4, 6, 8, 16, 24]
    );
    // struct xen_remove_from_physmap { domid_t domid; xen_pfn_t gpfn; }
    assert_eq!(
        [
            XEN_REMOVE_FROM_PHYSMAP_SIZE,
            XEN_REMOVE_FROM_PHYSMAP_DOMID,
            XEN_REMOVE_FROM_PHYSMAP_GPFN
        ],
        [16, 0, 8]
    );
    // struct xen_memory_reservation { handle extent_start; xen_ulong_t nr_extents;
    //   unsigned int extent_order; unsigned int mem_flags; domid_t domid; }
    assert_eq!(
        [
            XEN_MEMORY_RESERVATION_SIZE,
            XEN_MEMORY_RESERVATION_EXTENT_START,
            XEN_MEMORY_RESERVATION_NR_EXTENTS,
            XEN_MEMORY_RESERVATION_EXTENT_ORDER,
            XEN_MEMORY_RESERVATION_MEM_FLAGS,
            XEN_MEMORY_RESERVATION_DOMID,
        ],
        [32, 0, 8, 16, 20, 24]
    );
    // struct vcpu_register_vcpu_info { uint64_t mfn; uint32_t offset; uint32_t rsvd; }
    assert_eq!(
        [
            VCPU_REGISTER_VCPU_INFO_SIZE,
            VCPU_REGISTER_VCPU_INFO_MFN,
            VCPU_REGISTER_VCPU_INFO_OFFSET,
            VCPU_REGISTER_VCPU_INFO_RSVD,
        ],
        [16, 0, 8, 12]
    );
    assert_eq!((VCPU_INFO_SIZE, VCPU_INFO_ALIGN), (48, 8));
    assert_eq!(
        (
            VCPU_REGISTER_RUNSTATE_MEMORY_AREA_SIZE,
            VCPU_RUNSTATE_INFO_SIZE
        ),
        (8, 48)
    );
    assert_eq!(VCPU_SET_PERIODIC_TIMER_SIZE, 8);
    assert_eq!(
        [
            VCPU_SET_SINGLESHOT_TIMER_SIZE,
            VCPU_SET_SINGLESHOT_TIMER_TIMEOUT_ABS_NS,
            VCPU_SET_SINGLESHOT_TIMER_FLAGS,
        ],
        [16, 0, 8]
    );
    // version.h
    assert_eq!(
        [
            XEN_FEATURE_INFO_SIZE,
            XEN_FEATURE_INFO_SUBMAP_IDX,
            XEN_FEATURE_INFO_SUBMAP
        ],
        [8, 0, 4]
    );
    assert_eq!(
        [
            XEN_EXTRAVERSION_LEN,
            XEN_COMPILE_INFO_SIZE,
            XEN_CAPABILITIES_INFO_LEN,
            XEN_CHANGESET_INFO_LEN,
            XEN_PLATFORM_PARAMETERS_SIZE,
            XEN_DOMAIN_HANDLE_SIZE,
            XEN_COMMANDLINE_SIZE,
            XEN_BUILD_ID_SIZE,
        ],
        [16, 64 + 16 + 32 + 32, 1024, 64, 8, 16, 1024, 4]
    );
    // struct xen_hvm_param { domid_t domid; uint32_t index; uint64_t value; }
    assert_eq!(
        [
            XEN_HVM_PARAM_SIZE,
            XEN_HVM_PARAM_DOMID,
            XEN_HVM_PARAM_INDEX,
            XEN_HVM_PARAM_VALUE
        ],
        [16, 0, 4, 8]
    );
    // struct sched_shutdown { unsigned int reason; }
    // struct sched_poll { handle ports; unsigned int nr_ports; uint64_t timeout; }
    assert_eq!(SCHED_SHUTDOWN_SIZE, 4);
    assert_eq!(
        [
            SCHED_POLL_SIZE,
            SCHED_POLL_PORTS,
            SCHED_POLL_NR_PORTS,
            SCHED_POLL_TIMEOUT
        ],
        [24, 0, 8, 16]
    );
    assert_eq!(MULTICALL_ENTRY_SIZE, 8 + 8 + 6 * 8);
    assert_eq!(MAX_DECODE_READ, 32);
}

#[test]
fn add_to_physmap() {
    let s = bytes(
        24,
        &[
            (0, &0x7ff0u16.to_le_bytes()),
            (2, &0x1234u16.to_le_bytes()),
            (4, &1u32.to_le_bytes()),
            (8, &0x8000_0003u64.to_le_bytes()),
            (16, &0x4_0201u64.to_le_bytes()),
        ],
    );
    let call = decode(HYPERVISOR_MEMORY_OP, [7, ARG, 0, 0, 0], &mem(&s)).unwrap();
    let Hypercall::MemoryOp(MemoryOp::AddToPhysmap(a)) = call else {
        panic!("{call:?}")
    };
    assert_eq!(a.domid, DomainId::Caller);
    assert_eq!(a.size, 0x1234);
    assert_eq!(a.space, MapSpace::GrantTable);
    assert_eq!(a.idx, 0x8000_0003);
    assert_eq!(a.gpfn.get(), 0x4_0201);
    assert_eq!(a.gpfn.addr(), 0x4020_1000);
    assert_eq!(
        a.grant_frame(),
        Some(GrantFrame {
            index: 3,
            status: true
        })
    );

    // Linux's shared-info mapping (arch/arm/xen/enlighten.c).
    let s = bytes(
        24,
        &[
            (0, &0x7ff0u16.to_le_bytes()),
            (4, &0u32.to_le_bytes()),
            (16, &0x4_7fffu64.to_le_bytes()),
        ],
    );
    let call = decode(HYPERVISOR_MEMORY_OP, [7, ARG, 0, 0, 0], &mem(&s)).unwrap();
    let Hypercall::MemoryOp(MemoryOp::AddToPhysmap(a)) = call else {
        panic!("{call:?}")
    };
    assert_eq!(
        (a.space, a.idx, a.gpfn.get()),
        (MapSpace::SharedInfo, 0, 0x4_7fff)
    );
    assert_eq!(a.grant_frame(), None);
}

#[test]
fn add_to_physmap_batch_and_its_arrays() {
    let s = bytes(
        32,
        &[
            (0, &0x7ff0u16.to_le_bytes()),
            (2, &4u16.to_le_bytes()),
            (4, &3u16.to_le_bytes()),
            (6, &1u16.to_le_bytes()),
            (8, &ARRAY.to_le_bytes()),
            (16, &(ARRAY + 0x100).to_le_bytes()),
            (24, &(ARRAY + 0x200).to_le_bytes()),
        ],
    );
    let mut arrays = vec![0u8; 0x300];
    for i in 0..3u64 {
        let at = (i * 8) as usize;
        arrays[at..at + 8].copy_from_slice(&(0x1000 + i).to_le_bytes());
        arrays[0x100 + at..0x108 + at].copy_from_slice(&(0x9_0000 + i).to_le_bytes());
    }
    let m = mem(&s).with(ARRAY, &arrays);
    let call = decode(HYPERVISOR_MEMORY_OP, [23, ARG, 0, 0, 0], &m).unwrap();
    let Hypercall::MemoryOp(MemoryOp::AddToPhysmapBatch(b)) = call else {
        panic!("{call:?}")
    };
    assert_eq!(b.domid, DomainId::Caller);
    assert_eq!(b.space, MapSpace::GmfnForeign);
    assert_eq!(b.foreign_domid, Some(DomainId::Id(1)));
    assert_eq!(b.size(), 3);
    for i in 0..3 {
        assert_eq!(b.idx(&m, i), Ok(0x1000 + u64::from(i)));
        assert_eq!(b.gpfn(&m, i).map(Gfn::get), Ok(0x9_0000 + u64::from(i)));
        assert_eq!(b.err_addr(i), Ok(GuestVa(ARRAY + 0x200 + 4 * u64::from(i))));
    }
    assert_eq!(b.idx(&m, 3), Err(Errno::EINVAL));
    assert_eq!(b.gpfn(&m, 3), Err(Errno::EINVAL));
    assert_eq!(b.err_addr(3), Err(Errno::EINVAL));

    // Another space: u.res0 is not a domain.
    let s = bytes(
        32,
        &[(2, &5u16.to_le_bytes()), (6, &0xffffu16.to_le_bytes())],
    );
    let call = decode(HYPERVISOR_MEMORY_OP, [23, ARG, 0, 0, 0], &mem(&s)).unwrap();
    let Hypercall::MemoryOp(MemoryOp::AddToPhysmapBatch(b)) = call else {
        panic!("{call:?}")
    };
    assert_eq!(
        (b.domid, b.space, b.foreign_domid, b.size()),
        (DomainId::Id(0), MapSpace::DevMmio, None, 0)
    );
}

#[test]
fn remove_from_physmap() {
    let s = bytes(
        16,
        &[(0, &3u16.to_le_bytes()), (8, &0xabcdu64.to_le_bytes())],
    );
    let call = decode(HYPERVISOR_MEMORY_OP, [15, ARG, 0, 0, 0], &mem(&s)).unwrap();
    assert_eq!(
        call,
        Hypercall::MemoryOp(MemoryOp::RemoveFromPhysmap {
            domid: DomainId::Id(3),
            gpfn: Gfn::new(0xabcd).unwrap(),
        })
    );
}

#[test]
fn reservations_and_their_extents() {
    let s = bytes(
        32,
        &[
            (0, &ARRAY.to_le_bytes()),
            (8, &3u64.to_le_bytes()),
            (16, &0u32.to_le_bytes()),
            (20, &0x20u32.to_le_bytes()),
            (24, &0x7ff0u16.to_le_bytes()),
        ],
    );
    let mut extents = Vec::new();
    for i in 0..3u64 {
        extents.extend_from_slice(&(0x5_0000 + 2 * i).to_le_bytes());
    }
    let m = mem(&s).with(ARRAY, &extents);
    for (cmd, which) in [(0u64, "increase"), (1, "decrease"), (6, "populate")] {
        let call = decode(HYPERVISOR_MEMORY_OP, [cmd, ARG, 0, 0, 0], &m).unwrap();
        let r = match call {
            Hypercall::MemoryOp(MemoryOp::IncreaseReservation(r)) if which == "increase" => r,
            Hypercall::MemoryOp(MemoryOp::DecreaseReservation(r)) if which == "decrease" => r,
            Hypercall::MemoryOp(MemoryOp::PopulatePhysmap(r)) if which == "populate" => r,
            other => panic!("{which}: {other:?}"),
        };
        assert_eq!(r.domid, DomainId::Caller);
        assert_eq!(r.mem_flags, 0x20);
        assert_eq!(r.nr_extents(), 3);
        assert_eq!(r.extents.base(), GuestVa(ARRAY));
        for i in 0..3 {
            assert_eq!(
                r.extent(&m, i).map(Gfn::get),
                Ok(0x5_0000 + 2 * u64::from(i))
            );
        }
        assert_eq!(r.extent(&m, 3), Err(Errno::EINVAL));
    }
}

#[test]
fn current_and_maximum_reservation() {
    let m = mem(&0x7ff0u16.to_le_bytes());
    assert_eq!(
        decode(HYPERVISOR_MEMORY_OP, [3, ARG, 0, 0, 0], &m),
        Ok(Hypercall::MemoryOp(MemoryOp::CurrentReservation {
            domid: DomainId::Caller
        }))
    );
    let m = mem(&5u16.to_le_bytes());
    assert_eq!(
        decode(HYPERVISOR_MEMORY_OP, [4, ARG, 0, 0, 0], &m),
        Ok(Hypercall::MemoryOp(MemoryOp::MaximumReservation {
            domid: DomainId::Id(5)
        }))
    );
}

#[test]
fn vcpu_ops() {
    let s = bytes(
        16,
        &[
            (0, &0x4_1234u64.to_le_bytes()),
            (8, &0xfc0u32.to_le_bytes()),
            (12, &0xdeadu32.to_le_bytes()),
        ],
    );
    let call = decode(HYPERVISOR_VCPU_OP, [10, 1, ARG, 0, 0], &mem(&s)).unwrap();
    let Hypercall::VcpuOp {
        vcpu: 1,
        op: VcpuOp::RegisterVcpuInfo(area),
    } = call
    else {
        panic!("{call:?}")
    };
    assert_eq!((area.gfn.get(), area.offset), (0x4_1234, 0xfc0));
    assert_eq!(area.addr(), 0x4123_4fc0);

    let s = 0xffff_8000_dead_b000u64.to_le_bytes();
    assert_eq!(
        decode(HYPERVISOR_VCPU_OP, [5, 0, ARG, 0, 0], &mem(&s)),
        Ok(Hypercall::VcpuOp {
            vcpu: 0,
            op: VcpuOp::RegisterRunstateMemoryArea {
                addr: GuestVa(0xffff_8000_dead_b000)
            },
        })
    );
    let s = 1_000_000u64.to_le_bytes();
    assert_eq!(
        decode(HYPERVISOR_VCPU_OP, [6, 0, ARG, 0, 0], &mem(&s)),
        Ok(Hypercall::VcpuOp {
            vcpu: 0,
            op: VcpuOp::SetPeriodicTimer {
                period_ns: 1_000_000
            }
        })
    );
    let s = bytes(
        16,
        &[
            (0, &0x1234_5678_9abcu64.to_le_bytes()),
            (8, &1u32.to_le_bytes()),
        ],
    );
    assert_eq!(
        decode(HYPERVISOR_VCPU_OP, [8, 0, ARG, 0, 0], &mem(&s)),
        Ok(Hypercall::VcpuOp {
            vcpu: 0,
            op: VcpuOp::SetSingleshotTimer {
                timeout_abs_ns: 0x1234_5678_9abc,
                flags: VCPU_SSHOTTMR_FUTURE
            },
        })
    );
    let none = Mem::new();
    for (cmd, op) in [
        (1, VcpuOp::Up),
        (2, VcpuOp::Down),
        (3, VcpuOp::IsUp),
        (7, VcpuOp::StopPeriodicTimer),
        (9, VcpuOp::StopSingleshotTimer),
        (
            0,
            VcpuOp::Unknown {
                cmd: 0,
                arg: GuestVa(ARG),
            },
        ),
        (
            11,
            VcpuOp::Unknown {
                cmd: 11,
                arg: GuestVa(ARG),
            },
        ),
    ] {
        assert_eq!(
            decode(HYPERVISOR_VCPU_OP, [cmd, 2, ARG, 0, 0], &none),
            Ok(Hypercall::VcpuOp { vcpu: 2, op }),
            "cmd {cmd}"
        );
    }
}

#[test]
fn xen_version() {
    let none = Mem::new();
    let v = |cmd: u64, m: &Mem| match decode(HYPERVISOR_XEN_VERSION, [cmd, ARG, 0, 0, 0], m) {
        Ok(Hypercall::XenVersion(v)) => Ok(v),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e),
    };
    let out = GuestVa(ARG);
    assert_eq!(v(0, &none), Ok(XenVersion::Version));
    assert_eq!(v(1, &none), Ok(XenVersion::ExtraVersion { out }));
    assert_eq!(v(2, &none), Ok(XenVersion::CompileInfo { out }));
    assert_eq!(v(3, &none), Ok(XenVersion::Capabilities { out }));
    assert_eq!(v(4, &none), Ok(XenVersion::Changeset { out }));
    assert_eq!(v(5, &none), Ok(XenVersion::PlatformParameters { out }));
    assert_eq!(v(7, &none), Ok(XenVersion::PageSize));
    assert_eq!(v(8, &none), Ok(XenVersion::GuestHandle { out }));
    assert_eq!(v(9, &none), Ok(XenVersion::CommandLine { out }));
    assert_eq!(v(11, &none), Ok(XenVersion::Unknown { cmd: 11, arg: out }));
    assert_eq!(v(1, &none).unwrap().out_len(), Some(16));
    assert_eq!(v(2, &none).unwrap().out_len(), Some(144));
    assert_eq!(v(3, &none).unwrap().out_len(), Some(1024));

    let s = bytes(
        8,
        &[(0, &0u32.to_le_bytes()), (4, &0xffff_ffffu32.to_le_bytes())],
    );
    assert_eq!(
        v(6, &mem(&s)),
        Ok(XenVersion::GetFeatures {
            submap_idx: 0,
            info: out
        })
    );
    let s = bytes(8, &[(0, &1u32.to_le_bytes())]);
    assert_eq!(
        v(6, &mem(&s)),
        Ok(XenVersion::GetFeatures {
            submap_idx: 1,
            info: out
        })
    );

    let s = bytes(4, &[(0, &40u32.to_le_bytes())]);
    assert_eq!(
        v(10, &mem(&s)),
        Ok(XenVersion::BuildId { arg: out, len: 40 })
    );
    assert_eq!(
        decode(HYPERVISOR_XEN_VERSION, [10, 0, 0, 0, 0], &none),
        Ok(Hypercall::XenVersion(XenVersion::BuildIdSize))
    );
}

#[test]
fn hvm_params() {
    let s = bytes(
        16,
        &[
            (0, &0x7ff0u16.to_le_bytes()),
            (4, &2u32.to_le_bytes()),
            (8, &u64::MAX.to_le_bytes()),
        ],
    );
    let param = HvmParam {
        domid: DomainId::Caller,
        index: 2,
        value: u64::MAX,
        arg: GuestVa(ARG),
    };
    assert_eq!(
        decode(HYPERVISOR_HVM_OP, [1, ARG, 0, 0, 0], &mem(&s)),
        Ok(Hypercall::HvmOp(HvmOp::GetParam(param)))
    );
    assert_eq!(
        decode(HYPERVISOR_HVM_OP, [0, ARG, 0, 0, 0], &mem(&s)),
        Ok(Hypercall::HvmOp(HvmOp::SetParam(param)))
    );
    assert_eq!(
        decode(HYPERVISOR_HVM_OP, [9, ARG, 0, 0, 0], &Mem::new()),
        Ok(Hypercall::HvmOp(HvmOp::Unknown {
            op: 9,
            arg: GuestVa(ARG)
        }))
    );
}

#[test]
fn sched_ops() {
    let s = bytes(4, &[(0, &1u32.to_le_bytes())]);
    assert_eq!(
        decode(HYPERVISOR_SCHED_OP, [2, ARG, 0, 0, 0], &mem(&s)),
        Ok(Hypercall::SchedOp(SchedOp::Shutdown {
            reason: ShutdownReason::Reboot
        }))
    );
    let s = bytes(4, &[(0, &9u32.to_le_bytes())]);
    assert_eq!(
        decode(HYPERVISOR_SCHED_OP, [5, ARG, 0, 0, 0], &mem(&s)),
        Ok(Hypercall::SchedOp(SchedOp::ShutdownCode {
            reason: ShutdownReason::Unknown(9)
        }))
    );
    let s = bytes(
        24,
        &[
            (0, &ARRAY.to_le_bytes()),
            (8, &2u32.to_le_bytes()),
            (16, &5_000u64.to_le_bytes()),
        ],
    );
    let ports: Vec<u8> = [7u32, 9].iter().flat_map(|p| p.to_le_bytes()).collect();
    let m = mem(&s).with(ARRAY, &ports);
    let Ok(Hypercall::SchedOp(SchedOp::Poll(p))) =
        decode(HYPERVISOR_SCHED_OP, [3, ARG, 0, 0, 0], &m)
    else {
        panic!()
    };
    assert_eq!(
        (p.ports.base(), p.ports.len(), p.timeout),
        (GuestVa(ARRAY), 2, 5_000)
    );
    assert_eq!(
        (p.port(&m, 0), p.port(&m, 1), p.port(&m, 2)),
        (Ok(7), Ok(9), Err(Errno::EINVAL))
    );
    let none = Mem::new();
    assert_eq!(
        decode(HYPERVISOR_SCHED_OP, [0, 0, 0, 0, 0], &none),
        Ok(Hypercall::SchedOp(SchedOp::Yield))
    );
    assert_eq!(
        decode(HYPERVISOR_SCHED_OP, [1, 0, 0, 0, 0], &none),
        Ok(Hypercall::SchedOp(SchedOp::Block))
    );
    assert_eq!(
        decode(HYPERVISOR_SCHED_OP, [4, ARG, 0, 0, 0], &none),
        Ok(Hypercall::SchedOp(SchedOp::Unknown {
            cmd: 4,
            arg: GuestVa(ARG)
        }))
    );
}

#[test]
fn console_io_and_vm_assist() {
    let text = b"hello, world\n";
    let m = Mem::new().with(ARRAY, text);
    let Ok(Hypercall::ConsoleIo(ConsoleIo::Write(b))) = decode(
        HYPERVISOR_CONSOLE_IO,
        [0, text.len() as u64, ARRAY, 0, 0],
        &m,
    ) else {
        panic!()
    };
    let mut out = [0u8; 5];
    assert_eq!(b.read(&m, 0, &mut out), Ok(5));
    assert_eq!(&out, b"hello");
    assert_eq!(b.read(&m, 10, &mut out), Ok(3));
    assert_eq!(&out[..3], b"ld\n");
    assert_eq!(b.read(&m, 13, &mut out), Ok(0));
    assert_eq!(b.read(&m, 14, &mut out), Err(Errno::EINVAL));
    assert_eq!(
        decode(HYPERVISOR_CONSOLE_IO, [1, 64, ARRAY, 0, 0], &m),
        Ok(Hypercall::ConsoleIo(ConsoleIo::Read(
            GuestBuffer::new(GuestVa(ARRAY), 64).unwrap()
        )))
    );
    assert_eq!(
        decode(HYPERVISOR_CONSOLE_IO, [2, 64, ARRAY, 0, 0], &m),
        Ok(Hypercall::ConsoleIo(ConsoleIo::Unknown { cmd: 2 }))
    );
    assert_eq!(
        decode(HYPERVISOR_VM_ASSIST, [0, 5, 0, 0, 0], &m),
        Ok(Hypercall::VmAssist(VmAssist {
            enable: true,
            vmasst_type: VmAssistType::RunstateUpdateFlag
        }))
    );
    assert_eq!(
        decode(HYPERVISOR_VM_ASSIST, [1, 5, 0, 0, 0], &m),
        Ok(Hypercall::VmAssist(VmAssist {
            enable: false,
            vmasst_type: VmAssistType::RunstateUpdateFlag
        }))
    );
}

#[test]
fn event_channel_op_feeds_the_evtchn_decoder() {
    // struct evtchn_bind_interdomain { domid_t remote_dom; evtchn_port_t remote_port;
    //                                  evtchn_port_t local_port; }
    let s = bytes(12, &[(0, &0u16.to_le_bytes()), (4, &17u32.to_le_bytes())]);
    let m = mem(&s);
    let Ok(Hypercall::EventChannelOp(op)) =
        decode(HYPERVISOR_EVENT_CHANNEL_OP, [0, ARG, 0, 0, 0], &m)
    else {
        panic!()
    };
    assert_eq!(op.cmd, xen_evtchn::EVTCHNOP_BIND_INTERDOMAIN);
    assert_eq!(op.element.map(|e| e.elem_size()), Some(12));
    let mut buf = [0u8; MAX_ELEMENT_SIZE];
    let arg = op.read_arg(&m, &mut buf).unwrap();
    assert_eq!(
        xen_evtchn::wire::decode(op.cmd, arg),
        Ok(xen_evtchn::wire::Op::BindInterdomain {
            remote_dom: 0,
            remote_port: 17
        })
    );
    // FIFO ABI: known to Linux, not to xen-evtchn: nothing to read, -ENOSYS.
    let Ok(Hypercall::EventChannelOp(op)) =
        decode(HYPERVISOR_EVENT_CHANNEL_OP, [11, ARG, 0, 0, 0], &m)
    else {
        panic!()
    };
    assert_eq!(op.element, None);
    assert_eq!(op.read_arg(&m, &mut buf), Err(Errno::ENOSYS));
}

#[test]
fn grant_table_op_feeds_the_gnttab_decoders() {
    // Two struct gnttab_map_grant_ref { u64 host_addr; u32 flags; u32 ref; u16 dom; ... }
    let mut array = vec![0u8; 64];
    for i in 0..2usize {
        let e = &mut array[32 * i..32 * (i + 1)];
        e[0..8].copy_from_slice(&(0x8000_0000u64 + i as u64 * 0x1000).to_le_bytes());
        e[8..12].copy_from_slice(&1u32.to_le_bytes());
        e[12..16].copy_from_slice(&(40 + i as u32).to_le_bytes());
        e[16..18].copy_from_slice(&1u16.to_le_bytes());
    }
    let m = Mem::new().with(ARRAY, &array);
    let Ok(Hypercall::GrantTableOp(op)) =
        decode(HYPERVISOR_GRANT_TABLE_OP, [0, ARRAY, 2, 0, 0], &m)
    else {
        panic!()
    };
    assert_eq!((op.cmd, op.count, op.uop), (0, 2, GuestVa(ARRAY)));
    let uops = op.uops.unwrap();
    assert_eq!((uops.len(), uops.elem_size()), (2, 32));
    let mut buf = [0u8; MAX_ELEMENT_SIZE];
    for i in 0..2u32 {
        let e = op.read_uop(&m, i, &mut buf).unwrap();
        let map = xen_gnttab::wire::decode_map(e).unwrap();
        assert_eq!(map.gref, 40 + i);
        assert_eq!(map.host_addr, 0x8000_0000 + u64::from(i) * 0x1000);
        assert_eq!(uops.addr(i), Ok(GuestVa(ARRAY + 32 * u64::from(i))));
    }
    assert_eq!(op.read_uop(&m, 2, &mut buf), Err(Errno::EINVAL));
    // The rest of the batch after one element: what a continuation would carry.
    let rest = uops.skip(1);
    assert_eq!((rest.base(), rest.len()), (GuestVa(ARRAY + 32), 1));
}

#[test]
fn thirty_two_bit_arguments_ignore_the_upper_half() {
    let none = Mem::new();
    let junk = 0xdead_beef_0000_0000u64;
    assert_eq!(
        decode(HYPERVISOR_XEN_VERSION, [junk, 0, 0, 0, 0], &none),
        Ok(Hypercall::XenVersion(XenVersion::Version))
    );
    assert_eq!(
        decode(HYPERVISOR_VCPU_OP, [junk | 1, junk | 3, 0, 0, 0], &none),
        Ok(Hypercall::VcpuOp {
            vcpu: 3,
            op: VcpuOp::Up
        })
    );
    assert_eq!(
        decode(HYPERVISOR_SCHED_OP, [junk, 0, 0, 0, 0], &none),
        Ok(Hypercall::SchedOp(SchedOp::Yield))
    );
    assert_eq!(
        decode(HYPERVISOR_MULTICALL, [ARG, junk | 4, 0, 0, 0], &none),
        Ok(Hypercall::Multicall {
            calls: GuestVa(ARG),
            nr_calls: 4
        })
    );
    // memory_op's cmd is unsigned long: the upper bits are Xen's continuation index.
    assert_eq!(
        decode(HYPERVISOR_MEMORY_OP, [junk | 7, ARG, 0, 0, 0], &none),
        Err(Errno::EINVAL)
    );
    // hvm_op's op too: an operation that does not exist.
    assert_eq!(
        decode(HYPERVISOR_HVM_OP, [junk | 1, ARG, 0, 0, 0], &none),
        Ok(Hypercall::HvmOp(HvmOp::Unknown {
            op: junk | 1,
            arg: GuestVa(ARG)
        }))
    );
}

#[test]
fn classified_and_unknown_hypercalls() {
    let none = Mem::new();
    assert_eq!(
        decode(HYPERVISOR_PHYSDEV_OP, [5, ARG, 0, 0, 0], &none),
        Ok(Hypercall::PhysdevOp {
            cmd: 5,
            arg: GuestVa(ARG)
        })
    );
    assert_eq!(
        decode(HYPERVISOR_PLATFORM_OP, [ARG, 0, 0, 0, 0], &none),
        Ok(Hypercall::PlatformOp { arg: GuestVa(ARG) })
    );
    for nr in [0, 1, 6, 35, 36, 41, 48, u64::MAX] {
        assert_eq!(decode(nr, [ARG; 5], &none), Ok(Hypercall::Unknown { nr }));
    }
    assert_eq!(
        decode(HYPERVISOR_MEMORY_OP, [11, ARG, 0, 0, 0], &none),
        Ok(Hypercall::MemoryOp(MemoryOp::Unknown {
            cmd: 11,
            arg: GuestVa(ARG)
        }))
    );
}
