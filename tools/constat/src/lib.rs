//! constat: syscall statistics of one container (or of every cgroup),
//! counted in the kernel per (cgroup, syscall).
//!
//! [`collect::Collector`] is the kernel side (an [`kernel::collector::Aggregator`]);
//! [`report::Report`] turns one of its samples into a table or NDJSON;
//! [`summary::Summary`] folds a host-wide sample into one row per cgroup;
//! [`live`] is the full-screen view (`--live`) and [`replay`] reads saved
//! runs back (`--replay`); [`seccomp`] makes and checks seccomp profiles
//! from what was counted.
//! The per-process, errno and latency-histogram views are syscount's
//! collector and report, shared (see the `syscount` crate).

pub mod cells;
pub mod collect;
pub mod docs;
pub mod live;
pub mod replay;
pub mod report;
pub mod run;
pub mod seccomp;
pub mod summary;

pub use collect::{Collector, Row};
pub use report::{Options, Report, SortKey};
pub use summary::{Summary, SummaryReport};
