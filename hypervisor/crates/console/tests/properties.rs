//! Property tests: the UART against a reference FIFO, the multiplexer's terminal
//! invariants under arbitrary interleavings, and the monitor's editor and parser on
//! arbitrary input.

use hv_console::monitor::{parse_command, LineEditor, LINE_CAPACITY};
use hv_console::mux::{Focus, InputAction, Mux, Source, SWITCH_CHAR};
use hv_console::vuart::{
    fr, irq, AccessWidth, Register, VUart, REGION_SIZE, RX_FIFO_DEPTH, UARTDR,
};
use proptest::prelude::*;
use std::collections::VecDeque;

// ---------------------------------------------------------------------------------------
// The UART.

#[derive(Debug, Clone)]
enum UartOp {
    Read(u64, AccessWidth),
    Write(u64, AccessWidth, u64),
    Push(u8),
    Break,
}

fn width() -> impl Strategy<Value = AccessWidth> {
    (0u64..4).prop_map(AccessWidth::from_sas)
}

fn offset() -> impl Strategy<Value = u64> {
    prop_oneof![
        // The registers Linux uses, most of the time.
        4 => prop::sample::select(vec![0x000u64, 0x004, 0x018, 0x038, 0x03C, 0x040, 0x044]),
        1 => 0u64..0x1010,
        1 => any::<u64>(),
    ]
}

fn uart_op() -> impl Strategy<Value = UartOp> {
    prop_oneof![
        3 => (offset(), width()).prop_map(|(o, w)| UartOp::Read(o, w)),
        3 => (offset(), width(), any::<u64>()).prop_map(|(o, w, v)| UartOp::Write(o, w, v)),
        3 => any::<u8>().prop_map(UartOp::Push),
        1 => Just(UartOp::Break),
    ]
}

fn valid(offset: u64, width: AccessWidth) -> bool {
    width != AccessWidth::Doubleword
        && offset < REGION_SIZE
        && offset % 4 == 0
        && Register::at(offset).is_some()
}

proptest! {
    #[test]
    fn uart_keeps_its_invariants(ops in prop::collection::vec(uart_op(), 0..200)) {
        let mut uart = VUart::new();
        // The bytes the FIFO should hold (low 8 bits; a break is a NUL).
        let mut model: VecDeque<u8> = VecDeque::new();
        let mut dropped = 0u64;
        let mut line = false;
        for op in ops {
            let effects = match op {
                UartOp::Read(offset, width) => match uart.read(offset, width) {
                    Ok(read) => {
                        prop_assert!(valid(offset, width));
                        prop_assert_eq!(u64::from(read.value) & !width.mask(), 0);
                        if offset == UARTDR {
                            let expected = model.pop_front().unwrap_or(0);
                            prop_assert_eq!(read.value & 0xFF, u32::from(expected) & width.mask() as u32);
                        }
                        read.effects
                    }
                    Err(_) => {
                        prop_assert!(!valid(offset, width));
                        continue;
                    }
                },
                UartOp::Write(offset, width, value) => match uart.write(offset, width, value) {
                    Ok(effects) => {
                        prop_assert!(valid(offset, width));
                        prop_assert_eq!(effects.tx.is_some(), offset == UARTDR);
                        if let Some(byte) = effects.tx {
                            prop_assert_eq!(byte, value as u8);
                        }
                        effects
                    }
                    Err(_) => {
                        prop_assert!(!valid(offset, width));
                        continue;
                    }
                },
                UartOp::Push(_) | UartOp::Break if model.len() == RX_FIFO_DEPTH => {
                    let effects = if let UartOp::Push(byte) = op { uart.push_rx(byte) } else { uart.push_break() };
                    prop_assert!(effects.rx_overrun);
                    dropped += 1;
                    effects
                }
                UartOp::Push(byte) => {
                    model.push_back(byte);
                    uart.push_rx(byte)
                }
                UartOp::Break => {
                    model.push_back(0);
                    uart.push_break()
                }
            };
            if let Some(level) = effects.irq_line {
                prop_assert_ne!(level, line);
                line = level;
            }
            prop_assert_eq!(line, uart.irq_line());
            let ris = uart.raw_interrupt_status();
            prop_assert_eq!(uart.irq_line(), ris & uart.interrupt_mask() != 0);
            prop_assert_eq!(uart.masked_interrupt_status(), ris & uart.interrupt_mask());
            prop_assert_eq!(ris & irq::TX, irq::TX);
            prop_assert_eq!(ris & !irq::ALL, 0);
            prop_assert_eq!(uart.interrupt_mask() & !irq::ALL, 0);
            prop_assert_eq!(uart.rx_space(), RX_FIFO_DEPTH - model.len());
            prop_assert_eq!(uart.rx_dropped(), dropped);
            let flags = uart.flags();
            prop_assert_eq!(flags & fr::RXFE != 0, model.is_empty());
            prop_assert_eq!(flags & fr::RXFF != 0, model.len() == RX_FIFO_DEPTH);
            prop_assert_eq!(flags & (fr::TXFE | fr::TXFF | fr::BUSY), fr::TXFE);
            if model.is_empty() {
                prop_assert_eq!(ris & (irq::RX | irq::RT), 0);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The multiplexer.

const NR_DOMAINS: u16 = 3;
const PREFIXES: [(&str, Source); 4] = [
    ("(XEN) ", Source::Xen),
    ("[DOM-0] ", Source::Domain(0)),
    ("[DOM-U] ", Source::Domain(1)),
    ("[DOM-U2] ", Source::Domain(2)),
];
const ANNOUNCEMENT_START: &str = "(XEN) *** Serial input to ";

#[derive(Debug, Clone)]
enum MuxOp {
    Output(Source, Vec<u8>),
    Key(u8),
    Focus(Focus),
    SetDomains(Vec<u16>),
}

fn source() -> impl Strategy<Value = Source> {
    prop_oneof![Just(Source::Xen), (0..NR_DOMAINS).prop_map(Source::Domain)]
}

fn mux_op() -> impl Strategy<Value = MuxOp> {
    let text = prop::collection::vec(prop::sample::select(b"abcd \r\n\n".to_vec()), 0..24);
    prop_oneof![
        8 => (source(), text).prop_map(|(s, t)| MuxOp::Output(s, t)),
        3 => prop::sample::select(vec![SWITCH_CHAR, b'k']).prop_map(MuxOp::Key),
        1 => prop_oneof![Just(Focus::Monitor), (0..NR_DOMAINS + 1).prop_map(Focus::Domain)].prop_map(MuxOp::Focus),
        1 => prop::collection::vec(0..NR_DOMAINS, 0..4).prop_map(MuxOp::SetDomains),
    ]
}

/// The terminal, cut into segments: each line (ended by `\r\n`) cut at every `\r`. Returns
/// each source's payload in order, or an error naming a malformed segment.
fn payloads(screen: &[u8]) -> Result<Vec<(Source, Vec<u8>)>, String> {
    let text = String::from_utf8(screen.to_vec()).map_err(|e| e.to_string())?;
    let mut per_source: Vec<(Source, Vec<u8>)> =
        PREFIXES.iter().map(|&(_, s)| (s, Vec::new())).collect();
    let lines: Vec<&str> = text.split("\r\n").collect();
    for (index, line) in lines.iter().enumerate() {
        let last = index == lines.len() - 1;
        if line.is_empty() {
            if last {
                continue;
            }
            return Err(format!("empty line in {text:?}"));
        }
        if line.contains('\n') {
            return Err(format!("bare LF in {line:?}"));
        }
        for segment in line.split('\r') {
            if segment.starts_with(ANNOUNCEMENT_START) {
                continue;
            }
            let Some((prefix, source)) = PREFIXES.iter().find(|(p, _)| segment.starts_with(p))
            else {
                return Err(format!("segment without prefix: {segment:?} in {text:?}"));
            };
            let payload = &segment[prefix.len()..];
            if payload.contains(['(', '[']) {
                return Err(format!("two prefixes in {segment:?}"));
            }
            let slot = per_source.iter_mut().find(|(s, _)| s == source).unwrap();
            slot.1.extend_from_slice(payload.as_bytes());
        }
    }
    Ok(per_source)
}

fn content(bytes: &[u8]) -> impl Iterator<Item = u8> + '_ {
    bytes.iter().copied().filter(|&b| b != b'\r' && b != b'\n')
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_line_has_one_prefix_and_each_source_stays_in_order(
        ops in prop::collection::vec(mux_op(), 0..60)
    ) {
        let mut mux = Mux::new(NR_DOMAINS.into());
        let mut screen = Vec::new();
        let mut written: Vec<(Source, Vec<u8>)> = PREFIXES.iter().map(|&(_, s)| (s, Vec::new())).collect();
        for op in ops {
            let mut sink = |b: &[u8]| screen.extend_from_slice(b);
            let immediate = match op {
                MuxOp::Output(source, bytes) => {
                    let known = match source {
                        Source::Domain(id) => mux.domains().any(|d| d == id),
                        Source::Xen => true,
                    };
                    mux.output(source, &bytes, &mut sink);
                    written.iter_mut().find(|(s, _)| *s == source).unwrap().1.extend(content(&bytes));
                    let immediate = match source {
                        Source::Xen => true,
                        Source::Domain(id) => mux.focus() == Focus::Domain(id) || !known,
                    };
                    Some((source, immediate))
                }
                MuxOp::Key(byte) => {
                    let before = mux.focus();
                    match mux.input(byte, &mut sink) {
                        InputAction::FocusChanged(focus) => {
                            prop_assert_eq!(focus, mux.focus());
                            prop_assert_ne!(Some(focus), None::<Focus>);
                        }
                        InputAction::ToDomain(id, _) => prop_assert_eq!(before, Focus::Domain(id)),
                        InputAction::ToMonitor(_) => prop_assert_eq!(before, Focus::Monitor),
                        InputAction::Held => {}
                    }
                    None
                }
                MuxOp::Focus(focus) => {
                    let known = match focus {
                        Focus::Domain(id) => mux.domains().any(|d| d == id),
                        Focus::Monitor => true,
                    };
                    prop_assert_eq!(mux.set_focus(focus, &mut sink).is_ok(), known);
                    None
                }
                MuxOp::SetDomains(domains) => {
                    mux.set_domains(&domains, &mut sink);
                    if let Focus::Domain(id) = mux.focus() {
                        prop_assert!(domains.contains(&id));
                    }
                    None
                }
            };
            let shown = payloads(&screen).map_err(TestCaseError::fail)?;
            for ((source, shown), (_, written)) in shown.iter().zip(&written) {
                // Nothing out of order, nothing invented; what is not shown yet is held.
                prop_assert!(written.starts_with(shown), "{:?}: {:?} vs {:?}", source, shown, written);
            }
            if let Some((source, true)) = immediate {
                let shown = &shown.iter().find(|(s, _)| *s == source).unwrap().1;
                let written = &written.iter().find(|(s, _)| *s == source).unwrap().1;
                prop_assert_eq!(shown, written, "{:?} is shown at once", source);
            }
        }
        mux.flush(&mut |b| screen.extend_from_slice(b));
        let shown = payloads(&screen).map_err(TestCaseError::fail)?;
        prop_assert_eq!(shown, written);
    }
}

// ---------------------------------------------------------------------------------------
// The monitor.

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "help",
            "?",
            "ver",
            "doms",
            "regs",
            "hexdump",
            "v2p",
            "leds",
            "press",
            "destroy",
            "restart",
            "focus",
            "screen",
            "0",
            "1",
            "7",
            "8",
            "dom0",
            "domU",
            "domU2",
            "dom-u0",
            "0x",
            "0x40000000",
            "4096",
            "4097",
            "-1",
            "18446744073709551615",
            "18446744073709551616",
            "0xffffffffffffffff",
            "esc",
            "ENTER",
            "up",
        ])
        .prop_map(String::from),
        "[a-z0-9x-]{1,8}",
        any::<String>(),
    ]
}

proptest! {
    #[test]
    fn the_parser_never_panics(line in any::<String>()) {
        if let Err(error) = parse_command(&line) {
            let message = error.to_string();
            prop_assert!(!message.is_empty());
            prop_assert!(!message.chars().any(char::is_control), "{:?}", message);
        }
    }

    #[test]
    fn the_parser_never_panics_on_near_commands(words in prop::collection::vec(word(), 0..5)) {
        let line = words.join(" ");
        match parse_command(&line) {
            Ok(None) => prop_assert!(line.trim_ascii().is_empty()),
            Ok(Some(_)) => {}
            Err(error) => {
                let message = error.to_string();
                prop_assert!(!message.chars().any(char::is_control), "{:?}", message);
                if let Some(command) = error.command() {
                    let expected_suffix = format!("; usage: {}", command.usage());
                    prop_assert!(message.ends_with(&expected_suffix));
                }
            }
        }
    }

    #[test]
    fn the_editor_keeps_a_printable_line(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut editor = LineEditor::new();
        for byte in bytes {
            let mut echo = Vec::new();
            let line = editor.input(byte, &mut |b| echo.extend_from_slice(b));
            prop_assert!(editor.contents().len() <= LINE_CAPACITY);
            prop_assert!(editor.contents().bytes().all(|b| (0x20..=0x7E).contains(&b)));
            prop_assert!(echo.iter().all(|&b| (0x20..=0x7E).contains(&b) || [b'\n', 0x07, 0x08].contains(&b)));
            if let Some(line) = line {
                prop_assert!(line.as_str().bytes().all(|b| (0x20..=0x7E).contains(&b)));
                prop_assert!(line.as_str().len() <= LINE_CAPACITY);
                prop_assert_eq!(editor.contents(), "");
                let _ = parse_command(line.as_str());
            }
        }
    }
}
