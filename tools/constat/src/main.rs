//! constat: syscall statistics of one container (or of every cgroup),
//! counted in the kernel per (cgroup, syscall) and printed on Ctrl-C, at the
//! end of `-d`, or every `-i` seconds.

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use common::args::{IntervalArgs, OutputArgs, RunArgs, TargetArgs};
use common::cli::Startup;
use common::collector::Aggregator;
use common::output;
use common::runloop::RunLoop;
use common::sink::{Printer, Sink};

use constat::{Collector, Options, Report, SortKey};

const EXAMPLES: &str = "\
EXAMPLES:
    constat -c /sys/fs/cgroup/system.slice/docker-3f2a9c1e.scope
                                 # one container, report on Ctrl-C
    constat -c 3f2a9c1e          # the same, by container id prefix
    constat -c nginx.service -i 5 -d 60
                                 # a systemd unit, a report every 5 s for a minute
    constat -c pid:1234 --exact  # the cgroup of pid 1234, not its children
    constat -t -T 5              # every cgroup, the 5 busiest, sorted by time
    constat -c mypod --output json | jq .rows[0]
                                 # NDJSON, one object per report";

/// Syscall statistics of a container (cgroup v2): count, errors and time,
/// aggregated in the kernel.
#[derive(Debug, Parser)]
#[command(name = "constat", version, after_help = EXAMPLES)]
struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// Sort by elapsed time (same as --sort time).
    #[arg(short = 't', long = "time", conflicts_with = "sort")]
    by_time: bool,
    /// Sort rows by this column.
    #[arg(long, value_enum, default_value_t = SortKey::Count)]
    sort: SortKey,
    /// Show only the top N syscalls (with -c) or cgroups (without -c).
    #[arg(short = 'T', long = "top", value_name = "N", value_parser = common::args::positive)]
    top: Option<usize>,
    #[command(flatten)]
    interval: IntervalArgs,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    maps: common::mapsize::MapArgs,
    #[command(flatten)]
    output: OutputArgs,
}

fn main() -> ExitCode {
    common::cli::main("constat", run)
}

fn run(args: Args) -> Result<ExitCode> {
    let sort = if args.by_time {
        SortKey::Time
    } else {
        args.sort
    };
    let Startup {
        hierarchy,
        target,
        identities: mut names,
    } = Startup::new(
        "constat",
        &args.target,
        None,
        common::preflight::Needs::default(),
        args.run.verbose,
    )?;

    common::mapsize::set_override(args.maps.max_entries);
    let mut open_object = std::mem::MaybeUninit::uninit();
    let mut collector = Collector::start(&mut open_object, &target)?;

    match target.describe_cgroup() {
        Some(cg) => output::status(&format!("Tracing {cg}")),
        None => output::status(&format!(
            "Tracing every cgroup under {}",
            hierarchy.root.display()
        )),
    }
    // Handler first, then the prompt: a Ctrl-C right after it must not kill us.
    let mut run_loop = RunLoop::new(args.interval.every(), args.run.duration);
    common::cli::signals::stop_on_signals(run_loop.handle())?;
    output::status("Collecting events... Ctrl-C to stop and show stat");
    run_loop = run_loop.watch_target(&target);
    let opts = Options {
        sort,
        top: args.top,
        with_clock: args.interval.every().is_some(),
    };
    let mut sink = Printer {
        format: args.output.output,
    };
    let render = |last: bool| -> Result<()> {
        let sample = if last {
            collector.finish()?
        } else {
            collector.drain()?
        };
        sink.emit(&Report::build(sample, &target, &opts, &mut names, last))
    };
    run_loop.drive(Some("Received signal, summarizing"), render)?;
    Ok(ExitCode::SUCCESS)
}
