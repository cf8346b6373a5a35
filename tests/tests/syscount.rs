//! syscount end to end: real BPF program, real cgroups, exact ground truth,
//! and the same workload seen by libbpf-tools' syscount where installed.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use contrace_tests::*;

/// Runs syscount with `args` while `work` runs; returns the final JSON report.
fn syscount_json(args: &[&str], work: impl FnOnce()) -> serde_json::Value {
    json_report("syscount", args, |_| work())
}

/// Runs syscount (table output) while `work` runs; returns stdout.
fn syscount_text(args: &[&str], work: impl FnOnce()) -> String {
    let tool = Tool::start("syscount", args);
    work();
    let done = tool.stop();
    assert_eq!(done.code, Some(0), "syscount failed: {}", done.stderr);
    done.stdout
}

/// The whitespace-separated fields of the table line starting with `first`.
fn table_line<'a>(text: &'a str, first: &str) -> Option<Vec<&'a str>> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.first() == Some(&first))
}

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

/// BPF links a process holds open: one per attached program.
fn bpf_links(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .map(|t| t.to_string_lossy().contains("bpf_link"))
                        .unwrap_or(false)
                })
                .count()
        })
        .unwrap_or(0)
}

root_test!(counts_exact_getppid_in_the_libbpf_tools_table, {
    let cg = TestCgroup::new("syscount-exact");
    let w = Workload::spawn(Some(&cg.path), &["getppid", "1234", "openfail", "17"]);
    let text = syscount_text(&["-c", &cg.arg()], || {
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
    assert_eq!(table_line(&text, "openat").unwrap()[1], "17", "{text}");
    assert!(lines.len() <= 2 + 10 + 1, "top 10 by default: {text}");
});

root_test!(json_rows_have_documented_fields, {
    let cg = TestCgroup::new("syscount-json");
    let w = Workload::spawn(Some(&cg.path), &["getppid", "321"]);
    let report = syscount_json(&["-c", &cg.arg(), "-T", "3"], || {
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

root_test!(failures_and_one_errno_count_exactly_the_failing_openat, {
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
        let report = syscount_json(&args, || {
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
    let report = syscount_json(&["-c", &cg.arg(), "-e", "EACCES"], || {
        w.finish();
    });
    assert!(row(&report, "openat").is_none(), "{report}");
});

root_test!(errno_breakdown_names_each_errno, {
    let cg = TestCgroup::new("syscount-errnos");
    let w = Workload::spawn(Some(&cg.path), &["getppid", "40", "openfail", "13"]);
    let report = syscount_json(&["-c", &cg.arg(), "--errno"], || {
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
    let text = syscount_text(&["-c", &cg.arg(), "--errno", "-x"], || {
        w.finish();
    });
    assert!(text.contains("ERRORS  ERRNOS"), "{text}");
    assert_eq!(
        table_line(&text, "openat").unwrap()[1..],
        ["3", "3", "ENOENT:3"],
        "{text}"
    );
});

root_test!(by_process_shows_the_workload_pid_comm_and_count, {
    let cg = TestCgroup::new("syscount-proc");
    let w = Workload::spawn(Some(&cg.path), &["--comm", "sc-worker", "getppid", "555"]);
    let pid = w.pid;
    let report = syscount_json(&["-c", &cg.arg(), "-P", "--syscall", "getppid"], || {
        w.finish();
    });
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report}");
    assert_eq!(rows[0]["pid"], pid);
    assert_eq!(rows[0]["comm"], "sc-worker");
    assert_eq!(rows[0]["count"], 555);

    let w = Workload::spawn(Some(&cg.path), &["--comm", "sc-worker2", "getppid", "300"]);
    let pid = w.pid;
    let text = syscount_text(&["-c", &cg.arg(), "-P"], || {
        w.finish();
    });
    assert!(
        text.lines()
            .any(|l| l == format!("{:<22} {:>8}", "PID    COMM", "COUNT")),
        "{text}"
    );
    let fields =
        table_line(&text, &pid.to_string()).unwrap_or_else(|| panic!("no row for {pid}: {text}"));
    assert_eq!(fields[1], "sc-worker2");
    assert!(fields[2].parse::<u64>().unwrap() >= 300, "{text}");
});

root_test!(by_process_shows_the_name_after_a_rename, {
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
    let report = syscount_json(&["-c", &cg.arg(), "-P", "--syscall", "getppid"], || {
        w.finish();
    });
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report}");
    assert_eq!(rows[0]["pid"], pid);
    assert_eq!(rows[0]["count"], 650);
    assert_eq!(rows[0]["comm"], "sc-after", "{report}");
});

/// BPF program ids a process holds (its program and link fds).
fn bpf_prog_ids(pid: u32) -> Vec<u32> {
    let mut ids: Vec<u32> = std::fs::read_dir(format!("/proc/{pid}/fdinfo"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("prog_id:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

root_test!(by_process_reads_comm_without_a_helper_call, {
    if !Path::new("/usr/sbin/bpftool").exists() {
        eprintln!("skipping: /usr/sbin/bpftool is not installed");
        return;
    }
    let cg = TestCgroup::new("syscount-nohelper");
    let tool = Tool::start("syscount", &["-c", &cg.arg(), "-P"]);
    let ids = bpf_prog_ids(tool.pid());
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

root_test!(pid_filter_excludes_other_processes, {
    let cg = TestCgroup::new("syscount-pid");
    let mine = Workload::spawn(Some(&cg.path), &["getppid", "300"]);
    let other = Workload::spawn(Some(&cg.path), &["getppid", "700"]);
    let pid = mine.pid.to_string();
    let report = syscount_json(&["-p", &pid], || {
        mine.finish();
        other.finish();
    });
    assert_eq!(u(row(&report, "getppid"), "count"), 300, "{report}");
});

root_test!(latency_adds_time_sorts_by_it_and_attaches_the_entry_hook, {
    let cg = TestCgroup::new("syscount-latency");
    let w = Workload::spawn(Some(&cg.path), &["getppid", "1000", "nanosleep", "3", "30"]);
    let mut ran = Duration::ZERO;
    let report = syscount_json(&["-c", &cg.arg(), "-L"], || {
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
    let text = syscount_text(&["-c", &cg.arg(), "-L", "-m"], || {
        ran = timed(|| w.finish());
    });
    assert!(
        text.lines()
            .any(|l| l == format!("{:<22} {:>8} {:>16}", "SYSCALL", "COUNT", "TIME (ms)")),
        "{text}"
    );
    let f = table_line(&text, "nanosleep").unwrap();
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
        assert_eq!(bpf_links(tool.pid()), links, "{args:?}");
        tool.stop();
    }
});

root_test!(histogram_puts_sleeps_in_their_log2_bucket, {
    let cg = TestCgroup::new("syscount-hist");
    let w = Workload::spawn(Some(&cg.path), &["nanosleep", "4", "35", "getppid", "50"]);
    let mut ran = Duration::ZERO;
    let report = syscount_json(
        &["-c", &cg.arg(), "--histogram", "--syscall", "nanosleep"],
        || {
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
    let text = syscount_text(
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

root_test!(by_cgroup_splits_counts_per_container, {
    let cg = TestCgroup::new("syscount-bycg");
    let a = cg.child("a");
    let b = cg.child("b");
    let wa = Workload::spawn(Some(&a), &["getppid", "222"]);
    let wb = Workload::spawn(Some(&b), &["getppid", "333"]);
    let report = syscount_json(
        &["-c", &cg.arg(), "--by-cgroup", "--syscall", "getppid"],
        || {
            wa.finish();
            wb.finish();
        },
    );
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{report}");
    let name = |p: &Path| format!("/{}", p.strip_prefix(cgroup2_root()).unwrap().display());
    assert_eq!(
        (
            rows[0]["cgroup"].as_str().unwrap(),
            rows[0]["count"].as_u64()
        ),
        (name(&b).as_str(), Some(333))
    );
    assert_eq!(
        (
            rows[1]["cgroup"].as_str().unwrap(),
            rows[1]["count"].as_u64()
        ),
        (name(&a).as_str(), Some(222))
    );
    use std::os::unix::fs::MetadataExt;
    assert_eq!(rows[1]["cgroup_id"], std::fs::metadata(&a).unwrap().ino());
});

root_test!(list_prints_this_architectures_syscalls, {
    let out = run_tool("syscount", &["-l"]);
    assert_eq!(out.code, Some(0));
    let nr = kernel::syscalls::number("getppid").unwrap();
    assert!(
        out.stdout.lines().any(|l| l == format!("{nr:>3}: getppid")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.lines().count() > 300);
});

root_test!(duration_ends_the_run_with_a_report, {
    let cg = TestCgroup::new("syscount-duration");
    let started = Instant::now();
    let tool = Tool::start(
        "syscount",
        &["-c", &cg.arg(), "-d", "1", "--output", "json"],
    );
    let done = tool.wait();
    let wall = started.elapsed().as_secs_f64();
    assert_eq!(done.code, Some(0));
    let reports = done.json();
    assert_eq!(reports.len(), 1);
    // -d 1 without -i: the whole run, one second and what the stop took.
    let s = reports[0]["interval_s"].as_f64().unwrap();
    assert!(0.95 <= s && s <= wall, "covered {s} s of a {wall} s run");
});

root_test!(bad_input_is_one_line_and_exit_2, {
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["-e", "ENOPE"], "invalid errno 'ENOPE'"),
        (vec!["-e", "0"], "invalid errno"),
        (
            vec!["--syscall", "getppid,bogus"],
            "unknown syscall name 'bogus'",
        ),
        (vec!["--syscall", ","], "at least one"),
        (vec!["-p", "999999999"], "no process"),
        (vec!["-c", "/nonexistent/cg"], "no such directory"),
        (vec!["-c", "pid:999999999"], "no such process"),
        (vec!["-i", "abc"], "not a number"),
        (vec!["-i", "-1"], ""),
        (vec!["-d", "0"], "positive"),
        (vec!["-T", "0"], "at least 1"),
        (vec!["--exact"], ""),
        (vec!["--histogram", "--errno"], "do not combine"),
    ];
    for (args, needle) in cases {
        let out = run_tool("syscount", &args);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let out = run_tool("syscount", &["-e", "ENOPE"]);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
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
    while bpf_links(child.id()) == 0 {
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
        ours_text = syscount_text(&["-c", &cg.arg()], || {
            w.finish();
        });
    });
    for (name, want) in [("getppid", "4321"), ("openat", "9")] {
        let t = table_line(&theirs, name)
            .unwrap_or_else(|| panic!("libbpf-tools: no {name}: {theirs}"));
        let o =
            table_line(&ours_text, name).unwrap_or_else(|| panic!("ours: no {name}: {ours_text}"));
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

// Host-wide with --by-cgroup, a cgroup made and removed within the one
// report's interval is named by its path (at birth), not by its id.
root_test!(by_cgroup_host_wide_names_a_cgroup_gone_before_the_report, {
    let mut made = None;
    let report = syscount_json(&["--by-cgroup", "--syscall", "getppid"], || {
        let cg = TestCgroup::new("syscount-born");
        let path = format!(
            "/{}",
            cg.path.strip_prefix(cgroup2_root()).unwrap().display()
        );
        made = Some((path, cg.id(), cg.path.clone()));
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
