//! The tree: nodes with a value, children, permissions and a generation count, the
//! per-domain accounting of what they cost, and the node operations (read, write, mkdir,
//! rm, permissions) with Xen's permission rules.
//!
//! Operations never change the tree directly. They run over [`Layers`]: the tree, under
//! the overlay of an open transaction if any, under a scratch overlay of their own. They
//! read through the layers (recording, inside a transaction, every node they look at) and
//! write into the scratch overlay, and they list the [`Change`]s that watches must hear
//! about. The engine then checks quotas and either applies the scratch overlay to the tree
//! or folds it into the transaction. An operation that fails therefore changes nothing.

use crate::path;
use crate::perms::{Perms, XS_PERM_OWNER, XS_PERM_READ, XS_PERM_WRITE};
use crate::wire::XsError;
use crate::DomId;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// Fixed cost charged per node, on top of its path and value: the map entry, the `Node`
/// itself and its vectors' headers.
pub const NODE_OVERHEAD: usize = 64;
/// Cost charged per permission entry.
pub const PERM_COST: usize = 8;

/// One node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The value: any bytes (Xen values are binary blobs, usually ASCII without NUL).
    pub value: Vec<u8>,
    /// Permissions, owner first.
    pub perms: Perms,
    /// Names of the children, in creation order (as cxenstored lists them).
    pub children: Vec<String>,
    /// Generation: the tree's generation count when the node last changed (its value, its
    /// permissions or its list of children). Transactions detect conflicts with it, and
    /// `XS_DIRECTORY_PART` returns it.
    pub gen: u64,
}

impl Node {
    /// An empty node.
    pub fn new(perms: Perms) -> Node {
        Node { value: Vec::new(), perms, children: Vec::new(), gen: 0 }
    }

    /// What a node at `path` costs its owner: [`NODE_OVERHEAD`], the path twice (the map
    /// key and the name in its parent's list of children), the value and the permissions.
    pub fn cost(&self, path: &str) -> usize {
        NODE_OVERHEAD + 2 * path.len() + self.value.len() + self.perms.entries().len() * PERM_COST
    }
}

/// What the nodes a domain owns cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeUsage {
    /// Number of nodes.
    pub nodes: usize,
    /// Their [`Node::cost`], summed.
    pub bytes: usize,
}

/// A change watches hear about (cxenstored's `fire_watches()` arguments).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The node that changed (or the special name).
    pub path: String,
    /// Only watches on exactly this path fire (the nodes below a removed node: the watches
    /// above them hear about the removed node itself, once).
    pub exact: bool,
    /// A watcher hears about the change only if one of these grants it read access: the
    /// node's permissions (old and new, for a permission change) and its parent's.
    pub perms: Vec<Perms>,
}

/// The tree.
#[derive(Clone, Debug)]
pub struct Tree {
    nodes: BTreeMap<String, Node>,
    gen: u64,
    usage: BTreeMap<DomId, NodeUsage>,
}

/// Pending writes: path to new node, or `None` for a removal.
pub type Overlay = BTreeMap<String, Option<Node>>;

impl Tree {
    /// A tree with the root `/` and `/local/domain`, both owned by dom0 with no access for
    /// others (`n0`), as Xen's toolstack leaves them.
    pub fn new() -> Tree {
        let mut tree = Tree { nodes: BTreeMap::new(), gen: 0, usage: BTreeMap::new() };
        let mut root = Node::new(Perms::owned_by(0));
        root.children.push(String::from("local"));
        let mut local = Node::new(Perms::owned_by(0));
        local.children.push(String::from("domain"));
        let domain = Node::new(Perms::owned_by(0));
        let mut init = Overlay::new();
        init.insert(String::from("/"), Some(root));
        init.insert(String::from("/local"), Some(local));
        init.insert(String::from(path::LOCAL_DOMAIN), Some(domain));
        tree.apply(init);
        tree
    }

    /// The node at `path`.
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Never: the root always exists.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Every node, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Node)> {
        self.nodes.iter()
    }

    /// The current generation count.
    pub fn generation(&self) -> u64 {
        self.gen
    }

    /// A fresh generation count.
    pub fn next_gen(&mut self) -> u64 {
        self.gen += 1;
        self.gen
    }

    /// What domain `domid`'s nodes cost.
    pub fn usage(&self, domid: DomId) -> NodeUsage {
        self.usage.get(&domid).copied().unwrap_or_default()
    }

    /// Per domain, how many nodes and bytes applying `overlay` would add (negative: free).
    pub fn delta(&self, overlay: &Overlay) -> BTreeMap<DomId, (isize, isize)> {
        let mut delta: BTreeMap<DomId, (isize, isize)> = BTreeMap::new();
        for (p, new) in overlay {
            if let Some(old) = self.nodes.get(p) {
                let d = delta.entry(old.perms.owner()).or_default();
                d.0 -= 1;
                d.1 -= old.cost(p) as isize;
            }
            if let Some(new) = new {
                let d = delta.entry(new.perms.owner()).or_default();
                d.0 += 1;
                d.1 += new.cost(p) as isize;
            }
        }
        delta
    }

    /// Applies `overlay`: every node it writes gets one fresh generation count.
    pub fn apply(&mut self, overlay: Overlay) {
        let gen = self.next_gen();
        for (p, new) in overlay {
            if let Some(old) = self.nodes.remove(&p) {
                self.charge(old.perms.owner(), -1, -(old.cost(&p) as isize));
            }
            if let Some(mut new) = new {
                new.gen = gen;
                self.charge(new.perms.owner(), 1, new.cost(&p) as isize);
                self.nodes.insert(p, new);
            }
        }
    }

    fn charge(&mut self, domid: DomId, nodes: isize, bytes: isize) {
        let u = self.usage.entry(domid).or_default();
        u.nodes = u.nodes.saturating_add_signed(nodes);
        u.bytes = u.bytes.saturating_add_signed(bytes);
        if *u == NodeUsage::default() {
            self.usage.remove(&domid);
        }
    }

    /// Domain `domid` is gone: entries naming it leave every permission list, and what it
    /// owned passes to dom0 ([`Perms::forget`]).
    pub fn forget_domain(&mut self, domid: DomId) {
        let mut changed = Overlay::new();
        for (p, n) in &self.nodes {
            let mut perms = n.perms.clone();
            if perms.forget(domid) {
                changed.insert(p.clone(), Some(Node { perms, ..n.clone() }));
            }
        }
        if !changed.is_empty() {
            self.apply(changed);
        }
    }

    /// Checks the tree's invariants: the root exists; every other node's parent exists and
    /// lists it exactly once; every listed child exists; paths are valid; the accounting
    /// matches the nodes; no generation is from the future.
    pub fn check(&self) -> Result<(), &'static str> {
        if !self.nodes.contains_key("/") {
            return Err("no root");
        }
        let mut usage: BTreeMap<DomId, NodeUsage> = BTreeMap::new();
        for (p, n) in &self.nodes {
            if p != "/" {
                if path::absolute(p).as_deref() != Ok(p.as_str()) {
                    return Err("invalid path in tree");
                }
                let parent = self.nodes.get(path::parent(p)).ok_or("orphan node")?;
                let name = path::basename(p);
                if parent.children.iter().filter(|c| c.as_str() == name).count() != 1 {
                    return Err("node not listed exactly once by its parent");
                }
            }
            let names: BTreeSet<&String> = n.children.iter().collect();
            if names.len() != n.children.len() {
                return Err("duplicate child");
            }
            if n.children.iter().any(|c| !self.nodes.contains_key(&path::child(p, c))) {
                return Err("listed child missing");
            }
            if n.gen > self.gen {
                return Err("generation from the future");
            }
            let u = usage.entry(n.perms.owner()).or_default();
            u.nodes += 1;
            u.bytes += n.cost(p);
        }
        if usage != self.usage {
            return Err("accounting mismatch");
        }
        Ok(())
    }
}

impl Default for Tree {
    fn default() -> Tree {
        Tree::new()
    }
}

/// Who runs an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The domain.
    pub domid: DomId,
    /// Privileged (dom0, or the hypervisor itself): bypasses permission checks and does not
    /// take ownership of what it creates.
    pub privileged: bool,
}

impl Actor {
    /// The hypervisor building domains.
    pub const HYPERVISOR: Actor = Actor { domid: 0, privileged: true };

    fn access(&self, perms: &Perms) -> u8 {
        perms.access_bits(self.domid, self.privileged)
    }
}

/// The view an operation runs over: scratch overlay, then the transaction's, then the tree.
pub struct Layers<'a> {
    tree: &'a Tree,
    tx: Option<&'a Overlay>,
    /// What the operation wrote.
    pub scratch: Overlay,
    /// Inside a transaction: every path the operation looked at.
    pub accessed: BTreeSet<String>,
}

impl<'a> Layers<'a> {
    /// A view of `tree`, inside the transaction whose overlay is `tx` if any.
    pub fn new(tree: &'a Tree, tx: Option<&'a Overlay>) -> Layers<'a> {
        Layers { tree, tx, scratch: Overlay::new(), accessed: BTreeSet::new() }
    }

    /// The node at `path` as the operation sees it (recorded, inside a transaction).
    pub fn get(&mut self, path: &str) -> Option<&Node> {
        if self.tx.is_some() && !self.accessed.contains(path) {
            self.accessed.insert(String::from(path));
        }
        self.peek(path)
    }

    fn peek(&self, path: &str) -> Option<&Node> {
        if let Some(entry) = self.scratch.get(path) {
            return entry.as_ref();
        }
        if let Some(entry) = self.tx.and_then(|tx| tx.get(path)) {
            return entry.as_ref();
        }
        self.tree.get(path)
    }

    fn put(&mut self, path: String, node: Option<Node>) {
        self.scratch.insert(path, node);
    }

    /// cxenstored's `errno_from_parents()`: a node that does not exist (or may not be
    /// accessed, `err` then being `EACCES`) is reported as `err` only if the nearest existing
    /// ancestor grants one of the `need` bits, else as `EACCES`, so that the error says
    /// nothing about nodes the caller may not see.
    fn errno_from_parents(&mut self, actor: Actor, p: &str, err: XsError, need: u8) -> XsError {
        let mut cur = p;
        loop {
            let up = path::parent(cur);
            if let Some(n) = self.get(up) {
                return if actor.access(&n.perms) & need != 0 { err } else { XsError::EACCES };
            }
            if up == cur {
                // No root: cannot happen (Tree::check), and says nothing.
                return XsError::EACCES;
            }
            cur = up;
        }
    }

    /// cxenstored's `get_node()`: the node, if it exists and `actor` has every `need` bit.
    pub fn lookup(&mut self, actor: Actor, p: &str, need: u8) -> Result<Node, XsError> {
        match self.get(p).cloned() {
            Some(n) if actor.access(&n.perms) & need == need => Ok(n),
            Some(_) => Err(XsError::EACCES),
            None => Err(self.errno_from_parents(actor, p, XsError::ENOENT, need)),
        }
    }

    /// The permissions of `p`'s parent (for watch filtering), or `fallback` at the root.
    fn parent_perms(&mut self, p: &str, fallback: &Perms) -> Perms {
        match self.get(path::parent(p)) {
            Some(n) if p != "/" => n.perms.clone(),
            _ => fallback.clone(),
        }
    }

    /// `XS_READ`.
    pub fn read(&mut self, actor: Actor, p: &str) -> Result<Vec<u8>, XsError> {
        self.lookup(actor, p, XS_PERM_READ).map(|n| n.value)
    }

    /// `XS_DIRECTORY`: the children's names, each NUL-terminated.
    pub fn directory(&mut self, actor: Actor, p: &str) -> Result<Vec<u8>, XsError> {
        let n = self.lookup(actor, p, XS_PERM_READ)?;
        Ok(children_wire(&n.children))
    }

    /// `XS_DIRECTORY_PART`: the generation, NUL, then the children's names (each
    /// NUL-terminated) from byte `offset` of the `XS_DIRECTORY` reply, as many as fit, and
    /// one more NUL if that is the end of the list (cxenstored's `send_directory_part()`).
    pub fn directory_part(
        &mut self,
        actor: Actor,
        p: &str,
        offset: usize,
    ) -> Result<Vec<u8>, XsError> {
        let n = self.lookup(actor, p, XS_PERM_READ)?;
        let all = children_wire(&n.children);
        let mut out = Vec::new();
        crate::wire::push_decimal(&mut out, n.gen);
        out.push(0);
        let Some(rest) = all.get(offset..).filter(|r| !r.is_empty()) else {
            out.push(0);
            return Ok(out);
        };
        let room = crate::wire::XENSTORE_PAYLOAD_MAX - out.len() - 1;
        // Whole names only: cut after the last NUL that fits.
        let mut len = 0;
        for (i, &b) in rest.iter().enumerate() {
            if i >= room {
                break;
            }
            if b == 0 {
                len = i + 1;
            }
        }
        out.extend_from_slice(&rest[..len]);
        if len == rest.len() {
            out.push(0);
        }
        Ok(out)
    }

    /// `XS_GET_PERMS` on a node.
    pub fn get_perms(&mut self, actor: Actor, p: &str) -> Result<Perms, XsError> {
        self.lookup(actor, p, XS_PERM_READ).map(|n| n.perms)
    }

    /// `XS_WRITE`: sets the value, creating the node (and missing ancestors) if needed.
    pub fn write(
        &mut self,
        actor: Actor,
        p: &str,
        value: &[u8],
        changes: &mut Vec<Change>,
    ) -> Result<(), XsError> {
        match self.lookup(actor, p, XS_PERM_WRITE) {
            Ok(mut n) => {
                n.value = Vec::from(value);
                let perms = n.perms.clone();
                self.put(String::from(p), Some(n));
                let parent = self.parent_perms(p, &perms);
                let perms = vec![perms, parent];
                changes.push(Change { path: String::from(p), exact: false, perms });
                Ok(())
            }
            Err(XsError::ENOENT) => self.create(actor, p, value, changes),
            Err(e) => Err(e),
        }
    }

    /// `XS_MKDIR`: creates the node with an empty value; nothing if it exists (and may be
    /// written).
    pub fn mkdir(
        &mut self,
        actor: Actor,
        p: &str,
        changes: &mut Vec<Change>,
    ) -> Result<(), XsError> {
        match self.lookup(actor, p, XS_PERM_WRITE) {
            Ok(_) => Ok(()),
            Err(XsError::ENOENT) => self.create(actor, p, &[], changes),
            Err(e) => Err(e),
        }
    }

    /// Creates `p` with `value`, and its missing ancestors with empty values (cxenstored's
    /// `construct_node()`): each new node inherits its parent's permissions, except that an
    /// unprivileged creator becomes the owner. Watches hear about `p` only.
    fn create(
        &mut self,
        actor: Actor,
        p: &str,
        value: &[u8],
        changes: &mut Vec<Change>,
    ) -> Result<(), XsError> {
        // Up to the nearest existing ancestor.
        let mut missing = vec![p];
        let mut cur = p;
        let (mut dir_path, mut dir) = loop {
            let up = path::parent(cur);
            if let Some(n) = self.get(up) {
                break (String::from(up), n.clone());
            }
            if up == cur {
                return Err(XsError::EIO);
            }
            missing.push(up);
            cur = up;
        };
        // Down again, creating.
        let mut parent_perms = dir.perms.clone();
        for &name in missing.iter().rev() {
            dir.children.push(String::from(path::basename(name)));
            let mut perms = dir.perms.clone();
            if !actor.privileged {
                perms.set_owner(actor.domid);
            }
            parent_perms = dir.perms.clone();
            self.put(core::mem::take(&mut dir_path), Some(dir));
            dir = Node::new(perms);
            dir_path = String::from(name);
        }
        dir.value = Vec::from(value);
        let perms = dir.perms.clone();
        self.put(dir_path, Some(dir));
        let perms = vec![perms, parent_perms];
        changes.push(Change { path: String::from(p), exact: false, perms });
        Ok(())
    }

    /// `XS_RM`: removes the node and everything below it. Removing a node that does not
    /// exist is fine if its parent does (`ENOENT` otherwise); `/` cannot go (`EINVAL`).
    pub fn rm(&mut self, actor: Actor, p: &str, changes: &mut Vec<Change>) -> Result<(), XsError> {
        match self.lookup(actor, p, XS_PERM_WRITE) {
            Ok(_) if p == "/" => Err(XsError::EINVAL),
            Ok(_) => self.remove_subtree(p, changes),
            Err(XsError::ENOENT) => {
                if self.get(path::parent(p)).is_some() {
                    Ok(())
                } else {
                    Err(XsError::ENOENT)
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Removes `p` (which exists, and is not `/`) and its subtree. Watches on `p` and above
    /// hear about `p` once; a watch on a node below hears about that node.
    pub fn remove_subtree(&mut self, p: &str, changes: &mut Vec<Change>) -> Result<(), XsError> {
        let parent_path = path::parent(p);
        let mut parent = self.get(parent_path).cloned().ok_or(XsError::EIO)?;
        // Pre-order walk; reversed, every node comes after everything below it.
        let mut order: Vec<(String, Perms, Perms)> = Vec::new();
        let mut stack = vec![(String::from(p), parent.perms.clone())];
        while let Some((cur, up_perms)) = stack.pop() {
            // A listed child that is missing would be a broken tree (Tree::check): skip it.
            let Some(n) = self.get(&cur).cloned() else { continue };
            for c in &n.children {
                stack.push((path::child(&cur, c), n.perms.clone()));
            }
            order.push((cur, n.perms, up_perms));
        }
        for (cur, perms, up_perms) in order.into_iter().rev() {
            let perms = vec![perms, up_perms];
            changes.push(Change { exact: cur != p, perms, path: cur.clone() });
            self.put(cur, None);
        }
        let name = path::basename(p);
        parent.children.retain(|c| c != name);
        self.put(String::from(parent_path), Some(parent));
        Ok(())
    }

    /// `XS_SET_PERMS` on a node: the owner or a privileged domain only; an unprivileged
    /// owner cannot give the node away (Xen: `EPERM`, which Linux cannot decode: `EACCES`).
    pub fn set_perms(
        &mut self,
        actor: Actor,
        p: &str,
        perms: Perms,
        changes: &mut Vec<Change>,
    ) -> Result<(), XsError> {
        let mut n = self.lookup(actor, p, XS_PERM_WRITE | XS_PERM_OWNER)?;
        if !actor.privileged && perms.owner() != n.perms.owner() {
            return Err(XsError::EACCES);
        }
        let old = core::mem::replace(&mut n.perms, perms.clone());
        self.put(String::from(p), Some(n));
        let parent = self.parent_perms(p, &perms);
        let perms = vec![perms, old, parent];
        changes.push(Change { path: String::from(p), exact: false, perms });
        Ok(())
    }
}

/// A list of children as `XS_DIRECTORY` sends it: every name followed by a NUL.
pub fn children_wire(children: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(children.iter().map(|c| c.len() + 1).sum());
    for c in children {
        out.extend_from_slice(c.as_bytes());
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perms::Access;

    const D1: Actor = Actor { domid: 1, privileged: false };

    fn run(tree: &mut Tree, actor: Actor, f: impl FnOnce(&mut Layers, Actor, &mut Vec<Change>) -> Result<(), XsError>) -> Result<Vec<Change>, XsError> {
        let mut changes = Vec::new();
        let mut l = Layers::new(tree, None);
        f(&mut l, actor, &mut changes)?;
        let scratch = core::mem::take(&mut l.scratch);
        tree.apply(scratch);
        tree.check().unwrap();
        Ok(changes)
    }

    #[test]
    fn create_inherits_and_owns() {
        let mut t = Tree::new();
        run(&mut t, Actor::HYPERVISOR, |l, a, c| l.write(a, "/local/domain/1", b"", c)).unwrap();
        run(&mut t, Actor::HYPERVISOR, |l, a, c| l.set_perms(a, "/local/domain/1", Perms::owned_by(1).with(0, Access::Read), c)).unwrap();
        let ch = run(&mut t, D1, |l, a, c| l.write(a, "/local/domain/1/x/y", b"v", c)).unwrap();
        assert_eq!(ch.len(), 1);
        assert_eq!(t.get("/local/domain/1/x").unwrap().perms, Perms::owned_by(1).with(0, Access::Read));
        assert_eq!(t.get("/local/domain/1/x/y").unwrap().value, b"v");
        assert_eq!(t.usage(1).nodes, 3);
        // A privileged creator keeps the parent's owner.
        run(&mut t, Actor::HYPERVISOR, |l, a, c| l.write(a, "/local/domain/1/z", b"", c)).unwrap();
        assert_eq!(t.get("/local/domain/1/z").unwrap().perms.owner(), 1);
    }

    #[test]
    fn errno_from_parents_hides() {
        let mut t = Tree::new();
        let mut l = Layers::new(&t, None);
        // Nearest ancestor /local/domain is n0: domain 1 learns nothing.
        assert_eq!(l.read(D1, "/local/domain/0/x"), Err(XsError::EACCES));
        assert_eq!(l.read(Actor::HYPERVISOR, "/local/domain/0/x"), Err(XsError::ENOENT));
        drop(l);
        run(&mut t, Actor::HYPERVISOR, |l, a, c| l.write(a, "/pub", b"", c)).unwrap();
        run(&mut t, Actor::HYPERVISOR, |l, a, c| l.set_perms(a, "/pub", Perms::new(0, Access::Read), c)).unwrap();
        let mut l = Layers::new(&t, None);
        assert_eq!(l.read(D1, "/pub/x"), Err(XsError::ENOENT));
        assert_eq!(l.read(D1, "/pub"), Ok(Vec::new()));
        let mut c = Vec::new();
        assert_eq!(l.write(D1, "/pub/x", b"", &mut c), Err(XsError::EACCES));
        assert_eq!(l.write(D1, "/pub", b"", &mut c), Err(XsError::EACCES));
    }

    #[test]
    fn rm_subtree_order_and_accounting() {
        let mut t = Tree::new();
        run(&mut t, Actor::HYPERVISOR, |l, a, c| l.write(a, "/a/b/c", b"1", c)).unwrap();
        run(&mut t, Actor::HYPERVISOR, |l, a, c| l.write(a, "/a/d", b"2", c)).unwrap();
        let before = t.usage(0);
        let ch = run(&mut t, Actor::HYPERVISOR, |l, a, c| l.rm(a, "/a", c)).unwrap();
        let paths: Vec<(&str, bool)> = ch.iter().map(|c| (c.path.as_str(), c.exact)).collect();
        assert_eq!(paths.last(), Some(&("/a", false)));
        assert_eq!(paths.len(), 4);
        let pos = |p: &str| paths.iter().position(|x| x.0 == p).unwrap();
        assert!(pos("/a/b/c") < pos("/a/b"));
        assert!(t.get("/a").is_none());
        assert_eq!(t.usage(0).nodes, before.nodes - 4);
        // Removing what is not there: fine if the parent is.
        run(&mut t, Actor::HYPERVISOR, |l, a, c| l.rm(a, "/a", c)).unwrap();
        assert_eq!(run(&mut t, Actor::HYPERVISOR, |l, a, c| l.rm(a, "/a/b", c)), Err(XsError::ENOENT));
        assert_eq!(run(&mut t, Actor::HYPERVISOR, |l, a, c| l.rm(a, "/", c)), Err(XsError::EINVAL));
    }

    #[test]
    fn directory_part_pages() {
        let mut t = Tree::new();
        for i in 0..600 {
            let p = alloc::format!("/d/child-number-{i:04}");
            run(&mut t, Actor::HYPERVISOR, |l, a, c| l.write(a, &p, b"", c)).unwrap();
        }
        let mut l = Layers::new(&t, None);
        let whole = l.directory(Actor::HYPERVISOR, "/d").unwrap();
        assert!(whole.len() > crate::wire::XENSTORE_PAYLOAD_MAX);
        let mut got = Vec::new();
        let mut gen = None;
        loop {
            let part = l.directory_part(Actor::HYPERVISOR, "/d", got.len()).unwrap();
            assert!(part.len() <= crate::wire::XENSTORE_PAYLOAD_MAX);
            let nul = part.iter().position(|&b| b == 0).unwrap();
            let g = part[..nul].to_vec();
            assert!(gen.get_or_insert(g.clone()) == &g);
            let body = &part[nul + 1..];
            if body == b"\0" {
                break;
            }
            if body.ends_with(b"\0\0") {
                got.extend_from_slice(&body[..body.len() - 1]);
                break;
            }
            got.extend_from_slice(body);
        }
        assert_eq!(got, whole);
        assert_eq!(l.directory_part(Actor::HYPERVISOR, "/d", 1 << 20).unwrap().ends_with(b"\0\0"), true);
    }
}
