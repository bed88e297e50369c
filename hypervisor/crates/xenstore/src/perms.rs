//! Node permissions, with Xen's semantics (`docs/misc/xenstore.txt`, cxenstored's
//! `perm_for_conn()`).
//!
//! A node's permissions are a non-empty list of `(domid, n|r|w|b)` entries, written on the
//! wire as `"n0"`, `"r5"`... The first entry names the **owner** and gives the access of
//! every domain not listed further; later entries give the access of the domain they name
//! (the first match wins). The owner and privileged domains (dom0) may do anything,
//! including changing the permissions; others read with `r`/`b` and write with `w`/`b`.

use crate::wire::XsError;
use crate::DomId;
use alloc::vec;
use alloc::vec::Vec;

/// `XS_PERM_NONE` (xenstore_lib.h).
pub const XS_PERM_NONE: u8 = 0;
/// `XS_PERM_READ`.
pub const XS_PERM_READ: u8 = 1;
/// `XS_PERM_WRITE`.
pub const XS_PERM_WRITE: u8 = 2;
/// `XS_PERM_OWNER`: internal, never on the wire: held by the owner and privileged domains.
pub const XS_PERM_OWNER: u8 = 8;

/// First domain id reserved by Xen (`DOMID_FIRST_RESERVED`): permission entries must name
/// a real domain id below it.
pub const DOMID_FIRST_RESERVED: u32 = 0x7FF0;

/// One access level, the letter of a permission string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// `n`: nothing.
    None,
    /// `r`: read.
    Read,
    /// `w`: write.
    Write,
    /// `b`: both.
    Both,
}

impl Access {
    /// `XS_PERM_*` bits.
    pub const fn bits(self) -> u8 {
        match self {
            Access::None => XS_PERM_NONE,
            Access::Read => XS_PERM_READ,
            Access::Write => XS_PERM_WRITE,
            Access::Both => XS_PERM_READ | XS_PERM_WRITE,
        }
    }

    /// The wire letter.
    pub const fn letter(self) -> u8 {
        match self {
            Access::None => b'n',
            Access::Read => b'r',
            Access::Write => b'w',
            Access::Both => b'b',
        }
    }

    /// The access a wire letter names.
    pub const fn from_letter(c: u8) -> Option<Access> {
        match c {
            b'n' => Some(Access::None),
            b'r' => Some(Access::Read),
            b'w' => Some(Access::Write),
            b'b' => Some(Access::Both),
            _ => None,
        }
    }
}

/// One permission entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Perm {
    /// The domain it names.
    pub domid: DomId,
    /// Its access.
    pub access: Access,
}

impl Perm {
    /// Parses `"r5"`: a letter, then a decimal domain id below [`DOMID_FIRST_RESERVED`].
    pub fn parse(s: &[u8]) -> Result<Perm, XsError> {
        let (&letter, id) = s.split_first().ok_or(XsError::EINVAL)?;
        let access = Access::from_letter(letter).ok_or(XsError::EINVAL)?;
        let domid = crate::wire::parse_u32(id)
            .filter(|&d| d < DOMID_FIRST_RESERVED)
            .ok_or(XsError::EINVAL)?;
        Ok(Perm { domid: domid as DomId, access })
    }

    /// Appends `"r5\0"`.
    pub fn push_wire(&self, out: &mut Vec<u8>) {
        out.push(self.access.letter());
        crate::wire::push_decimal(out, u64::from(self.domid));
        out.push(0);
    }
}

/// A node's permission list: never empty, the first entry is the owner's.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Perms(Vec<Perm>);

impl Perms {
    /// Owned by `owner`, giving `others` to every other domain.
    pub fn new(owner: DomId, others: Access) -> Perms {
        Perms(vec![Perm { domid: owner, access: others }])
    }

    /// Owned by `owner`, nothing for the others (`"n<owner>"`).
    pub fn owned_by(owner: DomId) -> Perms {
        Perms::new(owner, Access::None)
    }

    /// Adds an entry for `domid` (builder style): `Perms::owned_by(1).with(0, Access::Read)`
    /// is `"n1" "r0"`, libxl's permissions for a frontend directory read by its backend.
    pub fn with(mut self, domid: DomId, access: Access) -> Perms {
        self.0.push(Perm { domid, access });
        self
    }

    /// From a list of entries; `None` if it is empty.
    pub fn from_entries(entries: Vec<Perm>) -> Option<Perms> {
        (!entries.is_empty()).then_some(Perms(entries))
    }

    /// Parses the permission strings of `XS_SET_PERMS` (at least one).
    pub fn parse(strings: &[&[u8]]) -> Result<Perms, XsError> {
        let entries = strings.iter().map(|s| Perm::parse(s)).collect::<Result<Vec<_>, _>>()?;
        Perms::from_entries(entries).ok_or(XsError::EINVAL)
    }

    /// The entries, owner first.
    pub fn entries(&self) -> &[Perm] {
        &self.0
    }

    /// The owner.
    pub fn owner(&self) -> DomId {
        self.0[0].domid
    }

    /// Makes `owner` the owner, keeping everything else.
    pub fn set_owner(&mut self, owner: DomId) {
        self.0[0].domid = owner;
    }

    /// The `XS_GET_PERMS` reply: every entry as a NUL-terminated string.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() * 7);
        self.0.iter().for_each(|p| p.push_wire(&mut out));
        out
    }

    /// `XS_PERM_*` bits domain `domid` has (cxenstored's `perm_for_conn()`): everything for
    /// a privileged domain or the owner, else the first entry naming it, else the default.
    pub fn access_bits(&self, domid: DomId, privileged: bool) -> u8 {
        if privileged || self.owner() == domid {
            return XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER;
        }
        self.0[1..]
            .iter()
            .find(|p| p.domid == domid)
            .unwrap_or(&self.0[0])
            .access
            .bits()
    }

    /// Forgets domain `domid` (it is gone): entries naming it go, and what it owned passes
    /// to domain 0, so that a later domain reusing the id inherits nothing (Xen does the
    /// same, XSA-322). Returns whether anything changed.
    pub fn forget(&mut self, domid: DomId) -> bool {
        let before = self.0.len();
        let owner_gone = self.owner() == domid;
        let mut first = true;
        self.0.retain(|p| core::mem::take(&mut first) || p.domid != domid);
        if owner_gone {
            self.0[0].domid = 0;
        }
        owner_gone || self.0.len() != before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let p = Perms::parse(&[b"n1", b"r0", b"b7"]).unwrap();
        assert_eq!(p.to_wire(), b"n1\0r0\0b7\0");
        assert_eq!(p.owner(), 1);
        for bad in [&b""[..], b"x1", b"r", b"r-1", b"r1x", b"r32752", b"r 1", b"R1"] {
            assert_eq!(Perm::parse(bad), Err(XsError::EINVAL), "{bad:?}");
        }
        assert_eq!(Perms::parse(&[]), Err(XsError::EINVAL));
        assert!(Perm::parse(b"r32751").is_ok());
    }

    #[test]
    fn access_rules() {
        let p = Perms::owned_by(1).with(0, Access::Read).with(2, Access::Write).with(2, Access::Both);
        assert_eq!(p.access_bits(1, false), XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER);
        assert_eq!(p.access_bits(5, true), XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER);
        assert_eq!(p.access_bits(0, false), XS_PERM_READ);
        // First match wins.
        assert_eq!(p.access_bits(2, false), XS_PERM_WRITE);
        assert_eq!(p.access_bits(3, false), XS_PERM_NONE);
        let q = Perms::new(0, Access::Read);
        assert_eq!(q.access_bits(9, false), XS_PERM_READ);
        // An entry for the owner later in the list does not take the owner's rights away.
        let r = Perms::owned_by(4).with(4, Access::None);
        assert_eq!(r.access_bits(4, false) & XS_PERM_OWNER, XS_PERM_OWNER);
    }

    #[test]
    fn forget_domain() {
        let mut p = Perms::owned_by(3).with(0, Access::Read).with(3, Access::Both).with(4, Access::Read);
        assert!(p.forget(3));
        assert_eq!(p.to_wire(), b"n0\0r0\0r4\0");
        let mut q = Perms::owned_by(0).with(4, Access::Read);
        assert!(!q.forget(5));
        assert!(q.forget(4));
        assert_eq!(q.to_wire(), b"n0\0");
    }
}
