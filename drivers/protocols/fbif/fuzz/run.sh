#!/bin/sh
# Fuzzes this crate with libFuzzer: fuzz/run.sh [target] [seconds] [libFuzzer options...]
# (see scripts/lib/fuzz-run).
exec "$(dirname "$0")/../../../../scripts/lib/fuzz-run" "$(dirname "$0")" "$@"
