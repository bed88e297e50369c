//! src/ring.rs compiled on its own, as a kernel module includes it (beside the shared
//! shared_page.rs), with the kernel's lints (../standalone.rs).

#[path = "../../standalone.rs"]
mod standalone;

use std::path::Path;

#[test]
fn ring_rs_builds_alone_with_the_kernels_lints() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ring.rs");
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vled-standalone");
    standalone::assert_builds_alone(&[("vled", &src)], &work);
}
