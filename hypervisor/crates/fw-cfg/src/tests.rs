use std::string::String;
use std::vec;
use std::vec::Vec;

use proptest::prelude::*;

use crate::fake::{FakeFwCfg, FILE_FIRST};
use crate::ramfb::{Ramfb, RamfbConfig, FILE, FOURCC_XRGB8888};
use crate::*;

/// The files QEMU's virt machine with `-device ramfb` lists (names sorted differently from
/// their selectors, as in QEMU).
fn virt_files() -> Vec<(&'static str, Vec<u8>, bool)> {
    vec![
        ("etc/boot-fail-wait", vec![0; 4], false),
        ("etc/ramfb", vec![0; 28], true),
        ("bootorder", vec![], false),
        ("etc/table-loader", vec![0; 4096], false),
        ("etc/acpi/tables", vec![0; 8192], false),
    ]
}

#[test]
fn descriptor_is_big_endian() {
    let access = DmaAccess {
        control: control_word(Op::Write, Some(0x0021)),
        length: 28,
        address: 0x4123_4560,
    };
    assert_eq!(
        access.to_be_bytes(),
        [0x00, 0x21, 0x00, 0x18, 0, 0, 0, 28, 0, 0, 0, 0, 0x41, 0x23, 0x45, 0x60]
    );
    assert_eq!(DmaAccess::from_be_bytes(&access.to_be_bytes()), access);
}

#[test]
fn control_words() {
    assert_eq!(control_word(Op::Read, Some(SELECT_FILE_DIR)), 0x0019_000a);
    assert_eq!(control_word(Op::Read, None), 0x2);
    assert_eq!(control_word(Op::Skip, None), 0x4);
    assert_eq!(control_word(Op::Write, Some(0xffff)), 0xffff_0018);
}

#[test]
fn status_of_control_word() {
    assert_eq!(DmaStatus::of(0), DmaStatus::Done);
    assert_eq!(DmaStatus::of(control::ERROR), DmaStatus::Failed);
    assert_eq!(DmaStatus::of(0x0019_000b), DmaStatus::Failed);
    assert_eq!(DmaStatus::of(0x0019_000a), DmaStatus::Busy);
}

#[test]
fn dma_signature_is_qemu_cfg() {
    assert_eq!(DMA_SIGNATURE, 0x5145_4d55_2043_4647);
}

#[test]
fn directory_entry() {
    let mut entry = [0u8; FILE_ENTRY_SIZE];
    entry[..8].copy_from_slice(&[0, 0, 0, 28, 0, 0x25, 0xab, 0xcd]);
    entry[8..17].copy_from_slice(b"etc/ramfb");
    let file = File::parse(&entry);
    assert_eq!((file.size, file.select, file.name()), (28, 0x25, &b"etc/ramfb"[..]));
    // A name filling all 56 bytes has no NUL: it is all name.
    entry[8..].fill(b'x');
    assert_eq!(File::parse(&entry).name().len(), FILE_NAME_SIZE);
}

#[test]
fn finds_ramfb_among_the_files() {
    let mut fw = FwCfg::new(FakeFwCfg::qemu(&virt_files())).unwrap();
    let file = fw.find_file("etc/ramfb").unwrap();
    assert_eq!((file.size, file.select), (28, FILE_FIRST + 1));
    assert_eq!(fw.find_file("etc/ramf"), Err(Error::NoSuchFile));
    assert_eq!(fw.find_file("etc/ramfb2"), Err(Error::NoSuchFile));
    // The directory is read entry by entry after one selecting read of its count.
    let transfers = &fw.dma().transfers;
    assert!(transfers.contains(&control_word(Op::Read, Some(SELECT_FILE_DIR))));
    assert!(transfers.contains(&control_word(Op::Read, None)));
}

#[test]
fn not_fw_cfg_or_no_dma() {
    let mut device = FakeFwCfg::qemu(&[]);
    device.items.get_mut(&SELECT_SIGNATURE).unwrap().data = b"BOCH".to_vec();
    assert_eq!(FwCfg::new(device).err(), Some(Error::NoSignature(*b"BOCH")));
    let device = FakeFwCfg::new(ID_TRADITIONAL, &[]);
    assert_eq!(FwCfg::new(device).err(), Some(Error::NoDma { features: ID_TRADITIONAL }));
}

#[test]
fn device_errors_and_timeouts() {
    let mut fw = FwCfg::new(FakeFwCfg::qemu(&virt_files())).unwrap();
    // Writing a read-only item, or past the end of a writable one, fails whole.
    assert_eq!(
        fw.write(FILE_FIRST, &mut [1, 2, 3, 4]),
        Err(Error::DmaFailed { control: control_word(Op::Write, Some(FILE_FIRST)) })
    );
    assert!(matches!(fw.write(FILE_FIRST + 1, &mut [0; 29]), Err(Error::DmaFailed { .. })));
    assert!(fw.dma().item(FILE_FIRST + 1).writes.is_empty());
    // A selector that names nothing reads as zeros, and cannot be written.
    let mut buffer = [0xffu8; 8];
    fw.read(0x3fff, &mut buffer).unwrap();
    assert_eq!(buffer, [0; 8]);
    assert!(fw.write(0x3fff, &mut [0; 4]).is_err());
    fw.dma().stuck = Some(control_word(Op::Read, Some(SELECT_FILE_DIR)));
    assert_eq!(
        fw.find_file(FILE),
        Err(Error::DmaTimeout { control: control_word(Op::Read, Some(SELECT_FILE_DIR)) })
    );
    fw.dma().stuck = Some(control::ERROR);
    assert!(matches!(fw.find_file(FILE), Err(Error::DmaFailed { .. })));
}

#[test]
fn directory_count_is_bounded() {
    let mut device = FakeFwCfg::qemu(&[]);
    device.items.get_mut(&SELECT_FILE_DIR).unwrap().data = u32::MAX.to_be_bytes().to_vec();
    let mut fw = FwCfg::new(device).unwrap();
    assert_eq!(fw.find_file(FILE), Err(Error::BadDirectory { count: u32::MAX }));
    // A directory shorter than its count reads as zero entries past its end: not found,
    // after reading exactly `count` entries.
    let mut device = FakeFwCfg::qemu(&[]);
    device.items.get_mut(&SELECT_FILE_DIR).unwrap().data = 100u32.to_be_bytes().to_vec();
    let mut fw = FwCfg::new(device).unwrap();
    let before = fw.dma().transfers.len();
    assert_eq!(fw.find_file(FILE), Err(Error::NoSuchFile));
    assert_eq!(fw.dma().transfers.len() - before, 101);
}

#[test]
fn ramfb_config_bytes() {
    let config = RamfbConfig::xrgb8888(0x97e0_0000, 800, 480);
    assert_eq!(config.stride, 3200);
    assert_eq!(config.frame_bytes(), 1_536_000);
    assert_eq!(FOURCC_XRGB8888, 0x3432_5258);
    let bytes = config.to_be_bytes();
    assert_eq!(
        bytes,
        [
            0, 0, 0, 0, 0x97, 0xe0, 0, 0, // addr
            b'4', b'2', b'R', b'X', // fourcc 'XR24' as a big-endian u32
            0, 0, 0, 0, // flags
            0, 0, 0x03, 0x20, // width 800
            0, 0, 0x01, 0xe0, // height 480
            0, 0, 0x0c, 0x80, // stride 3200
        ]
    );
    assert_eq!(RamfbConfig::from_be_bytes(&bytes), config);
}

#[test]
fn ramfb_config_validity() {
    assert!(RamfbConfig::xrgb8888(0x4000_0000, 800, 480).is_valid());
    assert!(RamfbConfig::xrgb8888(0x4000_0000, 16, 16).is_valid());
    assert!(!RamfbConfig::xrgb8888(0x4000_0000, 15, 480).is_valid());
    assert!(!RamfbConfig::xrgb8888(0x4000_0000, 800, 0).is_valid());
    assert!(!RamfbConfig::xrgb8888(u64::MAX - 0x1000, 800, 480).is_valid());
    assert!(!RamfbConfig { stride: 3199, ..RamfbConfig::xrgb8888(0, 800, 480) }.is_valid());
    assert!(RamfbConfig { stride: 4096, ..RamfbConfig::xrgb8888(0, 800, 480) }.is_valid());
    assert!(!RamfbConfig { fourcc: 0, ..RamfbConfig::xrgb8888(0, 800, 480) }.is_valid());
    assert!(!RamfbConfig { flags: 1, ..RamfbConfig::xrgb8888(0, 800, 480) }.is_valid());
}

#[test]
fn ramfb_is_configured_and_reconfigured() {
    let mut fw = FwCfg::new(FakeFwCfg::qemu(&virt_files())).unwrap();
    let ramfb = Ramfb::find(&mut fw).unwrap();
    assert_eq!(ramfb.selector(), FILE_FIRST + 1);
    let first = RamfbConfig::xrgb8888(0x97e0_0000, 800, 480);
    ramfb.configure(&mut fw, &first).unwrap();
    let second = RamfbConfig::xrgb8888(0x9000_0000, 800, 480);
    ramfb.configure(&mut fw, &second).unwrap();
    let item = fw.dma().item(ramfb.selector());
    // Each configuration is one whole write from offset 0 (QEMU's callback then rereads it).
    assert_eq!(item.writes, [(0, 28), (0, 28)]);
    assert_eq!(RamfbConfig::from_be_bytes(item.data.as_slice().try_into().unwrap()), second);
    let bad = RamfbConfig::xrgb8888(0x9000_0000, 8, 480);
    assert_eq!(ramfb.configure(&mut fw, &bad), Err(Error::BadRamfbConfig));
    assert_eq!(fw.dma().item(ramfb.selector()).writes.len(), 2);
}

#[test]
fn no_ramfb_device() {
    let mut files = virt_files();
    files.remove(1);
    let mut fw = FwCfg::new(FakeFwCfg::qemu(&files)).unwrap();
    assert_eq!(Ramfb::find(&mut fw), Err(Error::NoSuchFile));
    let mut fw = FwCfg::new(FakeFwCfg::qemu(&[("etc/ramfb", vec![0; 24], true)])).unwrap();
    assert_eq!(Ramfb::find(&mut fw), Err(Error::FileSize { actual: 24, expected: 28 }));
}

#[test]
fn errors_say_what_failed() {
    use std::string::ToString;
    assert_eq!(
        Error::DmaFailed { control: 0x0021_0018 }.to_string(),
        "fw_cfg DMA transfer 0x00210018 failed"
    );
    assert_eq!(
        Error::FileSize { actual: 24, expected: 28 }.to_string(),
        "fw_cfg file is 24 bytes, expected 28"
    );
}

proptest! {
    /// Whatever the files and their order, each is found with its own selector and size.
    #[test]
    fn every_file_is_found(names in prop::collection::btree_set("[a-z/._-]{1,55}", 1..40)) {
        let names: Vec<String> = names.into_iter().collect();
        let files: Vec<(&str, Vec<u8>, bool)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), vec![0; i], false))
            .collect();
        let mut fw = FwCfg::new(FakeFwCfg::qemu(&files)).unwrap();
        for (i, name) in names.iter().enumerate() {
            let file = fw.find_file(name).unwrap();
            prop_assert_eq!(file.select, FILE_FIRST + i as u16);
            prop_assert_eq!(file.size as usize, i);
            prop_assert_eq!(file.name(), name.as_bytes());
        }
    }

    /// Any directory contents: the walk ends (bounded), without panicking.
    #[test]
    fn any_directory_is_walked_safely(dir in prop::collection::vec(any::<u8>(), 0..2048), name in "[a-z/]{1,12}") {
        let mut device = FakeFwCfg::qemu(&[]);
        device.items.get_mut(&SELECT_FILE_DIR).unwrap().data = dir;
        let mut fw = FwCfg::new(device).unwrap();
        let _ = fw.find_file(&name);
        prop_assert!(fw.dma().transfers.len() <= 3 + 1 + MAX_FILES as usize);
    }

    #[test]
    fn descriptor_round_trips(control in any::<u32>(), length in any::<u32>(), address in any::<u64>()) {
        let access = DmaAccess { control, length, address };
        prop_assert_eq!(DmaAccess::from_be_bytes(&access.to_be_bytes()), access);
    }

    #[test]
    fn ramfb_config_round_trips(addr in any::<u64>(), fourcc in any::<u32>(), flags in any::<u32>(),
                                width in any::<u32>(), height in any::<u32>(), stride in any::<u32>()) {
        let config = RamfbConfig { addr, fourcc, flags, width, height, stride };
        prop_assert_eq!(RamfbConfig::from_be_bytes(&config.to_be_bytes()), config);
    }
}
