//! Xenstore, hosted by the REPTAR hypervisor for every domain, dom0 included, as
//! EmbeddedXEN did: no user-space xenstored, no toolstack. Unmodified Linux (CONFIG_XEN)
//! talks to it through the standard ring page and event channel (`HVM_PARAM_STORE_PFN`,
//! `HVM_PARAM_STORE_EVTCHN`), and the hypervisor writes each domain's nodes at domain build.
//!
//! Plain logic, `no_std` + `alloc`, no `unsafe`, no panics on guest input:
//!
//! - [`wire`]: `struct xsd_sockmsg` framing, `XS_*` types, error strings, payload shapes
//!   (Linux's `include/xen/interface/io/xs_wire.h`);
//! - [`path`]: node names (validation, relative paths);
//! - [`perms`]: permission lists with Xen's semantics;
//! - [`store`]: the tree, its accounting, and the node operations;
//! - [`engine`]: [`Store`]: connections, requests to replies, watches, transactions,
//!   quotas, and the domain build helpers;
//! - [`ring`]: `struct xenstore_domain_interface`: index checks, wrap-around copies,
//!   message reassembly, bounded output queues, one domain's [`ring::Port`];
//! - [`server`]: [`Server`]: the store and every domain's ring, what the hypervisor calls.
//!
//! docs/xenstore.md describes what is implemented, how it differs from Xen's xenstored,
//! and how the hypervisor wires it to the rings.
//!
//! # Example
//!
//! ```
//! use xenstore::perms::{Access, Perms};
//! use xenstore::wire::{self, XS_READ};
//! use xenstore::{OutKind, Store};
//!
//! let mut store = Store::new();
//! // Domain build: domain 1's home, readable by dom0, and a key in it.
//! store.mkdir_as("/local/domain/1", &Perms::owned_by(0).with(1, Access::Read)).unwrap();
//! store.write_as("/local/domain/1/name", b"domU", &Perms::owned_by(0).with(1, Access::Read)).unwrap();
//! store.connect(0, true).unwrap();
//! store.connect(1, false).unwrap();
//!
//! // Domain 1 reads its name with a relative path.
//! let out = store.handle(1, &wire::build(XS_READ, 42, 0, b"name\0"));
//! assert_eq!(out.len(), 1);
//! assert_eq!(out[0].kind, OutKind::Reply);
//! let (hdr, payload) = wire::split(&out[0].msg).unwrap();
//! assert_eq!((hdr.ty, hdr.req_id), (XS_READ, 42));
//! assert_eq!(payload, b"domU");
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod engine;
pub mod path;
pub mod perms;
pub mod ring;
pub mod server;
pub mod store;
pub mod wire;

#[cfg(feature = "harness")]
pub mod harness;

/// A domain id (`domid_t`).
pub type DomId = u16;

pub use engine::{OutKind, Outgoing, Quota, Store};
pub use server::{Served, Server};
pub use wire::XsError;
