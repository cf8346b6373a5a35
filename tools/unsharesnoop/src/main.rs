//! unsharesnoop: every namespace change as it happens: unshare(2), setns(2)
//! and the clone(2)/clone3(2) calls that create namespaces, one line each,
//! with the flags decoded and the caller's namespaces before and after.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use common::args::{OutputArgs, RunArgs, TargetArgs};
use common::cli::Startup;
use common::collector::{EventSource, Health};
use common::identity::Resolver;
use common::output::{self, Format};
use common::runloop::{RunLoop, Stop, Wake, SIGNAL_STATUS};
use common::timefmt::MonotonicClock;

use unsharesnoop::report::{self, Layout, Summary};
use unsharesnoop::{Call, Collector, Config, Event};

/// Default ring buffer: 1024 pages (4 MiB with 4 KiB pages), ~24 000 events.
const DEFAULT_BUFFER_PAGES: u32 = 1024;
/// Largest ring buffer accepted, whatever the page size.
const MAX_BUFFER_BYTES: u64 = 1 << 30;
/// How long one ring-buffer poll may block: bounds the reaction to Ctrl-C,
/// `-d` and a vanished target.
const POLL_TIMEOUT: Duration = Duration::from_millis(100);
/// Lost-event warnings on stderr at most this often.
const LOST_WARNING_PERIOD: Duration = Duration::from_secs(1);

/// Trace namespace changes: unshare(2), setns(2) and clone(2)/clone3(2)
/// calls that create namespaces, with flags decoded.
#[derive(Debug, Parser)]
#[command(name = "unsharesnoop", version)]
struct Args {
    /// Show failed calls too (RET is then the errno name).
    #[arg(short = 'a', long)]
    all: bool,
    #[command(flatten)]
    target: TargetArgs,
    /// Only this process (thread group id).
    #[arg(short = 'p', long, value_name = "PID", value_parser = common::args::pid,
          add = common::complete::ArgValueCompleter::new(common::complete::processes))]
    pid: Option<u32>,
    /// Calls to trace, comma-separated; `clone` covers clone and clone3
    /// (only those that create a namespace).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "unshare,setns,clone"
    )]
    calls: Vec<Call>,
    #[command(flatten)]
    run: RunArgs,
    /// Output format: a table line per event, or NDJSON (one object per
    /// event, then a summary object with `events`, `lost`, `untraced` and
    /// `target`).
    #[command(flatten)]
    output: OutputArgs,
    /// Ring buffer size in pages (a power of two, 1 GiB at most). Raise it
    /// if events are reported lost.
    #[arg(long, value_name = "PAGES", default_value_t = DEFAULT_BUFFER_PAGES,
          value_parser = buffer_pages)]
    buffer_pages: u32,
    #[command(flatten)]
    replay: common::replay::ReplayArgs,
}

/// `--buffer-pages`: a power of two the kernel accepts as a ring buffer.
fn buffer_pages(text: &str) -> Result<u32, String> {
    parse_buffer_pages(text, page_size())
}

/// `--buffer-pages` with pages of `page_size` bytes: checked in u64, so a
/// count too large for the page size is refused here rather than wrapping
/// into a size the kernel refuses at load.
fn parse_buffer_pages(text: &str, page_size: u64) -> Result<u32, String> {
    let pages: u64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a whole number of pages (e.g. 1024)"))?;
    let max = MAX_BUFFER_BYTES / page_size;
    if pages == 0 || !pages.is_power_of_two() || pages > max {
        return Err(format!(
            "'{text}' must be a power of two between 1 and {max} (1 GiB of {} KiB pages; e.g. 1024)",
            page_size / 1024
        ));
    }
    u32::try_from(pages).map_err(|_| format!("'{text}' pages is too many"))
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

/// Ring buffer bytes for `pages` (at most MAX_BUFFER_BYTES, see above).
fn buffer_bytes(pages: u32) -> Result<u32> {
    let bytes = u64::from(pages) * page_size();
    u32::try_from(bytes).with_context(|| format!("ring buffer of {bytes} bytes is too large"))
}

impl common::docs::Documented for Args {
    const PAGE: &'static common::docs::Page = &unsharesnoop::docs::PAGE;
}

fn main() -> ExitCode {
    common::cli::main("unsharesnoop", run)
}

/// Prints events and keeps count.
struct Printer {
    format: Format,
    layout: Layout,
    clock: MonotonicClock,
    names: common::identity::Identities,
    events: u64,
    /// `--record`: every event's JSON, whatever the format shown.
    recorder: Option<common::replay::Recorder>,
}

impl Printer {
    fn print(&mut self, events: &[Event]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        // Buffered, one flush per batch: a burst costs few write(2) calls.
        let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
        let mut line = Vec::with_capacity(1024);
        for ev in events {
            line.clear();
            if let Some(rec) = &mut self.recorder {
                let cgroup = self.names.cgroup_path(ev.cgroup_id);
                let container = self.names.container(ev.cgroup_id);
                report::json(ev, &cgroup, container, &self.clock, &mut line)?;
                rec.record_json(&line)?;
                line.clear();
            }
            // Enrichment first: ids become names, then the line is formatted.
            match self.format {
                Format::Table => {
                    let shown = if self.layout.cgroup_column {
                        self.names.display_name(ev.cgroup_id)
                    } else {
                        String::new()
                    };
                    line.extend_from_slice(self.layout.line(ev, &shown, &self.clock).as_bytes())
                }
                Format::Json => {
                    let cgroup = self.names.cgroup_path(ev.cgroup_id);
                    let container = self.names.container(ev.cgroup_id);
                    report::json(ev, &cgroup, container, &self.clock, &mut line)?
                }
            }
            line.push(b'\n');
            out.write_all(&line)?;
        }
        out.flush()?;
        if let Some(rec) = &mut self.recorder {
            rec.flush()?;
        }
        self.events += events.len() as u64;
        Ok(())
    }
}

/// `--replay FILE`: the saved events' table again; nothing is traced.
fn replay(args: &Args, file: &std::ffi::OsStr) -> Result<ExitCode> {
    let given = [
        (args.target.target.is_some(), "-c"),
        (args.pid.is_some(), "-p"),
        (args.all, "-a"),
        (args.run.duration.is_some(), "-d"),
        (args.output.output != Format::Table, "-o"),
    ];
    if let Some((_, flag)) = given.iter().find(|(on, _)| *on) {
        return Err(common::exit::usage(format!(
            "--replay prints the saved table as it was; {flag} shapes a new trace: drop it"
        )));
    }
    let mut replay = common::replay::Replay::open("unsharesnoop", file)?;
    let summary = unsharesnoop::replay::replay(&mut replay)?;
    output::status(&format!(
        "{} events, {} lost{}",
        summary.events,
        summary.lost,
        if summary.untraced > 0 {
            format!(", {} calls untraced (no task storage)", summary.untraced)
        } else {
            String::new()
        }
    ));
    Ok(ExitCode::SUCCESS)
}

fn run(args: Args) -> Result<ExitCode> {
    if let Some(file) = &args.replay.replay {
        return replay(&args, file);
    }
    let mut calls = args.calls.clone();
    calls.sort_by_key(|c| *c as u8);
    calls.dedup();
    let Startup {
        target, identities, ..
    } = Startup::new(
        "unsharesnoop",
        &args.target,
        args.pid,
        common::preflight::Needs { ring_buffer: true },
        args.run.verbose,
    )?;
    let format = args.output.output;
    let recorder = common::replay::Recorder::open(args.replay.record.as_deref())?;

    // Signals are caught before the (possibly slow) load: one that comes
    // before tracing starts ends the run as soon as it has, never lost (a
    // shell's background job starts with SIGINT ignored).
    let mut run_loop = RunLoop::new(None, args.run.duration);
    common::cli::signals::stop_on_signals(run_loop.handle())?;

    let mut open_object = std::mem::MaybeUninit::uninit();
    let mut collector = Collector::start(
        &mut open_object,
        &Config {
            calls: &calls,
            target: &target,
            include_failed: args.all,
            buffer_bytes: buffer_bytes(args.buffer_pages)?,
            exit_only: false,
        },
    )?;

    let mut printer = Printer {
        format,
        layout: Layout {
            // `clone` alone prints clone and clone3 lines: tell them apart.
            call_column: calls.len() > 1 || calls.contains(&Call::Clone),
            // Whenever more than one cgroup can appear: host-wide, or a
            // target with its descendants (a child's events are not the
            // target's own).
            cgroup_column: !(target.cgroup.is_some() && target.exact),
        },
        clock: MonotonicClock::new(),
        names: identities,
        events: 0,
        recorder,
    };
    let what: Vec<&str> = calls
        .iter()
        .map(|c| match c {
            Call::Clone | Call::Clone3 => "clone/clone3 creating namespaces",
            other => other.name(),
        })
        .collect();
    let whom = match (target.describe_cgroup(), target.pid) {
        (Some(cg), Some(pid)) => format!("of pid {pid} in {cg}"),
        (Some(cg), None) => format!("in {cg}"),
        (None, Some(pid)) => format!("of pid {pid}"),
        (None, None) => "of every process".into(),
    };
    run_loop.restart_clock();
    run_loop = run_loop.watch_target(&target);

    output::status(&format!(
        "Tracing {} {whom}{}... Ctrl-C to end",
        what.join(", "),
        if args.all { ", failed calls too" } else { "" }
    ));
    if format == Format::Table {
        output::print(&printer.layout.header())?;
    }

    let mut warned = Health::default();
    let mut next_warning = Instant::now();
    let stop = loop {
        let events = collector.poll(POLL_TIMEOUT)?;
        printer.print(&events)?;
        let now = collector.health();
        if now.lost > warned.lost && Instant::now() >= next_warning {
            output::status(&format!(
                "WARNING: {} events lost (ring buffer full), {} in all; raise --buffer-pages",
                now.lost - warned.lost,
                now.lost
            ));
            warned = now;
            next_warning = Instant::now() + LOST_WARNING_PERIOD;
        }
        if let Some(Wake::Finish(stop)) = run_loop.try_wake() {
            break stop;
        }
    };
    let rest = collector.finish()?;
    printer.print(&rest)?;
    let health = collector.health();
    match stop {
        Stop::Signal => output::status(SIGNAL_STATUS),
        Stop::Duration | Stop::Requested => {}
        Stop::TargetGone(why) => output::status(&format!("{why}; stopping")),
    }
    let summary = Summary {
        kind: "summary".into(),
        events: printer.events,
        lost: health.lost,
        untraced: health.untraced,
        target: target.info(),
        calls: calls.iter().map(|c| c.name().to_string()).collect(),
    };
    if let Some(rec) = &mut printer.recorder {
        rec.record(&summary)?;
    }
    if format == Format::Json {
        output::json_line(&summary)?;
    }
    output::status(&format!(
        "{} events, {} lost{}",
        printer.events,
        health.lost,
        if health.untraced > 0 {
            format!(", {} calls untraced (no task storage)", health.untraced)
        } else {
            String::new()
        }
    ));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_buffer_pages;

    #[test]
    fn buffer_pages_bounded_in_bytes_whatever_the_page_size() {
        const K4: u64 = 4096;
        const K64: u64 = 65536;
        assert_eq!(parse_buffer_pages("1024", K4), Ok(1024));
        assert_eq!(parse_buffer_pages("262144", K4), Ok(1 << 18)); // 1 GiB
        assert!(parse_buffer_pages("524288", K4).is_err());
        // 64 KiB pages: 16384 is 1 GiB; 65536 and above (which once wrapped
        // to u32::MAX bytes) are refused, as is anything past u32.
        assert_eq!(parse_buffer_pages("16384", K64), Ok(1 << 14));
        for bad in [
            "32768",
            "65536",
            "131072",
            "4294967296",
            "18446744073709551616",
        ] {
            let err = parse_buffer_pages(bad, K64).unwrap_err();
            assert!(!err.contains('\n'), "{err}");
        }
        for bad in ["0", "3", "-1", "x", ""] {
            assert!(parse_buffer_pages(bad, K4).is_err(), "{bad}");
        }
    }
}
