//! pv-user: hostile frontends for Xen's framebuffer (vfb, docs/protocols/fbif.md) and keyboard
//! (vkbd, docs/protocols/kbdif.md) protocols, in user space in a domU, to test dom0's backends
//! (vfbback.ko, vkbdback.ko). It takes the place of the kernel's frontend (xen-fbfront,
//! xen-kbdfront or ours, which must not be bound to the device): writes the frontend's keys to
//! device/vfb/0 or device/vkbd/0 (/dev/xen/xenbus), offers memory (vfb: frame numbers of locked
//! memory from /proc/self/pagemap, as xen-fbfront names its pages; vkbd: a page granted with
//! /dev/xen/gntalloc), an event channel (/dev/xen/evtchn), switches to Initialised and reads
//! the backend's answer from its state: Connected, or Closing when it refused.
//!
//!     pv-user vfb connect [SECONDS]      an honest frontend: connected, a full-screen update
//!                                        consumed, held SECONDS (default 0)
//!     pv-user vfb keys                   page-ref naming frames not ours (below, past, far
//!                                        beyond its RAM) or no number, bogus event channels,
//!                                        another protocol: each refused
//!     pv-user vfb geometry               mem_length above videoram, a picture beyond
//!                                        mem_length, depths 7 and 0, negative or zero or huge
//!                                        sizes, a short line_length, a bogus out_prod at
//!                                        connection: each refused
//!     pv-user vfb pd                     pd[0] naming frames not ours, directory entries naming
//!                                        a frame not ours (all, the last, one, the first): each
//!                                        refused
//!     pv-user vfb events                 connected: huge, negative, empty, outside rectangles,
//!                                        unknown types, a resize not offered, then a good
//!                                        update: all consumed, still Connected
//!     pv-user vfb overrun [AHEAD]        connected: a full ring, then out_prod AHEAD (default
//!                                        52) beyond what was consumed; then out_prod behind:
//!                                        each time the backend disconnects (and is notified
//!                                        100 times more before the device is handed back)
//!     pv-user vfb flood N                connected: N updates as fast as the ring takes them,
//!                                        then N notifications alone: all served
//!     pv-user vkbd connect SECONDS       an honest frontend: prints each key for SECONDS (or
//!                                        until SIGTERM)
//!     pv-user vkbd bad-page              page-gref of an ended grant, of no grant, not a
//!                                        number, of a page granted to another domain or
//!                                        read-only; in_cons bogus at connection; bogus event
//!                                        channels: each refused
//!     pv-user vkbd in-cons OFFSET SECONDS  connected, in_cons moved OFFSET from in_prod: for
//!                                        SECONDS or until SIGTERM (press keys meanwhile) the
//!                                        backend writes nothing
//!     pv-user vkbd garbage N             connected: garbage out ring and indices, N
//!                                        notifications: still Connected
//!
//! Each attempt starts from a clean device and every run ends with the device handed back
//! (frontend Initialising, backend InitWait), whatever happened: another run or the kernel's
//! frontend connects from there.
//!
//! Exit status: 0 when the backend behaved as the protocol says, 1 otherwise, 2 for bad
//! arguments.

mod device;
mod shared;
mod vfb;
mod vkbd;

use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: pv-user vfb connect [SECONDS] | keys | geometry | pd | events | overrun [AHEAD] | flood N
       pv-user vkbd connect SECONDS | bad-page | in-cons OFFSET SECONDS | garbage N";

#[derive(Debug, PartialEq)]
enum Command {
    VfbConnect { hold: Duration },
    VfbKeys,
    VfbGeometry,
    VfbPd,
    VfbEvents,
    VfbOverrun { ahead: u32 },
    VfbFlood { count: u64 },
    VkbdConnect { seconds: Duration },
    VkbdBadPage,
    VkbdInCons { offset: i64, seconds: Duration },
    VkbdGarbage { count: u64 },
}

fn parse(args: &[String]) -> Result<Command, String> {
    fn number<T: std::str::FromStr>(arg: Option<&String>, what: &str) -> Result<T, String> {
        let arg = arg.ok_or_else(|| format!("missing {what}\n{USAGE}"))?;
        arg.parse().map_err(|_| format!("bad {what} '{arg}'\n{USAGE}"))
    }
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let rest = args.get(2..).unwrap_or_default();
    let seconds = |arg: Option<&String>| number(arg, "SECONDS").map(Duration::from_secs);
    let (command, arity) = match words.get(..2) {
        Some(["vfb", "connect"]) => (Command::VfbConnect { hold: rest.first().map_or(Ok(Duration::ZERO), |a| seconds(Some(a)))? }, rest.len().min(1)),
        Some(["vfb", "keys"]) => (Command::VfbKeys, 0),
        Some(["vfb", "geometry"]) => (Command::VfbGeometry, 0),
        Some(["vfb", "pd"]) => (Command::VfbPd, 0),
        Some(["vfb", "events"]) => (Command::VfbEvents, 0),
        Some(["vfb", "overrun"]) => (Command::VfbOverrun { ahead: rest.first().map_or(Ok(52), |a| number(Some(a), "AHEAD"))? }, rest.len().min(1)),
        Some(["vfb", "flood"]) => (Command::VfbFlood { count: number(rest.first(), "N")? }, 1),
        Some(["vkbd", "connect"]) => (Command::VkbdConnect { seconds: seconds(rest.first())? }, 1),
        Some(["vkbd", "bad-page"]) => (Command::VkbdBadPage, 0),
        Some(["vkbd", "in-cons"]) => (Command::VkbdInCons { offset: number(rest.first(), "OFFSET")?, seconds: seconds(rest.get(1))? }, 2),
        Some(["vkbd", "garbage"]) => (Command::VkbdGarbage { count: number(rest.first(), "N")? }, 1),
        _ => return Err(USAGE.into()),
    };
    if rest.len() != arity {
        return Err(format!("too many arguments\n{USAGE}"));
    }
    if let Command::VfbOverrun { ahead } = command {
        if ahead <= fbif_protocol::OUT_RING_LEN {
            return Err(format!("AHEAD must be above the ring's {} events to overrun it", fbif_protocol::OUT_RING_LEN));
        }
    }
    if let Command::VkbdInCons { offset, .. } = command {
        if offset.unsigned_abs() <= u64::from(kbdif_protocol::IN_RING_LEN) {
            return Err(format!("OFFSET must be more than the ring's {} events from in_prod", kbdif_protocol::IN_RING_LEN));
        }
    }
    Ok(command)
}

fn run(command: Command) -> Result<(), String> {
    match command {
        Command::VfbConnect { .. }
        | Command::VfbKeys
        | Command::VfbGeometry
        | Command::VfbPd
        | Command::VfbEvents
        | Command::VfbOverrun { .. }
        | Command::VfbFlood { .. } => {
            let mut vfb = vfb::Vfb::open()?;
            let result = match command {
                Command::VfbConnect { hold } => vfb::connect(&mut vfb, hold),
                Command::VfbKeys => vfb::keys(&mut vfb),
                Command::VfbGeometry => vfb::geometry(&mut vfb),
                Command::VfbPd => vfb::pd(&mut vfb),
                Command::VfbEvents => vfb::events(&mut vfb),
                Command::VfbOverrun { ahead } => vfb::overrun(&mut vfb, ahead),
                Command::VfbFlood { count } => vfb::flood(&mut vfb, count),
                _ => unreachable!(),
            };
            // Whatever happened, the device is handed back (nothing to do if it was).
            result.and(vfb.reset())
        }
        _ => {
            let mut vkbd = vkbd::Vkbd::open()?;
            let result = match command {
                Command::VkbdConnect { seconds } => vkbd::connect(&mut vkbd, seconds),
                Command::VkbdBadPage => vkbd::bad_page(&mut vkbd),
                Command::VkbdInCons { offset, seconds } => vkbd::in_cons(&mut vkbd, offset, seconds),
                Command::VkbdGarbage { count } => vkbd::garbage(&mut vkbd, count),
                _ => unreachable!(),
            };
            result.and(vkbd.reset())
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("pv-user: {e}");
            return ExitCode::from(2);
        }
    };
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("pv-user: FAILED: {e}");
            eprintln!("pv-user: {e}");
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
    fn arguments() {
        assert_eq!(parse_str("vfb connect"), Ok(Command::VfbConnect { hold: Duration::ZERO }));
        assert_eq!(parse_str("vfb connect 3"), Ok(Command::VfbConnect { hold: Duration::from_secs(3) }));
        assert_eq!(parse_str("vfb pd"), Ok(Command::VfbPd));
        assert_eq!(parse_str("vfb overrun"), Ok(Command::VfbOverrun { ahead: 52 }));
        assert_eq!(parse_str("vfb overrun 1000"), Ok(Command::VfbOverrun { ahead: 1000 }));
        assert_eq!(parse_str("vfb flood 100"), Ok(Command::VfbFlood { count: 100 }));
        assert_eq!(parse_str("vkbd connect 5"), Ok(Command::VkbdConnect { seconds: Duration::from_secs(5) }));
        assert_eq!(parse_str("vkbd in-cons -100 8"), Ok(Command::VkbdInCons { offset: -100, seconds: Duration::from_secs(8) }));
        assert_eq!(parse_str("vkbd garbage 10"), Ok(Command::VkbdGarbage { count: 10 }));
        for bad in [
            "",
            "vfb",
            "vfb blink",
            "vfb pd 1",
            "vfb overrun 51",
            "vfb flood",
            "vkbd connect",
            "vkbd in-cons 51 1",
            "vkbd in-cons 100",
            "vkbd bad-page x",
            "vled connect",
        ] {
            assert!(parse_str(bad).is_err(), "{bad:?}");
        }
    }
}
