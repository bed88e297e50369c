//! vcpu_op: where each vCPU's vcpu_info lives, and its runstate area.

use super::HypercallResult;
use crate::domain;
use xen_hypercall::{Errno, VcpuOp};

/// The two sub-operations Xen serves on Arm (and Linux uses); the others are -EINVAL there,
/// whatever the vCPU. xen-hypercall has checked the vcpu_info area: 48 bytes
/// (`sizeof(struct vcpu_info)` on arm64), 8-aligned, within one page (-ENXIO otherwise, as
/// Xen 4.20's map_guest_area()), its offset inside the page (-EINVAL).
pub fn vcpu_op(vcpu: u32, op: VcpuOp) -> HypercallResult {
    let dom = domain::current();
    let registration = matches!(op, VcpuOp::RegisterVcpuInfo(_) | VcpuOp::RegisterRunstateMemoryArea { .. });
    if !registration {
        return Err(Errno::EINVAL);
    }
    let vcpu = usize::try_from(vcpu).ok().filter(|&v| v < dom.vcpus.len()).ok_or(Errno::ENOENT)?;
    match op {
        VcpuOp::RegisterVcpuInfo(area) => {
            // Once per vCPU, as Xen: a second registration is -EBUSY.
            if dom.xen.vcpu_info(vcpu).is_some() {
                return Err(Errno::EBUSY);
            }
            let ipa = area.addr();
            // A page of its own RAM, as shared info: the hypervisor writes event bits there.
            super::grants::own_page(dom, ipa / page_table::PAGE_SIZE).ok_or(Errno::EINVAL)?;
            dom.xen.register_vcpu_info(vcpu, ipa)?;
            super::events::vcpu_info_registered(dom.id, vcpu as u32);
            Ok(0)
        }
        // Accepted and never updated: a vCPU here never waits for its physical CPU, so the
        // steal time Linux derives from it is truly zero.
        _ => Ok(0),
    }
}
