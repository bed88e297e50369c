//! A test client over the engine: builds requests as Linux does, decodes replies and
//! watch events.

#![allow(dead_code)]

use xenstore::harness::build_domain;
use xenstore::wire::{self, XsError};
use xenstore::{DomId, OutKind, Outgoing, Quota, Store};

/// One watch event: (domain, path, token).
pub type Event = (DomId, String, String);

pub struct T {
    pub store: Store,
    pub req_id: u32,
    /// Events seen since the last `take_events`.
    pub events: Vec<Event>,
}

pub fn decode_events(out: &[Outgoing]) -> Vec<Event> {
    out.iter()
        .filter(|o| o.kind == OutKind::WatchEvent)
        .map(|o| {
            let (h, payload) = wire::split(&o.msg).expect("framed event");
            assert_eq!((h.ty, h.req_id, h.tx_id), (wire::XS_WATCH_EVENT, 0, 0));
            let [p, t] = wire::args::<2>(payload).expect("path\\0token\\0");
            (o.domid, String::from_utf8(p.to_vec()).unwrap(), String::from_utf8(t.to_vec()).unwrap())
        })
        .collect()
}

impl T {
    /// dom0 (privileged), domains 1 and 2, built with the harness's libxl-like layout
    /// (homes `n0 r<d>`, `device`, `control`, `data` owned by the domain, vkbd pair 1<->0).
    pub fn new() -> T {
        T::with_quotas(Quota::UNPRIVILEGED, Quota::PRIVILEGED)
    }

    pub fn with_quotas(unpriv: Quota, privileged: Quota) -> T {
        let mut store = Store::with_quotas(unpriv, privileged);
        for d in [0, 1, 2] {
            build_domain(&mut store, d).unwrap();
        }
        for d in [0, 1, 2] {
            store.connect(d, d == 0).unwrap();
        }
        T { store, req_id: 100, events: Vec::new() }
    }

    /// Sends a raw message; returns every output.
    pub fn raw(&mut self, dom: DomId, msg: &[u8]) -> Vec<Outgoing> {
        let out = self.store.handle(dom, msg);
        self.store.check().expect("store invariants");
        out
    }

    /// Sends a request; returns the reply (payload, or the error it names). Events go to
    /// `self.events`.
    pub fn req(&mut self, dom: DomId, ty: u32, tx: u32, payload: &[u8]) -> Result<Vec<u8>, XsError> {
        self.req_id += 1;
        let id = self.req_id;
        let out = self.raw(dom, &wire::build(ty, id, tx, payload));
        let replies: Vec<&Outgoing> = out.iter().filter(|o| o.kind == OutKind::Reply).collect();
        assert_eq!(replies.len(), 1, "one reply per request");
        assert_eq!(replies[0].domid, dom);
        let (h, body) = wire::split(&replies[0].msg).expect("framed reply");
        assert_eq!((h.req_id, h.tx_id), (id, tx), "reply echoes req_id and tx_id");
        self.events.extend(decode_events(&out));
        if h.ty == wire::XS_ERROR {
            Err(XsError::from_payload(body).expect("known error string"))
        } else {
            assert_eq!(h.ty, ty);
            Ok(body.to_vec())
        }
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    pub fn read(&mut self, dom: DomId, path: &str) -> Result<Vec<u8>, XsError> {
        self.read_tx(dom, 0, path)
    }

    pub fn read_tx(&mut self, dom: DomId, tx: u32, path: &str) -> Result<Vec<u8>, XsError> {
        self.req(dom, wire::XS_READ, tx, &z(path))
    }

    pub fn write(&mut self, dom: DomId, path: &str, value: &str) -> Result<(), XsError> {
        self.write_tx(dom, 0, path, value)
    }

    pub fn write_tx(&mut self, dom: DomId, tx: u32, path: &str, value: &str) -> Result<(), XsError> {
        let mut p = z(path);
        p.extend_from_slice(value.as_bytes());
        self.req(dom, wire::XS_WRITE, tx, &p).map(|r| assert_eq!(r, b"OK\0"))
    }

    pub fn mkdir(&mut self, dom: DomId, path: &str) -> Result<(), XsError> {
        self.req(dom, wire::XS_MKDIR, 0, &z(path)).map(|r| assert_eq!(r, b"OK\0"))
    }

    pub fn rm(&mut self, dom: DomId, path: &str) -> Result<(), XsError> {
        self.rm_tx(dom, 0, path)
    }

    pub fn rm_tx(&mut self, dom: DomId, tx: u32, path: &str) -> Result<(), XsError> {
        self.req(dom, wire::XS_RM, tx, &z(path)).map(|r| assert_eq!(r, b"OK\0"))
    }

    pub fn dir(&mut self, dom: DomId, path: &str) -> Result<Vec<String>, XsError> {
        self.dir_tx(dom, 0, path)
    }

    pub fn dir_tx(&mut self, dom: DomId, tx: u32, path: &str) -> Result<Vec<String>, XsError> {
        let r = self.req(dom, wire::XS_DIRECTORY, tx, &z(path))?;
        Ok(strings(&r))
    }

    pub fn get_perms(&mut self, dom: DomId, path: &str) -> Result<Vec<String>, XsError> {
        self.req(dom, wire::XS_GET_PERMS, 0, &z(path)).map(|r| strings(&r))
    }

    pub fn set_perms(&mut self, dom: DomId, path: &str, perms: &[&str]) -> Result<(), XsError> {
        let mut p = z(path);
        for perm in perms {
            p.extend_from_slice(&z(perm));
        }
        self.req(dom, wire::XS_SET_PERMS, 0, &p).map(|r| assert_eq!(r, b"OK\0"))
    }

    pub fn watch(&mut self, dom: DomId, path: &str, token: &str) -> Result<(), XsError> {
        let mut p = z(path);
        p.extend_from_slice(&z(token));
        self.req(dom, wire::XS_WATCH, 0, &p).map(|r| assert_eq!(r, b"OK\0"))
    }

    pub fn unwatch(&mut self, dom: DomId, path: &str, token: &str) -> Result<(), XsError> {
        let mut p = z(path);
        p.extend_from_slice(&z(token));
        self.req(dom, wire::XS_UNWATCH, 0, &p).map(|r| assert_eq!(r, b"OK\0"))
    }

    pub fn tx_start(&mut self, dom: DomId) -> Result<u32, XsError> {
        let r = self.req(dom, wire::XS_TRANSACTION_START, 0, b"\0")?;
        let [id] = wire::args::<1>(&r).expect("id\\0");
        Ok(wire::parse_u32(id).expect("decimal id"))
    }

    pub fn tx_end(&mut self, dom: DomId, tx: u32, commit: bool) -> Result<(), XsError> {
        self.req(dom, wire::XS_TRANSACTION_END, tx, if commit { b"T\0" } else { b"F\0" })
            .map(|r| assert_eq!(r, b"OK\0"))
    }
}

/// `s` NUL-terminated.
pub fn z(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// NUL-terminated strings.
pub fn strings(r: &[u8]) -> Vec<String> {
    match r.strip_suffix(b"\0") {
        None => {
            assert!(r.is_empty(), "strings end in NUL");
            Vec::new()
        }
        Some(body) => body.split(|&b| b == 0).map(|s| String::from_utf8(s.to_vec()).unwrap()).collect(),
    }
}

/// Events as (domain, path, token) with &str, for comparisons.
pub fn ev(d: DomId, p: &str, t: &str) -> Event {
    (d, p.to_string(), t.to_string())
}
