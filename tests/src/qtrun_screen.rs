//! Where qtrun, the demo application, draws on the 800x480 LCD (rootfs/programs/qtrun,
//! src/app.rs, `layout` and `accent`): what the tests look at on screen dumps.

use crate::picture::Area;

/// "REPTAR qtrun", in the domain's colour.
pub const TITLE: Area = (20, 18, 192, 29);
/// The text ENTER changes.
pub const MESSAGE: Area = (20, 230, 510, 110);
/// Where the arrows move the marker.
pub const PLAYFIELD: Area = (550, 190, 230, 230);
/// dom0's colour (the title, the badge and the marker).
pub const DOM0: [u8; 3] = [0x38, 0xbd, 0xf8];
/// domU's colour.
pub const DOMU: [u8; 3] = [0xf5, 0x9e, 0x0b];
/// A lit LED.
pub const LED_ON: [u8; 3] = [0x22, 0xc5, 0x5e];
/// Pixels of the domain's colour in [`TITLE`] when qtrun shows it (the text has about 1000).
pub const TITLE_SHOWN: usize = 500;

/// The centre of LED `led`'s lamp.
pub fn led_centre(led: usize) -> (usize, usize) {
    (200 + 100 * led, 122)
}
