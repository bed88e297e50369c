//! dom0 and a dom0less domU, both unmodified Linux talking to the hypervisor as to Xen 4.20,
//! each on its own physical CPU, each on its own console line.

use anyhow::{ensure, Context, Result};
use reptar_tests::{LaunchOptions, Machine, SHELL_TIMEOUT};

const CTRL_A_THREE_TIMES: &str = "\x01\x01\x01";

/// Boots dom0 and domU (the harness waits for both shells); the console is left on dom0's.
fn both_domains(name: &str) -> Result<Machine> {
    Machine::boot_to_dom0_shell(LaunchOptions::new(name))
}

/// Moves the serial input to domU and syncs with its shell.
fn to_domu(m: &mut Machine) -> Result<()> {
    m.switch_input_to("DOM1", SHELL_TIMEOUT).context("switch to domU")?;
    m.wait_for_shell("domU", SHELL_TIMEOUT)?;
    Ok(())
}

fn xen_guest_checks(m: &mut Machine, domain: &str) -> Result<()> {
    let kind = m.shell("cat /sys/hypervisor/type", SHELL_TIMEOUT)?;
    ensure!(kind == "xen", "{domain}: /sys/hypervisor/type is {kind:?}");
    let log = m.shell("dmesg", SHELL_TIMEOUT)?;
    for wanted in ["Xen 4.20 support found", "Grant tables using version 1 layout", "Using 2-level ABI", "Xen: initializing cpu0"] {
        ensure!(log.contains(wanted), "{domain}: no '{wanted}' in its kernel log");
    }
    for trouble in ["WARNING:", "BUG:", "Oops", "Unable to handle"] {
        ensure!(!log.contains(trouble), "{domain}: '{trouble}' in its kernel log:\n{log}");
    }
    Ok(())
}

#[test]
fn both_domains_boot_as_xen_guests() -> Result<()> {
    let mut m = both_domains("domains-boot")?;
    xen_guest_checks(&mut m, "dom0")?;
    let online = m.shell("cat /sys/devices/system/cpu/online", SHELL_TIMEOUT)?;
    ensure!(online == "0", "dom0 keeps CPU 0 only when a domU has CPU 1: {online:?}");
    to_domu(&mut m)?;
    xen_guest_checks(&mut m, "domU")?;
    // xenbus is connected: domU's bus lists the device its xenstore directory describes.
    let devices = m.shell("ls /sys/bus/xen/devices", SHELL_TIMEOUT)?;
    ensure!(devices.split_whitespace().any(|d| d == "vled-0"), "domU's xenbus devices: {devices:?}");
    let host = m.shell("hostname", SHELL_TIMEOUT)?;
    ensure!(host == "domU", "hostname {host:?}");
    // domU's RAM starts where Xen puts a guest's: 0x40000000 (GUEST_RAM0_BASE).
    let memory = m.shell("cat /proc/iomem | grep 'System RAM'", SHELL_TIMEOUT)?;
    ensure!(memory.trim_start().starts_with("40000000-"), "domU's RAM: {memory}");
    Ok(())
}

#[test]
fn the_input_cycles_dom0_domu_monitor() -> Result<()> {
    let mut m = both_domains("domains-console")?;
    to_domu(&mut m)?;
    m.send(CTRL_A_THREE_TIMES)?;
    m.expect(r"^\(XEN\) \*\*\* Serial input to Xen", SHELL_TIMEOUT).context("domU -> monitor: the next in the cycle")?;
    m.send("doms\r")?;
    m.expect(r"\(XEN\) domU1 \(id 1\): Running, RAM \[0x40000000\.\.", SHELL_TIMEOUT).context("doms lists domU")?;
    m.expect(r"\(XEN\)   v0 on CPU 1: On", SHELL_TIMEOUT)?;
    m.send(CTRL_A_THREE_TIMES)?;
    m.expect(r"^\(XEN\) \*\*\* Serial input to DOM0", SHELL_TIMEOUT).context("monitor -> dom0")?;
    m.wait_for_shell("dom0", SHELL_TIMEOUT)?;
    let host = m.shell("hostname", SHELL_TIMEOUT)?;
    ensure!(host == "dom0", "back on {host:?}");
    Ok(())
}

#[test]
fn domu_cannot_reach_other_memory() -> Result<()> {
    let mut m = both_domains("domains-isolation")?;
    to_domu(&mut m)?;
    // dom0's RAM (0xa0000000 by default) and the hypervisor (0x40200000 on the host, but inside
    // domU's own RAM window as an IPA) — the first is no memory of domU's at all.
    for (address, what) in [("0xa0000000", "dom0's RAM"), ("0x48100000", "beyond domU's 128 MiB")] {
        let mark = m.mark();
        let (output, status) = m.shell_status(&format!("devmem {address} 32"), SHELL_TIMEOUT)?;
        ensure!(status != 0 && output.contains("Bus error"), "domU read {what}: status {status}, {output:?}");
        m.expect_since(mark, &format!(r"(?i)^\(XEN\) domU1v0: stage-2 data abort at IPA {address}"), SHELL_TIMEOUT)
            .with_context(|| format!("no stage-2 fault logged for {what}"))?;
    }
    let alive = m.shell("echo alive", SHELL_TIMEOUT)?;
    ensure!(alive == "alive", "domU after the faults: {alive:?}");
    Ok(())
}

/// The monitor's event-channel line of `domain` ("dom0", "domU1"): ports in use.
fn ports_in_use(m: &mut Machine, domain: &str) -> Result<u64> {
    m.switch_input_to("Xen", SHELL_TIMEOUT)?;
    m.send("doms\r")?;
    let line = m.expect(&format!(r"\(XEN\) {domain} \(id \d\):.*\r?\n(?:\(XEN\)   (?:v\d|memory).*\r?\n)*\(XEN\)   event channels: (\d+) in use"), SHELL_TIMEOUT)?;
    Ok(line.get(1).unwrap_or("0").parse()?)
}

#[test]
fn ten_thousand_notifications_between_dom0_and_domu() -> Result<()> {
    let mut m = both_domains("domains-events")?;
    let dom0_ports = ports_in_use(&mut m, "dom0")?;
    let domu_ports = ports_in_use(&mut m, "domU1")?;
    // domU offers a port to dom0 and answers each notification; dom0 pings 10,000 times.
    to_domu(&mut m)?;
    m.send_line("evtchn serve --remote 0 --count 10000 &")?;
    let served = m.expect(r"serving port (\d+) for domain 0", SHELL_TIMEOUT)?;
    let port: u32 = served.get(1).context("port")?.parse()?;
    m.switch_input_to("DOM0", SHELL_TIMEOUT)?;
    m.wait_for_shell("dom0", SHELL_TIMEOUT)?;
    let result = m.shell(&format!("evtchn ping --remote 1 --port {port} --count 10000"), std::time::Duration::from_secs(600))?;
    ensure!(result.contains("10000 round trips"), "ping: {result}");
    m.expect_since(reptar_tests::Mark::START, r"\[DOM-U\] served 10000 notifications", SHELL_TIMEOUT)?;
    // Both ends closed: the ports are back to what they were.
    ensure!(ports_in_use(&mut m, "dom0")? == dom0_ports, "dom0 leaked an event channel");
    ensure!(ports_in_use(&mut m, "domU1")? == domu_ports, "domU leaked an event channel");
    Ok(())
}

#[test]
fn xenstore_is_shared_with_permissions_watches_and_transactions() -> Result<()> {
    let mut m = both_domains("domains-xenstore")?;
    ensure!(m.shell("xenstore read domid", SHELL_TIMEOUT)? == "0", "dom0's domid");
    let domains = m.shell("xenstore ls /local/domain", SHELL_TIMEOUT)?;
    ensure!(domains.split_whitespace().collect::<Vec<_>>() == ["0", "1"], "/local/domain: {domains:?}");
    m.shell("xenstore write /local/domain/0/data/secret dom0-only", SHELL_TIMEOUT)?;

    // domU watches a key of its own, which dom0 then writes.
    to_domu(&mut m)?;
    ensure!(m.shell("xenstore read domid", SHELL_TIMEOUT)? == "1", "domU's domid");
    m.send_line("xenstore watch /local/domain/1/data/from-dom0 2")?;
    // A watch fires once when set (Xen's semantics), then on each change.
    m.expect(r"\[DOM-U\] /local/domain/1/data/from-dom0\r?\n", SHELL_TIMEOUT).context("the watch's first event")?;
    m.switch_input_to("DOM0", SHELL_TIMEOUT)?;
    m.wait_for_shell("dom0", SHELL_TIMEOUT)?;
    let before_write = m.mark();
    m.shell("xenstore write /local/domain/1/data/from-dom0 hello", SHELL_TIMEOUT)?;
    // The event may show before or after dom0's prompt comes back.
    m.expect_since(before_write, r"\[DOM-U\] /local/domain/1/data/from-dom0\r?\n", SHELL_TIMEOUT)
        .context("the watch did not fire on dom0's write")?;

    // A transaction that lost the race gets EAGAIN.
    let conflict = m.shell("xenstore txn-conflict /local/domain/0/data/race", SHELL_TIMEOUT)?;
    ensure!(conflict.contains("first transaction committed") && conflict.contains("second transaction: EAGAIN"), "{conflict}");

    // domU reads what dom0 gave it, and nothing of dom0's.
    to_domu(&mut m)?;
    ensure!(m.shell("xenstore read /local/domain/1/data/from-dom0", SHELL_TIMEOUT)? == "hello", "domU reads dom0's write");
    let (denied, status) = m.shell_status("xenstore read /local/domain/0/data/secret", SHELL_TIMEOUT)?;
    ensure!(status != 0 && denied.contains("EACCES"), "domU read dom0's key: {denied:?}");
    let (denied, status) = m.shell_status("xenstore write /local/domain/0/data/intruder x", SHELL_TIMEOUT)?;
    ensure!(status != 0 && denied.contains("EACCES"), "domU wrote outside its subtree: {denied:?}");
    m.shell("xenstore write data/mine ok", SHELL_TIMEOUT)?;
    ensure!(m.shell("xenstore read data/mine", SHELL_TIMEOUT)? == "ok", "domU's own subtree");
    // The boot configuration's paravirtual device (vled): frontend and backend directories as a
    // toolstack writes them, each side reading the other's.
    ensure!(m.shell("xenstore read device/vled/0/backend", SHELL_TIMEOUT)? == "/local/domain/0/backend/vled/1/0", "domU's vled frontend");
    ensure!(m.shell("xenstore read /local/domain/0/backend/vled/1/0/frontend-id", SHELL_TIMEOUT)? == "1", "domU reads its backend");
    let (denied, status) = m.shell_status("xenstore write /local/domain/0/backend/vled/1/0/state 4", SHELL_TIMEOUT)?;
    ensure!(status != 0 && denied.contains("EACCES"), "domU wrote its backend's state: {denied:?}");
    Ok(())
}

/// The monitor's grant line of `domain`: (mappings held, granted pages in use by others,
/// maps, unmaps).
fn grant_counters(m: &mut Machine, domain: &str) -> Result<[u64; 4]> {
    m.switch_input_to("Xen", SHELL_TIMEOUT)?;
    m.send("doms\r")?;
    let line = m.expect(
        &format!(r"\(XEN\) {domain} \(id \d\):.*\r?\n(?:\(XEN\)   (?:v\d|memory|event).*\r?\n)*\(XEN\)   grants: table \d+/\d+ frames, (\d+) granted pages in use by others, (\d+) mappings held \(\d+ orphaned\), (\d+) maps, (\d+) unmaps"),
        SHELL_TIMEOUT,
    )?;
    let field = |i| -> Result<u64> { Ok(line.get(i).context("grant counter")?.parse()?) };
    Ok([field(2)?, field(1)?, field(3)?, field(4)?])
}

#[test]
fn a_granted_page_is_mapped_across_both_ways() -> Result<()> {
    let mut m = both_domains("domains-grants")?;
    let [dom0_held, ..] = grant_counters(&mut m, "dom0")?;
    let [_, domu_in_use, ..] = grant_counters(&mut m, "domU1")?;
    // domU grants two pages to dom0 (page i filled with 0x5a + i) and waits for dom0's answer.
    to_domu(&mut m)?;
    m.send_line("grant offer --remote 0 --pages 2 --pattern 90 --expect-reply 165 > /tmp/offer 2>&1 &")?;
    let grefs = {
        let mut found = String::new();
        for _ in 0..50 {
            found = m.shell("cat /tmp/offer", SHELL_TIMEOUT)?;
            if found.starts_with("grefs:") {
                break;
            }
        }
        found.strip_prefix("grefs:").with_context(|| format!("domU's offer: {found:?}"))?.split_whitespace().collect::<Vec<_>>().join(",")
    };
    // dom0 maps them, checks domU's bytes, writes its own; a hundred maps and unmaps first.
    m.switch_input_to("DOM0", SHELL_TIMEOUT)?;
    m.wait_for_shell("dom0", SHELL_TIMEOUT)?;
    let repeated = m.shell(&format!("grant map --remote 1 --grefs {grefs} --expect 90 --repeat 100"), SHELL_TIMEOUT)?;
    ensure!(repeated.contains("mapped 2 page(s) from domain 1: contents ok"), "dom0's maps: {repeated}");
    let readonly = m.shell(&format!("grant map --remote 1 --grefs {grefs} --expect 90 --readonly"), SHELL_TIMEOUT)?;
    ensure!(readonly.contains("contents ok"), "read-only map: {readonly}");
    // The reply ends domU's offer: it revokes the grants once it sees it.
    let mapped = m.shell(&format!("grant map --remote 1 --grefs {grefs} --expect 90 --reply 165"), SHELL_TIMEOUT)?;
    ensure!(mapped.contains("mapped 2 page(s) from domain 1: contents ok, written"), "dom0's map: {mapped}");
    // Revoked grants cannot be mapped any more.
    let after = m.mark();
    let (revoked, status) = m.shell_status(&format!("sleep 1; grant map --remote 1 --grefs {grefs}"), SHELL_TIMEOUT)?;
    ensure!(status != 0, "a revoked grant was mapped: {revoked}");
    m.expect_since(after, r"\(XEN\) dom0: grant_table_op: map of grant \d+ of dom1 .*GeneralError", SHELL_TIMEOUT).context("the refused map is not logged")?;
    // domU saw dom0's bytes in its own pages.
    to_domu(&mut m)?;
    let offer = m.shell("wait; cat /tmp/offer", SHELL_TIMEOUT)?;
    ensure!(offer.contains("reply seen"), "domU's offer: {offer}");
    // Everything unmapped: dom0 holds what it held before, nothing of domU's is in use.
    let [held, _, maps, unmaps] = grant_counters(&mut m, "dom0")?;
    ensure!(held == dom0_held, "dom0 still holds {held} mappings (before: {dom0_held})");
    ensure!(maps >= 2 * 102 && maps - unmaps == held, "dom0's maps {maps}, unmaps {unmaps}");
    let [_, in_use, ..] = grant_counters(&mut m, "domU1")?;
    ensure!(in_use == domu_in_use, "{in_use} of domU's grants still pinned (before: {domu_in_use})");
    Ok(())
}

/// The monitor's `doms`: the hypervisor's heap in use, dom0's event channels in use, and
/// domU's state line.
fn hypervisor_counters(m: &mut Machine) -> Result<(u64, u64, String)> {
    m.switch_input_to("Xen", SHELL_TIMEOUT)?;
    let mark = m.mark();
    m.send("doms\r")?;
    let heap = m.expect_since(mark, r"\(XEN\) hypervisor heap: (\d+) of \d+ bytes in use", SHELL_TIMEOUT)?;
    let heap = heap.get(1).context("heap")?.parse()?;
    let dom0 = m.expect_since(mark, r"\(XEN\) dom0 \(id 0\):.*\r?\n(?:\(XEN\)   (?:v\d|memory).*\r?\n)*\(XEN\)   event channels: (\d+) in use", SHELL_TIMEOUT)?;
    let ports = dom0.get(1).context("ports")?.parse()?;
    let domu = m.expect_since(mark, r"\(XEN\) domU1 \(id 1\): (\w+),", SHELL_TIMEOUT)?;
    Ok((heap, ports, domu.get(1).context("state")?.to_string()))
}

#[test]
fn domu_is_destroyed_and_restarted_ten_times_without_leaks() -> Result<()> {
    let mut m = both_domains("domains-restart")?;
    let (_, dom0_ports, _) = hypervisor_counters(&mut m)?;
    // Destroy: domU stops, its xenstore entries go, dom0 sees its ports unbound.
    m.send("destroy 1\r")?;
    m.expect(r"\(XEN\) domU1 destroyed: \d+ event channel\(s\) closed", SHELL_TIMEOUT).context("destroy 1")?;
    let (_, _, state) = hypervisor_counters(&mut m)?;
    ensure!(state == "Destroyed", "domU after destroy: {state}");
    m.switch_input_to("DOM0", SHELL_TIMEOUT)?;
    m.wait_for_shell("dom0", SHELL_TIMEOUT)?;
    let domains = m.shell("xenstore ls /local/domain", SHELL_TIMEOUT)?;
    ensure!(domains.split_whitespace().collect::<Vec<_>>() == ["0"], "/local/domain after destroy: {domains:?}");
    let backends = m.shell("xenstore ls /local/domain/0/backend/vled", SHELL_TIMEOUT)?;
    ensure!(backends.is_empty(), "domU's vled backend after destroy: {backends:?}");
    let mut steady_heap = None;
    for round in 1..=10 {
        m.switch_input_to("Xen", SHELL_TIMEOUT)?;
        let mark = m.mark();
        m.send("restart 1\r")?;
        m.expect_since(mark, r"\(XEN\) domU1 restarted from its boot configuration", SHELL_TIMEOUT).with_context(|| format!("restart {round}"))?;
        m.expect_since(mark, r"^\[DOM-U\] Enter 'help' for a list of built-in commands", reptar_tests::BOOT_TIMEOUT)
            .with_context(|| format!("domU's shell after restart {round}"))?;
        to_domu(&mut m)?;
        ensure!(m.shell("xenstore read name", SHELL_TIMEOUT)? == "domU1", "domU's xenstore name after restart {round}");
        ensure!(m.shell("cat /sys/hypervisor/type", SHELL_TIMEOUT)? == "xen", "domU after restart {round}");
        // The next round restarts a running domU: destroyed first, then rebuilt.
        let (heap, ports, state) = hypervisor_counters(&mut m)?;
        ensure!(state == "Running", "domU after restart {round}: {state}");
        ensure!(ports == dom0_ports, "dom0's event channels after restart {round}: {ports} (at boot: {dom0_ports})");
        match steady_heap {
            None => steady_heap = Some(heap),
            Some(first) => ensure!(heap == first, "the hypervisor's heap grew: {heap} bytes after restart {round}, {first} after the first"),
        }
    }
    m.switch_input_to("DOM0", SHELL_TIMEOUT)?;
    m.wait_for_shell("dom0", SHELL_TIMEOUT)?;
    let domains = m.shell("xenstore ls /local/domain", SHELL_TIMEOUT)?;
    ensure!(domains.split_whitespace().collect::<Vec<_>>() == ["0", "1"], "/local/domain after the restarts: {domains:?}");
    ensure!(m.shell("xenstore read /local/domain/0/backend/vled/1/0/frontend", SHELL_TIMEOUT)? == "/local/domain/1/device/vled/0", "vled backend after the restarts");
    Ok(())
}

/// domU's balloon (Xen's xen_memory sysfs): its current size in KiB.
fn balloon_current_kb(m: &mut Machine) -> Result<u64> {
    Ok(m.shell("cat /sys/devices/system/xen_memory/xen_memory0/info/current_kb", SHELL_TIMEOUT)?.trim().parse()?)
}

#[test]
fn domu_gives_memory_back_and_takes_it_again() -> Result<()> {
    let mut m = both_domains("domains-balloon")?;
    to_domu(&mut m)?;
    let start = balloon_current_kb(&mut m)?;
    let target = "/sys/devices/system/xen_memory/xen_memory0/target_kb";
    // 16 MiB out (decrease_reservation), then back in (populate_physmap).
    m.shell(&format!("echo {} > {target}", start - 16 * 1024), SHELL_TIMEOUT)?;
    let mut now = start;
    for _ in 0..50 {
        now = balloon_current_kb(&mut m)?;
        if now <= start - 16 * 1024 {
            break;
        }
        m.shell("sleep 0.2", SHELL_TIMEOUT)?;
    }
    ensure!(now == start - 16 * 1024, "domU's balloon: {now} KiB, asked {} KiB", start - 16 * 1024);
    m.switch_input_to("Xen", SHELL_TIMEOUT)?;
    m.send("doms\r")?;
    m.expect(r"\(XEN\) domU1 \(id 1\):.*\r?\n\(XEN\)   memory: 16384 KiB of its RAM given back", SHELL_TIMEOUT).context("the hypervisor's count of domU's pages")?;
    to_domu(&mut m)?;
    m.shell(&format!("echo {start} > {target}"), SHELL_TIMEOUT)?;
    for _ in 0..50 {
        now = balloon_current_kb(&mut m)?;
        if now == start {
            break;
        }
        m.shell("sleep 0.2", SHELL_TIMEOUT)?;
    }
    ensure!(now == start, "domU's balloon back at {now} KiB, {start} asked");
    // The pages it took back are usable: fill 24 MiB of its RAM file system (a tmpfs of half
    // its RAM, the initramfs already in it), read it back.
    let sum = m.shell("dd if=/dev/zero of=/fill bs=1M count=24 2>/dev/null && wc -c < /fill && rm /fill", SHELL_TIMEOUT)?;
    ensure!(sum.trim() == "25165824", "domU's memory after the balloon: {sum}");
    let log = m.shell("dmesg | grep -ci 'warning\\|bug:' || true", SHELL_TIMEOUT)?;
    ensure!(log.trim() == "0", "kernel warnings in domU: {log}");
    Ok(())
}

#[test]
fn dom0_maps_a_page_of_domu_as_a_toolstack_does() -> Result<()> {
    let mut m = both_domains("domains-foreign")?;
    // domU's first page holds its kernel's Image header: the arm64 magic "ARM\x64" at 0x38.
    for _ in 0..3 {
        let peek = m.shell("grant peek --remote 1 --gfn 0x40000 --offset 56 --length 4", SHELL_TIMEOUT)?;
        ensure!(peek.ends_with("41 52 4d 64"), "dom0's view of domU's first page: {peek}");
    }
    // A frame that is not domU's RAM is refused, and said so.
    let (outside, status) = m.shell_status("grant peek --remote 1 --gfn 0x50000", SHELL_TIMEOUT)?;
    ensure!(status != 0 && outside.contains("Invalid argument"), "dom0 mapped a frame outside domU's RAM: {outside}");
    // domU has no such power (Linux's privcmd refuses, and so would the hypervisor).
    to_domu(&mut m)?;
    let (refused, status) = m.shell_status("grant peek --remote 0 --gfn 0xa0000", SHELL_TIMEOUT)?;
    ensure!(status != 0, "domU mapped dom0's memory: {refused}");
    Ok(())
}
