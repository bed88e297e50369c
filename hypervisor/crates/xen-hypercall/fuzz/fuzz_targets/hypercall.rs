//! Arbitrary bytes as a guest memory image (a region with a range that faults) and a series
//! of hypercalls on it (number in x16, x0-x4), each decoded and every accessor of its result
//! called, with the crate's promises checked after each (the driver shared with `cargo
//! test`: tests/harness/mod.rs, run there by tests/properties.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/harness/mod.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    harness::run(data);
});
