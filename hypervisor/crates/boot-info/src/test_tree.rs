//! Test support: an editable device tree, written out with vm-fdt, and a model of the tree
//! QEMU 10 gives `-machine virt,virtualization=on,gic-version=3 -cpu cortex-a72 -smp 2 -m 2G`
//! with two `-device guest-loader` modules (see tests/fixtures/README.md for the real one).
//!
//! Tests start from [`qemu_virt`] and remove or change what they need, so that each bad case
//! differs from a known-good tree in exactly one place.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use vm_fdt::FdtWriter;

#[derive(Debug, Clone)]
pub(crate) struct TestNode {
    pub name: String,
    pub props: Vec<(String, Vec<u8>)>,
    pub children: Vec<TestNode>,
}

pub(crate) fn u32_bytes(cells: &[u32]) -> Vec<u8> {
    cells.iter().flat_map(|c| c.to_be_bytes()).collect()
}

pub(crate) fn str_list_bytes(strings: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in strings {
        out.extend_from_slice(s.as_bytes());
        out.push(0);
    }
    out
}

impl TestNode {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            props: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Sets (or replaces) a property, keeping its position.
    pub fn set(&mut self, name: &str, value: Vec<u8>) -> &mut Self {
        match self.props.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value,
            None => self.props.push((name.to_string(), value)),
        }
        self
    }

    pub fn set_u32(&mut self, name: &str, cells: &[u32]) -> &mut Self {
        self.set(name, u32_bytes(cells))
    }

    pub fn set_str(&mut self, name: &str, value: &str) -> &mut Self {
        self.set(name, str_list_bytes(&[value]))
    }

    pub fn set_strs(&mut self, name: &str, values: &[&str]) -> &mut Self {
        self.set(name, str_list_bytes(values))
    }

    pub fn remove_prop(&mut self, name: &str) -> &mut Self {
        self.props.retain(|(n, _)| n != name);
        self
    }

    pub fn add(&mut self, child: TestNode) -> &mut Self {
        self.children.push(child);
        self
    }

    /// The node at `path` ("/chosen/module@0x49000000"); panics if absent (test bug).
    pub fn at(&mut self, path: &str) -> &mut TestNode {
        let mut node = self;
        for component in path.split('/').filter(|c| !c.is_empty()) {
            node = node
                .children
                .iter_mut()
                .find(|c| c.name == component)
                .unwrap_or_else(|| panic!("test tree has no {component}"));
        }
        node
    }

    /// Removes the node at `path`; panics if absent (test bug).
    pub fn remove(&mut self, path: &str) {
        let (parent, name) = path.rsplit_once('/').expect("absolute path");
        let parent = self.at(parent);
        let before = parent.children.len();
        parent.children.retain(|c| c.name != name);
        assert_ne!(before, parent.children.len(), "test tree has no {path}");
    }

    fn write(&self, fdt: &mut FdtWriter) {
        let node = fdt.begin_node(&self.name).unwrap();
        for (name, value) in &self.props {
            fdt.property(name, value).unwrap();
        }
        for child in &self.children {
            child.write(fdt);
        }
        fdt.end_node(node).unwrap();
    }

    /// This node as the root of a flattened device tree.
    pub fn to_dtb(&self) -> Vec<u8> {
        let mut fdt = FdtWriter::new().unwrap();
        self.write(&mut fdt);
        fdt.finish().unwrap()
    }
}

pub(crate) const GIC_PHANDLE: u32 = 0x8003;
pub(crate) const CLOCK_PHANDLE: u32 = 0x8000;

/// A boot module node as QEMU's guest-loader writes it: generic compatible first,
/// 64-bit address and size whatever /chosen says.
pub(crate) fn guest_loader_module(
    kind: &str,
    addr: u64,
    size: u64,
    bootargs: Option<&str>,
) -> TestNode {
    let mut node = TestNode::new(&alloc::format!("module@{addr:#x}"));
    if let Some(args) = bootargs {
        node.set_str("bootargs", args);
    }
    node.set_strs("compatible", &["multiboot,module", kind]);
    node.set_u32(
        "reg",
        &[
            (addr >> 32) as u32,
            addr as u32,
            (size >> 32) as u32,
            size as u32,
        ],
    );
    node
}

/// The essential nodes of QEMU's virt machine, in QEMU's order and with QEMU's values:
/// 2 GiB of RAM at 0x4000_0000, two Cortex-A72, GICv3 with one redistributor region and an
/// ITS, the architected timer, the PL011 at 0x0900_0000 with its 24 MHz clock, PSCI over
/// SMC, fw_cfg at 0x0902_0000, and two guest-loader modules: a kernel at 0x4900_0000 with
/// "console=hvc0" and an initrd at 0x4a00_0000, each 0x10_0000 bytes.
pub(crate) fn qemu_virt() -> TestNode {
    let mut root = TestNode::new("");
    root.set_u32("interrupt-parent", &[GIC_PHANDLE])
        .set("dma-coherent", Vec::new())
        .set_str("model", "linux,dummy-virt")
        .set_u32("#size-cells", &[2])
        .set_u32("#address-cells", &[2])
        .set_str("compatible", "linux,dummy-virt");

    let mut psci = TestNode::new("psci");
    psci.set_u32("migrate", &[0xc400_0005])
        .set_u32("cpu_on", &[0xc400_0003])
        .set_u32("cpu_off", &[0x8400_0002])
        .set_u32("cpu_suspend", &[0xc400_0001])
        .set_str("method", "smc")
        .set_strs("compatible", &["arm,psci-1.0", "arm,psci-0.2", "arm,psci"]);
    root.add(psci);

    let mut memory = TestNode::new("memory@40000000");
    memory
        .set_u32("reg", &[0, 0x4000_0000, 0, 0x8000_0000])
        .set_str("device_type", "memory");
    root.add(memory);

    let mut rtc = TestNode::new("pl031@9010000");
    rtc.set_strs("clock-names", &["apb_pclk"])
        .set_u32("clocks", &[CLOCK_PHANDLE])
        .set_u32("interrupts", &[0, 2, 4])
        .set_u32("reg", &[0, 0x0901_0000, 0, 0x1000])
        .set_strs("compatible", &["arm,pl031", "arm,primecell"]);
    root.add(rtc);

    let mut uart = TestNode::new("pl011@9000000");
    uart.set_strs("clock-names", &["uartclk", "apb_pclk"])
        .set_u32("clocks", &[CLOCK_PHANDLE, CLOCK_PHANDLE])
        .set_u32("interrupts", &[0, 1, 4])
        .set_u32("reg", &[0, 0x0900_0000, 0, 0x1000])
        .set_strs("compatible", &["arm,pl011", "arm,primecell"]);
    root.add(uart);

    let mut pmu = TestNode::new("pmu");
    pmu.set_u32("interrupts", &[1, 7, 4])
        .set_str("compatible", "arm,armv8-pmuv3");
    root.add(pmu);

    let mut gic = TestNode::new("intc@8000000");
    gic.set_u32("phandle", &[GIC_PHANDLE])
        .set_u32("interrupts", &[1, 9, 4])
        .set_u32(
            "reg",
            &[0, 0x0800_0000, 0, 0x1_0000, 0, 0x080a_0000, 0, 0xf6_0000],
        )
        .set_u32("#redistributor-regions", &[1])
        .set_str("compatible", "arm,gic-v3")
        .set("ranges", Vec::new())
        .set_u32("#size-cells", &[2])
        .set_u32("#address-cells", &[2])
        .set("interrupt-controller", Vec::new())
        .set_u32("#interrupt-cells", &[3]);
    let mut its = TestNode::new("its@8080000");
    its.set_u32("phandle", &[0x8004])
        .set_u32("reg", &[0, 0x0808_0000, 0, 0x2_0000])
        .set_u32("#msi-cells", &[1])
        .set("msi-controller", Vec::new())
        .set_str("compatible", "arm,gic-v3-its");
    gic.add(its);
    root.add(gic);

    let mut cpus = TestNode::new("cpus");
    cpus.set_u32("#size-cells", &[0])
        .set_u32("#address-cells", &[1]);
    let mut cpu_map = TestNode::new("cpu-map");
    let mut cluster = TestNode::new("cluster0");
    for (core, phandle) in [("core0", 0x8002), ("core1", 0x8001)] {
        let mut c = TestNode::new(core);
        c.set_u32("cpu", &[phandle]);
        cluster.add(c);
    }
    let mut socket = TestNode::new("socket0");
    socket.add(cluster);
    cpu_map.add(socket);
    cpus.add(cpu_map);
    for (n, phandle) in [(0u32, 0x8002u32), (1, 0x8001)] {
        let mut cpu = TestNode::new(&alloc::format!("cpu@{n}"));
        cpu.set_u32("phandle", &[phandle])
            .set_u32("reg", &[n])
            .set_str("enable-method", "psci")
            .set_str("compatible", "arm,cortex-a72")
            .set_str("device_type", "cpu");
        cpus.add(cpu);
    }
    root.add(cpus);

    let mut timer = TestNode::new("timer");
    timer
        .set_u32("interrupts", &[1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4])
        .set("always-on", Vec::new())
        .set_strs("compatible", &["arm,armv8-timer", "arm,armv7-timer"]);
    root.add(timer);

    let mut fw_cfg = TestNode::new("fw-cfg@9020000");
    fw_cfg
        .set("dma-coherent", Vec::new())
        .set_u32("reg", &[0, 0x0902_0000, 0, 0x18])
        .set_str("compatible", "qemu,fw-cfg-mmio");
    root.add(fw_cfg);

    let mut clock = TestNode::new("apb-pclk");
    clock
        .set_u32("phandle", &[CLOCK_PHANDLE])
        .set_str("clock-output-names", "clk24mhz")
        .set_u32("clock-frequency", &[24_000_000])
        .set_u32("#clock-cells", &[0])
        .set_str("compatible", "fixed-clock");
    root.add(clock);

    let mut aliases = TestNode::new("aliases");
    aliases.set_str("serial0", "/pl011@9000000");
    root.add(aliases);

    let mut chosen = TestNode::new("chosen");
    chosen.set_str("stdout-path", "/pl011@9000000");
    chosen.add(guest_loader_module(
        "multiboot,ramdisk",
        0x4a00_0000,
        0x10_0000,
        None,
    ));
    chosen.add(guest_loader_module(
        "multiboot,kernel",
        0x4900_0000,
        0x10_0000,
        Some("console=hvc0"),
    ));
    root.add(chosen);
    root
}
