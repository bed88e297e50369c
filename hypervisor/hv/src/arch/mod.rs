//! Everything that touches the aarch64 architecture directly: entry code, exception vectors,
//! EL2 system registers, translation tables in use, cache maintenance. The `unsafe` of the
//! hypervisor lives here; the rest of it is plain Rust over these functions.

pub mod cache;
pub mod cpu;
pub mod exceptions;
pub mod gic;
pub mod head;
pub mod mmu;
pub mod percpu;
pub mod timer;
