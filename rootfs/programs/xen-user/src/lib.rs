//! xen-user: what a frontend in user space needs from Linux's Xen devices, shared by the
//! programs that play one to test a backend (vled-user, pv-user):
//!
//! - [`Xenbus`]: the store, through /dev/xen/xenbus (one request at a time), and
//!   [`wait_state`] for the other end's xenbus `state`;
//! - [`EventChannel`]: a port allocated unbound for the backend's domain (/dev/xen/evtchn);
//! - [`GrantedPage`]: a zeroed page granted to the backend's domain (/dev/xen/gntalloc);
//! - [`LockedPages`]: anonymous memory locked in place, with the frame number of each page
//!   (/proc/self/pagemap), for protocols that name memory by frame rather than by grant (vfb).
//!
//! Ioctl arguments are built at the offsets of the uapi structures, as the grant and evtchn
//! tools do.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

fn open(path: &str) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))
}

fn ioctl<T>(file: &File, request: u64, arg: *mut T) -> io::Result<i32> {
    // SAFETY: callers pass one of the uapi requests with `arg` pointing at a live buffer at least
    // as large as the structure it names (and its variable tail), for the call.
    let ret = unsafe { libc::ioctl(file.as_raw_fd(), request as _, arg) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

// ---------------------------------------------------------------------------------------------
// Xenstore (xs_wire.h over /dev/xen/xenbus).
// ---------------------------------------------------------------------------------------------

const XS_READ: u32 = 2;
const XS_WRITE: u32 = 11;
const XS_RM: u32 = 13;
const XS_ERROR: u32 = 16;
const XS_WATCH_EVENT: u32 = 15;
const XS_HEADER: usize = 16;
const XS_PAYLOAD_MAX: usize = 4096;

/// The store, one request at a time (no transaction, no watch).
pub struct Xenbus {
    device: File,
    next_id: u32,
}

impl Xenbus {
    pub fn open() -> io::Result<Self> {
        Ok(Xenbus { device: open("/dev/xen/xenbus")?, next_id: 1 })
    }

    /// One request; its reply's payload, or the store's error (ENOENT, EACCES...) as
    /// `io::ErrorKind::Other` with that text.
    fn request(&mut self, kind: u32, fields: &[&[u8]]) -> io::Result<Vec<u8>> {
        let payload = fields.concat();
        if payload.len() > XS_PAYLOAD_MAX {
            return Err(io::Error::other("xenstore request too long"));
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let mut message = Vec::with_capacity(XS_HEADER + payload.len());
        for word in [kind, id, 0, payload.len() as u32] {
            message.extend_from_slice(&word.to_le_bytes());
        }
        message.extend_from_slice(&payload);
        self.device.write_all(&message)?;
        loop {
            let mut header = [0u8; XS_HEADER];
            self.device.read_exact(&mut header)?;
            let word = |i: usize| u32::from_le_bytes(header[i * 4..i * 4 + 4].try_into().unwrap());
            let len = word(3) as usize;
            if len > XS_PAYLOAD_MAX {
                return Err(io::Error::other(format!("xenstore reply of {len} bytes")));
            }
            let mut payload = vec![0u8; len];
            self.device.read_exact(&mut payload)?;
            match word(0) {
                XS_WATCH_EVENT => continue,
                XS_ERROR => {
                    let error = String::from_utf8_lossy(payload.strip_suffix(&[0]).unwrap_or(&payload)).into_owned();
                    return Err(io::Error::other(error));
                }
                _ => return Ok(payload),
            }
        }
    }

    /// The value at `path`; `None` if the store says ENOENT.
    pub fn read(&mut self, path: &str) -> io::Result<Option<Vec<u8>>> {
        match self.request(XS_READ, &[&nul(path)]) {
            Ok(mut value) => {
                if value.last() == Some(&0) {
                    value.pop();
                }
                Ok(Some(value))
            }
            Err(e) if e.to_string() == "ENOENT" => Ok(None),
            Err(e) => Err(io::Error::new(e.kind(), format!("read {path}: {e}"))),
        }
    }

    pub fn write(&mut self, path: &str, value: &str) -> io::Result<()> {
        self.request(XS_WRITE, &[&nul(path), value.as_bytes()])
            .map(drop)
            .map_err(|e| io::Error::new(e.kind(), format!("write {path}: {e}")))
    }

    /// Removes `path`; a missing node is not an error.
    pub fn remove(&mut self, path: &str) -> io::Result<()> {
        match self.request(XS_RM, &[&nul(path)]) {
            Err(e) if e.to_string() != "ENOENT" => Err(io::Error::new(e.kind(), format!("rm {path}: {e}"))),
            _ => Ok(()),
        }
    }
}

/// The xenbus states (xen/interface/io/xenbus.h), as the store holds them (decimal).
pub mod state {
    pub const UNKNOWN: u32 = 0;
    pub const INITIALISING: u32 = 1;
    pub const INIT_WAIT: u32 = 2;
    pub const INITIALISED: u32 = 3;
    pub const CONNECTED: u32 = 4;
    pub const CLOSING: u32 = 5;
    pub const CLOSED: u32 = 6;

    /// "InitWait (2)", as the programs print states.
    pub fn name(state: u32) -> String {
        let name = match state {
            UNKNOWN => "Unknown",
            INITIALISING => "Initialising",
            INIT_WAIT => "InitWait",
            INITIALISED => "Initialised",
            CONNECTED => "Connected",
            CLOSING => "Closing",
            CLOSED => "Closed",
            7 => "Reconfiguring",
            8 => "Reconfigured",
            _ => "bad state",
        };
        format!("{name} ({state})")
    }

    /// A `state` key's value; Unknown (0) for a missing key or anything but a number.
    pub fn parse(value: Option<&[u8]>) -> u32 {
        value.and_then(|v| std::str::from_utf8(v).ok()).and_then(|v| v.trim().parse().ok()).unwrap_or(UNKNOWN)
    }
}

/// Polls `dir`/state every 10 ms until `done` accepts it, or `timeout`: whether it did, and the
/// last state read.
pub fn wait_state(bus: &mut Xenbus, dir: &str, timeout: Duration, done: impl Fn(u32) -> bool) -> io::Result<(bool, u32)> {
    let deadline = Instant::now() + timeout;
    let key = format!("{dir}/state");
    loop {
        let now = state::parse(bus.read(&key)?.as_deref());
        if done(now) {
            return Ok((true, now));
        }
        if Instant::now() >= deadline {
            return Ok((false, now));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn nul(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

// ---------------------------------------------------------------------------------------------
// Event channels (include/uapi/xen/evtchn.h).
// ---------------------------------------------------------------------------------------------

/// _IOC(_IOC_NONE, 'E', nr, size).
const fn evtchn_ioc(nr: u64, size: u64) -> u64 {
    (size << 16) | ((b'E' as u64) << 8) | nr
}
const IOCTL_EVTCHN_BIND_UNBOUND_PORT: u64 = evtchn_ioc(2, 4);
const IOCTL_EVTCHN_NOTIFY: u64 = evtchn_ioc(4, 4);

/// One event channel allocated unbound toward a remote domain. Closing the file closes it.
pub struct EventChannel {
    file: File,
    port: u32,
    /// Notifications sent and events received, for the report.
    pub sent: u64,
    pub received: u64,
}

impl EventChannel {
    /// A port `remote` may bind (`evtchn_alloc_unbound`).
    pub fn alloc_unbound(remote: u16) -> io::Result<Self> {
        let file = open("/dev/xen/evtchn")?;
        let mut arg = [u32::from(remote)];
        let port = ioctl(&file, IOCTL_EVTCHN_BIND_UNBOUND_PORT, arg.as_mut_ptr())
            .map_err(|e| io::Error::new(e.kind(), format!("cannot allocate an event channel for domain {remote}: {e}")))?;
        Ok(EventChannel { file, port: port as u32, sent: 0, received: 0 })
    }

    pub fn port(&self) -> u32 {
        self.port
    }

    pub fn notify(&mut self) -> io::Result<()> {
        let mut arg = [self.port];
        ioctl(&self.file, IOCTL_EVTCHN_NOTIFY, arg.as_mut_ptr())?;
        self.sent += 1;
        Ok(())
    }

    /// Waits at most `ms` milliseconds for an event; true if one came (it is unmasked again).
    pub fn wait(&mut self, ms: i32) -> io::Result<bool> {
        let mut poll = libc::pollfd { fd: self.file.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd, for the call.
        let ready = unsafe { libc::poll(&mut poll, 1, ms) };
        if ready < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted { Ok(false) } else { Err(e) };
        }
        if ready == 0 {
            return Ok(false);
        }
        // Each read returns pending ports (masked until written back).
        let mut ports = [0u8; 4 * 16];
        let n = self.file.read(&mut ports)?;
        for port in ports[..n - n % 4].chunks_exact(4) {
            self.file.write_all(port)?;
            self.received += 1;
        }
        Ok(true)
    }
}

// ---------------------------------------------------------------------------------------------
// Granted page (include/uapi/xen/gntalloc.h).
// ---------------------------------------------------------------------------------------------

/// _IOC(_IOC_NONE, 'G', nr, size); sizes are aarch64's sizeof()s.
const fn gnt_ioc(nr: u64, size: u64) -> u64 {
    (size << 16) | ((b'G' as u64) << 8) | nr
}
const IOCTL_GNTALLOC_ALLOC_GREF: u64 = gnt_ioc(5, 24);
const IOCTL_GNTALLOC_DEALLOC_GREF: u64 = gnt_ioc(6, 16);
const GNTALLOC_FLAG_WRITABLE: u16 = 1;

/// One zeroed page granted read-write to a remote domain and mapped here. Dropping it unmaps
/// the page and ends the grant (Linux frees the page once the remote domain unmapped it too).
pub struct GrantedPage {
    file: File,
    index: u64,
    gref: u32,
    base: NonNull<u8>,
    len: usize,
}

impl GrantedPage {
    /// A page `remote` may map read-write.
    pub fn new(remote: u16) -> io::Result<Self> {
        Self::with_access(remote, true)
    }

    /// A page `remote` may map read-write, or only read (`writable` false).
    pub fn with_access(remote: u16, writable: bool) -> io::Result<Self> {
        let file = open("/dev/xen/gntalloc")?;
        // struct ioctl_gntalloc_alloc_gref { u16 domid @0; u16 flags @2; u32 count @4;
        // u64 index @8; u32 gref_ids[1] @16 }, sizeof 24.
        let mut arg = [0u8; 24];
        arg[0..2].copy_from_slice(&remote.to_ne_bytes());
        let flags = if writable { GNTALLOC_FLAG_WRITABLE } else { 0 };
        arg[2..4].copy_from_slice(&flags.to_ne_bytes());
        arg[4..8].copy_from_slice(&1u32.to_ne_bytes());
        ioctl(&file, IOCTL_GNTALLOC_ALLOC_GREF, arg.as_mut_ptr())
            .map_err(|e| io::Error::new(e.kind(), format!("cannot grant a page to domain {remote}: {e}")))?;
        let index = u64::from_ne_bytes(arg[8..16].try_into().unwrap());
        let gref = u32::from_ne_bytes(arg[16..20].try_into().unwrap());
        let len = page_size();
        // SAFETY: a fresh shared mapping of the granted page, overlapping nothing Rust owns.
        let base = unsafe {
            libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, file.as_raw_fd(), index as libc::off_t)
        };
        if base == libc::MAP_FAILED {
            let e = io::Error::last_os_error();
            let _ = dealloc(&file, index);
            return Err(io::Error::new(e.kind(), format!("cannot map the granted page: {e}")));
        }
        let base = NonNull::new(base.cast()).expect("mmap does not return NULL on success");
        Ok(GrantedPage { file, index, gref, base, len })
    }

    pub fn gref(&self) -> u32 {
        self.gref
    }

    /// The mapping: `len` bytes at `base`, valid while `self` lives.
    pub fn memory(&self) -> (NonNull<u8>, usize) {
        (self.base, self.len)
    }
}

fn dealloc(file: &File, index: u64) -> io::Result<i32> {
    // struct ioctl_gntalloc_dealloc_gref { u64 index @0; u32 count @8; } + 4 bytes padding.
    let mut arg = [0u8; 16];
    arg[0..8].copy_from_slice(&index.to_ne_bytes());
    arg[8..12].copy_from_slice(&1u32.to_ne_bytes());
    ioctl(file, IOCTL_GNTALLOC_DEALLOC_GREF, arg.as_mut_ptr())
}

impl Drop for GrantedPage {
    fn drop(&mut self) {
        // SAFETY: base and len are what mmap returned; nothing uses the page afterwards.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
        if let Err(e) = dealloc(&self.file, self.index) {
            eprintln!("xen-user: cannot end grant {}: {e}", self.gref);
        }
    }
}

pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

// ---------------------------------------------------------------------------------------------
// Locked memory and its frame numbers (Documentation/admin-guide/mm/pagemap.rst).
// ---------------------------------------------------------------------------------------------

/// `/proc/self/pagemap`: bit 63 "page present", bits 0-54 the page frame number (zero unless
/// the reader has CAP_SYS_ADMIN).
const PAGEMAP_PRESENT: u64 = 1 << 63;
const PAGEMAP_PFN_MASK: u64 = (1 << 55) - 1;

/// The frame number in a pagemap entry: `None` if the page is not present or the number is
/// hidden (read as 0 without CAP_SYS_ADMIN).
pub fn pagemap_frame(entry: u64) -> Option<u64> {
    let pfn = entry & PAGEMAP_PFN_MASK;
    (entry & PAGEMAP_PRESENT != 0 && pfn != 0).then_some(pfn)
}

/// Zeroed anonymous pages, locked in memory (mlock: neither swapped nor moved while locked),
/// and the frame number of each. In an auto-translated guest (every arm64 domain) that is the
/// guest frame number the hypervisor knows the page by: what a protocol that names memory by
/// frame (vfb's `page-ref` and page directory) writes. Unmapped when dropped.
pub struct LockedPages {
    base: NonNull<u8>,
    len: usize,
    frames: Vec<u64>,
}

impl LockedPages {
    pub fn new(pages: usize) -> io::Result<Self> {
        let page = page_size();
        let len = pages.checked_mul(page).filter(|&l| l > 0).ok_or_else(|| io::Error::other("bad page count"))?;
        // SAFETY: a fresh private anonymous mapping, overlapping nothing Rust owns.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(base.cast::<u8>()).expect("mmap does not return NULL on success");
        let mut locked = LockedPages { base, len, frames: Vec::new() };
        // SAFETY: the mapping made above.
        if unsafe { libc::mlock(base.as_ptr().cast(), len) } != 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(e.kind(), format!("mlock of {pages} pages: {e}")));
        }
        for i in 0..pages {
            // SAFETY: inside the mapping; a write makes each page the process's own (not the
            // shared zero page).
            unsafe { base.as_ptr().add(i * page).write_volatile(0) };
        }
        locked.frames = read_frames(base.as_ptr() as usize, pages)?;
        Ok(locked)
    }

    /// The frame number of page `i`.
    pub fn frame(&self, i: usize) -> u64 {
        self.frames[i]
    }

    pub fn frames(&self) -> &[u64] {
        &self.frames
    }

    /// The mapping: `len` bytes at `base`, valid while `self` lives.
    pub fn memory(&self) -> (NonNull<u8>, usize) {
        (self.base, self.len)
    }

    /// Page `i` of the mapping.
    pub fn page(&self, i: usize) -> NonNull<u8> {
        assert!(i < self.frames.len(), "page {i} of {}", self.frames.len());
        // SAFETY: inside the mapping (checked).
        unsafe { self.base.add(i * page_size()) }
    }
}

impl Drop for LockedPages {
    fn drop(&mut self) {
        // SAFETY: base and len are what mmap returned; nothing uses the pages afterwards.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

/// The frame numbers of `pages` pages from `addr`, from /proc/self/pagemap.
fn read_frames(addr: usize, pages: usize) -> io::Result<Vec<u64>> {
    use std::os::unix::fs::FileExt;
    let pagemap = File::open("/proc/self/pagemap").map_err(|e| io::Error::new(e.kind(), format!("/proc/self/pagemap: {e}")))?;
    let mut entries = vec![0u8; pages * 8];
    pagemap.read_exact_at(&mut entries, (addr / page_size()) as u64 * 8)?;
    entries
        .chunks_exact(8)
        .enumerate()
        .map(|(i, entry)| {
            let entry = u64::from_ne_bytes(entry.try_into().unwrap());
            pagemap_frame(entry).ok_or_else(|| {
                io::Error::other(format!("page {i} has no frame number in /proc/self/pagemap ({entry:#x}): not root?"))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_match_the_uapi_headers() {
        assert_eq!(IOCTL_EVTCHN_BIND_UNBOUND_PORT, 0x44502);
        assert_eq!(IOCTL_EVTCHN_NOTIFY, 0x44504);
        assert_eq!(IOCTL_GNTALLOC_ALLOC_GREF, 0x184705);
        assert_eq!(IOCTL_GNTALLOC_DEALLOC_GREF, 0x104706);
    }

    #[test]
    fn pagemap_entries() {
        assert_eq!(pagemap_frame(PAGEMAP_PRESENT | 0x40123), Some(0x40123));
        // Soft-dirty (55) and exclusive (56) bits are not the frame's.
        assert_eq!(pagemap_frame(PAGEMAP_PRESENT | (1 << 55) | (1 << 56) | 0x40123), Some(0x40123));
        assert_eq!(pagemap_frame(0x40123), None, "not present");
        assert_eq!(pagemap_frame(PAGEMAP_PRESENT), None, "hidden without CAP_SYS_ADMIN");
    }

    #[test]
    fn states() {
        assert_eq!(state::parse(Some(b"4")), state::CONNECTED);
        assert_eq!(state::parse(None), state::UNKNOWN);
        assert_eq!(state::parse(Some(b"x")), state::UNKNOWN);
        assert_eq!(state::name(2), "InitWait (2)");
    }
}
