//! A plain fuzz driver for `xenstore::harness::run`, for machines without cargo-fuzz or a
//! nightly compiler: random scripts (raw bytes, and step sequences shaped like the
//! harness's input) plus mutation of the inputs that reached new outcome signatures (a
//! coarse stand-in for coverage feedback). Any violated invariant, or a panic, saves the
//! input under `artifacts/` and exits with status 1.
//!
//! ```text
//! cargo run --release --bin driver                      # 200000 inputs, seed from the clock
//! cargo run --release --bin driver -- --iters 1000000 --seed 42
//! cargo run --release --bin driver -- --secs 600
//! cargo run --release --bin driver -- artifacts/crash-*.bin   # replay inputs
//! ```

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use xenstore::harness::{self, Stats};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// A script of harness steps: domain, step kind (mostly well-formed requests), arguments
/// (mostly small numbers: the harness picks from its dictionaries modulo their sizes).
fn script(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(120) {
        out.push(rng.byte() % 3);
        out.push(match rng.below(10) {
            0..=5 => 2 + rng.byte() % 7,
            6 | 7 => 9 + rng.byte() % 3,
            _ => rng.byte(),
        });
        for _ in 0..4 + rng.below(24) {
            out.push(if rng.below(4) == 0 { rng.byte() } else { rng.byte() % 32 });
        }
    }
    out
}

fn mutate(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut v = corpus[rng.below(corpus.len())].clone();
    for _ in 0..1 + rng.below(8) {
        match rng.below(6) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.byte();
            }
            2 => {
                let i = rng.below(v.len() + 1);
                v.insert(i, rng.byte() % 32);
            }
            3 if !v.is_empty() => {
                let i = rng.below(v.len());
                let n = rng.below(16).min(v.len() - i);
                v.drain(i..i + n);
            }
            4 => {
                // Splice in a piece of another input.
                let other = &corpus[rng.below(corpus.len())];
                if !other.is_empty() {
                    let a = rng.below(other.len());
                    let b = (a + rng.below(64)).min(other.len());
                    let at = rng.below(v.len() + 1);
                    v.splice(at..at, other[a..b].iter().copied());
                }
            }
            _ => v.extend(script(rng).into_iter().take(32)),
        }
    }
    v.truncate(8192);
    v
}

/// A coarse outcome signature: which kinds of things the input made happen, bucketed.
fn signature(s: &Stats) -> [u8; 5] {
    let bucket = |n: usize| match n {
        0 => 0,
        1..=2 => 1,
        3..=8 => 2,
        9..=32 => 3,
        _ => 4,
    };
    [bucket(s.ok_replies), bucket(s.error_replies), bucket(s.events), bucket(s.commits), bucket(s.broken_rings)]
}

fn artifacts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("artifacts")
}

fn check(input: &[u8]) -> Result<Stats, String> {
    match std::panic::catch_unwind(|| harness::run(input)) {
        Ok(r) => r,
        Err(p) => Err(format!(
            "panic: {}",
            p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
        )),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut iters: u64 = 200_000;
    let mut secs: Option<u64> = None;
    let mut seed = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1) | 1;
    let mut replay = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--iters" => iters = it.next().and_then(|v| v.parse().ok()).expect("--iters N"),
            "--seed" => seed = it.next().and_then(|v| v.parse::<u64>().ok()).expect("--seed S") | 1,
            "--secs" => secs = Some(it.next().and_then(|v| v.parse().ok()).expect("--secs S")),
            file => replay.push(file.to_string()),
        }
    }
    if !replay.is_empty() {
        let mut failed = false;
        for f in &replay {
            let data = std::fs::read(f).expect("readable input");
            match check(&data) {
                Ok(s) => println!("{f}: ok {s:?}"),
                Err(e) => {
                    println!("{f}: FAILED: {e}");
                    failed = true;
                }
            }
        }
        std::process::exit(i32::from(failed));
    }
    // Quiet panics: they are reported with their input.
    std::panic::set_hook(Box::new(|_| {}));
    let deadline = secs.map(|s| Instant::now() + Duration::from_secs(s));
    let mut rng = Rng(seed);
    let mut corpus: Vec<Vec<u8>> = vec![Vec::new()];
    let mut seen: BTreeSet<[u8; 5]> = BTreeSet::new();
    let mut total = Stats::default();
    let start = Instant::now();
    println!("xenstore fuzz driver: seed {seed}, {}", deadline.map_or(format!("{iters} inputs"), |_| format!("{} s", secs.unwrap_or(0))));
    let mut i: u64 = 0;
    loop {
        if deadline.map_or(i >= iters, |d| Instant::now() >= d) {
            break;
        }
        let input = match rng.below(10) {
            0..=1 => (0..rng.below(2048)).map(|_| rng.byte()).collect(),
            2..=4 => script(&mut rng),
            _ => mutate(&mut rng, &corpus),
        };
        match check(&input) {
            Ok(s) => {
                total.steps += s.steps;
                total.ok_replies += s.ok_replies;
                total.error_replies += s.error_replies;
                total.events += s.events;
                total.commits += s.commits;
                total.broken_rings += s.broken_rings;
                for (t, e) in total.errors.iter_mut().zip(s.errors) {
                    *t += e;
                }
                if seen.insert(signature(&s)) || (corpus.len() < 256 && s.commits > 0 && rng.below(64) == 0) {
                    corpus.push(input);
                }
            }
            Err(e) => {
                let dir = artifacts();
                let _ = std::fs::create_dir_all(&dir);
                let file = dir.join(format!("crash-{seed}-{i}.bin"));
                let _ = std::fs::write(&file, &input);
                println!("FAILED after {i} inputs: {e}\ninput saved to {}", file.display());
                std::process::exit(1);
            }
        }
        i += 1;
        if i % 50_000 == 0 {
            println!("{i} inputs, {:.0}/s, {} signatures, corpus {}", i as f64 / start.elapsed().as_secs_f64(), seen.len(), corpus.len());
        }
    }
    println!(
        "ok: {i} inputs in {:.1} s; {} steps, {} replies, {} errors, {} watch events, {} commits, {} broken rings; {} outcome signatures",
        start.elapsed().as_secs_f64(),
        total.steps,
        total.ok_replies,
        total.error_replies,
        total.events,
        total.commits,
        total.broken_rings,
        seen.len()
    );
    let errors: Vec<String> = xenstore::XsError::ALL
        .iter()
        .zip(total.errors)
        .filter(|(_, n)| *n > 0)
        .map(|(e, n)| format!("{e} {n}"))
        .collect();
    println!("errors: {}", errors.join(", "));
}
