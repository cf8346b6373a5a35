//! syscount: syscall counts (and latencies) of the host, a container or a
//! process, counted in the kernel; a drop-in for libbpf-tools' syscount.
//!
//! The kernel side is the syscall engine (the `contrace-engine` crate,
//! loaded in syscount's mode); [`report::Report`] turns one of its samples
//! into libbpf-tools' tables, histograms or NDJSON.

pub mod docs;
pub mod hist;
pub mod report;
pub mod run;

pub use report::Report;
