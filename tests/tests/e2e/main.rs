//! The end-to-end tests: the real tools and BPF programs in this kernel,
//! real cgroups, workloads with known syscalls (tests/workload/src/main.rs)
//! and, in the `runtimes` tier, real container runtimes, Prometheus and
//! terminals. One test binary, linked once, with a module per subject.
//!
//! Tiers (`scripts/test TIER`; each module belongs to exactly one, and
//! scripts/test checks that every test does):
//!
//! | tier | modules | needs |
//! |---|---|---|
//! | `bpf` | targets, accuracy, intervals, namespaces, block, hostile, scale, cli, exporter, replay, docs | root, bpftrace, strace |
//! | `runtimes` | containers, seccomp, prometheus, exporter_security, live | root, docker/podman/containerd, Prometheus, tmux |
//!
//! Run one module with `cargo test -p contrace-tests --test e2e -- block::`
//! (after `cargo build --workspace --bins`); root tests skip without root
//! unless `REQUIRE_BPF_TESTS=1`, which makes them fail instead.
//!
//! Root tests run two at a time and share the host; one that judges the
//! whole host (a host-wide tool's memory or drops) or floods it with
//! cgroups is declared `root_test!(alone NAME, …)` and runs by itself.
//!
//! A new test goes into the module of its subject (a new module is listed
//! here, in the table above and in scripts/test's tier list); its name says
//! what it checks; shared helpers go to the harness (tests/src).

/// `-c`/`-p` resolution and a target's end.
mod targets;

/// Syscall counts, errors, latency and histograms against ground truth.
mod accuracy;

/// Interval reports, `-i 0`, `-d`.
mod intervals;

/// unsharesnoop and namespace calls.
mod namespaces;

/// conbiograph and block I/O.
mod block;

/// Signals, pipes, terminals and hostile input.
mod hostile;

/// Many instances, threads, cgroups and keys; map sizing; the soak.
mod scale;

/// Usage errors, privileges, `-v`, man pages, completion, install.
mod cli;

/// contrace-exporter scraped directly.
mod exporter;

/// `--record` and `--replay`.
mod replay;

/// The man pages, docs/ and examples/ against the tools' real output.
mod docs;

/// Container runtimes: identity, the tools and the exporter on containers.
mod containers;

/// seccomp profiles recorded, checked and merged on real containers.
mod seccomp;

/// A real Prometheus: the harness, then the exporter.
mod prometheus;

/// The exporter with least privilege: TLS, basic auth, no runtime socket.
mod exporter_security;

/// The full-screen views in tmux.
mod live;
