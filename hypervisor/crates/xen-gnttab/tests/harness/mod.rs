//! Shared by the integration tests and the cargo-fuzz target (fuzz/fuzz_targets/ops.rs
//! includes it with `#[path]`): models of the guests' grant tables and of stage 2, guest
//! actions as Linux performs them, and a driver that runs arbitrary bytes as operations and
//! checks the invariants after each.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::vec::Vec;

use xen_gnttab::{
    CopyPlan, CopyPtr, CopyRequest, DomId, DomainConfig, GntSt, GrantEntry, GrantRef,
    GrantTableMemory, GrantTables, MapRequest, MapTarget, Mapped, MappingInfo, UnmapRequest,
    DOMID_SELF, ENTRIES_PER_FRAME, GNTCOPY_DEST_GREF, GNTCOPY_SOURCE_GREF, GNTMAP_HOST_MAP,
    GNTMAP_READONLY, GTF_PERMIT_ACCESS, GTF_READING, GTF_READONLY, GTF_SUB_PAGE, GTF_TYPE_MASK,
    GTF_WRITING, XEN_PAGE_SIZE,
};

/// Words in a table frame.
pub const FRAME_WORDS: usize = (XEN_PAGE_SIZE / 4) as usize;

/// Every domain's table frames (the hypervisor allocates `max_frames` zeroed frames when it
/// creates the domain; the crate decides how many are in use).
#[derive(Default)]
pub struct Tables {
    frames: HashMap<DomId, Vec<Vec<AtomicU32>>>,
}

impl Tables {
    pub fn add_domain(&mut self, dom: DomId, max_frames: u32) {
        let frames = (0..max_frames)
            .map(|_| (0..FRAME_WORDS).map(|_| AtomicU32::new(0)).collect())
            .collect();
        self.frames.insert(dom, frames);
    }

    pub fn remove_domain(&mut self, dom: DomId) {
        self.frames.remove(&dom);
    }

    fn e(&self, dom: DomId, gref: GrantRef) -> GrantEntry<'_> {
        self.entry(dom, gref).expect("entry exists")
    }

    /// Linux's `gnttab_grant_foreign_access_ref()` (`gnttab_update_entry_v1()`): domid and
    /// frame first, then the flags.
    pub fn grant(&self, dom: DomId, gref: GrantRef, to: DomId, frame: u32, readonly: bool) {
        let flags = GTF_PERMIT_ACCESS | if readonly { GTF_READONLY } else { 0 };
        self.write(dom, gref, to, frame, flags);
    }

    /// Raw guest write of an entry: frame, then flags and domid in one store. `GTF_reading`
    /// and `GTF_writing` are the hypervisor's bits: kept as they are.
    pub fn write(&self, dom: DomId, gref: GrantRef, to: DomId, frame: u32, flags: u16) {
        let e = self.e(dom, gref);
        e.frame.store(frame, SeqCst);
        let keep = e.header.load(SeqCst) & u32::from(GTF_READING | GTF_WRITING);
        let flags = u32::from(flags & !(GTF_READING | GTF_WRITING));
        e.header.store(keep | flags | u32::from(to) << 16, SeqCst);
    }

    /// Linux's `gnttab_end_foreign_access_ref_v1()`: clear the flags with a compare-exchange
    /// unless the hypervisor has the grant in use. True if revoked.
    pub fn end_access(&self, dom: DomId, gref: GrantRef) -> bool {
        let e = self.e(dom, gref);
        let mut cur = e.header.load(SeqCst);
        loop {
            if cur as u16 & (GTF_READING | GTF_WRITING) != 0 {
                return false;
            }
            match e
                .header
                .compare_exchange(cur, cur & 0xffff_0000, SeqCst, SeqCst)
            {
                Ok(_) => return true,
                Err(seen) => cur = seen,
            }
        }
    }

    /// A hostile guest: any value in the whole entry, the hypervisor's bits included.
    pub fn clobber(&self, dom: DomId, gref: GrantRef, header: u32, frame: u32) {
        let e = self.e(dom, gref);
        e.frame.store(frame, SeqCst);
        e.header.store(header, SeqCst);
    }

    pub fn flags(&self, dom: DomId, gref: GrantRef) -> u16 {
        self.e(dom, gref).flags()
    }
}

impl GrantTableMemory for Tables {
    fn entry(&self, dom: DomId, gref: GrantRef) -> Option<GrantEntry<'_>> {
        GrantEntry::in_frames(self.frames.get(&dom)?, gref)
    }
}

/// Stage 2 as far as grants go: each domain's RAM (gfns `RAM_BASE..RAM_BASE + RAM_PAGES`,
/// machine frames from a per-domain base) with page contents for copies, and the grant
/// mappings installed in each domain.
#[derive(Default)]
pub struct Stage2 {
    pub ram: HashMap<DomId, Vec<[u8; 64]>>,
    pub maps: HashMap<(DomId, u64), (DomId, u64, bool)>,
    /// Makes the next install fail with this status.
    pub fail_install: Option<GntSt>,
    /// Makes the next removal fail with this status.
    pub fail_remove: Option<GntSt>,
    pub removed: Vec<(DomId, u64)>,
}

/// First RAM gfn of every domain (0x40000000 >> 12, Xen's GUEST_RAM0_BASE).
pub const RAM_BASE: u64 = 0x40000;
/// Pages of RAM per modelled domain.
pub const RAM_PAGES: u64 = 16;
/// Only the first bytes of each page are modelled.
pub const PAGE_BYTES: usize = 64;

impl Stage2 {
    pub fn add_domain(&mut self, dom: DomId) {
        self.ram
            .insert(dom, vec![[0u8; PAGE_BYTES]; RAM_PAGES as usize]);
    }

    pub fn remove_domain(&mut self, dom: DomId) {
        self.ram.remove(&dom);
        self.maps.retain(|(d, _), _| *d != dom);
    }

    /// Machine address of a RAM gfn of `dom`, or `None` if not RAM.
    pub fn maddr(&self, dom: DomId, gfn: u64) -> Option<u64> {
        self.ram.get(&dom)?;
        let i = gfn.checked_sub(RAM_BASE).filter(|&i| i < RAM_PAGES)?;
        Some((0x8_0000_0000 + u64::from(dom) * 0x100_0000) + (i << 12))
    }

    fn page(&mut self, dom: DomId, gfn: u64) -> Option<&mut [u8; PAGE_BYTES]> {
        let i = gfn.checked_sub(RAM_BASE).filter(|&i| i < RAM_PAGES)?;
        self.ram.get_mut(&dom)?.get_mut(i as usize)
    }

    /// The `install` closure of `map_grant_ref`.
    pub fn install(&mut self, mapper: DomId, t: &MapTarget) -> Result<u64, GntSt> {
        if let Some(e) = self.fail_install.take() {
            return Err(e);
        }
        let maddr = self.maddr(t.granter, t.gfn).ok_or(GntSt::BadPage)?;
        if self.maps.contains_key(&(mapper, t.host_gfn)) {
            return Err(GntSt::GeneralError);
        }
        self.maps
            .insert((mapper, t.host_gfn), (t.granter, t.gfn, t.readonly));
        Ok(maddr)
    }

    /// The `remove` closure of `unmap_grant_ref`.
    pub fn remove(&mut self, mapper: DomId, m: &MappingInfo) -> Result<(), GntSt> {
        if let Some(e) = self.fail_remove.take() {
            return Err(e);
        }
        self.maps
            .remove(&(mapper, m.host_gfn))
            .ok_or(GntSt::GeneralError)?;
        self.removed.push((mapper, m.host_gfn));
        Ok(())
    }

    /// The `copy` closure of `copy`.
    pub fn copy(&mut self, p: &CopyPlan) -> Result<(), GntSt> {
        assert!(u32::from(p.source.offset) + u32::from(p.len) <= XEN_PAGE_SIZE);
        assert!(u32::from(p.dest.offset) + u32::from(p.len) <= XEN_PAGE_SIZE);
        let src = *self
            .page(p.source.dom, p.source.gfn)
            .ok_or(GntSt::BadPage)?;
        let dst = self.page(p.dest.dom, p.dest.gfn).ok_or(GntSt::BadPage)?;
        // Model only the first PAGE_BYTES bytes.
        for i in 0..usize::from(p.len) {
            let (s, d) = (
                usize::from(p.source.offset) + i,
                usize::from(p.dest.offset) + i,
            );
            if s < PAGE_BYTES && d < PAGE_BYTES {
                dst[d] = src[s];
            }
        }
        Ok(())
    }
}

/// A whole system: the crate's state, the guests' tables, stage 2.
pub struct World {
    pub gt: GrantTables,
    pub tables: Tables,
    pub s2: Stage2,
    /// Entries a hostile guest wrote the hypervisor's bits of: their flags prove nothing.
    pub tainted: HashSet<(DomId, GrantRef)>,
    /// Successful maps, unmaps and copies (to see that the fuzz driver reaches them).
    pub done: [u64; 3],
    /// Grants operations were tried on: the only ones whose state can have changed.
    pub touched: HashSet<(DomId, GrantRef)>,
}

impl World {
    pub fn new(max_domains: usize) -> Self {
        Self {
            gt: GrantTables::new(max_domains).unwrap(),
            tables: Tables::default(),
            s2: Stage2::default(),
            tainted: HashSet::new(),
            done: [0; 3],
            touched: HashSet::new(),
        }
    }

    pub fn add(&mut self, c: DomainConfig) {
        self.gt.add_domain(c).unwrap();
        self.tables.add_domain(c.domid, c.max_frames);
        self.s2.add_domain(c.domid);
    }

    /// Destroys a domain as the hypervisor would: stage 2 first, then the grant state.
    pub fn remove(&mut self, dom: DomId) -> xen_gnttab::ReleaseReport {
        self.s2.remove_domain(dom);
        let r = self.gt.release_domain(dom, &self.tables).unwrap();
        self.tables.remove_domain(dom);
        self.tainted.retain(|(d, _)| *d != dom);
        r
    }

    /// Linux's first `XENMAPSPACE_grant_table` mappings: frames `0..n` at `base + i`.
    pub fn map_frames(&mut self, dom: DomId, n: u32, base: u64) {
        for i in (0..n).rev() {
            self.gt
                .map_frame(dom, u64::from(i), base + u64::from(i))
                .unwrap();
        }
    }

    pub fn map(
        &mut self,
        mapper: DomId,
        granter: DomId,
        gref: GrantRef,
        host_gfn: u64,
        flags: u32,
    ) -> Result<Mapped, GntSt> {
        self.touched.insert((granter, gref));
        let req = MapRequest {
            host_addr: host_gfn << 12,
            flags,
            gref,
            dom: granter,
        };
        let s2 = &mut self.s2;
        let r = self
            .gt
            .map_grant_ref(mapper, &req, &self.tables, |t| s2.install(mapper, t));
        self.done[0] += u64::from(r.is_ok());
        r
    }

    pub fn unmap(&mut self, mapper: DomId, handle: u32, host_gfn: u64) -> Result<(), GntSt> {
        let req = UnmapRequest {
            host_addr: host_gfn << 12,
            dev_bus_addr: 0,
            handle,
        };
        let s2 = &mut self.s2;
        let r = self
            .gt
            .unmap_grant_ref(mapper, &req, &self.tables, |m| s2.remove(mapper, m));
        self.done[1] += u64::from(r.is_ok());
        r
    }

    pub fn copy(&mut self, caller: DomId, req: &CopyRequest) -> Result<(), GntSt> {
        for p in [&req.source, &req.dest] {
            let dom = if p.domid == DOMID_SELF {
                caller
            } else {
                p.domid
            };
            self.touched.insert((dom, p.ref_or_gmfn as GrantRef));
        }
        let s2 = &mut self.s2;
        let r = self.gt.copy(caller, req, &self.tables, |p| s2.copy(p));
        self.done[2] += u64::from(r.is_ok());
        r
    }

    /// Every mapping of every live domain: (mapper, handle, info).
    pub fn all_mappings(&self) -> Vec<(DomId, u32, MappingInfo)> {
        let mut v = Vec::new();
        for d in self.gt.domains() {
            let max = self.gt.stats(d).unwrap().maptrack_max;
            for h in 0..max {
                if let Some(m) = self.gt.mapping(d, h) {
                    v.push((d, h, m));
                }
            }
        }
        v
    }

    /// The invariants that hold whatever the guests do.
    pub fn check(&self) {
        let maps = self.all_mappings();
        // Every mapping is installed in stage 2, and nothing else is.
        for (d, _, m) in &maps {
            assert_eq!(
                self.s2.maps.get(&(*d, m.host_gfn)),
                Some(&(m.granter, m.gfn, m.readonly)),
                "d{d} mapping not in stage 2"
            );
        }
        assert_eq!(
            self.s2.maps.len(),
            maps.len(),
            "stage-2 grant mappings without a handle"
        );
        for d in self.gt.domains() {
            let st = self.gt.stats(d).unwrap();
            let mine: Vec<_> = maps.iter().filter(|(m, _, _)| *m == d).collect();
            assert_eq!(st.maptrack_used as usize, mine.len(), "d{d} maptrack_used");
            assert_eq!(
                st.orphaned as usize,
                mine.iter().filter(|(_, _, m)| !m.granter_alive).count()
            );
            let mut of_gref: HashMap<GrantRef, Vec<&(DomId, u32, MappingInfo)>> = HashMap::new();
            for m in maps
                .iter()
                .filter(|(_, _, m)| m.granter == d && m.granter_alive)
            {
                of_gref.entry(m.2.gref).or_default().push(m);
            }
            // Only grants some operation named can have changed; active_grants (a counter)
            // catches a pin anywhere else.
            let mut grefs: Vec<GrantRef> = self
                .touched
                .iter()
                .filter(|(t, _)| *t == d)
                .map(|(_, g)| *g)
                .collect();
            grefs.extend(of_gref.keys());
            grefs.sort_unstable();
            grefs.dedup();
            let mut active = 0;
            for gref in grefs
                .into_iter()
                .filter(|&g| g < st.nr_frames * ENTRIES_PER_FRAME)
            {
                let (r, w) = self.gt.pins(d, gref).expect("in range");
                // Pins are exactly the mappings (copies do not outlive their operation).
                let of = of_gref.remove(&gref).unwrap_or_default();
                let ro = of.iter().filter(|(_, _, m)| m.readonly).count() as u32;
                assert_eq!((r, w), (ro, of.len() as u32 - ro), "d{d} gref {gref} pins");
                // One mapper per pinned grant, and one frame.
                if let Some((m0, _, i0)) = of.first() {
                    assert!(
                        of.iter().all(|(m, _, i)| m == m0 && i.gfn == i0.gfn),
                        "d{d} gref {gref} shared"
                    );
                }
                // GTF_reading/GTF_writing are set exactly while pinned (unless the guest
                // wrote them itself).
                if self.tainted.contains(&(d, gref)) {
                    active += u32::from(r + w > 0);
                    continue;
                }
                let f = self.tables.flags(d, gref);
                assert_eq!(
                    f & GTF_READING != 0,
                    r + w > 0,
                    "d{d} gref {gref} GTF_reading {f:#x}"
                );
                assert_eq!(
                    f & GTF_WRITING != 0,
                    w > 0,
                    "d{d} gref {gref} GTF_writing {f:#x}"
                );
                if r + w > 0 {
                    active += 1;
                }
            }
            assert_eq!(st.active_grants, active, "d{d} active_grants");
            assert!(
                of_gref.is_empty(),
                "d{d}: mappings of grants beyond the table"
            );
            assert!(self.gt.pins(d, st.nr_frames * ENTRIES_PER_FRAME).is_none());
        }
    }
}

/// The fuzz world: three domains with small limits.
pub fn world_configs() -> [DomainConfig; 3] {
    [
        DomainConfig {
            domid: 0,
            privileged: true,
            max_frames: 2,
            max_maptrack: 6,
        },
        DomainConfig {
            domid: 1,
            privileged: false,
            max_frames: 1,
            max_maptrack: 4,
        },
        DomainConfig {
            domid: 5,
            privileged: false,
            max_frames: 2,
            max_maptrack: 3,
        },
    ]
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from(self.byte()?) << 8 | u16::from(self.byte()?))
    }

    /// Small most of the time, sometimes any 32-bit value.
    fn num(&mut self) -> Option<u32> {
        let b = self.byte()?;
        if b < 0xa0 {
            return Some(u32::from(b) % 6);
        }
        if b < 0xf0 {
            return Some(u32::from(b) % 1100);
        }
        let mut v = 0u32;
        for _ in 0..4 {
            v = v << 8 | u32::from(self.byte()?);
        }
        Some(v)
    }

    fn dom(&mut self) -> Option<DomId> {
        Some(match self.byte()? % 8 {
            0 | 1 => 0,
            2 | 3 => 1,
            4 | 5 => 5,
            6 => DOMID_SELF,
            _ => 9,
        })
    }

    /// A grant reference: mostly one of the first four, so that grants and maps meet.
    fn gref(&mut self) -> Option<u32> {
        let b = self.byte()?;
        if b < 0xc0 {
            Some(u32::from(b) % 4)
        } else {
            self.num()
        }
    }

    /// A gfn: mostly RAM of the modelled domains, sometimes not.
    fn gfn(&mut self) -> Option<u64> {
        let b = self.byte()?;
        Some(if b < 0xe0 {
            RAM_BASE + u64::from(b) % (RAM_PAGES + 2)
        } else {
            u64::from(self.num()?)
        })
    }
}

/// Runs `data` as operations on a fresh world, checking invariants after each step.
/// Returns the successful maps, unmaps and copies.
pub fn run(data: &[u8]) -> [u64; 3] {
    let mut w = World::new(4);
    for c in world_configs() {
        w.add(c);
        w.map_frames(c.domid, 1, 0x38000);
    }
    let mut input = Input(data);
    while let Some(op) = input.byte() {
        if step(&mut w, op, &mut input).is_none() {
            break;
        }
        w.check();
    }
    w.done
}

fn step(w: &mut World, op: u8, input: &mut Input<'_>) -> Option<()> {
    let caller = match input.dom()? {
        DOMID_SELF | 9 => 0,
        d => d,
    };
    let live = w.gt.has_domain(caller);
    match op % 16 {
        0 | 1 if live => {
            // The guest grants (or writes anything into) one of its entries.
            let (gref, to, frame, kind) = (
                input.gref()? % 1100,
                input.dom()?,
                input.gfn()?,
                input.byte()?,
            );
            if w.tables.entry(caller, gref).is_some() {
                match kind % 4 {
                    0 => w.tables.grant(caller, gref, to, frame as u32, false),
                    1 => w.tables.grant(caller, gref, to, frame as u32, true),
                    2 => w.tables.write(caller, gref, to, frame as u32, input.u16()?),
                    3 if kind & 0x80 != 0 => {
                        let header = u32::from(input.u16()?) | u32::from(to) << 16;
                        w.tables.clobber(caller, gref, header, frame as u32);
                        w.tainted.insert((caller, gref));
                    }
                    _ => {
                        let _ = w.tables.end_access(caller, gref);
                    }
                }
            }
        }
        2..=4 => {
            let (granter, gref, host, flags) =
                (input.dom()?, input.gref()?, input.gfn()?, input.byte()?);
            let flags = match flags {
                0..=0x5f => GNTMAP_HOST_MAP,
                0x60..=0xbf => GNTMAP_HOST_MAP | GNTMAP_READONLY,
                f => u32::from(f % 32) | if f & 1 != 0 { 1 << 16 } else { 0 },
            };
            let before = w.gt.pins(granter, gref);
            let r = w.map(caller, granter, gref, host, flags);
            if let Ok(m) = r {
                let info = w.gt.mapping(caller, m.handle).expect("new handle in use");
                assert_eq!(
                    (info.granter, info.gref, info.host_gfn),
                    (granter, gref, host)
                );
                assert_eq!(Some(m.dev_bus_addr), w.s2.maddr(granter, info.gfn));
                if before == Some((0, 0)) {
                    // A first pin validated the entry as it is now.
                    let f = w.tables.flags(granter, gref);
                    let e = w.tables.entry(granter, gref).unwrap();
                    assert_eq!(f & (GTF_TYPE_MASK | GTF_SUB_PAGE), GTF_PERMIT_ACCESS);
                    assert_eq!(e.domid(), caller);
                    assert!(info.readonly || f & GTF_READONLY == 0);
                }
            }
        }
        5 | 6 => {
            let handle = input.gref()?;
            let host = match w.gt.mapping(caller, handle) {
                Some(m) if input.byte()? < 0xe0 => m.host_gfn,
                _ => input.gfn()?,
            };
            let _ = w.unmap(caller, handle, host);
        }
        7 | 8 => {
            let flags = match input.byte()? % 5 {
                0 => GNTCOPY_SOURCE_GREF,
                1 => GNTCOPY_DEST_GREF,
                2 => GNTCOPY_SOURCE_GREF | GNTCOPY_DEST_GREF,
                3 => 0,
                _ => input.u16()?,
            };
            // Each side a grant (small reference) or a frame (mostly RAM), in a domain.
            let side = |input: &mut Input<'_>| -> Option<CopyPtr> {
                let (v, domid) = if input.byte()? < 0x80 {
                    (u64::from(input.gref()?), input.dom()?)
                } else {
                    let gfn = input.gfn()?;
                    (
                        gfn,
                        if input.byte()? < 0xe0 {
                            DOMID_SELF
                        } else {
                            input.dom()?
                        },
                    )
                };
                let offset = if input.byte()? < 0xc0 {
                    0
                } else {
                    input.u16()? % 4200
                };
                Some(CopyPtr {
                    ref_or_gmfn: v,
                    domid,
                    offset,
                })
            };
            let (source, dest) = (side(input)?, side(input)?);
            let len = if input.byte()? < 0xc0 {
                16
            } else {
                input.u16()? % 4200
            };
            let _ = w.copy(
                caller,
                &CopyRequest {
                    source,
                    dest,
                    len,
                    flags,
                },
            );
        }
        9 => {
            let _ =
                w.gt.map_frame(caller, u64::from(input.num()?), input.gfn()?);
        }
        10 => {
            let _ = w.gt.setup_table(caller, input.dom()?, input.num()?);
            let _ = w.gt.query_size(caller, input.dom()?);
            let _ = w.gt.get_version(caller, input.dom()?);
        }
        11 => {
            let _ = w.gt.unmap_frame_gfn(caller, input.gfn()?);
        }
        12 => {
            // Bring back a destroyed domain, or (now and then) destroy one.
            let pick = input.byte()?;
            let dead = world_configs()
                .into_iter()
                .find(|c| !w.gt.has_domain(c.domid));
            let c = dead.unwrap_or(world_configs()[usize::from(pick) % 3]);
            if dead.is_none() && pick < 0xc0 {
                return Some(());
            }
            if w.gt.has_domain(c.domid) {
                let held: u32 = w
                    .all_mappings()
                    .iter()
                    .filter(|(_, _, m)| m.granter == c.domid && m.granter_alive)
                    .count() as u32;
                let own = w.gt.stats(c.domid).unwrap().maptrack_used;
                let own_of_self = w
                    .all_mappings()
                    .iter()
                    .filter(|(d, _, m)| *d == c.domid && m.granter == c.domid)
                    .count() as u32;
                let r = w.remove(c.domid);
                assert_eq!(r.mappings_released, own);
                assert_eq!(r.foreign_mappings, held - own_of_self);
            } else {
                w.add(c);
                w.map_frames(c.domid, 1, 0x38000);
            }
        }
        13 => {
            // Hypervisor stage-2 failures, once.
            w.s2.fail_install = [None, Some(GntSt::GeneralError), Some(GntSt::BadPage)]
                [usize::from(input.byte()? % 3)];
            w.s2.fail_remove =
                [None, None, Some(GntSt::GeneralError)][usize::from(input.byte()? % 3)];
        }
        _ => {
            let _ = w.gt.stats(caller);
        }
    }
    Some(())
}
