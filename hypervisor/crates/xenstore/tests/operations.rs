//! Every request type, and malformed messages.

mod common;

use common::{strings, z, T};
use xenstore::wire::{self, Header, XsError, XENSTORE_PAYLOAD_MAX, XSD_SOCKMSG_SIZE};
use xenstore::wire::*;
use xenstore::{OutKind, Store};

#[test]
fn read_write_relative_and_absolute() {
    let mut t = T::new();
    t.write(1, "data/key", "value").unwrap();
    assert_eq!(t.read(1, "data/key").unwrap(), b"value");
    assert_eq!(t.read(1, "/local/domain/1/data/key").unwrap(), b"value");
    assert_eq!(t.read(0, "/local/domain/1/data/key").unwrap(), b"value");
    // Overwrite, binary value with NULs, empty value.
    t.write(1, "data/key", "a\0b").unwrap();
    assert_eq!(t.read(1, "data/key").unwrap(), b"a\0b");
    t.write(1, "data/key", "").unwrap();
    assert_eq!(t.read(1, "data/key").unwrap(), b"");
    assert_eq!(t.read(1, "data/nothing"), Err(XsError::ENOENT));
    assert_eq!(t.read(1, "name").unwrap(), b"dom1");
    assert_eq!(t.read(1, "domid").unwrap(), b"1");
}

#[test]
fn write_creates_parents() {
    let mut t = T::new();
    t.write(1, "data/a/b/c", "x").unwrap();
    assert_eq!(t.read(1, "data/a").unwrap(), b"");
    assert_eq!(t.dir(1, "data/a").unwrap(), ["b"]);
    assert_eq!(t.dir(1, "data/a/b").unwrap(), ["c"]);
    // New nodes inherit the parent's permissions, the unprivileged creator owning them.
    assert_eq!(t.get_perms(1, "data/a/b").unwrap(), ["n1"]);
}

#[test]
fn directory_lists_in_creation_order() {
    let mut t = T::new();
    for k in ["z", "a", "m"] {
        t.write(1, &format!("data/{k}"), "").unwrap();
    }
    assert_eq!(t.dir(1, "data").unwrap(), ["z", "a", "m"]);
    assert_eq!(t.dir(1, "data/z").unwrap(), Vec::<String>::new());
    assert_eq!(t.req(1, XS_DIRECTORY, 0, &z("data/z")).unwrap(), b"");
    assert_eq!(t.dir(1, "data/none"), Err(XsError::ENOENT));
    assert_eq!(t.dir(0, "/").unwrap(), ["local"]);
}

#[test]
fn directory_too_big_is_e2big_and_part_pages() {
    let mut t = T::new();
    for i in 0..200 {
        t.write(0, &format!("/big/a-rather-long-child-name-{i:05}"), "").unwrap();
    }
    assert_eq!(t.dir(0, "/big"), Err(XsError::E2BIG));
    let mut all = Vec::new();
    loop {
        let mut p = z("/big");
        p.extend_from_slice(&z(&all.len().to_string()));
        let r = t.req(0, XS_DIRECTORY_PART, 0, &p).unwrap();
        assert!(r.len() <= XENSTORE_PAYLOAD_MAX);
        let nul = r.iter().position(|&b| b == 0).unwrap();
        let body = &r[nul + 1..];
        if let Some(last) = body.strip_suffix(b"\0\0") {
            all.extend_from_slice(last);
            all.push(0);
            break;
        }
        if body == b"\0" {
            break;
        }
        all.extend_from_slice(body);
    }
    assert_eq!(strings(&all).len(), 200);
    // Past the end: the generation and an empty string.
    let mut p = z("/big");
    p.extend_from_slice(&z("999999"));
    assert!(t.req(0, XS_DIRECTORY_PART, 0, &p).unwrap().ends_with(b"\0\0"));
    // Offset must be decimal.
    let mut p = z("/big");
    p.extend_from_slice(&z("x"));
    assert_eq!(t.req(0, XS_DIRECTORY_PART, 0, &p), Err(XsError::EINVAL));
}

#[test]
fn mkdir_and_rm() {
    let mut t = T::new();
    t.mkdir(1, "data/d/e").unwrap();
    assert_eq!(t.read(1, "data/d/e").unwrap(), b"");
    t.write(1, "data/d/e", "keep").unwrap();
    // mkdir of an existing node leaves it alone.
    t.mkdir(1, "data/d/e").unwrap();
    assert_eq!(t.read(1, "data/d/e").unwrap(), b"keep");
    t.rm(1, "data/d").unwrap();
    assert_eq!(t.read(1, "data/d/e"), Err(XsError::ENOENT));
    assert_eq!(t.dir(1, "data").unwrap(), Vec::<String>::new());
    // Removing a missing node is fine when its parent exists, ENOENT otherwise.
    t.rm(1, "data/d").unwrap();
    assert_eq!(t.rm(1, "data/d/e"), Err(XsError::ENOENT));
    assert_eq!(t.rm(0, "/"), Err(XsError::EINVAL));
    assert_eq!(t.rm(1, "/"), Err(XsError::EACCES));
}

#[test]
fn get_and_set_perms() {
    let mut t = T::new();
    assert_eq!(t.get_perms(1, "device/vkbd/0").unwrap(), ["n1", "r0"]);
    assert_eq!(t.get_perms(0, "/local/domain/1").unwrap(), ["n0", "r1"]);
    t.write(1, "data/p", "").unwrap();
    t.set_perms(1, "data/p", &["n1", "r2"]).unwrap();
    assert_eq!(t.get_perms(1, "data/p").unwrap(), ["n1", "r2"]);
    assert_eq!(t.read(2, "/local/domain/1/data/p").unwrap(), b"");
    // Malformed permission strings.
    for bad in [&["x1"][..], &["r"], &["r1x"], &["r70000"], &[""]] {
        assert_eq!(t.set_perms(1, "data/p", bad), Err(XsError::EINVAL), "{bad:?}");
    }
    assert_eq!(t.req(1, XS_SET_PERMS, 0, &z("data/p")), Err(XsError::EINVAL), "no permission at all");
    // More entries than the quota allows.
    assert_eq!(t.set_perms(1, "data/p", &["n1", "r0", "r2", "r3", "r4", "r5"]), Err(XsError::ENOSPC));
    assert_eq!(t.set_perms(1, "data/none", &["n1"]), Err(XsError::ENOENT));
}

#[test]
fn special_node_perms() {
    let mut t = T::new();
    assert_eq!(t.get_perms(0, "@releaseDomain").unwrap(), ["n0"]);
    assert_eq!(t.get_perms(1, "@releaseDomain"), Err(XsError::EACCES));
    assert_eq!(t.set_perms(1, "@releaseDomain", &["n0", "r1"]), Err(XsError::EACCES));
    t.set_perms(0, "@releaseDomain", &["n0", "r1"]).unwrap();
    assert_eq!(t.get_perms(1, "@releaseDomain").unwrap(), ["n0", "r1"]);
    assert_eq!(t.get_perms(0, "@nothing"), Err(XsError::ENOENT));
    // Special names are for watches and permissions only.
    assert_eq!(t.read(0, "@releaseDomain"), Err(XsError::EINVAL));
    assert_eq!(t.write(0, "@releaseDomain", "x"), Err(XsError::EINVAL));
}

#[test]
fn domain_path_and_introduced() {
    let mut t = T::new();
    assert_eq!(t.req(1, XS_GET_DOMAIN_PATH, 0, &z("1")).unwrap(), z("/local/domain/1"));
    assert_eq!(t.req(2, XS_GET_DOMAIN_PATH, 0, &z("7")).unwrap(), z("/local/domain/7"));
    assert_eq!(t.req(2, XS_GET_DOMAIN_PATH, 0, &z("x")), Err(XsError::EINVAL));
    assert_eq!(t.req(2, XS_GET_DOMAIN_PATH, 0, &z("32752")), Err(XsError::EINVAL));
    assert_eq!(t.req(0, XS_IS_DOMAIN_INTRODUCED, 0, &z("1")).unwrap(), b"T\0");
    assert_eq!(t.req(0, XS_IS_DOMAIN_INTRODUCED, 0, &z("5")).unwrap(), b"F\0");
    assert_eq!(t.req(1, XS_IS_DOMAIN_INTRODUCED, 0, &z("0")), Err(XsError::EACCES));
}

#[test]
fn privileged_only_requests() {
    let mut t = T::new();
    for (ty, payload) in [
        (XS_CONTROL, z("check")),
        (XS_INTRODUCE, b"2\x0012\x003\0".to_vec()),
        (XS_RELEASE, z("2")),
        (XS_RESUME, z("2")),
        (XS_SET_TARGET, b"2\x001\0".to_vec()),
    ] {
        assert_eq!(t.req(1, ty, 0, &payload), Err(XsError::EACCES), "type {ty}");
    }
    assert_eq!(t.req(0, XS_CONTROL, 0, &z("check")).unwrap(), b"OK\0");
    assert!(t.req(0, XS_CONTROL, 0, &z("help")).is_ok());
    assert_eq!(t.req(0, XS_CONTROL, 0, &z("frobnicate")), Err(XsError::EINVAL));
    assert_eq!(t.req(0, XS_INTRODUCE, 0, b"2\x0012\x003\0").unwrap(), b"OK\0");
    assert_eq!(t.req(0, XS_INTRODUCE, 0, b"9\x0012\x003\0"), Err(XsError::ENOENT));
    assert_eq!(t.req(0, XS_INTRODUCE, 0, b"2\x00x\x003\0"), Err(XsError::EINVAL));
    assert_eq!(t.req(0, XS_RESUME, 0, &z("2")).unwrap(), b"OK\0");
    assert_eq!(t.req(0, XS_SET_TARGET, 0, b"2\x001\0"), Err(XsError::ENOSYS));
    assert_eq!(t.req(0, XS_RELEASE, 0, &z("0")), Err(XsError::EINVAL), "not itself");
    assert_eq!(t.req(0, XS_RELEASE, 0, &z("2")).unwrap(), b"OK\0");
    assert!(!t.store.is_connected(2));
    assert_eq!(t.req(0, XS_RELEASE, 0, &z("2")), Err(XsError::ENOENT));
    assert!(t.store.handle(2, &wire::build(XS_READ, 1, 0, &z("name"))).is_empty(), "released: not served");
}

#[test]
fn unknown_and_server_only_types() {
    let mut t = T::new();
    for ty in [20, XS_TYPE_COUNT, XS_INVALID, u32::MAX, XS_WATCH_EVENT, XS_ERROR] {
        assert_eq!(t.req(1, ty, 0, &z("name")), Err(XsError::ENOSYS), "type {ty}");
    }
}

#[test]
fn malformed_payloads_are_einval() {
    let mut t = T::new();
    let cases: &[(u32, &[u8])] = &[
        (XS_READ, b""),
        (XS_READ, b"name"),          // no NUL
        (XS_READ, b"name\0extra\0"), // two strings
        (XS_READ, b"na\0me\0"),
        (XS_DIRECTORY, b"\0"), // empty path
        (XS_WRITE, b"no-nul-at-all"),
        (XS_WATCH, b"path\0"),
        (XS_WATCH, b"path\0tok"),
        (XS_WATCH, b"path\0tok\0more\0"),
        (XS_UNWATCH, b"path"),
        (XS_TRANSACTION_START, b""),
        (XS_TRANSACTION_START, b"x\0"),
        (XS_RM, b"a//b\0"),
        (XS_MKDIR, b"a/\0"),
        (XS_READ, b"/bad char\0"),
        (XS_READ, b"/\xff\0"),
        (XS_GET_DOMAIN_PATH, b"1"),
        (XS_RESET_WATCHES, b""),
        (XS_RESET_WATCHES, b"x\0"),
    ];
    for (ty, payload) in cases {
        assert_eq!(t.req(1, *ty, 0, payload), Err(XsError::EINVAL), "type {ty} payload {payload:?}");
    }
}

#[test]
fn huge_paths_are_einval() {
    let mut t = T::new();
    let rel = "a".repeat(XENSTORE_REL_PATH_MAX + 1);
    assert_eq!(t.write(1, &rel, "x"), Err(XsError::EINVAL));
    let abs = format!("/{}", "a/".repeat(1600));
    assert_eq!(t.read(0, abs.trim_end_matches('/')), Err(XsError::EINVAL));
    // Just within the limit is fine (dom0: no node quota trouble).
    let ok = format!("/local/domain/0/data/{}", "b".repeat(XENSTORE_REL_PATH_MAX - 5));
    t.write(0, &ok, "x").unwrap();
    // A value as long as the payload allows.
    let mut p = z("/v");
    p.resize(XENSTORE_PAYLOAD_MAX, b'v');
    assert_eq!(t.req(0, XS_WRITE, 0, &p).unwrap(), b"OK\0");
    assert_eq!(t.read(0, "/v").unwrap().len(), XENSTORE_PAYLOAD_MAX - 3);
}

#[test]
fn bad_framing_given_to_handle() {
    let mut t = T::new();
    // Shorter than a header: nothing to reply to.
    assert!(t.raw(1, b"short").is_empty());
    assert!(t.raw(1, &[]).is_empty());
    // len disagrees with the bytes, or is too big: EINVAL, echoing the ids.
    let mut m = wire::build(XS_READ, 77, 0, &z("name"));
    m.push(0);
    let too_long = Header { ty: XS_READ, req_id: 78, tx_id: 0, len: XENSTORE_PAYLOAD_MAX as u32 + 1 }.to_bytes().to_vec();
    let short = Header { ty: XS_READ, req_id: 79, tx_id: 0, len: 10 }.to_bytes().to_vec();
    for (msg, id) in [(m, 77), (too_long, 78), (short, 79)] {
        let out = t.raw(1, &msg);
        assert_eq!(out.len(), 1);
        let (h, payload) = wire::split(&out[0].msg).unwrap();
        assert_eq!((h.ty, h.req_id), (XS_ERROR, id));
        assert_eq!(payload, b"EINVAL\0");
    }
    // A domain that is not connected is not answered.
    assert!(t.raw(9, &wire::build(XS_READ, 1, 0, &z("name"))).is_empty());
}

#[test]
fn reset_watches_drops_watches_and_transactions() {
    let mut t = T::new();
    t.watch(1, "data", "tok").unwrap();
    let tx = t.tx_start(1).unwrap();
    assert_eq!(t.req(1, XS_RESET_WATCHES, 0, b"\0").unwrap(), b"OK\0");
    assert_eq!(t.store.watch_count(1), 0);
    assert_eq!(t.store.transaction_count(1), 0);
    assert_eq!(t.tx_end(1, tx, true), Err(XsError::ENOENT));
    t.take_events();
    t.write(1, "data/x", "").unwrap();
    assert!(t.take_events().is_empty());
}

#[test]
fn build_helpers() {
    use xenstore::perms::{Access, Perms};
    let mut s = Store::new();
    s.connect(0, true).unwrap();
    let mut out = s.handle(0, &wire::build(XS_WATCH, 1, 0, b"/local/domain/3\0t\0"));
    out.retain(|o| o.kind == OutKind::WatchEvent);
    assert_eq!(out.len(), 1, "the watch fires once when set");
    let perms = Perms::owned_by(3).with(0, Access::Read);
    let ev = s.write_as("/local/domain/3/device/vfb/0/state", b"1", &perms).unwrap();
    assert_eq!(common::decode_events(&ev), [(0, "/local/domain/3/device/vfb/0/state".into(), "t".into())]);
    assert_eq!(s.read("/local/domain/3/device/vfb/0/state"), Some(&b"1"[..]));
    assert_eq!(s.perms("/local/domain/3/device/vfb/0/state"), Some(&perms));
    // Missing ancestors inherit the nearest existing one's permissions.
    assert_eq!(s.perms("/local/domain/3").unwrap().owner(), 0);
    s.mkdir_as("/local/domain/3", &Perms::owned_by(0).with(3, Access::Read)).unwrap();
    assert_eq!(s.children("/local/domain/3"), Some(&["device".to_string()][..]));
    s.set_perms_as("/local/domain/3/device", &Perms::owned_by(3)).unwrap();
    assert_eq!(s.rm_tree("/"), Err(XsError::EINVAL));
    assert_eq!(s.write_as("relative", b"", &perms), Err(XsError::EINVAL));
    let ev = s.rm_tree("/local/domain/3").unwrap();
    assert!(!ev.is_empty());
    assert!(s.read("/local/domain/3").is_none());
    assert!(s.rm_tree("/local/domain/3").unwrap().is_empty(), "absent: nothing");
    s.check().unwrap();
}

#[test]
fn connect_rules() {
    let mut s = Store::new();
    s.connect(1, false).unwrap();
    assert_eq!(s.connect(1, false), Err(XsError::EEXIST));
    assert_eq!(s.connect(0x7FF0, false), Err(XsError::EINVAL));
    assert_eq!(XSD_SOCKMSG_SIZE, 16);
}
