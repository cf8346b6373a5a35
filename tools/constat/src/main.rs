//! constat: syscall statistics of one container (or of every cgroup),
//! counted in the kernel per (cgroup, syscall) and printed on Ctrl-C, at the
//! end of `-d`, or every `-i` seconds.

mod collect;
mod report;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, ValueEnum};
use common::output::{self, Format};
use common::runloop::RunLoop;

use crate::collect::Collector;
use crate::report::{Options, Report};

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
    /// Container to trace: cgroup v2 directory (absolute or relative to the
    /// cgroup2 mount), pid:N, container id (prefix of 4+ hex chars) or a
    /// systemd unit (nginx.service). Without it: every cgroup.
    #[arg(short = 'c', long = "cgroup", value_name = "TARGET")]
    target: Option<String>,
    /// Only the target cgroup itself, not its descendants.
    #[arg(long, requires = "target")]
    exact: bool,
    /// Sort by elapsed time (same as --sort time).
    #[arg(short = 't', long = "time", conflicts_with = "sort")]
    by_time: bool,
    /// Sort rows by this column.
    #[arg(long, value_enum, default_value_t = SortKey::Count)]
    sort: SortKey,
    /// Show only the top N syscalls (with -c) or cgroups (without -c).
    #[arg(short = 'T', long = "top", value_name = "N", value_parser = common::args::positive)]
    top: Option<usize>,
    /// Print a report every SECONDS (each covers its own interval).
    #[arg(short = 'i', long, value_name = "SECONDS", value_parser = common::args::seconds)]
    interval: Option<Duration>,
    /// Stop after SECONDS and print the final report.
    #[arg(short = 'd', long, value_name = "SECONDS", value_parser = common::args::seconds)]
    duration: Option<Duration>,
    /// Output format: aligned table, or NDJSON (one object per report).
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Table)]
    output: Format,
    /// Show libbpf's log.
    #[arg(short, long)]
    verbose: bool,
}

/// Order of the rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SortKey {
    Count,
    Time,
    Errors,
    Name,
}

fn main() -> ExitCode {
    common::timefmt::init_local_offset();
    common::exit::main_with("constat", run)
}

fn run() -> Result<ExitCode> {
    if let Some(code) = common::docs::generate_if_asked::<Args>()? {
        return Ok(code);
    }
    let args: Args = common::args::parse()?;
    let sort = if args.by_time {
        SortKey::Time
    } else {
        args.sort
    };
    let (hierarchy, target) = common::cgroup::resolve_target(args.target.as_deref())?;
    common::preflight::check("constat", common::preflight::Needs::default())?;
    common::bpf::init_libbpf_log(args.verbose);

    let mut open_object = std::mem::MaybeUninit::uninit();
    let mut collector = Collector::start(&mut open_object, target.as_ref(), args.exact)?;

    match &target {
        Some(cg) => output::status(&format!("Tracing {}", cg.describe(args.exact))),
        None => output::status(&format!(
            "Tracing every cgroup under {}",
            hierarchy.root.display()
        )),
    }
    // Handler first, then the prompt: a Ctrl-C right after it must not kill us.
    let mut run_loop = RunLoop::start(args.interval, args.duration)?;
    output::status("Collecting events... Ctrl-C to stop and show stat");
    run_loop = run_loop.watch_target(target.as_ref(), None);
    let mut names = common::cgroup::CgroupNames::new(hierarchy.root.clone());
    let opts = Options {
        sort,
        top: args.top,
        exact: args.exact,
    };
    let render = |last: bool| -> Result<()> {
        let sample = collector.drain()?;
        let report = Report::build(sample, target.as_ref(), &opts, &mut names, last);
        match args.output {
            Format::Table => output::print(&report.table(args.interval.is_some())),
            Format::Json => output::json_line(&report),
        }
    };
    run_loop.drive(Some("Received signal, summarizing"), render)?;
    Ok(ExitCode::SUCCESS)
}
