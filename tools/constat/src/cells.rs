//! Table cells shared by constat's tables and its live view: times and
//! shares formatted one way everywhere.

/// Nanoseconds as milliseconds, three decimals.
pub fn ms(ns: u64) -> String {
    format!("{:.3}", ns as f64 / 1e6)
}

/// Nanoseconds as microseconds, three decimals.
pub fn us(ns: u64) -> String {
    format!("{:.3}", ns as f64 / 1e3)
}

/// `part` as a share of `whole` (`0.00%` when `whole` is 0).
pub fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "0.00%".into()
    } else {
        format!("{:.2}%", part as f64 * 100.0 / whole as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells() {
        assert_eq!(ms(1_234_567), "1.235");
        assert_eq!(us(1_500), "1.500");
        assert_eq!(pct(1, 3), "33.33%");
        assert_eq!(pct(5, 0), "0.00%");
    }
}
