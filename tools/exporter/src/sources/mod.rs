//! The exporter's view of the tools' collectors: each one behind [`Source`],
//! handing over what it counted since its previous drain, keyed by cgroup
//! id. One tool, one program, one collector, one source; the store adds the
//! deltas up, so a source never keeps totals itself.

// Used once conbiograph's per-cgroup collector lands (see the module).
#[allow(dead_code)]
pub mod block;
pub mod namespaces;
pub mod syscalls;

use std::collections::HashMap;

use anyhow::Result;
use kernel::collector::Health;
use kernel::syscalls::Call;

/// What one cgroup did since the previous drain.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CgroupDelta {
    /// By syscall (a 32-bit call is a syscall of its own).
    pub syscalls: HashMap<Call, SyscallDelta>,
    /// Failed calls by errno.
    pub errnos: HashMap<i32, u64>,
    /// Namespace changes by (call, namespace kind).
    pub namespaces: HashMap<(&'static str, &'static str), u64>,
    pub block: BlockDelta,
}

/// Calls of one syscall.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyscallDelta {
    /// Completed (or denied) calls: every exit the kernel reported.
    pub calls: u64,
    /// Calls that returned an error.
    pub errors: u64,
    /// Calls a seccomp filter denied before they ran (with the entry hook:
    /// an exit without an entry; `--latency` or `--denied`).
    pub denied: u64,
    /// Time inside the calls (latency mode only).
    pub ns: u64,
}

impl SyscallDelta {
    pub fn add(&mut self, other: &SyscallDelta) {
        self.calls += other.calls;
        self.errors += other.errors;
        self.denied += other.denied;
        self.ns += other.ns;
    }
}

/// Block I/O, [read, write], and the written-back part: the block I/O
/// collector's own counters.
pub use blockio::IoCounts as BlockDelta;

/// Everything every source counted in one drain.
#[derive(Debug, Default)]
pub struct Deltas {
    pub cgroups: HashMap<u64, CgroupDelta>,
    /// What the sources could not record in this drain (not totals).
    pub health: Health,
}

impl Deltas {
    /// The delta of cgroup `id`, created empty.
    pub fn cgroup(&mut self, id: u64) -> &mut CgroupDelta {
        self.cgroups.entry(id).or_default()
    }
}

/// One collector as the exporter drives it.
pub trait Source {
    /// Short name for messages (`syscalls`, `namespaces`, `block`).
    fn name(&self) -> &'static str;

    /// Adds what was counted since the previous drain to `out`. Nothing may
    /// be lost between two drains.
    fn drain(&mut self, out: &mut Deltas) -> Result<()>;

    /// Detaches the programs, then adds what is left: nothing can be
    /// counted after this.
    fn finish(&mut self, out: &mut Deltas) -> Result<()>;

    /// These cgroups are gone: kernel state kept per cgroup may go too.
    fn forget(&mut self, _cgroups: &[u64]) -> Result<()> {
        Ok(())
    }
}
