//! What the running kernel offers BPF programs, found by probing it (never
//! by its version number): whether it is new enough at all, and which of
//! the programs' paths to take where a feature came later.
//!
//! | feature | since | without it |
//! |---|---|---|
//! | BTF-typed tracepoints (`tp_btf`) | 5.5 | refused |
//! | BPF ring buffer (unsharesnoop) | 5.8 | refused |
//! | `bpf_get_current_task_btf` | 5.11 | CO-RE probe reads of the task |
//! | task-local storage | 5.11 | a hash keyed by thread id, emptied at thread exit |
//!
//! The programs read `task_btf`, `task_storage` and `compat_syscalls` from
//! .rodata (bpf/include/current_task.h, syscall_start.h), so the verifier
//! prunes the path not taken: new kernels pay nothing for the fallbacks.

use std::ffi::CString;
use std::sync::OnceLock;

use anyhow::{bail, Result};
use libbpf_rs::libbpf_sys;

/// The oldest kernel every contrace tool runs on (unsharesnoop's ring
/// buffer; constat and syscount would load from 5.5, untested below 5.10).
pub const MIN_KERNEL: &str = "5.8";

/// Features the programs adapt to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Features {
    /// `bpf_get_current_task_btf()`: fields of the task are plain loads.
    pub task_btf: bool,
    /// `BPF_MAP_TYPE_TASK_STORAGE`: per-thread state freed with the thread.
    pub task_storage: bool,
    /// The kernel runs 32-bit syscalls (x86 IA32 emulation built in): they
    /// are told apart from native ones by TS_COMPAT.
    pub compat_syscalls: bool,
}

/// What a tool needs from the kernel beyond what every tool needs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Needs {
    /// A BPF ring buffer (unsharesnoop's event stream, Linux 5.8+).
    pub ring_buffer: bool,
}

fn map_type_supported(kind: libbpf_sys::bpf_map_type) -> bool {
    // SAFETY: a probe with no options; it creates and closes a map.
    unsafe { libbpf_sys::libbpf_probe_bpf_map_type(kind, std::ptr::null()) == 1 }
}

/// A helper tracepoint programs may call (the tracing helpers are shared by
/// every tracing program type, tp_btf included).
fn helper_supported(helper: libbpf_sys::bpf_func_id) -> bool {
    // SAFETY: a probe with no options; it loads and closes a tiny program.
    unsafe {
        libbpf_sys::libbpf_probe_bpf_helper(
            libbpf_sys::BPF_PROG_TYPE_TRACEPOINT,
            helper,
            std::ptr::null(),
        ) == 1
    }
}

/// A type of this name and kind (`BTF_KIND_*`) is in the kernel's BTF.
fn kernel_btf_has(name: &str, kind: u32) -> bool {
    let Ok(name) = CString::new(name) else {
        return false;
    };
    // SAFETY: libbpf parses the kernel's BTF into an object we free below;
    // the name is a valid C string for the lookup.
    unsafe {
        let btf = libbpf_sys::btf__load_vmlinux_btf();
        if btf.is_null() || libbpf_sys::libbpf_get_error(btf.cast()) != 0 {
            return false;
        }
        let id = libbpf_sys::btf__find_by_name_kind(btf, name.as_ptr(), kind);
        libbpf_sys::btf__free(btf);
        id > 0
    }
}

/// `5.10.0-30-amd64`: what uname says, for messages.
fn release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|r| r.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Refuses a kernel without what `tool` needs, in one line. Call after the
/// privilege check (probes load programs).
pub fn check(tool: &str, needs: Needs) -> Result<()> {
    // tp_btf programs attach through the `btf_trace_<event>` typedefs
    // (probing the TRACING program type would need fentry, which kernel
    // lockdown refuses even where tp_btf works).
    let missing = if !kernel_btf_has("btf_trace_sys_enter", libbpf_sys::BTF_KIND_TYPEDEF) {
        Some("BTF-typed tracepoints (tp_btf, 5.5+)")
    } else if needs.ring_buffer && !map_type_supported(libbpf_sys::BPF_MAP_TYPE_RINGBUF) {
        Some("the BPF ring buffer (5.8+)")
    } else {
        None
    };
    if let Some(what) = missing {
        bail!(
            "{tool} needs Linux {MIN_KERNEL} or later with BTF: this kernel ({}) has no {what}",
            release()
        );
    }
    Ok(())
}

/// The running kernel's features, probed once.
pub fn features() -> Features {
    static FEATURES: OnceLock<Features> = OnceLock::new();
    *FEATURES.get_or_init(|| {
        let task_btf = helper_supported(libbpf_sys::BPF_FUNC_get_current_task_btf);
        Features {
            task_btf,
            // Task storage is handed a BTF task pointer: both or neither.
            task_storage: task_btf && map_type_supported(libbpf_sys::BPF_MAP_TYPE_TASK_STORAGE),
            compat_syscalls: cfg!(target_arch = "x86_64")
                && kernel_btf_has("__ia32_sys_read", libbpf_sys::BTF_KIND_FUNC),
        }
    })
}

/// Test hook: `CONTRACE_FORCE_FALLBACK=1` makes the tools take the old
/// kernels' paths on a new kernel, so both are tested everywhere.
pub fn effective_features() -> Features {
    let mut f = features();
    if std::env::var_os("CONTRACE_FORCE_FALLBACK").is_some_and(|v| v == "1") {
        f.task_btf = false;
        f.task_storage = false;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_kernel_is_supported_and_probed() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipping: probing BPF features needs root");
            return;
        }
        check("test", Needs { ring_buffer: true }).unwrap();
        let f = features();
        // Storage without BTF task pointers is never chosen.
        assert!(f.task_btf || !f.task_storage, "{f:?}");
    }
}
