//! Turning drained counters into a sorted report: a table or one JSON object.

use std::collections::{BTreeMap, HashMap};

use clap::ValueEnum;
use cli::output::{self, Align, ReportMeta};
use cli::sink::Render;
use identity::container::ContainerInfo;
use identity::resolver::Resolver;
use identity::target::Target;
use kernel::collector::{Health, Sample};
use serde::{Deserialize, Serialize};

use crate::cells::{ms, pct, us};
use crate::collect::Row;

/// Order of the rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortKey {
    Count,
    Time,
    Errors,
    Name,
}

/// How the user asked for reports to be shaped.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub sort: SortKey,
    pub top: Option<usize>,
    /// Reports come at intervals: each table starts with `[HH:MM:SS]`.
    pub with_clock: bool,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct JsonRow {
    /// cgroup path relative to the cgroup2 mount (every-cgroup mode only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_id: Option<u64>,
    /// Every-cgroup mode: the cgroup's container or pod (null: none).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub container: Option<Option<ContainerInfo>>,
    pub syscall: String,
    pub nr: u32,
    /// A 32-bit call (`syscall` and `nr` are then the 32-bit ABI's).
    #[serde(default)]
    pub compat: bool,
    pub count: u64,
    pub errors: u64,
    /// Calls a seccomp filter stopped before they ran (in count and errors).
    #[serde(default)]
    pub denied: u64,
    /// The most common errno of the failures (ENOENT), null when none failed.
    pub errno: Option<String>,
    /// Failures per errno name.
    #[serde(default)]
    pub errnos: BTreeMap<String, u64>,
    pub elapsed_ns: u64,
    /// Mean time of the calls that ran (denied calls have none).
    pub avg_ns: u64,
    pub max_ns: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Totals {
    pub count: u64,
    pub errors: u64,
    #[serde(default)]
    pub denied: u64,
    pub elapsed_ns: u64,
    pub max_ns: u64,
}

/// A field that is there, even as `null`: `Some(None)` (absent: `None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// What a constat report's rows are: `syscalls` (one target's syscalls),
/// `cgroup-syscalls` (host-wide `--by-syscall`: one row per cgroup and
/// syscall) or `cgroups` (host-wide: one row per cgroup, a
/// [`crate::SummaryReport`]).
pub const VIEW_SYSCALLS: &str = "syscalls";
pub const VIEW_CGROUP_SYSCALLS: &str = "cgroup-syscalls";
pub const VIEW_CGROUPS: &str = "cgroups";

/// The most common errno a process saw (ties: the lower number) and how
/// many others; restart codes are no failure the process saw.
fn most_common(errnos: &BTreeMap<i32, u64>) -> Option<(i32, usize)> {
    let seen = || {
        errnos
            .iter()
            .filter(|(&e, _)| !kernel::errno::is_restart(e))
    };
    let (&top, _) = seen().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
    Some((top, seen().count() - 1))
}

/// One report: what `--output json` prints as one line (and `--replay`
/// reads back: the table is made from these fields alone).
#[derive(Debug, Serialize, Deserialize)]
pub struct Report {
    #[serde(flatten)]
    pub meta: ReportMeta,
    /// [`VIEW_SYSCALLS`] or [`VIEW_CGROUP_SYSCALLS`].
    pub view: String,
    /// Reports come every `-i` seconds: the table starts with `[HH:MM:SS]`.
    pub periodic: bool,
    pub rows: Vec<JsonRow>,
    pub total: Totals,
}

fn sort_rows(rows: &mut [Row], key: SortKey) {
    match key {
        SortKey::Count => rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key))),
        SortKey::Time => rows.sort_by(|a, b| b.total_ns.cmp(&a.total_ns).then(a.key.cmp(&b.key))),
        SortKey::Errors => rows.sort_by(|a, b| b.errors.cmp(&a.errors).then(b.count.cmp(&a.count))),
        SortKey::Name => rows.sort_by_key(|r| r.call().map(|c| c.label())),
    }
}

/// Value a cgroup is ranked by for `-T` in every-cgroup mode.
fn weight(rows: &[Row], key: SortKey) -> u64 {
    rows.iter()
        .map(|r| match key {
            SortKey::Time => r.total_ns,
            SortKey::Errors => r.errors,
            SortKey::Count | SortKey::Name => r.count,
        })
        .sum()
}

/// The totals of every row (also those cut by `top`).
fn totals(rows: &[Row]) -> Totals {
    let mut total = Totals::default();
    for r in rows {
        total.count += r.count;
        total.errors += r.errors;
        total.denied += r.denied;
        total.elapsed_ns += r.total_ns;
        total.max_ns = total.max_ns.max(r.max_ns);
    }
    total
}

/// The rows in display order, the first `top` kept: by syscall for one
/// target; host-wide, cgroups ranked by `sort`, each cgroup's syscalls
/// together.
fn ordered(data: Vec<Row>, per_cgroup: bool, sort: SortKey, top: Option<usize>) -> Vec<Row> {
    if !per_cgroup {
        let mut rows = data;
        sort_rows(&mut rows, sort);
        rows.truncate(top.unwrap_or(usize::MAX));
        return rows;
    }
    let mut groups: HashMap<u64, Vec<Row>> = HashMap::new();
    for r in data {
        groups.entry(r.cgroup_id.unwrap_or(0)).or_default().push(r);
    }
    let mut groups: Vec<(u64, Vec<Row>)> = groups.into_iter().collect();
    groups.sort_by(|a, b| {
        weight(&b.1, sort)
            .cmp(&weight(&a.1, sort))
            .then(a.0.cmp(&b.0))
    });
    groups.truncate(top.unwrap_or(usize::MAX));
    let mut ordered = Vec::new();
    for (_, mut rows) in groups {
        sort_rows(&mut rows, sort);
        ordered.extend(rows);
    }
    ordered
}

impl JsonRow {
    /// One row as JSON shows it, names resolved now.
    fn of(r: Row, names: &mut dyn Resolver) -> Self {
        let top = most_common(&r.errnos);
        // constat's mode keys rows by syscall.
        let call = r.call().unwrap_or_default();
        JsonRow {
            cgroup: r.cgroup_id.map(|id| names.cgroup_path(id)),
            cgroup_id: r.cgroup_id,
            container: r.cgroup_id.map(|id| names.container(id)),
            syscall: call.name().into_owned(),
            nr: call.nr,
            compat: call.compat,
            count: r.count,
            errors: r.errors,
            denied: r.denied,
            errno: top.map(|(e, _)| kernel::errno::name(e)),
            errnos: r
                .errnos
                .iter()
                .map(|(&e, &n)| (kernel::errno::name(e), n))
                .collect(),
            elapsed_ns: r.total_ns,
            avg_ns: r.total_ns.checked_div(r.count - r.denied).unwrap_or(0),
            max_ns: r.max_ns,
        }
    }
}

impl Report {
    pub fn build(
        sample: Sample<Vec<Row>>,
        target: &Target,
        opts: &Options,
        names: &mut dyn Resolver,
        last: bool,
    ) -> Self {
        let Sample { data, health } = sample;
        let total = totals(&data);
        let per_cgroup = target.is_host();
        let rows = ordered(data, per_cgroup, opts.sort, opts.top)
            .into_iter()
            .map(|r| JsonRow::of(r, names))
            .collect();
        Self {
            meta: ReportMeta::new(&health, last, target),
            view: if per_cgroup {
                VIEW_CGROUP_SYSCALLS
            } else {
                VIEW_SYSCALLS
            }
            .to_string(),
            periodic: opts.with_clock,
            rows,
            total,
        }
    }
}

/// The ERRNO cell of a tally: the most common errno, `+N` when N others
/// occurred (`None`: no failure).
pub fn errno_cell(errnos: &BTreeMap<i32, u64>) -> Option<String> {
    most_common(errnos).map(|(e, others)| cell(kernel::errno::name(e), others))
}

fn cell(top: String, others: usize) -> String {
    if others == 0 {
        top
    } else {
        format!("{top}+{others}")
    }
}

impl JsonRow {
    /// The ERRNO column (from the JSON fields alone, so a replay shows it).
    pub fn errno_cell(&self) -> String {
        match &self.errno {
            None => String::new(),
            Some(e) => {
                // Restart codes (ERESTART...) are named, not failures seen.
                let seen = self.errnos.keys().filter(|k| !k.starts_with("ERESTART"));
                cell(e.clone(), seen.count().saturating_sub(1))
            }
        }
    }

    /// The syscall as the table names it (`getppid (i386)`).
    pub fn label(&self) -> String {
        kernel::syscalls::Call {
            nr: self.nr,
            compat: self.compat,
        }
        .label()
    }

    /// How the table names the row's cgroup (every-cgroup mode): the
    /// container's label, else the path.
    pub fn shown_as(&self) -> Option<String> {
        let path = self.cgroup.as_deref()?;
        Some(identity::resolver::shown_as(
            self.container.as_ref().and_then(Option::as_ref),
            path,
        ))
    }
}

impl Render for Report {
    fn health(&self) -> Health {
        self.meta.health()
    }

    /// The human table, with an `[HH:MM:SS]` header in interval mode.
    fn render(&self) -> String {
        let per_cgroup = self.view == VIEW_CGROUP_SYSCALLS;
        let mut headers = Vec::new();
        if per_cgroup {
            headers.push(("CGROUP", Align::Left));
        }
        headers.extend([
            ("SYSCALL", Align::Left),
            ("COUNT", Align::Right),
            ("(%)", Align::Right),
            ("ERRORS", Align::Right),
            ("DENIED", Align::Right),
            ("ERRNO", Align::Left),
            ("ELAPSED(ms)", Align::Right),
            ("(%)", Align::Right),
            ("AVG(us)", Align::Right),
            ("MAX(us)", Align::Right),
        ]);
        let mut table = output::table(&headers);
        for r in &self.rows {
            let mut cells = Vec::new();
            if let Some(cg) = r.shown_as() {
                cells.push(kernel::escape::for_terminal(cg.as_bytes()));
            }
            cells.extend([
                r.label(),
                r.count.to_string(),
                pct(r.count, self.total.count),
                r.errors.to_string(),
                r.denied.to_string(),
                r.errno_cell(),
                ms(r.elapsed_ns),
                pct(r.elapsed_ns, self.total.elapsed_ns),
                us(r.avg_ns),
                us(r.max_ns),
            ]);
            table.add_row(cells);
        }
        let mut all = Vec::new();
        if per_cgroup {
            all.push(String::new());
        }
        let t = &self.total;
        all.extend([
            "ALL".to_string(),
            t.count.to_string(),
            "---".into(),
            t.errors.to_string(),
            t.denied.to_string(),
            String::new(),
            ms(t.elapsed_ns),
            "---".into(),
            us(t.elapsed_ns.checked_div(t.count - t.denied).unwrap_or(0)),
            us(t.max_ns),
        ]);
        table.add_row(all);
        self.meta.framed(self.periodic, &table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_common_errno_wins_and_others_are_counted() {
        let mut errnos = BTreeMap::new();
        assert_eq!(most_common(&errnos), None);
        errnos.insert(2, 123); // ENOENT
        errnos.insert(13, 1); // EACCES, the most recent in the issue
        assert_eq!(most_common(&errnos), Some((2, 1)));
        errnos.insert(1, 123); // a tie: the lower number
        assert_eq!(most_common(&errnos), Some((1, 2)));
    }
}
