//! A child process whose stdout is a console: what QEMU's `-serial stdio` gives in headless mode.
//!
//! Three threads serve the child: one appends every stdout byte to a shared buffer and to a log
//! file, one collects stderr, one waits for the exit status. The test thread waits on a condition
//! variable for any of these to change, so expectations react as soon as output arrives and a
//! child that exits is reported at once instead of at the end of a timeout.
//!
//! The console keeps a cursor: [`Console::expect`] looks for a pattern after it and moves it past
//! the match, so successive expectations read the output in order.
//!
//! The child runs in a process group of its own, which is killed when the `Console` is dropped;
//! it also gets SIGKILL if the thread that spawned it dies (`PR_SET_PDEATHSIG`), so that a test
//! process killed from outside does not leave a QEMU behind either.

use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use regex::bytes::{Regex, RegexBuilder};

/// How many lines of output a failure report shows.
const REPORT_LINES: usize = 40;
/// A search that found nothing waits this many times its own duration before the next one.
const SEARCH_BACKOFF: u32 = 4;
/// How long dropping a console waits for the killed child to be reaped.
const KILL_GRACE: Duration = Duration::from_secs(10);

/// A position in the console output (see [`Console::mark`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark(usize);

impl Mark {
    /// The start of the console output: everything QEMU printed since it started.
    pub const START: Mark = Mark(0);
}

/// The text matched by an expectation, with its capture groups.
#[derive(Clone, Debug)]
pub struct Match {
    before: String,
    groups: Vec<Option<String>>,
    names: Vec<Option<String>>,
}

impl Match {
    fn new(re: &Regex, captures: &regex::bytes::Captures<'_>, before: &[u8]) -> Self {
        let text = |m: regex::bytes::Match<'_>| String::from_utf8_lossy(m.as_bytes()).into_owned();
        Match {
            before: String::from_utf8_lossy(before).into_owned(),
            groups: captures.iter().map(|group| group.map(text)).collect(),
            names: re.capture_names().map(|name| name.map(str::to_owned)).collect(),
        }
    }

    /// The whole match.
    pub fn as_str(&self) -> &str {
        self.groups[0].as_deref().unwrap_or_default()
    }

    /// Capture group `index` (0 is the whole match), if it took part in the match.
    pub fn get(&self, index: usize) -> Option<&str> {
        self.groups.get(index)?.as_deref()
    }

    /// The named capture group `name`, if it took part in the match.
    pub fn name(&self, name: &str) -> Option<&str> {
        let index = self.names.iter().position(|n| n.as_deref() == Some(name))?;
        self.get(index)
    }

    /// The output between where the search started and the match.
    pub fn before(&self) -> &str {
        &self.before
    }
}

/// Why an expectation failed. Carried inside the `anyhow::Error` the console returns, so a caller
/// can tell a timeout from an exit with `downcast_ref`.
#[derive(Debug)]
pub enum ConsoleError {
    /// Nothing matched within the timeout.
    Timeout { awaited: String, waited: Duration, report: String },
    /// The child exited (and its output was read to the end) without a match.
    Exited { awaited: String, status: ExitStatus, report: String },
}

impl fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsoleError::Timeout { awaited, waited, report } => write!(
                f,
                "timed out after {:.1} s waiting for {awaited} on the console\n{report}",
                waited.as_secs_f64()
            ),
            ConsoleError::Exited { awaited, status, report } => write!(
                f,
                "the process exited ({status}) while waiting for {awaited} on the console\n{report}"
            ),
        }
    }
}

impl std::error::Error for ConsoleError {}

/// What a wait for output ended with (see [`Console::wait_for`]).
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Pattern `index` matched.
    Matched(usize, Match),
    /// No output arrived for the idle period.
    Idle,
}

/// A console pattern: multi-line, CRLF-aware regex over the raw bytes.
///
/// `^` and `$` match at line boundaries (`\n` or `\r\n`) and `.` matches neither `\r` nor `\n`,
/// so `^\(XEN\) .*hypervisor` stays within one line of the serial output.
pub fn compile(pattern: &str) -> Result<Regex> {
    RegexBuilder::new(pattern)
        .multi_line(true)
        .crlf(true)
        .build()
        .with_context(|| format!("invalid console pattern /{pattern}/"))
}

/// What the child's threads share with the test thread.
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    output: Vec<u8>,
    stderr: Vec<u8>,
    stdout_closed: bool,
    stderr_closed: bool,
    exit: Option<ExitStatus>,
}

impl State {
    /// The child is gone and all its output is in: nothing can match any more.
    fn finished(&self) -> Option<ExitStatus> {
        self.exit.filter(|_| self.stdout_closed && self.stderr_closed)
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A reader thread cannot panic while holding the lock, but a test thread can.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn update(&self, change: impl FnOnce(&mut State)) {
        change(&mut self.lock());
        self.changed.notify_all();
    }
}

/// A running child process and its console output.
pub struct Console {
    pid: libc::pid_t,
    stdin: Option<ChildStdin>,
    shared: Arc<Shared>,
    cursor: usize,
    log_path: PathBuf,
    threads: Vec<JoinHandle<()>>,
}

impl Console {
    /// Spawns `command` with piped stdio; its stdout is logged in full to `log_path`.
    pub fn spawn(mut command: Command, log_path: &Path) -> Result<Console> {
        if let Some(dir) = log_path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the log directory {}", dir.display()))?;
        }
        let log = File::create(log_path)
            .with_context(|| format!("creating the console log {}", log_path.display()))?;
        let log = Arc::new(Mutex::new(log));

        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        command.process_group(0);
        let parent = std::process::id();
        // SAFETY: the closure runs in the forked child before exec; it only makes
        // async-signal-safe system calls (prctl, getppid) and does not allocate.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died before prctl: then nobody would kill us.
                if libc::getppid() as u32 != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
        let mut child: Child = command.spawn().with_context(|| format!("spawning {command:?}"))?;
        let pid = libc::pid_t::try_from(child.id()).context("child pid out of range")?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");

        let shared = Arc::new(Shared { state: Mutex::default(), changed: Condvar::new() });
        let threads = vec![
            spawn_stdout_reader(stdout, Arc::clone(&shared), Arc::clone(&log)),
            spawn_stderr_reader(stderr, Arc::clone(&shared), log),
            spawn_waiter(child, Arc::clone(&shared)),
        ];
        Ok(Console { pid, stdin, shared, cursor: 0, log_path: log_path.to_path_buf(), threads })
    }

    /// The process id (also the process group id) of the child.
    pub fn pid(&self) -> u32 {
        self.pid as u32
    }

    /// Where the full console output is logged.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Writes raw bytes to the child's stdin (the console input).
    pub fn send(&mut self, bytes: &[u8]) -> Result<()> {
        let stdin = self.stdin.as_mut().context("the console input is closed")?;
        stdin.write_all(bytes).and_then(|()| stdin.flush()).with_context(|| {
            match self.shared.lock().exit {
                Some(status) => format!("writing to the console: the process exited ({status})"),
                None => "writing to the console".to_owned(),
            }
        })
    }

    /// The current position of the cursor.
    pub fn mark(&self) -> Mark {
        Mark(self.cursor)
    }

    /// Waits for `pattern` (see [`compile`]) after the cursor and moves the cursor past it.
    pub fn expect(&mut self, pattern: &str, timeout: Duration) -> Result<Match> {
        self.expect_since(self.mark(), pattern, timeout)
    }

    /// Like [`expect`](Self::expect), but searches from `mark`, which may lie before the cursor:
    /// for output that may have come before or after what the cursor has passed (a hypervisor
    /// message printed while a shell command runs). The cursor moves only forward.
    pub fn expect_since(&mut self, mark: Mark, pattern: &str, timeout: Duration) -> Result<Match> {
        let regexes = [compile(pattern)?];
        let awaited = format!("/{pattern}/");
        match self.wait_for(mark, &regexes, Instant::now() + timeout, None, &awaited)? {
            Outcome::Matched(_, found) => Ok(found),
            Outcome::Idle => unreachable!("no idle period was given"),
        }
    }

    /// Waits for whichever of `patterns` matches first in the output after the cursor; returns
    /// its index and the match, and moves the cursor past it.
    pub fn expect_any(&mut self, patterns: &[&str], timeout: Duration) -> Result<(usize, Match)> {
        let regexes = patterns.iter().map(|p| compile(p)).collect::<Result<Vec<_>>>()?;
        let awaited = patterns.iter().map(|p| format!("/{p}/")).collect::<Vec<_>>().join(" or ");
        match self.wait_for(self.mark(), &regexes, Instant::now() + timeout, None, &awaited)? {
            Outcome::Matched(index, found) => Ok((index, found)),
            Outcome::Idle => unreachable!("no idle period was given"),
        }
    }

    /// The general wait: for the earliest match of any of `regexes` in the output from `from`,
    /// until `deadline`; with `idle`, also returns when no output has come for that long.
    /// `awaited` describes the wait in error messages.
    pub(crate) fn wait_for(
        &mut self,
        from: Mark,
        regexes: &[Regex],
        deadline: Instant,
        idle: Option<Duration>,
        awaited: &str,
    ) -> Result<Outcome> {
        let started = Instant::now();
        let mut state = self.shared.lock();
        let mut seen_len = state.output.len();
        let mut searched_len = None;
        let mut last_growth = started;
        let mut next_search = started;
        loop {
            let now = Instant::now();
            let len = state.output.len();
            if len != seen_len {
                seen_len = len;
                last_growth = now;
            }
            let finished = state.finished();
            let idle_due = idle.map(|idle| last_growth + idle).filter(|&due| now >= due);
            let last_chance = finished.is_some() || idle_due.is_some() || now >= deadline;
            if searched_len != Some(len) && (now >= next_search || last_chance) {
                searched_len = Some(len);
                if let Some((index, end, found)) = earliest_match(regexes, &state.output, from.0) {
                    self.cursor = self.cursor.max(end);
                    return Ok(Outcome::Matched(index, found));
                }
                // Output comes a few bytes at a time and each search reads all of it from
                // `from`: when that gets long (a guest flooding the console), search less often
                // rather than spend the CPU QEMU needs.
                next_search = Instant::now() + now.elapsed() * SEARCH_BACKOFF;
            }
            if let Some(status) = finished {
                let report = self.report(&state);
                let awaited = awaited.to_owned();
                return Err(ConsoleError::Exited { awaited, status, report }.into());
            }
            if idle_due.is_some() {
                return Ok(Outcome::Idle);
            }
            if now >= deadline {
                let report = self.report(&state);
                let (awaited, waited) = (awaited.to_owned(), now - started);
                return Err(ConsoleError::Timeout { awaited, waited, report }.into());
            }
            let mut wake = idle.map_or(deadline, |idle| deadline.min(last_growth + idle));
            if searched_len != Some(len) {
                wake = wake.min(next_search);
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, wake.saturating_duration_since(now))
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }

    /// Waits for the child to exit; then (within the same timeout) for the rest of its output.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let state = self.wait_state(deadline, |state| state.exit.is_some());
        let Some(status) = state.exit else {
            let report = self.report(&state);
            anyhow::bail!(
                "the process did not exit within {:.1} s\n{report}",
                timeout.as_secs_f64()
            );
        };
        drop(state);
        drop(self.wait_state(deadline, |state| state.finished().is_some()));
        Ok(status)
    }

    /// The exit status, if the child has exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.shared.lock().exit
    }

    /// All output so far (lossy UTF-8), from the start.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.shared.lock().output).into_owned()
    }

    /// All output from `mark` on (lossy UTF-8).
    pub fn output_since(&self, mark: Mark) -> String {
        let state = self.shared.lock();
        let from = mark.0.min(state.output.len());
        String::from_utf8_lossy(&state.output[from..]).into_owned()
    }

    /// The output between two marks, `from` included, `to` excluded.
    pub(crate) fn output_between(&self, from: Mark, to: Mark) -> Vec<u8> {
        let state = self.shared.lock();
        let to = to.0.min(state.output.len());
        state.output[from.0.min(to)..to].to_vec()
    }

    /// The last lines of output, the child's stderr and the log path, for failure messages.
    pub fn failure_report(&self) -> String {
        self.report(&self.shared.lock())
    }

    fn report(&self, state: &State) -> String {
        let mut report = if state.output.is_empty() {
            "no console output\n".to_owned()
        } else {
            format!("last {REPORT_LINES} lines of console output:\n")
        };
        for line in last_lines(&state.output, REPORT_LINES) {
            report.push_str("  | ");
            report.push_str(&line);
            report.push('\n');
        }
        if !state.stderr.is_empty() {
            report.push_str("stderr:\n");
            for line in last_lines(&state.stderr, REPORT_LINES) {
                report.push_str("  ! ");
                report.push_str(&line);
                report.push('\n');
            }
        }
        report.push_str(&format!("full log: {}", self.log_path.display()));
        report
    }

    fn wait_state(
        &self,
        deadline: Instant,
        done: impl Fn(&State) -> bool,
    ) -> MutexGuard<'_, State> {
        let mut state = self.shared.lock();
        loop {
            let now = Instant::now();
            if done(&state) || now >= deadline {
                return state;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if self.shared.lock().exit.is_none() {
            // SAFETY: kill(2) on the child's process group, which it leads (process_group(0));
            // the group cannot have been reused since its leader has not been reaped yet.
            unsafe { libc::kill(-self.pid, libc::SIGKILL) };
        }
        drop(self.stdin.take());
        let state = self.wait_state(Instant::now() + KILL_GRACE, |s| s.finished().is_some());
        let finished = state.finished().is_some();
        drop(state);
        if finished {
            for thread in self.threads.drain(..) {
                let _ = thread.join();
            }
        } else {
            eprintln!("console: process {} did not go away after SIGKILL", self.pid);
        }
    }
}

/// The earliest (lowest start, then lowest index) match of any regex in `output[from..]`:
/// (regex index, end offset in `output`, match).
fn earliest_match(regexes: &[Regex], output: &[u8], from: usize) -> Option<(usize, usize, Match)> {
    let haystack = &output[from.min(output.len())..];
    let (index, captures) = regexes
        .iter()
        .enumerate()
        .filter_map(|(index, re)| Some((index, re.captures(haystack)?)))
        .min_by_key(|(index, captures)| (captures.get(0).map_or(0, |m| m.start()), *index))?;
    let whole = captures.get(0).expect("group 0 always takes part");
    let found = Match::new(&regexes[index], &captures, &haystack[..whole.start()]);
    Some((index, from + whole.end(), found))
}

/// The last `count` lines of `bytes`, made printable.
fn last_lines(bytes: &[u8], count: usize) -> Vec<String> {
    // Only the end is decoded: the output may be megabytes long.
    let start = bytes
        .iter()
        .enumerate()
        .rev()
        .filter(|&(_, &b)| b == b'\n')
        .nth(count)
        .map_or(0, |(newline, _)| newline + 1);
    String::from_utf8_lossy(&bytes[start..]).lines().map(printable).collect()
}

/// `line` with `\r` dropped and other control characters (escape sequences) escaped.
fn printable(line: &str) -> String {
    let mut shown = String::with_capacity(line.len());
    for c in line.chars() {
        match c {
            '\r' => {}
            c if c.is_control() && c != '\t' => shown.extend(c.escape_default()),
            c => shown.push(c),
        }
    }
    shown
}

fn spawn_stdout_reader(
    mut stdout: impl Read + Send + 'static,
    shared: Arc<Shared>,
    log: Arc<Mutex<File>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        loop {
            match stdout.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    // The log is for debugging: a failed write must not stop the test.
                    let _ = log.lock().map(|mut log| log.write_all(&chunk[..n]));
                    shared.update(|state| state.output.extend_from_slice(&chunk[..n]));
                }
            }
        }
        shared.update(|state| state.stdout_closed = true);
    })
}

fn spawn_stderr_reader(
    mut stderr: impl Read + Send + 'static,
    shared: Arc<Shared>,
    log: Arc<Mutex<File>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut collected = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = stderr.read(&mut chunk) {
            collected.extend_from_slice(&chunk[..n]);
            shared.update(|state| state.stderr.extend_from_slice(&chunk[..n]));
        }
        shared.update(|state| state.stderr_closed = true);
        // Appended after all of stdout, so the console part of the log stays intact.
        let mut state = shared.lock();
        while !state.stdout_closed {
            state = shared.changed.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        drop(state);
        if !collected.is_empty() {
            let _ = log.lock().map(|mut log| {
                let _ = write!(log, "\n---- stderr ----\n");
                log.write_all(&collected)
            });
        }
    })
}

fn spawn_waiter(mut child: Child, shared: Arc<Shared>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        if let Ok(status) = child.wait() {
            shared.update(|state| state.exit = Some(status));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        console: Console,
    }

    fn spawn(script: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let console = Console::spawn(sh(script), &dir.path().join("console.log")).unwrap();
        Fixture { _dir: dir, console }
    }

    const SHORT: Duration = Duration::from_millis(300);
    const LONG: Duration = Duration::from_secs(20);

    #[test]
    fn expect_reads_output_in_order() {
        let mut f = spawn("echo one; echo two; echo one; sleep 30");
        f.console.expect("one", LONG).unwrap();
        let two = f.console.expect(r"t(w)o", LONG).unwrap();
        assert_eq!(two.as_str(), "two");
        assert_eq!(two.get(1), Some("w"));
        assert_eq!(two.before(), "\n");
        f.console.expect("one", LONG).unwrap();
        let error = f.console.expect("one", SHORT).unwrap_err();
        assert!(matches!(error.downcast_ref(), Some(ConsoleError::Timeout { .. })), "{error:#}");
    }

    #[test]
    fn patterns_are_line_oriented() {
        let mut f = spawn(r"printf 'x (XEN) no\r\n(XEN) REPTAR v1\r\n'; sleep 30");
        let found = f.console.expect(r"^\(XEN\) (?<what>.*)$", LONG).unwrap();
        assert_eq!(found.name("what"), Some("REPTAR v1"));
    }

    #[test]
    fn timeout_error_names_the_pattern_the_output_and_the_log() {
        let mut f = spawn("for i in $(seq 1 100); do echo line$i; done; sleep 30");
        f.console.expect("line100", LONG).unwrap();
        let error = f.console.expect("never printed", SHORT).unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains("/never printed/"), "{message}");
        assert!(message.contains("line100") && message.contains("line61"), "{message}");
        assert!(!message.contains("line60\n"), "more than 40 lines: {message}");
        assert!(message.contains("console.log"), "{message}");
    }

    #[test]
    fn exit_is_reported_before_the_timeout() {
        let mut f = spawn("echo bye; echo oops >&2; exit 3");
        let started = Instant::now();
        let error = f.console.expect("never printed", LONG).unwrap_err();
        assert!(started.elapsed() < LONG / 2, "took {:?}", started.elapsed());
        match error.downcast_ref() {
            Some(ConsoleError::Exited { status, report, .. }) => {
                assert_eq!(status.code(), Some(3));
                assert!(report.contains("bye") && report.contains("oops"), "{report}");
            }
            _ => panic!("not an exit error: {error:#}"),
        }
    }

    #[test]
    fn output_printed_just_before_exit_still_matches() {
        let mut f = spawn("echo last words; exit 0");
        f.console.expect("last words", LONG).unwrap();
        assert!(f.console.wait_exit(LONG).unwrap().success());
    }

    #[test]
    fn expect_any_takes_the_earliest_match() {
        let mut f = spawn("echo alpha beta; sleep 30");
        let (index, found) = f.console.expect_any(&["beta", "alpha"], LONG).unwrap();
        assert_eq!((index, found.as_str()), (1, "alpha"));
        let (index, _) = f.console.expect_any(&["alpha", "beta"], LONG).unwrap();
        assert_eq!(index, 1);
    }

    #[test]
    fn expect_since_searches_behind_the_cursor_and_keeps_it() {
        let mut f = spawn("echo early; echo late; echo end; sleep 30");
        let start = f.console.mark();
        f.console.expect("late", LONG).unwrap();
        let after_late = f.console.mark();
        f.console.expect_since(start, "early", LONG).unwrap();
        assert_eq!(f.console.mark(), after_late);
        f.console.expect_since(start, "end", LONG).unwrap();
        assert!(f.console.mark() > after_late);
    }

    #[test]
    fn a_flood_of_output_is_searched_to_its_end() {
        // Many small writes, as QEMU's serial port makes them.
        let mut f = spawn(
            "i=0; while [ $i -lt 300000 ]; do echo \"(XEN) flood line $i\"; i=$((i+1)); done;
             echo the-end; sleep 30",
        );
        let started = Instant::now();
        f.console.expect("the-end", Duration::from_secs(60)).unwrap();
        assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
    }

    #[test]
    fn input_reaches_the_child() {
        let mut f = spawn("read line; echo \"got <$line>\"; sleep 30");
        f.console.send(b"hello\n").unwrap();
        f.console.expect("got <hello>", LONG).unwrap();
    }

    #[test]
    fn idle_wait_returns_when_output_stops() {
        let mut f = spawn("echo start; sleep 30");
        let regexes = [compile("never").unwrap()];
        let deadline = Instant::now() + LONG;
        let outcome =
            f.console.wait_for(Mark(0), &regexes, deadline, Some(SHORT), "never").unwrap();
        assert!(matches!(outcome, Outcome::Idle));
    }

    #[test]
    fn everything_is_logged() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sub/console.log");
        let mut console = Console::spawn(sh("printf 'a\\r\\nb\\n'; echo err >&2"), &log).unwrap();
        console.wait_exit(LONG).unwrap();
        drop(console);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "a\r\nb\n\n---- stderr ----\nerr\n");
    }

    #[test]
    fn wait_exit_times_out_on_a_running_child() {
        let mut f = spawn("sleep 30");
        let error = f.console.wait_exit(SHORT).unwrap_err();
        assert!(format!("{error}").contains("did not exit"), "{error:#}");
    }

    #[test]
    fn drop_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        // A grandchild in the background, as a shell script would leave one.
        let mut console =
            Console::spawn(sh("sleep 1000 & echo $!; wait"), &dir.path().join("log")).unwrap();
        let pid = console.expect(r"(\d+)\n", LONG).unwrap().get(1).unwrap().parse().unwrap();
        let leader = console.pid() as libc::pid_t;
        drop(console);
        for pid in [leader, pid] {
            // A killed process closes its files a moment before it becomes a zombie.
            let deadline = Instant::now() + Duration::from_secs(5);
            while running(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            assert!(!running(pid), "process {pid} survived");
        }
    }

    /// Whether `pid` exists and is not a zombie (an orphan's reaper may take its time).
    fn running(pid: libc::pid_t) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| !rest.starts_with(" Z")),
            Err(_) => false,
        }
    }
}
