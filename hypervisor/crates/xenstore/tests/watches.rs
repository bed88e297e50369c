//! Watches: when they fire, with which path, for whom.

mod common;

use common::{ev, T};
use xenstore::wire::{self, XsError, XS_WATCH};
use xenstore::{OutKind, Quota};

#[test]
fn fires_once_when_set_after_the_reply() {
    let mut t = T::new();
    t.req_id += 1;
    let out = t.raw(1, &wire::build(XS_WATCH, t.req_id, 0, b"device\0tok\0"));
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].kind, OutKind::Reply);
    assert_eq!(common::decode_events(&out[1..]), [ev(1, "device", "tok")]);
    // Even on a node that does not exist, or may not be read.
    t.watch(1, "/local/domain/2/nothing", "t2").unwrap();
    assert_eq!(t.take_events(), [ev(1, "/local/domain/2/nothing", "t2")]);
}

#[test]
fn relative_watch_gets_relative_paths() {
    let mut t = T::new();
    t.watch(1, "device", "fe").unwrap();
    t.watch(0, "backend", "be").unwrap();
    t.take_events();
    t.write(1, "device/vkbd/0/state", "3").unwrap();
    assert_eq!(t.take_events(), [ev(1, "device/vkbd/0/state", "fe")]);
    t.write(0, "/local/domain/0/backend/vkbd/1/0/state", "2").unwrap();
    assert_eq!(t.take_events(), [ev(0, "backend/vkbd/1/0/state", "be")]);
    // Absolute watch on the same node: absolute path.
    t.watch(0, "/local/domain/1/device/vkbd/0/state", "abs").unwrap();
    t.take_events();
    t.write(1, "device/vkbd/0/state", "4").unwrap();
    assert_eq!(t.take_events(), [ev(0, "/local/domain/1/device/vkbd/0/state", "abs"), ev(1, "device/vkbd/0/state", "fe")]);
}

#[test]
fn fires_for_changes_at_and_below_only() {
    let mut t = T::new();
    t.watch(1, "data/a", "w").unwrap();
    t.take_events();
    t.write(1, "data/a", "").unwrap();
    t.write(1, "data/a/b/c", "").unwrap();
    t.write(1, "data/ab", "").unwrap(); // not below data/a
    t.write(1, "data", "").unwrap(); // above
    assert_eq!(t.take_events(), [ev(1, "data/a", "w"), ev(1, "data/a/b/c", "w")]);
    // mkdir of an existing node changes nothing: no event.
    t.mkdir(1, "data/a").unwrap();
    assert!(t.take_events().is_empty());
    // Failed requests fire nothing.
    assert_eq!(t.write(1, "/local/domain/2/data/a", ""), Err(XsError::EACCES));
    assert!(t.take_events().is_empty());
}

#[test]
fn rm_of_a_parent_fires_watches_below_and_above() {
    let mut t = T::new();
    t.write(1, "data/a/b/c", "").unwrap();
    t.write(1, "data/a/d", "").unwrap();
    t.watch(1, "data/a/b/c", "leaf").unwrap();
    t.watch(1, "data/a/b", "mid").unwrap();
    t.watch(1, "data", "top").unwrap();
    t.watch(1, "data/a/zzz", "absent").unwrap();
    t.take_events();
    t.rm(1, "data/a").unwrap();
    let mut got = t.take_events();
    got.sort();
    // The watch above hears about the removed node once; those below about their node.
    assert_eq!(got, [ev(1, "data/a", "top"), ev(1, "data/a/b", "mid"), ev(1, "data/a/b/c", "leaf")]);
}

#[test]
fn fires_on_permission_change() {
    let mut t = T::new();
    t.write(1, "data/p", "").unwrap();
    t.set_perms(1, "data/p", &["n1", "r2"]).unwrap();
    t.watch(2, "/local/domain/1/data/p", "w2").unwrap();
    t.watch(1, "data/p", "w1").unwrap();
    t.take_events();
    // Domain 2 loses read access: it still hears about it (old permissions count).
    t.set_perms(1, "data/p", &["n1"]).unwrap();
    let mut got = t.take_events();
    got.sort();
    assert_eq!(got, [ev(1, "data/p", "w1"), ev(2, "/local/domain/1/data/p", "w2")]);
    // Now domain 2 may read neither the node nor its parent: nothing more for it.
    t.write(1, "data/p", "x").unwrap();
    assert_eq!(t.take_events(), [ev(1, "data/p", "w1")]);
}

#[test]
fn filtered_by_read_permission() {
    let mut t = T::new();
    // Domain 2 watches domain 1's data: it may not read it.
    t.watch(2, "/local/domain/1/data", "spy").unwrap();
    t.watch(0, "/local/domain/1/data", "dom0").unwrap();
    t.take_events();
    t.write(1, "data/secret", "s").unwrap();
    assert_eq!(t.take_events(), [ev(0, "/local/domain/1/data/secret", "dom0")]);
    // Readable node: domain 2 hears.
    t.write(1, "data/open", "").unwrap();
    t.take_events();
    t.set_perms(1, "data/open", &["n1", "r2"]).unwrap();
    t.take_events();
    t.write(1, "data/open", "o").unwrap();
    let mut got = t.take_events();
    got.sort();
    assert_eq!(got, [ev(0, "/local/domain/1/data/open", "dom0"), ev(2, "/local/domain/1/data/open", "spy")]);
    // Readable parent, unreadable child: the event still goes (Xen's rule: node or parent).
    t.set_perms(1, "data", &["n1", "r2"]).unwrap();
    t.take_events();
    t.write(1, "data/secret", "t").unwrap();
    let mut got = t.take_events();
    got.sort();
    assert_eq!(got, [ev(0, "/local/domain/1/data/secret", "dom0"), ev(2, "/local/domain/1/data/secret", "spy")]);
}

#[test]
fn special_watches() {
    let mut t = T::new();
    t.watch(0, "@introduceDomain", "intro").unwrap();
    t.watch(0, "@releaseDomain", "rel").unwrap();
    t.watch(1, "@releaseDomain", "rel1").unwrap();
    t.watch(0, "/", "root").unwrap();
    t.take_events();
    // Domain 1 may not read @releaseDomain: it hears nothing. A watch on / does not see
    // special names.
    let out = t.store.remove_domain(2);
    assert_eq!(common::decode_events(&out), [ev(0, "@releaseDomain", "rel")]);
    let out = t.store.connect(2, false).unwrap();
    assert_eq!(common::decode_events(&out), [ev(0, "@introduceDomain", "intro")]);
    // Once dom0 grants read access, domain 1 hears too.
    t.set_perms(0, "@releaseDomain", &["n0", "r1"]).unwrap();
    let out = t.store.remove_domain(2);
    let mut got = common::decode_events(&out);
    got.sort();
    assert_eq!(got, [ev(0, "@releaseDomain", "rel"), ev(1, "@releaseDomain", "rel1")]);
    // XS_RELEASE fires it too, before the reply.
    t.store.connect(2, false).unwrap();
    t.take_events();
    assert_eq!(t.req(0, wire::XS_RELEASE, 0, b"2\0").unwrap(), b"OK\0");
    assert_eq!(t.take_events().len(), 2);
}

#[test]
fn unwatch_and_duplicates() {
    let mut t = T::new();
    t.watch(1, "data", "a").unwrap();
    assert_eq!(t.watch(1, "data", "a"), Err(XsError::EEXIST));
    // Same path, another token; the same path spelled absolutely is the same watch.
    t.watch(1, "data", "b").unwrap();
    assert_eq!(t.watch(1, "/local/domain/1/data", "a"), Err(XsError::EEXIST));
    t.take_events();
    t.write(1, "data/x", "").unwrap();
    assert_eq!(t.take_events(), [ev(1, "data/x", "a"), ev(1, "data/x", "b")]);
    t.unwatch(1, "/local/domain/1/data", "a").unwrap();
    assert_eq!(t.unwatch(1, "data", "a"), Err(XsError::ENOENT));
    t.write(1, "data/x", "").unwrap();
    assert_eq!(t.take_events(), [ev(1, "data/x", "b")]);
    // XS_WATCH and XS_UNWATCH ignore tx_id.
    assert_eq!(t.req(1, XS_WATCH, 12345, b"data\0c\0").unwrap(), b"OK\0");
}

#[test]
fn watch_quota_is_e2big() {
    let mut q = Quota::UNPRIVILEGED;
    q.watches = 3;
    let mut t = T::with_quotas(q, Quota::PRIVILEGED);
    for i in 0..3 {
        t.watch(1, "data", &format!("t{i}")).unwrap();
    }
    assert_eq!(t.watch(1, "data", "t3"), Err(XsError::E2BIG));
    t.unwatch(1, "data", "t0").unwrap();
    t.watch(1, "data", "t3").unwrap();
}

#[test]
fn event_too_long_is_not_sent() {
    let mut t = T::new();
    // A token so long that path + token exceed XENSTORE_PAYLOAD_MAX: the watch is set but
    // its events cannot be sent (Xen drops them too).
    let token = "t".repeat(4000);
    let mut p = common::z("/local/domain/0/x");
    p.extend_from_slice(&common::z(&token));
    assert_eq!(t.req(0, XS_WATCH, 0, &p).unwrap(), b"OK\0");
    assert_eq!(t.take_events().len(), 1);
    t.write(0, &format!("/local/domain/0/x/{}", "y".repeat(100)), "").unwrap();
    assert!(t.take_events().is_empty());
}
