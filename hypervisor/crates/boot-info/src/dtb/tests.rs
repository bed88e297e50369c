use super::*;
use crate::test_tree::TestNode;
use alloc::vec;
use proptest::prelude::*;

fn sample() -> Vec<u8> {
    let mut root = TestNode::new("");
    root.set_u32("#address-cells", &[2]);
    let mut chosen = TestNode::new("chosen");
    chosen.set_str("bootargs", "console=hvc0");
    root.add(chosen);
    let mut memory = TestNode::new("memory@40000000");
    memory.set_u32("phandle", &[7]);
    root.add(memory);
    root.to_dtb()
}

#[test]
fn walks_nodes_and_properties() {
    let blob = sample();
    let tree = Tree::parse(&blob).unwrap();
    let names: Vec<_> = tree.nodes().map(|id| tree.name(id)).collect();
    assert_eq!(names, ["", "chosen", "memory@40000000"]);
    let chosen = tree.find_path("/chosen").unwrap();
    assert_eq!(
        tree.prop(chosen, "bootargs").and_then(string),
        Some("console=hvc0")
    );
    assert_eq!(tree.parent(chosen), Some(tree.root()));
    assert_eq!(tree.path(chosen), "/chosen");
    assert_eq!(tree.path(tree.root()), "/");
    let memory = tree.find_path("/memory").unwrap();
    assert_eq!(tree.find_path("/memory@40000000"), Some(memory));
    assert_eq!(tree.find_phandle(7), Some(memory));
    assert_eq!(tree.find_phandle(8), None);
    assert_eq!(tree.find_path("/memory@0"), None);
    assert_eq!(tree.find_path("memory"), None);
    assert_eq!(tree.find_path("/"), Some(tree.root()));
}

#[test]
fn rejects_bad_headers() {
    let good = sample();
    assert_eq!(Tree::parse(&[]).unwrap_err(), DtbError::NotADtb);
    assert_eq!(Tree::parse(&good[..39]).unwrap_err(), DtbError::NotADtb);
    let mut bad_magic = good.clone();
    bad_magic[0] = 0;
    assert_eq!(Tree::parse(&bad_magic).unwrap_err(), DtbError::NotADtb);

    let set = |index: usize, value: u32| {
        let mut blob = good.clone();
        blob[index * 4..index * 4 + 4].copy_from_slice(&value.to_be_bytes());
        Tree::parse(&blob).map(|_| ())
    };
    assert!(matches!(
        set(1, good.len() as u32 + 1),
        Err(DtbError::BadHeader(_))
    ));
    assert!(matches!(set(1, 8), Err(DtbError::BadHeader(_))));
    assert!(matches!(set(2, 0x7fff_fff0), Err(DtbError::BadHeader(_))));
    assert!(matches!(set(2, 0x41), Err(DtbError::BadHeader(_))));
    assert!(matches!(set(3, 0xffff_fff0), Err(DtbError::BadHeader(_))));
    assert!(matches!(set(5, 16), Err(DtbError::BadHeader(_))));
    assert!(matches!(set(6, 18), Err(DtbError::BadHeader(_))));
    assert!(matches!(set(9, 0xffff_ffff), Err(DtbError::BadHeader(_))));
}

/// Builds a blob from a raw structure block and strings block.
fn blob(structure: &[u32], strings: &[u8]) -> Vec<u8> {
    let off_struct = HEADER_LEN as u32 + 16; // empty memory reservation map
    let size_struct = structure.len() as u32 * 4;
    let off_strings = off_struct + size_struct;
    let total = off_strings + strings.len() as u32;
    let header = [
        FDT_MAGIC,
        total,
        off_struct,
        off_strings,
        HEADER_LEN as u32,
        17,
        16,
        0,
        strings.len() as u32,
        size_struct,
    ];
    let mut out: Vec<u8> = header.iter().flat_map(|w| w.to_be_bytes()).collect();
    out.extend_from_slice(&[0; 16]);
    out.extend(structure.iter().flat_map(|w| w.to_be_bytes()));
    out.extend_from_slice(strings);
    out
}

fn corrupt_reason(structure: &[u32], strings: &[u8]) -> &'static str {
    match Tree::parse(&blob(structure, strings)) {
        Err(DtbError::Corrupt { reason, .. }) => reason,
        other => panic!("expected a corrupt structure error, got {other:?}"),
    }
}

#[test]
fn minimal_tree_with_nops() {
    let bytes = blob(
        &[
            FDT_NOP,
            FDT_BEGIN_NODE,
            0,
            FDT_NOP,
            FDT_PROP,
            0,
            0,
            FDT_NOP,
            FDT_END_NODE,
            FDT_END,
        ],
        b"x\0",
    );
    let tree = Tree::parse(&bytes).unwrap();
    assert_eq!(tree.prop(tree.root(), "x"), Some(&[][..]));
}

#[test]
fn rejects_corrupt_structure() {
    assert_eq!(
        corrupt_reason(&[], b""),
        "structure block ends without FDT_END"
    );
    assert_eq!(
        corrupt_reason(&[FDT_BEGIN_NODE, 0, FDT_END], b""),
        "FDT_END before the root node is closed"
    );
    assert_eq!(
        corrupt_reason(&[FDT_END], b""),
        "FDT_END before the root node is closed"
    );
    assert_eq!(
        corrupt_reason(&[FDT_END_NODE, FDT_END], b""),
        "FDT_END_NODE outside any node"
    );
    assert_eq!(
        corrupt_reason(
            &[
                FDT_BEGIN_NODE,
                0,
                FDT_END_NODE,
                FDT_BEGIN_NODE,
                0,
                FDT_END_NODE,
                FDT_END
            ],
            b""
        ),
        "a second root node"
    );
    assert_eq!(
        corrupt_reason(&[FDT_PROP, 0, 0, FDT_END], b"x\0"),
        "property outside any node"
    );
    assert_eq!(
        corrupt_reason(
            &[FDT_BEGIN_NODE, 0, FDT_PROP, 0, 9, FDT_END_NODE, FDT_END],
            b"x\0"
        ),
        "property name lies outside the strings block"
    );
    assert_eq!(
        corrupt_reason(
            &[FDT_BEGIN_NODE, 0, FDT_PROP, 0, 0, FDT_END_NODE, FDT_END],
            b"x"
        ),
        "property name lies outside the strings block"
    );
    assert_eq!(
        corrupt_reason(
            &[FDT_BEGIN_NODE, 0, FDT_PROP, 0, 0, FDT_END_NODE, FDT_END],
            b"\xff\0"
        ),
        "property name is not UTF-8"
    );
    assert_eq!(
        corrupt_reason(
            &[FDT_BEGIN_NODE, 0, FDT_PROP, 100, 0, FDT_END_NODE, FDT_END],
            b"x\0"
        ),
        "property value runs past the structure block"
    );
    assert_eq!(
        corrupt_reason(
            &[
                FDT_BEGIN_NODE,
                0,
                FDT_PROP,
                0xffff_ffff,
                0,
                FDT_END_NODE,
                FDT_END
            ],
            b"x\0"
        ),
        "property value runs past the structure block"
    );
    assert_eq!(
        corrupt_reason(&[FDT_BEGIN_NODE, 0, FDT_PROP], b"x\0"),
        "property header runs past the structure block"
    );
    assert_eq!(
        corrupt_reason(&[FDT_BEGIN_NODE, 0x6162_6364], b""),
        "node name runs past the structure block"
    );
    assert_eq!(
        corrupt_reason(&[FDT_BEGIN_NODE, 0xff00_0000, FDT_END_NODE, FDT_END], b""),
        "node name is not UTF-8"
    );
    assert_eq!(
        corrupt_reason(&[FDT_BEGIN_NODE, 0, 7, FDT_END_NODE, FDT_END], b""),
        "unknown token"
    );
}

#[test]
fn value_helpers() {
    assert_eq!(string(b"okay\0"), Some("okay"));
    assert_eq!(string(b"okay"), None);
    assert_eq!(string(b"ok\0ay\0"), None);
    assert_eq!(string(b"\xff\0"), None);
    assert_eq!(string(b""), None);
    assert_eq!(string_list(b"a\0bc\0"), Some(vec!["a", "bc"]));
    assert_eq!(string_list(b"a\0bc"), None);
    assert_eq!(string_list(b""), None);
    assert_eq!(cells(&[0, 0, 0, 1, 0, 0, 0, 2]), Some(vec![1, 2]));
    assert_eq!(cells(&[]), Some(vec![]));
    assert_eq!(cells(&[0, 0, 1]), None);
    assert_eq!(number(&[0, 0, 0, 5]), Some(5));
    assert_eq!(number(&[0, 0, 0, 1, 0, 0, 0, 2]), Some(0x1_0000_0002));
    assert_eq!(number(&[]), None);
    assert_eq!(number(&[0; 12]), None);
}

proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Tree::parse(&bytes);
    }

    /// Corrupting a valid blob anywhere must give an error or a tree, never a panic; and
    /// whatever tree comes out must be safe to walk.
    #[test]
    fn parse_never_panics_on_corrupted_trees(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)
    ) {
        let mut blob = sample();
        for (index, byte) in edits {
            let i = index.index(blob.len());
            blob[i] = byte;
        }
        if let Ok(tree) = Tree::parse(&blob) {
            for id in tree.nodes() {
                let _ = tree.path(id);
                let _ = tree.children(id).count();
                let _ = tree.prop(id, "bootargs").map(string);
            }
            let _ = tree.find_path("/chosen");
            let _ = tree.find_phandle(7);
        }
    }
}
