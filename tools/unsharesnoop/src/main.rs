//! unsharesnoop: every namespace change as it happens: unshare(2), setns(2)
//! and the clone(2)/clone3(2) calls that create namespaces, one line each,
//! with the flags decoded and the caller's namespaces before and after.

mod collect;
mod event;
mod flags;
mod report;

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Parser;
use common::cgroup::CgroupNames;
use common::output::{self, Format};
use common::runloop::{RunLoop, Stop, Wake};
use common::timefmt::MonotonicClock;

use crate::collect::{Collector, Config, Counters};
use crate::event::{Call, Event};
use crate::report::{Layout, Summary};

const EXAMPLES: &str = "\
EXAMPLES:
    unsharesnoop                 # successful unshare/setns/namespace-creating clones
    unsharesnoop --all           # failed calls too (RET shows the errno)
    unsharesnoop --calls unshare # only unshare(2), like the original tool
    unsharesnoop -c 3f2a9c1e     # one container (id prefix), and its children
    unsharesnoop -p 1234 -d 30   # one process, for 30 seconds
    unsharesnoop --output json | jq 'select(.type == \"event\") | .ns_after'
                                 # NDJSON: namespace inodes before/after each call";

/// Default ring buffer: 1024 pages (4 MiB with 4 KiB pages), ~24 000 events.
const DEFAULT_BUFFER_PAGES: u32 = 1024;
/// Largest ring buffer accepted: 2^18 pages (1 GiB with 4 KiB pages).
const MAX_BUFFER_PAGES: u32 = 1 << 18;
/// How long one ring-buffer poll may block: bounds the reaction to Ctrl-C,
/// `-d` and a vanished target.
const POLL_TIMEOUT: Duration = Duration::from_millis(100);
/// Lost-event warnings on stderr at most this often.
const LOST_WARNING_PERIOD: Duration = Duration::from_secs(1);

/// Trace namespace changes: unshare(2), setns(2) and clone(2)/clone3(2)
/// calls that create namespaces, with flags decoded.
#[derive(Debug, Parser)]
#[command(name = "unsharesnoop", version, after_help = EXAMPLES)]
struct Args {
    /// Show failed calls too (RET is then the errno name).
    #[arg(short = 'a', long)]
    all: bool,
    /// Container to trace: cgroup v2 directory (absolute or relative to the
    /// cgroup2 mount), pid:N, container id (prefix of 4+ hex chars) or a
    /// systemd unit. Without it: every cgroup (a CGROUP column is shown).
    #[arg(short = 'c', long = "cgroup", value_name = "TARGET")]
    target: Option<String>,
    /// Only the target cgroup itself, not its descendants.
    #[arg(long, requires = "target")]
    exact: bool,
    /// Only this process (thread group id).
    #[arg(short = 'p', long, value_name = "PID", value_parser = common::args::pid)]
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
    /// Stop after SECONDS.
    #[arg(short = 'd', long, value_name = "SECONDS", value_parser = common::args::seconds)]
    duration: Option<Duration>,
    /// Output format: a table line per event, or NDJSON (one object per
    /// event, then a summary object with `events` and `lost`).
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Table)]
    output: Format,
    /// Ring buffer size in pages (a power of two). Raise it if events are
    /// reported lost.
    #[arg(long, value_name = "PAGES", default_value_t = DEFAULT_BUFFER_PAGES,
          value_parser = buffer_pages)]
    buffer_pages: u32,
    /// Show libbpf's log.
    #[arg(short, long)]
    verbose: bool,
}

/// `--buffer-pages`: a power of two the kernel accepts as a ring buffer.
fn buffer_pages(text: &str) -> Result<u32, String> {
    let pages: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a whole number of pages (e.g. 1024)"))?;
    if pages == 0 || !pages.is_power_of_two() || pages > MAX_BUFFER_PAGES {
        return Err(format!(
            "'{text}' must be a power of two between 1 and {MAX_BUFFER_PAGES} (e.g. 1024)"
        ));
    }
    Ok(pages)
}

fn page_size() -> u32 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u32::try_from(size).unwrap_or(4096)
}

fn main() -> ExitCode {
    common::timefmt::init_local_offset();
    common::exit::main_with("unsharesnoop", run)
}

/// Prints events and keeps count.
struct Printer {
    format: Format,
    layout: Layout,
    clock: MonotonicClock,
    names: CgroupNames,
    events: u64,
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
            match self.format {
                Format::Table => line.extend_from_slice(
                    self.layout
                        .line(ev, &self.clock, &mut self.names)
                        .as_bytes(),
                ),
                Format::Json => report::json(ev, &self.clock, &mut self.names, &mut line)?,
            }
            line.push(b'\n');
            out.write_all(&line)?;
        }
        out.flush()?;
        self.events += events.len() as u64;
        Ok(())
    }
}

fn run() -> Result<ExitCode> {
    if let Some(code) = common::docs::generate_if_asked::<Args>()? {
        return Ok(code);
    }
    let args: Args = common::args::parse()?;
    let (hierarchy, target) = common::cgroup::resolve_target(args.target.as_deref())?;
    let mut calls = args.calls.clone();
    calls.sort_by_key(|c| *c as u8);
    calls.dedup();
    common::preflight::check("unsharesnoop", common::preflight::Needs { tracefs: true })?;
    common::bpf::init_libbpf_log(args.verbose);

    let mut open_object = std::mem::MaybeUninit::uninit();
    let mut collector = Collector::start(
        &mut open_object,
        &Config {
            calls: &calls,
            target: target.as_ref(),
            exact: args.exact,
            pid: args.pid,
            include_failed: args.all,
            buffer_bytes: args.buffer_pages.saturating_mul(page_size()),
        },
    )?;

    let mut printer = Printer {
        format: args.output,
        layout: Layout {
            call_column: calls.len() > 1,
            cgroup_column: target.is_none(),
        },
        clock: MonotonicClock::new(),
        names: CgroupNames::new(hierarchy.root.clone()),
        events: 0,
    };
    let what: Vec<&str> = calls
        .iter()
        .map(|c| match c {
            Call::Clone | Call::Clone3 => "clone/clone3 creating namespaces",
            other => other.name(),
        })
        .collect();
    let whom = match (&target, args.pid) {
        (Some(cg), _) => format!("in cgroup {} (id {})", cg.path.display(), cg.id),
        (None, Some(pid)) => format!("of pid {pid}"),
        (None, None) => "of every process".into(),
    };
    // Signal handling before the "Ctrl-C" line: whoever reads it may signal at once.
    let mut run_loop = RunLoop::start(None, args.duration)?;
    run_loop = run_loop.watch_target(target.as_ref(), args.pid);

    output::status(&format!(
        "Tracing {} {whom}{}... Ctrl-C to end",
        what.join(", "),
        if args.all { ", failed calls too" } else { "" }
    ));
    if args.output == Format::Table {
        output::print(&printer.layout.header())?;
    }

    let mut warned = Counters::default();
    let mut next_warning = Instant::now();
    let stop = loop {
        let events = collector.poll(POLL_TIMEOUT)?;
        printer.print(&events)?;
        let now = collector.counters();
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
    let counters = collector.counters();
    match stop {
        Stop::Signal | Stop::Duration => {}
        Stop::TargetGone(why) => output::status(&format!("{why}; stopping")),
    }
    if args.output == Format::Json {
        output::json_line(&Summary {
            kind: "summary",
            events: printer.events,
            lost: counters.lost,
            untraced: counters.untraced,
        })?;
    }
    output::status(&format!(
        "{} events, {} lost{}",
        printer.events,
        counters.lost,
        if counters.untraced > 0 {
            format!(", {} calls untraced (no task storage)", counters.untraced)
        } else {
            String::new()
        }
    ));
    Ok(ExitCode::SUCCESS)
}
