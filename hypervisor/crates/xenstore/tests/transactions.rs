//! Transactions: isolation, commit, abort, conflicts (EAGAIN), quotas.

mod common;

use common::{ev, T};
use xenstore::wire::{XsError, XS_READ, XS_TRANSACTION_END, XS_TRANSACTION_START};
use xenstore::Quota;

#[test]
fn commit_applies_and_fires_at_commit() {
    let mut t = T::new();
    t.watch(0, "/local/domain/1/data", "w").unwrap();
    t.take_events();
    let tx = t.tx_start(1).unwrap();
    assert_ne!(tx, 0);
    t.write_tx(1, tx, "data/a", "1").unwrap();
    t.write_tx(1, tx, "data/b/c", "2").unwrap();
    t.write_tx(1, tx, "data/a", "3").unwrap();
    // Inside: the transaction sees its writes; outside nobody does, and no event yet.
    assert_eq!(t.read_tx(1, tx, "data/a").unwrap(), b"3");
    assert_eq!(t.dir_tx(1, tx, "data").unwrap(), ["a", "b"]);
    assert_eq!(t.read(1, "data/a"), Err(XsError::ENOENT));
    assert_eq!(t.read(0, "/local/domain/1/data/b/c"), Err(XsError::ENOENT));
    assert!(t.take_events().is_empty());
    t.tx_end(1, tx, true).unwrap();
    assert_eq!(t.read(1, "data/a").unwrap(), b"3");
    assert_eq!(t.read(1, "data/b/c").unwrap(), b"2");
    // One event per node changed, however often.
    assert_eq!(t.take_events(), [ev(0, "/local/domain/1/data/a", "w"), ev(0, "/local/domain/1/data/b/c", "w")]);
    assert_eq!(t.store.transaction_count(1), 0);
}

#[test]
fn abort_discards() {
    let mut t = T::new();
    let tx = t.tx_start(1).unwrap();
    t.write_tx(1, tx, "data/a", "1").unwrap();
    t.rm_tx(1, tx, "device").unwrap();
    t.tx_end(1, tx, false).unwrap();
    assert_eq!(t.read(1, "data/a"), Err(XsError::ENOENT));
    assert_eq!(t.dir(1, "device").unwrap(), ["vkbd"]);
    assert_eq!(t.tx_end(1, tx, true), Err(XsError::ENOENT), "gone");
}

#[test]
fn conflict_is_eagain_and_retry_succeeds() {
    let mut t = T::new();
    let state = "device/vkbd/0/state";
    // xenbus_switch_state(): read state and write it in a transaction.
    let tx = t.tx_start(1).unwrap();
    assert_eq!(t.read_tx(1, tx, state).unwrap(), b"1");
    // Someone changes the node meanwhile (dom0 may).
    t.write(0, "/local/domain/1/device/vkbd/0/state", "5").unwrap();
    t.write_tx(1, tx, state, "3").unwrap();
    assert_eq!(t.tx_end(1, tx, true), Err(XsError::EAGAIN));
    // Nothing of the transaction applied; it is gone.
    assert_eq!(t.read(1, state).unwrap(), b"5");
    assert_eq!(t.store.transaction_count(1), 0);
    // Retry, as Linux does.
    let tx = t.tx_start(1).unwrap();
    assert_eq!(t.read_tx(1, tx, state).unwrap(), b"5");
    t.write_tx(1, tx, state, "3").unwrap();
    t.tx_end(1, tx, true).unwrap();
    assert_eq!(t.read(1, state).unwrap(), b"3");
}

#[test]
fn conflict_on_a_node_found_missing() {
    let mut t = T::new();
    let tx = t.tx_start(1).unwrap();
    assert_eq!(t.read_tx(1, tx, "data/flag"), Err(XsError::ENOENT));
    t.write_tx(1, tx, "data/other", "x").unwrap();
    t.write(1, "data/flag", "now here").unwrap();
    assert_eq!(t.tx_end(1, tx, true), Err(XsError::EAGAIN));
    assert_eq!(t.read(1, "data/other"), Err(XsError::ENOENT));
}

#[test]
fn conflict_on_a_listed_directory() {
    let mut t = T::new();
    let tx = t.tx_start(1).unwrap();
    assert_eq!(t.dir_tx(1, tx, "data").unwrap(), Vec::<String>::new());
    t.write(1, "data/new", "").unwrap();
    t.write_tx(1, tx, "control/x", "").unwrap();
    assert_eq!(t.tx_end(1, tx, true), Err(XsError::EAGAIN));
}

#[test]
fn concurrent_transactions_on_disjoint_nodes_both_commit() {
    let mut t = T::new();
    let a = t.tx_start(1).unwrap();
    let b = t.tx_start(2).unwrap();
    t.write_tx(1, a, "data/x", "a").unwrap();
    t.write_tx(2, b, "data/x", "b").unwrap();
    t.tx_end(1, a, true).unwrap();
    t.tx_end(2, b, true).unwrap();
    assert_eq!(t.read(1, "data/x").unwrap(), b"a");
    assert_eq!(t.read(2, "data/x").unwrap(), b"b");
    // Same node from two transactions: the second to commit loses.
    let a = t.tx_start(1).unwrap();
    let c = t.tx_start(0).unwrap();
    t.write_tx(1, a, "data/x", "a2").unwrap();
    t.write_tx(0, c, "/local/domain/1/data/x", "c").unwrap();
    t.tx_end(0, c, true).unwrap();
    assert_eq!(t.tx_end(1, a, true), Err(XsError::EAGAIN));
    assert_eq!(t.read(1, "data/x").unwrap(), b"c");
}

#[test]
fn rm_in_transaction() {
    let mut t = T::new();
    t.write(1, "data/a/b", "").unwrap();
    t.watch(1, "data/a/b", "leaf").unwrap();
    t.take_events();
    let tx = t.tx_start(1).unwrap();
    t.rm_tx(1, tx, "data/a").unwrap();
    assert_eq!(t.read_tx(1, tx, "data/a/b"), Err(XsError::ENOENT));
    assert_eq!(t.read(1, "data/a/b").unwrap(), b"");
    t.write_tx(1, tx, "data/a", "again").unwrap();
    assert_eq!(t.dir_tx(1, tx, "data/a").unwrap(), Vec::<String>::new());
    t.tx_end(1, tx, true).unwrap();
    assert_eq!(t.read(1, "data/a").unwrap(), b"again");
    assert_eq!(t.read(1, "data/a/b"), Err(XsError::ENOENT));
    assert_eq!(t.take_events(), [ev(1, "data/a/b", "leaf")]);
}

#[test]
fn protocol_errors() {
    let mut t = T::new();
    let tx = t.tx_start(1).unwrap();
    // Unknown transaction id: ENOENT, on any request that takes one.
    assert_eq!(t.read_tx(1, tx + 100, "name"), Err(XsError::ENOENT));
    assert_eq!(t.req(1, XS_TRANSACTION_END, tx + 100, b"T\0"), Err(XsError::ENOENT));
    // Another domain's transaction id is not ours.
    assert_eq!(t.read_tx(2, tx, "name"), Err(XsError::ENOENT));
    // TRANSACTION_END without a transaction, or with a bad argument.
    assert_eq!(t.req(1, XS_TRANSACTION_END, 0, b"T\0"), Err(XsError::ENOENT));
    assert_eq!(t.req(1, XS_TRANSACTION_END, tx, b"X\0"), Err(XsError::EINVAL));
    assert_eq!(t.req(1, XS_TRANSACTION_END, tx, b"T"), Err(XsError::EINVAL));
    // Nested start: EBUSY.
    assert_eq!(t.req(1, XS_TRANSACTION_START, tx, b"\0"), Err(XsError::EBUSY));
    // Still open after those errors.
    assert_eq!(t.req(1, XS_READ, tx, b"name\0").unwrap(), b"dom1");
    t.tx_end(1, tx, false).unwrap();
    // Ids are never 0 and not reused while open.
    let a = t.tx_start(1).unwrap();
    let b = t.tx_start(1).unwrap();
    assert!(a != 0 && b != 0 && a != b);
}

#[test]
fn transaction_quotas() {
    let mut q = Quota::UNPRIVILEGED;
    q.transactions = 2;
    q.tx_nodes = 8;
    q.nodes = 14;
    let mut t = T::with_quotas(q, Quota::PRIVILEGED);
    let a = t.tx_start(1).unwrap();
    let _b = t.tx_start(1).unwrap();
    assert_eq!(t.tx_start(1), Err(XsError::ENOSPC));
    // Too many nodes looked at in one transaction.
    let mut r = Ok(());
    for i in 0..10 {
        r = t.write_tx(1, a, &format!("data/k{i}"), "v");
        if r.is_err() {
            break;
        }
    }
    assert_eq!(r, Err(XsError::ENOSPC));
    t.tx_end(1, a, false).unwrap();
    // Node quota checked at commit: creating one node more than the quota leaves room for
    // passes each write, not the commit.
    let owned = t.store.node_count(1);
    let tx = t.tx_start(1).unwrap();
    let room = q.nodes - owned;
    for i in 0..=room {
        t.write_tx(1, tx, &format!("data/n{i}"), "").unwrap();
    }
    assert_eq!(t.tx_end(1, tx, true), Err(XsError::ENOSPC));
    assert_eq!(t.store.node_count(1), owned);
}

#[test]
fn guest_tool_txn_conflict_scenario() {
    // rootfs/programs/xenstore `txn-conflict PATH`: two transactions of one domain read and
    // write the same node; the first commits, the second gets EAGAIN.
    let mut t = T::new();
    let first = t.tx_start(1).unwrap();
    let second = t.tx_start(1).unwrap();
    let _ = t.read_tx(1, first, "data/c");
    let _ = t.read_tx(1, second, "data/c");
    t.write_tx(1, first, "data/c", "first").unwrap();
    t.write_tx(1, second, "data/c", "second").unwrap();
    t.tx_end(1, first, true).unwrap();
    assert_eq!(t.tx_end(1, second, true), Err(XsError::EAGAIN));
    assert_eq!(t.read(1, "data/c").unwrap(), b"first");
}
