//! What one drain of the engine returns: the one row shape every report
//! reads.

use std::collections::{BTreeMap, HashMap};

use kernel::syscalls::Call;

/// Buckets of a latency histogram (the BPF side's `SYSCALLS_HIST_SLOTS`).
pub const HIST_SLOTS: usize = 32;

/// What a row counts: a syscall, or a process (by process).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Syscall(Call),
    /// A process by its tgid.
    Process(u32),
}

impl Key {
    /// The syscall of a per-syscall row.
    pub fn call(self) -> Option<Call> {
        match self {
            Key::Syscall(call) => Some(call),
            Key::Process(_) => None,
        }
    }
}

impl Default for Key {
    fn default() -> Self {
        Key::Syscall(Call::default())
    }
}

/// One kernel row: a syscall or a process (and its cgroup, errno).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    /// The cgroup, when rows are split by cgroup.
    pub cgroup_id: Option<u64>,
    pub key: Key,
    /// By errno: the errno these calls failed with (0 = succeeded).
    pub err: i32,
    pub count: u64,
    /// Failed calls as the process saw them (restart codes are not).
    pub errors: u64,
    /// Calls a seccomp filter stopped before they ran (with the entry hook).
    pub denied: u64,
    /// Time inside the calls (timed modes).
    pub total_ns: u64,
    /// The longest call (timed modes).
    pub max_ns: u64,
    /// Failed calls per errno (with the errno tally); restart codes are
    /// tallied under their own numbers (`kernel::errno::is_restart`).
    pub errnos: BTreeMap<i32, u64>,
    /// By process: its name (raw bytes).
    pub comm: Vec<u8>,
}

impl Row {
    /// The syscall of a per-syscall row.
    pub fn call(&self) -> Option<Call> {
        self.key.call()
    }

    /// Adds another row's counts (of the same key, e.g. a child cgroup's
    /// folded into its parent's): sums, the longest call, the errnos.
    pub fn add(&mut self, other: &Row) {
        self.count += other.count;
        self.errors += other.errors;
        self.denied += other.denied;
        self.total_ns += other.total_ns;
        self.max_ns = self.max_ns.max(other.max_ns);
        for (&errno, &n) in &other.errnos {
            *self.errnos.entry(errno).or_default() += n;
        }
    }
}

/// Key of a latency histogram: (cgroup, what the row counts).
pub type HistKey = (Option<u64>, Key);

/// Everything counted since the previous drain.
#[derive(Debug, Default)]
pub struct Counts {
    pub rows: Vec<Row>,
    pub hists: HashMap<HistKey, Vec<u64>>,
}
