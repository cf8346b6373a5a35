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
    /// Prototype: per-CPU hash keyed (cgroup, syscall, errno) on sys_exit
    ProtoHash,
    /// Prototype: cgroup local storage -> index -> per-CPU slot array
    ProtoCgrpStorage,
    /// Prototype: task local storage caching (cgroup, index) -> slot array
    ProtoTaskStorage,
    /// Prototype: task local storage caching (css_set, index) -> slot array
    ProtoTaskCset,
    /// Prototype: hash cgroup id -> index -> per-CPU slot array
    ProtoIndexHash,
    /// Prototype: per-CPU cache of (cgroup, index) -> slot array
    ProtoPercpuCache,
    /// Prototype: the last (cgroup, index) of this CPU -> slot array
    ProtoPercpuLast,
}

impl Hooks {
    /// The one sys_exit program of this choice.
    fn exit_program(self) -> &'static str {
        match self {
            Hooks::EnterExit | Hooks::Exit => "floor_exit",
            Hooks::ProtoHash => "proto_hash",
            Hooks::ProtoCgrpStorage => "proto_cgrp_storage",
            Hooks::ProtoTaskStorage => "proto_task_storage",
            Hooks::ProtoTaskCset => "proto_task_cset",
            Hooks::ProtoIndexHash => "proto_index_hash",
            Hooks::ProtoPercpuCache => "proto_percpu_cache",
            Hooks::ProtoPercpuLast => "proto_percpu_last",
        }
    }
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
    let mut open = skel::BenchfloorSkelBuilder::default().open(&mut object)?;
    let wanted = args.hooks.exit_program();
    for mut prog in open.open_object_mut().progs_mut() {
        let name = prog.name().to_string_lossy().into_owned();
        let keep =
            name == wanted || (name == "floor_enter" && matches!(args.hooks, Hooks::EnterExit));
        prog.set_autoload(keep);
    }
    // Only this kernel's map types: cgroup storage is 6.2+.
    open.maps
        .proto_cgrp_index
        .set_autocreate(matches!(args.hooks, Hooks::ProtoCgrpStorage))
        .context("configuring the prototype maps")?;
    let skel = open.load().context("loading the floor programs")?;
    let progs = &skel.progs;
    let exit = match args.hooks {
        Hooks::EnterExit | Hooks::Exit => &progs.floor_exit,
        Hooks::ProtoHash => &progs.proto_hash,
        Hooks::ProtoCgrpStorage => &progs.proto_cgrp_storage,
        Hooks::ProtoTaskStorage => &progs.proto_task_storage,
        Hooks::ProtoTaskCset => &progs.proto_task_cset,
        Hooks::ProtoIndexHash => &progs.proto_index_hash,
        Hooks::ProtoPercpuCache => &progs.proto_percpu_cache,
        Hooks::ProtoPercpuLast => &progs.proto_percpu_last,
    };
    let _exit = exit.attach().context("attaching sys_exit")?;
    let _enter = match args.hooks {
        Hooks::EnterExit => Some(
            skel.progs
                .floor_enter
                .attach()
                .context("attaching sys_enter")?,
        ),
        _ => None,
    };
    cli::output::status("Empty programs attached. Ctrl-C to stop");
    let mut run_loop = cli::runloop::RunLoop::new(None, None);
    cli::signals::stop_on_signals(run_loop.handle())?;
    run_loop.wait();
    Ok(ExitCode::SUCCESS)
}
