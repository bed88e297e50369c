//! Test support shared by the protocol crates' harnesses (each includes this file with
//! `#[path]`, kbdif's and fbif's through test_support/ring_harness.rs): arbitrary bytes, from
//! the fuzzer or a property test, read as the values the hostile peers send.

#![allow(dead_code)]

/// Reads bytes off the fuzz input; zeros once it runs out.
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Input { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    pub fn i32(&mut self) -> i32 {
        self.u32() as i32
    }

    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        std::array::from_fn(|_| self.u8())
    }

    /// A starting ring index: 0, anything, or close below the wrap.
    pub fn start(&mut self) -> u32 {
        match self.u8() % 3 {
            0 => 0,
            1 => self.u32(),
            _ => 0u32.wrapping_sub(u32::from(self.u8())),
        }
    }
}
