//! Node names: validation, relative paths, parents.
//!
//! A path is absolute (`/local/domain/1/device`), relative to the requesting domain's home
//! `/local/domain/<domid>` (`device` from domain 1 is the same node), or one of the special
//! watch names starting with `@` (`@introduceDomain`, `@releaseDomain`). The rules are
//! cxenstored's `canonicalize()`: characters from `[A-Za-z0-9-/_@]` only, no `//`, no
//! trailing `/` (except the root itself), at most [`XENSTORE_ABS_PATH_MAX`] characters in
//! all and at most [`XENSTORE_REL_PATH_MAX`] below a domain's home (or in all, outside any
//! home). Anything else is `EINVAL`.

use crate::wire::{XsError, XENSTORE_ABS_PATH_MAX, XENSTORE_REL_PATH_MAX};
use crate::DomId;
use alloc::string::String;
use alloc::vec::Vec;

/// The parent of every domain's home.
pub const LOCAL_DOMAIN: &str = "/local/domain";
/// The special watch fired when a domain is introduced (connected).
pub const INTRODUCE_DOMAIN: &str = "@introduceDomain";
/// The special watch fired when a domain is released (gone).
pub const RELEASE_DOMAIN: &str = "@releaseDomain";

/// A domain's home, `/local/domain/<domid>`: what relative paths are resolved against and
/// what `XS_GET_DOMAIN_PATH` returns.
pub fn domain_path(domid: DomId) -> String {
    let mut s = String::with_capacity(LOCAL_DOMAIN.len() + 6);
    s.push_str(LOCAL_DOMAIN);
    s.push('/');
    let mut digits = Vec::new();
    crate::wire::push_decimal(&mut digits, u64::from(domid));
    // Digits are ASCII.
    digits.iter().for_each(|&d| s.push(char::from(d)));
    s
}

/// cxenstored's `valid_chars()`: "Nodes can have lots of crap", but not that much.
pub fn valid_chars(raw: &[u8]) -> bool {
    raw.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'/' | b'_' | b'@'))
}

/// A path resolved for a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canonical {
    /// The absolute path (or the special name).
    pub path: String,
    /// Length of the `/local/domain/<domid>/` prefix added to a relative path (0 if the
    /// path was absolute or special): watch events for a relative watch drop it again.
    pub prefix_len: usize,
}

impl Canonical {
    /// Whether the path is a special `@` name.
    pub fn is_special(&self) -> bool {
        self.path.starts_with('@')
    }
}

/// Length of a `/local/domain/<1 to 5 digits>/` prefix of `path`, 0 if there is none
/// (cxenstored's `sscanf(name, "/local/domain/%5u/%n", ...)`).
fn local_offset(path: &str) -> usize {
    let Some(rest) = path.strip_prefix(LOCAL_DOMAIN).and_then(|r| r.strip_prefix('/')) else {
        return 0;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=5).contains(&digits) && rest.as_bytes().get(digits) == Some(&b'/') {
        path.len() - rest.len() + digits + 1
    } else {
        0
    }
}

/// Resolves and validates a path sent by domain `domid`. `allow_special` admits `@` names
/// (watches, permissions of the special nodes).
pub fn canonicalize(domid: DomId, raw: &[u8], allow_special: bool) -> Result<Canonical, XsError> {
    if !valid_chars(raw) {
        return Err(XsError::EINVAL);
    }
    // valid_chars() admitted ASCII only.
    let raw = core::str::from_utf8(raw).map_err(|_| XsError::EINVAL)?;
    let special = raw.starts_with('@');
    if special && !allow_special {
        return Err(XsError::EINVAL);
    }
    // Bound the work before building anything: no valid path is longer than this.
    if raw.len() > XENSTORE_ABS_PATH_MAX {
        return Err(XsError::EINVAL);
    }
    let (path, prefix_len) = if raw.starts_with('/') || special {
        (String::from(raw), 0)
    } else {
        let mut p = domain_path(domid);
        p.push('/');
        let prefix_len = p.len();
        p.push_str(raw);
        (p, prefix_len)
    };
    let trailing_slash = path.len() > 1 && path.ends_with('/');
    let too_long = path.len() > XENSTORE_ABS_PATH_MAX
        || path.len() - local_offset(&path) > XENSTORE_REL_PATH_MAX;
    if trailing_slash || path.contains("//") || too_long {
        return Err(XsError::EINVAL);
    }
    Ok(Canonical { path, prefix_len })
}

/// Validates an absolute path given by the hypervisor itself (domain build helpers): the
/// same rules, no relative paths, no special names.
pub fn absolute(raw: &str) -> Result<String, XsError> {
    if !raw.starts_with('/') {
        return Err(XsError::EINVAL);
    }
    canonicalize(0, raw.as_bytes(), false).map(|c| c.path)
}

/// The parent of a node: `/a/b` -> `/a`, `/a` -> `/`, and `/` for `/` itself (which
/// callers never remove).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last component of a node's path (`/a/b` -> `b`; `` for `/`).
pub fn basename(path: &str) -> &str {
    path.rfind('/').map_or(path, |i| &path[i + 1..])
}

/// The path of child `name` of `dir`.
pub fn child(dir: &str, name: &str) -> String {
    let mut s = String::with_capacity(dir.len() + 1 + name.len());
    s.push_str(dir);
    if dir != "/" {
        s.push('/');
    }
    s.push_str(name);
    s
}

/// Whether a change to `node` concerns a watch on `watched` (cxenstored's `is_child()`):
/// `node` is `watched` or below it. A watch on `/` sees every node but no special name;
/// special names match only themselves.
pub fn is_child(node: &str, watched: &str) -> bool {
    if watched == "/" {
        return node.starts_with('/');
    }
    match node.strip_prefix(watched) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(domid: DomId, raw: &str) -> Result<String, XsError> {
        canonicalize(domid, raw.as_bytes(), false).map(|c| c.path)
    }

    #[test]
    fn relative_and_absolute() {
        assert_eq!(canon(3, "device/vkbd/0").as_deref(), Ok("/local/domain/3/device/vkbd/0"));
        assert_eq!(canon(3, "/tool").as_deref(), Ok("/tool"));
        assert_eq!(canon(3, "/").as_deref(), Ok("/"));
        let c = canonicalize(3, b"device", true).unwrap();
        assert_eq!(&c.path[c.prefix_len..], "device");
    }

    #[test]
    fn rejects() {
        for bad in ["", "/a/", "a/", "/a//b", "//", "/a b", "/a\u{e9}", "a.b", "@introduceDomain"] {
            assert_eq!(canon(1, bad), Err(XsError::EINVAL), "{bad:?}");
        }
        assert!(canonicalize(1, b"@introduceDomain", true).unwrap().is_special());
        assert_eq!(canonicalize(1, b"/a\0b", false), Err(XsError::EINVAL));
    }

    #[test]
    fn lengths() {
        // Below a home: 2048 characters after the prefix.
        let rel = "a".repeat(XENSTORE_REL_PATH_MAX);
        assert!(canon(7, &rel).is_ok());
        assert_eq!(canon(7, &alloc::format!("{rel}b")), Err(XsError::EINVAL));
        let abs = alloc::format!("/local/domain/7/{rel}");
        assert!(canon(0, &abs).is_ok());
        // Outside any home the whole path counts.
        assert!(canon(0, &alloc::format!("/{}", "a".repeat(XENSTORE_REL_PATH_MAX - 1))).is_ok());
        assert_eq!(canon(0, &alloc::format!("/{}", "a".repeat(XENSTORE_REL_PATH_MAX))), Err(XsError::EINVAL));
        assert_eq!(canon(0, &"/a".repeat(3000)), Err(XsError::EINVAL));
        assert_eq!(local_offset("/local/domain/123456/x"), 0);
        assert_eq!(local_offset("/local/domain/12/x"), "/local/domain/12/".len());
        assert_eq!(local_offset("/local/domain/12"), 0);
    }

    #[test]
    fn tree_helpers() {
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert_eq!(basename("/a/b"), "b");
        assert_eq!(child("/", "a"), "/a");
        assert_eq!(child("/a", "b"), "/a/b");
        assert!(is_child("/a/b", "/a"));
        assert!(is_child("/a", "/a"));
        assert!(!is_child("/ab", "/a"));
        assert!(is_child("/ab", "/"));
        assert!(!is_child("@releaseDomain", "/"));
        assert!(is_child("@releaseDomain", "@releaseDomain"));
        assert_eq!(domain_path(0), "/local/domain/0");
        assert_eq!(domain_path(65535), "/local/domain/65535");
    }
}
