//! contrace-exporter end to end: the real BPF programs, ground-truth
//! workloads in test cgroups, and a real Prometheus scraping the exporter
//! every second; also its own /metrics under churn, a thousand cgroups,
//! slow clients, bad addresses and SIGTERM.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use contrace_tests::prometheus::{free_local_port, require_prometheus, Prometheus};
use contrace_tests::*;

const WAIT: Duration = Duration::from_secs(30);

/// A running exporter on a free loopback port.
struct Exporter {
    tool: Tool,
    addr: SocketAddr,
    agent: ureq::Agent,
}

impl Exporter {
    fn start(extra: &[&str]) -> Self {
        let addr = free_local_port().expect("free port");
        let listen = addr.to_string();
        let mut args = vec!["--listen", &listen];
        args.extend_from_slice(extra);
        let tool = Tool::start("contrace-exporter", &args);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(20)))
            .proxy(None)
            .build()
            .into();
        Self { tool, addr, agent }
    }

    fn get(&self, path: &str) -> (u16, String) {
        let url = format!("http://{}{path}", self.addr);
        let mut resp = self
            .agent
            .get(&url)
            .call()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_string()
            .expect("body");
        (status, body)
    }

    /// One scrape, parsed.
    fn scrape(&self) -> Vec<Series> {
        let (status, body) = self.get("/metrics");
        assert_eq!(status, 200, "{body}");
        parse(&body)
    }
}

/// One line of the exposition.
#[derive(Clone, Debug, PartialEq)]
struct Series {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The text format as the exporter writes it (labels without escapes in
/// the test's cgroup names).
fn parse(body: &str) -> Vec<Series> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (head, value) = line.rsplit_once(' ').expect("value");
            let (name, labels) = match head.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (head, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|kv| !kv.is_empty())
                .map(|kv| {
                    let (k, v) = kv.split_once('=').expect("label");
                    (k.to_string(), v.trim_matches('"').to_string())
                })
                .collect();
            Series {
                name: name.to_string(),
                labels,
                value: value.parse().expect("number"),
            }
        })
        .collect()
}

/// The value of `name` for `cgroup` with the given extra labels, if served.
fn value(series: &[Series], name: &str, cgroup: &str, extra: &[(&str, &str)]) -> Option<f64> {
    series
        .iter()
        .find(|s| {
            s.name == name
                && s.labels.get("cgroup").map(String::as_str) == Some(cgroup)
                && extra
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
}

/// A PromQL selector: `metric{cgroup="cg"<extra>}` (`extra` starts with a
/// comma).
fn q(metric: &str, cg: &str, extra: &str) -> String {
    format!("{metric}{{cgroup=\"{cg}\"{extra}}}")
}

/// Waits until Prometheus reports exactly `want` for `expr`.
fn expect_value(prom: &Prometheus, expr: &str, want: f64) {
    prom.wait_for_value(expr, want, WAIT)
        .unwrap_or_else(|e| panic!("{e:#}"));
}

/// The path Prometheus labels show: relative to the cgroup2 mount.
fn rel(cg: &TestCgroup) -> String {
    format!(
        "/{}",
        cg.path
            .strip_prefix(cgroup2_root())
            .expect("under the cgroup2 mount")
            .display()
    )
}

root_test!(prometheus_reports_exact_per_cgroup_counts, {
    if !require_prometheus() {
        return;
    }
    let a = TestCgroup::new("exp-a");
    let b = TestCgroup::new("exp-b");
    // A name with the characters the exposition must escape.
    let odd = TestCgroup::new("exp-q\"\\x");
    let exporter = Exporter::start(&[]);
    let prom = Prometheus::start(&[&exporter.addr.to_string()]).expect("start prometheus");
    prom.wait_targets_up(WAIT)
        .unwrap_or_else(|e| panic!("{e:#}\n{}", prom.log()));

    run_workload(
        Some(&a.path),
        &["getppid", "1234", "openfail", "17", "unshare", "0x04000000"],
    );
    run_workload(Some(&b.path), &["getppid", "321"]);
    run_workload(Some(&odd.path), &["getppid", "55"]);
    let (ra, rb) = (rel(&a), rel(&b));
    let expect = |expr: String, want: f64| expect_value(&prom, &expr, want);
    expect(
        q("contrace_syscalls_total", &ra, ",syscall=\"getppid\""),
        1234.0,
    );
    expect(
        q("contrace_syscalls_total", &ra, ",syscall=\"openat\""),
        17.0,
    );
    expect(
        q("contrace_syscall_errors_total", &ra, ",syscall=\"openat\""),
        17.0,
    );
    expect(
        q("contrace_syscall_errno_total", &ra, ",errno=\"ENOENT\""),
        17.0,
    );
    expect(
        q(
            "contrace_namespace_changes_total",
            &ra,
            ",call=\"unshare\",kind=\"uts\"",
        ),
        1.0,
    );
    expect(
        q("contrace_syscalls_total", &rb, ",syscall=\"getppid\""),
        321.0,
    );
    let odd_query = r#"contrace_syscalls_total{syscall="getppid",cgroup=~".*exp-q.*"}"#;
    expect(odd_query.to_string(), 55.0);
    let odd_series = prom.query(odd_query).unwrap();
    assert_eq!(odd_series.len(), 1, "{odd_series:?}");
    assert_eq!(odd_series[0].value, 55.0);
    assert_eq!(odd_series[0].labels["cgroup"], rel(&odd));
    // getppid never fails: no error series for it.
    assert_eq!(
        prom.query_value(&q(
            "contrace_syscall_errors_total",
            &ra,
            ",syscall=\"getppid\""
        ))
        .unwrap(),
        None
    );

    // More calls later: the counter adds up across drains and scrapes.
    run_workload(Some(&a.path), &["getppid", "1000"]);
    expect(
        q("contrace_syscalls_total", &ra, ",syscall=\"getppid\""),
        2234.0,
    );
    // Nothing lost or dropped on the way.
    expect("contrace_exporter_dropped_total".into(), 0.0);
    expect("contrace_exporter_lost_total".into(), 0.0);
    // No counter of ours ever went down in Prometheus' eyes.
    for metric in [
        "contrace_syscalls_total",
        "contrace_syscall_errors_total",
        "contrace_syscall_errno_total",
        "contrace_namespace_changes_total",
    ] {
        let resets = prom
            .query(&format!("resets({metric}{{cgroup=~\"{ra}|{rb}\"}}[5m])"))
            .unwrap();
        assert!(!resets.is_empty(), "{metric}");
        assert!(
            resets.iter().all(|s| s.value == 0.0),
            "{metric}: {resets:?}"
        );
    }
    let done = exporter.tool.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
});

root_test!(
    prometheus_reports_block_io_denied_and_32bit_calls_exactly,
    {
        if !require_prometheus() {
            return;
        }
        const MIB: u64 = 1 << 20;
        let io = TestCgroup::new("exp-block");
        let jailed = TestCgroup::new("exp-denied");
        let dir = contrace_tests::block::BlockDir::new("exporter");
        let file = dir.file("direct");
        let exporter = Exporter::start(&["--denied"]);
        let prom = Prometheus::start(&[&exporter.addr.to_string()]).expect("start prometheus");
        prom.wait_targets_up(WAIT)
            .unwrap_or_else(|e| panic!("{e:#}\n{}", prom.log()));

        // O_DIRECT: every byte is a bio of this cgroup's own task, no cache.
        run_workload(
            Some(&io.path),
            &[
                "write-direct",
                &file,
                &(8 * MIB).to_string(),
                "read-direct",
                &file,
                &(4 * MIB).to_string(),
            ],
        );
        // Namespace changes counted from the exit hook alone: a setns into
        // another process's new uts namespace, a 32-bit unshare.
        let mut holder = Workload::spawn(Some(&io.path), &["unshare", "0x04000000", "pause"]);
        holder.go();
        assert_eq!(
            holder.next_line(),
            "unshare 0",
            "the holder's own uts namespace"
        );
        run_workload(
            Some(&jailed.path),
            &[
                "setns",
                &holder.pid.to_string(),
                "uts",
                "unshare32",
                "0x04000000",
            ],
        );
        holder.kill();
        // 250 getppid a seccomp filter turns into EPERM, 40 real 32-bit ones.
        run_workload(
            Some(&jailed.path),
            &[
                "getppid32",
                "40",
                "seccomp-deny",
                "getppid",
                "1",
                "getppid",
                "250",
            ],
        );
        let (rio, rj) = (rel(&io), rel(&jailed));
        let expect = |expr: String, want: f64| expect_value(&prom, &expr, want);
        expect(
            q(
                "contrace_block_io_bytes_total",
                &rio,
                ",direction=\"write\"",
            ),
            (8 * MIB) as f64,
        );
        expect(
            q("contrace_block_io_bytes_total", &rio, ",direction=\"read\""),
            (4 * MIB) as f64,
        );
        // Nobody else wrote on its behalf.
        expect(q("contrace_block_io_writeback_bytes_total", &rio, ""), 0.0);
        for direction in ["read", "write"] {
            let ops = prom
                .query_value(&q(
                    "contrace_block_io_ops_total",
                    &rio,
                    &format!(",direction=\"{direction}\""),
                ))
                .unwrap()
                .unwrap_or(0.0);
            assert!(ops >= 1.0, "{direction} ops: {ops}");
        }
        // The jailed cgroup did no block I/O: no block series at all.
        assert_eq!(
            prom.query(&q("contrace_block_io_bytes_total", &rj, ""))
                .unwrap()
                .len(),
            0
        );

        expect(
            q("contrace_syscall_denied_total", &rj, ",syscall=\"getppid\""),
            250.0,
        );
        expect(
            q("contrace_syscalls_total", &rj, ",syscall=\"getppid\""),
            250.0,
        );
        expect(
            q("contrace_syscall_errors_total", &rj, ",syscall=\"getppid\""),
            250.0,
        );
        expect(
            q("contrace_syscall_errno_total", &rj, ",errno=\"EPERM\""),
            250.0,
        );
        // i386 getppid (nr 64) under its own name, never as x86-64's semget.
        expect(
            q(
                "contrace_syscalls_total",
                &rj,
                ",syscall=\"getppid (i386)\"",
            ),
            40.0,
        );
        assert_eq!(
            prom.query_value(&q("contrace_syscalls_total", &rj, ",syscall=\"semget\""))
                .unwrap(),
            None
        );
        for (cg, call) in [(&rio, "unshare"), (&rj, "setns"), (&rj, "unshare")] {
            expect(
                q(
                    "contrace_namespace_changes_total",
                    cg,
                    &format!(",call=\"{call}\",kind=\"uts\""),
                ),
                1.0,
            );
        }
        expect("contrace_exporter_dropped_total".into(), 0.0);
        let done = exporter.tool.signal(nix::sys::signal::Signal::SIGTERM);
        assert_eq!(done.code, Some(0), "{}", done.stderr);
    }
);

root_test!(metric_names_and_labels_follow_the_contract, {
    let cg = TestCgroup::new("exp-contract");
    let exporter = Exporter::start(&[]);
    run_workload(Some(&cg.path), &["openfail", "2", "unshare", "0x04000000"]);
    let served = exporter.scrape();
    let contract = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../deploy/prometheus/contract-sample.prom"),
    )
    .expect("contract sample");
    let contract = parse(&contract);
    // Every served series' name and label names are in the contract...
    for s in &served {
        let spec = contract
            .iter()
            .find(|c| c.name == s.name)
            .unwrap_or_else(|| panic!("{} is not in the contract", s.name));
        let want: Vec<_> = spec.labels.keys().collect();
        let got: Vec<_> = s.labels.keys().collect();
        assert_eq!(got, want, "labels of {}", s.name);
    }
    // ...and every contract metric that this run must produce is served.
    let rc = rel(&cg);
    for name in [
        "contrace_syscalls_total",
        "contrace_syscall_errors_total",
        "contrace_syscall_errno_total",
        "contrace_namespace_changes_total",
        "contrace_exporter_series",
        "contrace_exporter_dropped_total",
        "contrace_exporter_lost_total",
        "contrace_exporter_cgroups",
    ] {
        assert!(
            served
                .iter()
                .any(|s| s.name == name
                    && (s.labels.is_empty() || s.labels.get("cgroup") == Some(&rc))),
            "{name} not served for {rc}"
        );
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

root_test!(counters_are_monotonic_and_exact_across_many_scrapes, {
    let cg = TestCgroup::new("exp-mono");
    let exporter = Exporter::start(&["--drain-interval", "0.05"]);
    let rc = rel(&cg);
    // 20 bursts of 5000 getppid with pauses, scraped all the while.
    let mut args = Vec::new();
    for _ in 0..20 {
        args.extend(["getppid", "5000", "sleep", "20"]);
    }
    let mut work = Workload::spawn(Some(&cg.path), &args);
    work.go();
    let mut last: BTreeMap<String, f64> = BTreeMap::new();
    let mut scrapes = 0;
    let mut rising = 0;
    let start = Instant::now();
    loop {
        let series = exporter.scrape();
        scrapes += 1;
        for s in series
            .iter()
            .filter(|s| s.labels.get("cgroup") == Some(&rc))
        {
            let key = format!("{}{:?}", s.name, s.labels);
            if let Some(prev) = last.insert(key.clone(), s.value) {
                assert!(s.value >= prev, "{key} went from {prev} to {}", s.value);
                if s.value > prev {
                    rising += 1;
                }
            }
        }
        let done = value(
            &series,
            "contrace_syscalls_total",
            &rc,
            &[("syscall", "getppid")],
        );
        if done == Some(100_000.0) && scrapes >= 50 {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "getppid = {done:?} after {scrapes} scrapes"
        );
    }
    work.finish();
    assert!(
        rising > 5,
        "the counter was seen rising only {rising} times"
    );
    eprintln!("{scrapes} scrapes, getppid seen rising {rising} times, never falling");
});

root_test!(churn_and_grace_period, {
    let exporter = Exporter::start(&["--grace", "2"]);
    let stable = TestCgroup::new("exp-stable");
    let rs = rel(&stable);
    let mut gone = Vec::new();
    let mut expected = 0u64;
    // 30 short-lived cgroups, one after another, each doing 7 getppid,
    // while the stable one keeps counting and /metrics is scraped.
    for i in 0..30 {
        let cg = TestCgroup::new("exp-churn");
        run_workload(Some(&cg.path), &["getppid", "7"]);
        run_workload(Some(&stable.path), &["getppid", "11"]);
        expected += 11;
        let series = exporter.scrape();
        let rc = rel(&cg);
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
    let deadline = Instant::now() + WAIT;
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

root_test!(a_thousand_cgroups_exact_with_flat_memory, {
    const N: usize = 1000;
    let exporter = Exporter::start(&[]);
    let parent = TestCgroup::new("exp-1000");
    let mut expected = BTreeMap::new();
    for i in 0..N {
        let dir = parent.child(&format!("c{i:04}"));
        let calls = (i % 13 + 1).to_string();
        run_workload(Some(&dir), &["--no-wait", "getppid", &calls]);
        let rc = format!("/{}", dir.strip_prefix(cgroup2_root()).unwrap().display());
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
});

root_test!(slow_and_hung_clients_block_neither_scrapes_nor_drains, {
    let cg = TestCgroup::new("exp-slow");
    let exporter = Exporter::start(&[]);
    let rc = rel(&cg);
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
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert_eq!(
        value(
            &series,
            "contrace_syscalls_total",
            &rc,
            &[("syscall", "getppid")]
        ),
        Some(4321.0)
    );
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

/// BPF program ids the process holds links for (from /proc/PID/fdinfo).
fn linked_programs(pid: u32) -> Vec<u32> {
    let mut ids = Vec::new();
    for fd in std::fs::read_dir(format!("/proc/{pid}/fdinfo"))
        .unwrap()
        .flatten()
    {
        let info = std::fs::read_to_string(fd.path()).unwrap_or_default();
        if info.contains("link_id:") {
            if let Some(id) = info
                .lines()
                .find_map(|l| l.strip_prefix("prog_id:"))
                .and_then(|v| v.trim().parse().ok())
            {
                ids.push(id);
            }
        }
    }
    ids
}

/// Whether a BPF program with this id is still loaded.
fn program_loaded(id: u32) -> bool {
    // union bpf_attr for BPF_PROG_GET_FD_BY_ID: prog_id first.
    let mut attr = [0u8; 128];
    attr[..4].copy_from_slice(&id.to_ne_bytes());
    const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
    // SAFETY: a bpf(2) call with a zeroed attr of the size passed.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, BPF_PROG_GET_FD_BY_ID, attr.as_ptr(), 128) };
    if fd >= 0 {
        // SAFETY: the fd the kernel just gave us.
        unsafe { libc::close(fd as i32) };
        return true;
    }
    false
}

root_test!(sigterm_detaches_every_program_and_exits_0, {
    let exporter = Exporter::start(&["--latency"]);
    let (status, _) = exporter.get("/healthz");
    assert_eq!(status, 200);
    let progs = linked_programs(exporter.tool.pid());
    // The syscall engine's sys_enter + sys_exit (--latency; its sys_exit
    // also makes the namespace changes); conbiograph's bio queue and
    // dirtier hooks.
    assert_eq!(progs.len(), 4, "{progs:?}");
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
    let series = exporter.scrape();
    let rc = rel(&cg);
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

/// A container's calls are served under its cgroup with its id and name.
/// The runtime itself makes a few calls in the container's cgroup on each
/// `exec` (runc's getppid among them): an empty exec measures them, and
/// the workload's exec must add exactly its own calls on top.
fn container_counts(engine: contrace_tests::runtime::Engine) {
    use contrace_tests::runtime::Container;
    if !engine.available() {
        return;
    }
    // The allow-list: getppid first shows up among the runtime's busier
    // calls, where the top-N rule would put it in "other".
    let exporter = Exporter::start(&["--no-namespaces", "--syscalls", "getppid,openat"]);
    let container = Container::start(engine, "exp");
    let cgroup = container.cgroup();
    let counts = || {
        let series = exporter.scrape();
        let get = |metric: &str, syscall: &str| {
            value(&series, metric, &cgroup, &[("syscall", syscall)]).unwrap_or(0.0)
        };
        (
            get("contrace_syscalls_total", "getppid"),
            get("contrace_syscall_errors_total", "openat"),
        )
    };
    let start = counts();
    container.exec(&["/bin/workload", "--no-wait", "getppid", "0"]);
    let idle = counts();
    container.exec(&[
        "/bin/workload",
        "--no-wait",
        "getppid",
        "1234",
        "openfail",
        "17",
    ]);
    let busy = counts();
    let runtime = (idle.0 - start.0, idle.1 - start.1);
    assert_eq!(
        (busy.0 - idle.0 - runtime.0, busy.1 - idle.1 - runtime.1),
        (1234.0, 17.0),
        "{}: getppid/openat errors at start {start:?}, after an empty exec {idle:?}, \
         after the workload {busy:?}",
        engine.cli()
    );
    // The runtime's answer lands asynchronously (the labeler thread).
    let deadline = Instant::now() + WAIT;
    loop {
        let series = exporter.scrape();
        let mine: Vec<&Series> = series
            .iter()
            .filter(|s| s.labels.get("cgroup") == Some(&cgroup))
            .collect();
        assert!(!mine.is_empty());
        let labelled = mine.iter().all(|s| {
            s.labels["container_id"] == container.id()
                && s.labels["container_name"] == container.name()
        });
        if labelled {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{}: labels {mine:?}",
            engine.cli()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

root_test!(docker_container_counts_with_its_name, {
    container_counts(contrace_tests::runtime::Engine::Docker);
});

root_test!(podman_container_counts_with_its_name, {
    container_counts(contrace_tests::runtime::Engine::Podman);
});

root_test!(
    bpf_stats_serve_the_exporters_own_cost_one_program_per_hook,
    {
        if !require_prometheus() {
            return;
        }
        let cg = TestCgroup::new("exp-bpfstats");
        let exporter = Exporter::start(&["--bpf-stats", "--no-block"]);
        let prom = Prometheus::start(&[&exporter.addr.to_string()]).expect("start prometheus");
        prom.wait_targets_up(WAIT)
            .unwrap_or_else(|e| panic!("{e:#}\n{}", prom.log()));
        // One program per hook: counts and namespace changes share sys_exit.
        assert_eq!(linked_programs(exporter.tool.pid()).len(), 1);
        run_workload(
            Some(&cg.path),
            &["getppid", "4321", "openfail", "9", "unshare", "0x04000000"],
        );
        let rc = rel(&cg);
        let expect = |expr: String, want: f64| expect_value(&prom, &expr, want);
        expect(
            q("contrace_syscalls_total", &rc, ",syscall=\"getppid\""),
            4321.0,
        );
        expect(
            q("contrace_syscall_errors_total", &rc, ",syscall=\"openat\""),
            9.0,
        );
        expect(
            q("contrace_syscall_errno_total", &rc, ",errno=\"ENOENT\""),
            9.0,
        );
        expect(
            q(
                "contrace_namespace_changes_total",
                &rc,
                ",call=\"unshare\",kind=\"uts\"",
            ),
            1.0,
        );
        // Every call of the host ran the exit program: at least the workload's.
        let runs = r#"contrace_exporter_bpf_runs_total{program="syscalls_exit"}"#;
        let seconds = r#"contrace_exporter_bpf_run_seconds_total{program="syscalls_exit"}"#;
        let deadline = Instant::now() + WAIT;
        loop {
            let n = prom.query_value(runs).unwrap().unwrap_or(0.0);
            let s = prom.query_value(seconds).unwrap().unwrap_or(0.0);
            if n >= 4321.0 && s > 0.0 {
                break;
            }
            assert!(Instant::now() < deadline, "{runs} = {n}, {seconds} = {s}");
            std::thread::sleep(Duration::from_millis(200));
        }
        // No other program of the exporter runs on the syscall hooks.
        let names = prom
            .query("contrace_exporter_bpf_runs_total")
            .unwrap()
            .into_iter()
            .map(|s| s.labels["program"].clone())
            .collect::<Vec<_>>();
        assert_eq!(names, vec!["syscalls_exit".to_string()], "{names:?}");
        let done = exporter.tool.signal(nix::sys::signal::Signal::SIGTERM);
        assert_eq!(done.code, Some(0), "{}", done.stderr);
    }
);
