//! What a consumer asks of the engine, and how that becomes the program's
//! `.rodata`.

use anyhow::{Context, Result};
use identity::target::Target;
use kernel::exit::usage;
use kernel::mapsize::Keys;
use kernel::syscalls::{self, Call};

/// How counts are keyed and what is measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mode {
    /// One row per process (tgid and name) instead of per syscall.
    pub by_process: bool,
    /// Rows split by cgroup (every cgroup of the host).
    pub by_cgroup: bool,
    /// Rows split by the errno a call failed with.
    pub by_errno: bool,
    /// Failures tallied per errno beside each row (touched only on failure).
    pub errno_tally: bool,
    /// Measure time per call (total and longest): attaches the entry hook.
    pub timed: bool,
    /// Show the TIME column and sort by it (a report choice, -L).
    pub latency: bool,
    /// Tell calls a seccomp filter denied before they ran: attaches the
    /// entry hook (also implied by `timed` and `histogram`).
    pub denied: bool,
    /// A log2 latency histogram per row.
    pub histogram: bool,
    /// Histogram buckets in milliseconds instead of microseconds.
    pub millis: bool,
    /// Count the calls that never return (exit, exit_group) at entry.
    pub exits_at_entry: bool,
    /// By cgroup: native calls go to a per-CPU slot array per cgroup
    /// (its index cached per CPU, then per task or in the call's record;
    /// time beside it when timed), failures and denied calls to the errno
    /// tally, from which errors and denied calls are derived. The cheapest
    /// exact key for every cgroup of a host (the exporter); no longest
    /// call (`max_ns`). Ignored where the keys do not allow it (see
    /// [`Mode::uses_cgroup_slots`]); `Collector::start` refuses it with a
    /// target or a filter ([`Filters::is_everything`]).
    pub cgroup_slots: bool,
    /// Namespace changes (unshare, setns, namespace-creating clones) as
    /// unsharesnoop's events, made by the same exit program.
    pub namespaces: bool,
}

impl Mode {
    /// Counts go to a hash keyed by cgroup, process or errno.
    pub fn hashed(&self) -> bool {
        self.by_process || self.by_cgroup || self.by_errno
    }

    /// The entry hook is attached: calls that never entered are told apart.
    pub fn tracks_entry(&self) -> bool {
        self.timed || self.denied || self.histogram || self.exits_at_entry
    }

    /// The per-cgroup slot arrays are used: asked for, keyed by cgroup
    /// alone (no process or errno in the key), no histogram.
    pub fn uses_cgroup_slots(&self) -> bool {
        self.cgroup_slots && self.by_cgroup && !self.by_process && !self.by_errno && !self.histogram
    }

    /// Failures are tallied per errno (asked for, or what the per-cgroup
    /// slot arrays derive errors from).
    pub fn tallies_errnos(&self) -> bool {
        self.errno_tally || self.uses_cgroup_slots()
    }

    /// What the hashes are keyed by, for sizing them from the host.
    pub fn keys(&self) -> Keys {
        if self.by_process {
            Keys::Process
        } else if self.by_cgroup {
            Keys::CgroupSyscall
        } else {
            Keys::Fixed
        }
    }
}

/// What to trace (the target: `-c`, `--exact`, `-p`) and which calls.
#[derive(Clone, Copy, Debug)]
pub struct Filters<'a> {
    pub target: &'a Target,
    /// Failed calls only.
    pub failures: bool,
    /// Calls failing with this errno only.
    pub errno: Option<i32>,
    /// These native numbers only (and the same calls of the 32-bit ABI).
    pub syscalls: Option<&'a [u32]>,
}

impl<'a> Filters<'a> {
    /// Every call of `target`.
    pub fn all(target: &'a Target) -> Self {
        Self {
            target,
            failures: false,
            errno: None,
            syscalls: None,
        }
    }

    /// Every call of every process of the host: nothing to filter.
    pub fn is_everything(&self) -> bool {
        self.target.is_host() && !self.failures && self.errno.is_none() && self.syscalls.is_none()
    }
}

/// Sets bit `slot` of a slot mask.
fn set_bit(mask: &mut [u64], slot: u32) -> Result<()> {
    let word = mask
        .get_mut((slot / 64) as usize)
        .context("the syscall mask is smaller than the counter array")?;
    *word |= 1u64 << (slot % 64);
    Ok(())
}

/// Sets the bits of `nrs` (native numbers) in the slot mask, and of the
/// same calls' 32-bit numbers: `--syscall getppid` means both ABIs.
pub(crate) fn mask_syscalls(mask: &mut [u64], nrs: &[u32], native_slots: u32) -> Result<()> {
    for &nr in nrs {
        if nr >= native_slots {
            return Err(usage(format!(
                "--syscall: number {nr} is out of range (below {native_slots})"
            )));
        }
        let compat = syscalls::compat_number(&syscalls::name(nr))
            .filter(|&c| c < native_slots)
            .map(|c| native_slots + c);
        for slot in std::iter::once(nr).chain(compat) {
            set_bit(mask, slot)?;
        }
    }
    Ok(())
}

/// The slots of `name` in both ABIs (a 32-bit ABI without the call, or a
/// number past the array, gives none).
fn slots_of(name: &str, native_slots: u32) -> Vec<u32> {
    let native = syscalls::number(name).filter(|&n| n < native_slots);
    let compat = syscalls::compat_number(name)
        .filter(|&n| n < native_slots)
        .map(|n| {
            Call {
                nr: n,
                compat: true,
            }
            .slot(native_slots)
        });
    native.into_iter().chain(compat).collect()
}

/// The clone family of both ABIs: their child's return (0) is no call.
pub(crate) fn mask_child_returns(mask: &mut [u64], native_slots: u32) -> Result<()> {
    for name in ["clone", "clone3", "fork", "vfork"] {
        for slot in slots_of(name, native_slots) {
            set_bit(mask, slot)?;
        }
    }
    Ok(())
}

/// Slots of the calls the program names: (exit, exit_group) and their
/// 32-bit twins, rt_sigreturn and its twin. Without a 32-bit ABI the twins
/// are parked past the end, where no call is counted.
pub(crate) struct NamedSlots {
    pub exit: u32,
    pub exit_group: u32,
    pub exit32: u32,
    pub exit_group32: u32,
    pub rt_sigreturn: u32,
    pub rt_sigreturn32: u32,
}

impl NamedSlots {
    pub(crate) fn new(native_slots: u32) -> Self {
        let (exit, exit_group) = syscalls::never_returning();
        let (exit32, exit_group32) =
            syscalls::compat_never_returning().unwrap_or((native_slots, native_slots));
        let rt_sigreturn = syscalls::number("rt_sigreturn").unwrap_or(native_slots);
        let rt_sigreturn32 = syscalls::compat_number("rt_sigreturn").unwrap_or(native_slots);
        Self {
            exit,
            exit_group,
            exit32: native_slots + exit32,
            exit_group32: native_slots + exit_group32,
            rt_sigreturn,
            rt_sigreturn32: native_slots + rt_sigreturn32,
        }
    }
}
