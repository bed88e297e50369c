//! The shared ring page as the protocol crate's [`SharedPage`]: the four indices with atomic
//! acquire/release accesses, the entries byte by byte with volatile accesses, never a Rust
//! reference to memory the backend writes at any time.

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use vled_protocol::{SharedPage, PAGE_SIZE};

/// The first [`PAGE_SIZE`] bytes of a mapping that outlives `'a`.
pub struct RingPage<'a> {
    base: NonNull<u8>,
    _memory: PhantomData<&'a mut [u8]>,
}

impl<'a> RingPage<'a> {
    /// # Safety
    ///
    /// `base` is 4-byte aligned and `len` bytes from it are mapped readable and writable for
    /// `'a`, and are only accessed through this `RingPage` on this side while it lives.
    pub unsafe fn new(base: NonNull<u8>, len: usize) -> Self {
        assert!(len >= PAGE_SIZE, "a ring page needs {PAGE_SIZE} bytes, the mapping has {len}");
        assert!((base.as_ptr() as usize).is_multiple_of(4), "the ring page is not aligned");
        RingPage { base, _memory: PhantomData }
    }

    fn index(&self, offset: usize) -> &AtomicU32 {
        assert!(offset.is_multiple_of(4) && offset + 4 <= PAGE_SIZE, "index offset {offset}");
        // SAFETY: in the mapping, aligned (checked above and in `new`); AtomicU32 has the layout
        // of u32 and every access to these 4 bytes from here is atomic.
        unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(offset).cast()) }
    }

    fn range(&self, offset: usize, len: usize) -> *mut u8 {
        assert!(offset.checked_add(len).is_some_and(|end| end <= PAGE_SIZE), "{len} bytes at {offset}");
        // SAFETY: in bounds of the page (checked above).
        unsafe { self.base.as_ptr().add(offset) }
    }
}

impl SharedPage for RingPage<'_> {
    fn load_u32(&self, offset: usize) -> u32 {
        u32::from_le(self.index(offset).load(Ordering::Acquire))
    }

    fn store_u32(&mut self, offset: usize, value: u32) {
        self.index(offset).store(value.to_le(), Ordering::Release)
    }

    fn read(&self, offset: usize, buf: &mut [u8]) {
        let src = self.range(offset, buf.len());
        for (i, byte) in buf.iter_mut().enumerate() {
            // SAFETY: in bounds of the page (`range`), which is readable.
            *byte = unsafe { src.add(i).read_volatile() };
        }
    }

    fn write(&mut self, offset: usize, data: &[u8]) {
        let dst = self.range(offset, data.len());
        for (i, &byte) in data.iter().enumerate() {
            // SAFETY: in bounds of the page (`range`), which is writable.
            unsafe { dst.add(i).write_volatile(byte) };
        }
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use vled_protocol::{BackRing, FrontRing, Reply, Request, Status, REQ_PROD_OFFSET, RING_OFFSET};

    /// A zeroed, page-aligned page for host tests.
    pub struct TestPage(NonNull<u8>);

    impl TestPage {
        const LAYOUT: std::alloc::Layout = match std::alloc::Layout::from_size_align(PAGE_SIZE, PAGE_SIZE) {
            Ok(layout) => layout,
            Err(_) => panic!("page layout"),
        };

        pub fn new() -> Self {
            // SAFETY: a non-zero size.
            let base = unsafe { std::alloc::alloc_zeroed(Self::LAYOUT) };
            TestPage(NonNull::new(base).expect("allocation"))
        }

        /// Two views of the same page, as the two domains have.
        pub fn views(&mut self) -> (RingPage<'_>, RingPage<'_>) {
            // SAFETY: the allocation is PAGE_SIZE bytes, page-aligned, and lives as long as the
            // borrow of self; both views only use volatile and atomic accesses.
            unsafe { (RingPage::new(self.0, PAGE_SIZE), RingPage::new(self.0, PAGE_SIZE)) }
        }
    }

    impl Drop for TestPage {
        fn drop(&mut self) {
            // SAFETY: allocated in `new` with this layout.
            unsafe { std::alloc::dealloc(self.0.as_ptr(), Self::LAYOUT) }
        }
    }

    #[test]
    fn a_request_and_its_response_cross_the_page() {
        let mut page = TestPage::new();
        let (mut front_page, mut back_page) = page.views();
        let mut front = FrontRing::new(&mut front_page);
        let mut back = BackRing::new();
        let id = front.push_request(&mut front_page, Request::set(3, 1)).unwrap();
        assert!(front.push_requests_and_check_notify(&mut front_page), "the first request notifies");
        assert_eq!(back_page.load_u32(REQ_PROD_OFFSET), 1);
        let mut entry = [0u8; 12];
        back_page.read(RING_OFFSET, &mut entry);
        assert_eq!(Request::decode(&entry), Request { id, ..Request::set(3, 1) });
        let pass = back.serve_pass(&mut back_page, |req| Ok(req.brightness)).unwrap();
        assert_eq!((pass.handled, pass.notify, pass.more), (1, true, false));
        match front.next_response(&front_page).unwrap() {
            Some(Reply::Answered { response, .. }) => {
                assert_eq!((response.status(), response.brightness), (Status::Ok, 1))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    #[should_panic(expected = "bytes at")]
    fn accesses_beyond_the_page_are_refused() {
        let mut page = TestPage::new();
        let (front_page, _) = page.views();
        front_page.read(PAGE_SIZE - 4, &mut [0u8; 12]);
    }
}
