//! A GICv3 virtual distributor and redistributors for one domain, after the Arm *GIC
//! Architecture Specification, GIC architecture version 3 and version 4* (IHI 0069, cited
//! below as "IHI 0069" with the register names it uses).
//!
//! The hypervisor owns one [`Vgic`] per domain (behind its lock) and uses it three ways:
//!
//! 1. **Trapped MMIO.** The GICD frame (64 KiB) and the GICR region (two 64 KiB frames per
//!    vCPU, RD_base then SGI_base, stride [`GICR_STRIDE`]) are left unmapped at stage 2.
//!    Data aborts there go to [`Vgic::dist_read`] / [`Vgic::dist_write`] /
//!    [`Vgic::redist_read`] / [`Vgic::redist_write`] with the offset in the frame or
//!    region. An [`AccessError`] (bad width, misalignment) is answered with an external
//!    abort injected into the guest. Offsets that are no register read as zero and ignore
//!    writes, with [`Note::Reserved`] so that the hypervisor can log them (once).
//! 2. **Injection.** Emulated devices drive lines ([`Vgic::set_level`] for level-sensitive
//!    SPIs such as the SP6 FPGA's, [`Vgic::raise_edge`], [`Vgic::set_ppi_level`],
//!    [`Vgic::raise_ppi`]); trapped `ICC_SGI1R_EL1` writes become [`Vgic::send_sgi`].
//!    Each returns the vCPUs to kick (IPI the physical CPU running them, or wake them
//!    from WFI).
//! 3. **List registers** (`ICH_LR<n>_EL2`, see [`lr`]): on every exit from a vCPU,
//!    *before* emulating anything, [`Vgic::sync_lrs`] folds the list registers back into the
//!    model; right before entering it, [`Vgic::fill_lrs`] writes the interrupts it should
//!    see. A `true` from `fill_lrs` means that more interrupts wait than fit: set
//!    `ICH_HCR_EL2.UIE` (underflow maintenance interrupt). Level-sensitive virtual
//!    interrupts carry the LR's EOI bit, so their deactivation raises the maintenance
//!    interrupt (`ICH_MISR_EL2.EOI`): handle it as an exit (sync, then fill) so that a line
//!    still high is presented again. [`Vgic::has_pending`] decides WFI wake-ups.
//!
//! # What is emulated
//!
//! - GICv3 without LPIs or ITS (`GICD_TYPER.LPIS` = 0, `GICR_TYPER.PLPIS` = 0), no
//!   extended SPI/PPI ranges, no 1-of-N routing, no NMIs.
//! - A single security state as the Non-secure view sees it: `GICD_CTLR.DS` = 1 (RAO/WI)
//!   and affinity routing always on (`GICD_CTLR.ARE` RAO/WI). Group 1 is what Linux uses;
//!   Group 0 is kept (`GICD_IGROUPR` bits, `GICD_CTLR.EnableGrp0`) and presented with LR
//!   Group = 0. `GICD_IGRPMODR`/`GICR_IGRPMODR0` and `GICD_NSACR` are RAZ/WI, as with DS = 1.
//! - 1 to [`MAX_VCPUS`] vCPUs, whose affinities (their `VMPIDR_EL2`) are given at
//!   construction, and 0 to [`MAX_SPIS`] SPIs (INTID 32 up).
//! - Every register change takes effect at once: `GICD_CTLR.RWP` and `GICR_CTLR.RWP` read 0;
//!   `GICR_WAKER.ChildrenAsleep` follows `ProcessorSleep` immediately (the redistributor
//!   keeps forwarding while asleep: there is no power controller to wake).
//! - Interrupts may be linked to a physical interrupt (`ICH_LR<n>_EL2.HW`, see
//!   [`Vgic::link_hw`]): the guest's deactivation then deactivates the physical interrupt.
//!
//! # Access widths (IHI 0069, 12.1.3)
//!
//! 32-bit accesses everywhere; 64-bit registers (`GICD_IROUTER<n>`, `GICR_TYPER`) also
//! take 64-bit accesses and 32-bit accesses to either half; `GICD_IPRIORITYR<n>`,
//! `GICR_IPRIORITYR<n>`, `GICD_ITARGETSR<n>`, `GICD_CPENDSGIR<n>` and `GICD_SPENDSGIR<n>`
//! also take byte accesses. Anything else, and any access not aligned to its size, is an
//! [`AccessError`]. Reserved offsets take any aligned access (RAZ/WI, [`Note::Reserved`]).
//!
//! # Locking and cost
//!
//! One [`Vgic`] serves all vCPUs of a domain; the hypervisor serialises calls (one lock
//! per domain). `fill_lrs` and `has_pending` walk the vCPU's 32 private interrupts and
//! every SPI (a flag test each, at most 1020), which is cheap next to a trap.
//!
//! # Example
//!
//! ```
//! use vgic::{AccessWidth, Config, Vgic};
//! use vgic::distributor::{GICD_CTLR, GICD_IROUTER};
//! use vgic::irq::ISENABLER;
//! use vgic::lr::{ListRegister, LrState};
//!
//! let mut gic = Vgic::new(&Config {
//!     vcpu_mpidrs: &[0x8000_0000, 0x8000_0001],
//!     nr_spis: 64,
//!     priority_bits: 5,
//! })
//! .unwrap();
//! // The guest enables the distributor and SPI 40, routed to vCPU 1 (trapped MMIO).
//! let w = AccessWidth::Word;
//! gic.dist_write(GICD_CTLR, w, 0x13).unwrap();
//! gic.dist_write(ISENABLER + 4, w, 1 << 8).unwrap();
//! gic.dist_write(GICD_IROUTER + 8 * 40, AccessWidth::Doubleword, 1).unwrap();
//! // A device raises its line: kick vCPU 1.
//! assert_eq!(gic.set_level(40, true), Ok(Some(1)));
//! // Entering vCPU 1 with 4 list registers.
//! let mut lrs = [0u64; 4];
//! let more = gic.fill_lrs(1, &mut lrs);
//! assert!(!more);
//! let lr = ListRegister::decode(lrs[0]);
//! assert_eq!((lr.vintid, lr.state), (40, LrState::Pending));
//! // ... the guest runs, acknowledges and deactivates it; on exit:
//! gic.sync_lrs(1, &lrs);
//! ```
//!
//! The crate is `no_std` + `alloc` (the interrupt state is sized at construction), has no
//! `unsafe`, and no function panics on any argument: offsets, widths and values come from
//! the guest, and INTIDs and vCPU numbers from the hypervisor are checked too.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod access;
pub mod distributor;
pub mod irq;
pub mod lr;
pub mod redistributor;
pub mod sgi;

use alloc::vec::Vec;
use core::fmt;

use irq::Irq;
use redistributor::Redistributor;

pub use irq::Trigger;
pub use sgi::{SgiRequest, SgiTargets};

/// Most vCPUs one [`Vgic`] serves.
pub const MAX_VCPUS: usize = 8;
/// Most SPIs: INTIDs 32 to 1019 (1020-1023 are special INTIDs).
pub const MAX_SPIS: u32 = 988;
/// Most list registers `ICH_VTR_EL2.ListRegs` can describe (16).
pub const MAX_LRS: usize = 16;

/// Size of the distributor frame (GICD).
pub const GICD_SIZE: u64 = 0x1_0000;
/// Size of one redistributor frame (RD_base or SGI_base).
pub const GICR_FRAME_SIZE: u64 = 0x1_0000;
/// Distance between two vCPUs' redistributors: RD_base and SGI_base frames.
pub const GICR_STRIDE: u64 = 2 * GICR_FRAME_SIZE;

/// Affinity fields of an MPIDR_EL1 value: Aff3 (39:32), Aff2 (23:16), Aff1 (15:8) and
/// Aff0 (7:0). `GICD_IROUTER<n>` keeps its affinity fields at the same positions.
pub const MPIDR_AFFINITY_MASK: u64 = 0xff_00ff_ffff;

pub use arm_trap::AccessWidth;

/// A guest access the GIC does not support; the hypervisor injects an external abort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessError {
    /// The access is not aligned to its size.
    Misaligned {
        /// Offset of the access in the GICD frame or the GICR region.
        offset: u64,
        /// Its width.
        width: AccessWidth,
    },
    /// The register at this offset does not support accesses of this width.
    Width {
        /// Offset of the access in the GICD frame or the GICR region.
        offset: u64,
        /// Its width.
        width: AccessWidth,
    },
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AccessError::Misaligned { offset, width } => {
                write!(
                    f,
                    "misaligned {}-bit access at offset {offset:#x}",
                    width.bytes() * 8
                )
            }
            AccessError::Width { offset, width } => write!(
                f,
                "{}-bit access at offset {offset:#x}: not a width this register supports",
                width.bytes() * 8
            ),
        }
    }
}

/// Something about a successful access worth a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// No register at this offset (or one this GIC does not implement): read as zero,
    /// write ignored.
    Reserved,
    /// A write to a read-only register, ignored.
    ReadOnly,
}

/// A set of vCPUs (bit N = vCPU N).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct VcpuSet(u8);

impl VcpuSet {
    /// No vCPU.
    pub const EMPTY: VcpuSet = VcpuSet(0);

    /// The set with bit N set for vCPU N (only the low [`MAX_VCPUS`] bits exist).
    pub const fn from_bits(bits: u8) -> VcpuSet {
        VcpuSet(bits)
    }

    /// The set as a bit mask.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether `vcpu` is in the set.
    pub const fn contains(self, vcpu: usize) -> bool {
        vcpu < MAX_VCPUS && self.0 & (1 << vcpu) != 0
    }

    /// Adds `vcpu` (ignored if it is not below [`MAX_VCPUS`]).
    pub fn insert(&mut self, vcpu: usize) {
        if vcpu < MAX_VCPUS {
            self.0 |= 1 << vcpu;
        }
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The vCPUs in the set, in increasing order.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        (0..MAX_VCPUS).filter(move |&v| self.contains(v))
    }

    /// The union of two sets.
    pub const fn union(self, other: VcpuSet) -> VcpuSet {
        VcpuSet(self.0 | other.0)
    }
}

/// Physical INTIDs whose interrupt the hypervisor must deactivate (`ICC_DIR_EL1`, the
/// hypervisor running with `ICC_CTLR_EL1.EOImode` = 1) because the guest cleared the
/// pending or active state of the virtual interrupt linked to them by a register write.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct HwDeactivations {
    len: u8,
    pintids: [u16; 32],
}

impl HwDeactivations {
    fn push(&mut self, pintid: u16) {
        if let Some(slot) = self.pintids.get_mut(self.len as usize) {
            *slot = pintid;
            self.len += 1;
        }
    }

    /// The physical INTIDs.
    pub fn as_slice(&self) -> &[u16] {
        &self.pintids[..self.len as usize]
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for HwDeactivations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// The result of an emulated read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOutcome {
    /// The value, zero-extended to 64 bits (the hypervisor writes it to the target register
    /// of the load, sign-extending it itself if the syndrome says so).
    pub value: u64,
    /// Anything worth a log line.
    pub note: Option<Note>,
}

/// The result of an emulated write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteOutcome {
    /// Anything worth a log line.
    pub note: Option<Note>,
    /// vCPUs whose interrupts changed: the hypervisor kicks them (except the one that made
    /// the access, which refills its list registers before it re-enters anyway) so that
    /// they sync and refill their list registers.
    pub kick: VcpuSet,
    /// Physical interrupts to deactivate.
    pub deactivate: HwDeactivations,
}

/// A [`Config`] the vGIC cannot serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigError {
    /// No vCPU, or more than [`MAX_VCPUS`].
    VcpuCount(usize),
    /// Two vCPUs have the same affinity.
    DuplicateAffinity(u64),
    /// More than [`MAX_SPIS`] SPIs.
    SpiCount(u32),
    /// Priority bits outside 4..=8.
    PriorityBits(u8),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ConfigError::VcpuCount(n) => write!(f, "{n} vCPUs: the vGIC serves 1 to {MAX_VCPUS}"),
            ConfigError::DuplicateAffinity(a) => write!(f, "two vCPUs have affinity {a:#x}"),
            ConfigError::SpiCount(n) => write!(f, "{n} SPIs: the vGIC serves at most {MAX_SPIS}"),
            ConfigError::PriorityBits(n) => write!(f, "{n} priority bits: 4 to 8 are possible"),
        }
    }
}

/// An injection or configuration call from the hypervisor that names no interrupt or vCPU
/// of this vGIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectError {
    /// No such interrupt here (not an SPI of this vGIC, or not a PPI where one is needed).
    Intid(u32),
    /// No such vCPU.
    Vcpu(usize),
    /// A physical INTID that cannot be linked (only 16..=1019: PPIs and SPIs).
    Pintid(u32),
}

impl fmt::Display for InjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            InjectError::Intid(i) => write!(f, "INTID {i} is not an interrupt of this vGIC here"),
            InjectError::Vcpu(v) => write!(f, "no vCPU {v}"),
            InjectError::Pintid(p) => write!(f, "physical INTID {p} cannot be linked"),
        }
    }
}

/// How to build a [`Vgic`].
#[derive(Debug, Clone, Copy)]
pub struct Config<'a> {
    /// The MPIDR_EL1 value each vCPU reads (its `VMPIDR_EL2`), by vCPU number. Only the
    /// affinity fields ([`MPIDR_AFFINITY_MASK`]) are used; they must differ.
    pub vcpu_mpidrs: &'a [u64],
    /// Number of SPIs (INTIDs 32 to 31 + `nr_spis`), at most [`MAX_SPIS`]. `GICD_TYPER`
    /// reports them rounded up to a multiple of 32; the INTIDs above are RAZ/WI.
    pub nr_spis: u32,
    /// Implemented priority bits, 4 to 8: `ICH_VTR_EL2.PRIbits` + 1 (5 on Cortex-A72). The
    /// low bits of priority fields beyond them read as zero (IHI 0069, 4.8).
    pub priority_bits: u8,
}

/// Where an interrupt's state lives: the distributor (SPIs) or a vCPU's redistributor
/// (SGIs and PPIs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bank {
    Spis,
    Private(usize),
}

/// The state one interrupt presents, for the monitor and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IrqInfo {
    /// Enabled (`GICD_ISENABLER<n>`).
    pub enabled: bool,
    /// Pending (`GICD_ISPENDR<n>`: the latch, or the line of a level-sensitive interrupt).
    pub pending: bool,
    /// Active (`GICD_ISACTIVER<n>`).
    pub active: bool,
    /// Priority (`GICD_IPRIORITYR<n>`).
    pub priority: u8,
    /// Group 1 (`GICD_IGROUPR<n>`).
    pub group1: bool,
    /// Edge-triggered or level-sensitive (`GICD_ICFGR<n>`).
    pub trigger: Trigger,
    /// The level of its input line (meaningful for level-sensitive interrupts).
    pub line: bool,
    /// The physical INTID it is linked to.
    pub hw: Option<u16>,
    /// The vCPU it goes to: for an SPI, the one holding it in a list register or active,
    /// else the one `GICD_IROUTER<n>` names (`None` if it names no vCPU).
    pub vcpu: Option<usize>,
}

/// The virtual GIC of one domain.
#[derive(Debug, Clone)]
pub struct Vgic {
    /// `GICD_CTLR.EnableGrp0`.
    enable_grp0: bool,
    /// `GICD_CTLR.EnableGrp1`.
    enable_grp1: bool,
    nr_spis: u32,
    priority_mask: u8,
    /// `GICD_TYPER.RSS`: some vCPU has Aff0 above 15.
    rss: bool,
    /// SPIs, INTID 32 + index.
    spis: Vec<Irq>,
    /// `GICD_IROUTER<n>` of each SPI, masked to the affinity fields.
    irouter: Vec<u64>,
    redists: Vec<Redistributor>,
}

impl Vgic {
    /// A vGIC after reset: distributor disabled, every interrupt disabled, inactive, not
    /// pending, priority 0, Group 1 (as KVM resets GICv3 guests; Linux programs all of it
    /// anyway), SGIs edge-triggered, PPIs and SPIs level-sensitive, SPIs routed to vCPU 0,
    /// redistributors asleep (`GICR_WAKER.ProcessorSleep` = 1).
    pub fn new(config: &Config<'_>) -> Result<Vgic, ConfigError> {
        let n = config.vcpu_mpidrs.len();
        if n == 0 || n > MAX_VCPUS {
            return Err(ConfigError::VcpuCount(n));
        }
        if config.nr_spis > MAX_SPIS {
            return Err(ConfigError::SpiCount(config.nr_spis));
        }
        if !(4..=8).contains(&config.priority_bits) {
            return Err(ConfigError::PriorityBits(config.priority_bits));
        }
        let affinities: Vec<u64> = config
            .vcpu_mpidrs
            .iter()
            .map(|m| m & MPIDR_AFFINITY_MASK)
            .collect();
        for (i, a) in affinities.iter().enumerate() {
            if affinities[..i].contains(a) {
                return Err(ConfigError::DuplicateAffinity(*a));
            }
        }
        let first = affinities.first().copied().unwrap_or_default();
        let vgic = Vgic {
            enable_grp0: false,
            enable_grp1: false,
            nr_spis: config.nr_spis,
            priority_mask: 0xffu8 << (8 - config.priority_bits),
            rss: affinities.iter().any(|a| a & 0xff > 15),
            spis: alloc::vec![Irq { route: Some(0), ..Irq::new(Trigger::Level) }; config.nr_spis as usize],
            irouter: alloc::vec![first; config.nr_spis as usize],
            redists: affinities.into_iter().map(Redistributor::new).collect(),
        };
        Ok(vgic)
    }

    /// Number of vCPUs.
    pub fn nr_vcpus(&self) -> usize {
        self.redists.len()
    }

    /// Number of SPIs.
    pub fn nr_spis(&self) -> u32 {
        self.nr_spis
    }

    /// Size of the GICR region: [`GICR_STRIDE`] per vCPU.
    pub fn redist_region_size(&self) -> u64 {
        self.redists.len() as u64 * GICR_STRIDE
    }

    /// The affinity (MPIDR_EL1 affinity fields) of `vcpu`.
    pub fn vcpu_affinity(&self, vcpu: usize) -> Option<u64> {
        self.redists.get(vcpu).map(|r| r.affinity)
    }

    /// The vCPU whose affinity is `affinity` (compared on [`MPIDR_AFFINITY_MASK`]).
    pub fn vcpu_by_affinity(&self, affinity: u64) -> Option<usize> {
        let affinity = affinity & MPIDR_AFFINITY_MASK;
        self.redists.iter().position(|r| r.affinity == affinity)
    }

    /// Whether INTID `intid` is an SPI of this vGIC.
    pub fn is_spi(&self, intid: u32) -> bool {
        intid >= irq::SPI_BASE && intid - irq::SPI_BASE < self.nr_spis
    }

    /// The state of `intid` (for an SGI or PPI, `vcpu`'s copy; `vcpu` is ignored for SPIs).
    pub fn irq_info(&self, vcpu: usize, intid: u32) -> Option<IrqInfo> {
        let bank = self.bank_of(vcpu, intid)?;
        let irq = self.irq(bank, intid)?;
        Some(IrqInfo {
            enabled: irq.enabled,
            pending: irq.pending(),
            active: irq.active,
            priority: irq.priority,
            group1: irq.group1,
            trigger: irq.trigger,
            line: irq.line,
            hw: irq.hw,
            vcpu: self.delivery_vcpu(bank, intid),
        })
    }

    // ---- Injection ------------------------------------------------------------------

    /// Drives the input line of SPI `intid` (a level-sensitive device interrupt such as
    /// the SP6 FPGA's). A level-sensitive interrupt is pending while its line is high (or
    /// its latch is set); on an edge-triggered one, a rising edge sets the latch. Returns
    /// the vCPU to kick when the pending state changed.
    pub fn set_level(&mut self, intid: u32, level: bool) -> Result<Option<usize>, InjectError> {
        if !self.is_spi(intid) {
            return Err(InjectError::Intid(intid));
        }
        Ok(self.drive_line(Bank::Spis, intid, level))
    }

    /// An edge on SPI `intid` (or a software pend of a level-sensitive one): sets its
    /// pending latch. Also the way to forward a physical interrupt linked with
    /// [`Vgic::link_hw`]. Returns the vCPU to kick.
    pub fn raise_edge(&mut self, intid: u32) -> Result<Option<usize>, InjectError> {
        if !self.is_spi(intid) {
            return Err(InjectError::Intid(intid));
        }
        Ok(self.set_latch(Bank::Spis, intid))
    }

    /// As [`Vgic::set_level`], for PPI `intid` (16..=31) of `vcpu`.
    pub fn set_ppi_level(
        &mut self,
        vcpu: usize,
        intid: u32,
        level: bool,
    ) -> Result<Option<usize>, InjectError> {
        let bank = self.ppi_bank(vcpu, intid)?;
        Ok(self.drive_line(bank, intid, level))
    }

    /// As [`Vgic::raise_edge`], for PPI `intid` (16..=31) of `vcpu`.
    pub fn raise_ppi(&mut self, vcpu: usize, intid: u32) -> Result<Option<usize>, InjectError> {
        let bank = self.ppi_bank(vcpu, intid)?;
        Ok(self.set_latch(bank, intid))
    }

    /// Links SPI `intid` to physical interrupt `pintid` (or unlinks it with `None`). A
    /// linked interrupt is injected with [`Vgic::raise_edge`] each time the hypervisor takes
    /// the physical one (leaving it active: `ICC_CTLR_EL1.EOImode` = 1); it goes into the
    /// list registers with `HW` = 1, so the guest's deactivation deactivates the physical
    /// interrupt.
    pub fn link_hw(&mut self, intid: u32, pintid: Option<u32>) -> Result<(), InjectError> {
        if !self.is_spi(intid) {
            return Err(InjectError::Intid(intid));
        }
        self.link(Bank::Spis, intid, pintid)
    }

    /// As [`Vgic::link_hw`], for PPI `intid` (16..=31) of `vcpu`.
    pub fn link_ppi_hw(
        &mut self,
        vcpu: usize,
        intid: u32,
        pintid: Option<u32>,
    ) -> Result<(), InjectError> {
        let bank = self.ppi_bank(vcpu, intid)?;
        self.link(bank, intid, pintid)
    }

    /// The vCPU that SPI `intid` goes to, to kick when it becomes pending: the vCPU that
    /// holds it in a list register or has it active, else the one its `GICD_IROUTER<n>`
    /// names. `None` for no SPI, or an SPI routed to no vCPU.
    pub fn route(&self, intid: u32) -> Option<usize> {
        if !self.is_spi(intid) {
            return None;
        }
        self.delivery_vcpu(Bank::Spis, intid)
    }

    /// Whether `vcpu` has an interrupt to take: enabled, pending, not active, its group
    /// enabled in `GICD_CTLR`. The guest's priority mask is not considered (see
    /// [`Vgic::highest_pending_priority`]). For WFI: call after [`Vgic::sync_lrs`].
    pub fn has_pending(&self, vcpu: usize) -> bool {
        self.highest_pending_priority(vcpu).is_some()
    }

    /// The priority of the highest-priority interrupt [`Vgic::has_pending`] counts, to
    /// compare with the guest's priority mask (`ICH_VMCR_EL2.VPMR`: the interrupt is
    /// signalled when its priority is lower in value).
    pub fn highest_pending_priority(&self, vcpu: usize) -> Option<u8> {
        let mut best: Option<u8> = None;
        self.for_each_candidate(vcpu, |_, irq, deliverable| {
            if deliverable && !irq.active {
                best = Some(best.map_or(irq.priority, |b| b.min(irq.priority)));
            }
        });
        best
    }

    // ---- Internals shared by the modules ---------------------------------------------

    fn ppi_bank(&self, vcpu: usize, intid: u32) -> Result<Bank, InjectError> {
        if vcpu >= self.redists.len() {
            return Err(InjectError::Vcpu(vcpu));
        }
        if !(irq::PPI_BASE..irq::SPI_BASE).contains(&intid) {
            return Err(InjectError::Intid(intid));
        }
        Ok(Bank::Private(vcpu))
    }

    fn bank_of(&self, vcpu: usize, intid: u32) -> Option<Bank> {
        if intid < irq::SPI_BASE {
            (vcpu < self.redists.len()).then_some(Bank::Private(vcpu))
        } else {
            self.is_spi(intid).then_some(Bank::Spis)
        }
    }

    fn link(&mut self, bank: Bank, intid: u32, pintid: Option<u32>) -> Result<(), InjectError> {
        let hw = match pintid {
            None => None,
            Some(p @ 16..=1019) => Some(p as u16),
            Some(p) => return Err(InjectError::Pintid(p)),
        };
        if let Some(irq) = self.irq_mut(bank, intid) {
            irq.hw = hw;
        }
        Ok(())
    }

    fn drive_line(&mut self, bank: Bank, intid: u32, level: bool) -> Option<usize> {
        let irq = self.irq_mut(bank, intid)?;
        let before = irq.pending();
        let edge = level && !irq.line && irq.trigger == Trigger::Edge;
        irq.line = level;
        if edge {
            irq.latch = true;
            irq.pend_dirty |= irq.in_lr;
        }
        // While in a list register the model keeps the state it presented there; a new
        // edge must reach the guest even if the latch was already set.
        if irq.pending() != before || (edge && irq.in_lr) {
            self.delivery_vcpu(bank, intid)
        } else {
            None
        }
    }

    fn set_latch(&mut self, bank: Bank, intid: u32) -> Option<usize> {
        let irq = self.irq_mut(bank, intid)?;
        irq.latch = true;
        irq.pend_dirty |= irq.in_lr;
        self.delivery_vcpu(bank, intid)
    }

    pub(crate) fn irq(&self, bank: Bank, intid: u32) -> Option<&Irq> {
        match bank {
            Bank::Spis => self.spis.get(intid.checked_sub(irq::SPI_BASE)? as usize),
            Bank::Private(v) => self.redists.get(v)?.private.get(intid as usize),
        }
    }

    pub(crate) fn irq_mut(&mut self, bank: Bank, intid: u32) -> Option<&mut Irq> {
        match bank {
            Bank::Spis => self
                .spis
                .get_mut(intid.checked_sub(irq::SPI_BASE)? as usize),
            Bank::Private(v) => self.redists.get_mut(v)?.private.get_mut(intid as usize),
        }
    }

    /// The vCPU an interrupt goes to (see [`IrqInfo::vcpu`]).
    pub(crate) fn delivery_vcpu(&self, bank: Bank, intid: u32) -> Option<usize> {
        match bank {
            Bank::Private(v) => Some(v),
            Bank::Spis => {
                let irq = self.irq(bank, intid)?;
                irq.owner.or(irq.route).map(usize::from)
            }
        }
    }

    /// Whether the distributor forwards interrupts of this group (`GICD_CTLR.EnableGrp0/1`).
    pub(crate) fn group_enabled(&self, group1: bool) -> bool {
        if group1 {
            self.enable_grp1
        } else {
            self.enable_grp0
        }
    }

    /// Calls `f(intid, irq, deliverable)` for every pending or active interrupt that `vcpu`
    /// may present: its SGIs and PPIs, and the SPIs it holds or that are routed to it and
    /// held by no other vCPU. `deliverable`: pending, enabled and its group enabled in
    /// `GICD_CTLR`, so the CPU interface may signal it.
    pub(crate) fn for_each_candidate(&self, vcpu: usize, mut f: impl FnMut(u32, &Irq, bool)) {
        let Some(redist) = self.redists.get(vcpu) else {
            return;
        };
        let mut visit = |intid: u32, irq: &Irq| {
            if irq.pending() || irq.active {
                let deliverable = irq.pending() && irq.enabled && self.group_enabled(irq.group1);
                f(intid, irq, deliverable);
            }
        };
        for (intid, irq) in (0u32..).zip(redist.private.iter()) {
            visit(intid, irq);
        }
        let me = Some(vcpu as u8);
        for (intid, irq) in (irq::SPI_BASE..).zip(self.spis.iter()) {
            if irq.owner == me || (irq.owner.is_none() && irq.route == me) {
                visit(intid, irq);
            }
        }
    }
}
