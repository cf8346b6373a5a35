//! unsharesnoop's man page beyond its options: columns, JSON fields, notes,
//! examples (also shown by `--help`). See `cli::docs`.

use cli::docs::{Entry, Example, Page, Section, Table};

pub const PAGE: Page = Page {
    description: "\
One line per namespace change as it happens: unshare(2), setns(2), and the \
clone(2)/clone3(2) calls that create namespaces, with the flags decoded and the \
calling process's namespace inodes before and after the call.\n\n\
The raw syscall hooks (tp_btf/sys_enter and sys_exit), so 32-bit calls and calls \
a seccomp filter denied are seen too; every other syscall leaves after one \
comparison of its number. Events go through a ring buffer. No tracefs is needed: \
`setcap cap_bpf,cap_perfmon+ep` is enough to run it as a normal user.",
    tables: &[
        Table {
            title: "OUTPUT COLUMNS",
            intro: "A header line, then one line per call, in the order the calls \
                    returned:",
            entries: &[
                Entry {
                    name: "TIME",
                    meaning: "When the call entered (a denied call, which never enters: \
                              when it left), as wall-clock UTC with six fractional digits.",
                },
                Entry {
                    name: "TID, COMM",
                    meaning: "Calling thread and its name (escaped: control characters \
                              cannot move the cursor or forge lines).",
                },
                Entry {
                    name: "CALL",
                    meaning: "unshare, setns, clone or clone3; present when more than one \
                              kind can appear (the default, or `--calls clone`).",
                },
                Entry {
                    name: "RET",
                    meaning: "0, the child's pid (clone), or the errno name of a failed \
                              call (`--all`).",
                },
                Entry {
                    name: "FLAGS, FLAGS(human)",
                    meaning: "The flags in hex and by name (unknown bits stay as a hex \
                              remainder; clone(2)'s low byte is the exit signal, e.g. \
                              `|SIGCHLD`). For setns the nstype (`any` for 0) and `-> \
                              net:[inode]`: the namespace joined. Marks at the end: \
                              `[i386]` a 32-bit call (`int 0x80`); `[denied]` a call a \
                              seccomp filter refused before it ran (shown with `--all`, as \
                              it failed; its flags are read from the registers at exit); \
                              `[entering]` a setns from outside the target into one of its \
                              namespaces (with `-c` or `-p`: `docker exec` joins a \
                              container's namespaces before its cgroup).",
                },
                Entry {
                    name: "CGROUP",
                    meaning: "The caller's container (`name`, `NAMESPACE/POD/CONTAINER`) \
                              or its cgroup below the cgroup2 mount; present \
                              whenever more than one cgroup can appear: without `-c`, or \
                              with `-c` and its descendants (only `-c X --exact` leaves \
                              it out).",
                },
            ],
        },
        Table {
            title: "JSON OUTPUT",
            intro: "`--output json` prints one object per event, then one summary \
                    object:",
            entries: &[
                Entry {
                    name: "type",
                    meaning: "`\"event\"` or `\"summary\"`.",
                },
                Entry {
                    name: "time, ktime_ns",
                    meaning: "TIME as RFC 3339 UTC, and as the kernel's monotonic \
                              nanoseconds.",
                },
                Entry {
                    name: "pid, tid, comm, call",
                    meaning: "The caller and the call (`unshare`, `setns`, `clone`, \
                              `clone3`).",
                },
                Entry {
                    name: "flags, flags_human, ret, errno",
                    meaning: "As in the table; `errno` is a name or null.",
                },
                Entry {
                    name: "cgroup_id, cgroup, container",
                    meaning: "The caller's cgroup v2 id and path, and its container \
                              (`{id, name, image, runtime, pod, namespace, pod_uid}`) or \
                              null.",
                },
                Entry {
                    name: "compat, denied, entering",
                    meaning: "The marks as booleans: a 32-bit call; refused by seccomp \
                              before it ran; a setns into the target from outside.",
                },
                Entry {
                    name: "ns_before, ns_after",
                    meaning: "The CALLING process's namespace inodes before and after the \
                              call: `mnt pid net uts ipc user cgroup time` as \
                              /proc/PID/ns/ shows them, plus `pid_for_children` and \
                              `time_for_children` (what unshare(CLONE_NEWPID|CLONE_NEWTIME) \
                              changes).",
                },
                Entry {
                    name: "ns_changed",
                    meaning: "Which of the caller's namespaces changed. A clone never \
                              changes its caller, so for clone and clone3 it is always \
                              `[]`: see `ns_created` for what the child got.",
                },
                Entry {
                    name: "ns_created",
                    meaning: "Namespace types the call created, from its CLONE_NEW* flags: \
                              for unshare the caller's new namespaces, for clone/clone3 \
                              the child's; `[]` for setns (it joins) and failed calls.",
                },
                Entry {
                    name: "fd, joined",
                    meaning: "setns only: the fd argument and `[{type, inode}]`, the \
                              namespaces joined.",
                },
                Entry {
                    name: "summary: events, lost",
                    meaning: "Events printed, and events the kernel could not store \
                              because the ring buffer was full (raise `--buffer-pages`).",
                },
                Entry {
                    name: "summary: untraced",
                    meaning: "Calls of the target not traced because the kernel could \
                              not allocate the per-task storage that carries a call from \
                              entry to exit (out of memory); 0 normally.",
                },
                Entry {
                    name: "summary: target",
                    meaning: "`{path, cgroup, id, descendants, whole_host, container}` or \
                              null without `-c`.",
                },
                Entry {
                    name: "summary: calls",
                    meaning: "The calls traced (`--calls`); with `target` they say which \
                              columns the table had, for `--replay`.",
                },
            ],
        },
    ],
    sections: &[
        Section {
            title: "NOTES",
            text: "At the end the tool detaches, waits for programs still running, and \
               reads the ring buffer a last time: no submitted event is missed. Lost \
               events are reported on stderr while running, at the end, and in the \
               JSON summary.\n\n\
               clone's child returns too (0); only the parent's return is reported.",
        },
        Section {
            title: "RECORD AND REPLAY",
            text: "`--record FILE` writes the NDJSON of `-o json` (every event, then the \
               summary) to FILE while the table is printed. `--replay FILE` (`-` for \
               stdin) prints the saved table again, line for line as it was printed \
               (a comm that is not UTF-8 was saved with U+FFFD for its bad bytes and \
               shows so). The columns come from the summary, the file's last line: \
               the events are printed when it is read. Replay stops at the first line \
               it cannot use (damaged, another tool's) or at a file without the \
               summary (a killed run): the events before it are printed with every \
               column, one line on stderr names the file and line, status 2.",
        },
    ],
    examples: &[
        Example {
            command: "unsharesnoop",
            what: "Successful unshare, setns and namespace-creating clones, host-wide.",
        },
        Example {
            command: "unsharesnoop --all",
            what: "Failed calls too (RET shows the errno).",
        },
        Example {
            command: "unsharesnoop --calls unshare",
            what: "Only unshare(2), in the original tool's columns.",
        },
        Example {
            command: "unsharesnoop -c 3f2a9c1e",
            what: "One container (id prefix) and its children, with a CGROUP column.",
        },
        Example {
            command: "unsharesnoop -p 1234 -d 30",
            what: "One process, for 30 seconds.",
        },
        Example {
            command: "unsharesnoop -o json | jq 'select(.type == \"event\") | .ns_created'",
            what: "NDJSON: which namespaces each call created.",
        },
    ],
    see_also: &[
        "unshare(2)",
        "setns(2)",
        "clone(2)",
        "namespaces(7)",
        "lsns(8)",
    ],
};
