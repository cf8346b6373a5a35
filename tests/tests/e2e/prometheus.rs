//! A real Prometheus: first the harness itself (a tiny server in the test
//! serves fixed exposition text, Prometheus scrapes it every second, and
//! its HTTP API must report exactly what was served; the deployed scrape
//! settings keep the exporter's labels; every Grafana panel's query yields
//! data from the metric contract's sample), then the exporter scraped by
//! it: exact per-cgroup counts, block I/O, denied and 32-bit calls.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contrace_tests::exporter::{expect_value, q, Exporter, WAIT};
use contrace_tests::prometheus::{require_prometheus, Prometheus, ScrapeConfig};
use contrace_tests::*;

/// Serves whatever text it holds on every GET, until dropped.
struct TextServer {
    addr: SocketAddr,
    body: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TextServer {
    fn start(body: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind text server");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("address");
        let body = Arc::new(Mutex::new(body.to_string()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (body, stop) = (Arc::clone(&body), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((conn, _)) => {
                            let text = body.lock().unwrap().clone();
                            let _ = answer(conn, &text);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(20)),
                    }
                }
            })
        };
        Self {
            addr,
            body,
            stop,
            thread: Some(thread),
        }
    }

    fn target(&self) -> String {
        self.addr.to_string()
    }

    fn set(&self, body: &str) {
        *self.body.lock().unwrap() = body.to_string();
    }
}

/// One HTTP/1.1 answer with `Connection: close`, after reading the request head.
fn answer(conn: std::net::TcpStream, text: &str) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    while reader.read_line(&mut line)? > 0 && line != "\r\n" {
        line.clear();
    }
    let mut conn = conn;
    write!(
        conn,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )
}

impl Drop for TextServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn counter(value: u64) -> String {
    format!(
        "# HELP contrace_syscalls_total System calls.\n\
         # TYPE contrace_syscalls_total counter\n\
         contrace_syscalls_total{{cgroup=\"/harness\",container_id=\"\",container_name=\"\",pod=\"\",namespace=\"\",syscall=\"getppid\"}} {value}\n"
    )
}

#[test]
fn exact_values_through_the_http_api() {
    if !require_prometheus() {
        return;
    }
    let server = TextServer::start(&counter(1234));
    let prom = Prometheus::start(&[&server.target()]).expect("start prometheus");
    prom.wait_targets_up(scaled(WAIT))
        .unwrap_or_else(|e| panic!("{e:#}\n{}", prom.log()));
    let expr = r#"contrace_syscalls_total{cgroup="/harness",syscall="getppid"}"#;
    assert_eq!(
        prom.wait_for_value(expr, 1234.0, scaled(WAIT)).unwrap(),
        1234.0
    );

    // A new value is seen; the old one is then a failure that says what it saw.
    server.set(&counter(5678));
    prom.wait_for_value(expr, 5678.0, scaled(WAIT)).unwrap();
    let err = prom
        .wait_for_value(expr, 1234.0, Duration::from_secs(2))
        .unwrap_err();
    assert!(format!("{err:#}").contains("= 5678"), "{err:#}");

    // Labels and job come back as served/configured.
    let samples = prom.query(expr).unwrap();
    assert_eq!(samples.len(), 1);
    assert_eq!(samples[0].labels["job"], "contrace");
    assert_eq!(samples[0].labels["instance"], server.target());
    assert_eq!(samples[0].labels["syscall"], "getppid");
    // Empty labels are absent in Prometheus.
    assert!(!samples[0].labels.contains_key("pod"));

    // Bad PromQL is an error naming it, not an empty result.
    let err = prom.query("sum(").unwrap_err();
    assert!(format!("{err:#}").contains("bad_data"), "{err:#}");
    assert_eq!(prom.query_value("absent_metric_xyz").unwrap(), None);
}

#[test]
fn stops_its_own_prometheus_on_drop() {
    if !require_prometheus() {
        return;
    }
    let prom = Prometheus::start(&["127.0.0.1:9"]).expect("start prometheus");
    let pid = prom.pid();
    assert!(PathBuf::from(format!("/proc/{pid}")).exists());
    drop(prom);
    // Reaped by the drop: the pid is gone (or reused by something that is not it).
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    assert_ne!(comm.trim(), "prometheus", "prometheus {pid} still running");
}

/// The deployed scrape configs keep the exporter's labels (honor_labels) so a
/// target label such as `namespace` (the exporter's own pod's) can never be
/// pinned on a host cgroup whose `namespace` label is empty.
#[test]
fn honor_labels_keeps_empty_exporter_labels() {
    if !require_prometheus() {
        return;
    }
    let server = TextServer::start(&counter(7));
    let mut config = ScrapeConfig::new(&[&server.target()]);
    config
        .target_labels
        .insert("namespace".into(), "contrace".into());
    config.target_labels.insert("node".into(), "node-a".into());
    let prom = Prometheus::start_with(&config).expect("start prometheus");
    prom.wait_targets_up(scaled(WAIT))
        .unwrap_or_else(|e| panic!("{e:#}\n{}", prom.log()));
    prom.wait_for_value(
        r#"contrace_syscalls_total{cgroup="/harness",node="node-a"}"#,
        7.0,
        scaled(WAIT),
    )
    .unwrap();
    let samples = prom.query("contrace_syscalls_total").unwrap();
    assert_eq!(samples.len(), 1);
    assert!(
        !samples[0].labels.contains_key("namespace"),
        "the target's namespace label leaked onto the series: {:?}",
        samples[0].labels
    );
}

/// Every query of the Grafana dashboard, with its variables set to match
/// everything, yields at least one series from the contract's sample.
#[test]
fn dashboard_queries_yield_data_from_the_contract_sample() {
    if !require_prometheus() {
        return;
    }
    let sample = std::fs::read_to_string(repo_path("deploy/prometheus/contract-sample.prom"))
        .expect("deploy/prometheus/contract-sample.prom");
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_path("deploy/grafana/contrace.json"))
            .expect("deploy/grafana/contrace.json"),
    )
    .expect("dashboard JSON");
    let mut exprs = Vec::new();
    collect_exprs(&dashboard["panels"], &mut exprs);
    assert!(
        exprs.len() >= 10,
        "too few queries in the dashboard: {exprs:?}"
    );

    let server = TextServer::start(&sample);
    let mut config = ScrapeConfig::new(&[&server.target()]);
    config.target_labels.insert("node".into(), "node-a".into());
    let prom = Prometheus::start_with(&config).expect("start prometheus");
    prom.wait_targets_up(scaled(WAIT))
        .unwrap_or_else(|e| panic!("{e:#}\n{}", prom.log()));
    // rate() needs two samples in its window.
    prom.wait_for_value(
        "count_over_time(contrace_exporter_cgroups[1m])",
        3.0,
        scaled(WAIT),
    )
    .unwrap();

    let mut empty = Vec::new();
    for (title, expr) in &exprs {
        let concrete = expr
            .replace("$__rate_interval", "1m")
            .replace("$__interval", "1m")
            .replace("$__range", "1m")
            .replace("$node", ".*")
            .replace("$namespace", ".*")
            .replace("$container", ".*")
            .replace("$topn", "10");
        assert!(
            !concrete.contains('$'),
            "unknown variable in {title}: {expr}"
        );
        let samples = prom
            .query(&concrete)
            .unwrap_or_else(|e| panic!("panel {title:?}: {e:#}"));
        if samples.is_empty() {
            empty.push(format!("{title}: {concrete}"));
        }
    }
    assert!(
        empty.is_empty(),
        "panels without data:\n{}",
        empty.join("\n")
    );
}

/// `(panel title, expr)` of every target, rows' nested panels included.
fn collect_exprs(panels: &serde_json::Value, out: &mut Vec<(String, String)>) {
    for panel in panels.as_array().into_iter().flatten() {
        let title = panel["title"].as_str().unwrap_or("?").to_string();
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                out.push((title.clone(), expr.to_string()));
            }
        }
        collect_exprs(&panel["panels"], out);
    }
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
    prom.wait_targets_up(scaled(WAIT))
        .unwrap_or_else(|e| panic!("{e:#}\n{}", prom.log()));

    run_workload(
        Some(&a.path),
        &["getppid", "1234", "openfail", "17", "unshare", "0x04000000"],
    );
    run_workload(Some(&b.path), &["getppid", "321"]);
    run_workload(Some(&odd.path), &["getppid", "55"]);
    let (ra, rb) = (a.rel(), b.rel());
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
    assert_eq!(odd_series[0].labels["cgroup"], odd.rel());
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
        prom.wait_targets_up(scaled(WAIT))
            .unwrap_or_else(|e| panic!("{e:#}\n{}", prom.log()));

        // O_DIRECT: every byte is a bio of this cgroup's own task, no cache;
        // --resident: the workload's own pages are no read of the cgroup's,
        // however cold the page cache is.
        run_workload(
            Some(&io.path),
            &[
                "--resident",
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
        let mut holder = Workload::spawn(
            Some(&io.path),
            &["--resident", "unshare", "0x04000000", "pause"],
        );
        holder.go();
        assert_eq!(
            holder.next_line(),
            "unshare 0",
            "the holder's own uts namespace"
        );
        run_workload(
            Some(&jailed.path),
            &[
                "--resident",
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
                "--resident",
                "getppid32",
                "40",
                "seccomp-deny",
                "getppid",
                "1",
                "getppid",
                "250",
            ],
        );
        let (rio, rj) = (io.rel(), jailed.rel());
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

root_test!(
    bpf_stats_serve_the_exporters_own_cost_one_program_per_hook,
    {
        assert!(require_prometheus(), "Prometheus is needed");
        let cg = TestCgroup::new("exp-bpfstats");
        let exporter = Exporter::start(&["--bpf-stats", "--no-block"]);
        let prom = Prometheus::start(&[&exporter.addr.to_string()]).expect("start prometheus");
        prom.wait_targets_up(WAIT)
            .unwrap_or_else(|e| panic!("{e:#}\n{}", prom.log()));
        // One program per hook: counts and namespace changes share sys_exit;
        // the other program names cgroups when they are made.
        let progs = contrace_tests::bpf::programs_linked_by(exporter.tool.pid());
        assert_eq!(progs.len(), 2, "{progs:?}");
        run_workload(
            Some(&cg.path),
            &["getppid", "4321", "openfail", "9", "unshare", "0x04000000"],
        );
        let rc = cg.rel();
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
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let n = prom.query_value(runs).unwrap().unwrap_or(0.0);
            let s = prom.query_value(seconds).unwrap().unwrap_or(0.0);
            if n >= 4321.0 && s > 0.0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{runs} = {n}, {seconds} = {s}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        // No other program of the exporter runs on the syscall hooks.
        let mut names = prom
            .query("contrace_exporter_bpf_runs_total")
            .unwrap()
            .into_iter()
            .map(|s| s.labels["program"].clone())
            .collect::<Vec<_>>();
        names.sort();
        assert_eq!(names, ["cgroup_mkdir", "syscalls_exit"], "{names:?}");
        let done = exporter.tool.signal(nix::sys::signal::Signal::SIGTERM);
        assert_eq!(done.code, Some(0), "{}", done.stderr);
    }
);
