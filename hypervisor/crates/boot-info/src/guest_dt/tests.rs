use super::*;
use crate::host_dt::{Gic, Uart};
use crate::MemRange;
use proptest::prelude::*;
use std::println;

fn platform() -> Platform {
    Platform {
        ram: vec![MemRange::new(0x4000_0000, 0x8000_0000)],
        cpus: vec![0, 1],
        gic: Gic {
            dist: MemRange::new(0x0800_0000, 0x1_0000),
            redist: vec![MemRange::new(0x080a_0000, 0xf6_0000)],
            maintenance_interrupt: vec![1, 9, 4],
            version: 3,
        },
        timer_interrupts: vec![1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4],
        uart: Some(Uart {
            reg: MemRange::new(0x0900_0000, 0x1000),
            interrupts: vec![0, 1, 4],
            clock_frequency: 24_000_000,
        }),
        psci_method: Some("smc".to_string()),
        virtio_mmio: Vec::new(),
        fw_cfg: Some(MemRange::new(0x0902_0000, 0x18)),
    }
}

fn plan() -> DomainPlan {
    let ram = MemRange::new(0xa000_0000, 0x2000_0000);
    DomainPlan {
        name: "dom0".to_string(),
        ram_pa: ram,
        ram_ipa: ram,
        kernel_ipa: ram.base,
        kernel: MemRange::new(ram.base, 0x240_0000),
        initrd_ipa: Some(MemRange::new(0xa240_0000, 0x50_0000)),
        dtb_ipa: MemRange::new(0xa2a0_0000, 0x20_0000),
    }
}

fn build(
    platform: &Platform,
    plan: &DomainPlan,
    mpidrs: &[u64],
    uart: bool,
) -> Result<Vec<u8>, GuestDtError> {
    build_guest(&GuestDtConfig {
        platform,
        plan,
        bootargs: "console=hvc0 earlycon",
        vcpu_mpidrs: mpidrs,
        passthrough_uart: uart,
        devices: &[],
        xen: None,
        framebuffer: None,
    })
}

fn be32(value: &[u8]) -> Vec<u32> {
    value
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
        .collect()
}

fn prop<'a>(fdt: &fdt::Fdt<'a>, path: &str, name: &str) -> &'a [u8] {
    let node = fdt
        .find_node(path)
        .unwrap_or_else(|| panic!("no node {path}"));
    node.property(name)
        .unwrap_or_else(|| panic!("{path} has no {name}"))
        .value
}

fn strs(value: &[u8]) -> Vec<&str> {
    value
        .strip_suffix(&[0])
        .unwrap()
        .split(|&b| b == 0)
        .map(|s| core::str::from_utf8(s).unwrap())
        .collect()
}

#[test]
fn dom0_tree_round_trips_through_the_fdt_crate() {
    let platform = platform();
    let plan = plan();
    let dtb = build(&platform, &plan, &[0, 1], true).unwrap();
    let fdt = fdt::Fdt::new(&dtb).unwrap();

    assert_eq!(
        strs(prop(&fdt, "/", "compatible")),
        ["reds,reptar-virt", "linux,dummy-virt"]
    );
    assert_eq!(strs(prop(&fdt, "/", "model")), [MODEL]);
    assert_eq!(be32(prop(&fdt, "/", "#address-cells")), [2]);
    assert_eq!(be32(prop(&fdt, "/", "#size-cells")), [2]);
    assert_eq!(be32(prop(&fdt, "/", "interrupt-parent")), [GIC_PHANDLE]);

    assert_eq!(
        strs(prop(&fdt, "/chosen", "bootargs")),
        ["console=hvc0 earlycon"]
    );
    assert_eq!(
        strs(prop(&fdt, "/chosen", "stdout-path")),
        ["/pl011@9000000"]
    );
    assert_eq!(
        prop(&fdt, "/chosen", "linux,initrd-start"),
        0xa240_0000u64.to_be_bytes()
    );
    assert_eq!(
        prop(&fdt, "/chosen", "linux,initrd-end"),
        0xa290_0000u64.to_be_bytes()
    );
    // The stdout-path resolves.
    assert_eq!(fdt.chosen().stdout().unwrap().name, "pl011@9000000");

    assert_eq!(
        strs(prop(&fdt, "/memory@a0000000", "device_type")),
        ["memory"]
    );
    assert_eq!(
        be32(prop(&fdt, "/memory@a0000000", "reg")),
        [0, 0xa000_0000, 0, 0x2000_0000]
    );
    let regions: Vec<_> = fdt
        .memory()
        .regions()
        .map(|r| (r.starting_address as u64, r.size.unwrap() as u64))
        .collect();
    assert_eq!(regions, [(0xa000_0000, 0x2000_0000)]);

    assert_eq!(be32(prop(&fdt, "/cpus", "#address-cells")), [1]);
    assert_eq!(be32(prop(&fdt, "/cpus", "#size-cells")), [0]);
    let cpus: Vec<_> = fdt.cpus().map(|c| c.ids().first()).collect();
    assert_eq!(cpus, [0, 1]);
    for cpu in ["/cpus/cpu@0", "/cpus/cpu@1"] {
        assert_eq!(strs(prop(&fdt, cpu, "device_type")), ["cpu"]);
        assert_eq!(strs(prop(&fdt, cpu, "compatible")), ["arm,armv8"]);
        assert_eq!(strs(prop(&fdt, cpu, "enable-method")), ["psci"]);
    }

    assert_eq!(
        strs(prop(&fdt, "/psci", "compatible")),
        ["arm,psci-1.0", "arm,psci-0.2", "arm,psci"]
    );
    assert_eq!(strs(prop(&fdt, "/psci", "method")), ["hvc"]);

    let gic = "/intc@8000000";
    assert_eq!(strs(prop(&fdt, gic, "compatible")), ["arm,gic-v3"]);
    assert_eq!(be32(prop(&fdt, gic, "#interrupt-cells")), [3]);
    assert!(prop(&fdt, gic, "interrupt-controller").is_empty());
    assert!(prop(&fdt, gic, "ranges").is_empty());
    assert_eq!(be32(prop(&fdt, gic, "#address-cells")), [2]);
    assert_eq!(be32(prop(&fdt, gic, "#size-cells")), [2]);
    assert_eq!(
        be32(prop(&fdt, gic, "reg")),
        [0, 0x0800_0000, 0, 0x1_0000, 0, 0x080a_0000, 0, 0xf6_0000]
    );
    assert_eq!(be32(prop(&fdt, gic, "#redistributor-regions")), [1]);
    assert_eq!(be32(prop(&fdt, gic, "interrupts")), [1, 9, 4]);
    assert_eq!(be32(prop(&fdt, gic, "phandle")), [GIC_PHANDLE]);
    assert_eq!(fdt.find_phandle(GIC_PHANDLE).unwrap().name, "intc@8000000");

    assert_eq!(
        strs(prop(&fdt, "/timer", "compatible")),
        ["arm,armv8-timer"]
    );
    assert_eq!(
        be32(prop(&fdt, "/timer", "interrupts")),
        platform.timer_interrupts
    );
    assert!(prop(&fdt, "/timer", "always-on").is_empty());

    assert_eq!(strs(prop(&fdt, "/apb-pclk", "compatible")), ["fixed-clock"]);
    assert_eq!(be32(prop(&fdt, "/apb-pclk", "#clock-cells")), [0]);
    assert_eq!(
        be32(prop(&fdt, "/apb-pclk", "clock-frequency")),
        [24_000_000]
    );
    assert_eq!(
        strs(prop(&fdt, "/apb-pclk", "clock-output-names")),
        ["clk24mhz"]
    );
    assert_eq!(
        be32(prop(&fdt, "/apb-pclk", "phandle")),
        [UART_CLOCK_PHANDLE]
    );

    let uart = "/pl011@9000000";
    assert_eq!(
        strs(prop(&fdt, uart, "compatible")),
        ["arm,pl011", "arm,primecell"]
    );
    assert_eq!(be32(prop(&fdt, uart, "reg")), [0, 0x0900_0000, 0, 0x1000]);
    assert_eq!(be32(prop(&fdt, uart, "interrupts")), [0, 1, 4]);
    assert_eq!(
        be32(prop(&fdt, uart, "clocks")),
        [UART_CLOCK_PHANDLE, UART_CLOCK_PHANDLE]
    );
    assert_eq!(
        strs(prop(&fdt, uart, "clock-names")),
        ["uartclk", "apb_pclk"]
    );

    // Nothing else: no PMU, no other device.
    let top: Vec<_> = fdt
        .find_node("/")
        .unwrap()
        .children()
        .map(|n| n.name)
        .collect();
    assert_eq!(
        top,
        [
            "chosen",
            "memory@a0000000",
            "cpus",
            "psci",
            "intc@8000000",
            "timer",
            "apb-pclk",
            "pl011@9000000"
        ]
    );
    assert!(dtb.len() as u64 <= plan.dtb_ipa.size);
}

#[test]
fn dom0_tree_parses_back_as_a_host_tree() {
    // Our own parser agrees, and reads dom0's tree as the same platform.
    let platform = platform();
    let dtb = build(&platform, &plan(), &[0, 1], true).unwrap();
    let info = crate::host_dt::parse(&dtb).unwrap();
    assert_eq!(info.platform.ram, [plan().ram_ipa]);
    assert_eq!(info.platform.cpus, [0, 1]);
    assert_eq!(info.platform.gic, platform.gic);
    assert_eq!(info.platform.timer_interrupts, platform.timer_interrupts);
    assert_eq!(info.platform.uart, platform.uart);
    assert_eq!(info.platform.psci_method.as_deref(), Some("hvc"));
    assert_eq!(info.dom0, None);
}

#[test]
fn without_uart_or_initrd() {
    let mut plan = plan();
    plan.initrd_ipa = None;
    let dtb = build(&platform(), &plan, &[0], false).unwrap();
    let fdt = fdt::Fdt::new(&dtb).unwrap();
    let chosen = fdt.find_node("/chosen").unwrap();
    let names: Vec<_> = chosen.properties().map(|p| p.name).collect();
    assert_eq!(names, ["bootargs"]);
    assert!(fdt.find_node("/pl011@9000000").is_none());
    assert!(fdt.find_node("/apb-pclk").is_none());
    // Passthrough is refused when there is nothing to pass through.
    let mut no_uart = platform();
    no_uart.uart = None;
    assert_eq!(
        build(&no_uart, &plan, &[0], true),
        Err(GuestDtError::NoUart)
    );
    assert!(build(&no_uart, &plan, &[0], false).is_ok());
}

#[test]
fn wide_mpidrs_take_two_cells() {
    let dtb = build(&platform(), &plan(), &[0x1_0000_0000, 0x100], false).unwrap();
    let fdt = fdt::Fdt::new(&dtb).unwrap();
    assert_eq!(be32(prop(&fdt, "/cpus", "#address-cells")), [2]);
    assert_eq!(be32(prop(&fdt, "/cpus/cpu@100000000", "reg")), [1, 0]);
    assert_eq!(be32(prop(&fdt, "/cpus/cpu@100", "reg")), [0, 0x100]);
}

#[test]
fn other_clock_frequencies_and_optional_interrupts() {
    let mut platform = platform();
    let uart = platform.uart.as_mut().unwrap();
    uart.clock_frequency = 7_372_800;
    uart.interrupts.clear();
    platform.gic.maintenance_interrupt.clear();
    let dtb = build(&platform, &plan(), &[0], true).unwrap();
    let fdt = fdt::Fdt::new(&dtb).unwrap();
    assert_eq!(
        strs(prop(&fdt, "/apb-pclk", "clock-output-names")),
        ["clk7372800hz"]
    );
    assert!(fdt
        .find_node("/pl011@9000000")
        .unwrap()
        .property("interrupts")
        .is_none());
    assert!(fdt
        .find_node("/intc@8000000")
        .unwrap()
        .property("interrupts")
        .is_none());
    assert_eq!(clock_name(48_000_000), "clk48mhz");
}

#[test]
fn errors() {
    let platform = platform();
    let plan = plan();
    assert_eq!(
        build(&platform, &plan, &[], false),
        Err(GuestDtError::NoVcpus)
    );
    assert_eq!(
        build(&platform, &plan, &[0, 1, 0], false),
        Err(GuestDtError::DuplicateVcpu { mpidr: 0 })
    );
    let bad_args = build_guest(&GuestDtConfig {
        platform: &platform,
        plan: &plan,
        bootargs: "a\0b",
        vcpu_mpidrs: &[0],
        passthrough_uart: false,
        devices: &[],
        xen: None,
        framebuffer: None,
    });
    assert!(matches!(bad_args, Err(GuestDtError::Fdt(_))));
    let mut tiny = plan.clone();
    tiny.dtb_ipa.size = 256;
    assert!(matches!(
        build(&platform, &tiny, &[0], false),
        Err(GuestDtError::TooLarge { max: 256, .. })
    ));
    let long_args = "x".repeat(3 << 20);
    let too_long = build_guest(&GuestDtConfig {
        platform: &platform,
        plan: &plan,
        bootargs: &long_args,
        vcpu_mpidrs: &[0],
        passthrough_uart: false,
        devices: &[],
        xen: None,
        framebuffer: None,
    });
    assert!(matches!(
        too_long,
        Err(GuestDtError::TooLarge { max: 0x20_0000, .. })
    ));
    for err in [
        GuestDtError::NoVcpus,
        GuestDtError::DuplicateVcpu { mpidr: 1 },
        GuestDtError::NoUart,
        GuestDtError::TooLarge { size: 3, max: 2 },
        GuestDtError::Fdt("x".to_string()),
    ] {
        assert!(format!("{err}").len() > 10);
    }
}

#[test]
fn emulated_devices_and_their_console() {
    let platform = platform();
    let plan = plan();
    let sp6 = DeviceNode {
        name: "sp6",
        compatible: &["reds,reptar-sp6"],
        reg: MemRange::new(0x1800_0000, 0x1000),
        memory: &[],
        interrupts: &[0, 90, 4],
        properties: &[("dma-coherent", PropValue::Empty)],
        stdout: false,
    };
    let uart = DeviceNode {
        name: "uart",
        compatible: &["arm,sbsa-uart"],
        reg: MemRange::new(0x0900_0000, 0x1000),
        memory: &[],
        interrupts: &[0, 1, 4],
        properties: &[("current-speed", PropValue::U32(115_200)), ("label", PropValue::Str("console"))],
        stdout: true,
    };
    let build_with = |devices: &[DeviceNode<'_>]| {
        build_guest(&GuestDtConfig {
            platform: &platform,
            plan: &plan,
            bootargs: "console=ttyAMA0",
            vcpu_mpidrs: &[0, 1],
            passthrough_uart: false,
            devices,
            xen: Some(XenNode { version: (4, 20), grant_table: MemRange::new(0x3800_0000, 0x100_0000), event_interrupt: [1, 15, 0xf08] }),
            framebuffer: None,
        })
    };
    let dtb = build_with(&[sp6, uart]).unwrap();
    let fdt = fdt::Fdt::new(&dtb).unwrap();
    assert_eq!(strs(prop(&fdt, "/sp6@18000000", "compatible")), ["reds,reptar-sp6"]);
    assert_eq!(be32(prop(&fdt, "/sp6@18000000", "reg")), [0, 0x1800_0000, 0, 0x1000]);
    assert_eq!(be32(prop(&fdt, "/sp6@18000000", "interrupts")), [0, 90, 4]);
    assert_eq!(prop(&fdt, "/sp6@18000000", "dma-coherent"), b"");
    assert_eq!(be32(prop(&fdt, "/uart@9000000", "current-speed")), [115_200]);
    assert_eq!(strs(prop(&fdt, "/uart@9000000", "label")), ["console"]);
    assert_eq!(strs(prop(&fdt, "/chosen", "stdout-path")), ["/uart@9000000"]);
    assert_eq!(strs(prop(&fdt, "/hypervisor", "compatible")), ["xen,xen-4.20", "xen,xen"]);
    assert_eq!(be32(prop(&fdt, "/hypervisor", "reg")), [0, 0x3800_0000, 0, 0x100_0000]);
    assert_eq!(be32(prop(&fdt, "/hypervisor", "interrupts")), [1, 15, 0xf08]);

    // Two consoles, or an interrupt that is not 3 cells, are refused.
    assert!(build_with(&[uart, DeviceNode { name: "uart2", ..uart }]).is_err());
    assert!(build_with(&[DeviceNode { interrupts: &[0, 90], ..sp6 }]).is_err());

    // Memory a device works on follows its registers in `reg`, and stays out of the guest's RAM.
    let screen = [MemRange::new(0x97c0_0000, 0x20_0000)];
    let lcd = DeviceNode { name: "display-controller", compatible: &["reptar,display-controller"], reg: MemRange::new(0x1810_0000, 0x1000), memory: &screen, interrupts: &[], properties: &[], stdout: false };
    let dtb = build_with(&[lcd]).unwrap();
    let fdt = fdt::Fdt::new(&dtb).unwrap();
    assert_eq!(be32(prop(&fdt, "/display-controller@18100000", "reg")), [0, 0x1810_0000, 0, 0x1000, 0, 0x97c0_0000, 0, 0x20_0000]);
    let inside_ram = [MemRange::new(plan.ram_ipa.base, 0x1000)];
    assert!(build_with(&[DeviceNode { memory: &inside_ram, ..lcd }]).is_err());
}

/// The REPTAR LCD's framebuffer, in host RAM below dom0's.
const FRAMEBUFFER: SimpleFramebuffer<'static> = SimpleFramebuffer {
    reg: MemRange::new(0x97e0_0000, 800 * 480 * 4),
    width: 800,
    height: 480,
    stride: 3200,
    format: FORMAT_X8R8G8B8,
};

fn build_with_framebuffer(fb: SimpleFramebuffer<'_>) -> Result<Vec<u8>, GuestDtError> {
    build_guest(&GuestDtConfig {
        platform: &platform(),
        plan: &plan(),
        bootargs: "console=hvc0",
        vcpu_mpidrs: &[0, 1],
        passthrough_uart: false,
        devices: &[],
        xen: None,
        framebuffer: Some(fb),
    })
}

#[test]
fn simple_framebuffer_under_chosen() {
    let dtb = build_with_framebuffer(FRAMEBUFFER).unwrap();
    let fdt = fdt::Fdt::new(&dtb).unwrap();
    let node = "/chosen/framebuffer@97e00000";
    assert_eq!(strs(prop(&fdt, node, "compatible")), ["simple-framebuffer"]);
    assert_eq!(be32(prop(&fdt, node, "reg")), [0, 0x97e0_0000, 0, 0x17_7000]);
    assert_eq!(be32(prop(&fdt, node, "width")), [800]);
    assert_eq!(be32(prop(&fdt, node, "height")), [480]);
    assert_eq!(be32(prop(&fdt, node, "stride")), [3200]);
    assert_eq!(strs(prop(&fdt, node, "format")), ["x8r8g8b8"]);
    // Linux translates the reg through /chosen: it needs the cells and an empty ranges
    // (1:1), not the root's defaults.
    assert_eq!(be32(prop(&fdt, "/chosen", "#address-cells")), [2]);
    assert_eq!(be32(prop(&fdt, "/chosen", "#size-cells")), [2]);
    assert_eq!(prop(&fdt, "/chosen", "ranges"), b"");
    // Not RAM: the memory node is dom0's RAM alone.
    let regions: Vec<_> = fdt.memory().regions().map(|r| r.starting_address as u64).collect();
    assert_eq!(regions, [0xa000_0000]);
    // The rest of /chosen is as without it, and our own parser still reads the tree.
    assert_eq!(strs(prop(&fdt, "/chosen", "bootargs")), ["console=hvc0"]);
    let guest = crate::host_dt::parse(&dtb).unwrap();
    assert_eq!(guest.platform.ram, [plan().ram_ipa]);
    assert!(guest.dom0.is_none());
    // Without one, /chosen has none of it.
    let dtb = build(&platform(), &plan(), &[0, 1], false).unwrap();
    let fdt = fdt::Fdt::new(&dtb).unwrap();
    let chosen = fdt.find_node("/chosen").unwrap();
    assert!(chosen.property("#address-cells").is_none());
    assert_eq!(chosen.children().count(), 0);
    dtc_check(&build_with_framebuffer(FRAMEBUFFER).unwrap());
}

#[test]
fn framebuffer_errors() {
    let bad = |fb| match build_with_framebuffer(fb) {
        Err(GuestDtError::BadFramebuffer(why)) => why,
        other => panic!("expected BadFramebuffer, got {other:?}"),
    };
    assert_eq!(
        bad(SimpleFramebuffer { reg: MemRange::new(0xa000_0000, 0x20_0000), ..FRAMEBUFFER }),
        "[0xa0000000..0xa0200000) overlaps the guest's RAM [0xa0000000..0xc0000000)"
    );
    assert_eq!(
        bad(SimpleFramebuffer { height: 481, ..FRAMEBUFFER }),
        "481 lines of 3200 bytes do not fit in [0x97e00000..0x97f77000)"
    );
    assert_eq!(
        bad(SimpleFramebuffer { stride: 3199, ..FRAMEBUFFER }),
        "800x480 with a stride of 3199 bytes"
    );
    assert_eq!(bad(SimpleFramebuffer { width: 0, ..FRAMEBUFFER }), "0x480 with a stride of 3200 bytes");
    assert_eq!(bad(SimpleFramebuffer { format: "rgb", ..FRAMEBUFFER }), "unknown format \"rgb\"");
    // 16-bit pixels need half the stride.
    assert!(build_with_framebuffer(SimpleFramebuffer { stride: 1600, format: "r5g6b5", ..FRAMEBUFFER }).is_ok());
    assert!(format!("{}", GuestDtError::BadFramebuffer("x".to_string())).starts_with("framebuffer: "));
}

/// dtc is the reference implementation: if it is installed, it must accept the tree
/// without a warning.
fn dtc_check(dtb: &[u8]) {
    use std::process::Command;
    let path = std::env::temp_dir().join(format!(
        "boot-info-dom0-{}-{:?}.dtb",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&path, dtb).unwrap();
    let output = Command::new("dtc")
        .args(["-I", "dtb", "-O", "dts", "-o", "/dev/null"])
        .arg(&path)
        .output();
    let _ = std::fs::remove_file(&path);
    match output {
        Err(err) => println!("dtc not available ({err}): skipped the dtc check"),
        Ok(output) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(output.status.success(), "dtc failed: {stderr}");
            assert!(stderr.trim().is_empty(), "dtc warned: {stderr}");
        }
    }
}

#[test]
fn dtc_accepts_the_tree() {
    dtc_check(&build(&platform(), &plan(), &[0, 1], true).unwrap());
}

proptest! {
    /// Any set of distinct MPIDRs and any command line: the tree builds (or fails
    /// cleanly) and the fdt crate reads back the same CPUs and command line.
    #[test]
    fn random_vcpus_and_bootargs_round_trip(
        mpidrs in proptest::collection::btree_set(0u64..0x100_0000_0000, 1..9),
        bootargs in "[ -~]{0,200}",
    ) {
        let mpidrs: Vec<u64> = mpidrs.into_iter().collect();
        let platform = platform();
        let plan = plan();
        let dtb = build_guest(&GuestDtConfig { platform: &platform, plan: &plan, bootargs: &bootargs, vcpu_mpidrs: &mpidrs, passthrough_uart: true, devices: &[], xen: None, framebuffer: None }).unwrap();
        let fdt = fdt::Fdt::new(&dtb).unwrap();
        let wide = mpidrs.iter().any(|&m| m > u64::from(u32::MAX));
        let read: Vec<u64> = fdt.cpus().map(|cpu| {
            let reg = cpu.property("reg").unwrap().value;
            if wide { u64::from_be_bytes(reg.try_into().unwrap()) } else { u64::from(u32::from_be_bytes(reg.try_into().unwrap())) }
        }).collect();
        prop_assert_eq!(read, mpidrs);
        prop_assert_eq!(fdt.chosen().bootargs(), Some(bootargs.as_str()));
    }
}
