//! Fields of Xen hypercall argument structures, read from and written to the bytes copied
//! from a guest: little endian (Arm), every offset checked, never a panic. Shared by the
//! event-channel and grant-table crates.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// Little-endian `u16` at `off`, if in bounds.
pub fn get_u16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off.checked_add(2)?)?.try_into().ok()?))
}

/// Little-endian `u32` at `off`, if in bounds.
pub fn get_u32(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off.checked_add(4)?)?.try_into().ok()?))
}

/// Little-endian `u64` at `off`, if in bounds.
pub fn get_u64(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off.checked_add(8)?)?.try_into().ok()?))
}

/// Stores a little-endian `u16` at `off`; nothing if out of bounds.
pub fn put_u16(b: &mut [u8], off: usize, v: u16) {
    put(b, off, &v.to_le_bytes());
}

/// Stores a little-endian `u32` at `off`; nothing if out of bounds.
pub fn put_u32(b: &mut [u8], off: usize, v: u32) {
    put(b, off, &v.to_le_bytes());
}

/// Stores a little-endian `u64` at `off`; nothing if out of bounds.
pub fn put_u64(b: &mut [u8], off: usize, v: u64) {
    put(b, off, &v.to_le_bytes());
}

fn put(b: &mut [u8], off: usize, bytes: &[u8]) {
    if let Some(s) = off.checked_add(bytes.len()).and_then(|end| b.get_mut(off..end)) {
        s.copy_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_in_bounds() {
        let mut b = [0u8; 16];
        put_u16(&mut b, 0, 0xbeef);
        put_u32(&mut b, 4, 0xdead_beef);
        put_u64(&mut b, 8, 0x0123_4567_89ab_cdef);
        assert_eq!(get_u16(&b, 0), Some(0xbeef));
        assert_eq!(get_u32(&b, 4), Some(0xdead_beef));
        assert_eq!(get_u64(&b, 8), Some(0x0123_4567_89ab_cdef));
        assert_eq!(b[4..8], [0xef, 0xbe, 0xad, 0xde], "little endian");
    }

    #[test]
    fn out_of_bounds_is_none_and_writes_nothing() {
        let mut b = [0u8; 6];
        assert_eq!(get_u32(&b, 3), None);
        assert_eq!(get_u64(&b, 0), None);
        assert_eq!(get_u16(&b, usize::MAX), None);
        put_u32(&mut b, 4, u32::MAX);
        put_u64(&mut b, usize::MAX, u64::MAX);
        assert_eq!(b, [0; 6]);
    }
}
