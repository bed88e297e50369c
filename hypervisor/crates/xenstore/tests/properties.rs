//! Property tests: the fuzz harness on arbitrary bytes (what the fuzz target runs, so that
//! CI runs it too), the engine against a model of the tree, and the ring pieces.

use proptest::prelude::*;
use std::collections::BTreeMap;
use xenstore::harness;
use xenstore::ring::{copy_from_ring, copy_to_ring, Reassembler, XENSTORE_RING_SIZE};
use xenstore::wire::{self, XsError, XS_DIRECTORY, XS_MKDIR, XS_READ, XS_RM, XS_WRITE};
use xenstore::{OutKind, Store};

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary bytes as a script: no panic, no invariant broken.
    #[test]
    fn harness_holds_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..3000)) {
        if let Err(e) = harness::run(&data) {
            prop_assert!(false, "{}", e);
        }
    }

    /// Scripts made mostly of well-formed requests (step selectors 2..=10), to go deep.
    #[test]
    fn harness_holds_on_request_scripts(steps in prop::collection::vec((0u8..3, 2u8..11, prop::collection::vec(any::<u8>(), 12)), 1..150)) {
        let mut data = Vec::new();
        for (dom, kind, rest) in steps {
            data.push(dom);
            data.push(kind);
            data.extend(rest);
        }
        if let Err(e) = harness::run(&data) {
            prop_assert!(false, "{}", e);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The engine against a model: dom0 (privileged, no permission or transaction involved).

#[derive(Debug, Clone)]
enum Op {
    Write(usize, Vec<u8>),
    Mkdir(usize),
    Rm(usize),
    Read(usize),
    Dir(usize),
}

const MODEL_PATHS: &[&str] = &["/m", "/m/a", "/m/a/b", "/m/a/b/c", "/m/b", "/m/b/a", "/n/x", "/m/a/c"];

fn op() -> impl Strategy<Value = Op> {
    let p = 0..MODEL_PATHS.len();
    prop_oneof![
        (p.clone(), prop::collection::vec(any::<u8>(), 0..4)).prop_map(|(p, v)| Op::Write(p, v)),
        p.clone().prop_map(Op::Mkdir),
        p.clone().prop_map(Op::Rm),
        p.clone().prop_map(Op::Read),
        p.prop_map(Op::Dir),
    ]
}

/// path -> (value, children in creation order)
#[derive(Default)]
struct Model(BTreeMap<String, (Vec<u8>, Vec<String>)>);

fn parent(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) => "/",
        Some(i) => &p[..i],
        None => "/",
    }
}

impl Model {
    fn new() -> Model {
        let mut m = Model::default();
        m.0.insert("/".into(), (vec![], vec!["local".into()]));
        m
    }
    fn create(&mut self, p: &str, v: Vec<u8>) {
        if let Some(n) = self.0.get_mut(p) {
            n.0 = v;
            return;
        }
        self.ensure(parent(p));
        let name = p.rsplit('/').next().unwrap().to_string();
        self.0.get_mut(parent(p)).unwrap().1.push(name);
        self.0.insert(p.into(), (v, vec![]));
    }
    fn ensure(&mut self, p: &str) {
        if !self.0.contains_key(p) {
            self.create(p, vec![]);
        }
    }
    fn rm(&mut self, p: &str) -> Result<(), XsError> {
        if !self.0.contains_key(p) {
            return if self.0.contains_key(parent(p)) { Ok(()) } else { Err(XsError::ENOENT) };
        }
        let prefix = format!("{p}/");
        self.0.retain(|k, _| k != p && !k.starts_with(&prefix));
        let name = p.rsplit('/').next().unwrap();
        self.0.get_mut(parent(p)).unwrap().1.retain(|c| c != name);
        Ok(())
    }
}

fn call(store: &mut Store, ty: u32, payload: &[u8]) -> Result<Vec<u8>, XsError> {
    let out = store.handle(0, &wire::build(ty, 1, 0, payload));
    let reply = out.iter().find(|o| o.kind == OutKind::Reply).unwrap();
    let (h, body) = wire::split(&reply.msg).unwrap();
    if h.ty == wire::XS_ERROR {
        Err(XsError::from_payload(body).unwrap())
    } else {
        Ok(body.to_vec())
    }
}

fn z(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

proptest! {
    #[test]
    fn engine_matches_model(ops in prop::collection::vec(op(), 1..60)) {
        let mut store = Store::new();
        store.connect(0, true).unwrap();
        let mut model = Model::new();
        model.create("/local/domain", vec![]);
        for op in ops {
            match op {
                Op::Write(i, v) => {
                    let p = MODEL_PATHS[i];
                    let mut payload = z(p);
                    payload.extend_from_slice(&v);
                    prop_assert_eq!(call(&mut store, XS_WRITE, &payload), Ok(b"OK\0".to_vec()));
                    model.create(p, v);
                }
                Op::Mkdir(i) => {
                    let p = MODEL_PATHS[i];
                    prop_assert_eq!(call(&mut store, XS_MKDIR, &z(p)), Ok(b"OK\0".to_vec()));
                    model.ensure(p);
                }
                Op::Rm(i) => {
                    let p = MODEL_PATHS[i];
                    let expect = model.rm(p).map(|_| b"OK\0".to_vec());
                    prop_assert_eq!(call(&mut store, XS_RM, &z(p)), expect);
                }
                Op::Read(i) => {
                    let p = MODEL_PATHS[i];
                    let expect = model.0.get(p).map(|n| n.0.clone()).ok_or(XsError::ENOENT);
                    prop_assert_eq!(call(&mut store, XS_READ, &z(p)), expect);
                }
                Op::Dir(i) => {
                    let p = MODEL_PATHS[i];
                    let expect = model.0.get(p).map(|n| {
                        n.1.iter().flat_map(|c| c.bytes().chain(std::iter::once(0))).collect::<Vec<u8>>()
                    }).ok_or(XsError::ENOENT);
                    prop_assert_eq!(call(&mut store, XS_DIRECTORY, &z(p)), expect);
                }
            }
            prop_assert!(store.check().is_ok());
        }
    }

    /// Any chunking of a stream of valid messages reassembles into the same messages.
    #[test]
    fn reassembly_is_chunking_independent(
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..8),
        cuts in prop::collection::vec(1usize..200, 1..50),
    ) {
        let msgs: Vec<Vec<u8>> = payloads.iter().enumerate().map(|(i, p)| wire::build(XS_READ, i as u32, 0, p)).collect();
        let stream: Vec<u8> = msgs.concat();
        let mut r = Reassembler::new();
        let mut got = Vec::new();
        let mut pos = 0;
        let mut c = cuts.iter().cycle();
        while pos < stream.len() {
            let end = (pos + c.next().unwrap()).min(stream.len());
            let mut chunk = &stream[pos..end];
            while !chunk.is_empty() {
                let (n, m) = r.push(chunk).unwrap();
                prop_assert!(n > 0);
                chunk = &chunk[n..];
                got.extend(m);
            }
            pos = end;
        }
        prop_assert_eq!(got, msgs);
        prop_assert!(r.is_idle());
    }

    /// Copies in and out of the ring at any index are inverse, and never overrun.
    #[test]
    fn ring_copies_round_trip(start in any::<u32>(), used in 0usize..=XENSTORE_RING_SIZE, data in prop::collection::vec(any::<u8>(), 0..1500)) {
        let mut ring = [0u8; XENSTORE_RING_SIZE];
        let cons = start;
        let prod = start.wrapping_add(used as u32);
        let n = copy_to_ring(&mut ring, cons, prod, &data).unwrap();
        prop_assert_eq!(n, data.len().min(XENSTORE_RING_SIZE - used));
        let mut out = vec![0u8; n];
        let got = copy_from_ring(&ring, prod, prod.wrapping_add(n as u32), &mut out).unwrap();
        prop_assert_eq!(got, n);
        prop_assert_eq!(&out[..], &data[..n]);
        // Garbage: prod - cons beyond the ring.
        let bad = start.wrapping_add(XENSTORE_RING_SIZE as u32 + 1 + used as u32 % 1000);
        prop_assert!(copy_from_ring(&ring, start, bad, &mut out).is_err());
    }

    /// Arbitrary bytes straight into Store::handle from any domain: exactly one reply when
    /// there is a header, never a panic.
    #[test]
    fn handle_never_panics(dom in 0u16..4, msg in prop::collection::vec(any::<u8>(), 0..200), ty in 0u32..30) {
        let mut store = Store::new();
        for d in 0..3 {
            store.connect(d, d == 0).unwrap();
        }
        let mut m = msg.clone();
        if m.len() >= 16 {
            m[0..4].copy_from_slice(&ty.to_le_bytes());
        }
        let out = store.handle(dom, &m);
        let replies = out.iter().filter(|o| o.kind == OutKind::Reply).count();
        let expect = usize::from(m.len() >= 16 && dom < 3);
        prop_assert_eq!(replies, expect);
        prop_assert!(store.check().is_ok());
    }
}
