//! Test doubles and the hostile-peer drivers shared by the tests and the fuzz target
//! (fuzz/fuzz_targets/fbif.rs includes this file with `#[path]`).
//!
//! - [`MemPage`]: the shared page as a plain buffer. It panics on any access the protocol
//!   must never make (anything but the four indices, whole ring slots, the geometry fields
//!   and the usable `pd[]` entries; a store to an index the side does not own) and counts
//!   slot reads and writes.
//! - [`check_blit`]: the bytes of a rectangle, checked against the mode.
//! - [`run`]: arbitrary bytes as a hostile frontend against the backend, a hostile backend
//!   against the frontend's rings, or an honest pair, invariants checked at every step.

#![allow(dead_code)]

use std::cell::Cell;
use std::collections::VecDeque;

use fbif_protocol::*;

/// The shared page, owned by the test, reached through [`SharedPage`].
pub struct MemPage {
    pub page: Box<[u8; PAGE_SIZE]>,
    /// The index offsets the side under test may store to.
    pub stores: &'static [usize],
    /// Slot reads so far.
    pub slot_reads: Cell<usize>,
    /// Slot writes so far.
    pub slot_writes: usize,
}

impl MemPage {
    pub fn new(stores: &'static [usize]) -> Self {
        MemPage { page: Box::new([0; PAGE_SIZE]), stores, slot_reads: Cell::new(0), slot_writes: 0 }
    }

    /// The backend's view: it stores `in_prod` and `out_cons`.
    pub fn backend() -> Self {
        Self::new(&[IN_PROD_OFFSET, OUT_CONS_OFFSET])
    }

    /// The frontend's view: it stores `in_cons` and `out_prod`.
    pub fn frontend() -> Self {
        Self::new(&[IN_CONS_OFFSET, OUT_PROD_OFFSET])
    }

    /// Both halves on one page.
    pub fn pair() -> Self {
        Self::new(&[IN_CONS_OFFSET, IN_PROD_OFFSET, OUT_CONS_OFFSET, OUT_PROD_OFFSET])
    }

    pub fn index(&self, offset: usize) -> u32 {
        u32::from_le_bytes(self.page[offset..offset + 4].try_into().unwrap())
    }

    pub fn set_index(&mut self, offset: usize, value: u32) {
        self.page[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
    }

    pub fn out_slot(&self, idx: u32) -> [u8; OUT_EVENT_SIZE] {
        let off = out_event_offset(idx);
        self.page[off..off + OUT_EVENT_SIZE].try_into().unwrap()
    }

    pub fn set_out_slot(&mut self, idx: u32, bytes: &[u8; OUT_EVENT_SIZE]) {
        let off = out_event_offset(idx);
        self.page[off..off + OUT_EVENT_SIZE].copy_from_slice(bytes);
    }

    pub fn in_slot(&self, idx: u32) -> [u8; IN_EVENT_SIZE] {
        let off = in_event_offset(idx);
        self.page[off..off + IN_EVENT_SIZE].try_into().unwrap()
    }

    pub fn set_in_slot(&mut self, idx: u32, bytes: &[u8; IN_EVENT_SIZE]) {
        let off = in_event_offset(idx);
        self.page[off..off + IN_EVENT_SIZE].copy_from_slice(bytes);
    }

    /// The frontend's raw write of the geometry fields.
    pub fn set_info(&mut self, info: &PageInfo) {
        self.page[WIDTH_OFFSET..PD_OFFSET].copy_from_slice(&info.encode());
    }

    /// True for an access to one whole slot.
    fn is_slot(offset: usize, len: usize) -> bool {
        let ring = |start: usize, n: u32, size: usize| {
            len == size && (start..start + n as usize * size).contains(&offset) && (offset - start) % size == 0
        };
        ring(IN_RING_OFFS, IN_RING_LEN, IN_EVENT_SIZE) || ring(OUT_RING_OFFS, OUT_RING_LEN, OUT_EVENT_SIZE)
    }

    fn check_bytes(offset: usize, len: usize) {
        let header = offset == WIDTH_OFFSET && len == HEADER_SIZE;
        let pd = len == PD_ENTRY_SIZE
            && (PD_OFFSET..PD_OFFSET + PD_USABLE as usize * PD_ENTRY_SIZE).contains(&offset)
            && (offset - PD_OFFSET) % PD_ENTRY_SIZE == 0;
        assert!(header || pd || Self::is_slot(offset, len), "access of {len} bytes at {offset:#x}");
    }
}

impl SharedPage for MemPage {
    fn load_u32(&self, offset: usize) -> u32 {
        assert!([IN_CONS_OFFSET, IN_PROD_OFFSET, OUT_CONS_OFFSET, OUT_PROD_OFFSET].contains(&offset), "load at {offset:#x}");
        self.index(offset)
    }

    fn store_u32(&mut self, offset: usize, value: u32) {
        assert!(self.stores.contains(&offset), "index store at {offset:#x}");
        self.set_index(offset, value);
    }

    fn read(&self, offset: usize, buf: &mut [u8]) {
        Self::check_bytes(offset, buf.len());
        if Self::is_slot(offset, buf.len()) {
            self.slot_reads.set(self.slot_reads.get() + 1);
        }
        buf.copy_from_slice(&self.page[offset..offset + buf.len()]);
    }

    fn write(&mut self, offset: usize, data: &[u8]) {
        Self::check_bytes(offset, data.len());
        if Self::is_slot(offset, data.len()) {
            self.slot_writes += 1;
        }
        self.page[offset..offset + data.len()].copy_from_slice(data);
    }
}

/// The byte ranges of `rect` in `mode`, checked: one per row, each the row's pixels
/// `x..x + width` exactly, inside the framebuffer memory, and page chunks that tile them.
/// Checks the first rows, one in the middle and the last (a rectangle can have billions).
/// Returns the bytes covered.
pub fn check_blit(mode: &Mode, rect: &Rect) -> u64 {
    let lines = mode.lines(rect).expect("a rectangle of this mode");
    let h = rect.height as usize;
    assert_eq!(lines.len(), h);
    let bpp = u64::from(mode.bytes_per_pixel());
    assert!(u64::from(rect.x) + u64::from(rect.width) <= u64::from(mode.width()));
    assert!(u64::from(rect.y) + u64::from(rect.height) <= u64::from(mode.height()));
    let mut rows: Vec<usize> = (0..h.min(4)).collect();
    rows.extend([h / 2, h - 1]);
    for i in rows {
        let range = mode.lines(rect).unwrap().nth(i).expect("row in range");
        let y = u64::from(rect.y) + i as u64;
        let start = u64::from(mode.offset()) + y * u64::from(mode.stride()) + u64::from(rect.x) * bpp;
        assert_eq!(range.start as u64, start, "row {y}");
        assert_eq!((range.end - range.start) as u64, u64::from(rect.width) * bpp);
        assert!(range.end as u64 <= u64::from(mode.mem_length()), "{range:?} beyond {}", mode.mem_length());
        let mut at = range.start;
        for c in page_chunks(range.clone()) {
            assert_eq!(c.frame as usize * PAGE_SIZE + c.offset, at);
            assert!(c.len >= 1 && c.offset + c.len <= PAGE_SIZE);
            assert!(c.frame < frames_for(mode.mem_length()));
            at += c.len;
        }
        assert_eq!(at, range.end);
    }
    // Iterating gives the same rows, and nothing after the last.
    let mut it = mode.lines(rect).unwrap();
    let first = it.next();
    assert_eq!(first, mode.lines(rect).unwrap().nth(0));
    assert_eq!(it.len(), h - 1);
    let mut it = mode.lines(rect).unwrap();
    assert!(it.nth(h - 1).is_some());
    assert_eq!(it.next(), None);
    assert_eq!(mode.lines(rect).unwrap().nth(h), None);
    u64::from(rect.width) * bpp * h as u64
}

impl ring_harness::TestPage for MemPage {
    fn view(&self) -> (&[u8], usize) {
        (&self.page[..], self.slot_reads.get())
    }
}

#[path = "../../../test_support/ring_harness.rs"]
mod ring_harness;
pub use ring_harness::Input;

/// The protocol's values read off the fuzz input.
pub trait Draws {
    fn coord(&mut self) -> i32;
    fn info(&mut self) -> PageInfo;
    fn out_event(&mut self) -> OutEvent;
}

impl Draws for Input<'_> {
    fn coord(&mut self) -> i32 {
        match self.u8() % 4 {
            0 => i32::from(self.u16() % 1024),
            1 => [-1, 0, 1, 479, 480, 481, 799, 800, 801][usize::from(self.u8() % 9)],
            2 => [i32::MIN, i32::MIN + 1, -2, i32::MAX - 1, i32::MAX][usize::from(self.u8() % 5)],
            _ => self.i32(),
        }
    }

    fn info(&mut self) -> PageInfo {
        match self.u8() % 3 {
            0 => PageInfo { width: 800, height: 480, line_length: 3200, mem_length: 2 << 20, depth: 32 },
            1 => {
                let depth = [8, 16, 24, 32, 0, 1, 4, 33][usize::from(self.u8() % 8)];
                let width = i32::from(self.u16() % 2048) - 4;
                let height = i32::from(self.u16() % 2048) - 4;
                let bpp = (u32::from(depth) / 8).max(1);
                let line_length = (width.max(0) as u32 * bpp).wrapping_add(u32::from(self.u8() % 8)).wrapping_sub(2);
                let mem_length = (line_length.wrapping_mul(height.max(0) as u32)).wrapping_add(u32::from(self.u16())).wrapping_sub(1000);
                PageInfo { width, height, line_length, mem_length, depth }
            }
            _ => PageInfo::decode(&self.bytes()),
        }
    }

    fn out_event(&mut self) -> OutEvent {
        match self.u8() % 4 {
            0 | 1 => OutEvent::Update(Update { x: self.coord(), y: self.coord(), width: self.coord(), height: self.coord() }),
            2 => OutEvent::Resize(Resize {
                width: self.coord(),
                height: self.coord(),
                stride: self.coord().wrapping_mul(4),
                depth: [8, 16, 24, 32, 0, -32][usize::from(self.u8() % 6)],
                offset: self.coord(),
            }),
            _ => OutEvent::decode(&self.bytes()),
        }
    }
}

/// Arbitrary bytes as a run: the first byte picks a hostile frontend, a hostile backend or an
/// honest pair. Panics (a crash for the fuzzer) if an invariant breaks.
pub fn run(data: &[u8]) {
    ring_harness::run(data, [hostile_frontend, hostile_backend, honest_pair]);
}

/// A frontend that writes any geometry and any out events and indices, against the backend:
/// - a geometry is accepted only if it fits the limit and every byte of it is inside
///   `mem_length`; its frame and directory counts are what `mem_length` needs;
/// - a pass hands over at most a ring of events, exactly `out_prod - out_cons` when that is
///   at most a ring; every rectangle to copy is inside the current mode and its bytes inside
///   the framebuffer; every resize is valid and becomes the mode; a bogus `out_prod` kills
///   the ring for good with nothing read; `out_cons` on the page is the backend's own count.
pub fn hostile_frontend(input: &mut Input<'_>) {
    let mut mem = MemPage::backend();
    let info = input.info();
    mem.set_info(&info);
    let limit = match input.u8() % 3 {
        0 => 2 << 20,
        1 => input.u32(),
        _ => u32::MAX,
    };
    let got = PageInfo::read(&mem);
    assert_eq!(got, info);
    let layout = match Layout::from_page(&info, limit) {
        Ok(layout) => layout,
        Err(e) => {
            // Refused: was it really unusable?
            let bpp = u64::from(info.depth / 8);
            let bad_depth = ![8, 16, 24, 32].contains(&info.depth);
            let end = i128::from(info.line_length) * (i128::from(info.height) - 1) + i128::from(info.width) * i128::from(bpp);
            assert!(
                info.mem_length > limit.min(MAX_MEM_LENGTH)
                    || bad_depth
                    || info.width < 1
                    || info.height < 1
                    || u64::from(info.line_length) < info.width as u64 * bpp
                    || end > i128::from(info.mem_length),
                "{info:?} refused: {e}"
            );
            return;
        }
    };
    let mode0 = layout.mode();
    assert!(info.mem_length <= limit && info.mem_length <= MAX_MEM_LENGTH);
    assert_eq!((mode0.width(), mode0.height(), mode0.stride(), mode0.offset()), (info.width as u32, info.height as u32, info.line_length, 0));
    assert_eq!(u64::from(layout.frames()) * PAGE_SIZE as u64 >= u64::from(info.mem_length), true);
    assert!(u64::from(layout.frames().saturating_sub(1)) * (PAGE_SIZE as u64) < u64::from(info.mem_length.max(1)));
    assert!(layout.pd_pages() <= PD_USABLE);
    assert_eq!((0..layout.pd_pages() + 2).map(|i| layout.frames_in_pd_page(i)).sum::<u32>(), layout.frames());
    for i in 0..layout.pd_pages() {
        assert!(read_pd_entry(&mem, i).is_some());
    }
    assert_eq!(read_pd_entry(&mem, PD_USABLE), None);
    check_blit(&mode0, &mode0.full());

    let start = input.start();
    mem.set_index(OUT_CONS_OFFSET, start);
    mem.set_index(OUT_PROD_OFFSET, start);
    let mut back = OutConsumer::attach(&mem).unwrap();
    let mut mode = mode0;
    let resize_offered = input.u8() & 1 == 1;
    let mut cons = start;
    let mut dead = None;
    let mut steps = 0;
    while !input.is_empty() && steps < 2_000 {
        steps += 1;
        match input.u8() % 6 {
            // An event at out_prod, then out_prod + 1 (xen-fbfront's way).
            0 | 1 => {
                let prod = mem.index(OUT_PROD_OFFSET);
                let ev = input.out_event();
                mem.set_out_slot(prod, &ev.encode());
                mem.set_index(OUT_PROD_OFFSET, prod.wrapping_add(1));
            }
            2 => {
                let v = input.u32();
                mem.set_index(OUT_PROD_OFFSET, v);
            }
            3 => {
                let idx = input.u32();
                let b = input.bytes();
                mem.set_out_slot(idx, &b);
            }
            // out_cons is the backend's: scribbling on it changes nothing for the backend.
            4 => {
                let v = input.u32();
                mem.set_index(OUT_CONS_OFFSET, v);
            }
            _ => {
                let prod = mem.index(OUT_PROD_OFFSET);
                let page_cons = mem.index(OUT_CONS_OFFSET);
                let reads = mem.slot_reads.get();
                let mut actions = 0u32;
                let result = back.serve(&mut mem, &mut mode, resize_offered, |m, action| {
                    actions += 1;
                    match action {
                        Ok(Action::Blit(rect)) => {
                            check_blit(m, &rect);
                        }
                        Ok(Action::Resized(new)) => {
                            assert!(resize_offered);
                            assert_eq!(*m, new);
                            assert_eq!(new.mem_length(), mode0.mem_length());
                            check_blit(m, &m.full());
                        }
                        Err(EventError::ResizeNotOffered) => assert!(!resize_offered),
                        Err(_) => {}
                    }
                });
                match result {
                    Ok(n) => {
                        assert!(dead.is_none());
                        assert!(prod.wrapping_sub(cons) <= OUT_RING_LEN);
                        assert_eq!(n, prod.wrapping_sub(cons));
                        assert_eq!(actions, n);
                        assert_eq!(mem.slot_reads.get() - reads, n as usize);
                        cons = cons.wrapping_add(n);
                        assert_eq!(mem.index(OUT_CONS_OFFSET), if n != 0 { cons } else { page_cons });
                    }
                    Err(e) => {
                        assert_eq!((actions, mem.slot_reads.get()), (0, reads));
                        match dead {
                            Some(d) => assert_eq!(e, d),
                            None => {
                                assert!(prod.wrapping_sub(cons) > OUT_RING_LEN);
                                assert_eq!(e, RingError::BadProducerIndex { prod, cons });
                                dead = Some(e);
                            }
                        }
                    }
                }
            }
        }
        assert_eq!((back.consumed(), back.error()), (cons, dead));
        assert_eq!(mode.mem_length(), mode0.mem_length());
    }
}

/// A backend that writes any `out_cons`, `in_prod` and in events, against the frontend's
/// out producer and in consumer: a push only writes the slot of the producer's own index and
/// publishes its own count; `Full` when a ring's worth is unconsumed (or the slot is shared
/// across the wrap), a dead ring when `out_cons` is beyond `out_prod` or more than a ring
/// behind; the in consumer takes at most a ring and dies on a bogus `in_prod`.
pub fn hostile_backend(input: &mut Input<'_>) {
    let mut mem = MemPage::frontend();
    let (out_start, in_start) = (input.start(), input.start());
    for (off, v) in [(OUT_CONS_OFFSET, out_start), (OUT_PROD_OFFSET, out_start), (IN_CONS_OFFSET, in_start), (IN_PROD_OFFSET, in_start)] {
        mem.set_index(off, v);
    }
    let mut out = OutProducer::attach(&mem).unwrap();
    let mut inc = InConsumer::attach(&mem).unwrap();
    let (mut prod, mut out_dead) = (out_start, None);
    let (mut cons, mut in_dead) = (in_start, None);
    let mut steps = 0;
    while !input.is_empty() && steps < 5_000 {
        steps += 1;
        match input.u8() % 7 {
            0 => {
                let v = input.u32();
                mem.set_index(OUT_CONS_OFFSET, v);
            }
            1 => {
                let d = input.u8();
                let v = if d & 1 == 0 { prod.wrapping_sub(u32::from(d >> 1)) } else { prod.wrapping_add(u32::from(d >> 6)) };
                mem.set_index(OUT_CONS_OFFSET, v);
            }
            2 => {
                let v = if input.u8() & 1 == 0 { input.u32() } else { cons.wrapping_add(u32::from(input.u8() % 32)) };
                mem.set_index(IN_PROD_OFFSET, v);
            }
            3 => {
                let idx = input.u32();
                let b = input.bytes();
                mem.set_in_slot(idx, &b);
            }
            4 | 5 => {
                let ev = input.out_event();
                let page_cons = mem.index(OUT_CONS_OFFSET);
                let used = prod.wrapping_sub(page_cons);
                let writes = mem.slot_writes;
                match out.push(&mut mem, &ev) {
                    Ok(()) => {
                        assert!(out_dead.is_none());
                        assert!(used < OUT_RING_LEN && !slot_reused_across_wrap(prod, used, OUT_RING_LEN));
                        assert_eq!(mem.out_slot(prod), ev.encode());
                        prod = prod.wrapping_add(1);
                        assert_eq!(mem.index(OUT_PROD_OFFSET), prod);
                        assert_eq!(mem.slot_writes, writes + 1);
                    }
                    Err(e) => {
                        assert_eq!(mem.slot_writes, writes);
                        match e {
                            PushError::Full => {
                                assert!(out_dead.is_none());
                                assert!(used == OUT_RING_LEN || slot_reused_across_wrap(prod, used, OUT_RING_LEN));
                            }
                            PushError::Ring(r) => match out_dead {
                                Some(d) => assert_eq!(r, d),
                                None => {
                                    assert!(used > OUT_RING_LEN);
                                    assert_eq!(r, RingError::BadConsumerIndex { cons: page_cons, prod });
                                    out_dead = Some(r);
                                }
                            },
                        }
                    }
                }
            }
            _ => ring_harness::consume_checked(&mut mem, &mut inc, &mut cons, &mut in_dead),
        }
        assert_eq!((out.produced(), out.error()), (prod, out_dead));
        assert_eq!((inc.consumed(), inc.error()), (cons, in_dead));
    }
}

/// An honest frontend and backend on one page from any starting indices, both rings, any
/// interleaving: every event pushed arrives once and in order; `Full` only when the consumer
/// lags.
pub fn honest_pair(input: &mut Input<'_>) {
    let mut mem = MemPage::pair();
    let (out_start, in_start) = (input.start(), input.start());
    for (off, v) in [(OUT_CONS_OFFSET, out_start), (OUT_PROD_OFFSET, out_start), (IN_CONS_OFFSET, in_start), (IN_PROD_OFFSET, in_start)] {
        mem.set_index(off, v);
    }
    let mut out_p = OutProducer::attach(&mem).unwrap();
    let mut out_c = OutConsumer::attach(&mem).unwrap();
    let mut in_p = InProducer::attach(&mem).unwrap();
    let mut in_c = InConsumer::attach(&mem).unwrap();
    let mut outs: VecDeque<OutEvent> = VecDeque::new();
    let mut ins: VecDeque<InEvent> = VecDeque::new();
    let mut steps = 0;
    while !input.is_empty() && steps < 5_000 {
        steps += 1;
        match input.u8() % 4 {
            0 => {
                for _ in 0..=input.u8() % 64 {
                    let ev = OutEvent::Update(Update { x: i32::from(input.u8()), y: 0, width: 1, height: 1 });
                    match out_p.push(&mut mem, &ev) {
                        Ok(()) => outs.push_back(ev),
                        Err(PushError::Full) => {
                            let used = outs.len() as u32;
                            assert!(used == OUT_RING_LEN || slot_reused_across_wrap(out_p.produced(), used, OUT_RING_LEN));
                        }
                        Err(e) => panic!("{e:?}"),
                    }
                }
            }
            1 => {
                let n = out_c.consume(&mut mem, |ev| assert_eq!(Some(ev), outs.pop_front(), "out: lost or reordered")).unwrap();
                assert!(n <= OUT_RING_LEN);
                assert!(outs.is_empty());
            }
            2 => {
                for _ in 0..=input.u8() % 32 {
                    let ev = InEvent::RefreshPeriod { period_ms: u32::from(input.u8()) };
                    match in_p.push(&mut mem, &ev) {
                        Ok(()) => ins.push_back(ev),
                        Err(PushError::Full) => {
                            let used = ins.len() as u32;
                            assert!(used == IN_RING_LEN || slot_reused_across_wrap(in_p.produced(), used, IN_RING_LEN));
                        }
                        Err(e) => panic!("{e:?}"),
                    }
                }
            }
            _ => {
                in_c.consume(&mut mem, |ev| assert_eq!(Some(ev), ins.pop_front(), "in: lost or reordered")).unwrap();
                assert!(ins.is_empty());
            }
        }
    }
    assert_eq!(out_c.consumed().wrapping_add(outs.len() as u32), out_p.produced());
    assert_eq!(in_c.consumed().wrapping_add(ins.len() as u32), in_p.produced());
}
