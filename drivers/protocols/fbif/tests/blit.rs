//! Update rectangles: clipping against the mode (negative, huge, overflowing), the byte
//! ranges a backend copies for one, their split into frames, merging.

mod harness;

use fbif_protocol::*;
use harness::check_blit;

fn mode() -> Mode {
    Mode::new(800, 480, 3200, 32, 0, 2 << 20).unwrap()
}

fn update(x: i32, y: i32, width: i32, height: i32) -> Update {
    Update { x, y, width, height }
}

fn rect(x: u32, y: u32, width: u32, height: u32) -> Rect {
    Rect { x, y, width, height }
}

#[test]
fn rectangles_inside_are_kept() {
    assert_eq!(update(0, 0, 800, 480).clip(&mode()), Ok(mode().full()));
    assert_eq!(update(10, 20, 30, 40).clip(&mode()), Ok(rect(10, 20, 30, 40)));
    assert_eq!(update(799, 479, 1, 1).clip(&mode()), Ok(rect(799, 479, 1, 1)));
}

#[test]
fn rectangles_partly_outside_are_clipped() {
    assert_eq!(update(-10, -10, 20, 20).clip(&mode()), Ok(rect(0, 0, 10, 10)));
    assert_eq!(update(790, 470, 100, 100).clip(&mode()), Ok(rect(790, 470, 10, 10)));
    // xen-fbfront after a resize to 640x400 still damages its initial 800x480.
    let small = Mode::new(640, 400, 3200, 32, 0, 2 << 20).unwrap();
    assert_eq!(update(0, 0, 800, 480).clip(&small), Ok(small.full()));
    // x + width overflows i32: computed in 64 bits.
    assert_eq!(update(i32::MAX, 0, i32::MAX, 1).clip(&mode()), Err(UpdateError::Outside));
    assert_eq!(update(5, 5, i32::MAX, i32::MAX).clip(&mode()), Ok(rect(5, 5, 795, 475)));
    assert_eq!(update(i32::MIN, i32::MIN, i32::MAX, i32::MAX).clip(&mode()), Err(UpdateError::Outside));
    assert_eq!(update(-1, -1, i32::MAX, i32::MAX).clip(&mode()), Ok(mode().full()));
}

#[test]
fn rectangles_with_nothing_to_copy_are_errors() {
    assert_eq!(update(0, 0, 0, 10).clip(&mode()), Err(UpdateError::Empty));
    assert_eq!(update(0, 0, 10, 0).clip(&mode()), Err(UpdateError::Empty));
    assert_eq!(update(0, 0, -1, 10).clip(&mode()), Err(UpdateError::Negative { width: -1, height: 10 }));
    assert_eq!(
        update(0, 0, i32::MIN, i32::MIN).clip(&mode()),
        Err(UpdateError::Negative { width: i32::MIN, height: i32::MIN })
    );
    assert_eq!(update(800, 0, 10, 10).clip(&mode()), Err(UpdateError::Outside));
    assert_eq!(update(0, 480, 10, 10).clip(&mode()), Err(UpdateError::Outside));
    assert_eq!(update(-10, 0, 10, 10).clip(&mode()), Err(UpdateError::Outside));
    // What xen-fbfront's deferred I/O sends for pages beyond the visible rows is never sent
    // (it checks y1 <= y2), but an update of height 0 or less would be refused here.
    assert_eq!(update(0, 480, 800, -5).clip(&mode()), Err(UpdateError::Negative { width: 800, height: -5 }));
}

#[test]
fn lines_are_the_rows_of_the_rectangle() {
    let m = mode();
    let lines: Vec<_> = m.lines(&rect(10, 2, 5, 3)).unwrap().collect();
    assert_eq!(lines, [2 * 3200 + 40..2 * 3200 + 60, 3 * 3200 + 40..3 * 3200 + 60, 4 * 3200 + 40..4 * 3200 + 60]);
    assert_eq!(check_blit(&m, &m.full()), 800 * 480 * 4);
    // The last byte of the picture is the last one copied.
    assert_eq!(m.lines(&m.full()).unwrap().last(), Some(479 * 3200..480 * 3200));
    // With an offset and a stride wider than a row (a resize's geometry), 16 bits a pixel.
    let r = Mode::new(100, 50, 256, 16, 4096, 4096 + 256 * 49 + 200).unwrap();
    let lines: Vec<_> = r.lines(&rect(99, 49, 1, 1)).unwrap().collect();
    assert_eq!(lines, [4096 + 49 * 256 + 198..4096 + 49 * 256 + 200]);
    assert_eq!(lines[0].end, r.mem_length() as usize);
    check_blit(&r, &r.full());
    // 24 bits a pixel.
    let t = Mode::new(3, 2, 9, 24, 0, 18).unwrap();
    assert_eq!(t.lines(&t.full()).unwrap().collect::<Vec<_>>(), [0..9, 9..18]);
}

#[test]
fn lines_skip_in_one_step() {
    let m = mode();
    let mut lines = m.lines(&rect(0, 100, 800, 300)).unwrap();
    assert_eq!(lines.len(), 300);
    assert_eq!(lines.nth(299), Some(399 * 3200..400 * 3200));
    assert_eq!(lines.next(), None);
    assert_eq!(m.lines(&rect(0, 0, 1, 1)).unwrap().nth(1), None);
}

#[test]
fn rectangles_not_of_the_mode_are_refused() {
    let m = mode();
    for r in [rect(0, 0, 801, 1), rect(0, 0, 1, 481), rect(800, 0, 1, 1), rect(0, 0, 0, 1), rect(0, 0, 1, 0), rect(u32::MAX, 0, 2, 1)] {
        assert!(matches!(m.lines(&r), Err(UpdateError::NotInMode(_))), "{r:?}");
    }
}

#[test]
fn page_chunks_split_at_frames() {
    let chunks: Vec<_> = page_chunks(4000..8200).collect();
    assert_eq!(
        chunks,
        [
            Chunk { frame: 0, offset: 4000, len: 96 },
            Chunk { frame: 1, offset: 0, len: 4096 },
            Chunk { frame: 2, offset: 0, len: 8 },
        ]
    );
    assert_eq!(page_chunks(4096..4096).count(), 0);
    assert_eq!(page_chunks(10..5).count(), 0);
    assert_eq!(page_chunks(0..4096).collect::<Vec<_>>(), [Chunk { frame: 0, offset: 0, len: 4096 }]);
    // A row of the 800x480 screen spans one or two frames.
    let row = mode().lines(&rect(0, 1, 800, 1)).unwrap().next().unwrap();
    assert_eq!(page_chunks(row).count(), 2);
}

#[test]
fn dirty_rectangles_merge() {
    let a = rect(10, 10, 10, 10);
    let b = rect(100, 0, 1, 1);
    assert_eq!(a.union(&b), rect(10, 0, 91, 20));
    assert_eq!(a.union(&a), a);
    assert_eq!(b.union(&a), a.union(&b));
    assert_eq!(rect(u32::MAX - 1, 0, 1, 1).union(&rect(0, 0, 1, 1)).width, u32::MAX);
    assert_eq!(a.area(), 100);
    assert_eq!(rect(0, 0, u32::MAX, u32::MAX).area(), u64::from(u32::MAX) * u64::from(u32::MAX));
}
