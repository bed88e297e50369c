#!/bin/sh
# Fuzzes the xenstore engine with libFuzzer: fuzz/run.sh [engine] [seconds] [libFuzzer options...]
# (default 600 s; see scripts/lib/fuzz-run; xs_wire messages carry up to 4 KiB of payload).
# Without a C++ compiler, `cargo run --release --bin driver` is the plain random driver.
target=${1:-engine}
[ $# -gt 0 ] && shift
secs=${1:-600}
[ $# -gt 0 ] && shift
FUZZ_FEATURES=libfuzzer FUZZ_MAX_LEN=8192 \
    exec "$(dirname "$0")/../../../../scripts/lib/fuzz-run" "$(dirname "$0")" "$target" "$secs" "$@"
