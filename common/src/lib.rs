//! Shared by every contrace tool: resolving container targets to cgroup v2
//! ids, naming syscalls and errnos, the signal-aware run loop and the
//! driver that runs a tool's collector into its sink, preflight checks,
//! BPF plumbing, and table/NDJSON output.

pub mod args;
pub mod bpf;
pub mod cgroup;
pub mod cli;
pub mod collector;
pub mod complete;
pub mod container;
pub mod docs;
pub mod driver;
pub mod errno;
pub mod escape;
pub mod exit;
pub mod identity;
pub mod kernel;
pub mod mapped;
pub mod mapsize;
pub mod output;
pub mod preflight;
pub mod replay;
pub mod runloop;
pub mod sink;
pub mod syscalls;
pub mod target;
pub mod terminal;
pub mod timefmt;
