//! Shared by the integration tests and the libFuzzer target (fuzz/fuzz_targets/hypercall.rs
//! includes this file with `#[path]`): a fake guest memory (byte regions at chosen guest
//! virtual addresses, with ranges that fault) that records every read, and a driver that
//! turns arbitrary bytes into registers and a memory image, decodes, calls every accessor of
//! the result, and checks the crate's promises:
//!
//! - `decode` reads at most once, at most `MAX_DECODE_READ` bytes; a fault is `-EFAULT`;
//!   the same input decodes the same way;
//! - an accessor of element `i` reads exactly that element, or nothing when `i` is out of
//!   range; a buffer read stays inside the buffer and the caller's slice;
//! - nothing panics (overflow checks are on in the fuzz build).

#![allow(dead_code)]

use std::cell::RefCell;
use std::vec::Vec;

use xen_hypercall::abi::*;
use xen_hypercall::layout::MAX_DECODE_READ;
use xen_hypercall::{
    decode, error_return, read_element, ConsoleIo, Errno, Fault, GuestArray, GuestBuffer,
    GuestMemory, Hypercall, MemoryOp, SchedOp, VcpuOp, XenVersion, MAX_ELEMENT_SIZE,
};

/// Guest memory: regions of bytes at guest virtual addresses; everything else, and the
/// fault ranges, faults. Every read is recorded (address, length, whether it faulted).
#[derive(Default)]
pub struct Mem {
    regions: Vec<(u64, Vec<u8>)>,
    faults: Vec<(u64, u64)>,
    reads: RefCell<Vec<(u64, usize, bool)>>,
}

impl Mem {
    pub fn new() -> Mem {
        Mem::default()
    }

    /// Adds `bytes` at `base` (the part that would wrap past 2^64 is dropped).
    pub fn with(mut self, base: u64, bytes: &[u8]) -> Mem {
        let room = usize::try_from(u64::MAX - base)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        let n = bytes.len().min(room);
        self.regions.push((base, bytes[..n].to_vec()));
        self
    }

    /// Makes `len` bytes from `start` fault even where a region covers them.
    pub fn fault(mut self, start: u64, len: u64) -> Mem {
        self.faults.push((start, start.saturating_add(len)));
        self
    }

    /// Overwrites bytes of a region (for tests that build structures in place).
    pub fn write(&mut self, va: u64, bytes: &[u8]) {
        for (i, &b) in bytes.iter().enumerate() {
            let a = va + i as u64;
            let (base, data) = self
                .regions
                .iter_mut()
                .find(|(base, data)| a >= *base && a - *base < data.len() as u64)
                .expect("write inside a region");
            data[(a - *base) as usize] = b;
        }
    }

    fn byte(&self, a: u64) -> Option<u8> {
        if self.faults.iter().any(|&(s, e)| a >= s && a < e) {
            return None;
        }
        self.regions.iter().find_map(|(base, data)| {
            let off = a.checked_sub(*base)?;
            data.get(usize::try_from(off).ok()?).copied()
        })
    }

    /// The reads since the last call, and forgets them.
    pub fn take_reads(&self) -> Vec<(u64, usize, bool)> {
        std::mem::take(&mut *self.reads.borrow_mut())
    }
}

impl GuestMemory for Mem {
    fn read(&self, va: u64, buf: &mut [u8]) -> Result<(), Fault> {
        let mut result = Ok(());
        for (i, b) in buf.iter_mut().enumerate() {
            match va.checked_add(i as u64).and_then(|a| self.byte(a)) {
                Some(v) => *b = v,
                None => {
                    result = Err(Fault {
                        va: va.wrapping_add(i as u64),
                    });
                    break;
                }
            }
        }
        self.reads
            .borrow_mut()
            .push((va, buf.len(), result.is_err()));
        result
    }
}

/// Hypercall numbers the driver picks most of the time.
pub const NUMBERS: [u64; 13] = [
    HYPERVISOR_XEN_VERSION,
    HYPERVISOR_MEMORY_OP,
    HYPERVISOR_VCPU_OP,
    HYPERVISOR_EVENT_CHANNEL_OP,
    HYPERVISOR_GRANT_TABLE_OP,
    HYPERVISOR_HVM_OP,
    HYPERVISOR_SCHED_OP,
    HYPERVISOR_CONSOLE_IO,
    HYPERVISOR_VM_ASSIST,
    HYPERVISOR_PHYSDEV_OP,
    HYPERVISOR_PLATFORM_OP,
    HYPERVISOR_MULTICALL,
    0,
];

/// Where the driver puts its memory region.
pub const BASES: [u64; 4] = [0x4000_1000, 0xffff_8000_0010_0000, u64::MAX - 0x3f, 0];

/// Reads the driver's input.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.u8();
        }
        u64::from_le_bytes(b)
    }

    fn u16(&mut self) -> u16 {
        u16::from(self.u8()) | u16::from(self.u8()) << 8
    }
}

/// What a run reached, for tests that check the driver gets somewhere.
#[derive(Default, Debug, Clone, Copy)]
pub struct Reached {
    /// Decodes that succeeded.
    pub ok: u64,
    /// Successful decodes that read a structure.
    pub ok_read: u64,
    /// Array or buffer elements read successfully.
    pub elements: u64,
    /// Decodes that failed with -EFAULT.
    pub efault: u64,
}

/// Runs one input: a memory image (a region at one of [`BASES`], with a range that faults),
/// then up to 32 hypercalls on it, each followed by calls of every accessor of its result.
pub fn run(data: &[u8]) -> Reached {
    let mut input = Input(data);
    let base = BASES[usize::from(input.u8()) % BASES.len()];
    let fault_start = base.wrapping_add(u64::from(input.u16() % 1024));
    let fault_len = u64::from(input.u8() % 16);
    let image = image(&mut input, base);
    let mem = Mem::new().with(base, &image).fault(fault_start, fault_len);
    let mut reached = Reached::default();
    for _ in 0..32 {
        if input.0.is_empty() {
            break;
        }
        let sel = input.u8();
        let nr = if sel < 240 {
            NUMBERS[usize::from(sel) % NUMBERS.len()]
        } else {
            input.u64()
        };
        // x0 is mostly a small command, x1 and x2 mostly pointers into the image.
        let mut args = [0u64; 5];
        for (i, a) in args.iter_mut().enumerate() {
            let sel = input.u8() % 8;
            let small = if i == 0 { sel < 5 } else { sel < 2 };
            *a = if small {
                u64::from(input.u8() % 24)
            } else if sel < 7 {
                base.wrapping_add(u64::from(input.u16() % 512))
            } else if input.u8() & 1 == 0 {
                base.wrapping_sub(u64::from(input.u8()))
            } else {
                input.u64()
            };
        }
        reached.add(check_call(&mem, nr, args, &mut input));
    }
    reached
}

/// The memory image: runs of zeros, raw bytes, pointers into the image and small numbers,
/// so that structures with valid fields and arrays in memory are common (any byte string
/// can still be written, as raw bytes).
fn image(input: &mut Input, base: u64) -> Vec<u8> {
    let len = usize::from(input.u16() % 1024);
    let mut image = Vec::with_capacity(len + 16);
    while image.len() < len && !input.0.is_empty() {
        match input.u8() % 8 {
            0..=3 => image.resize(image.len() + usize::from(input.u8() % 8) + 1, 0),
            4 | 5 => {
                for _ in 0..=input.u8() % 16 {
                    image.push(input.u8());
                }
            }
            6 => {
                let ptr = base.wrapping_add(u64::from(input.u16() % 1024));
                image.extend_from_slice(&ptr.to_le_bytes());
            }
            _ => image.extend_from_slice(&u64::from(input.u8() % 8).to_le_bytes()),
        }
    }
    image
}

/// [`check_call`] with the accessors' indices and sizes taken from `extra`.
pub fn check(mem: &Mem, nr: u64, args: [u64; 5], extra: &[u8]) -> Reached {
    check_call(mem, nr, args, &mut Input(extra))
}

impl Reached {
    fn add(&mut self, other: Reached) {
        self.ok += other.ok;
        self.ok_read += other.ok_read;
        self.elements += other.elements;
        self.efault += other.efault;
    }
}

/// Decodes `nr`/`args` over `mem`, checks the decode's promises, then exercises every
/// accessor of the result with indices and buffer sizes taken from `input`.
fn check_call(mem: &Mem, nr: u64, args: [u64; 5], input: &mut Input) -> Reached {
    let mut reached = Reached::default();
    mem.take_reads();
    let result = decode(nr, args, mem);
    let reads = mem.take_reads();
    assert!(
        reads.len() <= 1,
        "decode read {} times: {reads:?}",
        reads.len()
    );
    let read_bytes: usize = reads.iter().map(|r| r.1).sum();
    assert!(
        read_bytes <= MAX_DECODE_READ,
        "decode read {read_bytes} bytes"
    );
    if reads.iter().any(|r| r.2) {
        assert_eq!(result, Err(Errno::EFAULT), "a fault must be -EFAULT");
    }
    assert_eq!(decode(nr, args, mem), result, "decode is deterministic");
    mem.take_reads();
    let ret = error_return(nr, &args, result.err().unwrap_or(Errno::EINVAL));
    assert!(ret <= 1 << 58);
    match result {
        Ok(call) => {
            reached.ok += 1;
            if !reads.is_empty() {
                reached.ok_read += 1;
            }
            reached.elements += exercise(mem, &call, input);
        }
        Err(Errno::EFAULT) => reached.efault += 1,
        Err(_) => {}
    }
    reached
}

/// Indices to try on an array of `len`: the first few, the last, just past the end, far.
fn indices(len: u32, input: &mut Input) -> Vec<u32> {
    let mut v: Vec<u32> = (0..len.min(4)).collect();
    v.push(len.saturating_sub(1));
    v.push(len);
    v.push(len.saturating_add(1));
    v.push(u32::MAX);
    v.push(u32::from(input.u16()));
    v
}

/// Reads elements of `array` through `read`, checking each read is exactly that element.
fn check_array(
    mem: &Mem,
    array: &GuestArray,
    input: &mut Input,
    read: &dyn Fn(u32) -> Result<(), Errno>,
) -> u64 {
    let mut ok = 0;
    for i in indices(array.len(), input) {
        mem.take_reads();
        let result = read(i);
        let reads = mem.take_reads();
        if i >= array.len() {
            assert_eq!(result, Err(Errno::EINVAL), "index {i} of {}", array.len());
            assert!(reads.is_empty(), "out-of-range index {i} read {reads:?}");
            assert_eq!(array.addr(i), Err(Errno::EINVAL));
            continue;
        }
        let addr = array.addr(i).expect("in range").0;
        let expect = array.base().0 + u64::from(i) * array.elem_size() as u64;
        assert_eq!(addr, expect);
        for &(va, len, _) in &reads {
            assert!(
                va == addr && len == array.elem_size(),
                "element {i} at {addr:#x}+{} read {va:#x}+{len}",
                array.elem_size()
            );
        }
        assert!(reads.len() <= 1);
        match result {
            Ok(()) => ok += 1,
            Err(e) => assert_eq!(e, Errno::EFAULT),
        }
    }
    // The rest of a batch after some are done.
    let n = u32::from(input.u8());
    let rest = array.skip(n);
    assert_eq!(rest.len(), array.len().saturating_sub(n));
    if !rest.is_empty() {
        assert_eq!(rest.addr(0), array.addr(n));
    }
    ok
}

/// Reads a buffer at offsets and in pieces taken from `input`.
fn check_buffer(mem: &Mem, buffer: &GuestBuffer, input: &mut Input) -> u64 {
    let mut ok = 0;
    let mut out = [0u8; 300];
    for _ in 0..4 {
        let offset = match input.u8() % 3 {
            0 => 0,
            1 => u32::from(input.u16()).min(buffer.len()),
            _ => u32::from(input.u16()),
        };
        let piece = usize::from(input.u16()) % out.len();
        mem.take_reads();
        let result = buffer.read(mem, offset, &mut out[..piece]);
        let reads = mem.take_reads();
        if offset > buffer.len() {
            assert_eq!(result, Err(Errno::EINVAL));
            assert!(reads.is_empty());
            continue;
        }
        let start = u128::from(buffer.base().0) + u128::from(offset);
        let end = u128::from(buffer.base().0) + u128::from(buffer.len());
        for &(va, len, _) in &reads {
            let va = u128::from(va);
            assert!(va >= start && len <= piece && va + len as u128 <= end);
        }
        match result {
            Ok(n) => {
                assert_eq!(n, piece.min((buffer.len() - offset) as usize));
                ok += 1;
            }
            Err(e) => assert_eq!(e, Errno::EFAULT),
        }
    }
    ok
}

/// Calls every accessor of `call`.
fn exercise(mem: &Mem, call: &Hypercall, input: &mut Input) -> u64 {
    let mut buf = [0u8; MAX_ELEMENT_SIZE];
    let mut n = 0;
    let unit = |r: Result<u64, Errno>| r.map(|_| ());
    match call {
        Hypercall::MemoryOp(op) => match op {
            MemoryOp::IncreaseReservation(r)
            | MemoryOp::DecreaseReservation(r)
            | MemoryOp::PopulatePhysmap(r) => {
                assert!(r.nr_extents() <= xen_hypercall::MAX_EXTENTS);
                n += check_array(mem, &r.extents, input, &|i| {
                    match r.extent(mem, i) {
                        Ok(gfn) => {
                            assert!(gfn.get() <= xen_hypercall::Gfn::MAX);
                            Ok(())
                        }
                        // A frame number too large is -EINVAL after a good read.
                        Err(Errno::EINVAL) if i < r.nr_extents() => Ok(()),
                        Err(e) => Err(e),
                    }
                });
            }
            MemoryOp::AddToPhysmapBatch(b) => {
                assert_eq!(b.idxs.len(), b.gpfns.len());
                assert_eq!(b.idxs.len(), b.errs.len());
                n += check_array(mem, &b.idxs, input, &|i| unit(b.idx(mem, i)));
                n += check_array(mem, &b.gpfns, input, &|i| match b.gpfn(mem, i) {
                    Ok(_) => Ok(()),
                    Err(Errno::EINVAL) if i < b.size() => Ok(()),
                    Err(e) => Err(e),
                });
                for i in indices(b.size(), input) {
                    let addr = b.err_addr(i);
                    if i < b.size() {
                        assert_eq!(addr, b.errs.addr(i));
                    } else {
                        assert_eq!(addr, Err(Errno::EINVAL));
                    }
                }
            }
            MemoryOp::AddToPhysmap(a) => {
                if let Some(frame) = a.grant_frame() {
                    assert_eq!(frame.index & XENMAPIDX_GRANT_TABLE_STATUS, 0);
                }
            }
            _ => {}
        },
        Hypercall::VcpuOp {
            op: VcpuOp::RegisterVcpuInfo(area),
            ..
        } => {
            let page = area.addr() & !(XEN_PAGE_SIZE - 1);
            assert_eq!(page, area.gfn.addr());
            assert!(u64::from(area.offset) + 48 <= XEN_PAGE_SIZE && area.offset % 8 == 0);
        }
        Hypercall::SchedOp(SchedOp::Poll(p)) => {
            assert!(p.ports.len() <= SCHED_POLL_MAX_PORTS);
            n += check_array(mem, &p.ports, input, &|i| p.port(mem, i).map(|_| ()));
        }
        Hypercall::ConsoleIo(ConsoleIo::Write(b) | ConsoleIo::Read(b)) => {
            assert!(b.len() <= xen_hypercall::CONSOLE_IO_MAX);
            n += check_buffer(mem, b, input);
        }
        Hypercall::EventChannelOp(op) => {
            if let Some(element) = &op.element {
                assert_eq!(element.len(), 1);
                n += check_array(mem, element, input, &|i| {
                    if i != 0 {
                        let mut e = vec![0u8; element.elem_size()];
                        return read_element(mem, element.base(), element.len(), i, &mut e);
                    }
                    let mut b = [0u8; MAX_ELEMENT_SIZE];
                    let got = op.read_arg(mem, &mut b)?;
                    assert_eq!(got.len(), element.elem_size());
                    // What the event-channel crate makes of it: anything but a panic.
                    let _ = xen_evtchn::wire::decode(op.cmd, got);
                    Ok(())
                });
            } else {
                assert_eq!(op.read_arg(mem, &mut buf), Err(Errno::ENOSYS));
            }
        }
        Hypercall::GrantTableOp(op) => {
            if let Some(uops) = &op.uops {
                assert_eq!(uops.len(), op.count);
                n += check_array(mem, uops, input, &|i| {
                    let mut b = [0u8; MAX_ELEMENT_SIZE];
                    let got = op.read_uop(mem, i, &mut b)?;
                    assert_eq!(got.len(), uops.elem_size());
                    let _ = xen_gnttab::wire::decode_map(got);
                    let _ = xen_gnttab::wire::decode_copy(got);
                    Ok(())
                });
            } else {
                assert_eq!(op.read_uop(mem, 0, &mut buf), Err(Errno::ENOSYS));
            }
        }
        Hypercall::XenVersion(v) => {
            let _ = v.out_len();
            if let XenVersion::Unknown { .. } = v {
                assert_eq!(v.out_len(), None);
            }
        }
        _ => {}
    }
    n
}
