//! Hands the linker script to the linker from OUT_DIR rather than from the source tree: the
//! target directory is a cache shared by every checkout, and cargo may reuse this script's
//! output for another checkout than the one that ran it (whose path would then be stale).
fn main() {
    let source = std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("linker.ld");
    let out = std::path::Path::new(&std::env::var("OUT_DIR").unwrap()).join("linker.ld");
    std::fs::copy(&source, &out).expect("copy linker.ld to OUT_DIR");
    println!("cargo:rustc-link-arg=-T{}", out.display());
    println!("cargo:rerun-if-changed=linker.ld");
}
