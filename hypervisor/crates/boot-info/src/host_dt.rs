//! The device tree QEMU hands the hypervisor: what the platform is and what to boot.
//!
//! The platform comes from the usual bindings of QEMU's virt machine (memory, cpus,
//! arm,gic-v3, arm,armv8-timer, arm,pl011, arm,psci, virtio,mmio, qemu,fw-cfg-mmio). The boot configuration comes from
//! /chosen, in either of two dialects that may be mixed:
//!
//! * QEMU's `-device guest-loader`: `/chosen/module@<addr>` nodes with
//!   `compatible = "multiboot,module", "multiboot,kernel"` (or `"multiboot,ramdisk"`),
//!   an optional `bootargs`, and a `reg` of a 64-bit address and a 64-bit size although
//!   /chosen has no `#address-cells`;
//! * Xen's bindings (xen/docs/misc/arm/device-tree/booting.txt): the same module nodes and
//!   the legacy `xen,linux-zimage` / `xen,linux-initrd` names, `xen,xen-bootargs`,
//!   `xen,dom0-bootargs`, and dom0less domUs as `/chosen/<name>` nodes with
//!   `compatible = "xen,domain"`, `memory` (KiB), `cpus` and module children.
//!
//! Two extensions of ours: a domU node may carry `reptar,pv-devices`, the xenbus device types
//! dom0 serves it (a string list), and `reptar,pcpus`, a list of u32 physical CPU
//! indices (positions in [`Platform::cpus`]) to pin its vCPUs to, vCPU *n* on entry *n*; it
//! must have one entry per vCPU when `cpus` is given. (Xen itself pins with cpupools,
//! `domain-cpupool`, which this hypervisor does not implement.)
//!
//! Nodes whose `status` is neither "okay" nor "ok" are ignored, as Linux ignores them.

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::dtb::{self, DtbError, NodeId, Tree};
pub use crate::MemRange;

/// Name given to the initial domain in [`DomainConfig::name`].
pub const DOM0_NAME: &str = "dom0";
/// UART reference clock assumed when the device tree does not give one: QEMU's `apb-pclk`.
pub const DEFAULT_UART_CLOCK_HZ: u32 = 24_000_000;
/// Cells per interrupt specifier of the GICv3 binding (type, number, flags), the only
/// format [`Platform`]'s raw interrupt cells are in.
pub const GIC_INTERRUPT_CELLS: usize = 3;

/// Everything the hypervisor learns from its device tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootInfo {
    /// The machine.
    pub platform: Platform,
    /// The initial domain, if /chosen names any module for it. `None` is not an error here:
    /// whoever needs a dom0 kernel reports its absence.
    pub dom0: Option<DomainConfig>,
    /// Dom0less domains, in device-tree order.
    pub domus: Vec<DomainConfig>,
    /// The hypervisor's own command line (see [`parse`] for where it comes from).
    pub hypervisor_bootargs: Option<String>,
}

/// What to boot in one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainConfig {
    /// [`DOM0_NAME`] for dom0, the device-tree node name for a domU (`domU1`).
    pub name: String,
    /// The kernel Image module; `None` if the device tree names none.
    pub kernel: Option<BootModule>,
    /// The initial ramdisk module, if any.
    pub ramdisk: Option<BootModule>,
    /// The kernel command line, resolved as Xen does (see [`parse`]).
    pub bootargs: Option<String>,
    /// RAM in KiB (domU `memory` property); `None` for dom0, whose size the hypervisor picks.
    pub memory_kib: Option<u64>,
    /// Number of vCPUs (domU `cpus` property).
    pub vcpus: Option<u32>,
    /// Physical CPUs to pin the vCPUs to, if given (our `reptar,pcpus` extension): vCPU *n*
    /// runs on `Platform::cpus[cpus[n]]`. Checked to name existing CPUs, one per vCPU.
    pub cpus: Option<Vec<u32>>,
    /// Paravirtual devices dom0 serves to this domU, by xenbus device type (our
    /// `reptar,pv-devices` extension: `"vled"`, `"vkbd"`, `"vfb"`...): the hypervisor writes
    /// their frontend and backend xenstore directories as a toolstack would. Each name is
    /// 1 to [`MAX_PV_DEVICE_NAME`] lowercase letters or digits, each at most once.
    pub pv_devices: Vec<String>,
}

/// Longest xenbus device type name accepted in `reptar,pv-devices`.
pub const MAX_PV_DEVICE_NAME: usize = 16;

/// A file the boot loader left in RAM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootModule {
    /// Where it lies (physical addresses).
    pub range: MemRange,
    /// The module's own `bootargs`, if present and not empty.
    pub bootargs: Option<String>,
}

/// The machine the hypervisor runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// RAM banks, sorted by address, non-empty and non-overlapping.
    pub ram: Vec<MemRange>,
    /// MPIDR affinity values (the `reg` of each `/cpus/cpu@N`), in device-tree order.
    pub cpus: Vec<u64>,
    /// The interrupt controller.
    pub gic: Gic,
    /// Raw cells of the arm,armv8-timer `interrupts`: 3 per PPI, in binding order (secure
    /// physical, non-secure physical, virtual, hypervisor physical).
    pub timer_interrupts: Vec<u32>,
    /// The PL011 the console should use, if any.
    pub uart: Option<Uart>,
    /// The PSCI conduit, "smc" or "hvc", if a PSCI node exists.
    pub psci_method: Option<String>,
    /// virtio-mmio transports (`virtio,mmio`), in device-tree order: the hypervisor looks for
    /// its keyboard among them.
    pub virtio_mmio: Vec<VirtioMmio>,
    /// QEMU's firmware configuration device (`qemu,fw-cfg-mmio`) registers, if present: the
    /// hypervisor configures the ramfb display through it. At least [`FW_CFG_MIN_SIZE`]
    /// bytes.
    pub fw_cfg: Option<MemRange>,
}

/// The registers a `qemu,fw-cfg-mmio` window must hold: data (8 bytes), selector (2, padded
/// to 8) and the 64-bit DMA address register (QEMU's docs/specs/fw_cfg.rst).
pub const FW_CFG_MIN_SIZE: u64 = 0x18;

/// A virtio-mmio transport slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtioMmio {
    /// Its register window.
    pub reg: MemRange,
    /// Raw cells of its `interrupts` (3 per interrupt).
    pub interrupts: Vec<u32>,
}

/// A GICv3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gic {
    /// The distributor (GICD).
    pub dist: MemRange,
    /// The redistributor regions (GICR), as many as `#redistributor-regions` says.
    pub redist: Vec<MemRange>,
    /// Raw cells of the node's `interrupts`: the virtual GIC maintenance interrupt (3 cells),
    /// empty if the node has none.
    pub maintenance_interrupt: Vec<u32>,
    /// Architecture version of the GIC: always 3 (only "arm,gic-v3" is accepted).
    pub version: u8,
}

/// A PL011 UART.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uart {
    /// Its registers.
    pub reg: MemRange,
    /// Raw cells of its `interrupts` (3 per interrupt), empty if it has none.
    pub interrupts: Vec<u32>,
    /// Frequency of its reference clock (`uartclk`), [`DEFAULT_UART_CLOCK_HZ`] when the
    /// device tree does not say.
    pub clock_frequency: u32,
}

/// Which kind of boot module an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleKind {
    /// A kernel Image.
    Kernel,
    /// An initial ramdisk.
    Ramdisk,
}

impl fmt::Display for ModuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModuleKind::Kernel => "kernel",
            ModuleKind::Ramdisk => "ramdisk",
        })
    }
}

/// Why the device tree cannot be used. Node names are full paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtError {
    /// Shorter than a header or without the FDT magic number.
    NotADtb,
    /// The header is inconsistent or of an unsupported version.
    BadHeader {
        /// What is wrong.
        reason: &'static str,
    },
    /// The structure block is malformed.
    Corrupt {
        /// Byte offset in the blob.
        offset: usize,
        /// What is wrong there.
        reason: &'static str,
    },
    /// No node with `device_type = "memory"` and a non-empty `reg`.
    NoMemory,
    /// Two RAM banks overlap.
    RamOverlap {
        /// One bank.
        first: MemRange,
        /// The other.
        second: MemRange,
    },
    /// No `/cpus/cpu@N` node with `device_type = "cpu"`.
    NoCpus,
    /// Two CPU nodes have the same MPIDR.
    DuplicateCpu {
        /// The repeated MPIDR.
        mpidr: u64,
    },
    /// No interrupt controller with compatible "arm,gic-v3".
    NoGicV3,
    /// No timer with compatible "arm,armv8-timer".
    NoTimer,
    /// A required property is absent.
    MissingProperty {
        /// The node.
        node: String,
        /// The property.
        property: &'static str,
    },
    /// A `reg` is not a whole number of (address, size) entries.
    MalformedReg {
        /// The node.
        node: String,
        /// Length of the property in bytes.
        len: usize,
        /// Address cells per entry.
        address_cells: u32,
        /// Size cells per entry.
        size_cells: u32,
    },
    /// A region ends beyond the 64-bit address space.
    RangeOverflow {
        /// The node.
        node: String,
        /// Its base.
        base: u64,
        /// Its size.
        size: u64,
    },
    /// A property has the wrong length or content.
    BadProperty {
        /// The node.
        node: String,
        /// The property.
        property: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// A boot module of size zero.
    ModuleZeroSize {
        /// The module node.
        node: String,
    },
    /// Two kernels (or two ramdisks) for the same domain.
    DuplicateModule {
        /// The domain.
        domain: String,
        /// Which kind of module is repeated.
        kind: ModuleKind,
        /// The first module node.
        first: String,
        /// The second one.
        second: String,
    },
}

impl fmt::Display for DtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DtError::NotADtb => f.write_str(
                "the boot device tree is not a flattened device tree (too short or bad magic); \
                 the hypervisor expects its address in x0 at entry",
            ),
            DtError::BadHeader { reason } => write!(f, "the boot device tree header is invalid: {reason}"),
            DtError::Corrupt { offset, reason } => {
                write!(f, "the boot device tree is corrupt at byte {offset:#x}: {reason}")
            }
            DtError::NoMemory => f.write_str(
                "the device tree describes no RAM (no node with device_type = \"memory\" and a non-empty reg)",
            ),
            DtError::RamOverlap { first, second } => {
                write!(f, "the device tree's RAM banks {first} and {second} overlap")
            }
            DtError::NoCpus => f.write_str(
                "the device tree describes no CPU (no /cpus/cpu@N node with device_type = \"cpu\")",
            ),
            DtError::DuplicateCpu { mpidr } => {
                write!(f, "two CPU nodes of the device tree have the same MPIDR {mpidr:#x}")
            }
            DtError::NoGicV3 => f.write_str(
                "the device tree has no GICv3 (compatible \"arm,gic-v3\"); this hypervisor only \
                 supports GICv3: start QEMU with -machine virt,virtualization=on,gic-version=3",
            ),
            DtError::NoTimer => f.write_str(
                "the device tree has no architected timer (compatible \"arm,armv8-timer\")",
            ),
            DtError::MissingProperty { node, property } => {
                write!(f, "{node}: required property \"{property}\" is missing")
            }
            DtError::MalformedReg { node, len, address_cells, size_cells } => write!(
                f,
                "{node}: \"reg\" is {len} bytes, not a whole number of entries of {address_cells} \
                 address and {size_cells} size cells"
            ),
            DtError::RangeOverflow { node, base, size } => write!(
                f,
                "{node}: the region at {base:#x} of size {size:#x} runs past the end of the \
                 64-bit address space"
            ),
            DtError::BadProperty { node, property, expected } => {
                write!(f, "{node}: property \"{property}\" must be {expected}")
            }
            DtError::ModuleZeroSize { node } => write!(
                f,
                "{node}: boot module of size 0; check the file given to -device guest-loader"
            ),
            DtError::DuplicateModule { domain, kind, first, second } => write!(
                f,
                "{domain} has two {kind} modules, {first} and {second}; give each domain at most one"
            ),
        }
    }
}

impl From<DtbError> for DtError {
    fn from(err: DtbError) -> Self {
        match err {
            DtbError::NotADtb => DtError::NotADtb,
            DtbError::BadHeader(reason) => DtError::BadHeader { reason },
            DtbError::Corrupt { offset, reason } => DtError::Corrupt { offset, reason },
        }
    }
}

/// `compatible` strings of a module node that make it a kernel, whatever their position.
const KERNEL_COMPATIBLES: [&str; 2] = ["multiboot,kernel", "xen,linux-zimage"];
/// `compatible` strings of a module node that make it a ramdisk.
const RAMDISK_COMPATIBLES: [&str; 2] = ["multiboot,ramdisk", "xen,linux-initrd"];
/// Other module types Xen knows; we recognise them only to leave them alone.
const OTHER_MODULE_COMPATIBLES: [&str; 2] = ["xen,xsm-policy", "multiboot,device-tree"];
/// The generic module strings, current and Xen 4.4's.
const GENERIC_MODULE_COMPATIBLES: [&str; 2] = ["multiboot,module", "xen,multiboot-module"];
const PSCI_COMPATIBLES: [&str; 3] = ["arm,psci-1.0", "arm,psci-0.2", "arm,psci"];

/// Reads the boot device tree.
///
/// Command lines follow Xen's rules (booting.txt, "Command lines"), writing X for
/// `/chosen/xen,xen-bootargs`, D for `/chosen/xen,dom0-bootargs`, B for `/chosen/bootargs`
/// and K for the `bootargs` of dom0's kernel module:
/// * the hypervisor's is X; without X, it is B if D or K is present (so that
///   `qemu -kernel hv -append "..."` plus a guest-loader kernel with `bootargs` works);
/// * dom0's is K, else D, else B (B is dom0's only when neither K nor D exists, so B never
///   goes to both).
///
/// Dom0 modules whose only compatible is the generic "multiboot,module" are typed by
/// position as Xen does: the first is the kernel, the second the ramdisk, later ones are
/// ignored (we have no XSM policies). Modules of a domU are typed the same way, counting
/// within that domU.
pub fn parse(dtb: &[u8]) -> Result<BootInfo, DtError> {
    let tree = Tree::parse(dtb)?;
    let platform = Platform {
        ram: parse_memory(&tree)?,
        cpus: parse_cpus(&tree)?,
        gic: parse_gic(&tree)?,
        timer_interrupts: parse_timer(&tree)?,
        uart: parse_uart(&tree)?,
        psci_method: parse_psci(&tree)?,
        virtio_mmio: parse_virtio_mmio(&tree)?,
        fw_cfg: parse_fw_cfg(&tree)?,
    };

    let Some(chosen) = tree.find_path("/chosen") else {
        return Ok(BootInfo {
            platform,
            dom0: None,
            domus: Vec::new(),
            hypervisor_bootargs: None,
        });
    };
    let xen_bootargs = string_prop(&tree, chosen, "xen,xen-bootargs")?;
    let dom0_bootargs = string_prop(&tree, chosen, "xen,dom0-bootargs")?;
    let bootargs = string_prop(&tree, chosen, "bootargs")?;

    // /chosen normally has no #address-cells: QEMU's guest-loader then writes 64-bit
    // addresses and sizes (the devicetree default of 2/1 cells would misread them).
    let chosen_cells = match (
        tree.prop(chosen, "#address-cells"),
        tree.prop(chosen, "#size-cells"),
    ) {
        (Some(_), Some(_)) => cell_counts(&tree, chosen, 2, 2)?,
        _ => (2, 2),
    };
    let modules = parse_modules(&tree, chosen, DOM0_NAME, chosen_cells)?;
    let kernel_bootargs = modules.kernel.as_ref().and_then(|k| k.bootargs.clone());

    let hypervisor_bootargs = match xen_bootargs {
        Some(args) => Some(args),
        None if dom0_bootargs.is_some() || kernel_bootargs.is_some() => bootargs.clone(),
        None => None,
    };
    let dom0 = if modules.kernel.is_some() || modules.ramdisk.is_some() {
        Some(DomainConfig {
            name: DOM0_NAME.to_owned(),
            bootargs: kernel_bootargs.or(dom0_bootargs).or(bootargs),
            kernel: modules.kernel,
            ramdisk: modules.ramdisk,
            memory_kib: None,
            vcpus: None,
            cpus: None,
            pv_devices: Vec::new(),
        })
    } else {
        None
    };

    let mut domus = Vec::new();
    for node in tree.children(chosen) {
        if is_available(&tree, node) && has_compatible(&tree, node, &["xen,domain"]) {
            domus.push(parse_domu(&tree, node, platform.cpus.len())?);
        }
    }
    Ok(BootInfo {
        platform,
        dom0,
        domus,
        hypervisor_bootargs,
    })
}

/// Whether the node's `status` allows using it (absent, "okay" or "ok").
fn is_available(tree: &Tree<'_>, node: NodeId) -> bool {
    match tree.prop(node, "status") {
        None => true,
        Some(value) => matches!(dtb::string(value), Some("okay" | "ok")),
    }
}

/// Whether any string of the node's `compatible` is one of `wanted`. A malformed
/// `compatible` matches nothing: it belongs to a node we have no business with.
fn has_compatible(tree: &Tree<'_>, node: NodeId, wanted: &[&str]) -> bool {
    tree.prop(node, "compatible")
        .and_then(dtb::string_list)
        .is_some_and(|list| list.iter().any(|c| wanted.contains(c)))
}

/// The first available node with one of the `compatible` strings.
fn find_compatible(tree: &Tree<'_>, wanted: &[&str]) -> Option<NodeId> {
    tree.nodes()
        .find(|&n| is_available(tree, n) && has_compatible(tree, n, wanted))
}

fn bad_property(
    tree: &Tree<'_>,
    node: NodeId,
    property: &'static str,
    expected: &'static str,
) -> DtError {
    DtError::BadProperty {
        node: tree.path(node),
        property,
        expected,
    }
}

fn string_prop(
    tree: &Tree<'_>,
    node: NodeId,
    name: &'static str,
) -> Result<Option<String>, DtError> {
    match tree.prop(node, name) {
        None => Ok(None),
        Some(value) => dtb::string(value)
            .map(|s| Some(s.to_owned()))
            .ok_or_else(|| bad_property(tree, node, name, "a NUL-terminated UTF-8 string")),
    }
}

fn u32_prop(tree: &Tree<'_>, node: NodeId, name: &'static str) -> Result<Option<u32>, DtError> {
    match tree.prop(node, name) {
        None => Ok(None),
        Some(value) => dtb::be32(value)
            .map(Some)
            .ok_or_else(|| bad_property(tree, node, name, "one 32-bit cell")),
    }
}

/// Raw cells of an `interrupts` property, which must hold whole GIC specifiers.
fn interrupt_cells(tree: &Tree<'_>, node: NodeId) -> Result<Option<Vec<u32>>, DtError> {
    let Some(value) = tree.prop(node, "interrupts") else {
        return Ok(None);
    };
    dtb::cells(value)
        .filter(|cells| !cells.is_empty() && cells.len().is_multiple_of(GIC_INTERRUPT_CELLS))
        .map(Some)
        .ok_or_else(|| {
            bad_property(
                tree,
                node,
                "interrupts",
                "a list of 3-cell GIC interrupt specifiers",
            )
        })
}

/// `#address-cells` and `#size-cells` of `node` (which apply to its children's `reg`),
/// with the given defaults. Addresses must take 1 or 2 cells and sizes 0 to 2, so that
/// both fit in 64 bits.
fn cell_counts(
    tree: &Tree<'_>,
    node: NodeId,
    default_address: u32,
    default_size: u32,
) -> Result<(u32, u32), DtError> {
    let address = u32_prop(tree, node, "#address-cells")?.unwrap_or(default_address);
    let size = u32_prop(tree, node, "#size-cells")?.unwrap_or(default_size);
    if !(1..=2).contains(&address) {
        return Err(bad_property(tree, node, "#address-cells", "1 or 2"));
    }
    if size > 2 {
        return Err(bad_property(tree, node, "#size-cells", "0, 1 or 2"));
    }
    Ok((address, size))
}

/// Cell counts for `node`'s own `reg`: its parent's, with the devicetree defaults (2, 1).
fn parent_cell_counts(tree: &Tree<'_>, node: NodeId) -> Result<(u32, u32), DtError> {
    match tree.parent(node) {
        Some(parent) => cell_counts(tree, parent, 2, 1),
        None => Ok((2, 1)),
    }
}

/// The `reg` entries of `node` as (address, size), decoded with the given cell counts.
fn reg_entries(
    tree: &Tree<'_>,
    node: NodeId,
    (address_cells, size_cells): (u32, u32),
) -> Result<Vec<(u64, u64)>, DtError> {
    let value = tree
        .prop(node, "reg")
        .ok_or_else(|| DtError::MissingProperty {
            node: tree.path(node),
            property: "reg",
        })?;
    let address_len = address_cells as usize * 4;
    let entry_len = address_len + size_cells as usize * 4;
    if value.is_empty() || !value.len().is_multiple_of(entry_len) {
        return Err(DtError::MalformedReg {
            node: tree.path(node),
            len: value.len(),
            address_cells,
            size_cells,
        });
    }
    let mut entries = Vec::new();
    for entry in value.chunks_exact(entry_len) {
        let (address, size) = entry.split_at(address_len);
        // Cell counts were checked to be at most 2, so both numbers fit.
        let address = dtb::number(address).unwrap_or_default();
        let size = if size.is_empty() {
            0
        } else {
            dtb::number(size).unwrap_or_default()
        };
        entries.push((address, size));
    }
    Ok(entries)
}

/// A `reg` entry as a range that must not wrap around the address space.
fn checked_range(
    tree: &Tree<'_>,
    node: NodeId,
    (base, size): (u64, u64),
) -> Result<MemRange, DtError> {
    let range = MemRange::new(base, size);
    match range.end() {
        Some(_) => Ok(range),
        None => Err(DtError::RangeOverflow {
            node: tree.path(node),
            base,
            size,
        }),
    }
}

/// The device regions of `node`'s `reg`: non-empty ranges that do not wrap.
fn device_regions(tree: &Tree<'_>, node: NodeId) -> Result<Vec<MemRange>, DtError> {
    let cells = parent_cell_counts(tree, node)?;
    let mut regions = Vec::new();
    for entry in reg_entries(tree, node, cells)? {
        let range = checked_range(tree, node, entry)?;
        if range.is_empty() {
            return Err(bad_property(
                tree,
                node,
                "reg",
                "a list of non-empty regions",
            ));
        }
        regions.push(range);
    }
    Ok(regions)
}

/// RAM: the `reg` of every available `device_type = "memory"` node under the root (where
/// Linux looks for them), empty banks dropped, sorted.
fn parse_memory(tree: &Tree<'_>) -> Result<Vec<MemRange>, DtError> {
    let mut ram = Vec::new();
    for node in tree.children(tree.root()) {
        let is_memory = tree.prop(node, "device_type").and_then(dtb::string) == Some("memory");
        if !is_memory || !is_available(tree, node) {
            continue;
        }
        for entry in reg_entries(tree, node, parent_cell_counts(tree, node)?)? {
            let bank = checked_range(tree, node, entry)?;
            if !bank.is_empty() {
                ram.push(bank);
            }
        }
    }
    ram.sort_by_key(|bank| bank.base);
    for pair in ram.windows(2) {
        if let [first, second] = pair {
            if first.overlaps(second) {
                return Err(DtError::RamOverlap {
                    first: *first,
                    second: *second,
                });
            }
        }
    }
    if ram.is_empty() {
        return Err(DtError::NoMemory);
    }
    Ok(ram)
}

/// Affinity bits an MPIDR value in a cpu node's `reg` may have (Aff3 and Aff2..Aff0), as
/// Linux's MPIDR_HWID_BITMASK.
const MPIDR_AFFINITY_MASK: u64 = 0xff_00ff_ffff;

fn parse_cpus(tree: &Tree<'_>) -> Result<Vec<u64>, DtError> {
    let cpus_node = tree.find_path("/cpus").ok_or(DtError::NoCpus)?;
    let cells = cell_counts(tree, cpus_node, 2, 0)?;
    let mut cpus = Vec::new();
    for node in tree.children(cpus_node) {
        let is_cpu = tree.prop(node, "device_type").and_then(dtb::string) == Some("cpu");
        if !is_cpu || !is_available(tree, node) {
            continue;
        }
        let (mpidr, _) = reg_entries(tree, node, cells)?
            .first()
            .copied()
            .unwrap_or_default();
        if mpidr & !MPIDR_AFFINITY_MASK != 0 {
            return Err(bad_property(
                tree,
                node,
                "reg",
                "an MPIDR affinity value (bits 39:32 and 23:0 only)",
            ));
        }
        if cpus.contains(&mpidr) {
            return Err(DtError::DuplicateCpu { mpidr });
        }
        cpus.push(mpidr);
    }
    if cpus.is_empty() {
        return Err(DtError::NoCpus);
    }
    Ok(cpus)
}

fn parse_gic(tree: &Tree<'_>) -> Result<Gic, DtError> {
    let node = find_compatible(tree, &["arm,gic-v3"]).ok_or(DtError::NoGicV3)?;
    // The hypervisor copies interrupt specifiers raw into guest device trees whose GIC
    // node says 3 cells: anything else would be misread there.
    match u32_prop(tree, node, "#interrupt-cells")? {
        None | Some(3) => {}
        Some(_) => return Err(bad_property(tree, node, "#interrupt-cells", "3")),
    }
    let regions = device_regions(tree, node)?;
    let redist_count = u32_prop(tree, node, "#redistributor-regions")?.unwrap_or(1) as usize;
    if redist_count == 0 {
        return Err(bad_property(
            tree,
            node,
            "#redistributor-regions",
            "at least 1",
        ));
    }
    // reg: GICD, then the GICR regions; any further entries (GICC, GICH, GICV of a GICv2
    // compatible CPU interface) are not used.
    let (Some(&dist), Some(redist)) = (
        regions.first(),
        regions.get(1..redist_count.saturating_add(1)),
    ) else {
        return Err(bad_property(
            tree,
            node,
            "reg",
            "a distributor region followed by #redistributor-regions redistributor regions",
        ));
    };
    Ok(Gic {
        dist,
        redist: redist.to_vec(),
        maintenance_interrupt: interrupt_cells(tree, node)?.unwrap_or_default(),
        version: 3,
    })
}

fn parse_timer(tree: &Tree<'_>) -> Result<Vec<u32>, DtError> {
    let node = find_compatible(tree, &["arm,armv8-timer"]).ok_or(DtError::NoTimer)?;
    interrupt_cells(tree, node)?.ok_or_else(|| DtError::MissingProperty {
        node: tree.path(node),
        property: "interrupts",
    })
}

fn parse_psci(tree: &Tree<'_>) -> Result<Option<String>, DtError> {
    match find_compatible(tree, &PSCI_COMPATIBLES) {
        Some(node) => string_prop(tree, node, "method"),
        None => Ok(None),
    }
}

/// The node `/chosen/stdout-path` designates: a path or an alias, with any ":options"
/// (baud rate) removed.
fn stdout_node(tree: &Tree<'_>) -> Option<NodeId> {
    let chosen = tree.find_path("/chosen")?;
    let value = tree
        .prop(chosen, "stdout-path")
        .or_else(|| tree.prop(chosen, "linux,stdout-path"))?;
    let spec = dtb::string(value)?;
    let path = spec.split_once(':').map_or(spec, |(path, _options)| path);
    if path.starts_with('/') {
        return tree.find_path(path);
    }
    let aliases = tree.find_path("/aliases")?;
    let target = tree.prop(aliases, path).and_then(dtb::string)?;
    tree.find_path(target)
}

/// The PL011 the console uses: the one stdout-path names, else the first available one.
fn parse_uart(tree: &Tree<'_>) -> Result<Option<Uart>, DtError> {
    let is_pl011 = |n: NodeId| is_available(tree, n) && has_compatible(tree, n, &["arm,pl011"]);
    let Some(node) = stdout_node(tree)
        .filter(|&n| is_pl011(n))
        .or_else(|| tree.nodes().find(|&n| is_pl011(n)))
    else {
        return Ok(None);
    };
    let regions = device_regions(tree, node)?;
    let Some(&reg) = regions.first() else {
        return Err(DtError::MissingProperty {
            node: tree.path(node),
            property: "reg",
        });
    };
    Ok(Some(Uart {
        reg,
        interrupts: interrupt_cells(tree, node)?.unwrap_or_default(),
        clock_frequency: uart_clock_hz(tree, node).unwrap_or(DEFAULT_UART_CLOCK_HZ),
    }))
}

/// Every available `virtio,mmio` node with a register window.
fn parse_virtio_mmio(tree: &Tree<'_>) -> Result<Vec<VirtioMmio>, DtError> {
    let mut transports = Vec::new();
    for node in tree.nodes().filter(|&n| is_available(tree, n) && has_compatible(tree, n, &["virtio,mmio"])) {
        let Some(&reg) = device_regions(tree, node)?.first() else { continue };
        transports.push(VirtioMmio { reg, interrupts: interrupt_cells(tree, node)?.unwrap_or_default() });
    }
    Ok(transports)
}

/// The first available `qemu,fw-cfg-mmio` node's register window.
fn parse_fw_cfg(tree: &Tree<'_>) -> Result<Option<MemRange>, DtError> {
    let Some(node) = tree
        .nodes()
        .find(|&n| is_available(tree, n) && has_compatible(tree, n, &["qemu,fw-cfg-mmio"]))
    else {
        return Ok(None);
    };
    match device_regions(tree, node)?.first() {
        Some(&reg) if reg.size >= FW_CFG_MIN_SIZE => Ok(Some(reg)),
        _ => Err(bad_property(
            tree,
            node,
            "reg",
            "a register window of at least 0x18 bytes (data, selector, DMA address)",
        )),
    }
}

/// The `clock-frequency` of the clock the UART names "uartclk" (or of its first clock).
/// `None` when the chain of phandles does not lead to a frequency.
fn uart_clock_hz(tree: &Tree<'_>, uart: NodeId) -> Option<u32> {
    let index = tree
        .prop(uart, "clock-names")
        .and_then(dtb::string_list)
        .and_then(|names| names.iter().position(|&n| n == "uartclk"))
        .unwrap_or(0);
    let cells = dtb::cells(tree.prop(uart, "clocks")?)?;
    // Each specifier is a phandle followed by #clock-cells arguments of that provider.
    let mut position = 0usize;
    for _ in 0..index {
        let provider = tree.find_phandle(*cells.get(position)?)?;
        let args = tree
            .prop(provider, "#clock-cells")
            .and_then(dtb::be32)
            .unwrap_or(0);
        position = position.checked_add(1)?.checked_add(args as usize)?;
    }
    let provider = tree.find_phandle(*cells.get(position)?)?;
    tree.prop(provider, "clock-frequency")
        .and_then(dtb::be32)
        .filter(|&hz| hz != 0)
}

/// What a module node is, from its `compatible`.
enum ModuleType {
    Kernel,
    Ramdisk,
    /// A type we know but do not use.
    Other,
    /// Only the generic string: typed by position.
    Untyped,
}

fn module_type(tree: &Tree<'_>, node: NodeId) -> Option<ModuleType> {
    if has_compatible(tree, node, &KERNEL_COMPATIBLES) {
        Some(ModuleType::Kernel)
    } else if has_compatible(tree, node, &RAMDISK_COMPATIBLES) {
        Some(ModuleType::Ramdisk)
    } else if has_compatible(tree, node, &OTHER_MODULE_COMPATIBLES) {
        Some(ModuleType::Other)
    } else if has_compatible(tree, node, &GENERIC_MODULE_COMPATIBLES) {
        Some(ModuleType::Untyped)
    } else {
        None
    }
}

#[derive(Default)]
struct Modules {
    kernel: Option<BootModule>,
    ramdisk: Option<BootModule>,
}

/// The kernel and ramdisk among the children of `parent` (/chosen or a domU node), whose
/// `reg` use `cells`.
fn parse_modules(
    tree: &Tree<'_>,
    parent: NodeId,
    domain: &str,
    cells: (u32, u32),
) -> Result<Modules, DtError> {
    let mut modules = Modules::default();
    let mut kernel_node: Option<NodeId> = None;
    let mut ramdisk_node: Option<NodeId> = None;
    let mut untyped_seen = 0usize;
    for node in tree.children(parent) {
        if !is_available(tree, node) {
            continue;
        }
        let kind = match module_type(tree, node) {
            None | Some(ModuleType::Other) => continue,
            Some(ModuleType::Kernel) => ModuleKind::Kernel,
            Some(ModuleType::Ramdisk) => ModuleKind::Ramdisk,
            Some(ModuleType::Untyped) => {
                untyped_seen += 1;
                match untyped_seen {
                    1 => ModuleKind::Kernel,
                    2 => ModuleKind::Ramdisk,
                    _ => continue,
                }
            }
        };
        let entries = reg_entries(tree, node, cells)?;
        let [entry] = entries.as_slice() else {
            return Err(bad_property(tree, node, "reg", "one (address, size) entry"));
        };
        let range = checked_range(tree, node, *entry)?;
        if range.is_empty() {
            return Err(DtError::ModuleZeroSize {
                node: tree.path(node),
            });
        }
        let bootargs = string_prop(tree, node, "bootargs")?.filter(|args| !args.is_empty());
        let (slot, seen) = match kind {
            ModuleKind::Kernel => (&mut modules.kernel, &mut kernel_node),
            ModuleKind::Ramdisk => (&mut modules.ramdisk, &mut ramdisk_node),
        };
        if let Some(first) = *seen {
            return Err(DtError::DuplicateModule {
                domain: domain.to_owned(),
                kind,
                first: tree.path(first),
                second: tree.path(node),
            });
        }
        *seen = Some(node);
        *slot = Some(BootModule { range, bootargs });
    }
    Ok(modules)
}

/// A dom0less domain node, on a platform of `pcpu_count` CPUs.
fn parse_domu(tree: &Tree<'_>, node: NodeId, pcpu_count: usize) -> Result<DomainConfig, DtError> {
    let name = tree.name(node).to_owned();
    let cells = cell_counts(tree, node, 2, 2)?;
    if cells.1 == 0 {
        return Err(bad_property(tree, node, "#size-cells", "1 or 2"));
    }
    let memory_kib = match tree.prop(node, "memory") {
        None => None,
        Some(value) => Some(dtb::number(value).filter(|&kib| kib != 0).ok_or_else(|| {
            bad_property(
                tree,
                node,
                "memory",
                "a non-zero size in KiB (1 or 2 cells)",
            )
        })?),
    };
    let vcpus = match u32_prop(tree, node, "cpus")? {
        Some(0) => {
            return Err(bad_property(
                tree,
                node,
                "cpus",
                "a vCPU count of at least 1",
            ))
        }
        other => other,
    };
    let cpus = match tree.prop(node, "reptar,pcpus") {
        None => None,
        Some(value) => {
            let list = dtb::cells(value)
                .filter(|list| {
                    !list.is_empty() && list.iter().all(|&cpu| (cpu as usize) < pcpu_count)
                })
                .ok_or_else(|| {
                    bad_property(
                        tree,
                        node,
                        "reptar,pcpus",
                        "a list of indices of /cpus/cpu nodes",
                    )
                })?;
            if vcpus.is_some_and(|count| count as usize != list.len()) {
                return Err(bad_property(
                    tree,
                    node,
                    "reptar,pcpus",
                    "one physical CPU per vCPU (as many as \"cpus\")",
                ));
            }
            Some(list)
        }
    };
    let pv_devices = match tree.prop(node, "reptar,pv-devices") {
        None => Vec::new(),
        Some(value) => {
            let valid = |n: &&str| {
                (1..=MAX_PV_DEVICE_NAME).contains(&n.len())
                    && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            };
            let names = dtb::string_list(value)
                .filter(|names| {
                    names.iter().all(valid)
                        && names.iter().enumerate().all(|(i, n)| !names[..i].contains(n))
                })
                .ok_or_else(|| {
                    bad_property(
                        tree,
                        node,
                        "reptar,pv-devices",
                        "distinct xenbus device types (lowercase letters and digits)",
                    )
                })?;
            names.into_iter().map(String::from).collect()
        }
    };
    let modules = parse_modules(tree, node, &name, cells)?;
    Ok(DomainConfig {
        bootargs: modules.kernel.as_ref().and_then(|k| k.bootargs.clone()),
        name,
        kernel: modules.kernel,
        ramdisk: modules.ramdisk,
        memory_kib,
        vcpus,
        cpus,
        pv_devices,
    })
}

#[cfg(test)]
mod tests;
