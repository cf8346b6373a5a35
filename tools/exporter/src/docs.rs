//! contrace-exporter's man page beyond its options: endpoints, metrics,
//! labels, the series budget, exit status, examples (also in `--help`).
//! See `cli::docs`; docs/contrace-exporter.md is the longer manual.

use cli::docs::{Entry, Example, Page, Section, Table};

pub const PAGE: Page = Page {
    description: "\
One process per node that keeps the contrace collectors attached and serves their \
counts per cgroup and container to Prometheus: the syscall engine on the \
syscall exit hook alone (the cheapest exact always-on setting; `--latency` or \
`--denied` add the entry hook), counting per (cgroup, syscall) with failures \
tallied per errno and making unsharesnoop's namespace-change events in the same \
program (one program per hook), and conbiograph's per-cgroup block I/O on its \
own hooks. `--bpf-stats` also serves the programs' own run count and time. Every drained \
delta is added to totals in userspace: counters are exact and never go down.\n\n\
`/metrics` drains the kernel maps first (fresh values) and answers in OpenMetrics \
when asked, else the Prometheus text format; `/healthz` answers 200 once the \
programs are attached, 503 before; it needs no credentials.",
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
                meaning: "Block I/O per cgroup, from the block I/O collector conbiograph uses.",
            },
            Entry {
                name: "contrace_exporter_series, _cgroups, _dropped_total, _lost_total",
                meaning: "Series and cgroups served now; events not recorded (full \
                          maps, cgroups over --max-series); events lost (ring buffer).",
            },
            Entry {
                name: "contrace_exporter_bpf_runs_total{program,id}, _bpf_run_seconds_total",
                meaning: "With --bpf-stats: runs of each of the exporter's BPF programs \
                          and the time spent in them, from the kernel's BPF statistics \
                          (on only while the exporter runs with the flag).",
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
            title: "WEB CONFIGURATION",
            text: "\
--web.config.file takes the Prometheus exporter toolkit's web configuration: \
tls_server_config (cert_file, key_file, client_auth_type NoClientCert, \
RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or \
RequireAndVerifyClientCert, client_ca_file, min_version and max_version TLS12 or \
TLS13, prefer_server_cipher_suites), http_server_config (headers) and \
basic_auth_users (user: bcrypt hash). Relative paths are read from the file's \
directory; the file is read once, at start. Basic auth covers every path but \
/healthz, which probes reach without credentials. TLS is rustls: TLS 1.2 and 1.3, \
HTTP/1.1; cipher_suites, curve_preferences, client_allowed_sans and inline cert/key \
are refused. A file that cannot be used (unreadable, not YAML, an unknown or \
mistyped field, a certificate or key that does not load or match, a hash that is \
not bcrypt) stops the start with one line naming the file and the field.",
        },
        Section {
            title: "CONTAINER NAMES",
            text: "\
Names come from files: the cgroup naming, kubelet's log names (/var/log/pods, \
/var/log/containers; the logs are not opened) and the runtimes' on-disk state \
(docker, podman, containerd's task bundles, runc). --runtime-api also asks the \
runtimes' APIs over their sockets. Each cgroup is named when it is made (a small \
BPF program on tp_btf/cgroup_mkdir), so a container born and gone between two \
scrapes is served under its name. Risk: a process that can connect() to the \
containerd, CRI-O, docker or podman socket can create a privileged container, \
which is root on the node.",
        },
        Section {
            title: "EXIT STATUS OF THE EXPORTER",
            text: "\
3: the --listen address cannot be listened on (port in use, not an address of this \
host, a port below 1024 without CAP_NET_BIND_SERVICE). 4: the --web.config.file \
cannot be used. The other codes are the suite's (below); 0 after SIGTERM means the \
programs were detached.",
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
            command: "contrace-exporter --web.config.file /etc/contrace-exporter/web.yml",
            what: "HTTPS and basic auth on /metrics",
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
