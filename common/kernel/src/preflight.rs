//! Checks done before touching BPF, each failing with one actionable line
//! (exit status 1) instead of a wall of libbpf errors.

use std::fs;
use std::path::Path;

use anyhow::{bail, Result};

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

use crate::features::Needs;

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

/// Runs the checks in order: privileges, kernel BTF, kernel features.
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
    crate::features::check(tool, needs)?;
    Ok(())
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
