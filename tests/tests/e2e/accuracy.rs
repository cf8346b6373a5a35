//! Counting syscalls against known ground truth: constat's and
//! syscount's counts, errors, errnos, latencies and histograms, per
//! process and per cgroup, constat's views of syscount's reports,
//! libbpf-tools' syscount on the same workload, and the edges of the
//! syscall path: 32-bit (`int 0x80`) calls, calls a seccomp filter denies
//! before sys_enter and calls already in flight when a tool attaches, each
//! on this kernel's program path and forced onto the old kernels' one; and
//! every view of the one syscall engine (constat, syscount, the exporter)
//! against bpftrace on a shell that forks, vforks and signals itself.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use contrace_tests::bpf::{links_held_by, programs_held_by};
use contrace_tests::exporter;
use contrace_tests::*;
use serde_json::{json, Value};

root_test!(constat_counts_exact_getppid_and_failing_openat, {
    let cg = TestCgroup::new("constat-exact");
    let w = Workload::spawn(Some(&cg.path), &["getppid", "1234", "openfail", "17"]);
    let report = json_report("constat", &["-c", &cg.arg()], |_| {
        w.finish();
    });
    let getppid = row(&report, "getppid");
    let openat = row(&report, "openat");
    assert_eq!(u(getppid, "count"), 1234, "{report}");
    assert_eq!(u(getppid, "errors"), 0);
    assert_eq!(u(openat, "count"), 17, "{report}");
    assert_eq!(u(openat, "errors"), 17);
    assert!(report["dropped"].as_u64().is_some());
    assert_eq!(report["final"], true);
    assert_eq!(report["target"]["id"], cg.id());
    // Documented fields of every row.
    for r in report["rows"].as_array().unwrap() {
        for f in [
            "syscall",
            "nr",
            "count",
            "errors",
            "elapsed_ns",
            "avg_ns",
            "max_ns",
        ] {
            assert!(!r[f].is_null(), "row lacks {f}: {r}");
        }
    }
});

root_test!(constat_times_nanosleep_at_least_as_long_as_it_slept, {
    let cg = TestCgroup::new("constat-sleep");
    let w = Workload::spawn(Some(&cg.path), &["nanosleep", "5", "40"]);
    let mut ran = std::time::Duration::ZERO;
    let report = json_report("constat", &["-c", &cg.arg()], |_| {
        ran = timed(|| w.finish());
    });
    let r = row(&report, "nanosleep");
    assert_eq!(u(r, "count"), 5, "{report}");
    let elapsed = u(r, "elapsed_ns");
    let expect = 5 * 40_000_000u64;
    assert!(
        // Never less than slept; more only by scheduling delay, which a
        // loaded machine stretches, but never past the workload's end.
        elapsed >= expect && u128::from(elapsed) <= ran.as_nanos(),
        "elapsed {elapsed} vs {expect}, in a {ran:?} run"
    );
    assert!(u(r, "max_ns") >= 40_000_000);
});

root_test!(constat_by_syscall_names_each_rows_cgroup, {
    let cg = TestCgroup::new("constat-all");
    let w = Workload::spawn(Some(&cg.path), &["getppid", "4321"]);
    let tool = Tool::start("constat", &["--by-syscall", "--output", "json"]);
    w.finish();
    let done = tool.stop();
    let report = &done.json()[0];
    let rel = cg.rel();
    let r = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cgroup"] == rel.as_str() && r["syscall"] == "getppid")
        .unwrap_or_else(|| panic!("no row for {rel}"));
    assert_eq!(r["count"], 4321);
    assert_eq!(r["cgroup_id"], cg.id());
});

root_test!(constat_counts_exit_group_and_its_table_ends_with_all, {
    let cg = TestCgroup::new("constat-table");
    let tool = Tool::start("constat", &["-c", &cg.arg()]);
    run_workload(Some(&cg.path), &["--no-wait", "getppid", "10"]);
    let done = tool.stop();
    let lines: Vec<&str> = done.stdout.lines().collect();
    assert!(lines[0].starts_with("SYSCALL"), "{}", done.stdout);
    for col in [
        "COUNT",
        "(%)",
        "ERRORS",
        "ELAPSED(ms)",
        "AVG(us)",
        "MAX(us)",
    ] {
        assert!(lines[0].contains(col));
    }
    assert!(
        lines
            .iter()
            .any(|l| l.split_whitespace().next() == Some("exit_group")),
        "{}",
        done.stdout
    );
    let getppid: Vec<&str> = lines
        .iter()
        .find(|l| l.starts_with("getppid"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(getppid[1], "10");
    assert!(lines.last().unwrap().starts_with("ALL"));
});

/// The host-wide row of `cg` in a constat summary report.
fn cgroup_row<'a>(report: &'a Value, cg: &TestCgroup) -> &'a Value {
    report["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cgroup_id"] == cg.id())
        .unwrap_or_else(|| panic!("no row for {}: {report}", cg.arg()))
}

root_test!(constat_host_wide_is_one_row_per_cgroup, {
    let a = TestCgroup::new("ux-sum-a");
    let b = TestCgroup::new("ux-sum-b");
    let wa = Workload::spawn(Some(&a.path), &["getppid", "3000"]);
    let wb = Workload::spawn(Some(&b.path), &["openfail", "200"]);
    let report = json_report("constat", &[], |_| {
        wa.finish();
        wb.finish();
    });
    assert_eq!(report["view"], "cgroups");
    assert!(report.get("rows").is_none(), "{report}");
    let rows = report["cgroups"].as_array().unwrap();
    let ids: BTreeSet<u64> = rows
        .iter()
        .map(|r| r["cgroup_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), rows.len(), "one row per cgroup: {report}");
    let ra = cgroup_row(&report, &a);
    assert_eq!(ra["cgroup"], rel(&a.path).as_str());
    assert_eq!(ra["denied"], 0);
    assert!(ra["count"].as_u64().unwrap() >= 3000, "{ra}");
    assert_eq!(
        ra["busiest"],
        json!({"syscall": "getppid", "nr": nr("getppid"), "compat": false, "count": 3000,
               "errors": 0, "elapsed_ns": ra["busiest"]["elapsed_ns"]})
    );
    let rb = cgroup_row(&report, &b);
    assert_eq!(rb["busiest"]["syscall"], "openat");
    assert_eq!(
        (&rb["busiest"]["count"], &rb["busiest"]["errors"]),
        (&json!(200), &json!(200))
    );
    assert!(rb["errors"].as_u64().unwrap() >= 200, "{rb}");
    let total = &report["total"];
    let sum = |f: &str| rows.iter().map(|r| r[f].as_u64().unwrap()).sum::<u64>();
    assert_eq!(total["count"].as_u64(), Some(sum("count")));
    assert_eq!(total["errors"].as_u64(), Some(sum("errors")));
    assert_eq!(total["cgroups"].as_u64(), Some(rows.len() as u64));

    // The table: one line per cgroup, BUSIEST names the syscall.
    let wa = Workload::spawn(Some(&a.path), &["getppid", "3000"]);
    let t = Tool::start("constat", &[]);
    wa.finish();
    let done = t.stop();
    let header: Vec<&str> = done
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["CGROUP", "CALLS", "ERRORS", "DENIED", "TIME(ms)", "(%)", "SYSCALLS", "BUSIEST"]
    );
    let line: Vec<&str> = done
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("{} ", rel(&a.path))))
        .unwrap_or_else(|| panic!("no line for {}: {}", a.arg(), done.stdout))
        .split_whitespace()
        .collect();
    assert_eq!(line[line.len() - 2], "getppid", "{line:?}");
    assert!(done.stdout.lines().last().unwrap().starts_with("ALL ("));

    // -T 1: one cgroup; totals still cover every cgroup.
    let wa = Workload::spawn(Some(&a.path), &["getppid", "10"]);
    let wb = Workload::spawn(Some(&b.path), &["getppid", "10"]);
    let report = json_report("constat", &["-T", "1"], |_| {
        wa.finish();
        wb.finish();
    });
    assert_eq!(report["cgroups"].as_array().unwrap().len(), 1, "{report}");
    assert!(
        report["total"]["cgroups"].as_u64().unwrap() >= 2,
        "{report}"
    );

    // --by-syscall: the (cgroup, syscall) breakdown.
    let wa = Workload::spawn(Some(&a.path), &["getppid", "3000"]);
    let report = json_report("constat", &["--by-syscall"], |_| {
        wa.finish();
    });
    let r = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cgroup_id"] == a.id() && r["syscall"] == "getppid")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(r["count"], 3000);
});

root_test!(constat_has_syscounts_process_errno_and_histogram_views, {
    let cg = TestCgroup::new("ux-views");
    // -p: one process, constat's own table.
    let one = Workload::spawn(Some(&cg.path), &["--comm", "ux-one", "getppid", "777"]);
    let two = Workload::spawn(Some(&cg.path), &["--comm", "ux-two", "getppid", "500"]);
    let report = json_report("constat", &["-p", &one.pid.to_string()], |_| {
        two.finish();
        one.finish();
    });
    assert_eq!(u(row(&report, "getppid"), "count"), 777, "{report}");
    assert!(row(&report, "getppid").unwrap().get("cgroup").is_none());

    // -P: syscount's per-process rows, the same report syscount prints.
    let per_process = |tool: &str| {
        let one = Workload::spawn(Some(&cg.path), &["--comm", "ux-one", "getppid", "777"]);
        let two = Workload::spawn(Some(&cg.path), &["--comm", "ux-two", "getppid", "500"]);
        let pids = (one.pid, two.pid);
        let report = json_report(
            tool,
            &["-c", &cg.arg(), "-P", "--syscall", "getppid"],
            |_| {
                one.finish();
                two.finish();
            },
        );
        (pids, report)
    };
    let ((p1, p2), ours) = per_process("constat");
    assert_eq!(
        ours["rows"],
        json!([{"pid": p1, "comm": "ux-one", "count": 777},
               {"pid": p2, "comm": "ux-two", "count": 500}])
    );
    assert_eq!(ours["total_count"], 1277);
    let ((p1, p2), theirs) = per_process("syscount");
    assert_eq!(
        theirs["rows"],
        json!([{"pid": p1, "comm": "ux-one", "count": 777},
               {"pid": p2, "comm": "ux-two", "count": 500}])
    );
    let keys = |r: &Value| -> Vec<String> { r.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&ours), keys(&theirs), "the same report as syscount's");

    // --errno: failures per errno name.
    let w = Workload::spawn(Some(&cg.path), &["getppid", "40", "openfail", "13"]);
    let report = json_report("constat", &["-c", &cg.arg(), "--errno"], |_| {
        w.finish();
    });
    let openat = row(&report, "openat").expect("openat row");
    assert_eq!(
        (&openat["count"], &openat["errors"], &openat["errnos"]),
        (&json!(13), &json!(13), &json!({"ENOENT": 13}))
    );
    assert_eq!(report["rows"][0]["syscall"], "openat", "sorted by errors");

    // --histogram: 3 sleeps of 20 ms in the 16384..32767 us bucket (or,
    // woken late on a loaded host, no higher than the run allows).
    let w = Workload::spawn(Some(&cg.path), &["nanosleep", "3", "20"]);
    let mut ran = std::time::Duration::ZERO;
    let report = json_report(
        "constat",
        &["-c", &cg.arg(), "--histogram", "--syscall", "nanosleep"],
        |_| {
            ran = timed(|| w.finish());
        },
    );
    let ns = row(&report, "nanosleep").expect("nanosleep row");
    assert_eq!(ns["count"], 3);
    assert_eq!(ns["histogram"]["unit"], "usecs");
    let buckets = json_buckets(&ns["histogram"]);
    assert_sleep_buckets(&buckets, 3, 20_000, ran.as_micros() as u64);

    // Combinations that make no sense are refused before anything loads.
    let out = run_tool("constat", &["--errno", "--histogram"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let out = run_tool("constat", &["-P", "--by-syscall"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--by-syscall"), "{}", out.stderr);
});

/// The syscall number of `name` on this architecture.
fn nr(name: &str) -> u32 {
    kernel::syscalls::number(name).expect("known syscall")
}

root_test!(syscalls_by_number_in_syscount_and_constat, {
    let cg = TestCgroup::new("ux-nr");
    let getppid = nr("getppid").to_string();
    let w = Workload::spawn(Some(&cg.path), &["getppid", "321", "openfail", "5"]);
    let report = json_report(
        "syscount",
        &["-c", &cg.arg(), "--syscall", &getppid],
        |_| {
            w.finish();
        },
    );
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report}");
    assert_eq!(
        (&rows[0]["syscall"], &rows[0]["count"]),
        (&json!("getppid"), &json!(321))
    );

    let w = Workload::spawn(Some(&cg.path), &["getppid", "321", "openfail", "5"]);
    let list = format!("{getppid},openat");
    let report = json_report("constat", &["-c", &cg.arg(), "--syscall", &list], |_| {
        w.finish();
    });
    let rows: Vec<(String, u64, u64)> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["syscall"].as_str().unwrap().to_string(),
                r["count"].as_u64().unwrap(),
                r["errors"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [("getppid".into(), 321, 0), ("openat".into(), 5, 5)],
        "{report}"
    );

    let out = run_tool("syscount", &["--syscall", "99999", "-d", "1"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("out of range"), "{}", out.stderr);
    let out = run_tool("constat", &["--syscall", "read,bogus"]);
    assert_eq!(out.code, Some(2));
    assert_eq!(
        out.stderr.trim(),
        "constat: unknown syscall name 'bogus': give a name or a number (list them with `syscount -l`)"
    );
});

/// The rows of a libbpf-tools histogram (`low -> high : count |***|`):
/// the bucket and the length of its bar.
fn histogram_lines(text: &str) -> Vec<((u64, u64, u64), usize)> {
    text.lines()
        .filter_map(|l| {
            let (range, rest) = l.split_once(':')?;
            let (low, high) = range.trim().split_once(" -> ")?;
            let (count, bar) = rest.split_once('|')?;
            let bucket = (
                low.trim().parse().ok()?,
                high.trim().parse().ok()?,
                count.trim().parse().ok()?,
            );
            Some((bucket, bar.chars().filter(|c| *c == '*').count()))
        })
        .collect()
}

root_test!(syscount_counts_exact_getppid_in_the_libbpf_tools_table, {
    let cg = TestCgroup::new("syscount-exact");
    let w = Workload::spawn(Some(&cg.path), &["getppid", "1234", "openfail", "17"]);
    let text = text_run("syscount", &["-c", &cg.arg()], || {
        w.finish();
    });
    let lines: Vec<&str> = text.lines().collect();
    // Same shape as libbpf-tools: [HH:MM:SS], `%-22s %8s` header, rows, blank.
    assert!(
        lines[0].starts_with('[') && lines[0].ends_with(']') && lines[0].len() == 10,
        "{text}"
    );
    assert_eq!(lines[1], format!("{:<22} {:>8}", "SYSCALL", "COUNT"));
    assert_eq!(lines[2], format!("{:<22} {:>8}", "getppid", 1234), "{text}");
    assert_eq!(
        table_row(&text, "openat").map(cells).unwrap()[1],
        "17",
        "{text}"
    );
    assert!(lines.len() <= 2 + 10 + 1, "top 10 by default: {text}");
});

root_test!(syscount_json_rows_have_documented_fields, {
    let cg = TestCgroup::new("syscount-json");
    let w = Workload::spawn(Some(&cg.path), &["getppid", "321"]);
    let report = json_report("syscount", &["-c", &cg.arg(), "-T", "3"], |_| {
        w.finish();
    });
    let rows = report["rows"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.len() <= 3, "{report}");
    assert_eq!(u(row(&report, "getppid"), "count"), 321, "{report}");
    for r in rows {
        assert!(r["syscall"].is_string() && r["count"].is_u64(), "{r}");
        assert!(r.get("total_ns").is_none(), "no time without -L: {r}");
    }
    assert_eq!(report["final"], true);
    assert_eq!(report["target"]["id"], cg.id());
    assert!(report["total_count"].as_u64().unwrap() >= 321);
});

root_test!(
    syscount_failures_and_one_errno_count_exactly_the_failing_openat,
    {
        let cg = TestCgroup::new("syscount-fail");
        for flags in [
            vec!["-x"],
            vec!["-e", "ENOENT"],
            vec!["-e", "2"],
            vec!["--errno=ENOENT"],
        ] {
            let w = Workload::spawn(Some(&cg.path), &["getppid", "200", "openfail", "23"]);
            let mut args = vec!["-c", cg.path.to_str().unwrap()];
            args.extend(&flags);
            let report = json_report("syscount", &args, |_| {
                w.finish();
            });
            assert_eq!(
                u(row(&report, "openat"), "count"),
                23,
                "{flags:?}: {report}"
            );
            assert!(row(&report, "getppid").is_none(), "{flags:?}: {report}");
        }
        // Another errno: the ENOENT failures are not counted.
        let w = Workload::spawn(Some(&cg.path), &["openfail", "5"]);
        let report = json_report("syscount", &["-c", &cg.arg(), "-e", "EACCES"], |_| {
            w.finish();
        });
        assert!(row(&report, "openat").is_none(), "{report}");
    }
);

root_test!(syscount_errno_breakdown_names_each_errno, {
    let cg = TestCgroup::new("syscount-errnos");
    let w = Workload::spawn(Some(&cg.path), &["getppid", "40", "openfail", "13"]);
    let report = json_report("syscount", &["-c", &cg.arg(), "--errno"], |_| {
        w.finish();
    });
    let openat = row(&report, "openat").expect("openat row");
    assert_eq!(openat["count"], 13, "{report}");
    assert_eq!(openat["errors"], 13);
    assert_eq!(openat["errnos"], serde_json::json!({"ENOENT": 13}));
    let getppid = row(&report, "getppid").expect("getppid row");
    assert_eq!(
        (getppid["count"].as_u64(), getppid["errors"].as_u64()),
        (Some(40), Some(0))
    );
    // Sorted by errors: the failing call first.
    assert_eq!(report["rows"][0]["syscall"], "openat");

    let w = Workload::spawn(Some(&cg.path), &["openfail", "3"]);
    let text = text_run("syscount", &["-c", &cg.arg(), "--errno", "-x"], || {
        w.finish();
    });
    assert!(text.contains("ERRORS  ERRNOS"), "{text}");
    assert_eq!(
        table_row(&text, "openat").map(cells).unwrap()[1..],
        ["3", "3", "ENOENT:3"],
        "{text}"
    );
});

root_test!(syscount_by_process_shows_the_workload_pid_comm_and_count, {
    let cg = TestCgroup::new("syscount-proc");
    let w = Workload::spawn(Some(&cg.path), &["--comm", "sc-worker", "getppid", "555"]);
    let pid = w.pid;
    let report = json_report(
        "syscount",
        &["-c", &cg.arg(), "-P", "--syscall", "getppid"],
        |_| {
            w.finish();
        },
    );
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report}");
    assert_eq!(rows[0]["pid"], pid);
    assert_eq!(rows[0]["comm"], "sc-worker");
    assert_eq!(rows[0]["count"], 555);

    let w = Workload::spawn(Some(&cg.path), &["--comm", "sc-worker2", "getppid", "300"]);
    let pid = w.pid;
    let text = text_run("syscount", &["-c", &cg.arg(), "-P"], || {
        w.finish();
    });
    assert!(
        text.lines()
            .any(|l| l == format!("{:<22} {:>8}", "PID    COMM", "COUNT")),
        "{text}"
    );
    let fields = table_row(&text, &pid.to_string())
        .map(cells)
        .unwrap_or_else(|| panic!("no row for {pid}: {text}"));
    assert_eq!(fields[1], "sc-worker2");
    assert!(fields[2].parse::<u64>().unwrap() >= 300, "{text}");
});

root_test!(syscount_by_process_shows_the_name_after_a_rename, {
    let cg = TestCgroup::new("syscount-rename");
    // The rename happens while traced: 50 calls under the old name, 600
    // under the new one (libbpf-tools reads comm on every call too).
    let w = Workload::spawn(
        Some(&cg.path),
        &[
            "--comm",
            "sc-before",
            "getppid",
            "50",
            "rename",
            "sc-after",
            "getppid",
            "600",
        ],
    );
    let pid = w.pid;
    let report = json_report(
        "syscount",
        &["-c", &cg.arg(), "-P", "--syscall", "getppid"],
        |_| {
            w.finish();
        },
    );
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report}");
    assert_eq!(rows[0]["pid"], pid);
    assert_eq!(rows[0]["count"], 650);
    assert_eq!(rows[0]["comm"], "sc-after", "{report}");
});

root_test!(syscount_by_process_reads_comm_without_a_helper_call, {
    if !Path::new("/usr/sbin/bpftool").exists() {
        eprintln!("skipping: /usr/sbin/bpftool is not installed");
        return;
    }
    let cg = TestCgroup::new("syscount-nohelper");
    let tool = Tool::start("syscount", &["-c", &cg.arg(), "-P"]);
    let ids = programs_held_by(tool.pid());
    let mut dumps = String::new();
    for id in &ids {
        let out = Command::new("/usr/sbin/bpftool")
            .args(["prog", "dump", "xlated", "id", &id.to_string()])
            .output()
            .expect("run bpftool");
        assert!(out.status.success(), "bpftool: {out:?}");
        dumps.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    tool.stop();
    // The exit program, with -P live: it reads the task (tgid, cgroup).
    assert!(
        !ids.is_empty() && dumps.contains("call "),
        "{ids:?}: {dumps}"
    );
    // The only probe reads allowed are the target filter's for tasks more
    // than 16 cgroup levels below the target (the ancestors array, which
    // BTF pointers cannot index): the xlated dump names their source line.
    let mut source = "";
    let mut helper_reads = Vec::new();
    for line in dumps.lines() {
        if let Some(src) = line.strip_prefix("; ") {
            source = src;
        } else if line.contains("call bpf_probe_read")
            && !source.contains("ancestor")
            && !source.contains("BPF_CORE_READ(anc,")
        {
            helper_reads.push(format!("{line}  <- {source}"));
        }
    }
    assert!(
        helper_reads.is_empty(),
        "a probe_read helper on the per-call path: {helper_reads:#?}\n{dumps}"
    );
});

root_test!(
    syscount_latency_adds_time_sorts_by_it_and_attaches_the_entry_hook,
    {
        let cg = TestCgroup::new("syscount-latency");
        let w = Workload::spawn(Some(&cg.path), &["getppid", "1000", "nanosleep", "3", "30"]);
        let mut ran = Duration::ZERO;
        let report = json_report("syscount", &["-c", &cg.arg(), "-L"], |_| {
            ran = timed(|| w.finish());
        });
        let sleep = row(&report, "nanosleep").expect("nanosleep row");
        assert_eq!(sleep["count"], 3);
        let ns = sleep["total_ns"].as_u64().unwrap();
        // Sleeps never end early; a loaded host may wake them late, but never
        // later than the workload ended.
        assert!(
            90_000_000 <= ns && u128::from(ns) <= ran.as_nanos(),
            "total_ns {ns} in a {ran:?} run"
        );
        assert_eq!(
            report["rows"][0]["syscall"], "nanosleep",
            "sorted by time: {report}"
        );
        assert_eq!(u(row(&report, "getppid"), "count"), 1000);

        let w = Workload::spawn(Some(&cg.path), &["nanosleep", "2", "25"]);
        let text = text_run("syscount", &["-c", &cg.arg(), "-L", "-m"], || {
            ran = timed(|| w.finish());
        });
        assert!(
            text.lines()
                .any(|l| l == format!("{:<22} {:>8} {:>16}", "SYSCALL", "COUNT", "TIME (ms)")),
            "{text}"
        );
        let f = table_row(&text, "nanosleep").map(cells).unwrap();
        let ms: f64 = f[2].parse().unwrap();
        assert!(
            50.0 <= ms && ms <= ran.as_secs_f64() * 1000.0,
            "{ran:?}: {text}"
        );

        // Count-only runs on sys_exit alone; -L adds sys_enter.
        for (args, links) in [(vec![], 1), (vec!["-L"], 2)] {
            let mut a = vec!["-c", cg.path.to_str().unwrap()];
            a.extend(&args);
            let tool = Tool::start("syscount", &a);
            assert_eq!(links_held_by(tool.pid()), links, "{args:?}");
            tool.stop();
        }
    }
);

root_test!(syscount_histogram_puts_sleeps_in_their_log2_bucket, {
    let cg = TestCgroup::new("syscount-hist");
    let w = Workload::spawn(Some(&cg.path), &["nanosleep", "4", "35", "getppid", "50"]);
    let mut ran = Duration::ZERO;
    let report = json_report(
        "syscount",
        &["-c", &cg.arg(), "--histogram", "--syscall", "nanosleep"],
        |_| {
            ran = timed(|| w.finish());
        },
    );
    let r = row(&report, "nanosleep").expect("nanosleep row");
    assert_eq!(r["count"], 4);
    assert_eq!(r["histogram"]["unit"], "usecs");
    // 35 ms = 35000 us lies in [32768, 65535] (late wake-ups on a loaded
    // host may land higher, never past what the run allows).
    let buckets = json_buckets(&r["histogram"]);
    assert_sleep_buckets(&buckets, 4, 35_000, ran.as_micros() as u64);
    // The highest bucket printed is one that counted calls.
    assert!(buckets.last().is_some_and(|b| b.2 > 0), "{r}");
    assert!(row(&report, "getppid").is_none());

    let w = Workload::spawn(Some(&cg.path), &["nanosleep", "3", "34"]);
    let text = text_run(
        "syscount",
        &[
            "-c",
            &cg.arg(),
            "--histogram",
            "-m",
            "--syscall",
            "nanosleep",
        ],
        || {
            ran = timed(|| w.finish());
        },
    );
    assert!(text.contains("syscall = nanosleep, count = 3"), "{text}");
    assert!(
        text.contains("msecs               : count    distribution"),
        "{text}"
    );
    // 34 ms lies in [32, 63] ms; the fullest bucket has the whole bar.
    let lines = histogram_lines(&text);
    let buckets: Vec<(u64, u64, u64)> = lines.iter().map(|l| l.0).collect();
    assert_sleep_buckets(&buckets, 3, 34, ran.as_millis() as u64);
    let fullest = lines.iter().max_by_key(|l| l.0 .2).unwrap();
    assert_eq!(fullest.1, 40, "{text}");
});

root_test!(syscount_by_cgroup_splits_counts_per_cgroup, {
    let cg = TestCgroup::new("syscount-bycg");
    let a = cg.child("a");
    let b = cg.child("b");
    let wa = Workload::spawn(Some(&a), &["getppid", "222"]);
    let wb = Workload::spawn(Some(&b), &["getppid", "333"]);
    let report = json_report(
        "syscount",
        &["-c", &cg.arg(), "--by-cgroup", "--syscall", "getppid"],
        |_| {
            wa.finish();
            wb.finish();
        },
    );
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{report}");
    assert_eq!(
        (
            rows[0]["cgroup"].as_str().unwrap(),
            rows[0]["count"].as_u64()
        ),
        (rel(&b).as_str(), Some(333))
    );
    assert_eq!(
        (
            rows[1]["cgroup"].as_str().unwrap(),
            rows[1]["count"].as_u64()
        ),
        (rel(&a).as_str(), Some(222))
    );
    assert_eq!(rows[1]["cgroup_id"], cgroup_id(&a));
});

/// libbpf-tools' syscount on a cgroup path: attached once it holds a BPF
/// link (its banner goes to a block-buffered stdout, so it cannot be waited
/// for); stopped with SIGINT, then its table is returned.
fn run_libbpf_tools_syscount(cg: &str, work: impl FnOnce()) -> String {
    let mut child = Command::new("/usr/sbin/syscount")
        .args(["-c", cg])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn /usr/sbin/syscount");
    let deadline = Instant::now() + Duration::from_secs(60);
    while links_held_by(child.id()) == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "/usr/sbin/syscount exited early"
        );
        assert!(
            Instant::now() < deadline,
            "/usr/sbin/syscount did not attach"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    work();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "/usr/sbin/syscount: {status}: {out}");
    out
}

root_test!(agrees_with_libbpf_tools_syscount, {
    if !Path::new("/usr/sbin/syscount").exists() {
        eprintln!("skipping: /usr/sbin/syscount (libbpf-tools) is not installed");
        return;
    }
    let cg = TestCgroup::new("syscount-vs-libbpf");
    let w = Workload::spawn(Some(&cg.path), &["getppid", "4321", "openfail", "9"]);
    let mut ours_text = String::new();
    let theirs = run_libbpf_tools_syscount(&cg.arg(), || {
        ours_text = text_run("syscount", &["-c", &cg.arg()], || {
            w.finish();
        });
    });
    for (name, want) in [("getppid", "4321"), ("openat", "9")] {
        let t = table_row(&theirs, name)
            .map(cells)
            .unwrap_or_else(|| panic!("libbpf-tools: no {name}: {theirs}"));
        let o = table_row(&ours_text, name)
            .map(cells)
            .unwrap_or_else(|| panic!("ours: no {name}: {ours_text}"));
        assert_eq!(
            (t[1], o[1]),
            (want, want),
            "theirs:\n{theirs}\nours:\n{ours_text}"
        );
    }
    // Same header line, same column layout for the counted rows.
    let header = format!("{:<22} {:>8}", "SYSCALL", "COUNT");
    assert!(theirs.lines().any(|l| l == header) && ours_text.lines().any(|l| l == header));
    let line = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("getppid"))
            .map(str::to_string)
    };
    assert_eq!(line(&theirs), line(&ours_text));
});

/// The row of `name` in its native (`compat` false) or 32-bit ABI.
fn abi_row<'a>(report: &'a Value, name: &str, compat: bool) -> Option<&'a Value> {
    report["rows"]
        .as_array()?
        .iter()
        .find(|r| r["syscall"] == name && r["compat"].as_bool() == Some(compat))
}

/// Waits until `pid` is blocked in syscall `nr` (/proc/PID/syscall).
fn wait_blocked_in(pid: u32, nr: u32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
        if text.split_whitespace().next() == Some(&nr.to_string()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pid {pid} never blocked in {nr}: {text}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn kill(pid: u32, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).unwrap();
}

root_test!(constat_counts_32bit_calls_under_their_i386_names, {
    for env in KERNEL_PATHS {
        let cg = TestCgroup::new("edges-constat-32");
        let w = Workload::spawn(Some(&cg.path), &["getppid", "100", "getppid32", "50"]);
        let report = json_report_env("constat", &["-c", &cg.arg()], env, |_| {
            w.finish();
        });
        let native = abi_row(&report, "getppid", false);
        let i386 = abi_row(&report, "getppid", true);
        assert_eq!(u(native, "count"), 100, "{env:?} {report}");
        assert_eq!(u(i386, "count"), 50, "{env:?} {report}");
        assert_eq!(u(i386, "nr"), 64, "i386 getppid is 64: {report}");
        // i386 64 is x86_64's semget: never named so.
        assert!(row(&report, "semget").is_none(), "{report}");
    }
    let cg = TestCgroup::new("edges-constat-32-text");
    let w = Workload::spawn(Some(&cg.path), &["getppid32", "33"]);
    let text = text_run("constat", &["-c", &cg.arg()], || {
        w.finish();
    });
    let line = table_row(&text, "getppid (i386)").unwrap_or_else(|| panic!("{text}"));
    assert_eq!(line.split_whitespace().nth(2), Some("33"), "{line}");
});

root_test!(constat_counts_seccomp_denied_calls_as_denied_failures, {
    for env in KERNEL_PATHS {
        let cg = TestCgroup::new("edges-constat-denied");
        let w = Workload::spawn(
            Some(&cg.path),
            &[
                "openfail",
                "3",
                "seccomp-deny",
                "getppid",
                "1",
                "getppid",
                "20",
                "getppid32",
                "7",
            ],
        );
        let report = json_report_env("constat", &["-c", &cg.arg()], env, |_| {
            w.finish();
        });
        let native = abi_row(&report, "getppid", false);
        assert_eq!(u(native, "count"), 20, "{env:?} {report}");
        assert_eq!(u(native, "errors"), 20, "{report}");
        assert_eq!(u(native, "denied"), 20, "{report}");
        assert_eq!(native.unwrap()["errno"], "EPERM", "{report}");
        assert_eq!(native.unwrap()["errnos"]["EPERM"], 20, "{report}");
        assert_eq!(
            u(native, "elapsed_ns"),
            0,
            "denied calls never ran: {report}"
        );
        let i386 = abi_row(&report, "getppid", true);
        assert_eq!((u(i386, "count"), u(i386, "denied")), (7, 7), "{report}");
        let openat = abi_row(&report, "openat", false);
        assert_eq!(
            (u(openat, "errors"), u(openat, "denied")),
            (3, 0),
            "{report}"
        );
        assert_eq!(report["total"]["denied"], 27, "{report}");
    }
});

root_test!(
    constat_errno_column_shows_the_most_common_errno_and_others,
    {
        // 123 ENOENT, then one EACCES (the most recent): ENOENT leads.
        let work = [
            "openfail",
            "123",
            "seccomp-deny",
            "openat",
            "13",
            "openfail",
            "1",
        ];
        let cg = TestCgroup::new("edges-constat-errno");
        let w = Workload::spawn(Some(&cg.path), &work);
        let report = json_report_env("constat", &["-c", &cg.arg()], &[], |_| {
            w.finish();
        });
        let openat = abi_row(&report, "openat", false).unwrap_or_else(|| panic!("{report}"));
        assert_eq!(openat["errors"], 124, "{report}");
        assert_eq!(openat["errno"], "ENOENT", "{report}");
        assert_eq!(
            openat["errnos"],
            serde_json::json!({"ENOENT": 123, "EACCES": 1}),
            "{report}"
        );
        let w = Workload::spawn(Some(&cg.path), &work);
        let text = text_run("constat", &["-c", &cg.arg()], || {
            w.finish();
        });
        let line = table_row(&text, "openat").unwrap_or_else(|| panic!("{text}"));
        assert!(line.contains(" ENOENT+1 "), "{line}");
    }
);

/// A seccomp'd workload blocked in pause(2) when the tool attaches: that
/// call (ending EINTR) is not denied; the fork child's return, the threads'
/// first exits, rt_sigreturn (no number) and exit_group are not either.
fn in_flight_workload(cg: &TestCgroup) -> Workload {
    let mut w = Workload::spawn(
        Some(&cg.path),
        &[
            "seccomp-deny",
            "getppid",
            "1",
            "pause-once",
            "clone",
            "0",
            "threads",
            "2",
            "getppid",
            "5",
        ],
    );
    w.go();
    let pause = kernel::syscalls::number("pause").unwrap();
    wait_blocked_in(w.pid, pause);
    w
}

root_test!(a_call_in_flight_when_the_tool_attached_is_never_denied, {
    for env in KERNEL_PATHS {
        let cg = TestCgroup::new("edges-inflight");
        let w = in_flight_workload(&cg);
        let pid = w.pid;
        let report = json_report_env("constat", &["-c", &cg.arg()], env, |_| {
            kill(pid, nix::sys::signal::Signal::SIGUSR1);
            w.finish();
        });
        // 5 calls, and one in each of the 2 threads.
        let getppid = abi_row(&report, "getppid", false);
        assert_eq!(
            (u(getppid, "count"), u(getppid, "denied")),
            (7, 7),
            "{env:?} {report}"
        );
        assert_eq!(report["total"]["denied"], 7, "{report}");
        assert!(
            row(&report, "pause").is_none(),
            "began before attaching: {report}"
        );
        for name in ["rt_sigreturn", "exit_group", "clone"] {
            let r = abi_row(&report, name, false);
            assert!(u(r, "count") >= 1, "{name}: {report}");
        }

        for args in [&["-L"][..], &["--denied"]] {
            let w = in_flight_workload(&cg);
            let pid = w.pid;
            let mut all = vec!["-c", cg.path.to_str().unwrap(), "-T", "500"];
            all.extend(args);
            let report = json_report_env("syscount", &all, env, |_| {
                kill(pid, nix::sys::signal::Signal::SIGUSR1);
                w.finish();
            });
            let getppid = abi_row(&report, "getppid", false);
            assert_eq!(
                (u(getppid, "count"), u(getppid, "denied")),
                (7, 7),
                "{env:?} {args:?} {report}"
            );
            let denied: u64 = report["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["denied"].as_u64().unwrap())
                .sum();
            assert_eq!(denied, 7, "{args:?} {report}");
            assert!(row(&report, "pause").is_none(), "{args:?} {report}");
        }
    }
});

root_test!(syscount_counts_32bit_and_denied_calls_in_every_mode, {
    let work = [
        "getppid",
        "100",
        "getppid32",
        "50",
        "seccomp-deny",
        "getppid",
        "1",
        "getppid",
        "20",
        "getppid32",
        "7",
    ];
    let cg = TestCgroup::new("edges-syscount");
    let cases: [(&[&str], bool); 5] = [
        (&[], false),
        (&["--denied"], true),
        (&["-L"], true),
        (&["-L", "-x"], true),
        (&["--histogram", "--syscall", "getppid"], true),
    ];
    for env in KERNEL_PATHS {
        for (args, tracked) in cases {
            let w = Workload::spawn(Some(&cg.path), &work);
            let mut all = vec!["-c", cg.path.to_str().unwrap()];
            all.extend(args);
            let report = json_report_env("syscount", &all, env, |_| {
                w.finish();
            });
            let failed_only = args.contains(&"-x");
            let native = abi_row(&report, "getppid", false);
            let i386 = abi_row(&report, "getppid", true);
            let (n, c) = if failed_only { (20, 7) } else { (120, 57) };
            assert_eq!(u(native, "count"), n, "{env:?} {args:?}: {report}");
            assert_eq!(u(i386, "count"), c, "{env:?} {args:?}: {report}");
            assert_eq!(u(i386, "nr"), 64, "{report}");
            if tracked {
                assert_eq!(u(native, "denied"), 20, "{args:?}: {report}");
                assert_eq!(u(i386, "denied"), 7, "{args:?}: {report}");
            } else {
                assert!(native.unwrap().get("denied").is_none(), "{report}");
            }
            if args.contains(&"--histogram") {
                // --syscall getppid means both ABIs; denied calls are not
                // in the latency buckets.
                assert_eq!(report["rows"].as_array().unwrap().len(), 2, "{report}");
                for (r, timed) in [(native, 100), (i386, 50)] {
                    let sum: u64 = r.unwrap()["histogram"]["buckets"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|b| b["count"].as_u64().unwrap())
                        .sum();
                    assert_eq!(sum, timed, "{report}");
                }
            }
        }
    }
    let w = Workload::spawn(Some(&cg.path), &work);
    let text = text_run("syscount", &["-c", &cg.arg(), "-L"], || {
        w.finish();
    });
    assert!(text.contains("DENIED"), "{text}");
    let line = table_row(&text, "getppid (i386)").unwrap_or_else(|| panic!("{text}"));
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        (cells[2], cells.last().copied()),
        ("57", Some("7")),
        "{line}"
    );
});

root_test!(
    syscount_names_32bit_calls_for_every_process_in_count_only_mode,
    {
        // Without -c the task is fetched only when the registers do not show a
        // native `syscall`: 32-bit calls must still get their i386 names.
        let cg = TestCgroup::new("edges-syscount-host");
        let w = Workload::spawn(Some(&cg.path), &["unshare32-burst", "77"]);
        let report = json_report_env("syscount", &["-T", "5000"], &[], |_| {
            w.finish();
        });
        assert!(
            u(abi_row(&report, "unshare", true), "count") >= 77,
            "{report}"
        );
        // i386 unshare is 310, x86_64's process_vm_readv.
        assert!(row(&report, "process_vm_readv").is_none(), "{report}");
    }
);

// One syscall engine, one answer: constat, syscount and the exporter count
// the same calls as bpftrace at sys_enter, on a real shell that forks,
// vforks, signals itself (handlers end in rt_sigreturn) and waits (calls a
// signal interrupts are restarted).

/// Forks (dash runs simple commands by vfork), subshells, a signal with a
/// handler per round, and waits a child's SIGCHLD can interrupt.
const SIGNALLING_SHELL: &str = "trap 'n=$((n+1))' USR1; n=0; i=0; \
    while [ $i -lt 25 ]; do /bin/true; kill -USR1 $$; ( : ) & wait; i=$((i+1)); done; \
    [ $n -eq 25 ]";

/// Calls per syscall name.
type Counts = BTreeMap<String, u64>;

/// bpftrace counting sys_enter of one cgroup, until stopped.
struct Bpftrace {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Bpftrace {
    /// Starts it and waits until its probe fires: one probe counts the
    /// cgroup's calls and says "ready" at the first call of this test
    /// process, so once that line is read, the probe is attached ("Attaching"
    /// is printed before).
    fn start(cg: &TestCgroup) -> Self {
        let program = format!(
            "tracepoint:raw_syscalls:sys_enter {{ \
               if (cgroup == cgroupid(\"{}\")) {{ @[args->id] = count(); }} \
               else if (pid == {} && @ready == 0) {{ @ready = 1; printf(\"ready\\n\"); }} }}",
            cg.path.display(),
            std::process::id()
        );
        let mut child = Command::new("bpftrace")
            .args(["-e", &program])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bpftrace (scripts/setup installs it)");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + scaled(Duration::from_secs(60));
        let mut said = Vec::new();
        while !said.iter().any(|l: &String| l == "ready") {
            // Our own calls (this loop's) fire the probe once it is attached.
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left.min(Duration::from_millis(100))) {
                Ok(line) => said.push(line),
                Err(_) if Instant::now() < deadline => {}
                Err(_) => panic!("bpftrace never fired: {said:?}"),
            }
        }
        Self { child, lines: rx }
    }

    /// Stops it (SIGINT prints the map) and reads `@[NR]: COUNT` lines.
    fn stop(mut self) -> Counts {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT bpftrace");
        let status = self.child.wait().expect("wait bpftrace");
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
        }
        assert!(status.success(), "bpftrace: {status}: {stderr}");
        let mut counts = Counts::new();
        for line in self.lines.iter() {
            let Some((nr, n)) = line.strip_prefix("@[").and_then(|l| l.split_once("]: ")) else {
                continue;
            };
            let nr: u32 = nr.parse().expect("syscall number");
            let name = kernel::syscalls::name(nr).into_owned();
            *counts.entry(name).or_default() += n.trim().parse::<u64>().expect("count");
        }
        counts
    }
}

impl Drop for Bpftrace {
    /// A test that fails half-way leaves no bpftrace attached.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tool's NDJSON rows (last report) as calls per native syscall name.
fn rows(report: &serde_json::Value) -> Counts {
    let mut counts = Counts::new();
    for r in report["rows"].as_array().expect("rows") {
        assert_eq!(r["compat"], false, "a 64-bit shell: {r}");
        let name = r["syscall"].as_str().expect("syscall").to_string();
        *counts.entry(name).or_default() += r["count"].as_u64().expect("count");
    }
    counts
}

/// `contrace_syscalls_total` of one cgroup, per syscall name.
fn scraped(exporter: &exporter::Exporter, rel: &str) -> Counts {
    exporter
        .scrape()
        .into_iter()
        .filter(|s| {
            s.name == "contrace_syscalls_total"
                && s.labels.get("cgroup").map(String::as_str) == Some(rel)
        })
        .map(|s| (s.labels["syscall"].clone(), s.value as u64))
        .collect()
}

/// The exit-only views never see the calls that do not return.
fn returning(mut counts: Counts) -> Counts {
    counts.remove("exit");
    counts.remove("exit_group");
    counts
}

root_test!(every_view_counts_the_calls_bpftrace_sees, {
    let cg = TestCgroup::new("engine-agree");
    let exporter = exporter::Exporter::start(&["--top-syscalls", "512", "--no-block"]);
    let constat = Tool::start("constat", &["-c", &cg.arg(), "-o", "json"]);
    let syscount = Tool::start("syscount", &["-c", &cg.arg(), "-o", "json", "-T", "1000"]);
    let bpftrace = Bpftrace::start(&cg);

    let out = run_workload(
        None,
        &[
            "--no-wait",
            "spawn-into",
            &cg.arg(),
            "/bin/sh",
            "-c",
            SIGNALLING_SHELL,
        ],
    );
    assert_eq!(
        out.first().map(String::as_str),
        Some("spawned 0"),
        "the script: {out:?}"
    );

    let truth = bpftrace.stop();
    for name in [
        "clone",
        "vfork",
        "rt_sigreturn",
        "kill",
        "wait4",
        "execve",
        "exit_group",
    ] {
        let seen = truth.get(name).copied().unwrap_or(0);
        assert!(seen > 0, "the workload makes {name}: {truth:?}");
    }
    let constat = rows(&constat.stop().json().pop().expect("constat report"));
    assert_eq!(constat, truth, "constat against bpftrace");
    let syscount = rows(&syscount.stop().json().pop().expect("syscount report"));
    assert_eq!(
        syscount,
        returning(truth.clone()),
        "syscount against bpftrace"
    );

    // The exporter drains in the background: wait until it shows them all.
    let deadline = Instant::now() + scaled(Duration::from_secs(30));
    let mut served = scraped(&exporter, &cg.rel());
    while served != returning(truth.clone()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        served = scraped(&exporter, &cg.rel());
    }
    assert_eq!(served, returning(truth), "the exporter against bpftrace");
    drop(exporter);
});

// Host-wide with --by-cgroup, a cgroup made and removed within the one
// report's interval is named by its path (at birth), not by its id.
root_test!(syscount_by_cgroup_names_a_cgroup_gone_before_the_report, {
    let mut made = None;
    let args = ["--by-cgroup", "--syscall", "getppid"];
    let report = json_report("syscount", &args, |_| {
        let cg = TestCgroup::new("syscount-born");
        made = Some((cg.rel(), cg.id(), cg.path.clone()));
        run_workload(Some(&cg.path), &["getppid", "77"]);
    });
    let (path, id, dir) = made.expect("the cgroup was made");
    assert!(!dir.exists(), "{} still there", dir.display());
    let rows = report["rows"].as_array().expect("rows");
    let row = rows
        .iter()
        .find(|r| r["cgroup_id"] == id)
        .unwrap_or_else(|| panic!("no row of cgroup {id}: {report}"));
    assert_eq!(
        (row["cgroup"].as_str(), row["count"].as_u64()),
        (Some(path.as_str()), Some(77)),
        "{report}"
    );
});
