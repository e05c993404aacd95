//! Flame graph colours: the family says where code comes from (warm for the project, blue
//! for the standard library, green for installed packages, grey for synthetic frames); the
//! shade within a family tells neighbouring packages and functions apart.

use callscope_model::library::CodeOrigin;

/// A stable small hash, so a function keeps its colour across reloads.
fn hash(text: &str) -> u32 {
    text.bytes().fold(2_166_136_261u32, |h, b| {
        (h ^ b as u32).wrapping_mul(16_777_619)
    })
}

/// A frame's colour as hue (degrees), saturation and lightness (percent).
fn hsl(origin: CodeOrigin, library: &str, name: &str, dark: bool) -> (f64, f64, f64) {
    let (hue, spread, sat) = match origin {
        CodeOrigin::Application => (22.0, 22.0, 85.0),
        CodeOrigin::Stdlib => (205.0, 20.0, 60.0),
        CodeOrigin::ThirdParty => (120.0, 35.0, 45.0),
        CodeOrigin::Synthetic => (0.0, 0.0, 0.0),
    };
    // The package picks the hue, the function the lightness.
    let h = hue + (hash(library) % 100) as f64 / 100.0 * spread - spread / 2.0;
    let shade = (hash(name) % 100) as f64 / 100.0 * 14.0;
    let l = if dark { 30.0 + shade } else { 62.0 + shade };
    (h, sat, l)
}

/// The fill for a frame, as a CSS colour.
pub fn fill(origin: CodeOrigin, library: &str, name: &str, dark: bool) -> String {
    let (h, s, l) = hsl(origin, library, name, dark);
    format!("hsl({h:.0} {s:.0}% {l:.0}%)")
}

/// The same colour as [`fill`], as RGB bytes, for the timeline's pixel painter.
pub fn rgb(origin: CodeOrigin, library: &str, name: &str, dark: bool) -> [u8; 3] {
    let (h, s, l) = hsl(origin, library, name, dark);
    // Rounded as `fill` prints them, so both paint the same pixel.
    hsl_to_rgb(h.round(), s.round(), l.round())
}

fn hsl_to_rgb(h: f64, s: f64, l: f64) -> [u8; 3] {
    let (h, s, l) = (h.rem_euclid(360.0), s / 100.0, l / 100.0);
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let x = c * (1.0 - ((h / 60.0) % 2.0 - 1.0).abs());
    let (r, g, b) = match (h / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    [r, g, b].map(|v| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8)
}

/// The legend under the graph.
pub const LEGEND: [(CodeOrigin, &str); 3] = [
    (CodeOrigin::Application, "your code"),
    (CodeOrigin::Stdlib, "standard library"),
    (CodeOrigin::ThirdParty, "installed packages"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn hue(css: &str) -> f64 {
        css[4..].split(' ').next().unwrap().parse().unwrap()
    }

    #[test]
    fn families_do_not_overlap() {
        for lib in [
            "",
            "json",
            "re",
            "requests",
            "numpy",
            "app",
            "a-very-long-name",
        ] {
            let app = hue(&fill(CodeOrigin::Application, lib, "f", false));
            let std = hue(&fill(CodeOrigin::Stdlib, lib, "f", false));
            let third = hue(&fill(CodeOrigin::ThirdParty, lib, "f", false));
            assert!((11.0..=33.0).contains(&app), "{app}");
            assert!((195.0..=215.0).contains(&std), "{std}");
            assert!((102.0..=138.0).contains(&third), "{third}");
        }
        assert_eq!(
            fill(CodeOrigin::Stdlib, "json", "loads", true),
            fill(CodeOrigin::Stdlib, "json", "loads", true)
        );
    }

    #[test]
    fn rgb_is_the_css_colour() {
        // What a browser paints for these hsl() colours.
        assert_eq!(hsl_to_rgb(205.0, 60.0, 50.0), [51, 140, 204]);
        assert_eq!(hsl_to_rgb(0.0, 0.0, 62.0), [158, 158, 158]);
        assert_eq!(hsl_to_rgb(22.0, 85.0, 70.0), [244, 161, 113]);
        assert_eq!(hsl_to_rgb(-10.0, 100.0, 50.0), [255, 0, 43]);
    }
}
