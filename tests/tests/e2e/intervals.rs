//! Reports over time, in the tools that report every `-i` seconds:
//! nothing lost between reports, each covering its own stretch of time
//! (checked against the clock of the run, never against a fixed bound),
//! a stop mid-interval, `-i 0`, and `-d`.

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
        // With -d: one report at the end, final, covering the whole run.
        let started = Instant::now();
        let done = run_tool(
            tool,
            &["-c", &cg.arg(), "-i", "0", "-d", "1.5", "-o", "json"],
        );
        let wall = started.elapsed().as_secs_f64();
        assert_eq!(done.code, Some(0), "{tool}: {}", done.stderr);
        let reports = done.json();
        assert_eq!(reports.len(), 1, "{tool}: {}", done.stdout);
        assert_eq!(reports[0]["final"], true);
        // The 1.5 s of -d, within the time the whole run took.
        let s = reports[0]["interval_s"].as_f64().unwrap();
        assert!(1.4 <= s && s <= wall, "{tool}: interval_s {s} of {wall} s");
    }
    // And a real interval still reports on time, for comparison.
    let cg = TestCgroup::new("i-half");
    let done = run_tool(
        "constat",
        &["-c", &cg.arg(), "-i", "0.5", "-d", "1.6", "-o", "json"],
    );
    assert!(done.json().len() >= 3, "{}", done.stdout);
});

root_test!(duration_ends_the_run_with_one_report, {
    for tool in INTERVAL_TOOLS {
        let cg = TestCgroup::new(&format!("{tool}-duration"));
        let started = Instant::now();
        let running = Tool::start(tool, &["-c", &cg.arg(), "-d", "1", "--output", "json"]);
        let done = running.wait();
        let wall = started.elapsed().as_secs_f64();
        assert_eq!(done.code, Some(0), "{tool}: {}", done.stderr);
        let reports = done.json();
        assert_eq!(reports.len(), 1, "{tool}: {}", done.stdout);
        // -d 1 without -i: the whole run, one second and what the stop took.
        let s = reports[0]["interval_s"].as_f64().unwrap();
        assert!(
            0.95 <= s && s <= wall,
            "{tool}: covered {s} s of a {wall} s run"
        );
    }
});
