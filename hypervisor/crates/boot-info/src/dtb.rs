//! A small, strict reader for flattened device trees (devicetree specification v0.4,
//! chapter 5 "Flattened Devicetree (DTB) Format").
//!
//! Why not the `fdt` crate: fdt 0.1.5 slices, `unwrap`s and `assert`s its way through the
//! blob, so a corrupted device tree makes it panic (it did on 1678 of 2000 copies of QEMU's
//! DTB with 4 random bytes changed). This reader checks every offset exactly once, while it
//! builds an index of the nodes and properties, and everything else in the crate works on
//! that index: once [`Tree::parse`] has succeeded nothing can read out of bounds.
//!
//! The memory reservation block is not read: QEMU's virt machine leaves it empty and the
//! layout does not use it.

use alloc::string::String;
use alloc::vec::Vec;

const FDT_MAGIC: u32 = 0xd00d_feed;
const FDT_BEGIN_NODE: u32 = 0x1;
const FDT_END_NODE: u32 = 0x2;
const FDT_PROP: u32 = 0x3;
const FDT_NOP: u32 = 0x4;
const FDT_END: u32 = 0x9;

/// Size of the version 17 header: ten big-endian 32-bit fields.
const HEADER_LEN: usize = 40;
/// Version 17 is the current format (it added `size_dt_struct`, which bounds the walk).
const MIN_VERSION: u32 = 17;
/// The newest format version this reader understands; a blob whose `last_comp_version`
/// is newer is not backwards compatible with it.
const MAX_COMP_VERSION: u32 = 17;

/// Why a blob is not a device tree this reader accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DtbError {
    /// Shorter than a header, or without the FDT magic number.
    NotADtb,
    /// The header is inconsistent or from an unsupported version.
    BadHeader(&'static str),
    /// The structure block is malformed at this byte offset of the blob.
    Corrupt { offset: usize, reason: &'static str },
}

/// Index of a node in its [`Tree`]. Only a `Tree` makes them, so they are always valid for
/// the tree they came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NodeId(usize);

/// One property: its name and raw value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prop<'a> {
    pub name: &'a str,
    pub value: &'a [u8],
}

#[derive(Debug)]
struct Node<'a> {
    name: &'a str,
    parent: Option<NodeId>,
    props: Vec<Prop<'a>>,
    children: Vec<NodeId>,
}

/// The nodes of a device tree, in document (depth-first) order; the root is the first.
#[derive(Debug)]
pub(crate) struct Tree<'a> {
    nodes: Vec<Node<'a>>,
}

/// Reads the big-endian `u32` at `offset`, if all of it lies before `limit`.
fn be32_at(blob: &[u8], offset: usize, limit: usize) -> Option<u32> {
    let end = offset.checked_add(4)?;
    if end > limit {
        return None;
    }
    be32(blob.get(offset..end)?)
}

/// The value of a 4-byte big-endian cell; `None` unless `bytes` is exactly 4 bytes long.
pub(crate) fn be32(bytes: &[u8]) -> Option<u32> {
    let cell: [u8; 4] = bytes.try_into().ok()?;
    Some(u32::from_be_bytes(cell))
}

/// The bytes of the NUL-terminated string at `offset`, without the NUL, if the NUL lies
/// before `limit`.
fn c_string_at(blob: &[u8], offset: usize, limit: usize) -> Option<&[u8]> {
    let bytes = blob.get(offset..limit)?;
    let len = bytes.iter().position(|&b| b == 0)?;
    bytes.get(..len)
}

/// `offset` rounded up to the 4-byte alignment of structure block tokens.
fn align4(offset: usize) -> Option<usize> {
    Some(offset.checked_add(3)? & !3)
}

impl<'a> Tree<'a> {
    /// Checks and indexes a flattened device tree.
    pub(crate) fn parse(blob: &'a [u8]) -> Result<Self, DtbError> {
        let field = |index: usize| be32_at(blob, index * 4, blob.len()).ok_or(DtbError::NotADtb);
        if blob.len() < HEADER_LEN || field(0)? != FDT_MAGIC {
            return Err(DtbError::NotADtb);
        }
        let total_size = field(1)? as usize;
        let off_dt_struct = field(2)? as usize;
        let off_dt_strings = field(3)? as usize;
        let version = field(5)?;
        let last_comp_version = field(6)?;
        let size_dt_strings = field(8)? as usize;
        let size_dt_struct = field(9)? as usize;

        if version < MIN_VERSION {
            return Err(DtbError::BadHeader("format version older than 17"));
        }
        if last_comp_version > MAX_COMP_VERSION {
            return Err(DtbError::BadHeader(
                "format version newer than 17 and not compatible",
            ));
        }
        if total_size > blob.len() {
            return Err(DtbError::BadHeader("totalsize is larger than the blob"));
        }
        if total_size < HEADER_LEN {
            return Err(DtbError::BadHeader("totalsize is smaller than the header"));
        }
        let struct_end = off_dt_struct
            .checked_add(size_dt_struct)
            .filter(|&end| off_dt_struct >= HEADER_LEN && end <= total_size)
            .ok_or(DtbError::BadHeader("structure block lies outside the blob"))?;
        if !off_dt_struct.is_multiple_of(4) {
            return Err(DtbError::BadHeader("structure block is not 4-byte aligned"));
        }
        let strings_end = off_dt_strings
            .checked_add(size_dt_strings)
            .filter(|&end| off_dt_strings >= HEADER_LEN && end <= total_size)
            .ok_or(DtbError::BadHeader("strings block lies outside the blob"))?;

        let corrupt = |offset: usize, reason: &'static str| DtbError::Corrupt { offset, reason };
        let mut nodes: Vec<Node<'a>> = Vec::new();
        let mut open: Vec<NodeId> = Vec::new();
        let mut root_closed = false;
        let mut pos = off_dt_struct;
        loop {
            let token_offset = pos;
            let token = be32_at(blob, pos, struct_end)
                .ok_or(corrupt(pos, "structure block ends without FDT_END"))?;
            pos += 4;
            match token {
                FDT_BEGIN_NODE => {
                    if root_closed {
                        return Err(corrupt(token_offset, "a second root node"));
                    }
                    let name = c_string_at(blob, pos, struct_end)
                        .ok_or(corrupt(pos, "node name runs past the structure block"))?;
                    let name = core::str::from_utf8(name)
                        .map_err(|_| corrupt(pos, "node name is not UTF-8"))?;
                    pos = align4(pos + name.len() + 1)
                        .ok_or(corrupt(pos, "node name runs past the structure block"))?;
                    let id = NodeId(nodes.len());
                    let parent = open.last().copied();
                    if let Some(parent) = parent.and_then(|p| nodes.get_mut(p.0)) {
                        parent.children.push(id);
                    }
                    nodes.push(Node {
                        name,
                        parent,
                        props: Vec::new(),
                        children: Vec::new(),
                    });
                    open.push(id);
                }
                FDT_END_NODE => {
                    open.pop()
                        .ok_or(corrupt(token_offset, "FDT_END_NODE outside any node"))?;
                    root_closed = open.is_empty();
                }
                FDT_PROP => {
                    let len = be32_at(blob, pos, struct_end).ok_or(corrupt(
                        pos,
                        "property header runs past the structure block",
                    ))? as usize;
                    let name_offset = be32_at(blob, pos + 4, struct_end).ok_or(corrupt(
                        pos,
                        "property header runs past the structure block",
                    ))? as usize;
                    pos += 8;
                    let value = pos
                        .checked_add(len)
                        .filter(|&end| end <= struct_end)
                        .and_then(|end| blob.get(pos..end))
                        .ok_or(corrupt(pos, "property value runs past the structure block"))?;
                    pos = align4(pos + len)
                        .ok_or(corrupt(pos, "property value runs past the structure block"))?;
                    let name = off_dt_strings
                        .checked_add(name_offset)
                        .filter(|&start| start < strings_end)
                        .and_then(|start| c_string_at(blob, start, strings_end))
                        .ok_or(corrupt(
                            token_offset,
                            "property name lies outside the strings block",
                        ))?;
                    let name = core::str::from_utf8(name)
                        .map_err(|_| corrupt(token_offset, "property name is not UTF-8"))?;
                    let node = open
                        .last()
                        .and_then(|id| nodes.get_mut(id.0))
                        .ok_or(corrupt(token_offset, "property outside any node"))?;
                    node.props.push(Prop { name, value });
                }
                FDT_NOP => {}
                FDT_END => {
                    if !root_closed {
                        return Err(corrupt(
                            token_offset,
                            "FDT_END before the root node is closed",
                        ));
                    }
                    break;
                }
                _ => return Err(corrupt(token_offset, "unknown token")),
            }
        }
        Ok(Tree { nodes })
    }

    fn get(&self, id: NodeId) -> Option<&Node<'a>> {
        self.nodes.get(id.0)
    }

    /// The root node.
    pub(crate) fn root(&self) -> NodeId {
        NodeId(0)
    }

    /// All nodes, depth-first in document order.
    pub(crate) fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.nodes.len()).map(NodeId)
    }

    /// The node's name, with its unit address (`module@0x49000000`); empty for the root.
    pub(crate) fn name(&self, id: NodeId) -> &'a str {
        self.get(id).map_or("", |n| n.name)
    }

    pub(crate) fn parent(&self, id: NodeId) -> Option<NodeId> {
        self.get(id).and_then(|n| n.parent)
    }

    pub(crate) fn children(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.get(id)
            .map(|n| n.children.as_slice())
            .unwrap_or(&[])
            .iter()
            .copied()
    }

    /// The value of the property `name`; the first one if the node repeats it.
    pub(crate) fn prop(&self, id: NodeId, name: &str) -> Option<&'a [u8]> {
        self.get(id)?
            .props
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value)
    }

    /// The node's full path, for messages (`/chosen/module@0x49000000`).
    pub(crate) fn path(&self, id: NodeId) -> String {
        let mut names = Vec::new();
        let mut cursor = Some(id);
        while let Some(node) = cursor.and_then(|c| self.get(c)) {
            if node.parent.is_some() {
                names.push(node.name);
            }
            cursor = node.parent;
        }
        if names.is_empty() {
            return String::from("/");
        }
        let mut path = String::new();
        for name in names.iter().rev() {
            path.push('/');
            path.push_str(name);
        }
        path
    }

    /// The node at an absolute path. A component without a unit address also matches a node
    /// that has one (`/memory` finds `/memory@40000000`), as in the devicetree specification.
    pub(crate) fn find_path(&self, path: &str) -> Option<NodeId> {
        let rest = path.strip_prefix('/')?;
        let mut node = self.root();
        for component in rest.split('/').filter(|c| !c.is_empty()) {
            node = self.children(node).find(|&child| {
                let name = self.name(child);
                name == component
                    || (!component.contains('@')
                        && name
                            .split_once('@')
                            .is_some_and(|(base, _)| base == component))
            })?;
        }
        Some(node)
    }

    /// The node whose `phandle` (or legacy `linux,phandle`) is `phandle`.
    pub(crate) fn find_phandle(&self, phandle: u32) -> Option<NodeId> {
        self.nodes().find(|&id| {
            let value = self
                .prop(id, "phandle")
                .or_else(|| self.prop(id, "linux,phandle"));
            value.and_then(be32) == Some(phandle)
        })
    }
}

/// A property holding one string: UTF-8, NUL-terminated, no NUL inside.
pub(crate) fn string(value: &[u8]) -> Option<&str> {
    let text = value.strip_suffix(&[0])?;
    if text.contains(&0) {
        return None;
    }
    core::str::from_utf8(text).ok()
}

/// A property holding a list of NUL-terminated UTF-8 strings (`compatible`).
pub(crate) fn string_list(value: &[u8]) -> Option<Vec<&str>> {
    let text = value.strip_suffix(&[0])?;
    text.split(|&b| b == 0)
        .map(|s| core::str::from_utf8(s).ok())
        .collect()
}

/// A property holding 32-bit cells; `None` unless its length is a multiple of 4.
pub(crate) fn cells(value: &[u8]) -> Option<Vec<u32>> {
    if !value.len().is_multiple_of(4) {
        return None;
    }
    value.chunks_exact(4).map(be32).collect()
}

/// The number held by `cells.len() / 4` big-endian cells: 1 or 2 cells (a 64-bit value).
/// Longer values and an empty slice give `None`.
pub(crate) fn number(cells: &[u8]) -> Option<u64> {
    match cells.len() {
        4 => be32(cells).map(u64::from),
        8 => {
            let (high, low) = cells.split_at(4);
            Some(u64::from(be32(high)?) << 32 | u64::from(be32(low)?))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
