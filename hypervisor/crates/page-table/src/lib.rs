//! VMSAv8-64 translation tables with the 4 KiB granule, for the two translation regimes the
//! REPTAR hypervisor programs (Arm ARM part D8, "The AArch64 Virtual Memory System
//! Architecture"):
//!
//! - [`Regime::El2Stage1`]: the hypervisor's own map (non-VHE EL2, TTBR0_EL2), configured by
//!   [`El2Config`] together with [`El2Config::tcr_el2`] and [`MAIR_EL2`];
//! - [`Regime::Stage2`]: a guest's IPA-to-PA map (VTTBR_EL2), configured by [`Stage2Config`]
//!   together with [`Stage2Config::vtcr_el2`].
//!
//! [`PageTable`] maps ranges with the largest blocks that fit (1 GiB, 2 MiB, else 4 KiB
//! pages), splits blocks when part of one changes, unmaps, and walks itself in software
//! ([`PageTable::translate`]). Table pages come from a [`TableMemory`], so the same code runs
//! in the hypervisor (frames reached through its identity map) and in host tests (an arena).
//!
//! The crate is pure: no assembly, no allocation, no panics on any argument. Arguments are
//! checked (4 KiB alignment, non-empty, no wrap-around, within the input size and 48-bit
//! output addresses) and refused with a [`MapError`].
//!
//! # Barriers and TLB maintenance
//!
//! The MMU's table walker reads descriptors while the tables change. The crate takes care
//! of what happens *during* a change:
//! - every descriptor is written with one volatile 64-bit store, and a new table is
//!   initialised before the descriptor linking it (release fence);
//! - a live entry whose block size, memory type or output changes goes through
//!   break-before-make, calling [`TableMemory::invalidate_tlb`] between the break and the
//!   make; an emptied table is unlinked and invalidated before it is freed; permission
//!   changes and removals are invalidated by one `invalidate_tlb` call before `map` /
//!   `unmap` return.
//!
//! The caller, which owns the barriers, then:
//! - after a [`PageTable::map`] that added mappings, issues `DSB ISHST` before relying on
//!   them (walkers do not snoop the store buffer), plus an `ISB` when the EL2 code itself is
//!   about to use a new EL2 mapping. A guest only runs after an `ERET`, which is a context
//!   synchronization event, so `DSB ISHST` is enough before entering it. Invalid entries are
//!   never cached in TLBs, so adding a mapping needs no TLBI;
//! - implements [`TableMemory::invalidate_tlb`] with the sequences documented there
//!   (`DSB ISHST; TLBI ...IS; DSB ISH; ISB`), with the right VMID in VTTBR_EL2 for stage 2;
//! - serialises changes to one table (`&mut self`) and, on the stage-2 fault path, treats a
//!   Translation fault on an address being remapped as spurious (retry after taking the
//!   table's lock), since break-before-make leaves a short window without a mapping;
//! - leaves the hardware Access flag and dirty-state updates off (TCR_EL2.HA/HD and
//!   VTCR_EL2.HA/HD = 0, as the register values from this crate do): every leaf has AF = 1
//!   and only this crate writes descriptors;
//! - builds the EL2 table before the MMU is on with data caches coherent with the walker's
//!   Write-Back walks (or cleans the table pages to the Point of Coherency first).
//!
//! # Example
//!
//! ```
//! use page_table::{Access, Attributes, MemType, PageTable, Stage2Config, PhysAddrSize};
//! # use page_table::{Regime, TableMemory};
//! # struct Arena(Vec<[u64; 512]>);
//! # impl TableMemory for Arena {
//! #     fn alloc_table(&mut self) -> Option<u64> {
//! #         self.0.push([0; 512]);
//! #         Some(self.0.len() as u64 * 4096)
//! #     }
//! #     fn table(&self, pa: u64) -> &[u64; 512] { &self.0[pa as usize / 4096 - 1] }
//! #     fn table_mut(&mut self, pa: u64) -> &mut [u64; 512] { &mut self.0[pa as usize / 4096 - 1] }
//! #     fn invalidate_tlb(&mut self, _: Regime, _: u64, _: u64) {}
//! # }
//! # let mut mem = Arena(Vec::new());
//! let config = Stage2Config::new(39).unwrap();
//! let vtcr = config.vtcr_el2(PhysAddrSize::Bits44).unwrap();
//! assert_eq!(vtcr, 0x8004_3559);
//!
//! let mut table = PageTable::new(config, &mut mem).unwrap();
//! let ram = Attributes::new(MemType::Normal, Access::RWX);
//! table.map(&mut mem, 0x4000_0000, 0x8000_0000, 0x4000_0000, ram).unwrap();
//! let t = table.translate(&mem, 0x4000_1234).unwrap();
//! assert_eq!((t.output, t.block_size), (0x8000_1234, 1 << 30));
//! ```

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod attributes;
mod config;
mod descriptor;
mod memory;
mod table;

pub use attributes::{Access, Attributes, MemType};
pub use config::{
    ConfigError, El2Config, PhysAddrSize, Regime, Stage2Config, TableConfig, MAIR_EL2,
    MAX_INPUT_BITS, MIN_INPUT_BITS,
};
pub use descriptor::{
    DESCRIPTORS_PER_TABLE, LEVEL1_BLOCK_SIZE, LEVEL2_BLOCK_SIZE, MAX_OUTPUT_BITS, PAGE_SHIFT,
    PAGE_SIZE,
};
pub use memory::TableMemory;
pub use table::{MapError, PageTable, Translation};
