//! The exporter's own kernel-side cost (`--bpf-stats`): how often each of
//! its BPF programs ran and for how long, from the kernel's BPF run-time
//! statistics.
//!
//! Statistics are switched on with `BPF_ENABLE_STATS` only while the
//! exporter runs with the flag (the kernel turns them off when the last
//! holder closes its descriptor; `kernel.bpf_stats_enabled` is left alone)
//! and read only for the programs this process holds: the descriptors in
//! /proc/self/fd that are BPF programs. The accounting itself costs each
//! program run two clock reads, which the numbers include.

use std::fs;
use std::os::fd::{FromRawFd, OwnedFd};

use anyhow::{bail, Context, Result};
use libbpf_rs::libbpf_sys;

/// Keeps the kernel's run-time statistics on while alive.
pub struct StatsEnabled {
    _fd: OwnedFd,
}

/// Turns the statistics on for as long as the result lives.
pub fn enable() -> Result<StatsEnabled> {
    // SAFETY: a plain syscall wrapper; it returns a new descriptor or a
    // negative error.
    let fd = unsafe { libbpf_sys::bpf_enable_stats(libbpf_sys::BPF_STATS_RUN_TIME) };
    if fd < 0 {
        bail!(
            "--bpf-stats: the kernel refused BPF run-time statistics ({}); run without --bpf-stats (Linux 5.8+ is needed)",
            std::io::Error::from_raw_os_error(-fd)
        );
    }
    // SAFETY: the descriptor was just returned to us and nobody else owns it.
    Ok(StatsEnabled {
        _fd: unsafe { OwnedFd::from_raw_fd(fd) },
    })
}

/// One program's totals since it was loaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProgramStats {
    /// The program's name (its function name, up to 15 bytes).
    pub name: String,
    pub id: u32,
    pub run_count: u64,
    pub run_time_ns: u64,
}

/// The statistics of every BPF program this process holds, by id.
pub fn read_own() -> Result<Vec<ProgramStats>> {
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc/self/fd").context("listing /proc/self/fd")? {
        let Ok(entry) = entry else { continue };
        let is_prog = fs::read_link(entry.path())
            .map(|target| target.to_string_lossy() == "anon_inode:bpf-prog")
            .unwrap_or(false);
        let fd = entry.file_name().to_string_lossy().parse::<i32>();
        if let (true, Ok(fd)) = (is_prog, fd) {
            if let Some(stats) = program_info(fd) {
                out.push(stats);
            }
        }
    }
    out.sort_by_key(|p| p.id);
    out.dedup_by_key(|p| p.id);
    Ok(out)
}

/// The kernel's record of the program behind `fd` (`None` if it is not one
/// any more: the descriptor may have closed since it was listed).
fn program_info(fd: i32) -> Option<ProgramStats> {
    let mut info = libbpf_sys::bpf_prog_info::default();
    let mut len = std::mem::size_of::<libbpf_sys::bpf_prog_info>() as u32;
    // SAFETY: `info` is a zeroed bpf_prog_info of `len` bytes (no pointers
    // set, so the kernel fills only the fixed fields).
    let rc = unsafe { libbpf_sys::bpf_prog_get_info_by_fd(fd, &mut info, &mut len) };
    if rc != 0 {
        return None;
    }
    let name: Vec<u8> = info
        .name
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Some(ProgramStats {
        name: String::from_utf8_lossy(&name).into_owned(),
        id: info.id,
        run_count: info.run_cnt,
        run_time_ns: info.run_time_ns,
    })
}
