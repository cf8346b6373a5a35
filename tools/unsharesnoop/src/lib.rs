//! unsharesnoop: every namespace change as it happens: unshare(2), setns(2)
//! and the clone(2)/clone3(2) calls that create namespaces.
//!
//! The kernel side and the decoding are the shared namespace collector
//! ([`nsevents`], which the exporter uses as well); [`report`] shows an
//! event as a table line or NDJSON; [`run`] is the tool behind its command
//! line (a trace through the shared driver and sink, or a replay).

pub mod docs;
pub mod replay;
pub mod report;
pub mod run;

// The collector's modules under their old paths.
pub use nsevents::{collect, event, flags, inflight, target_ns};
pub use nsevents::{Call, Collector, Config, Event};
