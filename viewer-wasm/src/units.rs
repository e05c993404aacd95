//! How times read in every view: seconds with millisecond precision, or percent.

/// `us` as seconds ("0.139") or as a share of `total` ("45.2%").
pub fn time(us: u64, total: u64, percent: bool) -> String {
    if percent {
        percent_of(us, total)
    } else {
        format!("{:.3}", us as f64 / 1e6)
    }
}

pub fn percent_of(us: u64, total: u64) -> String {
    format!("{:.1}%", us as f64 * 100.0 / total.max(1) as f64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn seconds_and_percent() {
        assert_eq!(super::time(139_400, 200_000, false), "0.139");
        assert_eq!(super::time(139_400, 200_000, true), "69.7%");
        assert_eq!(super::time(5, 0, true), "500.0%");
    }
}
