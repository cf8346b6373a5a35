//! syscount's command line; the run is the library's ([`syscount::run`]).

use std::process::ExitCode;

use clap::Parser;
use cli::args::{IntervalArgs, OutputArgs, RunArgs, TargetArgs};
use cli::complete::ArgValueCompleter;
use engine::Mode;
use syscount::run::Options;

/// Summarize syscall counts and latencies, of the whole host, a container
/// (cgroup v2) or a process. Accepts libbpf-tools syscount's flags.
#[derive(Debug, Parser)]
#[command(name = "syscount", version)]
struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// Process PID to trace (all its threads).
    #[arg(short = 'p', long, value_name = "PID", value_parser = cli::args::pid,
          add = ArgValueCompleter::new(cli::complete::processes))]
    pid: Option<u32>,
    /// Count by process and not by syscall.
    #[arg(short = 'P', long = "process")]
    by_process: bool,
    /// Collect syscall latency (adds the entry hook); sort by it.
    #[arg(short = 'L', long)]
    latency: bool,
    /// Display latency in milliseconds (default: microseconds).
    #[arg(short = 'm', long)]
    milliseconds: bool,
    /// Trace only failed syscalls.
    #[arg(short = 'x', long = "failures")]
    failures: bool,
    /// `-e ERRNO`: trace only syscalls failing with ERRNO (name like ENOENT,
    /// or number). `--errno` alone: per syscall, counts per errno name.
    #[arg(
        short = 'e',
        long = "errno",
        value_name = "ERRNO",
        num_args = 0..=1,
        default_missing_value = ""
    )]
    errno: Option<String>,
    #[command(flatten)]
    interval: IntervalArgs,
    /// Print only the top N rows.
    #[arg(short = 'T', long, value_name = "N", default_value_t = 10,
          value_parser = cli::args::positive)]
    top: usize,
    /// Print the syscalls of this architecture (number: name) and exit.
    #[arg(short = 'l', long)]
    list: bool,
    /// Log2 latency distribution per syscall (per process with -P), kept in
    /// the kernel.
    #[arg(long)]
    histogram: bool,
    /// Split counts by cgroup (a CGROUP column).
    #[arg(long)]
    by_cgroup: bool,
    /// Count calls a seccomp filter denied before they ran (a DENIED column;
    /// adds the entry hook; -L and --histogram always count them).
    #[arg(long)]
    denied: bool,
    /// Count only these syscalls (names or numbers, comma-separated).
    #[arg(long, value_name = "NAME[,NAME]",
          add = ArgValueCompleter::new(cli::complete::syscall_names))]
    syscall: Option<String>,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    maps: cli::args::MapArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// Write the NDJSON that -o json prints to FILE (flushed per line)
    /// while the tables are shown.
    #[arg(long, value_name = "FILE")]
    record: Option<std::path::PathBuf>,
}

impl cli::docs::Documented for Args {
    const PAGE: &'static cli::docs::Page = &syscount::docs::PAGE;
}

impl From<Args> for Options {
    fn from(args: Args) -> Self {
        Options {
            mode: Mode {
                by_process: args.by_process,
                by_cgroup: args.by_cgroup,
                timed: args.latency || args.histogram,
                latency: args.latency,
                denied: args.denied,
                histogram: args.histogram,
                millis: args.milliseconds,
                ..Mode::default()
            },
            target: args.target,
            pid: args.pid,
            failures: args.failures,
            errno: args.errno,
            list: args.list,
            syscall: args.syscall,
            interval: args.interval.every(),
            top: args.top,
            run: args.run,
            sizing: args.maps.sizing(),
            output: args.output.output,
            record: args.record,
        }
    }
}

fn main() -> ExitCode {
    cli::main("syscount", |args: Args| syscount::run::run(args.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use syscount::run::errno_arg;

    #[test]
    fn libbpf_tools_flags_parse() {
        let a = Args::try_parse_from([
            "syscount", "-c", "/x", "-p", "1", "-P", "-L", "-m", "-x", "-e", "ENOENT", "-i", "0",
            "-d", "3", "-T", "5", "-v",
        ])
        .unwrap();
        assert!(a.by_process && a.latency && a.milliseconds && a.failures && a.run.verbose);
        assert_eq!(a.errno.as_deref(), Some("ENOENT"));
        assert_eq!(a.interval.every(), None);
        assert_eq!(a.top, 5);
        let a = Args::try_parse_from(["syscount", "--errno=2"]).unwrap();
        assert_eq!(errno_arg(a.errno.as_deref()).unwrap(), (Some(2), false));
        let a = Args::try_parse_from(["syscount", "--errno", "-x"]).unwrap();
        assert_eq!(errno_arg(a.errno.as_deref()).unwrap(), (None, true));
        assert!(a.failures);
        assert!(errno_arg(Some("ENOPE")).is_err());
        let a = Args::try_parse_from(["syscount"]).unwrap();
        assert_eq!(a.top, 10);
        assert!(Args::try_parse_from(["syscount", "-i", "-1"]).is_err());
        assert!(Args::try_parse_from(["syscount", "--exact"]).is_err());
    }
}
