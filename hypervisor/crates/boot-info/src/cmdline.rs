//! The hypervisor's command line (QEMU's -append, or Xen's `xen,xen-bootargs`), with Xen's
//! option names where Xen has one: `dom0_mem=512M`, `dom0_max_vcpus=2`.

/// dom0 RAM when the command line does not say.
pub const DEFAULT_DOM0_MEM: u64 = 512 << 20;

/// What the command line sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// dom0's RAM in bytes.
    pub dom0_mem: u64,
    /// At most this many vCPUs for dom0 (default: one per physical CPU).
    pub dom0_max_vcpus: Option<u32>,
}

impl Default for Options {
    fn default() -> Self {
        Options { dom0_mem: DEFAULT_DOM0_MEM, dom0_max_vcpus: None }
    }
}

/// A command line option we know with a value we cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdlineError<'a> {
    /// `option=value` where value is not what `option` takes.
    BadValue {
        /// The option's name.
        option: &'a str,
        /// The value given.
        value: &'a str,
    },
}

impl core::fmt::Display for CmdlineError<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CmdlineError::BadValue { option, value } => write!(f, "bad value '{value}' for {option}= on the hypervisor command line"),
        }
    }
}

/// Parses the options we know; unknown words are ignored (they may be meant for Xen).
pub fn parse(line: &str) -> Result<Options, CmdlineError<'_>> {
    let mut options = Options::default();
    for word in line.split_ascii_whitespace() {
        let Some((option, value)) = word.split_once('=') else { continue };
        let bad = || CmdlineError::BadValue { option, value };
        match option {
            "dom0_mem" => {
                // Xen allows "512M,max:1G": the first size is what we use.
                let size = value.split(',').next().unwrap_or(value);
                options.dom0_mem = parse_size(size).ok_or_else(bad)?;
            }
            "dom0_max_vcpus" => options.dom0_max_vcpus = Some(value.parse().ok().filter(|&n| n > 0).ok_or_else(bad)?),
            _ => {}
        }
    }
    Ok(options)
}

/// "512M", "1G", "65536K", "1048576" (bytes).
pub fn parse_size(text: &str) -> Option<u64> {
    let (digits, shift) = match text.as_bytes().last()? {
        b'K' | b'k' => (&text[..text.len() - 1], 10),
        b'M' | b'm' => (&text[..text.len() - 1], 20),
        b'G' | b'g' => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    let value: u64 = digits.parse().ok()?;
    value.checked_mul(1 << shift).filter(|&v| v > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_line_gives_defaults() {
        assert_eq!(parse(""), Ok(Options::default()));
        assert_eq!(parse("  console=dtuart loglvl=all "), Ok(Options::default()));
    }

    #[test]
    fn dom0_mem_in_xen_forms() {
        assert_eq!(parse("dom0_mem=256M").unwrap().dom0_mem, 256 << 20);
        assert_eq!(parse("dom0_mem=1G,max:2G").unwrap().dom0_mem, 1 << 30);
        assert_eq!(parse("dom0_mem=65536K").unwrap().dom0_mem, 64 << 20);
        assert_eq!(parse("dom0_mem=4194304").unwrap().dom0_mem, 4 << 20);
    }

    #[test]
    fn dom0_max_vcpus() {
        assert_eq!(parse("dom0_max_vcpus=1").unwrap().dom0_max_vcpus, Some(1));
        assert_eq!(parse("dom0_max_vcpus=0"), Err(CmdlineError::BadValue { option: "dom0_max_vcpus", value: "0" }));
    }

    #[test]
    fn bad_sizes_are_errors() {
        for bad in ["dom0_mem=", "dom0_mem=M", "dom0_mem=12Q", "dom0_mem=0", "dom0_mem=99999999999999999999G", "dom0_mem=-1M"] {
            assert!(parse(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(parse_size("17179869184G"), None, "overflow is refused");
    }
}
