//! xenstore: the store from a domain's shell, through Linux's /dev/xen/xenbus (which passes
//! xs_wire messages to the store and returns its replies).
//!
//!     xenstore read PATH          print the value
//!     xenstore write PATH VALUE   set it
//!     xenstore ls PATH            list the children
//!     xenstore rm PATH            remove the node and its children
//!     xenstore mkdir PATH
//!     xenstore watch PATH [N]     print each watch event (N of them, default forever)
//!     xenstore perms PATH         print the permissions
//!     xenstore domid              this domain's id (from the store: `domid`)
//!     xenstore txn-conflict PATH  show a transaction conflict: two transactions write PATH,
//!                                 the second to end must get EAGAIN
//!     xenstore bench-read PATH [N]  read PATH N times (default 1000), print the round trip's
//!                                 median and p99 (generic timer, guest time)
//!
//! Exit status 1 with the store's error (ENOENT, EACCES, ...) on stderr when a request fails.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::process::ExitCode;

/// xs_wire.h message types.
mod msg {
    pub const DIRECTORY: u32 = 1;
    pub const READ: u32 = 2;
    pub const GET_PERMS: u32 = 3;
    pub const WATCH: u32 = 4;
    pub const TRANSACTION_START: u32 = 6;
    pub const TRANSACTION_END: u32 = 7;
    pub const WRITE: u32 = 11;
    pub const MKDIR: u32 = 12;
    pub const RM: u32 = 13;
    pub const ERROR: u32 = 16;
    pub const WATCH_EVENT: u32 = 15;
}
const HEADER: usize = 16;
const PAYLOAD_MAX: usize = 4096;

struct Xenbus {
    device: std::fs::File,
    next_id: u32,
}

#[derive(Debug)]
enum Error {
    Io(io::Error),
    Store(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Io(e) => write!(f, "/dev/xen/xenbus: {e}"),
            Error::Store(e) => write!(f, "{e}"),
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

struct Reply {
    kind: u32,
    payload: Vec<u8>,
}

impl Xenbus {
    fn open() -> Result<Self, Error> {
        let device = OpenOptions::new().read(true).write(true).open("/dev/xen/xenbus")?;
        Ok(Xenbus { device, next_id: 1 })
    }

    fn send(&mut self, kind: u32, tx: u32, fields: &[&[u8]]) -> Result<u32, Error> {
        let payload: Vec<u8> = fields.concat();
        if payload.len() > PAYLOAD_MAX {
            return Err(Error::Store("request too long".into()));
        }
        let id = self.next_id;
        self.next_id += 1;
        let mut message = Vec::with_capacity(HEADER + payload.len());
        for word in [kind, id, tx, payload.len() as u32] {
            message.extend_from_slice(&word.to_le_bytes());
        }
        message.extend_from_slice(&payload);
        self.device.write_all(&message)?;
        Ok(id)
    }

    fn receive(&mut self) -> Result<Reply, Error> {
        let mut header = [0u8; HEADER];
        self.device.read_exact(&mut header)?;
        let word = |i: usize| u32::from_le_bytes(header[i * 4..i * 4 + 4].try_into().unwrap());
        let len = word(3) as usize;
        if len > PAYLOAD_MAX {
            return Err(Error::Store(format!("reply of {len} bytes")));
        }
        let mut payload = vec![0u8; len];
        self.device.read_exact(&mut payload)?;
        Ok(Reply { kind: word(0), payload })
    }

    /// One request and its reply (watch events in between are not expected here).
    fn request(&mut self, kind: u32, tx: u32, fields: &[&[u8]]) -> Result<Vec<u8>, Error> {
        self.send(kind, tx, fields)?;
        loop {
            let reply = self.receive()?;
            match reply.kind {
                msg::WATCH_EVENT => continue,
                msg::ERROR => return Err(Error::Store(text(&reply.payload))),
                _ => return Ok(reply.payload),
            }
        }
    }
}

/// A payload as text: NUL-separated fields joined by newlines, the final NUL dropped.
fn text(payload: &[u8]) -> String {
    let trimmed = payload.strip_suffix(&[0]).unwrap_or(payload);
    String::from_utf8_lossy(trimmed).replace('\0', "\n")
}

fn nul(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn run(args: &[String]) -> Result<(), Error> {
    let usage = || Error::Store("usage: xenstore read|write|ls|rm|mkdir|watch|perms|domid|txn-conflict|bench-read PATH [VALUE|N]".into());
    let command = args.first().ok_or_else(usage)?.as_str();
    let path = args.get(1).map(String::as_str);
    let mut bus = Xenbus::open()?;
    match (command, path) {
        ("read", Some(path)) => println!("{}", text(&bus.request(msg::READ, 0, &[&nul(path)])?)),
        ("write", Some(path)) => {
            let value = args.get(2).ok_or_else(usage)?;
            bus.request(msg::WRITE, 0, &[&nul(path), value.as_bytes()])?;
        }
        ("ls", Some(path)) => {
            let children = text(&bus.request(msg::DIRECTORY, 0, &[&nul(path)])?);
            if !children.is_empty() {
                println!("{children}");
            }
        }
        ("rm", Some(path)) => drop(bus.request(msg::RM, 0, &[&nul(path)])?),
        ("mkdir", Some(path)) => drop(bus.request(msg::MKDIR, 0, &[&nul(path)])?),
        ("perms", Some(path)) => println!("{}", text(&bus.request(msg::GET_PERMS, 0, &[&nul(path)])?)),
        ("domid", None) => println!("{}", text(&bus.request(msg::READ, 0, &[&nul("domid")])?)),
        ("watch", Some(path)) => {
            let count: Option<u64> = args.get(2).and_then(|n| n.parse().ok());
            // The store fires the watch once when it is set, possibly before its reply: take
            // every message as it comes.
            bus.send(msg::WATCH, 0, &[&nul(path), &nul("xenstore-tool")])?;
            let mut seen = 0;
            while count.is_none_or(|n| seen < n) {
                let reply = bus.receive()?;
                if reply.kind == msg::ERROR {
                    return Err(Error::Store(text(&reply.payload)));
                }
                if reply.kind == msg::WATCH_EVENT {
                    let fields = text(&reply.payload);
                    println!("{}", fields.lines().next().unwrap_or(""));
                    io::stdout().flush()?;
                    seen += 1;
                }
            }
        }
        ("txn-conflict", Some(path)) => {
            let first: u32 = text(&bus.request(msg::TRANSACTION_START, 0, &[b"\0"])?).trim().parse().map_err(|_| Error::Store("bad transaction id".into()))?;
            let second: u32 = text(&bus.request(msg::TRANSACTION_START, 0, &[b"\0"])?).trim().parse().map_err(|_| Error::Store("bad transaction id".into()))?;
            let _ = bus.request(msg::READ, first, &[&nul(path)]);
            let _ = bus.request(msg::READ, second, &[&nul(path)]);
            bus.request(msg::WRITE, first, &[&nul(path), b"first"])?;
            bus.request(msg::WRITE, second, &[&nul(path), b"second"])?;
            bus.request(msg::TRANSACTION_END, first, &[b"T\0"])?;
            println!("first transaction committed");
            match bus.request(msg::TRANSACTION_END, second, &[b"T\0"]) {
                Ok(_) => println!("second transaction committed"),
                Err(Error::Store(e)) => println!("second transaction: {e}"),
                Err(e) => return Err(e),
            }
        }
        ("bench-read", Some(path)) => {
            let count: usize = args.get(2).map_or(Ok(1000), |n| n.parse()).map_err(|_| usage())?;
            let frequency = generic_timer::now().frequency;
            let mut ticks = Vec::with_capacity(count);
            for _ in 0..count {
                let start = generic_timer::now().ticks;
                bus.request(msg::READ, 0, &[&nul(path)])?;
                ticks.push(generic_timer::now().ticks - start);
            }
            if let Some((median, p99)) = generic_timer::median_p99_micros(&mut ticks, frequency) {
                println!("{count} reads of {path}: median {median:.1} us, p99 {p99:.1} us (guest time)");
            }
        }
        _ => return Err(usage()),
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xenstore: {error}");
            ExitCode::FAILURE
        }
    }
}
