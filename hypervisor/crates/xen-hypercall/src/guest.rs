//! Guest memory as the decoder sees it: reads at guest virtual addresses, and arrays and
//! buffers in the guest whose every element is read on its own, bounds-checked.

use crate::{Errno, Fault};

/// Reads of the calling vCPU's memory at guest virtual addresses (Linux passes kernel
/// pointers). The hypervisor implements it over its stage-1 + stage-2 translation (`AT
/// S12E1R`), page by page; tests over a byte image.
///
/// A read that cannot be done in full fails with [`Fault`], which the guest sees as
/// `-EFAULT`. The decoder never asks for more than [`MAX_ELEMENT_SIZE`] bytes at once, and
/// asks for nothing whose end would wrap around the address space.
pub trait GuestMemory {
    /// Copies `buf.len()` bytes from guest virtual address `va` into `buf`.
    fn read(&self, va: u64, buf: &mut [u8]) -> Result<(), Fault>;
}

impl<M: GuestMemory + ?Sized> GuestMemory for &M {
    fn read(&self, va: u64, buf: &mut [u8]) -> Result<(), Fault> {
        (**self).read(va, buf)
    }
}

/// A guest virtual address, as a hypercall argument or a guest handle (`XEN_GUEST_HANDLE`,
/// 64 bits on Arm) holds it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GuestVa(pub u64);

impl GuestVa {
    /// The null handle.
    pub const NULL: GuestVa = GuestVa(0);

    /// Whether this is the null handle (`guest_handle_is_null`).
    pub const fn is_null(self) -> bool {
        self.0 == 0
    }

    /// The address `bytes` further on; `-EFAULT` if that wraps around.
    pub const fn offset(self, bytes: u64) -> Result<GuestVa, Errno> {
        match self.0.checked_add(bytes) {
            Some(va) => Ok(GuestVa(va)),
            None => Err(Errno::EFAULT),
        }
    }
}

/// The largest element [`read_element`] and [`GuestArray`] read: every argument structure of
/// the event-channel and grant-table operations fits (the largest, `struct gnttab_copy`, is
/// 40 bytes).
pub const MAX_ELEMENT_SIZE: usize = 64;

/// Reads element `index` of a guest array of `count` elements of `buf.len()` bytes starting
/// at `base`, into `buf`.
///
/// Errors: `-EINVAL` if `index >= count` or the element size is 0 or above
/// [`MAX_ELEMENT_SIZE`]; `-EFAULT` if the element's address computation wraps or the read
/// faults. Reads exactly that element and nothing else.
pub fn read_element(
    mem: &impl GuestMemory,
    base: GuestVa,
    count: u32,
    index: u32,
    buf: &mut [u8],
) -> Result<(), Errno> {
    let size = buf.len();
    if size == 0 || size > MAX_ELEMENT_SIZE || index >= count {
        return Err(Errno::EINVAL);
    }
    let va = element_va(base, index, size)?;
    // The element's last byte must not wrap either.
    va.offset(size as u64 - 1)?;
    mem.read(va.0, buf).map_err(Errno::from)
}

/// `base + index * size`, `-EFAULT` on overflow.
fn element_va(base: GuestVa, index: u32, size: usize) -> Result<GuestVa, Errno> {
    let bytes = u64::from(index)
        .checked_mul(size as u64)
        .ok_or(Errno::EFAULT)?;
    base.offset(bytes)
}

/// An array of fixed-size elements in guest memory (a guest handle and a count), whose
/// elements are read one at a time: element `i` is the only memory a read of `i` touches.
///
/// Made by the decoder, which has checked that the whole array lies below the top of the
/// address space (`-EFAULT` otherwise), so the address of every element can be computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestArray {
    base: GuestVa,
    len: u32,
    elem_size: u8,
}

impl GuestArray {
    /// An array of `len` elements of `elem_size` bytes at `base`.
    ///
    /// `-EINVAL` if `elem_size` is 0 or above [`MAX_ELEMENT_SIZE`], `-EFAULT` if the array
    /// would wrap around the address space.
    pub fn new(base: GuestVa, len: u32, elem_size: usize) -> Result<GuestArray, Errno> {
        if elem_size == 0 || elem_size > MAX_ELEMENT_SIZE {
            return Err(Errno::EINVAL);
        }
        let bytes = u64::from(len)
            .checked_mul(elem_size as u64)
            .ok_or(Errno::EFAULT)?;
        // The end may be exactly 2^64 only for an empty array at 0; keep it simple: the last
        // byte must be addressable.
        if bytes > 0 {
            base.offset(bytes - 1)?;
        }
        Ok(GuestArray {
            base,
            len,
            elem_size: elem_size as u8,
        })
    }

    /// Where the array starts.
    pub const fn base(&self) -> GuestVa {
        self.base
    }

    /// Number of elements.
    pub const fn len(&self) -> u32 {
        self.len
    }

    /// Whether it has no element.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes per element.
    pub const fn elem_size(&self) -> usize {
        self.elem_size as usize
    }

    /// The address of element `index` (for writing results back); `-EINVAL` if out of range.
    pub fn addr(&self, index: u32) -> Result<GuestVa, Errno> {
        if index >= self.len {
            return Err(Errno::EINVAL);
        }
        element_va(self.base, index, self.elem_size())
    }

    /// Reads element `index` into the start of `buf` and returns that part of it.
    /// `-EINVAL` if out of range, `-EFAULT` if the read faults.
    pub fn read<'b>(
        &self,
        mem: &impl GuestMemory,
        index: u32,
        buf: &'b mut [u8; MAX_ELEMENT_SIZE],
    ) -> Result<&'b mut [u8], Errno> {
        let elem = buf.get_mut(..self.elem_size()).ok_or(Errno::EINVAL)?;
        read_element(mem, self.base, self.len, index, elem)?;
        Ok(elem)
    }

    /// Reads element `index` of an array of 32-bit little-endian values.
    /// `-EINVAL` if the elements are not 4 bytes or `index` is out of range.
    pub fn read_u32(&self, mem: &impl GuestMemory, index: u32) -> Result<u32, Errno> {
        let mut b = [0u8; 4];
        if self.elem_size() != b.len() {
            return Err(Errno::EINVAL);
        }
        read_element(mem, self.base, self.len, index, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Reads element `index` of an array of 64-bit little-endian values (`xen_ulong_t`,
    /// `xen_pfn_t`). `-EINVAL` if the elements are not 8 bytes or `index` is out of range.
    pub fn read_u64(&self, mem: &impl GuestMemory, index: u32) -> Result<u64, Errno> {
        let mut b = [0u8; 8];
        if self.elem_size() != b.len() {
            return Err(Errno::EINVAL);
        }
        read_element(mem, self.base, self.len, index, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// The elements after the first `n` (none if `n >= len`): what a continuation of a batch
    /// covers once `n` elements are done (Xen re-issues the hypercall with the handle moved on
    /// and the count reduced).
    pub fn skip(&self, n: u32) -> GuestArray {
        let n = n.min(self.len);
        // In range: element n's address is at most the array's end, which did not wrap.
        let base = element_va(self.base, n, self.elem_size()).unwrap_or(self.base);
        GuestArray {
            base,
            len: self.len - n,
            elem_size: self.elem_size,
        }
    }
}

/// A byte buffer in guest memory (a console string), read in pieces no larger than the
/// caller's own buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestBuffer {
    base: GuestVa,
    len: u32,
}

impl GuestBuffer {
    /// `len` bytes at `base`; `-EFAULT` if they would wrap around the address space.
    pub fn new(base: GuestVa, len: u32) -> Result<GuestBuffer, Errno> {
        if len > 0 {
            base.offset(u64::from(len) - 1)?;
        }
        Ok(GuestBuffer { base, len })
    }

    /// Where the buffer starts.
    pub const fn base(&self) -> GuestVa {
        self.base
    }

    /// Its length in bytes.
    pub const fn len(&self) -> u32 {
        self.len
    }

    /// Whether it is empty.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The address of byte `offset` (`offset == len` allowed: the end); `-EINVAL` beyond.
    pub fn addr(&self, offset: u32) -> Result<GuestVa, Errno> {
        if offset > self.len {
            return Err(Errno::EINVAL);
        }
        self.base.offset(u64::from(offset))
    }

    /// Reads the bytes from `offset` on into `out`, as many as fit in `out` and remain in the
    /// buffer; returns how many (0 at the end). `-EINVAL` if `offset > len`, `-EFAULT` if the
    /// read faults.
    pub fn read(
        &self,
        mem: &impl GuestMemory,
        offset: u32,
        out: &mut [u8],
    ) -> Result<usize, Errno> {
        let start = self.addr(offset)?;
        let left = (self.len - offset) as usize;
        let n = left.min(out.len());
        if n == 0 {
            return Ok(0);
        }
        let dst = out.get_mut(..n).ok_or(Errno::EINVAL)?;
        mem.read(start.0, dst)?;
        Ok(n)
    }
}

/// Reads an `N`-byte argument structure at `va` (the only read a decode does).
pub(crate) fn read_struct<const N: usize>(
    mem: &impl GuestMemory,
    va: GuestVa,
) -> Result<[u8; N], Errno> {
    let mut bytes = [0u8; N];
    if N > 0 {
        va.offset(N as u64 - 1)?;
    }
    mem.read(va.0, &mut bytes)?;
    Ok(bytes)
}

/// Little-endian fields of an argument structure read by [`read_struct`]. Offsets are the
/// decoder's constants; an offset out of range would be a bug of this crate and is reported
/// as `-EFAULT` rather than a panic.
pub(crate) struct Fields<'a>(pub &'a [u8]);

impl Fields<'_> {
    pub fn u16(&self, off: usize) -> Result<u16, Errno> {
        xen_wire::get_u16(self.0, off).ok_or(Errno::EFAULT)
    }

    pub fn u32(&self, off: usize) -> Result<u32, Errno> {
        xen_wire::get_u32(self.0, off).ok_or(Errno::EFAULT)
    }

    pub fn u64(&self, off: usize) -> Result<u64, Errno> {
        xen_wire::get_u64(self.0, off).ok_or(Errno::EFAULT)
    }

    pub fn va(&self, off: usize) -> Result<GuestVa, Errno> {
        self.u64(off).map(GuestVa)
    }
}
