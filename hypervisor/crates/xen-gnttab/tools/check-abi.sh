#!/bin/sh
# Checks the ABI numbers and layouts this crate uses (tools/abi.c) against the kernel's Xen
# headers: tools/check-abi.sh [linux-source-dir] (see scripts/lib/check-abi).
here=$(cd "$(dirname "$0")" && pwd)
exec "$here/../../../../scripts/lib/check-abi" "$here/abi.c" xen-gnttab "$@"
