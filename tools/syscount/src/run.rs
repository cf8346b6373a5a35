//! syscount's run, behind its command line: the syscall engine in the mode
//! the flags ask for, libbpf-tools' tables (or NDJSON) every interval and
//! at the end.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use cli::args::{RunArgs, TargetArgs};
use cli::driver::{Driver, Plan};
use cli::output::{self, Format};
use cli::replay::{Recorder, Recording};
use cli::sink::Printer;
use engine::{Collector, Filters, Mode};
use kernel::exit::usage;
use kernel::mapsize::Sizing;

use crate::Report;

/// What the command line asks for.
#[derive(Debug)]
pub struct Options {
    pub target: TargetArgs,
    pub pid: Option<u32>,
    /// `-x`: failed calls only.
    pub failures: bool,
    /// `-e ERRNO` or `--errno` alone (an empty value).
    pub errno: Option<String>,
    /// `-l`: list the syscalls and exit.
    pub list: bool,
    /// `--syscall LIST`.
    pub syscall: Option<String>,
    /// What to key and measure (`by_errno` comes from `errno`).
    pub mode: Mode,
    pub interval: Option<Duration>,
    pub top: usize,
    pub run: RunArgs,
    pub sizing: Sizing,
    pub output: Format,
    pub record: Option<PathBuf>,
}

/// Lists the syscalls (`-l`) or traces until the run ends.
pub fn run(opts: Options) -> Result<ExitCode> {
    if opts.list {
        return list_syscalls();
    }
    let (errno, by_errno) = errno_arg(opts.errno.as_deref())?;
    if by_errno && opts.mode.histogram {
        return Err(usage(
            "--histogram and the --errno breakdown do not combine; run them separately",
        ));
    }
    let syscalls = syscall_list(opts.syscall.as_deref())?;
    let mode = Mode {
        by_errno,
        ..opts.mode
    };
    let mut driver = Driver::start(&Plan {
        tool: "syscount",
        target: &opts.target,
        pid: opts.pid,
        pid_flag: true,
        needs: kernel::features::Needs::default(),
        verbose: opts.run.verbose,
        interval: opts.interval,
        duration: opts.run.duration,
    })?;
    if mode.by_cgroup {
        // Containers born and gone between two reports keep their names.
        driver.name_at_birth();
    }
    let filters = Filters {
        target: &driver.target,
        failures: opts.failures,
        errno,
        syscalls: syscalls.as_deref(),
    };
    let mut object = std::mem::MaybeUninit::uninit();
    let mut collector = Collector::start(&mut object, &filters, mode, opts.sizing)?;
    announce(&driver, syscalls.as_deref(), opts.top);
    let mut sink = Recording {
        inner: Printer {
            format: opts.output,
            maps: collector.map_size(),
        },
        recorder: Recorder::open(opts.record.as_deref())?,
    };
    // The same stderr line as every contrace tool; stdout stays libbpf-tools'.
    driver.aggregate(&mut collector, &mut sink, |d| {
        Ok(Report::build(
            d.sample, mode, d.target, d.names, opts.top, d.last,
        ))
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The status lines before tracing (stderr; stdout is libbpf-tools').
fn announce(driver: &Driver, syscalls: Option<&[u32]>, top: usize) {
    if let Some(cg) = driver.target.describe_cgroup() {
        output::status(&format!("Tracing {cg}"));
    }
    if let Some(nrs) = syscalls {
        let (exit, exit_group) = kernel::syscalls::never_returning();
        if nrs.iter().any(|&nr| nr == exit || nr == exit_group) {
            output::status("note: exit and exit_group never return, so they are never counted");
        }
    }
    output::status(&format!(
        "Tracing syscalls, printing top {top}... Ctrl-C to quit."
    ));
}

fn list_syscalls() -> Result<ExitCode> {
    let mut text = String::new();
    for (nr, name) in kernel::syscalls::all() {
        text.push_str(&format!("{nr:>3}: {name}\n"));
    }
    output::print(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `--syscall LIST` as numbers; an empty list is a usage error.
fn syscall_list(list: Option<&str>) -> Result<Option<Vec<u32>>> {
    list.map(|list| {
        let nrs = kernel::syscalls::parse_list(list).map_err(usage)?;
        if nrs.is_empty() {
            return Err(usage(
                "--syscall needs at least one name or number, e.g. --syscall read,write",
            ));
        }
        Ok(nrs)
    })
    .transpose()
}

/// `-e`/`--errno`: `(filter, breakdown)`.
pub fn errno_arg(value: Option<&str>) -> Result<(Option<i32>, bool)> {
    match value {
        None => Ok((None, false)),
        Some("") => Ok((None, true)),
        Some(text) => kernel::errno::parse(text)
            .map(|e| (Some(e), false))
            .ok_or_else(|| {
                usage(format!(
                    "invalid errno '{text}': give a name like ENOENT or a number 1-4095 \
                 (or --errno alone for the per-errno breakdown)"
                ))
            }),
    }
}
