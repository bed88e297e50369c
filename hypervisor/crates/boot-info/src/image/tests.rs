use super::*;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use proptest::prelude::*;

/// A minimal Image: a header with these fields, padded to `len` bytes.
fn image(text_offset: u64, image_size: u64, flags: u64, len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len.max(HEADER_LEN)];
    bytes[0..4].copy_from_slice(b"MZ@\xfa"); // EFI stub "MZ" + branch, as Linux does
    bytes[8..16].copy_from_slice(&text_offset.to_le_bytes());
    bytes[16..24].copy_from_slice(&image_size.to_le_bytes());
    bytes[24..32].copy_from_slice(&flags.to_le_bytes());
    bytes[56..60].copy_from_slice(&MAGIC);
    bytes
}

#[test]
fn parses_a_modern_header() {
    // Linux >= 5.8: text_offset 0, little endian, 4K pages, anywhere in RAM.
    let header = ImageHeader::parse(&image(0, 0x1f3_0000, 0b1010, 4096)).unwrap();
    assert_eq!(
        header,
        ImageHeader {
            text_offset: 0,
            image_size: 0x1f3_0000,
            flags: 0b1010
        }
    );
    assert_eq!(
        format!("{header}"),
        "text_offset 0x0, image_size 31936 KiB, flags 0xa"
    );
}

#[test]
fn parses_an_older_header_with_text_offset() {
    let header = ImageHeader::parse(&image(0x8_0000, 0x120_0000, 0b0010, 64)).unwrap();
    assert_eq!(header.text_offset, 0x8_0000);
    assert_eq!(header.image_size, 0x120_0000);
}

#[test]
fn legacy_header_gets_conservative_size_and_fixed_text_offset() {
    // The text_offset field of a pre-3.17 kernel may be in the kernel's endianness: ignore it.
    let header =
        ImageHeader::parse(&image(0x0000_0800_0000_0000, 0, 0, 3 * 1024 * 1024 + 1)).unwrap();
    assert_eq!(header.text_offset, LEGACY_TEXT_OFFSET);
    assert_eq!(header.image_size, 8 * MIB); // 2 * (3 MiB + 1) rounded up to 2 MiB
    let tiny = ImageHeader::parse(&image(0, 0, 0, 64)).unwrap();
    assert_eq!(tiny.image_size, 2 * MIB);
}

#[test]
fn rejects_short_input() {
    assert_eq!(
        ImageHeader::parse(&[]),
        Err(ImageError::TooShort { len: 0 })
    );
    let header = image(0, 0x100_0000, 0, 64);
    assert_eq!(
        ImageHeader::parse(&header[..63]),
        Err(ImageError::TooShort { len: 63 })
    );
    assert!(format!("{}", ImageError::TooShort { len: 63 }).contains("63 bytes"));
}

#[test]
fn rejects_bad_magic() {
    let mut bytes = image(0, 0x100_0000, 0, 64);
    bytes[56..60].copy_from_slice(b"\x1f\x8b\x08\x00");
    let err = ImageHeader::parse(&bytes).unwrap_err();
    assert_eq!(
        err,
        ImageError::BadMagic {
            found: [0x1f, 0x8b, 0x08, 0x00]
        }
    );
    assert!(format!("{err}").contains("not an arm64 Linux Image"));
    // An arm32 zImage has its magic elsewhere.
    let mut zimage = vec![0u8; 64];
    zimage[0x24..0x28].copy_from_slice(&0x016f_2818u32.to_le_bytes());
    assert!(matches!(
        ImageHeader::parse(&zimage),
        Err(ImageError::BadMagic { .. })
    ));
}

proptest! {
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = ImageHeader::parse(&bytes);
    }

    #[test]
    fn parsed_image_size_is_never_zero(
        text_offset in any::<u64>(), image_size in any::<u64>(), flags in any::<u64>(), len in 64usize..5000
    ) {
        let header = ImageHeader::parse(&image(text_offset, image_size, flags, len)).unwrap();
        prop_assert!(header.image_size >= len as u64 || image_size != 0);
        prop_assert!(header.image_size != 0);
        prop_assert_eq!(header.flags, flags);
    }
}
