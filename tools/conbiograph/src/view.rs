//! What the chart shows (directions and metric) and how it is fitted to a
//! terminal: the final chart, a replayed one, and the frames of `--live`
//! (drawn by `cli::terminal::TextFrames`).

use crate::series::{Dir, Metric, Series};
use crate::{chart, units};

/// The directions charted, in order, and the metric plotted.
#[derive(Clone, Debug)]
pub struct View {
    pub dirs: Vec<Dir>,
    pub metric: Metric,
}

/// The line under a full-screen frame.
pub const LIVE_FOOTER: &str = "q or Ctrl-C: stop and print the chart";

impl View {
    /// The chart fitted to the terminal's columns ($COLUMNS, else 80).
    pub fn chart(&self, series: &Series) -> String {
        self.chart_at(series, cli::terminal::columns())
    }

    /// The chart fitted to `columns` terminal columns.
    pub fn chart_at(&self, series: &Series, columns: u32) -> String {
        let rows = if self.dirs.len() > 1 { 8 } else { 12 };
        chart::render(
            series,
            &self.dirs,
            self.metric,
            chart::Size::for_terminal(columns, rows),
        )
    }

    /// One frame of `--live`: the chart so far fitted to `columns` and the
    /// running totals.
    pub fn frame(&self, series: &Series, columns: u32) -> String {
        let mut frame = self.chart_at(series, columns);
        let totals: Vec<String> = self
            .dirs
            .iter()
            .map(|&d| {
                let t = series.totals(d);
                format!("{} {} in {} ops", d.name(), units::bytes(t.bytes), t.ops)
            })
            .collect();
        frame.push_str(&format!(
            "{} so far: {}\n",
            units::seconds(series.span().as_millis() as u64),
            totals.join(", ")
        ));
        frame
    }
}
