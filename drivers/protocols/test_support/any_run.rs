//! Test support shared by the tests/properties.rs of kbdif and fbif (each includes this file
//! with `#[path]`, beside its `mod harness`): the fuzz target's runs as a property test.

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Any byte string is a run against a hostile peer, or of an honest pair, that keeps every
    /// invariant the harness checks.
    #[test]
    fn any_run_keeps_the_invariants(data in prop::collection::vec(any::<u8>(), 0..3000)) {
        super::harness::run(&data);
    }
}
