//! Malformed arguments: faults are -EFAULT wherever they happen, and each out-of-range field
//! gets the error Xen 4.20 gives it (or the one the crate documents where it differs).

mod harness;

use harness::Mem;
use xen_hypercall::abi::*;
use xen_hypercall::*;

const ARG: u64 = 0x4000_8000;
const PAGE_END: u64 = 0x4000_9000;

/// Every call that reads a structure, with a structure that would decode.
fn reading_calls() -> Vec<(u64, [u64; 5], Vec<u8>)> {
    let a = |x0: u64| [x0, ARG, 0, 0, 0];
    let mut reservation = vec![0u8; 32];
    reservation[8] = 1; // one extent
    reservation[24..26].copy_from_slice(&DOMID_SELF.to_le_bytes());
    let mut vcpu_info = vec![0u8; 16];
    vcpu_info[0] = 0x40;
    let mut hvm = vec![0u8; 16];
    hvm[0..2].copy_from_slice(&DOMID_SELF.to_le_bytes());
    hvm[4] = 2;
    vec![
        (HYPERVISOR_XEN_VERSION, a(6), vec![0; 8]),
        (HYPERVISOR_XEN_VERSION, a(10), vec![16, 0, 0, 0]),
        (HYPERVISOR_MEMORY_OP, a(0), reservation.clone()),
        (HYPERVISOR_MEMORY_OP, a(1), reservation.clone()),
        (HYPERVISOR_MEMORY_OP, a(6), reservation),
        (HYPERVISOR_MEMORY_OP, a(3), vec![0xf0, 0x7f]),
        (HYPERVISOR_MEMORY_OP, a(4), vec![0, 0]),
        (HYPERVISOR_MEMORY_OP, a(7), vec![0; 24]),
        (HYPERVISOR_MEMORY_OP, a(15), vec![0; 16]),
        (HYPERVISOR_MEMORY_OP, a(23), vec![0; 32]),
        (HYPERVISOR_VCPU_OP, [10, 0, ARG, 0, 0], vcpu_info),
        (HYPERVISOR_VCPU_OP, [5, 0, ARG, 0, 0], vec![0; 8]),
        (HYPERVISOR_VCPU_OP, [6, 0, ARG, 0, 0], vec![0; 8]),
        (HYPERVISOR_VCPU_OP, [8, 0, ARG, 0, 0], vec![0; 16]),
        (HYPERVISOR_HVM_OP, a(0), hvm.clone()),
        (HYPERVISOR_HVM_OP, a(1), hvm),
        (HYPERVISOR_SCHED_OP, a(2), vec![0; 4]),
        (HYPERVISOR_SCHED_OP, a(5), vec![0; 4]),
        (HYPERVISOR_SCHED_OP, a(3), vec![0; 24]),
    ]
}

#[test]
fn faults_propagate_as_efault() {
    for (nr, args, s) in reading_calls() {
        let whole = Mem::new().with(ARG, &s);
        assert!(decode(nr, args, &whole).is_ok(), "{nr} {args:?} decodes");
        // Not mapped at all.
        assert_eq!(
            decode(nr, args, &Mem::new()),
            Err(Errno::EFAULT),
            "{nr} {args:?}"
        );
        // The last byte missing.
        let short = Mem::new().with(ARG, &s[..s.len() - 1]);
        assert_eq!(
            decode(nr, args, &short),
            Err(Errno::EFAULT),
            "{nr} {args:?} short"
        );
        // One byte in the middle faults.
        let holed = Mem::new().with(ARG, &s).fault(ARG + s.len() as u64 / 2, 1);
        assert_eq!(
            decode(nr, args, &holed),
            Err(Errno::EFAULT),
            "{nr} {args:?} holed"
        );
        // A structure that would end past the top of the address space.
        let va = u64::MAX - s.len() as u64 + 2;
        let mut top = args;
        top[if nr == HYPERVISOR_VCPU_OP { 2 } else { 1 }] = va;
        assert_eq!(
            decode(nr, top, &Mem::new().with(va, &s)),
            Err(Errno::EFAULT),
            "{nr} {args:?} top"
        );
        // ... and one that ends exactly there is fine.
        top[if nr == HYPERVISOR_VCPU_OP { 2 } else { 1 }] = va - 1;
        assert!(
            decode(nr, top, &Mem::new().with(va - 1, &s)).is_ok(),
            "{nr} {args:?} top"
        );
    }
}

#[test]
fn element_faults_are_efault_and_nothing_else_is_read() {
    // A batch whose second idx lies on a page that faults.
    let mut s = vec![0u8; 32];
    s[4..6].copy_from_slice(&3u16.to_le_bytes());
    s[8..16].copy_from_slice(&(PAGE_END - 8).to_le_bytes());
    s[16..24].copy_from_slice(&0x5000_0000u64.to_le_bytes());
    s[24..32].copy_from_slice(&0x5000_1000u64.to_le_bytes());
    let m = Mem::new()
        .with(ARG, &s)
        .with(PAGE_END - 8, &[1, 0, 0, 0, 0, 0, 0, 0])
        .with(0x5000_0000, &[0x42; 24]);
    let Ok(Hypercall::MemoryOp(MemoryOp::AddToPhysmapBatch(b))) =
        decode(HYPERVISOR_MEMORY_OP, [23, ARG, 0, 0, 0], &m)
    else {
        panic!()
    };
    m.take_reads();
    assert_eq!(b.idx(&m, 0), Ok(1));
    assert_eq!(b.idx(&m, 1), Err(Errno::EFAULT));
    assert_eq!(b.idx(&m, 2), Err(Errno::EFAULT));
    // 0x4242_4242_4242_4242 is read, and is too large a frame number.
    assert_eq!(b.gpfn(&m, 2), Err(Errno::EINVAL));
    let reads = m.take_reads();
    assert_eq!(
        reads.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>(),
        [
            (PAGE_END - 8, 8),
            (PAGE_END, 8),
            (PAGE_END + 8, 8),
            (0x5000_0010, 8)
        ]
    );
}

fn memop(cmd: u64, s: &[u8]) -> Result<Hypercall, Errno> {
    decode(
        HYPERVISOR_MEMORY_OP,
        [cmd, ARG, 0, 0, 0],
        &Mem::new().with(ARG, s),
    )
}

fn reservation(extent_start: u64, nr_extents: u64, order: u32, domid: u16) -> Vec<u8> {
    let mut s = vec![0u8; 32];
    s[0..8].copy_from_slice(&extent_start.to_le_bytes());
    s[8..16].copy_from_slice(&nr_extents.to_le_bytes());
    s[16..20].copy_from_slice(&order.to_le_bytes());
    s[24..26].copy_from_slice(&domid.to_le_bytes());
    s
}

#[test]
fn reservation_limits() {
    // What the balloon driver sends at most with 4 KiB pages.
    assert!(memop(6, &reservation(0xffff_0000_0000_0000, 512, 0, DOMID_SELF)).is_ok());
    assert_eq!(
        memop(6, &reservation(0xffff_0000_0000_0000, 513, 0, DOMID_SELF)),
        Err(Errno::E2BIG)
    );
    assert_eq!(
        memop(1, &reservation(0, u64::MAX, 0, DOMID_SELF)),
        Err(Errno::E2BIG)
    );
    assert_eq!(
        memop(1, &reservation(0, 1 << 32, 0, DOMID_SELF)),
        Err(Errno::E2BIG)
    );
    // Superpages (a 64 KiB-page guest's order 4) are not supported.
    assert_eq!(
        memop(0, &reservation(0, 1, 4, DOMID_SELF)),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        memop(0, &reservation(0, 1, 0, DOMID_XEN)),
        Err(Errno::ESRCH)
    );
    // No extents: fine, nothing to read.
    assert!(memop(1, &reservation(0, 0, 0, 0)).is_ok());
    // An extent list running off the top of the address space.
    assert_eq!(
        memop(1, &reservation(u64::MAX - 8, 2, 0, 0)),
        Err(Errno::EFAULT)
    );
    assert!(memop(1, &reservation(u64::MAX - 15, 2, 0, 0)).is_ok());
    // A continuation index: this hypervisor makes none.
    let s = reservation(0, 1, 0, DOMID_SELF);
    assert_eq!(memop(6 | 1 << 6, &s), Err(Errno::EINVAL));
    // ... and Xen's answer to a failed reservation is a count of extents, not an errno.
    assert_eq!(
        error_return(HYPERVISOR_MEMORY_OP, &[6, ARG, 0, 0, 0], Errno::E2BIG),
        0
    );
    assert_eq!(
        error_return(
            HYPERVISOR_MEMORY_OP,
            &[6 | 5 << 6, ARG, 0, 0, 0],
            Errno::EINVAL
        ),
        5
    );
    assert_eq!(
        error_return(HYPERVISOR_MEMORY_OP, &[7, ARG, 0, 0, 0], Errno::ESRCH),
        -3
    );
    assert_eq!(
        error_return(HYPERVISOR_SCHED_OP, &[6, ARG, 0, 0, 0], Errno::EFAULT),
        -14
    );
}

#[test]
fn physmap_checks() {
    let atp = |domid: u16, space: u32, idx: u64, gpfn: u64| {
        let mut s = vec![0u8; 24];
        s[0..2].copy_from_slice(&domid.to_le_bytes());
        s[4..8].copy_from_slice(&space.to_le_bytes());
        s[8..16].copy_from_slice(&idx.to_le_bytes());
        s[16..24].copy_from_slice(&gpfn.to_le_bytes());
        memop(7, &s)
    };
    assert!(atp(DOMID_SELF, 0, 0, 0x4_0000).is_ok());
    assert!(atp(0, 1, 3, Gfn::MAX).is_ok());
    assert_eq!(
        atp(DOMID_SELF, 0, 1, 0x4_0000),
        Err(Errno::EINVAL),
        "shared_info idx != 0"
    );
    assert_eq!(
        atp(DOMID_SELF, 4, 0, 0x4_0000),
        Err(Errno::ENOSYS),
        "foreign needs the batch"
    );
    assert_eq!(
        atp(DOMID_SELF, 6, 0, 0x4_0000),
        Err(Errno::ENOSYS),
        "unknown space"
    );
    assert_eq!(atp(DOMID_SELF, 1, 0, Gfn::MAX + 1), Err(Errno::EINVAL));
    for reserved in [
        DOMID_IO,
        DOMID_XEN,
        DOMID_COW,
        DOMID_INVALID,
        DOMID_IDLE,
        0xffff,
    ] {
        assert_eq!(atp(reserved, 0, 0, 1), Err(Errno::ESRCH));
    }
    assert_eq!(
        memop(7 | 1 << 6, &[0; 24]),
        Err(Errno::EINVAL),
        "continuation"
    );

    let batch = |space: u16, foreign: u16, size: u16, idxs: u64| {
        let mut s = vec![0u8; 32];
        s[2..4].copy_from_slice(&space.to_le_bytes());
        s[4..6].copy_from_slice(&size.to_le_bytes());
        s[6..8].copy_from_slice(&foreign.to_le_bytes());
        s[8..16].copy_from_slice(&idxs.to_le_bytes());
        memop(23, &s)
    };
    assert!(batch(4, 1, u16::MAX, 0x1000).is_ok());
    assert_eq!(batch(3, 0, 1, 0x1000), Err(Errno::EOPNOTSUPP), "gmfn_range");
    assert_eq!(batch(9, 0, 1, 0x1000), Err(Errno::ENOSYS));
    assert_eq!(batch(4, DOMID_XEN, 1, 0x1000), Err(Errno::ESRCH));
    assert!(
        batch(5, DOMID_XEN, 1, 0x1000).is_ok(),
        "res0 is not a domain"
    );
    assert_eq!(batch(4, 1, 2, u64::MAX - 8), Err(Errno::EFAULT));

    let rm = |gpfn: u64| {
        let mut s = vec![0u8; 16];
        s[8..16].copy_from_slice(&gpfn.to_le_bytes());
        memop(15, &s)
    };
    assert!(rm(Gfn::MAX).is_ok());
    assert_eq!(rm(Gfn::MAX + 1), Err(Errno::ENOENT));
}

#[test]
fn vcpu_info_placement() {
    let reg = |mfn: u64, offset: u32| {
        let mut s = vec![0u8; 16];
        s[0..8].copy_from_slice(&mfn.to_le_bytes());
        s[8..12].copy_from_slice(&offset.to_le_bytes());
        decode(
            HYPERVISOR_VCPU_OP,
            [10, 0, ARG, 0, 0],
            &Mem::new().with(ARG, &s),
        )
    };
    // Linux allocates vcpu_info 64-aligned: offsets 0, 64, ..., 4032.
    for offset in (0..4096).step_by(64) {
        assert!(reg(0x4_0000, offset).is_ok(), "{offset}");
    }
    assert!(
        reg(0x4_0000, 4096 - 48).is_ok(),
        "the last place a 48-byte vcpu_info fits"
    );
    assert_eq!(
        reg(0x4_0000, 4096 - 40),
        Err(Errno::ENXIO),
        "crosses the page"
    );
    assert_eq!(reg(0x4_0000, 4), Err(Errno::ENXIO), "misaligned");
    assert_eq!(
        reg(0x4_0000, 4096),
        Err(Errno::EINVAL),
        "offset outside the page"
    );
    assert_eq!(reg(0x4_0000, u32::MAX), Err(Errno::EINVAL));
    assert_eq!(
        reg(Gfn::MAX + 1, 0),
        Err(Errno::EINVAL),
        "address overflows"
    );
    assert!(reg(Gfn::MAX, 4096 - 48).is_ok());
}

#[test]
fn other_range_checks() {
    let m = |s: &[u8]| Mem::new().with(ARG, s);
    // hvm_param index and domid.
    let hvm = |domid: u16, index: u32| {
        let mut s = vec![0u8; 16];
        s[0..2].copy_from_slice(&domid.to_le_bytes());
        s[4..8].copy_from_slice(&index.to_le_bytes());
        decode(HYPERVISOR_HVM_OP, [1, ARG, 0, 0, 0], &m(&s))
    };
    assert!(hvm(DOMID_SELF, HVM_NR_PARAMS - 1).is_ok());
    assert_eq!(hvm(DOMID_SELF, HVM_NR_PARAMS), Err(Errno::EINVAL));
    assert_eq!(hvm(DOMID_IO, 1), Err(Errno::ESRCH));
    // sched_poll: at most 128 ports.
    let poll = |ports: u64, nr: u32| {
        let mut s = vec![0u8; 24];
        s[0..8].copy_from_slice(&ports.to_le_bytes());
        s[8..12].copy_from_slice(&nr.to_le_bytes());
        decode(HYPERVISOR_SCHED_OP, [3, ARG, 0, 0, 0], &m(&s))
    };
    assert!(poll(0x1000, 128).is_ok());
    assert_eq!(poll(0x1000, 129), Err(Errno::EINVAL));
    assert_eq!(poll(u64::MAX - 2, 1), Err(Errno::EFAULT));
    // console_io.
    let none = Mem::new();
    let con = |cmd: u64, count: u64, buf: u64| {
        decode(HYPERVISOR_CONSOLE_IO, [cmd, count, buf, 0, 0], &none)
    };
    assert!(con(0, u64::from(CONSOLE_IO_MAX), 0x1000).is_ok());
    assert_eq!(
        con(0, u64::from(CONSOLE_IO_MAX) + 1, 0x1000),
        Err(Errno::E2BIG)
    );
    assert_eq!(con(0, 2, u64::MAX), Err(Errno::EFAULT));
    assert!(con(0, 1, u64::MAX).is_ok());
    assert_eq!(
        con(1, 1 << 31, 0x1000),
        Err(Errno::E2BIG),
        "count > INT_MAX"
    );
    assert_eq!(
        con(1, 100_000, 0x1000),
        Ok(Hypercall::ConsoleIo(ConsoleIo::Read(
            GuestBuffer::new(GuestVa(0x1000), CONSOLE_IO_MAX).unwrap()
        )))
    );
    // vm_assist: the type first (-EINVAL), then the command (-ENOSYS).
    let vma = |cmd: u64, ty: u64| decode(HYPERVISOR_VM_ASSIST, [cmd, ty, 0, 0, 0], &none);
    assert_eq!(
        vma(0, VMASST_TYPE_RUNSTATE_UPDATE_FLAG as u64 - 1),
        Err(Errno::EINVAL)
    );
    assert_eq!(vma(0, 64), Err(Errno::EINVAL));
    assert_eq!(vma(2, 5), Err(Errno::ENOSYS));
    assert_eq!(vma(2, 0), Err(Errno::EINVAL));
    // grant_table_op: count, continuation bits, single-element commands.
    let gt = |cmd: u64, uop: u64, count: u64| {
        decode(HYPERVISOR_GRANT_TABLE_OP, [cmd, uop, count, 0, 0], &none)
    };
    assert!(gt(0, 0x1000, 1000).is_ok());
    assert!(gt(0, 0x1000, 0).is_ok());
    assert_eq!(gt(0, 0x1000, 1 << 31), Err(Errno::EINVAL));
    assert_eq!(
        gt(1 << 12, 0x1000, 1),
        Err(Errno::EINVAL),
        "map with continuation bits"
    );
    assert!(
        gt(12 | 1 << 12, 0x1000, 1).is_ok(),
        "cache_flush carries continuation bits"
    );
    assert!(gt(6, 0x1000, 1).is_ok());
    assert_eq!(gt(6, 0x1000, 2), Err(Errno::EINVAL), "query_size takes one");
    assert_eq!(
        gt(5, u64::MAX - 100, 3),
        Err(Errno::EFAULT),
        "copy array wraps"
    );
    let Ok(Hypercall::GrantTableOp(op)) = gt(4, 0x1000, 7) else {
        panic!()
    };
    assert_eq!(
        (op.cmd, op.uops),
        (4, None),
        "transfer: not implemented, nothing to read"
    );
    // event_channel_op: an argument running off the end.
    assert_eq!(
        decode(
            HYPERVISOR_EVENT_CHANNEL_OP,
            [4, u64::MAX - 2, 0, 0, 0],
            &none
        ),
        Err(Errno::EFAULT)
    );
}

#[test]
fn errno_values_and_returns() {
    assert_eq!(Errno::EPERM.code(), 1);
    assert_eq!(Errno::EFAULT.code(), 14);
    assert_eq!(Errno::EINVAL.to_ret(), -22);
    assert_eq!(Errno::ENOSYS.to_reg(), (-38i64) as u64);
    assert_eq!(Errno::ETIMEDOUT.code(), 110);
    assert_eq!(Errno::E2BIG.name(), "E2BIG");
    assert_eq!(format!("{}", Errno::EOPNOTSUPP), "EOPNOTSUPP (95)");
    assert_eq!(format!("{:?}", Errno::ENXIO), "ENXIO");
    for &e in Errno::ALL {
        assert_eq!(Errno::from_code(i64::from(e.code())), Some(e));
        assert_eq!(Errno::from_ret(e.to_ret()), Some(e));
    }
    assert!(Errno::ALL.windows(2).all(|w| w[0] < w[1]));
    // EINTR and ERESTART never reach a guest.
    assert_eq!(Errno::from_code(4), None);
    assert_eq!(Errno::from_code(85), None);
    assert_eq!(Errno::from_ret(0), None);
    assert_eq!(Errno::from_ret(5), None);
    assert_eq!(Errno::from_ret(i64::MIN), None);
    assert_eq!(Errno::from(Fault { va: 3 }), Errno::EFAULT);
}

#[test]
fn guest_arrays_and_buffers() {
    let m = Mem::new().with(0x1000, &(0u8..64).collect::<Vec<_>>());
    let a = GuestArray::new(GuestVa(0x1000), 4, 16).unwrap();
    let mut buf = [0u8; MAX_ELEMENT_SIZE];
    assert_eq!(
        a.read(&m, 3, &mut buf).unwrap(),
        &(48u8..64).collect::<Vec<_>>()[..]
    );
    assert_eq!(a.read(&m, 4, &mut buf), Err(Errno::EINVAL));
    assert_eq!(
        a.read_u64(&m, 0),
        Err(Errno::EINVAL),
        "16-byte elements are not u64"
    );
    assert_eq!(GuestArray::new(GuestVa(0), 1, 0), Err(Errno::EINVAL));
    assert_eq!(
        GuestArray::new(GuestVa(0), 1, MAX_ELEMENT_SIZE + 1),
        Err(Errno::EINVAL)
    );
    assert_eq!(GuestArray::new(GuestVa(u64::MAX), 2, 1), Err(Errno::EFAULT));
    assert!(GuestArray::new(GuestVa(u64::MAX), 1, 1).is_ok());
    assert!(GuestArray::new(GuestVa(u64::MAX), 0, 8).is_ok());
    let top = GuestArray::new(GuestVa(u64::MAX - 15), 2, 8).unwrap();
    assert_eq!(top.skip(2).len(), 0);
    assert_eq!(top.skip(1).base(), GuestVa(u64::MAX - 7));
    assert_eq!(top.skip(9).len(), 0);

    let mut e = [0u8; 8];
    assert_eq!(read_element(&m, GuestVa(0x1000), 8, 7, &mut e), Ok(()));
    assert_eq!(e, [56, 57, 58, 59, 60, 61, 62, 63]);
    assert_eq!(
        read_element(&m, GuestVa(0x1000), 8, 8, &mut e),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        read_element(&m, GuestVa(0x1000), 9, 8, &mut e),
        Err(Errno::EFAULT),
        "past the region"
    );
    assert_eq!(
        read_element(&m, GuestVa(u64::MAX - 7), 2, 1, &mut e),
        Err(Errno::EFAULT),
        "wraps"
    );
    assert_eq!(
        read_element(
            &m,
            GuestVa(u64::MAX - 1000),
            u32::MAX,
            u32::MAX - 1,
            &mut [0u8; 64]
        ),
        Err(Errno::EFAULT),
        "address overflows"
    );
    assert_eq!(
        read_element(&m, GuestVa(0), 1, 0, &mut []),
        Err(Errno::EINVAL)
    );

    let b = GuestBuffer::new(GuestVa(0x1030), 16).unwrap();
    let mut out = [0u8; 10];
    assert_eq!(b.read(&m, 0, &mut out), Ok(10));
    assert_eq!(b.read(&m, 10, &mut out), Ok(6));
    assert_eq!(&out[..6], &[58, 59, 60, 61, 62, 63]);
    assert_eq!(b.read(&m, 16, &mut out), Ok(0));
    assert_eq!(b.read(&m, 17, &mut out), Err(Errno::EINVAL));
    assert_eq!(
        GuestBuffer::new(GuestVa(0x1030), 17)
            .unwrap()
            .read(&m, 0, &mut [0u8; 17]),
        Err(Errno::EFAULT)
    );
    assert_eq!(GuestBuffer::new(GuestVa(u64::MAX), 2), Err(Errno::EFAULT));
}
