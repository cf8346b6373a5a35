//! `constat --live`: a full-screen, top-like view of every cgroup of the
//! host, refreshed every interval, with a drill-down into one cgroup's
//! syscalls; and the same view stepping through a replayed file.
//!
//! - [`model`]: the state (rows, totals, selection, sort, filter, latency
//!   history) and the keys, testable without a terminal;
//! - [`view`]: drawing the model with ratatui;
//! - this module: turning collector samples and recorded reports into
//!   [`model::Interval`]s, and the loop that waits for keys, refreshes and
//!   draws on the terminal of `cli::terminal`.

pub mod model;
mod run;
pub mod view;

pub use run::{replay_live, run_live};

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use cli::runloop::{RunLoop, Stop, Wake};
use cli::terminal::{self, FullScreen};
use identity::resolver::Resolver;

use crate::collect::Row;
use crate::report::{Report, SortKey, VIEW_CGROUP_SYSCALLS};
use crate::summary::{Busiest, CgroupSummary, Summary, SummaryReport};
use model::{Action, CgroupCounts, Interval, Model, SyscallCounts};

/// Longest wait for a key before looking for a stop (signal, `-d`).
const INPUT_POLL: Duration = Duration::from_millis(100);

/// One drained sample of the host-wide collector as an interval: cgroup
/// rows through [`Summary`] (names resolved now), syscalls from the rows.
pub fn interval_from_rows(
    rows: &[Row],
    covered: Duration,
    dropped: u64,
    names: &mut dyn Resolver,
) -> Interval {
    let summary = Summary::build(rows, SortKey::Count, None, names);
    let mut by_cgroup: HashMap<u64, Vec<SyscallCounts>> = HashMap::new();
    for r in rows.iter().filter(|r| r.count > 0) {
        by_cgroup
            .entry(r.cgroup_id.unwrap_or(0))
            .or_default()
            .push(SyscallCounts {
                name: r.call().map(|c| c.label()).unwrap_or_default(),
                count: r.count,
                errors: r.errors,
                denied: r.denied,
                errno: crate::report::errno_cell(&r.errnos),
                elapsed_ns: r.total_ns,
                max_ns: r.max_ns,
            });
    }
    let cgroups = summary
        .cgroups
        .iter()
        .map(|c| cgroup_counts(c, Some(by_cgroup.remove(&c.cgroup_id).unwrap_or_default())))
        .collect();
    Interval {
        covered,
        cgroups,
        dropped,
    }
}

/// The view's row of one summary row (`syscalls`: its breakdown, if known).
fn cgroup_counts(c: &CgroupSummary, syscalls: Option<Vec<SyscallCounts>>) -> CgroupCounts {
    CgroupCounts {
        id: c.cgroup_id,
        name: c.shown_as(),
        path: c.cgroup.clone(),
        calls: c.count,
        errors: c.errors,
        denied: c.denied,
        elapsed_ns: c.elapsed_ns,
        busiest: c.busiest.as_ref().map(Busiest::label),
        syscalls,
    }
}

/// A recorded one-row-per-cgroup report: cgroup totals, no syscalls.
pub fn interval_from_summary(report: &SummaryReport) -> Interval {
    let cgroups = report
        .summary
        .cgroups
        .iter()
        .map(|c| cgroup_counts(c, None))
        .collect();
    Interval {
        covered: Duration::from_secs_f64(report.meta.interval_s.max(0.0)),
        cgroups,
        dropped: report.meta.dropped,
    }
}

/// A recorded per-syscall report: host-wide `--by-syscall` rows grouped
/// by cgroup, or one target's syscalls as one row.
pub fn interval_from_report(report: &Report) -> Interval {
    let mut cgroups: Vec<CgroupCounts> = Vec::new();
    let mut index: HashMap<u64, usize> = HashMap::new();
    let per_cgroup = report.view == VIEW_CGROUP_SYSCALLS;
    let target = report.meta.target.as_ref();
    for r in &report.rows {
        let (id, name, path) = if per_cgroup {
            let path = r.cgroup.clone().unwrap_or_default();
            (
                r.cgroup_id.unwrap_or(0),
                r.shown_as().unwrap_or_else(|| path.clone()),
                path,
            )
        } else {
            match target {
                Some(t) => (
                    t.id,
                    identity::resolver::shown_as(t.container.as_ref(), &t.cgroup),
                    t.cgroup.clone(),
                ),
                None => (0, "the target".to_string(), String::new()),
            }
        };
        let at = *index.entry(id).or_insert_with(|| {
            cgroups.push(CgroupCounts {
                id,
                name,
                path,
                syscalls: Some(Vec::new()),
                ..CgroupCounts::default()
            });
            cgroups.len() - 1
        });
        let c = &mut cgroups[at];
        c.calls += r.count;
        c.errors += r.errors;
        c.denied += r.denied;
        c.elapsed_ns += r.elapsed_ns;
        if let Some(list) = &mut c.syscalls {
            list.push(SyscallCounts {
                name: r.label(),
                count: r.count,
                errors: r.errors,
                denied: r.denied,
                errno: Some(r.errno_cell()).filter(|e| !e.is_empty()),
                elapsed_ns: r.elapsed_ns,
                max_ns: r.max_ns,
            });
        }
    }
    for c in &mut cgroups {
        c.busiest = c
            .syscalls
            .iter()
            .flatten()
            .max_by(|a, b| a.count.cmp(&b.count).then(b.name.cmp(&a.name)))
            .map(|s| s.name.clone());
    }
    Interval {
        covered: Duration::from_secs_f64(report.meta.interval_s.max(0.0)),
        cgroups,
        dropped: report.meta.dropped,
    }
}

/// Where the view's data comes from.
pub trait Feed {
    /// When the next refresh is due (`None`: only on keys).
    fn due(&self) -> Option<Instant>;
    /// The refresh that was due.
    fn refresh(&mut self, model: &mut Model) -> Result<()>;
    /// Replay: move `steps` reports on (back when negative).
    fn step(&mut self, _model: &mut Model, _steps: isize) -> Result<()> {
        Ok(())
    }
}

/// A live collector drained every `interval` by `drain`.
pub struct Ticking<F> {
    pub interval: Duration,
    pub next: Instant,
    pub drain: F,
}

impl<F: FnMut(&mut Model) -> Result<()>> Ticking<F> {
    pub fn new(interval: Duration, drain: F) -> Self {
        Self {
            interval,
            next: Instant::now() + interval,
            drain,
        }
    }
}

impl<F: FnMut(&mut Model) -> Result<()>> Feed for Ticking<F> {
    fn due(&self) -> Option<Instant> {
        Some(self.next)
    }

    fn refresh(&mut self, model: &mut Model) -> Result<()> {
        // Skip missed refreshes rather than draining a burst.
        let now = Instant::now();
        while self.next <= now {
            self.next += self.interval;
        }
        (self.drain)(model)
    }
}

/// Recorded intervals, one shown at a time (with everything before it in
/// the totals).
pub struct Stepping {
    pub intervals: Vec<Interval>,
    pub at: usize,
}

impl Stepping {
    /// Shows interval `at` (clamped).
    pub fn show(&mut self, model: &mut Model, at: usize) {
        self.at = at.min(self.intervals.len().saturating_sub(1));
        model.reset_data();
        for i in self.intervals.iter().take(self.at + 1) {
            model.push(i.clone());
        }
        model.position = Some((self.at, self.intervals.len()));
    }
}

impl Feed for Stepping {
    fn due(&self) -> Option<Instant> {
        None
    }

    fn refresh(&mut self, _model: &mut Model) -> Result<()> {
        Ok(())
    }

    fn step(&mut self, model: &mut Model, steps: isize) -> Result<()> {
        let at = self.at.saturating_add_signed(steps);
        self.show(model, at);
        Ok(())
    }
}

/// Runs the full-screen view until `q`, a signal or the end of `-d`
/// (through `run_loop`); the terminal is restored when it returns, however
/// it returns.
pub fn run(model: &mut Model, run_loop: &mut RunLoop, feed: &mut dyn Feed) -> Result<Stop> {
    let mut screen = FullScreen::enter()?;
    let mut view = view::View::default();
    let mut dirty = true;
    loop {
        if dirty {
            screen.terminal().draw(|f| view.draw(f, model))?;
            dirty = false;
        }
        if let Some(Wake::Finish(stop)) = run_loop.try_wake() {
            return Ok(stop);
        }
        let now = Instant::now();
        if feed.due().is_some_and(|due| due <= now) {
            feed.refresh(model)?;
            dirty = true;
            continue;
        }
        let wait = feed
            .due()
            .map_or(INPUT_POLL, |due| due.saturating_duration_since(now))
            .min(INPUT_POLL);
        let Some(input) = terminal::next_input(wait)? else {
            continue;
        };
        match model.handle(input) {
            Action::None => {}
            Action::Redraw => dirty = true,
            Action::Quit => return Ok(Stop::Requested),
            Action::Step(n) => {
                feed.step(model, n)?;
                dirty = true;
            }
        }
    }
}
