//! The demo itself: what qtrun knows (the domain, the LEDs, the buttons pressed), what a button
//! does to it, and how one frame of it looks. The picture is laid out for the REPTAR's
//! 800x480 LCD; main.rs centres it on a larger screen.

use embedded_graphics::mono_font::ascii::{FONT_10X20, FONT_6X10, FONT_7X13};
use embedded_graphics::mono_font::{MonoFont, MonoTextStyle};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Circle, Line, PrimitiveStyle, PrimitiveStyleBuilder, Rectangle, RoundedRectangle};
use embedded_graphics::text::{Alignment, Baseline, Text, TextStyleBuilder};
use profont::{PROFONT_18_POINT, PROFONT_24_POINT};

use crate::board::{Domain, DomainKind, NR_LEDS};
use crate::input::{key, key_name};

pub const WIDTH: u32 = 800;
pub const HEIGHT: u32 = 480;

pub const BACKGROUND: Rgb888 = Rgb888::new(0x0f, 0x17, 0x2a);
const PANEL: Rgb888 = Rgb888::new(0x1e, 0x29, 0x3b);
const BORDER: Rgb888 = Rgb888::new(0x47, 0x55, 0x69);
const TEXT: Rgb888 = Rgb888::new(0xe2, 0xe8, 0xf0);
const DIM: Rgb888 = Rgb888::new(0x94, 0xa3, 0xb8);
const LED_ON: Rgb888 = Rgb888::new(0x22, 0xc5, 0x5e);
const LED_GLOW: Rgb888 = Rgb888::new(0xbb, 0xf7, 0xd0);
const LED_OFF: Rgb888 = Rgb888::new(0x1a, 0x22, 0x33);
const WARNING: Rgb888 = Rgb888::new(0xfc, 0xa5, 0xa5);

/// The colour of the domain: the title and the domain badge, so that dom0's screen and
/// domU's cannot be mistaken for each other.
pub fn accent(kind: DomainKind) -> Rgb888 {
    match kind {
        DomainKind::Dom0 => Rgb888::new(0x38, 0xbd, 0xf8),  // sky blue
        DomainKind::DomU => Rgb888::new(0xf5, 0x9e, 0x0b),  // amber
        DomainKind::Other => Rgb888::new(0xc0, 0x84, 0xfc), // violet
    }
}

/// Where things are on the 800x480 screen.
pub mod layout {
    use embedded_graphics::prelude::*;
    use embedded_graphics::primitives::Rectangle;

    pub const HEADER: Rectangle = Rectangle::new(Point::new(0, 0), Size::new(800, 64));
    /// "REPTAR qtrun" in PROFONT_24_POINT (16x29 glyphs).
    pub const TITLE: Rectangle = Rectangle::new(Point::new(20, 18), Size::new(12 * 16, 29));
    /// "running in dom0".
    pub const BADGE: Rectangle = Rectangle::new(Point::new(480, 12), Size::new(300, 40));
    pub const LEDS: Rectangle = Rectangle::new(Point::new(20, 84), Size::new(760, 92));
    pub const LAST_KEY: Rectangle = Rectangle::new(Point::new(20, 190), Size::new(510, 30));
    /// The text ENTER changes.
    pub const MESSAGE: Rectangle = Rectangle::new(Point::new(20, 230), Size::new(510, 110));
    pub const STATUS: Rectangle = Rectangle::new(Point::new(20, 350), Size::new(510, 70));
    /// The marker the arrows move, on a grid of COLUMNS x ROWS cells of CELL pixels.
    pub const PLAYFIELD: Rectangle = Rectangle::new(Point::new(550, 190), Size::new(230, 230));
    pub const GRID: Point = Point::new(565, 212);
    pub const CELL: i32 = 20;
    pub const COLUMNS: i32 = 10;
    pub const ROWS: i32 = 10;
    pub const FOOTER: Rectangle = Rectangle::new(Point::new(0, 438), Size::new(800, 42));

    pub fn led_centre(led: usize) -> Point {
        Point::new(200 + 100 * led as i32, 122)
    }

    pub fn marker(column: i32, row: i32) -> Rectangle {
        Rectangle::new(GRID + Point::new(column * CELL + 2, row * CELL + 2), Size::new(CELL as u32 - 4, CELL as u32 - 4))
    }
}

/// What a key asks of the world outside the picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    SetLed(usize, bool),
}

pub struct State {
    pub domain: Domain,
    pub leds: [Option<bool>; NR_LEDS],
    pub last_key: Option<u16>,
    pub enter_presses: u32,
    /// The marker's cell (column, row).
    pub marker: (i32, i32),
    /// The outcome of the last LED write, and whether it failed.
    pub status: String,
    pub status_is_error: bool,
    /// The devices in use, for the footer.
    pub info: String,
}

impl State {
    pub fn new(domain: Domain, info: String) -> State {
        State {
            domain,
            leds: [None; NR_LEDS],
            last_key: None,
            enter_presses: 0,
            marker: (layout::COLUMNS / 2, layout::ROWS / 2),
            status: String::new(),
            status_is_error: false,
            info,
        }
    }

    /// The domain's name, short enough for the badge and the messages.
    fn short_name(&self) -> String {
        self.domain.name.chars().take(10).collect()
    }

    /// The central text: one more step through these at each ENTER.
    pub fn message(&self) -> String {
        let name = self.short_name();
        match self.enter_presses % 4 {
            0 => format!("Hello from {name}!"),
            1 => "Press ENTER again".to_string(),
            2 => "The buttons work!".to_string(),
            _ => format!("REPTAR on Rust: {name}"),
        }
    }

    /// A key event (value 1 press, 2 autorepeat, 0 release).
    pub fn key(&mut self, code: u16, value: i32) -> Option<Action> {
        let moves = match code {
            key::UP => Some((0, -1)),
            key::DOWN => Some((0, 1)),
            key::LEFT => Some((-1, 0)),
            key::RIGHT => Some((1, 0)),
            _ => None,
        };
        if value == 2 {
            if let Some((dx, dy)) = moves {
                self.move_marker(dx, dy);
            }
            return None;
        }
        if value != 1 {
            return None;
        }
        self.last_key = Some(code);
        if let Some((dx, dy)) = moves {
            self.move_marker(dx, dy);
        }
        match code {
            key::ENTER => self.enter_presses += 1,
            key::SPACE => return Some(Action::SetLed(0, !self.leds[0].unwrap_or(false))),
            _ => {}
        }
        None
    }

    fn move_marker(&mut self, dx: i32, dy: i32) {
        self.marker.0 = (self.marker.0 + dx).clamp(0, layout::COLUMNS - 1);
        self.marker.1 = (self.marker.1 + dy).clamp(0, layout::ROWS - 1);
    }
}

fn text<D: DrawTarget<Color = Rgb888>>(
    target: &mut D,
    string: &str,
    at: Point,
    font: &MonoFont<'_>,
    colour: Rgb888,
    alignment: Alignment,
) -> Result<(), D::Error> {
    let style = TextStyleBuilder::new().alignment(alignment).baseline(Baseline::Top).build();
    Text::with_text_style(string, at, MonoTextStyle::new(font, colour), style).draw(target)?;
    Ok(())
}

fn panel<D: DrawTarget<Color = Rgb888>>(target: &mut D, area: Rectangle, border: Rgb888) -> Result<(), D::Error> {
    let style = PrimitiveStyleBuilder::new().fill_color(PANEL).stroke_color(border).stroke_width(2).build();
    RoundedRectangle::with_equal_corners(area, Size::new(10, 10)).into_styled(style).draw(target)
}

/// One frame of qtrun.
pub fn draw<D: DrawTarget<Color = Rgb888>>(state: &State, target: &mut D) -> Result<(), D::Error> {
    let accent = accent(state.domain.kind);
    let left = Alignment::Left;
    target.fill_solid(&Rectangle::new(Point::zero(), Size::new(WIDTH, HEIGHT)), BACKGROUND)?;

    // Header: the title and the domain, both in the domain's colour.
    target.fill_solid(&layout::HEADER, PANEL)?;
    target.fill_solid(&Rectangle::new(Point::new(0, 64), Size::new(WIDTH, 4)), accent)?;
    text(target, "REPTAR qtrun", layout::TITLE.top_left, &PROFONT_24_POINT, accent, left)?;
    RoundedRectangle::with_equal_corners(layout::BADGE, Size::new(12, 12)).into_styled(PrimitiveStyle::with_fill(accent)).draw(target)?;
    let badge = match state.domain.domid {
        Some(id) => format!("running in {} (id {id})", state.short_name()),
        None => format!("running in {}", state.short_name()),
    };
    let centre = layout::BADGE.center();
    text(target, &badge, Point::new(centre.x, centre.y - 11), &PROFONT_18_POINT, BACKGROUND, Alignment::Center)?;

    // The six LEDs: filled when on, hollow when off, a question mark when missing.
    panel(target, layout::LEDS, BORDER)?;
    text(target, "LEDs", layout::LEDS.top_left + Point::new(18, 16), &FONT_10X20, TEXT, left)?;
    let present = state.leds.iter().filter(|led| led.is_some()).count();
    let note = if present == 0 { "no LED driver" } else { "SPACE: LED 0" };
    text(target, note, layout::LEDS.top_left + Point::new(18, 50), &FONT_7X13, DIM, left)?;
    for (led, on) in state.leds.iter().enumerate() {
        let centre = layout::led_centre(led);
        let style = match on {
            Some(true) => PrimitiveStyleBuilder::new().fill_color(LED_ON).stroke_color(LED_GLOW).stroke_width(3).build(),
            Some(false) => PrimitiveStyleBuilder::new().fill_color(LED_OFF).stroke_color(DIM).stroke_width(2).build(),
            None => PrimitiveStyleBuilder::new().fill_color(PANEL).stroke_color(BORDER).stroke_width(1).build(),
        };
        Circle::with_center(centre, 44).into_styled(style).draw(target)?;
        if on.is_none() {
            text(target, "?", centre - Point::new(0, 10), &FONT_10X20, BORDER, Alignment::Center)?;
        }
        text(target, &led.to_string(), centre + Point::new(0, 27), &FONT_7X13, DIM, Alignment::Center)?;
    }

    // The last button.
    let at = layout::LAST_KEY.top_left + Point::new(16, 4);
    text(target, "last button:", at, &FONT_10X20, DIM, left)?;
    let (name, note) = match state.last_key {
        None => ("none yet".to_string(), ""),
        Some(code @ (key::ESC | key::BACKSPACE)) => (key_name(code).unwrap_or_default().to_string(), " (focus switch)"),
        Some(code) => (key_name(code).map_or_else(|| format!("key {code}"), str::to_string), ""),
    };
    text(target, &name, at + Point::new(136, -1), &PROFONT_18_POINT, TEXT, left)?;
    text(target, note, at + Point::new(136 + 12 * name.len() as i32, 3), &FONT_10X20, DIM, left)?;

    // The text ENTER changes.
    panel(target, layout::MESSAGE, accent)?;
    let centre = layout::MESSAGE.center();
    text(target, &state.message(), Point::new(centre.x, centre.y - 15), &PROFONT_24_POINT, TEXT, Alignment::Center)?;

    let at = layout::STATUS.top_left + Point::new(16, 6);
    let presses = match state.enter_presses {
        1 => "ENTER pressed once".to_string(),
        n => format!("ENTER pressed {n} times"),
    };
    text(target, &presses, at, &FONT_10X20, DIM, left)?;
    let colour = if state.status_is_error { WARNING } else { LED_GLOW };
    text(target, &state.status, at + Point::new(0, 30), &FONT_7X13, colour, left)?;

    // The playfield: arrows move the marker.
    panel(target, layout::PLAYFIELD, BORDER)?;
    text(target, "arrows move me", layout::PLAYFIELD.top_left + Point::new(14, 6), &FONT_6X10, DIM, left)?;
    let dot = PrimitiveStyle::with_fill(BORDER);
    for row in 0..=layout::ROWS {
        for column in 0..=layout::COLUMNS {
            let at = layout::GRID + Point::new(column * layout::CELL, row * layout::CELL);
            Rectangle::new(at - Point::new(1, 1), Size::new(2, 2)).into_styled(dot).draw(target)?;
        }
    }
    let (column, row) = state.marker;
    RoundedRectangle::with_equal_corners(layout::marker(column, row), Size::new(4, 4))
        .into_styled(PrimitiveStyle::with_fill(accent))
        .draw(target)?;

    // Footer: what the buttons do, and the devices in use.
    target.fill_solid(&layout::FOOTER, PANEL)?;
    Line::new(Point::new(0, 438), Point::new(799, 438)).into_styled(PrimitiveStyle::with_stroke(BORDER, 1)).draw(target)?;
    text(
        target,
        "ENTER: next text   arrows: move the marker   SPACE: LED 0 on/off   ESC / BACKSPACE: dom0 / domU",
        Point::new(16, 446),
        &FONT_6X10,
        TEXT,
        left,
    )?;
    text(target, &state.info, Point::new(16, 462), &FONT_6X10, DIM, left)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canvas::{rgb, Canvas};

    fn state(name: &str) -> State {
        State::new(Domain::new(name, None), "input: /dev/input/event0 (reptar_sp6_buttons)".into())
    }

    fn frame(state: &State) -> Canvas {
        let mut canvas = Canvas::new(WIDTH, HEIGHT, 0);
        draw(state, &mut canvas).unwrap();
        canvas
    }

    fn count(canvas: &Canvas, area: &Rectangle, colour: Rgb888) -> usize {
        canvas.area(area).iter().filter(|&&p| p == rgb(colour)).count()
    }

    #[test]
    fn the_title_is_drawn_in_the_domain_colour() {
        let dom0 = frame(&state("dom0"));
        let domu = frame(&state("domU"));
        let title = count(&dom0, &layout::TITLE, accent(DomainKind::Dom0));
        assert!(title > 500, "only {title} title pixels");
        assert_eq!(count(&domu, &layout::TITLE, accent(DomainKind::DomU)), title, "the same title, another colour");
        assert_eq!(count(&domu, &layout::TITLE, accent(DomainKind::Dom0)), 0);
        assert_ne!(accent(DomainKind::Dom0), accent(DomainKind::DomU));
        // The badge is filled with it too, and says where qtrun runs.
        assert!(count(&dom0, &layout::BADGE, accent(DomainKind::Dom0)) > 8000);
        assert!(count(&domu, &layout::BADGE, accent(DomainKind::DomU)) > 8000);
        assert_ne!(dom0.area(&layout::BADGE), frame(&State::new(Domain::new("dom0", Some(0)), String::new())).area(&layout::BADGE));
        // Nothing is drawn outside the 800x480 picture's background on a canvas of that size.
        assert!(dom0.area(&Rectangle::new(Point::zero(), Size::new(WIDTH, HEIGHT))).iter().all(|&p| p != 0));
    }

    #[test]
    fn enter_changes_the_text_and_nothing_but_the_text_and_the_key_lines() {
        let mut state = state("dom0");
        let before = frame(&state);
        assert_eq!(state.message(), "Hello from dom0!");
        assert_eq!(state.key(key::ENTER, 1), None);
        assert_eq!(state.message(), "Press ENTER again");
        let after = frame(&state);
        assert_ne!(before.area(&layout::MESSAGE), after.area(&layout::MESSAGE));
        assert_ne!(before.area(&layout::LAST_KEY), after.area(&layout::LAST_KEY));
        for unchanged in [layout::HEADER, layout::LEDS, layout::PLAYFIELD, layout::FOOTER] {
            assert_eq!(before.area(&unchanged), after.area(&unchanged), "{unchanged:?}");
        }
        // The release does nothing; the messages come round again after four presses.
        assert_eq!(state.key(key::ENTER, 0), None);
        assert_eq!(state.enter_presses, 1);
        for _ in 0..3 {
            state.key(key::ENTER, 1);
        }
        assert_eq!(state.message(), "Hello from dom0!");
        assert_eq!(frame(&state).area(&layout::MESSAGE), before.area(&layout::MESSAGE));
    }

    #[test]
    fn arrows_move_the_marker_within_the_grid() {
        let mut state = state("domU");
        let start = state.marker;
        let before = frame(&state);
        let marker = layout::marker(start.0, start.1);
        // A 16x16 square but for its rounded corners.
        assert!((230..256).contains(&count(&before, &marker, accent(DomainKind::DomU))));
        state.key(key::RIGHT, 1);
        state.key(key::DOWN, 1);
        assert_eq!(state.marker, (start.0 + 1, start.1 + 1));
        assert_eq!(state.last_key, Some(key::DOWN));
        let after = frame(&state);
        assert_eq!(count(&after, &marker, accent(DomainKind::DomU)), 0, "the old place is empty");
        let moved = layout::marker(start.0 + 1, start.1 + 1);
        assert!(count(&after, &moved, accent(DomainKind::DomU)) > 200);
        // Autorepeat moves too; the edges stop it.
        for _ in 0..20 {
            state.key(key::LEFT, 2);
            state.key(key::UP, 2);
        }
        assert_eq!(state.marker, (0, 0));
        assert_eq!(state.last_key, Some(key::DOWN), "autorepeat is not a new press");
    }

    #[test]
    fn space_asks_to_toggle_led_0_and_leds_show_their_state() {
        let mut state = state("dom0");
        assert_eq!(state.key(key::SPACE, 1), Some(Action::SetLed(0, true)), "a missing LED counts as off");
        state.leds = [Some(true), Some(false), Some(false), Some(false), Some(false), Some(true)];
        assert_eq!(state.key(key::SPACE, 1), Some(Action::SetLed(0, false)));
        assert_eq!(state.key(key::SPACE, 2), None);
        let lit = frame(&state);
        let on = |canvas: &Canvas, led| canvas.get(layout::led_centre(led).x as u32, layout::led_centre(led).y as u32) == rgb(LED_ON);
        assert!(on(&lit, 0) && on(&lit, 5) && !on(&lit, 1));
        state.leds[0] = Some(false);
        assert!(!on(&frame(&state), 0));
        state.leds = [None; NR_LEDS];
        let missing = frame(&state);
        assert!((0..NR_LEDS).all(|led| !on(&missing, led)));
        assert_ne!(missing.area(&layout::LEDS), lit.area(&layout::LEDS));
    }

    #[test]
    fn the_focus_keys_are_shown_but_change_nothing_else() {
        let mut state = state("domU");
        let before = frame(&state);
        assert_eq!(state.key(key::ESC, 1), None);
        assert_eq!(state.key(key::BACKSPACE, 1), None);
        assert_eq!(state.last_key, Some(key::BACKSPACE));
        let after = frame(&state);
        assert_ne!(before.area(&layout::LAST_KEY), after.area(&layout::LAST_KEY));
        assert_eq!(before.area(&layout::MESSAGE), after.area(&layout::MESSAGE));
        // An unknown key is shown by its code.
        state.key(30, 1);
        assert_eq!(state.last_key, Some(30));
        frame(&state);
    }
}
