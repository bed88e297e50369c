//! Property tests: arbitrary registers and guest memory (the fuzz driver of tests/harness,
//! which checks the crate's promises after every call), each structure's fields against the
//! documented checks, and the element accessors' reads.

mod harness;

use harness::Mem;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use xen_hypercall::abi::*;
use xen_hypercall::*;

const BASE: u64 = 0xffff_8000_4000_0000;

/// 64-bit values with the edges well represented.
fn wide() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        0u64..4096,
        (Gfn::MAX - 2)..=(Gfn::MAX + 2),
        (u64::MAX - 4096)..=u64::MAX,
    ]
}

/// A register: anything, a small number, or a pointer into the test's memory.
fn register() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        0u64..40,
        (0u64..320).prop_map(|o| BASE + o),
        wide()
    ]
}

fn domid() -> impl Strategy<Value = u16> {
    prop_oneof![
        any::<u16>(),
        Just(DOMID_SELF),
        0u16..4,
        DOMID_FIRST_RESERVED..=u16::MAX
    ]
}

fn reserved(domid: u16) -> bool {
    domid >= DOMID_FIRST_RESERVED && domid != DOMID_SELF
}

fn put(s: &mut [u8], off: usize, v: &[u8]) {
    s[off..off + v.len()].copy_from_slice(v);
}

fn at(s: &[u8]) -> Mem {
    Mem::new().with(BASE, s)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    /// Any byte string as memory image plus calls: no panic, one bounded read per decode,
    /// faults are -EFAULT, accessors read exactly their element.
    #[test]
    fn arbitrary_inputs_keep_the_promises(data in vec(any::<u8>(), 0..2000)) {
        harness::run(&data);
    }

    /// Arbitrary registers over arbitrary memory with a hole: the same checks.
    #[test]
    fn arbitrary_registers_and_memory(
        nr in prop_oneof![4 => select(&harness::NUMBERS[..]), 1 => any::<u64>()],
        args in [register(), register(), register(), register(), register()],
        image in vec(any::<u8>(), 0..320),
        hole in (0u64..320, 0u64..16),
        extra in vec(any::<u8>(), 0..64),
    ) {
        let mem = at(&image).fault(BASE + hole.0, hole.1);
        harness::check(&mem, nr, args, &extra);
    }

    /// `xen_add_to_physmap`: every field where the header puts it, and exactly the
    /// documented rejections.
    #[test]
    fn add_to_physmap_fields(
        domid in domid(), size: u16, space in prop_oneof![0u32..8, any::<u32>()],
        idx in wide(), gpfn in wide(),
    ) {
        let mut s = [0u8; 24];
        put(&mut s, 0, &domid.to_le_bytes());
        put(&mut s, 2, &size.to_le_bytes());
        put(&mut s, 4, &space.to_le_bytes());
        put(&mut s, 8, &idx.to_le_bytes());
        put(&mut s, 16, &gpfn.to_le_bytes());
        let got = decode(HYPERVISOR_MEMORY_OP, [7, BASE, 0, 0, 0], &at(&s));
        let expect = if space > 5 || space == XENMAPSPACE_GMFN_FOREIGN {
            Err(Errno::ENOSYS)
        } else if reserved(domid) {
            Err(Errno::ESRCH)
        } else if (space == XENMAPSPACE_SHARED_INFO && idx != 0) || gpfn > Gfn::MAX {
            Err(Errno::EINVAL)
        } else {
            Ok(Hypercall::MemoryOp(MemoryOp::AddToPhysmap(AddToPhysmap {
                domid: DomainId::from_raw(domid).unwrap(),
                space: MapSpace::from_raw(space).unwrap(),
                size,
                idx,
                gpfn: Gfn::new(gpfn).unwrap(),
            })))
        };
        prop_assert_eq!(got, expect);
    }

    /// `xen_memory_reservation`.
    #[test]
    fn reservation_fields(
        cmd in select(vec![0u64, 1, 6]), extent_start in wide(),
        nr_extents in prop_oneof![0u64..=600, any::<u64>()],
        order in prop_oneof![Just(0u32), any::<u32>()], flags: u32, domid in domid(),
    ) {
        let mut s = [0u8; 32];
        put(&mut s, 0, &extent_start.to_le_bytes());
        put(&mut s, 8, &nr_extents.to_le_bytes());
        put(&mut s, 16, &order.to_le_bytes());
        put(&mut s, 20, &flags.to_le_bytes());
        put(&mut s, 24, &domid.to_le_bytes());
        let got = decode(HYPERVISOR_MEMORY_OP, [cmd, BASE, 0, 0, 0], &at(&s));
        let wraps = u128::from(extent_start) + u128::from(nr_extents) * 8 > 1u128 << 64;
        match got {
            Ok(Hypercall::MemoryOp(
                MemoryOp::IncreaseReservation(r)
                | MemoryOp::DecreaseReservation(r)
                | MemoryOp::PopulatePhysmap(r),
            )) => {
                prop_assert!(!reserved(domid) && order == 0 && nr_extents <= 512 && !wraps);
                prop_assert_eq!(r.domid.raw(), domid);
                prop_assert_eq!(r.mem_flags, flags);
                prop_assert_eq!(u64::from(r.nr_extents()), nr_extents);
                prop_assert_eq!(r.extents.base(), GuestVa(extent_start));
                prop_assert_eq!(r.extents.elem_size(), 8);
            }
            Err(Errno::ESRCH) => prop_assert!(reserved(domid)),
            Err(Errno::EINVAL) => prop_assert!(!reserved(domid) && order != 0),
            Err(Errno::E2BIG) => prop_assert!(order == 0 && nr_extents > 512),
            Err(Errno::EFAULT) => prop_assert!(order == 0 && nr_extents <= 512 && wraps),
            other => prop_assert!(false, "{:?}", other),
        }
    }

    /// `xen_add_to_physmap_batch`.
    #[test]
    fn add_to_physmap_batch_fields(
        domid in domid(), space in prop_oneof![0u16..8, any::<u16>()], size: u16,
        foreign in domid(), idxs in wide(), gpfns in wide(), errs in wide(),
    ) {
        let mut s = [0u8; 32];
        put(&mut s, 0, &domid.to_le_bytes());
        put(&mut s, 2, &space.to_le_bytes());
        put(&mut s, 4, &size.to_le_bytes());
        put(&mut s, 6, &foreign.to_le_bytes());
        put(&mut s, 8, &idxs.to_le_bytes());
        put(&mut s, 16, &gpfns.to_le_bytes());
        put(&mut s, 24, &errs.to_le_bytes());
        let got = decode(HYPERVISOR_MEMORY_OP, [23, BASE, 0, 0, 0], &at(&s));
        let n = u64::from(size);
        let wraps = |h: u64, e: u64| u128::from(h) + u128::from(n * e) > 1u128 << 64;
        let expect = if wraps(idxs, 8) || wraps(gpfns, 8) || wraps(errs, 4) {
            Err(Errno::EFAULT)
        } else if space == 3 {
            Err(Errno::EOPNOTSUPP)
        } else if space > 5 {
            Err(Errno::ENOSYS)
        } else if reserved(domid) || (space == 4 && reserved(foreign)) {
            Err(Errno::ESRCH)
        } else {
            Ok(Hypercall::MemoryOp(MemoryOp::AddToPhysmapBatch(AddToPhysmapBatch {
                domid: DomainId::from_raw(domid).unwrap(),
                space: MapSpace::from_raw(u32::from(space)).unwrap(),
                foreign_domid: (space == 4).then(|| DomainId::from_raw(foreign).unwrap()),
                idxs: GuestArray::new(GuestVa(idxs), u32::from(size), 8).unwrap(),
                gpfns: GuestArray::new(GuestVa(gpfns), u32::from(size), 8).unwrap(),
                errs: GuestArray::new(GuestVa(errs), u32::from(size), 4).unwrap(),
            })))
        };
        prop_assert_eq!(got, expect);
    }

    /// `vcpu_register_vcpu_info`.
    #[test]
    fn vcpu_info_fields(
        vcpu: u32, mfn in wide(), offset in prop_oneof![0u32..4200, any::<u32>()], rsvd: u32,
    ) {
        let mut s = [0u8; 16];
        put(&mut s, 0, &mfn.to_le_bytes());
        put(&mut s, 8, &offset.to_le_bytes());
        put(&mut s, 12, &rsvd.to_le_bytes());
        let got = decode(HYPERVISOR_VCPU_OP, [10, u64::from(vcpu), BASE, 0, 0], &at(&s));
        let expect = if mfn > Gfn::MAX || offset >= 4096 {
            Err(Errno::EINVAL)
        } else if offset % 8 != 0 || offset + 48 > 4096 {
            Err(Errno::ENXIO)
        } else {
            let area = VcpuInfoArea { gfn: Gfn::new(mfn).unwrap(), offset: offset as u16 };
            prop_assert_eq!(area.addr(), (mfn << 12) + u64::from(offset));
            Ok(Hypercall::VcpuOp { vcpu, op: VcpuOp::RegisterVcpuInfo(area) })
        };
        prop_assert_eq!(got, expect);
    }

    /// `xen_hvm_param` and `sched_poll`.
    #[test]
    fn hvm_param_and_poll_fields(
        op in 0u64..2, domid in domid(), index in prop_oneof![0u32..50, any::<u32>()],
        value: u64, ports in wide(), nr_ports in prop_oneof![0u32..200, any::<u32>()],
        timeout: u64,
    ) {
        let mut s = [0u8; 16];
        put(&mut s, 0, &domid.to_le_bytes());
        put(&mut s, 4, &index.to_le_bytes());
        put(&mut s, 8, &value.to_le_bytes());
        let got = decode(HYPERVISOR_HVM_OP, [op, BASE, 0, 0, 0], &at(&s));
        let expect = if index >= HVM_NR_PARAMS {
            Err(Errno::EINVAL)
        } else if reserved(domid) {
            Err(Errno::ESRCH)
        } else {
            let p = HvmParam { domid: DomainId::from_raw(domid).unwrap(), index, value, arg: GuestVa(BASE) };
            Ok(Hypercall::HvmOp(if op == 0 { HvmOp::SetParam(p) } else { HvmOp::GetParam(p) }))
        };
        prop_assert_eq!(got, expect);

        let mut s = [0u8; 24];
        put(&mut s, 0, &ports.to_le_bytes());
        put(&mut s, 8, &nr_ports.to_le_bytes());
        put(&mut s, 16, &timeout.to_le_bytes());
        let got = decode(HYPERVISOR_SCHED_OP, [3, BASE, 0, 0, 0], &at(&s));
        let expect = if nr_ports > 128 {
            Err(Errno::EINVAL)
        } else if u128::from(ports) + u128::from(nr_ports) * 4 > 1u128 << 64 {
            Err(Errno::EFAULT)
        } else {
            Ok(Hypercall::SchedOp(SchedOp::Poll(Poll {
                ports: GuestArray::new(GuestVa(ports), nr_ports, 4).unwrap(),
                timeout,
            })))
        };
        prop_assert_eq!(got, expect);
    }

    /// An array element read touches that element and nothing else, and succeeds exactly
    /// when it is in range and in readable memory.
    #[test]
    fn element_reads_stay_inside_their_element(
        base in prop_oneof![(0u64..256).prop_map(|o| BASE + o), wide()],
        len in prop_oneof![0u32..40, any::<u32>()],
        size in prop_oneof![1usize..=64, 0usize..100],
        index in prop_oneof![0u32..45, any::<u32>()],
        image in vec(any::<u8>(), 0..512),
        hole in (0u64..512, 0u64..8),
    ) {
        let mem = at(&image).fault(BASE + hole.0, hole.1);
        let array = match GuestArray::new(GuestVa(base), len, size) {
            Ok(a) => a,
            Err(e) => {
                let bad_size = size == 0 || size > MAX_ELEMENT_SIZE;
                let end = u128::from(base) + u128::from(len) * size as u128;
                let wraps = end > 1u128 << 64;
                prop_assert_eq!(e, if bad_size { Errno::EINVAL } else { Errno::EFAULT });
                prop_assert!(bad_size || wraps);
                return Ok(());
            }
        };
        let mut buf = [0u8; MAX_ELEMENT_SIZE];
        mem.take_reads();
        let got = array.read(&mem, index, &mut buf).map(|e| e.to_vec());
        let reads = mem.take_reads();
        if index >= len {
            prop_assert_eq!(got, Err(Errno::EINVAL));
            prop_assert!(reads.is_empty());
            return Ok(());
        }
        let addr = base + u64::from(index) * size as u64;
        prop_assert_eq!(reads.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(), vec![(addr, size)]);
        let readable = (0..size as u64).all(|i| {
            let a = addr + i;
            a >= BASE && a - BASE < image.len() as u64 && !(a >= BASE + hole.0 && a < BASE + hole.0 + hole.1)
        });
        if readable {
            let off = (addr - BASE) as usize;
            prop_assert_eq!(got, Ok(image[off..off + size].to_vec()));
        } else {
            prop_assert_eq!(got, Err(Errno::EFAULT));
        }
    }
}

/// Longer fuzz-style runs with a cheap generator, so that `cargo test` goes deeper than the
/// proptest cases, and a check that the driver reaches successful decodes and elements.
#[test]
fn long_pseudo_random_runs() {
    let mut x = 0x243f_6a88_85a3_08d3u64;
    let mut total = harness::Reached::default();
    for _ in 0..300 {
        let data: Vec<u8> = (0..3000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        let r = harness::run(&data);
        total.ok += r.ok;
        total.ok_read += r.ok_read;
        total.elements += r.elements;
        total.efault += r.efault;
    }
    assert!(
        total.ok > 1000 && total.ok_read > 50 && total.elements > 150 && total.efault > 100,
        "{total:?}"
    );
}
