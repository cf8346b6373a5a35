//! Checks done before touching BPF, each failing with one actionable line
//! (exit status 1) instead of a wall of libbpf errors.

use std::fs;
use std::path::Path;

use anyhow::{bail, Result};

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// What a tool needs from the kernel besides privileges.
#[derive(Clone, Copy, Debug, Default)]
pub struct Needs {
    /// Per-syscall `tracepoint/` programs read their ids from tracefs.
    pub tracefs: bool,
    /// A BPF ring buffer (Linux 5.8+).
    pub ring_buffer: bool,
}

/// Effective capability mask of this process, from /proc/self/status
/// (bytes: its Name: line is our comm, which need not be UTF-8).
fn effective_caps() -> u64 {
    fs::read("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .split(|&b| b == b'\n')
                .find_map(|l| l.strip_prefix(b"CapEff:"))
                .and_then(|hex| u64::from_str_radix(std::str::from_utf8(hex).ok()?.trim(), 16).ok())
        })
        .unwrap_or(0)
}

fn has(caps: u64, cap: u32) -> bool {
    caps & (1u64 << cap) != 0
}

/// Path of the kernel's BTF; overridable so tests can simulate its absence.
fn btf_path() -> String {
    std::env::var("CONTRACE_BTF_PATH").unwrap_or_else(|_| "/sys/kernel/btf/vmlinux".into())
}

/// Runs the checks in order: privileges, kernel BTF, kernel features, tracefs.
pub fn check(tool: &str, needs: Needs) -> Result<()> {
    let caps = effective_caps();
    if !(has(caps, CAP_SYS_ADMIN) || (has(caps, CAP_BPF) && has(caps, CAP_PERFMON))) {
        bail!(
            "needs root, or CAP_BPF and CAP_PERFMON, to load BPF programs: run `sudo {tool} ...`"
        );
    }
    let btf = btf_path();
    if !Path::new(&btf).exists() {
        bail!(
            "kernel BTF not found at {btf}: this kernel lacks CONFIG_DEBUG_INFO_BTF=y; \
             use a kernel built with BTF (most distribution kernels since 5.8 are)"
        );
    }
    crate::kernel::check(
        tool,
        crate::kernel::Requires {
            ring_buffer: needs.ring_buffer,
        },
    )?;
    if needs.tracefs {
        check_tracefs(tool)?;
    }
    Ok(())
}

/// Where tracefs is mounted: its own mount point, or inside debugfs.
const TRACEFS_ROOTS: [&str; 2] = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

/// The tracefs events directory, where tracepoint ids live.
pub fn tracefs_events() -> Option<&'static str> {
    [
        "/sys/kernel/tracing/events",
        "/sys/kernel/debug/tracing/events",
    ]
    .into_iter()
    .find(|p| Path::new(p).is_dir())
}

/// Per-syscall tracepoints are attached by id, read from
/// `events/<category>/<name>/id` in tracefs. Three ways that fails, each
/// with its own fix: tracefs not mounted; mounted but not readable by this
/// user (file capabilities grant BPF and perf, not file access: tracefs is
/// root's, mode 0700, by default); the id files themselves unreadable.
fn check_tracefs(tool: &str) -> Result<()> {
    for root in TRACEFS_ROOTS {
        let events = Path::new(root).join("events");
        match fs::read_dir(&events) {
            Ok(_) if id_file_readable(&events) => return Ok(()),
            Ok(_) => return Err(unreadable(tool, root, "its tracepoint id files")),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(unreadable(tool, root, "it"))
            }
            Err(_) => {}
        }
    }
    bail!(
        "tracefs is not mounted (no /sys/kernel/tracing/events): \
         run `mount -t tracefs nodev /sys/kernel/tracing`"
    )
}

/// Whether one syscall tracepoint's id file can be opened (they all share
/// the mount's owner and mode).
fn id_file_readable(events: &Path) -> bool {
    let Ok(entries) = fs::read_dir(events.join("syscalls")) else {
        // No syscall tracepoints at all: let the attach say so.
        return true;
    };
    let Some(tracepoint) = entries
        .flatten()
        .find(|e| e.file_type().is_ok_and(|t| t.is_dir()))
    else {
        return true;
    };
    match fs::File::open(tracepoint.path().join("id")) {
        Err(e) => e.kind() != std::io::ErrorKind::PermissionDenied,
        Ok(_) => true,
    }
}

fn unreadable(tool: &str, root: &str, what: &str) -> anyhow::Error {
    let mode = fs::metadata(root)
        .map(|m| {
            use std::os::unix::fs::MetadataExt;
            format!("mode {:04o}, owner uid {}", m.mode() & 0o7777, m.uid())
        })
        .unwrap_or_else(|_| "not readable".into());
    let uid = nix::unistd::geteuid();
    anyhow::anyhow!(
        "tracefs is mounted at {root} ({mode}) but this user (uid {uid}) may not read {what}: \
         a permission problem, not a missing mount; CAP_BPF and CAP_PERFMON do not grant file \
         access. Run as root (`sudo {tool}`), or add cap_dac_read_search to the file \
         capabilities (`setcap cap_bpf,cap_perfmon,cap_dac_read_search+ep $(command -v {tool})`), \
         or let a group read tracefs (`mount -o remount,gid=GROUP,mode=0750 {root}` and run as a \
         member of GROUP)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_bits() {
        assert!(has(1 << CAP_BPF, CAP_BPF));
        assert!(!has(1 << CAP_BPF, CAP_PERFMON));
    }
}
