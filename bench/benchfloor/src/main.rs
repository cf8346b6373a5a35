//! benchfloor: attaches empty BPF programs to the syscall hooks and waits
//! for Ctrl-C, so benchmarks can measure what the hook alone costs.

use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};

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
    /// Prototype: as proto-percpu-last, the id from bpf_get_current_cgroup_id
    ProtoLastHelper,
    /// Prototype: one cgroup's calls counted (its id compared, one increment)
    ProtoTargetIn,
    /// Prototype, enter+exit: a call outside the one cgroup (the compare alone)
    ProtoTargetOut,
    /// Prototype, enter+exit: the call in flight in task storage
    ProtoStartStorage,
    /// Prototype, enter+exit: the call in flight in task storage, timed
    ProtoStartTimed,
    /// Prototype, enter+exit: the call in flight per CPU, preemption off
    ProtoStartPercpu,
    /// Prototype, enter+exit: the call in flight per CPU, unguarded
    ProtoStartUnguarded,
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
            Hooks::ProtoLastHelper => "proto_last_helper",
            Hooks::ProtoTargetIn => "proto_target_in",
            Hooks::ProtoTargetOut => "proto_target_out_exit",
            Hooks::ProtoStartStorage => "proto_start_storage_exit",
            Hooks::ProtoStartTimed => "proto_start_timed_exit",
            Hooks::ProtoStartPercpu => "proto_start_percpu_exit",
            Hooks::ProtoStartUnguarded => "proto_start_unguarded_exit",
        }
    }

    /// The sys_enter program of this choice, if it has one.
    fn enter_program(self) -> Option<&'static str> {
        match self {
            Hooks::EnterExit => Some("floor_enter"),
            Hooks::ProtoTargetOut => Some("proto_target_out_enter"),
            Hooks::ProtoStartStorage => Some("proto_start_storage_enter"),
            Hooks::ProtoStartTimed => Some("proto_start_timed_enter"),
            Hooks::ProtoStartPercpu => Some("proto_start_percpu_enter"),
            Hooks::ProtoStartUnguarded => Some("proto_start_unguarded_enter"),
            _ => None,
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
    let (exit, enter) = (args.hooks.exit_program(), args.hooks.enter_program());
    for mut prog in open.open_object_mut().progs_mut() {
        let name = prog.name().to_string_lossy().into_owned();
        prog.set_autoload(name == exit || Some(name.as_str()) == enter);
    }
    // Only this kernel's map types: cgroup storage is 6.2+.
    open.maps
        .proto_cgrp_index
        .set_autocreate(matches!(args.hooks, Hooks::ProtoCgrpStorage))
        .context("configuring the prototype maps")?;
    let mut skel = open.load().context("loading the floor programs")?;
    let mut links = Vec::new();
    for prog in skel.object_mut().progs_mut() {
        let name = prog.name().to_string_lossy().into_owned();
        if name == exit || Some(name.as_str()) == enter {
            links.push(prog.attach().with_context(|| format!("attaching {name}"))?);
        }
    }
    cli::output::status("Empty programs attached. Ctrl-C to stop");
    let mut run_loop = cli::runloop::RunLoop::new(None, None);
    cli::signals::stop_on_signals(run_loop.handle())?;
    run_loop.wait();
    Ok(ExitCode::SUCCESS)
}
