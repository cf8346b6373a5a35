//! benchfloor: attaches empty BPF programs to the syscall hooks and waits
//! for Ctrl-C, so benchmarks can measure what the hook alone costs.

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use libbpf_rs::skel::{OpenSkel, SkelBuilder};

#[allow(clippy::all, non_camel_case_types, dead_code, unused_imports)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/benchfloor.skel.rs"));
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Hooks {
    /// tp_btf sys_enter + sys_exit (constat, syscount -L)
    EnterExit,
    /// tp_btf sys_exit only (syscount count-only)
    Exit,
}

/// Empty programs on the syscall tracepoints: the benchmark floor.
#[derive(Parser)]
struct Args {
    #[arg(long, value_enum, default_value_t = Hooks::EnterExit)]
    hooks: Hooks,
}

impl cli::docs::Documented for Args {
    const PAGE: &'static cli::docs::Page = &cli::docs::Page::NONE;
}

fn main() -> ExitCode {
    cli::main("benchfloor", run)
}

fn run(args: Args) -> Result<ExitCode> {
    kernel::preflight::check("benchfloor", kernel::features::Needs::default())?;
    let mut object = MaybeUninit::uninit();
    let open = skel::BenchfloorSkelBuilder::default().open(&mut object)?;
    let skel = open.load().context("loading empty programs")?;
    let _exit = skel
        .progs
        .floor_exit
        .attach()
        .context("attaching sys_exit")?;
    let _enter = match args.hooks {
        Hooks::EnterExit => Some(
            skel.progs
                .floor_enter
                .attach()
                .context("attaching sys_enter")?,
        ),
        Hooks::Exit => None,
    };
    cli::output::status("Empty programs attached. Ctrl-C to stop");
    let mut run_loop = cli::runloop::RunLoop::new(None, None);
    cli::signals::stop_on_signals(run_loop.handle())?;
    run_loop.wait();
    Ok(ExitCode::SUCCESS)
}
