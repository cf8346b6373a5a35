//! contrace-exporter end to end, on its own: the real BPF programs,
//! ground-truth workloads in test cgroups and its /metrics scraped
//! directly: the metric contract, counters that never go down, churn and
//! the grace period, a thousand cgroups with flat memory, slow clients,
//! bad addresses, latency mode and SIGTERM. (With a real Prometheus:
//! `prometheus`; with containers: `containers`.)

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use contrace_tests::bpf::{maps_held_by, program_loaded, programs_linked_by, MAP_TASK_STORAGE};
use contrace_tests::exporter::{parse, value, Exporter, Fence, Series, WAIT};
use contrace_tests::*;

/// The kernel memory the exporter's maps may take: the per-cgroup slot
/// arrays within 64 MiB over all CPUs (docs/contrace-exporter.md), and a
/// margin of 16 MiB for the rest (hashes filled on demand, the event ring,
/// block I/O).
const MAP_BUDGET: u64 = 80 << 20;

root_test!(metric_names_and_labels_follow_the_contract, {
    let cg = TestCgroup::new("exp-contract");
    let exporter = Exporter::start(&[]);
    run_workload(Some(&cg.path), &["openfail", "2", "unshare", "0x04000000"]);
    // Every contract metric that this run must produce is served, once the
    // exporter has drained the run (in the background: polled).
    let rc = cg.rel();
    let required = [
        "contrace_syscalls_total",
        "contrace_syscall_errors_total",
        "contrace_syscall_errno_total",
        "contrace_namespace_changes_total",
        "contrace_exporter_series",
        "contrace_exporter_dropped_total",
        "contrace_exporter_lost_total",
        "contrace_exporter_cgroups",
    ];
    let missing = |served: &[Series]| -> Vec<&str> {
        required
            .iter()
            .copied()
            .filter(|name| {
                !served.iter().any(|s| {
                    s.name == *name && (s.labels.is_empty() || s.labels.get("cgroup") == Some(&rc))
                })
            })
            .collect()
    };
    let deadline = Instant::now() + scaled(WAIT);
    let served = loop {
        let served = exporter.scrape();
        let left = missing(&served);
        if left.is_empty() {
            break served;
        }
        assert!(Instant::now() < deadline, "{left:?} not served for {rc}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let contract = std::fs::read_to_string(repo_path("deploy/prometheus/contract-sample.prom"))
        .expect("contract sample");
    let contract = parse(&contract);
    // Every served series' name and label names are in the contract.
    for s in &served {
        let spec = contract
            .iter()
            .find(|c| c.name == s.name)
            .unwrap_or_else(|| panic!("{} is not in the contract", s.name));
        let want: Vec<_> = spec.labels.keys().collect();
        let got: Vec<_> = s.labels.keys().collect();
        assert_eq!(got, want, "labels of {}", s.name);
    }
    // The series gauge counts the per-cgroup series.
    let per_cgroup = served
        .iter()
        .filter(|s| s.labels.contains_key("cgroup"))
        .count();
    assert_eq!(
        value(&served, "contrace_exporter_series", "", &[]).or_else(|| served
            .iter()
            .find(|s| s.name == "contrace_exporter_series")
            .map(|s| s.value)),
        Some(per_cgroup as f64)
    );
});

/// Scrapes of one cgroup's series: none may ever fall.
#[derive(Default)]
struct Monotonic {
    last: BTreeMap<String, f64>,
    scrapes: u32,
    rising: u32,
}

impl Monotonic {
    /// One scrape, checked against the ones before; getppid's count.
    fn scrape(&mut self, exporter: &Exporter, cgroup: &str) -> Option<f64> {
        let series = exporter.scrape();
        self.scrapes += 1;
        for s in series
            .iter()
            .filter(|s| s.labels.get("cgroup").map(String::as_str) == Some(cgroup))
        {
            let key = format!("{}{:?}", s.name, s.labels);
            if let Some(prev) = self.last.insert(key.clone(), s.value) {
                assert!(s.value >= prev, "{key} went from {prev} to {}", s.value);
                if s.value > prev {
                    self.rising += 1;
                }
            }
        }
        value(
            &series,
            "contrace_syscalls_total",
            cgroup,
            &[("syscall", "getppid")],
        )
    }
}

root_test!(counters_are_monotonic_and_exact_across_many_scrapes, {
    let cg = TestCgroup::new("exp-mono");
    let exporter = Exporter::start(&["--drain-interval", "0.05"]);
    let rc = cg.rel();
    let mut seen = Monotonic::default();
    // 20 bursts of 5000 getppid, scraped while they run and until each is
    // served exactly: the counter is seen at every step, whatever the
    // machine's load.
    for burst in 1..=20u32 {
        let mut work = Workload::spawn(Some(&cg.path), &["getppid", "5000"]);
        work.go();
        let want = f64::from(burst * 5000);
        let deadline = Instant::now() + scaled(WAIT);
        loop {
            let getppid = seen.scrape(&exporter, &rc);
            if getppid == Some(want) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "burst {burst}: getppid = {getppid:?}, {want} expected"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        work.finish();
    }
    // More scrapes of the settled counters: still exact, never falling.
    while seen.scrapes < 50 {
        assert_eq!(seen.scrape(&exporter, &rc), Some(100_000.0));
    }
    assert!(
        seen.rising >= 19,
        "the counter was seen rising only {} times in 20 bursts",
        seen.rising
    );
    eprintln!(
        "{} scrapes, getppid seen rising {} times, never falling",
        seen.scrapes, seen.rising
    );
});

root_test!(churn_and_grace_period, {
    let exporter = Exporter::start(&["--grace", "2"]);
    let stable = TestCgroup::new("exp-stable");
    let rs = stable.rel();
    let mut gone = Vec::new();
    let mut expected = 0u64;
    let mut fence = Fence::new();
    // 30 short-lived cgroups, one after another, each doing 7 getppid,
    // while the stable one keeps counting and /metrics is scraped.
    for i in 0..30 {
        let cg = TestCgroup::new("exp-churn");
        run_workload(Some(&cg.path), &["getppid", "7"]);
        run_workload(Some(&stable.path), &["getppid", "11"]);
        expected += 11;
        let series = fence.scrape(&exporter);
        let rc = cg.rel();
        assert_eq!(
            value(
                &series,
                "contrace_syscalls_total",
                &rc,
                &[("syscall", "getppid")]
            ),
            Some(7.0),
            "churn cgroup {i}"
        );
        assert_eq!(
            value(
                &series,
                "contrace_syscalls_total",
                &rs,
                &[("syscall", "getppid")]
            ),
            Some(expected as f64)
        );
        gone.push(rc);
        drop(cg);
    }
    // Served within the grace period, gone after it (plus a sweep).
    let deadline = Instant::now() + scaled(WAIT);
    loop {
        let series = exporter.scrape();
        let left: Vec<_> = gone
            .iter()
            .filter(|rc| series.iter().any(|s| s.labels.get("cgroup") == Some(rc)))
            .collect();
        if left.is_empty() {
            assert_eq!(
                value(
                    &series,
                    "contrace_syscalls_total",
                    &rs,
                    &[("syscall", "getppid")]
                ),
                Some(expected as f64),
                "the live cgroup stays"
            );
            break;
        }
        assert!(Instant::now() < deadline, "still served: {left:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
});

root_test!(alone a_thousand_cgroups_exact_with_flat_memory, {
    const N: usize = 1000;
    let exporter = Exporter::start(&[]);
    let parent = TestCgroup::new("exp-1000");
    let mut expected = BTreeMap::new();
    for i in 0..N {
        let dir = parent.child(&format!("c{i:04}"));
        let calls = (i % 13 + 1).to_string();
        run_workload(Some(&dir), &["--no-wait", "getppid", &calls]);
        let rc = rel(&dir);
        expected.insert(rc, (i % 13 + 1) as f64);
    }
    let t0 = Instant::now();
    let (status, body) = exporter.get("/metrics");
    let took = t0.elapsed();
    assert_eq!(status, 200);
    let series = parse(&body);
    for (rc, want) in &expected {
        assert_eq!(
            value(
                &series,
                "contrace_syscalls_total",
                rc,
                &[("syscall", "getppid")]
            ),
            Some(*want),
            "{rc}"
        );
    }
    let cgroups = series
        .iter()
        .find(|s| s.name == "contrace_exporter_cgroups")
        .unwrap()
        .value;
    let budget = series
        .iter()
        .find(|s| s.name == "contrace_exporter_series")
        .unwrap()
        .value;
    assert!(cgroups >= N as f64, "{cgroups}");
    eprintln!(
        "{N} cgroups: {cgroups} exported, {budget} series, {} bytes, scrape {took:?}",
        body.len()
    );

    // Memory: RSS after warm-up scrapes, then after many more.
    for _ in 0..20 {
        exporter.get("/metrics");
    }
    let before = rss_kib(exporter.tool.pid());
    for _ in 0..200 {
        exporter.get("/metrics");
    }
    let after = rss_kib(exporter.tool.pid());
    eprintln!("RSS over 200 scrapes of {N} cgroups: {before} -> {after} KiB");
    assert!(
        after < before + 4 * 1024,
        "RSS grew {before} -> {after} KiB"
    );
    assert!(after < 64 * 1024, "RSS {after} KiB with {N} cgroups");
    let maps: u64 = maps_held_by(exporter.tool.pid()).iter().map(|m| m.memlock).sum();
    eprintln!("kernel map memory with {N} cgroups: {} KiB", maps / 1024);
    assert!(maps < MAP_BUDGET, "{maps} bytes of maps");
});

// Every way the exporter finds a cgroup's counters, on both kernel paths
// (this kernel's; 5.10's, forced: no task storage, no BTF task pointer):
// count-only, the cgroup each CPU counted last, then the task's own cache
// in task storage where the kernel has it; with the entry hook (--denied),
// the thread's record (task storage or a thread-id hash). Each run checks
// whether task storage was created, as this kernel and path have it. The
// cgroups exist before the exporter starts, so each gets a counter array
// (indices are sized from the host's cgroups). One process pinned to one
// CPU moves through them all: every cache goes stale at every move; every
// cgroup's calls and failures are still its own.
root_test!(alone every_kernel_path_counts_each_cgroup_exactly, {
    const N: usize = 300;
    let has_storage = kernel::features::features().task_storage;
    // Count-only and with the entry hook, each on both kernel paths.
    let modes: [&[&str]; 2] = [&[], &["--denied"]];
    for (extra, env) in modes.into_iter().flat_map(|m| KERNEL_PATHS.map(|env| (m, env))) {
        let task_storage = has_storage && env.is_empty();
        let parent = TestCgroup::new("exp-paths");
        let dirs: Vec<_> = (0..N).map(|i| parent.child(&format!("c{i:03}"))).collect();
        let mut flags = vec!["--no-block", "--syscalls", "getppid,openat"];
        flags.extend_from_slice(extra);
        let exporter = Exporter::start_env(&flags, env);
        let maps = maps_held_by(exporter.tool.pid());
        let storage = maps.iter().any(|m| m.map_type == MAP_TASK_STORAGE);
        assert_eq!(storage, task_storage, "task storage: {extra:?} {env:?} {maps:?}");
        let cpu = first_allowed_cpu();
        let mut actions = vec!["pin".to_string(), cpu.to_string()];
        let mut expected = Vec::new();
        for (i, dir) in dirs.iter().enumerate() {
            let (calls, fails) = (i % 7 + 1, i % 3);
            let join = ["join".to_string(), dir.display().to_string()];
            let work = ["getppid", &calls.to_string(), "openfail", &fails.to_string()]
                .map(String::from);
            actions.extend(join.into_iter().chain(work));
            let rc = rel(dir);
            expected.push((rc, calls as f64, fails as f64));
        }
        let mut args = vec!["--no-wait"];
        args.extend(actions.iter().map(String::as_str));
        run_workload(Some(&dirs[0]), &args);
        let (last, n, _) = expected.last().cloned().unwrap();
        let series = exporter.scrape_until("the last cgroup's calls", |series| {
            value(series, "contrace_syscalls_total", &last, &[("syscall", "getppid")]) == Some(n)
        });
        for (rc, calls, fails) in &expected {
            let got = |name, syscall| value(&series, name, rc, &[("syscall", syscall)]);
            assert_eq!(
                got("contrace_syscalls_total", "getppid"),
                Some(*calls),
                "{rc} {extra:?} {env:?}"
            );
            let failed = got("contrace_syscall_errors_total", "openat").unwrap_or(0.0);
            assert_eq!(failed, *fails, "{rc} openat failures {extra:?} {env:?}");
        }
    }
});

/// The lowest CPU this process may run on.
fn first_allowed_cpu() -> usize {
    let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).expect("affinity");
    (0..nix::sched::CpuSet::count())
        .find(|&c| set.is_set(c).unwrap_or(false))
        .expect("an allowed CPU")
}

root_test!(slow_and_hung_clients_block_neither_scrapes_nor_drains, {
    let cg = TestCgroup::new("exp-slow");
    let exporter = Exporter::start(&[]);
    let rc = cg.rel();
    // Clients that connect and send nothing, half a request, or a request
    // whose answer they never read.
    let mut hung = Vec::new();
    for i in 0..30 {
        let mut s = TcpStream::connect(exporter.addr).expect("connect");
        match i % 3 {
            0 => {}
            1 => s.write_all(b"GET /metr").unwrap(),
            _ => s
                .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap(),
        }
        hung.push(s);
    }
    run_workload(Some(&cg.path), &["getppid", "4321"]);
    let t0 = Instant::now();
    let series = exporter.scrape();
    assert!(
        t0.elapsed() < scaled(Duration::from_secs(3)),
        "{:?}",
        t0.elapsed()
    );
    // And drains go on: the calls are served (a scrape waits for a drain
    // only so long, so on a loaded machine a later one may be needed).
    let counted = |series: &[Series]| {
        value(
            series,
            "contrace_syscalls_total",
            &rc,
            &[("syscall", "getppid")],
        ) == Some(4321.0)
    };
    if !counted(&series) {
        exporter.scrape_until("the 4321 getppid", counted);
    }
    let (status, _) = exporter.get("/healthz");
    assert_eq!(status, 200);
    drop(hung);
});

root_test!(bad_listen_addresses_exit_with_their_own_status, {
    let exe = bin("contrace-exporter");
    let run = |args: &[&str]| {
        let out = Command::new(&exe).args(args).output().expect("run");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Not an address: usage error, one line.
    for bad in ["localhost:9808", "9808", "1.2.3.4:99999"] {
        let (code, err) = run(&["--listen", bad]);
        assert_eq!(code, Some(2), "{bad}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(bad) && err.contains("IP:PORT"), "{err}");
    }
    // A port in use: exit 3, naming the address.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, err) = run(&["--listen", &addr]);
    assert_eq!(code, Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&addr) && err.contains("in use"), "{err}");
    // Not an address of this host (TEST-NET-1: binding sends nothing).
    let (code, err) = run(&["--listen", "192.0.2.1:9808"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("not an address of this host"), "{err}");
});

root_test!(sigterm_detaches_every_program_and_exits_0, {
    let exporter = Exporter::start(&["--latency"]);
    let (status, _) = exporter.get("/healthz");
    assert_eq!(status, 200);
    let progs = programs_linked_by(exporter.tool.pid());
    // The syscall engine's sys_enter + sys_exit (--latency; its sys_exit
    // also makes the namespace changes); conbiograph's bio queue and
    // dirtier hooks; the cgroup_mkdir hook that names cgroups when made.
    assert_eq!(progs.len(), 5, "{progs:?}");
    assert!(progs.iter().all(|&id| program_loaded(id)));
    let done = exporter.tool.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(done.stderr.contains("programs detached"), "{}", done.stderr);
    let deadline = Instant::now() + Duration::from_secs(30);
    while progs.iter().any(|&id| program_loaded(id)) {
        assert!(
            Instant::now() < deadline,
            "programs still loaded: {progs:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
});

root_test!(latency_mode_serves_syscall_seconds, {
    let cg = TestCgroup::new("exp-latency");
    let exporter = Exporter::start(&["--latency", "--no-namespaces"]);
    let ran = timed(|| {
        run_workload(Some(&cg.path), &["nanosleep", "5", "20", "getppid", "100"]);
    });
    let rc = cg.rel();
    let series = exporter.scrape_until("the 100 getppid after the nanosleeps", |series| {
        value(
            series,
            "contrace_syscalls_total",
            &rc,
            &[("syscall", "getppid")],
        ) == Some(100.0)
    });
    let secs = value(
        &series,
        "contrace_syscall_seconds_total",
        &rc,
        &[("syscall", "nanosleep")],
    )
    .expect("nanosleep seconds");
    assert!(
        0.1 <= secs && secs <= ran.as_secs_f64(),
        "5 x 20 ms took {secs} s in a {ran:?} run"
    );
    assert_eq!(
        value(
            &series,
            "contrace_syscalls_total",
            &rc,
            &[("syscall", "getppid")]
        ),
        Some(100.0)
    );
    assert!(
        !series
            .iter()
            .any(|s| s.name == "contrace_namespace_changes_total"),
        "--no-namespaces still serves namespace changes"
    );
});

root_test!(healthz_and_unknown_paths, {
    let exporter = Exporter::start(&[]);
    assert_eq!(exporter.get("/healthz"), (200, "ok\n".to_string()));
    assert_eq!(exporter.get("/nope").0, 404);
    // A raw request for OpenMetrics gets it, with the EOF marker.
    let mut s = TcpStream::connect(exporter.addr).unwrap();
    s.write_all(
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text;version=1.0.0\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(
        answer.contains("application/openmetrics-text"),
        "{}",
        &answer[..answer.len().min(400)]
    );
    assert!(answer.trim_end().ends_with("# EOF"));
});

/// An exporter counting getppid by name that drains only when scraped (an
/// hour between background drains), scraped once: what happens before the
/// next scrape falls between two drains.
pub(crate) fn drained_by_scrapes_only() -> Exporter {
    let exporter = Exporter::start(&[
        "--no-namespaces",
        "--syscalls",
        "getppid",
        "--drain-interval",
        "3600",
    ]);
    exporter.scrape();
    exporter
}

// A cgroup made, used and removed between two drains (only scrapes drain
// here) is served under its path, named when it was made, not as its id.
root_test!(a_cgroup_made_and_removed_between_two_drains_is_named, {
    let exporter = drained_by_scrapes_only();
    let cg = TestCgroup::new("exp-born");
    let (path, id) = (cg.rel(), cg.id());
    run_workload(Some(&cg.path), &["getppid", "7"]);
    let dir = cg.path.clone();
    drop(cg);
    assert!(!dir.exists(), "{} still there", dir.display());
    let series = exporter.scrape();
    let unseen = format!("<cgroup id {id}, removed>");
    assert_eq!(
        value(
            &series,
            "contrace_syscalls_total",
            &path,
            &[("syscall", "getppid")]
        ),
        Some(7.0),
        "served as {:?}",
        series
            .iter()
            .find(|s| s.labels.get("cgroup") == Some(&unseen))
            .map(|s| &s.labels)
    );
});
