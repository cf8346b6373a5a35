//! Hardening, across all four tools: bad input, privileges, signals, pipes,
//! cleanup after kill -9, a target that disappears, concurrent instances,
//! hostile names and many threads.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use contrace_tests::*;
use nix::sys::signal::Signal;

/// Ids of every loaded BPF program (bpftool).
fn loaded_programs() -> BTreeSet<u64> {
    let out = Command::new("bpftool")
        .args(["-j", "prog", "show"])
        .output()
        .expect("bpftool");
    let progs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bpftool JSON");
    progs
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_u64())
        .collect()
}

/// Ids of the programs a process holds through its fds (program and link
/// fds both show `prog_id:` in /proc/PID/fdinfo).
fn programs_held_by(pid: u32) -> BTreeSet<u64> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return BTreeSet::new();
    };
    dir.flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .flat_map(|info| {
            info.lines()
                .filter_map(|l| {
                    l.strip_prefix("prog_id:")
                        .and_then(|v| v.trim().parse().ok())
                })
                .collect::<Vec<u64>>()
        })
        .collect()
}

/// The bpf(2) commands a run issued, from strace: a refused run must not
/// load or attach anything.
fn bpf_commands(tool: &str, args: &[&str]) -> String {
    let log = std::env::temp_dir().join(format!("contrace-strace-{}-{tool}", std::process::id()));
    let _ = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=bpf,perf_event_open", "-o"])
        .arg(&log)
        .arg(bin(tool))
        .args(args)
        .output()
        .expect("strace (scripts/setup installs it)");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    text
}

root_test!(bad_input_gets_one_line_and_exit_2_in_every_tool, {
    let root = cgroup2_root();
    let fakes = TestCgroup::new("hard-ids");
    fakes.child("docker-abcd111111111111111111111111111111111111111111111111111111111111.scope");
    fakes.child("docker-abcd222222222222222222222222222222222222222222222222222222222222.scope");
    let file = root.join("cgroup.procs").display().to_string();
    let dotdot = format!("{}/../../../../../../tmp", root.display());
    let mut cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["-c", "/nonexistent/cg"], "/nonexistent/cg"),
        (vec!["-c", &file], "is a file"),
        (vec!["-c", "/tmp"], "not a cgroup"),
        (vec!["-c", ""], "empty target"),
        (vec!["-c", "x/../../y"], "'..'"),
        (vec!["-c", "../x"], "no such directory"),
        (vec!["-c", &dotdot], "not a cgroup"),
        (vec!["-c", "pid:999999999"], "no such process"),
        (vec!["-c", "feedfacefeedface"], "no container"),
        (vec!["-c", "abcd"], "ambiguous"),
        (vec!["-d", "0"], "positive"),
        (vec!["-d", "-1"], ""),
        (vec!["-d", "abc"], "not a number"),
        (vec!["-d", "99999999999"], "more than a year"),
    ];
    let v1 = identity::cgroup::Hierarchy::detect()
        .unwrap()
        .v1
        .first()
        .map(|p| p.display().to_string());
    if let Some(v1) = &v1 {
        cases.push((vec!["-c", v1], "cgroup v1"));
    }
    for tool in TOOLS {
        for (args, needle) in &cases {
            let out = run_tool(tool, args);
            assert_eq!(out.code, Some(2), "{tool} {args:?}: {}", out.stderr);
            assert!(
                out.stderr.contains(needle),
                "{tool} {args:?}: {}",
                out.stderr
            );
            assert_eq!(
                out.stderr.trim().lines().count(),
                1,
                "{tool} {args:?}: one line: {}",
                out.stderr
            );
            assert!(out.stdout.is_empty(), "{tool} {args:?}");
        }
        let calls = bpf_commands(tool, &["-c", "/nonexistent/cg"]);
        for cmd in [
            "BPF_PROG_LOAD",
            "BPF_LINK_CREATE",
            "BPF_RAW_TRACEPOINT_OPEN",
            "perf_event_open",
        ] {
            assert!(
                !calls.contains(cmd),
                "{tool}: refused run still did {cmd}:\n{calls}"
            );
        }
    }
});

root_test!(unprivileged_run_names_the_capabilities, {
    for tool in TOOLS {
        let out = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
            ])
            .arg(bin(tool))
            .args(["-d", "1"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{tool}: {err}");
        assert!(
            err.contains("root") && err.contains("CAP_BPF") && err.contains("CAP_PERFMON"),
            "{tool}: {err}"
        );
        assert!(!err.to_lowercase().contains("memlock"), "{tool}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{tool}: {err}");
    }
});

root_test!(sigterm_and_sighup_print_the_final_report, {
    let cg = TestCgroup::new("hard-signals");
    for tool in TOOLS {
        for sig in [Signal::SIGTERM, Signal::SIGHUP, Signal::SIGINT] {
            let t = Tool::start(tool, &["-c", &cg.arg(), "--output", "json"]);
            let done = t.signal(sig);
            assert_eq!(done.code, Some(0), "{tool} {sig}: {}", done.stderr);
            assert!(!done.json().is_empty(), "{tool} {sig}: no final report");
            assert!(!done.stderr.contains("panicked"), "{tool}: {}", done.stderr);
        }
    }
});

root_test!(closed_pipe_exits_quietly_in_every_tool, {
    for tool in TOOLS {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{} --output json -d 1 | head -c 1 >/dev/null",
                bin(tool).display()
            ))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{tool}: {err}");
        assert!(
            !err.contains("panicked")
                && !err.contains("Broken pipe")
                && !err.contains("os error 32"),
            "{tool}: {err}"
        );
    }
});

root_test!(kill_9_leaves_nothing_attached, {
    let cg = TestCgroup::new("hard-kill");
    for tool in TOOLS {
        let t = Tool::start(tool, &["-c", &cg.arg()]);
        let ours = programs_held_by(t.pid());
        assert!(!ours.is_empty(), "{tool} holds no program?");
        t.signal(Signal::SIGKILL);
        // Programs are freed once their last fd and link go (RCU-deferred).
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut left: BTreeSet<u64> = ours.clone();
        while std::time::Instant::now() < deadline {
            left = loaded_programs().intersection(&ours).copied().collect();
            if left.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            left.is_empty(),
            "{tool}: programs {left:?} still loaded after kill -9"
        );
    }
    let pinned = Command::new("sh")
        .arg("-c")
        .arg("ls -A /sys/fs/bpf 2>/dev/null | grep -ci contrace")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&pinned.stdout).trim(), "0");
});

root_test!(removed_target_ends_the_run_with_a_report, {
    for tool in TOOLS {
        let cg = TestCgroup::new("hard-gone");
        let t = Tool::start(tool, &["-c", &cg.arg(), "--output", "json"]);
        std::fs::remove_dir(&cg.path).expect("rmdir test cgroup");
        let done = t.wait();
        assert_eq!(done.code, Some(0), "{tool}: {}", done.stderr);
        assert!(done.stderr.contains("removed"), "{tool}: {}", done.stderr);
        assert!(!done.json().is_empty(), "{tool}: no final report");
    }
});

root_test!(four_concurrent_instances_count_exactly, {
    let cg = TestCgroup::new("hard-concurrent");
    for tool in ["constat", "syscount"] {
        let tools: Vec<Tool> = (0..4)
            .map(|_| Tool::start(tool, &["-c", &cg.arg(), "--output", "json"]))
            .collect();
        run_workload(Some(&cg.path), &["--no-wait", "getppid", "2500"]);
        for t in tools {
            let done = t.stop();
            let report = done.json().into_iter().last().expect("report");
            assert_eq!(
                u(row(&report, "getppid"), "count"),
                2500,
                "{tool}: {report}"
            );
        }
    }
    // unsharesnoop: each instance sees the one unshare exactly once.
    let tools: Vec<Tool> = (0..4)
        .map(|_| Tool::start("unsharesnoop", &["-c", &cg.arg(), "--output", "json"]))
        .collect();
    run_workload(Some(&cg.path), &["--no-wait", "unshare", "0x40000000"]);
    for t in tools {
        let done = t.stop();
        let events: Vec<_> = done
            .json()
            .into_iter()
            .filter(|e| e["type"] == "event")
            .collect();
        assert_eq!(events.len(), 1, "{}", done.stdout);
        assert_eq!(events[0]["flags"], 0x4000_0000u64);
    }
    // conbiograph: each instance counts the same 8 MiB O_DIRECT write.
    let file = format!("/var/tmp/contrace-concurrent-{}", std::process::id());
    let tools: Vec<Tool> = (0..4)
        .map(|_| {
            Tool::start(
                "conbiograph",
                &["-c", &cg.arg(), "-t", "100", "--output", "json"],
            )
        })
        .collect();
    run_workload(
        Some(&cg.path),
        &["--no-wait", "write-direct", &file, "8388608"],
    );
    let _ = std::fs::remove_file(&file);
    for t in tools {
        let done = t.stop();
        let written: u64 = done
            .json()
            .iter()
            .filter(|p| p["type"] == "period")
            .map(|p| p["write_bytes"].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(written, 8 << 20, "{}", done.stdout);
    }
});

root_test!(hostile_cgroup_names_are_escaped_and_json_stays_valid, {
    let cg = TestCgroup::new("hard-names");
    let evil = cg.child("evil \x1b[31mred\x1b[0m\tname");
    let t = Tool::start("constat", &["-T", "1000"]);
    run_workload(Some(&evil), &["--no-wait", "getppid", "10"]);
    let table = t.stop();
    assert!(!table.stdout.contains('\x1b'), "raw escape in table");
    assert!(table.stdout.contains("\\e[31mred"), "{}", table.stdout);
    let t = Tool::start("constat", &["--by-syscall", "--output", "json"]);
    run_workload(Some(&evil), &["--no-wait", "getppid", "10"]);
    let done = t.stop();
    let report = &done.json()[0];
    let name = format!(
        "/{}/evil \x1b[31mred\x1b[0m\tname",
        cg.path.file_name().unwrap().to_string_lossy()
    );
    assert!(
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["cgroup"] == name.as_str()),
        "{report}"
    );
});

root_test!(many_short_lived_threads_are_counted_and_leak_nothing, {
    let cg = TestCgroup::new("hard-threads");
    let t = Tool::start("constat", &["-c", &cg.arg(), "--output", "json"]);
    let rss_before = rss_kib(t.pid());
    run_workload(Some(&cg.path), &["--no-wait", "threads", "100000"]);
    let rss_after = rss_kib(t.pid());
    let done = t.stop();
    let report = &done.json()[0];
    // One getppid per thread, each thread a fresh task-storage entry.
    assert_eq!(u(row(report, "getppid"), "count"), 100000, "{report}");
    assert_eq!(report["dropped"], 0);
    assert!(
        rss_after < rss_before + 8 * 1024,
        "RSS grew from {rss_before} to {rss_after} KiB"
    );
});

root_test!(a_thousand_cgroups_are_counted_or_reported_as_dropped, {
    let parent = TestCgroup::new("hard-many");
    let children: Vec<_> = (0..1000).map(|i| parent.child(&format!("c{i}"))).collect();
    let t = Tool::start("constat", &["--by-syscall", "--output", "json"]);
    for child in &children {
        run_workload(Some(child), &["--no-wait", "getppid", "1"]);
    }
    let rss = rss_kib(t.pid());
    let done = t.stop();
    let report = &done.json()[0];
    let prefix = format!("/{}/c", parent.path.file_name().unwrap().to_string_lossy());
    let seen: u64 = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["syscall"] == "getppid"
                && r["cgroup"].as_str().is_some_and(|c| c.starts_with(&prefix))
        })
        .map(|r| r["count"].as_u64().unwrap())
        .sum();
    let dropped = report["dropped"].as_u64().unwrap();
    // Exact, or the shortfall is accounted for as dropped: never silent.
    if dropped == 0 {
        assert_eq!(seen, 1000, "{}", done.stdout);
    } else {
        assert!(seen + dropped >= 1000, "seen {seen} dropped {dropped}");
    }
    assert!(rss < 64 * 1024, "constat RSS {rss} KiB");
});

root_test!(traced_process_exit_ends_the_run, {
    for tool in ["syscount", "unsharesnoop"] {
        let mut w = Workload::spawn(None, &["pause"]);
        let pid = w.pid.to_string();
        let t = Tool::start(tool, &["-p", &pid, "--output", "json"]);
        w.kill();
        let done = t.wait();
        assert_eq!(done.code, Some(0), "{tool}: {}", done.stderr);
        assert!(done.stderr.contains("exited"), "{tool}: {}", done.stderr);
        assert!(!done.json().is_empty(), "{tool}: no final report");
    }
});

root_test!(thread_ids_are_refused_for_p, {
    // A thread of this test process: /proc/<tid> exists but it is no process.
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        tx.send(nix::unistd::gettid().as_raw()).unwrap();
        std::thread::sleep(Duration::from_secs(2));
    });
    let tid = rx.recv().unwrap().to_string();
    let out = run_tool("syscount", &["-p", &tid]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("is a thread of process"),
        "{}",
        out.stderr
    );
    handle.join().unwrap();
});

root_test!(second_signal_during_the_final_report_exits_at_once, {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    // A final report larger than a pipe buffer, written to a pipe nobody
    // reads: the report blocks, as it would on a stalled terminal.
    let parent = TestCgroup::new("hard-second");
    let children: Vec<_> = (0..600).map(|i| parent.child(&format!("c{i}"))).collect();
    let mut child = Command::new(bin("constat"))
        .args(["--by-syscall", "-T", "100000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("Ctrl-C") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("constat attached");
    for c in &children {
        run_workload(Some(c), &["--no-wait", "getppid", "1"]);
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, Signal::SIGINT).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the report should be stuck on the full pipe"
    );
    nix::sys::signal::kill(pid, Signal::SIGINT).unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "second Ctrl-C did not end the run"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
});
