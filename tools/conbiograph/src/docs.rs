//! conbiograph's man page beyond its options: output, JSON fields, notes,
//! examples (also shown by `--help`). See `cli::docs`.

use cli::docs::{Entry, Example, Page, Section, Table};

pub const PAGE: Page = Page {
    description: "\
Block I/O of a container over time, as a braille chart per direction, each \
bio charged to the container that caused it: direct I/O and reads by its \
tasks, and the writeback of pages it dirtied (whoever submits it: a kworker, a \
`sync` elsewhere). Counting happens in the kernel (tp_btf/block_bio_queue, \
writeback_dirty_folio, block_rq_issue and block_rq_complete) in per-period \
slots that userspace drains every period.",
    tables: &[
        Table {
            title: "OUTPUT",
            intro: "Table mode prints a dot per period on stderr while collecting, then \
                    one chart per direction (bytes per period; `--count` requests, \
                    `--avg` bytes per request) and a summary paragraph: totals, request \
                    count and mean size, the peak period and when it was, the mean \
                    issue-to-complete latency, and bytes per device. Without `-c`, a \
                    table of one row per cgroup follows, busiest first; its rows add up \
                    to the charts' totals:",
            entries: &[
                Entry {
                    name: "CGROUP",
                    meaning: "The cgroup's container (`name`, `NAMESPACE/POD/CONTAINER`) \
                              or its path below the cgroup2 mount; `(unattributed)` for \
                              I/O of nobody (kernel threads' own I/O, writeback of pages \
                              whose dirtier is unknown), `(overflow)` for I/O whose owner \
                              did not fit the kernel's full table (counted, owner lost).",
                },
                Entry {
                    name: "READ, R_OPS, WRITE, W_OPS",
                    meaning: "Bytes and requests (bios) per direction over the run.",
                },
                Entry {
                    name: "WRITEBACK",
                    meaning: "The part of WRITE submitted by someone else (a kworker, a \
                              `sync`) for pages the cgroup dirtied.",
                },
            ],
        },
        Table {
            title: "JSON AND CSV OUTPUT",
            intro: "`--output json` prints one object per period as each period ends \
                    (empty ones included, so `t_ms` is contiguous), then one summary \
                    object. `--output csv` prints a header and the same period columns; \
                    the summary paragraph goes to stderr.",
            entries: &[
                Entry {
                    name: "period: type, t_ms",
                    meaning: "`\"period\"`, and the period's start in ms since the run \
                              started.",
                },
                Entry {
                    name: "read_bytes, write_bytes, read_ops, write_ops",
                    meaning: "Bytes and requests charged to the target in the period.",
                },
                Entry {
                    name: "writeback_bytes",
                    meaning: "The part of write_bytes charged because the target dirtied \
                              the pages (background writeback).",
                },
                Entry {
                    name: "partial, length_ms",
                    meaning: "A last period cut short (Ctrl-C, `-d` not a multiple of \
                              the period, the target gone): `partial` true and its length.",
                },
                Entry {
                    name: "read_lat_ns, write_lat_ns",
                    meaning: "Mean issue-to-complete time of sampled requests completed in \
                              the period, or null.",
                },
                Entry {
                    name: "summary: target",
                    meaning: "`{path, cgroup, id, descendants, whole_host, container}` or \
                              null without `-c`.",
                },
                Entry {
                    name: "summary: period_ms, periods, duration_ms",
                    meaning: "Period length, number of periods (a partial one included), \
                              and how long the run was.",
                },
                Entry {
                    name: "summary: read, write",
                    meaning: "`{bytes, ops, avg_bytes, peak_bytes, peak_t_ms, \
                              mean_lat_ns}` per direction.",
                },
                Entry {
                    name: "summary: writeback_bytes, devices[]",
                    meaning: "Writeback total; per device `{device, read_bytes, \
                              write_bytes, read_ops, write_ops}`.",
                },
                Entry {
                    name: "summary: merged_periods, dropped",
                    meaning: "Periods drained too late whose I/O went into a later \
                              period (never lost), and updates the kernel could not record.",
                },
                Entry {
                    name: "summary: cgroups[]",
                    meaning: "Without `-c`: one row per owner, busiest first: `{owner, \
                              cgroup, id, container, read_bytes, write_bytes, read_ops, \
                              write_ops, writeback_bytes}`; owner `cgroup`, `unattributed` \
                              or `overflow`.",
                },
                Entry {
                    name: "summary: kernel",
                    meaning: "How this kernel was traced: `{task_btf, dirty_hook, blkcg}` \
                              (`blkcg`: `v2`, `v1` or `none`, whose cgroup a bio's blkcg \
                              names).",
                },
                Entry {
                    name: "summary: metric, directions",
                    meaning: "What the chart showed: `bytes`, `count` or `avg`, and the \
                              directions traced in chart order (`write`, `read`); \
                              `--replay` draws the same.",
                },
            ],
        },
    ],
    sections: &[
        Section {
            title: "NOTES",
            text: "Memory stays flat on long runs: totals and peaks are exact, the chart \
               keeps at most 10000 points (neighbouring periods merge beyond that, and \
               the chart title says so); json and csv rows are always one per period.\n\n\
               Every bio has one owner: a write of a file's page-cache pages belongs \
               to the cgroup that dirtied them (the bio's cgroup v2 blkcg where the io \
               controller is on v2, else the last dirtier of the inode), anything else \
               to the task that submitted it. Pages dirtied before the run are charged \
               only through a v2 blkcg. Flush and discard requests move no data \
               and are not counted.",
        },
        Section {
            title: "LIVE VIEW",
            text: "`--live` on a terminal draws the chart full screen (alternate screen) \
               every period, fitted to the terminal's width (a resize shows at the \
               next period); q or Ctrl-C stops the run like SIGINT, and the final \
               chart and summary print on the normal screen. The terminal is \
               restored on q, on SIGINT/SIGTERM/SIGHUP and on a panic. Into a pipe, \
               `--live` prints one frame after another instead.",
        },
        Section {
            title: "RECORD AND REPLAY",
            text: "`--record FILE` writes the NDJSON of `-o json` (the period rows, then \
               the summary) to FILE while the chart is shown. `--replay FILE` (`-` \
               for stdin) draws the saved run's chart and summary again, as they were \
               printed for the same terminal width (COLUMNS); `--count`, `--avg`, \
               `--read` and `--write` show it another way. A damaged line, another \
               tool's record or a file without the summary stops it: one line names \
               the file and line, status 2.",
        },
    ],
    examples: &[
        Example {
            command: "conbiograph -t 500 -c /sys/fs/cgroup/system.slice/docker-3f2a9c1e.scope",
            what: "Bytes per 0.5 s, the chart on Ctrl-C.",
        },
        Example {
            command: "conbiograph -c 3f2a9c1e --live",
            what: "The same by container id, redrawn every period.",
        },
        Example {
            command: "conbiograph -c pid:1234 --write --count -d 30",
            what: "Write requests per second of that process's cgroup, for 30 s.",
        },
        Example {
            command: "conbiograph -c mypod --device vda --avg",
            what: "Average request size on one disk.",
        },
        Example {
            command: "conbiograph -c mypod -t 100 -o csv > io.csv",
            what: "One row per 100 ms period, for plotting elsewhere.",
        },
        Example {
            command: "conbiograph -d 10",
            what: "The whole host for 10 s (10 periods), then one row per cgroup.",
        },
    ],
    see_also: &["biotop-bpfcc(8)", "biolatency-bpfcc(8)", "iostat(1)"],
};
