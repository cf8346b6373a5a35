//! Load and scale: several instances at once, a hundred thousand
//! short-lived threads, thousands of cgroups making distinct calls, kernel
//! map sizing by value (`--max-entries` reaches each collector; the drop
//! warning names the size its hashes got), and a soak at the maximum
//! syscall rate: exact counts, or drops that are reported and never
//! silent, with flat memory. CI runs a short soak; `bench/soak` runs the
//! full 10 minutes (CONTRACE_SOAK_SECONDS=600).

use std::mem::MaybeUninit;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use contrace_tests::*;
use identity::target::Target;
use kernel::collector::Aggregator;
use kernel::mapsize::{drop_advice, MapSize, Sizing, MIN_ENTRIES};

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

root_test!(alone a_thousand_cgroups_are_counted_or_reported_as_dropped, {
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

root_test!(
    /// 1 200 cgroups each making 28 distinct syscalls (plus the
    /// workload's own ~10 after joining): exact counts for every (cgroup,
    /// syscall), nothing dropped, in constat (every cgroup) and syscount
    /// --by-cgroup (counts, and latency histograms with --max-entries), with
    /// the cgroups there before the tools start (sized from the host) and
    /// created after (the minimum size).
    alone a_busy_node_loses_nothing_host_wide,
    {
        for cgroups_first in [true, false] {
            busy_node_round(cgroups_first);
        }
    }
);

fn busy_node_round(cgroups_first: bool) {
    const CGROUPS: usize = 1200;
    const SYSCALLS: usize = 28;
    const CALLS: u64 = 2;
    let parent = TestCgroup::new("busy");
    let make = || -> Vec<PathBuf> {
        (0..CGROUPS)
            .map(|i| parent.child(&format!("c{i}")))
            .collect()
    };
    let mut children = if cgroups_first { make() } else { Vec::new() };
    let runs: [(&str, &[&str]); 3] = [
        ("constat", &["--by-syscall", "--output", "json"]),
        (
            "syscount",
            &["--by-cgroup", "-T", "1000000", "--output", "json"],
        ),
        (
            "syscount",
            &[
                "--by-cgroup",
                "--histogram",
                "--max-entries",
                "98304",
                "-T",
                "1000000",
                "--output",
                "json",
            ],
        ),
    ];
    let tools: Vec<Tool> = runs
        .iter()
        .map(|(tool, args)| Tool::start(tool, args))
        .collect();
    if !cgroups_first {
        children = make();
    }
    let n = SYSCALLS.to_string();
    let k = CALLS.to_string();
    for child in &children {
        run_workload(Some(child), &["--no-wait", "distinct", &n, &k]);
    }
    let prefix = format!("/{}/c", parent.path.file_name().unwrap().to_string_lossy());
    let finished: Vec<Finished> = tools.into_iter().map(Tool::stop).collect();
    let drops: Vec<String> = finished
        .iter()
        .map(|d| {
            d.json()
                .last()
                .map(|r| r["dropped"].to_string())
                .unwrap_or_default()
        })
        .collect();
    for ((tool, args), done) in runs.iter().zip(finished) {
        let what = format!("{tool} {args:?} (cgroups first: {cgroups_first}; drops {drops:?})");
        assert_eq!(done.code, Some(0), "{what}: {}", done.stderr);
        let report = done.json().into_iter().last().expect("report");
        assert_eq!(report["dropped"], 0, "{what}: {}", done.stderr);
        assert!(!done.stderr.contains("dropped"), "{what}: {}", done.stderr);
        let mut cells = std::collections::HashMap::new();
        for r in report["rows"].as_array().unwrap() {
            let Some(cg) = r["cgroup"].as_str().filter(|c| c.starts_with(&prefix)) else {
                continue;
            };
            let Some(name) = r["syscall"].as_str() else {
                continue;
            };
            if DISTINCT_SYSCALL_NAMES[..SYSCALLS].contains(&name) {
                cells.insert(
                    (cg.to_string(), name.to_string()),
                    r["count"].as_u64().unwrap(),
                );
                if args.contains(&"--histogram") {
                    let in_hist: u64 = r["histogram"]["buckets"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|b| b["count"].as_u64().unwrap_or(0))
                        .sum();
                    assert_eq!(in_hist, CALLS, "{what}: histogram of {cg} {name}");
                }
            }
        }
        assert_eq!(cells.len(), CGROUPS * SYSCALLS, "{what}");
        assert!(cells.values().all(|&c| c == CALLS), "{what}");
    }
}

/// Child cgroups each making [`KEYED_SYSCALLS`] distinct calls: with the
/// workload's own calls, ~1 500 (cgroup, syscall) keys in one period.
const KEYED_CGROUPS: usize = 40;

const KEYED_SYSCALLS: &str = "28";

/// Forked children, one key each with -P.
const FORKS: usize = 1200;

/// The size asked for: fewer entries than the keys above.
const SMALL: u32 = 1024;

root_test!(drops_are_warned_about_with_the_size_the_maps_got, {
    let parent = TestCgroup::new("mapsize");
    let small = SMALL.to_string();
    let runs: [(&str, Vec<&str>); 3] = [
        // constat's own collector, every cgroup of the host.
        ("constat", vec!["--max-entries", &small]),
        // The engine in syscount's -P mode, run by constat (keyed by process).
        (
            "constat",
            vec![
                "-P",
                "-c",
                parent.path.to_str().unwrap(),
                "--max-entries",
                &small,
            ],
        ),
        // syscount's own (keyed by cgroup and syscall).
        (
            "syscount",
            vec![
                "--by-cgroup",
                "-c",
                parent.path.to_str().unwrap(),
                "--max-entries",
                &small,
            ],
        ),
    ];
    let tools: Vec<Tool> = runs
        .iter()
        .map(|(tool, args)| {
            let mut all = args.clone();
            all.extend(["--output", "json"]);
            Tool::start(tool, &all)
        })
        .collect();
    for i in 0..KEYED_CGROUPS {
        let child = parent.child(&format!("c{i}"));
        run_workload(
            Some(&child),
            &["--no-wait", "distinct", KEYED_SYSCALLS, "1"],
        );
    }
    let mut args = vec!["--no-wait"];
    // Each child makes one call of its own: one key each with -P (a
    // fork's return in the child is no call).
    args.extend(std::iter::repeat_n("fork-call", FORKS));
    run_workload(Some(&parent.path), &args);
    for ((tool, args), running) in runs.iter().zip(tools) {
        let done = running.stop();
        let what = format!("{tool} {args:?}");
        assert_eq!(done.code, Some(0), "{what}: {}", done.stderr);
        let report = done.json().into_iter().last().expect("a report");
        let dropped = report["dropped"].as_u64().expect("dropped");
        let rows = report["rows"].as_array().map_or(0, Vec::len);
        assert!(
            dropped > 0,
            "{what}: more keys than {SMALL} entries, nothing dropped ({rows} rows)"
        );
        let warning = format!(
            "warning: {dropped} updates dropped by the kernel side: the kernel hashes held \
             {SMALL} entries: rerun with a larger --max-entries (e.g. {}) or a shorter -i",
            SMALL * 4
        );
        assert!(done.stderr.contains(&warning), "{what}: {}", done.stderr);
    }
});

/// Sized from this host, as a tool without --max-entries sizes its maps.
fn host_sizing() -> Sizing {
    Sizing {
        max_entries: None,
        host: kernel::mapsize::HostLoad::measure(&contrace_tests::cgroup2_root()),
    }
}

root_test!(two_collectors_in_one_process_keep_their_own_sizes, {
    let host = Target::host();
    let filters = engine::Filters::all(&host);
    let by_cgroup = engine::Mode {
        by_cgroup: true,
        ..engine::Mode::default()
    };
    let small = Sizing {
        max_entries: Some(SMALL),
        ..Sizing::default()
    };
    let mut o1 = MaybeUninit::uninit();
    let mut sized = engine::Collector::start(&mut o1, &filters, by_cgroup, small)
        .expect("syscount --by-cgroup");
    // Started after the small one, sized from the host.
    let mut o2 = MaybeUninit::uninit();
    let mut from_host =
        constat::Collector::start(&mut o2, &host, host_sizing()).expect("constat host-wide");
    // Per syscall only: no keyed hash, whatever the sizing.
    let mut o3 = MaybeUninit::uninit();
    let mut plain = engine::Collector::start(&mut o3, &filters, engine::Mode::default(), small)
        .expect("syscount");

    let held = Some(MapSize {
        entries: SMALL,
        preallocated: true,
    });
    assert_eq!(sized.map_size(), held);
    let host_size = from_host.map_size().expect("constat host-wide keys a hash");
    assert!(host_size.entries >= MIN_ENTRIES, "{host_size:?}");
    assert_eq!(plain.map_size(), None);

    // Each collector keeps its own sizes through its drains (the one copy
    // the sink reads), and the advice follows.
    sized.drain().expect("drain");
    assert!(drop_advice(sized.map_size()).contains(&format!("held {SMALL} entries")));
    from_host.drain().expect("drain");
    assert_eq!(from_host.map_size(), Some(host_size));
    plain.drain().expect("drain");
    assert!(drop_advice(plain.map_size()).contains("per-task storage"));
    sized.finish().expect("finish");
    assert_eq!(sized.map_size(), held);
});

fn soak_seconds() -> u64 {
    std::env::var("CONTRACE_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12)
}

root_test!(soak_exact_counts_and_flat_rss, {
    let seconds = soak_seconds();
    let cg = TestCgroup::new("soak");
    let tools: Vec<(&str, Tool)> = ["constat", "syscount"]
        .into_iter()
        .map(|name| {
            (
                name,
                Tool::start(name, &["-c", &cg.arg(), "-i", "1", "--output", "json"]),
            )
        })
        .collect();
    let per_run = 200_000u64;
    let mut runs = 0u64;
    let mut samples: Vec<Vec<u64>> = vec![Vec::new(); tools.len()];
    let start = Instant::now();
    let mut next_sample = start + Duration::from_secs(2);
    while start.elapsed() < Duration::from_secs(seconds) {
        run_workload(
            Some(&cg.path),
            &["--no-wait", "getppid", &per_run.to_string()],
        );
        runs += 1;
        if Instant::now() >= next_sample {
            for (i, (_, t)) in tools.iter().enumerate() {
                samples[i].push(rss_kib(t.pid()));
            }
            next_sample += Duration::from_secs(1);
        }
    }
    for (i, (name, t)) in tools.into_iter().enumerate() {
        let done = t.stop();
        let total: u64 = done
            .json()
            .iter()
            .map(|r| u(row(r, "getppid"), "count"))
            .sum();
        assert_eq!(total, runs * per_run, "{name}: summed interval counts");
        let s = &samples[i];
        if s.len() >= 2 {
            let (min, max) = (s.iter().min().unwrap(), s.iter().max().unwrap());
            assert!(max - min < 4 * 1024, "{name}: RSS not flat: {s:?} KiB");
        }
    }
});
