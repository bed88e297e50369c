//! docs/protocols/vled.md's C block against the kernel's ring.h (tools/check-abi.sh), when
//! clang-19 and the kernel source are on the machine (`make test` fetches the source first);
//! skipped, with a note, otherwise. The numbers it asserts are those of tests/layout.rs.

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn documented_c_layout_matches_the_kernels_ring_h() {
    let linux = std::env::var_os("LINUX_SRC").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").unwrap_or_default();
        Path::new(&home).join(".cache/reptar/linux-source")
    });
    let clang = Command::new("clang-19").arg("--version").output().is_ok_and(|o| o.status.success());
    if !clang || !linux.join("include/xen/interface/io/ring.h").exists() {
        eprintln!("skipped: needs clang-19 and the kernel source at {}", linux.display());
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/check-abi.sh");
    let out = Command::new(script).arg(&linux).output().expect("run tools/check-abi.sh");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
