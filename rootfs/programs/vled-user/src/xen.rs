//! The three Linux Xen devices a user-space frontend needs: /dev/xen/xenbus (the store),
//! /dev/xen/evtchn (an event channel), /dev/xen/gntalloc (a page granted to another domain).
//! Ioctl arguments are built at the offsets of the uapi structures, as the grant and evtchn
//! tools do.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::ptr::NonNull;

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
    pub fn new(remote: u16) -> io::Result<Self> {
        let file = open("/dev/xen/gntalloc")?;
        // struct ioctl_gntalloc_alloc_gref { u16 domid @0; u16 flags @2; u32 count @4;
        // u64 index @8; u32 gref_ids[1] @16 }, sizeof 24.
        let mut arg = [0u8; 24];
        arg[0..2].copy_from_slice(&remote.to_ne_bytes());
        arg[2..4].copy_from_slice(&GNTALLOC_FLAG_WRITABLE.to_ne_bytes());
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
            eprintln!("vled-user: cannot end grant {}: {e}", self.gref);
        }
    }
}

pub fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
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
}
