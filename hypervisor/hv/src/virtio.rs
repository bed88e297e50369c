//! QEMU's virtio-mmio slots: which ones hold a device, and of what kind. The keyboard is the
//! hypervisor's; every other device goes to dom0, which drives it directly (its RAM is mapped
//! 1:1, so the device's DMA lands where dom0 means it to).

use boot_info::host_dt::VirtioMmio;
use core::ptr::read_volatile;

/// virtio-mmio registers (virtio 1.2, 4.2.2).
const MAGIC_VALUE: usize = 0x000;
const DEVICE_ID: usize = 0x008;
/// "virt" in little endian.
const MAGIC: u32 = 0x7472_6976;
/// Device IDs (virtio 1.2, 5).
pub const DEVICE_INPUT: u32 = 18;

/// A slot with a device behind it.
#[derive(Clone, Debug)]
pub struct Slot {
    pub transport: VirtioMmio,
    pub device_id: u32,
}

/// The slots that hold a device.
pub fn scan(transports: &[VirtioMmio]) -> alloc::vec::Vec<Slot> {
    transports
        .iter()
        .filter_map(|t| {
            let base = t.reg.base as usize;
            // SAFETY: each slot is a virtio-mmio window from the host device tree, identity
            // mapped as Device memory in the hypervisor's map; reading its identification
            // registers has no side effect.
            let (magic, device_id) = unsafe {
                (read_volatile((base + MAGIC_VALUE) as *const u32), read_volatile((base + DEVICE_ID) as *const u32))
            };
            (magic == MAGIC && device_id != 0).then(|| Slot { transport: t.clone(), device_id })
        })
        .collect()
}
