//! constat's command line; the run is the library's ([`constat::run`]).

use std::process::ExitCode;

use clap::Parser;
use cli::args::{IntervalArgs, OutputArgs, RunArgs, TargetArgs};
use cli::complete::ArgValueCompleter;
use cli::replay::ReplayArgs;

use constat::run::Options;
use constat::SortKey;

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
    #[arg(short = 'p', long, value_name = "PID", value_parser = cli::args::pid,
          add = ArgValueCompleter::new(cli::complete::processes))]
    pid: Option<u32>,
    /// Sort by elapsed time (same as --sort time).
    #[arg(short = 't', long = "time", conflicts_with = "sort")]
    by_time: bool,
    /// Sort rows by this column.
    #[arg(long, value_enum, default_value_t = SortKey::Count)]
    sort: SortKey,
    /// Show only the top N rows: syscalls (with -c or -p), cgroups (without),
    /// processes (-P).
    #[arg(short = 'T', long = "top", value_name = "N", value_parser = cli::args::positive)]
    top: Option<usize>,
    /// Without -c: one row per (cgroup, syscall) instead of one per cgroup.
    #[arg(long)]
    by_syscall: bool,
    /// Count only these syscalls (names or numbers, comma-separated).
    #[arg(long, value_name = "NAME[,NAME]",
          add = ArgValueCompleter::new(cli::complete::syscall_names))]
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
    maps: cli::args::MapArgs,
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
    #[command(flatten)]
    seccomp: constat::seccomp::SeccompArgs,
}

impl cli::docs::Documented for Args {
    const PAGE: &'static cli::docs::Page = &constat::docs::PAGE;
}

impl From<Args> for Options {
    fn from(args: Args) -> Self {
        Options {
            sort: if args.by_time {
                SortKey::Time
            } else {
                args.sort
            },
            target: args.target,
            pid: args.pid,
            top: args.top,
            by_syscall: args.by_syscall,
            syscall: args.syscall,
            by_process: args.by_process,
            errno: args.errno,
            histogram: args.histogram,
            interval: args.interval,
            run: args.run,
            maps: args.maps,
            output: args.output.output,
            live: args.live,
            replay: args.replay,
            seccomp: args.seccomp,
        }
    }
}

fn main() -> ExitCode {
    cli::main("constat", |args: Args| constat::run::run(args.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use constat::run::{view, View};

    fn parse(args: &[&str]) -> Options {
        Args::try_parse_from(std::iter::once("constat").chain(args.iter().copied()))
            .unwrap()
            .into()
    }

    #[test]
    fn views_follow_the_flags() {
        let of = |args: &[&str]| view(&parse(args));
        assert!(matches!(of(&[]), View::Cgroups));
        assert!(matches!(of(&["--by-syscall"]), View::Syscalls));
        assert!(matches!(of(&["-c", "x"]), View::Syscalls));
        assert!(matches!(of(&["-p", "1"]), View::Syscalls));
        let View::Syscount(mode) = view(&parse(&["-P", "-t"])) else {
            panic!("-P is syscount's view");
        };
        assert!(mode.by_process && mode.latency && mode.timed && !mode.by_errno);
        let View::Syscount(mode) = view(&parse(&["--histogram"])) else {
            panic!("--histogram is syscount's view");
        };
        assert!(mode.histogram && mode.timed && !mode.latency);
        assert!(Args::try_parse_from(["constat", "--errno", "--histogram"]).is_err());
        assert_eq!(parse(&["-i", "0"]).interval.every(), None);
    }
}
