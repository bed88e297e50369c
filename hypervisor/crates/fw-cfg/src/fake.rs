//! A model of QEMU's fw_cfg device (hw/nvram/fw_cfg.c, fw_cfg_dma_transfer) for the tests:
//! items by selector, the file directory QEMU builds, and the DMA semantics (select, then
//! read, write or skip from the current offset; zeros past the end of a read; a write must
//! fit in a writable item or fails whole).

use std::collections::BTreeMap;
use std::vec::Vec;

use crate::{
    control, Dma, FILE_ENTRY_SIZE, ID_DMA, ID_TRADITIONAL, SELECT_FILE_DIR, SELECT_ID,
    SELECT_SIGNATURE,
};

/// First selector QEMU gives to files (FW_CFG_FILE_FIRST).
pub const FILE_FIRST: u16 = 0x20;

pub struct Item {
    pub data: Vec<u8>,
    pub writable: bool,
    /// Each completed write: (offset, length), as QEMU's write callback sees it.
    pub writes: Vec<(usize, usize)>,
}

pub struct FakeFwCfg {
    pub items: BTreeMap<u16, Item>,
    current: Option<u16>,
    offset: usize,
    /// Every control word received, in order.
    pub transfers: Vec<u32>,
    /// Answer every transfer with this control word instead of performing it.
    pub stuck: Option<u32>,
}

impl FakeFwCfg {
    /// A device with the signature, the given feature bits, and these files (name, contents,
    /// writable), given selectors in order from [`FILE_FIRST`] as QEMU does; the directory
    /// lists them sorted by name, as QEMU does.
    pub fn new(features: u32, files: &[(&str, Vec<u8>, bool)]) -> Self {
        let mut items = BTreeMap::new();
        let fixed = |data: Vec<u8>| Item { data, writable: false, writes: Vec::new() };
        items.insert(SELECT_SIGNATURE, fixed(b"QEMU".to_vec()));
        items.insert(SELECT_ID, fixed(features.to_le_bytes().to_vec()));
        let mut entries: Vec<(&str, u16, u32)> = Vec::new();
        for (i, (name, data, writable)) in files.iter().enumerate() {
            let select = FILE_FIRST + i as u16;
            entries.push((name, select, data.len() as u32));
            items.insert(
                select,
                Item { data: data.clone(), writable: *writable, writes: Vec::new() },
            );
        }
        entries.sort_by_key(|e| e.0);
        let mut dir = (entries.len() as u32).to_be_bytes().to_vec();
        for (name, select, size) in entries {
            let mut entry = [0u8; FILE_ENTRY_SIZE];
            entry[0..4].copy_from_slice(&size.to_be_bytes());
            entry[4..6].copy_from_slice(&select.to_be_bytes());
            let name = name.as_bytes();
            let len = name.len().min(crate::FILE_NAME_SIZE);
            entry[8..8 + len].copy_from_slice(&name[..len]);
            dir.extend_from_slice(&entry);
        }
        items.insert(SELECT_FILE_DIR, fixed(dir));
        FakeFwCfg { items, current: None, offset: 0, transfers: Vec::new(), stuck: None }
    }

    /// QEMU's machine: DMA and the traditional interface.
    pub fn qemu(files: &[(&str, Vec<u8>, bool)]) -> Self {
        Self::new(ID_TRADITIONAL | ID_DMA, files)
    }

    pub fn item(&self, select: u16) -> &Item {
        &self.items[&select]
    }
}

impl Dma for FakeFwCfg {
    fn transfer(&mut self, control_in: u32, buffer: &mut [u8]) -> u32 {
        self.transfers.push(control_in);
        if let Some(word) = self.stuck {
            return word;
        }
        if control_in & control::SELECT != 0 {
            let select = (control_in >> 16) as u16;
            self.current = self.items.contains_key(&select).then_some(select);
            self.offset = 0;
        }
        let (read, write) = if control_in & control::READ != 0 {
            (true, false)
        } else if control_in & control::WRITE != 0 {
            (false, true)
        } else if control_in & control::SKIP != 0 {
            (false, false)
        } else {
            return 0;
        };
        let mut address = 0usize;
        let mut length = buffer.len();
        let mut result = 0;
        while length > 0 && result & control::ERROR == 0 {
            let item = self.current.and_then(|s| self.items.get_mut(&s));
            let len;
            match item {
                Some(item) if self.offset < item.data.len() => {
                    len = length.min(item.data.len() - self.offset);
                    if read {
                        buffer[address..address + len]
                            .copy_from_slice(&item.data[self.offset..self.offset + len]);
                    }
                    if write {
                        if !item.writable || len != length {
                            result |= control::ERROR;
                        } else {
                            item.data[self.offset..self.offset + len]
                                .copy_from_slice(&buffer[address..address + len]);
                            item.writes.push((self.offset, len));
                        }
                    }
                    self.offset += len;
                }
                _ => {
                    len = length;
                    if read {
                        buffer[address..address + len].fill(0);
                    }
                    if write {
                        result |= control::ERROR;
                    }
                }
            }
            address += len;
            length -= len;
        }
        result
    }
}
