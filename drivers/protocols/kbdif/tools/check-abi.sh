#!/bin/sh
# Checks the vkbd layout src/kbdif.rs uses against the kernel's own kbdif.h: compiles
# tools/abi.c (include/xen/interface/io/kbdif.h of the kernel source, a _Static_assert per
# offset, size, constant and key name) for aarch64 with clang. With RUST_VALUES naming a
# directory that holds rust_values.h (tests/abi.rs writes one from the crate's constants and
# from where its encoder puts each field), it also asserts the crate's numbers against the
# header directly.
#   usage: tools/check-abi.sh [linux-source-dir]   (see scripts/lib/check-abi)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ABI_INCLUDE=${RUST_VALUES:-} exec "$here/../../../../scripts/lib/check-abi" "$here/abi.c" \
    "kbdif-protocol (include/xen/interface/io/kbdif.h${RUST_VALUES:+, src/kbdif.rs's values})" "$@"
