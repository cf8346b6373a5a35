//! The syscall engine: one BPF program (`bpf/syscalls.bpf.c`) and one
//! collector that count syscalls for every consumer (constat, syscount,
//! `constat --live`, contrace-exporter).
//!
//! A consumer says what it needs in a [`Mode`] (and what to trace in
//! [`Filters`]); the collector writes that into the program's `.rodata`
//! before load, so the verifier prunes everything else and only the hooks
//! the mode needs are attached. Every drain returns the same shape,
//! [`Counts`] of [`Row`]s: the reports of each tool are views over it.
//!
//! For the node exporter the same exit program also counts every cgroup
//! through per-cgroup slot arrays (the cheapest exact key, see
//! `cgroup_slots`) and makes unsharesnoop's namespace-change records
//! ([`Collector::namespace_records`]): one program run per syscall.
//!
//! Counted are calls, not returns, in every mode (see the BPF source):
//! the clone family's second return is skipped, `rt_sigreturn` is counted,
//! and the kernel's restart codes are not failures.

mod cgroup_slots;
mod collect;
mod mode;
mod namespaces;
mod rows;
mod skel;

pub use collect::Collector;
pub use mode::{Filters, Mode};
pub use rows::{Counts, HistKey, Key, Row, HIST_SLOTS};
