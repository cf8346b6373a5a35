//! Human units: KiB/MiB/GiB, milliseconds, period lengths.

use std::time::Duration;

const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];

/// `512.0 MiB`, `4.0 KiB`, `17 B`.
pub fn bytes(n: u64) -> String {
    let (scale, unit) = byte_scale(n as f64);
    if scale == 1.0 {
        format!("{n} B")
    } else {
        format!("{:.1} {unit}", n as f64 / scale)
    }
}

/// Divisor and unit that keep `max` below 1024 of that unit.
pub fn byte_scale(max: f64) -> (f64, &'static str) {
    let mut scale = 1.0;
    for (i, unit) in UNITS.iter().enumerate() {
        if max < scale * 1024.0 || i == UNITS.len() - 1 {
            return (scale, unit);
        }
        scale *= 1024.0;
    }
    (1.0, "B")
}

/// Requests are plotted as they are.
pub fn count_scale(_max: f64) -> (f64, &'static str) {
    (1.0, "requests")
}

/// `96 MiB`, `1.5 MiB`: an axis label without a needless `.0`.
pub fn trim_number(v: f64, unit: &str) -> String {
    if (v - v.round()).abs() < 0.05 {
        format!("{:.0} {unit}", v.round())
    } else {
        format!("{v:.1} {unit}")
    }
}

/// `0.5s`, `1s`, `250ms`: the period in words for labels.
pub fn period_label(period: Duration) -> String {
    let ms = period.as_millis();
    // (rem_euclid: is_multiple_of is newer than the workspace's MSRV)
    if ms.rem_euclid(1000) == 0 {
        format!("{}s", ms / 1000)
    } else if ms >= 100 && ms.rem_euclid(100) == 0 {
        format!("{}s", period.as_secs_f64())
    } else {
        format!("{ms}ms")
    }
}

/// `1.23 ms`, `850 us`, `2.1 s`.
pub fn latency(ns: u64) -> String {
    if ns >= 1_000_000_000 {
        format!("{:.2} s", ns as f64 / 1e9)
    } else if ns >= 1_000_000 {
        format!("{:.2} ms", ns as f64 / 1e6)
    } else {
        format!("{:.0} us", ns as f64 / 1e3)
    }
}

/// `12.5s`: a time since the start.
pub fn seconds(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_units() {
        assert_eq!(bytes(17), "17 B");
        assert_eq!(bytes(4096), "4.0 KiB");
        assert_eq!(bytes(512 << 20), "512.0 MiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
        assert_eq!(byte_scale(1023.0), (1.0, "B"));
        assert_eq!(byte_scale(1024.0 * 1024.0), (1048576.0, "MiB"));
    }

    #[test]
    fn labels() {
        assert_eq!(trim_number(96.0, "MiB"), "96 MiB");
        assert_eq!(trim_number(1.5, "MiB"), "1.5 MiB");
        assert_eq!(period_label(Duration::from_millis(500)), "0.5s");
        assert_eq!(period_label(Duration::from_millis(1000)), "1s");
        assert_eq!(period_label(Duration::from_millis(2500)), "2.5s");
        assert_eq!(period_label(Duration::from_millis(20)), "20ms");
        assert_eq!(latency(1_234_000), "1.23 ms");
        assert_eq!(latency(850_000), "850 us");
        assert_eq!(seconds(12_500), "12.5s");
    }
}
