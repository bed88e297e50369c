#!/bin/sh
# Checks the vfb layout src/fbif.rs uses against the kernel's own fbif.h: compiles
# tools/abi.c (include/xen/interface/io/fbif.h of the kernel source, a _Static_assert per
# offset, size and constant; fbif.h names no keys) for aarch64 with clang. With RUST_VALUES naming a
# directory that holds rust_values.h (tests/abi.rs writes one from the crate's constants and
# from where its encoder puts each field), it also asserts the crate's numbers against the
# header directly.
#   usage: tools/check-abi.sh [linux-source-dir]   (see scripts/lib/check-abi)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
ABI_INCLUDE=${RUST_VALUES:-} exec "$here/../../../../scripts/lib/check-abi" "$here/abi.c" \
    "fbif-protocol (include/xen/interface/io/fbif.h${RUST_VALUES:+, src/fbif.rs's values})" "$@"
