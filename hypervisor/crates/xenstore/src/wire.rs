//! The xenstore wire protocol: `struct xsd_sockmsg` framing, message types, error strings
//! and the payload shapes each request type takes (Linux's
//! `include/xen/interface/io/xs_wire.h`, Xen's `docs/misc/xenstore.txt`).
//!
//! A message is a 16-byte header `{type, req_id, tx_id, len}` (`uint32_t` each, in the
//! guest's byte order: little-endian, as every arm64 Xen guest is) followed by `len` bytes
//! of payload, `len <= XENSTORE_PAYLOAD_MAX`. Requests carry NUL-terminated strings; the
//! reply echoes `req_id` and `tx_id`, has the request's type (or `XS_ERROR`, whose payload
//! is an error name such as `"ENOENT\0"`), and watch events (`XS_WATCH_EVENT`, `req_id` 0)
//! carry `path\0token\0`.
//!
//! Everything here is checked, never trusted: a short buffer is `None`, a payload of the
//! wrong shape is [`XsError::EINVAL`].

use alloc::vec::Vec;

/// Size of `struct xsd_sockmsg`.
pub const XSD_SOCKMSG_SIZE: usize = 16;
/// `XENSTORE_PAYLOAD_MAX`: longest payload either side may send ("Violating this is very
/// bad": a longer `len` cannot be framed, and the connection is dropped).
pub const XENSTORE_PAYLOAD_MAX: usize = 4096;
/// `XENSTORE_ABS_PATH_MAX`: longest absolute path.
pub const XENSTORE_ABS_PATH_MAX: usize = 3072;
/// `XENSTORE_REL_PATH_MAX`: longest path relative to a domain's home
/// (`/local/domain/<domid>/`), and longest path outside any domain's home.
pub const XENSTORE_REL_PATH_MAX: usize = 2048;

/// `enum xsd_sockmsg_type` values, under their xs_wire.h names.
pub const XS_CONTROL: u32 = 0;
/// `XS_DIRECTORY`.
pub const XS_DIRECTORY: u32 = 1;
/// `XS_READ`.
pub const XS_READ: u32 = 2;
/// `XS_GET_PERMS`.
pub const XS_GET_PERMS: u32 = 3;
/// `XS_WATCH`.
pub const XS_WATCH: u32 = 4;
/// `XS_UNWATCH`.
pub const XS_UNWATCH: u32 = 5;
/// `XS_TRANSACTION_START`.
pub const XS_TRANSACTION_START: u32 = 6;
/// `XS_TRANSACTION_END`.
pub const XS_TRANSACTION_END: u32 = 7;
/// `XS_INTRODUCE`.
pub const XS_INTRODUCE: u32 = 8;
/// `XS_RELEASE`.
pub const XS_RELEASE: u32 = 9;
/// `XS_GET_DOMAIN_PATH`.
pub const XS_GET_DOMAIN_PATH: u32 = 10;
/// `XS_WRITE`.
pub const XS_WRITE: u32 = 11;
/// `XS_MKDIR`.
pub const XS_MKDIR: u32 = 12;
/// `XS_RM`.
pub const XS_RM: u32 = 13;
/// `XS_SET_PERMS`.
pub const XS_SET_PERMS: u32 = 14;
/// `XS_WATCH_EVENT` (server to client only).
pub const XS_WATCH_EVENT: u32 = 15;
/// `XS_ERROR` (server to client only).
pub const XS_ERROR: u32 = 16;
/// `XS_IS_DOMAIN_INTRODUCED`.
pub const XS_IS_DOMAIN_INTRODUCED: u32 = 17;
/// `XS_RESUME`.
pub const XS_RESUME: u32 = 18;
/// `XS_SET_TARGET`.
pub const XS_SET_TARGET: u32 = 19;
/// `XS_RESET_WATCHES` (`XS_SET_TARGET + 2`: 20 was `XS_RESTRICT`, removed).
pub const XS_RESET_WATCHES: u32 = 21;
/// `XS_DIRECTORY_PART`.
pub const XS_DIRECTORY_PART: u32 = 22;
/// `XS_TYPE_COUNT`: number of valid types (one past the last).
pub const XS_TYPE_COUNT: u32 = 23;
/// `XS_INVALID`: guaranteed to remain an invalid type.
pub const XS_INVALID: u32 = 0xffff;

/// The reply to requests that only need an acknowledgement: `"OK\0"`.
pub const OK_REPLY: &[u8] = b"OK\0";

/// A known message type. [`MsgType::from_wire`] maps the `type` field; anything else
/// (including the removed `XS_RESTRICT` = 20 and `XS_INVALID`) is not a `MsgType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum MsgType {
    /// `XS_CONTROL` (alias `XS_DEBUG`).
    Control = XS_CONTROL,
    /// `XS_DIRECTORY`.
    Directory = XS_DIRECTORY,
    /// `XS_READ`.
    Read = XS_READ,
    /// `XS_GET_PERMS`.
    GetPerms = XS_GET_PERMS,
    /// `XS_WATCH`.
    Watch = XS_WATCH,
    /// `XS_UNWATCH`.
    Unwatch = XS_UNWATCH,
    /// `XS_TRANSACTION_START`.
    TransactionStart = XS_TRANSACTION_START,
    /// `XS_TRANSACTION_END`.
    TransactionEnd = XS_TRANSACTION_END,
    /// `XS_INTRODUCE`.
    Introduce = XS_INTRODUCE,
    /// `XS_RELEASE`.
    Release = XS_RELEASE,
    /// `XS_GET_DOMAIN_PATH`.
    GetDomainPath = XS_GET_DOMAIN_PATH,
    /// `XS_WRITE`.
    Write = XS_WRITE,
    /// `XS_MKDIR`.
    Mkdir = XS_MKDIR,
    /// `XS_RM`.
    Rm = XS_RM,
    /// `XS_SET_PERMS`.
    SetPerms = XS_SET_PERMS,
    /// `XS_WATCH_EVENT`.
    WatchEvent = XS_WATCH_EVENT,
    /// `XS_ERROR`.
    Error = XS_ERROR,
    /// `XS_IS_DOMAIN_INTRODUCED`.
    IsDomainIntroduced = XS_IS_DOMAIN_INTRODUCED,
    /// `XS_RESUME`.
    Resume = XS_RESUME,
    /// `XS_SET_TARGET`.
    SetTarget = XS_SET_TARGET,
    /// `XS_RESET_WATCHES`.
    ResetWatches = XS_RESET_WATCHES,
    /// `XS_DIRECTORY_PART`.
    DirectoryPart = XS_DIRECTORY_PART,
}

impl MsgType {
    /// The type named by a header's `type` field, if it is a valid one.
    pub const fn from_wire(ty: u32) -> Option<MsgType> {
        Some(match ty {
            XS_CONTROL => MsgType::Control,
            XS_DIRECTORY => MsgType::Directory,
            XS_READ => MsgType::Read,
            XS_GET_PERMS => MsgType::GetPerms,
            XS_WATCH => MsgType::Watch,
            XS_UNWATCH => MsgType::Unwatch,
            XS_TRANSACTION_START => MsgType::TransactionStart,
            XS_TRANSACTION_END => MsgType::TransactionEnd,
            XS_INTRODUCE => MsgType::Introduce,
            XS_RELEASE => MsgType::Release,
            XS_GET_DOMAIN_PATH => MsgType::GetDomainPath,
            XS_WRITE => MsgType::Write,
            XS_MKDIR => MsgType::Mkdir,
            XS_RM => MsgType::Rm,
            XS_SET_PERMS => MsgType::SetPerms,
            XS_WATCH_EVENT => MsgType::WatchEvent,
            XS_ERROR => MsgType::Error,
            XS_IS_DOMAIN_INTRODUCED => MsgType::IsDomainIntroduced,
            XS_RESUME => MsgType::Resume,
            XS_SET_TARGET => MsgType::SetTarget,
            XS_RESET_WATCHES => MsgType::ResetWatches,
            XS_DIRECTORY_PART => MsgType::DirectoryPart,
            _ => return None,
        })
    }

    /// The `type` field value.
    pub const fn wire(self) -> u32 {
        self as u32
    }

    /// The xs_wire.h name, for logs.
    pub const fn name(self) -> &'static str {
        match self {
            MsgType::Control => "XS_CONTROL",
            MsgType::Directory => "XS_DIRECTORY",
            MsgType::Read => "XS_READ",
            MsgType::GetPerms => "XS_GET_PERMS",
            MsgType::Watch => "XS_WATCH",
            MsgType::Unwatch => "XS_UNWATCH",
            MsgType::TransactionStart => "XS_TRANSACTION_START",
            MsgType::TransactionEnd => "XS_TRANSACTION_END",
            MsgType::Introduce => "XS_INTRODUCE",
            MsgType::Release => "XS_RELEASE",
            MsgType::GetDomainPath => "XS_GET_DOMAIN_PATH",
            MsgType::Write => "XS_WRITE",
            MsgType::Mkdir => "XS_MKDIR",
            MsgType::Rm => "XS_RM",
            MsgType::SetPerms => "XS_SET_PERMS",
            MsgType::WatchEvent => "XS_WATCH_EVENT",
            MsgType::Error => "XS_ERROR",
            MsgType::IsDomainIntroduced => "XS_IS_DOMAIN_INTRODUCED",
            MsgType::Resume => "XS_RESUME",
            MsgType::SetTarget => "XS_SET_TARGET",
            MsgType::ResetWatches => "XS_RESET_WATCHES",
            MsgType::DirectoryPart => "XS_DIRECTORY_PART",
        }
    }
}

/// The errors a reply may carry: exactly the `xsd_errors[]` table of Linux 7.3's
/// xs_wire.h, which is what a Linux guest can decode (`get_error()` in xenbus_xs.c turns
/// any other string into `EINVAL` with a warning). Newer Xen tables add `EPERM`, and
/// oxenstored sends `EQUOTA`; we send neither (see docs/xenstore.md).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum XsError {
    EINVAL,
    EACCES,
    EEXIST,
    EISDIR,
    ENOENT,
    ENOMEM,
    ENOSPC,
    EIO,
    ENOTEMPTY,
    ENOSYS,
    EROFS,
    EBUSY,
    EAGAIN,
    EISCONN,
    E2BIG,
}

impl XsError {
    /// Every error, in xs_wire.h's order.
    pub const ALL: [XsError; 15] = [
        XsError::EINVAL,
        XsError::EACCES,
        XsError::EEXIST,
        XsError::EISDIR,
        XsError::ENOENT,
        XsError::ENOMEM,
        XsError::ENOSPC,
        XsError::EIO,
        XsError::ENOTEMPTY,
        XsError::ENOSYS,
        XsError::EROFS,
        XsError::EBUSY,
        XsError::EAGAIN,
        XsError::EISCONN,
        XsError::E2BIG,
    ];

    /// The error's name, as sent (without the NUL).
    pub const fn as_str(self) -> &'static str {
        match self {
            XsError::EINVAL => "EINVAL",
            XsError::EACCES => "EACCES",
            XsError::EEXIST => "EEXIST",
            XsError::EISDIR => "EISDIR",
            XsError::ENOENT => "ENOENT",
            XsError::ENOMEM => "ENOMEM",
            XsError::ENOSPC => "ENOSPC",
            XsError::EIO => "EIO",
            XsError::ENOTEMPTY => "ENOTEMPTY",
            XsError::ENOSYS => "ENOSYS",
            XsError::EROFS => "EROFS",
            XsError::EBUSY => "EBUSY",
            XsError::EAGAIN => "EAGAIN",
            XsError::EISCONN => "EISCONN",
            XsError::E2BIG => "E2BIG",
        }
    }

    /// The error a reply payload (`"ENOENT\0"`) names, if it is one of ours.
    pub fn from_payload(payload: &[u8]) -> Option<XsError> {
        let name = payload.strip_suffix(b"\0")?;
        XsError::ALL.into_iter().find(|e| e.as_str().as_bytes() == name)
    }
}

impl core::fmt::Display for XsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `struct xsd_sockmsg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Header {
    /// `type`: an `XS_*` value.
    pub ty: u32,
    /// `req_id`: echoed in the reply.
    pub req_id: u32,
    /// `tx_id`: transaction, 0 for none.
    pub tx_id: u32,
    /// `len`: payload length.
    pub len: u32,
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_le_bytes(bytes))
}

impl Header {
    /// Decodes the first [`XSD_SOCKMSG_SIZE`] bytes of `b`; `None` if there are fewer.
    pub fn parse(b: &[u8]) -> Option<Header> {
        Some(Header { ty: le32(b, 0)?, req_id: le32(b, 4)?, tx_id: le32(b, 8)?, len: le32(b, 12)? })
    }

    /// Encodes the header.
    pub fn to_bytes(&self) -> [u8; XSD_SOCKMSG_SIZE] {
        let mut out = [0u8; XSD_SOCKMSG_SIZE];
        out[0..4].copy_from_slice(&self.ty.to_le_bytes());
        out[4..8].copy_from_slice(&self.req_id.to_le_bytes());
        out[8..12].copy_from_slice(&self.tx_id.to_le_bytes());
        out[12..16].copy_from_slice(&self.len.to_le_bytes());
        out
    }

    /// The payload length, if it is within [`XENSTORE_PAYLOAD_MAX`].
    pub fn payload_len(&self) -> Option<usize> {
        usize::try_from(self.len).ok().filter(|&l| l <= XENSTORE_PAYLOAD_MAX)
    }
}

/// A whole message split into its header and payload. `None` if `msg` is shorter than a
/// header, if `len` exceeds [`XENSTORE_PAYLOAD_MAX`] or if `msg` does not hold exactly
/// `len` payload bytes.
pub fn split(msg: &[u8]) -> Option<(Header, &[u8])> {
    let hdr = Header::parse(msg)?;
    let payload = msg.get(XSD_SOCKMSG_SIZE..)?;
    (hdr.payload_len()? == payload.len()).then_some((hdr, payload))
}

/// Builds a message. The payload must be within [`XENSTORE_PAYLOAD_MAX`]: every caller in
/// this crate checks first (an over-long reply becomes `E2BIG`, an over-long watch event is
/// not sent); a longer one is cut, never sent whole.
pub fn build(ty: u32, req_id: u32, tx_id: u32, payload: &[u8]) -> Vec<u8> {
    let payload = payload.get(..XENSTORE_PAYLOAD_MAX).unwrap_or(payload);
    let len = payload.len() as u32; // <= 4096
    let mut out = Vec::with_capacity(XSD_SOCKMSG_SIZE + payload.len());
    out.extend_from_slice(&Header { ty, req_id, tx_id, len }.to_bytes());
    out.extend_from_slice(payload);
    out
}

/// The reply to `req`: its `req_id` and `tx_id`, type `ty`.
pub fn reply(req: &Header, ty: u32, payload: &[u8]) -> Vec<u8> {
    build(ty, req.req_id, req.tx_id, payload)
}

/// The `XS_ERROR` reply to `req`.
pub fn error_reply(req: &Header, err: XsError) -> Vec<u8> {
    let name = err.as_str().as_bytes();
    let mut payload = Vec::with_capacity(name.len() + 1);
    payload.extend_from_slice(name);
    payload.push(0);
    reply(req, XS_ERROR, &payload)
}

/// An `XS_WATCH_EVENT` message (`path\0token\0`, `req_id` and `tx_id` 0), or `None` if it
/// would exceed [`XENSTORE_PAYLOAD_MAX`] (Xen does not send those either).
pub fn watch_event(path: &[u8], token: &[u8]) -> Option<Vec<u8>> {
    let len = path.len() + 1 + token.len() + 1;
    if len > XENSTORE_PAYLOAD_MAX {
        return None;
    }
    let mut payload = Vec::with_capacity(len);
    payload.extend_from_slice(path);
    payload.push(0);
    payload.extend_from_slice(token);
    payload.push(0);
    Some(build(XS_WATCH_EVENT, 0, 0, &payload))
}

/// The payload as exactly `N` NUL-terminated strings (without their NULs): the last byte
/// is a NUL and there are exactly `N` NULs. `XS_WATCH` is `path\0token\0`, `XS_READ` is
/// `path\0`, and so on. Anything else is `EINVAL` (cxenstored's `onearg()` rule, extended).
pub fn args<const N: usize>(payload: &[u8]) -> Result<[&[u8]; N], XsError> {
    let body = payload.strip_suffix(b"\0").ok_or(XsError::EINVAL)?;
    let mut out: [&[u8]; N] = [&[]; N];
    let mut parts = body.split(|&b| b == 0);
    for slot in out.iter_mut() {
        *slot = parts.next().ok_or(XsError::EINVAL)?;
    }
    if parts.next().is_some() {
        return Err(XsError::EINVAL);
    }
    Ok(out)
}

/// The payload as one or more NUL-terminated strings (the last byte must be a NUL).
pub fn all_args(payload: &[u8]) -> Result<Vec<&[u8]>, XsError> {
    let body = payload.strip_suffix(b"\0").ok_or(XsError::EINVAL)?;
    Ok(body.split(|&b| b == 0).collect())
}

/// `XS_WRITE`'s payload: `path\0` then the value, any bytes (NULs included), possibly none.
pub fn path_and_value(payload: &[u8]) -> Result<(&[u8], &[u8]), XsError> {
    let nul = payload.iter().position(|&b| b == 0).ok_or(XsError::EINVAL)?;
    Ok((&payload[..nul], &payload[nul + 1..]))
}

/// A decimal number as xenstore payloads spell them (domain ids, offsets, event-channel
/// ports): one or more ASCII digits, nothing else, no overflow.
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &c| {
        let d = c.checked_sub(b'0').filter(|d| *d <= 9)?;
        acc.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// A decimal `u32` (see [`parse_u64`]).
pub fn parse_u32(s: &[u8]) -> Option<u32> {
    parse_u64(s).and_then(|v| u32::try_from(v).ok())
}

/// Appends `v` in decimal.
pub fn push_decimal(out: &mut Vec<u8>, v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = v;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let h = Header { ty: XS_READ, req_id: 7, tx_id: 3, len: 5 };
        assert_eq!(Header::parse(&h.to_bytes()), Some(h));
        assert_eq!(Header::parse(&[0; 15]), None);
    }

    #[test]
    fn types_cover_xs_wire() {
        for ty in 0..XS_TYPE_COUNT {
            match MsgType::from_wire(ty) {
                Some(t) => assert_eq!(t.wire(), ty),
                None => assert_eq!(ty, 20, "only XS_RESTRICT is gone"),
            }
        }
        assert_eq!(MsgType::from_wire(XS_TYPE_COUNT), None);
        assert_eq!(MsgType::from_wire(XS_INVALID), None);
    }

    #[test]
    fn args_shapes() {
        assert_eq!(args::<1>(b"a\0"), Ok([&b"a"[..]]));
        assert_eq!(args::<1>(b"\0"), Ok([&b""[..]]));
        assert_eq!(args::<1>(b"a"), Err(XsError::EINVAL));
        assert_eq!(args::<1>(b""), Err(XsError::EINVAL));
        assert_eq!(args::<1>(b"a\0b\0"), Err(XsError::EINVAL));
        assert_eq!(args::<2>(b"a\0b\0"), Ok([&b"a"[..], &b"b"[..]]));
        assert_eq!(args::<2>(b"a\0"), Err(XsError::EINVAL));
        assert_eq!(args::<2>(b"a\0b"), Err(XsError::EINVAL));
        assert_eq!(path_and_value(b"p\0v\0w"), Ok((&b"p"[..], &b"v\0w"[..])));
        assert_eq!(path_and_value(b"p\0"), Ok((&b"p"[..], &b""[..])));
        assert_eq!(path_and_value(b"p"), Err(XsError::EINVAL));
    }

    #[test]
    fn decimal() {
        assert_eq!(parse_u32(b"0"), Some(0));
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32(b"4294967296"), None);
        assert_eq!(parse_u32(b""), None);
        assert_eq!(parse_u32(b"1a"), None);
        assert_eq!(parse_u32(b"-1"), None);
        assert_eq!(parse_u64(b"99999999999999999999"), None);
        let mut v = Vec::new();
        push_decimal(&mut v, 0);
        v.push(b' ');
        push_decimal(&mut v, u64::MAX);
        assert_eq!(v, b"0 18446744073709551615");
    }

    #[test]
    fn errors_round_trip() {
        for e in XsError::ALL {
            let mut p = Vec::from(e.as_str().as_bytes());
            p.push(0);
            assert_eq!(XsError::from_payload(&p), Some(e));
        }
        assert_eq!(XsError::from_payload(b"EQUOTA\0"), None);
    }

    #[test]
    fn watch_event_limit() {
        let path = [b'a'; XENSTORE_PAYLOAD_MAX - 3];
        assert!(watch_event(&path, b"t").is_some());
        assert!(watch_event(&path, b"tt").is_none());
    }
}
