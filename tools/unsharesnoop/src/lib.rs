//! unsharesnoop: every namespace change as it happens: unshare(2), setns(2)
//! and the clone(2)/clone3(2) calls that create namespaces.
//!
//! [`collect::Collector`] is the kernel side (an [`kernel::collector::EventSource`]);
//! [`event::Event`] decodes one call; [`report`] shows it as a table line
//! or NDJSON; [`run`] is the tool behind its command line (a trace through
//! the shared driver and sink, or a replay).

pub mod collect;
pub mod docs;
pub mod event;
pub mod flags;
pub mod inflight;
pub mod replay;
pub mod report;
pub mod run;
pub mod target_ns;

pub use collect::{Collector, Config};
pub use event::{Call, Event};
