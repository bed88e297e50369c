//! QEMU running the REPTAR system, as launched by `scripts/launch --headless`.
//!
//! A [`Machine`] owns the QEMU process (killed when it is dropped), its serial console and its
//! QMP socket. Only one machine runs at a time in a test process: each QEMU runs two vCPU threads
//! under TCG and CI machines have two cores, so parallel boots would only make every timeout
//! tighter.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::artifacts::{self, Artifacts};
use crate::console::{compile, Console, Mark, Match, Outcome};
use crate::picture::Picture;
use crate::qmp::Qmp;
use crate::shell;
use crate::BOOT_TIMEOUT;

/// Held by the running machine.
static ONE_MACHINE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How long the console may stay silent before `wait_for_shell` presses Enter.
const QUIET_BEFORE_ENTER: Duration = Duration::from_secs(5);
/// What busybox init's `askfirst` prints on a console.
const ASKFIRST: &str = "Please press Enter to activate this console";
/// How long QEMU gets to create its QMP socket.
const QMP_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// How to launch a machine. Start from [`LaunchOptions::new`]; each setter maps to the
/// `scripts/launch` option of the same name.
#[derive(Clone, Debug)]
pub struct LaunchOptions {
    /// Names the run: the console is logged to `<build>/test-logs/<name>.log`.
    pub name: String,
    /// The dom0 kernel instead of build/Image.
    pub kernel: Option<PathBuf>,
    /// The dom0 initramfs instead of build/dom0-rootfs.cpio.gz.
    pub initrd: Option<PathBuf>,
    /// Give no dom0 modules at all.
    pub no_dom0: bool,
    /// Give no dom0 initramfs.
    pub no_initrd: bool,
    /// Guest-physical address of the dom0 kernel module.
    pub kernel_addr: Option<u64>,
    /// Guest-physical address of the dom0 initramfs module.
    pub initrd_addr: Option<u64>,
    /// The hypervisor command line (`--append`), e.g. `dom0_mem=512M`.
    pub append: Option<String>,
    /// The dom0 kernel command line.
    pub dom0_args: Option<String>,
    /// The board's RAM size (QEMU `-m`), e.g. `512M`.
    pub mem: Option<String>,
    /// Deterministic single-threaded TCG (`-icount shift=0`).
    pub icount: bool,
    /// Extra QEMU arguments, after `--`.
    pub qemu_args: Vec<String>,
    /// The shell prompt regex used by [`Machine::shell`] until [`Machine::wait_for_shell`] or
    /// [`Machine::set_prompt`] changes it. Default: dom0's.
    pub prompt: String,
    /// Where the console log goes instead of `<build>/test-logs`.
    pub log_dir: Option<PathBuf>,
    /// Boot with this device tree (the boot configuration) instead of QEMU's own.
    pub dtb: Option<PathBuf>,
    /// Boot dom0 alone (it then has every CPU).
    pub no_domu: bool,
    /// For the harness's own tests: run this command line instead of scripts/launch. An argument
    /// containing `{qmp}` gets the QMP socket path put in its place (and enables [`Machine::qmp`]).
    /// No artifact is checked.
    pub command_override: Option<Vec<String>>,
}

impl LaunchOptions {
    pub fn new(name: impl Into<String>) -> Self {
        LaunchOptions {
            name: name.into(),
            kernel: None,
            initrd: None,
            no_dom0: false,
            no_initrd: false,
            kernel_addr: None,
            initrd_addr: None,
            append: None,
            dom0_args: None,
            mem: None,
            icount: false,
            qemu_args: Vec::new(),
            prompt: shell::shell_prompt("dom0"),
            log_dir: None,
            dtb: None,
            no_domu: false,
            command_override: None,
        }
    }

    /// Boots dom0 alone, with every CPU: scripts/launch `--no-domu`.
    pub fn no_domu(mut self) -> Self {
        self.no_domu = true;
        self
    }

    /// Boots with `path` as the device tree: scripts/launch `--dtb`.
    pub fn dtb(mut self, path: impl Into<PathBuf>) -> Self {
        self.dtb = Some(path.into());
        self
    }

    pub fn kernel(mut self, path: impl Into<PathBuf>) -> Self {
        self.kernel = Some(path.into());
        self
    }

    pub fn initrd(mut self, path: impl Into<PathBuf>) -> Self {
        self.initrd = Some(path.into());
        self
    }

    pub fn no_dom0(mut self) -> Self {
        self.no_dom0 = true;
        self
    }

    pub fn no_initrd(mut self) -> Self {
        self.no_initrd = true;
        self
    }

    pub fn kernel_addr(mut self, addr: u64) -> Self {
        self.kernel_addr = Some(addr);
        self
    }

    pub fn initrd_addr(mut self, addr: u64) -> Self {
        self.initrd_addr = Some(addr);
        self
    }

    pub fn append(mut self, hypervisor_args: impl Into<String>) -> Self {
        self.append = Some(hypervisor_args.into());
        self
    }

    pub fn dom0_args(mut self, args: impl Into<String>) -> Self {
        self.dom0_args = Some(args.into());
        self
    }

    pub fn mem(mut self, size: impl Into<String>) -> Self {
        self.mem = Some(size.into());
        self
    }

    pub fn icount(mut self) -> Self {
        self.icount = true;
        self
    }

    pub fn qemu_arg(mut self, arg: impl Into<String>) -> Self {
        self.qemu_args.push(arg.into());
        self
    }

    pub fn prompt(mut self, regex: impl Into<String>) -> Self {
        self.prompt = regex.into();
        self
    }

    pub fn log_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.log_dir = Some(dir.into());
        self
    }

    pub fn command_override<S: Into<String>>(mut self, argv: impl IntoIterator<Item = S>) -> Self {
        self.command_override = Some(argv.into_iter().map(Into::into).collect());
        self
    }

    fn log_path(&self) -> PathBuf {
        let dir = self.log_dir.clone().unwrap_or_else(|| artifacts::build_dir().join("test-logs"));
        let file: String = self
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })
            .collect();
        dir.join(format!("{file}.log"))
    }

    /// Fails with the "run make" message unless the files this launch needs exist.
    fn check_artifacts(&self) -> Result<()> {
        let defaults = Artifacts::locate();
        artifacts::require(&defaults.hypervisor, "the hypervisor")?;
        if self.no_dom0 {
            return Ok(());
        }
        artifacts::require(self.kernel.as_ref().unwrap_or(&defaults.kernel), "the dom0 kernel")?;
        if !self.no_initrd {
            let initrd = self.initrd.as_ref().unwrap_or(&defaults.rootfs);
            artifacts::require(initrd, "the dom0 initramfs")?;
        }
        Ok(())
    }

    /// The scripts/launch command line.
    fn launch_command(&self, qmp_socket: &Path) -> Command {
        let mut command = Command::new(artifacts::launcher());
        command.current_dir(artifacts::repo_root());
        command.arg("--headless").arg("--qmp").arg(qmp_socket);
        if let Some(kernel) = &self.kernel {
            command.arg("--kernel").arg(kernel);
        }
        if let Some(initrd) = &self.initrd {
            command.arg("--initrd").arg(initrd);
        }
        if self.no_dom0 {
            command.arg("--no-dom0");
        }
        if self.no_initrd {
            command.arg("--no-initrd");
        }
        if let Some(addr) = self.kernel_addr {
            command.arg("--kernel-addr").arg(format!("{addr:#x}"));
        }
        if let Some(addr) = self.initrd_addr {
            command.arg("--initrd-addr").arg(format!("{addr:#x}"));
        }
        if let Some(args) = &self.append {
            command.arg("--append").arg(args);
        }
        if let Some(args) = &self.dom0_args {
            command.arg("--dom0-args").arg(args);
        }
        if let Some(mem) = &self.mem {
            command.arg("--mem").arg(mem);
        }
        if self.icount {
            command.arg("--icount");
        }
        if let Some(dtb) = &self.dtb {
            command.arg("--dtb").arg(dtb);
        }
        if self.no_domu {
            command.arg("--no-domu");
        }
        if !self.qemu_args.is_empty() {
            command.arg("--").args(&self.qemu_args);
        }
        command
    }
}

/// A running QEMU with the REPTAR system (or, for the harness's tests, any console program).
pub struct Machine {
    // Field order is drop order: the console kills QEMU before the runtime directory with the
    // QMP socket goes, and the lock is released last.
    console: Console,
    qmp: Option<Qmp>,
    name: String,
    prompt: String,
    next_command_id: u64,
    launched_at: Instant,
    qmp_socket: Option<PathBuf>,
    _runtime_dir: tempfile::TempDir,
    _one_at_a_time: MutexGuard<'static, ()>,
}

impl Machine {
    /// Starts QEMU. Fails with a message telling to run `make` when an artifact is missing.
    /// Waits for a previous machine of this process to be dropped first.
    pub fn launch(options: LaunchOptions) -> Result<Machine> {
        compile(&options.prompt).context("the prompt option")?;
        let runtime_dir = tempfile::Builder::new()
            .prefix("reptar-test-")
            .tempdir()
            .context("creating a runtime directory for QEMU")?;
        let socket = runtime_dir.path().join("qmp.sock");
        let (command, qmp_socket) = match &options.command_override {
            None => {
                options.check_artifacts()?;
                (options.launch_command(&socket), Some(socket))
            }
            Some(argv) => {
                let (program, args) = argv.split_first().context("empty command_override")?;
                let uses_qmp = argv.iter().any(|arg| arg.contains("{qmp}"));
                let socket_str = socket.to_str().context("runtime directory is not UTF-8")?;
                let mut command = Command::new(program);
                command.args(args.iter().map(|arg| arg.replace("{qmp}", socket_str)));
                (command, uses_qmp.then_some(socket))
            }
        };
        let one_at_a_time =
            ONE_MACHINE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let log_path = options.log_path();
        eprintln!(
            "[{}] starting {command:?}\n[{}] console log: {}",
            options.name,
            options.name,
            log_path.display()
        );
        // The previous run's log stays beside this one (NAME.previous.log): rerunning a test
        // that failed once keeps the failure's log.
        if log_path.exists() {
            let _ = std::fs::rename(&log_path, log_path.with_extension("previous.log"));
        }
        let launched_at = Instant::now();
        let console = Console::spawn(command, &log_path)?;
        Ok(Machine {
            console,
            qmp: None,
            name: options.name,
            prompt: options.prompt,
            next_command_id: 1,
            launched_at,
            qmp_socket,
            _runtime_dir: runtime_dir,
            _one_at_a_time: one_at_a_time,
        })
    }

    /// Launches and waits for the dom0 shell (within [`BOOT_TIMEOUT`]), ready for
    /// [`shell`](Self::shell).
    pub fn boot_to_dom0_shell(options: LaunchOptions) -> Result<Machine> {
        let with_domu = !options.no_domu && options.dtb.is_none() && options.command_override.is_none();
        let mut machine = Machine::launch(options)?;
        if with_domu {
            // Both domains boot at once and their lines share the console: let domU reach its
            // shell first, so that its boot messages do not cut dom0's command lines.
            machine.expect(r"^\[DOM-U\] Enter 'help' for a list of built-in commands", BOOT_TIMEOUT)?;
        }
        machine.wait_for_shell("dom0", BOOT_TIMEOUT)?;
        Ok(machine)
    }

    /// The name of the run (as given in the options).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The console log of this run.
    pub fn log_path(&self) -> &Path {
        self.console.log_path()
    }

    /// When QEMU was spawned.
    pub fn launched_at(&self) -> Instant {
        self.launched_at
    }

    /// Raw console input (e.g. `"\x01"` for CTRL-a).
    pub fn send(&mut self, text: &str) -> Result<()> {
        self.console.send(text.as_bytes())
    }

    /// `text` and a line end, as typed at a shell (for commands that never return, like
    /// `poweroff -f`; use [`shell`](Self::shell) for the others).
    pub fn send_line(&mut self, text: &str) -> Result<()> {
        self.console.send(format!("{text}\n").as_bytes())
    }

    /// Waits for `pattern` on the console after the cursor and moves the cursor past it.
    /// Patterns are multi-line and CRLF-aware (see [`crate::console::compile`]). Fails on timeout
    /// or as soon as QEMU exits, with the end of the console output and the log path.
    pub fn expect(&mut self, pattern: &str, timeout: Duration) -> Result<Match> {
        self.console.expect(pattern, timeout)
    }

    /// Waits for the first of `patterns` to appear; returns its index and the match.
    pub fn expect_any(&mut self, patterns: &[&str], timeout: Duration) -> Result<(usize, Match)> {
        self.console.expect_any(patterns, timeout)
    }

    /// The cursor position, to search again from there with [`expect_since`](Self::expect_since).
    pub fn mark(&self) -> Mark {
        self.console.mark()
    }

    /// Waits for `pattern` in the output from `mark` on, even behind the cursor (for hypervisor
    /// messages that may come before or after a shell command's end). The cursor never moves
    /// back.
    pub fn expect_since(&mut self, mark: Mark, pattern: &str, timeout: Duration) -> Result<Match> {
        self.console.expect_since(mark, pattern, timeout)
    }

    /// The console output from `mark` on.
    pub fn output_since(&self, mark: Mark) -> String {
        self.console.output_since(mark)
    }

    /// The last lines of the console, QEMU's stderr and the log path: for failure messages.
    pub fn failure_report(&self) -> String {
        self.console.failure_report()
    }

    /// Uses `regex` as the shell prompt from now on.
    pub fn set_prompt(&mut self, regex: &str) -> Result<()> {
        compile(regex)?;
        self.prompt = regex.to_owned();
        Ok(())
    }

    /// Moves the serial input to `target` ("DOM0", "DOM1", "Xen" for the monitor) by typing
    /// CTRL-a three times as often as needed (the focus cycles dom0, each domU, the monitor),
    /// and waits for the hypervisor to announce it.
    pub fn switch_input_to(&mut self, target: &str, timeout: Duration) -> Result<()> {
        let announcement = r"^\(XEN\) \*\*\* Serial input to (\w+) \(type 'CTRL-a' three times to switch input\)";
        for _ in 0..crate::MAX_CONSOLE_TARGETS {
            self.send("\x01\x01\x01")?;
            let switched = self.expect(announcement, timeout)?;
            if switched.get(1) == Some(target) {
                return Ok(());
            }
        }
        anyhow::bail!("the serial input never reached {target}")
    }

    /// Moves the serial input to `target` (as [`switch_input_to`](Self::switch_input_to)) whose
    /// shell, of host `host`, is known to be up: Enter is pressed at once to get a fresh prompt
    /// (rather than after a quiet console, as for a shell that may still be booting).
    pub fn switch_to_shell(&mut self, target: &str, host: &str, timeout: Duration) -> Result<()> {
        self.switch_input_to(target, timeout)?;
        self.set_prompt(&shell::shell_prompt(host))?;
        self.console.send(b"\n")?;
        self.wait_for_prompt(timeout).map(drop)
    }

    /// Waits for the shell of host `host` (`dom0`, `domU`): its prompt becomes the prompt, and
    /// Enter is pressed whenever the console stays quiet (or init asks for it). Returns how long
    /// after the launch the prompt first appeared. The shell is ready for [`shell`](Self::shell)
    /// afterwards.
    pub fn wait_for_shell(&mut self, host: &str, timeout: Duration) -> Result<Duration> {
        self.set_prompt(&shell::shell_prompt(host))?;
        self.wait_for_prompt(timeout)
    }

    /// [`wait_for_shell`](Self::wait_for_shell) with the current prompt.
    pub fn wait_for_prompt(&mut self, timeout: Duration) -> Result<Duration> {
        let deadline = Instant::now() + timeout;
        let patterns = [compile(&self.prompt)?, compile(ASKFIRST)?];
        let awaited = format!("the shell prompt /{}/", self.prompt);
        loop {
            let outcome = self.console.wait_for(
                self.console.mark(),
                &patterns,
                deadline,
                Some(QUIET_BEFORE_ENTER),
                &awaited,
            )?;
            match outcome {
                Outcome::Matched(0, _) => break,
                Outcome::Matched(_, _) | Outcome::Idle => self.console.send(b"\n")?,
            }
        }
        let first_prompt = self.launched_at.elapsed();
        // Enter may have been pressed more than once: let the shell answer every one of them
        // before the first real command.
        self.shell_status(":", deadline.saturating_duration_since(Instant::now()))
            .context("synchronising with the shell after its first prompt")?;
        Ok(first_prompt)
    }

    /// Runs `command` at the shell and returns its output (without the echoed command line, the
    /// prompt, the final line end, or hypervisor lines printed meanwhile). Fails if the command
    /// exits with a non-zero status or does not finish within `timeout`.
    pub fn shell(&mut self, command: &str, timeout: Duration) -> Result<String> {
        let (output, status) = self.shell_status(command, timeout)?;
        if status != 0 {
            bail!(
                "`{command}` exited with status {status} on {}; its output:\n{output}",
                self.name
            );
        }
        Ok(output)
    }

    /// Runs `command` at the shell; returns its output (as [`shell`](Self::shell)) and its exit
    /// status. `command` is one line; it must not end with `&`.
    pub fn shell_status(&mut self, command: &str, timeout: Duration) -> Result<(String, i32)> {
        let deadline = Instant::now() + timeout;
        let id = self.next_command_id;
        self.next_command_id += 1;
        let line = shell::command_line(command, id)?;
        let start = self.console.mark();
        self.console.send(line.as_bytes())?;
        let context = || format!("running `{command}` at the shell of {}", self.name);
        let marker =
            self.console.expect(&shell::marker_pattern(id), timeout).with_context(context)?;
        let status = marker.get(1).expect("the marker has a status group").parse()?;
        let mut console = self.console.output_between(start, self.console.mark());
        console.truncate(console.len() - marker.as_str().len()); // the marker is ASCII
        let output = shell::command_output(&String::from_utf8_lossy(&console), &line);
        let prompt = self.prompt.clone();
        self.console
            .expect(&prompt, deadline.saturating_duration_since(Instant::now()))
            .with_context(|| {
                format!("waiting for the prompt after `{command}` on {}", self.name)
            })?;
        Ok((output, status))
    }

    /// The QMP session, connected on first use.
    pub fn qmp(&mut self) -> Result<&mut Qmp> {
        if self.qmp.is_none() {
            let socket = self.qmp_socket.clone().context("this machine has no QMP socket")?;
            self.qmp = Some(self.connect_qmp(&socket)?);
        }
        Ok(self.qmp.as_mut().expect("connected above"))
    }

    /// The screen now (QMP `screendump`), kept as `NAME.ppm` and `NAME.png` (for people) in the
    /// directory named after this machine's log.
    pub fn screen_dump(&mut self, name: &str) -> Result<Picture> {
        let dir = self.log_path().with_extension("");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let ppm = dir.join(format!("{name}.ppm"));
        let qmp = self.qmp()?;
        qmp.execute("screendump", serde_json::json!({ "filename": ppm.to_str().context("path")?, "format": "ppm" }))?;
        let _ = qmp.screendump(&dir.join(format!("{name}.png")));
        Picture::read_ppm(&ppm)
    }

    /// Dumps the screen (as `name`) until `done` accepts it twice in a row unchanged, within
    /// `timeout`: a guest draws within a few hundred milliseconds of a change, and a screen
    /// dump reads the framebuffer as it is, so one dump could catch a frame half drawn.
    pub fn wait_for_screen(
        &mut self,
        name: &str,
        what: &str,
        timeout: Duration,
        done: impl Fn(&Picture) -> bool,
    ) -> Result<Picture> {
        let deadline = Instant::now() + timeout;
        let mut previous: Option<Picture> = None;
        loop {
            let picture = self.screen_dump(name)?;
            if done(&picture) {
                if previous.as_ref() == Some(&picture) {
                    return Ok(picture);
                }
                previous = Some(picture);
            } else {
                previous = None;
            }
            if Instant::now() > deadline {
                let png = self.log_path().with_extension("").join(format!("{name}.png"));
                bail!("{what}: not on the screen after {timeout:?} (see {})", png.display());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Connects to QEMU's QMP socket, which appears a moment after QEMU starts.
    fn connect_qmp(&self, socket: &Path) -> Result<Qmp> {
        let deadline = Instant::now() + QMP_CONNECT_TIMEOUT;
        loop {
            match Qmp::connect(socket) {
                Ok(qmp) => return Ok(qmp),
                Err(error) => {
                    if let Some(status) = self.console.exit_status() {
                        bail!(
                            "QEMU exited ({status}) before QMP was up\n{}",
                            self.failure_report()
                        );
                    }
                    if Instant::now() >= deadline {
                        return Err(error.context(self.failure_report()));
                    }
                    // Nothing to wait on until the socket exists: poll.
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }

    /// Waits for QEMU to exit by itself (guest power-off, fatal boot error).
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus> {
        self.console
            .wait_exit(timeout)
            .with_context(|| format!("waiting for {} to exit", self.name))
    }

    /// QEMU's exit status, if it has exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.console.exit_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::ConsoleError;

    const TIMEOUT: Duration = Duration::from_secs(20);

    /// A stand-in for a guest shell: prompt, tty echo of the typed line, then the command.
    const FAKE_SHELL: &str = r#"
        while printf 'dom0:/# '; IFS= read -r line; do printf '%s\r\n' "$line"; eval "$line"; done
    "#;

    /// A machine running `script` (`sh -c`), logging into a directory that lives as long as it.
    fn fake(script: &str) -> (tempfile::TempDir, Machine) {
        let logs = tempfile::tempdir().unwrap();
        let options =
            LaunchOptions::new("fake").log_dir(logs.path()).command_override(["sh", "-c", script]);
        (logs, Machine::launch(options).unwrap())
    }

    #[test]
    fn shell_returns_output_and_status() {
        let (_logs, mut m) = fake(&format!("echo booting; {FAKE_SHELL}"));
        m.wait_for_shell("dom0", TIMEOUT).unwrap();
        assert_eq!(m.shell("echo one; echo two", TIMEOUT).unwrap(), "one\ntwo");
        assert_eq!(m.shell_status("echo out; false", TIMEOUT).unwrap(), ("out".into(), 1));
        assert_eq!(m.shell("printf abc", TIMEOUT).unwrap(), "abc");
        assert_eq!(m.shell("true", TIMEOUT).unwrap(), "");
        let error = m.shell("echo why; exit_status() { return 7; }; exit_status", TIMEOUT);
        let message = format!("{:#}", error.unwrap_err());
        assert!(message.contains("status 7") && message.contains("why"), "{message}");
    }

    #[test]
    fn hypervisor_lines_are_not_command_output() {
        let (_logs, mut m) = fake(FAKE_SHELL);
        m.wait_for_shell("dom0", TIMEOUT).unwrap();
        let mark = m.mark();
        let output = m.shell("echo '(XEN) d0: stage-2 fault'; echo mine", TIMEOUT).unwrap();
        assert_eq!(output, "mine");
        m.expect_since(mark, r"(?i)stage-2 fault", TIMEOUT).unwrap();
        assert_eq!(m.shell("echo next", TIMEOUT).unwrap(), "next", "the cursor stayed put");
    }

    #[test]
    fn extra_enters_do_not_confuse_the_next_command() {
        let (_logs, mut m) = fake(FAKE_SHELL);
        m.send("\n\n\n").unwrap();
        m.wait_for_shell("dom0", TIMEOUT).unwrap();
        assert_eq!(m.shell("echo clean", TIMEOUT).unwrap(), "clean");
    }

    #[test]
    fn wait_for_shell_answers_askfirst() {
        let script = format!("echo; echo '{ASKFIRST}.'; read enter; {FAKE_SHELL}");
        let (_logs, mut m) = fake(&script);
        let started = Instant::now();
        m.wait_for_shell("dom0", TIMEOUT).unwrap();
        assert!(started.elapsed() < QUIET_BEFORE_ENTER, "answered without waiting for quiet");
    }

    #[test]
    fn wait_for_shell_presses_enter_on_a_quiet_console() {
        let (_logs, mut m) = fake(&format!("echo boot done; read enter; {FAKE_SHELL}"));
        m.wait_for_shell("dom0", TIMEOUT).unwrap();
        assert_eq!(m.shell("echo ok", TIMEOUT).unwrap(), "ok");
    }

    #[test]
    fn another_hosts_prompt_is_not_this_shell() {
        let (_logs, mut m) = fake(FAKE_SHELL);
        let error = m.wait_for_shell("domU", Duration::from_millis(500)).unwrap_err();
        assert!(matches!(error.downcast_ref(), Some(ConsoleError::Timeout { .. })), "{error:#}");
        assert!(format!("{error:#}").contains("domU"), "{error:#}");
    }

    #[test]
    fn a_shell_that_dies_is_reported_with_its_status() {
        let (_logs, mut m) = fake(FAKE_SHELL);
        m.wait_for_shell("dom0", TIMEOUT).unwrap();
        let started = Instant::now();
        let error = m.shell("exit 5", TIMEOUT).unwrap_err();
        assert!(started.elapsed() < TIMEOUT / 2);
        let message = format!("{error:#}");
        assert!(message.contains("exit 5") && message.contains("exit status: 5"), "{message}");
        assert_eq!(m.wait_exit(TIMEOUT).unwrap().code(), Some(5));
    }

    #[test]
    fn the_console_is_logged_under_the_run_name() {
        let (logs, mut m) = fake("echo hello");
        m.wait_exit(TIMEOUT).unwrap();
        assert_eq!(m.log_path(), logs.path().join("fake.log"));
        drop(m);
        assert_eq!(std::fs::read_to_string(logs.path().join("fake.log")).unwrap(), "hello\n");
    }

    #[test]
    fn qmp_needs_a_socket() {
        let (_logs, mut m) = fake("sleep 30");
        let error = m.qmp().err().expect("no {qmp} in the command line");
        assert!(error.to_string().contains("no QMP socket"), "{error:#}");
    }

    #[test]
    fn launch_arguments_follow_the_launcher() {
        let options = LaunchOptions::new("x")
            .no_initrd()
            .kernel_addr(0x4900_0000)
            .append("dom0_mem=1G")
            .mem("512M")
            .qemu_arg("-S");
        let command = options.launch_command(Path::new("/run/q.sock"));
        let args: Vec<_> = command.get_args().map(|a| a.to_str().unwrap()).collect();
        assert_eq!(
            args,
            [
                "--headless",
                "--qmp",
                "/run/q.sock",
                "--no-initrd",
                "--kernel-addr",
                "0x49000000",
                "--append",
                "dom0_mem=1G",
                "--mem",
                "512M",
                "--",
                "-S",
            ]
        );
        assert!(command.get_program().to_str().unwrap().ends_with("scripts/launch"));
    }

    #[test]
    fn run_names_make_safe_log_names() {
        let options = LaunchOptions::new("bad input/no dom0").log_dir("/logs");
        assert_eq!(options.log_path(), Path::new("/logs/bad_input_no_dom0.log"));
    }
}
