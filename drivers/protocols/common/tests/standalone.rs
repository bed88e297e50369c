//! src/shared_page.rs, src/xenbus_state.rs and src/ring_index.rs compiled on their own, as a
//! kernel module includes them, with the kernel's lints (../standalone.rs). The first two are
//! kernel-ext's includes, in every build of `assert_builds_alone`.

#[path = "../../standalone.rs"]
mod standalone;

use std::path::Path;

#[test]
fn shared_page_rs_builds_alone_with_the_kernels_lints() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("shared-page-standalone");
    standalone::assert_builds_alone(&[], &work);
}

#[test]
fn ring_index_rs_builds_alone_with_the_kernels_lints() {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ring-index-standalone");
    standalone::assert_builds_alone(&[("ring_index", &standalone::common("ring_index.rs"))], &work);
}
