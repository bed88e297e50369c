//! The example of the crate documentation (doctests are off, see Cargo.toml).

use page_table::{
    Access, Attributes, MemType, PageTable, PhysAddrSize, Regime, Stage2Config, TableMemory,
};

struct Arena(Vec<[u64; 512]>);

impl TableMemory for Arena {
    fn alloc_table(&mut self) -> Option<u64> {
        self.0.push([0; 512]);
        Some(self.0.len() as u64 * 4096)
    }
    fn table(&self, pa: u64) -> &[u64; 512] {
        &self.0[pa as usize / 4096 - 1]
    }
    fn table_mut(&mut self, pa: u64) -> &mut [u64; 512] {
        &mut self.0[pa as usize / 4096 - 1]
    }
    fn invalidate_tlb(&mut self, _: Regime, _: u64, _: u64) {}
}

#[test]
fn crate_documentation_example() {
    let mut mem = Arena(Vec::new());
    let config = Stage2Config::new(39).unwrap();
    let vtcr = config.vtcr_el2(PhysAddrSize::Bits44).unwrap();
    assert_eq!(vtcr, 0x8004_3559);

    let mut table = PageTable::new(config, &mut mem).unwrap();
    let ram = Attributes::new(MemType::Normal, Access::RWX);
    table
        .map(&mut mem, 0x4000_0000, 0x8000_0000, 0x4000_0000, ram)
        .unwrap();
    let t = table.translate(&mem, 0x4000_1234).unwrap();
    assert_eq!((t.output, t.block_size), (0x8000_1234, 1 << 30));
}
