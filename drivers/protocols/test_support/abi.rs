//! Test support shared by the tests/abi.rs of kbdif and fbif (each includes this file with
//! `#[path]`): a crate's values, written to a rust_values.h, checked by its
//! tools/check-abi.sh (tools/abi.c) against the kernel's `include/xen/interface/io/<protocol>.h`
//! when clang-19 and the kernel source are on the machine (`make test` fetches the source
//! first); skipped, with a note, otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `needle` sits in `hay` (it must be there exactly once).
pub fn at(hay: &[u8], needle: &[u8]) -> usize {
    let hits: Vec<usize> = hay.windows(needle.len()).enumerate().filter(|(_, w)| *w == needle).map(|(i, _)| i).collect();
    assert_eq!(hits.len(), 1, "{needle:x?} in {hay:x?}");
    hits[0]
}

/// Panics unless tools/check-abi.sh finds `values` (the rust_values.h of src/`protocol`.rs)
/// to match the kernel's `io/<protocol>.h`; returns early, with a note, without clang-19 or
/// the kernel source (`LINUX_SRC`, by default ~/.cache/reptar/linux-source).
pub fn check_against_the_kernel(protocol: &str, values: String) {
    let linux = std::env::var_os("LINUX_SRC").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").unwrap_or_default();
        Path::new(&home).join(".cache/reptar/linux-source")
    });
    let clang = Command::new("clang-19").arg("--version").output().is_ok_and(|o| o.status.success());
    if !clang || !linux.join(format!("include/xen/interface/io/{protocol}.h")).exists() {
        eprintln!("skipped: needs clang-19 and the kernel source at {}", linux.display());
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{protocol}-abi"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("rust_values.h"), values).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/check-abi.sh");
    let out = Command::new(script).arg(&linux).env("RUST_VALUES", &dir).output().expect("run tools/check-abi.sh");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("src/{protocol}.rs's values")), "{text}");
}
