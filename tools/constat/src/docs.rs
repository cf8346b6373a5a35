//! constat's man page beyond its options: columns, JSON fields, notes,
//! examples (also shown by `--help`). See `common::docs`.

use common::docs::{Entry, Example, Page, Section, Table};

pub const PAGE: Page = Page {
    description: "\
With `-c TARGET` (or `-p PID`), one row per syscall: calls, failures, the most \
common errno, entry-to-exit time. Without them, one row per cgroup (container) \
of the host: calls, errors, calls denied by seccomp, time, and its busiest \
syscall; `--by-syscall` breaks that down per (cgroup, syscall).\n\n\
`-P` (per process), `--errno` (failures per errno name) and `--histogram` (log2 \
latency distributions) are the views of syscount(8), run by the same code: \
their columns and JSON fields are syscount's.\n\n\
Counting happens in the kernel (tp_btf/sys_enter and sys_exit, per-CPU \
counters); userspace reads the counters once per report, never an event \
stream. `-i` reports each cover their own interval and lose nothing between \
them.",
    tables: &[
        Table {
            title: "OUTPUT COLUMNS",
            intro: "Per-syscall table (with `-c`, `-p` or `--by-syscall`), sorted by \
                    `--sort` (calls by default), then an ALL row over every syscall, \
                    also those cut by `-T`:",
            entries: &[
                Entry {
                    name: "CGROUP",
                    meaning: "Only host-wide with `--by-syscall`: the cgroup, as a path \
                              below the cgroup2 mount.",
                },
                Entry {
                    name: "SYSCALL",
                    meaning: "Syscall name (`syscall_N` for numbers this architecture \
                              does not name; `syscount -l` lists the names).",
                },
                Entry {
                    name: "COUNT, (%)",
                    meaning: "Calls, and their share of all calls.",
                },
                Entry {
                    name: "ERRORS",
                    meaning: "Calls that returned an error (-4095..-1).",
                },
                Entry {
                    name: "ERRNO",
                    meaning: "The errno of those failures (`--errno` gives the full \
                              breakdown).",
                },
                Entry {
                    name: "ELAPSED(ms), (%)",
                    meaning: "Summed entry-to-exit wall time, and its share. exit and \
                              exit_group never return: counted at entry with zero time.",
                },
                Entry {
                    name: "AVG(us), MAX(us)",
                    meaning: "Mean and longest time of one call.",
                },
            ],
        },
        Table {
            title: "HOST-WIDE COLUMNS",
            intro: "Without `-c` and `-p`: one row per cgroup that made a call, sorted by \
                    `--sort`, then ALL (with the number of cgroups):",
            entries: &[
                Entry {
                    name: "CGROUP",
                    meaning: "Path below the cgroup2 mount (`/` is the root cgroup, where \
                              host processes live until moved).",
                },
                Entry {
                    name: "CALLS, ERRORS",
                    meaning: "Calls and failed calls, all syscalls together.",
                },
                Entry {
                    name: "DENIED",
                    meaning: "Calls a seccomp filter refused before they ran (0 until the \
                              kernel side counts them).",
                },
                Entry {
                    name: "TIME(ms), (%)",
                    meaning: "Summed entry-to-exit time and its share of the host's.",
                },
                Entry {
                    name: "SYSCALLS",
                    meaning: "Distinct syscalls the cgroup made.",
                },
                Entry {
                    name: "BUSIEST",
                    meaning: "The syscall with the most calls and its share of the \
                              cgroup's calls; titled SLOWEST with `-t` (most time) and \
                              MOST FAILED with `--sort errors` (most errors).",
                },
            ],
        },
        Table {
            title: "JSON OUTPUT",
            intro: "`--output json` prints one object per report (NDJSON). Every report \
                    has `time` (RFC 3339 UTC), `interval_s` (seconds covered), `final`, \
                    `target` and `dropped`. The rest depends on the view:",
            entries: &[
                Entry {
                    name: "target",
                    meaning: "`{path, cgroup, id, descendants, whole_host}` or null \
                              without `-c`; `whole_host` is true when the target is the \
                              root cgroup with its descendants (e.g. `-c pid:N` of a \
                              process never moved out of it).",
                },
                Entry {
                    name: "rows[]",
                    meaning: "Per-syscall view: `syscall`, `nr`, `count`, `errors`, \
                              `errno` (name or null), `elapsed_ns`, `avg_ns`, `max_ns`; \
                              with `--by-syscall` also `cgroup` and `cgroup_id`.",
                },
                Entry {
                    name: "total",
                    meaning: "Per-syscall view: `count`, `errors`, `elapsed_ns`, \
                              `max_ns` over all rows (also those cut by `-T`).",
                },
                Entry {
                    name: "view",
                    meaning: "`\"cgroups\"` in the host-wide view (absent otherwise).",
                },
                Entry {
                    name: "cgroups[]",
                    meaning: "Host-wide view: `cgroup`, `cgroup_id`, `count`, `errors`, \
                              `denied`, `elapsed_ns`, `syscalls`, `busiest` \
                              (`{syscall, nr, count, errors, elapsed_ns}` or null).",
                },
                Entry {
                    name: "total (host-wide)",
                    meaning: "`count`, `errors`, `denied`, `elapsed_ns`, `cgroups` over \
                              every cgroup, also those cut by `-T`.",
                },
                Entry {
                    name: "dropped",
                    meaning: "Updates the kernel side could not record (map full, no \
                              memory); also warned about on stderr in table mode.",
                },
                Entry {
                    name: "-P, --errno, --histogram",
                    meaning: "syscount's report: `rows[]` with `pid`/`comm` or \
                              `syscall`/`nr`, `count`, `total_ns`, `errors`/`errnos`, \
                              `histogram{unit, buckets[{low, high, count}]}`, and \
                              `total_count` (see syscount(8)).",
                },
            ],
        },
    ],
    sections: &[Section {
        title: "NOTES",
        text: "`-i 0` (the default) reports only at the end, as in libbpf-tools. \
               `-T N` keeps the top N rows: syscalls with `-c`/`-p`, cgroups \
               host-wide, processes with `-P`.\n\n\
               `-p PID` traces one process (all its threads) wherever it is; with \
               `-c` both must match. If the target cgroup is removed or the process \
               exits, the run ends with a message and the final report.\n\n\
               With `-P`, `--errno` or `--histogram`, `-t` adds syscount's TIME column \
               (`-L`) and sorts by it; otherwise their rows are sorted as syscount \
               sorts them.",
    }],
    examples: &[
        Example {
            command: "constat",
            what: "Every cgroup of the host, one row each (calls, errors, time, busiest \
                   syscall); the report comes on Ctrl-C.",
        },
        Example {
            command: "constat -c 3f2a9c1e",
            what: "One container by id prefix (docker, containerd, CRI-O, podman): one \
                   row per syscall.",
        },
        Example {
            command: "constat -c nginx.service -i 5 -d 60",
            what: "A systemd unit: a report every 5 s for a minute.",
        },
        Example {
            command: "constat -p 1234 -t",
            what: "One process, its syscalls sorted by time.",
        },
        Example {
            command: "constat -t -T 5",
            what: "The 5 cgroups that spent the most time in syscalls, each with its \
                   slowest syscall.",
        },
        Example {
            command: "constat --by-syscall -T 3",
            what: "Host-wide per (cgroup, syscall), the 3 busiest cgroups.",
        },
        Example {
            command: "constat -c 3f2a9c1e -P",
            what: "Which processes of the container make the calls (syscount's -P view).",
        },
        Example {
            command: "constat -c 3f2a9c1e --errno --syscall openat,39",
            what: "Failures of openat and of syscall 39 (getpid) per errno name.",
        },
        Example {
            command: "constat -c 3f2a9c1e --histogram --syscall read",
            what: "The latency distribution of read(2) in the container.",
        },
        Example {
            command: "constat -c mypod -o json | jq '.rows[0]'",
            what: "NDJSON, one object per report.",
        },
    ],
    see_also: &["syscount-bpfcc(8)", "bpftrace(8)", "strace(1)", "sysdig(8)"],
};
