//! Property tests: hostile peers (the fuzz driver of tests/harness, invariants checked after
//! every step), arbitrary pages, and well-behaved pairs that only act on notifications, where
//! every request must be answered, in order, and no wakeup may be lost.

mod harness;

use harness::{Leds, MemRing};
use proptest::prelude::*;
use std::collections::VecDeque;
use vled_protocol::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Any byte string is a run against a hostile peer that keeps every invariant of
    /// harness::hostile_frontend / hostile_backend (and panics nowhere).
    #[test]
    fn hostile_peers_never_break_the_ring(data in prop::collection::vec(any::<u8>(), 0..2000)) {
        harness::run(&data);
    }

    /// Hostile frontend, with a strategy aimed at index arithmetic: arbitrary starting index,
    /// req_prod values near the boundaries.
    #[test]
    fn backend_pass_is_bounded_for_any_page(
        start in any::<u32>(),
        answered in 0u32..600,
        req_prod_delta in prop_oneof![0u32..600, any::<u32>(), (u32::MAX - 600)..=u32::MAX],
        fill in any::<u8>(),
        events in any::<[u32; 3]>(),
    ) {
        let mut mem = MemRing::filled(fill);
        let mut back = BackRing::new_at(start);
        // Bring the backend to `answered` requests past `start`, a ring at a time.
        let mut done = 0;
        while done < answered {
            let n = (answered - done).min(RING_SIZE);
            mem.set_index(REQ_PROD_OFFSET, start.wrapping_add(done + n));
            let pass = back.serve_pass(&mut mem, |_| Ok(0)).unwrap();
            prop_assert_eq!(pass.handled, n);
            done += n;
        }
        mem.set_index(REQ_EVENT_OFFSET, events[0]);
        mem.set_index(RSP_PROD_OFFSET, events[1]);
        mem.set_index(RSP_EVENT_OFFSET, events[2]);
        let req_prod = start.wrapping_add(answered).wrapping_add(req_prod_delta);
        mem.set_index(REQ_PROD_OFFSET, req_prod);
        let reads = mem.entry_reads.get();
        let mut leds = Leds::new(6, |_| 1);
        match back.serve_pass(&mut mem, |req| leds.handle(req)) {
            Ok(pass) => {
                prop_assert!(req_prod_delta <= RING_SIZE);
                prop_assert_eq!(pass.handled, req_prod_delta);
                prop_assert_eq!(mem.entry_reads.get() - reads, req_prod_delta as usize);
            }
            Err(e) => {
                prop_assert!(req_prod_delta > RING_SIZE);
                let overflow = matches!(e, RingError::RequestOverflow { .. });
                prop_assert!(overflow, "{:?}", e);
                prop_assert_eq!(mem.entry_reads.get(), reads);
            }
        }
    }

    /// A frontend and a backend that only act when notified (or, for the backend, when its
    /// last pass said `more`), in any interleaving, starting at any index: every request is
    /// answered, in order, with the status and brightness the LEDs give, and nothing is left
    /// behind once both are idle (no lost wakeup).
    #[test]
    fn notified_pair_delivers_everything_in_order(
        start in prop_oneof![Just(0u32), any::<u32>(), (u32::MAX - 300)..=u32::MAX],
        schedule in prop::collection::vec((0u8..3, 1u32..40), 1..200),
        commands in prop::collection::vec((0u16..8, 0u32..3, any::<bool>()), 1..600),
    ) {
        let mut mem = MemRing::new();
        let mut front = FrontRing::new_at(&mut mem, start);
        let mut back = BackRing::new_at(start);
        let mut leds = Leds::new(6, |_| 1);
        let mut model = Leds::new(6, |_| 1);
        let mut to_send: VecDeque<Command> = commands
            .iter()
            .map(|&(led, b, get)| if get { Command::Get { led } } else { Command::Set { led, brightness: b } })
            .collect();
        let total = to_send.len();
        let mut in_flight: VecDeque<Request> = VecDeque::new();
        let mut received = 0usize;
        let (mut back_event, mut front_event, mut back_more) = (false, false, false);

        let front_send = |n: u32, front: &mut FrontRing, mem: &mut MemRing,
                              to_send: &mut VecDeque<Command>, in_flight: &mut VecDeque<Request>,
                              back_event: &mut bool| {
            for _ in 0..n {
                if front.is_full() { break; }
                let Some(cmd) = to_send.pop_front() else { break };
                let id = front.push_command(mem, cmd).unwrap();
                in_flight.push_back(Request { id, ..cmd.request() });
            }
            if front.push_requests_and_check_notify(mem) { *back_event = true; }
        };
        let back_handle = |back: &mut BackRing, mem: &mut MemRing, leds: &mut Leds,
                               front_event: &mut bool, back_more: &mut bool| {
            let pass = back.serve_pass(mem, |req| leds.handle(req)).unwrap();
            prop_assert!(pass.handled <= RING_SIZE);
            if pass.notify { *front_event = true; }
            *back_more = pass.more;
            Ok(())
        };
        let front_handle = |front: &mut FrontRing, mem: &mut MemRing,
                                in_flight: &mut VecDeque<Request>, model: &mut Leds,
                                received: &mut usize| {
            loop {
                while let Some(reply) = front.next_response(mem).unwrap() {
                    let Reply::Answered { request, response } = reply else {
                        return Err(TestCaseError::fail(format!("{reply:?}")));
                    };
                    prop_assert_eq!(Some(request), in_flight.pop_front());
                    let expected = model.handle(&request);
                    prop_assert_eq!(response, Response::answer(&request, match expected {
                        Ok(_) => Status::Ok,
                        Err(s) => s,
                    }, expected.unwrap_or(0)));
                    *received += 1;
                }
                if !front.final_check_for_responses(mem).unwrap() { break; }
            }
            Ok(())
        };

        for &(who, n) in &schedule {
            match who {
                0 => front_send(n, &mut front, &mut mem, &mut to_send, &mut in_flight, &mut back_event),
                1 if back_event || back_more => {
                    back_event = false;
                    back_handle(&mut back, &mut mem, &mut leds, &mut front_event, &mut back_more)?;
                }
                2 if front_event => {
                    front_event = false;
                    front_handle(&mut front, &mut mem, &mut in_flight, &mut model, &mut received)?;
                    // A frontend with more to say says it after handling responses.
                    front_send(n, &mut front, &mut mem, &mut to_send, &mut in_flight, &mut back_event);
                }
                _ => {}
            }
        }
        // Then everything runs to idle, still only on notifications.
        for _ in 0..100_000 {
            if back_event || back_more {
                back_event = false;
                back_handle(&mut back, &mut mem, &mut leds, &mut front_event, &mut back_more)?;
            } else if front_event {
                front_event = false;
                front_handle(&mut front, &mut mem, &mut in_flight, &mut model, &mut received)?;
                front_send(RING_SIZE, &mut front, &mut mem, &mut to_send, &mut in_flight, &mut back_event);
            } else if !to_send.is_empty() && !front.is_full() {
                front_send(RING_SIZE, &mut front, &mut mem, &mut to_send, &mut in_flight, &mut back_event);
            } else {
                break;
            }
        }
        prop_assert!(to_send.is_empty(), "requests never sent: ring stuck full");
        prop_assert_eq!(received, total);
        prop_assert!(in_flight.is_empty());
        prop_assert_eq!(leds.brightness, model.brightness);
        prop_assert_eq!(front.outstanding(), 0);
    }

    /// With honest peers the notification decisions are exactly those of Xen's macros, which
    /// take the previous producer index from the page.
    #[test]
    fn notify_decisions_match_xens_macros(
        start in any::<u32>(),
        steps in prop::collection::vec((0u8..4, 1u32..50), 1..100),
    ) {
        let mut mem = MemRing::new();
        let mut front = FrontRing::new_at(&mut mem, start);
        let mut back = BackRing::new_at(start);
        for (op, n) in steps {
            match op {
                0 => {
                    for _ in 0..n.min(front.free_requests()) {
                        front.push_request(&mut mem, Request::set(0, 1)).unwrap();
                    }
                    // RING_PUSH_REQUESTS_AND_CHECK_NOTIFY, transcribed.
                    let old = mem.index(REQ_PROD_OFFSET);
                    let event = mem.index(REQ_EVENT_OFFSET);
                    let notify = front.push_requests_and_check_notify(&mut mem);
                    let new = mem.index(REQ_PROD_OFFSET);
                    prop_assert_eq!(notify, new.wrapping_sub(event) < new.wrapping_sub(old));
                }
                1 => {
                    let old = mem.index(RSP_PROD_OFFSET);
                    let event = mem.index(RSP_EVENT_OFFSET);
                    let pass = back.serve_pass(&mut mem, |_| Ok(1)).unwrap();
                    let new = mem.index(RSP_PROD_OFFSET);
                    prop_assert_eq!(pass.notify, new.wrapping_sub(event) < new.wrapping_sub(old));
                    // RING_FINAL_CHECK_FOR_REQUESTS: re-armed iff idle.
                    let unconsumed = mem.index(REQ_PROD_OFFSET) != back.consumed();
                    prop_assert_eq!(pass.more, unconsumed);
                    if !pass.more {
                        prop_assert_eq!(mem.index(REQ_EVENT_OFFSET), back.consumed().wrapping_add(1));
                    }
                }
                2 => {
                    while front.next_response(&mem).unwrap().is_some() {}
                }
                _ => {
                    // RING_FINAL_CHECK_FOR_RESPONSES: re-armed iff nothing is waiting.
                    let event = mem.index(RSP_EVENT_OFFSET);
                    if front.final_check_for_responses(&mut mem).unwrap() {
                        prop_assert_eq!(mem.index(RSP_EVENT_OFFSET), event);
                        prop_assert!(front.next_response(&mem).unwrap().is_some());
                    } else {
                        prop_assert_eq!(mem.index(RSP_EVENT_OFFSET), mem.index(RSP_PROD_OFFSET).wrapping_add(1));
                    }
                }
            }
        }
    }
}
