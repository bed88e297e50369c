//! Property tests: arbitrary operation sequences (the fuzz driver of tests/harness, with its
//! invariants checked after every step) and arbitrary argument bytes.

mod harness;

use proptest::prelude::*;
use xen_gnttab::wire;

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    /// Any byte string is a valid run: pins match the mappings exactly, GTF_reading and
    /// GTF_writing are set exactly while pinned, every mapping is installed in stage 2 and
    /// nothing else is, counters agree, released domains leave consistent orphans, and
    /// nothing panics.
    #[test]
    fn random_operation_sequences_keep_the_invariants(
        data in prop::collection::vec(any::<u8>(), 0..500),
    ) {
        let _ = harness::run(&data);
    }

    /// The decoders never panic and accept exactly the elements that are long enough.
    #[test]
    fn decoders_accept_any_bytes(data in prop::collection::vec(any::<u8>(), 0..48)) {
        let n = data.len();
        prop_assert_eq!(wire::decode_map(&data).is_some(), n >= wire::MAP_GRANT_REF_SIZE);
        prop_assert_eq!(wire::decode_unmap(&data).is_some(), n >= wire::UNMAP_GRANT_REF_SIZE);
        let replace = wire::decode_unmap_and_replace(&data);
        prop_assert_eq!(replace.is_some(), n >= wire::UNMAP_AND_REPLACE_SIZE);
        prop_assert_eq!(wire::decode_copy(&data).is_some(), n >= wire::COPY_SIZE);
        prop_assert_eq!(wire::decode_setup_table(&data).is_some(), n >= wire::SETUP_TABLE_SIZE);
        prop_assert_eq!(wire::decode_query_size(&data).is_some(), n >= wire::QUERY_SIZE_SIZE);
        prop_assert_eq!(wire::decode_set_version(&data).is_some(), n >= wire::SET_VERSION_SIZE);
        prop_assert_eq!(wire::decode_get_version(&data).is_some(), n >= wire::GET_VERSION_SIZE);
    }

    /// Decoding then re-encoding the outputs leaves the input fields alone.
    #[test]
    fn map_outputs_do_not_touch_inputs(
        data in prop::collection::vec(any::<u8>(), 32..33),
        handle in any::<u32>(),
        bus in any::<u64>(),
    ) {
        let mut b = data.clone();
        let before = wire::decode_map(&b).unwrap();
        wire::encode_map(&mut b, &Ok(xen_gnttab::Mapped { handle, dev_bus_addr: bus }));
        prop_assert_eq!(wire::decode_map(&b).unwrap(), before);
        prop_assert_eq!(&b[..18], &data[..18]);
        prop_assert_eq!(wire::get_u32(&b, wire::MAP_HANDLE), Some(handle));
        prop_assert_eq!(wire::get_u64(&b, wire::MAP_DEV_BUS_ADDR), Some(bus));
    }
}

/// Longer fuzz-style runs with a cheap generator, so that `cargo test` goes deeper than the
/// proptest cases.
#[test]
fn long_pseudo_random_runs() {
    let mut x = 0x243f_6a88_85a3_08d3u64;
    let mut done = [0u64; 3];
    for _ in 0..100 {
        let data: Vec<u8> = (0..4000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        for (t, d) in done.iter_mut().zip(harness::run(&data)) {
            *t += d;
        }
    }
    // The driver does reach the interesting paths.
    assert!(
        done[0] > 50 && done[1] > 25 && done[2] > 50,
        "maps, unmaps, copies: {done:?}"
    );
}
