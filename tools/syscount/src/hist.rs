//! log2 histograms: the biolatency-style text display and the JSON buckets.
//!
//! Bucket k holds values in [2^k, 2^(k+1)) units; bucket 0 also holds 0.

use serde::Serialize;

/// Width of the bar of the fullest bucket.
const BAR: u64 = 40;

#[derive(Debug, Serialize)]
pub struct Bucket {
    pub low: u64,
    pub high: u64,
    pub count: u64,
}

/// `(low, high)` of bucket `k`, inclusive, as displayed: 0 -> 1, 2 -> 3, ...
fn bounds(k: usize) -> (u64, u64) {
    let high = (1u64 << (k + 1)) - 1;
    let low = if k == 0 { 0 } else { 1u64 << k };
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
        out.push_str(&format!(
            "{:>10} -> {:<10} : {:<8} |{:<width$}|\n",
            b.low,
            b.high,
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
        assert_eq!(bounds(0), (0, 1));
        assert_eq!(bounds(1), (2, 3));
        assert_eq!(bounds(14), (16384, 32767));
        let mut slots = vec![0u64; 32];
        slots[1] = 2;
        slots[3] = 4;
        let b = buckets(&slots);
        assert_eq!(b.len(), 4);
        assert_eq!((b[3].low, b[3].high, b[3].count), (8, 15, 4));
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
}
