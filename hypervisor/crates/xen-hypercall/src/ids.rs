//! Domain ids and guest frame numbers, checked when decoded.

use crate::abi::{DOMID_FIRST_RESERVED, DOMID_SELF, XEN_PAGE_SHIFT};
use crate::Errno;

/// A `domid_t` that names a domain: `DOMID_SELF` or an ordinary id (below
/// `DOMID_FIRST_RESERVED`). The other reserved ids (`DOMID_IO`, `DOMID_XEN`, ...) name no
/// domain an argument here may target, and decode to `-ESRCH`, as Xen's
/// `rcu_lock_domain_by_any_id()` fails on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DomainId {
    /// `DOMID_SELF`: the calling domain.
    Caller,
    /// An ordinary domain id (which may or may not exist: the hypervisor's business).
    Id(u16),
}

impl DomainId {
    /// Decodes a `domid_t`; `None` for reserved ids other than `DOMID_SELF`.
    pub const fn from_raw(raw: u16) -> Option<DomainId> {
        if raw == DOMID_SELF {
            Some(DomainId::Caller)
        } else if raw < DOMID_FIRST_RESERVED {
            Some(DomainId::Id(raw))
        } else {
            None
        }
    }

    /// The `domid_t` value.
    pub const fn raw(self) -> u16 {
        match self {
            DomainId::Caller => DOMID_SELF,
            DomainId::Id(id) => id,
        }
    }

    /// The domain meant, for a call made by domain `caller`.
    pub const fn resolve(self, caller: u16) -> u16 {
        match self {
            DomainId::Caller => caller,
            DomainId::Id(id) => id,
        }
    }

    /// Whether it names `caller` (by `DOMID_SELF` or by its id).
    pub const fn is(self, caller: u16) -> bool {
        self.resolve(caller) == caller
    }

    pub(crate) fn decode(raw: u16) -> Result<DomainId, Errno> {
        DomainId::from_raw(raw).ok_or(Errno::ESRCH)
    }
}

/// A guest frame number (`xen_pfn_t` on auto-translated Arm: an IPA shifted right by 12)
/// whose address `gfn << 12` fits in 64 bits, so [`Gfn::addr`] never overflows. Xen rejects
/// larger ones too (`gfn_x(gaddr_to_gfn(gfn_to_gaddr(gfn))) != gfn`); whether the address is
/// in the domain's IPA space is the hypervisor's check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gfn(u64);

impl Gfn {
    /// The largest frame number whose address fits in 64 bits.
    pub const MAX: u64 = u64::MAX >> XEN_PAGE_SHIFT;

    /// `gfn` if its address fits in 64 bits.
    pub const fn new(gfn: u64) -> Option<Gfn> {
        if gfn <= Gfn::MAX {
            Some(Gfn(gfn))
        } else {
            None
        }
    }

    /// The frame number.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The guest physical address of the frame's first byte.
    pub const fn addr(self) -> u64 {
        self.0 << XEN_PAGE_SHIFT
    }
}
