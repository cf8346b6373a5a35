//! conbiograph: a container's block I/O over time as a braille chart,
//! each bio charged to the container that caused it by the shared block
//! I/O collector ([`blockio`], which the exporter uses as well).
//!
//! # The CLI's pieces
//!
//! [`collect::Collector`] (from [`blockio`]) is the per-period kernel side
//! of one target; [`series::Series`] keeps the run; [`chart`] draws it,
//! [`view`] fits it to a terminal and [`report`] writes rows and the
//! summary; [`sink::ChartSink`] takes each drain; [`run`] is the tool behind
//! its command line (a trace through the shared driver, or a replay).

pub mod chart;
pub mod devices;
pub mod docs;
pub mod replay;
pub mod report;
pub mod run;
pub mod series;
pub mod sink;
pub mod units;
pub mod view;

// The collector's modules under their old paths: `conbiograph::collect`,
// `conbiograph::CgroupCollector` and the rest keep working.
pub use blockio::{cgroups, collect, object};
pub use blockio::{Blkcg, DirtyHook, Features};
pub use blockio::{CgroupCollector, CgroupConfig, CgroupIo, IoCounts, Owner, Totals};
pub use blockio::{Collector, Config, DeviceTotals};
pub use series::{Dir, Metric, Period, Series};
