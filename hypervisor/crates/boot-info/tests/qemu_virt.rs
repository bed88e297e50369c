//! The crate's public API on the device tree QEMU really produces (see fixtures/README.md),
//! used as the hypervisor uses it: parse the host tree, plan dom0's memory, build dom0's
//! device tree.

use boot_info::guest_dt::{build_guest, GuestDtConfig};
use boot_info::host_dt::{self, BootModule, Gic, Uart};
use boot_info::image::ImageHeader;
use boot_info::layout::{plan, DomainRequest, KernelInfo, LayoutInput, GUEST_DTB_SIZE};
use boot_info::{MemRange, MIB};

const QEMU_VIRT: &[u8] = include_bytes!("fixtures/qemu-virt-gicv3-guest-loader.dtb");

const KERNEL: MemRange = MemRange::new(0x4900_0000, 0x17a_2200);
const INITRD: MemRange = MemRange::new(0x4b00_0000, 0x7c_1234);

#[test]
fn platform_of_qemu_virt() {
    let info = host_dt::parse(QEMU_VIRT).unwrap();
    let p = &info.platform;
    assert_eq!(p.ram, [MemRange::new(0x4000_0000, 0x8000_0000)]);
    assert_eq!(p.cpus, [0, 1]);
    assert_eq!(
        p.gic,
        Gic {
            dist: MemRange::new(0x0800_0000, 0x1_0000),
            redist: vec![MemRange::new(0x080a_0000, 0xf6_0000)],
            maintenance_interrupt: vec![1, 9, 4],
            version: 3,
        }
    );
    assert_eq!(p.timer_interrupts, [1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4]);
    assert_eq!(
        p.uart,
        Some(Uart {
            reg: MemRange::new(0x0900_0000, 0x1000),
            interrupts: vec![0, 1, 4],
            clock_frequency: 24_000_000
        })
    );
    assert_eq!(p.psci_method.as_deref(), Some("smc"));
    assert_eq!(p.fw_cfg, Some(MemRange::new(0x0902_0000, 0x18)));
}

#[test]
fn boot_configuration_of_qemu_virt() {
    let info = host_dt::parse(QEMU_VIRT).unwrap();
    // -append goes to the hypervisor because the guest-loader kernel has its own bootargs.
    assert_eq!(info.hypervisor_bootargs.as_deref(), Some("loglvl=all"));
    let dom0 = info.dom0.unwrap();
    assert_eq!(dom0.name, "dom0");
    assert_eq!(
        dom0.kernel,
        Some(BootModule {
            range: KERNEL,
            bootargs: Some("console=hvc0 earlycon=xenboot".to_string())
        })
    );
    assert_eq!(
        dom0.ramdisk,
        Some(BootModule {
            range: INITRD,
            bootargs: None
        })
    );
    assert_eq!(
        dom0.bootargs.as_deref(),
        Some("console=hvc0 earlycon=xenboot")
    );
    assert!(info.domus.is_empty());
    // QEMU virt's 32 virtio-mmio slots, 0x200 apart from 0x0a000000, SPIs 16 to 47.
    let virtio = &info.platform.virtio_mmio;
    assert_eq!(virtio.len(), 32);
    assert!(virtio.iter().any(|t| t.reg == MemRange::new(0x0a00_0000, 0x200) && t.interrupts == [0, 16, 1]));
    assert!(virtio.iter().all(|t| (0x0a00_0000..0x0a00_4000).contains(&t.reg.base)));
}

/// An Image header as Linux >= 5.8 writes it (text_offset 0), for a kernel of `image_size`.
fn image_header(image_size: u64) -> Vec<u8> {
    let mut header = vec![0u8; 64];
    header[16..24].copy_from_slice(&image_size.to_le_bytes());
    header[24..32].copy_from_slice(&0b1010u64.to_le_bytes());
    header[56..60].copy_from_slice(b"ARM\x64");
    header
}

#[test]
fn dom0_from_qemu_virt_end_to_end() {
    let info = host_dt::parse(QEMU_VIRT).unwrap();
    let dom0 = info.dom0.as_ref().unwrap();
    let kernel = dom0.kernel.as_ref().unwrap();
    let initrd = dom0.ramdisk.as_ref().unwrap();

    let header = ImageHeader::parse(&image_header(0x1c3_0000)).unwrap();
    let domains = [DomainRequest {
        name: dom0.name.clone(),
        mem_bytes: 512 * MIB,
        kernel: KernelInfo {
            module: kernel.range,
            header,
        },
        initrd: Some(initrd.range),
        identity: true,
        ipa_base: 0,
    }];
    let modules = [("dom0 kernel", kernel.range), ("dom0 initrd", initrd.range)];
    let plans = plan(&LayoutInput {
        ram: &info.platform.ram,
        hypervisor: MemRange::new(0x4020_0000, 16 * MIB),
        host_dtb: MemRange::new(0x4000_0000, QEMU_VIRT.len() as u64),
        modules: &modules,
        domains: &domains,
        reservations: &[],
    })
    .unwrap();
    let dom0_plan = &plans[0];
    assert_eq!(dom0_plan.ram_pa, MemRange::new(0xa000_0000, 512 * MIB));
    assert_eq!(dom0_plan.ram_ipa, dom0_plan.ram_pa);
    assert_eq!(dom0_plan.kernel_ipa, 0xa000_0000);
    assert_eq!(
        dom0_plan.initrd_ipa,
        Some(MemRange::new(0xa1e0_0000, INITRD.size))
    );
    // The initrd ends at 0xa25c_1234: the device tree takes the next 2 MiB block.
    assert_eq!(
        dom0_plan.dtb_ipa,
        MemRange::new(0xa260_0000, GUEST_DTB_SIZE)
    );

    let dtb = build_guest(&GuestDtConfig {
        platform: &info.platform,
        plan: dom0_plan,
        bootargs: dom0.bootargs.as_deref().unwrap_or(""),
        vcpu_mpidrs: &info.platform.cpus,
        passthrough_uart: true,
        devices: &[],
        xen: None,
        framebuffer: None,
    })
    .unwrap();

    // Dom0's tree, read back with the crate's own parser, is the platform dom0 should see.
    let guest = host_dt::parse(&dtb).unwrap();
    assert_eq!(guest.platform.ram, [dom0_plan.ram_ipa]);
    assert_eq!(guest.platform.cpus, info.platform.cpus);
    assert_eq!(guest.platform.gic, info.platform.gic);
    assert_eq!(
        guest.platform.timer_interrupts,
        info.platform.timer_interrupts
    );
    assert_eq!(guest.platform.uart, info.platform.uart);
    assert_eq!(guest.platform.psci_method.as_deref(), Some("hvc"));

    // And with the fdt crate: the command line and the initrd Linux will read.
    let fdt = fdt::Fdt::new(&dtb).unwrap();
    assert_eq!(
        fdt.chosen().bootargs(),
        Some("console=hvc0 earlycon=xenboot")
    );
    let chosen = fdt.find_node("/chosen").unwrap();
    let start = chosen.property("linux,initrd-start").unwrap().value;
    let end = chosen.property("linux,initrd-end").unwrap().value;
    assert_eq!(start, 0xa1e0_0000u64.to_be_bytes());
    assert_eq!(end, (0xa1e0_0000u64 + INITRD.size).to_be_bytes());
}

#[test]
fn every_truncation_of_the_real_tree_is_an_error_not_a_panic() {
    for len in 0..QEMU_VIRT.len() {
        assert!(
            host_dt::parse(&QEMU_VIRT[..len]).is_err(),
            "parsed a {len}-byte prefix"
        );
    }
}

#[test]
fn every_single_byte_corruption_of_the_real_tree_is_survived() {
    // Each byte in turn replaced by 0xff (the case that trips fdt 0.1.5 most): any result
    // but a panic. A few thousand parses of an 8 KiB tree: well under a second.
    let mut blob = QEMU_VIRT.to_vec();
    for i in 0..blob.len() {
        let saved = blob[i];
        blob[i] = 0xff;
        let _ = host_dt::parse(&blob);
        blob[i] = saved;
    }
}
