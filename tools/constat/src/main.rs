//! constat: syscall statistics of one container (or of every cgroup),
//! counted in the kernel per (cgroup, syscall) and printed on Ctrl-C, at the
//! end of `-d`, or every `-i` seconds. Host-wide it shows one row per cgroup;
//! its per-process, errno and histogram views are syscount's, shared.

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use common::args::{IntervalArgs, OutputArgs, RunArgs, TargetArgs};
use common::cli::Startup;
use common::collector::{Aggregator, Sample};
use common::complete::ArgValueCompleter;
use common::exit::usage;
use common::output;
use common::replay::{Recorder, Recording, Replay, ReplayArgs};
use common::runloop::{RunLoop, SIGNAL_STATUS};
use common::sink::{Printer, Sink};
use common::target::Target;

use constat::live::{self, model::Model};
use constat::{Collector, Options, Report, Row, SortKey, SummaryReport};

/// Syscall statistics of a container (cgroup v2): count, errors and time,
/// aggregated in the kernel.
///
/// With -c or -p, one row per syscall of that target; without, one row per
/// cgroup (container) of the host.
#[derive(Debug, Parser)]
#[command(name = "constat", version)]
struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// Only this process (all its threads).
    #[arg(short = 'p', long, value_name = "PID", value_parser = common::args::pid,
          add = ArgValueCompleter::new(common::complete::processes))]
    pid: Option<u32>,
    /// Sort by elapsed time (same as --sort time).
    #[arg(short = 't', long = "time", conflicts_with = "sort")]
    by_time: bool,
    /// Sort rows by this column.
    #[arg(long, value_enum, default_value_t = SortKey::Count)]
    sort: SortKey,
    /// Show only the top N rows: syscalls (with -c or -p), cgroups (without),
    /// processes (-P).
    #[arg(short = 'T', long = "top", value_name = "N", value_parser = common::args::positive)]
    top: Option<usize>,
    /// Without -c: one row per (cgroup, syscall) instead of one per cgroup.
    #[arg(long)]
    by_syscall: bool,
    /// Count only these syscalls (names or numbers, comma-separated).
    #[arg(long, value_name = "NAME[,NAME]",
          add = ArgValueCompleter::new(common::complete::syscall_names))]
    syscall: Option<String>,
    /// One row per process (PID, COMM, calls; with -t also time): syscount's
    /// -P view.
    #[arg(short = 'P', long = "process")]
    by_process: bool,
    /// Per syscall, failed calls counted per errno name: syscount's --errno
    /// view.
    #[arg(long, conflicts_with = "histogram")]
    errno: bool,
    /// A log2 latency histogram per syscall (per process with -P): syscount's
    /// --histogram view.
    #[arg(long)]
    histogram: bool,
    #[command(flatten)]
    interval: IntervalArgs,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    maps: common::mapsize::MapArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// Full screen, refreshed every -i seconds (default 1): one row per
    /// container or cgroup of the host; Enter shows one's syscalls. With
    /// -c it opens on that container. With --replay: step through the
    /// saved reports.
    #[arg(long)]
    live: bool,
    #[command(flatten)]
    replay: ReplayArgs,
}

impl common::docs::Documented for Args {
    const PAGE: &'static common::docs::Page = &constat::docs::PAGE;
}

fn main() -> ExitCode {
    common::cli::main("constat", run)
}

/// What a report shows, from the flags.
#[derive(Clone, Copy, Debug)]
enum View {
    /// Host-wide: one row per cgroup.
    Cgroups,
    /// One row per syscall (and cgroup, host-wide with --by-syscall).
    Syscalls,
    /// -P, --errno, --histogram: syscount's report over the engine.
    Syscount(engine::Mode),
}

fn view(args: &Args, sort: SortKey) -> View {
    if args.by_process || args.errno || args.histogram {
        return View::Syscount(engine::Mode {
            by_process: args.by_process,
            by_errno: args.errno,
            histogram: args.histogram,
            latency: sort == SortKey::Time,
            timed: args.histogram || sort == SortKey::Time,
            ..engine::Mode::default()
        });
    }
    let host_wide = args.target.target.is_none() && args.pid.is_none();
    if host_wide && !args.by_syscall {
        View::Cgroups
    } else {
        View::Syscalls
    }
}

/// Default refresh of `--live`.
const LIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

fn run(args: Args) -> Result<ExitCode> {
    let sort = if args.by_time {
        SortKey::Time
    } else {
        args.sort
    };
    if let Some(file) = &args.replay.replay {
        return replay(&args, file, sort);
    }
    if args.live {
        return run_live(&args, sort);
    }
    let syscalls = syscall_filter(&args)?;
    let view = view(&args, sort);
    if let View::Syscount(_) = view {
        if args.by_syscall {
            return Err(usage(
                "--by-syscall shapes constat's own table; -P, --errno and --histogram \
                 have their own rows: drop one",
            ));
        }
    }
    let Startup {
        hierarchy,
        target,
        identities: mut names,
    } = Startup::new(
        "constat",
        &args.target,
        args.pid,
        common::preflight::Needs::default(),
        args.run.verbose,
    )?;
    let ctx = Context {
        args: &args,
        target: &target,
        sort,
        syscalls: syscalls.as_deref(),
    };
    match view {
        View::Syscount(mode) => ctx.run_syscount(mode, &mut names),
        View::Cgroups | View::Syscalls => ctx.run_constat(view, &hierarchy, &mut names),
    }
}

/// What every view needs from the command line.
struct Context<'a> {
    args: &'a Args,
    target: &'a Target,
    sort: SortKey,
    syscalls: Option<&'a [u32]>,
}

impl Context<'_> {
    fn announce(&self, hierarchy: &common::cgroup::Hierarchy) {
        let whom = match (self.target.describe_cgroup(), self.target.pid) {
            (Some(cg), Some(pid)) => format!("pid {pid} in {cg}"),
            (Some(cg), None) => cg,
            (None, Some(pid)) => format!("pid {pid}"),
            (None, None) => format!("every cgroup under {}", hierarchy.root.display()),
        };
        output::status(&format!("Tracing {whom}"));
    }

    /// Signals first, then the prompt: a Ctrl-C right after it must not kill us.
    fn run_loop(&self) -> Result<RunLoop> {
        let run_loop = RunLoop::new(self.args.interval.every(), self.args.run.duration);
        common::cli::signals::stop_on_signals(run_loop.handle())?;
        output::status("Collecting events... Ctrl-C to stop and show stat");
        Ok(run_loop.watch_target(self.target))
    }

    /// constat's own kernel side: the per-syscall table, or host-wide the
    /// one-row-per-cgroup summary.
    fn run_constat(
        &self,
        view: View,
        hierarchy: &common::cgroup::Hierarchy,
        names: &mut common::identity::Identities,
    ) -> Result<ExitCode> {
        let mut open_object = std::mem::MaybeUninit::uninit();
        let mut collector =
            Collector::start(&mut open_object, self.target, self.args.maps.sizing())?;
        self.announce(hierarchy);
        let mut run_loop = self.run_loop()?;
        let with_clock = self.args.interval.every().is_some();
        let opts = Options {
            sort: self.sort,
            top: self.args.top,
            with_clock,
        };
        let mut sink = Recording {
            inner: Printer {
                format: self.args.output.output,
            },
            recorder: Recorder::open(self.args.replay.record.as_deref())?,
        };
        let wanted = |r: &Row| {
            self.syscalls.is_none_or(|nrs| {
                r.call()
                    .and_then(|c| c.native_nr())
                    .is_some_and(|n| nrs.contains(&n))
            })
        };
        let render = |last: bool| -> Result<()> {
            let Sample { mut data, health } = if last {
                collector.finish()?
            } else {
                collector.drain()?
            };
            data.retain(wanted);
            let sample = Sample { data, health };
            if matches!(view, View::Cgroups) {
                let report = SummaryReport::build(
                    sample,
                    self.target,
                    self.sort,
                    self.args.top,
                    with_clock,
                    names,
                    last,
                );
                sink.emit(&report)
            } else {
                sink.emit(&Report::build(sample, self.target, &opts, names, last))
            }
        };
        run_loop.drive(Some(SIGNAL_STATUS), render)?;
        Ok(ExitCode::SUCCESS)
    }

    /// -P, --errno, --histogram: syscount's report over the engine. with
    /// constat's target, --syscall and -T.
    fn run_syscount(
        &self,
        mode: engine::Mode,
        names: &mut common::identity::Identities,
    ) -> Result<ExitCode> {
        let filters = engine::Filters {
            target: self.target,
            failures: false,
            errno: None,
            syscalls: self.syscalls,
        };
        let mut open_object = std::mem::MaybeUninit::uninit();
        let mut collector =
            engine::Collector::start(&mut open_object, &filters, mode, self.args.maps.sizing())?;
        if let Some(cg) = self.target.describe_cgroup() {
            output::status(&format!("Tracing {cg}"));
        }
        let mut run_loop = self.run_loop()?;
        let top = self.args.top.unwrap_or(usize::MAX);
        let mut sink = Recording {
            inner: Printer {
                format: self.args.output.output,
            },
            recorder: Recorder::open(self.args.replay.record.as_deref())?,
        };
        let render = |last: bool| -> Result<()> {
            let sample = if last {
                collector.finish()?
            } else {
                collector.drain()?
            };
            sink.emit(&syscount::Report::build(
                sample,
                mode,
                self.target,
                names,
                top,
                last,
            ))
        };
        run_loop.drive(Some(SIGNAL_STATUS), render)?;
        Ok(ExitCode::SUCCESS)
    }
}

/// Options that shape what is traced, which a replay cannot change: the
/// names of those given.
fn tracing_options(args: &Args) -> Vec<&'static str> {
    let mut given = Vec::new();
    let mut flag = |on: bool, name: &'static str| {
        if on {
            given.push(name);
        }
    };
    flag(args.target.target.is_some(), "-c");
    flag(args.pid.is_some(), "-p");
    flag(args.by_syscall, "--by-syscall");
    flag(args.syscall.is_some(), "--syscall");
    flag(args.by_process, "-P");
    flag(args.errno, "--errno");
    flag(args.histogram, "--histogram");
    flag(args.top.is_some(), "-T");
    flag(args.interval.given().is_some(), "-i");
    flag(args.run.duration.is_some(), "-d");
    flag(args.maps.max_entries.is_some(), "--max-entries");
    given
}

/// `--replay FILE`: each saved report's table again (or with `--live`,
/// the full-screen view stepping through them). Stops at the first line
/// that is no constat report, after showing those before it.
fn replay(args: &Args, file: &std::ffi::OsStr, sort: SortKey) -> Result<ExitCode> {
    if let Some(flag) = tracing_options(args).first() {
        return Err(usage(format!(
            "--replay shows the run as it was recorded; {flag} shapes a new trace: drop it"
        )));
    }
    let mut replay = Replay::open("constat", file)?;
    if args.live {
        if args.output.output == output::Format::Json {
            return Err(usage("--live draws a full-screen view; drop -o json"));
        }
        common::terminal::require_terminal("--live", "drop --live to print the tables")?;
        let mut intervals = Vec::new();
        while let Some(report) = constat::replay::next(&mut replay)? {
            intervals.push(match &report {
                constat::replay::Recorded::Cgroups(r) => live::interval_from_summary(r),
                constat::replay::Recorded::Syscalls(r) => live::interval_from_report(r),
            });
        }
        if intervals.is_empty() {
            return Err(usage(format!(
                "{}: no constat report in it",
                replay.shown()
            )));
        }
        let mut model = Model::new(sort);
        model.title = format!("replay of {}", replay.shown());
        let mut feed = live::Stepping { intervals, at: 0 };
        feed.show(&mut model, 0);
        let mut run_loop = RunLoop::new(None, None);
        common::cli::signals::stop_on_signals(run_loop.handle())?;
        live::run(&mut model, &mut run_loop, &mut feed)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut sink = Printer {
        format: args.output.output,
    };
    while let Some(report) = constat::replay::next(&mut replay)? {
        match report {
            constat::replay::Recorded::Cgroups(r) => sink.emit(&r)?,
            constat::replay::Recorded::Syscalls(r) => sink.emit(&r)?,
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--live`: the full-screen view of every cgroup, fed by constat's own
/// collector host-wide (drained exactly every interval).
fn run_live(args: &Args, sort: SortKey) -> Result<ExitCode> {
    let refused = [
        (args.output.output == output::Format::Json, "-o json"),
        (args.pid.is_some(), "-p"),
        (args.by_process, "-P"),
        (args.errno, "--errno"),
        (args.histogram, "--histogram"),
        (args.by_syscall, "--by-syscall"),
        (args.top.is_some(), "-T"),
    ];
    if let Some((_, flag)) = refused.iter().find(|(on, _)| *on) {
        return Err(usage(format!(
            "--live shows every cgroup and drills into one; {flag} shapes the printed \
             reports: drop one"
        )));
    }
    let interval = match args.interval.given() {
        None => LIVE_INTERVAL,
        Some(i) if i.is_zero() => {
            return Err(usage(
                "--live refreshes every -i seconds: give a positive -i (default 1)",
            ))
        }
        Some(i) => i,
    };
    common::terminal::require_terminal(
        "--live",
        "use -i N for a table every N seconds, or -o json",
    )?;
    let syscalls = syscall_filter(args)?;
    let Startup {
        target,
        identities: mut names,
        ..
    } = Startup::new(
        "constat",
        &args.target,
        None,
        common::preflight::Needs::default(),
        args.run.verbose,
    )?;
    let mut recorder = Recorder::open(args.replay.record.as_deref())?;
    let host = Target::host();
    let mut open_object = std::mem::MaybeUninit::uninit();
    let mut collector = Collector::start(&mut open_object, &host, args.maps.sizing())?;
    let mut model = Model::new(sort);
    model.title = "every cgroup of the host".into();
    if let Some(cg) = &target.cgroup {
        let name = common::identity::shown_as(target.container.as_ref(), &cg.rel);
        model.open_on(cg.id, &name, &cg.rel);
        model.waiting_for = Some(name);
    }
    let mut run_loop = RunLoop::new(None, args.run.duration);
    common::cli::signals::stop_on_signals(run_loop.handle())?;
    let opts = Options {
        sort,
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
            rec.record(&Report::build(sample, &host, &opts, &mut names, false))?;
        }
        model.push(live::interval_from_rows(
            &data,
            health.covered,
            health.dropped,
            &mut names,
        ));
        Ok(())
    };
    let mut feed = live::Ticking::new(interval, drain);
    live::run(&mut model, &mut run_loop, &mut feed)?;
    Ok(ExitCode::SUCCESS)
}

/// `--syscall LIST` as numbers.
fn syscall_filter(args: &Args) -> Result<Option<Vec<u32>>> {
    args.syscall
        .as_deref()
        .map(|list| match common::syscalls::parse_list(list) {
            Ok(nrs) if nrs.is_empty() => Err(usage(
                "--syscall needs at least one name or number, e.g. --syscall read,write",
            )),
            Ok(nrs) => Ok(nrs),
            Err(e) => Err(usage(e)),
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("constat").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn views_follow_the_flags() {
        let of = |args: &[&str]| view(&parse(args), SortKey::Count);
        assert!(matches!(of(&[]), View::Cgroups));
        assert!(matches!(of(&["--by-syscall"]), View::Syscalls));
        assert!(matches!(of(&["-c", "x"]), View::Syscalls));
        assert!(matches!(of(&["-p", "1"]), View::Syscalls));
        let View::Syscount(mode) = view(&parse(&["-P", "-t"]), SortKey::Time) else {
            panic!("-P is syscount's view");
        };
        assert!(mode.by_process && mode.latency && mode.timed && !mode.by_errno);
        let View::Syscount(mode) = view(&parse(&["--histogram"]), SortKey::Count) else {
            panic!("--histogram is syscount's view");
        };
        assert!(mode.histogram && mode.timed && !mode.latency);
        assert!(Args::try_parse_from(["constat", "--errno", "--histogram"]).is_err());
        assert_eq!(parse(&["-i", "0"]).interval.every(), None);
    }
}
