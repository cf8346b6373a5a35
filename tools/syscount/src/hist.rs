//! log2 histograms: the biolatency-style text display and the JSON buckets.
//!
//! Bucket k holds values in [2^k, 2^(k+1)) units; bucket 0 also holds 0,
//! and the kernel puts everything from 2^31 units up in the last one.

use serde::Serialize;

use engine::HIST_SLOTS;

/// Width of the bar of the fullest bucket.
const BAR: u64 = 40;

#[derive(Debug, Serialize)]
pub struct Bucket {
    pub low: u64,
    /// Inclusive; `None` (JSON null) for the open-ended last bucket.
    pub high: Option<u64>,
    pub count: u64,
}

/// `(low, high)` of bucket `k`, inclusive, as displayed: 0 -> 1, 2 -> 3, ...;
/// the last bucket has no upper bound.
fn bounds(k: usize) -> (u64, Option<u64>) {
    let low = if k == 0 { 0 } else { 1u64 << k };
    let high = (k + 1 < HIST_SLOTS).then(|| (1u64 << (k + 1)) - 1);
    (low, high)
}

/// Buckets up to the last non-empty one (none when all are empty).
pub fn buckets(slots: &[u64]) -> Vec<Bucket> {
    let last = slots.iter().rposition(|&c| c > 0).map_or(0, |i| i + 1);
    slots[..last]
        .iter()
        .enumerate()
        .map(|(k, &count)| {
            let (low, high) = bounds(k);
            Bucket { low, high, count }
        })
        .collect()
}

/// The text display, `unit` naming the column (`usecs`, `msecs`):
///
/// ```text
///      usecs               : count    distribution
///          0 -> 1          : 3        |*****                                   |
/// ```
pub fn render(slots: &[u64], unit: &str) -> String {
    let rows = buckets(slots);
    let max = rows.iter().map(|b| b.count).max().unwrap_or(0);
    let mut out = format!("{:5}{unit:<19} : count    distribution\n", "");
    for b in &rows {
        let stars = (b.count * BAR).checked_div(max).unwrap_or(0) as usize;
        let high = b.high.map_or_else(|| "...".to_string(), |h| h.to_string());
        out.push_str(&format!(
            "{:>10} -> {:<10} : {:<8} |{:<width$}|\n",
            b.low,
            high,
            b.count,
            "*".repeat(stars),
            width = BAR as usize
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_display() {
        assert_eq!(bounds(0), (0, Some(1)));
        assert_eq!(bounds(1), (2, Some(3)));
        assert_eq!(bounds(14), (16384, Some(32767)));
        assert_eq!(bounds(30), (1 << 30, Some((1 << 31) - 1)));
        let mut slots = vec![0u64; 32];
        slots[1] = 2;
        slots[3] = 4;
        let b = buckets(&slots);
        assert_eq!(b.len(), 4);
        assert_eq!((b[3].low, b[3].high, b[3].count), (8, Some(15), 4));
        let text = render(&slots, "usecs");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "     usecs               : count    distribution");
        assert_eq!(
            lines[4],
            format!("{:>10} -> {:<10} : {:<8} |{}|", 8, 15, 4, "*".repeat(40))
        );
        assert!(lines[2].contains(&format!("|{}{}|", "*".repeat(20), " ".repeat(20))));
        assert!(buckets(&[0; 32]).is_empty());
    }

    #[test]
    fn last_bucket_is_open_ended() {
        // The kernel clamps everything >= 2^31 units into slot 31.
        let mut slots = vec![0u64; HIST_SLOTS];
        slots[HIST_SLOTS - 1] = 5;
        let b = buckets(&slots);
        assert_eq!(b.len(), HIST_SLOTS);
        let last = &b[HIST_SLOTS - 1];
        assert_eq!((last.low, last.high, last.count), (1 << 31, None, 5));
        let json = serde_json::to_value(last).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"low": 2147483648u64, "high": null, "count": 5})
        );
        assert_eq!(b[HIST_SLOTS - 2].high, Some((1 << 31) - 1));
        let text = render(&slots, "usecs");
        let line = text.lines().last().unwrap();
        assert_eq!(
            line,
            format!(
                "{:>10} -> {:<10} : {:<8} |{}|",
                2147483648u64,
                "...",
                5,
                "*".repeat(40)
            )
        );
    }
}
