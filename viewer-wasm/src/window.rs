//! The timeline's visible window: a time range that zooms about a point, pans and stays
//! inside the session.

/// A range of microseconds since the session start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    pub from: f64,
    pub to: f64,
}

/// The narrowest window: a few microseconds, below any sampling interval.
const MIN_WIDTH_US: f64 = 5.0;
/// How far one press of a zoom or pan key goes.
pub const KEY_ZOOM: f64 = 1.5;
pub const KEY_PAN: f64 = 0.2;

impl Window {
    pub fn new(from: f64, to: f64) -> Self {
        Window { from, to }
    }

    pub fn width(&self) -> f64 {
        self.to - self.from
    }

    /// Kept inside `[start, end]`, no narrower than [`MIN_WIDTH_US`]; a window wider than
    /// the session is the session.
    pub fn clamp(self, start: f64, end: f64) -> Window {
        let full = (end - start).max(MIN_WIDTH_US);
        let width = self.width().clamp(MIN_WIDTH_US.min(full), full);
        let from = if self.from.is_finite() {
            self.from.clamp(start, (start + full - width).max(start))
        } else {
            start
        };
        Window {
            from,
            to: from + width,
        }
    }

    /// Zoomed by `factor` (above 1 zooms in) about the point `at` (0 = left edge, 1 =
    /// right edge), which stays where it is on screen.
    pub fn zoom(self, factor: f64, at: f64) -> Window {
        let at = at.clamp(0.0, 1.0);
        let pivot = self.from + at * self.width();
        let width = self.width() / factor.max(1e-6);
        Window {
            from: pivot - at * width,
            to: pivot + (1.0 - at) * width,
        }
    }

    /// Moved by `by` of its own width (negative: towards the start).
    pub fn pan(self, by: f64) -> Window {
        let d = by * self.width();
        Window {
            from: self.from + d,
            to: self.to + d,
        }
    }

    /// The window of a two-finger pinch that began on this one: the times under the
    /// fingers when they went down (at `from` pixels of a `width`-pixel view) stay under
    /// them where they are now (`to`).
    pub fn pinch(self, width: f64, from: (f64, f64), to: (f64, f64)) -> Window {
        let width = width.max(1.0);
        let t = |x: f64| self.from + x / width * self.width();
        let (ta, tb) = (t(from.0), t(from.1));
        let apart = to.1 - to.0;
        if apart.abs() < 1.0 || (from.1 - from.0).abs() < 1.0 {
            return self;
        }
        let us_per_px = (tb - ta) / apart;
        let start = ta - to.0 * us_per_px;
        Window {
            from: start,
            to: start + width * us_per_px,
        }
    }

    /// Fits `[from, to]` with a margin on either side.
    pub fn fit(from: f64, to: f64) -> Window {
        let margin = (to - from).max(MIN_WIDTH_US) * 0.05;
        Window {
            from: from - margin,
            to: to + margin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoom_keeps_the_pivot_and_clamp_keeps_the_session() {
        let w = Window::new(0.0, 1000.0).zoom(2.0, 0.25);
        assert_eq!(w, Window::new(125.0, 625.0));
        assert_eq!(w.zoom(0.5, 0.25), Window::new(0.0, 1000.0));
        assert_eq!(
            Window::new(-50.0, 150.0).clamp(0.0, 1000.0),
            Window::new(0.0, 200.0)
        );
        assert_eq!(
            Window::new(900.0, 1100.0).clamp(0.0, 1000.0),
            Window::new(800.0, 1000.0)
        );
        assert_eq!(
            Window::new(-10.0, 5000.0).clamp(0.0, 1000.0),
            Window::new(0.0, 1000.0)
        );
        assert_eq!(
            Window::new(10.0, 10.5).clamp(0.0, 1000.0).width(),
            MIN_WIDTH_US
        );
        assert_eq!(Window::new(0.0, 100.0).pan(0.5), Window::new(50.0, 150.0));
    }

    #[test]
    fn a_pinch_keeps_the_times_under_the_fingers() {
        let w = Window::new(0.0, 1000.0);
        // Fingers at 250 and 500 px of 1000 (times 250 and 500) spread to 0 and 1000 px.
        assert_eq!(
            w.pinch(1000.0, (250.0, 500.0), (0.0, 1000.0)),
            Window::new(250.0, 500.0)
        );
        // Moved together without spreading: a pan.
        assert_eq!(
            w.pinch(1000.0, (250.0, 500.0), (350.0, 600.0)),
            Window::new(-100.0, 900.0)
        );
        // Fingers on one spot give no window.
        assert_eq!(w.pinch(1000.0, (250.0, 500.0), (300.0, 300.0)), w);
    }
}
