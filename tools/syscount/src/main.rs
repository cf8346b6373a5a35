//! syscount: syscall counts (and latencies) of the host, a container or a
//! process, counted in the kernel. Drop-in for libbpf-tools' syscount (same
//! flags, same tables), plus containers, histograms, errno breakdowns and
//! NDJSON.

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use common::args::{IntervalArgs, OutputArgs, RunArgs, TargetArgs};
use common::cli::Startup;
use common::collector::Aggregator;
use common::complete::ArgValueCompleter;
use common::exit::usage;
use common::output;
use common::runloop::{RunLoop, SIGNAL_STATUS};
use common::sink::{Printer, Sink};

use engine::{Collector, Filters, Mode};
use syscount::Report;

/// Summarize syscall counts and latencies, of the whole host, a container
/// (cgroup v2) or a process. Accepts libbpf-tools syscount's flags.
#[derive(Debug, Parser)]
#[command(name = "syscount", version)]
struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// Process PID to trace (all its threads).
    #[arg(short = 'p', long, value_name = "PID", value_parser = common::args::pid,
          add = ArgValueCompleter::new(common::complete::processes))]
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
          value_parser = common::args::positive)]
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
          add = ArgValueCompleter::new(common::complete::syscall_names))]
    syscall: Option<String>,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    maps: common::mapsize::MapArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// Write the NDJSON that -o json prints to FILE (flushed per line)
    /// while the tables are shown.
    #[arg(long, value_name = "FILE")]
    record: Option<std::path::PathBuf>,
}

impl common::docs::Documented for Args {
    const PAGE: &'static common::docs::Page = &syscount::docs::PAGE;
}

fn main() -> ExitCode {
    common::cli::main("syscount", run)
}

fn list_syscalls() -> Result<ExitCode> {
    let mut text = String::new();
    for (nr, name) in common::syscalls::all() {
        text.push_str(&format!("{nr:>3}: {name}\n"));
    }
    output::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `-e`/`--errno`: `(filter, breakdown)`.
fn errno_arg(value: Option<&str>) -> Result<(Option<i32>, bool)> {
    match value {
        None => Ok((None, false)),
        Some("") => Ok((None, true)),
        Some(text) => common::errno::parse(text)
            .map(|e| (Some(e), false))
            .ok_or_else(|| {
                usage(format!(
                    "invalid errno '{text}': give a name like ENOENT or a number 1-4095 \
                 (or --errno alone for the per-errno breakdown)"
                ))
            }),
    }
}

fn run(args: Args) -> Result<ExitCode> {
    if args.list {
        return list_syscalls();
    }
    let (errno_filter, by_errno) = errno_arg(args.errno.as_deref())?;
    if by_errno && args.histogram {
        return Err(usage(
            "--histogram and the --errno breakdown do not combine; run them separately",
        ));
    }
    let syscalls = args
        .syscall
        .as_deref()
        .map(|list| {
            let nrs = common::syscalls::parse_list(list).map_err(usage)?;
            if nrs.is_empty() {
                return Err(usage(
                    "--syscall needs at least one name or number, e.g. --syscall read,write",
                ));
            }
            Ok(nrs)
        })
        .transpose()?;
    let mode = Mode {
        by_process: args.by_process,
        by_cgroup: args.by_cgroup,
        by_errno,
        timed: args.latency || args.histogram,
        latency: args.latency,
        denied: args.denied,
        histogram: args.histogram,
        millis: args.milliseconds,
        ..Mode::default()
    };
    let Startup {
        target,
        identities: mut names,
        ..
    } = Startup::new(
        "syscount",
        &args.target,
        args.pid,
        common::preflight::Needs::default(),
        args.run.verbose,
    )?;

    let filters = Filters {
        target: &target,
        failures: args.failures,
        errno: errno_filter,
        syscalls: syscalls.as_deref(),
    };
    let mut open_object = std::mem::MaybeUninit::uninit();
    let mut collector = Collector::start(&mut open_object, &filters, mode, args.maps.sizing())?;
    // The signal handler goes in before the "Ctrl-C" line invites a signal.
    let mut run_loop = RunLoop::new(args.interval.every(), args.run.duration);
    common::cli::signals::stop_on_signals(run_loop.handle())?;

    if let Some(cg) = target.describe_cgroup() {
        output::status(&format!("Tracing {cg}"));
    }
    if let Some(nrs) = &syscalls {
        let (exit, exit_group) = common::syscalls::never_returning();
        if nrs.iter().any(|&nr| nr == exit || nr == exit_group) {
            output::status("note: exit and exit_group never return, so they are never counted");
        }
    }
    output::status(&format!(
        "Tracing syscalls, printing top {}... Ctrl-C to quit.",
        args.top
    ));

    run_loop = run_loop.watch_target(&target);
    let mut sink = common::replay::Recording {
        inner: Printer {
            format: args.output.output,
        },
        recorder: common::replay::Recorder::open(args.record.as_deref())?,
    };
    let render = |last: bool| -> Result<()> {
        let sample = if last {
            collector.finish()?
        } else {
            collector.drain()?
        };
        sink.emit(&Report::build(
            sample, mode, &target, &mut names, args.top, last,
        ))
    };
    // The same stderr line as every contrace tool; stdout stays libbpf-tools'.
    run_loop.drive(Some(SIGNAL_STATUS), render)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

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
