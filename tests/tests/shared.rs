//! Features several tools share, tested once over every tool that has them.

use std::time::Duration;

use contrace_tests::*;

root_test!(interval_reports_lose_nothing, {
    for tool in INTERVAL_TOOLS {
        let cg = TestCgroup::new(&format!("{tool}-interval"));
        let running = Tool::start(tool, &["-c", &cg.arg(), "-i", "0.2", "--output", "json"]);
        for _ in 0..5 {
            run_workload(Some(&cg.path), &["--no-wait", "getppid", "1000"]);
            std::thread::sleep(Duration::from_millis(70));
        }
        let done = running.stop();
        let reports = done.json();
        assert!(
            reports.len() >= 2,
            "{tool}: several interval reports expected: {}",
            done.stdout
        );
        let total: u64 = reports.iter().map(|r| u(row(r, "getppid"), "count")).sum();
        assert_eq!(total, 5000, "{tool}: {}", done.stdout);
        // interval_s is the time each report really covers: every report but
        // the last a whole interval (within scheduling noise).
        for r in &reports {
            let s = r["interval_s"].as_f64().unwrap_or(0.0);
            assert!(s > 0.0 && s < 1.0, "{tool}: {r}");
        }
        for r in &reports[..reports.len() - 1] {
            let s = r["interval_s"].as_f64().unwrap_or(0.0);
            // A late report makes the next one shorter (seen: 0.141 s at
            // load 10); each still covers its own stretch of time.
            assert!((0.1..0.6).contains(&s), "{tool}: interval_s {s}");
        }
    }
});

root_test!(a_stop_mid_interval_reports_the_time_covered, {
    for tool in INTERVAL_TOOLS {
        let cg = TestCgroup::new(&format!("{tool}-partial"));
        // Ctrl-C after 0.4 s of a 10 s interval: the report covers 0.4 s.
        let running = Tool::start(tool, &["-c", &cg.arg(), "-i", "10", "--output", "json"]);
        std::thread::sleep(Duration::from_millis(400));
        let done = running.stop();
        let reports = done.json();
        assert_eq!(reports.len(), 1, "{tool}: {}", done.stdout);
        let s = reports[0]["interval_s"].as_f64().unwrap_or(0.0);
        assert!(
            (0.4..3.0).contains(&s),
            "{tool}: covered {s} s: {}",
            done.stdout
        );
        assert_eq!(reports[0]["final"], true, "{tool}");
    }
});

root_test!(text_reports_at_intervals_carry_a_clock_header, {
    for (tool, first_column) in [("constat", "SYSCALL"), ("syscount", "SYSCALL")] {
        let cg = TestCgroup::new(&format!("{tool}-clock"));
        let running = Tool::start(tool, &["-c", &cg.arg(), "-i", "0.3"]);
        run_workload(Some(&cg.path), &["--no-wait", "getppid", "10"]);
        std::thread::sleep(Duration::from_millis(800));
        let text = running.stop().stdout;
        let headers = text.lines().filter(|l| l.starts_with('[')).count();
        let tables = text.lines().filter(|l| l.starts_with(first_column)).count();
        assert!(headers >= 2 && headers == tables, "{tool}: {text}");
    }
});

root_test!(zero_interval_means_only_the_final_report, {
    for tool in INTERVAL_TOOLS {
        let cg = TestCgroup::new(&format!("{tool}-i0"));
        let reports = json_run(tool, &["-c", &cg.arg(), "-i", "0"], |_| {
            run_workload(Some(&cg.path), &["--no-wait", "getppid", "300"]);
            std::thread::sleep(Duration::from_millis(300));
        });
        assert_eq!(reports.len(), 1, "{tool}: {reports:?}");
        assert_eq!(u(row(&reports[0], "getppid"), "count"), 300, "{tool}");
    }
});

root_test!(descendants_by_default_not_with_exact_and_outsiders_never, {
    for tool in SYSCALL_TOOLS {
        let cg = TestCgroup::new(&format!("{tool}-tree"));
        let child = cg.child("inner");
        let outside = TestCgroup::new(&format!("{tool}-outside"));
        for (flags, want) in [(vec![], 300u64), (vec!["--exact"], 0)] {
            let mut args = vec!["-c".to_string(), cg.arg()];
            args.extend(flags.iter().map(|s| s.to_string()));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let inner = Workload::spawn(Some(&child), &["getppid", "300"]);
            let other = Workload::spawn(Some(&outside.path), &["getppid", "500"]);
            let report = json_report(tool, &args, |_| {
                inner.finish();
                other.finish();
            });
            assert_eq!(
                u(row(&report, "getppid"), "count"),
                want,
                "{tool} {flags:?}: {report}"
            );
        }
    }
});
