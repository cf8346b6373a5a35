//! Output: human tables on stdout by default, NDJSON with `--output json`;
//! status lines go to stderr so pipelines see only data.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;
use clap::ValueEnum;
use comfy_table::{presets, CellAlignment, ColumnConstraint, ContentArrangement, Table, Width};
use serde::{Deserialize, Serialize};

/// `--output`: how reports are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// One JSON object per line (NDJSON) for programs.
    Json,
}

/// Writes `text` to stdout and flushes; a closed pipe surfaces as an
/// `io::Error` of kind `BrokenPipe`, which `exit::main_with` turns into a
/// quiet exit.
pub fn print(text: &str) -> Result<()> {
    end_progress();
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// Prints one NDJSON line.
pub fn json_line<T: Serialize>(value: &T) -> Result<()> {
    print(&serde_json::to_string(value)?)
}

/// Set while a line of progress dots is open on stderr.
static PROGRESS_OPEN: AtomicBool = AtomicBool::new(false);

/// A status line on stderr (never mixed into the data on stdout), on a line
/// of its own even after progress dots. A closed stderr is ignored: status
/// is best effort.
pub fn status(text: &str) {
    end_progress();
    let _ = writeln!(io::stderr().lock(), "{text}");
}

/// Ends an open line of progress dots (data on a shared terminal then
/// starts on a line of its own).
pub fn end_progress() {
    if PROGRESS_OPEN.swap(false, Ordering::Relaxed) {
        let _ = io::stderr().lock().write_all(b"\n");
    }
}

/// `n` progress dots on stderr (one per period, as the seed tools do),
/// continuing the current line.
pub fn progress_dots(n: usize) {
    if n == 0 {
        return;
    }
    let mut err = io::stderr().lock();
    let _ = err.write_all(".".repeat(n).as_bytes());
    let _ = err.flush();
    PROGRESS_OPEN.store(true, Ordering::Relaxed);
}

/// Column alignment of a table built by [`table`].
#[derive(Clone, Copy)]
pub enum Align {
    Left,
    Right,
}

/// A borderless table in the style of the libbpf-tools (header row, columns
/// separated by spaces, numbers right-aligned), never wrapped.
pub fn table(headers: &[(&str, Align)]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(headers.iter().map(|(h, _)| *h));
    for (i, (_, align)) in headers.iter().enumerate() {
        if let Some(col) = table.column_mut(i) {
            col.set_padding((0, 2));
            col.set_cell_alignment(match align {
                Align::Left => CellAlignment::Left,
                Align::Right => CellAlignment::Right,
            });
            col.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(1)));
        }
    }
    table
}

/// Renders a table as text with trailing spaces trimmed.
pub fn render(table: &Table) -> String {
    table
        .lines()
        .map(|l| l.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// What every aggregated report carries besides its rows (flattened into
/// the report's JSON object; read back by `--replay`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReportMeta {
    /// RFC 3339 UTC time of the report.
    pub time: String,
    /// Seconds the report covers: since attaching or the previous report.
    pub interval_s: f64,
    /// True for the last report of the run.
    #[serde(rename = "final")]
    pub last: bool,
    pub target: Option<identity::target::TargetInfo>,
    /// Updates the kernel side could not record (map full, no memory).
    pub dropped: u64,
}

impl ReportMeta {
    pub fn new(
        health: &kernel::collector::Health,
        last: bool,
        target: &identity::target::Target,
    ) -> Self {
        Self {
            time: crate::timefmt::now_rfc3339(),
            interval_s: health.covered.as_secs_f64(),
            last,
            target: target.info(),
            dropped: health.dropped,
        }
    }

    /// `[HH:MM:SS]` of the report's time (local), for interval tables.
    pub fn clock_header(&self) -> String {
        crate::timefmt::clock_header_at(&self.time)
    }

    /// A report's table as text: in interval mode, the report's
    /// `[HH:MM:SS]` line above it.
    pub fn framed(&self, periodic: bool, table: &comfy_table::Table) -> String {
        let mut text = String::new();
        if periodic {
            text.push_str(&self.clock_header());
            text.push('\n');
        }
        text.push_str(&render(table));
        text.push('\n');
        text
    }

    /// What a report's sample missed, as far as the JSON says (a replayed
    /// report warns about the same drops).
    pub fn health(&self) -> kernel::collector::Health {
        kernel::collector::Health {
            dropped: self.dropped,
            ..kernel::collector::Health::default()
        }
    }
}
