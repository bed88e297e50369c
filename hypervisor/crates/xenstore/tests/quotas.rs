//! Quotas: bounded memory per domain, whoever asks.

mod common;

use common::T;
use xenstore::wire::{XsError, XS_WRITE};
use xenstore::Quota;

#[test]
fn node_quota() {
    let mut q = Quota::UNPRIVILEGED;
    q.nodes = 12;
    let mut t = T::with_quotas(q, Quota::PRIVILEGED);
    let owned = t.store.node_count(1);
    for i in owned..12 {
        t.write(1, &format!("data/k{i}"), "").unwrap();
    }
    assert_eq!(t.write(1, "data/one-more", ""), Err(XsError::ENOSPC));
    // A write creating several nodes fails whole.
    t.rm(1, "data/k11").unwrap();
    assert_eq!(t.write(1, "data/x/y", ""), Err(XsError::ENOSPC));
    assert_eq!(t.read(1, "data/x"), Err(XsError::ENOENT));
    t.write(1, "data/x", "").unwrap();
    // Overwriting is fine.
    t.write(1, "data/x", "again").unwrap();
    // dom0 creating nodes the domain owns is charged to the domain, and refused too.
    t.set_perms(0, "/local/domain/1/data", &["n1"]).unwrap();
    assert_eq!(t.store.node_count(1), 12);
    assert_eq!(t.mkdir(0, "/local/domain/1/data/by-dom0"), Err(XsError::ENOSPC));
    // Freeing makes room.
    t.rm(1, "data/x").unwrap();
    t.write(1, "data/x", "").unwrap();
    t.store.check().unwrap();
}

#[test]
fn value_size_quota() {
    let mut t = T::new();
    let big = "v".repeat(Quota::UNPRIVILEGED.value_size);
    t.write(1, "data/v", &big).unwrap();
    assert_eq!(t.write(1, "data/v", &format!("{big}v")), Err(XsError::ENOSPC));
    // dom0's limit is the payload.
    t.write(0, "/local/domain/0/data/v", &format!("{big}v")).unwrap();
}

#[test]
fn memory_quota() {
    let mut q = Quota::UNPRIVILEGED;
    q.memory = 8 * 1024;
    q.value_size = 4000;
    let mut t = T::with_quotas(q, Quota::PRIVILEGED);
    let v = "m".repeat(1000);
    let mut r = Ok(());
    for i in 0..20 {
        r = t.write(1, &format!("data/m{i}"), &v);
        if r.is_err() {
            break;
        }
    }
    assert_eq!(r, Err(XsError::ENOMEM));
    assert!(t.store.memory(1) <= q.memory);
    // Watches count too.
    let mut r = Ok(());
    for i in 0..60 {
        r = t.watch(1, "data", &format!("{i:0>100}"));
        if r.is_err() {
            break;
        }
    }
    assert!(matches!(r, Err(XsError::ENOMEM) | Err(XsError::E2BIG)));
    assert!(t.store.memory(1) <= q.memory);
}

#[test]
fn privileged_domains_are_bounded_too() {
    let mut p = Quota::PRIVILEGED;
    p.nodes = 40;
    let mut t = T::with_quotas(Quota::UNPRIVILEGED, p);
    let mut r = Ok(());
    for i in 0..100 {
        r = t.write(0, &format!("/local/domain/0/data/k{i}"), "");
        if r.is_err() {
            break;
        }
    }
    assert_eq!(r, Err(XsError::ENOSPC));
    assert!(t.store.node_count(0) <= 40);
    // The hypervisor's own build helpers are not limited.
    t.store
        .write_as("/local/domain/0/data/by-hypervisor", b"", &xenstore::perms::Perms::owned_by(0))
        .unwrap();
}

#[test]
fn oversized_write_payload_is_refused_not_truncated() {
    use xenstore::wire::{self, Header};
    let mut t = T::new();
    let mut p = common::z("data/v");
    p.resize(5000, b'x');
    // More than XENSTORE_PAYLOAD_MAX in one message: EINVAL at the engine (the ring layer
    // breaks the connection before that), nothing written.
    let mut msg = Header { ty: XS_WRITE, req_id: 5, tx_id: 0, len: p.len() as u32 }.to_bytes().to_vec();
    msg.extend_from_slice(&p);
    let out = t.raw(1, &msg);
    assert_eq!(out.len(), 1);
    assert_eq!(wire::split(&out[0].msg).unwrap().1, b"EINVAL\0");
    assert_eq!(t.read(1, "data/v"), Err(XsError::ENOENT));
}
