#!/bin/sh
# Checks the vled layout against the kernel's Xen ring.h: extracts the C block (```c) of
# docs/protocols/vled.md as vledif.h, and compiles abi.c (DEFINE_RING_TYPES from the kernel
# source's include/xen/interface/io/ring.h over it, a _Static_assert per offset, size and
# constant, the numbers src/ring.rs and tests/layout.rs use) for aarch64 with clang.
#   usage: tools/check-abi.sh [linux-source-dir]   (see scripts/lib/check-abi)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
doc=$here/../../../../docs/protocols/vled.md
generated=$(mktemp -d)
trap 'rm -rf "$generated"' EXIT
awk '/^```c$/ { on = 1; n++; next } /^```$/ { on = 0 } on && n == 1' "$doc" > "$generated/vledif.h"
[ -s "$generated/vledif.h" ] || { echo "no C block in $doc" >&2; exit 1; }
ABI_INCLUDE=$generated "$here/../../../../scripts/lib/check-abi" "$here/abi.c" "vled-protocol (docs/protocols/vled.md)" "$@"
