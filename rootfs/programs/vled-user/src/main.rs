//! vled-user: a vled frontend in user space (docs/protocols/vled.md), to test the backend with
//! correct and hostile requests. It takes the place of vledfront.ko (which must not be loaded):
//! grants a ring page to the backend's domain with /dev/xen/gntalloc, allocates an event
//! channel with /dev/xen/evtchn, writes `ring-ref`, `event-channel` and state Initialised to
//! device/vled/0 with /dev/xen/xenbus, and waits for the backend's Connected. The ring is the
//! protocol crate's FrontRing over the mapped page.
//!
//!     vled-user set LED BRIGHTNESS   one request; print its status and the brightness
//!     vled-user get LED              the same for a read
//!     vled-user garbage              bad LED numbers, bad brightness, unknown operations, a
//!                                    reserved field set, a GET with a brightness, then one
//!                                    good request: print each status, fail unless each is the
//!                                    expected one
//!     vled-user flood N              N valid requests (GET and SET to the LED's brightness, so
//!                                    no LED changes) as fast as the ring takes them; print the
//!                                    rate
//!     vled-user overrun [AHEAD]      one good request, then req_prod set AHEAD (default 1000)
//!                                    beyond what was consumed, and a notification; then a
//!                                    good request: the backend must not answer it any more
//!
//! At exit the device is handed back whatever happened: state Closed, wait for the backend to
//! let the ring go, close the channel, end the grant, remove ring-ref and event-channel, state
//! Initialising (vledfront.ko or another run can connect), wait for the backend's InitWait.
//!
//! Exit status: 0 when the backend behaved as the protocol says, 1 otherwise, 2 for bad
//! arguments.

mod frontend;
mod page;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use vled_protocol::{Reply, Request, Status, OP_GET_BRIGHTNESS, OP_SET_BRIGHTNESS, RING_SIZE};

use frontend::Frontend;

/// How long a request may wait for its response.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long the backend is watched after the ring was broken.
const BROKEN_WATCH: Duration = Duration::from_secs(1);

const USAGE: &str = "usage: vled-user set LED BRIGHTNESS | get LED | garbage | flood N | overrun [AHEAD]";

#[derive(Debug, PartialEq)]
enum Mode {
    Set { led: u16, brightness: u32 },
    Get { led: u16 },
    Garbage,
    Flood { count: u64 },
    Overrun { ahead: u32 },
}

fn parse(args: &[String]) -> Result<Mode, String> {
    fn number<T: std::str::FromStr>(arg: Option<&String>, what: &str) -> Result<T, String> {
        let arg = arg.ok_or_else(|| format!("missing {what}\n{USAGE}"))?;
        arg.parse().map_err(|_| format!("bad {what} '{arg}'\n{USAGE}"))
    }
    let mode = match args.first().map(String::as_str) {
        Some("set") => Mode::Set { led: number(args.get(1), "LED")?, brightness: number(args.get(2), "brightness")? },
        Some("get") => Mode::Get { led: number(args.get(1), "LED")? },
        Some("garbage") => Mode::Garbage,
        Some("flood") => Mode::Flood { count: number(args.get(1), "count")? },
        Some("overrun") => Mode::Overrun { ahead: args.get(1).map_or(Ok(1000), |a| number(Some(a), "AHEAD"))? },
        _ => return Err(USAGE.into()),
    };
    let expected = match mode {
        Mode::Set { .. } => 3,
        Mode::Get { .. } | Mode::Flood { .. } => 2,
        Mode::Garbage => 1,
        Mode::Overrun { .. } => args.len().min(2),
    };
    if args.len() != expected {
        return Err(format!("too many arguments\n{USAGE}"));
    }
    if let Mode::Overrun { ahead } = mode {
        if ahead <= RING_SIZE {
            return Err(format!("AHEAD must be above the ring size ({RING_SIZE}) to overrun it"));
        }
    }
    Ok(mode)
}

/// The C name of a status (`VLED_STATUS_*` without the prefix) and its wire value.
fn status_text(status: Status) -> String {
    let name = match status {
        Status::Ok => "OK",
        Status::BadRequest => "BAD_REQUEST",
        Status::UnknownLed => "UNKNOWN_LED",
        Status::BadBrightness => "BAD_BRIGHTNESS",
        Status::Unavailable => "UNAVAILABLE",
        Status::IoError => "IO_ERROR",
        Status::Other(_) => "OTHER",
    };
    format!("{name} ({})", status.to_wire())
}

fn describe(request: &Request) -> String {
    let op = match request.operation {
        OP_SET_BRIGHTNESS => "set".to_string(),
        OP_GET_BRIGHTNESS => "get".to_string(),
        other => format!("op {other}"),
    };
    let reserved = if request.reserved != 0 { format!(" reserved {}", request.reserved) } else { String::new() };
    format!("{op}{reserved} led {} brightness {:#x}", request.led, request.brightness)
}

/// One request, answered within the timeout.
fn one(front: &mut Frontend, request: Request) -> Result<Reply, String> {
    front.push(request)?;
    front.publish_requests()?;
    let mut reply = None;
    front.wait_responses(1, RESPONSE_TIMEOUT, |r| reply = Some(r))?;
    Ok(reply.expect("one response taken"))
}

fn single(front: &mut Frontend, request: Request) -> Result<(), String> {
    match one(front, request)? {
        Reply::Answered { response, .. } => {
            println!("{}: {}, brightness {}", describe(&request), status_text(response.status()), response.brightness);
            if response.status().is_ok() {
                Ok(())
            } else {
                Err(format!("the backend answered {}", status_text(response.status())))
            }
        }
        Reply::Mismatched { response, .. } => Err(format!("mismatched response {response:?}")),
    }
}

/// The garbage requests, each with the status the protocol gives it, then one good request.
/// `max` is LED 0's max-brightness.
fn garbage_requests(nr_leds: u16, max: u32) -> Vec<(Request, Status)> {
    let raw = |operation, reserved, led, brightness| Request { id: 0, operation, reserved, led, brightness };
    vec![
        (Request::set(nr_leds, 0), Status::UnknownLed),
        (Request::set(u16::MAX, 1), Status::UnknownLed),
        (Request::set(0, max.saturating_add(1)), Status::BadBrightness),
        (Request::set(0, u32::MAX), Status::BadBrightness),
        (raw(0, 0, 0, 0), Status::BadRequest), // a zero-filled entry
        (raw(3, 0, 0, 0), Status::BadRequest),
        (raw(OP_SET_BRIGHTNESS, 1, 0, 0), Status::BadRequest),
        (raw(OP_GET_BRIGHTNESS, 0, 0, 1), Status::BadRequest),
        (raw(0xff, 0xff, u16::MAX, u32::MAX), Status::BadRequest),
        (Request::get(0), Status::Ok),
    ]
}

fn garbage(front: &mut Frontend) -> Result<(), String> {
    let requests = garbage_requests(front.leds.nr, front.leds.max[0]);
    // All in one batch, one notification.
    for (request, _) in &requests {
        front.push(*request)?;
    }
    front.publish_requests()?;
    let mut replies = Vec::new();
    front.wait_responses(requests.len() as u32, RESPONSE_TIMEOUT, |r| replies.push(r))?;
    let mut wrong = 0;
    for ((request, expected), reply) in requests.iter().zip(&replies) {
        let verdict = match reply {
            Reply::Answered { response, .. } if response.status() == *expected => "as expected".to_string(),
            Reply::Answered { .. } => format!("WRONG, expected {}", status_text(*expected)),
            Reply::Mismatched { response, .. } => format!("WRONG, mismatched response {response:?}"),
        };
        if !verdict.starts_with("as") {
            wrong += 1;
        }
        let status = match reply {
            Reply::Answered { response, .. } | Reply::Mismatched { response, .. } => status_text(response.status()),
        };
        println!("garbage: {}: {status}: {verdict}", describe(request));
    }
    if wrong > 0 {
        return Err(format!("{wrong} of {} answers were not the expected ones", requests.len()));
    }
    println!("garbage: {} requests, every answer as expected", requests.len());
    Ok(())
}

fn flood(front: &mut Frontend, count: u64) -> Result<(), String> {
    // Start from each LED's brightness, so that the SETs change nothing.
    let mut now = Vec::new();
    for led in 0..front.leds.nr {
        match one(front, Request::get(led))? {
            Reply::Answered { response, .. } if response.status().is_ok() => now.push(response.brightness),
            other => return Err(format!("get LED {led}: {other:?}")),
        }
    }
    let nr = u64::from(front.leds.nr);
    let request = |i: u64| {
        let led = (i % nr) as u16;
        if (i / nr).is_multiple_of(2) {
            Request::set(led, now[usize::from(led)])
        } else {
            Request::get(led)
        }
    };
    let (mut sent, mut answered, mut failed, mut mismatched) = (0u64, 0u64, 0u64, 0u64);
    let (sent_before, received_before) = (front.channel().sent, front.channel().received);
    let start = Instant::now();
    let mut last = start;
    while answered < count {
        let mut queued = false;
        while sent < count && !front.ring.is_full() {
            front.push(request(sent))?;
            sent += 1;
            queued = true;
        }
        if queued {
            front.publish_requests()?;
        }
        let taken = front.take_responses(|reply| match reply {
            Reply::Answered { response, .. } if response.status().is_ok() => {}
            Reply::Answered { .. } => failed += 1,
            Reply::Mismatched { .. } => mismatched += 1,
        })?;
        if taken > 0 {
            answered += u64::from(taken);
            last = Instant::now();
            continue;
        }
        if !front.wait_for_event(last, RESPONSE_TIMEOUT)? {
            return Err(format!("flood: no response for {} ms: {answered} of {count} answered, {sent} sent", RESPONSE_TIMEOUT.as_millis()));
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let (notified, events) = (front.channel().sent - sent_before, front.channel().received - received_before);
    println!(
        "flood: {answered} requests answered in {elapsed:.3} s: {:.0} requests/s; {failed} failed, {mismatched} mismatched; {notified} notifications sent, {events} events received",
        answered as f64 / elapsed.max(1e-9)
    );
    if failed + mismatched > 0 {
        return Err(format!("{} of {count} valid requests failed", failed + mismatched));
    }
    Ok(())
}

fn overrun(front: &mut Frontend, ahead: u32) -> Result<(), String> {
    single(front, Request::get(0))?;
    let good = front.pushed;
    let bogus = good.wrapping_add(ahead);
    front.force_req_prod(bogus)?;
    println!("overrun: req_prod set to {bogus} with {good} requests answered (a ring holds {RING_SIZE}); notified");
    std::thread::sleep(BROKEN_WATCH);
    let rsp_prod = vled_protocol::SharedPage::load_u32(&front.page(), vled_protocol::RSP_PROD_OFFSET);
    let state = front.backend_state().map_err(|e| e.to_string())?;
    println!("overrun: after {} ms rsp_prod is {rsp_prod}, backend state {state:?}", BROKEN_WATCH.as_millis());
    if rsp_prod != good {
        return Err(format!("the backend answered past the bogus req_prod: rsp_prod {rsp_prod}, expected {good}"));
    }
    // Back to a sane index, and a good request: a dead ring stays dead.
    front.force_req_prod(good)?;
    front.push(Request::get(0))?;
    front.publish_requests()?;
    front.channel().notify().map_err(|e| format!("notify: {e}"))?;
    match front.wait_responses(1, BROKEN_WATCH, |_| {}) {
        Ok(()) => Err("the backend still serves the ring it should have declared broken".into()),
        Err(_) => {
            let state = front.backend_state().map_err(|e| e.to_string())?;
            println!("overrun: a good request after it got no answer in {} ms: the backend stopped serving (state {state:?})", BROKEN_WATCH.as_millis());
            Ok(())
        }
    }
}

fn run(mode: Mode) -> Result<(), String> {
    let mut front = Frontend::connect()?;
    let result = match mode {
        Mode::Set { led, brightness } => single(&mut front, Request::set(led, brightness)),
        Mode::Get { led } => single(&mut front, Request::get(led)),
        Mode::Garbage => garbage(&mut front),
        Mode::Flood { count } => flood(&mut front, count),
        Mode::Overrun { ahead } => overrun(&mut front, ahead),
    };
    front.close();
    result
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match parse(&args) {
        Ok(mode) => mode,
        Err(e) => {
            eprintln!("vled-user: {e}");
            return ExitCode::from(2);
        }
    };
    match run(mode) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vled-user: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use page::tests::TestPage;
    use vled_protocol::{check_request, BackRing, FrontRing};

    fn parse_str(line: &str) -> Result<Mode, String> {
        parse(&line.split_whitespace().map(String::from).collect::<Vec<_>>())
    }

    #[test]
    fn arguments() {
        assert_eq!(parse_str("set 2 1"), Ok(Mode::Set { led: 2, brightness: 1 }));
        assert_eq!(parse_str("get 5"), Ok(Mode::Get { led: 5 }));
        assert_eq!(parse_str("garbage"), Ok(Mode::Garbage));
        assert_eq!(parse_str("flood 100000"), Ok(Mode::Flood { count: 100_000 }));
        assert_eq!(parse_str("overrun"), Ok(Mode::Overrun { ahead: 1000 }));
        assert_eq!(parse_str("overrun 300"), Ok(Mode::Overrun { ahead: 300 }));
        for bad in ["", "set 1", "set x 1", "set 70000 1", "flood", "garbage 1", "overrun 256", "overrun 1 2", "blink"] {
            assert!(parse_str(bad).is_err(), "{bad:?}");
        }
    }

    /// The statuses the garbage mode expects are the protocol's (ring.rs's check).
    #[test]
    fn garbage_expectations_are_the_protocols() {
        for (request, expected) in garbage_requests(6, 1) {
            let got = check_request(&request, 6, |_| 1).err().unwrap_or(Status::Ok);
            assert_eq!(got, expected, "{request:?}");
        }
    }

    /// Garbage through this program's page accesses and a backend of the crate: each answer
    /// comes back with its status.
    #[test]
    fn garbage_round_trip_on_a_page() {
        let mut page = TestPage::new();
        let (mut front_page, mut back_page) = page.views();
        let mut front = FrontRing::new(&mut front_page);
        let mut back = BackRing::new();
        let requests = garbage_requests(6, 1);
        for (request, _) in &requests {
            front.push_request(&mut front_page, *request).unwrap();
        }
        assert!(front.push_requests_and_check_notify(&mut front_page));
        back.serve_pass(&mut back_page, |req| check_request(req, 6, |_| 1).map(|_| 0)).unwrap();
        for (request, expected) in requests {
            match front.next_response(&front_page).unwrap() {
                Some(Reply::Answered { response, .. }) => assert_eq!(response.status(), expected, "{request:?}"),
                other => panic!("{request:?}: {other:?}"),
            }
        }
    }

    /// What `overrun` writes is what the backend declares a broken ring.
    #[test]
    fn an_overrun_breaks_the_ring() {
        let mut page = TestPage::new();
        let (mut front_page, mut back_page) = page.views();
        let _front = FrontRing::new(&mut front_page);
        let mut back = BackRing::new();
        vled_protocol::SharedPage::store_u32(&mut front_page, vled_protocol::REQ_PROD_OFFSET, 1000);
        assert!(back.serve_pass(&mut back_page, |_| Ok(0)).is_err());
        assert!(back.error().is_some());
    }
}
