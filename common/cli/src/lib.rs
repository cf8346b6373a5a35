//! The command-line and output layer of the tools: arguments and their
//! one-line usage errors, the shared start-up and driver (collector -> run
//! loop -> sink), sinks for tables and NDJSON, record and replay, the
//! full-screen terminal (feature `full-screen`), man pages and completion.
//!
//! The top of the pipeline: the exporter links none of it.

pub mod args;
pub mod complete;
pub mod docs;
pub mod driver;
pub mod output;
pub mod replay;
pub mod runloop;
pub mod signals;
pub mod sink;
mod startup;
#[cfg(feature = "full-screen")]
pub mod terminal;
pub mod timefmt;

pub use startup::{main, Startup};
