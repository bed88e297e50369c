//! evtchn: event channels between two domains from their shells, through Linux's
//! /dev/xen/evtchn (include/uapi/xen/evtchn.h).
//!
//!     evtchn serve --remote DOMID [--count N]
//!         allocate a port the remote domain may bind, print it, and answer every
//!         notification with one (N of them, default forever)
//!     evtchn ping --remote DOMID --port PORT [--count N]
//!         bind to that port, send N notifications (default 10000), each waiting for the
//!         answer; print the round-trip times (generic timer, guest time)

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::process::ExitCode;

/// _IOC(_IOC_NONE, 'E', nr, size) as the uapi header defines the ioctls.
const fn ioc(nr: u64, size: u64) -> u64 {
    (size << 16) | ((b'E' as u64) << 8) | nr
}
const IOCTL_EVTCHN_BIND_INTERDOMAIN: u64 = ioc(1, 8);
const IOCTL_EVTCHN_BIND_UNBOUND_PORT: u64 = ioc(2, 4);
const IOCTL_EVTCHN_NOTIFY: u64 = ioc(4, 4);

struct Evtchn(File);

impl Evtchn {
    fn open() -> io::Result<Self> {
        OpenOptions::new().read(true).write(true).open("/dev/xen/evtchn").map(Evtchn)
    }

    fn ioctl(&self, request: u64, arg: &mut [u32]) -> io::Result<u32> {
        // SAFETY: the request is one of evtchn.h's, whose argument structure is exactly `arg`
        // (u32 fields), which lives for the call.
        let ret = unsafe { libc::ioctl(self.0.as_raw_fd(), request as _, arg.as_mut_ptr()) };
        if ret < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(ret as u32)
        }
    }

    fn bind_unbound(&self, remote: u32) -> io::Result<u32> {
        self.ioctl(IOCTL_EVTCHN_BIND_UNBOUND_PORT, &mut [remote])
    }

    fn bind_interdomain(&self, remote: u32, port: u32) -> io::Result<u32> {
        self.ioctl(IOCTL_EVTCHN_BIND_INTERDOMAIN, &mut [remote, port])
    }

    fn notify(&self, port: u32) -> io::Result<()> {
        self.ioctl(IOCTL_EVTCHN_NOTIFY, &mut [port]).map(drop)
    }

    /// Waits for an event; returns the port (now masked).
    fn wait(&mut self) -> io::Result<u32> {
        let mut port = [0u8; 4];
        self.0.read_exact(&mut port)?;
        Ok(u32::from_ne_bytes(port))
    }

    /// Waits at most `ms` milliseconds for an event.
    fn wait_for(&mut self, ms: i32) -> io::Result<Option<u32>> {
        let mut poll = libc::pollfd { fd: self.0.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd, for the call.
        let ready = unsafe { libc::poll(&mut poll, 1, ms) };
        if ready < 0 {
            return Err(io::Error::last_os_error());
        }
        if ready == 0 {
            return Ok(None);
        }
        self.wait().map(Some)
    }

    fn unmask(&mut self, port: u32) -> io::Result<()> {
        self.0.write_all(&port.to_ne_bytes())
    }
}

fn serve(remote: u32, count: Option<u64>) -> io::Result<()> {
    let mut evtchn = Evtchn::open()?;
    let port = evtchn.bind_unbound(remote)?;
    println!("serving port {port} for domain {remote}");
    io::stdout().flush()?;
    let mut served = 0u64;
    while count.is_none_or(|n| served < n) {
        let fired = evtchn.wait()?;
        evtchn.unmask(fired)?;
        evtchn.notify(port)?;
        served += 1;
    }
    println!("served {served} notifications");
    Ok(())
}

fn ping(remote: u32, remote_port: u32, count: u64) -> io::Result<()> {
    let mut evtchn = Evtchn::open()?;
    let port = evtchn.bind_interdomain(remote, remote_port)?;
    // Binding marks the new port pending (as Xen does): take that event first.
    if let Some(fired) = evtchn.wait_for(200)? {
        evtchn.unmask(fired)?;
    }
    let mut ticks = Vec::with_capacity(count as usize);
    let frequency = generic_timer::now().frequency;
    for i in 0..count {
        let start = generic_timer::now().ticks;
        evtchn.notify(port)?;
        let fired = evtchn.wait_for(5000)?.ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, format!("no answer to notification {i}")))?;
        ticks.push(generic_timer::now().ticks - start);
        evtchn.unmask(fired)?;
    }
    if let Some((median, p99)) = generic_timer::median_p99_micros(&mut ticks, frequency) {
        println!("{count} round trips over port {port}: median {median:.1} us, p99 {p99:.1} us (guest time)");
    }
    Ok(())
}

fn number(args: &[String], flag: &str) -> Result<Option<u64>, String> {
    match args.iter().position(|a| a == flag) {
        None => Ok(None),
        Some(i) => {
            let value = args.get(i + 1).ok_or(format!("{flag} needs a number"))?;
            value.parse().map(Some).map_err(|_| format!("bad {flag} '{value}'"))
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let remote = number(args, "--remote")?.ok_or("--remote DOMID is needed")? as u32;
    let count = number(args, "--count")?;
    match args.first().map(String::as_str) {
        Some("serve") => serve(remote, count).map_err(|e| e.to_string()),
        Some("ping") => {
            let port = number(args, "--port")?.ok_or("--port PORT is needed")? as u32;
            ping(remote, port, count.unwrap_or(10_000)).map_err(|e| e.to_string())
        }
        _ => Err("usage: evtchn serve --remote DOMID [--count N] | evtchn ping --remote DOMID --port PORT [--count N]".into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("evtchn: {error}");
            ExitCode::FAILURE
        }
    }
}
