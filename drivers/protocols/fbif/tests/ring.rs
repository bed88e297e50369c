//! The rings: the frontend's updates through the out ring to the backend's checks, the
//! refresh advice through the in ring, the wrap of the u32 indices, full rings, bogus
//! indices, and the page directory as xen-fbfront fills it.

mod harness;

use fbif_protocol::*;
use harness::MemPage;

fn mode() -> Mode {
    Mode::new(800, 480, 3200, 32, 0, 2 << 20).unwrap()
}

fn update(x: i32, y: i32, width: i32, height: i32) -> OutEvent {
    OutEvent::Update(Update { x, y, width, height })
}

fn at(start: u32) -> MemPage {
    let mut mem = MemPage::pair();
    for off in [IN_CONS_OFFSET, IN_PROD_OFFSET, OUT_CONS_OFFSET, OUT_PROD_OFFSET] {
        mem.set_index(off, start);
    }
    mem
}

fn serve(mem: &mut MemPage, back: &mut OutConsumer, mode: &mut Mode, resize: bool) -> Result<Vec<Result<Action, EventError>>, RingError> {
    let mut got = Vec::new();
    back.serve(mem, mode, resize, |_, a| got.push(a))?;
    Ok(got)
}

#[test]
fn updates_reach_the_backend_checked() {
    let mut mem = at(0);
    let mut front = OutProducer::attach(&mem).unwrap();
    let mut back = OutConsumer::attach(&mem).unwrap();
    for ev in [update(0, 0, 800, 480), update(-5, 470, 20, 20), update(0, 0, 0, 0), update(900, 0, 1, 1), OutEvent::Other(1)] {
        front.push(&mut mem, &ev).unwrap();
    }
    assert_eq!(mem.index(OUT_PROD_OFFSET), 5);
    let mut m = mode();
    let got = serve(&mut mem, &mut back, &mut m, false).unwrap();
    assert_eq!(
        got,
        [
            Ok(Action::Blit(m.full())),
            Ok(Action::Blit(Rect { x: 0, y: 470, width: 15, height: 10 })),
            Err(EventError::Update(UpdateError::Empty)),
            Err(EventError::Update(UpdateError::Outside)),
            Err(EventError::Type(1)),
        ]
    );
    assert_eq!(mem.index(OUT_CONS_OFFSET), 5);
    assert_eq!(back.consumed(), 5);
    assert_eq!(serve(&mut mem, &mut back, &mut m, false).unwrap(), []);
}

#[test]
fn resizes_only_when_offered_and_valid() {
    let mut mem = at(0);
    let mut front = OutProducer::attach(&mem).unwrap();
    let mut back = OutConsumer::attach(&mem).unwrap();
    let r = |width, height, stride, depth, offset| OutEvent::Resize(Resize { width, height, stride, depth, offset });
    // What xen-fbfront sends: the new size, its (unchanged) line length, 32 bits, offset 0.
    front.push(&mut mem, &r(640, 400, 3200, 32, 0)).unwrap();
    let mut m = mode();
    assert_eq!(serve(&mut mem, &mut back, &mut m, false).unwrap(), [Err(EventError::ResizeNotOffered)]);
    assert_eq!(m, mode());
    front.push(&mut mem, &r(640, 400, 3200, 32, 0)).unwrap();
    front.push(&mut mem, &update(0, 0, 800, 480)).unwrap();
    front.push(&mut mem, &r(801, 480, 3200, 32, 0)).unwrap();
    front.push(&mut mem, &r(800, 480, 3200, 32, 600_000)).unwrap();
    let small = Mode::new(640, 400, 3200, 32, 0, 2 << 20).unwrap();
    let got = serve(&mut mem, &mut back, &mut m, true).unwrap();
    assert_eq!(
        got,
        [
            Ok(Action::Resized(small)),
            Ok(Action::Blit(small.full())), // clipped to the new mode
            Err(EventError::Resize(GeometryError::Stride { stride: 3200, row: 3204 })),
            Err(EventError::Resize(GeometryError::TooBig { end: 600_000 + 3200 * 480, mem_length: 2 << 20 })),
        ]
    );
    assert_eq!(m, small);
}

#[test]
fn handle_sees_the_current_mode() {
    let mut mem = at(0);
    let mut front = OutProducer::attach(&mem).unwrap();
    let mut back = OutConsumer::attach(&mem).unwrap();
    front.push(&mut mem, &OutEvent::Resize(Resize { width: 10, height: 10, stride: 40, depth: 32, offset: 0 })).unwrap();
    front.push(&mut mem, &update(0, 0, 5, 5)).unwrap();
    let mut m = mode();
    let mut seen = Vec::new();
    back.serve(&mut mem, &mut m, true, |m, a| seen.push((m.width(), a.is_ok()))).unwrap();
    assert_eq!(seen, [(10, true), (10, true)]);
}

#[test]
fn a_full_out_ring_refuses_without_overwriting() {
    let mut mem = at(100);
    let mut front = OutProducer::attach(&mem).unwrap();
    let mut back = OutConsumer::attach(&mem).unwrap();
    for i in 0..OUT_RING_LEN {
        front.push(&mut mem, &update(i as i32, 0, 1, 1)).unwrap();
    }
    let before = *mem.page;
    assert_eq!(front.push(&mut mem, &update(0, 0, 1, 1)), Err(PushError::Full));
    assert_eq!(*mem.page, before);
    let got = serve(&mut mem, &mut back, &mut mode(), false).unwrap();
    assert_eq!(got.len(), 51);
    assert_eq!(got[50], Ok(Action::Blit(Rect { x: 50, y: 0, width: 1, height: 1 })));
    front.push(&mut mem, &update(0, 0, 1, 1)).unwrap();
}

#[test]
fn the_wrap_of_the_indices() {
    // Out ring: 2^32 mod 51 = 1, index 0 waits for index u32::MAX.
    let mut mem = at(u32::MAX);
    let mut front = OutProducer::attach(&mem).unwrap();
    let mut back = OutConsumer::attach(&mem).unwrap();
    front.push(&mut mem, &update(1, 0, 1, 1)).unwrap();
    assert_eq!(front.push(&mut mem, &update(2, 0, 1, 1)), Err(PushError::Full));
    assert_eq!(serve(&mut mem, &mut back, &mut mode(), false).unwrap().len(), 1);
    for i in 0..OUT_RING_LEN {
        front.push(&mut mem, &update(i as i32, 0, 1, 1)).unwrap();
    }
    let got = serve(&mut mem, &mut back, &mut mode(), false).unwrap();
    assert_eq!(got.len(), 51);
    assert_eq!(got[0], Ok(Action::Blit(Rect { x: 0, y: 0, width: 1, height: 1 })));
    assert_eq!((front.produced(), back.consumed()), (51, 51));

    // In ring: 25 slots, 2^32 mod 25 = 21: index k < 21 waits for index k - 21.
    let mut mem = at(u32::MAX - 9);
    let mut back = InProducer::attach(&mem).unwrap();
    let mut front = InConsumer::attach(&mem).unwrap();
    let mut pushed = 0;
    while back.push(&mut mem, &InEvent::RefreshPeriod { period_ms: pushed }).is_ok() {
        pushed += 1;
    }
    // u32::MAX - 9 ..= u32::MAX and 0 ..= 10: index 11 shares its slot with u32::MAX - 9.
    assert_eq!((pushed, back.produced()), (21, 11));
    let mut got = Vec::new();
    front.consume(&mut mem, |e| got.push(e)).unwrap();
    assert_eq!(got, (0..21).map(|p| InEvent::RefreshPeriod { period_ms: p }).collect::<Vec<_>>());
    back.push(&mut mem, &InEvent::RefreshPeriod { period_ms: NO_REFRESH }).unwrap();
}

#[test]
fn bogus_out_prod_kills_the_backends_ring() {
    let mut mem = at(7);
    let mut back = OutConsumer::attach(&mem).unwrap();
    mem.set_index(OUT_PROD_OFFSET, 7 + 52);
    let e = RingError::BadProducerIndex { prod: 59, cons: 7 };
    assert_eq!(back.serve(&mut mem, &mut mode(), true, |_, _| panic!("read a bogus ring")), Err(e));
    assert_eq!(mem.slot_reads.get(), 0);
    mem.set_index(OUT_PROD_OFFSET, 8);
    assert_eq!(back.pending(&mem), Err(e));
    assert_eq!(back.consume(&mut mem, |_| panic!()), Err(e));
    assert_eq!(back.error(), Some(e));
    assert_eq!(mem.index(OUT_CONS_OFFSET), 7);
    // Behind out_cons: as bogus.
    let mut back = OutConsumer::attach(&mem).unwrap();
    mem.set_index(OUT_PROD_OFFSET, 6);
    assert_eq!(back.pending(&mem), Err(RingError::BadProducerIndex { prod: 6, cons: 7 }));
    // And attach refuses a page that is already broken.
    mem.set_index(OUT_PROD_OFFSET, 7 + 52);
    assert!(OutConsumer::attach(&mem).is_err());
}

#[test]
fn out_cons_scribbled_by_the_frontend_is_ignored() {
    let mut mem = at(0);
    let mut front = OutProducer::attach(&mem).unwrap();
    let mut back = OutConsumer::attach(&mem).unwrap();
    front.push(&mut mem, &update(0, 0, 1, 1)).unwrap();
    mem.set_index(OUT_CONS_OFFSET, 0xdead_beef);
    assert_eq!(serve(&mut mem, &mut back, &mut mode(), false).unwrap().len(), 1);
    assert_eq!(mem.index(OUT_CONS_OFFSET), 1);
}

#[test]
fn bogus_out_cons_kills_the_frontends_ring() {
    let mut mem = at(0);
    let mut front = OutProducer::attach(&mem).unwrap();
    front.push(&mut mem, &update(0, 0, 1, 1)).unwrap();
    mem.set_index(OUT_CONS_OFFSET, 2);
    let e = RingError::BadConsumerIndex { cons: 2, prod: 1 };
    assert_eq!(front.push(&mut mem, &update(0, 0, 1, 1)), Err(PushError::Ring(e)));
    mem.set_index(OUT_CONS_OFFSET, 1);
    assert_eq!(front.push(&mut mem, &update(0, 0, 1, 1)), Err(PushError::Ring(e)));
    assert_eq!(front.error(), Some(e));
    assert_eq!(mem.index(OUT_PROD_OFFSET), 1);
}

#[test]
fn in_ring_round_trip_and_bogus_in_cons() {
    let mut mem = at(0);
    let mut back = InProducer::attach(&mem).unwrap();
    let mut front = InConsumer::attach(&mem).unwrap();
    back.push(&mut mem, &InEvent::RefreshPeriod { period_ms: 50 }).unwrap();
    mem.set_in_slot(1, &[9; 40]);
    mem.set_index(IN_PROD_OFFSET, 2); // a stray event: frontends ignore unknown types
    let mut got = Vec::new();
    assert_eq!(front.consume(&mut mem, |e| got.push(e)), Ok(2));
    assert_eq!(got, [InEvent::RefreshPeriod { period_ms: 50 }, InEvent::Other(9)]);
    assert_eq!(front.consumed(), 2);
    // The backend's own in_prod is 1: an in_cons of 2 is beyond it.
    assert!(matches!(back.push(&mut mem, &InEvent::RefreshPeriod { period_ms: 1 }), Err(PushError::Ring(_))));
    assert!(back.error().is_some());
    mem.set_index(IN_PROD_OFFSET, 2 + 26);
    assert!(front.consume(&mut mem, |_| panic!()).is_err());
    assert!(front.error().is_some());
}

#[test]
fn the_page_directory_as_xen_fbfront_fills_it() {
    // xen-fbfront: gfns[] lists the framebuffer's frames; pd[i] is the frame of gfns[i * 512].
    let mut mem = MemPage::frontend();
    let info = PageInfo { width: 800, height: 480, line_length: 3200, mem_length: 3 << 20, depth: 32 };
    info.write(&mut mem);
    assert!(write_pd_entry(&mut mem, 0, 0x4_1000));
    assert!(write_pd_entry(&mut mem, 1, 0x4_2000));
    assert!(!write_pd_entry(&mut mem, PD_USABLE, 1), "pd[123] is the in ring's");
    let layout = Layout::from_page(&PageInfo::read(&mem), 4 << 20).unwrap();
    let pd: Vec<u64> = (0..layout.pd_pages()).map(|i| read_pd_entry(&mem, i).unwrap()).collect();
    assert_eq!(pd, [0x4_1000, 0x4_2000]);
    // Frame 700's number: entry 188 of directory page 1.
    assert_eq!(frame_entry(700), (1, 188 * 8));
    assert_eq!(layout.frames_in_pd_page(1), 256);
    assert_eq!(read_pd_entry(&mem, PD_USABLE), None);
}
