//! The off-screen picture qtrun draws a frame into (an embedded-graphics draw target), before
//! the whole frame goes to the framebuffer at once.

use std::convert::Infallible;

use embedded_graphics::pixelcolor::{Rgb888, RgbColor};
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::Rectangle;

/// A picture of `width` x `height` pixels, each 0x00RRGGBB.
pub struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u32>,
}

pub fn rgb(colour: Rgb888) -> u32 {
    (u32::from(colour.r()) << 16) | (u32::from(colour.g()) << 8) | u32::from(colour.b())
}

impl Canvas {
    pub fn new(width: u32, height: u32, background: u32) -> Canvas {
        Canvas { width, height, pixels: vec![background; width as usize * height as usize] }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn row(&self, y: usize) -> &[u32] {
        &self.pixels[y * self.width as usize..(y + 1) * self.width as usize]
    }

    /// The pixel at (x, y), 0x00RRGGBB.
    #[cfg(test)]
    pub fn get(&self, x: u32, y: u32) -> u32 {
        self.pixels[y as usize * self.width as usize + x as usize]
    }

    pub fn set(&mut self, x: u32, y: u32, value: u32) {
        self.pixels[y as usize * self.width as usize + x as usize] = value;
    }

    /// The pixels of an area, row after row (clipped to the canvas), for comparisons.
    #[cfg(test)]
    pub fn area(&self, area: &Rectangle) -> Vec<u32> {
        let area = area.intersection(&self.bounding_box());
        let mut pixels = Vec::new();
        if let Some(bottom_right) = area.bottom_right() {
            for y in area.top_left.y..=bottom_right.y {
                pixels.extend_from_slice(&self.row(y as usize)[area.top_left.x as usize..=bottom_right.x as usize]);
            }
        }
        pixels
    }
}

impl OriginDimensions for Canvas {
    fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }
}

impl DrawTarget for Canvas {
    type Color = Rgb888;
    type Error = Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Infallible>
    where
        I: IntoIterator<Item = Pixel<Rgb888>>,
    {
        for Pixel(point, colour) in pixels {
            if let (Ok(x), Ok(y)) = (u32::try_from(point.x), u32::try_from(point.y)) {
                if x < self.width && y < self.height {
                    self.set(x, y, rgb(colour));
                }
            }
        }
        Ok(())
    }

    /// Rectangles (the background, panels) a line at a time rather than pixel by pixel.
    fn fill_solid(&mut self, area: &Rectangle, colour: Rgb888) -> Result<(), Infallible> {
        let area = area.intersection(&self.bounding_box());
        if let Some(bottom_right) = area.bottom_right() {
            let (left, right) = (area.top_left.x as usize, bottom_right.x as usize);
            let value = rgb(colour);
            for y in area.top_left.y as usize..=bottom_right.y as usize {
                let start = y * self.width as usize;
                self.pixels[start + left..=start + right].fill(value);
            }
        }
        Ok(())
    }

    fn clear(&mut self, colour: Rgb888) -> Result<(), Infallible> {
        self.pixels.fill(rgb(colour));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawing_is_clipped_to_the_canvas() {
        let mut canvas = Canvas::new(4, 3, 0);
        canvas.fill_solid(&Rectangle::new(Point::new(-2, 1), Size::new(10, 10)), Rgb888::new(1, 2, 3)).unwrap();
        assert_eq!(canvas.row(0), [0; 4]);
        assert_eq!(canvas.row(1), [0x010203; 4]);
        canvas
            .draw_iter([
                Pixel(Point::new(-1, 0), Rgb888::WHITE),
                Pixel(Point::new(3, 0), Rgb888::WHITE),
                Pixel(Point::new(4, 0), Rgb888::WHITE),
            ])
            .unwrap();
        assert_eq!(canvas.row(0), [0, 0, 0, 0xffffff]);
        assert_eq!(canvas.area(&Rectangle::new(Point::new(2, 0), Size::new(5, 2))), [0, 0xffffff, 0x010203, 0x010203]);
    }
}
