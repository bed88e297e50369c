//! Test support shared by the protocol crates (each test includes this file with `#[path]`):
//! a protocol file compiled on its own, as a kernel module includes it: a `#![no_std]` crate
//! root with `#[path = "..."] pub mod <name>;`, beside the shared files the protocol files name
//! from the crate root (`crate::shared_page` and `crate::xenbus_state`, which kernel-ext
//! includes and the module re-exports, and `crate::ring_index`), with the lints the kernel builds Rust with
//! (`rust_common_flags` in the kernel's Makefile, clippy aside) turned into errors.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A file of drivers/protocols/common/src (`shared_page.rs`, `ring_index.rs`,
/// `xenbus_state.rs`).
pub fn common(file: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../common/src")).join(file)
}

/// Panics with the compiler's messages unless `modules`, each `(name, source)`, build in this
/// order as modules of a `#![no_std]` crate under the kernel's lints, the way a kernel module's
/// crate root has them: after kernel-ext (reduced to its `#[path]` includes of
/// common/src/shared_page.rs and xenbus_state.rs) and `pub use kext::{shared_page,
/// xenbus_state};`. `work` is a scratch directory.
pub fn assert_builds_alone(modules: &[(&str, &Path)], work: &Path) {
    std::fs::create_dir_all(work).unwrap();
    let mut root = format!(
        "//! A kernel module's crate root, reduced to what includes the protocol.\n\
         #![no_std]\n\
         /// kernel-ext (drivers/kernel-ext/mod.rs), reduced to the common files it includes.\n\
         pub mod kext {{\n\
         #[path = {:?}]\n\
         pub mod shared_page;\n\
         #[path = {:?}]\n\
         pub mod xenbus_state;\n\
         }}\n\
         pub use kext::{{shared_page, xenbus_state}};\n",
        common("shared_page.rs"),
        common("xenbus_state.rs")
    );
    for (name, src) in modules {
        root += &format!("#[path = {src:?}]\npub mod {name};\n");
    }
    let name = modules.last().map_or("shared_page", |(name, _)| name);
    let root_file = work.join("module.rs");
    std::fs::write(&root_file, root).unwrap();
    // Cargo tells build scripts and tests which compiler it uses; default to the project's.
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "/usr/bin/rustc".into());
    let out = Command::new(rustc)
        .args(["--edition=2021", "--crate-type=rlib", &format!("--crate-name={name}_module"), "--emit=metadata"])
        .args(["-Dwarnings", "-Dnon_ascii_idents", "-Dunsafe_op_in_unsafe_fn", "-Dunsafe_code"])
        .args(["-Dmissing_docs", "-Drust_2018_idioms", "-Dunreachable_pub", "-Dunused"])
        .arg("--out-dir")
        .arg(work)
        .arg(&root_file)
        .output()
        .expect("run rustc");
    assert!(
        out.status.success(),
        "{} does not build alone:\n{}",
        modules.iter().map(|(_, src)| src.display().to_string()).collect::<Vec<_>>().join(" + "),
        String::from_utf8_lossy(&out.stderr)
    );
}
