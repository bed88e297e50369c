//! The ring page against a hostile or clumsy guest: wrap-around, partial messages, long
//! replies, garbage indices, oversized headers, a guest that never reads.

use xenstore::harness::{build_domain, ring_call};
use xenstore::ring::{
    MemRing, Reassembler, RingPage, EVENT_QUEUE_MAX, REPLY_HIGH_WATER, XENSTORE_ERROR_NONE, XENSTORE_ERROR_PROTO,
    XENSTORE_ERROR_RINGIDX, XENSTORE_RING_SIZE,
};
use xenstore::server::MAX_REQUESTS_PER_EVENT;
use xenstore::wire::{self, Header, XS_DIRECTORY, XS_READ, XS_WATCH, XS_WRITE, XSD_SOCKMSG_SIZE};
use xenstore::{Server, Store};

fn server() -> Server {
    let mut store = Store::new();
    for d in [0, 1, 2] {
        build_domain(&mut store, d).unwrap();
    }
    let mut s = Server::new(store);
    for d in [0, 1, 2] {
        s.connect(d, d == 0).unwrap();
    }
    s
}

fn z(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn read_all(ring: &mut MemRing, rx: &mut Reassembler) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; XENSTORE_RING_SIZE];
    loop {
        let n = ring.guest_read(&mut buf).unwrap();
        if n == 0 {
            return out;
        }
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let (t, m) = rx.push(rest).unwrap();
            rest = &rest[t..];
            out.extend(m);
        }
    }
}

#[test]
fn indices_wrap_around_u32() {
    let mut s = server();
    let mut ring = MemRing::new();
    // Start near the top of the index space and off the ring's start.
    ring.req_cons = u32::MAX - 5;
    ring.req_prod = u32::MAX - 5;
    ring.rsp_cons = u32::MAX - 700;
    ring.rsp_prod = u32::MAX - 700;
    let mut rx = Reassembler::new();
    for i in 0..50 {
        let msg = wire::build(XS_READ, i, 0, &z("name"));
        let got = ring_call(&mut s, 1, &mut ring, &mut rx, &msg);
        assert_eq!(got.len(), 1);
        let (h, body) = wire::split(&got[0]).unwrap();
        assert_eq!((h.ty, h.req_id), (XS_READ, i));
        assert_eq!(body, b"dom1");
    }
    assert!(ring.req_prod < 10_000, "wrapped");
    assert!(s.is_serving(1));
}

#[test]
fn message_split_across_ring_end_and_many_events() {
    let mut s = server();
    let mut ring = MemRing::new();
    // Leave the indices 3 bytes before the ring's end: the header straddles it.
    ring.req_cons = XENSTORE_RING_SIZE as u32 - 3;
    ring.req_prod = ring.req_cons;
    let mut msg = z("data/k");
    msg.extend_from_slice(&[b'x'; 600]);
    let msg = wire::build(XS_WRITE, 9, 0, &msg);
    let n = ring.guest_write(&msg).unwrap();
    assert_eq!(n, msg.len());
    let served = s.on_event(1, &mut ring);
    assert!(served.notify && served.broken.is_none());
    let mut rx = Reassembler::new();
    let got = read_all(&mut ring, &mut rx);
    assert_eq!(got.len(), 1);
    assert_eq!(wire::split(&got[0]).unwrap().1, b"OK\0");
}

#[test]
fn byte_by_byte_publication() {
    let mut s = server();
    let mut ring = MemRing::new();
    let msg = wire::build(XS_READ, 3, 0, &z("name"));
    let mut rx = Reassembler::new();
    for (i, b) in msg.iter().enumerate() {
        ring.guest_write(std::slice::from_ref(b)).unwrap();
        let served = s.on_event(1, &mut ring);
        assert!(served.broken.is_none());
        let got = read_all(&mut ring, &mut rx);
        if i + 1 < msg.len() {
            assert!(got.is_empty(), "no reply before the whole message");
        } else {
            assert_eq!(wire::split(&got[0]).unwrap().1, b"dom1");
        }
    }
}

#[test]
fn reply_longer_than_the_ring() {
    let mut s = server();
    let long = "v".repeat(3000);
    let mut p = z("/local/domain/0/data/long");
    p.extend_from_slice(long.as_bytes());
    let mut ring = MemRing::new();
    let mut rx = Reassembler::new();
    ring_call(&mut s, 0, &mut ring, &mut rx, &wire::build(XS_WRITE, 1, 0, &p));
    // The reply (3016 bytes) goes out a ring's worth at a time, as the guest reads.
    ring.guest_write(&wire::build(XS_READ, 2, 0, &z("data/long"))).unwrap();
    s.on_event(0, &mut ring);
    assert_eq!(ring.rsp_prod.wrapping_sub(ring.rsp_cons), XENSTORE_RING_SIZE as u32, "ring full");
    let mut got = Vec::new();
    let mut buf = [0u8; 100];
    for _ in 0..100 {
        let n = ring.guest_read(&mut buf).unwrap();
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            let (t, m) = rx.push(rest).unwrap();
            rest = &rest[t..];
            got.extend(m);
        }
        // The guest signals after reading; the server writes more.
        s.on_event(0, &mut ring);
        if !got.is_empty() {
            break;
        }
    }
    let (h, body) = wire::split(&got[0]).unwrap();
    assert_eq!(h.req_id, 2);
    assert_eq!(body, long.as_bytes());
}

#[test]
fn garbage_request_indices_break_the_connection() {
    let mut s = server();
    let mut ring = MemRing::new();
    // A watch, to see it go with the connection.
    let mut rx = Reassembler::new();
    ring_call(&mut s, 1, &mut ring, &mut rx, &wire::build(XS_WATCH, 1, 0, b"data\0t\0"));
    assert_eq!(s.store().watch_count(1), 1);
    ring.req_prod = ring.req_cons.wrapping_add(XENSTORE_RING_SIZE as u32 + 1);
    let served = s.on_event(1, &mut ring);
    assert!(matches!(served.broken, Some(xenstore::ring::RingError::BadIndex { .. })));
    assert_eq!(ring.error, XENSTORE_ERROR_RINGIDX);
    assert!(!s.is_serving(1));
    assert_eq!(s.store().watch_count(1), 0, "watches dropped");
    assert!(s.store().is_connected(1), "still introduced: its nodes stay");
    // Nothing more is served, whatever the guest does.
    ring.req_prod = ring.req_cons;
    ring.guest_write(&wire::build(XS_READ, 5, 0, &z("name"))).unwrap();
    let before = ring.rsp_prod;
    assert_eq!(s.on_event(1, &mut ring), Default::default());
    assert_eq!(ring.rsp_prod, before);
    // Other domains are unaffected.
    let mut ring2 = MemRing::new();
    let mut rx2 = Reassembler::new();
    assert_eq!(ring_call(&mut s, 2, &mut ring2, &mut rx2, &wire::build(XS_READ, 1, 0, &z("name"))).len(), 1);
    assert_eq!(ring2.error, XENSTORE_ERROR_NONE);
}

#[test]
fn garbage_response_indices_break_the_connection() {
    let mut s = server();
    let mut ring = MemRing::new();
    ring.rsp_cons = ring.rsp_prod.wrapping_add(7); // consumer ahead of producer
    ring.guest_write(&wire::build(XS_READ, 1, 0, &z("name"))).unwrap();
    let served = s.on_event(1, &mut ring);
    assert!(served.broken.is_some());
    assert_eq!(ring.error, XENSTORE_ERROR_RINGIDX);
}

#[test]
fn oversized_header_breaks_the_connection() {
    let mut s = server();
    let mut ring = MemRing::new();
    let h = Header { ty: XS_WRITE, req_id: 1, tx_id: 0, len: 4097 };
    ring.guest_write(&h.to_bytes()).unwrap();
    let served = s.on_event(1, &mut ring);
    assert!(matches!(served.broken, Some(xenstore::ring::RingError::PayloadTooLong { len: 4097 })));
    assert_eq!(ring.error, XENSTORE_ERROR_PROTO);
}

#[test]
fn malformed_requests_through_the_ring_get_errors() {
    let mut s = server();
    let mut ring = MemRing::new();
    let mut rx = Reassembler::new();
    // Unknown type, missing NULs, zero-length payload: each one error reply, ring intact.
    for (i, (ty, payload)) in [(999u32, &b"x"[..]), (XS_READ, b"name"), (XS_DIRECTORY, b"")].into_iter().enumerate() {
        let got = ring_call(&mut s, 1, &mut ring, &mut rx, &wire::build(ty, i as u32, 0, payload));
        assert_eq!(got.len(), 1);
        assert_eq!(wire::split(&got[0]).unwrap().0.ty, wire::XS_ERROR);
    }
    assert!(s.is_serving(1));
}

#[test]
fn a_guest_that_never_reads_cannot_grow_our_queues() {
    let mut s = server();
    let mut ring = MemRing::new();
    // Many requests with long replies, never reading a byte of the responses.
    let mut p = z("/local/domain/0/data/big");
    p.extend_from_slice(&[b'b'; 4000]);
    let mut r0 = MemRing::new();
    let mut rx0 = Reassembler::new();
    ring_call(&mut s, 0, &mut r0, &mut rx0, &wire::build(XS_WRITE, 1, 0, &p));
    let req = wire::build(XS_READ, 7, 0, &z("/local/domain/0/data/big"));
    for _ in 0..200 {
        let _ = ring.guest_write(&req);
        s.on_event(0, &mut ring);
        let q = s.port(0).unwrap().out_queue();
        assert!(q.reply_bytes() < REPLY_HIGH_WATER + XSD_SOCKMSG_SIZE + 4096);
    }
    // Requests wait in the request ring instead.
    assert!(ring.req_prod != ring.req_cons);
    assert!(s.is_serving(0));
}

#[test]
fn watch_events_for_a_sleeping_domain_are_bounded() {
    let mut s = server();
    let mut r2 = MemRing::new();
    let mut rx2 = Reassembler::new();
    // Domain 2 watches its own data with a long token and never reads; dom0 writes a lot.
    let mut w = z("data");
    w.extend_from_slice(&z(&"t".repeat(1000)));
    ring_call(&mut s, 2, &mut r2, &mut rx2, &wire::build(XS_WATCH, 1, 0, &w));
    let mut r0 = MemRing::new();
    let mut rx0 = Reassembler::new();
    for i in 0..600u32 {
        let mut p = z(&format!("/local/domain/2/data/k{}", i % 200));
        p.push(b'x');
        ring_call(&mut s, 0, &mut r0, &mut rx0, &wire::build(XS_WRITE, i, 0, &p));
        let q = s.port(2).unwrap().out_queue();
        assert!(q.event_bytes() <= EVENT_QUEUE_MAX);
    }
    assert!(s.port(2).unwrap().out_queue().dropped_events() > 0);
    assert!(s.is_serving(2));
}

#[test]
fn a_flooding_guest_gets_served_in_slices() {
    let mut s = server();
    let mut ring = MemRing::new();
    let req = wire::build(XS_READ, 1, 0, &z("name"));
    while ring.guest_write(&req).unwrap() == req.len() {}
    let mut rx = Reassembler::new();
    let mut slices = 0;
    loop {
        let served = s.on_event(1, &mut ring);
        slices += 1;
        read_all(&mut ring, &mut rx);
        if !served.more {
            break;
        }
    }
    assert!(slices > 1, "at most {MAX_REQUESTS_PER_EVENT} requests per call");
    // Everything consumed: the partial last request waits in the reassembler.
    assert_eq!(ring.req_cons(), ring.req_prod());
}

#[test]
fn dirty_domains_get_their_events() {
    let mut s = server();
    let mut r0 = MemRing::new();
    let mut rx0 = Reassembler::new();
    let got = ring_call(&mut s, 0, &mut r0, &mut rx0, &wire::build(XS_WATCH, 1, 0, b"/local/domain/1/data\0w\0"));
    assert_eq!(got.len(), 2, "reply and initial event");
    let mut r1 = MemRing::new();
    r1.guest_write(&wire::build(XS_WRITE, 1, 0, b"data/x\0v")).unwrap();
    let served = s.on_event(1, &mut r1);
    assert_eq!(served.dirty, [0]);
    assert!(s.flush(0, &mut r0).notify);
    let got = read_all(&mut r0, &mut rx0);
    assert_eq!(got.len(), 1);
    assert_eq!(wire::split(&got[0]).unwrap().1, b"/local/domain/1/data/x\0w\0");
}
