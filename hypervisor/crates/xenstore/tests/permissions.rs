//! Xen's permission rules, as a domU meets them.

mod common;

use common::T;
use xenstore::wire::XsError;

#[test]
fn domu_cannot_touch_other_domains() {
    let mut t = T::new();
    t.write(2, "data/secret", "s").unwrap();
    // Domain 1 can neither read, list, write nor remove domain 2's nodes...
    assert_eq!(t.read(1, "/local/domain/2/data/secret"), Err(XsError::EACCES));
    assert_eq!(t.dir(1, "/local/domain/2/data"), Err(XsError::EACCES));
    assert_eq!(t.write(1, "/local/domain/2/data/secret", "x"), Err(XsError::EACCES));
    assert_eq!(t.write(1, "/local/domain/2/data/new", "x"), Err(XsError::EACCES));
    assert_eq!(t.rm(1, "/local/domain/2/data/secret"), Err(XsError::EACCES));
    assert_eq!(t.mkdir(1, "/local/domain/2/data/d"), Err(XsError::EACCES));
    assert_eq!(t.get_perms(1, "/local/domain/2/data/secret"), Err(XsError::EACCES));
    assert_eq!(t.set_perms(1, "/local/domain/2/data/secret", &["b1"]), Err(XsError::EACCES));
    // ...and learns nothing about what does not exist there.
    assert_eq!(t.read(1, "/local/domain/2/data/none"), Err(XsError::EACCES));
    assert_eq!(t.read(1, "/local/domain/9/x"), Err(XsError::EACCES));
    // Nor outside any home.
    assert_eq!(t.write(1, "/tool/x", "x"), Err(XsError::EACCES));
    assert_eq!(t.dir(1, "/"), Err(XsError::EACCES));
    assert_eq!(t.dir(1, "/local/domain"), Err(XsError::EACCES));
    assert_eq!(t.read(2, "/local/domain/2/data/secret").unwrap(), b"s");
}

#[test]
fn dom0_can_do_anything() {
    let mut t = T::new();
    t.write(2, "data/secret", "s").unwrap();
    assert_eq!(t.read(0, "/local/domain/2/data/secret").unwrap(), b"s");
    t.write(0, "/local/domain/2/data/secret", "t").unwrap();
    t.set_perms(0, "/local/domain/2/data/secret", &["n1"]).unwrap();
    t.write(0, "/anything/at/all", "v").unwrap();
    assert_eq!(t.dir(0, "/local/domain").unwrap(), ["0", "1", "2"]);
    t.rm(0, "/local/domain/2/data").unwrap();
    // Privileged creation inherits the owner: still domain 2's directory below its home?
    t.mkdir(0, "/local/domain/2/data").unwrap();
    assert_eq!(t.get_perms(0, "/local/domain/2/data").unwrap(), ["n0", "r2"], "inherited from the home, unchanged");
}

#[test]
fn domu_owns_its_subtree_when_the_toolstack_gave_it() {
    let mut t = T::new();
    // Home: n0 r1, readable not writable.
    assert_eq!(t.read(1, "name").unwrap(), b"dom1");
    assert_eq!(t.write(1, "name", "evil"), Err(XsError::EACCES));
    assert_eq!(t.write(1, "newkey", "x"), Err(XsError::EACCES));
    assert_eq!(t.rm(1, "name"), Err(XsError::EACCES));
    // device/, control/, data/: owned by the domain.
    t.write(1, "device/vkbd/0/page-ref", "42").unwrap();
    t.write(1, "control/feature-poweroff", "1").unwrap();
    t.rm(1, "control/feature-poweroff").unwrap();
    t.mkdir(1, "data/x/y").unwrap();
    assert_eq!(t.get_perms(1, "data/x/y").unwrap(), ["n1"]);
    // The frontend directory (n1 r0): the domain's; the backend reads it.
    assert_eq!(t.read(0, "/local/domain/1/device/vkbd/0/page-ref").unwrap(), b"42");
    assert_eq!(t.read(2, "/local/domain/1/device/vkbd/0/page-ref"), Err(XsError::EACCES));
}

#[test]
fn frontend_reads_backend_but_cannot_write_it() {
    let mut t = T::new();
    let be = "/local/domain/0/backend/vkbd/1/0";
    assert_eq!(t.read(1, &format!("{be}/state")).unwrap(), b"1");
    assert_eq!(t.dir(1, be).unwrap(), ["frontend", "frontend-id", "state"]);
    assert_eq!(t.write(1, &format!("{be}/state"), "4"), Err(XsError::EACCES));
    // Missing key below a readable, non-writable node: EACCES for a write...
    assert_eq!(t.write(1, &format!("{be}/feature-x"), "1"), Err(XsError::EACCES));
    // ...and ENOENT for a read (the parent can be read: nothing is hidden).
    assert_eq!(t.read(1, &format!("{be}/feature-x")), Err(XsError::ENOENT));
    // Domain 2 sees nothing of it.
    assert_eq!(t.read(2, &format!("{be}/state")), Err(XsError::EACCES));
}

#[test]
fn acl_entries() {
    let mut t = T::new();
    t.write(1, "data/shared", "v").unwrap();
    // w for domain 2: it may write, not read.
    t.set_perms(1, "data/shared", &["n1", "w2"]).unwrap();
    t.write(2, "/local/domain/1/data/shared", "from2").unwrap();
    assert_eq!(t.read(2, "/local/domain/1/data/shared"), Err(XsError::EACCES));
    assert_eq!(t.read(1, "data/shared").unwrap(), b"from2");
    // b: both.
    t.set_perms(1, "data/shared", &["n1", "b2"]).unwrap();
    assert_eq!(t.read(2, "/local/domain/1/data/shared").unwrap(), b"from2");
    // Default for everybody else: r.
    t.set_perms(1, "data/shared", &["r1"]).unwrap();
    assert_eq!(t.read(2, "/local/domain/1/data/shared").unwrap(), b"from2");
    assert_eq!(t.write(2, "/local/domain/1/data/shared", "x"), Err(XsError::EACCES));
    // First matching entry wins.
    t.set_perms(1, "data/shared", &["n1", "n2", "b2"]).unwrap();
    assert_eq!(t.read(2, "/local/domain/1/data/shared"), Err(XsError::EACCES));
    // A writer that is not the owner cannot change permissions.
    t.set_perms(1, "data/shared", &["n1", "b2"]).unwrap();
    assert_eq!(t.set_perms(2, "/local/domain/1/data/shared", &["n1", "b2", "r0"]), Err(XsError::EACCES));
    // Nodes created by domain 2 in domain 1's node belong to domain 2, same ACL.
    t.set_perms(1, "data", &["n1", "b2"]).unwrap();
    t.write(2, "/local/domain/1/data/by2", "").unwrap();
    assert_eq!(t.get_perms(2, "/local/domain/1/data/by2").unwrap(), ["n2", "b2"]);
}

#[test]
fn unprivileged_owner_cannot_give_away() {
    let mut t = T::new();
    t.write(1, "data/mine", "").unwrap();
    // Xen answers EPERM; Linux knows only the xs_wire.h table: EACCES.
    assert_eq!(t.set_perms(1, "data/mine", &["n2"]), Err(XsError::EACCES));
    assert_eq!(t.get_perms(1, "data/mine").unwrap(), ["n1"]);
    // dom0 can.
    t.set_perms(0, "/local/domain/1/data/mine", &["n2"]).unwrap();
    assert_eq!(t.read(1, "data/mine"), Err(XsError::EACCES));
    assert_eq!(t.read(2, "/local/domain/1/data/mine").unwrap(), b"");
}

#[test]
fn removal_of_a_domain_scrubs_its_permissions() {
    let mut t = T::new();
    t.write(0, "/shared", "").unwrap();
    t.set_perms(0, "/shared", &["n0", "r2"]).unwrap();
    t.write(2, "data/x", "").unwrap();
    t.store.remove_domain(2);
    assert_eq!(t.get_perms(0, "/shared").unwrap(), ["n0"]);
    // What domain 2 owned is dom0's now: a new domain 2 inherits nothing.
    assert_eq!(t.get_perms(0, "/local/domain/2/data/x").unwrap(), ["n0"]);
    assert_eq!(t.store.node_count(2), 0);
    t.store.connect(2, false).unwrap();
    assert_eq!(t.read(2, "/local/domain/2/data/x"), Err(XsError::EACCES));
}
