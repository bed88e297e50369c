//! Screen dumps: what QEMU's window shows, as the tests read it (QMP `screendump`, PPM).

use std::path::Path;

use anyhow::{ensure, Context, Result};

/// A rectangle of a picture: x, y, width, height.
pub type Area = (usize, usize, usize, usize);

/// An RGB picture: a screen dump.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    pub width: usize,
    pub height: usize,
    rgb: Vec<u8>,
}

impl Picture {
    /// Reads a binary PPM (P6, maxval 255), what QEMU's screendump writes with `format: ppm`.
    pub fn read_ppm(path: &Path) -> Result<Picture> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        // Header: "P6", width, height, maxval, separated by whitespace, then one whitespace byte.
        let mut fields = Vec::new();
        let mut at = 0;
        while fields.len() < 4 {
            while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
                at += 1;
            }
            let start = at;
            while bytes.get(at).is_some_and(|b| !b.is_ascii_whitespace()) {
                at += 1;
            }
            ensure!(at > start, "{} ends inside its PPM header", path.display());
            fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
        }
        ensure!(fields[0] == "P6" && fields[3] == "255", "not an 8-bit P6 PPM: {fields:?}");
        let (width, height): (usize, usize) = (fields[1].parse()?, fields[2].parse()?);
        let rgb = bytes.get(at + 1..).unwrap_or_default().to_vec();
        ensure!(rgb.len() == width * height * 3, "PPM {width}x{height} has {} bytes of pixels", rgb.len());
        Ok(Picture { width, height, rgb })
    }

    /// The pixel at (`x`, `y`) as [red, green, blue].
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// The pixels of `area`, line by line.
    pub fn area(&self, (x, y, width, height): Area) -> Vec<[u8; 3]> {
        (y..y + height)
            .flat_map(|y| (x..x + width).map(move |x| (x, y)))
            .map(|(x, y)| self.pixel(x, y))
            .collect()
    }

    /// How many pixels of `area` are `colour`.
    pub fn count(&self, area: Area, colour: [u8; 3]) -> usize {
        self.area(area).into_iter().filter(|&p| p == colour).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_ppm_and_its_pixels() {
        let dir = std::env::temp_dir().join(format!("reptar-picture-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.ppm");
        let mut bytes = b"P6\n2 1\n255\n".to_vec();
        bytes.extend_from_slice(&[1, 2, 3, 4, 5, 6]);
        std::fs::write(&path, &bytes).unwrap();
        let picture = Picture::read_ppm(&path).unwrap();
        assert_eq!((picture.width, picture.height), (2, 1));
        assert_eq!(picture.pixel(1, 0), [4, 5, 6]);
        assert_eq!(picture.count((0, 0, 2, 1), [1, 2, 3]), 1);
        std::fs::write(&path, b"P6\n2 1\n255\n\x01").unwrap();
        assert!(Picture::read_ppm(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
