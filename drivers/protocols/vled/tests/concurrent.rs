//! A frontend and a backend on two threads over one page of atomics, with condition variables
//! for event channels: each side sleeps until notified, as the kernel modules do. A wrong
//! notification rule or a missing barrier shows up as a side that never wakes (the wait times
//! out and the test fails) or as a response that does not match its request.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

use vled_protocol::*;

/// The page as 1024 atomic words. Indices: acquire/release; entries: relaxed word accesses
/// (entries are 4-aligned: 64 + 12 i).
#[derive(Clone)]
struct AtomicPage(Arc<Vec<AtomicU32>>);

impl AtomicPage {
    fn new() -> Self {
        AtomicPage(Arc::new((0..PAGE_SIZE / 4).map(|_| AtomicU32::new(0)).collect()))
    }
}

impl SharedPage for AtomicPage {
    fn load_u32(&self, offset: usize) -> u32 {
        self.0[offset / 4].load(Ordering::Acquire)
    }

    fn store_u32(&mut self, offset: usize, value: u32) {
        self.0[offset / 4].store(value, Ordering::Release);
    }

    fn read(&self, offset: usize, buf: &mut [u8]) {
        assert!(offset % 4 == 0 && buf.len() % 4 == 0);
        for (i, chunk) in buf.chunks_mut(4).enumerate() {
            chunk.copy_from_slice(&self.0[offset / 4 + i].load(Ordering::Relaxed).to_le_bytes());
        }
    }

    fn write(&mut self, offset: usize, data: &[u8]) {
        assert!(offset % 4 == 0 && data.len() % 4 == 0);
        for (i, chunk) in data.chunks(4).enumerate() {
            self.0[offset / 4 + i].store(u32::from_le_bytes(chunk.try_into().unwrap()), Ordering::Relaxed);
        }
    }
}

/// One end of an event channel: a pending flag and a sleeper.
#[derive(Default)]
struct Event {
    pending: Mutex<bool>,
    cv: Condvar,
}

impl Event {
    fn notify(&self) {
        *self.pending.lock().unwrap() = true;
        self.cv.notify_one();
    }

    /// Sleeps until notified; false after 10 s without a notification.
    fn wait(&self) -> bool {
        let guard = self.pending.lock().unwrap();
        let (mut guard, timeout) =
            self.cv.wait_timeout_while(guard, Duration::from_secs(10), |p| !*p).unwrap();
        *guard = false;
        !timeout.timed_out()
    }
}

/// `total` requests, queued `burst` at a time; with `ping_pong`, the frontend sleeps whenever
/// it waits for a response, even with more to send.
fn run_pair(total: u32, burst: u32, ping_pong: bool) {
    let mut front_page = AtomicPage::new();
    let mut back_page = front_page.clone();
    let to_back = Arc::new(Event::default());
    let to_front = Arc::new(Event::default());
    let mut front = FrontRing::new(&mut front_page);

    let backend = {
        let (to_back, to_front) = (to_back.clone(), to_front.clone());
        thread::spawn(move || {
            let mut back = BackRing::new();
            let mut brightness = [0u32; 6];
            let mut handled = 0;
            let mut passes = 0u32;
            while handled < total {
                assert!(to_back.wait(), "backend: no notification, {handled} of {total} handled");
                loop {
                    let pass = back
                        .serve_pass(&mut back_page, |req| {
                            let cmd = check_request(req, 6, |_| 1000)?;
                            let led = usize::from(cmd.led());
                            if let Command::Set { brightness: b, .. } = cmd {
                                brightness[led] = b;
                            }
                            Ok(brightness[led])
                        })
                        .unwrap();
                    assert!(pass.handled <= RING_SIZE);
                    handled += pass.handled;
                    passes += 1;
                    if pass.notify {
                        to_front.notify();
                    }
                    if !pass.more {
                        break;
                    }
                    thread::yield_now();
                }
            }
            passes
        })
    };

    let mut sent = 0u32;
    let mut received = 0u32;
    let mut expected = std::collections::VecDeque::new();
    while received < total {
        let mut queued = 0;
        while sent < total && !front.is_full() && queued < burst {
            let led = (sent % 7) as u16; // LED 6 does not exist
            let id = front.push_command(&mut front_page, Command::Set { led, brightness: sent % 1000 }).unwrap();
            assert_eq!(id, sent);
            expected.push_back((id, led, sent % 1000));
            sent += 1;
            queued += 1;
        }
        if front.push_requests_and_check_notify(&mut front_page) {
            to_back.notify();
        }
        loop {
            while let Some(reply) = front.next_response(&front_page).unwrap() {
                let Reply::Answered { request, response } = reply else { panic!("{reply:?}") };
                let (id, led, b) = expected.pop_front().unwrap();
                assert_eq!((request.id, request.led, request.brightness), (id, led, b));
                if led == 6 {
                    assert_eq!(response.status(), Status::UnknownLed);
                } else {
                    assert_eq!((response.status(), response.brightness), (Status::Ok, b));
                }
                received += 1;
            }
            if !front.final_check_for_responses(&mut front_page).unwrap() {
                break;
            }
        }
        // Sleep when there is nothing left to send, no room to send it, or in ping-pong.
        if received < sent && (sent == total || front.is_full() || ping_pong) {
            assert!(to_front.wait(), "frontend: no notification, {received} of {total} answered");
        }
    }
    let passes = backend.join().unwrap();
    assert!(passes >= total.div_ceil(RING_SIZE));
}

#[test]
fn threads_exchange_a_hundred_thousand_requests() {
    run_pair(100_000, RING_SIZE, false);
}

#[test]
fn threads_ping_pong_one_request_at_a_time() {
    run_pair(20_000, 1, true);
}

#[test]
fn threads_exchange_small_bursts() {
    run_pair(50_000, 7, false);
}

#[test]
fn threads_ping_pong_in_bursts() {
    run_pair(20_000, 5, true);
}
