//! A pixel buffer the timeline paints its spans into, put on the canvas in one call.
//!
//! A stack chart of a long session is tens of thousands of rectangles per frame; one
//! `fillRect` (and one colour string parsed) per rectangle costs more than the frame
//! budget, while writing the pixels here and putting them once does not. Coordinates are
//! device pixels, so the result is sharp at any pixel ratio.

/// An opaque colour, or transparent (alpha 0) to show the page behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgba(pub [u8; 4]);

impl Rgba {
    pub const CLEAR: Rgba = Rgba([0, 0, 0, 0]);

    pub fn rgb([r, g, b]: [u8; 3]) -> Rgba {
        Rgba([r, g, b, 255])
    }

    /// `self` mixed with `other`: `t` = 0 is `self`, 1 is `other`.
    pub fn mix(self, other: Rgba, t: f32) -> Rgba {
        let t = t.clamp(0.0, 1.0);
        let mut out = [0u8; 4];
        for (i, o) in out.iter_mut().enumerate() {
            let (a, b) = (self.0[i] as f32, other.0[i] as f32);
            *o = (a + (b - a) * t).round() as u8;
        }
        Rgba(out)
    }
}

/// RGBA bytes, row by row, as `ImageData` takes them.
pub struct Raster {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

impl Raster {
    pub fn new(width: usize, height: usize) -> Raster {
        Raster {
            width,
            height,
            data: vec![0; width * height * 4],
        }
    }

    /// Fills `[x0, x1) × [y0, y1)` (device pixels, cut to the buffer). A rectangle
    /// narrower than a pixel still covers the pixel it starts in, so nothing vanishes.
    pub fn fill(&mut self, x0: f64, x1: f64, y0: f64, y1: f64, colour: Rgba) {
        let (w, h) = (self.width as f64, self.height as f64);
        if x1 <= 0.0 || y1 <= 0.0 || x0 >= w || y0 >= h || x1 < x0 || y1 <= y0 {
            return;
        }
        let left = x0.max(0.0).floor() as usize;
        let right = (x1.min(w).round() as usize).max(left + 1).min(self.width);
        let top = y0.max(0.0).round() as usize;
        let bottom = (y1.min(h).round() as usize).min(self.height);
        for y in top..bottom {
            let row = &mut self.data[(y * self.width + left) * 4..(y * self.width + right) * 4];
            for px in row.chunks_exact_mut(4) {
                px.copy_from_slice(&colour.0);
            }
        }
    }

    pub fn at(&self, x: usize, y: usize) -> Rgba {
        let i = (y * self.width + x) * 4;
        Rgba([
            self.data[i],
            self.data[i + 1],
            self.data[i + 2],
            self.data[i + 3],
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_whole_pixels_and_never_loses_a_thin_rect() {
        let red = Rgba::rgb([255, 0, 0]);
        let mut r = Raster::new(10, 4);
        r.fill(2.0, 4.0, 1.0, 3.0, red);
        assert_eq!(r.at(1, 1), Rgba::CLEAR);
        assert_eq!(r.at(2, 1), red);
        assert_eq!(r.at(3, 2), red);
        assert_eq!(r.at(4, 2), Rgba::CLEAR);
        assert_eq!(r.at(2, 3), Rgba::CLEAR);
        // A tenth of a pixel still shows; off the buffer is cut, not a panic.
        r.fill(7.3, 7.4, 0.0, 1.0, red);
        assert_eq!(r.at(7, 0), red);
        r.fill(-5.0, 50.0, 3.0, 90.0, red);
        assert_eq!(r.at(9, 3), red);
        r.fill(20.0, 30.0, 0.0, 1.0, red);
        assert_eq!(
            Rgba::rgb([0, 0, 0]).mix(Rgba::rgb([200, 100, 50]), 0.5),
            Rgba::rgb([100, 50, 25])
        );
    }
}
