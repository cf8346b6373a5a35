//! The end-to-end tests, one binary (linked once) with a module per file.

mod block_edges;
mod conbiograph;
mod constat;
mod container_tools;
mod containers;
mod device_completion;
mod engine;
mod exporter;
mod exporter_security;
mod hardening;
mod hostile;
mod live;
mod mapsize;
mod prometheus_harness;
mod replay;
mod seccomp;
mod shared;
mod soak;
mod syscall_edges;
mod syscount;
mod unsharesnoop;
mod ux;
