//! `constat --live`: the full-screen view of every cgroup, fed by constat's
//! collector host-wide (drained exactly every interval), or stepping
//! through a replayed run.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use cli::output::Format;
use cli::replay::{Recorder, Replay};
use cli::runloop::RunLoop;
use identity::resolver::Resolver;
use identity::target::Target;
use kernel::collector::{Aggregator, Sample};
use kernel::exit::usage;

use super::model::Model;
use super::{interval_from_report, interval_from_rows, interval_from_summary, Stepping, Ticking};
use crate::replay::Recorded;
use crate::run::{syscall_filter, Options};
use crate::{Collector, Options as ReportOptions, Report, Row};

/// Default refresh of `--live`.
const LIVE_INTERVAL: Duration = Duration::from_secs(1);

/// Flags that shape printed reports, which the full-screen view refuses.
fn refused_flag(opts: &Options) -> Option<&'static str> {
    [
        (opts.output == Format::Json, "-o json"),
        (opts.pid.is_some(), "-p"),
        (opts.by_process, "-P"),
        (opts.errno, "--errno"),
        (opts.histogram, "--histogram"),
        (opts.by_syscall, "--by-syscall"),
        (opts.top.is_some(), "-T"),
    ]
    .into_iter()
    .find_map(|(on, flag)| on.then_some(flag))
}

/// The refresh period: `-i`, 1 s by default; `-i 0` is refused.
fn refresh(opts: &Options) -> Result<Duration> {
    match opts.interval.given() {
        None => Ok(LIVE_INTERVAL),
        Some(i) if i.is_zero() => Err(usage(
            "--live refreshes every -i seconds: give a positive -i (default 1)",
        )),
        Some(i) => Ok(i),
    }
}

/// Rows of cgroups below the target (`-c` without `--exact`) counted as
/// the target's, as every other `-c` counts them: the target's drill-down
/// shows its whole subtree.
fn fold_into_target(rows: Vec<Row>, target: &Target, names: &mut dyn Resolver) -> Vec<Row> {
    let Some(cg) = target.cgroup.as_ref().filter(|_| !target.exact) else {
        return rows;
    };
    let below = format!("{}/", cg.rel.trim_end_matches('/'));
    let mut folded: Vec<Row> = Vec::with_capacity(rows.len());
    for mut row in rows {
        let inside = row
            .cgroup_id
            .is_some_and(|id| id != cg.id && names.cgroup_path(id).starts_with(&below));
        if inside {
            row.cgroup_id = Some(cg.id);
        }
        // Only the target's rows can meet a row of the same key.
        let same = (row.cgroup_id == Some(cg.id))
            .then(|| {
                folded
                    .iter_mut()
                    .find(|r| r.cgroup_id == row.cgroup_id && r.key == row.key)
            })
            .flatten();
        match same {
            Some(same) => same.add(&row),
            None => folded.push(row),
        }
    }
    folded
}

/// `--live`: every cgroup of the host, opened on `-c`'s target if given.
pub fn run_live(opts: &Options) -> Result<ExitCode> {
    if let Some(flag) = refused_flag(opts) {
        return Err(usage(format!(
            "--live shows every cgroup and drills into one; {flag} shapes the printed \
             reports: drop one"
        )));
    }
    let interval = refresh(opts)?;
    cli::terminal::require_terminal("--live", "use -i N for a table every N seconds, or -o json")?;
    let syscalls = syscall_filter(opts.syscall.as_deref())?;
    let cli::Startup {
        target,
        identities: mut names,
        ..
    } = cli::Startup::new(
        "constat",
        &opts.target,
        None,
        true,
        kernel::features::Needs::default(),
        opts.run.verbose,
    )?;
    let mut recorder = Recorder::open(opts.replay.record.as_deref())?;
    cli::driver::name_at_birth(&mut names);
    let host = Target::host();
    let mut object = std::mem::MaybeUninit::uninit();
    let mut collector = Collector::start(&mut object, &host, opts.maps.sizing())?;
    let mut model = Model::new(opts.sort);
    model.title = "every cgroup of the host".into();
    if let Some(cg) = &target.cgroup {
        let name = identity::resolver::shown_as(target.container.as_ref(), &cg.rel);
        model.open_on(cg.id, &name, &cg.rel);
        model.waiting_for = Some(name);
    }
    let mut run_loop = RunLoop::new(None, opts.run.duration);
    cli::signals::stop_on_signals(run_loop.handle())?;
    let report_options = ReportOptions {
        sort: opts.sort,
        top: None,
        with_clock: true,
    };
    let drain = |model: &mut Model| -> Result<()> {
        let Sample { mut data, health } = collector.drain()?;
        if let Some(nrs) = &syscalls {
            data.retain(|r| {
                r.call()
                    .and_then(|c| c.native_nr())
                    .is_some_and(|n| nrs.contains(&n))
            });
        }
        if let Some(rec) = &mut recorder {
            let sample = Sample {
                data: data.clone(),
                health,
            };
            rec.record(&Report::build(
                sample,
                &host,
                &report_options,
                &mut names,
                false,
            ))?;
        }
        let data = fold_into_target(data, &target, &mut names);
        model.push(interval_from_rows(
            &data,
            health.covered,
            health.dropped,
            &mut names,
        ));
        Ok(())
    };
    let mut feed = Ticking::new(interval, drain);
    super::run(&mut model, &mut run_loop, &mut feed)?;
    Ok(ExitCode::SUCCESS)
}

/// `--replay FILE --live`: the full-screen view stepping through the
/// saved reports.
pub fn replay_live(opts: &Options, replay: &mut Replay) -> Result<ExitCode> {
    if opts.output == Format::Json {
        return Err(usage("--live draws a full-screen view; drop -o json"));
    }
    cli::terminal::require_terminal("--live", "drop --live to print the tables")?;
    let mut intervals = Vec::new();
    while let Some(report) = crate::replay::next(replay)? {
        intervals.push(match &report {
            Recorded::Cgroups(r) => interval_from_summary(r),
            Recorded::Syscalls(r) => interval_from_report(r),
        });
    }
    if intervals.is_empty() {
        return Err(usage(format!(
            "{}: no constat report in it",
            replay.shown()
        )));
    }
    let mut model = Model::new(opts.sort);
    model.title = format!("replay of {}", replay.shown());
    let mut feed = Stepping { intervals, at: 0 };
    feed.show(&mut model, 0);
    let mut run_loop = RunLoop::new(None, None);
    cli::signals::stop_on_signals(run_loop.handle())?;
    super::run(&mut model, &mut run_loop, &mut feed)?;
    Ok(ExitCode::SUCCESS)
}
