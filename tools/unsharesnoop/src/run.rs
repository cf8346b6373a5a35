//! unsharesnoop's run, behind its command line: a trace (start-up, the
//! collector, one line per event through the shared sink, the summary) or
//! the replay of a saved one.

use std::ffi::OsStr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use cli::args::{RunArgs, TargetArgs};
use cli::driver::{Driver, Plan, Streaming};
use cli::output::{self, Format};
use cli::replay::{Recorder, Recording, Replay, ReplayArgs};
use cli::sink::Printer;
use cli::timefmt::MonotonicClock;
use identity::target::Target;
use kernel::collector::Health;

use crate::event::Call;
use crate::report::{Layout, Showing, Summary};
use crate::{Collector, Config};

/// Default ring buffer: 1024 pages (4 MiB with 4 KiB pages), ~24 000 events.
pub const DEFAULT_BUFFER_PAGES: u32 = 1024;
/// Largest ring buffer accepted, whatever the page size.
const MAX_BUFFER_BYTES: u64 = 1 << 30;
/// How long one ring-buffer poll may block: bounds the reaction to Ctrl-C,
/// `-d` and a vanished target.
const POLL_TIMEOUT: Duration = Duration::from_millis(100);

/// What the command line asks for.
#[derive(Debug)]
pub struct Options {
    /// `-a`: failed calls too.
    pub all: bool,
    pub target: TargetArgs,
    pub pid: Option<u32>,
    pub calls: Vec<Call>,
    pub run: RunArgs,
    pub output: Format,
    pub buffer_pages: u32,
    pub replay: ReplayArgs,
}

/// `--buffer-pages`: a power of two the kernel accepts as a ring buffer.
pub fn buffer_pages(text: &str) -> Result<u32, String> {
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

/// The whole run: a replay with `--replay`, else a trace.
pub fn run(opts: Options) -> Result<ExitCode> {
    match &opts.replay.replay {
        Some(file) => replay(&opts, file),
        None => trace(opts),
    }
}

/// `--replay FILE`: the saved events' table again; nothing is traced.
fn replay(opts: &Options, file: &OsStr) -> Result<ExitCode> {
    let given = [
        (opts.target.target.is_some(), "-c"),
        (opts.pid.is_some(), "-p"),
        (opts.all, "-a"),
        (opts.run.duration.is_some(), "-d"),
        (opts.output != Format::Table, "-o"),
    ];
    if let Some((_, flag)) = given.iter().find(|(on, _)| *on) {
        return Err(kernel::exit::usage(format!(
            "--replay prints the saved table as it was; {flag} shapes a new trace: drop it"
        )));
    }
    let mut replay = Replay::open("unsharesnoop", file)?;
    let summary = crate::replay::replay(&mut replay)?;
    output::status(&counts(summary.events, summary.lost, summary.untraced));
    Ok(ExitCode::SUCCESS)
}

/// The last status line: events shown, lost and untraced.
fn counts(events: u64, lost: u64, untraced: u64) -> String {
    format!(
        "{events} events, {lost} lost{}",
        if untraced > 0 {
            format!(", {untraced} calls untraced (no task storage)")
        } else {
            String::new()
        }
    )
}

/// Traces until a signal, `-d` or the target's end: one line per event.
fn trace(opts: Options) -> Result<ExitCode> {
    let mut calls = opts.calls.clone();
    calls.sort_by_key(|c| *c as u8);
    calls.dedup();
    let mut driver = Driver::start(&Plan {
        tool: "unsharesnoop",
        target: &opts.target,
        pid: opts.pid,
        pid_flag: true,
        needs: kernel::features::Needs { ring_buffer: true },
        verbose: opts.run.verbose,
        interval: None,
        duration: opts.run.duration,
    })?;
    let recorder = Recorder::open(opts.replay.record.as_deref())?;
    let mut open_object = std::mem::MaybeUninit::uninit();
    let mut collector = Collector::start(
        &mut open_object,
        &Config {
            calls: &calls,
            target: &driver.target,
            include_failed: opts.all,
            buffer_bytes: buffer_bytes(opts.buffer_pages)?,
            exit_only: false,
        },
    )?;
    let showing = showing(&opts, &calls, &driver.target, recorder.is_some());
    announce(&opts, &calls, &driver.target);
    if opts.output == Format::Table {
        output::print(&showing.layout.header())?;
    }
    let mut sink = Recording {
        inner: Printer::new(opts.output),
        recorder,
    };
    let streaming = Streaming {
        poll: POLL_TIMEOUT,
        lost_advice: "raise --buffer-pages",
    };
    let ended = driver.stream(&mut collector, &mut sink, &streaming, |events, names| {
        Ok(showing.batch(events, names))
    })?;
    let summary = summary(ended.events, &ended.health, &driver.target, &calls);
    if let Some(rec) = &mut sink.recorder {
        rec.record(&summary)?;
    }
    if opts.output == Format::Json {
        output::json_line(&summary)?;
    }
    output::status(&counts(summary.events, summary.lost, summary.untraced));
    Ok(ExitCode::SUCCESS)
}

/// The table's columns and what the events need resolved.
fn showing(opts: &Options, calls: &[Call], target: &Target, recording: bool) -> Showing {
    let layout = Layout {
        // `clone` alone prints clone and clone3 lines: tell them apart.
        call_column: calls.len() > 1 || calls.contains(&Call::Clone),
        // Whenever more than one cgroup can appear: host-wide, or a
        // target with its descendants (a child's events are not the
        // target's own).
        cgroup_column: !(target.cgroup.is_some() && target.exact),
    };
    Showing {
        names_needed: layout.cgroup_column || opts.output == Format::Json || recording,
        layout,
        clock: MonotonicClock::new(),
    }
}

/// The status line that says what is traced, of whom.
fn announce(opts: &Options, calls: &[Call], target: &Target) {
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
    output::status(&format!(
        "Tracing {} {whom}{}... Ctrl-C to end",
        what.join(", "),
        if opts.all { ", failed calls too" } else { "" }
    ));
}

/// The run's last record: events shown and missed, target, calls.
fn summary(events: u64, health: &Health, target: &Target, calls: &[Call]) -> Summary {
    Summary {
        kind: "summary".into(),
        events,
        lost: health.lost,
        untraced: health.untraced,
        target: target.info(),
        calls: calls.iter().map(|c| c.name().to_string()).collect(),
    }
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
