# The one toolchain for kernel, modules and hypervisor (DESIGN.md section 3): Debian's rustc-web,
# clang/lld 19 and bindgen-cli from the cache. rustup's rustc is never used.
BINDGEN_VERSION=0.72.1
BINDGEN=$REPTAR_CACHE/tools/bindgen-$BINDGEN_VERSION/bin/bindgen
export LIBCLANG_PATH=/usr/lib/llvm-19/lib
KMAKE_VARS=(ARCH=arm64 LLVM=-19 RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc BINDGEN="$BINDGEN")
