//! Features several tools share, tested once over every tool that has them.

use std::time::{Duration, Instant};

use contrace_tests::*;

root_test!(interval_reports_lose_nothing, {
    for tool in INTERVAL_TOOLS {
        let cg = TestCgroup::new(&format!("{tool}-interval"));
        let started = Instant::now();
        let running = Tool::start(tool, &["-c", &cg.arg(), "-i", "0.2", "--output", "json"]);
        for _ in 0..5 {
            run_workload(Some(&cg.path), &["--no-wait", "getppid", "1000"]);
            std::thread::sleep(Duration::from_millis(70));
        }
        let done = running.stop();
        let wall = started.elapsed().as_secs_f64();
        let reports = done.json();
        assert!(
            reports.len() >= 2,
            "{tool}: several interval reports expected: {}",
            done.stdout
        );
        let total: u64 = reports.iter().map(|r| u(row(r, "getppid"), "count")).sum();
        assert_eq!(total, 5000, "{tool}: {}", done.stdout);
        // interval_s is the time each report really covers: back to back,
        // so the k-th interval report ends on or after the k-th tick of the
        // 0.2 s clock (never early; a late one makes the next one shorter),
        // and all of them fit in the time the run took.
        let mut covered = 0.0;
        for (k, r) in reports.iter().enumerate() {
            let s = r["interval_s"].as_f64().unwrap_or(0.0);
            assert!(s > 0.0, "{tool}: {r}");
            covered += s;
            if k + 1 < reports.len() {
                let tick = 0.2 * (k + 1) as f64;
                assert!(
                    covered >= tick - 0.001,
                    "{tool}: report {k} ends at {covered} s"
                );
            }
        }
        assert!(
            covered <= wall,
            "{tool}: {covered} s covered in a {wall} s run"
        );
    }
});

root_test!(a_stop_mid_interval_reports_the_time_covered, {
    for tool in INTERVAL_TOOLS {
        let cg = TestCgroup::new(&format!("{tool}-partial"));
        // Ctrl-C after 0.4 s of a 10 s interval: the report covers the
        // 0.4 s and whatever the signal took to arrive, within the run.
        let started = Instant::now();
        let running = Tool::start(tool, &["-c", &cg.arg(), "-i", "10", "--output", "json"]);
        std::thread::sleep(Duration::from_millis(400));
        let done = running.stop();
        let wall = started.elapsed().as_secs_f64();
        let reports = done.json();
        assert_eq!(reports.len(), 1, "{tool}: {}", done.stdout);
        let s = reports[0]["interval_s"].as_f64().unwrap_or(0.0);
        assert!(
            0.4 <= s && s <= wall,
            "{tool}: covered {s} s of a {wall} s run: {}",
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
        // Two interval reports printed before the stop (a headed table each).
        let mut text = String::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while text.lines().filter(|l| l.starts_with('[')).count() < 2 {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = running
                .next_line(left)
                .unwrap_or_else(|| panic!("{tool}: two reports in 30 s: {text}"));
            text.push_str(&line);
            text.push('\n');
        }
        text.push_str(&running.stop().stdout);
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
