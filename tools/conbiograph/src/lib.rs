//! conbiograph: a container's block I/O over time, each bio charged to the
//! container that caused it (including writeback of pages it dirtied).
//!
//! [`collect::Collector`] is the kernel side (an [`common::collector::Aggregator`]
//! of per-period counts); [`series::Series`] keeps the run; [`chart`] draws
//! it and [`report`] writes rows and the summary.

pub mod chart;
pub mod collect;
pub mod devices;
pub mod docs;
pub mod report;
pub mod series;
pub mod units;

pub use collect::{Collector, Config, DeviceTotals};
pub use series::{Dir, Metric, Period, Series};
