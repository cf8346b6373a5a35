//! constat: syscall statistics of one container (or of every cgroup),
//! counted in the kernel per (cgroup, syscall).
//!
//! [`collect::Collector`] is the kernel side (an [`common::collector::Aggregator`]);
//! [`report::Report`] turns one of its samples into a table or NDJSON.

pub mod collect;
pub mod report;

pub use collect::{Collector, Row};
pub use report::{Options, Report, SortKey};
