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
use common::runloop::{RunLoop, SIGNAL_STATUS};
use common::sink::{Printer, Sink};
use common::target::Target;

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
    /// -P, --errno, --histogram: syscount's collector and report.
    Syscount(syscount::Mode),
}

fn view(args: &Args, sort: SortKey) -> View {
    if args.by_process || args.errno || args.histogram {
        return View::Syscount(syscount::Mode {
            by_process: args.by_process,
            by_errno: args.errno,
            histogram: args.histogram,
            latency: sort == SortKey::Time,
            timed: args.histogram || sort == SortKey::Time,
            ..syscount::Mode::default()
        });
    }
    let host_wide = args.target.target.is_none() && args.pid.is_none();
    if host_wide && !args.by_syscall {
        View::Cgroups
    } else {
        View::Syscalls
    }
}

fn run(args: Args) -> Result<ExitCode> {
    let sort = if args.by_time {
        SortKey::Time
    } else {
        args.sort
    };
    let syscalls = args
        .syscall
        .as_deref()
        .map(|list| match common::syscalls::parse_list(list) {
            Ok(nrs) if nrs.is_empty() => Err(usage(
                "--syscall needs at least one name or number, e.g. --syscall read,write",
            )),
            Ok(nrs) => Ok(nrs),
            Err(e) => Err(usage(e)),
        })
        .transpose()?;
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
    common::mapsize::set_override(args.maps.max_entries);
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
        let mut collector = Collector::start(&mut open_object, self.target)?;
        self.announce(hierarchy);
        let mut run_loop = self.run_loop()?;
        let with_clock = self.args.interval.every().is_some();
        let opts = Options {
            sort: self.sort,
            top: self.args.top,
            with_clock,
        };
        let mut sink = Printer {
            format: self.args.output.output,
        };
        let wanted = |r: &Row| self.syscalls.is_none_or(|nrs| nrs.contains(&r.nr));
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

    /// -P, --errno, --histogram: syscount's collector and report, with
    /// constat's target, --syscall and -T.
    fn run_syscount(
        &self,
        mode: syscount::Mode,
        names: &mut common::identity::Identities,
    ) -> Result<ExitCode> {
        let filters = syscount::Filters {
            target: self.target,
            failures: false,
            errno: None,
            syscalls: self.syscalls,
        };
        let mut open_object = std::mem::MaybeUninit::uninit();
        let mut collector = syscount::Collector::start(&mut open_object, &filters, mode)?;
        if let Some(cg) = self.target.describe_cgroup() {
            output::status(&format!("Tracing {cg}"));
        }
        let mut run_loop = self.run_loop()?;
        let top = self.args.top.unwrap_or(usize::MAX);
        let mut sink = Printer {
            format: self.args.output.output,
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
