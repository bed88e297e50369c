//! Arbitrary bytes as a sequence of event-channel operations and guest actions on three
//! domains, with the hypervisor's invariants checked after every step (the driver shared
//! with `cargo test`: tests/harness/mod.rs, run there by tests/properties.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/harness/mod.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    harness::run(data);
});
