//! conbiograph: a container's block I/O over time, each bio charged to the
//! container that caused it (including writeback of pages it dirtied).
//!
//! [`collect::Collector`] is the kernel side (an [`common::collector::Aggregator`]
//! of per-period counts); [`series::Series`] keeps the run; [`chart`] draws
//! it and [`report`] writes rows and the summary.

pub mod cgroups;
pub mod chart;
pub mod collect;
pub mod devices;
pub mod kernel;
pub mod report;
pub mod series;
pub mod units;

pub use cgroups::{CgroupCollector, CgroupConfig, CgroupIo, IoCounts, Owner, Totals};
pub use collect::{Collector, Config, DeviceTotals};
pub use kernel::{Blkcg, DirtyHook, Features};
pub use series::{Dir, Metric, Period, Series};
