//! The device tree dom0 boots with.
//!
//! Dom0 sees only what the hypervisor gives it: its RAM, its vCPUs, PSCI over HVC (the
//! hypervisor implements it), the GICv3 at the host's addresses (the hypervisor emulates
//! the distributor and redistributors there), the architected timer, and optionally the
//! host PL011 passed through, the devices of the board model ([`DeviceNode`]) and a
//! framebuffer the display already shows ([`SimpleFramebuffer`]). No PMU, no other device.
//!
//! Interrupt specifiers are copied raw from the host tree: [`crate::host_dt::parse`] only
//! accepts a GIC with 3 interrupt cells, the format this tree's GIC node declares.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use vm_fdt::FdtWriter;

use crate::host_dt::{Platform, GIC_INTERRUPT_CELLS};
use crate::MemRange;
use crate::layout::DomainPlan;

/// Root `compatible`: ours first, then QEMU's, which tells Linux nothing more than "a
/// device-tree-described arm64 machine".
pub const ROOT_COMPATIBLE: [&str; 2] = ["reds,reptar-virt", "linux,dummy-virt"];
/// Root `model`.
pub const MODEL: &str = "REPTAR on Rust (QEMU virt)";
/// phandle of the GIC node.
pub const GIC_PHANDLE: u32 = 1;
/// phandle of the UART clock node.
pub const UART_CLOCK_PHANDLE: u32 = 2;

/// What dom0's device tree is built from.
#[derive(Debug, Clone, Copy)]
pub struct GuestDtConfig<'a> {
    /// The host platform (GIC, timer, UART).
    pub platform: &'a Platform,
    /// Dom0's memory plan (RAM, initrd, room for this tree).
    pub plan: &'a DomainPlan,
    /// Dom0's kernel command line.
    pub bootargs: &'a str,
    /// MPIDR of each vCPU, in vCPU order.
    pub vcpu_mpidrs: &'a [u64],
    /// Give dom0 the host PL011 (and make it its stdout).
    pub passthrough_uart: bool,
    /// Devices of the board model the hypervisor emulates for this guest.
    pub devices: &'a [DeviceNode<'a>],
    /// The `/hypervisor` node of a guest that talks to us as to Xen.
    pub xen: Option<XenNode>,
    /// A framebuffer the display already scans out, as a `simple-framebuffer` node.
    pub framebuffer: Option<SimpleFramebuffer<'a>>,
}

/// A framebuffer set up before the guest boots (Linux's simplefb or simpledrm drive it):
/// Documentation/devicetree/bindings/display/simple-framebuffer.yaml. It is written as
/// `/chosen/framebuffer@<base>`, where the binding wants it and where Linux creates its
/// device first (drivers/of/platform.c); /chosen then gets `#address-cells = <2>`,
/// `#size-cells = <2>` and an empty `ranges`, so that the `reg` translates 1:1. The memory
/// must not be in the guest's RAM (its `memory` node): Linux maps it with ioremap_wc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimpleFramebuffer<'a> {
    /// The pixels (IPA).
    pub reg: MemRange,
    /// Pixels per line.
    pub width: u32,
    /// Lines.
    pub height: u32,
    /// Bytes from a line to the next.
    pub stride: u32,
    /// The binding's pixel format name, e.g. [`FORMAT_X8R8G8B8`].
    pub format: &'a str,
}

/// The simple-framebuffer name of DRM_FORMAT_XRGB8888 (32-bit pixels, red in bits 23:16).
pub const FORMAT_X8R8G8B8: &str = "x8r8g8b8";

/// What a Xen guest learns from `/hypervisor` (Linux's Documentation/devicetree/bindings/arm/xen.txt).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XenNode {
    /// The version in `compatible = "xen,xen-<major>.<minor>", "xen,xen"`.
    pub version: (u32, u32),
    /// Where the guest maps its grant-table frames (`reg` 0).
    pub grant_table: MemRange,
    /// The event-channel upcall interrupt: a GIC specifier, 3 cells.
    pub event_interrupt: [u32; 3],
}

/// A device the hypervisor emulates, as the guest's device tree describes it.
#[derive(Debug, Clone, Copy)]
pub struct DeviceNode<'a> {
    /// Node name without the unit address, e.g. "sp6" (the address is appended).
    pub name: &'a str,
    /// The `compatible` strings, most specific first.
    pub compatible: &'a [&'a str],
    /// Its register window: the first `reg` entry, and the node's unit address.
    pub reg: MemRange,
    /// Memory the device works on, as further `reg` entries after the registers (the
    /// display controller's guest screen); usually empty.
    pub memory: &'a [MemRange],
    /// GIC interrupt specifiers, 3 cells each (may be empty).
    pub interrupts: &'a [u32],
    /// Further properties.
    pub properties: &'a [(&'a str, PropValue<'a>)],
    /// This device is the guest's console: `/chosen/stdout-path` names it.
    pub stdout: bool,
}

/// The value of a further property of a [`DeviceNode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropValue<'a> {
    /// No value: a flag such as `dma-coherent`.
    Empty,
    /// One cell.
    U32(u32),
    /// A string.
    Str(&'a str),
}

impl DeviceNode<'_> {
    fn path(&self) -> String {
        format!("/{}@{:x}", self.name, self.reg.base)
    }
}

/// Why the tree cannot be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestDtError {
    /// No vCPU to describe.
    NoVcpus,
    /// Two vCPUs with the same MPIDR.
    DuplicateVcpu {
        /// The repeated MPIDR.
        mpidr: u64,
    },
    /// UART passthrough was asked for but the platform has no PL011.
    NoUart,
    /// The framebuffer's lines do not fit in its memory, or overlap the guest's RAM.
    BadFramebuffer(String),
    /// The tree is larger than the room the plan reserves for it.
    TooLarge {
        /// Size of the tree.
        size: usize,
        /// Room reserved.
        max: u64,
    },
    /// The writer refused a node or property (a bootargs with a NUL byte, for one).
    Fdt(String),
}

impl fmt::Display for GuestDtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuestDtError::NoVcpus => f.write_str("dom0 has no vCPU; give it at least one"),
            GuestDtError::DuplicateVcpu { mpidr } => {
                write!(f, "two vCPUs of dom0 have the same MPIDR {mpidr:#x}")
            }
            GuestDtError::NoUart => {
                f.write_str("UART passthrough to dom0 was requested but the platform has no PL011")
            }
            GuestDtError::BadFramebuffer(why) => write!(f, "framebuffer: {why}"),
            GuestDtError::TooLarge { size, max } => write!(
                f,
                "dom0's device tree takes {size} bytes, more than the {max} reserved for it; \
                 shorten its command line"
            ),
            GuestDtError::Fdt(reason) => write!(f, "cannot write dom0's device tree: {reason}"),
        }
    }
}

impl From<vm_fdt::Error> for GuestDtError {
    fn from(err: vm_fdt::Error) -> Self {
        GuestDtError::Fdt(err.to_string())
    }
}

/// A 64-bit value as two cells, as `#address-cells = <2>` and `#size-cells = <2>` want.
fn cells64(values: &[u64]) -> Vec<u32> {
    values
        .iter()
        .flat_map(|v| [(v >> 32) as u32, *v as u32])
        .collect()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// `clock-output-names` for a fixed clock: QEMU's "clk24mhz" style.
fn clock_name(hz: u32) -> String {
    if hz.is_multiple_of(1_000_000) {
        format!("clk{}mhz", hz / 1_000_000)
    } else {
        format!("clk{hz}hz")
    }
}

/// The lines fit in the memory, which does not wrap and is not guest RAM.
fn check_framebuffer(fb: &SimpleFramebuffer<'_>, ram: MemRange) -> Result<(), GuestDtError> {
    let bad = |why: String| Err(GuestDtError::BadFramebuffer(why));
    let bytes_per_pixel = match fb.format {
        "r5g6b5" | "x1r5g5b5" | "a1r5g5b5" | "r5g5b5a1" => 2,
        "r8g8b8" => 3,
        "x8r8g8b8" | "a8r8g8b8" | "x8b8g8r8" | "a8b8g8r8" | "x2r10g10b10" | "a2r10g10b10" => 4,
        other => return bad(format!("unknown format \"{other}\"")),
    };
    if fb.width == 0 || fb.height == 0 || u64::from(fb.stride) < u64::from(fb.width) * bytes_per_pixel {
        return bad(format!("{}x{} with a stride of {} bytes", fb.width, fb.height, fb.stride));
    }
    if fb.reg.end().is_none() || u64::from(fb.stride) * u64::from(fb.height) > fb.reg.size {
        return bad(format!("{} lines of {} bytes do not fit in {}", fb.height, fb.stride, fb.reg));
    }
    if fb.reg.overlaps(&ram) {
        return bad(format!("{} overlaps the guest's RAM {ram}", fb.reg));
    }
    Ok(())
}

/// Builds dom0's device tree (a DTB of at most `plan.dtb_ipa.size` bytes).
pub fn build_guest(cfg: &GuestDtConfig<'_>) -> Result<Vec<u8>, GuestDtError> {
    if cfg.vcpu_mpidrs.is_empty() {
        return Err(GuestDtError::NoVcpus);
    }
    for (i, mpidr) in cfg.vcpu_mpidrs.iter().enumerate() {
        if cfg
            .vcpu_mpidrs
            .get(..i)
            .is_some_and(|before| before.contains(mpidr))
        {
            return Err(GuestDtError::DuplicateVcpu { mpidr: *mpidr });
        }
    }
    let uart = match (cfg.passthrough_uart, &cfg.platform.uart) {
        (false, _) => None,
        (true, Some(uart)) => Some(uart),
        (true, None) => return Err(GuestDtError::NoUart),
    };
    if cfg.devices.iter().filter(|d| d.stdout).count() + usize::from(uart.is_some()) > 1 {
        return Err(GuestDtError::Fdt("more than one console device".to_string()));
    }
    if cfg.devices.iter().any(|d| d.interrupts.len() % GIC_INTERRUPT_CELLS != 0) {
        return Err(GuestDtError::Fdt("an interrupt specifier is not 3 cells".to_string()));
    }
    // A device's memory is outside the guest's RAM, or the kernel would also use it as RAM.
    if let Some((device, memory)) = cfg.devices.iter().flat_map(|d| d.memory.iter().map(move |m| (d, m))).find(|(_, m)| m.overlaps(&cfg.plan.ram_ipa)) {
        return Err(GuestDtError::Fdt(format!("{}: memory {memory} overlaps the guest's RAM {}", device.path(), cfg.plan.ram_ipa)));
    }
    if let Some(fb) = &cfg.framebuffer {
        check_framebuffer(fb, cfg.plan.ram_ipa)?;
    }
    let uart_path = uart
        .map(|u| format!("/pl011@{:x}", u.reg.base))
        .or_else(|| cfg.devices.iter().find(|d| d.stdout).map(DeviceNode::path));

    let mut fdt = FdtWriter::new()?;
    let root = fdt.begin_node("")?;
    fdt.property_string_list("compatible", strings(&ROOT_COMPATIBLE))?;
    fdt.property_string("model", MODEL)?;
    fdt.property_u32("#address-cells", 2)?;
    fdt.property_u32("#size-cells", 2)?;
    fdt.property_u32("interrupt-parent", GIC_PHANDLE)?;

    let chosen = fdt.begin_node("chosen")?;
    fdt.property_string("bootargs", cfg.bootargs)?;
    if let Some(path) = &uart_path {
        fdt.property_string("stdout-path", path)?;
    }
    if let Some(initrd) = cfg.plan.initrd_ipa {
        // Linux reads these as #address-cells wide; end is exclusive.
        fdt.property_u64("linux,initrd-start", initrd.base)?;
        fdt.property_u64("linux,initrd-end", initrd.base.saturating_add(initrd.size))?;
    }
    if let Some(fb) = &cfg.framebuffer {
        fdt.property_u32("#address-cells", 2)?;
        fdt.property_u32("#size-cells", 2)?;
        fdt.property_null("ranges")?;
        let node = fdt.begin_node(&format!("framebuffer@{:x}", fb.reg.base))?;
        fdt.property_string("compatible", "simple-framebuffer")?;
        fdt.property_array_u32("reg", &cells64(&[fb.reg.base, fb.reg.size]))?;
        fdt.property_u32("width", fb.width)?;
        fdt.property_u32("height", fb.height)?;
        fdt.property_u32("stride", fb.stride)?;
        fdt.property_string("format", fb.format)?;
        fdt.end_node(node)?;
    }
    fdt.end_node(chosen)?;

    let ram = cfg.plan.ram_ipa;
    let memory = fdt.begin_node(&format!("memory@{:x}", ram.base))?;
    fdt.property_string("device_type", "memory")?;
    fdt.property_array_u32("reg", &cells64(&[ram.base, ram.size]))?;
    fdt.end_node(memory)?;

    let wide_mpidrs = cfg.vcpu_mpidrs.iter().any(|&m| m > u64::from(u32::MAX));
    let cpus = fdt.begin_node("cpus")?;
    fdt.property_u32("#address-cells", if wide_mpidrs { 2 } else { 1 })?;
    fdt.property_u32("#size-cells", 0)?;
    for &mpidr in cfg.vcpu_mpidrs {
        let cpu = fdt.begin_node(&format!("cpu@{mpidr:x}"))?;
        fdt.property_string("device_type", "cpu")?;
        fdt.property_string("compatible", "arm,armv8")?;
        if wide_mpidrs {
            fdt.property_array_u32("reg", &cells64(&[mpidr]))?;
        } else {
            fdt.property_u32("reg", mpidr as u32)?;
        }
        fdt.property_string("enable-method", "psci")?;
        fdt.end_node(cpu)?;
    }
    fdt.end_node(cpus)?;

    let psci = fdt.begin_node("psci")?;
    fdt.property_string_list(
        "compatible",
        strings(&["arm,psci-1.0", "arm,psci-0.2", "arm,psci"]),
    )?;
    fdt.property_string("method", "hvc")?;
    fdt.end_node(psci)?;

    let gic = &cfg.platform.gic;
    let intc = fdt.begin_node(&format!("intc@{:x}", gic.dist.base))?;
    fdt.property_string("compatible", "arm,gic-v3")?;
    fdt.property_u32("#interrupt-cells", 3)?;
    fdt.property_null("interrupt-controller")?;
    fdt.property_u32("#address-cells", 2)?;
    fdt.property_u32("#size-cells", 2)?;
    fdt.property_null("ranges")?;
    let mut regions = vec![gic.dist.base, gic.dist.size];
    for redist in &gic.redist {
        regions.extend([redist.base, redist.size]);
    }
    fdt.property_array_u32("reg", &cells64(&regions))?;
    let redist_count = u32::try_from(gic.redist.len())
        .map_err(|_| GuestDtError::Fdt("too many redistributor regions".to_string()))?;
    fdt.property_u32("#redistributor-regions", redist_count)?;
    if !gic.maintenance_interrupt.is_empty() {
        fdt.property_array_u32("interrupts", &gic.maintenance_interrupt)?;
    }
    fdt.property_phandle(GIC_PHANDLE)?;
    fdt.end_node(intc)?;

    let timer = fdt.begin_node("timer")?;
    fdt.property_string("compatible", "arm,armv8-timer")?;
    fdt.property_array_u32("interrupts", &cfg.platform.timer_interrupts)?;
    fdt.property_null("always-on")?;
    fdt.end_node(timer)?;

    if let Some(uart) = uart {
        let clock = fdt.begin_node("apb-pclk")?;
        fdt.property_string("compatible", "fixed-clock")?;
        fdt.property_u32("#clock-cells", 0)?;
        fdt.property_u32("clock-frequency", uart.clock_frequency)?;
        fdt.property_string("clock-output-names", &clock_name(uart.clock_frequency))?;
        fdt.property_phandle(UART_CLOCK_PHANDLE)?;
        fdt.end_node(clock)?;

        let pl011 = fdt.begin_node(&format!("pl011@{:x}", uart.reg.base))?;
        fdt.property_string_list("compatible", strings(&["arm,pl011", "arm,primecell"]))?;
        fdt.property_array_u32("reg", &cells64(&[uart.reg.base, uart.reg.size]))?;
        if !uart.interrupts.is_empty() {
            fdt.property_array_u32("interrupts", &uart.interrupts)?;
        }
        fdt.property_array_u32("clocks", &[UART_CLOCK_PHANDLE, UART_CLOCK_PHANDLE])?;
        fdt.property_string_list("clock-names", strings(&["uartclk", "apb_pclk"]))?;
        fdt.end_node(pl011)?;
    }

    if let Some(xen) = &cfg.xen {
        let node = fdt.begin_node("hypervisor")?;
        let version = format!("xen,xen-{}.{}", xen.version.0, xen.version.1);
        fdt.property_string_list("compatible", vec![version, "xen,xen".to_string()])?;
        fdt.property_array_u32("reg", &cells64(&[xen.grant_table.base, xen.grant_table.size]))?;
        fdt.property_array_u32("interrupts", &xen.event_interrupt)?;
        fdt.end_node(node)?;
    }

    for device in cfg.devices {
        let node = fdt.begin_node(&device.path()[1..])?;
        fdt.property_string_list("compatible", strings(device.compatible))?;
        let reg: Vec<u64> = core::iter::once(&device.reg).chain(device.memory).flat_map(|r| [r.base, r.size]).collect();
        fdt.property_array_u32("reg", &cells64(&reg))?;
        if !device.interrupts.is_empty() {
            fdt.property_array_u32("interrupts", device.interrupts)?;
        }
        for (name, value) in device.properties {
            match value {
                PropValue::Empty => fdt.property_null(name)?,
                PropValue::U32(v) => fdt.property_u32(name, *v)?,
                PropValue::Str(v) => fdt.property_string(name, v)?,
            }
        }
        fdt.end_node(node)?;
    }

    fdt.end_node(root)?;
    let dtb = fdt.finish()?;
    if dtb.len() as u64 > cfg.plan.dtb_ipa.size {
        return Err(GuestDtError::TooLarge {
            size: dtb.len(),
            max: cfg.plan.dtb_ipa.size,
        });
    }
    Ok(dtb)
}

#[cfg(test)]
mod tests;
