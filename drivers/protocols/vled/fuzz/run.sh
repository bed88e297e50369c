#!/bin/sh
# Builds and runs a fuzz target of this crate with libFuzzer, the way `cargo fuzz run` does
# (sancov instrumentation, --cfg fuzzing, debug assertions), but with Debian's
# /usr/bin/cargo and /usr/bin/rustc and without AddressSanitizer: the crates are
# forbid(unsafe_code), and ASan needs a nightly runtime this toolchain does not ship.
#   usage: fuzz/run.sh [target] [seconds]      (default: the first target, 60 s)
# Where cargo-fuzz is installed (and a nightly toolchain), `cargo fuzz run <target>` from the
# crate directory does the same with ASan.
set -eu
cd "$(dirname "$0")"
target=${1:-$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | sed -n 2p)}
secs=${2:-60}
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
host=$(/usr/bin/rustc -vV | sed -n 's/^host: //p')
/usr/bin/cargo build --release --target "$host" --bin "$target"
mkdir -p "corpus/$target" "artifacts/$target"
exec "target/$host/release/$target" "corpus/$target" -artifact_prefix="artifacts/$target/" \
    -max_total_time="$secs" -max_len=4096
