//! `conbiograph --replay FILE`: the period rows and summary of a run saved
//! with `--record` or `-o json`, read back into a [`Series`] and a
//! [`Summary`], so the chart and the paragraph are drawn as they were.

use std::time::Duration;

use anyhow::Result;
use cli::replay::Replay;

use crate::report::{PeriodRow, Summary};
use crate::series::{Period, Series};

/// A saved run: every period, then the summary.
pub struct Recorded {
    pub series: Series,
    pub summary: Summary,
}

/// The period a row was made from (the chart needs bytes and requests;
/// latency comes back as one request of the period's mean).
// Fields a row does not carry keep their defaults as Period grows.
#[allow(clippy::needless_update)]
pub fn period(row: &PeriodRow, period_ms: u64) -> Period {
    let lat = |mean: Option<u64>| mean.map_or((0, 0), |ns| (ns, 1));
    let (read_lat, read_n) = lat(row.read_lat_ns);
    let (write_lat, write_n) = lat(row.write_lat_ns);
    Period {
        index: row.t_ms.checked_div(period_ms).unwrap_or(0),
        bytes: [row.read_bytes, row.write_bytes],
        ops: [row.read_ops, row.write_ops],
        lat_ns: [read_lat, write_lat],
        lat_count: [read_n, write_n],
        dirtier_bytes: row.writeback_bytes,
        partial: row
            .partial
            .then(|| Duration::from_secs_f64(row.length_ms.max(0.0) / 1000.0)),
        ..Period::default()
    }
}

/// Reads the whole file: the chart is drawn once, at the summary. A line
/// that is no conbiograph period or summary stops it (one-line error
/// naming the line), as does a file without the summary.
pub fn read(replay: &mut Replay) -> Result<Recorded> {
    let mut rows: Vec<PeriodRow> = Vec::new();
    loop {
        let Some(record) = replay.next_record()? else {
            return Err(replay.ended_early("the summary line"));
        };
        let line = record.line;
        match record.value.get("type").and_then(|t| t.as_str()) {
            Some("period") => rows.push(replay.parse(record)?),
            Some("summary") if record.value.get("period_ms").is_some() => {
                let summary: Summary = replay.parse(record)?;
                let period_ms = summary.period_ms;
                if period_ms == 0 {
                    return Err(replay.bad(line, "a summary with period_ms 0".into()));
                }
                let mut series = Series::new(Duration::from_millis(period_ms));
                let periods: Vec<Period> = rows.iter().map(|r| period(r, period_ms)).collect();
                series.extend(&periods);
                return Ok(Recorded { series, summary });
            }
            _ => {
                replay.parse::<PeriodRow>(record)?;
                return Err(replay.bad(line, "not a conbiograph period or summary".into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_row_replays_as_a_partial_period() {
        let row = |t_ms, partial, length_ms| PeriodRow {
            kind: "period",
            t_ms,
            read_bytes: 4096,
            write_bytes: 0,
            read_ops: 1,
            write_ops: 0,
            writeback_bytes: 0,
            read_lat_ns: None,
            write_lat_ns: None,
            partial,
            length_ms,
        };
        let full = period(&row(500, false, 500.0), 500);
        assert_eq!((full.index, full.partial), (1, None));
        let last = period(&row(1000, true, 250.0), 500);
        assert_eq!(last.index, 2);
        assert_eq!(last.partial, Some(Duration::from_millis(250)));
        let mut series = Series::new(Duration::from_millis(500));
        series.extend(&[full, last]);
        assert_eq!(series.partial(), Some(Duration::from_millis(250)));
    }
}
