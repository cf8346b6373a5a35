//! constat end to end: real BPF program, real cgroups, exact ground truth.

use contrace_tests::*;

/// Runs constat on `target` while the workload runs, returns the final JSON report.
fn constat_json(target_args: &[&str], work: impl FnOnce()) -> serde_json::Value {
    json_report("constat", target_args, |_| work())
}

root_test!(counts_exact_getppid_and_failing_openat, {
    let cg = TestCgroup::new("constat-exact");
    let w = Workload::spawn(Some(&cg.path), &["getppid", "1234", "openfail", "17"]);
    let report = constat_json(&["-c", &cg.arg()], || {
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

root_test!(elapsed_time_of_nanosleep, {
    let cg = TestCgroup::new("constat-sleep");
    let w = Workload::spawn(Some(&cg.path), &["nanosleep", "5", "40"]);
    let mut ran = std::time::Duration::ZERO;
    let report = constat_json(&["-c", &cg.arg()], || {
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

root_test!(pid_and_container_id_targets_resolve, {
    let id = "c0ffee1234567890abcdef1234567890abcdef1234567890abcdef1234567890";
    let cg = TestCgroup::new("constat-ids");
    let scope = cg.child(&format!("docker-{id}.scope"));
    let w = Workload::spawn(Some(&scope), &["getppid", "77"]);
    let pid_target = format!("pid:{}", w.pid);
    let by_pid = constat_json(&["-c", &pid_target], || {});
    assert_eq!(by_pid["target"]["path"], scope.display().to_string());
    let report = constat_json(&["-c", "c0ffee12"], || {
        w.finish();
    });
    assert_eq!(report["target"]["path"], scope.display().to_string());
    assert_eq!(u(row(&report, "getppid"), "count"), 77);
});

root_test!(every_cgroup_mode_names_the_cgroup, {
    let cg = TestCgroup::new("constat-all");
    let w = Workload::spawn(Some(&cg.path), &["getppid", "4321"]);
    let tool = Tool::start("constat", &["--by-syscall", "--output", "json"]);
    w.finish();
    let done = tool.stop();
    let report = &done.json()[0];
    let rel = format!("/{}", cg.path.file_name().unwrap().to_string_lossy());
    let r = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cgroup"] == rel.as_str() && r["syscall"] == "getppid")
        .unwrap_or_else(|| panic!("no row for {rel}"));
    assert_eq!(r["count"], 4321);
    assert_eq!(r["cgroup_id"], cg.id());
});

root_test!(exit_group_is_counted_and_table_has_all_row, {
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

root_test!(duration_ends_the_run_with_a_report, {
    let cg = TestCgroup::new("constat-duration");
    let tool = Tool::start("constat", &["-c", &cg.arg(), "-d", "1", "--output", "json"]);
    let done = tool.wait();
    assert_eq!(done.code, Some(0));
    assert_eq!(done.json().len(), 1);
});

root_test!(bad_input_is_one_line_and_exit_2, {
    let root = cgroup2_root();
    let file = root.join("cgroup.procs");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["-c".into(), "/nonexistent/cg".into()],
            "no such directory",
        ),
        (vec!["-c".into(), file.display().to_string()], "is a file"),
        (vec!["-c".into(), "/tmp".into()], "not a cgroup"),
        (vec!["-c".into(), "".into()], "empty target"),
        (vec!["-c".into(), "a/../../etc".into()], "'..'"),
        // ./ and ../ start from the current directory, as in a shell.
        (
            vec!["-c".into(), "../../../../../../etc".into()],
            "not a cgroup",
        ),
        (
            vec![
                "-c".into(),
                format!("{}/../../../../../../tmp", root.display()),
            ],
            "not a cgroup",
        ),
        (vec!["-c".into(), "pid:999999999".into()], "no such process"),
        (vec!["-c".into(), "deadbeefdeadbeef".into()], "no container"),
        (
            vec!["-c".into(), "nosuch.service".into()],
            "no cgroup named",
        ),
        (vec!["-d".into(), "0".into()], "positive"),
        (vec!["-d".into(), "-3".into()], ""),
        (vec!["-i".into(), "abc".into()], "not a number"),
        (vec!["-d".into(), "1e12".into()], "more than a year"),
        (vec!["--exact".into()], ""),
        (vec!["--sort".into(), "bogus".into()], ""),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_tool("constat", &args);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty());
    }
    // v1 directories are refused by name, where the host has them.
    if let Some(v1) = identity::cgroup::Hierarchy::detect().unwrap().v1.first() {
        let out = run_tool("constat", &["-c", &v1.display().to_string()]);
        assert_eq!(out.code, Some(2));
        assert!(out.stderr.contains("cgroup v1"), "{}", out.stderr);
    }
    // An error is one line.
    let out = run_tool("constat", &["-c", "/nonexistent"]);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
});

root_test!(preflight_failures_exit_1, {
    let out = std::process::Command::new(bin("constat"))
        .env("CONTRACE_BTF_PATH", "/nonexistent/vmlinux")
        .args(["-d", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("BTF"), "{err}");
    assert_eq!(err.trim().lines().count(), 1);

    // Unprivileged: drop to nobody with setpriv (util-linux).
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(bin("constat"))
        .args(["-d", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("CAP_BPF") && err.contains("root"), "{err}");
    assert!(!err.contains("memlock"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
});

root_test!(closed_pipe_exits_quietly, {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} -i 0.1 -d 3 --output json | head -1",
            bin("constat").display()
        ))
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
});
