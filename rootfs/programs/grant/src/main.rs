//! grant: pages shared between two domains from their shells, through Linux's Xen grant
//! devices /dev/xen/gntalloc and /dev/xen/gntdev (include/uapi/xen/gntalloc.h, gntdev.h).
//!
//!     grant offer --remote DOMID [--pages N] [--pattern BYTE] [--expect-reply BYTE] [--timeout-ms MS]
//!         grant N writable pages (default 1) to DOMID, fill every byte of page i with
//!         BYTE + i (without --pattern they stay zero) and print `grefs: R0 R1 ...`; then wait
//!         until every byte of page i reads reply + i (`reply seen`, default timeout 20000 ms),
//!         or without --expect-reply until a line or EOF on stdin
//!     grant map --remote DOMID --grefs R0[,R1...] [--expect BYTE] [--reply BYTE] [--readonly] [--repeat N]
//!         map DOMID's grants, check that every byte of page i is expect + i, write reply + i
//!         to every byte of page i, unmap; N times (the reply only in the last round)
//!     grant peek --remote DOMID --gfn GFN [--offset N] [--length N]
//!         (dom0) map page GFN of DOMID's memory through /dev/xen/privcmd (a foreign mapping,
//!         as a toolstack maps a guest's memory: XENMEM_add_to_physmap_range,
//!         XENMAPSPACE_gmfn_foreign) and print LENGTH bytes (default 16) from OFFSET in hex
//!
//! Numbers are decimal (GFN also 0x hex), bytes 0-255, and page values wrap (255 + 1 is 0).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// _IOC(_IOC_NONE, 'G', nr, size) as the uapi headers define the ioctls (_IOC_NONE is 0).
const fn ioc(nr: u64, size: u64) -> u64 {
    (size << 16) | ((b'G' as u64) << 8) | nr
}
// Sizes are the aarch64 sizeof()s, tail padding included (checked with aarch64-linux-gnu-gcc).
const IOCTL_GNTDEV_MAP_GRANT_REF: u64 = ioc(0, 24); // 0x184700
const IOCTL_GNTDEV_UNMAP_GRANT_REF: u64 = ioc(1, 16); // 0x104701
const IOCTL_GNTALLOC_ALLOC_GREF: u64 = ioc(5, 24); // 0x184705
const IOCTL_GNTALLOC_DEALLOC_GREF: u64 = ioc(6, 16); // 0x104706
const GNTALLOC_FLAG_WRITABLE: u16 = 1;
/// _IOC(_IOC_NONE, 'P', 4, sizeof(struct privcmd_mmapbatch_v2)): { u32 num @0; u16 dom @4;
/// u64 addr @8; xen_pfn_t *arr @16; int *err @24 }, sizeof 32 on aarch64.
const IOCTL_PRIVCMD_MMAPBATCH_V2: u64 = (32 << 16) | ((b'P' as u64) << 8) | 4;

/// A grant device. Ioctl arguments are built byte by byte at the offsets of the C structures,
/// so padding and the variable-length tails are explicit.
struct Device(File);

impl Device {
    fn open(path: &str) -> Result<Self, String> {
        let file = OpenOptions::new().read(true).write(true).open(path);
        file.map(Device).map_err(|e| format!("cannot open {path}: {e} (is the Xen grant driver loaded?)"))
    }

    fn ioctl(&self, request: u64, arg: &mut [u8]) -> io::Result<()> {
        // SAFETY: the request is one of gntalloc.h's or gntdev.h's; callers size `arg` to at least
        // the sizeof() in the request and the variable array the kernel reads or writes after it,
        // and it lives for the call. The kernel copies in and out with no alignment requirement.
        let ret = unsafe { libc::ioctl(self.0.as_raw_fd(), request as _, arg.as_mut_ptr()) };
        if ret < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// gntalloc: grants `count` new writable pages to `remote`; returns the mmap offset and refs.
    fn alloc(&self, remote: u16, count: u32) -> io::Result<(u64, Vec<u32>)> {
        // struct ioctl_gntalloc_alloc_gref { u16 domid @0; u16 flags @2; u32 count @4;
        // u64 index @8; u32 gref_ids[count] @16 }, sizeof 24: the kernel writes all 24 back.
        let mut arg = vec![0; (16 + 4 * count as usize).max(24)];
        arg[0..2].copy_from_slice(&remote.to_ne_bytes());
        arg[2..4].copy_from_slice(&GNTALLOC_FLAG_WRITABLE.to_ne_bytes());
        arg[4..8].copy_from_slice(&count.to_ne_bytes());
        self.ioctl(IOCTL_GNTALLOC_ALLOC_GREF, &mut arg)?;
        let refs = arg[16..16 + 4 * count as usize].chunks_exact(4).map(|r| u32::from_ne_bytes(r.try_into().unwrap()));
        Ok((u64::from_ne_bytes(arg[8..16].try_into().unwrap()), refs.collect()))
    }

    /// gntalloc: drops this file's hold on `count` grants at `index`.
    fn dealloc(&self, index: u64, count: u32) -> io::Result<()> {
        // struct ioctl_gntalloc_dealloc_gref { u64 index @0; u32 count @8; } + 4 bytes padding.
        self.ioctl(IOCTL_GNTALLOC_DEALLOC_GREF, &mut index_count(index, count))
    }

    /// gntdev: reserves a mapping of `refs` granted by `remote`; returns the mmap offset.
    fn map_grant_refs(&self, remote: u16, refs: &[u32]) -> io::Result<u64> {
        // struct ioctl_gntdev_map_grant_ref { u32 count @0; u32 pad @4; u64 index @8;
        // struct { u32 domid; u32 ref; } refs[count] @16 }, sizeof 24.
        let mut arg = vec![0; 16 + 8 * refs.len()];
        arg[0..4].copy_from_slice(&(refs.len() as u32).to_ne_bytes());
        for (slot, gref) in arg[16..].chunks_exact_mut(8).zip(refs) {
            slot[0..4].copy_from_slice(&u32::from(remote).to_ne_bytes());
            slot[4..8].copy_from_slice(&gref.to_ne_bytes());
        }
        self.ioctl(IOCTL_GNTDEV_MAP_GRANT_REF, &mut arg)?;
        Ok(u64::from_ne_bytes(arg[8..16].try_into().unwrap()))
    }

    /// gntdev: releases the mapping of `count` grants at `index`.
    fn unmap_grant_refs(&self, index: u64, count: u32) -> io::Result<()> {
        // struct ioctl_gntdev_unmap_grant_ref { u64 index @0; u32 count @8; u32 pad @12; }.
        self.ioctl(IOCTL_GNTDEV_UNMAP_GRANT_REF, &mut index_count(index, count))
    }
}

fn index_count(index: u64, count: u32) -> [u8; 16] {
    let mut arg = [0; 16];
    arg[0..8].copy_from_slice(&index.to_ne_bytes());
    arg[8..12].copy_from_slice(&count.to_ne_bytes());
    arg
}

fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

/// A shared mapping of a grant device's pages, unmapped when dropped. The other domain may
/// change the bytes at any time, so they are read and written volatile, never through references.
struct Mapping {
    base: *mut u8,
    len: usize,
    writable: bool,
}

impl Mapping {
    fn new(device: &Device, offset: u64, len: usize, writable: bool) -> io::Result<Self> {
        let prot = if writable { libc::PROT_READ | libc::PROT_WRITE } else { libc::PROT_READ };
        let (fd, offset) = (device.0.as_raw_fd(), offset as libc::off_t);
        // SAFETY: a fresh shared mapping chosen by the kernel, of the device's pages at `offset`;
        // it overlaps nothing Rust owns.
        let base = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd, offset) };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping { base: base.cast(), len, writable })
    }

    fn get(&self, offset: usize) -> u8 {
        assert!(offset < self.len);
        // SAFETY: in bounds of the mapping, which is readable and lives as long as self.
        unsafe { self.base.add(offset).read_volatile() }
    }

    fn set(&self, offset: usize, value: u8) {
        assert!(offset < self.len && self.writable);
        // SAFETY: in bounds of the mapping, which is writable and lives as long as self.
        unsafe { self.base.add(offset).write_volatile(value) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: base and len are those mmap returned; nothing refers to the pages afterwards.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

/// The value every byte of page `page` holds when the pages carry `base`.
fn page_value(base: u8, page: usize) -> u8 {
    base.wrapping_add(page as u8)
}

/// The first byte that differs from the pattern `base` in `len` bytes of pages of `page_size`
/// read by `read`: (offset, found, expected).
fn first_mismatch(len: usize, page_size: usize, base: u8, read: impl Fn(usize) -> u8) -> Option<(usize, u8, u8)> {
    (0..len).map(|i| (i, read(i), page_value(base, i / page_size))).find(|&(_, found, expected)| found != expected)
}

fn describe((offset, found, expected): (usize, u8, u8), page_size: usize) -> String {
    format!("page {} offset {} holds {found}, expected {expected}", offset / page_size, offset % page_size)
}

fn fill(mapping: &Mapping, page_size: usize, base: u8) {
    (0..mapping.len).for_each(|i| mapping.set(i, page_value(base, i / page_size)));
}

fn offer(&Offer { remote, pages, pattern, expect_reply, timeout_ms }: &Offer) -> Result<(), String> {
    let gntalloc = Device::open("/dev/xen/gntalloc")?;
    let granted = gntalloc.alloc(remote, pages);
    let (index, refs) = granted.map_err(|e| format!("cannot grant {pages} page(s) to domain {remote}: {e}"))?;
    let page_size = page_size();
    let result = Mapping::new(&gntalloc, index, pages as usize * page_size, true)
        .map_err(|e| format!("cannot map the granted pages: {e}"))
        .and_then(|mapping| {
            if let Some(pattern) = pattern {
                fill(&mapping, page_size, pattern);
            }
            let refs: Vec<String> = refs.iter().map(u32::to_string).collect();
            println!("grefs: {}", refs.join(" "));
            io::stdout().flush().map_err(|e| e.to_string())?;
            match expect_reply {
                Some(reply) => wait_for_reply(&mapping, page_size, reply, timeout_ms),
                None => io::stdin().read_line(&mut String::new()).map(drop).map_err(|e| e.to_string()),
            }
        });
    let dealloc = gntalloc.dealloc(index, pages).map_err(|e| format!("cannot end the grants: {e}"));
    result.and(dealloc)
}

fn wait_for_reply(mapping: &Mapping, page_size: usize, reply: u8, timeout_ms: u64) -> Result<(), String> {
    let start = Instant::now();
    loop {
        match first_mismatch(mapping.len, page_size, reply, |i| mapping.get(i)) {
            None => {
                println!("reply seen");
                return Ok(());
            }
            Some(mismatch) if start.elapsed() >= Duration::from_millis(timeout_ms) => {
                return Err(format!("no reply {reply} within {timeout_ms} ms: {}", describe(mismatch, page_size)));
            }
            Some(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

fn map(&Map { remote, ref refs, expect, reply, readonly, repeat }: &Map) -> Result<(), String> {
    let gntdev = Device::open("/dev/xen/gntdev")?;
    let page_size = page_size();
    for round in 1..=repeat {
        let mapped = gntdev.map_grant_refs(remote, refs);
        let index = mapped.map_err(|e| format!("round {round}: cannot map grants {refs:?} of domain {remote}: {e}"))?;
        let result = Mapping::new(&gntdev, index, refs.len() * page_size, !readonly)
            .map_err(|e| format!("round {round}: cannot mmap grants {refs:?} of domain {remote}: {e}"))
            .and_then(|mapping| {
                let mismatch = expect.and_then(|base| first_mismatch(mapping.len, page_size, base, |i| mapping.get(i)));
                if let Some(mismatch) = mismatch {
                    return Err(format!("round {round}: {}", describe(mismatch, page_size)));
                }
                if let Some(reply) = reply.filter(|_| round == repeat) {
                    fill(&mapping, page_size, reply);
                }
                Ok(())
            });
        let unmap = gntdev.unmap_grant_refs(index, refs.len() as u32);
        result.and(unmap.map_err(|e| format!("round {round}: cannot unmap: {e}")))?;
    }
    let outcome = match (expect, reply) {
        (Some(_), Some(_)) => "contents ok, written",
        (_, Some(_)) => "written",
        _ => "contents ok",
    };
    println!("mapped {} page(s) from domain {remote}: {outcome}", refs.len());
    Ok(())
}

#[derive(Debug, PartialEq)]
struct Offer {
    remote: u16,
    pages: u32,
    pattern: Option<u8>,
    expect_reply: Option<u8>,
    timeout_ms: u64,
}

#[derive(Debug, PartialEq)]
struct Map {
    remote: u16,
    refs: Vec<u32>,
    expect: Option<u8>,
    reply: Option<u8>,
    readonly: bool,
    repeat: u32,
}

#[derive(Debug, PartialEq)]
struct Peek {
    remote: u16,
    gfn: u64,
    offset: usize,
    length: usize,
}

#[derive(Debug, PartialEq)]
enum Command {
    Offer(Offer),
    Map(Map),
    Peek(Peek),
}

/// Maps one page of `remote`'s memory through privcmd and prints bytes of it.
fn peek(&Peek { remote, gfn, offset, length }: &Peek) -> Result<(), String> {
    let page_size = page_size();
    if offset.checked_add(length).is_none_or(|end| end > page_size) {
        return Err(format!("--offset {offset} --length {length} go beyond the page ({page_size} bytes)"));
    }
    let privcmd = Device::open("/dev/xen/privcmd")?;
    // privcmd wants its own mapping first, then fills it with the foreign pages.
    let mapping = Mapping::new(&privcmd, 0, page_size, false).map_err(|e| format!("cannot mmap /dev/xen/privcmd: {e}"))?;
    let frames = [gfn];
    let mut errors = [0i32; 1];
    let mut arg = [0u8; 32];
    arg[0..4].copy_from_slice(&1u32.to_ne_bytes());
    arg[4..6].copy_from_slice(&remote.to_ne_bytes());
    arg[8..16].copy_from_slice(&(mapping.base as u64).to_ne_bytes());
    arg[16..24].copy_from_slice(&(frames.as_ptr() as u64).to_ne_bytes());
    arg[24..32].copy_from_slice(&(errors.as_mut_ptr() as u64).to_ne_bytes());
    privcmd
        .ioctl(IOCTL_PRIVCMD_MMAPBATCH_V2, &mut arg)
        .map_err(|e| format!("cannot map frame {gfn:#x} of domain {remote}: {e} (frame error {})", errors[0]))?;
    // MMAPBATCH_V2 succeeds as a whole and reports each frame's own error.
    if errors[0] != 0 {
        return Err(format!("cannot map frame {gfn:#x} of domain {remote}: {}", io::Error::from_raw_os_error(-errors[0])));
    }
    let bytes: Vec<String> = (offset..offset + length).map(|i| format!("{:02x}", mapping.get(i))).collect();
    println!("domain {remote} frame {gfn:#x} +{offset:#x}: {}", bytes.join(" "));
    Ok(())
}

const USAGE: &str = "usage: grant offer --remote DOMID [--pages N] [--pattern BYTE] [--expect-reply BYTE] [--timeout-ms MS]
       grant map --remote DOMID --grefs R0[,R1...] [--expect BYTE] [--reply BYTE] [--readonly] [--repeat N]
       grant peek --remote DOMID --gfn GFN [--offset N] [--length N]";

/// The flags after the subcommand: each of `valued` takes the next argument, each of
/// `switches` none; anything else, a repeated flag or a missing value is an error.
fn flags<'a>(args: &'a [String], valued: &[&str], switches: &[&str]) -> Result<Vec<(&'a str, &'a str)>, String> {
    let mut found: Vec<(&str, &str)> = Vec::new();
    let mut args = args.iter().map(String::as_str);
    while let Some(flag) = args.next() {
        let value = if valued.contains(&flag) {
            args.next().ok_or(format!("{flag} needs a value"))?
        } else if switches.contains(&flag) {
            ""
        } else {
            return Err(format!("unknown argument '{flag}'\n{USAGE}"));
        };
        if found.iter().any(|(f, _)| *f == flag) {
            return Err(format!("{flag} given twice"));
        }
        found.push((flag, value));
    }
    Ok(found)
}

/// The value of `flag` as a decimal number of type T, whose range `what` names.
fn value<T: FromStr>(flags: &[(&str, &str)], flag: &str, what: &str) -> Result<Option<T>, String> {
    match flags.iter().find(|(f, _)| *f == flag) {
        None => Ok(None),
        Some((_, v)) => v.parse().map(Some).map_err(|_| format!("{flag} takes {what}, not '{v}'")),
    }
}

fn parse(args: &[String]) -> Result<Command, String> {
    const BYTE: &str = "a byte value 0-255";
    let (command, rest) = args.split_first().ok_or(USAGE)?;
    let flags = match command.as_str() {
        "offer" => flags(rest, &["--remote", "--pages", "--pattern", "--expect-reply", "--timeout-ms"], &[])?,
        "map" => flags(rest, &["--remote", "--grefs", "--expect", "--reply", "--repeat"], &["--readonly"])?,
        "peek" => flags(rest, &["--remote", "--gfn", "--offset", "--length"], &[])?,
        _ => return Err(USAGE.into()),
    };
    let remote = value(&flags, "--remote", "a domain id 0-65535")?.ok_or("--remote DOMID is needed")?;
    let count = |flag| -> Result<u32, String> {
        match value(&flags, flag, "a count 1-4294967295")? {
            Some(0) => Err(format!("{flag} must be at least 1")),
            n => Ok(n.unwrap_or(1)),
        }
    };
    if command == "peek" {
        let gfn: String = value(&flags, "--gfn", "")?.ok_or("--gfn GFN is needed")?;
        let parsed = match gfn.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => gfn.parse(),
        };
        return Ok(Command::Peek(Peek {
            remote,
            gfn: parsed.map_err(|_| format!("--gfn takes a frame number, not '{gfn}'"))?,
            offset: value(&flags, "--offset", "a byte offset")?.unwrap_or(0),
            length: value(&flags, "--length", "a number of bytes")?.unwrap_or(16),
        }));
    }
    if command == "offer" {
        return Ok(Command::Offer(Offer {
            remote,
            pages: count("--pages")?,
            pattern: value(&flags, "--pattern", BYTE)?,
            expect_reply: value(&flags, "--expect-reply", BYTE)?,
            timeout_ms: value(&flags, "--timeout-ms", "a number of milliseconds")?.unwrap_or(20_000),
        }));
    }
    let grefs: String = value(&flags, "--grefs", "")?.ok_or("--grefs R0[,R1...] is needed")?;
    let bad_refs = || format!("--grefs takes grant references 0-4294967295 separated by commas, not '{grefs}'");
    let refs = grefs.split(',').map(|r| r.parse().map_err(|_| bad_refs())).collect::<Result<_, _>>()?;
    let (readonly, reply) = (flags.iter().any(|(f, _)| *f == "--readonly"), value(&flags, "--reply", BYTE)?);
    if readonly && reply.is_some() {
        return Err("--reply writes to the pages, which --readonly maps read-only".into());
    }
    let (expect, repeat) = (value(&flags, "--expect", BYTE)?, count("--repeat")?);
    Ok(Command::Map(Map { remote, refs, expect, reply, readonly, repeat }))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse(&args).and_then(|command| match command {
        Command::Offer(command) => offer(&command),
        Command::Map(command) => map(&command),
        Command::Peek(command) => peek(&command),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("grant: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Command, String> {
        parse(&line.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn peek_arguments() {
        assert_eq!(
            parse_str("peek --remote 1 --gfn 0x40000 --offset 56 --length 4"),
            Ok(Command::Peek(Peek { remote: 1, gfn: 0x40000, offset: 56, length: 4 }))
        );
        assert_eq!(parse_str("peek --remote 1 --gfn 12"), Ok(Command::Peek(Peek { remote: 1, gfn: 12, offset: 0, length: 16 })));
        assert!(parse_str("peek --remote 1").is_err());
        assert!(parse_str("peek --remote 1 --gfn 0xzz").is_err());
    }

    #[test]
    fn offer_defaults_and_values() {
        let offer = |pages, pattern, expect_reply, timeout_ms| {
            Command::Offer(Offer { remote: 1, pages, pattern, expect_reply, timeout_ms })
        };
        assert_eq!(parse_str("offer --remote 1"), Ok(offer(1, None, None, 20_000)));
        let full = "offer --remote 1 --pages 3 --pattern 250 --expect-reply 0 --timeout-ms 5";
        assert_eq!(parse_str(full), Ok(offer(3, Some(250), Some(0), 5)));
    }

    #[test]
    fn map_values() {
        let line = "map --readonly --remote 0 --grefs 8,9,10 --expect 7 --repeat 100";
        let map = Map { remote: 0, refs: vec![8, 9, 10], expect: Some(7), reply: None, readonly: true, repeat: 100 };
        assert_eq!(parse_str(line), Ok(Command::Map(map)));
        let map = Map { remote: 1, refs: vec![8], expect: None, reply: Some(255), readonly: false, repeat: 1 };
        assert_eq!(parse_str("map --remote 1 --grefs 8 --reply 255"), Ok(Command::Map(map)));
    }

    #[test]
    fn bad_arguments_are_explained() {
        for (line, error) in [
            ("", "usage"),
            ("share --remote 1", "usage"),
            ("offer", "--remote DOMID is needed"),
            ("offer --remote 70000", "--remote takes a domain id"),
            ("offer --remote 1 --pattern 256", "--pattern takes a byte value 0-255, not '256'"),
            ("offer --remote 1 --pages 0", "--pages must be at least 1"),
            ("offer --remote 1 --pages", "--pages needs a value"),
            ("offer --remote 1 --remote 2", "--remote given twice"),
            ("offer --remote 1 --readonly", "unknown argument '--readonly'"),
            ("map --remote 1", "--grefs R0[,R1...] is needed"),
            ("map --remote 1 --grefs 8,,9", "not '8,,9'"),
            ("map --remote 1 --grefs 8 --repeat 0", "--repeat must be at least 1"),
            ("map --remote 1 --grefs 8 --readonly --reply 1", "--readonly maps read-only"),
        ] {
            let got = parse_str(line).unwrap_err();
            assert!(got.contains(error), "{line:?}: {got:?}");
        }
    }

    #[test]
    fn pattern_wraps_per_page_and_reports_the_first_mismatch() {
        let mut pages: Vec<u8> = (0..3 * 16).map(|i| page_value(254, i / 16)).collect();
        assert_eq!(&pages[14..18], &[254, 254, 255, 255]);
        assert_eq!(pages[47], 0);
        assert_eq!(first_mismatch(pages.len(), 16, 254, |i| pages[i]), None);
        pages[37] = 9;
        pages[40] = 9;
        let mismatch = first_mismatch(pages.len(), 16, 254, |i| pages[i]);
        assert_eq!(mismatch, Some((37, 9, 0)));
        assert_eq!(describe(mismatch.unwrap(), 16), "page 2 offset 5 holds 9, expected 0");
    }

    #[test]
    fn a_shared_mapping_is_filled_and_checked() {
        let path = std::env::temp_dir().join(format!("grant-test-{}", std::process::id()));
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path).unwrap();
        let page_size = page_size();
        file.set_len(2 * page_size as u64).unwrap();
        let device = Device(file);
        let mapping = Mapping::new(&device, 0, 2 * page_size, true).unwrap();
        fill(&mapping, page_size, 255);
        assert_eq!(first_mismatch(mapping.len, page_size, 255, |i| mapping.get(i)), None);
        drop(mapping);
        let readonly = Mapping::new(&device, 0, 2 * page_size, false).unwrap();
        assert_eq!((readonly.get(0), readonly.get(page_size)), (255, 0));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn ioctl_numbers_match_the_uapi_headers() {
        assert_eq!(IOCTL_GNTDEV_MAP_GRANT_REF, 0x184700);
        assert_eq!(IOCTL_GNTDEV_UNMAP_GRANT_REF, 0x104701);
        assert_eq!(IOCTL_GNTALLOC_ALLOC_GREF, 0x184705);
        assert_eq!(IOCTL_GNTALLOC_DEALLOC_GREF, 0x104706);
        assert_eq!(index_count(0x1000, 2)[8..], [2, 0, 0, 0, 0, 0, 0, 0]);
    }
}
