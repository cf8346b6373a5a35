//! conbiograph: a container's block I/O over time as a braille chart, each
//! bio charged to the container that caused it (including writeback of pages
//! it dirtied), with per-period rows as NDJSON or CSV.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::{ArgGroup, Parser, ValueEnum};
use common::args::{RunArgs, TargetArgs};
use common::cli::Startup;
use common::collector::{Aggregator, Health};
use common::output;
use common::runloop::RunLoop;

use conbiograph::report::{self, PeriodRow, Summary};
use conbiograph::{chart, devices, units};
use conbiograph::{Collector, Config, Dir, Metric, Period, Series};

const EXAMPLES: &str = "\
EXAMPLES:
    conbiograph -t 500 -c /sys/fs/cgroup/system.slice/docker-3f2a9c1e.scope
                                 # bytes per 0.5 s, chart on Ctrl-C
    conbiograph -c 3f2a9c1e --live
                                 # the same by container id, redrawn every period
    conbiograph -c pid:1234 --write --count -d 30
                                 # write requests per second for 30 s
    conbiograph -c mypod --device vda --avg
                                 # average request size on one disk
    conbiograph -c mypod -t 100 --output csv > io.csv
                                 # one row per 100 ms period for plotting elsewhere
    conbiograph -d 10            # the whole host for 10 s, then a row per cgroup";

/// `--output`: the chart and a summary, or one row per period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// Braille chart and a summary paragraph.
    Table,
    /// NDJSON: one object per period, then a summary object.
    Json,
    /// CSV: a header and one line per period (summary on stderr).
    Csv,
}

/// A container's block I/O over time, charged to the container that caused
/// it: direct I/O and reads by its tasks, and writeback of pages it dirtied.
/// Without -c: all block I/O of the host, then one row per cgroup.
///
/// -d S gives exactly S×1000/MS periods of -t MS (a last, partial one only
/// when the run ends inside one, as on Ctrl-C: marked partial, drawn at its
/// rate).
///
/// Memory stays bounded on long runs: totals and peaks are kept exactly, per
/// period, but the chart keeps at most 10000 points; beyond that, neighbouring
/// points merge and each step shows the mean of 2, 4, 8... periods. The
/// --output json/csv rows are always one per period.
#[derive(Debug, Parser)]
#[command(name = "conbiograph", version, after_help = EXAMPLES)]
#[command(group(ArgGroup::new("metric").args(["count", "avg"])))]
#[command(group(ArgGroup::new("direction").args(["read", "write"])))]
struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// Length of a period in milliseconds.
    #[arg(short = 't', long = "period", value_name = "MS", default_value = "1000",
          value_parser = common::args::millis)]
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
    #[arg(long, value_name = "NAME")]
    device: Option<String>,
    #[command(flatten)]
    run: RunArgs,
    /// Redraw the chart every period.
    #[arg(long)]
    live: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    output: OutputFormat,
}

/// Shortest period: below it, waking up and draining would cost more than
/// the I/O being graphed.
const MIN_PERIOD: Duration = Duration::from_millis(10);

fn main() -> ExitCode {
    common::cli::main("conbiograph", run)
}

/// Terminal columns from $COLUMNS (set by interactive shells), else 80.
fn terminal_columns() -> u32 {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|&c: &u32| c >= 40)
        .unwrap_or(80)
}

struct View {
    dirs: Vec<Dir>,
    metric: Metric,
    tty: bool,
}

impl View {
    fn chart(&self, series: &Series) -> String {
        let rows = if self.dirs.len() > 1 { 8 } else { 12 };
        chart::render(
            series,
            &self.dirs,
            self.metric,
            chart::Size::for_terminal(terminal_columns(), rows),
        )
    }
}

fn run(args: Args) -> Result<ExitCode> {
    if args.period < MIN_PERIOD {
        return Err(common::exit::usage(format!(
            "-t {}: the period must be at least {} ms (e.g. -t 100)",
            args.period.as_millis(),
            MIN_PERIOD.as_millis()
        )));
    }
    if args.live && args.output != OutputFormat::Table {
        return Err(common::exit::usage(
            "--live redraws the chart; drop it or drop --output json/csv",
        ));
    }
    let (dirs, dir_mask) = match (args.read, args.write) {
        (true, _) => (vec![Dir::Read], 1u32),
        (_, true) => (vec![Dir::Write], 2),
        _ => (vec![Dir::Write, Dir::Read], 3),
    };
    let metric = if args.count {
        Metric::Count
    } else if args.avg {
        Metric::Avg
    } else {
        Metric::Bytes
    };
    let device = args.device.as_deref().map(devices::resolve).transpose()?;
    let Startup { target, hierarchy } = Startup::new(
        "conbiograph",
        &args.target,
        None,
        common::preflight::Needs::default(),
        args.run.verbose,
    )?;

    let mut open_object = std::mem::MaybeUninit::uninit();
    let mut collector = Collector::start(
        &mut open_object,
        &Config {
            period: args.period,
            target: &target,
            dir_mask,
            device,
            duration: args.run.duration,
            by_cgroup: target.is_host(),
        },
    )?;
    let features = collector.features();
    if args.run.verbose {
        output::status(&format!(
            "kernel: current task via {}, dirtier hook {}, bio blkcg {}",
            if features.task_btf {
                "bpf_get_current_task_btf"
            } else {
                "bpf_get_current_task + probe reads"
            },
            match features.dirty_hook {
                conbiograph::kernel::DirtyHook::WritebackDirtyFolio => "writeback_dirty_folio",
                conbiograph::kernel::DirtyHook::WritebackDirtyPage => "writeback_dirty_page",
            },
            match features.blkcg {
                conbiograph::kernel::Blkcg::V2 => "cgroup v2 (used for writeback)",
                conbiograph::kernel::Blkcg::V1 => "cgroup v1 (unused)",
                conbiograph::kernel::Blkcg::None => "none",
            }
        ));
    }
    match target.describe_cgroup() {
        Some(cg) => output::status(&format!("Tracing block I/O of {cg}")),
        None => output::status("Tracing all block I/O of the host"),
    }
    // Handler first, then the prompt: a Ctrl-C right after it must not kill us.
    let mut run_loop = RunLoop::new(Some(args.period), args.run.duration);
    common::cli::signals::stop_on_signals(run_loop.handle())?;
    output::status(&format!(
        "Collecting events in {} ms periods... Ctrl-C to stop and show stat",
        args.period.as_millis()
    ));

    let view = View {
        dirs,
        metric,
        tty: std::io::stdout().is_terminal(),
    };
    let mut series = Series::new(args.period);
    let mut health = Health::default();
    run_loop = run_loop.watch_target(&target);
    if args.output == OutputFormat::Csv {
        output::print(report::CSV_HEADER)?;
    }
    let emit = |series: &Series, rows: &[Period]| -> Result<()> {
        for p in rows {
            let row = PeriodRow::new(series, p);
            match args.output {
                OutputFormat::Json => output::json_line(&row)?,
                OutputFormat::Csv => output::print(&report::csv_line(&row))?,
                OutputFormat::Table => {}
            }
        }
        Ok(())
    };
    let render = |last: bool| -> Result<()> {
        let sample = if last {
            collector.finish()?
        } else {
            collector.drain()?
        };
        health.add(&sample.health);
        let rows = sample.data;
        series.extend(&rows);
        emit(&series, &rows)?;
        if !last {
            if args.output == OutputFormat::Table && !rows.is_empty() {
                if args.live {
                    redraw(&view, &series)?;
                } else {
                    // The seed's progress: a dot per period.
                    output::progress_dots(rows.len());
                }
            }
            return Ok(());
        }
        let mut summary = Summary::build(
            &series,
            target.info(),
            &collector.devices()?,
            health.merged,
            health.dropped,
        )
        .with_kernel(features);
        if target.is_host() {
            let mut names = common::cgroup::CgroupNames::new(hierarchy.root.clone());
            summary = summary.with_cgroups(report::cgroup_rows(&collector.cgroups()?, &mut names));
        }
        match args.output {
            OutputFormat::Table => {
                if args.live && view.tty {
                    output::print("\x1b[H\x1b[2J")?;
                }
                output::print(&view.chart(&series))?;
                output::print(&summary.text(&view.dirs))?;
                match &summary.cgroups {
                    Some(rows) if !rows.is_empty() => output::print(&report::cgroup_table(rows)),
                    _ => Ok(()),
                }
            }
            OutputFormat::Json => output::json_line(&summary),
            OutputFormat::Csv => {
                output::status(&summary.text(&view.dirs));
                Ok(())
            }
        }
    };
    run_loop.drive(Some("[!] Received signal and summarizing"), render)?;
    Ok(ExitCode::SUCCESS)
}

/// One frame of `--live`: the chart so far and the running totals; on a
/// terminal the previous frame is erased first.
fn redraw(view: &View, series: &Series) -> Result<()> {
    let mut frame = String::new();
    if view.tty {
        frame.push_str("\x1b[H\x1b[2J");
    }
    frame.push_str(&view.chart(series));
    let totals: Vec<String> = view
        .dirs
        .iter()
        .map(|&d| {
            let t = series.totals(d);
            format!("{} {} in {} ops", d.name(), units::bytes(t.bytes), t.ops)
        })
        .collect();
    frame.push_str(&format!(
        "{} so far: {}\n",
        units::seconds(series.span().as_millis() as u64),
        totals.join(", ")
    ));
    output::print(&frame)
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
