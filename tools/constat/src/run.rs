//! constat's run, behind its command line: a trace (one target's syscalls,
//! or one row per cgroup of the host; syscount's views for -P, --errno and
//! --histogram), the full-screen view, or the replay of a saved run.

use std::ffi::OsStr;
use std::process::ExitCode;

use anyhow::Result;
use cli::args::MapArgs;
use cli::args::{IntervalArgs, RunArgs, TargetArgs};
use cli::driver::{Driver, Plan};
use cli::output::{self, Format};
use cli::replay::{Recorder, Recording, Replay, ReplayArgs};
use cli::sink::{Printer, Sink};
use engine::Mode;
use kernel::exit::usage;

use crate::live;
use crate::replay::Recorded;
use crate::{Collector, Options as ReportOptions, Report, Row, SortKey, SummaryReport};

/// What the command line asks for.
#[derive(Debug)]
pub struct Options {
    pub target: TargetArgs,
    pub pid: Option<u32>,
    /// `--sort`, or `-t` (time).
    pub sort: SortKey,
    pub top: Option<usize>,
    pub by_syscall: bool,
    pub syscall: Option<String>,
    pub by_process: bool,
    pub errno: bool,
    pub histogram: bool,
    pub interval: IntervalArgs,
    pub run: RunArgs,
    pub maps: MapArgs,
    pub output: Format,
    pub live: bool,
    pub replay: ReplayArgs,
    pub seccomp: crate::seccomp::SeccompArgs,
}

/// What a report shows, from the flags.
#[derive(Clone, Copy, Debug)]
pub enum View {
    /// Host-wide: one row per cgroup.
    Cgroups,
    /// One row per syscall (and cgroup, host-wide with --by-syscall).
    Syscalls,
    /// -P, --errno, --histogram: syscount's report over the engine.
    Syscount(Mode),
}

/// The view the flags ask for.
pub fn view(opts: &Options) -> View {
    if opts.by_process || opts.errno || opts.histogram {
        return View::Syscount(Mode {
            by_process: opts.by_process,
            by_errno: opts.errno,
            histogram: opts.histogram,
            latency: opts.sort == SortKey::Time,
            timed: opts.histogram || opts.sort == SortKey::Time,
            ..Mode::default()
        });
    }
    let host_wide = opts.target.target.is_none() && opts.pid.is_none();
    if host_wide && !opts.by_syscall {
        View::Cgroups
    } else {
        View::Syscalls
    }
}

/// Replays, runs the full-screen view, or traces until the run ends.
pub fn run(opts: Options) -> Result<ExitCode> {
    if let Some(code) = crate::seccomp::merge(&opts.seccomp)? {
        return Ok(code);
    }
    if let Some(file) = &opts.replay.replay {
        return replay(&opts, file);
    }
    if opts.live {
        return live::run_live(&opts);
    }
    let syscalls = syscall_filter(opts.syscall.as_deref())?;
    let view = view(&opts);
    if matches!(view, View::Syscount(_)) && opts.by_syscall {
        return Err(usage(
            "--by-syscall shapes constat's own table; -P, --errno and --histogram \
             have their own rows: drop one",
        ));
    }
    let mut driver = Driver::start(&Plan {
        tool: "constat",
        target: &opts.target,
        pid: opts.pid,
        pid_flag: true,
        needs: kernel::features::Needs::default(),
        verbose: opts.run.verbose,
        interval: opts.interval.every(),
        duration: opts.run.duration,
    })?;
    let seccomp = crate::seccomp::Session::start(&opts.seccomp, &driver.target)?;
    let mut sink = Recording {
        inner: Printer::new(opts.output),
        recorder: Recorder::open(opts.replay.record.as_deref())?,
    };
    match view {
        View::Syscount(mode) => trace_syscount(&opts, &mut driver, &mut sink, mode, syscalls),
        View::Cgroups | View::Syscalls => {
            trace_constat(&opts, &mut driver, &mut sink, view, syscalls, seccomp)
        }
    }
}

/// Where a trace's reports go: the table or NDJSON, and `--record`.
type Out = Recording<Printer>;

/// "Tracing ..." then the prompt, on stderr.
fn announce(driver: &Driver) {
    let whom = match (driver.target.describe_cgroup(), driver.target.pid) {
        (Some(cg), Some(pid)) => format!("pid {pid} in {cg}"),
        (Some(cg), None) => cg,
        (None, Some(pid)) => format!("pid {pid}"),
        (None, None) => format!("every cgroup under {}", driver.hierarchy.root.display()),
    };
    output::status(&format!("Tracing {whom}"));
    output::status("Collecting events... Ctrl-C to stop and show stat");
}

/// The calls `--syscall` keeps (every call without it).
fn wanted(syscalls: Option<&[u32]>, row: &Row) -> bool {
    syscalls.is_none_or(|nrs| {
        row.call()
            .and_then(|c| c.native_nr())
            .is_some_and(|n| nrs.contains(&n))
    })
}

/// constat's own mode of the engine: the per-syscall table, or host-wide
/// the one-row-per-cgroup summary.
fn trace_constat(
    opts: &Options,
    driver: &mut Driver,
    sink: &mut Out,
    view: View,
    syscalls: Option<Vec<u32>>,
    mut seccomp: Option<crate::seccomp::Session>,
) -> Result<ExitCode> {
    driver.name_at_birth();
    let mut object = std::mem::MaybeUninit::uninit();
    let mut collector = Collector::start(&mut object, &driver.target, opts.maps.sizing())?;
    sink.inner.maps = collector.map_size();
    announce(driver);
    let with_clock = opts.interval.every().is_some();
    let report_options = ReportOptions {
        sort: opts.sort,
        top: opts.top,
        with_clock,
    };
    driver.aggregate(&mut collector, sink, |d| {
        let mut sample = d.sample;
        if let Some(seccomp) = seccomp.as_mut() {
            seccomp.observe(&sample.data);
        }
        sample.data.retain(|r| wanted(syscalls.as_deref(), r));
        Ok(if matches!(view, View::Cgroups) {
            Recorded::Cgroups(SummaryReport::build(
                sample, d.target, opts.sort, opts.top, with_clock, d.names, d.last,
            ))
        } else {
            Recorded::Syscalls(Report::build(
                sample,
                d.target,
                &report_options,
                d.names,
                d.last,
            ))
        })
    })?;
    match seccomp {
        Some(s) => s.finish(&mut driver.names, &driver.target, opts.output),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// -P, --errno, --histogram: syscount's report over the engine, with
/// constat's target, --syscall and -T.
fn trace_syscount(
    opts: &Options,
    driver: &mut Driver,
    sink: &mut Out,
    mode: Mode,
    syscalls: Option<Vec<u32>>,
) -> Result<ExitCode> {
    let filters = engine::Filters {
        syscalls: syscalls.as_deref(),
        ..engine::Filters::all(&driver.target)
    };
    let mut object = std::mem::MaybeUninit::uninit();
    let mut collector = engine::Collector::start(&mut object, &filters, mode, opts.maps.sizing())?;
    sink.inner.maps = collector.map_size();
    if let Some(cg) = driver.target.describe_cgroup() {
        output::status(&format!("Tracing {cg}"));
    }
    output::status("Collecting events... Ctrl-C to stop and show stat");
    let top = opts.top.unwrap_or(usize::MAX);
    driver.aggregate(&mut collector, sink, |d| {
        Ok(syscount::Report::build(
            d.sample, mode, d.target, d.names, top, d.last,
        ))
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Options that shape what is traced, which a replay cannot change: the
/// names of those given.
fn tracing_options(opts: &Options) -> Vec<&'static str> {
    [
        (opts.target.target.is_some(), "-c"),
        (opts.pid.is_some(), "-p"),
        (opts.by_syscall, "--by-syscall"),
        (opts.syscall.is_some(), "--syscall"),
        (opts.by_process, "-P"),
        (opts.errno, "--errno"),
        (opts.histogram, "--histogram"),
        (opts.top.is_some(), "-T"),
        (opts.interval.given().is_some(), "-i"),
        (opts.run.duration.is_some(), "-d"),
        (opts.maps.max_entries.is_some(), "--max-entries"),
    ]
    .into_iter()
    .filter_map(|(given, name)| given.then_some(name))
    .collect()
}

/// `--replay FILE`: each saved report's table again (or with `--live`,
/// the full-screen view stepping through them). Stops at the first line
/// that is no constat report, after showing those before it.
fn replay(opts: &Options, file: &OsStr) -> Result<ExitCode> {
    if let Some(flag) = tracing_options(opts).first() {
        return Err(usage(format!(
            "--replay shows the run as it was recorded; {flag} shapes a new trace: drop it"
        )));
    }
    if let Some(code) = crate::seccomp::replayed(&opts.seccomp, file, opts.output)? {
        return Ok(code);
    }
    let mut replay = Replay::open("constat", file)?;
    if opts.live {
        return live::replay_live(opts, &mut replay);
    }
    let mut sink = Printer::new(opts.output);
    while let Some(report) = crate::replay::next(&mut replay)? {
        sink.emit(&report)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `--syscall LIST` as numbers.
pub fn syscall_filter(list: Option<&str>) -> Result<Option<Vec<u32>>> {
    list.map(|list| match kernel::syscalls::parse_list(list) {
        Ok(nrs) if nrs.is_empty() => Err(usage(
            "--syscall needs at least one name or number, e.g. --syscall read,write",
        )),
        Ok(nrs) => Ok(nrs),
        Err(e) => Err(usage(e)),
    })
    .transpose()
}
