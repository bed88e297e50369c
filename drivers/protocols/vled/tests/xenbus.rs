//! The xenbus state machine: the transitions docs/protocols/vled.md lists, and a model of
//! xenstore with both drivers in it (watches that report a path and let the reader see the
//! state as it is *then*, drivers loaded and unloaded in any order, a domU restart, errors on
//! either side) where the two always end up connected to the same ring.

use proptest::prelude::*;
use vled_protocol::XenbusState::{self, *};
use vled_protocol::{backend_action, frontend_action, BackendAction as B, FrontendAction as F, MAX_CONNECT_ATTEMPTS};

const ALL: [XenbusState; 9] =
    [Unknown, Initialising, InitWait, Initialised, Connected, Closing, Closed, Reconfiguring, Reconfigured];

#[test]
fn frontend_transitions() {
    // The normal start.
    assert_eq!(frontend_action(Initialising, Initialising, true), F::Nothing);
    assert_eq!(frontend_action(Initialising, InitWait, true), F::Connect);
    assert_eq!(frontend_action(Initialised, InitWait, true), F::Nothing);
    assert_eq!(frontend_action(Initialised, Connected, true), F::Activate);
    assert_eq!(frontend_action(Connected, Connected, true), F::Nothing);
    // The backend goes away (rmmod: Closed; error: Closing) and comes back.
    assert_eq!(frontend_action(Connected, Closed, true), F::CloseAndReinit);
    assert_eq!(frontend_action(Connected, Closing, true), F::Close);
    assert_eq!(frontend_action(Closed, Closed, true), F::Reinit);
    assert_eq!(frontend_action(Closed, InitWait, true), F::Connect);
    // Its Closed was missed: InitWait under a connected frontend.
    assert_eq!(frontend_action(Connected, InitWait, true), F::Reconnect);
    // The backend's directory is gone, or was reset.
    assert_eq!(frontend_action(Connected, Unknown, true), F::CloseAndReinit);
    assert_eq!(frontend_action(Initialised, Initialising, true), F::CloseAndReinit);
    // Giving up after repeated failed attempts; a backend that restarts still gets an answer.
    assert_eq!(frontend_action(Connected, Closed, false), F::Close);
    assert_eq!(frontend_action(Closed, Closed, false), F::Nothing);
    assert_eq!(frontend_action(Closed, InitWait, false), F::Connect);
    // The frontend closing on its own error waits for the backend to close.
    assert_eq!(frontend_action(Closing, Connected, true), F::Nothing);
    assert_eq!(frontend_action(Closing, Closing, true), F::Close);
    assert_eq!(frontend_action(Closing, Closed, true), F::CloseAndReinit);
}

#[test]
fn backend_transitions() {
    assert_eq!(backend_action(InitWait, Initialising), B::Nothing);
    assert_eq!(backend_action(InitWait, Initialised), B::Connect);
    assert_eq!(backend_action(Connected, Initialised), B::Nothing);
    assert_eq!(backend_action(Connected, Connected), B::Nothing);
    // A stale Connected from a previous frontend: wait for Initialised.
    assert_eq!(backend_action(InitWait, Connected), B::Nothing);
    // The frontend goes away and comes back (its Closed may be missed).
    assert_eq!(backend_action(Connected, Closing), B::Close);
    assert_eq!(backend_action(Connected, Closed), B::Closed);
    assert_eq!(backend_action(Closing, Closed), B::Closed);
    assert_eq!(backend_action(Closed, Closed), B::Nothing);
    // Waiting, it keeps waiting for a frontend that gave up (Closed) to come back.
    assert_eq!(backend_action(InitWait, Closed), B::Nothing);
    assert_eq!(backend_action(Closed, Initialising), B::Prepare);
    assert_eq!(backend_action(Connected, Initialising), B::Prepare);
    assert_eq!(backend_action(Closing, Initialising), B::Prepare);
    // The frontend's directory is gone.
    assert_eq!(backend_action(Connected, Unknown), B::Closed);
    // The backend closing on a ring error waits for the frontend to close.
    assert_eq!(backend_action(Closing, Initialised), B::Nothing);
    assert_eq!(backend_action(Closing, Connected), B::Nothing);
    assert_eq!(backend_action(Closing, Closing), B::Nothing);
}

#[test]
fn every_pair_of_states_has_an_answer() {
    for me in ALL {
        for other in ALL {
            let _ = frontend_action(me, other, true);
            let _ = frontend_action(me, other, false);
            let _ = backend_action(me, other);
        }
    }
    // Garbage in the other side's key reads as Unknown: "gone".
    assert_eq!(frontend_action(Connected, XenbusState::parse(b"99"), true), F::CloseAndReinit);
    assert_eq!(backend_action(Connected, XenbusState::parse(b"x"), ), B::Closed);
}

/// Xenstore and the two drivers.
#[derive(Debug)]
struct World {
    // The store.
    fe_state: XenbusState,
    be_state: XenbusState,
    ring_ref: Option<u32>,
    // The frontend (domU): its xenbus device's in-memory state and the driver's.
    f_loaded: bool,
    f_dev_state: XenbusState,
    f_ring: Option<u32>,
    f_attempts: u32,
    f_events: u32,
    // The backend (dom0).
    b_loaded: bool,
    b_dev_state: XenbusState,
    b_mapped: Option<u32>,
    b_events: u32,
    next_ring: u32,
    deliveries: u32,
}

#[derive(Clone, Copy, Debug)]
enum Op {
    DeliverFront,
    DeliverBack,
    RmmodFront,
    InsmodFront,
    RmmodBack,
    InsmodBack,
    /// Destroy and rebuild the domU (its frontend loads at boot or not).
    RestartDomU { front_at_boot: bool },
    /// The backend finds a bogus req_prod.
    BackendRingError,
    /// The frontend finds a bogus rsp_prod.
    FrontendRingError,
}

impl World {
    /// Both drivers loaded at boot, nothing delivered yet.
    fn boot() -> Self {
        let mut w = World {
            fe_state: Initialising,
            be_state: Initialising,
            ring_ref: None,
            f_loaded: false,
            f_dev_state: Initialising,
            f_ring: None,
            f_attempts: 0,
            f_events: 0,
            b_loaded: false,
            b_dev_state: Initialising,
            b_mapped: None,
            b_events: 0,
            next_ring: 1,
            deliveries: 0,
        };
        w.insmod_back();
        w.insmod_front();
        w
    }

    /// xenbus_switch_state: writes only if the device's state changes; fires the other's watch.
    fn f_switch(&mut self, s: XenbusState) {
        if self.f_dev_state != s {
            self.f_dev_state = s;
            self.fe_state = s;
            if self.b_loaded {
                self.b_events += 1;
            }
        }
    }

    fn b_switch(&mut self, s: XenbusState) {
        if self.b_dev_state != s {
            self.b_dev_state = s;
            self.be_state = s;
            if self.f_loaded {
                self.f_events += 1;
            }
        }
    }

    fn f_disconnect(&mut self) {
        self.f_ring = None; // grant revoked
    }

    fn f_connect(&mut self) {
        self.f_attempts += 1;
        let ring = self.next_ring;
        self.next_ring += 1;
        self.f_ring = Some(ring);
        self.ring_ref = Some(ring);
        self.f_switch(Initialised);
    }

    fn b_disconnect(&mut self) {
        self.b_mapped = None;
    }

    fn deliver_front(&mut self) {
        self.f_events -= 1;
        self.deliveries += 1;
        let may_reinit = self.f_attempts < MAX_CONNECT_ATTEMPTS;
        match frontend_action(self.f_dev_state, self.be_state, may_reinit) {
            F::Nothing => {}
            F::Connect => self.f_connect(),
            F::Reconnect => {
                self.f_disconnect();
                self.f_connect();
            }
            F::Activate => {
                self.f_attempts = 0;
                self.f_switch(Connected);
            }
            F::Close => {
                self.f_disconnect();
                self.f_switch(Closed);
            }
            F::CloseAndReinit => {
                self.f_disconnect();
                self.f_switch(Closed);
                self.f_switch(Initialising);
            }
            F::Reinit => self.f_switch(Initialising),
        }
    }

    fn deliver_back(&mut self) {
        self.b_events -= 1;
        self.deliveries += 1;
        match backend_action(self.b_dev_state, self.fe_state) {
            B::Nothing => {}
            B::Prepare => {
                self.b_disconnect();
                self.b_switch(InitWait);
            }
            B::Connect => {
                // The grant must still be the frontend's live ring.
                match self.ring_ref {
                    Some(r) if self.f_ring == Some(r) => {
                        self.b_mapped = Some(r);
                        self.b_switch(Connected);
                    }
                    _ => self.b_switch(Closing), // xenbus_dev_fatal
                }
            }
            B::Close => {
                self.b_disconnect();
                self.b_switch(Closing);
            }
            B::Closed => {
                self.b_disconnect();
                self.b_switch(Closed);
            }
        }
    }

    fn insmod_front(&mut self) {
        self.f_loaded = true;
        self.f_attempts = 0;
        self.f_switch(Initialising); // probe
        self.f_events += 1; // watch registration fires once
    }

    fn rmmod_front(&mut self) {
        self.f_disconnect();
        self.f_switch(Closed); // xenbus_dev_remove
        self.f_loaded = false;
        self.f_events = 0;
    }

    fn insmod_back(&mut self) {
        self.b_loaded = true;
        self.b_disconnect();
        self.b_switch(InitWait); // probe: keys, then InitWait
        self.b_events += 1;
    }

    fn rmmod_back(&mut self) {
        self.b_disconnect();
        self.b_switch(Closed);
        self.b_loaded = false;
        self.b_events = 0;
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::DeliverFront if self.f_events > 0 => self.deliver_front(),
            Op::DeliverBack if self.b_events > 0 => self.deliver_back(),
            Op::RmmodFront if self.f_loaded => self.rmmod_front(),
            Op::InsmodFront if !self.f_loaded => self.insmod_front(),
            Op::RmmodBack if self.b_loaded => self.rmmod_back(),
            Op::InsmodBack if !self.b_loaded => self.insmod_back(),
            Op::RestartDomU { front_at_boot } => {
                // Destroy: both directories go; the backend device is unregistered (its
                // remove unmaps), the frontend with its domain.
                self.b_disconnect();
                self.f_ring = None;
                self.ring_ref = None;
                self.f_events = 0;
                self.b_events = 0;
                // Rebuild: new directories in Initialising, new devices.
                self.fe_state = Initialising;
                self.be_state = Initialising;
                self.f_dev_state = Initialising;
                self.b_dev_state = Initialising;
                self.f_loaded = false;
                if self.b_loaded {
                    self.insmod_back();
                }
                if front_at_boot {
                    self.insmod_front();
                }
            }
            Op::BackendRingError if self.b_loaded && self.b_dev_state == Connected => {
                self.b_disconnect();
                self.b_switch(Closing);
            }
            Op::FrontendRingError if self.f_loaded && self.f_dev_state == Connected => {
                self.f_disconnect();
                self.f_switch(Closing);
            }
            _ => {}
        }
    }

    /// Delivers pending events, in the order `picks` says, until there are none.
    fn settle(&mut self, picks: &[bool]) {
        let mut i = 0;
        while self.f_events > 0 || self.b_events > 0 {
            assert!(self.deliveries < 10_000, "no quiescence: {self:?}");
            let front = match (self.f_events > 0, self.b_events > 0) {
                (true, true) => picks.get(i % picks.len().max(1)).copied().unwrap_or(true),
                (f, _) => f,
            };
            i += 1;
            if front {
                self.deliver_front();
            } else {
                self.deliver_back();
            }
        }
    }

    fn connected(&self) -> bool {
        self.fe_state == Connected
            && self.be_state == Connected
            && self.f_ring.is_some()
            && self.b_mapped == self.f_ring
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::DeliverFront),
        6 => Just(Op::DeliverBack),
        1 => Just(Op::RmmodFront),
        1 => Just(Op::InsmodFront),
        1 => Just(Op::RmmodBack),
        1 => Just(Op::InsmodBack),
        1 => any::<bool>().prop_map(|front_at_boot| Op::RestartDomU { front_at_boot }),
    ]
}

fn op_with_errors() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => op(),
        1 => Just(Op::BackendRingError),
        1 => Just(Op::FrontendRingError),
    ]
}

#[test]
fn boot_connects() {
    let mut w = World::boot();
    w.settle(&[true]);
    assert!(w.connected(), "{w:?}");
    let mut w = World::boot();
    w.settle(&[false]);
    assert!(w.connected(), "{w:?}");
}

#[test]
fn quick_reload_of_either_side_with_missed_states() {
    // Backend rmmod + insmod before the frontend looks: it only ever sees InitWait.
    let mut w = World::boot();
    w.settle(&[true]);
    w.rmmod_back();
    w.insmod_back();
    w.settle(&[true, false]);
    assert!(w.connected(), "{w:?}");
    // Frontend rmmod + insmod before the backend looks: it only ever sees Initialising.
    w.rmmod_front();
    w.insmod_front();
    w.settle(&[false, true]);
    assert!(w.connected(), "{w:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Loads, unloads, restarts and watch deliveries in any order: once both drivers are
    /// loaded and every event is delivered, they are connected to the frontend's current ring.
    #[test]
    fn any_history_ends_connected(
        ops in prop::collection::vec(op(), 0..80),
        picks in prop::collection::vec(any::<bool>(), 1..20),
    ) {
        let mut w = World::boot();
        for op in ops {
            w.apply(op);
        }
        w.apply(Op::InsmodBack);
        w.apply(Op::InsmodFront);
        w.settle(&picks);
        prop_assert!(w.connected(), "{:?}", w);
    }

    /// With ring errors too: connected, or the frontend gave up after MAX_CONNECT_ATTEMPTS
    /// (both Closed, nothing looping), from which reloading either driver reconnects.
    #[test]
    fn errors_end_connected_or_quiet(
        ops in prop::collection::vec(op_with_errors(), 0..80),
        picks in prop::collection::vec(any::<bool>(), 1..20),
        reload_front in any::<bool>(),
    ) {
        let mut w = World::boot();
        for op in ops {
            w.apply(op);
        }
        w.apply(Op::InsmodBack);
        w.apply(Op::InsmodFront);
        w.settle(&picks);
        if !w.connected() {
            prop_assert!(w.f_attempts >= MAX_CONNECT_ATTEMPTS, "{:?}", w);
            prop_assert_eq!((w.fe_state, w.be_state), (Closed, Closed));
            if reload_front {
                w.apply(Op::RmmodFront);
                w.apply(Op::InsmodFront);
            } else {
                w.apply(Op::RmmodBack);
                w.apply(Op::InsmodBack);
            }
            w.settle(&picks);
            prop_assert!(w.connected(), "{:?}", w);
        }
    }
}
