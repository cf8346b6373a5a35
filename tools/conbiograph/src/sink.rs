//! Where a run's periods go as they are drained: the record (`--record`),
//! one NDJSON or CSV row each (`-o`), the live chart or a progress dot;
//! and at the end the summary, under the chart or as the last row.

use anyhow::Result;
use clap::ValueEnum;
use cli::output;
use cli::replay::Recorder;
use cli::sink::Sink;
use cli::terminal::TextFrames;
use identity::target::TargetInfo;
use kernel::collector::Health;

use crate::collect::DeviceTotals;
use crate::object::Features;
use crate::report::{self, CgroupRow, PeriodRow, Summary};
use crate::series::{Period, Series};
use crate::view::{View, LIVE_FOOTER};

/// `--output`: the chart and a summary, or one row per period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Braille chart and a summary paragraph.
    Table,
    /// NDJSON: one object per period, then a summary object.
    Json,
    /// CSV: a header and one line per period (summary on stderr).
    Csv,
}

/// What one drain gives the sink.
pub struct Frame {
    /// The periods that ended since the previous drain.
    pub periods: Vec<Period>,
    /// What the sample missed.
    pub health: Health,
    /// The run's end: what the summary needs besides the periods.
    pub end: Option<RunEnd>,
}

/// What the collector knows once it is finished.
pub struct RunEnd {
    pub devices: Vec<DeviceTotals>,
    /// Host-wide runs: every cgroup's I/O, names resolved.
    pub cgroups: Option<Vec<CgroupRow>>,
}

/// The run so far, and where it is shown.
pub struct ChartSink {
    pub view: View,
    pub format: OutputFormat,
    /// `--live`: a frame per drain (full screen on a terminal).
    pub live: Option<TextFrames>,
    pub recorder: Option<Recorder>,
    /// The summary's `target` and `kernel`.
    pub target: Option<TargetInfo>,
    pub features: Features,
    pub series: Series,
    /// What every sample missed, added up.
    pub health: Health,
}

impl Sink<Frame> for ChartSink {
    fn emit(&mut self, frame: &Frame) -> Result<()> {
        self.health.add(&frame.health);
        self.series.extend(&frame.periods);
        self.rows(&frame.periods)?;
        match &frame.end {
            None => self.progress(frame.periods.len()),
            Some(end) => self.finish(end),
        }
    }
}

impl ChartSink {
    /// Records the new periods, then prints them as rows (`-o json|csv`).
    fn rows(&mut self, periods: &[Period]) -> Result<()> {
        if let Some(rec) = &mut self.recorder {
            for p in periods {
                rec.record(&PeriodRow::new(&self.series, p))?;
            }
        }
        for p in periods {
            let row = PeriodRow::new(&self.series, p);
            match self.format {
                OutputFormat::Json => output::json_line(&row)?,
                OutputFormat::Csv => output::print(&report::csv_line(&row))?,
                OutputFormat::Table => {}
            }
        }
        Ok(())
    }

    /// The chart so far (`--live`) or a dot per period, under a table.
    fn progress(&mut self, new_periods: usize) -> Result<()> {
        if self.format != OutputFormat::Table || new_periods == 0 {
            return Ok(());
        }
        match &mut self.live {
            Some(frames) => {
                let (view, series) = (&self.view, &self.series);
                frames.draw(|columns| view.frame(series, columns), LIVE_FOOTER)
            }
            None => {
                // The seed's progress: a dot per period.
                output::progress_dots(new_periods);
                Ok(())
            }
        }
    }

    /// The summary, recorded and shown on the normal screen.
    fn finish(&mut self, end: &RunEnd) -> Result<()> {
        if let Some(frames) = &mut self.live {
            frames.close();
        }
        let summary = self.summary(end);
        if let Some(rec) = &mut self.recorder {
            rec.record(&summary)?;
        }
        match self.format {
            OutputFormat::Table => {
                output::print(&self.view.chart(&self.series))?;
                output::print(&summary.text(&self.view.dirs))?;
                match &summary.cgroups {
                    Some(rows) if !rows.is_empty() => output::print(&report::cgroup_table(rows)),
                    _ => Ok(()),
                }
            }
            OutputFormat::Json => output::json_line(&summary),
            OutputFormat::Csv => {
                output::status(&summary.text(&self.view.dirs));
                Ok(())
            }
        }
    }

    fn summary(&self, end: &RunEnd) -> Summary {
        let mut summary = Summary::build(
            &self.series,
            self.target.clone(),
            &end.devices,
            self.health.merged,
            self.health.dropped,
        )
        .with_kernel(self.features);
        summary.metric = self.view.metric.name().to_string();
        summary.directions = self
            .view
            .dirs
            .iter()
            .map(|d| d.name().to_string())
            .collect();
        if let Some(rows) = &end.cgroups {
            summary = summary.with_cgroups(rows.clone());
        }
        summary
    }
}
