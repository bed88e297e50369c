//! Linux's boot sequence, replayed through real ring pages: what
//! xenbus_probe_backend.c (dom0) and xenbus_probe_frontend.c (domU) send for a vkbd device,
//! then the frontend/backend state machine to Connected, then a frontend unplug.

mod linux;

use linux::Sys;
use xenstore::perms::{Access, Perms};
use xenstore::wire::XsError;
use xenstore::{Server, Store};

// enum xenbus_state
const INITIALISING: u32 = 1;
const INIT_WAIT: u32 = 2;
const INITIALISED: u32 = 3;
const CONNECTED: u32 = 4;
const CLOSING: u32 = 5;
const CLOSED: u32 = 6;

const FE: &str = "/local/domain/1/device/vkbd/0";
const BE: &str = "/local/domain/0/backend/vkbd/1/0";

/// What the hypervisor writes at domain build (libxl's layout and permissions).
fn build() -> Server {
    let mut s = Store::new();
    let dom0_home = Perms::owned_by(0);
    s.mkdir_as("/local/domain/0", &dom0_home).unwrap();
    s.write_as("/local/domain/0/name", b"Domain-0", &dom0_home).unwrap();
    s.write_as("/local/domain/0/domid", b"0", &dom0_home).unwrap();
    let home = Perms::owned_by(0).with(1, Access::Read);
    s.mkdir_as("/local/domain/1", &home).unwrap();
    s.write_as("/local/domain/1/name", b"domU", &home).unwrap();
    s.write_as("/local/domain/1/domid", b"1", &home).unwrap();
    for d in ["device", "control", "data"] {
        s.mkdir_as(&format!("/local/domain/1/{d}"), &Perms::owned_by(1)).unwrap();
    }
    let fe = Perms::owned_by(1).with(0, Access::Read);
    s.mkdir_as(FE, &fe).unwrap();
    s.write_as(&format!("{FE}/backend"), BE.as_bytes(), &fe).unwrap();
    s.write_as(&format!("{FE}/backend-id"), b"0", &fe).unwrap();
    s.write_as(&format!("{FE}/state"), b"1", &fe).unwrap();
    let be = Perms::owned_by(0).with(1, Access::Read);
    s.mkdir_as(BE, &be).unwrap();
    s.write_as(&format!("{BE}/frontend"), FE.as_bytes(), &be).unwrap();
    s.write_as(&format!("{BE}/frontend-id"), b"1", &be).unwrap();
    s.write_as(&format!("{BE}/online"), b"1", &be).unwrap();
    s.write_as(&format!("{BE}/state"), b"1", &be).unwrap();
    let mut server = Server::new(s);
    server.connect(0, true).unwrap();
    server.connect(1, false).unwrap();
    server
}

/// xenbus_probe_devices(): list root/<type>/<...> down to `levels` and return the device
/// node names (relative, as Linux keeps them).
fn probe_devices(sys: &mut Sys, dom: u16, root: &str, levels: usize) -> Vec<String> {
    let mut nodes = vec![root.to_string()];
    for _ in 0..levels {
        let mut next = Vec::new();
        for n in nodes {
            for c in sys.directory(dom, &n).unwrap() {
                next.push(format!("{n}/{c}"));
            }
        }
        nodes = next;
    }
    nodes
}

#[test]
fn vkbd_comes_up_and_goes_down() {
    let mut sys = Sys::new(build(), &[0, 1]);

    // ---- dom0 boots: xenbus_probe_backend_init() + probe.
    sys.register_watch(0, "backend", "FFFF0000BE").unwrap();
    assert_eq!(sys.events(0), [("backend".to_string(), "FFFF0000BE".to_string())]);
    let be_nodes = probe_devices(&mut sys, 0, "backend", 3);
    assert_eq!(be_nodes, ["backend/vkbd/1/0"]);
    let be_node = &be_nodes[0];
    assert_eq!(sys.driver_state(0, be_node), INITIALISING);
    // read_otherend_details(): frontend-id, frontend, and the frontend must exist.
    assert_eq!(sys.read(0, 0, &format!("{be_node}/frontend-id")).unwrap(), "1");
    assert_eq!(sys.read(0, 0, &format!("{be_node}/frontend")).unwrap(), FE);
    assert!(sys.exists(0, FE));
    assert_eq!(sys.read(0, 0, &format!("{be_node}/online")).unwrap(), "1");
    // watch_otherend().
    sys.register_watch(0, &format!("{FE}/state"), "FFFF0000B1").unwrap();
    // The backend driver's probe: features, then InitWait.
    sys.write(0, 0, &format!("{be_node}/feature-abs-pointer"), "1").unwrap();
    sys.switch_state(0, be_node, INIT_WAIT);
    let ev0 = sys.events(0);
    assert!(ev0.contains(&(format!("{FE}/state"), "FFFF0000B1".into())), "initial otherend event");
    assert!(ev0.contains(&(format!("{be_node}/state"), "FFFF0000BE".into())), "own backend/ watch, relative");

    // ---- domU boots: xs_reset_watches() reads the feature flag (absent), then the frontend.
    assert_eq!(sys.read(1, 0, "control/platform-feature-xs_reset_watches"), Err(XsError::ENOENT));
    sys.register_watch(1, "device", "FFFF0000FE").unwrap();
    assert_eq!(sys.events(1), [("device".to_string(), "FFFF0000FE".to_string())]);
    let fe_nodes = probe_devices(&mut sys, 1, "device", 2);
    assert_eq!(fe_nodes, ["device/vkbd/0"]);
    let fe_node = &fe_nodes[0];
    assert_eq!(sys.driver_state(1, fe_node), INITIALISING);
    assert_eq!(sys.read(1, 0, &format!("{fe_node}/backend-id")).unwrap(), "0");
    let backend = sys.read(1, 0, &format!("{fe_node}/backend")).unwrap();
    assert_eq!(backend, BE);
    assert!(sys.exists(1, &backend), "the frontend may read its backend's directory");
    sys.register_watch(1, &format!("{backend}/state"), "FFFF0000F1").unwrap();
    assert_eq!(sys.driver_state(1, &backend), INIT_WAIT);
    // xen-kbdfront's probe: read backend features, publish its ring in a transaction.
    assert_eq!(sys.read(1, 0, &format!("{backend}/feature-abs-pointer")).unwrap(), "1");
    assert_eq!(sys.read(1, 0, &format!("{backend}/feature-multi-touch")), Err(XsError::ENOENT));
    loop {
        let tx = sys.transaction_start(1).unwrap();
        sys.write(1, tx, &format!("{fe_node}/page-ref"), "262144").unwrap();
        sys.write(1, tx, &format!("{fe_node}/page-gref"), "8").unwrap();
        sys.write(1, tx, &format!("{fe_node}/event-channel"), "5").unwrap();
        sys.write(1, tx, &format!("{fe_node}/request-abs-pointer"), "1").unwrap();
        match sys.transaction_end(1, tx, false) {
            Ok(()) => break,
            Err(XsError::EAGAIN) => continue,
            Err(e) => panic!("{e}"),
        }
    }
    sys.switch_state(1, fe_node, INITIALISED);
    // The frontend may not write the backend's nodes.
    assert_eq!(sys.write(1, 0, &format!("{backend}/state"), "4"), Err(XsError::EACCES));

    // ---- dom0's xenwatch: the frontend changed.
    let ev0 = sys.events(0);
    assert!(ev0.contains(&(format!("{FE}/state"), "FFFF0000B1".into())), "{ev0:?}");
    assert_eq!(sys.driver_state(0, FE), INITIALISED);
    assert_eq!(sys.read(0, 0, &format!("{FE}/page-gref")).unwrap(), "8");
    assert_eq!(sys.read(0, 0, &format!("{FE}/event-channel")).unwrap(), "5");
    sys.switch_state(0, be_node, CONNECTED);

    // ---- domU's xenwatch: the backend is connected.
    let ev1 = sys.events(1);
    assert!(ev1.contains(&(format!("{BE}/state"), "FFFF0000F1".into())), "{ev1:?}");
    assert_eq!(sys.driver_state(1, BE), CONNECTED);
    sys.switch_state(1, fe_node, CONNECTED);
    assert_eq!(sys.driver_state(0, FE), CONNECTED);

    // ---- The frontend goes away (rmmod): Closing, Closed; the backend follows.
    sys.switch_state(1, fe_node, CLOSING);
    assert_eq!(sys.driver_state(0, FE), CLOSING);
    sys.switch_state(0, be_node, CLOSING);
    sys.switch_state(1, fe_node, CLOSED);
    sys.switch_state(0, be_node, CLOSED);
    assert_eq!(sys.driver_state(1, BE), CLOSED);
    // And comes back (insmod): Initialising again, which the backend sees.
    sys.events(0);
    sys.switch_state(1, fe_node, INITIALISING);
    assert!(sys.events(0).contains(&(format!("{FE}/state"), "FFFF0000B1".into())));

    // Nothing leaked: everything the guests did fit in their quotas and rings.
    sys.server.store().check().unwrap();
    for d in [0, 1] {
        let port = sys.server.port(d).unwrap();
        assert!(port.is_active());
        assert!(port.out_queue().is_empty());
        assert_eq!(sys.server.store().transaction_count(d), 0);
    }
    assert!(sys.guests[&1].sent > 30);
}

#[test]
fn domain_destroy_fires_release_and_backend_cleans_up() {
    let mut sys = Sys::new(build(), &[0, 1]);
    sys.register_watch(0, "@releaseDomain", "rel").unwrap();
    sys.register_watch(0, "backend", "be").unwrap();
    sys.events(0);
    // The hypervisor destroys domain 1: release, then removes its nodes and its backend
    // directory (the toolstack's job on Xen).
    let mut dirty = sys.server.remove_domain(1);
    let out = sys.server.store_mut().rm_tree("/local/domain/1").unwrap();
    dirty.extend(sys.server.deliver(out));
    let out = sys.server.store_mut().rm_tree("/local/domain/0/backend/vkbd/1").unwrap();
    dirty.extend(sys.server.deliver(out));
    sys.pump(&dirty);
    let ev = sys.events(0);
    assert_eq!(ev[0], ("@releaseDomain".to_string(), "rel".to_string()));
    assert!(ev.contains(&("backend/vkbd/1".to_string(), "be".to_string())), "{ev:?}");
    // dom0's backend, on the event: xenbus_dev_changed() finds the device gone.
    assert!(!sys.exists(0, "backend/vkbd/1/0"));
    assert_eq!(sys.directory(0, "backend/vkbd").unwrap(), Vec::<String>::new());
}
