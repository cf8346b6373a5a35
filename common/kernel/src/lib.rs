//! The kernel side's plumbing, shared by every collector: opening, sizing,
//! loading and attaching BPF objects (feature probes, not kernel versions),
//! draining per-CPU maps with nothing lost between drains, and the facts
//! every layer above shares (syscall and errno names, exit statuses,
//! escaping bytes for a terminal).
//!
//! The bottom of the pipeline: it knows kernel ids only (cgroup ids, pids,
//! syscall numbers), never containers or command lines.

pub mod bpf;
pub mod collector;
pub mod errno;
pub mod escape;
pub mod exit;
pub mod features;
pub mod mapped;
pub mod mapsize;
pub mod preflight;
pub mod syscalls;
