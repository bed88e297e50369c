//! Running a command at a guest shell over the serial console.
//!
//! A command is typed as one line followed by a marker echo:
//!
//! ```text
//! cat /proc/cpuinfo; echo "@@""DONE 7 $?"
//! ```
//!
//! The shell prints `@@DONE 7 <exit status>` when the command is done. The tty echo of the typed
//! line reads `"@@""DONE 7`, which the marker pattern cannot match, and the number 7 is unique
//! per machine, so neither the echo nor an earlier command can be mistaken for this one's end.
//! Everything between the echoed line and the marker is the command's output.
//!
//! The echo is not always the typed text verbatim: busybox's line editor wraps a long line at its
//! idea of the terminal width (80 columns on a serial console) with a `\r\r\n`, and asks for the
//! cursor position (`ESC[6n`) before it. The echo is found as the typed text with such insertions
//! allowed between any two characters.

use anyhow::{bail, Result};
use regex::Regex;

/// The prompt regex of our rootfs shells for hostname `host` (PS1 = `'\h:\w# '`, e.g.
/// `dom0:/# `).
pub fn shell_prompt(host: &str) -> String {
    format!(r"{}:[^\r\n#]*# ", regex::escape(host))
}

/// The line to type for `command` with marker number `id`.
pub(crate) fn command_line(command: &str, id: u64) -> Result<String> {
    let command = command.trim().trim_end_matches(';').trim_end();
    if command.is_empty() {
        bail!("empty shell command");
    }
    if command.contains(['\n', '\r']) {
        bail!("shell command {command:?} spans several lines; join them with ';'");
    }
    if command.contains(|c: char| c.is_control()) {
        bail!("shell command {command:?} has control characters (a tab would complete)");
    }
    if command.ends_with('&') && !command.ends_with("&&") {
        bail!("shell command {command:?} runs in the background; end it with '& :' instead");
    }
    Ok(format!("{command}; echo \"@@\"\"DONE {id} $?\"\n"))
}

/// The console pattern of the marker for `id`; group 1 is the exit status. It ends with the line
/// end, so that a status still arriving digit by digit is never cut short.
pub(crate) fn marker_pattern(id: u64) -> String {
    format!(r"@@DONE {id} (\d+)\r?\n")
}

/// The output of a command from what the console showed between typing `typed` (as made by
/// [`command_line`]) and its marker: the echo of the typed line, terminal escape sequences, `\r`
/// and hypervisor lines (`(XEN) `, which interleave with any guest output) are dropped, a
/// `[DOM-x] ` console prefix is removed, and so is the final line end.
pub(crate) fn command_output(console: &str, typed: &str) -> String {
    let escapes = Regex::new(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|[@-Z\\-_])").expect("valid regex");
    let domain_prefix = Regex::new(r"^\[DOM-[0-9A-Za-z]+\] ?").expect("valid regex");
    let after_echo = match echo_pattern(typed).find(console) {
        Some(echo) => &console[echo.end()..],
        // Not recognised: assume it is the first line.
        None => console.split_once('\n').map_or("", |(_, rest)| rest),
    };
    let text = escapes.replace_all(after_echo, "");
    let mut output = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let line = line.replace('\r', "");
        let line = domain_prefix.replace(&line, "");
        if !line.starts_with("(XEN) ") {
            output.push_str(&line);
        }
    }
    output.truncate(output.trim_end_matches('\n').len());
    output
}

/// The tty echo of `typed`: its characters, with line wraps and escape sequences allowed between
/// them, and the line end. The hypervisor's console puts a `[DOM-x] ` prefix on every line,
/// wrapped ones included, and may put a whole `(XEN) ` line between two parts of one.
fn echo_pattern(typed: &str) -> Regex {
    const INSERTION: &str =
        r"(?:\r|\n|\[DOM-[0-9A-Za-z]+\] |\(XEN\) [^\n]*\n|\x1b\[[0-9;?]*[A-Za-z]| \x08)*";
    let characters: Vec<String> = typed
        .trim_end_matches('\n')
        .chars()
        .map(|c| regex::escape(c.encode_utf8(&mut [0; 4])))
        .collect();
    let mut pattern = characters.join(INSERTION);
    pattern.push_str(r"\r*\n");
    Regex::new(&pattern).expect("an escaped literal is a valid regex")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::compile;

    #[test]
    fn the_echo_of_the_command_line_cannot_match_the_marker() {
        let line = command_line("true", 3).unwrap();
        assert_eq!(line, "true; echo \"@@\"\"DONE 3 $?\"\n");
        let marker = compile(&marker_pattern(3)).unwrap();
        assert!(!marker.is_match(format!("dom0:/# {line}").as_bytes()));
        assert!(marker.is_match(b"@@DONE 3 0\r\n"));
    }

    #[test]
    fn the_marker_carries_the_status_and_its_id() {
        let marker = compile(&marker_pattern(3)).unwrap();
        let captures = marker.captures(b"x\r\n@@DONE 3 135\r\n").unwrap();
        assert_eq!(&captures[1], b"135");
        assert!(!marker.is_match(b"@@DONE 31 0\r\n"), "another command's marker");
        assert!(!marker.is_match(b"@@DONE 3 13"), "a status not yet complete");
    }

    #[test]
    fn command_lines_are_checked() {
        assert_eq!(command_line(" ls; ", 1).unwrap(), "ls; echo \"@@\"\"DONE 1 $?\"\n");
        assert_eq!(command_line("a && b", 1).unwrap(), "a && b; echo \"@@\"\"DONE 1 $?\"\n");
        assert!(command_line("", 1).is_err());
        assert!(command_line("a\nb", 1).is_err());
        assert!(command_line("sleep 1 &", 1).is_err());
        assert!(command_line("ls\t/", 1).is_err());
    }

    #[test]
    fn output_drops_the_echo_escapes_and_hypervisor_lines() {
        let typed = command_line("cat x", 1).unwrap();
        let console = format!(
            "\x1b[6n{}\r\n\x1b[1mline one\x1b[0m\r\n(XEN) d0v0: stage-2 fault\r\nline two\r\n",
            typed.trim_end()
        );
        assert_eq!(command_output(&console, &typed), "line one\nline two");
    }

    #[test]
    fn a_wrapped_echo_is_recognised() {
        let typed = command_line(&format!("echo {}", "x".repeat(100)), 5).unwrap();
        // As busybox ash shows it on an 80-column serial console.
        let (first, rest) = typed.split_at(72);
        let console = format!("\x1b[6n{first}\r\r\n{}\r\n{}\r\n", rest.trim_end(), "x".repeat(100));
        assert_eq!(command_output(&console, &typed), "x".repeat(100));
    }

    #[test]
    fn output_without_a_final_line_end_is_kept() {
        let typed = command_line("printf abc", 1).unwrap();
        assert_eq!(command_output(&format!("{typed}abc"), &typed), "abc");
        let typed = command_line("true", 1).unwrap();
        assert_eq!(command_output(&format!("{typed}"), &typed), "");
        let typed = command_line("a", 1).unwrap();
        assert_eq!(command_output(&format!("{typed}\r\nb\r\n\r\n"), &typed), "\nb");
    }

    #[test]
    fn an_unrecognised_echo_is_taken_as_the_first_line() {
        assert_eq!(command_output("something else\r\nout\r\n", "cat x\n"), "out");
    }

    #[test]
    fn a_wrapped_echo_with_console_prefixes_is_recognised() {
        let typed = command_line("dmesg | grep -cE 'WARNING:|suspected memory leak' || true", 7).unwrap();
        let (first, second) = typed.split_at(30);
        let console = format!(
            "[DOM-0] dom0:/# \x1b[6n{first}\r\n(XEN) LEDs: o o o o o o\r\n[DOM-0] {}\r\n[DOM-0] 0\r\n",
            second.trim_end()
        );
        assert_eq!(command_output(&console, &typed), "0");
    }

    #[test]
    fn domain_prefixes_are_removed() {
        let typed = command_line("cat x", 1).unwrap();
        let console = format!("[DOM-0] {}\r\n[DOM-0] 0-1\r\n", typed.trim_end());
        assert_eq!(command_output(&console, &typed), "0-1");
    }

    #[test]
    fn prompts_match_their_host_only() {
        let dom0 = compile(&shell_prompt("dom0")).unwrap();
        assert!(dom0.is_match(b"\r\ndom0:/# "));
        assert!(dom0.is_match(b"dom0:/sys/class/leds# "));
        assert!(!dom0.is_match(b"domU:/# "));
        assert!(!dom0.is_match(b"dom0:/#"), "the space is part of the prompt");
    }
}
