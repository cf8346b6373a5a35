//! conbiograph's command line; the run is the library's
//! ([`conbiograph::run`]).

use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgGroup, Parser};
use cli::args::{RunArgs, TargetArgs};
use cli::complete::{block_devices, ArgValueCompleter};
use cli::replay::ReplayArgs;

use conbiograph::run::Options;
use conbiograph::sink::OutputFormat;
use conbiograph::{Dir, Metric};

/// A container's block I/O over time, charged to the container that caused
/// it: direct I/O and reads by its tasks, and writeback of pages it dirtied.
/// Without -c: all block I/O of the host, then one row per cgroup.
///
/// -d S gives exactly S*1000/MS periods of -t MS (a last, partial one only
/// when the run ends inside one, as on Ctrl-C: marked partial, drawn at its
/// rate).
///
/// Memory stays bounded on long runs: totals and peaks are kept exactly, per
/// period, but the chart keeps at most 10000 points; beyond that, neighbouring
/// points merge and each step shows the mean of 2, 4, 8... periods. The
/// --output json/csv rows are always one per period.
#[derive(Debug, Parser)]
#[command(name = "conbiograph", version)]
#[command(group(ArgGroup::new("metric").args(["count", "avg"])))]
#[command(group(ArgGroup::new("direction").args(["read", "write"])))]
struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// Length of a period in milliseconds.
    #[arg(short = 't', long = "period", value_name = "MS", default_value = "1000",
          value_parser = cli::args::millis)]
    period: Duration,
    /// Plot requests per period instead of bytes.
    #[arg(long)]
    count: bool,
    /// Plot the average request size per period instead of bytes.
    #[arg(long)]
    avg: bool,
    /// Only reads.
    #[arg(long)]
    read: bool,
    /// Only writes.
    #[arg(long)]
    write: bool,
    /// Only this block device (name as in lsblk, or MAJ:MIN); a whole disk
    /// includes its partitions.
    #[arg(long, value_name = "NAME", add = ArgValueCompleter::new(block_devices))]
    device: Option<String>,
    #[command(flatten)]
    run: RunArgs,
    /// Redraw the chart every period: full screen on a terminal (q or
    /// Ctrl-C stops, the final chart then prints below the prompt),
    /// frame after frame into a pipe.
    #[arg(long)]
    live: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    output: OutputFormat,
    #[command(flatten)]
    replay: ReplayArgs,
}

impl cli::docs::Documented for Args {
    const PAGE: &'static cli::docs::Page = &conbiograph::docs::PAGE;
}

impl From<Args> for Options {
    fn from(args: Args) -> Self {
        let metric = match (args.count, args.avg) {
            (true, _) => Some(Metric::Count),
            (_, true) => Some(Metric::Avg),
            _ => None,
        };
        let direction = match (args.read, args.write) {
            (true, _) => Some(Dir::Read),
            (_, true) => Some(Dir::Write),
            _ => None,
        };
        Options {
            target: args.target,
            period: args.period,
            metric,
            direction,
            device: args.device,
            run: args.run,
            live: args.live,
            output: args.output,
            replay: args.replay,
        }
    }
}

fn main() -> ExitCode {
    cli::main("conbiograph", |args: Args| {
        conbiograph::run::run(args.into())
    })
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn help_states_the_chart_bound() {
        let help = Args::command().render_long_help().to_string();
        let bound = conbiograph::series::MAX_POINTS.to_string();
        assert!(help.contains(&format!("at most {bound} points")), "{help}");
    }
}
