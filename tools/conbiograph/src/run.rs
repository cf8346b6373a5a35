//! conbiograph's run, behind its command line: a trace (start-up, the
//! period collector, the chart or rows through [`ChartSink`], the summary)
//! or the replay of a saved one.

use std::ffi::OsStr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use cli::args::{RunArgs, TargetArgs};
use cli::driver::{Drained, Driver, Plan};
use cli::output;
use cli::replay::{Recorder, Replay, ReplayArgs};
use cli::terminal::TextFrames;
use kernel::collector::Health;
use kernel::exit::usage;

use crate::object::{Blkcg, DirtyHook, Features};
use crate::report::{self, CSV_HEADER};
use crate::series::{Dir, Metric, Series};
use crate::sink::{ChartSink, Frame, OutputFormat, RunEnd};
use crate::view::View;
use crate::{devices, Collector, Config};

/// Shortest period: below it, waking up and draining would cost more than
/// the I/O being graphed.
const MIN_PERIOD: Duration = Duration::from_millis(10);

/// What the command line asks for.
#[derive(Debug)]
pub struct Options {
    pub target: TargetArgs,
    /// `-t`: the length of a period.
    pub period: Duration,
    /// `--count` or `--avg`; `None`: bytes (on replay, the recorded metric).
    pub metric: Option<Metric>,
    /// `--read` or `--write`; `None`: both (on replay, those recorded).
    pub direction: Option<Dir>,
    /// `--device`, as given.
    pub device: Option<String>,
    pub run: RunArgs,
    pub live: bool,
    pub output: OutputFormat,
    pub replay: ReplayArgs,
}

/// The whole run: a replay with `--replay`, else a trace.
pub fn run(opts: Options) -> Result<ExitCode> {
    match &opts.replay.replay {
        Some(file) => replay(&opts, file),
        None => trace(&opts),
    }
}

/// `--replay FILE`: the chart and summary of a saved run, drawn again
/// (`--count`/`--avg` and `--read`/`--write` may show it another way).
fn replay(opts: &Options, file: &OsStr) -> Result<ExitCode> {
    let given = [
        (opts.target.target.is_some(), "-c"),
        (opts.device.is_some(), "--device"),
        (opts.run.duration.is_some(), "-d"),
        (opts.live, "--live"),
        (opts.output != OutputFormat::Table, "-o"),
    ];
    if let Some((_, flag)) = given.iter().find(|(on, _)| *on) {
        return Err(usage(format!(
            "--replay draws the saved run as it was; {flag} shapes a new trace: drop it"
        )));
    }
    let mut replay = Replay::open("conbiograph", file)?;
    let recorded = crate::replay::read(&mut replay)?;
    let summary = &recorded.summary;
    let metric = opts
        .metric
        .or_else(|| Metric::from_name(&summary.metric))
        .unwrap_or(Metric::Bytes);
    let recorded_dirs: Vec<Dir> = summary
        .directions
        .iter()
        .filter_map(|d| Dir::from_name(d))
        .collect();
    let dirs = match opts.direction {
        Some(dir) => vec![dir],
        None if recorded_dirs.is_empty() => vec![Dir::Write, Dir::Read],
        None => recorded_dirs,
    };
    let view = View { dirs, metric };
    output::print(&view.chart(&recorded.series))?;
    output::print(&summary.text(&view.dirs))?;
    Ok(ExitCode::SUCCESS)
}

/// Options that do not combine, said before anything is loaded.
fn check(opts: &Options) -> Result<()> {
    if opts.period < MIN_PERIOD {
        return Err(usage(format!(
            "-t {}: the period must be at least {} ms (e.g. -t 100)",
            opts.period.as_millis(),
            MIN_PERIOD.as_millis()
        )));
    }
    if opts.live && opts.output != OutputFormat::Table {
        return Err(usage(
            "--live redraws the chart; drop it or drop --output json/csv",
        ));
    }
    Ok(())
}

/// Traces until a signal, `-d` or the target's end, a period at a time.
fn trace(opts: &Options) -> Result<ExitCode> {
    check(opts)?;
    let (dirs, dir_mask) = match opts.direction {
        Some(Dir::Read) => (vec![Dir::Read], 1u32),
        Some(Dir::Write) => (vec![Dir::Write], 2),
        None => (vec![Dir::Write, Dir::Read], 3),
    };
    let device = opts.device.as_deref().map(devices::resolve).transpose()?;
    let mut driver = Driver::start(&Plan {
        tool: "conbiograph",
        target: &opts.target,
        pid: None,
        pid_flag: false,
        needs: kernel::features::Needs::default(),
        verbose: opts.run.verbose,
        interval: Some(opts.period),
        duration: opts.run.duration,
    })?;
    let recorder = Recorder::open(opts.replay.record.as_deref())?;
    let by_cgroup = driver.target.is_host();
    let mut open_object = std::mem::MaybeUninit::uninit();
    let mut collector = Collector::start(
        &mut open_object,
        &Config {
            period: opts.period,
            target: &driver.target,
            dir_mask,
            device,
            duration: opts.run.duration,
            by_cgroup,
        },
    )?;
    announce(opts, &driver, collector.features());
    let mut sink = ChartSink {
        view: View {
            dirs,
            metric: opts.metric.unwrap_or(Metric::Bytes),
        },
        format: opts.output,
        // On a terminal --live is full screen; q and Ctrl-C (a key in raw
        // mode) stop the run like a signal.
        live: opts
            .live
            .then(|| TextFrames::open(driver.stop_handle()))
            .transpose()?,
        recorder,
        target: driver.target.info(),
        features: collector.features(),
        series: Series::new(opts.period),
        health: Health::default(),
    };
    if opts.output == OutputFormat::Csv {
        output::print(CSV_HEADER)?;
    }
    driver.aggregate(&mut collector, &mut sink, |drained| {
        frame(drained, by_cgroup)
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The status lines before the first period: the kernel's paths with -v,
/// what is traced, and how to stop.
fn announce(opts: &Options, driver: &Driver, features: Features) {
    if opts.run.verbose {
        output::status(&kernel_paths(features));
    }
    match driver.target.describe_cgroup() {
        Some(cg) => output::status(&format!("Tracing block I/O of {cg}")),
        None => output::status("Tracing all block I/O of the host"),
    }
    output::status(&format!(
        "Collecting events in {} ms periods... Ctrl-C to stop and show stat",
        opts.period.as_millis()
    ));
}

/// `-v`: how this kernel is traced.
fn kernel_paths(features: Features) -> String {
    format!(
        "kernel: current task via {}, dirtier hook {}, bio blkcg {}",
        if features.task_btf {
            "bpf_get_current_task_btf"
        } else {
            "bpf_get_current_task + probe reads"
        },
        match features.dirty_hook {
            DirtyHook::WritebackDirtyFolio => "writeback_dirty_folio",
            DirtyHook::WritebackDirtyPage => "writeback_dirty_page",
        },
        match features.blkcg {
            Blkcg::V2 => "cgroup v2 (used for writeback)",
            Blkcg::V1 => "cgroup v1 (unused)",
            Blkcg::None => "none",
        }
    )
}

/// One drain as the sink's frame; the last one carries the devices and,
/// host-wide, every cgroup's I/O with names resolved now.
fn frame(drained: Drained<'_, Collector<'_>>, by_cgroup: bool) -> Result<Frame> {
    let end = if drained.last {
        let cgroups = if by_cgroup {
            let io = drained.collector.cgroups()?;
            Some(report::cgroup_rows(&io, drained.names))
        } else {
            None
        };
        Some(RunEnd {
            devices: drained.collector.devices()?,
            cgroups,
        })
    } else {
        None
    };
    Ok(Frame {
        periods: drained.sample.data,
        health: drained.sample.health,
        end,
    })
}
