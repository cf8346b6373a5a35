//! syscount: syscall counts (and latencies) of the host, a container or a
//! process, counted in the kernel; a drop-in for libbpf-tools' syscount.
//!
//! [`collect::Collector`] is the kernel side (an [`common::collector::Aggregator`]);
//! [`report::Report`] turns one of its samples into libbpf-tools' tables,
//! histograms or NDJSON.

pub mod collect;
pub mod docs;
pub mod hist;
pub mod report;

pub use collect::{Collector, Counts, Filters, Mode, Row};
pub use report::Report;
