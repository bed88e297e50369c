//! The shared ring: a frontend and a backend on one [`MemRing`], round trips, index
//! wrap-around, Xen's notification rules, and what each side does with a bogus peer.

mod harness;

use harness::{Leds, MemRing};
use vled_protocol::*;

/// A connected pair on one page, starting at ring index `start`.
struct Pair {
    mem: MemRing,
    front: FrontRing,
    back: BackRing,
    leds: Leds,
}

impl Pair {
    fn new(start: u32) -> Self {
        let mut mem = MemRing::new();
        let front = FrontRing::new_at(&mut mem, start);
        Pair { mem, front, back: BackRing::new_at(start), leds: Leds::new(6, |_| 1) }
    }

    fn serve(&mut self) -> Pass {
        let leds = &mut self.leds;
        self.back.serve_pass(&mut self.mem, |req| leds.handle(req)).unwrap()
    }

    fn replies(&mut self) -> Vec<Reply> {
        std::iter::from_fn(|| self.front.next_response(&self.mem).unwrap()).collect()
    }
}

#[test]
fn new_front_ring_initialises_the_page() {
    let mut mem = MemRing::filled(0xa5);
    let front = FrontRing::new(&mut mem);
    assert_eq!(mem.index(REQ_PROD_OFFSET), 0);
    assert_eq!(mem.index(REQ_EVENT_OFFSET), 1);
    assert_eq!(mem.index(RSP_PROD_OFFSET), 0);
    assert_eq!(mem.index(RSP_EVENT_OFFSET), 1);
    assert!(mem.page[PAD_OFFSET..RING_END].iter().all(|&b| b == 0));
    // The tail of the page is not the protocol's (frontends allocate it zeroed).
    assert!(mem.page[RING_END..].iter().all(|&b| b == 0xa5));
    assert_eq!((front.outstanding(), front.free_requests(), front.is_full()), (0, 256, false));
    assert_eq!(front.error(), None);
}

#[test]
fn requests_and_responses_round_trip() {
    let mut p = Pair::new(0);
    let a = p.front.push_command(&mut p.mem, Command::Set { led: 3, brightness: 1 }).unwrap();
    let b = p.front.push_request(&mut p.mem, Request::get(3)).unwrap();
    let c = p.front.push_request(&mut p.mem, Request::set(9, 1)).unwrap();
    let d = p.front.push_request(&mut p.mem, Request::set(0, 2)).unwrap();
    assert_eq!((a, b, c, d), (0, 1, 2, 3));
    assert_eq!(Request::decode(&p.mem.entry(1)), Request { id: 1, ..Request::get(3) });
    // Nothing is visible before the push.
    assert_eq!(p.mem.index(REQ_PROD_OFFSET), 0);
    assert!(p.front.push_requests_and_check_notify(&mut p.mem));
    assert_eq!(p.mem.index(REQ_PROD_OFFSET), 4);
    assert_eq!((p.front.outstanding(), p.front.free_requests()), (4, 252));

    let pass = p.serve();
    assert_eq!(pass, Pass { handled: 4, notify: true, more: false });
    assert_eq!(p.leds.brightness[3], 1);
    assert_eq!(p.mem.index(RSP_PROD_OFFSET), 4);
    assert_eq!(p.mem.index(REQ_EVENT_OFFSET), 5);

    let replies = p.replies();
    let statuses: Vec<_> = replies
        .iter()
        .map(|r| match r {
            Reply::Answered { response, .. } => (response.id, response.status(), response.brightness),
            Reply::Mismatched { .. } => panic!("{r:?}"),
        })
        .collect();
    assert_eq!(
        statuses,
        [(0, Status::Ok, 1), (1, Status::Ok, 1), (2, Status::UnknownLed, 0), (3, Status::BadBrightness, 0)]
    );
    assert_eq!(*replies[1].request(), Request { id: 1, ..Request::get(3) });
    assert_eq!(p.front.outstanding(), 0);
    assert!(!p.front.final_check_for_responses(&mut p.mem).unwrap());
    assert_eq!(p.mem.index(RSP_EVENT_OFFSET), 5);
}

#[test]
fn unavailable_led_fails_and_recovers() {
    let mut p = Pair::new(0);
    p.leds.present[2] = false;
    p.front.push_request(&mut p.mem, Request::set(2, 1)).unwrap();
    p.front.push_requests_and_check_notify(&mut p.mem);
    p.serve();
    p.leds.present[2] = true;
    p.front.push_request(&mut p.mem, Request::set(2, 1)).unwrap();
    p.front.push_requests_and_check_notify(&mut p.mem);
    p.serve();
    let st: Vec<_> = p
        .replies()
        .iter()
        .map(|r| match r {
            Reply::Answered { response, .. } => response.status(),
            _ => panic!(),
        })
        .collect();
    assert_eq!(st, [Status::Unavailable, Status::Ok]);
}

#[test]
fn ring_fills_and_frees() {
    let mut p = Pair::new(0);
    for i in 0..RING_SIZE {
        assert_eq!(p.front.push_request(&mut p.mem, Request::set((i % 6) as u16, 1)), Ok(i));
    }
    assert!(p.front.is_full());
    assert_eq!(p.front.push_request(&mut p.mem, Request::set(0, 0)), Err(RingError::Full));
    p.front.push_requests_and_check_notify(&mut p.mem);
    assert_eq!(p.serve().handled, RING_SIZE);
    assert_eq!(p.replies().len(), RING_SIZE as usize);
    assert_eq!(p.front.free_requests(), RING_SIZE);
    assert_eq!(p.front.push_request(&mut p.mem, Request::set(0, 0)), Ok(RING_SIZE));
}

/// Indices are u32 and wrap: a ring started just below 2^32 goes through 0 without noticing.
#[test]
fn indices_wrap_around() {
    for start in [u32::MAX - 300, u32::MAX - 255, u32::MAX - 1, u32::MAX] {
        let mut p = Pair::new(start);
        let mut next_id = start;
        for round in 0..5u32 {
            let n = 100 + round * 37 % 156;
            for _ in 0..n {
                let id = p.front.push_request(&mut p.mem, Request::set(1, round % 2)).unwrap();
                assert_eq!(id, next_id);
                next_id = next_id.wrapping_add(1);
            }
            p.front.push_requests_and_check_notify(&mut p.mem);
            assert_eq!(p.serve().handled, n);
            let replies = p.replies();
            assert_eq!(replies.len() as u32, n);
            assert!(replies.iter().all(|r| matches!(r, Reply::Answered { response, .. } if response.status == 0)));
            assert!(!p.front.final_check_for_responses(&mut p.mem).unwrap());
        }
        assert_eq!(p.mem.index(REQ_PROD_OFFSET), next_id);
        assert_eq!(p.mem.index(RSP_PROD_OFFSET), next_id);
        assert_eq!(p.back.consumed(), next_id);
    }
}

/// Xen's rules: the frontend notifies when the backend's req_event falls in the requests just
/// pushed; the backend re-arms req_event only when it finds nothing left; and symmetrically
/// for responses.
#[test]
fn notification_rules() {
    let mut p = Pair::new(0);
    // req_event = 1: the first request notifies, the next ones (backend not idle yet) do not.
    p.front.push_request(&mut p.mem, Request::set(0, 1)).unwrap();
    assert!(p.front.push_requests_and_check_notify(&mut p.mem));
    p.front.push_request(&mut p.mem, Request::set(0, 0)).unwrap();
    assert!(!p.front.push_requests_and_check_notify(&mut p.mem));
    // A push with nothing new never notifies.
    assert!(!p.front.push_requests_and_check_notify(&mut p.mem));

    // The backend answers both; rsp_event = 1: notify. It re-arms req_event = 3.
    assert_eq!(p.serve(), Pass { handled: 2, notify: true, more: false });
    assert_eq!(p.mem.index(REQ_EVENT_OFFSET), 3);
    // The frontend has not re-armed rsp_event: further responses do not notify.
    p.front.push_request(&mut p.mem, Request::set(0, 1)).unwrap();
    assert!(p.front.push_requests_and_check_notify(&mut p.mem));
    assert_eq!(p.serve(), Pass { handled: 1, notify: false, more: false });
    // The frontend drains and re-arms (rsp_event = 4): the next response notifies.
    assert_eq!(p.replies().len(), 3);
    assert!(!p.front.final_check_for_responses(&mut p.mem).unwrap());
    assert_eq!(p.mem.index(RSP_EVENT_OFFSET), 4);
    p.front.push_request(&mut p.mem, Request::set(0, 0)).unwrap();
    p.front.push_request(&mut p.mem, Request::set(0, 1)).unwrap();
    assert!(p.front.push_requests_and_check_notify(&mut p.mem));
    assert_eq!(p.serve(), Pass { handled: 2, notify: true, more: false });

    // A backend that finds requests at its final check does not re-arm: more = true.
    let req_event = p.mem.index(REQ_EVENT_OFFSET);
    p.front.push_request(&mut p.mem, Request::set(0, 1)).unwrap();
    p.front.push_requests_and_check_notify(&mut p.mem);
    assert_eq!(p.back.begin_pass(&p.mem), Ok(1));
    // (a request arriving during the pass)
    let extra = Request { id: 7, ..Request::set(0, 0) };
    let prod = p.mem.index(REQ_PROD_OFFSET);
    p.mem.set_entry(prod.wrapping_add(1), &extra.encode());
    p.mem.set_index(REQ_PROD_OFFSET, prod.wrapping_add(1));
    let req = p.back.next_request(&p.mem).unwrap();
    assert_eq!(p.back.next_request(&p.mem), None, "the pass ends where req_prod was");
    p.back.push_response(&mut p.mem, &Response::answer(&req, Status::Ok, 1)).unwrap();
    p.back.push_responses_and_check_notify(&mut p.mem);
    assert!(p.back.final_check_for_requests(&mut p.mem));
    assert_eq!(p.mem.index(REQ_EVENT_OFFSET), req_event, "re-armed with work pending");
}

#[test]
fn frontend_final_check_sees_responses_that_race_the_rearm() {
    let mut p = Pair::new(0);
    p.front.push_request(&mut p.mem, Request::set(0, 1)).unwrap();
    p.front.push_requests_and_check_notify(&mut p.mem);
    p.serve();
    // Responses already there: true at once, rsp_event untouched.
    let before = p.mem.index(RSP_EVENT_OFFSET);
    assert!(p.front.final_check_for_responses(&mut p.mem).unwrap());
    assert_eq!(p.mem.index(RSP_EVENT_OFFSET), before);
}

#[test]
fn backend_push_response_needs_a_request() {
    let mut mem = MemRing::new();
    let _front = FrontRing::new(&mut mem);
    let mut back = BackRing::new();
    assert_eq!(back.push_response(&mut mem, &Response::default()), Err(RingError::NoRequest));
    assert!(!back.push_responses_and_check_notify(&mut mem));
}

#[test]
fn backend_stops_at_an_overrunning_req_prod() {
    for bogus in [RING_SIZE + 1, 1000, u32::MAX / 2, u32::MAX] {
        let mut mem = MemRing::new();
        let _front = FrontRing::new(&mut mem);
        let mut back = BackRing::new();
        mem.set_index(REQ_PROD_OFFSET, bogus);
        let mut calls = 0;
        let err = back.serve_pass(&mut mem, |_| {
            calls += 1;
            Ok(0)
        });
        assert_eq!(err, Err(RingError::RequestOverflow { req_prod: bogus, req_cons: 0, rsp_prod: 0 }));
        assert_eq!(calls, 0);
        assert_eq!(mem.entry_reads.get(), 0);
        assert_eq!(err.unwrap_err().to_string(), format!("bogus req_prod {bogus} (consumed 0, answered 0, ring 256)"));
        // Dead for good, even once req_prod looks sane again.
        mem.set_index(REQ_PROD_OFFSET, 1);
        assert!(back.serve_pass(&mut mem, |_| Ok(0)).is_err());
        assert_eq!(back.next_request(&mem), None);
        assert!(!back.final_check_for_requests(&mut mem));
        assert_eq!(mem.entry_reads.get(), 0);
        assert_eq!(mem.entry_writes, RING_SIZE as usize, "only FrontRing::new wrote entries");
    }
}

#[test]
fn backend_takes_exactly_a_full_ring() {
    let mut mem = MemRing::new();
    let _front = FrontRing::new(&mut mem);
    let mut back = BackRing::new();
    mem.set_index(REQ_PROD_OFFSET, RING_SIZE);
    let pass = back.serve_pass(&mut mem, |_| Err(Status::BadRequest)).unwrap();
    assert_eq!(pass.handled, RING_SIZE);
    assert_eq!(mem.entry_reads.get(), RING_SIZE as usize);
}

#[test]
fn backend_stops_at_a_receding_req_prod() {
    let mut mem = MemRing::new();
    let _front = FrontRing::new(&mut mem);
    let mut back = BackRing::new();
    mem.set_index(REQ_PROD_OFFSET, 10);
    back.serve_pass(&mut mem, |_| Ok(0)).unwrap();
    mem.set_index(REQ_PROD_OFFSET, 5);
    assert!(matches!(back.serve_pass(&mut mem, |_| Ok(0)), Err(RingError::RequestOverflow { req_prod: 5, .. })));
    // Consumed but not answered: req_prod between rsp_prod and req_cons is bogus too.
    let mut back = BackRing::new();
    mem.set_index(REQ_PROD_OFFSET, 10);
    assert_eq!(back.begin_pass(&mem), Ok(10));
    for _ in 0..6 {
        back.next_request(&mem).unwrap();
    }
    back.push_response(&mut mem, &Response::default()).unwrap();
    mem.set_index(REQ_PROD_OFFSET, 3);
    assert!(back.begin_pass(&mem).is_err());
}

/// A flood: a frontend that refills the ring as fast as the backend answers gets one ring per
/// pass, and each pass says `more` (without re-arming req_event) so that the backend yields
/// before the next one instead of looping.
#[test]
fn flood_is_served_one_ring_per_pass() {
    let mut mem = MemRing::new();
    let _front = FrontRing::new(&mut mem);
    let mut back = BackRing::new();
    mem.set_index(REQ_PROD_OFFSET, RING_SIZE);
    let req_event = mem.index(REQ_EVENT_OFFSET);
    for _ in 0..10 {
        let before = mem.entry_reads.get();
        assert_eq!(back.begin_pass(&mem), Ok(RING_SIZE));
        let mut handled = 0;
        while let Some(req) = back.next_request(&mem) {
            back.push_response(&mut mem, &Response::answer(&req, Status::UnknownLed, 0)).unwrap();
            handled += 1;
        }
        assert_eq!(handled, RING_SIZE);
        assert_eq!(mem.entry_reads.get() - before, RING_SIZE as usize);
        back.push_responses_and_check_notify(&mut mem);
        // The frontend sees the responses and refills the whole ring at once.
        let prod = mem.index(RSP_PROD_OFFSET).wrapping_add(RING_SIZE);
        mem.set_index(REQ_PROD_OFFSET, prod);
        assert!(back.final_check_for_requests(&mut mem));
        assert_eq!(mem.index(REQ_EVENT_OFFSET), req_event);
    }
    // The same with serve_pass: one ring, `more`.
    let pass = back.serve_pass(&mut mem, |_| Ok(0)).unwrap();
    assert_eq!((pass.handled, pass.more), (RING_SIZE, false));
    // One ring more than allowed is an overflow, not a longer pass.
    let prod = mem.index(RSP_PROD_OFFSET).wrapping_add(RING_SIZE + 1);
    mem.set_index(REQ_PROD_OFFSET, prod);
    assert!(back.serve_pass(&mut mem, |_| Ok(0)).is_err());
}

#[test]
fn frontend_stops_at_an_overrunning_rsp_prod() {
    let mut p = Pair::new(0);
    for _ in 0..3 {
        p.front.push_request(&mut p.mem, Request::set(0, 1)).unwrap();
    }
    // Queued but not pushed: the backend cannot have answered them.
    p.mem.set_index(RSP_PROD_OFFSET, 1);
    let e = p.front.next_response(&p.mem).unwrap_err();
    assert_eq!(e, RingError::ResponseOverflow { rsp_prod: 1, rsp_cons: 0, req_prod: 0 });
    assert_eq!(p.front.error(), Some(e));
    assert_eq!(p.front.push_request(&mut p.mem, Request::set(0, 1)), Err(e));
    assert!(!p.front.push_requests_and_check_notify(&mut p.mem));
    assert_eq!(p.front.final_check_for_responses(&mut p.mem), Err(e));
    assert_eq!(e.to_string(), "bogus rsp_prod 1 (consumed 0, requested 0)");

    let mut p = Pair::new(0);
    for _ in 0..3 {
        p.front.push_request(&mut p.mem, Request::set(0, 1)).unwrap();
    }
    p.front.push_requests_and_check_notify(&mut p.mem);
    p.mem.set_index(RSP_PROD_OFFSET, 4);
    assert!(p.front.final_check_for_responses(&mut p.mem).is_err());
    // Receding: rsp_prod behind rsp_cons looks like ~2^32 responses.
    let mut p = Pair::new(100);
    p.front.push_request(&mut p.mem, Request::set(0, 1)).unwrap();
    p.front.push_requests_and_check_notify(&mut p.mem);
    p.mem.set_index(RSP_PROD_OFFSET, 99);
    assert!(p.front.next_response(&p.mem).is_err());
}

#[test]
fn frontend_reports_a_response_it_did_not_expect() {
    let mut p = Pair::new(0);
    p.front.push_request(&mut p.mem, Request::set(0, 1)).unwrap();
    p.front.push_request(&mut p.mem, Request::get(0)).unwrap();
    p.front.push_request(&mut p.mem, Request::set(0, 0)).unwrap();
    p.front.push_requests_and_check_notify(&mut p.mem);
    // A backend that answers with the wrong ids and operation.
    let wrong_id = Response { id: 1, operation: OP_SET_BRIGHTNESS, ..Response::default() };
    let wrong_op = Response { id: 1, operation: OP_SET_BRIGHTNESS, ..Response::default() };
    let right = Response { id: 2, operation: OP_SET_BRIGHTNESS, brightness: 0, ..Response::default() };
    p.mem.set_entry(0, &wrong_id.encode());
    p.mem.set_entry(1, &wrong_op.encode());
    p.mem.set_entry(2, &right.encode());
    p.mem.set_index(RSP_PROD_OFFSET, 3);
    let replies = p.replies();
    assert_eq!(
        replies,
        [
            Reply::Mismatched { request: Request { id: 0, ..Request::set(0, 1) }, response: wrong_id },
            Reply::Mismatched { request: Request { id: 1, ..Request::get(0) }, response: wrong_op },
            Reply::Answered { request: Request { id: 2, ..Request::set(0, 0) }, response: right },
        ]
    );
    // The ring itself is fine.
    assert_eq!(p.front.error(), None);
    assert_eq!(p.front.free_requests(), RING_SIZE);
}

#[test]
fn unanswered_requests_are_listed_for_disconnect() {
    let mut p = Pair::new(u32::MAX - 1);
    for led in 0..4 {
        p.front.push_request(&mut p.mem, Request::set(led, 1)).unwrap();
    }
    p.front.push_requests_and_check_notify(&mut p.mem);
    p.back.begin_pass(&p.mem).unwrap();
    let req = p.back.next_request(&p.mem).unwrap();
    p.back.push_response(&mut p.mem, &Response::answer(&req, Status::Ok, 1)).unwrap();
    p.back.push_responses_and_check_notify(&mut p.mem);
    assert_eq!(p.replies().len(), 1);
    let left: Vec<_> = p.front.unanswered().map(|r| (r.id, r.led)).collect();
    assert_eq!(left, [(u32::MAX, 1), (0, 2), (1, 3)]);
}

#[test]
fn garbage_page_before_connection() {
    // A backend mapping a page full of garbage (a frontend that did not initialise it).
    for fill in [0x00, 0x01, 0x7f, 0xff] {
        let mut mem = MemRing::filled(fill);
        let mut back = BackRing::new();
        let mut leds = Leds::new(6, |_| 1);
        let r = back.serve_pass(&mut mem, |req| leds.handle(req));
        let req_prod = mem.index(REQ_PROD_OFFSET);
        if req_prod <= RING_SIZE {
            let pass = r.unwrap();
            assert_eq!(pass.handled, req_prod);
        } else {
            assert!(r.is_err());
        }
    }
}
