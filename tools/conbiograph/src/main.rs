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
use common::replay::{Recorder, Replay, ReplayArgs};
use common::runloop::RunLoop;
use common::terminal::{FullScreen, QuitKeys};
use ratatui::widgets::Paragraph;

use conbiograph::report::{self, PeriodRow, Summary};
use conbiograph::{chart, devices, units};
use conbiograph::{Collector, Config, Dir, Metric, Period, Series};

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
    #[arg(long, value_name = "NAME",
          add = common::complete::ArgValueCompleter::new(common::complete::block_devices))]
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

/// Shortest period: below it, waking up and draining would cost more than
/// the I/O being graphed.
const MIN_PERIOD: Duration = Duration::from_millis(10);

impl common::docs::Documented for Args {
    const PAGE: &'static common::docs::Page = &conbiograph::docs::PAGE;
}

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
        self.chart_at(series, terminal_columns())
    }

    /// The chart fitted to `columns` terminal columns.
    fn chart_at(&self, series: &Series, columns: u32) -> String {
        let rows = if self.dirs.len() > 1 { 8 } else { 12 };
        chart::render(
            series,
            &self.dirs,
            self.metric,
            chart::Size::for_terminal(columns, rows),
        )
    }
}

/// `--replay FILE`: the chart and summary of a saved run, drawn again
/// (`--count`/`--avg` and `--read`/`--write` may show it another way).
fn replay(args: &Args, file: &std::ffi::OsStr) -> Result<ExitCode> {
    let given = [
        (args.target.target.is_some(), "-c"),
        (args.device.is_some(), "--device"),
        (args.run.duration.is_some(), "-d"),
        (args.live, "--live"),
        (args.output != OutputFormat::Table, "-o"),
    ];
    if let Some((_, flag)) = given.iter().find(|(on, _)| *on) {
        return Err(common::exit::usage(format!(
            "--replay draws the saved run as it was; {flag} shapes a new trace: drop it"
        )));
    }
    let mut replay = Replay::open("conbiograph", file)?;
    let recorded = conbiograph::replay::read(&mut replay)?;
    let summary = &recorded.summary;
    let metric = if args.count {
        Metric::Count
    } else if args.avg {
        Metric::Avg
    } else {
        Metric::from_name(&summary.metric).unwrap_or(Metric::Bytes)
    };
    let recorded_dirs: Vec<Dir> = summary
        .directions
        .iter()
        .filter_map(|d| Dir::from_name(d))
        .collect();
    let dirs = match (args.read, args.write) {
        (true, _) => vec![Dir::Read],
        (_, true) => vec![Dir::Write],
        _ if recorded_dirs.is_empty() => vec![Dir::Write, Dir::Read],
        _ => recorded_dirs,
    };
    let view = View {
        dirs,
        metric,
        tty: false,
    };
    output::print(&view.chart(&recorded.series))?;
    output::print(&summary.text(&view.dirs))?;
    Ok(ExitCode::SUCCESS)
}

fn run(args: Args) -> Result<ExitCode> {
    if let Some(file) = &args.replay.replay {
        return replay(&args, file);
    }
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
    let Startup {
        target,
        mut identities,
        ..
    } = Startup::new(
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
    let mut recorder = Recorder::open(args.replay.record.as_deref())?;
    // On a terminal --live is full screen; q and Ctrl-C (a key in raw
    // mode) stop the run like a signal.
    let mut screen = if args.live && view.tty {
        Some(FullScreen::enter()?)
    } else {
        None
    };
    let _keys = screen.as_ref().map(|_| QuitKeys::watch(run_loop.handle()));
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
        if let Some(rec) = &mut recorder {
            for p in &rows {
                rec.record(&PeriodRow::new(&series, p))?;
            }
        }
        emit(&series, &rows)?;
        if !last {
            if args.output == OutputFormat::Table && !rows.is_empty() {
                if args.live {
                    redraw(&view, &series, screen.as_mut())?;
                } else {
                    // The seed's progress: a dot per period.
                    output::progress_dots(rows.len());
                }
            }
            return Ok(());
        }
        // The final report prints on the normal screen.
        drop(screen.take());
        let mut summary = Summary::build(
            &series,
            target.info(),
            &collector.devices()?,
            health.merged,
            health.dropped,
        )
        .with_kernel(features);
        summary.metric = view.metric.name().to_string();
        summary.directions = view.dirs.iter().map(|d| d.name().to_string()).collect();
        if target.is_host() {
            summary =
                summary.with_cgroups(report::cgroup_rows(&collector.cgroups()?, &mut identities));
        }
        if let Some(rec) = &mut recorder {
            rec.record(&summary)?;
        }
        match args.output {
            OutputFormat::Table => {
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
    run_loop.drive(Some(common::runloop::SIGNAL_STATUS), render)?;
    Ok(ExitCode::SUCCESS)
}

/// One frame of `--live`: the chart so far and the running totals, drawn
/// full screen at the terminal's size (or printed, into a pipe).
fn redraw(view: &View, series: &Series, screen: Option<&mut FullScreen>) -> Result<()> {
    let Some(screen) = screen else {
        return output::print(&frame_text(view, series, terminal_columns()));
    };
    screen.terminal().draw(|f| {
        let area = f.area();
        let mut text = frame_text(view, series, u32::from(area.width));
        text.push_str("q or Ctrl-C: stop and print the chart");
        f.render_widget(Paragraph::new(text), area);
    })?;
    Ok(())
}

/// The chart fitted to `columns` and the running totals.
fn frame_text(view: &View, series: &Series, columns: u32) -> String {
    let mut frame = String::new();
    frame.push_str(&view.chart_at(series, columns));
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
    frame
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
