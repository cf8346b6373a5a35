//! constat's man page beyond its options: columns, JSON fields, notes,
//! examples (also shown by `--help`). See `cli::docs`.

use cli::docs::{Entry, Example, Page, Section, Table};

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
                    also those cut by `-T`; with `-i`, each table starts with \
                    `[HH:MM:SS]`:",
            entries: &[
                Entry {
                    name: "CGROUP",
                    meaning: "Only host-wide with `--by-syscall`: the cgroup's container \
                              (`name`, `NAMESPACE/POD/CONTAINER`) or its path below the \
                              cgroup2 mount.",
                },
                Entry {
                    name: "SYSCALL",
                    meaning: "Syscall name (`syscall_N` for numbers this architecture \
                              does not name; `syscount -l` lists the names). A 32-bit call \
                              (`int 0x80`, a 32-bit process) has a row of its own under its \
                              i386 name: `getppid (i386)`.",
                },
                Entry {
                    name: "COUNT, (%)",
                    meaning: "Calls, and their share of all calls.",
                },
                Entry {
                    name: "ERRORS",
                    meaning: "Calls that returned an error (-4095..-1), denied ones included.",
                },
                Entry {
                    name: "DENIED",
                    meaning: "Calls a seccomp filter refused before they ran (docker's \
                              default profile, Kubernetes' RuntimeDefault): they never \
                              reach sys_enter, sys_exit sees them. Also in COUNT and ERRORS \
                              (with their errno), with no time.",
                },
                Entry {
                    name: "ERRNO",
                    meaning: "The most common errno of the failures, `+N` when N other \
                              errnos occurred too (`ENOENT+1`); `--errno` or JSON `errnos` \
                              give the full breakdown.",
                },
                Entry {
                    name: "ELAPSED(ms), (%)",
                    meaning: "Summed entry-to-exit wall time, and its share. exit and \
                              exit_group never return: counted at entry with zero time.",
                },
                Entry {
                    name: "AVG(us), MAX(us)",
                    meaning: "Mean and longest time of one call (over the calls that ran).",
                },
            ],
        },
        Table {
            title: "HOST-WIDE COLUMNS",
            intro: "Without `-c` and `-p`: one row per cgroup that made a call, sorted by \
                    `--sort`, then `ALL (N cgroups)` over every cgroup, also those cut \
                    by `-T`:",
            entries: &[
                Entry {
                    name: "CGROUP",
                    meaning: "The cgroup's container (`name`, `NAMESPACE/POD/CONTAINER`) \
                              or its path below the cgroup2 mount (`/` is the root cgroup, \
                              where host processes live until moved).",
                },
                Entry {
                    name: "CALLS, ERRORS",
                    meaning: "Calls and failed calls, all syscalls together.",
                },
                Entry {
                    name: "DENIED",
                    meaning: "Calls a seccomp filter refused before they ran (in CALLS and \
                              ERRORS too).",
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
                    has `time` (RFC 3339 UTC), `interval_s` (seconds covered: since the \
                    start or the previous report), `final` (true on the last report), \
                    `target`, `dropped`, `view` and `periodic`. The rest depends on the \
                    view:",
            entries: &[
                Entry {
                    name: "target",
                    meaning: "`{path, cgroup, id, descendants, whole_host, container}` or \
                              null without `-c`; `whole_host` is true when the target is \
                              the root cgroup with its descendants (e.g. `-c pid:N` of a \
                              process never moved out of it); `container` is the target's \
                              container or pod, or null.",
                },
                Entry {
                    name: "container",
                    meaning: "Wherever a cgroup is named: `{id, name, image, runtime, pod, \
                              namespace, pod_uid}` (fields null when unknown), or null for \
                              a cgroup that is no container.",
                },
                Entry {
                    name: "view",
                    meaning: "What the rows are: `\"syscalls\"` (one target's syscalls, \
                              `rows[]`), `\"cgroup-syscalls\"` (host-wide `--by-syscall`, \
                              `rows[]` with `cgroup`) or `\"cgroups\"` (host-wide, \
                              `cgroups[]`).",
                },
                Entry {
                    name: "periodic",
                    meaning: "True when reports come every `-i` seconds (the tables then \
                              start with `[HH:MM:SS]`, the local time of `time`).",
                },
                Entry {
                    name: "rows[]",
                    meaning: "Per-syscall views: `syscall` (name), `nr`, `compat` (a 32-bit \
                              call: name and number are i386's), `count`, `errors`, \
                              `denied` (also in `count` and `errors`), `errno` (the most \
                              common errno name, or null), `errnos` (failures per errno \
                              name), `elapsed_ns`, `avg_ns` (over the calls that ran), \
                              `max_ns`; with `--by-syscall` also `cgroup`, `cgroup_id` and \
                              `container`.",
                },
                Entry {
                    name: "total",
                    meaning: "Per-syscall views: `count`, `errors`, `denied`, `elapsed_ns`, \
                              `max_ns` over all rows (also those cut by `-T`).",
                },
                Entry {
                    name: "sort",
                    meaning: "Host-wide view: `count`, `time`, `errors` or `name`, the \
                              order of the rows and what `busiest` means.",
                },
                Entry {
                    name: "cgroups[]",
                    meaning: "Host-wide view: `cgroup`, `cgroup_id`, `container`, `count`, \
                              `errors`, `denied`, `elapsed_ns`, `syscalls`, `busiest` \
                              (`{syscall, nr, compat, count, errors, elapsed_ns}` or null).",
                },
                Entry {
                    name: "total (host-wide)",
                    meaning: "`count`, `errors`, `denied`, `elapsed_ns`, `cgroups` over \
                              every cgroup, also those cut by `-T`.",
                },
                Entry {
                    name: "dropped",
                    meaning: "Updates the kernel side could not record (map full, no \
                              memory); also warned about on stderr in table mode, with \
                              what to do (`--max-entries`).",
                },
                Entry {
                    name: "-P, --errno, --histogram",
                    meaning: "syscount's report: `rows[]` with `pid`/`comm` or \
                              `syscall`/`nr`/`compat`, `count`, `total_ns`, `denied`, \
                              `errors`/`errnos`, `histogram{unit, buckets[{low, high, \
                              count}]}`, and `total_count` (see syscount(8)).",
                },
            ],
        },
    ],
    sections: &[
        Section {
            title: "LIVE VIEW",
            text: "`--live` draws a full-screen, top-like view (ratatui) refreshed every \
               `-i` seconds (default 1): one row per cgroup or container of the host, \
               named by its container (`web`, `ns/pod/ctr`) or its path, with CALLS/s, \
               ERRORS/s and TIME% of the last interval, the BUSIEST syscall, and CALLS, \
               ERRORS and DENIED since the start. Keys: c, t, e, n sort by calls, time, \
               errors, name; Up/Down (j/k), PgUp/PgDn, Home/End select; Enter shows the \
               selected cgroup's syscalls (CALLS/s, COUNT, ERRORS, ERRNO, TIME(ms), \
               AVG(us), MAX(us) since the start, and a sparkline of each syscall's mean \
               latency per interval, the selected one drawn larger below); Esc goes \
               back; / starts a filter on the names (Enter keeps it, Esc clears it); q \
               or Ctrl-C quits with status 0. The footer names the keys and marks the \
               sort.\n\n\
               With `-c TARGET` it opens on that cgroup's syscalls (its own calls: \
               descendant cgroups have rows of their own). Data comes from constat's \
               kernel side host-wide, drained exactly every interval. The terminal is \
               restored on q, on SIGINT/SIGTERM/SIGHUP and on a panic; resizing \
               redraws. Without a terminal on stdout `--live` is refused (status 2); \
               `-o json`, `-p`, `-P`, `--errno`, `--histogram`, `--by-syscall`, `-T` \
               and `-i 0` are refused with it. `--record FILE` with `--live` writes a \
               host-wide `--by-syscall` report per interval.",
        },
        Section {
            title: "RECORD AND REPLAY",
            text: "`--record FILE` writes the NDJSON of `-o json` to FILE (one report per \
               line, flushed per line) while the tables are printed. `--replay FILE` \
               (`-` for stdin) prints the saved reports' tables again, byte for byte \
               as they were printed (the `[HH:MM:SS]` header is the report's own \
               time, in the local time zone); with `--live` it opens the full-screen \
               view on the first report, Right/Space and Left step through them \
               (totals since the start of the file). Nothing is traced; options that \
               shape a trace (`-c`, `-p`, `-i`, `-d`, `-T`, ...) are refused with it.\n\n\
               Replay stops at the first line it cannot use: a damaged line (not \
               JSON), another tool's record, syscount's views (`-P`, `--errno`, \
               `--histogram`). The reports before it are printed; one line on stderr \
               names the file and line, and the status is 2. Recordings of the \
               one-row-per-cgroup view hold no per-syscall counts: the live replay's \
               drill-down then names the busiest syscall only.",
        },
        Section {
            title: "SECCOMP PROFILES",
            text: "`--seccomp-profile FILE` with `-c TARGET` (or `-p PID`) writes, when the \
               run ends, a seccomp profile that allows by name every syscall the target \
               made; every other call fails with EPERM (`defaultAction` \
               `SCMP_ACT_ERRNO`, `defaultErrnoRet` 1). Without `-c` it takes a \
               directory: one file per container seen, `DIR/<container name>.json` (the \
               cgroup's last path component where no runtime names it; the root cgroup \
               is `root`), also for containers born and gone during the run: host-wide, \
               constat names each cgroup the moment it is made (a small BPF program on \
               `tp_btf/cgroup_mkdir` reports its id and path; the runtimes are asked \
               then) and keeps that name. Cgroups of the same name (replicas, restarts) \
               share one file, their calls added. Counting starts at a cgroup's first \
               call, so a profile recorded host-wide while the container starts holds \
               the runtime's own calls between installing the filter and `execve` (for \
               runc: getppid, among others), without which the container does not \
               start.\n\n\
               `--seccomp-format oci` (the default) writes the JSON that Docker, Podman \
               and runc read (`--security-opt seccomp=FILE`): one entry per name with a \
               `comment` giving its calls, failures by errno and denied calls per \
               architecture, and a `contrace` field the runtimes ignore, holding the \
               same counts for merges. `--seccomp-format spo` writes the Kubernetes \
               Security Profiles Operator's `SeccompProfile` resource as YAML, the \
               counts as comments beside the names. 32-bit calls (`int 0x80`, 32-bit \
               processes) add `SCMP_ARCH_X86` and are listed by their i386 names \
               (`getuid32`); without that architecture runc kills such a call. A call \
               that was only ever denied while recording (by the profile in force then) \
               is not allowed: it gets an `SCMP_ACT_ERRNO` entry with the errno it got, \
               and the status line names it. Calls without a name (`syscall_N`) cannot \
               be listed and are named in the profile's comment.\n\n\
               What a names-only profile does not capture: arguments. A name allows \
               every call of that syscall, whatever its flags: Docker's default profile \
               allows `clone` only without namespace flags, `personality` only with a \
               few values, `socket` without `AF_VSOCK` and the like, and a recorded \
               profile has no such rules. A name also applies to every listed \
               architecture. Calls the runtime makes before it installs the filter \
               (mount, pivot_root, unshare) are recorded too and allowed, though the \
               filter never sees them: review the profile before use.\n\n\
               `--seccomp-check PROFILE` (Docker, Podman or OCI JSON, an OCI \
               `config.json`, or a `SeccompProfile` as JSON) says, at the end of the \
               run or for `--replay FILE`, what the profile would deny of what was \
               traced: each syscall with its count, the calls already denied when \
               traced, what it would get (the errno, or SIGSYS) and which part of the \
               profile decides; rules with argument or capability conditions are \
               listed apart, not guessed; then the names it allows that were never \
               used. Host-wide, one check per cgroup. The exit status is 3 when it \
               would deny a call that was not denied already. `-o json` prints it as \
               one object: `view` `\"seccomp-check\"`, `profile`, `default_action`, \
               `targets[]` with `name`, `cgroup`, `container`, `syscalls`, `denied[]` \
               and `depends[]` (`syscall`, `compat`, `count`, `denied_now`, `outcome`, \
               `errno`, `why`, `depends_on`), `unused[]`, `allows_by_default`.\n\n\
               `--replay FILE --seccomp-profile FILE|DIR` makes profiles from a \
               recording (`--record` of `-c`, or of `--by-syscall` host-wide) instead \
               of its tables. `--seccomp-merge FILE... --seccomp-profile OUT` traces \
               nothing: OUT is the union of the given profiles (written by constat) \
               and recordings, counts added; OUT is one file, or one file per container \
               when it is an existing directory or ends in `/`. A host-wide recording \
               into one file is refused: give a directory. `--seccomp-profile` and \
               `--seccomp-check` are refused with `--live`, `--syscall`, `-P`, \
               `--errno` and `--histogram`.",
        },
        Section {
            title: "NOTES",
            text: "`-i 0` (the default) reports only at the end, as in libbpf-tools. \
               `-T N` keeps the top N rows: syscalls with `-c`/`-p`, cgroups \
               host-wide, processes with `-P`.\n\n\
               `-p PID` traces one process (all its threads) wherever it is; with \
               `-c` both must match.\n\n\
               With `-P`, `--errno` or `--histogram`, `-t` adds syscount's TIME column \
               (`-L`) and sorts by it; otherwise their rows are sorted as syscount \
               sorts them.",
        },
    ],
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
        Example {
            command: "constat --live",
            what: "Full screen: every container's calls/s, errors/s and busiest syscall, \
                   refreshed every second; Enter drills into one.",
        },
        Example {
            command: "constat --seccomp-profile profiles/ --by-syscall --record run.ndjson",
            what: "Host-wide, while containers start and run: one seccomp profile per \
                   container into profiles/, and a recording to check against later.",
        },
        Example {
            command: "constat --replay run.ndjson --seccomp-check profiles/web.json",
            what: "What that profile would deny of what was recorded (status 3 if \
                   anything), and what it allows unused.",
        },
        Example {
            command: "constat -i 5 --record run.ndjson",
            what: "A table every 5 s, also saved; `constat --replay run.ndjson` prints \
                   them again (`--live` steps through them).",
        },
    ],
    see_also: &["syscount-bpfcc(8)", "bpftrace(8)", "strace(1)", "sysdig(8)"],
};
