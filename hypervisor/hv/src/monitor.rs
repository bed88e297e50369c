//! The hypervisor monitor, reached with CTRL-a three times on the serial console: commands to
//! look at the domains and the board (parsed by hv-console's monitor module, run here).

use crate::arch::{cpu, percpu};
use crate::board;
use crate::domain::{self, Domain};
use crate::println;
use hv_console::monitor::{parse_command, Command, HELP};
use hv_console::mux::Focus;
use hv_console::DomId;
use sp6_fpga::LedRow;

pub fn execute(line: &str) {
    match parse_command(line) {
        Ok(None) => {}
        Ok(Some(command)) => run(command),
        Err(error) => println!("{error}"),
    }
}

fn run(command: Command) {
    match command {
        Command::Help => {
            for line in HELP.lines() {
                println!("{line}");
            }
        }
        Command::Version => println!(
            "REPTAR on Rust hypervisor {}: EL2, GICv3 vGIC, PSCI 1.0, REPTAR SP6 board model",
            crate::VERSION
        ),
        Command::Domains => {
            for dom in domain::all() {
                domain_summary(dom);
            }
            let (used, total) = crate::heap::usage();
            println!("hypervisor heap: {used} of {total} bytes in use");
        }
        Command::Registers { domain, vcpu } => {
            let Some(dom) = find(domain) else { return };
            for v in dom.vcpus.iter().filter(|v| vcpu.is_none_or(|n| v.id == n as usize)) {
                registers(dom, v);
            }
            if let Some(n) = vcpu.filter(|&n| n as usize >= dom.vcpus.len()) {
                println!("{} has no vCPU {n}", dom.name);
            }
        }
        Command::Hexdump { domain, guest_physical, length } => {
            if let Some(dom) = find(domain) {
                hexdump(dom, guest_physical, u64::from(length));
            }
        }
        Command::TranslateAddress { domain, guest_physical } => {
            let Some(dom) = find(domain) else { return };
            match translate(dom, guest_physical) {
                Some(translation) => println!(
                    "{} {guest_physical:#x} -> host {:#x} ({:?}, {})",
                    dom.name,
                    translation.output,
                    translation.attrs.mem,
                    access_text(translation.attrs.access)
                ),
                None => println!("{} {guest_physical:#x}: not mapped in its stage 2 (an emulated device, or not its memory)", dom.name),
            }
        }
        Command::Leds => {
            let (leds, irq_ctl, push_buttons) = board::state();
            println!("LEDs: {} (LED0 first), IRQ_CTL {irq_ctl:#06x}, PUSH_BUT {push_buttons:#04x}", LedRow(leds));
        }
        Command::Press(button) => {
            board::press(button);
            board::release(button);
        }
        Command::Destroy(id) => {
            if let Some(dom) = find(id) {
                if let Err(error) = crate::lifecycle::destroy(dom) {
                    println!("{}: not destroyed: {error}", dom.name);
                }
            }
        }
        Command::Restart(id) => {
            if let Some(dom) = find(id) {
                if let Err(error) = crate::lifecycle::restart(dom) {
                    println!("{}: not restarted: {error}", dom.name);
                }
            }
        }
        Command::Focus(id) => {
            if let Err(error) = crate::console::set_focus(Focus::Domain(id)) {
                println!("no domain {}", error.0);
            }
        }
        Command::Screen(None) => show_screen(),
        Command::Screen(Some(id)) => set_screen(id),
    }
}

/// The running domain named `id`, if any.
fn running(id: DomId) -> Option<&'static Domain> {
    domain::get(id).filter(|dom| dom.state() == domain::DomainState::Running)
}

/// `screen`: who has the board's screen and buttons, from /reptar/focus. A value naming no
/// running domain means dom0, as every reader takes it (docs/focus.md).
fn show_screen() {
    let dom0 = || domain::get(0).map_or("dom0", |d| d.name.as_str());
    match crate::xen::xenstore::focus() {
        Ok(Ok(id)) => match running(id) {
            Some(dom) => println!("screen and buttons: {}", dom.name),
            None => println!("screen and buttons: {} (/reptar/focus names domain {id}, which is not running)", dom0()),
        },
        Ok(Err(value)) => println!("screen and buttons: {} (/reptar/focus holds \"{value}\", no domain id)", dom0()),
        Err(error) => println!("screen and buttons: {} ({error})", dom0()),
    }
    // What the display controller scans out: dom0's vfb backend follows the focus.
    match crate::display::shows_dom0() {
        Some(true) => println!("display: dom0's framebuffer"),
        Some(false) => println!("display: the guest screen (dom0's vfb backend shows a domU there)"),
        None => println!("display: none"),
    }
}

/// `screen <dom>`: gives the screen and buttons to a running domain by writing /reptar/focus
/// as the hypervisor (dom0's backends watch it).
fn set_screen(id: DomId) {
    let Some(dom) = domain::get(id) else {
        println!("screen: no domain {id}: the screen and buttons stay where they are");
        return;
    };
    if dom.state() != domain::DomainState::Running {
        println!("screen: {} is {:?}: the screen and buttons stay where they are", dom.name, dom.state());
        return;
    }
    match crate::xen::xenstore::set_focus(id) {
        Ok(()) => println!("screen and buttons: {}", dom.name),
        Err(error) => println!("screen: {error}"),
    }
}

fn find(id: DomId) -> Option<&'static Domain> {
    let dom = domain::get(id);
    if dom.is_none() {
        println!("no domain {id}");
    }
    dom
}

fn domain_summary(dom: &Domain) {
    println!(
        "{} (id {}): {:?}, RAM {} ({} MiB) at host {}, {} vCPU(s)",
        dom.name,
        dom.id,
        dom.state(),
        dom.ram_ipa,
        dom.ram_ipa.size >> 20,
        dom.ram_pa,
        dom.vcpus.len()
    );
    let given_back = dom.xen.pages_given_back.load(core::sync::atomic::Ordering::Relaxed);
    if given_back > 0 {
        println!("  memory: {} KiB of its RAM given back (ballooned out)", given_back * 4);
    }
    for v in &dom.vcpus {
        println!("  v{} on CPU {}: {:?}, MPIDR {:#x}", v.id, v.pcpu, v.state(), v.mpidr);
    }
    if let Some(events) = crate::xen::events::stats(dom.id) {
        println!(
            "  event channels: {} in use ({} interdomain, {} VIRQ, {} IPI, {} to the hypervisor), {} sends, {} upcalls",
            events.ports_in_use, events.interdomain, events.virq, events.ipi, events.hypervisor, events.sends, events.upcalls
        );
    }
    if let Some(grants) = crate::xen::grants::stats(dom.id) {
        println!(
            "  grants: table {}/{} frames, {} granted pages in use by others, {} mappings held ({} orphaned), {} maps, {} unmaps, {} copies, {} failed",
            grants.nr_frames, grants.max_frames, grants.active_grants, grants.maptrack_used, grants.orphaned, grants.maps, grants.unmaps, grants.copies, grants.failures
        );
    }
    // Frames mapped without a grant: dom0's backends of xen-fbfront-style frontends, privcmd.
    println!("  foreign maps: {} of its pages mapped by dom0", crate::xen::memory::foreign_maps_of(dom.id));
}

fn registers(dom: &Domain, vcpu: &domain::Vcpu) {
    let frame = percpu::last_guest_frame(vcpu.pcpu);
    println!("{}v{} on CPU {}, as of its last exit: PC {:#018x} PSTATE {:#010x}", dom.name, vcpu.id, vcpu.pcpu, frame.elr, frame.spsr);
    for (i, pair) in frame.x.chunks(2).enumerate() {
        match pair {
            [a, b] => println!("  x{:<2} {a:#018x}  x{:<2} {b:#018x}", 2 * i, 2 * i + 1),
            [a] => println!("  x{:<2} {a:#018x}", 2 * i),
            _ => {}
        }
    }
    if vcpu.pcpu == percpu::this_cpu().index {
        let el1 = cpu::El1Registers::read();
        println!("  SCTLR_EL1 {:#x} TTBR0_EL1 {:#x} TTBR1_EL1 {:#x} VBAR_EL1 {:#x}", el1.sctlr, el1.ttbr0, el1.ttbr1, el1.vbar);
        println!("  ELR_EL1 {:#x} SPSR_EL1 {:#x} ESR_EL1 {:#x} FAR_EL1 {:#x} SP_EL1 {:#x} SP_EL0 {:#x}", el1.elr, el1.spsr, el1.esr, el1.far, el1.sp_el1, el1.sp_el0);
    }
}

fn translate(dom: &Domain, ipa: u64) -> Option<page_table::Translation> {
    dom.stage2.lock().translate(&crate::arch::mmu::HeapTables, ipa)
}

fn access_text(access: page_table::Access) -> &'static str {
    match (access.read, access.write, access.execute) {
        (true, true, true) => "rwx",
        (true, true, false) => "rw-",
        (true, false, true) => "r-x",
        (true, false, false) => "r--",
        _ => "other",
    }
}

/// Guest memory, 16 bytes a line, read through the domain's own stage 2 so that only its
/// memory is shown.
fn hexdump(dom: &Domain, start: u64, length: u64) {
    let mut address = start;
    let end = start.saturating_add(length);
    while address < end {
        let line_end = (address | 0xf).saturating_add(1).min(end);
        let mut text = alloc::string::String::new();
        use core::fmt::Write;
        let _ = write!(text, "{address:#012x}:");
        for a in address..line_end {
            match translate(dom, a) {
                Some(t) if t.attrs.mem == page_table::MemType::Normal => {
                    // SAFETY: `t.output` is RAM of this domain (its stage 2 maps it as Normal
                    // memory), which the hypervisor's own map covers; a byte read is harmless.
                    let byte = unsafe { core::ptr::read_volatile(t.output as *const u8) };
                    let _ = write!(text, " {byte:02x}");
                }
                _ => text.push_str(" --"),
            }
        }
        println!("{text}");
        address = line_end;
    }
}
