//! Arbitrary bytes as a hostile frontend against the backend's producer, a hostile backend
//! against the frontend's consumer, or an honest pair across the wrap of the indices, with
//! the invariants checked after every step (the driver shared with `cargo test`:
//! tests/harness/mod.rs, run there by tests/properties.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/harness/mod.rs"]
mod harness;

fuzz_target!(|data: &[u8]| {
    harness::run(data);
});
