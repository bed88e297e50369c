//! vcpu_op: where each vCPU's vcpu_info lives, and its runstate area.

use super::{errno, HypercallResult};
use crate::domain;
use crate::guest;

const VCPUOP_REGISTER_RUNSTATE_MEMORY_AREA: u64 = 5;
const VCPUOP_REGISTER_VCPU_INFO: u64 = 10;
/// sizeof(struct vcpu_info) on arm64.
pub const VCPU_INFO_SIZE: u64 = 64;
const PAGE: u64 = 4096;

pub fn vcpu_op(cmd: u64, vcpu: u64, arg: u64) -> HypercallResult {
    let dom = domain::current();
    let vcpu = usize::try_from(vcpu).ok().filter(|&v| v < dom.vcpus.len()).ok_or(errno::ENOENT)?;
    match cmd {
        VCPUOP_REGISTER_VCPU_INFO => {
            // struct vcpu_register_vcpu_info { uint64_t mfn; uint32_t offset; uint32_t rsvd; }
            let info = guest::Args::<16>::read(arg)?;
            let (gfn, offset) = (info.u64(0), u64::from(info.u32(8)));
            if offset + VCPU_INFO_SIZE > PAGE {
                return Err(errno::EINVAL);
            }
            let ipa = gfn.checked_mul(PAGE).and_then(|a| a.checked_add(offset)).ok_or(errno::EINVAL)?;
            guest::ipa_to_host(dom, ipa, true).ok_or(errno::EINVAL)?;
            if ipa % 8 != 0 {
                return Err(errno::EINVAL);
            }
            dom.xen.register_vcpu_info(vcpu, ipa)?;
            super::events::vcpu_info_registered(dom.id, vcpu as u32);
            Ok(0)
        }
        // Accepted and never updated: a vCPU here never waits for its physical CPU, so the
        // steal time Linux derives from it is truly zero.
        VCPUOP_REGISTER_RUNSTATE_MEMORY_AREA => Ok(0),
        _ => Err(errno::ENOSYS),
    }
}
