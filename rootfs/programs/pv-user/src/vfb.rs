//! `pv-user vfb`: a framebuffer frontend (docs/protocols/fbif.md) with hostile variants, in
//! place of xen-fbfront.
//!
//! As xen-fbfront, it grants nothing: `page-ref` is the frame number of the shared page
//! (`struct xenfb_page`), `pd[0]` the frame number of a directory page listing the frame
//! numbers of the framebuffer. Here all three are locked anonymous memory whose frame numbers
//! come from /proc/self/pagemap. The honest geometry is xen-fbfront's with our backend's keys:
//! 800x480x32, `line_length` 3200, `mem_length` the whole `videoram` (2 MiB, 512 frames).

use std::time::{Duration, Instant};

use fbif_protocol::{self as fbif, OutEvent, OutProducer, PageInfo, Resize, Update};
use xen_user::{state, EventChannel, LockedPages};

use crate::device::{Answer, Device};
use crate::shared::Shared;

pub const WIDTH: i32 = 800;
pub const HEIGHT: i32 = 480;
pub const DEPTH: u8 = 32;
pub const LINE_LENGTH: u32 = WIDTH as u32 * 4;
/// xen-fbfront's default `videoram` (our backend's too): 2 MiB.
pub const MEM_LENGTH: u32 = 2 << 20;
pub const FRAMES: usize = (MEM_LENGTH / 4096) as usize;
/// The colour of the honest picture (XRGB8888): a dark teal, on no other screen of the system.
pub const COLOUR: u32 = 0x0000_6070;

/// The keys xen-fbfront writes (a reset removes them).
const KEYS: &[&str] = &[fbif::FIELD_PAGE_REF, fbif::FIELD_EVENT_CHANNEL, fbif::FIELD_PROTOCOL, fbif::FIELD_FEATURE_UPDATE];

/// Notifications sent to a ring the backend declared broken, before handing the device back.
const AFTER_BREAK_NOTIFICATIONS: u32 = 100;

/// How long the backend gets to consume what it was sent.
const CONSUME_TIMEOUT: Duration = Duration::from_secs(2);

/// The honest geometry.
pub const fn honest_info() -> PageInfo {
    PageInfo { width: WIDTH, height: HEIGHT, line_length: LINE_LENGTH, mem_length: MEM_LENGTH, depth: DEPTH }
}

/// The domain's memory the backend maps: the shared page, one directory page, the framebuffer.
pub struct Memory {
    page: LockedPages,
    directory: LockedPages,
    framebuffer: LockedPages,
}

fn view(pages: &LockedPages) -> Shared<'_> {
    let (base, len) = pages.memory();
    // SAFETY: locked pages, page-aligned, mapped readable and writable while `pages` lives;
    // this program reaches them only through `Shared` views.
    unsafe { Shared::new(base, len) }
}

impl Memory {
    pub fn new() -> Result<Self, String> {
        let locked = |pages, what: &str| LockedPages::new(pages).map_err(|e| format!("{what}: {e}"));
        let memory = Memory {
            page: locked(1, "shared page")?,
            directory: locked(1, "page directory")?,
            framebuffer: locked(FRAMES, "framebuffer")?,
        };
        view(&memory.framebuffer).fill_u32(0, FRAMES * 4096, COLOUR);
        Ok(memory)
    }

    pub fn page(&self) -> Shared<'_> {
        view(&self.page)
    }

    pub fn directory(&self) -> Shared<'_> {
        view(&self.directory)
    }

    pub fn page_frame(&self) -> u64 {
        self.page.frame(0)
    }

    pub fn directory_frame(&self) -> u64 {
        self.directory.frame(0)
    }

    pub fn framebuffer_frames(&self) -> &[u64] {
        self.framebuffer.frames()
    }

    /// What xen-fbfront writes before it publishes `page-ref`: a zeroed page (indices 0), the
    /// geometry, `pd[0]`, and the directory listing each framebuffer frame in order.
    pub fn honest(&self) {
        write_honest(&mut self.page(), &mut self.directory(), self.directory_frame(), self.framebuffer_frames());
    }
}

/// [`Memory::honest`] on any memory (host tests build it on plain pages).
pub fn write_honest(page: &mut Shared, directory: &mut Shared, directory_frame: u64, frames: &[u64]) {
    page.write_bytes(0, &[0u8; 4096]);
    honest_info().write(page);
    assert!(fbif::write_pd_entry(page, 0, directory_frame));
    directory.write_bytes(0, &[0u8; 4096]);
    for (j, frame) in frames.iter().enumerate() {
        directory.write_bytes(j * fbif::PD_ENTRY_SIZE, &frame.to_le_bytes());
    }
}

/// The keys of one attempt, as written (hostile values included).
pub struct Keys {
    pub page_ref: String,
    /// `None`: the port allocated for the attempt.
    pub event_channel: Option<String>,
    pub protocol: Option<String>,
    pub feature_update: bool,
}

/// Changes one attempt's memory or keys.
pub type Tamper = Box<dyn Fn(&Memory, &mut Keys)>;

/// Frame numbers of no page of this domain: below its RAM (domU's starts at frame 0x40000),
/// just past its end (from /proc/iomem), and one no RAM has.
pub fn frames_not_ours() -> Vec<(String, u64)> {
    let mut frames = vec![("below its RAM".to_string(), 0x3ffff)];
    match std::fs::read_to_string("/proc/iomem").ok().and_then(|iomem| ram_end_frame(&iomem)) {
        Some(end) => frames.push(("just past its RAM".to_string(), end)),
        None => eprintln!("pv-user: no System RAM in /proc/iomem: skipping the frame past its end"),
    }
    frames.push(("beyond any RAM".to_string(), 0x000f_ffff_ffff_ffff));
    frames
}

/// The first frame after the highest `System RAM` range of /proc/iomem.
pub fn ram_end_frame(iomem: &str) -> Option<u64> {
    iomem
        .lines()
        .filter(|line| !line.starts_with(' ') && line.ends_with(": System RAM"))
        .filter_map(|line| {
            let range = line.split(" : ").next()?;
            let end = range.split('-').nth(1)?;
            u64::from_str_radix(end.trim(), 16).ok()
        })
        .max()
        .map(|end| (end + 1) >> 12)
}

pub struct Vfb {
    dev: Device,
    pub mem: Memory,
    channel: Option<EventChannel>,
    producer: Option<OutProducer>,
}

impl Vfb {
    pub fn open() -> Result<Self, String> {
        let dev = Device::open(fbif::DEVICE_TYPE, KEYS)?;
        let mem = Memory::new()?;
        println!(
            "vfb: backend {} (domain {}); shared page frame {:#x}, directory frame {:#x}, {} framebuffer frames from {:#x}",
            dev.backend,
            dev.backend_id,
            mem.page_frame(),
            mem.directory_frame(),
            FRAMES,
            mem.framebuffer_frames()[0]
        );
        Ok(Vfb { dev, mem, channel: None, producer: None })
    }

    /// One connection attempt: honest memory and keys, changed by `tamper`, state
    /// Initialised, and the backend's answer. The device stays as it is (see `reset`).
    pub fn attempt(&mut self, tamper: &dyn Fn(&Memory, &mut Keys)) -> Result<Answer, String> {
        self.mem.honest();
        let mut keys = Keys {
            page_ref: self.mem.page_frame().to_string(),
            event_channel: None,
            protocol: Some(fbif::PROTOCOL_ARM.to_string()),
            feature_update: true,
        };
        tamper(&self.mem, &mut keys);
        let channel = EventChannel::alloc_unbound(self.dev.backend_id).map_err(|e| e.to_string())?;
        let port = keys.event_channel.clone().unwrap_or_else(|| channel.port().to_string());
        self.channel = Some(channel);
        self.dev.write(fbif::FIELD_PAGE_REF, &keys.page_ref)?;
        self.dev.write(fbif::FIELD_EVENT_CHANNEL, &port)?;
        if let Some(protocol) = &keys.protocol {
            self.dev.write(fbif::FIELD_PROTOCOL, protocol)?;
        }
        if keys.feature_update {
            self.dev.write(fbif::FIELD_FEATURE_UPDATE, "1")?;
        }
        self.dev.offer()
    }

    /// Hands the device back; the channel closes after the backend let it go.
    pub fn reset(&mut self) -> Result<(), String> {
        self.producer = None;
        let result = self.dev.reset();
        self.channel = None;
        result
    }

    /// An honest connection: Connected, or an error.
    pub fn connect(&mut self) -> Result<(), String> {
        match self.attempt(&|_, _| {})? {
            Answer::Connected => {
                let producer = OutProducer::attach(&self.mem.page()).map_err(|e| format!("our own page: {e}"))?;
                self.producer = Some(producer);
                Ok(())
            }
            other => Err(format!("an honest frontend was not connected: {}", other.describe())),
        }
    }

    pub fn backend_state(&mut self) -> Result<u32, String> {
        self.dev.backend_state()
    }

    fn channel(&mut self) -> &mut EventChannel {
        self.channel.as_mut().expect("a channel while connected")
    }

    pub fn notify(&mut self) -> Result<(), String> {
        self.channel().notify().map_err(|e| format!("notify: {e}"))
    }

    /// Events produced so far.
    pub fn produced(&self) -> u32 {
        self.producer.as_ref().map_or(0, OutProducer::produced)
    }

    /// The page's `out_cons`: what the backend says it consumed.
    pub fn out_cons(&self) -> u32 {
        self.mem.page().load(fbif::OUT_CONS_OFFSET)
    }

    /// Queues one event; false if the ring is full.
    pub fn push(&mut self, event: &OutEvent) -> Result<bool, String> {
        let mut page = self.mem.page();
        let producer = self.producer.as_mut().expect("connected");
        match producer.push(&mut page, event) {
            Ok(()) => Ok(true),
            Err(fbif::PushError::Full) => Ok(false),
            Err(e) => Err(format!("our out ring: {e}")),
        }
    }

    /// Writes `out_prod` directly, as a broken frontend would, and notifies.
    pub fn force_out_prod(&mut self, value: u32) -> Result<(), String> {
        self.mem.page().store(fbif::OUT_PROD_OFFSET, value);
        self.notify()
    }

    /// Waits until the backend consumed everything produced (its `out_cons`), sleeping on its
    /// notifications; false after `timeout` without progress.
    pub fn wait_consumed(&mut self, timeout: Duration) -> Result<bool, String> {
        let target = self.produced();
        let mut last = (self.out_cons(), Instant::now());
        loop {
            let now = self.out_cons();
            if now == target {
                return Ok(true);
            }
            if now != last.0 {
                last = (now, Instant::now());
            }
            let left = timeout.saturating_sub(last.1.elapsed());
            if left.is_zero() {
                return Ok(false);
            }
            let ms = left.as_millis().clamp(1, 50) as i32;
            self.channel().wait(ms).map_err(|e| format!("event channel: {e}"))?;
        }
    }
}

/// Runs `attempts`, each from a clean device; each must be refused. Prints one line each.
fn refused_all(vfb: &mut Vfb, what: &str, attempts: Vec<(String, Tamper)>) -> Result<(), String> {
    let mut accepted = Vec::new();
    for (label, tamper) in &attempts {
        let answer = vfb.attempt(tamper.as_ref())?;
        println!("vfb {what}: {label}: {}", answer.describe());
        if !matches!(answer, Answer::Refused(_)) {
            accepted.push(label.clone());
        }
        vfb.reset()?;
    }
    if !accepted.is_empty() {
        return Err(format!("{} of {} hostile {what} were not refused: {}", accepted.len(), attempts.len(), accepted.join("; ")));
    }
    println!("vfb {what}: all {} refused; the device is back in InitWait", attempts.len());
    Ok(())
}

/// `keys`: `page-ref` naming no frame of ours or no number, a bogus event channel, another
/// protocol.
pub fn keys_attempts() -> Vec<(String, Tamper)> {
    let mut attempts: Vec<(String, Tamper)> = Vec::new();
    for (what, frame) in frames_not_ours() {
        attempts.push((format!("page-ref {frame:#x} ({what})"), Box::new(move |_, k| k.page_ref = frame.to_string())));
    }
    for text in ["0", "-1", "0x40000", "garbage", "18446744073709551616"] {
        attempts.push((format!("page-ref {text:?}"), Box::new(move |_, k| k.page_ref = text.to_string())));
    }
    for port in ["0", "4095", "-3"] {
        attempts.push((format!("event-channel {port:?}"), Box::new(move |_, k| k.event_channel = Some(port.to_string()))));
    }
    attempts.push(("protocol \"x86_64-abi\"".into(), Box::new(|_, k| k.protocol = Some("x86_64-abi".into()))));
    attempts
}

/// `geometry`: geometries that do not fit, and a ring broken before the connection.
pub fn geometry_attempts() -> Vec<(String, Tamper)> {
    let honest = honest_info();
    let cases: Vec<(&str, PageInfo)> = vec![
        ("mem_length 4 MiB, above videoram", PageInfo { mem_length: 4 << 20, ..honest }),
        ("mem_length 0xffffffff", PageInfo { mem_length: u32::MAX, ..honest }),
        ("800x480x32 in a mem_length of 1 MiB", PageInfo { mem_length: 1 << 20, ..honest }),
        ("depth 7", PageInfo { depth: 7, ..honest }),
        ("depth 0", PageInfo { depth: 0, ..honest }),
        ("width -800", PageInfo { width: -800, ..honest }),
        ("height 0", PageInfo { height: 0, ..honest }),
        ("line_length 100, shorter than a row", PageInfo { line_length: 100, ..honest }),
        (
            "width and height i32::MAX, line_length 0xffffffff",
            PageInfo { width: i32::MAX, height: i32::MAX, line_length: u32::MAX, ..honest },
        ),
        ("height i32::MIN", PageInfo { height: i32::MIN, ..honest }),
    ];
    let mut attempts: Vec<(String, Tamper)> = cases
        .into_iter()
        .map(|(label, info)| -> (String, Tamper) { (label.to_string(), Box::new(move |m: &Memory, _: &mut Keys| info.write(&mut m.page()))) })
        .collect();
    attempts.push((
        "out_prod 100 at connection".into(),
        Box::new(|m: &Memory, _: &mut Keys| m.page().store(fbif::OUT_PROD_OFFSET, 100)),
    ));
    attempts
}

/// `pd`: page directories naming frames the domain does not own.
pub fn pd_attempts() -> Vec<(String, Tamper)> {
    let mut attempts: Vec<(String, Tamper)> = Vec::new();
    for (what, frame) in frames_not_ours() {
        attempts.push((
            format!("pd[0] {frame:#x} ({what})"),
            Box::new(move |m: &Memory, _: &mut Keys| assert!(fbif::write_pd_entry(&mut m.page(), 0, frame))),
        ));
    }
    let (_, bogus) = frames_not_ours()[0].clone();
    for (label, entries) in [
        ("every directory entry", 0..FRAMES),
        ("the last directory entry, the others ours", FRAMES - 1..FRAMES),
        ("directory entry 300, the others ours", 300..301),
        ("directory entry 0, the others ours", 0..1),
    ] {
        attempts.push((
            format!("{label} {bogus:#x}"),
            Box::new(move |m: &Memory, _: &mut Keys| {
                let mut directory = m.directory();
                for j in entries.clone() {
                    directory.write_bytes(j * fbif::PD_ENTRY_SIZE, &bogus.to_le_bytes());
                }
            }),
        ));
    }
    attempts
}

pub fn keys(vfb: &mut Vfb) -> Result<(), String> {
    refused_all(vfb, "keys", keys_attempts())
}

pub fn geometry(vfb: &mut Vfb) -> Result<(), String> {
    refused_all(vfb, "geometry", geometry_attempts())
}

pub fn pd(vfb: &mut Vfb) -> Result<(), String> {
    refused_all(vfb, "pd", pd_attempts())
}

/// `connect [SECONDS]`: the honest frontend, one full-screen update, held SECONDS.
pub fn connect(vfb: &mut Vfb, hold: Duration) -> Result<(), String> {
    vfb.connect()?;
    vfb.push(&OutEvent::Update(Update { x: 0, y: 0, width: WIDTH, height: HEIGHT }))?;
    vfb.notify()?;
    let consumed = vfb.wait_consumed(CONSUME_TIMEOUT)?;
    println!("vfb connect: {}; full-screen update {}", Answer::Connected.describe(), if consumed { "consumed" } else { "NOT consumed" });
    std::thread::sleep(hold);
    let state = vfb.backend_state()?;
    let result = match (consumed, state) {
        (true, state::CONNECTED) => Ok(()),
        (false, _) => Err("the backend did not consume an honest update".to_string()),
        (_, other) => Err(format!("the backend left Connected: {}", state::name(other))),
    };
    vfb.reset()?;
    println!("vfb connect: device handed back");
    result
}

/// The bad events `events` sends: each ignored with a log line (vfbback logs the first 8
/// one by one).
pub fn bad_events() -> Vec<(&'static str, OutEvent)> {
    let update = |x, y, width, height| OutEvent::Update(Update { x, y, width, height });
    vec![
        ("negative width", update(0, 0, -5, 10)),
        ("empty", update(10, 10, 0, 5)),
        ("outside", update(10_000, 10_000, 5, 5)),
        ("x i32::MAX, width i32::MAX", update(i32::MAX, 0, i32::MAX, 1)),
        ("x and y i32::MIN, size i32::MAX", update(i32::MIN, i32::MIN, i32::MAX, i32::MAX)),
        ("resize not offered", OutEvent::Resize(Resize { width: 1 << 20, height: 1 << 20, stride: -1, depth: 7, offset: -4096 })),
        ("unknown type 0", OutEvent::Other(0)),
        ("unknown type 255", OutEvent::Other(255)),
    ]
}

/// Rectangles partly or hugely outside: clipped and copied, no error.
pub fn clipped_events() -> Vec<(&'static str, OutEvent)> {
    let update = |x, y, width, height| OutEvent::Update(Update { x, y, width, height });
    vec![
        ("the whole screen", update(0, 0, WIDTH, HEIGHT)),
        ("from -100,-100", update(-100, -100, 200, 200)),
        ("i32::MAX x i32::MAX", update(0, 0, i32::MAX, i32::MAX)),
        ("from x -2^30, i32::MAX wide", update(-(1 << 30), 0, i32::MAX, 10)),
    ]
}

/// `events`: huge, negative, outside rectangles, unknown types, a resize not offered; then a
/// good update: all consumed, the device still Connected.
pub fn events(vfb: &mut Vfb) -> Result<(), String> {
    vfb.connect()?;
    let result = (|| {
        let clipped = clipped_events();
        let bad = bad_events();
        for (label, event) in clipped.iter().chain(&bad) {
            if !vfb.push(event)? {
                return Err(format!("the ring is full at {label}"));
            }
            println!("vfb events: sent {label}: {event:?}");
        }
        vfb.push(&OutEvent::Update(Update { x: 0, y: 0, width: 8, height: 8 }))?;
        vfb.notify()?;
        let consumed = vfb.wait_consumed(CONSUME_TIMEOUT)?;
        let state = vfb.backend_state()?;
        println!(
            "vfb events: {} events sent ({} bad), out_cons {}: {}; {}",
            vfb.produced(),
            bad.len(),
            vfb.out_cons(),
            if consumed { "all consumed" } else { "NOT all consumed" },
            state::name(state)
        );
        match (consumed, state) {
            (true, state::CONNECTED) => Ok(()),
            (false, _) => Err("the backend stopped consuming".into()),
            (_, other) => Err(format!("the backend left Connected for bad events: {}", state::name(other))),
        }
    })();
    vfb.reset()?;
    result
}

/// One overrun: a connection, `before` good updates consumed, then `out_prod` set to
/// `bogus(produced)`: the backend must disconnect.
fn overrun_once(vfb: &mut Vfb, label: &str, before: u32, bogus: impl Fn(u32) -> u32) -> Result<(), String> {
    vfb.connect()?;
    let result = (|| {
        for i in 0..before {
            if !vfb.push(&OutEvent::Update(Update { x: 0, y: i as i32, width: WIDTH, height: 1 }))? {
                return Err(format!("ring full after {i} updates"));
            }
        }
        vfb.notify()?;
        if !vfb.wait_consumed(CONSUME_TIMEOUT)? {
            return Err(format!("{before} good updates were not consumed"));
        }
        let cons = vfb.out_cons();
        let value = bogus(vfb.produced());
        vfb.force_out_prod(value)?;
        let left = vfb_wait_disconnect(vfb)?;
        println!(
            "vfb overrun {label}: out_prod {value} with {cons} consumed: {}",
            left.map_or("backend still Connected: NOT refused".to_string(), |s| format!("backend {}: refused", state::name(s)))
        );
        // A frontend that goes on notifying a dead ring: the backend has said all there is
        // to say (it must not log it again for each event).
        for _ in 0..AFTER_BREAK_NOTIFICATIONS {
            vfb.notify()?;
        }
        std::thread::sleep(Duration::from_millis(300));
        println!("vfb overrun {label}: then {AFTER_BREAK_NOTIFICATIONS} notifications");
        let after = vfb.out_cons();
        if after != cons {
            return Err(format!("the backend consumed past the bogus out_prod: out_cons {after}, was {cons}"));
        }
        match left {
            Some(_) => Ok(()),
            None => Err(format!("the backend still serves a ring with out_prod {value} and out_cons {cons}")),
        }
    })();
    vfb.reset()?;
    result
}

fn vfb_wait_disconnect(vfb: &mut Vfb) -> Result<Option<u32>, String> {
    vfb.dev.wait_disconnect(CONSUME_TIMEOUT)
}

/// `overrun [AHEAD]`: a full ring (51 events, legal), then `out_prod` AHEAD (default 52)
/// beyond what was consumed; then, on a new connection, `out_prod` one behind. Each time the
/// backend must drop the connection (Closing) without consuming anything more, and the
/// frontend goes on notifying it a while before it hands the device back.
pub fn overrun(vfb: &mut Vfb, ahead: u32) -> Result<(), String> {
    overrun_once(vfb, "ahead", fbif::OUT_RING_LEN, |produced| produced.wrapping_add(ahead))?;
    overrun_once(vfb, "behind", 3, |produced| produced.wrapping_sub(1))?;
    println!("vfb overrun: both refused; the device is back in InitWait");
    Ok(())
}

/// `flood N`: N updates as fast as the ring takes them, each with a notification, then N
/// notifications alone; everything consumed, the device still Connected.
pub fn flood(vfb: &mut Vfb, count: u64) -> Result<(), String> {
    vfb.connect()?;
    let result = (|| {
        let start = Instant::now();
        let (mut sent, mut waits) = (0u64, 0u64);
        while sent < count {
            let y = (sent % HEIGHT as u64) as i32;
            if vfb.push(&OutEvent::Update(Update { x: (sent % 700) as i32, y, width: 100, height: 1 }))? {
                sent += 1;
                vfb.notify()?;
                continue;
            }
            waits += 1;
            let before = vfb.out_cons();
            let deadline = Instant::now() + CONSUME_TIMEOUT;
            while vfb.out_cons() == before {
                if Instant::now() > deadline {
                    return Err(format!("flood: the backend stopped consuming after {sent} updates"));
                }
                vfb.channel().wait(20).map_err(|e| format!("event channel: {e}"))?;
            }
        }
        if !vfb.wait_consumed(CONSUME_TIMEOUT)? {
            return Err(format!("flood: {} of {count} updates consumed", vfb.out_cons()));
        }
        let updates = start.elapsed().as_secs_f64();
        let start = Instant::now();
        for _ in 0..count {
            vfb.notify()?;
        }
        let notifications = start.elapsed().as_secs_f64();
        // Still served: one more update is consumed.
        vfb.push(&OutEvent::Update(Update { x: 0, y: 0, width: WIDTH, height: HEIGHT }))?;
        vfb.notify()?;
        let consumed = vfb.wait_consumed(CONSUME_TIMEOUT)?;
        let state = vfb.backend_state()?;
        println!(
            "vfb flood: {count} updates consumed in {updates:.3} s ({:.0}/s, {waits} waits on a full ring); {count} notifications alone in {notifications:.3} s; then an update {}; backend {}",
            count as f64 / updates.max(1e-9),
            if consumed { "consumed" } else { "NOT consumed" },
            state::name(state)
        );
        match (consumed, state) {
            (true, state::CONNECTED) => Ok(()),
            _ => Err("the backend no longer serves an honest frontend after the flood".into()),
        }
    })();
    vfb.reset()?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::tests::TestMemory;
    use fbif::{Action, Layout, OutConsumer};

    const IOMEM: &str = "\
09000000-09000fff : pl011@9000000
40000000-47ffffff : System RAM
  40210000-41a3ffff : Kernel code
50000000-50ffffff : System RAM
";

    #[test]
    fn ram_end_is_the_highest_system_ram() {
        assert_eq!(ram_end_frame(IOMEM), Some(0x51000));
        assert_eq!(ram_end_frame("09000000-09000fff : pl011\n"), None);
    }

    /// The honest page passes the backend's checks and lists each frame in order.
    #[test]
    fn the_honest_page_is_what_the_backend_accepts() {
        let (mut page_mem, mut dir_mem) = (TestMemory::new(1), TestMemory::new(1));
        let (mut page, mut directory) = (page_mem.view(), dir_mem.view());
        let frames: Vec<u64> = (0x40100..0x40100 + FRAMES as u64).collect();
        write_honest(&mut page, &mut directory, 0x40042, &frames);
        let layout = Layout::from_page(&PageInfo::read(&page), fbif::DEFAULT_VIDEORAM_MIB << 20).unwrap();
        assert_eq!((layout.frames(), layout.pd_pages()), (FRAMES as u32, 1));
        assert_eq!(fbif::read_pd_entry(&page, 0), Some(0x40042));
        for j in [0, 1, FRAMES - 1] {
            let mut entry = [0u8; 8];
            directory.read_bytes(j * 8, &mut entry);
            assert_eq!(fbif::decode_frame_number(entry), frames[j]);
        }
        assert!(OutConsumer::attach(&page).is_ok());
    }

    /// Each geometry attempt is refused by the protocol's checks (the backend's).
    #[test]
    fn every_geometry_is_refused_by_the_protocol() {
        for (info, label) in [
            (PageInfo { mem_length: 4 << 20, ..honest_info() }, "mem_length"),
            (PageInfo { depth: 7, ..honest_info() }, "depth"),
            (PageInfo { width: -800, ..honest_info() }, "width"),
            (PageInfo { line_length: 100, ..honest_info() }, "stride"),
            (PageInfo { width: i32::MAX, height: i32::MAX, line_length: u32::MAX, ..honest_info() }, "huge"),
        ] {
            assert!(Layout::from_page(&info, MEM_LENGTH).is_err(), "{label}");
        }
        assert_eq!(geometry_attempts().len(), 11);
    }

    /// The bad events are each an error for the protocol's consumer, the clipped ones blits.
    #[test]
    fn bad_events_are_errors_and_clipped_ones_are_blits() {
        let (mut page_mem, mut dir_mem) = (TestMemory::new(1), TestMemory::new(1));
        let (mut page, mut directory) = (page_mem.view(), dir_mem.view());
        write_honest(&mut page, &mut directory, 1, &[2; FRAMES]);
        let mut mode = Layout::from_page(&PageInfo::read(&page), MEM_LENGTH).unwrap().mode();
        let mut producer = OutProducer::attach(&page).unwrap();
        let mut consumer = OutConsumer::attach(&page).unwrap();
        let (clipped, bad) = (clipped_events(), bad_events());
        for (_, event) in clipped.iter().chain(&bad) {
            producer.push(&mut page, event).unwrap();
        }
        let mut results = Vec::new();
        consumer.serve(&mut page, &mut mode, false, |_, r| results.push(r)).unwrap();
        assert_eq!(results.len(), clipped.len() + bad.len());
        assert!(results[..clipped.len()].iter().all(|r| matches!(r, Ok(Action::Blit(_)))), "{results:?}");
        assert!(results[clipped.len()..].iter().all(Result::is_err), "{results:?}");
        assert!(bad.len() <= 8, "vfbback logs the first 8 one by one");
    }
}
