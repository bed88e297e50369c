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
use boot_info::guest_dt::{self, DeviceNode, GuestDtConfig, PropValue, SimpleFramebuffer};
use crate::vconsole::VirtualUart;
use vgic::{Config as VgicConfig, Vgic};
use boot_info::host_dt::{self, BootInfo, DomainConfig};
use boot_info::image::ImageHeader;
use boot_info::layout::{self, DomainPlan, DomainRequest, KernelInfo, LayoutInput, Reservation};
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
    if let Some(fw_cfg) = &platform.fw_cfg {
        devices.push(device_pages(fw_cfg));
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

    // Every domain's kernel and initramfs: dom0's, then each dom0less domU's.
    let dom0 = info.dom0.as_ref().ok_or(BootError::NoDom0Kernel)?;
    dom0.kernel.as_ref().ok_or(BootError::NoDom0Kernel)?;
    let configs: Vec<&DomainConfig> = core::iter::once(dom0).chain(info.domus.iter()).collect();
    let mut modules: Vec<(String, MemRange)> = Vec::new();
    let mut requests = Vec::new();
    for (id, config) in configs.iter().enumerate() {
        let Some(kernel) = config.kernel.as_ref() else {
            return Err(BootError::GuestDt(format!("{} has no kernel module", config.name)));
        };
        let kernel_bytes = module_bytes(kernel_label(id), kernel.range, &platform.ram)?;
        let header = ImageHeader::parse(kernel_bytes)
            .map_err(|e| BootError::NotAnImage { label: kernel_label(id), reason: e.to_string() })?;
        modules.push((format!("{} kernel", config.name), kernel.range));
        let initrd = config.ramdisk.as_ref().map(|m| m.range);
        if let Some(initrd) = initrd {
            modules.push((format!("{} initrd", config.name), initrd));
        }
        requests.push(DomainRequest {
            name: config.name.clone(),
            mem_bytes: if id == 0 { options.dom0_mem } else { config.memory_kib.map_or(DEFAULT_DOMU_MEM, |k| k.saturating_mul(1024)) },
            kernel: KernelInfo { module: kernel.range, header },
            initrd,
            identity: id == 0,
            ipa_base: if id == 0 { 0 } else { layout::DOMU_IPA_BASE },
        });
    }
    if configs.len() > domain::MAX_DOMAINS {
        return Err(BootError::GuestDt(format!("{} domains, at most {} supported", configs.len(), domain::MAX_DOMAINS)));
    }
    let module_refs: Vec<(&str, MemRange)> = modules.iter().map(|(l, r)| (l.as_str(), *r)).collect();
    // The display (QEMU's ramfb), if the board has one: its framebuffer is host RAM of no domain.
    // The domains come first: without room for the framebuffer, the board has no display.
    let mut display = crate::display::probe(platform.fw_cfg);
    let pictures = [
        Reservation { label: "framebuffer", size: crate::display::FRAME_BYTES },
        Reservation { label: "guest screen", size: crate::display::FRAME_BYTES },
    ];
    let plan_all = |reservations| {
        layout::plan_all(&LayoutInput {
            ram: &platform.ram,
            hypervisor,
            host_dtb: host_dtb_range,
            modules: &module_refs,
            domains: &requests,
            reservations,
        })
    };
    let layout = match plan_all(if display.is_some() { &pictures } else { &[] }) {
        Err(error @ layout::LayoutError::NoRoomToReserve { .. }) => {
            println!("display: none ({error})");
            display = None;
            plan_all(&[])
        }
        other => other,
    }
    .map_err(BootError::Layout)?;
    let plans = layout.domains;
    let reserved: Vec<(&str, MemRange)> = pictures.iter().map(|r| r.label).zip(layout.reserved.iter().copied()).collect();
    print_layout(&info, hypervisor, host_dtb_range, &module_refs, &plans, &reserved);
    let dom0_display = match (display, &layout.reserved[..]) {
        (Some(probe), [framebuffer, guest_screen]) => crate::display::start(probe, *framebuffer, *guest_screen),
        _ => None,
    };

    // Physical CPUs: each domU's vCPU pinned where its node says (`reptar,pcpus`), else to the
    // last free CPUs; dom0 gets the others.
    let pinning = pin_vcpus(&configs, platform.cpus.len(), options.dom0_max_vcpus)?;
    crate::set_platform(Platform {
        cpus: platform.cpus.clone(),
        redist_regions,
        firmware_uses_hvc: platform.psci_method.as_deref() == Some("hvc"),
        el2_root,
        vtcr: stage2_config().vtcr_el2(mmu::pa_size()).map_err(|e| BootError::Cmdline(format!("stage 2: {e:?}")))?,
    });

    let dom0 = build_guest(platform, configs[0], &plans[0], &pinning[0], dom0_display)?;
    for (id, config) in configs.iter().enumerate().skip(1) {
        let domu = build_domu(platform, id as u16, config, &plans[id], &pinning[id])?;
        // Its vCPU 0 starts on its physical CPU as soon as that CPU comes up.
        let vcpu = &domu.vcpus[0];
        vcpu.request_start(plans[id].kernel_ipa, plans[id].dtb_ipa.base).map_err(|_| BootError::Gic("domU vCPU busy".to_string()))?;
        crate::psci::start_physical_cpu(vcpu.pcpu).map_err(|e| BootError::Gic(format!("CPU {} for {}: {e:?}", vcpu.pcpu, domu.name)))?;
    }
    crate::console::set_domains(&domain::all().map(|d| d.id).collect::<Vec<_>>());
    for dom in domain::all() {
        if let Err(error) = crate::xen::xenstore::connect(dom, &configs[dom.id as usize].pv_devices) {
            println!("{}: no xenstore: {error}", dom.name);
        }
        if dom.id != 0 {
            if let Err(error) = crate::xen::console_ring::connect(dom) {
                println!("{}: no console ring: {error}", dom.name);
            }
        }
    }

    let (used, total) = crate::heap::usage();
    println!("heap: {} KiB of {} KiB used", used / 1024, total / 1024);
    println!("dom0: {} vCPU(s), entering the kernel at {:#x} with its device tree at {:#x}", dom0.vcpus.len(), plans[0].kernel_ipa, plans[0].dtb_ipa.base);
    crate::run_vcpu(dom0, &dom0.vcpus[0], plans[0].kernel_ipa, plans[0].dtb_ipa.base)
}

fn kernel_label(id: usize) -> &'static str {
    if id == 0 {
        "the dom0 kernel"
    } else {
        "a domU kernel"
    }
}

/// domU RAM when its node gives none.
const DEFAULT_DOMU_MEM: u64 = 128 << 20;

/// The physical CPU of each vCPU, by domain.
fn pin_vcpus(configs: &[&DomainConfig], nr_cpus: usize, dom0_max: Option<u32>) -> Result<Vec<Vec<usize>>, BootError> {
    let mut taken = alloc::vec![false; nr_cpus];
    let mut pinning = alloc::vec![Vec::new(); configs.len()];
    let mut next_free_from_top = nr_cpus;
    for (id, config) in configs.iter().enumerate().skip(1) {
        let nr = config.vcpus.unwrap_or(1) as usize;
        for v in 0..nr {
            let pcpu = match config.cpus.as_ref().and_then(|c| c.get(v)) {
                Some(&p) => p as usize,
                None => loop {
                    if next_free_from_top == 1 {
                        return Err(BootError::GuestDt(format!("no physical CPU left for {} (dom0 keeps CPU 0)", config.name)));
                    }
                    next_free_from_top -= 1;
                    if !taken[next_free_from_top] {
                        break next_free_from_top;
                    }
                },
            };
            if pcpu == 0 || pcpu >= nr_cpus || taken[pcpu] {
                return Err(BootError::GuestDt(format!("{} vCPU {v}: physical CPU {pcpu} is not free (CPU 0 is dom0's)", config.name)));
            }
            taken[pcpu] = true;
            pinning[id].push(pcpu);
        }
    }
    let dom0_max = dom0_max.map_or(usize::MAX, |n| n as usize);
    pinning[0] = (0..nr_cpus).filter(|&c| !taken[c]).take(dom0_max).collect();
    Ok(pinning)
}

/// A vGIC for vCPUs with these MPIDRs, the virtual timer linked to the physical PPI.
fn new_vgic(vcpu_mpidrs: &[u64]) -> Result<Vgic, BootError> {
    let mut vgic = Vgic::new(&VgicConfig {
        vcpu_mpidrs,
        nr_spis: (gic::nr_lines().saturating_sub(32)).min(vgic::MAX_SPIS),
        priority_bits: gic::priority_bits(),
    })
    .map_err(|e| BootError::Gic(format!("{e:?}")))?;
    for vcpu in 0..vcpu_mpidrs.len() {
        vgic.link_ppi_hw(vcpu, gic::VIRTUAL_TIMER_PPI, Some(gic::VIRTUAL_TIMER_PPI)).map_err(|e| BootError::Gic(format!("{e}")))?;
    }
    Ok(vgic)
}

/// A stage 2 mapping the domain's RAM, and nothing else: everything else it reaches is emulated.
fn new_stage2(plan: &DomainPlan) -> Result<PageTable, BootError> {
    let mut stage2 = PageTable::new(stage2_config(), &mut mmu::HeapTables)?;
    map_ram(&mut stage2, plan)?;
    Ok(stage2)
}

fn map_ram(stage2: &mut PageTable, plan: &DomainPlan) -> Result<(), BootError> {
    let ram = Attributes { mem: MemType::Normal, access: Access::RWX };
    Ok(stage2.map(&mut mmu::HeapTables, plan.ram_ipa.base, plan.ram_pa.base, plan.ram_ipa.size, ram)?)
}

const VMID_SHIFT: u64 = 48;

/// Writes the domain's device tree (with its `/hypervisor` node) into its RAM.
fn write_device_tree(
    platform: &host_dt::Platform,
    config: &DomainConfig,
    plan: &DomainPlan,
    vcpu_mpidrs: &[u64],
    devices: &[DeviceNode<'_>],
    framebuffer: Option<SimpleFramebuffer<'_>>,
) -> Result<(), BootError> {
    let tree = guest_dt::build_guest(&GuestDtConfig {
        platform,
        plan,
        bootargs: &bootargs(config),
        vcpu_mpidrs,
        passthrough_uart: false,
        devices,
        xen: Some(crate::xen::dt_node()),
        framebuffer,
    })
    .map_err(|e| BootError::GuestDt(format!("{}: {e}", config.name)))?;
    copy_into_guest(plan, plan.dtb_ipa.base, &tree);
    Ok(())
}

/// Makes the domain known to the hypervisor: its stage 2 (RAM only), vCPUs pinned to `pcpus`,
/// vGIC, emulated devices and console UART (raising `console_intid`). VMID = id + 1.
#[allow(clippy::too_many_arguments)]
fn register_domain(
    id: u16,
    config: &DomainConfig,
    plan: &DomainPlan,
    pcpus: &[usize],
    vcpu_mpidrs: &[u64],
    vgic: Vgic,
    mmio: Vec<mmio::Region>,
    console_intid: u32,
) -> Result<&'static Domain, BootError> {
    let stage2 = new_stage2(plan)?;
    crate::xen::events::add_domain(id, pcpus.len());
    crate::xen::grants::add_domain(id);
    let xen = crate::xen::DomainXen::new().ok_or(BootError::Map(page_table::MapError::OutOfMemory))?;
    Ok(domain::register(Domain {
        id,
        name: config.name.clone(),
        lifecycle: domain::Lifecycle::new(),
        ram_ipa: plan.ram_ipa,
        ram_pa: plan.ram_pa,
        vttbr: stage2.root() | ((u64::from(id) + 1) << VMID_SHIFT),
        stage2: spin::Mutex::new(stage2),
        vcpus: vcpu_mpidrs.iter().zip(pcpus).enumerate().map(|(i, (&mpidr, &pcpu))| Vcpu::new(i, mpidr, pcpu)).collect(),
        vgic: spin::Mutex::new(vgic),
        mmio,
        console: Some(VirtualUart::new(console_intid)),
        xen,
    }))
}

/// Copies the kernel and initramfs into the domain's RAM.
fn load_modules(config: &DomainConfig, plan: &DomainPlan, ram: &[MemRange]) -> Result<(), BootError> {
    let kernel = config.kernel.as_ref().ok_or(BootError::NoDom0Kernel)?;
    copy_into_guest(plan, plan.kernel_ipa, module_bytes("kernel", kernel.range, ram)?);
    if let (Some(initrd), Some(dest)) = (config.ramdisk.as_ref(), plan.initrd_ipa) {
        copy_into_guest(plan, dest.base, module_bytes("initrd", initrd.range, ram)?);
    }
    Ok(())
}

fn bootargs(config: &DomainConfig) -> String {
    config.kernel.as_ref().and_then(|k| k.bootargs.clone()).or_else(|| config.bootargs.clone()).unwrap_or_default()
}

/// Builds dom0; it gets the display's framebuffer as a simple-framebuffer, and its display
/// controller with the guest screen.
fn build_guest(
    platform: &host_dt::Platform,
    config: &DomainConfig,
    plan: &DomainPlan,
    pcpus: &[usize],
    display: Option<crate::display::Dom0Display>,
) -> Result<&'static Domain, BootError> {
    if pcpus.is_empty() {
        return Err(BootError::GuestDt("no physical CPU left for dom0".to_string()));
    }
    let vcpu_mpidrs: Vec<u64> = pcpus.iter().map(|&p| platform.cpus[p]).collect();
    load_modules(config, plan, &platform.ram)?;
    // dom0's interrupt controller: a vGIC at the addresses of the physical one, with one
    // redistributor per vCPU.
    let vgic = new_vgic(&vcpu_mpidrs)?;
    let host_gic = &platform.gic;
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
            memory: &[],
            interrupts: &sp6_interrupt,
            properties: &[],
            stdout: false,
        },
        uart_node(uart_window, &uart_interrupt),
    ];
    let guest_screen = display.as_ref().map(|d| [d.guest_screen]);
    if let Some(memory) = &guest_screen {
        mmio_regions.push(mmio::Region { range: crate::display::controller_range(), device: Emulated::DisplayController });
        devices.push(DeviceNode {
            name: "display-controller",
            compatible: &["reptar,display-controller"],
            reg: crate::display::controller_range(),
            memory,
            interrupts: &[],
            properties: &[],
            stdout: false,
        });
    }
    for slot in &dom0_virtio {
        devices.push(DeviceNode {
            name: "virtio_mmio",
            compatible: &["virtio,mmio"],
            reg: slot.transport.reg,
            memory: &[],
            interrupts: &slot.transport.interrupts,
            properties: &[("dma-coherent", PropValue::Empty)],
            stdout: false,
        });
    }
    write_device_tree(&dom0_platform, config, plan, &vcpu_mpidrs, &devices, display.as_ref().map(|d| d.framebuffer))?;
    let dom0 = register_domain(0, config, plan, pcpus, &vcpu_mpidrs, vgic, mmio_regions, 32 + uart_interrupt[1])?;
    if let Some(display) = &display {
        // 1:1 like its RAM, Normal non-cacheable: what dom0 writes is in RAM, where ramfb reads.
        let pixels = Attributes { mem: MemType::NormalNonCacheable, access: Access::RW };
        for picture in [display.framebuffer.reg, display.guest_screen] {
            let size = align_up(picture.size, PAGE);
            dom0.stage2.lock().map(&mut mmu::HeapTables, picture.base, picture.base, size, pixels)?;
        }
    }
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
    Ok(dom0)
}

/// Where a domU finds its devices: Xen's guest memory map (xen/include/public/arch-arm.h), so
/// that the same kernel and device tree conventions hold as under Xen.
const DOMU_GICD_BASE: u64 = 0x0300_1000;
const DOMU_GICR_BASE: u64 = 0x0302_0000;
const DOMU_UART_BASE: u64 = 0x2200_0000;
/// Xen's GUEST_VPL011_SPI (INTID 32 + 0).
const DOMU_UART_SPI: u32 = 0;

/// What a domU is rebuilt from: its boot configuration and where the boot placed it.
struct DomuRecipe {
    id: u16,
    config: DomainConfig,
    plan: DomainPlan,
    /// The board as the domU sees it (its vGIC and UART at Xen's guest addresses).
    platform: host_dt::Platform,
    vcpu_mpidrs: Vec<u64>,
}

static DOMU_RECIPES: spin::Mutex<Vec<DomuRecipe>> = spin::Mutex::new(Vec::new());

fn build_domu(platform: &host_dt::Platform, id: u16, config: &DomainConfig, plan: &DomainPlan, pcpus: &[usize]) -> Result<&'static Domain, BootError> {
    // vCPU n reads MPIDR n, as under Xen.
    let vcpu_mpidrs: Vec<u64> = (0..pcpus.len() as u64).collect();
    let vgic = new_vgic(&vcpu_mpidrs)?;
    let gicd = MemRange::new(DOMU_GICD_BASE, vgic::GICD_SIZE);
    let gicr = MemRange::new(DOMU_GICR_BASE, vgic.redist_region_size());
    let uart_window = MemRange::new(DOMU_UART_BASE, hv_console::vuart::REGION_SIZE);
    let mmio_regions = alloc::vec![
        mmio::Region { range: gicd, device: Emulated::Gicd },
        mmio::Region { range: gicr, device: Emulated::Gicr },
        mmio::Region { range: uart_window, device: Emulated::Uart },
    ];
    let mut domu_platform = platform.clone();
    domu_platform.gic.dist = gicd;
    domu_platform.gic.redist = alloc::vec![gicr];
    domu_platform.uart = None;
    write_domu_image(&domu_platform, config, plan, &vcpu_mpidrs)?;
    let domu = register_domain(id, config, plan, pcpus, &vcpu_mpidrs, vgic, mmio_regions, 32 + DOMU_UART_SPI)?;
    DOMU_RECIPES.lock().push(DomuRecipe { id, config: config.clone(), plan: plan.clone(), platform: domu_platform, vcpu_mpidrs });
    println!(
        "{}: {} vCPU(s) on CPU {:?}, {} MiB at IPA {:#x} (host {}), kernel at {:#x}",
        domu.name,
        domu.vcpus.len(),
        pcpus,
        plan.ram_ipa.size >> 20,
        plan.ram_ipa.base,
        plan.ram_pa,
        plan.kernel_ipa
    );
    Ok(domu)
}

/// A domain's console UART (an emulated SBSA UART), the kernel's `stdout-path`.
fn uart_node(reg: MemRange, interrupts: &[u32; 3]) -> DeviceNode<'_> {
    DeviceNode {
        name: "uart",
        compatible: &["arm,sbsa-uart"],
        reg,
        memory: &[],
        interrupts,
        properties: &[("current-speed", PropValue::U32(CONSOLE_BAUD))],
        stdout: true,
    }
}

/// Puts a domU's kernel, initramfs and device tree into its RAM.
fn write_domu_image(domu_platform: &host_dt::Platform, config: &DomainConfig, plan: &DomainPlan, vcpu_mpidrs: &[u64]) -> Result<(), BootError> {
    load_modules(config, plan, &domu_platform.ram)?;
    let uart_interrupt = [GIC_SPI, DOMU_UART_SPI, IRQ_TYPE_LEVEL_HIGH];
    let devices = [uart_node(MemRange::new(DOMU_UART_BASE, hv_console::vuart::REGION_SIZE), &uart_interrupt)];
    write_device_tree(domu_platform, config, plan, vcpu_mpidrs, &devices, None)
}

/// Rebuilds a destroyed domU from its boot configuration: its RAM scrubbed and loaded again,
/// its stage 2 back to its RAM alone, a fresh vGIC, UART and Xen state, its xenstore entries
/// and console ring. Its vCPU 0 is left ready to start at the kernel's entry; returns it with
/// the entry point and device tree address.
pub fn rebuild_domu(dom: &'static Domain) -> Result<(&'static Vcpu, u64, u64), BootError> {
    let recipes = DOMU_RECIPES.lock();
    let recipe = recipes.iter().find(|r| r.id == dom.id).ok_or_else(|| BootError::GuestDt(format!("{}: no boot configuration", dom.name)))?;
    let plan = &recipe.plan;
    // SAFETY: the domain's own RAM block, which no vCPU runs on (the domain is destroyed) and
    // no other domain maps (checked by the caller: no grant or foreign mapping of it is left);
    // identity mapped in the hypervisor's map.
    unsafe { core::ptr::write_bytes(plan.ram_pa.base as *mut u8, 0, plan.ram_pa.size as usize) };
    {
        let mut stage2 = dom.stage2.lock();
        let everything = stage2.config().input_size();
        stage2.unmap(&mut mmu::HeapTables, 0, everything)?;
        map_ram(&mut stage2, plan)?;
    }
    write_domu_image(&recipe.platform, &recipe.config, plan, &recipe.vcpu_mpidrs)?;
    *dom.vgic.lock() = new_vgic(&recipe.vcpu_mpidrs)?;
    if let Some(uart) = dom.console.as_ref() {
        uart.reset();
    }
    dom.xen.reset();
    crate::xen::events::add_domain(dom.id, dom.vcpus.len());
    crate::xen::grants::add_domain(dom.id);
    crate::xen::xenstore::connect(dom, &recipe.config.pv_devices).map_err(|e| BootError::GuestDt(format!("{}: xenstore: {e}", dom.name)))?;
    crate::xen::console_ring::connect(dom).map_err(|e| BootError::GuestDt(format!("{}: console: {e}", dom.name)))?;
    let vcpu = &dom.vcpus[0];
    Ok((vcpu, plan.kernel_ipa, plan.dtb_ipa.base))
}

fn stage2_config() -> Stage2Config {
    Stage2Config::new(IPA_BITS).expect("39-bit IPA is supported")
}

/// Copies `bytes` to the domain's IPA `ipa` (inside its RAM, as the plan places everything) and
/// cleans it to the point of coherency for a guest entered with caches off.
fn copy_into_guest(plan: &DomainPlan, ipa: u64, bytes: &[u8]) {
    let host = plan.ram_pa.base + (ipa - plan.ram_ipa.base);
    // SAFETY: `host` lies in the domain's RAM block, which the layout placed in free RAM (no
    // module, DTB or hypervisor there) and which the EL2 map covers; `bytes` is outside it,
    // and the plan keeps `ipa + len` inside the RAM.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), host as *mut u8, bytes.len()) };
    cache::clean_for_guest_entry(host as usize, bytes.len());
}

fn print_layout(info: &BootInfo, hypervisor: MemRange, host_dtb: MemRange, modules: &[(&str, MemRange)], plans: &[DomainPlan], reserved: &[(&str, MemRange)]) {
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
    for plan in plans {
        if plan.ram_ipa == plan.ram_pa {
            println!("  {:<12} {} ({} MiB, IPA = PA)", format!("{} RAM", plan.name), plan.ram_pa, mib(&plan.ram_pa));
        } else {
            println!("  {:<12} {} ({} MiB at IPA {:#x})", format!("{} RAM", plan.name), plan.ram_pa, mib(&plan.ram_pa), plan.ram_ipa.base);
        }
        println!("    kernel     {:#x}", plan.kernel_ipa);
        if let Some(initrd) = plan.initrd_ipa {
            println!("    initrd     {initrd}");
        }
        println!("    DTB        {}", plan.dtb_ipa);
    }
    for (label, block) in reserved {
        println!("  {label:<12} {block} ({} MiB, the display's, dom0's at IPA = PA)", mib(block));
    }
}
