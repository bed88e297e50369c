//! A Linux xenbus client over a ring page, as drivers/xen/xenbus/xenbus_{comms,xs}.c
//! behave: requests written with `xb_write()` as room allows, replies matched by `req_id`,
//! watch events queued for the xenwatch thread. Several guests share one `Server`, and
//! watch events queued for a guest reach its ring when the server says it is dirty.

#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use xenstore::ring::{MemRing, Reassembler, XENSTORE_RING_SIZE};
use xenstore::wire::{self, XsError, XSD_SOCKMSG_SIZE};
use xenstore::{DomId, Server};

pub struct Guest {
    pub ring: MemRing,
    rx: Reassembler,
    req_id: u32,
    /// Watch events received, (path, token), for the xenwatch thread.
    pub events: VecDeque<(String, String)>,
    /// Replies received, by req_id.
    replies: BTreeMap<u32, (u32, Vec<u8>)>,
    /// Requests sent so far.
    pub sent: usize,
}

pub struct Sys {
    pub server: Server,
    pub guests: BTreeMap<DomId, Guest>,
}

impl Sys {
    pub fn new(server: Server, domains: &[DomId]) -> Sys {
        let guests = domains
            .iter()
            .map(|&d| {
                let g = Guest {
                    ring: MemRing::new(),
                    rx: Reassembler::new(),
                    req_id: 0,
                    events: VecDeque::new(),
                    replies: BTreeMap::new(),
                    sent: 0,
                };
                (d, g)
            })
            .collect();
        Sys { server, guests }
    }

    /// Flushes the dirty domains' output into their rings and lets them read it.
    pub fn pump(&mut self, dirty: &[DomId]) {
        for &d in dirty {
            if let Some(g) = self.guests.get_mut(&d) {
                self.server.flush(d, &mut g.ring);
            }
        }
        for (&d, g) in self.guests.iter_mut() {
            loop {
                let got = read_ring(g);
                let s = self.server.flush(d, &mut g.ring);
                if got == 0 && !s.notify {
                    break;
                }
            }
        }
    }

    /// One request, the way `xs_talkv()` does it: returns the reply payload or error.
    pub fn call(&mut self, dom: DomId, ty: u32, tx: u32, payload: &[u8]) -> Result<Vec<u8>, XsError> {
        let g = self.guests.get_mut(&dom).expect("guest");
        g.req_id += 1;
        g.sent += 1;
        let id = g.req_id;
        let msg = wire::build(ty, id, tx, payload);
        let mut pending = &msg[..];
        for _ in 0..1000 {
            let g = self.guests.get_mut(&dom).unwrap();
            // xb_write(): as much as fits, then notify.
            if !pending.is_empty() {
                let n = g.ring.guest_write(pending).expect("sane indices");
                pending = &pending[n..];
            }
            let served = self.server.on_event(dom, &mut g.ring);
            assert!(served.broken.is_none(), "a well-behaved guest never breaks the ring");
            // xb_read() / process_msg().
            read_ring(g);
            self.pump(&served.dirty);
            let g = self.guests.get_mut(&dom).unwrap();
            if let Some((rty, body)) = g.replies.remove(&id) {
                assert!(pending.is_empty());
                return if rty == wire::XS_ERROR {
                    Err(XsError::from_payload(&body).expect("known error"))
                } else {
                    assert_eq!(rty, ty, "reply type");
                    Ok(body)
                };
            }
        }
        panic!("no reply to request {id} of d{dom}");
    }

    pub fn events(&mut self, dom: DomId) -> Vec<(String, String)> {
        self.pump(&[]);
        self.guests.get_mut(&dom).unwrap().events.drain(..).collect()
    }

    // xenbus_xs.c API, as drivers use it.

    pub fn read(&mut self, dom: DomId, tx: u32, path: &str) -> Result<String, XsError> {
        self.call(dom, wire::XS_READ, tx, &z(path)).map(|v| String::from_utf8(v).unwrap())
    }

    pub fn write(&mut self, dom: DomId, tx: u32, path: &str, value: &str) -> Result<(), XsError> {
        let mut p = z(path);
        p.extend_from_slice(value.as_bytes());
        self.call(dom, wire::XS_WRITE, tx, &p).map(|_| ())
    }

    pub fn directory(&mut self, dom: DomId, path: &str) -> Result<Vec<String>, XsError> {
        let r = self.call(dom, wire::XS_DIRECTORY, 0, &z(path))?;
        if r.is_empty() {
            return Ok(Vec::new());
        }
        assert_eq!(r.last(), Some(&0), "malformed XS_DIRECTORY reply");
        Ok(r[..r.len() - 1].split(|&b| b == 0).map(|s| String::from_utf8(s.to_vec()).unwrap()).collect())
    }

    pub fn exists(&mut self, dom: DomId, path: &str) -> bool {
        self.directory(dom, path).is_ok()
    }

    /// register_xenbus_watch(): the token is the watch's address in hex.
    pub fn register_watch(&mut self, dom: DomId, node: &str, token: &str) -> Result<(), XsError> {
        let mut p = z(node);
        p.extend_from_slice(&z(token));
        self.call(dom, wire::XS_WATCH, 0, &p).map(|_| ())
    }

    pub fn transaction_start(&mut self, dom: DomId) -> Result<u32, XsError> {
        let r = self.call(dom, wire::XS_TRANSACTION_START, 0, b"\0")?;
        let [id] = wire::args::<1>(&r).unwrap();
        Ok(wire::parse_u32(id).unwrap())
    }

    pub fn transaction_end(&mut self, dom: DomId, tx: u32, abort: bool) -> Result<(), XsError> {
        self.call(dom, wire::XS_TRANSACTION_END, tx, if abort { b"F\0" } else { b"T\0" }).map(|_| ())
    }

    /// xenbus_switch_state(): read and write `state` in a transaction, retried on EAGAIN.
    pub fn switch_state(&mut self, dom: DomId, nodename: &str, state: u32) {
        let state_path = format!("{nodename}/state");
        loop {
            let tx = self.transaction_start(dom).unwrap();
            let cur = self.read(dom, tx, &state_path).unwrap();
            cur.parse::<u32>().expect("a state");
            self.write(dom, tx, &state_path, &state.to_string()).unwrap();
            match self.transaction_end(dom, tx, false) {
                Ok(()) => return,
                Err(XsError::EAGAIN) => continue,
                Err(e) => panic!("switch_state: {e}"),
            }
        }
    }

    /// xenbus_read_driver_state().
    pub fn driver_state(&mut self, dom: DomId, path: &str) -> u32 {
        self.read(dom, 0, &format!("{path}/state")).ok().and_then(|s| s.parse().ok()).unwrap_or(0)
    }
}

/// Reads everything in the guest's response ring; returns how many bytes.
fn read_ring(g: &mut Guest) -> usize {
    let mut buf = [0u8; XENSTORE_RING_SIZE];
    let n = g.ring.guest_read(&mut buf).expect("sane response indices");
    let mut rest = &buf[..n];
    while !rest.is_empty() {
        let (taken, msg) = g.rx.push(rest).expect("well-framed responses");
        rest = &rest[taken..];
        if let Some(m) = msg {
            let (h, body) = wire::split(&m).expect("framed");
            assert!(m.len() >= XSD_SOCKMSG_SIZE);
            if h.ty == wire::XS_WATCH_EVENT {
                // xs_watch_msg(): exactly two strings.
                let [p, t] = wire::args::<2>(body).expect("path\\0token\\0");
                g.events.push_back((String::from_utf8(p.to_vec()).unwrap(), String::from_utf8(t.to_vec()).unwrap()));
            } else {
                assert!(g.replies.insert(h.req_id, (h.ty, body.to_vec())).is_none(), "one reply per req_id");
            }
        }
    }
    n
}

pub fn z(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}
