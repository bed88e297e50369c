//! The hypervisor's own address space (EL2 stage 1, identity mapped) and the memory the
//! translation tables live in.
//!
//! Boot goes in two steps. With the MMU off every data access is Device memory (no caches, no
//! exclusives guaranteed), so the boot CPU first turns on a coarse map built in a static pool
//! (1 GiB blocks: the low GiB as Device, the rest as Normal memory); then, once the device tree
//! has told us what exists, it switches to the real map: text executable and read-only, rodata
//! read-only, data and RAM writable and never executable, and only the devices we drive.

use aarch64_cpu::registers::*;
use page_table::{Access, Attributes, El2Config, MemType, PageTable, PhysAddrSize, Regime, TableMemory, PAGE_SIZE};

/// The hypervisor's virtual address space: 39 bits, enough to identity-map QEMU virt's RAM
/// (which starts at 1 GiB) and its devices below it.
pub const VA_BITS: u8 = 39;
const GIB: u64 = 1 << 30;

/// Table pages handed out by the global allocator; they are identity mapped, so a table's
/// physical address is its address.
pub struct HeapTables;

impl TableMemory for HeapTables {
    fn alloc_table(&mut self) -> Option<u64> {
        let layout = core::alloc::Layout::from_size_align(PAGE_SIZE as usize, PAGE_SIZE as usize).ok()?;
        // SAFETY: the layout has a non-zero size.
        let page = unsafe { alloc::alloc::alloc_zeroed(layout) };
        (!page.is_null()).then_some(page as u64)
    }

    fn table(&self, pa: u64) -> &[u64; 512] {
        // SAFETY: `pa` came from `alloc_table` (page-table only asks for its own tables), is
        // identity mapped, page aligned and owned by the table it belongs to.
        unsafe { &*(pa as *const [u64; 512]) }
    }

    fn table_mut(&mut self, pa: u64) -> &mut [u64; 512] {
        // SAFETY: as for `table`.
        unsafe { &mut *(pa as *mut [u64; 512]) }
    }

    fn free_table(&mut self, pa: u64) {
        let layout = core::alloc::Layout::from_size_align(PAGE_SIZE as usize, PAGE_SIZE as usize).expect("page layout");
        // SAFETY: `pa` was allocated by `alloc_table` with this layout and is no longer linked.
        unsafe { alloc::alloc::dealloc(pa as *mut u8, layout) };
    }

    fn invalidate_tlb(&mut self, regime: Regime, _input: u64, _size: u64) {
        invalidate_tlb(regime);
    }
}

/// Drops every TLB entry of `regime`, on all CPUs. Coarse but always right: table changes are
/// rare (boot, domain build, grant maps), never on a hot path.
pub fn invalidate_tlb(regime: Regime) {
    // SAFETY: TLB maintenance has no memory-safety effects; the DSB orders the descriptor
    // writes before it and the invalidation before what follows.
    unsafe {
        match regime {
            Regime::El2Stage1 => core::arch::asm!("dsb ishst", "tlbi alle2is", "dsb ish", "isb", options(nostack)),
            Regime::Stage2 => core::arch::asm!("dsb ishst", "tlbi alle1is", "dsb ish", "isb", options(nostack)),
        }
    }
}

/// Four pages in .bss for the coarse boot map, used before the heap exists.
#[repr(C, align(4096))]
struct BootPool {
    pages: [[u64; 512]; 4],
    used: usize,
}

static mut BOOT_POOL: BootPool = BootPool { pages: [[0; 512]; 4], used: 0 };

struct BootTables(&'static mut BootPool);

impl TableMemory for BootTables {
    fn alloc_table(&mut self) -> Option<u64> {
        let page = self.0.pages.get_mut(self.0.used)?;
        self.0.used += 1;
        Some(page.as_mut_ptr() as u64)
    }

    fn table(&self, pa: u64) -> &[u64; 512] {
        // SAFETY: as for HeapTables: `pa` is one of the pool's pages, identity mapped.
        unsafe { &*(pa as *const [u64; 512]) }
    }

    fn table_mut(&mut self, pa: u64) -> &mut [u64; 512] {
        // SAFETY: as for HeapTables: `pa` is one of the pool's pages, identity mapped.
        unsafe { &mut *(pa as *mut [u64; 512]) }
    }

    fn invalidate_tlb(&mut self, _regime: Regime, _input: u64, _size: u64) {
        // The boot map is built with the MMU off and invalidated as a whole when turned on.
    }
}

fn el2_config() -> El2Config {
    El2Config::new(VA_BITS).expect("39-bit EL2 VA is supported")
}

/// Builds the coarse boot map and turns the MMU and caches on. Boot CPU, MMU off, once.
pub fn enable_boot_map() {
    // SAFETY: only the boot CPU runs, once, before anything else uses BOOT_POOL.
    let mut pool = BootTables(unsafe { &mut *core::ptr::addr_of_mut!(BOOT_POOL) });
    let device = Attributes { mem: MemType::Device, access: Access::RW };
    let normal = Attributes { mem: MemType::Normal, access: Access::RWX };
    let mut table = PageTable::new(el2_config(), &mut pool).expect("boot map root");
    table.map(&mut pool, 0, 0, GIB, device).expect("boot map devices");
    table.map(&mut pool, GIB, GIB, (1 << VA_BITS) - GIB, normal).expect("boot map RAM");
    enable(table.root(), false);
}

// Symbols of the linker script delimiting the image's sections.
extern "C" {
    static __image_start: u8;
    static __text_end: u8;
    static __rodata_end: u8;
    static __image_end: u8;
}

/// Where the hypervisor's image (text, rodata, data, bss with stacks and heap) lies.
pub fn image_range() -> (u64, u64) {
    (core::ptr::addr_of!(__image_start) as u64, core::ptr::addr_of!(__image_end) as u64)
}

/// A region the hypervisor maps for itself, besides its own image.
pub struct Region {
    pub base: u64,
    pub size: u64,
    pub mem: MemType,
}

/// Builds the hypervisor's real map (image with W^X, `ram` and `devices` not executable) and
/// switches to it. Returns the root for the secondary CPUs.
pub fn switch_to_final_map(ram: &[Region], devices: &[Region]) -> Result<u64, page_table::MapError> {
    let mut mem = HeapTables;
    let mut table = PageTable::new(el2_config(), &mut mem)?;
    for r in ram.iter().chain(devices) {
        table.map(&mut mem, r.base, r.base, r.size, Attributes { mem: r.mem, access: Access::RW })?;
    }
    let (start, text_end, rodata_end, end) = (
        core::ptr::addr_of!(__image_start) as u64,
        core::ptr::addr_of!(__text_end) as u64,
        core::ptr::addr_of!(__rodata_end) as u64,
        core::ptr::addr_of!(__image_end) as u64,
    );
    // The image is inside RAM, already mapped RW: give its parts their own permissions.
    let normal = |access| Attributes { mem: MemType::Normal, access };
    table.unmap(&mut mem, start, end - start)?;
    table.map(&mut mem, start, start, text_end - start, normal(Access::RX))?;
    table.map(&mut mem, text_end, text_end, rodata_end - text_end, normal(Access::RO))?;
    table.map(&mut mem, rodata_end, rodata_end, end - rodata_end, normal(Access::RW))?;
    let root = table.root();
    core::mem::forget(table); // the map lives as long as the hypervisor
    switch_to(root);
    Ok(root)
}

/// Secondary CPUs: MMU on with the real map.
pub fn enable_final_map(root: u64) {
    enable(root, true);
}

fn enable(root: u64, write_implies_xn: bool) {
    MAIR_EL2.set(El2Config::mair_el2());
    TCR_EL2.set(el2_config().tcr_el2(pa_size()));
    TTBR0_EL2.set(root);
    let mut sctlr = SCTLR_EL2_RES1 | SCTLR_M | SCTLR_C | SCTLR_SA | SCTLR_I;
    if write_implies_xn {
        sctlr |= SCTLR_WXN;
    }
    // SAFETY: the tables map this code and its stack at their own addresses, so execution
    // continues at the next instruction with the MMU on; stale TLB entries are dropped first.
    unsafe {
        core::arch::asm!("dsb ish", "tlbi alle2", "dsb ish", "isb", options(nostack));
        SCTLR_EL2.set(sctlr);
        core::arch::asm!("isb", options(nostack));
    }
}

fn switch_to(root: u64) {
    // SAFETY: the new map keeps everything the running code uses at the same address.
    unsafe {
        core::arch::asm!("dsb ish", options(nostack));
        TTBR0_EL2.set(root);
        core::arch::asm!("isb", "tlbi alle2", "dsb ish", "isb", options(nostack));
        SCTLR_EL2.set(SCTLR_EL2.get() | SCTLR_WXN);
        core::arch::asm!("tlbi alle2", "dsb ish", "isb", options(nostack));
    }
}

/// Physical address size the core implements (ID_AA64MMFR0_EL1.PARange).
pub fn pa_size() -> PhysAddrSize {
    PhysAddrSize::from_parange(ID_AA64MMFR0_EL1.get() & 0xf)
}

// SCTLR_EL2 (non-VHE): RES1 bits 4, 5, 11, 16, 18, 22, 23, 28, 29.
const SCTLR_EL2_RES1: u64 = 0x30c5_0830;
const SCTLR_M: u64 = 1 << 0;
const SCTLR_C: u64 = 1 << 2;
const SCTLR_SA: u64 = 1 << 3;
const SCTLR_I: u64 = 1 << 12;
const SCTLR_WXN: u64 = 1 << 19;
