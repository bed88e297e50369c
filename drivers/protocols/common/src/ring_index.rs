// SPDX-License-Identifier: MIT

//! The index rules of Xen's simple event rings, those of `io/kbdif.h` and `io/fbif.h`: one
//! [`Producer`] and one [`Consumer`] for the rings of both protocol files (docs/protocols/
//! kbdif.md, fbif.md).
//!
//! Such a ring is two free-running `u32` indices in a shared page, `cons` written by the
//! consumer and `prod` by the producer, and `len` slots of fixed-size events, index `i` in slot
//! `i % len`. There are no event indices: the producer notifies after each publication, the
//! consumer after each batch it consumed. Each half keeps its own index, the only one it
//! trusts, checks the other side's at every call (never more than a ring apart from its own,
//! never on the wrong side of it), and stops for good at the first bogus one ([`RingError`]).
//! A slot is written only when it holds no unconsumed event, each event is copied out of the
//! page once, and no value on the page can make a call panic, touch memory outside the ring or
//! do more than one ring's worth of work.
//!
//! A protocol's rings carry typed events: it implements [`Event`] for each event type (its
//! wire form and its ring) and names the halves [`EventProducer`] and [`EventConsumer`] of
//! that type, which encode and decode at the slot.
//!
//! This file is plain `core` Rust without `unsafe`, compiled where the protocol files are: by
//! the crate `protocol-common` and by the kernel modules that include `kbdif` or `fbif`, at
//! their crate root (`crate::ring_index`, next to `crate::shared_page`):
//!
//! ```ignore
//! #[path = "../protocols/common/src/ring_index.rs"]
//! pub mod ring_index;
//! ```

use core::fmt;
use core::marker::PhantomData;

use crate::shared_page::SharedPage;

/// True if the slot of index `prod` is the slot of one of the `used` indices before it
/// (`prod - used .. prod`), for a ring of `len` slots.
///
/// The indices are `u32` counters used modulo `len`, and 2^32 is not a multiple of kbdif's and
/// fbif's ring lengths (51 and 25): at the wrap of the counter the slot sequence jumps. With
/// `r = 2^32 mod len`, index `2^32 - t` sits in slot `(r - t) mod len`, so index `prod < r`
/// shares its slot with the index `r` before it. Such an index is not free while that one is
/// unconsumed, even with fewer than `len` events in the ring (for a ring of 51, `r` = 1: index
/// 0 shares slot 0 with index `u32::MAX`). Xen's, Linux's and QEMU's producers do not check
/// this; [`Producer`] does.
pub const fn slot_reused_across_wrap(prod: u32, used: u32, len: u32) -> bool {
    if len == 0 {
        return false;
    }
    let r = ((1u64 << 32) % len as u64) as u32;
    r != 0 && prod < r && r <= used
}

/// Why a ring stopped. Either is the other side breaking the protocol: the ring is dead from
/// then on (every later call returns the same error without touching the page); log it and
/// close the device (`xenbus_dev_fatal`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingError {
    /// Producer: the consumer's index is beyond the producer's published index, or more than a
    /// ring behind it.
    BadConsumerIndex {
        /// The consumer index read.
        cons: u32,
        /// The producer index published.
        prod: u32,
    },
    /// Consumer: the producer's index is more than a ring ahead of the consumer's, or behind
    /// it.
    BadProducerIndex {
        /// The producer index read.
        prod: u32,
        /// The consumer's own index.
        cons: u32,
    },
}

impl fmt::Display for RingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RingError::BadConsumerIndex { cons, prod } => {
                write!(f, "bogus consumer index {cons} (produced {prod})")
            }
            RingError::BadProducerIndex { prod, cons } => {
                write!(f, "bogus producer index {prod} (consumed {cons})")
            }
        }
    }
}

/// Why [`Producer::queue`] or [`Producer::push`] sent nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushError {
    /// No free slot: nothing is overwritten (the event is not sent); room comes with the
    /// consumer's notification.
    Full,
    /// The ring is dead.
    Ring(RingError),
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Full => write!(f, "ring full"),
            PushError::Ring(e) => e.fmt(f),
        }
    }
}

/// One ring of a page: where its indices and slots are.
#[derive(Clone, Copy, Debug)]
pub struct Ring {
    /// Offset of `cons` in the page (4-aligned).
    pub cons_offset: usize,
    /// Offset of `prod` in the page (4-aligned).
    pub prod_offset: usize,
    /// Offset in the page of the slot of an index (the index modulo [`len`](Self::len)).
    pub slot_offset: fn(u32) -> usize,
    /// Slots in the ring, at least 1.
    pub len: u32,
}

/// The producing half of a ring of `N`-byte events.
///
/// Its own count of events produced is the only `prod` it trusts; the page's `cons` is checked
/// at every call (at most a ring behind what was published, never beyond it).
#[derive(Clone, Copy, Debug)]
pub struct Producer<const N: usize> {
    ring: Ring,
    /// Next index to write (queued events included).
    prod: u32,
    /// Index last stored in the page.
    published: u32,
    error: Option<RingError>,
}

impl<const N: usize> Producer<N> {
    /// Attaches to `ring` at the page's current indices. `Err` if `prod` is more than a ring
    /// ahead of `cons` (or behind it).
    pub fn attach<M: SharedPage + ?Sized>(ring: Ring, mem: &M) -> Result<Self, RingError> {
        let prod = mem.load_u32(ring.prod_offset);
        let cons = mem.load_u32(ring.cons_offset);
        if prod.wrapping_sub(cons) > ring.len {
            return Err(RingError::BadConsumerIndex { cons, prod });
        }
        Ok(Producer { ring, prod, published: prod, error: None })
    }

    /// Writes `event` in the next free slot, without publishing it. `Full` (nothing is
    /// overwritten) or `Ring` (the consumer's index is bogus: the ring is dead) otherwise.
    pub fn queue<M: SharedPage + ?Sized>(
        &mut self,
        mem: &mut M,
        event: &[u8; N],
    ) -> Result<(), PushError> {
        if let Some(e) = self.error {
            return Err(PushError::Ring(e));
        }
        // Acquire: the consumer's copies of the slots it released are done before we reuse one.
        let cons = mem.load_u32(self.ring.cons_offset);
        let behind = self.published.wrapping_sub(cons);
        if behind > self.ring.len {
            let e = RingError::BadConsumerIndex { cons, prod: self.published };
            self.error = Some(e);
            return Err(PushError::Ring(e));
        }
        // At most 2 * len: no wrap.
        let used = behind + self.prod.wrapping_sub(self.published);
        if used >= self.ring.len || slot_reused_across_wrap(self.prod, used, self.ring.len) {
            return Err(PushError::Full);
        }
        mem.write((self.ring.slot_offset)(self.prod), event);
        self.prod = self.prod.wrapping_add(1);
        Ok(())
    }

    /// Publishes the queued events (`prod`, after a full barrier). True if there were any:
    /// notify the consumer.
    pub fn publish<M: SharedPage + ?Sized>(&mut self, mem: &mut M) -> bool {
        if self.error.is_some() || self.prod == self.published {
            return false;
        }
        // Every access to the page before (the events written) is done first: `virt_mb()`,
        // as before `cons`, though a release alone would do here.
        mem.full_barrier();
        mem.store_u32(self.ring.prod_offset, self.prod);
        self.published = self.prod;
        true
    }

    /// [`queue`](Self::queue) then [`publish`](Self::publish): `Ok` means the event is on the
    /// ring; notify the consumer.
    pub fn push<M: SharedPage + ?Sized>(
        &mut self,
        mem: &mut M,
        event: &[u8; N],
    ) -> Result<(), PushError> {
        self.queue(mem, event)?;
        self.publish(mem);
        Ok(())
    }

    /// Events produced so far (the private `prod`, queued events included).
    pub const fn produced(&self) -> u32 {
        self.prod
    }

    /// The error that stopped this ring, if any.
    pub const fn error(&self) -> Option<RingError> {
        self.error
    }
}

/// The consuming half of a ring of `N`-byte events.
///
/// Its own count of events consumed is the only `cons` it trusts; the page's `prod` is checked
/// at every call (at most a ring ahead, never behind).
#[derive(Clone, Copy, Debug)]
pub struct Consumer<const N: usize> {
    ring: Ring,
    cons: u32,
    error: Option<RingError>,
}

impl<const N: usize> Consumer<N> {
    /// Attaches to `ring` at the page's current indices. `Err` if `prod` is more than a ring
    /// ahead of `cons` (or behind it).
    pub fn attach<M: SharedPage + ?Sized>(ring: Ring, mem: &M) -> Result<Self, RingError> {
        let cons = mem.load_u32(ring.cons_offset);
        let prod = mem.load_u32(ring.prod_offset);
        if prod.wrapping_sub(cons) > ring.len {
            return Err(RingError::BadProducerIndex { prod, cons });
        }
        Ok(Consumer { ring, cons, error: None })
    }

    /// Events waiting (`prod - cons`), checked: `Err` if the producer's index is bogus (the
    /// ring is then dead).
    pub fn available<M: SharedPage + ?Sized>(&mut self, mem: &M) -> Result<u32, RingError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let prod = mem.load_u32(self.ring.prod_offset);
        let available = prod.wrapping_sub(self.cons);
        if available > self.ring.len {
            let e = RingError::BadProducerIndex { prod, cons: self.cons };
            self.error = Some(e);
            return Err(e);
        }
        Ok(available)
    }

    /// Reads `prod` once and hands a copy of each event up to it (at most a ring's worth) to
    /// `handle`, in order, then publishes `cons`. Returns how many; if not 0, notify the
    /// producer (it may be waiting for room). Events arriving meanwhile are left for the next
    /// call (a notification comes with them).
    pub fn consume<M, F>(&mut self, mem: &mut M, mut handle: F) -> Result<u32, RingError>
    where
        M: SharedPage + ?Sized,
        F: FnMut(&[u8; N]),
    {
        let n = self.available(mem)?;
        for _ in 0..n {
            let mut buf = [0u8; N];
            mem.read((self.ring.slot_offset)(self.cons), &mut buf);
            self.cons = self.cons.wrapping_add(1);
            handle(&buf);
        }
        if n != 0 {
            // The copies above are done before the producer may reuse the slots: reads, so a
            // release is not enough (`virt_mb()`, as the C drivers).
            mem.full_barrier();
            mem.store_u32(self.ring.cons_offset, self.cons);
        }
        Ok(n)
    }

    /// Events consumed so far (the private `cons`).
    pub const fn consumed(&self) -> u32 {
        self.cons
    }

    /// The error that stopped this ring, if any.
    pub const fn error(&self) -> Option<RingError> {
        self.error
    }
}

/// The events of one ring: their fixed-size wire form (`N` bytes a slot) and the ring they
/// travel on. A protocol implements it for each of its event types, and names the halves of
/// the ring [`EventProducer<E, N>`] and [`EventConsumer<E, N>`].
pub trait Event<const N: usize>: Sized {
    /// The ring these events travel on.
    const RING: Ring;

    /// Why [`EventProducer::queue`] sends nothing: [`PushError`] itself, or the protocol's
    /// own error, which also says why [`check_push`](Self::check_push) refused an event.
    type PushError: From<PushError>;

    /// The wire form.
    fn encode(&self) -> [u8; N];

    /// Decodes the wire form (every `N`-byte pattern decodes to an event).
    fn decode(bytes: &[u8; N]) -> Self;

    /// Whether a producer may send the event: `Err` and nothing is written. Everything, unless
    /// the protocol says otherwise.
    fn check_push(&self) -> Result<(), Self::PushError> {
        Ok(())
    }
}

/// The producing half of a ring of events `E`: a [`Producer`] that encodes them.
#[derive(Clone, Copy, Debug)]
pub struct EventProducer<E, const N: usize> {
    ring: Producer<N>,
    event: PhantomData<fn(&E)>,
}

impl<E: Event<N>, const N: usize> EventProducer<E, N> {
    /// Attaches to the ring of `E` at the page's current indices. `Err` if `prod` is more
    /// than a ring ahead of `cons` (or behind it).
    pub fn attach<M: SharedPage + ?Sized>(mem: &M) -> Result<Self, RingError> {
        Producer::attach(E::RING, mem).map(|ring| EventProducer { ring, event: PhantomData })
    }

    /// Writes `event` in the next free slot, without publishing it, if
    /// [`Event::check_push`] lets it. `Full` (nothing is overwritten: the event is not sent),
    /// the protocol's refusal, or `Ring` (the consumer's index is bogus: the ring is dead)
    /// otherwise.
    pub fn queue<M: SharedPage + ?Sized>(&mut self, mem: &mut M, event: &E) -> Result<(), E::PushError> {
        event.check_push()?;
        Ok(self.ring.queue(mem, &event.encode())?)
    }

    /// Publishes the queued events (`prod`, after a full barrier). True if there were any:
    /// notify the consumer.
    pub fn publish<M: SharedPage + ?Sized>(&mut self, mem: &mut M) -> bool {
        self.ring.publish(mem)
    }

    /// [`queue`](Self::queue) then [`publish`](Self::publish): `Ok` means the event is on the
    /// ring; notify the consumer.
    pub fn push<M: SharedPage + ?Sized>(&mut self, mem: &mut M, event: &E) -> Result<(), E::PushError> {
        self.queue(mem, event)?;
        self.publish(mem);
        Ok(())
    }

    /// Events produced so far (the private `prod`, queued events included).
    pub const fn produced(&self) -> u32 {
        self.ring.produced()
    }

    /// The error that stopped this ring, if any.
    pub const fn error(&self) -> Option<RingError> {
        self.ring.error()
    }
}

/// The consuming half of a ring of events `E`: a [`Consumer`] that decodes them.
#[derive(Clone, Copy, Debug)]
pub struct EventConsumer<E, const N: usize> {
    ring: Consumer<N>,
    event: PhantomData<fn() -> E>,
}

impl<E: Event<N>, const N: usize> EventConsumer<E, N> {
    /// Attaches to the ring of `E` at the page's current indices. `Err` if `prod` is more
    /// than a ring ahead of `cons` (or behind it).
    pub fn attach<M: SharedPage + ?Sized>(mem: &M) -> Result<Self, RingError> {
        Consumer::attach(E::RING, mem).map(|ring| EventConsumer { ring, event: PhantomData })
    }

    /// Events waiting (`prod - cons`), checked: `Err` if the producer's index is bogus (the
    /// ring is then dead).
    pub fn pending<M: SharedPage + ?Sized>(&mut self, mem: &M) -> Result<u32, RingError> {
        self.ring.available(mem)
    }

    /// Reads `prod` once and hands each event up to it (at most a ring's worth) to `handle`,
    /// decoded, in order, then publishes `cons`. Returns how many; if not 0, notify the
    /// producer (it may be waiting for room). Events arriving meanwhile are left for the next
    /// call (a notification comes with them).
    pub fn consume<M, F>(&mut self, mem: &mut M, mut handle: F) -> Result<u32, RingError>
    where
        M: SharedPage + ?Sized,
        F: FnMut(E),
    {
        self.ring.consume(mem, |b| handle(E::decode(b)))
    }

    /// Events consumed so far (the private `cons`).
    pub const fn consumed(&self) -> u32 {
        self.ring.consumed()
    }

    /// The error that stopped this ring, if any.
    pub const fn error(&self) -> Option<RingError> {
        self.ring.error()
    }
}
