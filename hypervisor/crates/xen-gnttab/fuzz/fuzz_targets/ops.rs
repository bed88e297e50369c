//! Arbitrary bytes as a sequence of grant operations, guest table writes (Linux's and
//! hostile ones), stage-2 failures and domain destructions on three domains, with the
//! invariants checked after every step (the driver shared with `cargo test`:
//! tests/harness/mod.rs, run there by tests/properties.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/harness/mod.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    harness::run(data);
});
