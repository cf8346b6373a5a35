//! The syscall tools at the edges of the syscall path: 32-bit (`int 0x80`)
//! calls, calls a seccomp filter denies before sys_enter, calls already in
//! flight when a tool attaches, `setns` into a target from outside it, and
//! unsharesnoop's shutdown with a tiny ring buffer. Each program path is
//! run twice where kernels differ: as this kernel takes it, and forced onto
//! the path of kernels without BTF task pointers and task storage (5.10).

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use contrace_tests::*;
use serde_json::Value;

/// The program paths: this kernel's own, and the old kernels' (forced).
const PATHS: [&[(&str, &str)]; 2] = [&[], &[("CONTRACE_FORCE_FALLBACK", "1")]];

const CLONE_NEWNS: u64 = 0x0002_0000;
const CLONE_NEWUTS: u64 = 0x0400_0000;
const CLONE_NEWNET: u64 = 0x4000_0000;
const SIGCHLD: u64 = 17;

/// Runs `tool ARGS -o json` with `env` around `work`; all NDJSON lines.
fn json_lines(
    tool: &str,
    args: &[&str],
    env: &[(&str, &str)],
    work: impl FnOnce(&Tool),
) -> Vec<Value> {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    let running = Tool::start_env(tool, &all, env);
    work(&running);
    json_done(tool, running.stop())
}

/// The one report of a constat/syscount run.
fn one_report(tool: &str, args: &[&str], env: &[(&str, &str)], work: impl FnOnce(&Tool)) -> Value {
    let mut reports = json_lines(tool, args, env, work);
    assert_eq!(reports.len(), 1, "{tool}: one report expected: {reports:?}");
    reports.remove(0)
}

/// The row of `name` in its native (`compat` false) or 32-bit ABI.
fn abi_row<'a>(report: &'a Value, name: &str, compat: bool) -> Option<&'a Value> {
    report["rows"]
        .as_array()?
        .iter()
        .find(|r| r["syscall"] == name && r["compat"].as_bool() == Some(compat))
}

/// The text report of a run (table output).
fn text_run(tool: &str, args: &[&str], work: impl FnOnce()) -> String {
    let running = Tool::start(tool, args);
    work();
    let done = running.stop();
    assert_eq!(done.code, Some(0), "{tool} failed: {}", done.stderr);
    done.stdout
}

/// The first table line starting with `first` (then whitespace).
fn line_of<'a>(text: &'a str, first: &str) -> Option<&'a str> {
    text.lines().find(|l| {
        l.strip_prefix(first)
            .is_some_and(|rest| rest.starts_with(char::is_whitespace))
    })
}

fn ns_inode(pid: u32, kind: &str) -> u64 {
    std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .ino()
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

/// The number a workload printed after `word` ("clone32 1234" -> 1234).
fn printed(lines: &[String], word: &str) -> i64 {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(&format!("{word} ")))
        .unwrap_or_else(|| panic!("workload printed no {word}: {lines:?}"))
        .trim()
        .parse()
        .unwrap()
}

fn kill(pid: u32, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig).unwrap();
}

// ---- constat -------------------------------------------------------------

root_test!(constat_counts_32bit_calls_under_their_i386_names, {
    for env in PATHS {
        let cg = TestCgroup::new("edges-constat-32");
        let w = Workload::spawn(Some(&cg.path), &["getppid", "100", "getppid32", "50"]);
        let report = one_report("constat", &["-c", &cg.arg()], env, |_| {
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
    let line = line_of(&text, "getppid (i386)").unwrap_or_else(|| panic!("{text}"));
    assert_eq!(line.split_whitespace().nth(2), Some("33"), "{line}");
});

root_test!(constat_counts_seccomp_denied_calls_as_denied_failures, {
    for env in PATHS {
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
        let report = one_report("constat", &["-c", &cg.arg()], env, |_| {
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
        let report = one_report("constat", &["-c", &cg.arg()], &[], |_| {
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
        let line = line_of(&text, "openat").unwrap_or_else(|| panic!("{text}"));
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
    for env in PATHS {
        let cg = TestCgroup::new("edges-inflight");
        let w = in_flight_workload(&cg);
        let pid = w.pid;
        let report = one_report("constat", &["-c", &cg.arg()], env, |_| {
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
            let report = one_report("syscount", &all, env, |_| {
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

// ---- syscount --------------------------------------------------------------

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
    for env in PATHS {
        for (args, tracked) in cases {
            let w = Workload::spawn(Some(&cg.path), &work);
            let mut all = vec!["-c", cg.path.to_str().unwrap()];
            all.extend(args);
            let report = one_report("syscount", &all, env, |_| {
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
    let line = line_of(&text, "getppid (i386)").unwrap_or_else(|| panic!("{text}"));
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
        let report = one_report("syscount", &["-T", "5000"], &[], |_| {
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

// ---- unsharesnoop ------------------------------------------------------------

/// unsharesnoop's events and summary around `work`.
fn snoop(args: &[&str], env: &[(&str, &str)], work: impl FnOnce(&Tool)) -> (Vec<Value>, Value) {
    let mut lines = json_lines("unsharesnoop", args, env, work);
    let summary = lines.pop().expect("a summary");
    assert_eq!(summary["type"], "summary", "{summary}");
    assert_eq!(summary["events"], lines.len() as u64, "{summary}");
    (lines, summary)
}

fn of_pid(events: &[Value], pid: u32) -> Vec<&Value> {
    events.iter().filter(|e| e["pid"] == pid).collect()
}

root_test!(unsharesnoop_catches_32bit_namespace_calls, {
    let other_cg = TestCgroup::new("edges-us32-other");
    let mut other = Workload::spawn(Some(&other_cg.path), &["unshare", "0x40000000", "pause"]);
    other.go();
    wait_own_namespace(other.pid, "net");
    let other_net = ns_inode(other.pid, "net");
    for env in PATHS {
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
        for env in PATHS {
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
    for env in PATHS {
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

// ---- the target filter on every kernel --------------------------------------

root_test!(a_target_twenty_levels_up_is_matched_on_every_path, {
    // Past 16 levels the filter reads the cgroup's ancestors array (ids
    // before 6.0, pointers since): tracing programs may not call
    // bpf_get_current_ancestor_cgroup_id before 5.18.
    let top = TestCgroup::new("edges-deep");
    let mut deep = top.path.clone();
    for level in 0..20 {
        deep.push(format!("d{level}"));
        std::fs::create_dir(&deep).unwrap();
    }
    for env in PATHS {
        let w = Workload::spawn(Some(&deep), &["getppid", "321"]);
        let report = one_report("constat", &["-c", &top.arg()], env, |_| {
            w.finish();
        });
        assert_eq!(u(row(&report, "getppid"), "count"), 321, "{env:?} {report}");
        let w = Workload::spawn(Some(&deep), &["getppid", "321"]);
        let report = one_report("constat", &["-c", &top.arg(), "--exact"], env, |_| {
            w.finish();
        });
        assert!(row(&report, "getppid").is_none(), "{env:?} {report}");
    }
});
