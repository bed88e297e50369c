//! src/kbdif.rs compiled on its own, as a kernel module includes it: a `#![no_std]` crate
//! root with `#[path = ".../kbdif.rs"] pub mod kbdif;`, with the lints the kernel builds Rust
//! with (`rust_common_flags` in the kernel's Makefile, clippy aside) turned into errors.

use std::path::Path;
use std::process::Command;

#[test]
fn kbdif_rs_builds_alone_with_the_kernels_lints() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/kbdif.rs");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kbdif-standalone");
    std::fs::create_dir_all(&dir).unwrap();
    let root = dir.join("module.rs");
    std::fs::write(
        &root,
        format!(
            "//! A kernel module's crate root, reduced to what includes the protocol.\n\
             #![no_std]\n\
             #[path = {src:?}]\n\
             pub mod kbdif;\n"
        ),
    )
    .unwrap();
    // Cargo tells build scripts and tests which compiler it uses; default to the project's.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "/usr/bin/rustc".into());
    let out = Command::new(rustc)
        .args(["--edition=2021", "--crate-type=rlib", "--crate-name=kbdif_module", "--emit=metadata"])
        .args(["-Dwarnings", "-Dnon_ascii_idents", "-Dunsafe_op_in_unsafe_fn", "-Dunsafe_code"])
        .args(["-Dmissing_docs", "-Drust_2018_idioms", "-Dunreachable_pub", "-Dunused"])
        .arg("--out-dir")
        .arg(&dir)
        .arg(&root)
        .output()
        .expect("run rustc");
    assert!(
        out.status.success(),
        "kbdif.rs does not build alone:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
