//! libFuzzer target: arbitrary bytes as a script of requests, ring traffic and domain
//! events from three domains, through wire, ring, engine and server
//! (`xenstore::harness::run`); any violated invariant is a crash.
//!
//! `cargo fuzz run engine --features libfuzzer` (from crates/xenstore/fuzz, nightly).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = xenstore::harness::run(data) {
        panic!("xenstore invariant violated: {violation}");
    }
});
