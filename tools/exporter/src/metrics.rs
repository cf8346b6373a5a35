//! The exposition: the store's totals as Prometheus metric families,
//! encoded by `prometheus-client` in the Prometheus text format or
//! OpenMetrics, whichever the scraper asks for.
//!
//! Names and labels follow the metric contract,
//! deploy/prometheus/contract-sample.prom (counters are registered without
//! `_total`: the encoder appends it).

use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use kernel::syscalls::Call;

use crate::bpf_stats::ProgramStats;
use crate::sources::{BlockDelta, SyscallDelta};
use crate::store::{CgroupSeries, Slot, Store};

/// Direction label values, in the order of the block arrays.
const DIRECTIONS: [&str; 2] = ["read", "write"];

/// The labels every per-cgroup series has, then the metric's own.
fn labels<'a>(
    cg: &'a CgroupSeries,
    extra: &[(&'static str, &'a str)],
) -> Vec<(&'static str, &'a str)> {
    let mut l = Vec::with_capacity(5 + extra.len());
    l.push(("cgroup", cg.path.as_str()));
    l.push(("container_id", cg.container.id.as_str()));
    l.push(("container_name", cg.container.name.as_str()));
    l.push(("pod", cg.container.pod.as_str()));
    l.push(("namespace", cg.container.namespace.as_str()));
    l.extend_from_slice(extra);
    l
}

/// A per-(cgroup, direction) block I/O family: name, help, its values.
type BlockFamily = (&'static str, &'static str, fn(&BlockDelta) -> [u64; 2]);

/// A per-(cgroup, syscall) counter family: name, help, and its value.
type SyscallFamily = (&'static str, &'static str, fn(&SyscallDelta) -> u64);

fn syscall_name(slot: &Slot<Call>) -> String {
    match slot {
        Slot::Named(call) => call.label(),
        Slot::Other => "other".into(),
    }
}

fn errno_name(slot: &Slot<i32>) -> String {
    match slot {
        Slot::Named(e) => kernel::errno::name(*e),
        Slot::Other => "other".into(),
    }
}

/// Reads the store on every scrape.
#[derive(Debug)]
pub struct StoreCollector {
    store: Arc<Mutex<Store>>,
}

/// A registry serving `store`.
pub fn registry(store: Arc<Mutex<Store>>) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(StoreCollector { store }));
    registry
}

/// One family: its descriptor, then `each` writes its series.
fn family(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    each: impl FnOnce(MetricEncoder) -> Result<(), std::fmt::Error>,
) -> Result<(), std::fmt::Error> {
    each(encoder.encode_descriptor(name, help, None, kind)?)
}

impl Collector for StoreCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        // Sorted by path: stable, readable output.
        let mut cgroups: Vec<&CgroupSeries> = store.cgroups().map(|(_, cg)| cg).collect();
        cgroups.sort_by(|a, b| a.path.cmp(&b.path));
        encode_syscalls(&mut encoder, &cgroups)?;
        encode_errnos(&mut encoder, &cgroups)?;
        if store.latency() {
            encode_seconds(&mut encoder, &cgroups)?;
        }
        encode_namespaces(&mut encoder, &cgroups)?;
        encode_block(&mut encoder, &cgroups)?;
        encode_programs(&mut encoder, &store)?;
        encode_own(&mut encoder, &store)
    }
}

type Encoded = Result<(), std::fmt::Error>;

/// One series per (cgroup, syscall) with a nonzero value.
fn encode_syscalls(encoder: &mut DescriptorEncoder, cgroups: &[&CgroupSeries]) -> Encoded {
    let per_syscall: [SyscallFamily; 3] = [
        (
            "contrace_syscalls",
            "System calls completed, by cgroup and syscall (top N per cgroup, the rest as \"other\")",
            |s| s.calls,
        ),
        (
            "contrace_syscall_errors",
            "System calls that returned an error, by cgroup and syscall",
            |s| s.errors,
        ),
        (
            "contrace_syscall_denied",
            "System calls denied by seccomp before they ran, by cgroup and syscall",
            |s| s.denied,
        ),
    ];
    for (name, help, value) in per_syscall {
        family(encoder, name, help, MetricType::Counter, |mut m| {
            for cg in cgroups {
                for (slot, s) in &cg.syscalls {
                    let n = value(s);
                    // Calls always get a series; errors and denials when some.
                    if n == 0 && name != "contrace_syscalls" {
                        continue;
                    }
                    let syscall = syscall_name(slot);
                    let l = labels(cg, &[("syscall", &syscall)]);
                    ConstCounter::new(n).encode(m.encode_family(&l)?)?;
                }
            }
            Ok(())
        })?;
    }
    Ok(())
}

fn encode_errnos(encoder: &mut DescriptorEncoder, cgroups: &[&CgroupSeries]) -> Encoded {
    family(
        encoder,
        "contrace_syscall_errno",
        "Failed system calls by errno (a bounded set), by cgroup",
        MetricType::Counter,
        |mut m| {
            for cg in cgroups {
                for (slot, n) in &cg.errnos {
                    let name = errno_name(slot);
                    let l = labels(cg, &[("errno", &name)]);
                    ConstCounter::new(*n).encode(m.encode_family(&l)?)?;
                }
            }
            Ok(())
        },
    )
}

fn encode_seconds(encoder: &mut DescriptorEncoder, cgroups: &[&CgroupSeries]) -> Encoded {
    family(
        encoder,
        "contrace_syscall_seconds",
        "Time spent in system calls, by cgroup and syscall (only with latency enabled)",
        MetricType::Counter,
        |mut m| {
            for cg in cgroups {
                for (slot, s) in &cg.syscalls {
                    let name = syscall_name(slot);
                    let l = labels(cg, &[("syscall", &name)]);
                    ConstCounter::new(s.ns as f64 / 1e9).encode(m.encode_family(&l)?)?;
                }
            }
            Ok(())
        },
    )
}

fn encode_namespaces(encoder: &mut DescriptorEncoder, cgroups: &[&CgroupSeries]) -> Encoded {
    family(
        encoder,
        "contrace_namespace_changes",
        "Namespace changes, by cgroup, call (unshare, setns, clone, clone3) and namespace kind",
        MetricType::Counter,
        |mut m| {
            for cg in cgroups {
                for ((call, kind), n) in &cg.namespaces {
                    let l = labels(cg, &[("call", call), ("kind", kind)]);
                    ConstCounter::new(*n).encode(m.encode_family(&l)?)?;
                }
            }
            Ok(())
        },
    )
}

/// Bytes and bios of each direction, and writeback bytes, for cgroups that
/// did block I/O.
fn encode_block(encoder: &mut DescriptorEncoder, cgroups: &[&CgroupSeries]) -> Encoded {
    let per_direction: [BlockFamily; 2] = [
        (
            "contrace_block_io_bytes",
            "Block I/O bytes submitted, by cgroup and direction (read, write)",
            |b| b.bytes,
        ),
        (
            "contrace_block_io_ops",
            "Block I/O requests submitted, by cgroup and direction (read, write)",
            |b| b.ops,
        ),
    ];
    for (name, help, values) in per_direction {
        family(encoder, name, help, MetricType::Counter, |mut m| {
            for cg in cgroups {
                let Some(b) = cg.block else { continue };
                for (dir, n) in DIRECTIONS.iter().zip(values(&b)) {
                    let l = labels(cg, &[("direction", dir)]);
                    ConstCounter::new(n).encode(m.encode_family(&l)?)?;
                }
            }
            Ok(())
        })?;
    }
    family(
        encoder,
        "contrace_block_io_writeback_bytes",
        "Bytes written back later, charged to the cgroup that dirtied the pages",
        MetricType::Counter,
        |mut m| {
            for cg in cgroups {
                let Some(b) = cg.block else { continue };
                let l = labels(cg, &[]);
                ConstCounter::new(b.writeback_bytes).encode(m.encode_family(&l)?)?;
            }
            Ok(())
        },
    )
}

/// The exporter's own gauges and counters.
/// With `--bpf-stats`: each BPF program's runs and time, by program name.
fn encode_programs(encoder: &mut DescriptorEncoder, store: &Store) -> Encoded {
    if store.programs.is_empty() {
        return Ok(());
    }
    let program_labels = |p: &ProgramStats| [("program", p.name.clone()), ("id", p.id.to_string())];
    family(
        encoder,
        "contrace_exporter_bpf_runs",
        "Runs of each of the exporter's BPF programs since it loaded them (kernel BPF statistics)",
        MetricType::Counter,
        |mut m| {
            for p in &store.programs {
                ConstCounter::new(p.run_count).encode(m.encode_family(&program_labels(p))?)?;
            }
            Ok(())
        },
    )?;
    family(
        encoder,
        "contrace_exporter_bpf_run_seconds",
        "Time spent in each of the exporter's BPF programs since it loaded them (kernel BPF statistics)",
        MetricType::Counter,
        |mut m| {
            for p in &store.programs {
                let seconds = p.run_time_ns as f64 / 1e9;
                ConstCounter::new(seconds).encode(m.encode_family(&program_labels(p))?)?;
            }
            Ok(())
        },
    )
}

fn encode_own(encoder: &mut DescriptorEncoder, store: &Store) -> Encoded {
    family(
        encoder,
        "contrace_exporter_series",
        "Series this exporter serves now (the per-node budget's gauge)",
        MetricType::Gauge,
        |m| ConstGauge::new(store.series() as i64).encode(m),
    )?;
    family(
        encoder,
        "contrace_exporter_dropped",
        "Events or series the exporter dropped (budget or full maps)",
        MetricType::Counter,
        |m| ConstCounter::new(store.dropped).encode(m),
    )?;
    family(
        encoder,
        "contrace_exporter_lost",
        "Events the kernel could not hand over (ring buffer full)",
        MetricType::Counter,
        |m| ConstCounter::new(store.lost).encode(m),
    )?;
    family(
        encoder,
        "contrace_exporter_cgroups",
        "Cgroups the exporter currently exports",
        MetricType::Gauge,
        |m| ConstGauge::new(store.cgroup_count() as i64).encode(m),
    )
}
