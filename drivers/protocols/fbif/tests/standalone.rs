//! src/fbif.rs compiled on its own, as a kernel module includes it (beside the shared
//! shared_page.rs and ring_index.rs), with the kernel's lints (../standalone.rs).

#[path = "../../standalone.rs"]
mod standalone;

use std::path::Path;

#[test]
fn fbif_rs_builds_alone_with_the_kernels_lints() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/fbif.rs");
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fbif-standalone");
    standalone::assert_builds_alone(
        &[("ring_index", &standalone::common("ring_index.rs")), ("fbif", &src)],
        &work,
    );
}
