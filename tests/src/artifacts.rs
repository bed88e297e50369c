//! Where the build outputs live, and a clear failure when one is missing.
//!
//! The system tests never pass silently without artifacts: a missing file is an error that tells
//! to run `make`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// The top of the REPTAR tree (this crate is its `tests/` directory).
///
/// Taken from the environment cargo sets when it runs a test or a binary, not from the build:
/// build outputs are cached outside the work tree and shared by every clone, so a path compiled
/// in could name another clone.
pub fn repo_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    Path::new(&manifest_dir)
        .parent()
        .expect("the test crate lives in a subdirectory of the REPTAR tree")
        .to_path_buf()
}

/// The build directory: `$REPTAR_BUILD`, else `build/` at the top of the tree (as scripts/launch).
pub fn build_dir() -> PathBuf {
    match std::env::var_os("REPTAR_BUILD") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => repo_root().join("build"),
    }
}

/// The QEMU launcher, the one place that knows QEMU's command line.
pub fn launcher() -> PathBuf {
    repo_root().join("scripts/launch")
}

/// The default boot artifacts, as scripts/launch picks them.
#[derive(Clone, Debug)]
pub struct Artifacts {
    /// The EL2 hypervisor, QEMU's `-kernel`.
    pub hypervisor: PathBuf,
    /// The dom0 Linux kernel (arm64 Image).
    pub kernel: PathBuf,
    /// The dom0 initramfs.
    pub rootfs: PathBuf,
    /// The domU initramfs (the domU boots the same kernel).
    pub domu_rootfs: PathBuf,
}

impl Artifacts {
    pub fn locate() -> Self {
        let build = build_dir();
        Artifacts {
            hypervisor: build.join("hypervisor.bin"),
            kernel: build.join("Image"),
            rootfs: build.join("dom0-rootfs.cpio.gz"),
            domu_rootfs: build.join("domU-rootfs.cpio.gz"),
        }
    }

    /// Fails, naming every missing one, unless all exist.
    pub fn require_all(&self) -> Result<()> {
        let missing: Vec<&Path> = [&self.hypervisor, &self.kernel, &self.rootfs, &self.domu_rootfs]
            .into_iter()
            .map(PathBuf::as_path)
            .filter(|path| !path.is_file())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
        bail!("{}", missing_message(&names.join(", ")))
    }
}

/// Fails with the "run make" message unless `path` (described by `what`) exists.
pub fn require(path: &Path, what: &str) -> Result<()> {
    if path.is_file() {
        Ok(())
    } else {
        bail!("{}", missing_message(&format!("{what} ({})", path.display())))
    }
}

fn missing_message(what: &str) -> String {
    format!("missing build artifact: {what}; run `make` in {} first", repo_root().display())
}
