//! The console multiplexer, as the user sees the terminal.

use hv_console::mux::{
    Announcement, Focus, InputAction, Mux, Prefix, Source, UnknownDomain, HELD_LINE_CAPACITY,
    SWITCH_CHAR,
};

const XEN: Source = Source::Xen;
const DOM0: Source = Source::Domain(0);
const DOMU: Source = Source::Domain(1);
const DOMU2: Source = Source::Domain(2);

/// A multiplexer and the terminal it writes to.
struct Terminal {
    mux: Mux,
    screen: Vec<u8>,
}

impl Terminal {
    fn new(nr_domains: usize) -> Terminal {
        Terminal {
            mux: Mux::new(nr_domains),
            screen: Vec::new(),
        }
    }

    fn output(&mut self, source: Source, bytes: &[u8]) {
        let screen = &mut self.screen;
        self.mux
            .output(source, bytes, &mut |b| screen.extend_from_slice(b));
    }

    fn key(&mut self, byte: u8) -> InputAction {
        let screen = &mut self.screen;
        self.mux.input(byte, &mut |b| screen.extend_from_slice(b))
    }

    fn switch(&mut self) -> InputAction {
        self.key(SWITCH_CHAR);
        self.key(SWITCH_CHAR);
        self.key(SWITCH_CHAR)
    }

    fn flush_all(&mut self) {
        let screen = &mut self.screen;
        self.mux.flush(&mut |b| screen.extend_from_slice(b));
    }

    /// What appeared on the screen since the last call.
    fn take(&mut self) -> String {
        String::from_utf8(std::mem::take(&mut self.screen)).unwrap()
    }
}

fn announcement(target: &str) -> String {
    format!("(XEN) *** Serial input to {target} (type 'CTRL-a' three times to switch input)\r\n")
}

#[test]
fn prefixes() {
    assert_eq!(Prefix(XEN).to_string(), "(XEN) ");
    assert_eq!(Prefix(DOM0).to_string(), "[DOM-0] ");
    assert_eq!(Prefix(DOMU).to_string(), "[DOM-U] ");
    assert_eq!(Prefix(DOMU2).to_string(), "[DOM-U2] ");
    assert_eq!(Prefix(Source::Domain(3)).to_string(), "[DOM-U3] ");
    assert_eq!(
        Announcement(Focus::Domain(0)).to_string(),
        "*** Serial input to DOM0 (type 'CTRL-a' three times to switch input)"
    );
    assert_eq!(Focus::Monitor.to_string(), "Xen");
    assert_eq!(Focus::Domain(1).to_string(), "DOM1");
}

#[test]
fn every_line_is_prefixed_and_newlines_become_crlf() {
    let mut t = Terminal::new(1);
    t.output(XEN, b"Xen boots\nsecond line\n\n");
    assert_eq!(
        t.take(),
        "(XEN) Xen boots\r\n(XEN) second line\r\n(XEN) \r\n"
    );
    // CR LF is one newline, even split across writes.
    t.output(DOM0, b"Linux version 7.3\r\nBooting\r");
    assert_eq!(t.take(), "[DOM-0] Linux version 7.3\r\n[DOM-0] Booting");
    t.output(DOM0, b"\n");
    assert_eq!(t.take(), "\r\n");
    t.output(DOM0, b"\r\r\n");
    assert_eq!(t.take(), "[DOM-0] \r\n");
}

#[test]
fn lone_carriage_return_rewrites_the_line_after_its_prefix() {
    let mut t = Terminal::new(1);
    t.output(DOM0, b" 10%\r 50%\r100%\n");
    assert_eq!(t.take(), "[DOM-0]  10%\r[DOM-0]  50%\r[DOM-0] 100%\r\n");
    // A CR at a line start is nothing to rewrite.
    t.output(DOM0, b"\rnew\n");
    assert_eq!(t.take(), "[DOM-0] new\r\n");
}

#[test]
fn an_interrupted_line_is_ended_and_continued_under_a_fresh_prefix() {
    let mut t = Terminal::new(2);
    t.output(DOM0, b"/ # ");
    assert_eq!(
        t.take(),
        "[DOM-0] / # ",
        "the focused domain's prompt shows at once"
    );
    t.output(XEN, b"sp6: LED 2 on\n");
    assert_eq!(t.take(), "\r\n(XEN) sp6: LED 2 on\r\n");
    t.output(DOM0, b"ls");
    assert_eq!(t.take(), "[DOM-0] ls");
    t.output(DOM0, b"\r\n");
    assert_eq!(t.take(), "\r\n");
}

#[test]
fn the_newline_ending_an_interrupted_line_is_not_repeated() {
    let mut t = Terminal::new(1);
    t.output(DOM0, b"half a line");
    t.output(XEN, b"message\n");
    t.output(DOM0, b"\r\nnext line\n");
    assert_eq!(
        t.take(),
        "[DOM-0] half a line\r\n(XEN) message\r\n[DOM-0] next line\r\n"
    );
    // Only that one newline: a blank line after it is the guest's.
    t.output(DOM0, b"x");
    t.output(XEN, b"y");
    t.output(DOM0, b"\n\n");
    assert_eq!(t.take(), "[DOM-0] x\r\n(XEN) y\r\n[DOM-0] \r\n");
}

#[test]
fn the_hypervisors_own_partial_lines_are_interrupted_too() {
    let mut t = Terminal::new(1);
    t.output(XEN, b"Loading...");
    t.output(DOM0, b"hello\n");
    t.output(XEN, b" done\n");
    assert_eq!(
        t.take(),
        "(XEN) Loading...\r\n[DOM-0] hello\r\n(XEN)  done\r\n"
    );
}

#[test]
fn domains_without_focus_are_line_buffered() {
    let mut t = Terminal::new(3);
    t.output(DOMU, b"domU: ");
    t.output(DOMU2, b"third ");
    assert_eq!(t.take(), "", "held until a newline");
    t.output(DOM0, b"/ # ");
    t.output(DOMU, b"mounting /proc\nand");
    assert_eq!(t.take(), "[DOM-0] / # \r\n[DOM-U] domU: mounting /proc\r\n");
    t.output(DOM0, b"echo");
    t.output(DOMU2, b"domain\n");
    t.output(DOM0, b" hi\r\n");
    assert_eq!(
        t.take(),
        "[DOM-0] echo\r\n[DOM-U2] third domain\r\n[DOM-0]  hi\r\n"
    );
    t.flush_all();
    assert_eq!(t.take(), "[DOM-U] and");
}

#[test]
fn a_held_line_longer_than_the_buffer_is_written_in_pieces() {
    let mut t = Terminal::new(2);
    let long = vec![b'x'; HELD_LINE_CAPACITY + 10];
    t.output(DOMU, &long);
    let first = format!("[DOM-U] {}\r\n", "x".repeat(HELD_LINE_CAPACITY));
    assert_eq!(t.take(), first);
    t.output(DOMU, b"\n");
    assert_eq!(t.take(), format!("[DOM-U] {}\r\n", "x".repeat(10)));
    // A line of exactly the capacity: its newline is the break's, not an empty line.
    let exact = vec![b'y'; HELD_LINE_CAPACITY];
    t.output(DOMU, &exact);
    t.output(DOMU, b"\n");
    t.output(DOMU, b"z\n");
    assert_eq!(
        t.take(),
        format!(
            "[DOM-U] {}\r\n[DOM-U] z\r\n",
            "y".repeat(HELD_LINE_CAPACITY)
        )
    );
    // Capacity minus one, then the newline: one line.
    t.output(DOMU, &vec![b'w'; HELD_LINE_CAPACITY - 1]);
    t.output(DOMU, b"\n");
    assert_eq!(
        t.take(),
        format!("[DOM-U] {}\r\n", "w".repeat(HELD_LINE_CAPACITY - 1))
    );
}

#[test]
fn focus_cycles_through_the_domains_and_the_monitor() {
    let mut t = Terminal::new(3);
    assert_eq!(t.mux.focus(), Focus::Domain(0));
    assert_eq!(t.switch(), InputAction::FocusChanged(Focus::Domain(1)));
    assert_eq!(t.take(), announcement("DOM1"));
    assert_eq!(t.switch(), InputAction::FocusChanged(Focus::Domain(2)));
    assert_eq!(t.take(), announcement("DOM2"));
    assert_eq!(t.switch(), InputAction::FocusChanged(Focus::Monitor));
    assert_eq!(t.take(), announcement("Xen"));
    assert_eq!(t.switch(), InputAction::FocusChanged(Focus::Domain(0)));
    assert_eq!(t.take(), announcement("DOM0"));
}

#[test]
fn typed_bytes_go_to_the_focus() {
    let mut t = Terminal::new(2);
    let InputAction::ToDomain(0, bytes) = t.key(b'l') else {
        panic!()
    };
    assert_eq!(bytes.as_slice(), b"l");
    t.switch();
    let InputAction::ToDomain(1, bytes) = t.key(b's') else {
        panic!()
    };
    assert_eq!(bytes.as_ref(), b"s");
    t.switch();
    let InputAction::ToMonitor(bytes) = t.key(b'h') else {
        panic!()
    };
    assert_eq!(bytes.as_slice(), b"h");
}

#[test]
fn one_or_two_ctrl_a_are_passed_on() {
    let mut t = Terminal::new(1);
    assert_eq!(t.key(SWITCH_CHAR), InputAction::Held);
    let InputAction::ToDomain(0, bytes) = t.key(b'x') else {
        panic!()
    };
    assert_eq!(bytes.as_slice(), [SWITCH_CHAR, b'x']);
    assert_eq!(t.key(SWITCH_CHAR), InputAction::Held);
    assert_eq!(t.key(SWITCH_CHAR), InputAction::Held);
    let InputAction::ToDomain(0, bytes) = t.key(b'\r') else {
        panic!()
    };
    assert_eq!(bytes.as_slice(), [SWITCH_CHAR, SWITCH_CHAR, b'\r']);
    assert_eq!(t.take(), "", "no switch, nothing announced");
    // Four in a row: a switch, then one held.
    t.switch();
    assert_eq!(t.mux.focus(), Focus::Monitor);
    assert_eq!(t.key(SWITCH_CHAR), InputAction::Held);
    let InputAction::ToMonitor(bytes) = t.key(b'?') else {
        panic!()
    };
    assert_eq!(bytes.as_slice(), [SWITCH_CHAR, b'?']);
}

#[test]
fn switching_shows_the_new_focus_prompt_and_breaks_the_old_line() {
    let mut t = Terminal::new(2);
    t.output(DOM0, b"dom0 / # ");
    t.output(DOMU, b"domU / # ");
    assert_eq!(t.take(), "[DOM-0] dom0 / # ");
    t.switch();
    assert_eq!(
        t.take(),
        format!("\r\n{}[DOM-U] domU / # ", announcement("DOM1"))
    );
    // dom0's echo is now held; domU's goes out.
    t.output(DOM0, b"late");
    t.output(DOMU, b"ls");
    assert_eq!(t.take(), "ls");
    // The monitor's prompt is the hypervisor's.
    t.switch();
    t.output(XEN, b"reptar> ");
    assert_eq!(
        t.take(),
        format!("\r\n{}(XEN) reptar> ", announcement("Xen"))
    );
    // Back to dom0: what it held shows.
    t.switch();
    assert_eq!(
        t.take(),
        format!("\r\n{}[DOM-0] late", announcement("DOM0"))
    );
}

#[test]
fn set_focus_and_announce() {
    let mut t = Terminal::new(2);
    let screen = &mut t.screen;
    assert_eq!(
        t.mux
            .set_focus(Focus::Domain(7), &mut |b| screen.extend_from_slice(b)),
        Err(UnknownDomain(7))
    );
    assert_eq!(UnknownDomain(7).to_string(), "no domain 7");
    assert_eq!(t.take(), "");
    t.output(DOMU, b"prompt> ");
    let screen = &mut t.screen;
    t.mux
        .set_focus(Focus::Domain(1), &mut |b| screen.extend_from_slice(b))
        .unwrap();
    assert_eq!(
        t.take(),
        format!("{}[DOM-U] prompt> ", announcement("DOM1"))
    );
    let screen = &mut t.screen;
    t.mux
        .set_focus(Focus::Monitor, &mut |b| screen.extend_from_slice(b))
        .unwrap();
    t.mux.announce(&mut |b| t.screen.extend_from_slice(b));
    assert_eq!(
        t.take(),
        format!("\r\n{}{}", announcement("Xen"), announcement("Xen"))
    );
}

#[test]
fn set_focus_forgets_held_ctrl_a() {
    let mut t = Terminal::new(2);
    t.key(SWITCH_CHAR);
    t.key(SWITCH_CHAR);
    let screen = &mut t.screen;
    t.mux
        .set_focus(Focus::Domain(1), &mut |b| screen.extend_from_slice(b))
        .unwrap();
    let InputAction::ToDomain(1, bytes) = t.key(b'a') else {
        panic!()
    };
    assert_eq!(bytes.as_slice(), b"a");
}

#[test]
fn domains_come_and_go() {
    let mut t = Terminal::new(2);
    t.switch(); // domU
    t.take();
    t.output(DOMU, b"Kernel panic - not syncing");
    assert_eq!(t.take(), "[DOM-U] Kernel panic - not syncing");
    let screen = &mut t.screen;
    let focus = t
        .mux
        .set_domains(&[0], &mut |b| screen.extend_from_slice(b));
    assert_eq!(focus, Some(Focus::Monitor));
    assert_eq!(t.take(), format!("\r\n{}", announcement("Xen")));
    assert_eq!(t.mux.domains().collect::<Vec<_>>(), [0]);
    // Restarted, as domain 1 again, and a new domain 5; order does not matter.
    let screen = &mut t.screen;
    assert_eq!(
        t.mux
            .set_domains(&[5, 1, 0, 5], &mut |b| screen.extend_from_slice(b)),
        None
    );
    assert_eq!(t.mux.domains().collect::<Vec<_>>(), [0, 1, 5]);
    assert_eq!(t.switch(), InputAction::FocusChanged(Focus::Domain(0)));
    assert_eq!(t.switch(), InputAction::FocusChanged(Focus::Domain(1)));
    assert_eq!(t.switch(), InputAction::FocusChanged(Focus::Domain(5)));
    t.take();
    t.output(Source::Domain(5), b"x");
    assert_eq!(t.take(), "[DOM-U5] x");
}

#[test]
fn a_domain_that_goes_away_leaves_its_last_words() {
    let mut t = Terminal::new(2);
    t.output(DOMU, b"last words");
    let screen = &mut t.screen;
    assert_eq!(
        t.mux
            .set_domains(&[0], &mut |b| screen.extend_from_slice(b)),
        None
    );
    assert_eq!(t.take(), "[DOM-U] last words\r\n");
    // Output from a domain the multiplexer does not know is not lost.
    t.output(DOMU, b"straggler");
    assert_eq!(t.take(), "[DOM-U] straggler");
    t.output(DOM0, b"x\n");
    assert_eq!(t.take(), "\r\n[DOM-0] x\r\n");
}

#[test]
fn no_domain_means_the_monitor() {
    let mut t = Terminal::new(0);
    assert_eq!(t.mux.focus(), Focus::Monitor);
    assert_eq!(t.switch(), InputAction::FocusChanged(Focus::Monitor));
    assert_eq!(t.take(), announcement("Xen"));
    let InputAction::ToMonitor(_) = t.key(b'x') else {
        panic!()
    };
}
