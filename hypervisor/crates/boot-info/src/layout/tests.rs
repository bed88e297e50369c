use super::*;
use crate::GIB;
use alloc::string::ToString;
use alloc::vec;
use proptest::prelude::*;

const RAM: MemRange = MemRange::new(0x4000_0000, 2 * GIB);
const HOST_DTB: MemRange = MemRange::new(0x4000_0000, MIB);
const HYPERVISOR: MemRange = MemRange::new(0x4020_0000, 8 * MIB);
const DOM0_KERNEL: MemRange = MemRange::new(0x4900_0000, 30 * MIB);
const DOM0_INITRD: MemRange = MemRange::new(0x4b00_0000, 5 * MIB);

fn kernel(module: MemRange, text_offset: u64, image_size: u64) -> KernelInfo {
    KernelInfo {
        module,
        header: ImageHeader {
            text_offset,
            image_size,
            flags: 0b1010,
        },
    }
}

fn dom0() -> DomainRequest {
    DomainRequest {
        name: "dom0".to_string(),
        mem_bytes: 512 * MIB,
        kernel: kernel(DOM0_KERNEL, 0, 36 * MIB),
        initrd: Some(DOM0_INITRD),
        identity: true,
        ipa_base: 0,
    }
}

fn domu(name: &str, module_base: u64, mem_bytes: u64) -> DomainRequest {
    DomainRequest {
        name: name.to_string(),
        mem_bytes,
        kernel: kernel(MemRange::new(module_base, 20 * MIB), 0x8_0000, 24 * MIB),
        initrd: None,
        identity: false,
        ipa_base: DOMU_IPA_BASE,
    }
}

fn run(
    modules: &[(&str, MemRange)],
    domains: &[DomainRequest],
) -> Result<Vec<DomainPlan>, LayoutError> {
    plan(&LayoutInput {
        ram: &[RAM],
        hypervisor: HYPERVISOR,
        host_dtb: HOST_DTB,
        modules,
        domains,
        reservations: &[],
    })
}

const MODULES: [(&str, MemRange); 2] = [("dom0 kernel", DOM0_KERNEL), ("dom0 initrd", DOM0_INITRD)];

#[test]
fn dom0_identity_at_the_top_of_ram() {
    let plans = run(&MODULES, &[dom0()]).unwrap();
    let top = RAM.end().unwrap();
    let ram = MemRange::new(top - 512 * MIB, 512 * MIB);
    assert_eq!(
        plans,
        [DomainPlan {
            name: "dom0".to_string(),
            ram_pa: ram,
            ram_ipa: ram,
            kernel_ipa: ram.base,
            kernel: MemRange::new(ram.base, 36 * MIB),
            initrd_ipa: Some(MemRange::new(ram.base + 36 * MIB, 5 * MIB)),
            dtb_ipa: MemRange::new(ram.base + 42 * MIB, 2 * MIB),
        }]
    );
}

#[test]
fn domu_at_its_ipa_base_with_text_offset() {
    let modules = [
        MODULES[0],
        MODULES[1],
        ("domU1 kernel", MemRange::new(0x4c00_0000, 20 * MIB)),
    ];
    let plans = run(
        &modules,
        &[dom0(), domu("domU1", 0x4c00_0000, 100 * MIB + 1)],
    )
    .unwrap();
    let domu = &plans[1];
    assert_eq!(domu.name, "domU1");
    assert_eq!(domu.ram_pa.size, 102 * MIB);
    assert_eq!(domu.ram_ipa, MemRange::new(DOMU_IPA_BASE, 102 * MIB));
    assert_eq!(domu.kernel_ipa, DOMU_IPA_BASE + 0x8_0000);
    assert_eq!(
        domu.kernel,
        MemRange::new(DOMU_IPA_BASE + 0x8_0000, 24 * MIB)
    );
    assert_eq!(domu.initrd_ipa, None);
    // 0x80000 + 24 MiB rounds up to 26 MiB: the device tree starts there.
    assert_eq!(
        domu.dtb_ipa,
        MemRange::new(DOMU_IPA_BASE + 26 * MIB, 2 * MIB)
    );
    // Blocks come from the top, one below the other.
    assert_eq!(domu.ram_pa.end(), Some(plans[0].ram_pa.base));
}

#[test]
fn guest_blocks_skip_reserved_ranges() {
    // 320 MiB of RAM, reserved: host DTB and hypervisor at the bottom, modules at
    // 0x4800_0000 and 0x4c00_0000. The 64 MiB blocks must go around them.
    let ram = [MemRange::new(0x4000_0000, 320 * MIB)];
    let modules = [
        ("k", MemRange::new(0x4800_0000, MIB)),
        ("i", MemRange::new(0x4c00_0000, MIB)),
    ];
    let mut guest = domu("a", 0x4800_0000, 64 * MIB);
    guest.kernel.module.size = MIB;
    let run3 = |count: usize| {
        let domains = vec![guest.clone(); count];
        plan(&LayoutInput {
            ram: &ram,
            hypervisor: HYPERVISOR,
            host_dtb: HOST_DTB,
            modules: &modules,
            domains: &domains,
            reservations: &[],
        })
    };
    let plans = run3(2).unwrap();
    // The top hole [0x4c10_0000..0x5400_0000) holds one block; what is left of it and the
    // hole between the modules (62 MiB each once aligned) are too small; the next block
    // goes under the first module.
    assert_eq!(plans[0].ram_pa, MemRange::new(0x5000_0000, 64 * MIB));
    assert_eq!(plans[1].ram_pa, MemRange::new(0x4400_0000, 64 * MIB));
    assert_eq!(
        run3(3),
        Err(LayoutError::NotEnoughMemory {
            domain: "a".to_string(),
            needed: 64 * MIB,
            largest_free: 62 * MIB
        })
    );
}

#[test]
fn ram_banks_are_merged_and_used_from_the_top() {
    let ram = [
        MemRange::new(0x8000_0000, GIB),
        MemRange::new(0x4000_0000, GIB),
        MemRange::new(0, 0),
    ];
    let domains = [domu("a", 0x4900_0000, 1536 * MIB)];
    let modules = [("a kernel", domains[0].kernel.module)];
    let plans = plan(&LayoutInput {
        ram: &ram,
        hypervisor: HYPERVISOR,
        host_dtb: HOST_DTB,
        modules: &modules,
        domains: &domains,
        reservations: &[],
    })
    .unwrap();
    assert_eq!(plans[0].ram_pa, MemRange::new(0x6000_0000, 1536 * MIB));
}

#[test]
fn unaligned_free_space_is_trimmed_to_2_mib() {
    let ram = [MemRange::new(0x4000_1000, 100 * MIB)];
    let mut d = domu("a", 0x4000_1000, 64 * MIB);
    d.kernel.module.size = 0x1000;
    let modules = [("a kernel", d.kernel.module)];
    let hypervisor = MemRange::new(0x4010_0000, MIB);
    let plans = plan(&LayoutInput {
        ram: &ram,
        hypervisor,
        host_dtb: MemRange::new(0x4000_2000, 0x1000),
        modules: &modules,
        domains: &[d],
        reservations: &[],
    })
    .unwrap();
    let block = plans[0].ram_pa;
    assert_eq!(block.base % GUEST_RAM_ALIGN, 0);
    assert_eq!(
        block.end(),
        Some(align_down(0x4000_1000 + 100 * MIB, GUEST_RAM_ALIGN))
    );
}

const FRAMEBUFFER: Reservation<'static> = Reservation {
    label: "framebuffer",
    size: 800 * 480 * 4,
};

#[test]
fn framebuffer_is_reserved_below_the_domains() {
    let modules = [
        MODULES[0],
        MODULES[1],
        ("domU1 kernel", MemRange::new(0x4c00_0000, 20 * MIB)),
    ];
    let domains = [dom0(), domu("domU1", 0x4c00_0000, 128 * MIB)];
    let input = |reservations| LayoutInput {
        ram: &[RAM],
        hypervisor: HYPERVISOR,
        host_dtb: HOST_DTB,
        modules: &modules,
        domains: &domains,
        reservations,
    };
    let layout = plan_all(&input(&[FRAMEBUFFER])).unwrap();
    // The domains are where they are without it; the 1500 KiB framebuffer takes the next
    // 2 MiB block down.
    assert_eq!(layout.domains, plan(&input(&[])).unwrap());
    assert_eq!(layout.domains[0].ram_pa.base, 0xa000_0000);
    assert_eq!(layout.domains[1].ram_pa.base, 0x9800_0000);
    assert_eq!(layout.reserved, [MemRange::new(0x97e0_0000, 2 * MIB)]);
    // `plan` plans the reservation too (it can fail on it) but returns the domains only.
    assert_eq!(plan(&input(&[FRAMEBUFFER])).unwrap(), layout.domains);
    // Two reservations: one below the other; an empty one takes nothing.
    let empty = Reservation { label: "nothing", size: 0 };
    let layout = plan_all(&input(&[FRAMEBUFFER, empty, FRAMEBUFFER])).unwrap();
    assert_eq!(layout.reserved[0], MemRange::new(0x97e0_0000, 2 * MIB));
    assert!(layout.reserved[1].is_empty());
    assert_eq!(layout.reserved[2], MemRange::new(0x97c0_0000, 2 * MIB));
}

#[test]
fn reservation_without_room() {
    // 96 MiB of RAM: the hypervisor and DTB at the bottom, a 90 MiB domain on top: no
    // 2 MiB block is left for the framebuffer.
    let ram = [MemRange::new(0x4000_0000, 96 * MIB)];
    let hypervisor = MemRange::new(0x4000_0000, 4 * MIB);
    let mut d = domu("a", 0x4040_0000, 90 * MIB);
    d.kernel.module.size = MIB;
    let modules = [("a kernel", d.kernel.module)];
    let input = LayoutInput {
        ram: &ram,
        hypervisor,
        host_dtb: MemRange::new(0x4000_0000, 0x1000),
        modules: &modules,
        domains: &[d],
        reservations: &[FRAMEBUFFER],
    };
    let err = plan_all(&input).unwrap_err();
    assert_eq!(
        err,
        LayoutError::NoRoomToReserve {
            label: "framebuffer".to_string(),
            needed: 2 * MIB,
            largest_free: 0,
        }
    );
    assert_eq!(
        err.to_string(),
        "no free RAM left for the framebuffer: it needs a block of 2 MiB, the largest free one \
         is 0 bytes; give the domains less memory or give QEMU more (-m)"
    );
    let huge = Reservation { label: "huge", size: u64::MAX };
    assert!(matches!(
        plan_all(&LayoutInput { reservations: &[huge], ..input }),
        Err(LayoutError::NoRoomToReserve { .. })
    ));
}

#[test]
fn module_outside_ram() {
    let outside = MemRange::new(0xc000_0000, MIB);
    assert_eq!(
        run(&[("dom0 kernel", outside)], &[]),
        Err(LayoutError::ModuleOutsideRam {
            label: "dom0 kernel".to_string(),
            range: outside
        })
    );
    let straddling = MemRange::new(0xbff0_0000, 2 * MIB);
    assert!(matches!(
        run(&[("x", straddling)], &[]),
        Err(LayoutError::ModuleOutsideRam { .. })
    ));
    // Domain modules are checked even when the caller did not list them.
    let mut d = dom0();
    d.initrd = Some(outside);
    assert_eq!(
        run(&MODULES, &[d]),
        Err(LayoutError::ModuleOutsideRam {
            label: "dom0 initrd".to_string(),
            range: outside
        })
    );
}

#[test]
fn modules_overlap() {
    let a = MemRange::new(0x4900_0000, 0x100_0001);
    let b = MemRange::new(0x4a00_0000, MIB);
    assert_eq!(
        run(&[("dom0 kernel", a), ("dom0 initrd", b)], &[]),
        Err(LayoutError::ModulesOverlap {
            a: "dom0 kernel".to_string(),
            a_range: a,
            b: "dom0 initrd".to_string(),
            b_range: b
        })
    );
    // Touching is fine.
    assert!(run(
        &[("a", MemRange::new(0x4900_0000, 0x100_0000)), ("b", b)],
        &[]
    )
    .is_ok());
}

#[test]
fn overlaps_hypervisor_and_host_dtb() {
    let on_hv = MemRange::new(0x4080_0000, MIB);
    assert_eq!(
        run(&[("dom0 kernel", on_hv)], &[]),
        Err(LayoutError::OverlapsHypervisor {
            label: "dom0 kernel".to_string(),
            range: on_hv,
            hypervisor: HYPERVISOR
        })
    );
    let on_dtb = MemRange::new(0x400f_f000, 0x2000);
    assert_eq!(
        run(&[("dom0 initrd", on_dtb)], &[]),
        Err(LayoutError::OverlapsHostDtb {
            label: "dom0 initrd".to_string(),
            range: on_dtb,
            host_dtb: HOST_DTB
        })
    );
}

#[test]
fn invalid_ranges() {
    let wrapping = MemRange::new(u64::MAX - 10, 20);
    assert_eq!(
        run(&[("dom0 kernel", wrapping)], &[]),
        Err(LayoutError::InvalidRange {
            label: "dom0 kernel".to_string(),
            range: wrapping
        })
    );
    assert!(matches!(
        plan(&LayoutInput {
            ram: &[wrapping],
            hypervisor: HYPERVISOR,
            host_dtb: HOST_DTB,
            modules: &[],
            domains: &[],
            reservations: &[],
        }),
        Err(LayoutError::InvalidRange { .. })
    ));
    let mut d = domu("a", 0x4900_0000, 64 * MIB);
    d.ipa_base = u64::MAX - (2 * MIB - 1);
    let modules = [("a kernel", d.kernel.module)];
    assert_eq!(
        run(&modules, &[d]),
        Err(LayoutError::InvalidRange {
            label: "a guest RAM".to_string(),
            range: MemRange::new(u64::MAX - (2 * MIB - 1), 64 * MIB)
        })
    );
}

#[test]
fn not_enough_memory() {
    let mut big = dom0();
    big.mem_bytes = 2 * GIB;
    assert_eq!(
        run(&MODULES, &[big]),
        Err(LayoutError::NotEnoughMemory {
            domain: "dom0".to_string(),
            needed: 2 * GIB,
            // Above the initrd: 0x4b00_0000 + 5 MiB rounded up, to the top.
            largest_free: 0xc000_0000 - 0x4b60_0000,
        })
    );
    // The second domain finds what the first one left.
    let mut first = dom0();
    first.mem_bytes = 1536 * MIB;
    let second = domu("domU1", 0x4900_0000, 512 * MIB);
    assert!(matches!(
        run(&MODULES, &[first, second]),
        Err(LayoutError::NotEnoughMemory { ref domain, needed, .. }) if domain == "domU1" && needed == 512 * MIB
    ));
    let mut huge = dom0();
    huge.mem_bytes = u64::MAX;
    assert!(matches!(
        run(&MODULES, &[huge]),
        Err(LayoutError::NotEnoughMemory { .. })
    ));
}

#[test]
fn kernel_too_large() {
    let mut d = dom0();
    d.kernel.header.image_size = DOM0_KERNEL.size - 1;
    assert_eq!(
        run(&MODULES, &[d]),
        Err(LayoutError::KernelTooLarge {
            domain: "dom0".to_string(),
            file_size: DOM0_KERNEL.size,
            image_size: DOM0_KERNEL.size - 1
        })
    );
}

#[test]
fn too_little_guest_memory() {
    // 36 MiB kernel, 5 MiB initrd (to 42 MiB), 2 MiB device tree, 32 MiB to run: 76 MiB.
    let mut d = dom0();
    d.mem_bytes = 76 * MIB;
    assert!(run(&MODULES, &[d.clone()]).is_ok());
    d.mem_bytes = 74 * MIB;
    assert_eq!(
        run(&MODULES, &[d.clone()]),
        Err(LayoutError::TooLittleGuestMemory {
            domain: "dom0".to_string(),
            needed: 76 * MIB,
            available: 74 * MIB
        })
    );
    d.mem_bytes = 0;
    assert!(matches!(
        run(&MODULES, &[d.clone()]),
        Err(LayoutError::TooLittleGuestMemory { available: 0, .. })
    ));
    // Absurd header values do not overflow.
    d.mem_bytes = 512 * MIB;
    d.kernel.header = ImageHeader {
        text_offset: u64::MAX,
        image_size: u64::MAX,
        flags: 0,
    };
    assert!(matches!(
        run(&MODULES, &[d]),
        Err(LayoutError::TooLittleGuestMemory {
            needed: u64::MAX,
            ..
        })
    ));
}

#[test]
fn misaligned_ipa_base() {
    let mut d = domu("domU1", 0x4900_0000, 64 * MIB);
    d.ipa_base = DOMU_IPA_BASE + 0x1000;
    assert_eq!(
        run(&[("k", d.kernel.module)], &[d]),
        Err(LayoutError::MisalignedIpaBase {
            domain: "domU1".to_string(),
            ipa_base: DOMU_IPA_BASE + 0x1000
        })
    );
    // dom0's ipa_base is irrelevant.
    let mut d = dom0();
    d.ipa_base = 0x1234;
    assert!(run(&MODULES, &[d]).is_ok());
}

#[test]
fn messages_say_what_to_do() {
    let msg = format!(
        "{}",
        LayoutError::NotEnoughMemory {
            domain: "domU1".to_string(),
            needed: 512 * MIB,
            largest_free: 256 * MIB
        }
    );
    assert_eq!(
        msg,
        "not enough free RAM for domU1: it needs a contiguous block of 512 MiB, the largest free one \
         is 256 MiB; give it less memory or give QEMU more (-m)"
    );
    let msg = format!(
        "{}",
        LayoutError::OverlapsHostDtb {
            label: "dom0 kernel".to_string(),
            range: MemRange::new(0x4000_0000, 0x1000),
            host_dtb: HOST_DTB
        }
    );
    assert!(
        msg.contains("dom0 kernel [0x40000000..0x40001000)") && msg.contains("addr="),
        "{msg}"
    );
    for err in [
        LayoutError::InvalidRange {
            label: "x".to_string(),
            range: MemRange::new(u64::MAX, 2),
        },
        LayoutError::ModuleOutsideRam {
            label: "x".to_string(),
            range: MemRange::new(0, 1),
        },
        LayoutError::ModulesOverlap {
            a: "a".to_string(),
            a_range: MemRange::new(0, 2),
            b: "b".to_string(),
            b_range: MemRange::new(1, 2),
        },
        LayoutError::OverlapsHypervisor {
            label: "x".to_string(),
            range: MemRange::new(0, 1),
            hypervisor: HYPERVISOR,
        },
        LayoutError::KernelTooLarge {
            domain: "d".to_string(),
            file_size: 3,
            image_size: 2,
        },
        LayoutError::TooLittleGuestMemory {
            domain: "d".to_string(),
            needed: 76 * MIB,
            available: 64 * MIB,
        },
        LayoutError::MisalignedIpaBase {
            domain: "d".to_string(),
            ipa_base: 1,
        },
    ] {
        assert!(format!("{err}").len() > 20);
    }
}

#[test]
fn free_list_helpers() {
    let free = [MemRange::new(0, 100), MemRange::new(200, 100)];
    assert_eq!(
        subtract(&free, MemRange::new(50, 200)),
        [MemRange::new(0, 50), MemRange::new(250, 50)]
    );
    assert_eq!(subtract(&free, MemRange::new(0, 0)), free);
    assert_eq!(subtract(&free, MemRange::new(0, 300)), []);
    assert_eq!(subtract(&free, MemRange::new(u64::MAX, 5)), free);
    assert_eq!(
        coalesce(&[
            MemRange::new(10, 10),
            MemRange::new(0, 10),
            MemRange::new(15, 2),
            MemRange::new(30, 1)
        ]),
        [MemRange::new(0, 20), MemRange::new(30, 1)]
    );
    let mut free = vec![MemRange::new(0, 8 * MIB)];
    assert_eq!(
        take_block(&mut free, 4 * MIB),
        Some(MemRange::new(4 * MIB, 4 * MIB))
    );
    assert_eq!(take_block(&mut free, 6 * MIB), None);
    assert_eq!(free, [MemRange::new(0, 4 * MIB)]);
}

fn range_in(lo: u64, hi: u64) -> impl Strategy<Value = MemRange> {
    (lo..hi, 0u64..(64 * MIB)).prop_map(|(base, size)| MemRange::new(base, size))
}

/// A plausible machine: one RAM bank at 0x4000_0000 (sometimes a second one above
/// 4 GiB), the host DTB and the hypervisor at its bottom, modules one after another
/// from 0x4800_0000 with gaps, and domains whose kernel and initrd are among them.
fn plausible_input() -> impl Strategy<
    Value = (
        Vec<MemRange>,
        MemRange,
        MemRange,
        Vec<MemRange>,
        Vec<DomainRequest>,
    ),
> {
    let modules = proptest::collection::vec((0u64..(16 * MIB), 1u64..(40 * MIB)), 0..6);
    let domains = proptest::collection::vec(
        (
            0u64..(1200 * MIB),
            any::<bool>(),
            prop_oneof![Just(0u64), Just(0x8_0000u64)],
            0u64..(16 * MIB),
            any::<prop::sample::Index>(),
            proptest::option::of(any::<prop::sample::Index>()),
        ),
        0..5,
    );
    (
        GIB..4 * GIB,
        proptest::option::of(MIB..GIB),
        0x1000u64..(2 * MIB),
        MIB..(16 * MIB),
        modules,
        domains,
    )
        .prop_map(
            |(ram_size, high_bank, dtb_size, hv_size, gaps_and_sizes, requests)| {
                let mut ram = vec![MemRange::new(0x4000_0000, ram_size)];
                ram.extend(high_bank.map(|size| MemRange::new(0x1_0000_0000 + ram_size, size)));
                let host_dtb = MemRange::new(0x4000_0000, dtb_size);
                let hypervisor = MemRange::new(0x4020_0000, hv_size);
                let mut next = 0x4800_0000u64;
                let mut modules = Vec::new();
                for (gap, size) in gaps_and_sizes {
                    modules.push(MemRange::new(next + gap, size));
                    next += gap + size;
                }
                let domains = requests
                    .into_iter()
                    .enumerate()
                    .filter(|_| !modules.is_empty())
                    .map(
                        |(
                            i,
                            (mem_bytes, identity, text_offset, bss, kernel_index, initrd_index),
                        )| {
                            let module = *kernel_index.get(&modules);
                            DomainRequest {
                                name: format!("d{i}"),
                                mem_bytes,
                                kernel: kernel(module, text_offset, module.size + bss),
                                initrd: initrd_index.map(|index| *index.get(&modules)),
                                identity,
                                ipa_base: DOMU_IPA_BASE,
                            }
                        },
                    )
                    .collect();
                (ram, host_dtb, hypervisor, modules, domains)
            },
        )
}

/// Checks every promise of [`plan`] on a successful result.
fn check_plans(input: &LayoutInput<'_>, plans: &[DomainPlan]) -> Result<(), TestCaseError> {
    prop_assert_eq!(plans.len(), input.domains.len());
    let ram = coalesce(input.ram);
    let mut reserved: Vec<MemRange> = vec![input.hypervisor, input.host_dtb];
    reserved.extend(input.modules.iter().map(|m| m.1));
    reserved.extend(input.domains.iter().map(|d| d.kernel.module));
    reserved.extend(input.domains.iter().filter_map(|d| d.initrd));
    for (plan, domain) in plans.iter().zip(input.domains) {
        prop_assert_eq!(plan.ram_pa.base % GUEST_RAM_ALIGN, 0);
        prop_assert_eq!(plan.ram_pa.size % GUEST_RAM_ALIGN, 0);
        prop_assert!(plan.ram_pa.size >= domain.mem_bytes);
        prop_assert!(ram.iter().any(|bank| bank.contains_range(&plan.ram_pa)));
        for other in &reserved {
            prop_assert!(
                !plan.ram_pa.overlaps(other),
                "{:?} overlaps {:?}",
                plan.ram_pa,
                other
            );
        }
        reserved.push(plan.ram_pa);
        prop_assert_eq!(plan.ram_ipa.size, plan.ram_pa.size);
        if domain.identity {
            prop_assert_eq!(plan.ram_ipa, plan.ram_pa);
        } else {
            prop_assert_eq!(plan.ram_ipa.base, domain.ipa_base);
        }
        prop_assert_eq!(
            plan.kernel_ipa,
            plan.ram_ipa.base + domain.kernel.header.text_offset
        );
        prop_assert_eq!(
            plan.kernel,
            MemRange::new(plan.kernel_ipa, domain.kernel.header.image_size)
        );
        prop_assert!(plan.ram_ipa.contains_range(&plan.kernel));
        prop_assert!(plan.ram_ipa.contains_range(&plan.dtb_ipa));
        prop_assert_eq!(plan.dtb_ipa.base % GUEST_RAM_ALIGN, 0);
        prop_assert!(!plan.kernel.overlaps(&plan.dtb_ipa));
        prop_assert_eq!(
            plan.initrd_ipa.map(|r| r.size),
            domain.initrd.map(|r| r.size)
        );
        if let Some(initrd) = plan.initrd_ipa {
            prop_assert_eq!(initrd.base % GUEST_RAM_ALIGN, 0);
            prop_assert!(plan.ram_ipa.contains_range(&initrd));
            prop_assert!(!initrd.overlaps(&plan.kernel) && !initrd.overlaps(&plan.dtb_ipa));
        }
        prop_assert!(
            plan.ram_ipa.end().unwrap() - plan.dtb_ipa.end().unwrap() >= MIN_FREE_GUEST_RAM
        );
    }
    Ok(())
}

/// Reserved blocks are 2 MiB aligned, large enough, in RAM, and overlap nothing else.
fn check_reserved(input: &LayoutInput<'_>, layout: &Layout) -> Result<(), TestCaseError> {
    prop_assert_eq!(layout.reserved.len(), input.reservations.len());
    let ram = coalesce(input.ram);
    let mut taken: Vec<MemRange> = vec![input.hypervisor, input.host_dtb];
    taken.extend(input.modules.iter().map(|m| m.1));
    taken.extend(layout.domains.iter().map(|d| d.ram_pa));
    for (block, reservation) in layout.reserved.iter().zip(input.reservations) {
        prop_assert_eq!(block.base % GUEST_RAM_ALIGN, 0);
        prop_assert!(block.size >= reservation.size);
        prop_assert!(ram.iter().any(|bank| bank.contains_range(block)));
        for other in &taken {
            prop_assert!(!block.overlaps(other), "{:?} overlaps {:?}", block, other);
        }
        taken.push(*block);
    }
    Ok(())
}

proptest! {
    /// Plausible machines: when a plan comes out, guest blocks are aligned, inside RAM,
    /// disjoint from each other and from everything reserved, and each guest's kernel,
    /// initrd and device tree fit in its RAM with room to spare.
    #[test]
    fn plans_never_overlap((ram, host_dtb, hypervisor, modules, domains) in plausible_input()) {
        let labels = ["m0", "m1", "m2", "m3", "m4", "m5"];
        let modules: Vec<(&str, MemRange)> = labels.iter().copied().zip(modules).collect();
        let input = LayoutInput { ram: &ram, hypervisor, host_dtb, modules: &modules, domains: &domains, reservations: &[FRAMEBUFFER] };
        match plan_all(&input) {
            Ok(layout) => {
                check_plans(&input, &layout.domains)?;
                check_reserved(&input, &layout)?;
            }
            // The generator only makes valid modules: failures are about memory.
            Err(err) => prop_assert!(
                matches!(
                    err,
                    LayoutError::NotEnoughMemory { .. }
                        | LayoutError::TooLittleGuestMemory { .. }
                        | LayoutError::NoRoomToReserve { .. }
                ),
                "{:?}", err
            ),
        }
    }

    /// Arbitrary ranges and requests: never a panic, and any plan still keeps its promises.
    #[test]
    fn plan_never_panics(
        ram in proptest::collection::vec((any::<u64>(), any::<u64>()).prop_map(|(b, s)| MemRange::new(b, s)), 0..4),
        hypervisor in range_in(0, u64::MAX),
        host_dtb in range_in(0, u64::MAX),
        modules in proptest::collection::vec((any::<u64>(), any::<u64>()).prop_map(|(b, s)| MemRange::new(b, s)), 0..3),
        requests in proptest::collection::vec((any::<u64>(), any::<bool>(), any::<u64>(), any::<u64>(), any::<u64>(), proptest::option::of(any::<u64>())), 0..3),
    ) {
        let domains: Vec<DomainRequest> = requests
            .into_iter()
            .map(|(mem_bytes, identity, text_offset, image_size, ipa_base, initrd)| DomainRequest {
                name: "d".to_string(),
                mem_bytes,
                kernel: kernel(MemRange::new(text_offset, image_size / 2), text_offset, image_size),
                initrd: initrd.map(|base| MemRange::new(base, image_size / 3)),
                identity,
                ipa_base,
            })
            .collect();
        let modules: Vec<(&str, MemRange)> = modules.into_iter().map(|m| ("m", m)).collect();
        let input = LayoutInput { ram: &ram, hypervisor, host_dtb, modules: &modules, domains: &domains, reservations: &[] };
        if let Ok(plans) = plan(&input) {
            check_plans(&input, &plans)?;
        }
    }
}
