//! contrace-exporter's man page beyond its options: endpoints, metrics,
//! labels, the series budget, exit status, examples (also in `--help`).
//! See `cli::docs`; tools/exporter/README.md says the same at length.

use cli::docs::{Entry, Example, Page, Section, Table};

pub const PAGE: Page = Page {
    description: "\
One process per node that keeps the contrace collectors attached and serves their \
counts per cgroup and container to Prometheus: the syscall engine keyed per \
(cgroup, syscall, errno) on the syscall exit hook alone (the cheapest exact \
always-on setting; `--latency` or `--denied` add the entry hook), unsharesnoop's for namespace \
changes, and conbiograph's per-cgroup block I/O. Every drained \
delta is added to totals in userspace: counters are exact and never go down.\n\n\
`/metrics` drains the kernel maps first (fresh values) and answers in OpenMetrics \
when asked, else the Prometheus text format; `/healthz` answers 200 once the \
programs are attached, 503 before.",
    tables: &[Table {
        title: "METRICS",
        intro: "Every per-cgroup series has `cgroup` (path relative to the cgroup2 mount) \
                and `container_id`, `container_name`, `pod`, `namespace` (empty when \
                unknown). The contract is deploy/prometheus/contract-sample.prom.",
        entries: &[
            Entry {
                name: "contrace_syscalls_total{syscall}",
                meaning: "Calls completed (every exit), top N syscalls per cgroup, the \
                          rest as `other`.",
            },
            Entry {
                name: "contrace_syscall_errors_total{syscall}",
                meaning: "Calls that returned an error.",
            },
            Entry {
                name: "contrace_syscall_errno_total{errno}",
                meaning: "Failed calls by errno name (top N per cgroup, then `other`).",
            },
            Entry {
                name: "contrace_syscall_denied_total{syscall}",
                meaning: "Calls a seccomp filter denied before they ran (with `--denied` \
                          or `--latency`: the entry hook tells them).",
            },
            Entry {
                name: "contrace_syscall_seconds_total{syscall}",
                meaning: "Time in calls (`--latency` only).",
            },
            Entry {
                name: "contrace_namespace_changes_total{call,kind}",
                meaning: "Successful unshare, setns, clone, clone3, one per namespace \
                          kind created or joined.",
            },
            Entry {
                name: "contrace_block_io_bytes_total{direction}, _ops_total, \
                       _writeback_bytes_total",
                meaning: "Block I/O per cgroup, from conbiograph's collector.",
            },
            Entry {
                name: "contrace_exporter_series, _cgroups, _dropped_total, _lost_total",
                meaning: "Series and cgroups served now; events not recorded (full \
                          maps, cgroups over --max-series); events lost (ring buffer).",
            },
        ],
    }],
    sections: &[
        Section {
            title: "SERIES BUDGET",
            text: "\
A cgroup serves at most (N + allow-list + 1) series per syscall metric, E + 1 errno \
series, 32 namespace series and 5 block series: 80 with the defaults (114 with \
--latency). Measured: about 30 for a shell or a small service. A removed cgroup is \
served --grace seconds longer, then dropped. Once --max-series series are served, \
cgroups not seen before are not exported (counted in \
contrace_exporter_dropped_total).",
        },
        Section {
            title: "EXIT STATUS OF THE EXPORTER",
            text: "\
3: the --listen address cannot be listened on (port in use, not an address of this \
host, a port below 1024 without CAP_NET_BIND_SERVICE). The other codes are the \
suite's (below); 0 after SIGTERM means the programs were detached.",
        },
    ],
    examples: &[
        Example {
            command: "contrace-exporter",
            what: "serve on 0.0.0.0:9808",
        },
        Example {
            command: "contrace-exporter --listen 127.0.0.1:9808",
            what: "loopback only",
        },
        Example {
            command: "contrace-exporter --latency",
            what: "also time spent in syscalls (adds the entry hook)",
        },
        Example {
            command: "contrace-exporter --syscalls execve,openat,connect --top-syscalls 8",
            what: "always name these three, and 8 more per cgroup",
        },
        Example {
            command: "curl -s localhost:9808/metrics | grep contrace_syscalls_total",
            what: "what Prometheus sees",
        },
    ],
    see_also: &["prometheus(1)"],
};
