//! Host-wide, the first question is "which containers?": one row per cgroup
//! (calls, errors, calls denied by seccomp, time, busiest syscall), built
//! from the per-(cgroup, syscall) counters of one sample.
//!
//! [`Summary`] is the model (the CLI table and NDJSON here; a full-screen
//! view or an exporter can take the same value); [`SummaryReport`] is the
//! CLI's report around it. Names come from a [`Resolver`] while the summary
//! is built, never while it is printed.

use std::collections::HashMap;

use cli::output::{self, Align, ReportMeta};
use cli::sink::Render;
use identity::container::ContainerInfo;
use identity::resolver::Resolver;
use identity::target::Target;
use kernel::collector::{Health, Sample};
use kernel::syscalls::Call;
use serde::{Deserialize, Serialize};

use crate::cells::{ms, pct};
use crate::collect::Row;
use crate::report::SortKey;

/// The syscall that stands out in a cgroup, under the summary's sort key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Busiest {
    pub syscall: String,
    pub nr: u32,
    /// A 32-bit call (`syscall` and `nr` are the 32-bit ABI's).
    #[serde(default)]
    pub compat: bool,
    pub count: u64,
    pub errors: u64,
    pub elapsed_ns: u64,
}

impl Busiest {
    /// The syscall as tables name it (`getppid (i386)`).
    pub fn label(&self) -> String {
        Call {
            nr: self.nr,
            compat: self.compat,
        }
        .label()
    }
}

/// One cgroup's row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupSummary {
    /// Path relative to the cgroup2 mount (from the resolver).
    pub cgroup: String,
    pub cgroup_id: u64,
    /// The cgroup's container or pod (null: none).
    pub container: Option<ContainerInfo>,
    /// Calls, all syscalls together.
    pub count: u64,
    pub errors: u64,
    pub denied: u64,
    /// Summed entry-to-exit time.
    pub elapsed_ns: u64,
    /// Distinct syscalls made.
    pub syscalls: usize,
    pub busiest: Option<Busiest>,
}

/// The totals over every cgroup (also those cut by `top`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryTotals {
    pub count: u64,
    pub errors: u64,
    pub denied: u64,
    pub elapsed_ns: u64,
    /// cgroups that made at least one call.
    pub cgroups: usize,
}

/// One row per cgroup, ordered by a [`SortKey`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub cgroups: Vec<CgroupSummary>,
    pub total: SummaryTotals,
}

/// The value a row (or its busiest syscall) is ranked by.
fn weight(key: SortKey, count: u64, errors: u64, elapsed_ns: u64) -> u64 {
    match key {
        SortKey::Time => elapsed_ns,
        SortKey::Errors => errors,
        SortKey::Count | SortKey::Name => count,
    }
}

impl Summary {
    /// Folds per-(cgroup, syscall) counts into one row per cgroup, sorted
    /// by `sort` (the busiest syscall too), the first `top` kept.
    pub fn build(
        rows: &[Row],
        sort: SortKey,
        top: Option<usize>,
        names: &mut dyn Resolver,
    ) -> Self {
        let mut by_cgroup: HashMap<u64, Vec<&Row>> = HashMap::new();
        for r in rows.iter().filter(|r| r.count > 0) {
            by_cgroup
                .entry(r.cgroup_id.unwrap_or(0))
                .or_default()
                .push(r);
        }
        let mut total = SummaryTotals {
            cgroups: by_cgroup.len(),
            ..SummaryTotals::default()
        };
        let mut rows: Vec<(u64, Vec<&Row>)> = by_cgroup.into_iter().collect();
        let sum = |v: &[&Row], f: fn(&Row) -> u64| v.iter().map(|r| f(r)).sum::<u64>();
        for (_, v) in &rows {
            total.count += sum(v, |c| c.count);
            total.errors += sum(v, |c| c.errors);
            total.denied += sum(v, |c| c.denied);
            total.elapsed_ns += sum(v, |c| c.total_ns);
        }
        let rank = |v: &[&Row]| {
            weight(
                sort,
                sum(v, |c| c.count),
                sum(v, |c| c.errors),
                sum(v, |c| c.total_ns),
            )
        };
        if sort != SortKey::Name {
            rows.sort_by(|a, b| rank(&b.1).cmp(&rank(&a.1)).then(a.0.cmp(&b.0)));
            rows.truncate(top.unwrap_or(usize::MAX));
        }
        let mut cgroups: Vec<CgroupSummary> = rows
            .into_iter()
            .map(|(id, v)| {
                let busiest = v
                    .iter()
                    .max_by(|a, b| {
                        weight(sort, a.count, a.errors, a.total_ns)
                            .cmp(&weight(sort, b.count, b.errors, b.total_ns))
                            .then(b.key.cmp(&a.key))
                    })
                    .map(|c| {
                        // constat's mode keys rows by syscall.
                        let call = c.call().unwrap_or_default();
                        Busiest {
                            syscall: call.name().into_owned(),
                            nr: call.nr,
                            compat: call.compat,
                            count: c.count,
                            errors: c.errors,
                            elapsed_ns: c.total_ns,
                        }
                    });
                CgroupSummary {
                    cgroup: names.cgroup_path(id),
                    cgroup_id: id,
                    container: names.container(id),
                    count: sum(&v, |c| c.count),
                    errors: sum(&v, |c| c.errors),
                    denied: sum(&v, |c| c.denied),
                    elapsed_ns: sum(&v, |c| c.total_ns),
                    syscalls: v.len(),
                    busiest,
                }
            })
            .collect();
        if sort == SortKey::Name {
            cgroups.sort_by(|a, b| a.cgroup.cmp(&b.cgroup).then(a.cgroup_id.cmp(&b.cgroup_id)));
            cgroups.truncate(top.unwrap_or(usize::MAX));
        }
        Self { cgroups, total }
    }
}

impl CgroupSummary {
    /// How tables name the cgroup: the container's label, else the path.
    pub fn shown_as(&self) -> String {
        identity::resolver::shown_as(self.container.as_ref(), &self.cgroup)
    }
}

/// The host-wide report: what `--output json` prints as one line (and
/// `--replay` reads back: the table is made from these fields alone).
#[derive(Debug, Serialize, Deserialize)]
pub struct SummaryReport {
    #[serde(flatten)]
    pub meta: ReportMeta,
    /// `"cgroups"`: one row per cgroup (`--by-syscall` prints `rows` instead).
    pub view: String,
    /// The order of the rows, and what "busiest" means.
    pub sort: SortKey,
    /// Reports come every `-i` seconds: the table starts with `[HH:MM:SS]`.
    pub periodic: bool,
    #[serde(flatten)]
    pub summary: Summary,
}

impl SummaryReport {
    pub fn build(
        sample: Sample<Vec<Row>>,
        target: &Target,
        sort: SortKey,
        top: Option<usize>,
        with_clock: bool,
        names: &mut dyn Resolver,
        last: bool,
    ) -> Self {
        let Sample { data, health } = sample;
        let summary = Summary::build(&data, sort, top, names);
        Self {
            meta: ReportMeta::new(&health, last, target),
            view: crate::report::VIEW_CGROUPS.to_string(),
            sort,
            periodic: with_clock,
            summary,
        }
    }
}

impl Render for SummaryReport {
    fn health(&self) -> Health {
        self.meta.health()
    }

    fn render(&self) -> String {
        let mut table = output::table(&[
            ("CGROUP", Align::Left),
            ("CALLS", Align::Right),
            ("ERRORS", Align::Right),
            ("DENIED", Align::Right),
            ("TIME(ms)", Align::Right),
            ("(%)", Align::Right),
            ("SYSCALLS", Align::Right),
            (
                match self.sort {
                    SortKey::Time => "SLOWEST",
                    SortKey::Errors => "MOST FAILED",
                    SortKey::Count | SortKey::Name => "BUSIEST",
                },
                Align::Left,
            ),
        ]);
        let total = &self.summary.total;
        for c in &self.summary.cgroups {
            let busiest = c
                .busiest
                .as_ref()
                .map(|b| {
                    let share = match self.sort {
                        SortKey::Time => pct(b.elapsed_ns, c.elapsed_ns),
                        SortKey::Errors => pct(b.errors, c.errors),
                        SortKey::Count | SortKey::Name => pct(b.count, c.count),
                    };
                    format!("{} {share}", b.label())
                })
                .unwrap_or_default();
            table.add_row(vec![
                kernel::escape::for_terminal(c.shown_as().as_bytes()),
                c.count.to_string(),
                c.errors.to_string(),
                c.denied.to_string(),
                ms(c.elapsed_ns),
                pct(c.elapsed_ns, total.elapsed_ns),
                c.syscalls.to_string(),
                busiest,
            ]);
        }
        table.add_row(vec![
            format!(
                "ALL ({} cgroup{})",
                total.cgroups,
                if total.cgroups == 1 { "" } else { "s" }
            ),
            total.count.to_string(),
            total.errors.to_string(),
            total.denied.to_string(),
            ms(total.elapsed_ns),
            "---".into(),
            String::new(),
            String::new(),
        ]);
        self.meta.framed(self.periodic, &table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Names;
    impl Resolver for Names {
        fn cgroup(&mut self, id: u64) -> identity::resolver::CgroupName {
            identity::resolver::CgroupName::Path(format!("/cg{id}"))
        }
    }

    fn c(cgroup_id: u64, nr: u32, count: u64, errors: u64, total_ns: u64) -> Row {
        Row {
            cgroup_id: Some(cgroup_id),
            key: engine::Key::Syscall(Call::native(nr)),
            count,
            errors,
            total_ns,
            ..Row::default()
        }
    }

    #[test]
    fn one_row_per_cgroup_with_its_busiest_syscall() {
        let counts = vec![
            c(1, 0, 10, 0, 500),
            c(1, 1, 30, 2, 100),
            c(2, 0, 5, 5, 9000),
            c(3, 39, 0, 0, 0),
        ];
        let s = Summary::build(&counts, SortKey::Count, None, &mut Names);
        assert_eq!(s.cgroups.len(), 2, "empty rows are no cgroup");
        assert_eq!(s.total.cgroups, 2);
        assert_eq!((s.total.count, s.total.errors), (45, 7));
        let first = &s.cgroups[0];
        assert_eq!((first.cgroup.as_str(), first.count), ("/cg1", 40));
        assert_eq!(
            (first.errors, first.elapsed_ns, first.syscalls),
            (2, 600, 2)
        );
        assert_eq!(first.busiest.as_ref().unwrap().syscall, "write");

        let s = Summary::build(&counts, SortKey::Time, Some(1), &mut Names);
        assert_eq!(s.cgroups.len(), 1);
        assert_eq!(s.cgroups[0].cgroup_id, 2);
        assert_eq!(s.total.count, 45, "totals cover the rows cut by top");

        let s = Summary::build(&counts, SortKey::Time, None, &mut Names);
        assert_eq!(s.cgroups[1].busiest.as_ref().unwrap().syscall, "read");
    }
}
