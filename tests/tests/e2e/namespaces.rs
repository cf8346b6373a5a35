//! unsharesnoop: namespace calls with known flags and results (unshare,
//! setns, clone, clone3; 32-bit ones and ones a seccomp filter denies
//! too), who made them (TID, comm, cgroup), what they changed or created,
//! setns into the target from outside, and bursts that fit the buffer or
//! are counted lost, down to a one-page buffer at shutdown.

use std::time::{Duration, Instant};

use contrace_tests::*;
use serde_json::{json, Value};

const CLONE_NEWNS: u64 = 0x0002_0000;
const CLONE_NEWUTS: u64 = 0x0400_0000;
const CLONE_NEWPID: u64 = 0x2000_0000;
const CLONE_NEWNET: u64 = 0x4000_0000;
const CLONE_PTRACE: u64 = 0x2000; // not allowed by unshare: EINVAL
const UNKNOWN_BIT: u64 = 1 << 40; // no CLONE_* flag: EINVAL, shown as hex
const SIGCHLD: u64 = 17;

/// unsharesnoop `-o json` (with `env`) around `work`: its events and
/// summary, after checking that every line but the summary is an event
/// and that the summary counts them.
fn snoop(args: &[&str], env: &[(&str, &str)], work: impl FnOnce(&Tool)) -> (Vec<Value>, Value) {
    let (events, summary, _) = snoop_stderr(args, env, work);
    (events, summary)
}

/// [`snoop`], also returning the tool's stderr.
fn snoop_stderr(
    args: &[&str],
    env: &[(&str, &str)],
    work: impl FnOnce(&Tool),
) -> (Vec<Value>, Value, String) {
    let done = json_finish_env("unsharesnoop", args, env, work);
    let stderr = done.stderr.clone();
    let stdout = done.stdout.clone();
    let mut objects = json_done("unsharesnoop", done);
    let summary = objects.pop().expect("a summary object");
    assert_eq!(summary["type"], "summary", "{stdout}");
    assert!(objects.iter().all(|o| o["type"] == "event"), "{stdout}");
    assert_eq!(summary["events"], objects.len() as u64, "{summary}");
    (objects, summary, stderr)
}

fn of_pid(events: &[Value], pid: u32) -> Vec<&Value> {
    events.iter().filter(|e| e["pid"] == pid).collect()
}

/// Waits until `pid` has left the test's own namespace `kind`.
fn wait_own_namespace(pid: u32, kind: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mine = ns_inode(std::process::id(), kind);
    while ns_inode(pid, kind) == mine {
        assert!(
            Instant::now() < deadline,
            "pid {pid} kept our {kind} namespace"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

root_test!(each_unshare_once_with_exact_flags_and_result, {
    let cg = TestCgroup::new("unsharesnoop-flags");
    let outside = TestCgroup::new("unsharesnoop-outside");
    let hex = |f: u64| format!("{f:#x}");
    let calls = [
        0,
        CLONE_NEWNET,
        CLONE_NEWNS | CLONE_NEWUTS,
        CLONE_PTRACE,
        CLONE_NEWNS | UNKNOWN_BIT,
    ];
    // (flags, ret, errno, flags_human), in call order; the last one runs as
    // an unprivileged user.
    let expected: Vec<(u64, i64, Option<&str>, &str)> = vec![
        (0, 0, None, "0"),
        (CLONE_NEWNET, 0, None, "CLONE_NEWNET"),
        (
            CLONE_NEWNS | CLONE_NEWUTS,
            0,
            None,
            "CLONE_NEWNS|CLONE_NEWUTS",
        ),
        (CLONE_PTRACE, -22, Some("EINVAL"), "CLONE_PTRACE"),
        (
            CLONE_NEWNS | UNKNOWN_BIT,
            -22,
            Some("EINVAL"),
            "CLONE_NEWNS|0x10000000000",
        ),
        (CLONE_NEWNET, -1, Some("EPERM"), "CLONE_NEWNET"),
    ];
    for all in [true, false] {
        let mut argv: Vec<String> = Vec::new();
        for f in calls {
            argv.extend(["unshare".into(), hex(f)]);
        }
        argv.extend(["setuid", "65534", "unshare"].map(String::from));
        argv.push(hex(CLONE_NEWNET));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let w = Workload::spawn(Some(&cg.path), &argv);
        let other = Workload::spawn(Some(&outside.path), &["unshare", "0x40000000"]);
        let (pid, other_pid) = (w.pid, other.pid);
        let mut args = vec!["-c", cg.path.to_str().unwrap(), "--calls", "unshare"];
        if all {
            args.push("--all");
        }
        let before = monotonic_ns();
        let mut results = Vec::new();
        let (events, summary) = snoop(&args, &[], |_| {
            results = w.finish();
            other.finish();
        });
        let after = monotonic_ns();
        assert_eq!(
            results.iter().filter(|l| l.starts_with("unshare")).count(),
            6,
            "{results:?}"
        );
        assert!(
            of_pid(&events, other_pid).is_empty(),
            "outsider shown: {events:?}"
        );
        let mine = of_pid(&events, pid);
        assert_eq!(mine.len(), events.len(), "{events:?}");
        let want: Vec<_> = expected
            .iter()
            .filter(|(_, ret, _, _)| all || *ret == 0)
            .collect();
        assert_eq!(mine.len(), want.len(), "all={all}: {events:#?}");
        for (ev, (flags, ret, errno, human)) in mine.iter().zip(want) {
            assert_eq!(ev["call"], "unshare");
            assert_eq!(ev["flags"], *flags, "{ev}");
            assert_eq!(ev["ret"], *ret, "{ev}");
            assert_eq!(ev["errno"].as_str(), *errno, "{ev}");
            assert_eq!(ev["flags_human"], *human, "{ev}");
            assert_eq!(ev["tid"], pid, "single-threaded workload");
            assert_eq!(ev["comm"], "workload");
            assert_eq!(ev["cgroup_id"], cg.id());
            // Kernel time of the call, within the run, shown to the microsecond.
            let k = ev["ktime_ns"].as_u64().unwrap();
            assert!(before <= k && k <= after, "{k} not in [{before}, {after}]");
            let time = ev["time"].as_str().unwrap();
            assert!(
                time.len() == 27 && time.ends_with('Z') && &time[19..20] == ".",
                "{time}"
            );
        }
        // The namespaces the successful calls replaced, and only those.
        let changed = |i: usize| mine[i]["ns_changed"].as_array().unwrap().clone();
        assert!(changed(0).is_empty(), "{}", mine[0]);
        assert_eq!(changed(1), vec![Value::from("net")]);
        assert_eq!(changed(2), vec![Value::from("mnt"), Value::from("uts")]);
        assert_ne!(mine[1]["ns_before"]["net"], mine[1]["ns_after"]["net"]);
        assert_eq!(mine[2]["ns_before"]["net"], mine[1]["ns_after"]["net"]);
        for key in ["mnt", "pid", "net", "uts", "ipc", "user", "cgroup", "time"] {
            assert!(
                mine[0]["ns_after"][key].as_u64().unwrap() > 0,
                "{key}: {}",
                mine[0]
            );
        }
        assert_eq!(summary["lost"], 0);
    }
});

root_test!(setns_into_another_process_and_namespace_creating_clones, {
    let cg = TestCgroup::new("unsharesnoop-setns");
    let outside = TestCgroup::new("unsharesnoop-nsowner");
    // A process outside the target with its own UTS namespace.
    let mut owner = Workload::spawn(
        Some(&outside.path),
        &["--no-wait", "unshare", "0x04000000", "pause"],
    );
    let host_uts = ns_inode(std::process::id(), "uts");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while ns_inode(owner.pid, "uts") == host_uts {
        assert!(
            std::time::Instant::now() < deadline,
            "owner never unshared its UTS namespace"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let target_uts = ns_inode(owner.pid, "uts");
    let owner_pid = owner.pid.to_string();
    let w = Workload::spawn(
        Some(&cg.path),
        &[
            "setns",
            &owner_pid,
            "uts",
            "clone3",
            "0x20000000",
            "clone",
            "0x40000000",
            "clone",
            "0",
        ],
    );
    let pid = w.pid;
    let mut lines = Vec::new();
    let (events, _) = snoop(&["-c", cg.path.to_str().unwrap()], &[], |_| {
        lines = w.finish();
    });
    owner.kill();
    assert_eq!(printed(&lines, "setns"), 0);
    let calls: Vec<&str> = events.iter().map(|e| e["call"].as_str().unwrap()).collect();
    // clone(0) creates no namespace; each clone is its parent's only.
    assert_eq!(calls, vec!["setns", "clone3", "clone"], "{events:#?}");
    assert!(events.iter().all(|e| e["pid"] == pid), "{events:#?}");

    let setns = &events[0];
    assert_eq!(setns["ret"], 0);
    assert_eq!(setns["flags"], 0);
    assert_eq!(setns["flags_human"], "any");
    assert_eq!(
        setns["joined"],
        serde_json::json!([{ "type": "uts", "inode": target_uts }])
    );
    assert_eq!(setns["ns_before"]["uts"], host_uts);
    assert_eq!(setns["ns_after"]["uts"], target_uts);
    assert_eq!(setns["ns_changed"], serde_json::json!(["uts"]));

    let clone3 = &events[1];
    assert_eq!(clone3["flags"], CLONE_NEWPID);
    assert_eq!(clone3["flags_human"], "CLONE_NEWPID");
    assert_eq!(clone3["ret"], printed(&lines, "clone3"));
    assert!(clone3["ret"].as_i64().unwrap() > 0);

    let clone = &events[2];
    assert_eq!(clone["flags"], CLONE_NEWNET | 17);
    assert_eq!(clone["flags_human"], "CLONE_NEWNET|SIGCHLD");
    let clone_rets: Vec<i64> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("clone ")?.parse().ok())
        .collect();
    assert_eq!(clone["ret"], clone_rets[0]);
});

root_test!(comm_with_escape_sequence_is_escaped, {
    let cg = TestCgroup::new("unsharesnoop-comm");
    let evil = "\x1b[31mevil\x07";
    let w = Workload::spawn(Some(&cg.path), &["--comm", evil, "unshare", "0"]);
    let tool = Tool::start(
        "unsharesnoop",
        &["-c", &cg.arg(), "--exact", "--calls", "unshare"],
    );
    w.finish();
    let done = tool.stop();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(
        !done.stdout.contains('\x1b') && !done.stdout.contains('\x07'),
        "{:?}",
        done.stdout
    );
    let lines: Vec<&str> = done.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "header and one event: {:?}", done.stdout);
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        ["TIME", "TID", "COMM", "RET", "FLAGS", "FLAGS(human)"]
    );
    let cols: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(cols[2], "\\e[31mevil\\u{7}", "{}", lines[1]);
    assert_eq!(&cols[3..], ["0", "0x00000000", "0"], "{}", lines[1]);

    // JSON carries the real name, still valid JSON.
    let w = Workload::spawn(Some(&cg.path), &["--comm", evil, "unshare", "0"]);
    let (events, _) = snoop(&["-c", &cg.arg()], &[], |_| {
        w.finish();
    });
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["comm"], evil);
});

root_test!(
    clone_alone_names_each_call_and_filters_by_pid_in_exact_cgroup,
    {
        let cg = TestCgroup::new("unsharesnoop-clonecol");
        let w = Workload::spawn(
            Some(&cg.path),
            &["clone3", "0x20000000", "clone", "0x40000000", "clone", "0"],
        );
        let pid = w.pid;
        let other = Workload::spawn(Some(&cg.path), &["clone", "0x40000000"]);
        let pid_arg = pid.to_string();
        let tool = Tool::start(
            "unsharesnoop",
            &[
                "-c",
                &cg.arg(),
                "--exact",
                "-p",
                &pid_arg,
                "--calls",
                "clone",
            ],
        );
        let lines = w.finish();
        other.finish();
        // The traced process is gone: the tool stops by itself, its events read.
        let done = tool.wait();
        assert_eq!(done.code, Some(0), "{}", done.stderr);
        // The status line names the cgroup, --exact and the pid filter.
        assert!(
            done.stderr.contains(&format!(
                "of pid {pid} in cgroup {} (id {}, exact)",
                cg.path.display(),
                cg.id()
            )),
            "{}",
            done.stderr
        );
        assert!(
            done.stderr.contains(&format!("process {pid} exited")),
            "{}",
            done.stderr
        );
        let out: Vec<&str> = done.stdout.lines().collect();
        let header: Vec<&str> = out[0].split_whitespace().collect();
        // `--calls clone` alone still has clone and clone3 lines: CALL tells them apart.
        assert_eq!(
            header,
            [
                "TIME",
                "TID",
                "COMM",
                "CALL",
                "RET",
                "FLAGS",
                "FLAGS(human)"
            ]
        );
        let rows: Vec<Vec<&str>> = out[1..]
            .iter()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(rows.len(), 2, "{}", done.stdout);
        let clone_ret = lines
            .iter()
            .find_map(|l| l.strip_prefix("clone "))
            .unwrap()
            .to_string();
        let clone3_ret = printed(&lines, "clone3").to_string();
        assert_eq!(rows[0][1], pid_arg);
        assert_eq!(
            &rows[0][3..],
            ["clone3", clone3_ret.as_str(), "0x20000000", "CLONE_NEWPID"]
        );
        assert_eq!(
            &rows[1][3..],
            [
                "clone",
                clone_ret.as_str(),
                "0x40000011",
                "CLONE_NEWNET|SIGCHLD"
            ]
        );
    }
);

root_test!(burst_is_reported_in_full_or_counted_lost, {
    const N: u64 = 100_000;
    let cg = TestCgroup::new("unsharesnoop-burst");
    // Default buffer, then one page, which cannot keep up.
    for pages in [None, Some("1")] {
        let w = Workload::spawn(Some(&cg.path), &["unshare-burst", &N.to_string()]);
        let pid = w.pid;
        let mut args = vec!["-c", cg.path.to_str().unwrap(), "--calls", "unshare"];
        if let Some(p) = pages {
            args.extend(["--buffer-pages", p]);
        }
        let (events, summary, stderr) = snoop_stderr(&args, &[], |_| {
            w.finish();
        });
        let seen = of_pid(&events, pid).len() as u64;
        let lost = summary["lost"].as_u64().unwrap();
        assert_eq!(seen, events.len() as u64);
        assert_eq!(seen + lost, N, "pages {pages:?}: seen {seen}, lost {lost}");
        // Loss is never silent: stderr says so too.
        assert!(
            stderr.contains(&format!("{seen} events, {lost} lost")),
            "{stderr}"
        );
        if pages.is_some() {
            assert!(lost > 0, "a one-page buffer kept up with {N} events?");
            assert!(
                stderr.contains("WARNING") && stderr.contains("--buffer-pages"),
                "{stderr}"
            );
        }
        eprintln!("buffer {pages:?}: {seen} events, {lost} lost");
    }
});

root_test!(pid_filter_and_duration, {
    let cg = TestCgroup::new("unsharesnoop-pid");
    let mut a = Workload::spawn(Some(&cg.path), &["unshare", "0", "pause"]);
    let b = Workload::spawn(Some(&cg.path), &["unshare", "0"]);
    let a_pid = a.pid.to_string();
    let tool = Tool::start(
        "unsharesnoop",
        &["-p", &a_pid, "-d", "1", "--output", "json"],
    );
    a.go();
    b.finish();
    let done = tool.wait();
    a.kill();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let objects = done.json();
    let events: Vec<&Value> = objects.iter().filter(|o| o["type"] == "event").collect();
    assert_eq!(events.len(), 1, "{}", done.stdout);
    assert_eq!(events[0]["pid"], a.pid);
    // Without -c the cgroup is named.
    assert_eq!(events[0]["cgroup"], cg.rel().as_str());
    assert_eq!(objects.last().unwrap()["type"], "summary");
});

root_test!(unsharesnoop_shows_whose_cgroup_and_what_a_clone_created, {
    let cg = TestCgroup::new("ux-snoop");
    let kid = cg.child("kid");
    // -c with descendants: a child cgroup's event says it is the child's.
    let w = Workload::spawn(Some(&kid), &["unshare", "0x04000000"]);
    let tool = Tool::start("unsharesnoop", &["-c", &cg.arg(), "--calls", "unshare"]);
    w.finish();
    let done = tool.stop();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let lines: Vec<Vec<&str>> = done
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0],
        [
            "TIME",
            "TID",
            "COMM",
            "RET",
            "FLAGS",
            "FLAGS(human)",
            "CGROUP"
        ]
    );
    assert_eq!(lines.len(), 2, "{}", done.stdout);
    assert_eq!(
        &lines[1][3..],
        ["0", "0x04000000", "CLONE_NEWUTS", rel(&kid).as_str()]
    );
    // --exact: one cgroup can appear, no CGROUP column.
    let w = Workload::spawn(Some(&cg.path), &["unshare", "0x04000000"]);
    let tool = Tool::start(
        "unsharesnoop",
        &["-c", &cg.arg(), "--exact", "--calls", "unshare"],
    );
    w.finish();
    let done = tool.stop();
    let header: Vec<&str> = done
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["TIME", "TID", "COMM", "RET", "FLAGS", "FLAGS(human)"]
    );

    // JSON: ns_changed is the caller's; ns_created what the call created.
    let w = Workload::spawn(
        Some(&kid),
        &["clone3", "0x40000000", "unshare", "0x04000000"],
    );
    let pid = w.pid;
    let all = json_run("unsharesnoop", &["-c", &cg.arg()], |_| {
        w.finish();
    });
    let (summary, events) = all.split_last().unwrap();
    let mine: Vec<&Value> = events.iter().filter(|e| e["pid"] == pid).collect();
    assert_eq!(mine.len(), 2, "{all:?}");
    assert_eq!(mine[0]["call"], "clone3");
    assert_eq!(mine[0]["ns_changed"], json!([]));
    assert_eq!(mine[0]["ns_created"], json!(["net"]));
    assert_eq!(mine[1]["call"], "unshare");
    assert_eq!(mine[1]["ns_changed"], json!(["uts"]));
    assert_eq!(mine[1]["ns_created"], json!(["uts"]));
    assert_eq!(mine[1]["cgroup"], rel(&kid).as_str());
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["untraced"], 0);
    assert_eq!(summary["target"]["id"], cg.id());
    assert_eq!(summary["target"]["descendants"], true);
});

root_test!(unsharesnoop_catches_32bit_namespace_calls, {
    let other_cg = TestCgroup::new("edges-us32-other");
    let mut other = Workload::spawn(Some(&other_cg.path), &["unshare", "0x40000000", "pause"]);
    other.go();
    wait_own_namespace(other.pid, "net");
    let other_net = ns_inode(other.pid, "net");
    for env in KERNEL_PATHS {
        let cg = TestCgroup::new("edges-us32");
        let w = Workload::spawn(
            Some(&cg.path),
            &[
                "unshare32",
                "0x04000000",
                "clone32",
                "0x00020000",
                "clone3_32",
                "0x04000000",
                "setns32",
                &other.pid.to_string(),
                "net",
            ],
        );
        let pid = w.pid;
        let mut lines = Vec::new();
        let (events, summary) = snoop(&["-c", &cg.arg()], env, |_| {
            lines = w.finish();
        });
        let mine = of_pid(&events, pid);
        let got: Vec<(String, u64, i64, bool)> = mine
            .iter()
            .map(|e| {
                (
                    e["call"].as_str().unwrap().to_string(),
                    e["flags"].as_u64().unwrap(),
                    e["ret"].as_i64().unwrap(),
                    e["compat"].as_bool().unwrap(),
                )
            })
            .collect();
        let want = vec![
            ("unshare".to_string(), CLONE_NEWUTS, 0, true),
            (
                "clone".into(),
                CLONE_NEWNS | SIGCHLD,
                printed(&lines, "clone32"),
                true,
            ),
            (
                "clone3".into(),
                CLONE_NEWUTS,
                printed(&lines, "clone3_32"),
                true,
            ),
            ("setns".into(), 0, 0, true),
        ];
        assert_eq!(got, want, "{env:?} {summary}: {events:?}");
        let setns = mine[3];
        assert_eq!(setns["joined"][0]["type"], "net", "{setns}");
        assert_eq!(setns["joined"][0]["inode"], other_net, "{setns}");
        assert_eq!(setns["denied"], false);
        assert_eq!(summary["lost"], 0);
    }
    other.kill();
});

root_test!(
    unsharesnoop_reports_denied_calls_with_flags_from_the_registers,
    {
        let work = [
            "seccomp-deny",
            "unshare",
            "1",
            "unshare",
            "0x40000000",
            "unshare-burst",
            "30",
            "unshare32",
            "0x00020000",
            "clone",
            "0x00020000",
        ];
        for env in KERNEL_PATHS {
            let cg = TestCgroup::new("edges-us-denied");
            let w = Workload::spawn(Some(&cg.path), &work);
            let pid = w.pid;
            let (events, _) = snoop(&["-c", &cg.arg(), "--all"], env, |_| {
                w.finish();
            });
            let mine = of_pid(&events, pid);
            assert_eq!(mine.len(), 33, "{env:?}: {events:?}");
            let denied: Vec<&&Value> = mine.iter().filter(|e| e["denied"] == true).collect();
            assert_eq!(denied.len(), 32, "{events:?}");
            assert!(denied
                .iter()
                .all(|e| e["call"] == "unshare" && e["errno"] == "EPERM"));
            assert_eq!(denied[0]["flags"], CLONE_NEWNET, "{}", denied[0]);
            assert_eq!(
                denied[0]["ns_changed"],
                serde_json::json!([]),
                "{}",
                denied[0]
            );
            assert!(denied[1..31].iter().all(|e| e["flags"] == 0));
            assert_eq!(denied[31]["flags"], CLONE_NEWNS, "{}", denied[31]);
            assert_eq!(denied[31]["compat"], true, "{}", denied[31]);
            let clone = mine.iter().find(|e| e["call"] == "clone").unwrap();
            assert_eq!(clone["denied"], false, "{clone}");

            // Without --all denied calls, being failures, are not shown.
            let w = Workload::spawn(Some(&cg.path), &work);
            let pid = w.pid;
            let (events, _) = snoop(&["-c", &cg.arg()], env, |_| {
                w.finish();
            });
            let calls: Vec<&str> = of_pid(&events, pid)
                .iter()
                .map(|e| e["call"].as_str().unwrap())
                .collect();
            assert_eq!(calls, ["clone"], "{events:?}");
        }
        let cg = TestCgroup::new("edges-us-denied-text");
        let w = Workload::spawn(
            Some(&cg.path),
            &["seccomp-deny", "unshare", "1", "unshare32", "0"],
        );
        let text = text_run("unsharesnoop", &["-c", &cg.arg(), "--all"], || {
            w.finish();
        });
        assert!(
            text.lines()
                .any(|l| l.contains(" EPERM ") && l.contains(" 0 [i386] [denied] ")),
            "{text}"
        );
    }
);

root_test!(unsharesnoop_sees_setns_into_the_target_from_outside, {
    // The target: a process with namespaces of its own, as in a container.
    let target = TestCgroup::new("edges-enter-target");
    let mut inside = Workload::spawn(Some(&target.path), &["unshare", "0x44020000", "pause"]);
    inside.go();
    wait_own_namespace(inside.pid, "net");
    // Someone else's namespace, unrelated to the target.
    let elsewhere = TestCgroup::new("edges-enter-other");
    let mut other = Workload::spawn(Some(&elsewhere.path), &["unshare", "0x40000000", "pause"]);
    other.go();
    wait_own_namespace(other.pid, "net");
    let outside = TestCgroup::new("edges-enter-outsider");
    let (tpid, opid) = (inside.pid.to_string(), other.pid.to_string());
    for env in KERNEL_PATHS {
        let w = Workload::spawn(
            Some(&outside.path),
            &[
                "setns", &tpid, "net", "setns", &tpid, "uts", "setns", &tpid, "mnt", "setns",
                &opid, "net",
            ],
        );
        let pid = w.pid;
        let (events, _) = snoop(&["-c", &target.arg()], env, |_| {
            w.finish();
        });
        let joined: Vec<(String, u64)> = of_pid(&events, pid)
            .iter()
            .map(|e| {
                assert_eq!(e["entering"], true, "{e}");
                assert_eq!(e["call"], "setns", "{e}");
                assert_eq!(e["comm"], "workload", "{e}");
                assert_eq!(e["ret"], 0, "{e}");
                (
                    e["joined"][0]["type"].as_str().unwrap().to_string(),
                    e["joined"][0]["inode"].as_u64().unwrap(),
                )
            })
            .collect();
        let want: Vec<(String, u64)> = ["net", "uts", "mnt"]
            .iter()
            .map(|k| (k.to_string(), ns_inode(inside.pid, k)))
            .collect();
        assert_eq!(joined, want, "{env:?}: {events:?}");
        assert_eq!(events.len(), 3, "nothing else: {events:?}");
    }
    inside.kill();
    other.kill();
});

root_test!(
    unsharesnoop_tiny_buffer_always_ends_and_accounts_every_call,
    {
        const N: u64 = 100_000;
        let cg = TestCgroup::new("edges-us-tiny");
        // Under emulation (the VM runner sets a time scale) a run takes ~50 s.
        let emulated = std::env::var("CONTRACE_TEST_TIME_SCALE").is_ok_and(|s| s != "1");
        let runs = if emulated { 4 } else { 12 };
        for run in 0..runs {
            // Variations: SIGINT at once or a little later; one process or two
            // on both CPUs; NDJSON or a table.
            let delay = Duration::from_millis([0, 5, 50][run % 3]);
            let processes = if run % 4 == 3 { 2 } else { 1 };
            let json = run % 2 == 0;
            let per = (N / processes).to_string();
            let mut args = vec![
                "-c",
                cg.path.to_str().unwrap(),
                "--calls",
                "unshare",
                "--buffer-pages",
                "1",
            ];
            if json {
                args.extend(["--output", "json"]);
            }
            let tool = Tool::start("unsharesnoop", &args);
            let workers: Vec<Workload> = (0..processes)
                .map(|_| Workload::spawn(Some(&cg.path), &["unshare-burst", &per]))
                .collect();
            for w in workers {
                w.finish();
            }
            std::thread::sleep(delay);
            let started = Instant::now();
            let done = tool.stop();
            assert_eq!(done.code, Some(0), "run {run}: {}", done.stderr);
            let (events, lost) = if json {
                let lines = done.json();
                let summary = lines.last().unwrap();
                assert_eq!(summary["events"], lines.len() as u64 - 1);
                (
                    summary["events"].as_u64().unwrap(),
                    summary["lost"].as_u64().unwrap(),
                )
            } else {
                let last = done
                    .stderr
                    .lines()
                    .rev()
                    .find_map(|l| {
                        let mut w = l.split_whitespace();
                        let events = w.next()?.parse::<u64>().ok()?;
                        (w.next()? == "events,").then_some(())?;
                        Some((events, w.next()?.parse::<u64>().ok()?))
                    })
                    .unwrap_or_else(|| panic!("no summary line: {}", done.stderr));
                let printed = done.stdout.lines().count() as u64 - 1;
                assert_eq!(printed, last.0, "run {run}: table lines vs summary");
                last
            };
            assert_eq!(
                events + lost,
                N,
                "run {run} ({processes} processes, delay {delay:?}): {events} events + {lost} lost"
            );
            eprintln!(
                "run {run}: {events} events + {lost} lost, ended {:?} after SIGINT",
                started.elapsed()
            );
        }
    }
);
