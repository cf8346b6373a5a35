//! unsharesnoop's command line; the run is the library's
//! ([`unsharesnoop::run`]).

use std::process::ExitCode;

use clap::Parser;
use cli::args::{OutputArgs, RunArgs, TargetArgs};
use cli::complete::{processes, ArgValueCompleter};
use cli::replay::ReplayArgs;

use unsharesnoop::run::{buffer_pages, Options, DEFAULT_BUFFER_PAGES};
use unsharesnoop::Call;

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
    #[arg(short = 'p', long, value_name = "PID", value_parser = cli::args::pid,
          add = ArgValueCompleter::new(processes))]
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
    /// event, then a summary object with `events`, `lost`, `untraced`,
    /// `target` and `calls`).
    #[command(flatten)]
    output: OutputArgs,
    /// Ring buffer size in pages (a power of two, 1 GiB at most). Raise it
    /// if events are reported lost.
    #[arg(long, value_name = "PAGES", default_value_t = DEFAULT_BUFFER_PAGES,
          value_parser = buffer_pages)]
    buffer_pages: u32,
    #[command(flatten)]
    replay: ReplayArgs,
}

impl cli::docs::Documented for Args {
    const PAGE: &'static cli::docs::Page = &unsharesnoop::docs::PAGE;
}

impl From<Args> for Options {
    fn from(args: Args) -> Self {
        Options {
            all: args.all,
            target: args.target,
            pid: args.pid,
            calls: args.calls,
            run: args.run,
            output: args.output.output,
            buffer_pages: args.buffer_pages,
            replay: args.replay,
        }
    }
}

fn main() -> ExitCode {
    cli::main("unsharesnoop", |args: Args| {
        unsharesnoop::run::run(args.into())
    })
}
