//! Boot: from the host device tree to dom0 running. Reads the platform and the boot modules,
//! plans memory, builds dom0 (RAM, kernel, initramfs, device tree, stage 2, vCPUs) and enters it.
//! Every bad input ends here as a `BootError` the boot CPU prints before powering off.

use crate::arch::{cache, gic, mmu, percpu};
use crate::board;
use crate::virtio;
use crate::mmio::{self, Emulated};
use crate::domain::{self, Domain, Vcpu};
use crate::{println, Platform};
use boot_info::cmdline;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use boot_info::guest_dt::{self, DeviceNode, GuestDtConfig, PropValue};
use crate::vconsole::VirtualUart;
use vgic::{Config as VgicConfig, Vgic};
use boot_info::host_dt::{self, BootInfo};
use boot_info::image::ImageHeader;
use boot_info::layout::{self, DomainPlan, DomainRequest, KernelInfo, LayoutInput};
use boot_info::MemRange;
use core::convert::Infallible;
use core::fmt;
use page_table::{Access, Attributes, MemType, PageTable, Stage2Config};

const MIB: u64 = 1 << 20;
const PAGE: u64 = 4096;
/// Stage-2 input size: 39 bits (512 GiB) of guest-physical space, start level 1.
const IPA_BITS: u8 = 39;
/// The largest device tree we accept from QEMU or a boot loader.
const MAX_HOST_DTB: usize = 2 << 20;
const FDT_MAGIC: u32 = 0xd00d_feed;
/// GIC interrupt specifier cells (bindings/interrupt-controller/arm,gic-v3.yaml).
const GIC_SPI: u32 = 0;
const IRQ_TYPE_LEVEL_HIGH: u32 = 4;
/// What dom0's console UART says its line runs at (an emulated UART has no baud rate).
const CONSOLE_BAUD: u32 = 115_200;

pub enum BootError {
    BadHostDtb(String),
    Dt(host_dt::DtError),
    Cmdline(String),
    NoDom0Kernel,
    ModuleOutsideRam { label: &'static str, range: MemRange },
    NotAnImage { label: &'static str, reason: String },
    Layout(layout::LayoutError),
    GuestDt(String),
    Gic(String),
    Map(page_table::MapError),
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootError::BadHostDtb(why) => write!(f, "the device tree passed in x0 is unusable: {why}"),
            BootError::Dt(e) => write!(f, "host device tree: {e}"),
            BootError::Cmdline(e) => f.write_str(e),
            BootError::NoDom0Kernel => f.write_str(
                "no dom0 kernel: give one as a multiboot module, e.g. -device guest-loader,addr=0x49000000,kernel=Image",
            ),
            BootError::ModuleOutsideRam { label, range } => write!(f, "{label} module {range} is not in RAM"),
            BootError::NotAnImage { label, reason } => write!(f, "{label} is not an arm64 Image: {reason}"),
            BootError::Layout(e) => write!(f, "memory layout: {e}"),
            BootError::GuestDt(e) => write!(f, "dom0 device tree: {e}"),
            BootError::Gic(e) => write!(f, "interrupt controller: {e}"),
            BootError::Map(e) => write!(f, "page tables: {e:?}"),
        }
    }
}

impl From<page_table::MapError> for BootError {
    fn from(e: page_table::MapError) -> Self {
        BootError::Map(e)
    }
}

/// The host device tree as a byte slice, after checking its header.
fn host_dtb(addr: usize) -> Result<&'static [u8], BootError> {
    if addr == 0 || addr % 8 != 0 {
        return Err(BootError::BadHostDtb(format!("address {addr:#x} is not 8-byte aligned")));
    }
    // SAFETY: the boot map covers all RAM, where QEMU put the DTB; we read its 8-byte header.
    let header = unsafe { core::slice::from_raw_parts(addr as *const u8, 8) };
    let magic = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    let size = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if magic != FDT_MAGIC {
        return Err(BootError::BadHostDtb(format!("bad magic {magic:#x} at {addr:#x}")));
    }
    if size > MAX_HOST_DTB {
        return Err(BootError::BadHostDtb(format!("{size} bytes, more than {MAX_HOST_DTB}")));
    }
    // SAFETY: the header says the tree is `size` bytes long, all in RAM, and nothing writes it.
    Ok(unsafe { core::slice::from_raw_parts(addr as *const u8, size) })
}

/// The bytes of a boot module, after checking it lies in RAM.
fn module_bytes(label: &'static str, range: MemRange, ram: &[MemRange]) -> Result<&'static [u8], BootError> {
    if !ram.iter().any(|bank| bank.contains_range(&range)) || range.end().is_none() {
        return Err(BootError::ModuleOutsideRam { label, range });
    }
    // SAFETY: the module lies in RAM, identity mapped, and nothing writes it while we read it.
    Ok(unsafe { core::slice::from_raw_parts(range.base as *const u8, range.size as usize) })
}

fn align_up(value: u64, align: u64) -> u64 {
    value.div_ceil(align) * align
}

/// The whole pages covering a device's registers, as the EL2 map needs them.
fn device_pages(range: &MemRange) -> mmu::Region {
    let base = range.base & !(PAGE - 1);
    let end = align_up(range.base.saturating_add(range.size), PAGE);
    mmu::Region { base, size: end - base, mem: MemType::Device }
}

pub fn boot(dtb_addr: usize) -> Result<Infallible, BootError> {
    let dtb = host_dtb(dtb_addr)?;
    let info: BootInfo = host_dt::parse(dtb).map_err(BootError::Dt)?;
    let platform = &info.platform;
    if let Some(uart) = &platform.uart {
        crate::console::init(uart.reg.base as usize);
    }
    let args = info.hypervisor_bootargs.clone().unwrap_or_default();
    println!("command line: \"{args}\"");
    let options = cmdline::parse(&args).map_err(|e| BootError::Cmdline(e.to_string()))?;

    // The hypervisor's own map, then the boot modules.
    let ram_regions: Vec<mmu::Region> =
        platform.ram.iter().map(|r| mmu::Region { base: r.base, size: r.size, mem: MemType::Normal }).collect();
    let mut devices = Vec::new();
    if let Some(uart) = &platform.uart {
        devices.push(device_pages(&uart.reg));
    }
    let host_gic = &platform.gic;
    for r in core::iter::once(&host_gic.dist).chain(host_gic.redist.iter()) {
        devices.push(device_pages(r));
    }
    for slot in &platform.virtio_mmio {
        devices.push(device_pages(&slot.reg));
    }
    let el2_root = mmu::switch_to_final_map(&ram_regions, &devices)?;
    let redist_regions: Vec<(u64, u64)> = host_gic.redist.iter().map(|r| (r.base, r.size)).collect();
    gic::init_distributor(host_gic.dist.base as usize);
    if !gic::init_cpu(0, percpu::this_cpu().mpidr, &redist_regions) {
        return Err(BootError::Gic("no redistributor for the boot CPU".to_string()));
    }

    let (image_start, image_end) = mmu::image_range();
    let hypervisor = MemRange::new(image_start, align_up(image_end, 2 * MIB) - image_start);
    let host_dtb_range = MemRange::new(dtb_addr as u64, align_up(dtb.len() as u64, PAGE));

    let dom0 = info.dom0.as_ref().ok_or(BootError::NoDom0Kernel)?;
    let kernel = dom0.kernel.as_ref().ok_or(BootError::NoDom0Kernel)?;
    let kernel_bytes = module_bytes("dom0 kernel", kernel.range, &platform.ram)?;
    let header = ImageHeader::parse(kernel_bytes)
        .map_err(|e| BootError::NotAnImage { label: "the dom0 kernel", reason: e.to_string() })?;
    let initrd = dom0.ramdisk.as_ref().map(|m| m.range);
    let mut modules = alloc::vec![("dom0 kernel", kernel.range)];
    if let Some(initrd) = initrd {
        modules.push(("dom0 initrd", initrd));
    }
    let request = DomainRequest {
        name: "dom0".to_string(),
        mem_bytes: options.dom0_mem,
        kernel: KernelInfo { module: kernel.range, header },
        initrd,
        identity: true,
        ipa_base: 0,
    };
    let requests = [request];
    let plans = layout::plan(&LayoutInput {
        ram: &platform.ram,
        hypervisor,
        host_dtb: host_dtb_range,
        modules: &modules,
        domains: &requests,
    })
    .map_err(BootError::Layout)?;
    let plan = &plans[0];

    print_layout(&info, hypervisor, host_dtb_range, &modules, plan);

    let nr_vcpus = options.dom0_max_vcpus.map_or(platform.cpus.len(), |n| (n as usize).min(platform.cpus.len()));
    let vcpu_mpidrs: Vec<u64> = platform.cpus[..nr_vcpus].to_vec();
    let platform_info = crate::set_platform(Platform {
        cpus: platform.cpus.clone(),
        redist_regions,
        firmware_uses_hvc: platform.psci_method.as_deref() == Some("hvc"),
        el2_root,
        vtcr: stage2_config().vtcr_el2(mmu::pa_size()).map_err(|e| BootError::Cmdline(format!("stage 2: {e:?}")))?,
    });

    // dom0's memory: kernel, initramfs, device tree.
    let bootargs = kernel.bootargs.clone().or_else(|| dom0.bootargs.clone()).unwrap_or_default();
    copy_into_guest(plan.kernel_ipa, kernel_bytes);
    if let (Some(initrd), Some(dest)) = (initrd, plan.initrd_ipa) {
        copy_into_guest(dest.base, module_bytes("dom0 initrd", initrd, &platform.ram)?);
    }
    // dom0's interrupt controller: a vGIC at the addresses of the physical one, with one
    // redistributor per vCPU; the virtual timer is linked to the physical PPI.
    let mut vgic = Vgic::new(&VgicConfig {
        vcpu_mpidrs: &vcpu_mpidrs,
        nr_spis: (gic::nr_lines().saturating_sub(32)).min(vgic::MAX_SPIS),
        priority_bits: gic::priority_bits(),
    })
    .map_err(|e| BootError::Gic(format!("{e:?}")))?;
    for vcpu in 0..vcpu_mpidrs.len() {
        vgic.link_ppi_hw(vcpu, gic::VIRTUAL_TIMER_PPI, Some(gic::VIRTUAL_TIMER_PPI))
            .map_err(|e| BootError::Gic(format!("{e}")))?;
    }
    let gicr = MemRange::new(host_gic.redist[0].base, vgic.redist_region_size());
    let mut mmio_regions = alloc::vec![
        mmio::Region { range: MemRange::new(host_gic.dist.base, vgic::GICD_SIZE), device: Emulated::Gicd },
        mmio::Region { range: gicr, device: Emulated::Gicr },
        mmio::Region { range: board::sp6_range(), device: Emulated::Sp6 },
    ];
    // dom0's console: an emulated SBSA UART where the board's PL011 is, on the same SPI.
    let uart = platform.uart.as_ref().ok_or(BootError::GuestDt("the board has no PL011 for the console".to_string()))?;
    let uart_interrupt: [u32; 3] = uart.interrupts.get(..3).and_then(|c| c.try_into().ok()).unwrap_or([GIC_SPI, 1, IRQ_TYPE_LEVEL_HIGH]);
    let uart_window = MemRange::new(uart.reg.base, hv_console::vuart::REGION_SIZE);
    mmio_regions.push(mmio::Region { range: uart_window, device: Emulated::Uart });
    // virtio devices: the keyboard is the hypervisor's, any other goes to dom0, its registers
    // reached through the hypervisor (virtio-mmio slots share pages), its interrupt forwarded.
    let virtio_slots = virtio::scan(&platform.virtio_mmio);
    let dom0_virtio: Vec<&virtio::Slot> = virtio_slots.iter().filter(|s| s.device_id != virtio::DEVICE_INPUT).collect();
    for slot in &dom0_virtio {
        mmio_regions.push(mmio::Region { range: slot.transport.reg, device: Emulated::Passthrough });
    }
    let mut dom0_platform = platform.clone();
    dom0_platform.gic.redist = alloc::vec![gicr];
    let sp6_interrupt = [GIC_SPI, board::SP6_SPI, IRQ_TYPE_LEVEL_HIGH];
    let mut devices = alloc::vec![
        DeviceNode {
            name: "sp6",
            compatible: &["reds,reptar-sp6"],
            reg: board::sp6_range(),
            interrupts: &sp6_interrupt,
            properties: &[],
            stdout: false,
        },
        DeviceNode {
            name: "uart",
            compatible: &["arm,sbsa-uart"],
            reg: uart_window,
            interrupts: &uart_interrupt,
            properties: &[("current-speed", PropValue::U32(CONSOLE_BAUD))],
            stdout: true,
        },
    ];
    for slot in &dom0_virtio {
        devices.push(DeviceNode {
            name: "virtio_mmio",
            compatible: &["virtio,mmio"],
            reg: slot.transport.reg,
            interrupts: &slot.transport.interrupts,
            properties: &[("dma-coherent", PropValue::Empty)],
            stdout: false,
        });
    }
    let guest_dt = guest_dt::build_dom0(&GuestDtConfig {
        platform: &dom0_platform,
        plan,
        bootargs: &bootargs,
        vcpu_mpidrs: &vcpu_mpidrs,
        passthrough_uart: false,
        devices: &devices,
        xen: Some(crate::xen::dt_node()),
    })
    .map_err(|e| BootError::GuestDt(format!("{e}")))?;
    copy_into_guest(plan.dtb_ipa.base, &guest_dt);

    // Stage 2: dom0's RAM 1:1, nothing else. The GIC, the console UART and the board's FPGA
    // are emulated: absent, so that every access traps.
    let mut tables = mmu::HeapTables;
    let mut stage2 = PageTable::new(stage2_config(), &mut tables)?;
    let ram = Attributes { mem: MemType::Normal, access: Access::RWX };
    stage2.map(&mut tables, plan.ram_ipa.base, plan.ram_pa.base, plan.ram_ipa.size, ram)?;
    const VMID_SHIFT: u64 = 48;
    let dom0 = domain::register(Domain {
        id: 0,
        name: "dom0".to_string(),
        ram_ipa: plan.ram_ipa,
        ram_pa: plan.ram_pa,
        vttbr: stage2.root() | (1 << VMID_SHIFT),
        stage2: spin::Mutex::new(stage2),
        vcpus: vcpu_mpidrs.iter().enumerate().map(|(i, &mpidr)| Vcpu::new(i, mpidr, i)).collect(),
        vgic: spin::Mutex::new(vgic),
        mmio: mmio_regions,
        console: Some(VirtualUart::new(32 + uart_interrupt[1])),
        xen: crate::xen::DomainXen::new(),
    });
    // The board's serial line is the hypervisor's: what the user types arrives by interrupt.
    if let [GIC_SPI, spi, _] = uart.interrupts[..] {
        crate::irq::register_handler(32 + spi, crate::console::handle_rx_interrupt);
        crate::console::enable_input();
    } else {
        println!("console: the UART has no SPI: no input");
    }
    for slot in &dom0_virtio {
        if let [GIC_SPI, spi, _] = slot.transport.interrupts[..] {
            crate::irq::forward(dom0, 32 + spi).map_err(|e| BootError::Gic(format!("virtio interrupt: {e}")))?;
            println!("dom0: virtio device {} at {:#x}, SPI {spi}", slot.device_id, slot.transport.reg.base);
        }
    }
    let keyboards = virtio_slots.iter().filter(|s| s.device_id == virtio::DEVICE_INPUT).map(|s| &s.transport);
    if let Some(intid) = crate::keyboard::probe(keyboards) {
        crate::irq::register_handler(intid, crate::keyboard::handle_interrupt);
    }
    let (used, total) = crate::heap::usage();
    println!("heap: {} KiB of {} KiB used", used / 1024, total / 1024);
    println!("dom0: {} vCPU(s), entering the kernel at {:#x} with its device tree at {:#x}", dom0.vcpus.len(), plan.kernel_ipa, plan.dtb_ipa.base);
    let _ = platform_info;
    crate::run_vcpu(dom0, &dom0.vcpus[0], plan.kernel_ipa, plan.dtb_ipa.base)
}

fn stage2_config() -> Stage2Config {
    Stage2Config::new(IPA_BITS).expect("39-bit IPA is supported")
}

/// Copies `bytes` to dom0 IPA `ipa` (= PA: dom0 is mapped 1:1) and cleans it to the point of
/// coherency for a guest entered with caches off.
fn copy_into_guest(ipa: u64, bytes: &[u8]) {
    // SAFETY: `ipa` lies in dom0's RAM block, which the layout placed in free RAM (no module,
    // DTB or hypervisor there) and which the EL2 map covers; `bytes` is outside it.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), ipa as *mut u8, bytes.len()) };
    cache::clean_for_guest_entry(ipa as usize, bytes.len());
}

fn print_layout(info: &BootInfo, hypervisor: MemRange, host_dtb: MemRange, modules: &[(&str, MemRange)], plan: &DomainPlan) {
    let mib = |r: &MemRange| r.size / MIB;
    println!("Memory layout:");
    for bank in &info.platform.ram {
        println!("  RAM          {bank} ({} MiB)", mib(bank));
    }
    println!("  hypervisor   {hypervisor} ({} MiB, not mapped in any guest)", mib(&hypervisor));
    println!("  host DTB     {host_dtb}");
    for (label, range) in modules {
        println!("  module       {range} {label}");
    }
    println!("  dom0 RAM     {} ({} MiB, IPA = PA)", plan.ram_pa, mib(&plan.ram_pa));
    println!("    kernel     {:#x}", plan.kernel_ipa);
    if let Some(initrd) = plan.initrd_ipa {
        println!("    initrd     {initrd}");
    }
    println!("    DTB        {}", plan.dtb_ipa);
}
