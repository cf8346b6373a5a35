//! The braille step chart (textplots): x = seconds since the start, y = the
//! chosen metric per period, one chart per direction, each labelled with its
//! unit and peak.

use textplots::{Chart, LabelBuilder, LabelFormat, Plot, Shape};

use crate::series::{Dir, Metric, Series};
use crate::units;

/// Size of the drawing in characters (a braille cell is 2×4 dots).
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub columns: u32,
    pub rows: u32,
}

impl Size {
    /// Fits the plot and its labels into `columns` terminal columns.
    pub fn for_terminal(columns: u32, rows: u32) -> Self {
        Self {
            columns: columns.saturating_sub(14).clamp(16, 200),
            rows: rows.clamp(2, 50),
        }
    }
}

/// `unit per period` wording of the y axis.
fn y_title(metric: Metric, series: &Series) -> String {
    let per = units::period_label(series.period);
    match metric {
        Metric::Bytes => format!("bytes per {per}"),
        Metric::Count => format!("requests per {per}"),
        Metric::Avg => format!("bytes per request, per {per}"),
    }
}

/// `2.5s`, `3.0s`, `2.25s`: seconds with one decimal, two when the run
/// ended between tenths.
fn x_label(x: f32) -> String {
    let two = format!("{x:.2}");
    match two.strip_suffix('0') {
        Some(one) => format!("{one}s"),
        None => format!("{two}s"),
    }
}

/// Renders one chart per direction in `dirs` (in that order).
pub fn render(series: &Series, dirs: &[Dir], metric: Metric, size: Size) -> String {
    let mut out = String::new();
    for &dir in dirs {
        out.push_str(&render_one(series, dir, metric, size));
    }
    out
}

fn render_one(series: &Series, dir: Dir, metric: Metric, size: Size) -> String {
    let mut title = format!("{} {}", dir.name(), y_title(metric, series));
    let points = series.points();
    let values: Vec<f64> = points.iter().map(|p| p.value(dir, metric)).collect();
    let peak = values.iter().copied().fold(0.0f64, f64::max);
    if values.is_empty() || peak <= 0.0 {
        return format!("{title}: none\n");
    }
    let (scale, unit) = match metric {
        Metric::Count => units::count_scale(peak),
        Metric::Bytes | Metric::Avg => units::byte_scale(peak),
    };
    if series.width() > 1 {
        title.push_str(&format!(", mean of {} periods per step", series.width()));
    }
    // Step chart: a point's value holds from its first period's start to
    // its last period's end; textplots draws each step at the height of
    // the following point.
    let period_s = series.period.as_secs_f64();
    let mut xy: Vec<(f32, f32)> = Vec::with_capacity(values.len() + 1);
    xy.push((0.0, 0.0));
    for (p, v) in points.iter().zip(&values) {
        let end = p.extent().1 * period_s;
        xy.push((end as f32, (v / scale) as f32));
    }
    // The axis ends where the run ended (inside the last period if it was
    // stopped there).
    let xmax = series.span().as_secs_f64() as f32;
    let ymax = (peak / scale) as f32;
    let shape = Shape::Steps(&xy);
    let y_unit = unit.to_string();
    let text = {
        let mut chart =
            Chart::new_with_y_range(size.columns * 2, size.rows * 4, 0.0, xmax, 0.0, ymax);
        let chart = chart
            .x_label_format(LabelFormat::Custom(Box::new(x_label)))
            .y_label_format(LabelFormat::Custom(Box::new(move |y| {
                units::trim_number(y as f64, &y_unit)
            })))
            .lineplot(&shape);
        chart.axis();
        chart.figures();
        format!("{chart}")
    };
    format!("{title} ({unit}):\n{text}")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::series::Period;

    fn series(writes: &[u64]) -> Series {
        let mut s = Series::new(Duration::from_millis(500));
        let rows: Vec<Period> = writes
            .iter()
            .enumerate()
            .map(|(i, &w)| Period {
                index: i as u64,
                bytes: [0, w],
                ops: [0, u64::from(w > 0)],
                ..Period::default()
            })
            .collect();
        s.extend(&rows);
        s
    }

    #[test]
    fn draws_braille_with_unit_labels() {
        let s = series(&[0, 4 << 20, 96 << 20, 8 << 20, 0]);
        let text = render(
            &s,
            &[Dir::Write, Dir::Read],
            Metric::Bytes,
            Size::for_terminal(80, 8),
        );
        assert!(
            text.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
            "{text}"
        );
        assert!(text.contains("write bytes per 0.5s (MiB)"), "{text}");
        assert!(text.contains("96 MiB"), "peak label: {text}");
        assert!(
            text.contains("0.0s") && text.contains("2.5s"),
            "x labels: {text}"
        );
        assert!(text.contains("read bytes per 0.5s: none"), "{text}");
    }

    #[test]
    fn count_metric_uses_plain_numbers() {
        let s = series(&[4096, 8192]);
        let text = render(&s, &[Dir::Write], Metric::Count, Size::for_terminal(60, 4));
        assert!(
            text.contains("write requests per 0.5s (requests)"),
            "{text}"
        );
    }

    #[test]
    fn merged_points_say_so_and_keep_the_time_axis() {
        let mut s = Series::with_max_points(Duration::from_millis(500), 4);
        let rows: Vec<Period> = (0..20u64)
            .map(|i| Period {
                index: i,
                bytes: [0, 1 << 20],
                ops: [0, 1],
                ..Period::default()
            })
            .collect();
        s.extend(&rows);
        let text = render(&s, &[Dir::Write], Metric::Bytes, Size::for_terminal(80, 4));
        assert!(
            text.contains("write bytes per 0.5s, mean of 8 periods per step (MiB)"),
            "{text}"
        );
        assert!(text.contains("1 MiB"), "mean, not sum: {text}");
        assert!(text.contains("10.0s"), "whole run on the x axis: {text}");
    }

    #[test]
    fn the_axis_ends_with_the_run_and_a_partial_period_is_no_drop() {
        let mut s = Series::new(Duration::from_millis(1000));
        let mut rows: Vec<Period> = (0..3u64)
            .map(|i| Period {
                index: i,
                bytes: [0, 8 << 20],
                ops: [0, 8],
                ..Period::default()
            })
            .collect();
        rows[2].bytes[1] = 2 << 20;
        rows[2].partial = Some(Duration::from_millis(250));
        s.extend(&rows);
        let text = render(&s, &[Dir::Write], Metric::Bytes, Size::for_terminal(80, 8));
        assert!(text.contains("2.25s"), "x axis ends at 2.25 s: {text}");
        assert!(!text.contains("3.0s"), "no axis past the end: {text}");
        // A steady 8 MiB per second: the top row is one flat line to the end.
        assert!(text.contains("8 MiB"), "{text}");
        let top = text.lines().nth(1).expect("top row");
        let trail = top.trim_end_matches(" 8 MiB").trim_end();
        assert!(
            trail.ends_with(|c: char| ('\u{2801}'..='\u{28ff}').contains(&c)),
            "the line reaches the right edge: {text}"
        );
    }

    #[test]
    fn empty_series_says_none() {
        let s = series(&[]);
        assert_eq!(
            render(&s, &[Dir::Write], Metric::Bytes, Size::for_terminal(80, 8)),
            "write bytes per 0.5s: none\n"
        );
    }
}
