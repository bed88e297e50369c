//! Test support shared by the protocol crates (each test includes this file with `#[path]`):
//! a protocol file compiled on its own, as a kernel module includes it: a `#![no_std]` crate
//! root with `#[path = "..."] pub mod <name>;`, with the lints the kernel builds Rust with
//! (`rust_common_flags` in the kernel's Makefile, clippy aside) turned into errors.

use std::path::Path;
use std::process::Command;

/// Panics with the compiler's messages unless `src` builds as module `name` of a `#![no_std]`
/// crate under the kernel's lints; `work` is a scratch directory.
pub fn assert_builds_alone(src: &Path, name: &str, work: &Path) {
    std::fs::create_dir_all(work).unwrap();
    let root = work.join("module.rs");
    std::fs::write(
        &root,
        format!(
            "//! A kernel module's crate root, reduced to what includes the protocol.\n\
             #![no_std]\n\
             #[path = {src:?}]\n\
             pub mod {name};\n"
        ),
    )
    .unwrap();
    // Cargo tells build scripts and tests which compiler it uses; default to the project's.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "/usr/bin/rustc".into());
    let out = Command::new(rustc)
        .args(["--edition=2021", "--crate-type=rlib", &format!("--crate-name={name}_module"), "--emit=metadata"])
        .args(["-Dwarnings", "-Dnon_ascii_idents", "-Dunsafe_op_in_unsafe_fn", "-Dunsafe_code"])
        .args(["-Dmissing_docs", "-Drust_2018_idioms", "-Dunreachable_pub", "-Dunused"])
        .arg("--out-dir")
        .arg(work)
        .arg(&root)
        .output()
        .expect("run rustc");
    assert!(
        out.status.success(),
        "{} does not build alone:\n{}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
