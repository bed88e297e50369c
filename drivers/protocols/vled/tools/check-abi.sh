#!/bin/sh
# Checks the vled layout against the kernel's Xen ring.h: extracts the C block (```c) of
# docs/protocols/vled.md as vledif.h, puts DEFINE_RING_TYPES from the kernel source's
# include/xen/interface/io/ring.h under it, and compiles abi.c (a _Static_assert per offset,
# size and constant, the numbers src/ring.rs and tests/layout.rs use) for aarch64 with clang.
#   usage: tools/check-abi.sh [linux-source-dir]   (default: ~/.cache/reptar/linux-source)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
doc=$here/../../../../docs/protocols/vled.md
linux=${1:-${LINUX_SRC:-$HOME/.cache/reptar/linux-source}}
cc=${CLANG:-clang-19}
shim=$(mktemp -d)
trap 'rm -rf "$shim"' EXIT
# The interface headers only need the fixed-size types of <linux/types.h>.
mkdir -p "$shim/linux"
cat > "$shim/linux/types.h" <<'H'
#include <stdint.h>
typedef uint8_t u8; typedef uint16_t u16; typedef uint32_t u32; typedef uint64_t u64;
typedef int8_t s8; typedef int16_t s16; typedef int32_t s32; typedef int64_t s64;
H
awk '/^```c$/ { on = 1; n++; next } /^```$/ { on = 0 } on && n == 1' "$doc" > "$shim/vledif.h"
[ -s "$shim/vledif.h" ] || { echo "no C block in $doc" >&2; exit 1; }
"$cc" --target=aarch64-linux-gnu -ffreestanding -fsyntax-only -Wall -Werror \
    -I"$shim" -I"$linux/include" -I"$linux/arch/arm64/include" "$here/abi.c"
echo "vled-protocol: the layout of docs/protocols/vled.md matches $linux's ring.h"
