//! The monitor's command parser.

use hv_console::monitor::{
    parse_command, Command, CommandError, CommandName, HELP, HEXDUMP_DEFAULT_LENGTH,
    HEXDUMP_MAX_LENGTH,
};
use sp6_fpga::Button;

fn ok(line: &str) -> Command {
    match parse_command(line) {
        Ok(Some(command)) => command,
        other => panic!("{line:?}: {other:?}"),
    }
}

fn err(line: &str) -> String {
    match parse_command(line) {
        Err(error) => error.to_string(),
        other => panic!("{line:?} should fail: {other:?}"),
    }
}

#[test]
fn blank_lines_are_no_command() {
    for line in ["", " ", "\t", "  \t  ", "\r"] {
        assert_eq!(parse_command(line), Ok(None), "{line:?}");
    }
}

#[test]
fn commands_without_arguments() {
    assert_eq!(ok("help"), Command::Help);
    assert_eq!(ok("?"), Command::Help);
    assert_eq!(ok("HELP"), Command::Help);
    assert_eq!(ok("ver"), Command::Version);
    assert_eq!(ok("  doms  "), Command::Domains);
    assert_eq!(ok("Leds"), Command::Leds);
    for line in ["help me", "ver 1", "doms all", "leds 3"] {
        assert!(err(line).contains(": unexpected '"), "{line}");
    }
    assert_eq!(err("doms all"), "doms: unexpected 'all'; usage: doms");
}

#[test]
fn regs() {
    assert_eq!(
        ok("regs"),
        Command::Registers {
            domain: 0,
            vcpu: None
        }
    );
    assert_eq!(
        ok("regs 1"),
        Command::Registers {
            domain: 1,
            vcpu: None
        }
    );
    assert_eq!(
        ok("regs domU 1"),
        Command::Registers {
            domain: 1,
            vcpu: Some(1)
        }
    );
    assert_eq!(
        ok("regs dom0 0x3"),
        Command::Registers {
            domain: 0,
            vcpu: Some(3)
        }
    );
    assert_eq!(
        ok("regs 0 4294967295"),
        Command::Registers {
            domain: 0,
            vcpu: Some(u32::MAX)
        }
    );
    assert_eq!(
        err("regs 0 4294967296"),
        "regs: '4294967296' is not a number (decimal, or hex with 0x); usage: regs [dom] [vcpu]"
    );
    assert_eq!(
        err("regs x"),
        "regs: 'x' is not a domain (0, 1, dom0, domU, domU2...); usage: regs [dom] [vcpu]"
    );
    assert_eq!(
        err("regs 0 0 0"),
        "regs: unexpected '0'; usage: regs [dom] [vcpu]"
    );
}

#[test]
fn hexdump() {
    assert_eq!(
        ok("hexdump 0 0x40000000"),
        Command::Hexdump {
            domain: 0,
            guest_physical: 0x4000_0000,
            length: HEXDUMP_DEFAULT_LENGTH
        }
    );
    assert_eq!(
        ok("hexdump domU 4096 16"),
        Command::Hexdump {
            domain: 1,
            guest_physical: 4096,
            length: 16
        }
    );
    assert_eq!(
        ok("hexdump dom-u2 0x0 0x1000"),
        Command::Hexdump {
            domain: 2,
            guest_physical: 0,
            length: HEXDUMP_MAX_LENGTH
        }
    );
    assert_eq!(
        ok("hexdump 0 0xfffffffffffffff0 16"),
        Command::Hexdump {
            domain: 0,
            guest_physical: u64::MAX - 15,
            length: 16
        }
    );
    let usage = "; usage: hexdump <dom> <address> [length]";
    assert_eq!(err("hexdump"), format!("hexdump: missing <dom>{usage}"));
    assert_eq!(
        err("hexdump 0"),
        format!("hexdump: missing <address>{usage}")
    );
    assert_eq!(
        err("hexdump 0 0x"),
        format!("hexdump: '0x' is not a number (decimal, or hex with 0x){usage}")
    );
    assert_eq!(
        err("hexdump 0 1 0"),
        format!("hexdump: length 0 is not 1 to 4096{usage}")
    );
    assert_eq!(
        err("hexdump 0 1 4097"),
        format!("hexdump: length 4097 is not 1 to 4096{usage}")
    );
    assert_eq!(
        err("hexdump 0 1 0x100000000"),
        format!("hexdump: length 4294967296 is not 1 to 4096{usage}")
    );
    assert_eq!(
        err("hexdump 0 1 99999999999999999999"),
        format!("hexdump: '99999999999999999999' is not a number (decimal, or hex with 0x){usage}")
    );
    assert_eq!(
        err("hexdump 0 0xfffffffffffffff0 17"),
        format!("hexdump: 17 bytes from 0xfffffffffffffff0 wrap past the top of the address space{usage}")
    );
    assert_eq!(
        err("hexdump 0 1 2 3"),
        format!("hexdump: unexpected '3'{usage}")
    );
    assert_eq!(
        err("hexdump -1 0"),
        format!("hexdump: '-1' is not a domain (0, 1, dom0, domU, domU2...){usage}")
    );
}

#[test]
fn v2p() {
    assert_eq!(
        ok("v2p 1 0x40001000"),
        Command::TranslateAddress {
            domain: 1,
            guest_physical: 0x4000_1000
        }
    );
    assert_eq!(
        ok("V2P dom0 0"),
        Command::TranslateAddress {
            domain: 0,
            guest_physical: 0
        }
    );
    assert_eq!(
        err("v2p 1"),
        "v2p: missing <address>; usage: v2p <dom> <address>"
    );
    assert_eq!(
        err("v2p 1 2 3"),
        "v2p: unexpected '3'; usage: v2p <dom> <address>"
    );
}

#[test]
fn press() {
    for (name, button) in [
        ("esc", Button::Esc),
        ("BACKSPACE", Button::Backspace),
        ("Enter", Button::Enter),
        ("space", Button::Space),
        ("up", Button::Up),
        ("left", Button::Left),
        ("right", Button::Right),
        ("down", Button::Down),
        ("0", Button::Esc),
        ("7", Button::Down),
    ] {
        assert_eq!(
            ok(&format!("press {name}")),
            Command::Press(button),
            "{name}"
        );
    }
    let usage = "; usage: press <button>";
    assert_eq!(err("press"), format!("press: missing <button>{usage}"));
    assert_eq!(
        err("press 8"),
        format!("press: '8' is not a button (esc, backspace, enter, space, up, left, right, down, or 0-7){usage}")
    );
    assert_eq!(
        err("press up down"),
        format!("press: unexpected 'down'{usage}")
    );
}

#[test]
fn domain_commands() {
    assert_eq!(ok("destroy 1"), Command::Destroy(1));
    assert_eq!(ok("destroy domU"), Command::Destroy(1));
    assert_eq!(ok("restart DOM-U2"), Command::Restart(2));
    assert_eq!(ok("focus"), Command::Focus(0));
    assert_eq!(ok("focus domU"), Command::Focus(1));
    assert_eq!(ok("focus dom0"), Command::Focus(0));
    // `screen` is the board's screen and buttons, not the serial input: no domain shows it.
    assert_eq!(ok("screen"), Command::Screen(None));
    assert_eq!(ok("SCREEN"), Command::Screen(None));
    assert_eq!(ok("screen 1"), Command::Screen(Some(1)));
    assert_eq!(ok("screen domU"), Command::Screen(Some(1)));
    assert_eq!(ok("screen dom0"), Command::Screen(Some(0)));
    // Any domain id parses; whether it exists is the hypervisor's business.
    assert_eq!(ok("screen 5"), Command::Screen(Some(5)));
    assert_eq!(
        err("destroy"),
        "destroy: missing <dom>; usage: destroy <dom>"
    );
    assert_eq!(
        err("restart"),
        "restart: missing <dom>; usage: restart <dom>"
    );
    assert_eq!(
        err("destroy 65536"),
        "destroy: '65536' is not a domain (0, 1, dom0, domU, domU2...); usage: destroy <dom>"
    );
    assert_eq!(
        err("focus xen"),
        "focus: 'xen' is not a domain (0, 1, dom0, domU, domU2...); usage: focus [dom]"
    );
    assert_eq!(
        err("focus 0 1"),
        "focus: unexpected '1'; usage: focus [dom]"
    );
    assert_eq!(
        err("screen xen"),
        "screen: 'xen' is not a domain (0, 1, dom0, domU, domU2...); usage: screen [dom]"
    );
    assert_eq!(
        err("screen 65536"),
        "screen: '65536' is not a domain (0, 1, dom0, domU, domU2...); usage: screen [dom]"
    );
    assert_eq!(
        err("screen 1 0"),
        "screen: unexpected '0'; usage: screen [dom]"
    );
}

#[test]
fn unknown_commands() {
    assert_eq!(
        err("reboot"),
        "unknown command 'reboot' (type 'help' for the list)"
    );
    assert_eq!(
        err("hexdumpp 0 0"),
        "unknown command 'hexdumpp' (type 'help' for the list)"
    );
    // The user's bytes are escaped, not sent raw to the terminal.
    assert_eq!(
        err("\u{1b}[2J"),
        "unknown command '\\u{1b}[2J' (type 'help' for the list)"
    );
    assert_eq!(parse_command("x").unwrap_err(), CommandError::Unknown("x"));
    assert_eq!(parse_command("x").unwrap_err().command(), None);
}

#[test]
fn help_lists_every_command_with_its_usage() {
    for name in CommandName::ALL {
        let listed = HELP.lines().any(|line| {
            line.strip_prefix("  ").is_some_and(|rest| {
                rest.strip_prefix(name.usage())
                    .is_some_and(|after| after.starts_with("  "))
            })
        });
        assert!(listed, "{name} is not in HELP as '{}'", name.usage());
        assert_eq!(CommandName::from_word(name.word()), Some(name));
        assert_eq!(
            CommandName::from_word(&name.word().to_uppercase()),
            Some(name)
        );
        // Every usage starts with its word.
        assert!(name.usage().starts_with(name.word()));
    }
    assert_eq!(
        HELP.lines()
            .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
            .count(),
        CommandName::ALL.len()
    );
    assert!(HELP.lines().all(|line| line.len() <= 90), "fits a terminal");
}

#[test]
fn every_error_names_its_usage() {
    for line in [
        "regs q",
        "hexdump",
        "v2p",
        "press",
        "destroy",
        "restart",
        "focus 1 2",
        "screen 1 2",
        "screen -1",
        "ver 1",
    ] {
        let error = parse_command(line).unwrap_err();
        let command = error.command().unwrap();
        assert!(
            error
                .to_string()
                .ends_with(&format!("; usage: {}", command.usage())),
            "{line}"
        );
    }
}
