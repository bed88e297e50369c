use super::*;
use crate::test_tree::{guest_loader_module, qemu_virt, TestNode, CLOCK_PHANDLE};
use alloc::format;
use alloc::string::ToString;
use alloc::vec;
use proptest::prelude::*;

fn parse_tree(tree: &TestNode) -> Result<BootInfo, DtError> {
    parse(&tree.to_dtb())
}

fn edited(edit: impl FnOnce(&mut TestNode)) -> Result<BootInfo, DtError> {
    let mut tree = qemu_virt();
    edit(&mut tree);
    parse_tree(&tree)
}

/// QEMU's tree with one property of one node set to these cells.
fn set_cells(path: &str, property: &str, cells: &[u32]) -> Result<BootInfo, DtError> {
    edited(|t| {
        t.at(path).set_u32(property, cells);
    })
}

/// QEMU's tree with one property of one node set to this string.
fn set_string(path: &str, property: &str, value: &str) -> Result<BootInfo, DtError> {
    edited(|t| {
        t.at(path).set_str(property, value);
    })
}

/// QEMU's tree with one property of one node set to these bytes.
fn set_bytes(path: &str, property: &str, value: Vec<u8>) -> Result<BootInfo, DtError> {
    edited(|t| {
        t.at(path).set(property, value);
    })
}

/// QEMU's tree without one property of one node.
fn remove_property(path: &str, property: &str) -> Result<BootInfo, DtError> {
    edited(|t| {
        t.at(path).remove_prop(property);
    })
}

fn bad_property_of(result: Result<BootInfo, DtError>) -> (String, &'static str) {
    match result {
        Err(DtError::BadProperty { node, property, .. }) => (node, property),
        other => panic!("expected BadProperty, got {other:?}"),
    }
}

#[test]
fn parses_qemu_virt() {
    let info = parse_tree(&qemu_virt()).unwrap();
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
    assert_eq!(
        info.dom0,
        Some(DomainConfig {
            name: "dom0".to_string(),
            kernel: Some(BootModule {
                range: MemRange::new(0x4900_0000, 0x10_0000),
                bootargs: Some("console=hvc0".to_string()),
            }),
            ramdisk: Some(BootModule {
                range: MemRange::new(0x4a00_0000, 0x10_0000),
                bootargs: None
            }),
            bootargs: Some("console=hvc0".to_string()),
            memory_kib: None,
            vcpus: None,
            cpus: None,
            pv_devices: Vec::new(),
        })
    );
    assert!(info.domus.is_empty());
    assert_eq!(info.hypervisor_bootargs, None);
}

#[test]
fn missing_dom0_kernel_is_not_an_error() {
    let info = edited(|t| {
        t.at("/chosen").children.clear();
    })
    .unwrap();
    assert_eq!(info.dom0, None);
    // Only a ramdisk: dom0 exists, without a kernel; the layout reports it.
    let info = edited(|t| t.remove("/chosen/module@0x49000000")).unwrap();
    let dom0 = info.dom0.unwrap();
    assert_eq!(dom0.kernel, None);
    assert!(dom0.ramdisk.is_some());
    // No /chosen at all.
    assert_eq!(edited(|t| t.remove("/chosen")).unwrap().dom0, None);
}

#[test]
fn rejects_what_is_not_a_device_tree() {
    assert_eq!(parse(b""), Err(DtError::NotADtb));
    assert_eq!(parse(&[0u8; 64]), Err(DtError::NotADtb));
    let mut blob = qemu_virt().to_dtb();
    blob[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(parse(&blob), Err(DtError::BadHeader { .. })));
    let blob = qemu_virt().to_dtb();
    assert!(matches!(
        parse(&blob[..blob.len() - 1]),
        Err(DtError::BadHeader { .. })
    ));
    let mut blob = qemu_virt().to_dtb();
    let off_struct = u32::from_be_bytes(blob[8..12].try_into().unwrap()) as usize;
    blob[off_struct..off_struct + 4].copy_from_slice(&7u32.to_be_bytes());
    assert_eq!(
        parse(&blob),
        Err(DtError::Corrupt {
            offset: off_struct,
            reason: "unknown token"
        })
    );
}

#[test]
fn memory() {
    // Several nodes and entries, listed out of order, empty banks dropped.
    let info = edited(|t| {
        t.at("/memory@40000000")
            .set_u32("reg", &[0, 0x4000_0000, 0, 0x4000_0000, 1, 0, 0, 0]);
        let mut high = TestNode::new("memory@100000000");
        high.set_str("device_type", "memory")
            .set_u32("reg", &[0, 0x2000_0000, 0, 0x1000_0000]);
        t.add(high);
    })
    .unwrap();
    assert_eq!(
        info.platform.ram,
        [
            MemRange::new(0x2000_0000, 0x1000_0000),
            MemRange::new(0x4000_0000, 0x4000_0000)
        ]
    );
    // A disabled memory node does not count.
    assert_eq!(
        set_string("/memory@40000000", "status", "disabled"),
        Err(DtError::NoMemory)
    );
    assert_eq!(
        edited(|t| t.remove("/memory@40000000")),
        Err(DtError::NoMemory)
    );
    assert_eq!(
        set_cells("/memory@40000000", "reg", &[0, 0x4000_0000, 0, 0]),
        Err(DtError::NoMemory)
    );
}

#[test]
fn memory_errors() {
    assert_eq!(
        set_cells("/memory@40000000", "reg", &[0, 0x4000_0000, 0]),
        Err(DtError::MalformedReg {
            node: "/memory@40000000".to_string(),
            len: 12,
            address_cells: 2,
            size_cells: 2
        })
    );
    assert_eq!(
        set_bytes("/memory@40000000", "reg", vec![]),
        Err(DtError::MalformedReg {
            node: "/memory@40000000".to_string(),
            len: 0,
            address_cells: 2,
            size_cells: 2
        })
    );
    assert_eq!(
        remove_property("/memory@40000000", "reg"),
        Err(DtError::MissingProperty {
            node: "/memory@40000000".to_string(),
            property: "reg"
        })
    );
    assert_eq!(
        set_cells(
            "/memory@40000000",
            "reg",
            &[0xffff_ffff, 0xffff_0000, 0, 0x10_0000]
        ),
        Err(DtError::RangeOverflow {
            node: "/memory@40000000".to_string(),
            base: 0xffff_ffff_ffff_0000,
            size: 0x10_0000
        })
    );
    assert_eq!(
        set_cells(
            "/memory@40000000",
            "reg",
            &[0, 0x4000_0000, 0, 0x2000_0000, 0, 0x5000_0000, 0, 0x1000]
        ),
        Err(DtError::RamOverlap {
            first: MemRange::new(0x4000_0000, 0x2000_0000),
            second: MemRange::new(0x5000_0000, 0x1000)
        })
    );
    assert_eq!(
        bad_property_of(edited(|t| {
            t.set_u32("#address-cells", &[3]);
        })),
        ("/".to_string(), "#address-cells")
    );
    assert_eq!(
        bad_property_of(edited(|t| {
            t.set("#size-cells", vec![0, 2]);
        })),
        ("/".to_string(), "#size-cells")
    );
}

#[test]
fn memory_with_one_cell_root() {
    let mut tree = qemu_virt();
    tree.set_u32("#address-cells", &[1])
        .set_u32("#size-cells", &[1]);
    tree.at("/memory@40000000")
        .set_u32("reg", &[0x4000_0000, 0x1000_0000]);
    tree.at("/intc@8000000")
        .set_u32("reg", &[0x0800_0000, 0x1_0000, 0x080a_0000, 0xf6_0000]);
    tree.at("/pl011@9000000")
        .set_u32("reg", &[0x0900_0000, 0x1000]);
    let info = parse_tree(&tree).unwrap();
    assert_eq!(info.platform.ram, [MemRange::new(0x4000_0000, 0x1000_0000)]);
    assert_eq!(
        info.platform.gic.redist,
        [MemRange::new(0x080a_0000, 0xf6_0000)]
    );
    // /chosen has no cells of its own: guest-loader modules stay 64-bit.
    assert_eq!(
        info.dom0.unwrap().kernel.unwrap().range,
        MemRange::new(0x4900_0000, 0x10_0000)
    );
}

#[test]
fn cpus() {
    let info = edited(|t| {
        let cpus = t.at("/cpus");
        cpus.set_u32("#address-cells", &[2]);
        cpus.at("cpu@0").set_u32("reg", &[0x1, 0x0000_0100]);
        cpus.at("cpu@1").set_u32("reg", &[0, 0x0001_0203]);
    })
    .unwrap();
    assert_eq!(info.platform.cpus, [0x1_0000_0100, 0x0001_0203]);
    let info = set_string("/cpus/cpu@1", "status", "disabled").unwrap();
    assert_eq!(info.platform.cpus, [0]);
    // cpu-map and other children without device_type "cpu" are not CPUs.
    assert_eq!(
        edited(|t| {
            t.at("/cpus").children.retain(|c| c.name == "cpu-map");
        }),
        Err(DtError::NoCpus)
    );
    assert_eq!(edited(|t| t.remove("/cpus")), Err(DtError::NoCpus));
}

#[test]
fn cpu_errors() {
    assert_eq!(
        set_cells("/cpus/cpu@1", "reg", &[0]),
        Err(DtError::DuplicateCpu { mpidr: 0 })
    );
    assert_eq!(
        bad_property_of(set_cells("/cpus/cpu@1", "reg", &[0x0100_0000])),
        ("/cpus/cpu@1".to_string(), "reg")
    );
    assert!(matches!(
        set_bytes("/cpus/cpu@1", "reg", vec![0, 0]),
        Err(DtError::MalformedReg {
            len: 2,
            address_cells: 1,
            size_cells: 0,
            ..
        })
    ));
    assert!(matches!(
        remove_property("/cpus/cpu@1", "reg"),
        Err(DtError::MissingProperty {
            property: "reg",
            ..
        })
    ));
    assert_eq!(
        bad_property_of(set_cells("/cpus", "#address-cells", &[0])),
        ("/cpus".to_string(), "#address-cells")
    );
}

#[test]
fn gic() {
    // Two redistributor regions, then GICv2-compatible CPU interface regions to ignore.
    let info = edited(|t| {
        t.at("/intc@8000000")
            .set_u32("#redistributor-regions", &[2])
            .set_u32(
                "reg",
                &[
                    0, 0x800_0000, 0, 0x1_0000, 0, 0x80a_0000, 0, 0x2_0000, 0, 0x80e_0000, 0,
                    0x4_0000, 0, 0x801_0000, 0, 0x1_0000,
                ],
            );
    })
    .unwrap();
    assert_eq!(
        info.platform.gic.redist,
        [
            MemRange::new(0x80a_0000, 0x2_0000),
            MemRange::new(0x80e_0000, 0x4_0000)
        ]
    );
    // Without #redistributor-regions there is one region; no interrupts: no maintenance IRQ.
    let info = edited(|t| {
        t.at("/intc@8000000")
            .remove_prop("#redistributor-regions")
            .remove_prop("interrupts");
    })
    .unwrap();
    assert_eq!(info.platform.gic.redist.len(), 1);
    assert!(info.platform.gic.maintenance_interrupt.is_empty());
}

#[test]
fn gic_errors() {
    assert_eq!(edited(|t| t.remove("/intc@8000000")), Err(DtError::NoGicV3));
    assert_eq!(
        set_string("/intc@8000000", "compatible", "arm,cortex-a15-gic"),
        Err(DtError::NoGicV3)
    );
    assert_eq!(
        set_string("/intc@8000000", "status", "disabled"),
        Err(DtError::NoGicV3)
    );
    let gic = "/intc@8000000".to_string();
    assert_eq!(
        bad_property_of(set_cells("/intc@8000000", "#redistributor-regions", &[2])),
        (gic.clone(), "reg")
    );
    assert_eq!(
        bad_property_of(set_cells("/intc@8000000", "#redistributor-regions", &[0])),
        (gic.clone(), "#redistributor-regions")
    );
    assert_eq!(
        bad_property_of(set_cells(
            "/intc@8000000",
            "#redistributor-regions",
            &[u32::MAX]
        )),
        (gic.clone(), "reg")
    );
    assert_eq!(
        bad_property_of(set_cells("/intc@8000000", "#interrupt-cells", &[4])),
        (gic.clone(), "#interrupt-cells")
    );
    assert_eq!(
        bad_property_of(set_cells("/intc@8000000", "interrupts", &[1, 9])),
        (gic.clone(), "interrupts")
    );
    assert_eq!(
        bad_property_of(set_cells(
            "/intc@8000000",
            "reg",
            &[0, 0x800_0000, 0, 0, 0, 0x80a_0000, 0, 0xf6_0000]
        )),
        (gic, "reg")
    );
}

#[test]
fn timer() {
    assert_eq!(edited(|t| t.remove("/timer")), Err(DtError::NoTimer));
    assert_eq!(
        remove_property("/timer", "interrupts"),
        Err(DtError::MissingProperty {
            node: "/timer".to_string(),
            property: "interrupts"
        })
    );
    assert_eq!(
        bad_property_of(set_bytes("/timer", "interrupts", vec![])),
        ("/timer".to_string(), "interrupts")
    );
    assert_eq!(
        bad_property_of(edited(|t| {
            t.at("/timer").set("interrupts", vec![0; 5]);
        })),
        ("/timer".to_string(), "interrupts")
    );
}

#[test]
fn psci() {
    assert_eq!(
        edited(|t| t.remove("/psci")).unwrap().platform.psci_method,
        None
    );
    assert_eq!(
        remove_property("/psci", "method")
            .unwrap()
            .platform
            .psci_method,
        None
    );
    let only_old = edited(|t| {
        t.at("/psci")
            .set_str("compatible", "arm,psci")
            .set_str("method", "hvc");
    })
    .unwrap();
    assert_eq!(only_old.platform.psci_method.as_deref(), Some("hvc"));
    assert_eq!(
        bad_property_of(set_bytes("/psci", "method", b"smc".to_vec())),
        ("/psci".to_string(), "method")
    );
}

#[test]
fn fw_cfg() {
    let fw_cfg = |result: Result<BootInfo, DtError>| result.unwrap().platform.fw_cfg;
    assert_eq!(
        fw_cfg(edited(|_| {})),
        Some(MemRange::new(0x0902_0000, 0x18))
    );
    assert_eq!(fw_cfg(edited(|t| t.remove("/fw-cfg@9020000"))), None);
    assert_eq!(
        fw_cfg(set_string("/fw-cfg@9020000", "status", "disabled")),
        None
    );
    // A larger window is fine; one without the DMA register, or none, is not.
    assert_eq!(
        fw_cfg(set_cells("/fw-cfg@9020000", "reg", &[0, 0x0902_0000, 0, 0x1000])),
        Some(MemRange::new(0x0902_0000, 0x1000))
    );
    assert_eq!(
        bad_property_of(set_cells("/fw-cfg@9020000", "reg", &[0, 0x0902_0000, 0, 0x10])),
        ("/fw-cfg@9020000".to_string(), "reg")
    );
    assert!(matches!(
        set_cells("/fw-cfg@9020000", "reg", &[]),
        Err(DtError::MalformedReg { .. })
    ));
    assert!(matches!(
        remove_property("/fw-cfg@9020000", "reg"),
        Err(DtError::MissingProperty { property: "reg", .. })
    ));
}

fn second_uart(t: &mut TestNode, status: Option<&str>) {
    let mut uart = t.at("/pl011@9000000").clone();
    uart.name = "pl011@9040000".to_string();
    uart.set_u32("reg", &[0, 0x0904_0000, 0, 0x1000])
        .set_u32("interrupts", &[0, 8, 4]);
    if let Some(status) = status {
        uart.set_str("status", status);
    }
    t.add(uart);
}

#[test]
fn uart_selection() {
    let base = |info: BootInfo| info.platform.uart.map(|u| u.reg.base);
    // stdout-path wins, as a path, with options, or as an alias.
    assert_eq!(
        base(
            edited(|t| {
                second_uart(t, None);
                t.at("/chosen").set_str("stdout-path", "/pl011@9040000");
            })
            .unwrap()
        ),
        Some(0x0904_0000)
    );
    assert_eq!(
        base(
            edited(|t| {
                second_uart(t, None);
                t.at("/chosen")
                    .set_str("stdout-path", "/pl011@9040000:115200n8");
            })
            .unwrap()
        ),
        Some(0x0904_0000)
    );
    assert_eq!(
        base(
            edited(|t| {
                second_uart(t, None);
                t.at("/aliases").set_str("serial1", "/pl011@9040000");
                t.at("/chosen").set_str("stdout-path", "serial1:115200n8");
            })
            .unwrap()
        ),
        Some(0x0904_0000)
    );
    // Without stdout-path, or when it names something else, the first available PL011.
    assert_eq!(
        base(
            edited(|t| {
                second_uart(t, None);
                t.at("/chosen").remove_prop("stdout-path");
            })
            .unwrap()
        ),
        Some(0x0900_0000)
    );
    assert_eq!(
        base(set_string("/chosen", "stdout-path", "/pl031@9010000").unwrap()),
        Some(0x0900_0000)
    );
    assert_eq!(
        base(set_string("/chosen", "stdout-path", "serial7").unwrap()),
        Some(0x0900_0000)
    );
    // QEMU's secure UART (secure=on) is disabled for the normal world.
    assert_eq!(
        base(
            edited(|t| {
                t.at("/pl011@9000000").set_str("status", "disabled");
                second_uart(t, Some("okay"));
            })
            .unwrap()
        ),
        Some(0x0904_0000)
    );
    assert_eq!(
        edited(|t| t.remove("/pl011@9000000"))
            .unwrap()
            .platform
            .uart,
        None
    );
}

#[test]
fn uart_clock() {
    let hz = |info: BootInfo| info.platform.uart.unwrap().clock_frequency;
    assert_eq!(
        hz(set_cells("/apb-pclk", "clock-frequency", &[48_000_000]).unwrap()),
        48_000_000
    );
    // "uartclk" second in clock-names, behind a provider with one clock cell.
    let info = edited(|t| {
        let mut soc_clocks = TestNode::new("clock-controller");
        soc_clocks
            .set_u32("phandle", &[0x99])
            .set_u32("#clock-cells", &[1])
            .set_u32("clock-frequency", &[1]);
        t.add(soc_clocks);
        let mut uart_clock = TestNode::new("uart-clock");
        uart_clock
            .set_u32("phandle", &[0x98])
            .set_u32("#clock-cells", &[0])
            .set_u32("clock-frequency", &[7_372_800]);
        t.add(uart_clock);
        t.at("/pl011@9000000")
            .set_strs("clock-names", &["apb_pclk", "uartclk"])
            .set_u32("clocks", &[0x99, 5, 0x98]);
    })
    .unwrap();
    assert_eq!(hz(info), 7_372_800);
    // Anything missing along the way: the default.
    assert_eq!(
        hz(remove_property("/pl011@9000000", "clocks").unwrap()),
        DEFAULT_UART_CLOCK_HZ
    );
    assert_eq!(
        hz(set_cells("/pl011@9000000", "clocks", &[0x1234]).unwrap()),
        DEFAULT_UART_CLOCK_HZ
    );
    assert_eq!(
        hz(remove_property("/apb-pclk", "clock-frequency").unwrap()),
        DEFAULT_UART_CLOCK_HZ
    );
    assert_eq!(
        hz(edited(|t| {
            t.at("/pl011@9000000")
                .set_u32("clocks", &[CLOCK_PHANDLE])
                .set_strs("clock-names", &["apb_pclk", "uartclk"]);
        })
        .unwrap()),
        DEFAULT_UART_CLOCK_HZ
    );
}

#[test]
fn uart_errors() {
    assert!(matches!(
        remove_property("/pl011@9000000", "reg"),
        Err(DtError::MissingProperty {
            property: "reg",
            ..
        })
    ));
    assert_eq!(
        bad_property_of(set_cells("/pl011@9000000", "interrupts", &[0, 1, 4, 0])),
        ("/pl011@9000000".to_string(), "interrupts")
    );
    let info = remove_property("/pl011@9000000", "interrupts").unwrap();
    assert!(info.platform.uart.unwrap().interrupts.is_empty());
}

#[test]
fn xen_style_dom0_modules() {
    // u-boot style: /chosen with 1/1 cells, legacy Xen 4.4 names, specific string first.
    let info = edited(|t| {
        let chosen = t.at("/chosen");
        chosen.children.clear();
        chosen
            .set_u32("#address-cells", &[1])
            .set_u32("#size-cells", &[1]);
        let mut kernel = TestNode::new("module@0");
        kernel
            .set_strs("compatible", &["xen,linux-zimage", "xen,multiboot-module"])
            .set_u32("reg", &[0x4700_0000, 0x80_0000]);
        let mut initrd = TestNode::new("module@1");
        initrd
            .set_strs("compatible", &["xen,linux-initrd", "xen,multiboot-module"])
            .set_u32("reg", &[0x4200_0000, 0x40_0000]);
        chosen.add(kernel).add(initrd);
    })
    .unwrap();
    let dom0 = info.dom0.unwrap();
    assert_eq!(
        dom0.kernel.unwrap().range,
        MemRange::new(0x4700_0000, 0x80_0000)
    );
    assert_eq!(
        dom0.ramdisk.unwrap().range,
        MemRange::new(0x4200_0000, 0x40_0000)
    );
}

#[test]
fn untyped_modules_are_typed_by_position() {
    let info = edited(|t| {
        let chosen = t.at("/chosen");
        chosen.children.clear();
        for (i, addr) in [0x4800_0000u64, 0x4900_0000, 0x4a00_0000]
            .iter()
            .enumerate()
        {
            let mut m = guest_loader_module("multiboot,module", *addr, 0x1000, None);
            m.set_strs("compatible", &["multiboot,module"]);
            m.name = format!("module@{i}");
            chosen.add(m);
        }
        // A typed module does not consume a position.
        chosen.add(guest_loader_module(
            "xen,xsm-policy",
            0x4b00_0000,
            0x1000,
            None,
        ));
    })
    .unwrap();
    let dom0 = info.dom0.unwrap();
    assert_eq!(dom0.kernel.unwrap().range.base, 0x4800_0000);
    assert_eq!(dom0.ramdisk.unwrap().range.base, 0x4900_0000);
}

#[test]
fn module_errors() {
    let kernel = "/chosen/module@0x49000000".to_string();
    assert_eq!(
        set_cells("/chosen/module@0x49000000", "reg", &[0, 0x4900_0000, 0, 0]),
        Err(DtError::ModuleZeroSize {
            node: kernel.clone()
        })
    );
    // The 32-bit reg an author might write by hand under a cell-less /chosen.
    assert_eq!(
        set_cells("/chosen/module@0x49000000", "reg", &[0x4900_0000, 0x1000]),
        Err(DtError::MalformedReg {
            node: kernel.clone(),
            len: 8,
            address_cells: 2,
            size_cells: 2
        })
    );
    // Two entries are two regions: a module has one.
    assert_eq!(
        bad_property_of(set_cells(
            "/chosen/module@0x49000000",
            "reg",
            &[0, 1, 0, 1, 0, 2, 0, 2]
        )),
        (kernel.clone(), "reg")
    );
    assert_eq!(
        set_cells(
            "/chosen/module@0x49000000",
            "reg",
            &[0xffff_ffff, 0xffff_f000, 0, 0x1000]
        ),
        Err(DtError::RangeOverflow {
            node: kernel.clone(),
            base: 0xffff_ffff_ffff_f000,
            size: 0x1000
        })
    );
    assert!(matches!(
        remove_property("/chosen/module@0x49000000", "reg"),
        Err(DtError::MissingProperty {
            property: "reg",
            ..
        })
    ));
    assert_eq!(
        bad_property_of(set_bytes(
            "/chosen/module@0x49000000",
            "bootargs",
            b"x".to_vec()
        )),
        (kernel.clone(), "bootargs")
    );
    assert_eq!(
        edited(|t| {
            t.at("/chosen").add(guest_loader_module(
                "multiboot,kernel",
                0x4b00_0000,
                0x1000,
                None,
            ));
        }),
        Err(DtError::DuplicateModule {
            domain: "dom0".to_string(),
            kind: ModuleKind::Kernel,
            first: kernel,
            second: "/chosen/module@0x4b000000".to_string(),
        })
    );
    assert!(matches!(
        edited(|t| {
            t.at("/chosen").add(guest_loader_module(
                "xen,linux-initrd",
                0x4b00_0000,
                0x1000,
                None,
            ));
        }),
        Err(DtError::DuplicateModule {
            kind: ModuleKind::Ramdisk,
            ..
        })
    ));
    // Bad cells on /chosen.
    assert_eq!(
        bad_property_of(edited(|t| {
            t.at("/chosen")
                .set_u32("#address-cells", &[3])
                .set_u32("#size-cells", &[1]);
        })),
        ("/chosen".to_string(), "#address-cells")
    );
    // A disabled module is not there.
    assert_eq!(
        set_string("/chosen/module@0x49000000", "status", "disabled")
            .unwrap()
            .dom0
            .unwrap()
            .kernel,
        None
    );
}

/// Sets the /chosen command-line properties: (xen,xen-bootargs, xen,dom0-bootargs,
/// bootargs, kernel module bootargs), and returns (hypervisor, dom0) command lines.
fn command_lines(
    x: Option<&str>,
    d: Option<&str>,
    b: Option<&str>,
    k: Option<&str>,
) -> (Option<String>, Option<String>) {
    let info = edited(|t| {
        let chosen = t.at("/chosen");
        for (name, value) in [
            ("xen,xen-bootargs", x),
            ("xen,dom0-bootargs", d),
            ("bootargs", b),
        ] {
            if let Some(v) = value {
                chosen.set_str(name, v);
            }
        }
        let kernel = chosen.at("module@0x49000000");
        match k {
            Some(v) => kernel.set_str("bootargs", v),
            None => kernel.remove_prop("bootargs"),
        };
    })
    .unwrap();
    (info.hypervisor_bootargs, info.dom0.unwrap().bootargs)
}

#[test]
fn command_lines_follow_xen() {
    let s = |v: &str| Some(v.to_string());
    // QEMU: -append for the hypervisor, guest-loader bootargs for dom0.
    assert_eq!(
        command_lines(None, None, Some("hv"), Some("k")),
        (s("hv"), s("k"))
    );
    // Nothing Xen-specific, no module bootargs: bootargs is dom0's.
    assert_eq!(command_lines(None, None, Some("b"), None), (None, s("b")));
    assert_eq!(
        command_lines(None, None, Some("b"), Some("")),
        (None, s("b"))
    );
    // xen,xen-bootargs for the hypervisor; bootargs goes to dom0 when nothing else does.
    assert_eq!(
        command_lines(Some("x"), None, Some("b"), None),
        (s("x"), s("b"))
    );
    assert_eq!(
        command_lines(Some("x"), None, Some("b"), Some("k")),
        (s("x"), s("k"))
    );
    // xen,dom0-bootargs for dom0 (module bootargs first); bootargs then is the hypervisor's.
    assert_eq!(
        command_lines(None, Some("d"), Some("b"), None),
        (s("b"), s("d"))
    );
    assert_eq!(
        command_lines(None, Some("d"), Some("b"), Some("k")),
        (s("b"), s("k"))
    );
    assert_eq!(
        command_lines(Some("x"), Some("d"), Some("b"), None),
        (s("x"), s("d"))
    );
    assert_eq!(command_lines(None, None, None, None), (None, None));
    assert_eq!(
        bad_property_of(set_bytes("/chosen", "xen,xen-bootargs", vec![0xff, 0])),
        ("/chosen".to_string(), "xen,xen-bootargs")
    );
}

fn domu(name: &str) -> TestNode {
    let mut node = TestNode::new(name);
    node.set_str("compatible", "xen,domain")
        .set_u32("#address-cells", &[2])
        .set_u32("#size-cells", &[1])
        .set_u32("memory", &[0, 131_072])
        .set_u32("cpus", &[2])
        .set("vpl011", Vec::new());
    let mut kernel = TestNode::new("module@4a000000");
    kernel
        .set_strs("compatible", &["multiboot,kernel", "multiboot,module"])
        .set_u32("reg", &[0, 0x4a00_0000, 0xff_ffff])
        .set_str("bootargs", "console=ttyAMA0 init=/bin/sh");
    let mut ramdisk = TestNode::new("module@4b000000");
    ramdisk
        .set_strs("compatible", &["multiboot,ramdisk", "multiboot,module"])
        .set_u32("reg", &[0, 0x4b00_0000, 0xff_ffff]);
    node.add(kernel).add(ramdisk);
    node
}

#[test]
fn dom0less_domains() {
    // The example of Xen's booting.txt, plus our pinning extension on domU2.
    let info = edited(|t| {
        let chosen = t.at("/chosen");
        chosen.add(domu("domU1"));
        let mut second = domu("domU2");
        second
            .set_u32("memory", &[65_536])
            .set_u32("cpus", &[1])
            .set_u32("reptar,pcpus", &[1])
            .set_strs("reptar,pv-devices", &["vled", "vkbd"]);
        second.children.remove(1);
        chosen.add(second);
        let mut disabled = domu("domU3");
        disabled.set_str("status", "disabled");
        chosen.add(disabled);
    })
    .unwrap();
    assert_eq!(info.domus.len(), 2);
    let one = &info.domus[0];
    assert_eq!(one.name, "domU1");
    assert_eq!(one.memory_kib, Some(131_072));
    assert_eq!(one.vcpus, Some(2));
    assert_eq!(one.cpus, None);
    assert!(one.pv_devices.is_empty());
    assert_eq!(info.domus[1].pv_devices, ["vled", "vkbd"]);
    assert_eq!(
        one.kernel.as_ref().unwrap().range,
        MemRange::new(0x4a00_0000, 0xff_ffff)
    );
    assert_eq!(
        one.ramdisk.as_ref().unwrap().range,
        MemRange::new(0x4b00_0000, 0xff_ffff)
    );
    assert_eq!(
        one.bootargs.as_deref(),
        Some("console=ttyAMA0 init=/bin/sh")
    );
    let two = &info.domus[1];
    assert_eq!(
        (two.memory_kib, two.vcpus, two.cpus.clone()),
        (Some(65_536), Some(1), Some(vec![1]))
    );
    assert_eq!(two.ramdisk, None);
    // dom0's modules are still dom0's.
    assert_eq!(info.dom0.unwrap().kernel.unwrap().range.base, 0x4900_0000);
}

#[test]
fn domu_defaults_and_optional_properties() {
    let info = edited(|t| {
        let mut node = domu("guest");
        node.remove_prop("#address-cells")
            .remove_prop("#size-cells")
            .remove_prop("memory")
            .remove_prop("cpus");
        for m in &mut node.children {
            let base = if m.name.contains("4a") {
                0x4a00_0000u32
            } else {
                0x4b00_0000
            };
            m.set_u32("reg", &[0, base, 0, 0x1000]);
        }
        node.children[0].remove_prop("bootargs");
        t.at("/chosen").add(node);
    })
    .unwrap();
    let guest = &info.domus[0];
    assert_eq!(
        (guest.memory_kib, guest.vcpus, guest.bootargs.clone()),
        (None, None, None)
    );
    assert_eq!(
        guest.kernel.as_ref().unwrap().range,
        MemRange::new(0x4a00_0000, 0x1000)
    );
}

#[test]
fn domu_errors() {
    let with = |edit: fn(&mut TestNode)| {
        edited(move |t| {
            let mut node = domu("domU1");
            edit(&mut node);
            t.at("/chosen").add(node);
        })
    };
    let node = "/chosen/domU1".to_string();
    assert_eq!(
        bad_property_of(with(|n| {
            n.set_u32("memory", &[0, 0]);
        })),
        (node.clone(), "memory")
    );
    assert_eq!(
        bad_property_of(with(|n| {
            n.set_u32("memory", &[1, 2, 3]);
        })),
        (node.clone(), "memory")
    );
    assert_eq!(
        bad_property_of(with(|n| {
            n.set_u32("cpus", &[0]);
        })),
        (node.clone(), "cpus")
    );
    assert_eq!(
        bad_property_of(with(|n| {
            n.set_u32("cpus", &[0, 1]);
        })),
        (node.clone(), "cpus")
    );
    assert_eq!(
        bad_property_of(with(|n| {
            n.set("reptar,pcpus", vec![]);
        })),
        (node.clone(), "reptar,pcpus")
    );
    assert_eq!(
        bad_property_of(with(|n| {
            n.set_strs("reptar,pv-devices", &["vled", "vled"]);
        })),
        (node.clone(), "reptar,pv-devices")
    );
    assert_eq!(
        bad_property_of(with(|n| {
            n.set_strs("reptar,pv-devices", &["VLED"]);
        })),
        (node.clone(), "reptar,pv-devices")
    );
    assert_eq!(
        bad_property_of(with(|n| {
            n.set_strs("reptar,pv-devices", &["vled/0"]);
        })),
        (node.clone(), "reptar,pv-devices")
    );
    assert_eq!(
        bad_property_of(with(|n| {
            n.set_strs("reptar,pv-devices", &["a-very-long-device-name"]);
        })),
        (node.clone(), "reptar,pv-devices")
    );
    assert_eq!(
        bad_property_of(with(|n| {
            n.set("reptar,pcpus", vec![0, 1]);
        })),
        (node.clone(), "reptar,pcpus")
    );
    // QEMU's tree has two CPUs, indices 0 and 1; domU1 has two vCPUs.
    assert_eq!(
        bad_property_of(with(|n| {
            n.set_u32("reptar,pcpus", &[0, 2]);
        })),
        (node.clone(), "reptar,pcpus")
    );
    assert_eq!(
        bad_property_of(with(|n| {
            n.set_u32("reptar,pcpus", &[1]);
        })),
        (node.clone(), "reptar,pcpus")
    );
    assert_eq!(
        with(|n| {
            n.set_u32("reptar,pcpus", &[1, 0]);
        })
        .unwrap()
        .domus[0]
            .cpus,
        Some(vec![1, 0])
    );
    assert_eq!(
        with(|n| {
            n.remove_prop("cpus").set_u32("reptar,pcpus", &[1, 1, 1]);
        })
        .unwrap()
        .domus[0]
            .cpus,
        Some(vec![1, 1, 1])
    );
    assert_eq!(
        bad_property_of(with(|n| {
            n.set_u32("#size-cells", &[0]);
        })),
        (node.clone(), "#size-cells")
    );
    assert_eq!(
        with(|n| {
            n.children[0].set_u32("reg", &[0, 0x4a00_0000, 0, 0x1000]);
        }),
        Err(DtError::MalformedReg {
            node: "/chosen/domU1/module@4a000000".to_string(),
            len: 16,
            address_cells: 2,
            size_cells: 1
        })
    );
    assert!(matches!(
        with(|n| { n.children[1].set_strs("compatible", &["multiboot,kernel", "multiboot,module"]); }),
        Err(DtError::DuplicateModule { ref domain, kind: ModuleKind::Kernel, .. }) if domain == "domU1"
    ));
}

#[test]
fn error_messages_say_what_to_do() {
    let gic = format!("{}", DtError::NoGicV3);
    assert!(gic.contains("gic-version=3"), "{gic}");
    let dup = format!(
        "{}",
        DtError::DuplicateModule {
            domain: "dom0".to_string(),
            kind: ModuleKind::Kernel,
            first: "/chosen/module@0x1".to_string(),
            second: "/chosen/module@0x2".to_string()
        }
    );
    assert_eq!(dup, "dom0 has two kernel modules, /chosen/module@0x1 and /chosen/module@0x2; give each domain at most one");
    let zero = format!(
        "{}",
        DtError::ModuleZeroSize {
            node: "/chosen/module@0x1".to_string()
        }
    );
    assert!(zero.contains("guest-loader"), "{zero}");
    let reg = format!(
        "{}",
        DtError::MalformedReg {
            node: "/memory".to_string(),
            len: 12,
            address_cells: 2,
            size_cells: 2
        }
    );
    assert!(
        reg.contains("12 bytes") && reg.contains("2 address and 2 size cells"),
        "{reg}"
    );
    // Every variant prints something.
    for err in [
        DtError::NotADtb,
        DtError::BadHeader { reason: "r" },
        DtError::Corrupt {
            offset: 4,
            reason: "r",
        },
        DtError::NoMemory,
        DtError::RamOverlap {
            first: MemRange::new(0, 2),
            second: MemRange::new(1, 2),
        },
        DtError::NoCpus,
        DtError::DuplicateCpu { mpidr: 1 },
        DtError::NoTimer,
        DtError::MissingProperty {
            node: "/n".to_string(),
            property: "reg",
        },
        DtError::RangeOverflow {
            node: "/n".to_string(),
            base: u64::MAX,
            size: 2,
        },
        DtError::BadProperty {
            node: "/n".to_string(),
            property: "p",
            expected: "e",
        },
    ] {
        assert!(!format!("{err}").is_empty());
    }
}

proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = parse(&bytes);
    }

    /// Random corruption of a realistic tree: any outcome but a panic.
    #[test]
    fn parse_never_panics_on_corrupted_qemu_trees(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)
    ) {
        let mut blob = qemu_virt().to_dtb();
        for (index, byte) in edits {
            let i = index.index(blob.len());
            blob[i] = byte;
        }
        let _ = parse(&blob);
    }

    /// Random property values on the nodes that matter: errors, never panics, and the
    /// ranges of a successful parse never wrap.
    #[test]
    fn parse_never_panics_on_random_property_values(
        target in 0usize..9,
        value in proptest::collection::vec(any::<u8>(), 0..40)
    ) {
        let (path, property) = [
            ("/memory@40000000", "reg"),
            ("/intc@8000000", "reg"),
            ("/intc@8000000", "#redistributor-regions"),
            ("/cpus", "#address-cells"),
            ("/cpus/cpu@0", "reg"),
            ("/pl011@9000000", "clocks"),
            ("/chosen/module@0x49000000", "reg"),
            ("/chosen", "stdout-path"),
            ("/", "#size-cells"),
        ][target];
        let mut tree = qemu_virt();
        tree.at(path).set(property, value);
        if let Ok(info) = parse_tree(&tree) {
            prop_assert!(info.platform.ram.iter().all(|r| r.end().is_some()));
            prop_assert!(info.platform.gic.redist.iter().all(|r| r.end().is_some()));
            if let Some(kernel) = info.dom0.and_then(|d| d.kernel) {
                prop_assert!(kernel.range.end().is_some() && !kernel.range.is_empty());
            }
        }
    }
}
