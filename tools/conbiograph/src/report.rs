//! Machine output (one row per period as NDJSON or CSV, a final summary
//! object) and the human summary paragraph.

use identity::container::ContainerInfo;
use identity::target::TargetInfo;
use serde::{Deserialize, Serialize};

use crate::cgroups::{CgroupIo, Owner};
use crate::collect::DeviceTotals;
use crate::series::{Dir, DirTotals, Period, Series};
use crate::units;
use identity::resolver::Resolver;

/// One period, for plotting elsewhere (read back by `--replay`).
#[derive(Debug, Serialize, Deserialize)]
pub struct PeriodRow {
    #[serde(rename = "type", skip_deserializing)]
    pub kind: &'static str,
    /// Start of the period, ms since the start of the run.
    pub t_ms: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_ops: u64,
    pub write_ops: u64,
    /// Writes submitted by someone else on the target's behalf: writeback
    /// of pages it dirtied (flusher threads, `sync`, other cgroups' fsync).
    pub writeback_bytes: u64,
    /// Mean issue→complete time of the requests completed in the period.
    pub read_lat_ns: Option<u64>,
    pub write_lat_ns: Option<u64>,
    /// The run ended inside this period (the last one, stopped early).
    #[serde(default)]
    pub partial: bool,
    /// Time the period covers: the period length, less when partial.
    #[serde(default)]
    pub length_ms: f64,
}

/// Milliseconds with microsecond resolution.
fn millis(d: std::time::Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

impl PeriodRow {
    pub fn new(series: &Series, p: &Period) -> Self {
        Self {
            kind: "period",
            t_ms: series.t_ms(p),
            read_bytes: p.bytes[0],
            write_bytes: p.bytes[1],
            read_ops: p.ops[0],
            write_ops: p.ops[1],
            writeback_bytes: p.dirtier_bytes,
            read_lat_ns: p.mean_lat_ns(Dir::Read),
            write_lat_ns: p.mean_lat_ns(Dir::Write),
            partial: p.partial.is_some(),
            length_ms: millis(p.partial.unwrap_or(series.period)),
        }
    }
}

pub const CSV_HEADER: &str = "t_ms,read_bytes,write_bytes,read_ops,write_ops,writeback_bytes,\
read_lat_ns,write_lat_ns,partial,length_ms";

fn opt(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

pub fn csv_line(row: &PeriodRow) -> String {
    format!(
        "{},{},{},{},{},{},{},{},{},{}",
        row.t_ms,
        row.read_bytes,
        row.write_bytes,
        row.read_ops,
        row.write_ops,
        row.writeback_bytes,
        opt(row.read_lat_ns),
        opt(row.write_lat_ns),
        u8::from(row.partial),
        row.length_ms
    )
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DirSummary {
    pub bytes: u64,
    pub ops: u64,
    pub avg_bytes: Option<u64>,
    pub peak_bytes: u64,
    pub peak_t_ms: Option<u64>,
    pub mean_lat_ns: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DeviceSummary {
    pub device: String,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_ops: u64,
    pub write_ops: u64,
}

/// One cgroup's I/O over the run (host-wide runs).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CgroupRow {
    /// `cgroup`, `unattributed` (kernel threads' own I/O, writeback of
    /// pages whose dirtier is unknown) or `overflow` (the table was full).
    pub owner: String,
    /// Path relative to the cgroup2 mount; null unless a cgroup.
    pub cgroup: Option<String>,
    /// cgroup v2 id; null unless a cgroup.
    pub id: Option<u64>,
    /// The cgroup's container or pod (null: none or not a cgroup).
    #[serde(default)]
    pub container: Option<ContainerInfo>,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_ops: u64,
    pub write_ops: u64,
    /// Part of write_bytes submitted by someone else on its behalf.
    pub writeback_bytes: u64,
}

impl CgroupRow {
    /// Resolves the owner's name now (reports resolve while built).
    pub fn build(io: &CgroupIo, resolver: &mut dyn Resolver) -> Self {
        let (owner, id) = match io.owner {
            Owner::Cgroup(id) => ("cgroup", Some(id)),
            Owner::Unattributed => ("unattributed", None),
            Owner::Overflow => ("overflow", None),
        };
        let c = &io.counts;
        Self {
            owner: owner.to_string(),
            cgroup: id.map(|id| resolver.cgroup_path(id)),
            id,
            container: id.and_then(|id| resolver.container(id)),
            read_bytes: c.bytes[0],
            write_bytes: c.bytes[1],
            read_ops: c.ops[0],
            write_ops: c.ops[1],
            writeback_bytes: c.writeback_bytes,
        }
    }

    /// The CGROUP cell: the container's label, else the path.
    fn name(&self) -> String {
        match self.owner.as_str() {
            "cgroup" => identity::resolver::shown_as(
                self.container.as_ref(),
                self.cgroup.as_deref().unwrap_or("?"),
            ),
            "unattributed" => "(unattributed)".into(),
            _ => "(overflow)".into(),
        }
    }
}

/// Builds the per-cgroup rows, busiest first.
pub fn cgroup_rows(io: &[CgroupIo], resolver: &mut dyn Resolver) -> Vec<CgroupRow> {
    let mut rows: Vec<CgroupRow> = io.iter().map(|c| CgroupRow::build(c, resolver)).collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.read_bytes + r.write_bytes));
    rows
}

/// The per-cgroup table under a host-wide chart.
pub fn cgroup_table(rows: &[CgroupRow]) -> String {
    use cli::output::{table, Align};
    let mut t = table(&[
        ("CGROUP", Align::Left),
        ("READ", Align::Right),
        ("R_OPS", Align::Right),
        ("WRITE", Align::Right),
        ("W_OPS", Align::Right),
        ("WRITEBACK", Align::Right),
    ]);
    for r in rows {
        t.add_row(vec![
            kernel::escape::for_terminal(r.name().as_bytes()),
            units::bytes(r.read_bytes),
            r.read_ops.to_string(),
            units::bytes(r.write_bytes),
            r.write_ops.to_string(),
            units::bytes(r.writeback_bytes),
        ]);
    }
    cli::output::render(&t)
}

/// The final object of `--output json` (read back by `--replay`).
#[derive(Debug, Serialize, Deserialize)]
pub struct Summary {
    #[serde(rename = "type", skip_deserializing)]
    pub kind: &'static str,
    /// The traced cgroup (null: the whole host), as every contrace tool.
    pub target: Option<TargetInfo>,
    /// What the chart showed (`--replay` draws it again): `bytes`,
    /// `count` or `avg`, and the directions traced, in chart order.
    #[serde(default)]
    pub metric: String,
    #[serde(default)]
    pub directions: Vec<String>,
    pub period_ms: u64,
    /// Period rows, a partial last one included.
    pub periods: u64,
    /// Length of the run: periods × period, less when the last is partial.
    pub duration_ms: f64,
    pub read: DirSummary,
    pub write: DirSummary,
    pub writeback_bytes: u64,
    pub devices: Vec<DeviceSummary>,
    /// Periods whose counts were merged into a later one (drained too late).
    pub merged_periods: u64,
    pub dropped: u64,
    /// How this kernel was traced (probed at start; not read back).
    #[serde(skip_deserializing)]
    pub kernel: Option<crate::object::Features>,
    /// Host-wide runs: every cgroup's I/O, busiest first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroups: Option<Vec<CgroupRow>>,
}

fn dir_summary(series: &Series, t: &DirTotals) -> DirSummary {
    DirSummary {
        bytes: t.bytes,
        ops: t.ops,
        avg_bytes: t.avg_bytes(),
        peak_bytes: t.peak.map_or(0, |(b, _)| b),
        peak_t_ms: t.peak.map(|(_, i)| i * series.period_ms()),
        mean_lat_ns: t.mean_lat_ns,
    }
}

impl Summary {
    pub fn build(
        series: &Series,
        target: Option<TargetInfo>,
        devices: &[DeviceTotals],
        merged_periods: u64,
        dropped: u64,
    ) -> Self {
        Self {
            kind: "summary",
            target,
            metric: String::new(),
            directions: Vec::new(),
            period_ms: series.period_ms(),
            periods: series.len(),
            duration_ms: millis(series.span()),
            read: dir_summary(series, &series.totals(Dir::Read)),
            write: dir_summary(series, &series.totals(Dir::Write)),
            writeback_bytes: series.dirtier_bytes(),
            devices: devices
                .iter()
                .map(|d| DeviceSummary {
                    device: crate::devices::name(d.dev),
                    read_bytes: d.bytes[0],
                    write_bytes: d.bytes[1],
                    read_ops: d.ops[0],
                    write_ops: d.ops[1],
                })
                .collect(),
            merged_periods,
            dropped,
            kernel: None,
            cgroups: None,
        }
    }

    /// Adds the per-cgroup rows of a host-wide run.
    pub fn with_cgroups(mut self, rows: Vec<CgroupRow>) -> Self {
        self.cgroups = Some(rows);
        self
    }

    /// Adds how the kernel was traced.
    pub fn with_kernel(mut self, features: crate::object::Features) -> Self {
        self.kernel = Some(features);
        self
    }

    /// The one-paragraph summary under the chart.
    pub fn text(&self, dirs: &[Dir]) -> String {
        let period = units::period_label(std::time::Duration::from_millis(self.period_ms));
        let parts: Vec<String> = dirs
            .iter()
            .map(|&dir| {
                let s = match dir {
                    Dir::Read => &self.read,
                    Dir::Write => &self.write,
                };
                describe(dir, s, &period)
            })
            .collect();
        let mut text = format!("{}.", parts.join("; "));
        if self.writeback_bytes > 0 {
            text.push_str(&format!(
                " {} of the writes were written back by kernel threads or other processes \
                 for pages this cgroup dirtied.",
                units::bytes(self.writeback_bytes)
            ));
        }
        if !self.devices.is_empty() {
            let devs: Vec<String> = self
                .devices
                .iter()
                .map(|d| {
                    format!(
                        "{} {}",
                        d.device,
                        units::bytes(d.read_bytes + d.write_bytes)
                    )
                })
                .collect();
            text.push_str(&format!(" Devices: {}.", devs.join(", ")));
        }
        if self.merged_periods > 0 {
            text.push_str(&format!(
                " {} periods were drained late; their I/O is counted in later periods.",
                self.merged_periods
            ));
        }
        text
    }
}

fn describe(dir: Dir, s: &DirSummary, period: &str) -> String {
    if s.ops == 0 {
        return format!("{}: none", dir.name());
    }
    let mut text = format!(
        "{}: {} in {} ops (avg {})",
        dir.name(),
        units::bytes(s.bytes),
        s.ops,
        units::bytes(s.avg_bytes.unwrap_or(0))
    );
    if let Some(t) = s.peak_t_ms {
        text.push_str(&format!(
            ", peak {}/{period} at {}",
            units::bytes(s.peak_bytes),
            units::seconds(t)
        ));
    }
    if let Some(ns) = s.mean_lat_ns {
        text.push_str(&format!(", mean issue→complete {}", units::latency(ns)));
    }
    text
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn rows() -> [Period; 2] {
        [
            Period {
                index: 0,
                bytes: [0, 1 << 20],
                ops: [0, 2],
                lat_ns: [0, 4_000_000],
                lat_count: [0, 2],
                dirtier_bytes: 0,
                partial: None,
            },
            Period {
                index: 1,
                bytes: [8192, 96 << 20],
                ops: [2, 192],
                lat_ns: [0, 0],
                lat_count: [0, 0],
                dirtier_bytes: 1 << 20,
                partial: None,
            },
        ]
    }

    fn sample() -> Series {
        let mut s = Series::new(Duration::from_millis(500));
        s.extend(&rows());
        s
    }

    #[test]
    fn csv_rows() {
        let s = sample();
        let row = PeriodRow::new(&s, &rows()[1]);
        assert_eq!(
            csv_line(&row),
            format!("500,8192,{},2,192,1048576,,,0,500", 96 << 20)
        );
        assert_eq!(
            CSV_HEADER.split(',').count(),
            csv_line(&row).split(',').count()
        );
        let json = serde_json::to_value(PeriodRow::new(&s, &rows()[0])).unwrap();
        assert_eq!(json["t_ms"], 0);
        assert_eq!(json["write_lat_ns"], 2_000_000);
        assert!(json["read_lat_ns"].is_null());
    }

    #[test]
    fn paragraph() {
        let s = sample();
        let summary = Summary::build(&s, None, &[], 0, 0);
        let text = summary.text(&[Dir::Write, Dir::Read]);
        assert!(
            text.starts_with("write: 97.0 MiB in 194 ops (avg 512.0 KiB), peak 96.0 MiB/0.5s at 0.5s, mean issue→complete 2.00 ms; read: 8.0 KiB in 2 ops"),
            "{text}"
        );
        assert!(
            text.contains("1.0 MiB of the writes were written back"),
            "{text}"
        );
        assert_eq!(summary.write.peak_t_ms, Some(500));
        assert_eq!(summary.periods, 2);
    }
}
