//! The libbpf-rs skeleton of `bpf/syscalls.bpf.c`, generated at build time:
//! its loader and the C types of its maps, for the collector and the
//! per-cgroup slot arrays alike.

#![allow(clippy::all, non_camel_case_types, dead_code, unused_imports)]

include!(concat!(env!("OUT_DIR"), "/syscalls.skel.rs"));
