//! The namespace-change collector: every unshare(2), setns(2) and
//! namespace-creating clone(2)/clone3(2) call as it happens, decoded.
//! BPF knows ids only (pid, cgroup id, namespace inodes); naming the
//! cgroup is identity's work, showing the event the tools'
//! (unsharesnoop's table and NDJSON, the exporter's counters).
//!
//! [`collect::Collector`] is the kernel side (an
//! [`kernel::collector::EventSource`]); [`event::Event`] decodes one call,
//! [`flags`] names its flag bits; [`target_ns`] follows one target's
//! namespaces; [`inflight`] finds the calls already under way at start.

pub mod collect;
pub mod event;
pub mod flags;
pub mod inflight;
pub mod target_ns;

pub use collect::{Collector, Config};
pub use event::{Call, Event};
