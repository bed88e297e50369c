//! Xen's error numbers (`xen/include/public/errno.h`) and the value a failed hypercall leaves
//! in x0.

use core::fmt;

/// A Xen error number, one of the values of `public/errno.h` a guest may see (`EINTR` and
/// `ERESTART` are internal to Xen and left out). A hypercall that fails returns `-errno` in
/// x0 ([`Errno::to_ret`], [`Errno::to_reg`]).
///
/// The values are x86 Linux's, so they are also what Linux on arm64 compares against.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(u8);

macro_rules! errnos {
    ($($name:ident = $value:literal, $doc:literal;)*) => {
        impl Errno {
            $(
                #[doc = concat!("`", stringify!($name), "` (", stringify!($value), "): ", $doc, ".")]
                pub const $name: Errno = Errno($value);
            )*

            /// Every value, in increasing order.
            pub const ALL: &'static [Errno] = &[$(Errno::$name),*];

            /// The error with positive number `code`, if Xen has one.
            pub const fn from_code(code: i64) -> Option<Errno> {
                match code {
                    $($value => Some(Errno::$name),)*
                    _ => None,
                }
            }

            /// Xen's name for it (`"EINVAL"`).
            pub const fn name(self) -> &'static str {
                match self.0 {
                    $($value => stringify!($name),)*
                    _ => "E?",
                }
            }
        }
    };
}

errnos! {
    EPERM = 1, "operation not permitted";
    ENOENT = 2, "no such file or directory";
    ESRCH = 3, "no such process (no such domain)";
    EIO = 5, "I/O error";
    ENXIO = 6, "no such device or address";
    E2BIG = 7, "argument list too long";
    ENOEXEC = 8, "exec format error";
    EBADF = 9, "bad file number";
    ECHILD = 10, "no child processes";
    EAGAIN = 11, "try again";
    ENOMEM = 12, "out of memory";
    EACCES = 13, "permission denied";
    EFAULT = 14, "bad address";
    EBUSY = 16, "device or resource busy";
    EEXIST = 17, "file exists";
    EXDEV = 18, "cross-device link";
    ENODEV = 19, "no such device";
    EINVAL = 22, "invalid argument";
    ENFILE = 23, "file table overflow";
    EMFILE = 24, "too many open files";
    ENOSPC = 28, "no space left on device";
    EMLINK = 31, "too many links";
    EDOM = 33, "math argument out of domain of func";
    ERANGE = 34, "math result not representable";
    EDEADLK = 35, "resource deadlock would occur";
    ENAMETOOLONG = 36, "file name too long";
    ENOLCK = 37, "no record locks available";
    ENOSYS = 38, "function not implemented";
    EBADRQC = 56, "invalid request code";
    EBADSLT = 57, "invalid slot";
    ENODATA = 61, "no data available";
    ETIME = 62, "timer expired";
    EBADMSG = 74, "not a data message";
    EOVERFLOW = 75, "value too large for defined data type";
    EILSEQ = 84, "illegal byte sequence";
    EUSERS = 87, "too many users";
    ENOTSOCK = 88, "socket operation on non-socket";
    EOPNOTSUPP = 95, "operation not supported";
    EADDRINUSE = 98, "address already in use";
    EADDRNOTAVAIL = 99, "cannot assign requested address";
    ENOBUFS = 105, "no buffer space available";
    EISCONN = 106, "transport endpoint is already connected";
    ENOTCONN = 107, "transport endpoint is not connected";
    ESHUTDOWN = 108, "cannot send after transport endpoint shutdown";
    ETOOMANYREFS = 109, "too many references";
    ETIMEDOUT = 110, "connection timed out";
}

impl Errno {
    /// The positive error number.
    pub const fn code(self) -> i32 {
        self.0 as i32
    }

    /// What the hypercall returns: `-errno`.
    pub const fn to_ret(self) -> i64 {
        -(self.0 as i64)
    }

    /// `-errno` as the guest finds it in x0 (two's complement).
    pub const fn to_reg(self) -> u64 {
        self.to_ret() as u64
    }

    /// The error a hypercall return value `ret` (`-errno`) stands for; `None` for
    /// successes (`ret >= 0`) and for numbers Xen does not have.
    pub const fn from_ret(ret: i64) -> Option<Errno> {
        match ret.checked_neg() {
            Some(code) if code > 0 => Errno::from_code(code),
            _ => None,
        }
    }
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

/// A guest address the hypervisor could not read (it does not translate, through the guest's
/// stage 1 and its stage 2, to memory the guest owns). The guest sees `-EFAULT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The address that failed (where known; the start of the access otherwise).
    pub va: u64,
}

impl From<Fault> for Errno {
    fn from(_: Fault) -> Errno {
        Errno::EFAULT
    }
}
