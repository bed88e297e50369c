#!/bin/sh
# Checks the ABI numbers and layouts the crate uses against the Xen interface headers of the
# kernel source (include/xen/interface/, include/xen/arm/interface.h), compiled for aarch64
# with clang: every CHECK() in abi.c is a _Static_assert.
#   usage: tools/check-abi.sh [linux-source-dir]   (default: ~/.cache/reptar/linux-source)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
linux=${1:-${LINUX_SRC:-$HOME/.cache/reptar/linux-source}}
cc=${CLANG:-clang-19}
shim=$(mktemp -d)
trap 'rm -rf "$shim"' EXIT
# The interface headers only need the fixed-size types of <linux/types.h> (and memory.h
# includes <linux/spinlock.h> for nothing it uses here).
mkdir -p "$shim/linux"
cat > "$shim/linux/types.h" <<'H'
#include <stdint.h>
typedef uint8_t u8; typedef uint16_t u16; typedef uint32_t u32; typedef uint64_t u64;
typedef int8_t s8; typedef int16_t s16; typedef int32_t s32; typedef int64_t s64;
typedef uint64_t __attribute__((aligned(8))) aligned_u64;
H
: > "$shim/linux/spinlock.h"
"$cc" --target=aarch64-linux-gnu -ffreestanding -fsyntax-only -Wall -Werror \
    -I"$shim" -I"$linux/include" -I"$linux/arch/arm64/include" "$here/abi.c"
echo "$(basename "$(dirname "$here")"): ABI layouts match $linux"
