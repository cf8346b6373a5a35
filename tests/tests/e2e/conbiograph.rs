//! conbiograph end to end: real BPF program, real cgroups, real block I/O.
//!
//! The I/O goes to a file system of the test's own on a loop device
//! (`contrace_tests::block::BlockDir`), the same on every machine.

use std::time::Duration;

use contrace_tests::block::{run, BlockDir};
use contrace_tests::*;
use serde_json::Value;

const MIB: u64 = 1 << 20;
const SIZE: u64 = 32 * MIB;

/// Everything `--output json` printed: the period rows and the summary.
struct JsonRun {
    periods: Vec<Value>,
    summary: Value,
}

fn cbg_run(args: &[&str], work: impl FnOnce(&Tool)) -> JsonRun {
    json_of(json_finish("conbiograph", args, work))
}

fn json_of(done: Finished) -> JsonRun {
    let mut lines = json_done("conbiograph", done);
    let summary = lines.pop().expect("summary line");
    assert_eq!(summary["type"], "summary", "{lines:?}");
    for p in &lines {
        assert_eq!(p["type"], "period", "{p}");
    }
    JsonRun {
        periods: lines,
        summary,
    }
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
fn assert_periods_add_up(run: &JsonRun) {
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

root_test!(direct_write_counts_exactly_its_bytes, {
    let cg = TestCgroup::new("cbg-dwrite");
    let dir = BlockDir::new("dwrite");
    let file = dir.file("data");
    let size = SIZE.to_string();
    let w = Workload::spawn(Some(&cg.path), &["write-direct", &file, &size]);
    let run = cbg_run(&["-t", "200", "-c", &cg.arg()], |_| {
        w.finish();
    });
    let s = &run.summary;
    assert_eq!(u(Some(&s["write"]), "bytes"), SIZE, "{s}");
    assert!(u(Some(&s["write"]), "ops") >= SIZE / (4 * MIB), "{s}");
    assert_eq!(u(Some(s), "writeback_bytes"), 0, "{s}");
    assert!(
        s["write"]["mean_lat_ns"].as_u64().is_some_and(|ns| ns > 0),
        "latency: {s}"
    );
    // The target object every contrace tool prints.
    assert_eq!(s["target"]["id"], cg.id());
    assert_eq!(s["target"]["path"], cg.arg());
    let rel = cg.path.strip_prefix(cgroup2_root()).unwrap();
    assert_eq!(s["target"]["cgroup"], format!("/{}", rel.display()));
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
    let size = SIZE.to_string();
    // Written before the tracer starts, by a process outside the target.
    run_workload(None, &["--no-wait", "write-direct", &file, &size]);
    let w = Workload::spawn(Some(&cg.path), &["read-direct", &file, &size]);
    let run = cbg_run(&["-t", "200", "-c", &cg.arg()], |_| {
        w.finish();
    });
    let s = &run.summary;
    assert_eq!(u(Some(&s["read"]), "bytes"), SIZE, "{s}");
    assert_eq!(u(Some(&s["write"]), "bytes"), 0, "{s}");
    assert_periods_add_up(&run);
});

root_test!(buffered_write_with_its_own_fsync_is_charged, {
    let cg = TestCgroup::new("cbg-fsync");
    let dir = BlockDir::new("fsync");
    let file = dir.file("data");
    let size = SIZE.to_string();
    let w = Workload::spawn(
        Some(&cg.path),
        &["write-buffered", &file, &size, "fsync", &file],
    );
    let run = cbg_run(&["-t", "200", "-c", &cg.arg(), "--write"], |_| {
        w.finish();
    });
    // The data; the journal, not the fsync'ing task, writes the inode.
    assert_eq!(
        u(Some(&run.summary["write"]), "bytes"),
        SIZE,
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
        let size = SIZE.to_string();
        let w = Workload::spawn(Some(&cg.path), &["write-buffered", &file, &size]);
        let run = cbg_run(&["-t", "200", "-c", &cg.arg()], |_| {
            w.finish();
            // The workload has exited; `sync` runs here, outside the cgroup,
            // and kernel flusher threads write the pages.
            run("sync", &[]);
        });
        let s = &run.summary;
        assert_eq!(u(Some(&s["write"]), "bytes"), SIZE, "{s}");
        assert_eq!(
            u(Some(s), "writeback_bytes"),
            SIZE,
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
    let half = (SIZE / 2).to_string();
    let size = SIZE.to_string();
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
    let run = cbg_run(&["-t", "200", "-c", &cg.arg()], |_| {
        let mut outsider = outsider;
        outsider.go();
        own.finish();
        outsider.finish();
        run("sync", &[]);
    });
    let s = &run.summary;
    assert_eq!(u(Some(&s["write"]), "bytes"), SIZE / 2, "{s}");
    // The outsider read 32 MiB; the target nothing (the scratch file
    // system's metadata is cached).
    assert_eq!(u(Some(&s["read"]), "bytes"), 0, "{s}");
    assert_eq!(u(Some(s), "writeback_bytes"), 0, "{s}");
});

root_test!(chart_renders_with_labels_and_summary, {
    let cg = TestCgroup::new("cbg-chart");
    let dir = BlockDir::new("chart");
    let file = dir.file("data");
    let size = SIZE.to_string();
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
    let size = SIZE.to_string();
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
    assert_eq!(total, SIZE, "{}", done.stdout);
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
        let run = cbg_run(&["-c", &cg.arg(), "--device", other], |_| {
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

root_test!(bad_input_exits_2_without_attaching, {
    for args in [
        vec!["-t", "0"],
        vec!["-t", "5"],
        vec!["-t", "abc"],
        vec!["--count", "--avg"],
        vec!["--read", "--write"],
        vec!["--live", "--output", "json"],
        vec!["--device", "no-such-disk-zz"],
        vec!["-c", "/sys/fs/cgroup/no-such-cgroup-zz"],
        vec!["--output", "xml"],
    ] {
        let done = run_tool("conbiograph", &args);
        assert_eq!(done.code, Some(2), "{args:?}: {}", done.stderr);
        assert!(
            !done.stderr.contains("Ctrl-C"),
            "{args:?} attached: {}",
            done.stderr
        );
        assert!(done.stdout.is_empty(), "{args:?}: {}", done.stdout);
    }
});

/// Periods are consecutive, one every `period_ms` from 0, and the summary
/// counts them all.
fn assert_contiguous(run: &JsonRun, period_ms: u64) {
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
    let run = json_of(done);
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
        let run = cbg_run(&["-t", "10", "-c", &cg.arg()], |tool| {
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

/// CLOCK_MONOTONIC in ns: the clock of bpf_ktime_get_ns.
fn monotonic_ns() -> u64 {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).expect("clock");
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64
}

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
    let run = cbg_run(&["-t", "100", "-c", &cg.arg()], |tool| {
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
