//! Turning drained counters into a report: libbpf-tools-shaped text tables
//! (or histograms) and one NDJSON object.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use cli::output::ReportMeta;
use cli::sink::Render;
use identity::container::ContainerInfo;
use identity::resolver::Resolver;
use identity::target::Target;
use kernel::collector::{Health, Sample};
use serde::Serialize;

use engine::{Counts, Key, Mode, Row};

use crate::hist;

/// One syscall (or process) of one cgroup, errnos folded together.
#[derive(Debug, Default)]
struct Entry {
    cgroup_id: Option<u64>,
    key: Key,
    count: u64,
    total_ns: u64,
    denied: u64,
    errors: u64,
    errnos: BTreeMap<i32, u64>,
    comm: Vec<u8>,
}

#[derive(Debug, Serialize)]
pub struct Histogram {
    /// `usecs` or `msecs` (-m).
    pub unit: &'static str,
    pub buckets: Vec<hist::Bucket>,
}

/// One row of the JSON report; which fields appear depends on the mode.
#[derive(Debug, Serialize)]
pub struct JsonRow {
    /// --by-cgroup: path relative to the cgroup2 mount, and id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_id: Option<u64>,
    /// --by-cgroup: the cgroup's container or pod (null: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<Option<ContainerInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syscall: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nr: Option<u32>,
    /// A 32-bit call: `syscall` and `nr` are the 32-bit ABI's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compat: Option<bool>,
    /// -P: process id (tgid) and comm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    pub count: u64,
    /// -L / --histogram: summed latency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_ns: Option<u64>,
    /// -L / --histogram / --denied: calls a seccomp filter stopped before
    /// they ran (included in count, not timed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denied: Option<u64>,
    /// --errno: failed calls, and how many per errno name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errnos: Option<BTreeMap<String, u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Histogram>,
    /// Terminal-safe comm and cgroup for the text display.
    #[serde(skip)]
    display_comm: String,
    /// SYSCALL cell: the name, `(i386)` for a 32-bit call.
    #[serde(skip)]
    display_call: String,
    #[serde(skip)]
    display_cgroup: String,
    #[serde(skip)]
    slots: Vec<u64>,
}

/// One report: what `--output json` prints as one line.
#[derive(Debug, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub meta: ReportMeta,
    /// The top rows (-T), in display order.
    pub rows: Vec<JsonRow>,
    /// Calls counted in this report, all rows (not only the top ones).
    pub total_count: u64,
    #[serde(skip)]
    mode: Mode,
    #[serde(skip)]
    health: Health,
    /// The table has a DENIED column: asked for, or some call was denied.
    #[serde(skip)]
    denied_column: bool,
}

/// Folds errno-split rows into one entry per (cgroup, syscall or process).
fn fold(rows: Vec<Row>) -> Vec<Entry> {
    let mut by_key: HashMap<(Option<u64>, Key), Entry> = HashMap::new();
    for r in rows {
        let e = by_key.entry((r.cgroup_id, r.key)).or_insert_with(|| Entry {
            cgroup_id: r.cgroup_id,
            key: r.key,
            ..Entry::default()
        });
        e.count += r.count;
        e.total_ns += r.total_ns;
        e.denied += r.denied;
        e.errors += r.errors;
        if r.err != 0 {
            // Restart codes are named, but are no failure the process saw.
            *e.errnos.entry(r.err).or_default() += r.count;
        }
        if e.comm.is_empty() {
            e.comm = r.comm;
        }
    }
    by_key.into_values().collect()
}

/// libbpf-tools order: by count, or by time with -L; by errors with --errno.
fn sort(entries: &mut [Entry], mode: Mode) {
    entries.sort_by(|a, b| {
        let primary = if mode.latency {
            b.total_ns.cmp(&a.total_ns)
        } else if mode.by_errno {
            b.errors.cmp(&a.errors).then(b.count.cmp(&a.count))
        } else {
            b.count.cmp(&a.count)
        };
        primary
            .then(a.cgroup_id.cmp(&b.cgroup_id))
            .then(a.key.cmp(&b.key))
    });
}

impl Report {
    pub fn build(
        sample: Sample<Counts>,
        mode: Mode,
        target: &Target,
        names: &mut dyn Resolver,
        top: usize,
        last: bool,
    ) -> Self {
        let Sample { data, health } = sample;
        let Counts { rows, mut hists } = data;
        let mut entries = fold(rows);
        let total_count = entries.iter().map(|e| e.count).sum();
        sort(&mut entries, mode);
        entries.truncate(top);
        let unit = if mode.millis { "msecs" } else { "usecs" };
        let rows: Vec<JsonRow> = entries
            .into_iter()
            .map(|e| {
                let cgroup = e.cgroup_id.map(|id| names.cgroup_path(id));
                let shown_as = e.cgroup_id.map(|id| names.display_name(id));
                let slots = if mode.histogram {
                    hists.remove(&(e.cgroup_id, e.key)).unwrap_or_default()
                } else {
                    Vec::new()
                };
                let call = e.key.call();
                let pid = match e.key {
                    Key::Process(pid) => Some(pid),
                    Key::Syscall(_) => None,
                };
                JsonRow {
                    display_cgroup: shown_as
                        .as_deref()
                        .map(|c| kernel::escape::for_terminal(c.as_bytes()))
                        .unwrap_or_default(),
                    cgroup,
                    cgroup_id: e.cgroup_id,
                    container: e.cgroup_id.map(|id| names.container(id)),
                    syscall: call.map(|c| c.name().into_owned()),
                    nr: call.map(|c| c.nr),
                    compat: call.map(|c| c.compat),
                    display_call: call.map(|c| c.label()).unwrap_or_default(),
                    pid,
                    comm: mode.by_process.then(|| kernel::escape::lossy(&e.comm)),
                    display_comm: kernel::escape::for_terminal(&e.comm),
                    count: e.count,
                    total_ns: mode.timed.then_some(e.total_ns),
                    denied: mode.tracks_entry().then_some(e.denied),
                    errors: mode.by_errno.then_some(e.errors),
                    errnos: mode.by_errno.then(|| {
                        e.errnos
                            .iter()
                            .map(|(&err, &n)| (kernel::errno::name(err), n))
                            .collect()
                    }),
                    histogram: mode.histogram.then(|| Histogram {
                        unit,
                        buckets: hist::buckets(&slots),
                    }),
                    slots,
                }
            })
            .collect();
        let denied_column = mode.denied || rows.iter().any(|r| r.denied.unwrap_or(0) > 0);
        Self {
            meta: ReportMeta::new(&health, last, target),
            rows,
            total_count,
            mode,
            health,
            denied_column,
        }
    }
}

impl Render for Report {
    fn health(&self) -> Health {
        self.health
    }

    /// The text report: `[HH:MM:SS]`, then the table (or histograms), then
    /// an empty line, as libbpf-tools prints it.
    fn render(&self) -> String {
        let mode = self.mode;
        let mut out = cli::timefmt::clock_header();
        out.push('\n');
        if mode.histogram {
            self.histograms(mode, &mut out);
        } else {
            self.table(mode, &mut out);
        }
        out.push('\n');
        out
    }
}

impl Report {
    fn time_label(mode: Mode) -> &'static str {
        if mode.millis {
            "TIME (ms)"
        } else {
            "TIME (us)"
        }
    }

    fn time_value(mode: Mode, ns: u64) -> f64 {
        ns as f64 / if mode.millis { 1e6 } else { 1e3 }
    }

    /// SYSCALL, or `PID    COMM` as libbpf-tools' `%-6u %-15s`.
    fn key_cell(r: &JsonRow) -> String {
        match (r.pid, &r.syscall) {
            (Some(pid), _) => format!("{pid:<6} {:<15}", r.display_comm),
            (None, Some(_)) => r.display_call.clone(),
            (None, None) => String::new(),
        }
    }

    /// `%-22s %8s [%16s]` like libbpf-tools; extra columns after those.
    fn table(&self, mode: Mode, out: &mut String) {
        let cg_width = self
            .rows
            .iter()
            .map(|r| r.display_cgroup.chars().count())
            .max()
            .unwrap_or(0)
            .max("CGROUP".len());
        let key = if mode.by_process {
            "PID    COMM"
        } else {
            "SYSCALL"
        };
        let mut line = format!("{key:<22} {:>8}", "COUNT");
        if mode.latency {
            let _ = write!(line, " {:>16}", Self::time_label(mode));
        }
        if mode.by_errno {
            let _ = write!(line, " {:>8}", "ERRORS");
        }
        if self.denied_column {
            let _ = write!(line, " {:>8}", "DENIED");
        }
        if mode.by_cgroup {
            let _ = write!(line, "  {:<cg_width$}", "CGROUP");
        }
        if mode.by_errno {
            line.push_str("  ERRNOS");
        }
        out.push_str(line.trim_end());
        out.push('\n');
        for r in &self.rows {
            let mut line = format!("{:<22} {:>8}", Self::key_cell(r), r.count);
            if mode.latency {
                let _ = write!(
                    line,
                    " {:>16.3}",
                    Self::time_value(mode, r.total_ns.unwrap_or(0))
                );
            }
            if mode.by_errno {
                let _ = write!(line, " {:>8}", r.errors.unwrap_or(0));
            }
            if self.denied_column {
                let _ = write!(line, " {:>8}", r.denied.unwrap_or(0));
            }
            if mode.by_cgroup {
                let _ = write!(line, "  {:<cg_width$}", r.display_cgroup);
            }
            if let Some(errnos) = &r.errnos {
                let mut list: Vec<(&String, &u64)> = errnos.iter().collect();
                list.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                line.push_str("  ");
                let parts: Vec<String> = list.iter().map(|(n, c)| format!("{n}:{c}")).collect();
                line.push_str(&parts.join(" "));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }

    /// One log2 histogram per row, each under a `syscall = NAME, ...` line.
    fn histograms(&self, mode: Mode, out: &mut String) {
        let unit = if mode.millis { "msecs" } else { "usecs" };
        for (i, r) in self.rows.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let mut title = match (r.pid, &r.syscall) {
                (Some(pid), _) => format!("pid = {pid}, comm = {}", r.display_comm),
                (None, Some(_)) => format!("syscall = {}", r.display_call),
                (None, None) => String::new(),
            };
            let _ = write!(title, ", count = {}", r.count);
            // Denied calls never ran: counted, not in the histogram.
            if let Some(denied) = r.denied.filter(|&d| d > 0) {
                let _ = write!(title, ", denied = {denied}");
            }
            if mode.latency {
                let _ = write!(
                    title,
                    ", {} = {:.3}",
                    Self::time_label(mode).to_lowercase(),
                    Self::time_value(mode, r.total_ns.unwrap_or(0))
                );
            }
            if mode.by_cgroup {
                let _ = write!(title, ", cgroup = {}", r.display_cgroup);
            }
            out.push_str(&title);
            out.push('\n');
            out.push_str(&hist::render(&r.slots, unit));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(nr: u32) -> Key {
        Key::Syscall(kernel::syscalls::Call::native(nr))
    }

    /// A row as the engine splits them by errno (errors: all its calls
    /// failed, unless `err` is a restart code).
    fn row(nr: u32, err: i32, count: u64, total_ns: u64) -> Row {
        let failed = err != 0 && !kernel::errno::is_restart(err);
        Row {
            key: key(nr),
            err,
            count,
            errors: if failed { count } else { 0 },
            total_ns,
            ..Row::default()
        }
    }

    #[test]
    fn folds_errnos_and_sorts() {
        let mut e = fold(vec![
            row(2, 0, 5, 10),
            row(2, 2, 3, 1),
            row(2, 13, 1, 1),
            row(2, 512, 2, 1),
            row(0, 0, 7, 50),
        ]);
        sort(&mut e, Mode::default());
        assert_eq!((e[0].key, e[0].count), (key(2), 11));
        // ERESTARTSYS is named in the breakdown, not counted as a failure.
        assert_eq!(e[0].errors, 4);
        assert_eq!(e[0].errnos.get(&512), Some(&2));
        assert_eq!(e[0].errnos.get(&2), Some(&3));
        sort(
            &mut e,
            Mode {
                latency: true,
                ..Mode::default()
            },
        );
        assert_eq!(e[0].key, key(0));
        sort(
            &mut e,
            Mode {
                by_errno: true,
                ..Mode::default()
            },
        );
        assert_eq!(e[0].key, key(2));
    }
}
