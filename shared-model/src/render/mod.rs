//! Renderers: text for terminals, and a pyinstrument-style JSON tree.

pub mod folding;
pub mod json_tree;
pub mod text;

use crate::library::CodeInfo;
use crate::processors::{apply_default, ProcessorOptions};
use crate::session::Session;
use crate::tree::{CallTree, TreeOptions};

/// Builds the tree for `threads` (all when empty) and runs the default processors: the one
/// path from a session to what a user reads, shared by every renderer. With
/// `split_threads`, a session where more than one of those threads has samples gets a node
/// per thread, so a worker's time is not mistaken for the main thread's.
pub fn processed_tree(
    session: &Session,
    code: &CodeInfo,
    threads: &[usize],
    split_threads: bool,
    options: &ProcessorOptions,
) -> CallTree {
    let busy = session
        .threads
        .iter()
        .enumerate()
        .filter(|(i, t)| (threads.is_empty() || threads.contains(i)) && !t.samples.is_empty())
        .count();
    let tree_options = TreeOptions {
        threads: threads.to_vec(),
        timeline: options.timeline,
        time_range: options.time_range.clone(),
        split_threads: split_threads && busy > 1,
    };
    let mut tree = CallTree::build(session, &tree_options);
    apply_default(&mut tree, session, code, options);
    tree
}

/// How many decimals a time in seconds needs to show one sampling interval.
pub fn precision_for_interval(interval_us: u64) -> usize {
    let interval = (interval_us.max(1) as f64 / 1e6).clamp(1e-9, 1.0);
    (-interval.log10()).ceil().max(0.0) as usize
}

/// `YYYY-MM-DD HH:MM:SS UTC` for a Unix time, without a date library.
pub fn format_utc(unix_seconds: f64) -> String {
    if !unix_seconds.is_finite() || unix_seconds <= 0.0 {
        return "unknown".to_owned();
    }
    let secs = unix_seconds as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_dates() {
        assert_eq!(format_utc(0.0), "unknown");
        assert_eq!(format_utc(1_795_601_845.3), "2026-11-25 10:17:25 UTC");
        assert_eq!(format_utc(951_782_400.0), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn precision_follows_interval() {
        assert_eq!(precision_for_interval(1000), 3);
        assert_eq!(precision_for_interval(100), 4);
        assert_eq!(precision_for_interval(10_000), 2);
    }
}
