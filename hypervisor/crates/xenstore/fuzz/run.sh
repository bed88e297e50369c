#!/bin/sh
# Coverage-guided fuzzing of the xenstore crate with libFuzzer, without cargo-fuzz or a
# nightly toolchain: builds fuzz_targets/engine.rs with the SanitizerCoverage flags
# cargo-fuzz would pass (Debian's rustc, RUSTC_BOOTSTRAP for the -C passes option), then
# runs it on corpus/engine. Crashes land in artifacts/.
#
#   ./run.sh            # 10 minutes
#   ./run.sh 3600       # an hour
#   ./run.sh 60 -jobs=4 # extra libFuzzer options after the duration
#
# With cargo-fuzz and nightly installed, `cargo fuzz run engine --features libfuzzer` is
# the same thing. Without a C++ compiler, `cargo run --release --bin driver` is the plain
# random driver.
set -eu
cd "$(dirname "$0")"
secs="${1:-600}"
[ $# -gt 0 ] && shift
target=x86_64-unknown-linux-gnu
RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 --cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
  /usr/bin/cargo build --release --features libfuzzer --bin engine --target "$target"
mkdir -p corpus/engine artifacts
exec "target/$target/release/engine" -max_total_time="$secs" -max_len=8192 \
  -artifact_prefix=artifacts/ "$@" corpus/engine
