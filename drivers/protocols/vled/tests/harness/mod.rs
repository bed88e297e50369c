//! Test doubles and the hostile-peer driver shared by the tests and the fuzz target
//! (fuzz/fuzz_targets/ring.rs includes this file with `#[path]`).
//!
//! - [`MemRing`]: the shared page as a plain buffer. It panics on any access the rings must
//!   never make (outside the header indices and the ring entries, misaligned, wrong size), and
//!   counts entry reads so that tests can bound the work of a pass.
//! - [`Leds`]: a backend's LEDs (some may be "unloaded").
//! - [`run`]: arbitrary bytes as a hostile frontend against an honest backend, or a hostile
//!   backend against an honest frontend, with the invariants checked after every step.

#![allow(dead_code)]

use std::cell::Cell;

use vled_protocol::*;

/// The shared page, owned by the test, reached by the rings through [`SharedPage`].
pub struct MemRing {
    pub page: Box<[u8; PAGE_SIZE]>,
    /// Entry reads through [`SharedPage::read`] so far.
    pub entry_reads: Cell<usize>,
    /// Entry writes through [`SharedPage::write`] so far.
    pub entry_writes: usize,
}

impl Default for MemRing {
    fn default() -> Self {
        Self::new()
    }
}

impl MemRing {
    pub fn new() -> Self {
        MemRing { page: Box::new([0; PAGE_SIZE]), entry_reads: Cell::new(0), entry_writes: 0 }
    }

    /// A page full of `byte` (what a careless or hostile frontend may hand over).
    pub fn filled(byte: u8) -> Self {
        MemRing { page: Box::new([byte; PAGE_SIZE]), ..Self::new() }
    }

    /// The other side's raw view: an index.
    pub fn index(&self, offset: usize) -> u32 {
        u32::from_le_bytes(self.page[offset..offset + 4].try_into().unwrap())
    }

    /// The other side's raw write of an index.
    pub fn set_index(&mut self, offset: usize, value: u32) {
        self.page[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
    }

    /// The other side's raw view: the entry used by ring index `idx`.
    pub fn entry(&self, idx: u32) -> [u8; ENTRY_SIZE] {
        let off = entry_offset(idx);
        self.page[off..off + ENTRY_SIZE].try_into().unwrap()
    }

    /// The other side's raw write of an entry (any bytes).
    pub fn set_entry(&mut self, idx: u32, bytes: &[u8]) {
        let off = entry_offset(idx);
        let n = bytes.len().min(ENTRY_SIZE);
        self.page[off..off + n].copy_from_slice(&bytes[..n]);
    }

    fn check_entry(offset: usize, len: usize) {
        assert_eq!(len, ENTRY_SIZE, "entry access of {len} bytes");
        assert!(
            (RING_OFFSET..RING_END).contains(&offset) && (offset - RING_OFFSET) % ENTRY_SIZE == 0,
            "entry access at {offset:#x}"
        );
    }

    fn check_index(offset: usize) {
        assert!(
            [REQ_PROD_OFFSET, REQ_EVENT_OFFSET, RSP_PROD_OFFSET, RSP_EVENT_OFFSET]
                .contains(&offset),
            "index access at {offset:#x}"
        );
    }
}

impl SharedPage for MemRing {
    fn load_u32(&self, offset: usize) -> u32 {
        Self::check_index(offset);
        self.index(offset)
    }

    fn store_u32(&mut self, offset: usize, value: u32) {
        Self::check_index(offset);
        self.set_index(offset, value);
    }

    fn read(&self, offset: usize, buf: &mut [u8]) {
        Self::check_entry(offset, buf.len());
        self.entry_reads.set(self.entry_reads.get() + 1);
        buf.copy_from_slice(&self.page[offset..offset + buf.len()]);
    }

    fn write(&mut self, offset: usize, data: &[u8]) {
        if offset == PAD_OFFSET {
            assert_eq!(data.len(), PAD_SIZE, "padding write");
        } else {
            Self::check_entry(offset, data.len());
            self.entry_writes += 1;
        }
        self.page[offset..offset + data.len()].copy_from_slice(data);
    }
}

/// A backend's LEDs: brightness, maximum, and whether the device exists now.
#[derive(Clone, Debug)]
pub struct Leds {
    pub brightness: Vec<u32>,
    pub max: Vec<u32>,
    pub present: Vec<bool>,
}

impl Leds {
    /// `n` LEDs, all present, LED i with maximum `max(i)`.
    pub fn new(n: u16, max: impl Fn(u16) -> u32) -> Self {
        Leds {
            brightness: vec![0; n.into()],
            max: (0..n).map(max).collect(),
            present: vec![true; n.into()],
        }
    }

    pub fn nr(&self) -> u16 {
        self.max.len() as u16
    }

    /// What vledback does with one request: check it, then apply it to the LED.
    pub fn handle(&mut self, req: &Request) -> Result<u32, Status> {
        let max = &self.max;
        let cmd = check_request(req, self.nr(), |led| max[usize::from(led)])?;
        let led = usize::from(cmd.led());
        if !self.present[led] {
            return Err(Status::Unavailable);
        }
        if let Command::Set { brightness, .. } = cmd {
            self.brightness[led] = brightness;
        }
        Ok(self.brightness[led])
    }
}

#[path = "../../../fuzz_input.rs"]
mod fuzz_input;
pub use fuzz_input::Input;

/// Arbitrary bytes as a run against a hostile peer; the first byte picks which side is
/// hostile. Panics (a crash for the fuzzer) if an invariant breaks.
pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    if input.u8() & 1 == 0 {
        hostile_frontend(&mut input);
    } else {
        hostile_backend(&mut input);
    }
}

/// A frontend writing whatever it likes to the page (garbage requests, bad LED numbers and
/// brightness, overrunning or receding `req_prod`, floods, scribbled event indices), against
/// an honest backend whose every pass is checked:
/// - at most one ring of requests handled and one ring of entries read per pass;
/// - every request handled is answered in place, in order, with its id and operation, and the
///   status and brightness `check_request` and the LEDs give;
/// - a bogus `req_prod` stops the ring for good, and nothing is read or written after that.
pub fn hostile_frontend(input: &mut Input<'_>) {
    let start = if input.u8() & 1 == 1 { input.u32() } else { 0 };
    let nr = u16::from(input.u8() % 8) + 1;
    let leds_max: Vec<u32> = (0..nr).map(|i| [1, 255, 4095][usize::from(i) % 3]).collect();
    let mut leds = Leds::new(nr, |i| leds_max[usize::from(i)]);
    let mut mem = MemRing::new();
    let _front = FrontRing::new_at(&mut mem, start);
    let mut back = BackRing::new_at(start);
    let mut answered_to = start;
    let mut steps = 0;
    while !input.is_empty() && steps < 10_000 {
        steps += 1;
        match input.u8() % 10 {
            // Raw entries.
            0 => {
                let idx = input.u32();
                let bytes: [u8; ENTRY_SIZE] = input.bytes();
                mem.set_entry(idx, &bytes);
            }
            // A plausible request at req_prod, then req_prod + 1.
            1 => {
                let prod = mem.index(REQ_PROD_OFFSET);
                let req = Request {
                    id: input.u32(),
                    operation: input.u8() % 4,
                    reserved: u8::from(input.u8() == 0xff),
                    led: u16::from(input.u8() % 12),
                    brightness: [0, 1, 2, 255, 4095, 4096, u32::MAX][usize::from(input.u8() % 7)],
                };
                mem.set_entry(prod, &req.encode());
                mem.set_index(REQ_PROD_OFFSET, prod.wrapping_add(1));
            }
            // req_prod anywhere.
            2 => {
                let v = input.u32();
                mem.set_index(REQ_PROD_OFFSET, v);
            }
            // req_prod a little ahead of (or behind) what it was.
            3 => {
                let d = input.u16();
                let prod = mem.index(REQ_PROD_OFFSET);
                let v = if d & 1 == 0 {
                    prod.wrapping_add(u32::from(d >> 1))
                } else {
                    prod.wrapping_sub(u32::from(d >> 8))
                };
                mem.set_index(REQ_PROD_OFFSET, v);
            }
            // Scribbled indices the frontend does not own or should not touch.
            4 => {
                let off = [REQ_EVENT_OFFSET, RSP_PROD_OFFSET, RSP_EVENT_OFFSET][usize::from(input.u8() % 3)];
                let v = input.u32();
                mem.set_index(off, v);
            }
            // A flood: a whole ring of garbage requests.
            5 => {
                let prod = mem.index(REQ_PROD_OFFSET);
                let fill: [u8; ENTRY_SIZE] = input.bytes();
                for i in 0..RING_SIZE {
                    mem.set_entry(prod.wrapping_add(i), &fill);
                }
                mem.set_index(REQ_PROD_OFFSET, prod.wrapping_add(RING_SIZE));
            }
            // An LED disappears or comes back (sp6.ko unloaded or loaded).
            6 => {
                let i = usize::from(input.u8() % 8) % leds.present.len();
                leds.present[i] = !leds.present[i];
            }
            // The final check alone (as after a notification found nothing).
            7 => {
                let before = mem.entry_reads.get();
                let _ = back.final_check_for_requests(&mut mem);
                assert_eq!(mem.entry_reads.get(), before, "final check read entries");
            }
            // A backend pass.
            _ => {
                backend_pass(&mut mem, &mut back, &mut leds, &mut answered_to);
            }
        }
    }
    backend_pass(&mut mem, &mut back, &mut leds, &mut answered_to);
}

/// One backend pass, checked.
fn backend_pass(mem: &mut MemRing, back: &mut BackRing, leds: &mut Leds, answered_to: &mut u32) {
    let dead_before = back.error().is_some();
    let reads_before = mem.entry_reads.get();
    let writes_before = mem.entry_writes;
    let mut seen = Vec::new();
    let result = back.serve_pass(mem, |req| {
        let r = leds.handle(req);
        seen.push((*req, r));
        r
    });
    let reads = mem.entry_reads.get() - reads_before;
    let writes = mem.entry_writes - writes_before;
    assert!(seen.len() <= RING_SIZE as usize, "{} requests in one pass", seen.len());
    assert!(reads <= RING_SIZE as usize, "{reads} entry reads in one pass");
    match result {
        Err(e) => {
            assert!(seen.is_empty() && reads == 0 && writes == 0, "work done on a dead ring");
            assert!(matches!(e, RingError::RequestOverflow { .. }), "{e:?}");
            assert_eq!(back.error(), Some(e));
        }
        Ok(pass) => {
            assert!(!dead_before, "a dead ring came back");
            assert_eq!(pass.handled as usize, seen.len());
            assert_eq!(reads, seen.len());
            assert_eq!(writes, seen.len());
            // Every request answered in place, in order.
            for (i, (req, r)) in seen.iter().enumerate() {
                let pos = answered_to.wrapping_add(i as u32);
                let rsp = Response::decode(&mem.entry(pos));
                assert_eq!((rsp.id, rsp.operation, rsp.reserved), (req.id, req.operation, 0));
                match r {
                    Ok(b) => assert_eq!((rsp.status(), rsp.brightness), (Status::Ok, *b)),
                    Err(s) => assert_eq!((rsp.status(), rsp.brightness), (*s, 0)),
                }
            }
            *answered_to = answered_to.wrapping_add(seen.len() as u32);
            assert_eq!(back.consumed(), *answered_to);
            if !seen.is_empty() {
                assert_eq!(mem.index(RSP_PROD_OFFSET), *answered_to, "responses not published");
            }
        }
    }
}

/// A backend writing whatever it likes (responses with wrong ids, `rsp_prod` ahead of the
/// requests or receding, scribbled event indices), against an honest frontend:
/// - the frontend never gets more replies than it sent requests, nor a reply for a request it
///   did not send; `Answered` replies carry the request's id and operation;
/// - it never has more than a ring of requests in flight;
/// - a bogus `rsp_prod` stops the ring for good.
pub fn hostile_backend(input: &mut Input<'_>) {
    let start = if input.u8() & 1 == 1 { input.u32() } else { 0 };
    let mut mem = MemRing::new();
    let mut front = FrontRing::new_at(&mut mem, start);
    let mut sent: std::collections::VecDeque<Request> = Default::default();
    let mut steps = 0;
    while !input.is_empty() && steps < 10_000 {
        steps += 1;
        let dead = front.error().is_some();
        match input.u8() % 8 {
            // Queue requests and push them.
            0 => {
                for _ in 0..=input.u8() % 8 {
                    let cmd = if input.u8() & 1 == 0 {
                        Command::Set { led: input.u16() % 8, brightness: input.u32() }
                    } else {
                        Command::Get { led: input.u16() % 8 }
                    };
                    match front.push_command(&mut mem, cmd) {
                        Ok(id) => {
                            assert!(!dead);
                            sent.push_back(Request { id, ..cmd.request() });
                        }
                        Err(RingError::Full) => assert_eq!(sent.len(), RING_SIZE as usize),
                        Err(e) => assert_eq!(Some(e), front.error()),
                    }
                }
                let _ = front.push_requests_and_check_notify(&mut mem);
            }
            // rsp_prod anywhere.
            1 => {
                let v = input.u32();
                mem.set_index(RSP_PROD_OFFSET, v);
            }
            // rsp_prod a little ahead of (or behind) what it was.
            2 => {
                let d = input.u16();
                let prod = mem.index(RSP_PROD_OFFSET);
                let v = if d & 1 == 0 {
                    prod.wrapping_add(u32::from(d >> 1) % 300)
                } else {
                    prod.wrapping_sub(u32::from(d >> 8))
                };
                mem.set_index(RSP_PROD_OFFSET, v);
            }
            // Raw entries.
            3 => {
                let idx = input.u32();
                let bytes: [u8; ENTRY_SIZE] = input.bytes();
                mem.set_entry(idx, &bytes);
            }
            // An honest answer to the oldest unanswered request the page shows.
            4 => {
                let prod = mem.index(RSP_PROD_OFFSET);
                let req = Request::decode(&mem.entry(prod));
                let rsp = Response::answer(&req, Status::from_wire(input.u8() as i8 as i16), input.u32());
                mem.set_entry(prod, &rsp.encode());
                mem.set_index(RSP_PROD_OFFSET, prod.wrapping_add(1));
            }
            // Scribbled indices.
            5 => {
                let off = [REQ_PROD_OFFSET, REQ_EVENT_OFFSET, RSP_EVENT_OFFSET][usize::from(input.u8() % 3)];
                let v = input.u32();
                mem.set_index(off, v);
            }
            // The final check.
            6 => match front.final_check_for_responses(&mut mem) {
                Ok(_) => assert!(!dead),
                Err(e) => assert_eq!(Some(e), front.error()),
            },
            // Take the responses.
            _ => {
                for _ in 0..=RING_SIZE {
                    match front.next_response(&mem) {
                        Ok(Some(reply)) => {
                            assert!(!dead);
                            let expected = sent.pop_front().expect("a reply to nothing");
                            assert_eq!(*reply.request(), expected);
                            if let Reply::Answered { request, response } = reply {
                                assert_eq!((response.id, response.operation), (request.id, request.operation));
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            assert!(matches!(e, RingError::ResponseOverflow { .. }), "{e:?}");
                            assert_eq!(Some(e), front.error());
                            break;
                        }
                    }
                }
            }
        }
        assert_eq!(front.outstanding() as usize, sent.len());
        assert!(front.outstanding() <= RING_SIZE);
        assert!(front.unanswered().eq(sent.iter().copied()));
    }
}
