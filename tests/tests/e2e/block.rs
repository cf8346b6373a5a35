//! conbiograph and block I/O: exact bytes and ops of direct, buffered,
//! fsync'ed and synced I/O; the chart, CSV, live frames and periods
//! (exactly d/t of them, a partial one at a stop, merged when the reader
//! lags); the latency gate; attribution when a second cgroup is involved
//! (another cgroup's fsync, nested io domains, pages dirtied before the
//! start); the pre-5.11 kernel path; and the per-cgroup collector the
//! exporter drives.
//!
//! The I/O goes to a file system of the test's own on a loop device
//! (`contrace_tests::block::BlockDir`), the same on every machine. Every
//! test runs on this hybrid host and inside the VM kernels of
//! `scripts/vmtest --suite` (pure cgroup v2 with the io controller); where
//! the two legitimately differ (the bio's blkcg is only a v2 cgroup on the
//! latter), the test reads which one it is from the tool's `kernel` object
//! and asserts the exact value for that mode.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use contrace_tests::block::{run, BlockDir};
use contrace_tests::*;
use serde_json::Value;

const MIB: u64 = 1 << 20;
/// The attribution tests' file size.
const SIZE: u64 = 16 * MIB;
/// The single-cgroup tests' file size.
const BIG: u64 = 32 * MIB;

/// Everything `--output json` printed: period rows and the summary.
struct Run {
    periods: Vec<Value>,
    summary: Value,
}

fn parse(done: Finished) -> Run {
    assert_eq!(done.code, Some(0), "conbiograph failed: {}", done.stderr);
    let mut lines = done.json();
    let summary = lines.pop().expect("summary line");
    assert_eq!(summary["type"], "summary", "{}", done.stdout);
    for p in &lines {
        assert_eq!(p["type"], "period", "{p}");
    }
    Run {
        periods: lines,
        summary,
    }
}

/// Starts conbiograph with `--output json` (and `env`), runs `work`, stops
/// it with SIGINT.
fn traced(args: &[&str], env: &[(&str, &str)], work: impl FnOnce(&Tool)) -> Run {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    let tool = Tool::start_env("conbiograph", &all, env);
    work(&tool);
    parse(tool.stop())
}

fn bytes(run: &Run, dir: &str) -> u64 {
    u(Some(&run.summary[dir]), "bytes")
}

fn sum(rows: &[Value], field: &str) -> u64 {
    rows.iter()
        .map(|r| {
            r[field]
                .as_u64()
                .unwrap_or_else(|| panic!("{field} in {r}"))
        })
        .sum()
}

/// The json periods add up to the summary, field by field.
fn assert_periods_add_up(run: &Run) {
    for (field, dir, key) in [
        ("read_bytes", "read", "bytes"),
        ("write_bytes", "write", "bytes"),
        ("read_ops", "read", "ops"),
        ("write_ops", "write", "ops"),
    ] {
        assert_eq!(
            sum(&run.periods, field),
            u(Some(&run.summary[dir]), key),
            "{field}: {}",
            run.summary
        );
    }
    assert_eq!(
        sum(&run.periods, "writeback_bytes"),
        u(Some(&run.summary), "writeback_bytes")
    );
}

/// Periods are consecutive, one every `period_ms` from 0, and the summary
/// counts them all.
fn assert_contiguous(run: &Run, period_ms: u64) {
    for (i, p) in run.periods.iter().enumerate() {
        assert_eq!(p["t_ms"].as_u64(), Some(i as u64 * period_ms), "{p}");
    }
    assert_eq!(
        u(Some(&run.summary), "periods"),
        run.periods.len() as u64,
        "{}",
        run.summary
    );
}

/// The io controller is on cgroup v2 here (the VM matrix), so the bio's
/// blkcg names the dirtier's cgroup.
fn blkcg_v2(run: &Run) -> bool {
    match run.summary["kernel"]["blkcg"].as_str() {
        Some("v2") => true,
        Some("v1") | Some("none") => false,
        other => panic!("kernel.blkcg {other:?}: {}", run.summary),
    }
}

/// Enables the io (and memory) controllers for a test cgroup's children
/// when the host's cgroup2 has them (pure v2), so their bios carry their
/// own blkcg; a no-op on hybrid hosts.
fn enable_io_below(cg: &TestCgroup) {
    let available = std::fs::read_to_string(cg.path.join("cgroup.controllers")).unwrap_or_default();
    let wanted: Vec<String> = ["io", "memory"]
        .iter()
        .filter(|c| available.split_whitespace().any(|a| a == **c))
        .map(|c| format!("+{c}"))
        .collect();
    if !wanted.is_empty() {
        std::fs::write(cg.path.join("cgroup.subtree_control"), wanted.join(" "))
            .expect("enable io below the test cgroup");
    }
}

root_test!(direct_write_counts_exactly_its_bytes, {
    let cg = TestCgroup::new("cbg-dwrite");
    let dir = BlockDir::new("dwrite");
    let file = dir.file("data");
    let size = BIG.to_string();
    let w = Workload::spawn(Some(&cg.path), &["write-direct", &file, &size]);
    let run = traced(&["-t", "200", "-c", &cg.arg()], &[], |_| {
        w.finish();
    });
    let s = &run.summary;
    assert_eq!(u(Some(&s["write"]), "bytes"), BIG, "{s}");
    assert!(u(Some(&s["write"]), "ops") >= BIG / (4 * MIB), "{s}");
    assert_eq!(u(Some(s), "writeback_bytes"), 0, "{s}");
    assert!(
        s["write"]["mean_lat_ns"].as_u64().is_some_and(|ns| ns > 0),
        "latency: {s}"
    );
    // The target object every contrace tool prints.
    assert_eq!(s["target"]["id"], cg.id());
    assert_eq!(s["target"]["path"], cg.arg());
    assert_eq!(s["target"]["cgroup"], cg.rel());
    assert_eq!(s["target"]["descendants"], true);
    assert_eq!(s["period_ms"], 200);
    let devices = s["devices"].as_array().expect("devices");
    assert!(
        devices.iter().any(|d| d["device"] == dir.device.as_str()),
        "{s}"
    );
    assert_periods_add_up(&run);
    // Periods are consecutive, one every 200 ms from 0.
    for (i, p) in run.periods.iter().enumerate() {
        assert_eq!(p["t_ms"].as_u64(), Some(i as u64 * 200), "{p}");
    }
});

root_test!(direct_read_counts_exactly_its_bytes, {
    let cg = TestCgroup::new("cbg-dread");
    let dir = BlockDir::new("dread");
    let file = dir.file("data");
    let size = BIG.to_string();
    // Written before the tracer starts, by a process outside the target.
    run_workload(None, &["--no-wait", "write-direct", &file, &size]);
    let w = Workload::spawn(Some(&cg.path), &["read-direct", &file, &size]);
    let run = traced(&["-t", "200", "-c", &cg.arg()], &[], |_| {
        w.finish();
    });
    let s = &run.summary;
    assert_eq!(u(Some(&s["read"]), "bytes"), BIG, "{s}");
    assert_eq!(u(Some(&s["write"]), "bytes"), 0, "{s}");
    assert_periods_add_up(&run);
});

root_test!(buffered_write_with_its_own_fsync_is_charged, {
    let cg = TestCgroup::new("cbg-fsync");
    let dir = BlockDir::new("fsync");
    let file = dir.file("data");
    let size = BIG.to_string();
    let w = Workload::spawn(
        Some(&cg.path),
        &["write-buffered", &file, &size, "fsync", &file],
    );
    let run = traced(&["-t", "200", "-c", &cg.arg(), "--write"], &[], |_| {
        w.finish();
    });
    // The data; the journal, not the fsync'ing task, writes the inode.
    assert_eq!(
        u(Some(&run.summary["write"]), "bytes"),
        BIG,
        "{}",
        run.summary
    );
    assert_eq!(
        u(Some(&run.summary["read"]), "bytes"),
        0,
        "--write counts no reads"
    );
    assert_periods_add_up(&run);
});

root_test!(
    writeback_forced_by_sync_outside_is_charged_to_the_dirtier,
    {
        let cg = TestCgroup::new("cbg-sync");
        let dir = BlockDir::new("sync");
        let file = dir.file("data");
        let size = BIG.to_string();
        let w = Workload::spawn(Some(&cg.path), &["write-buffered", &file, &size]);
        let run = traced(&["-t", "200", "-c", &cg.arg()], &[], |_| {
            w.finish();
            // The workload has exited; `sync` runs here, outside the cgroup,
            // and kernel flusher threads write the pages.
            run("sync", &[]);
        });
        let s = &run.summary;
        assert_eq!(u(Some(&s["write"]), "bytes"), BIG, "{s}");
        assert_eq!(
            u(Some(s), "writeback_bytes"),
            BIG,
            "charged through the dirtier: {s}"
        );
        assert_periods_add_up(&run);
    }
);

root_test!(io_of_other_cgroups_is_never_counted, {
    let cg = TestCgroup::new("cbg-mine");
    let other = TestCgroup::new("cbg-other");
    let dir = BlockDir::new("others");
    let (mine, theirs, theirs_buffered) =
        (dir.file("mine"), dir.file("theirs"), dir.file("theirs-buf"));
    let half = (BIG / 2).to_string();
    let size = BIG.to_string();
    let own = Workload::spawn(Some(&cg.path), &["write-direct", &mine, &half]);
    let outsider = Workload::spawn(
        Some(&other.path),
        &[
            "write-direct",
            &theirs,
            &size,
            "read-direct",
            &theirs,
            &size,
            "write-buffered",
            &theirs_buffered,
            &size,
            "fsync",
            &theirs_buffered,
            "write-buffered",
            &theirs,
            &size,
        ],
    );
    let run = traced(&["-t", "200", "-c", &cg.arg()], &[], |_| {
        let mut outsider = outsider;
        outsider.go();
        own.finish();
        outsider.finish();
        run("sync", &[]);
    });
    let s = &run.summary;
    assert_eq!(u(Some(&s["write"]), "bytes"), BIG / 2, "{s}");
    // The outsider read 32 MiB; the target nothing (the scratch file
    // system's metadata is cached).
    assert_eq!(u(Some(&s["read"]), "bytes"), 0, "{s}");
    assert_eq!(u(Some(s), "writeback_bytes"), 0, "{s}");
});

// ---- periods, the chart and CSV ------------------------------------------

/// Period rows and summary of `-t period_ms -d seconds` (waits for the end).
fn fixed_run(cg: &TestCgroup, period_ms: u64, seconds: u64) -> Run {
    let (t, d) = (period_ms.to_string(), seconds.to_string());
    let tool = Tool::start(
        "conbiograph",
        &["-c", &cg.arg(), "-t", &t, "-d", &d, "--output", "json"],
    );
    parse(tool.wait())
}

root_test!(a_run_of_d_seconds_has_exactly_d_over_t_periods, {
    let cg = TestCgroup::new("cbg-periods");
    // (period ms, seconds, full periods, partial ms)
    let cases: [(u64, u64, u64, u64); 5] = [
        (1000, 3, 3, 0),
        (500, 4, 8, 0),
        (250, 2, 8, 0),
        (300, 1, 3, 100),
        (400, 1, 2, 200),
    ];
    // Concurrently: the five runs take 4 s together instead of 11 s.
    let runs: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .map(|&(t, d, _, _)| {
                let cg = &cg;
                s.spawn(move || fixed_run(cg, t, d))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("run"))
            .collect()
    });
    for ((t, d, full, partial_ms), run) in cases.iter().zip(&runs) {
        let rows = &run.periods;
        let want = full + u64::from(*partial_ms > 0);
        assert_eq!(rows.len() as u64, want, "-t {t} -d {d}: {rows:?}");
        assert_eq!(u(Some(&run.summary), "periods"), want, "{}", run.summary);
        assert_eq!(
            run.summary["duration_ms"].as_f64(),
            Some((d * 1000) as f64),
            "-t {t} -d {d}: {}",
            run.summary
        );
        for (i, p) in rows.iter().enumerate() {
            assert_eq!(p["t_ms"].as_u64(), Some(i as u64 * t), "{p}");
            let last_partial = *partial_ms > 0 && i as u64 == *full;
            assert_eq!(p["partial"], last_partial, "-t {t} -d {d}: {p}");
            let len = if last_partial { *partial_ms } else { *t };
            assert_eq!(p["length_ms"].as_f64(), Some(len as f64), "{p}");
        }
    }
});

root_test!(ctrl_c_mid_period_reports_one_partial_period, {
    let cg = TestCgroup::new("cbg-partial");
    let started = Instant::now();
    let run = traced(&["-c", &cg.arg(), "-t", "1000"], &[], |_| {
        std::thread::sleep(Duration::from_millis(2400));
    });
    let stopped = started.elapsed();
    let rows = &run.periods;
    let total = run.summary["duration_ms"].as_f64().expect("duration_ms");
    // Stopped about 2.4 s in (later on a slow machine): every period full
    // but the last, which ends where the run ended.
    let full = (total / 1000.0).floor() as usize;
    assert!(full >= 2, "{}", run.summary);
    assert_eq!(rows.len(), full + 1, "{rows:?}");
    for p in &rows[..full] {
        assert_eq!(p["partial"], false, "{p}");
        assert_eq!(p["length_ms"].as_f64(), Some(1000.0), "{p}");
    }
    let last = &rows[full];
    assert_eq!(last["partial"], true, "{rows:?}");
    let len = last["length_ms"].as_f64().expect("length_ms");
    assert!(len > 0.0 && len < 1000.0, "{len}");
    // Both in ms with µs resolution.
    assert!(
        (total - (full as f64 * 1000.0 + len)).abs() < 0.002,
        "{}",
        run.summary
    );
    assert!(total <= stopped.as_secs_f64() * 1000.0, "{total} ms");
});

root_test!(the_chart_axis_ends_at_the_end_of_the_run, {
    let cg = TestCgroup::new("cbg-axis");
    let dir = BlockDir::new("axis");
    let file = dir.file("data");
    let size = SIZE.to_string();
    let w = Workload::spawn(Some(&cg.path), &["write-direct", &file, &size]);
    let tool = Tool::start(
        "conbiograph",
        &["-c", &cg.arg(), "-t", "500", "-d", "2", "--write"],
    );
    w.finish();
    let done = tool.wait();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    // The x axis runs from 0.0s to the end of the run.
    let axes: Vec<&str> = done
        .stdout
        .lines()
        .filter(|l| l.starts_with("0.0s"))
        .collect();
    assert_eq!(axes.len(), 1, "{}", done.stdout);
    for axis in axes {
        assert!(
            axis.trim_end().ends_with(" 2.0s"),
            "axis {axis:?}: {}",
            done.stdout
        );
    }
    assert!(
        done.stdout.contains("write: 16.0 MiB in "),
        "{}",
        done.stdout
    );
});

root_test!(chart_renders_with_labels_and_summary, {
    let cg = TestCgroup::new("cbg-chart");
    let dir = BlockDir::new("chart");
    let file = dir.file("data");
    let size = BIG.to_string();
    let w = Workload::spawn(
        Some(&cg.path),
        &["write-direct", &file, &size, "read-direct", &file, &size],
    );
    let tool = Tool::start("conbiograph", &["-t", "200", "-c", &cg.arg()]);
    w.finish();
    std::thread::sleep(Duration::from_millis(500));
    let done = tool.stop();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let out = &done.stdout;
    let braille = out
        .chars()
        .filter(|c| ('\u{2801}'..='\u{28ff}').contains(c))
        .count();
    assert!(braille > 20, "no braille chart: {out}");
    assert!(out.contains("write bytes per 0.2s ("), "{out}");
    assert!(out.contains("read bytes per 0.2s ("), "{out}");
    // y axis: the peak at the top right, zero at the bottom, with units.
    assert!(
        out.lines()
            .any(|l| l.ends_with(" MiB") && !l.ends_with(" 0 MiB")),
        "y max label: {out}"
    );
    assert!(
        out.lines().any(|l| l.ends_with(" 0 MiB")),
        "y min label: {out}"
    );
    assert!(out.contains("0.0s"), "x label: {out}");
    assert!(out.contains("write: 32.0 MiB in "), "summary: {out}");
    assert!(out.contains("read: 32.0 MiB in "), "summary: {out}");
    assert!(out.contains("mean issue→complete"), "{out}");
    assert!(done.stderr.contains('.'), "progress dots: {}", done.stderr);
    assert!(done.stderr.contains("summarizing"), "{}", done.stderr);
});

root_test!(csv_rows_add_up_and_device_filter_applies, {
    let cg = TestCgroup::new("cbg-csv");
    let dir = BlockDir::new("csv");
    let file = dir.file("data");
    let size = BIG.to_string();
    let w = Workload::spawn(Some(&cg.path), &["write-direct", &file, &size]);
    let tool = Tool::start(
        "conbiograph",
        &[
            "-t",
            "250",
            "-c",
            &cg.arg(),
            "--device",
            &dir.device,
            "--output",
            "csv",
        ],
    );
    w.finish();
    let done = tool.stop();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let mut lines = done.stdout.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    for f in ["t_ms", "read_bytes", "write_bytes", "read_ops", "write_ops"] {
        assert!(header.contains(&f), "{header:?}");
    }
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (t, wb) = (col("t_ms"), col("write_bytes"));
    let mut total = 0u64;
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), header.len(), "{line}");
        assert_eq!(cells[t].parse::<u64>().unwrap(), i as u64 * 250);
        total += cells[wb].parse::<u64>().unwrap();
    }
    assert_eq!(total, BIG, "{}", done.stdout);
    assert!(
        done.stderr.contains("write: 32.0 MiB"),
        "summary on stderr: {}",
        done.stderr
    );

    // Another device sees none of it.
    let others: Vec<String> = std::fs::read_dir("/sys/block")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| *n != dir.device && !dir.device.starts_with(n.as_str()))
        .collect();
    if let Some(other) = others.first() {
        let w = Workload::spawn(Some(&cg.path), &["write-direct", &file, &size]);
        let run = traced(&["-c", &cg.arg(), "--device", other], &[], |_| {
            w.finish();
        });
        assert_eq!(
            u(Some(&run.summary["write"]), "bytes"),
            0,
            "--device {other}: {}",
            run.summary
        );
    }
});

root_test!(live_redraws_every_period, {
    let cg = TestCgroup::new("cbg-live");
    let tool = Tool::start(
        "conbiograph",
        &["-t", "100", "-c", &cg.arg(), "--live", "-d", "1"],
    );
    let done = tool.wait();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let frames = done.stdout.matches(" so far: ").count();
    assert!(
        (5..=11).contains(&frames),
        "{frames} frames: {}",
        done.stdout
    );
    assert!(
        done.stdout.contains("write: none; read: none."),
        "{}",
        done.stdout
    );
});

root_test!(sigterm_summarizes_and_exact_target_has_no_descendants, {
    let cg = TestCgroup::new("cbg-term");
    let tool = Tool::start(
        "conbiograph",
        &["-t", "100", "-c", &cg.arg(), "--exact", "--output", "json"],
    );
    std::thread::sleep(Duration::from_millis(300));
    let done = tool.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(
        done.stderr.contains("Received signal, summarizing"),
        "{}",
        done.stderr
    );
    let run = parse(done);
    assert_eq!(
        run.summary["target"]["descendants"], false,
        "{}",
        run.summary
    );
    assert_eq!(run.summary["target"]["id"], cg.id());
    assert_contiguous(&run, 100);
});

root_test!(
    a_reader_more_than_256_periods_behind_merges_periods_and_loses_nothing,
    {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::Pid;
        let cg = TestCgroup::new("cbg-lag");
        let dir = BlockDir::new("lag");
        let (first, second) = (dir.file("first"), dir.file("second"));
        let size = (8 * MIB).to_string();
        let before = Workload::spawn(Some(&cg.path), &["write-direct", &first, &size]);
        let after = Workload::spawn(Some(&cg.path), &["write-direct", &second, &size]);
        let run = traced(&["-t", "10", "-c", &cg.arg()], &[], |tool| {
            // Stopped for 3 s = 300 periods of 10 ms: the ring holds 256.
            let pid = Pid::from_raw(tool.pid() as i32);
            kill(pid, Signal::SIGSTOP).expect("SIGSTOP");
            before.finish();
            std::thread::sleep(Duration::from_secs(3));
            kill(pid, Signal::SIGCONT).expect("SIGCONT");
            // I/O while it catches up, in the periods whose slots are reused.
            after.finish();
            std::thread::sleep(Duration::from_millis(200));
        });
        let s = &run.summary;
        assert!(u(Some(s), "merged_periods") > 0, "{s}");
        assert_eq!(u(Some(&s["write"]), "bytes"), 16 * MIB, "{s}");
        assert_periods_add_up(&run);
        assert_contiguous(&run, 10);
    }
);

// ---- the latency gate -----------------------------------------------------

/// The running tool's .bss variables, read with bpftool.
fn bss(tool: &Tool) -> Value {
    let fds = std::fs::read_dir(format!("/proc/{}/fdinfo", tool.pid())).expect("fdinfo");
    for fd in fds.flatten() {
        let info = std::fs::read_to_string(fd.path()).unwrap_or_default();
        let Some(id) = info.lines().find_map(|l| l.strip_prefix("map_id:")) else {
            continue;
        };
        let show = run("bpftool", &["-j", "map", "show", "id", id.trim()]);
        let show: Value = serde_json::from_str(&show).expect("bpftool json");
        if !show["name"].as_str().is_some_and(|n| n.ends_with(".bss")) {
            continue;
        }
        let dump = run("bpftool", &["-j", "map", "dump", "id", id.trim()]);
        let dump: Value = serde_json::from_str(&dump).expect("bpftool json");
        // [{"formatted":{"value":{".bss":[{"name":value},...]}}}]
        let mut vars = serde_json::Map::new();
        for var in dump[0]["formatted"]["value"][".bss"]
            .as_array()
            .expect("bss")
        {
            for (k, v) in var.as_object().expect("var") {
                vars.insert(k.clone(), v.clone());
            }
        }
        return Value::Object(vars);
    }
    panic!("no .bss map held by conbiograph");
}

root_test!(latency_gate_closes_when_idle_and_reopens, {
    let cg = TestCgroup::new("cbg-gate");
    let dir = BlockDir::new("gate");
    let (first, second) = (dir.file("first"), dir.file("second"));
    let size = (8 * MIB).to_string();
    // One bio in LAT_SAMPLE (8) is sampled, and a sampled bio whose request
    // merged behind another is not timed: the second burst makes several
    // samples so one of them is timed even on a loaded machine.
    let after_size = (32 * MIB).to_string();
    let before = Workload::spawn(Some(&cg.path), &["write-direct", &first, &size]);
    let after = Workload::spawn(Some(&cg.path), &["write-direct", &second, &after_size]);
    let period = Duration::from_millis(100);
    let linger = conbiograph::collect::linger_periods(period);
    let run = traced(&["-t", "100", "-c", &cg.arg()], &[], |tool| {
        assert_eq!(bss(tool)["sample_gate"], 0, "closed before any I/O");
        before.finish();
        assert_eq!(bss(tool)["sample_gate"], 1, "open after sampled I/O");
        // The gate lingers `linger` periods after the last sample, then
        // closes: the request hooks go back to one load for every request.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let vars = loop {
            let vars = bss(tool);
            if vars["sample_gate"] == 0 {
                break vars;
            }
            assert!(std::time::Instant::now() < deadline, "gate never closed");
            std::thread::sleep(Duration::from_millis(100));
        };
        // Seen closed, on the kernel's clock: not before the period of the
        // last sample (`last_sample` - 1) plus the linger.
        let seen_ns = monotonic_ns();
        let (start_ns, last) = (u(Some(&vars), "start_ns"), u(Some(&vars), "last_sample"));
        assert!(last > 0, "{vars}");
        let earliest = start_ns + (last - 1 + linger) * period.as_nanos() as u64;
        assert!(
            seen_ns >= earliest,
            "closed {} ms too early: {vars}",
            (earliest - seen_ns) / 1_000_000
        );
        after.finish();
        std::thread::sleep(Duration::from_millis(300));
    });
    let s = &run.summary;
    assert_eq!(u(Some(&s["write"]), "bytes"), 40 * MIB, "{s}");
    // The second burst starts after a gap of 15+ empty periods, and its
    // requests were timed: the gate reopened.
    let writes: Vec<&Value> = run
        .periods
        .iter()
        .filter(|p| u(Some(p), "write_bytes") > 0 || !p["write_lat_ns"].is_null())
        .collect();
    let split = writes
        .windows(2)
        .position(|w| u(Some(w[1]), "t_ms") - u(Some(w[0]), "t_ms") >= 1500)
        .unwrap_or_else(|| panic!("no idle gap: {writes:?}"));
    assert!(
        writes[split + 1..]
            .iter()
            .any(|p| p["write_lat_ns"].as_u64().is_some_and(|ns| ns > 0)),
        "no latency after the gate reopened: {writes:?}"
    );
});

// ---- the pre-5.11 path, on this kernel ---------------------------------

root_test!(the_pre_5_11_path_counts_exactly_what_the_btf_path_does, {
    let compat = [("CONBIOGRAPH_FORCE_COMPAT", "1")];
    let cg = TestCgroup::new("cbg-compat");
    enable_io_below(&cg);
    let inner = cg.child("inner");
    let other = TestCgroup::new("cbg-compat-other");
    let dir = BlockDir::new("compat");
    let (direct, buffered, synced, theirs) = (
        dir.file("direct"),
        dir.file("buffered"),
        dir.file("synced"),
        dir.file("theirs"),
    );
    let size = SIZE.to_string();
    // Read back later by the target: written now, outside any trace.
    run_workload(None, &["--no-wait", "write-direct", &direct, &size]);

    let mine = Workload::spawn(
        Some(&inner),
        &[
            "read-direct",
            &direct,
            &size,
            "write-buffered",
            &buffered,
            &size,
            "fsync",
            &buffered,
            "write-buffered",
            &synced,
            &size,
        ],
    );
    let outsider = Workload::spawn(
        Some(&other.path),
        &[
            "write-direct",
            &theirs,
            &size,
            "read-direct",
            &theirs,
            &size,
        ],
    );
    let (mut mine, mut outsider) = (mine, outsider);
    let tool_compat = Tool::start_env(
        "conbiograph",
        &["-c", &cg.arg(), "-t", "200", "--output", "json"],
        &compat,
    );
    let tool_btf = Tool::start(
        "conbiograph",
        &["-c", &cg.arg(), "-t", "200", "--output", "json"],
    );
    mine.go();
    outsider.go();
    mine.finish();
    outsider.finish();
    // The target has exited; the rest of its dirty pages go out from here.
    run("sync", &[]);
    let compat_run = parse(tool_compat.stop());
    let btf_run = parse(tool_btf.stop());

    assert_eq!(compat_run.summary["kernel"]["task_btf"], false);
    for r in [&compat_run, &btf_run] {
        let s = &r.summary;
        assert_eq!(bytes(r, "read"), SIZE, "{s}");
        // The fsync'ed file, then the one `sync` wrote back for it (the
        // journal, not the fsync'ing task, writes the inode).
        assert_eq!(bytes(r, "write"), 2 * SIZE, "{s}");
        assert_eq!(u(Some(s), "writeback_bytes"), SIZE, "{s}");
    }
    // Same bios, same answer.
    for dir in ["read", "write"] {
        assert_eq!(
            compat_run.summary[dir]["ops"], btf_run.summary[dir]["ops"],
            "{dir}: {} vs {}",
            compat_run.summary, btf_run.summary
        );
        assert_eq!(bytes(&compat_run, dir), bytes(&btf_run, dir));
    }
});

// ---- attribution with a second cgroup ----------------------------------

root_test!(another_cgroups_fsync_is_charged_to_the_dirtier, {
    let dirtier = TestCgroup::new("cbg-dirtier");
    let syncer = TestCgroup::new("cbg-syncer");
    let dir = BlockDir::new("foreign-fsync");
    let file = dir.file("data");
    let size = SIZE.to_string();
    let write = Workload::spawn(Some(&dirtier.path), &["write-buffered", &file, &size]);
    let fsync = Workload::spawn(Some(&syncer.path), &["fsync", &file]);
    let on_dirtier = Tool::start(
        "conbiograph",
        &["-c", &dirtier.arg(), "-t", "200", "--output", "json"],
    );
    let on_syncer = Tool::start(
        "conbiograph",
        &["-c", &syncer.arg(), "-t", "200", "--output", "json"],
    );
    write.finish();
    fsync.finish();
    let d = parse(on_dirtier.stop());
    let s = parse(on_syncer.stop());
    assert_eq!(bytes(&d, "write"), SIZE, "{}", d.summary);
    assert_eq!(
        u(Some(&d.summary), "writeback_bytes"),
        SIZE,
        "{}",
        d.summary
    );
    // The fsync'ing cgroup only forced the timing (the journal, not the
    // fsync'ing task, writes the inode).
    assert_eq!(bytes(&s, "write"), 0, "{}", s.summary);
    assert_eq!(u(Some(&s.summary), "writeback_bytes"), 0, "{}", s.summary);
});

root_test!(
    a_child_without_its_own_io_state_is_still_charged_its_writeback,
    {
        // On pure v2 the child's bios carry the parent's blkcg (io is not
        // enabled below the parent); the dirtier record refines it.
        let parent = TestCgroup::new("cbg-domain");
        let child = parent.child("child");
        let sibling = parent.child("sibling");
        let dir = BlockDir::new("domain");
        let (mine, theirs) = (dir.file("mine"), dir.file("theirs"));
        let size = SIZE.to_string();
        let child_arg = child.display().to_string();
        let w = Workload::spawn(Some(&child), &["write-buffered", &mine, &size]);
        let s = Workload::spawn(Some(&sibling), &["write-buffered", &theirs, &size]);
        let run = traced(&["-c", &child_arg, "-t", "200"], &[], |_| {
            w.finish();
            s.finish();
            run("sync", &[]);
        });
        assert_eq!(bytes(&run, "write"), SIZE, "{}", run.summary);
        assert_eq!(
            u(Some(&run.summary), "writeback_bytes"),
            SIZE,
            "{}",
            run.summary
        );
    }
);

root_test!(
    pages_dirtied_before_the_start_are_charged_through_a_v2_blkcg,
    {
        let cg = TestCgroup::new("cbg-before");
        let dir = BlockDir::new("before");
        let size = SIZE.to_string();
        // Cgroup writeback needs the memory controller on v2 as well.
        let controllers =
            std::fs::read_to_string(cg.path.join("cgroup.controllers")).unwrap_or_default();
        let memcg = controllers.split_whitespace().any(|c| c == "memory");
        let dev = dev_numbers(&dir.device);
        // On a slow (emulated) machine the kernel may write the pages back
        // on its own before conbiograph has attached (dirty_expire): then
        // nothing is left to attribute. The kernel's own io.stat shows it;
        // such an attempt is retried.
        for attempt in 0..3 {
            let file = dir.file(&format!("data{attempt}"));
            let written_before = io_stat(&cg.path, &dev, "wbytes");
            // Dirtied (not written) before conbiograph starts: no record.
            run_workload(
                Some(&cg.path),
                &["--no-wait", "write-buffered", &file, &size],
            );
            let mut early = 0;
            let run = traced(&["-c", &cg.arg(), "-t", "200"], &[], |_| {
                early = io_stat(&cg.path, &dev, "wbytes") - written_before;
                if early == 0 {
                    run("sync", &[]);
                }
            });
            if early > 0 {
                eprintln!(
                    "attempt {attempt}: {early} bytes written back before conbiograph \
                     attached; again"
                );
                continue;
            }
            let (want, why) = if blkcg_v2(&run) && memcg {
                (SIZE, "the bio's blkcg names the dirtier")
            } else {
                (0, "no record and no v2 blkcg: documented as not charged")
            };
            assert_eq!(bytes(&run, "write"), want, "{why}: {}", run.summary);
            assert_eq!(
                u(Some(&run.summary), "writeback_bytes"),
                want,
                "{}",
                run.summary
            );
            return;
        }
        panic!("the kernel wrote the pages back before conbiograph attached, three times");
    }
);

// ---- every cgroup at once ----------------------------------------------

/// Ground truth of the per-cgroup tests: a direct writer, a direct reader,
/// a buffered writer whose pages `sync` writes back from the root cgroup,
/// and a direct writer in a second child of the writer's cgroup (processes
/// live in leaves: on pure v2 a cgroup with controllers enabled below it
/// holds none).
struct Fleet {
    writer: TestCgroup,
    reader: TestCgroup,
    dirtier: TestCgroup,
    main: std::path::PathBuf,
    child: std::path::PathBuf,
    dir: BlockDir,
    work: Vec<Workload>,
}

impl Fleet {
    fn new(name: &str) -> Self {
        let writer = TestCgroup::new(&format!("{name}-w"));
        let reader = TestCgroup::new(&format!("{name}-r"));
        let dirtier = TestCgroup::new(&format!("{name}-d"));
        enable_io_below(&writer);
        let main = writer.child("main");
        let child = writer.child("child");
        let dir = BlockDir::new(name);
        let size = SIZE.to_string();
        let half = (SIZE / 2).to_string();
        let (w, r, d, c) = (dir.file("w"), dir.file("r"), dir.file("d"), dir.file("c"));
        run_workload(None, &["--no-wait", "write-direct", &r, &half]);
        let work = vec![
            Workload::spawn(Some(&main), &["write-direct", &w, &size]),
            Workload::spawn(Some(&reader.path), &["read-direct", &r, &half]),
            Workload::spawn(Some(&dirtier.path), &["write-buffered", &d, &size]),
            Workload::spawn(Some(&child), &["write-direct", &c, &half]),
        ];
        Self {
            writer,
            reader,
            dirtier,
            main,
            child,
            dir,
            work,
        }
    }

    fn main_id(&self) -> u64 {
        cgroup_id(&self.main)
    }

    fn child_id(&self) -> u64 {
        cgroup_id(&self.child)
    }

    /// Runs every workload, then `sync` from the root cgroup, with pauses
    /// in between so that drains fall between (and during) them.
    fn run(work: Vec<Workload>) {
        for mut w in work.into_iter() {
            w.go();
            w.finish();
            std::thread::sleep(Duration::from_millis(150));
        }
        run("sync", &[]);
    }
}

root_test!(
    per_cgroup_collector_drains_lose_nothing_and_match_the_cli,
    {
        use conbiograph::{CgroupCollector, CgroupConfig, Owner, Totals};
        use kernel::collector::Aggregator;

        let mut fleet = Fleet::new("cbg-fleet");
        // The CLI on the writer (with its child) at the same time: the same
        // bios must give the same bytes and ops.
        let cli = Tool::start(
            "conbiograph",
            &["-c", &fleet.writer.arg(), "-t", "100", "--output", "json"],
        );
        let mut object = std::mem::MaybeUninit::uninit();
        let mut collector =
            CgroupCollector::start(&mut object, &CgroupConfig::default()).expect("start collector");
        let (done_tx, done_rx) = mpsc::channel();
        let work = std::mem::take(&mut fleet.work);
        let worker = std::thread::spawn(move || {
            Fleet::run(work);
            let _ = done_tx.send(());
        });
        let mut totals = Totals::default();
        let mut drains = 0;
        while done_rx.recv_timeout(Duration::from_millis(50)).is_err() {
            let sample = collector.drain().expect("drain");
            assert_eq!(sample.health.dropped, 0);
            totals.add(&sample.data);
            drains += 1;
        }
        worker.join().expect("workloads");
        totals.add(&collector.drain().expect("drain").data);
        totals.add(&collector.finish().expect("finish").data);
        assert!(collector.drain().expect("spent").data.is_empty());
        assert!(drains >= 8, "{drains} drains");
        let cli = parse(cli.stop());

        let writer = totals.get(Owner::Cgroup(fleet.main_id()));
        let child = totals.get(Owner::Cgroup(fleet.child_id()));
        let reader = totals.get(Owner::Cgroup(fleet.reader.id()));
        let dirtier = totals.get(Owner::Cgroup(fleet.dirtier.id()));
        assert_eq!(writer.bytes, [0, SIZE], "{writer:?}");
        assert_eq!(child.bytes, [0, SIZE / 2], "{child:?}");
        assert_eq!(reader.bytes, [SIZE / 2, 0], "{reader:?}");
        assert_eq!(dirtier.bytes, [0, SIZE], "{dirtier:?}");
        assert_eq!(dirtier.writeback_bytes, SIZE, "{dirtier:?}");
        assert_eq!(writer.writeback_bytes + child.writeback_bytes, 0);
        // The CLI's target is the writer's cgroup: both of its children.
        assert_eq!(bytes(&cli, "write"), SIZE + SIZE / 2, "{}", cli.summary);
        assert_eq!(
            u(Some(&cli.summary["write"]), "ops"),
            writer.ops[1] + child.ops[1],
            "{}",
            cli.summary
        );
    }
);

root_test!(host_wide_runs_end_with_a_row_per_cgroup, {
    let mut fleet = Fleet::new("cbg-host");
    let work = std::mem::take(&mut fleet.work);
    let run = traced(&["-t", "200"], &[], |_| Fleet::run(work));
    let rows = run.summary["cgroups"].as_array().expect("cgroups rows");
    let row = |id: u64| {
        rows.iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no row for cgroup {id}: {rows:?}"))
    };
    let w = row(fleet.main_id());
    assert_eq!(u(Some(w), "write_bytes"), SIZE, "{w}");
    assert_eq!(w["owner"], "cgroup");
    assert_eq!(w["cgroup"], rel(&fleet.main));
    assert_eq!(u(Some(row(fleet.child_id())), "write_bytes"), SIZE / 2);
    assert_eq!(u(Some(row(fleet.reader.id())), "read_bytes"), SIZE / 2);
    let d = row(fleet.dirtier.id());
    assert_eq!(u(Some(d), "write_bytes"), SIZE, "{d}");
    assert_eq!(u(Some(d), "writeback_bytes"), SIZE, "{d}");
    // Every byte of the chart is in some row.
    for (dir, field) in [("read", "read_bytes"), ("write", "write_bytes")] {
        let in_rows: u64 = rows.iter().map(|r| u(Some(r), field)).sum();
        assert_eq!(in_rows, bytes(&run, dir), "{dir}: {}", run.summary);
    }
});

/// `MAJ:MIN` of a block device by name (`/sys/class/block/NAME/dev`).
fn dev_numbers(name: &str) -> String {
    std::fs::read_to_string(format!("/sys/class/block/{name}/dev"))
        .unwrap_or_else(|e| panic!("/sys/class/block/{name}/dev: {e}"))
        .trim()
        .to_string()
}

/// `key` of device `dev`'s line in a cgroup's io.stat (0 when absent).
fn io_stat(cg: &std::path::Path, dev: &str, key: &str) -> u64 {
    let text = std::fs::read_to_string(cg.join("io.stat")).unwrap_or_default();
    text.lines()
        .filter(|l| l.split_whitespace().next() == Some(dev))
        .flat_map(|l| l.split_whitespace().skip(1))
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
        .unwrap_or(0)
}

root_test!(where_the_io_controller_is_on_v2_the_counts_equal_io_stat, {
    use conbiograph::{Blkcg, CgroupCollector, CgroupConfig, Owner, Totals};
    use kernel::collector::Aggregator;

    let mut fleet = Fleet::new("cbg-iostat");
    let mut object = std::mem::MaybeUninit::uninit();
    let mut collector =
        CgroupCollector::start(&mut object, &CgroupConfig::default()).expect("start collector");
    let blkcg = collector.features().blkcg;
    // The probe agrees with the host: io listed in the cgroup2 root's
    // controllers exactly when it says v2.
    let root_controllers =
        std::fs::read_to_string(cgroup2_root().join("cgroup.controllers")).unwrap_or_default();
    let io_on_v2 = root_controllers.split_whitespace().any(|c| c == "io");
    assert_eq!(
        blkcg == Blkcg::V2,
        io_on_v2,
        "{blkcg:?}: {root_controllers}"
    );
    if !io_on_v2 {
        // Hybrid host: blkio lives on a v1 hierarchy, and its v1 counters
        // stay 0 here (field notes); nothing of the kernel's to compare.
        assert_eq!(blkcg, Blkcg::V1, "this hybrid host has blkio on v1");
        return;
    }
    let dev = dev_numbers(&fleet.dir.device);
    let cgroups = [
        fleet.writer.path.clone(),
        fleet.reader.path.clone(),
        fleet.dirtier.path.clone(),
    ];
    const KEYS: [&str; 4] = ["rbytes", "wbytes", "rios", "wios"];
    let stat = |cg: &std::path::Path| KEYS.map(|k| io_stat(cg, &dev, k));
    let before: Vec<[u64; 4]> = cgroups.iter().map(|cg| stat(cg)).collect();
    Fleet::run(std::mem::take(&mut fleet.work));
    let mut totals = Totals::default();
    totals.add(&collector.finish().expect("finish").data);
    let ours = [
        {
            let mut w = totals.get(Owner::Cgroup(fleet.main_id()));
            w.add(&totals.get(Owner::Cgroup(fleet.child_id())));
            w
        },
        totals.get(Owner::Cgroup(fleet.reader.id())),
        totals.get(Owner::Cgroup(fleet.dirtier.id())),
    ];
    for ((cg, was), ours) in cgroups.iter().zip(&before).zip(&ours) {
        // io.stat is hierarchical: the writer's line holds both children.
        let now = stat(cg);
        let kernel: Vec<u64> = now.iter().zip(was).map(|(n, w)| n - w).collect();
        // The same bytes. io.stat counts a bio again for each part the
        // block layer splits it into (its bytes once); conbiograph
        // counts bios as submitted: never more than the kernel.
        assert_eq!(
            ours.bytes,
            [kernel[0], kernel[1]],
            "{}: {ours:?}",
            cg.display()
        );
        assert!(
            ours.ops[0] <= kernel[2] && ours.ops[1] <= kernel[3],
            "{} {KEYS:?} {kernel:?}: ours {ours:?}",
            cg.display()
        );
        assert_eq!(ours.ops[0] > 0, kernel[2] > 0, "{kernel:?} {ours:?}");
        assert_eq!(ours.ops[1] > 0, kernel[3] > 0, "{kernel:?} {ours:?}");
    }
    assert_eq!(ours[2].bytes, [0, SIZE]);
});

root_test!(a_full_cgroup_table_keeps_the_bytes_under_overflow, {
    use conbiograph::{CgroupCollector, CgroupConfig, IoCounts, Owner, Totals};
    use kernel::collector::Aggregator;

    let parent = TestCgroup::new("cbg-full");
    enable_io_below(&parent);
    let dir = BlockDir::new("full");
    let quarter = (SIZE / 4).to_string();
    let children: Vec<std::path::PathBuf> =
        (0..3).map(|i| parent.child(&format!("c{i}"))).collect();
    let work: Vec<Workload> = children
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Workload::spawn(
                Some(c),
                &["write-direct", &dir.file(&format!("f{i}")), &quarter],
            )
        })
        .collect();
    let target = identity::target::Target::cgroup(
        identity::cgroup::Cgroup::from_dir(
            &identity::cgroup::Hierarchy::detect().unwrap(),
            &parent.path,
        )
        .expect("parent cgroup"),
        false,
    );
    let cfg = CgroupConfig {
        target,
        max_cgroups: 1,
        ..CgroupConfig::default()
    };
    let mut object = std::mem::MaybeUninit::uninit();
    let mut collector = CgroupCollector::start(&mut object, &cfg).expect("start collector");
    for w in work {
        w.finish();
    }
    let sample = collector.finish().expect("finish");
    let mut totals = Totals::default();
    totals.add(&sample.data);
    // One child got the only row, the others' I/O is under the overflow
    // owner: nothing lost, and the sample says how many bios lost their
    // owner.
    let rows: Vec<(Owner, IoCounts)> = totals.iter().map(|(o, c)| (o, *c)).collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(matches!(rows[0].0, Owner::Cgroup(_)), "{rows:?}");
    assert_eq!(rows[1].0, Owner::Overflow, "{rows:?}");
    // No reads: the scratch file system's metadata is cached.
    assert_eq!(rows[0].1.bytes, [0, SIZE / 4], "{rows:?}");
    assert_eq!(rows[1].1.bytes, [0, SIZE / 2], "{rows:?}");
    assert_eq!(totals.all().bytes[1], 3 * SIZE / 4);
    assert_eq!(
        sample.health.dropped, rows[1].1.ops[1],
        "{:?}",
        sample.health
    );
    assert!(sample.health.dropped > 0);
});
