//! syscount's man page beyond its options: columns, JSON fields, notes,
//! examples (also shown by `--help`). See `cli::docs`.

use cli::docs::{Entry, Example, Page, Section, Table};

pub const PAGE: Page = Page {
    description: "\
A drop-in for libbpf-tools' syscount: the same flags with the same meaning, and \
the same tables byte for byte on stdout (status lines go to stderr). Beyond it: \
`-c` takes any TARGET (a container id, a unit, pid:N, a path), `--histogram`, \
the `--errno` breakdown, `--by-cgroup`, `--syscall`, and NDJSON.\n\n\
Count-only mode is one tp_btf/sys_exit program (the syscall number comes from \
the saved registers); `-L`, `--histogram` and `--denied` add tp_btf/sys_enter. Counters \
live in the kernel; a report reads them once. constat(8) runs the same code \
for its `-P`, `--errno` and `--histogram` views.",
    tables: &[
        Table {
            title: "OUTPUT COLUMNS",
            intro: "Each report starts with `[HH:MM:SS]`, then a table of the top `-T` \
                    rows (10 by default) in libbpf-tools' layout (`%-22s %8s`), then an \
                    empty line:",
            entries: &[
                Entry {
                    name: "SYSCALL",
                    meaning: "Syscall name (`syscall_N` when this architecture has none; \
                              `-l` lists every name). A 32-bit call (`int 0x80`, a 32-bit \
                              process) has a row of its own under its i386 name: \
                              `getppid (i386)`.",
                },
                Entry {
                    name: "PID COMM",
                    meaning: "With `-P`: process id (thread group) and its name.",
                },
                Entry {
                    name: "COUNT",
                    meaning: "Calls (with `-x`/`-e`: failed calls).",
                },
                Entry {
                    name: "TIME (us), TIME (ms)",
                    meaning: "With `-L`: summed entry-to-exit time (`-m`: milliseconds); \
                              rows sorted by it.",
                },
                Entry {
                    name: "DENIED",
                    meaning: "Calls a seccomp filter refused before they ran (in COUNT \
                              too, with no time): with `--denied`, and with `-L` or \
                              `--histogram` when some call was denied (so the table stays \
                              libbpf-tools' otherwise). Count-only mode counts them without \
                              telling them apart.",
                },
                Entry {
                    name: "ERRORS, ERRNOS",
                    meaning: "With `--errno`: failed calls, and `NAME:count` per errno, \
                              most frequent first; rows sorted by errors.",
                },
                Entry {
                    name: "CGROUP",
                    meaning: "With `--by-cgroup`: the cgroup's container (`name`, \
                              `NAMESPACE/POD/CONTAINER`) or its path below the cgroup2 \
                              mount.",
                },
                Entry {
                    name: "usecs : count distribution",
                    meaning: "With `--histogram`: one log2 histogram per row, under a \
                              `syscall = NAME, count = N` line (`, denied = N` when some \
                              were: they are in no bucket); the last bucket (from 2^31 \
                              units) shows `2147483648 -> ...`.",
                },
            ],
        },
        Table {
            title: "JSON OUTPUT",
            intro: "`--output json` prints one object per report (NDJSON):",
            entries: &[
                Entry {
                    name: "time, interval_s, final",
                    meaning: "RFC 3339 UTC time; seconds covered (a last report after \
                              Ctrl-C or `-d` covers less than `-i`); true on the last \
                              report.",
                },
                Entry {
                    name: "target",
                    meaning: "`{path, cgroup, id, descendants, whole_host, container}` \
                              or null without `-c`; `whole_host` is true when the target is \
                              the root cgroup with its descendants; `container` is the \
                              target's container or pod, or null.",
                },
                Entry {
                    name: "rows[]",
                    meaning: "`syscall`, `nr`, `compat` (a 32-bit call: name and number \
                              are i386's), `count`; with `-P` `pid` and `comm` instead; with \
                              `-L` or `--histogram` `total_ns`; with `-L`, `--histogram` or \
                              `--denied` `denied`; with `--by-cgroup` `cgroup`, `cgroup_id` \
                              and `container` (`{id, name, image, runtime, pod, namespace, \
                              pod_uid}` or null); with `--errno` \
                              `errors` and `errnos` (`{\"ENOENT\": 12}`); with \
                              `--histogram` `histogram{unit, buckets[{low, high, count}]}` \
                              (the last bucket has `high: null`).",
                },
                Entry {
                    name: "total_count",
                    meaning: "Calls counted in this report, all rows (not only the top \
                              ones).",
                },
                Entry {
                    name: "dropped",
                    meaning: "Updates the kernel side could not record (map full, no \
                              memory); also warned about on stderr, with what to do \
                              (`--max-entries`).",
                },
            ],
        },
    ],
    sections: &[Section {
        title: "COMPATIBILITY",
        text: "Same as libbpf-tools: top 10 by count by default; `-i S` prints \
               `[HH:MM:SS]` and the table every S seconds, `-i 0` only at the end; \
               `-L` adds TIME and sorts by it (`-m`: ms); `-P` groups by process; \
               `-x` counts only failed calls; `-e ENOENT` or `-e 2` only calls \
               failing with that errno; `-p PID` one process; `-l` lists the \
               syscalls; `-T N` the top N.\n\n\
               Differences: status lines go to stderr (theirs: stdout), so stdout \
               holds only the tables; `Received signal, summarizing` on stderr when \
               a signal ends the run (theirs says nothing); an empty interval prints \
               an empty table; `-c` includes descendants (`--exact`: not) and takes \
               any TARGET; `--syscall` takes names or numbers.\n\n\
               scripts/install does not put this syscount ahead of libbpf-tools' \
               /usr/sbin/syscount without asking: it offers another name or prefix.",
    }],
    examples: &[
        Example {
            command: "syscount",
            what: "Top 10 syscalls by count, on Ctrl-C.",
        },
        Example {
            command: "syscount -p $(pidof dd)",
            what: "One process.",
        },
        Example {
            command: "syscount -L",
            what: "Measure latency and sort by it.",
        },
        Example {
            command: "syscount -P",
            what: "Per process, not per syscall.",
        },
        Example {
            command: "syscount -x -i 5",
            what: "Only failed calls, a report every 5 s.",
        },
        Example {
            command: "syscount -e ENOENT -i 5",
            what: "Only calls failing with ENOENT.",
        },
        Example {
            command: "syscount -c /sys/fs/cgroup/system.slice/nginx.service",
            what: "One cgroup and its descendants, as libbpf-tools' -c.",
        },
        Example {
            command: "syscount -c 3f2a9c1e",
            what: "A container by id prefix (or pid:N, a unit name).",
        },
        Example {
            command: "syscount -c mypod --histogram --syscall read,write",
            what: "Log2 latency distributions of read and write.",
        },
        Example {
            command: "syscount --syscall 39,openat",
            what: "Only syscall 39 (getpid) and openat: names or numbers.",
        },
        Example {
            command: "syscount --errno -x",
            what: "Per syscall, failures per errno name.",
        },
        Example {
            command: "syscount --by-cgroup --syscall futex",
            what: "Which container makes all those futex calls.",
        },
        Example {
            command: "syscount -L -o json",
            what: "NDJSON, one object per report.",
        },
    ],
    see_also: &[
        "syscount-bpfcc(8)",
        "bpftrace(8)",
        "strace(1)",
        "perf-trace(1)",
    ],
};
