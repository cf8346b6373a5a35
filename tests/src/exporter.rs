//! contrace-exporter for the tests: started on a free loopback port,
//! scraped over HTTP, its exposition parsed; and the PromQL the Prometheus
//! tests ask about it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::prometheus::{free_local_port, Prometheus};
use crate::{run_workload, scaled, TestCgroup, Tool};

/// How long Prometheus may take to see a value (it scrapes every second).
pub const WAIT: Duration = Duration::from_secs(30);

/// A running exporter on a free loopback port.
pub struct Exporter {
    pub tool: Tool,
    pub addr: SocketAddr,
    agent: ureq::Agent,
}

impl Exporter {
    pub fn start(extra: &[&str]) -> Self {
        Self::start_env(extra, &[])
    }

    /// [`Exporter::start`] with extra environment variables (for example
    /// the old kernels' paths, [`crate::KERNEL_PATHS`]).
    pub fn start_env(extra: &[&str], env: &[(&str, &str)]) -> Self {
        let addr = free_local_port().expect("free port");
        let listen = addr.to_string();
        let mut args = vec!["--listen", &listen];
        args.extend_from_slice(extra);
        let tool = Tool::start_env("contrace-exporter", &args, env);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(20)))
            .proxy(None)
            .build()
            .into();
        Self { tool, addr, agent }
    }

    pub fn get(&self, path: &str) -> (u16, String) {
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

    /// One scrape, parsed. A scrape waits for a drain of the kernel maps
    /// only so long (5 s): on a loaded machine it may show older values;
    /// judge counts with [`scrape_until`](Self::scrape_until) or a
    /// [`Fence`].
    pub fn scrape(&self) -> Vec<Series> {
        let (status, body) = self.get("/metrics");
        assert_eq!(status, 200, "{body}");
        parse(&body)
    }

    /// Scrapes until `ready` holds for a scrape, which it returns; panics
    /// naming `what` after [`WAIT`] (scaled).
    pub fn scrape_until(&self, what: &str, ready: impl Fn(&[Series]) -> bool) -> Vec<Series> {
        let deadline = Instant::now() + scaled(WAIT);
        loop {
            let series = self.scrape();
            if ready(&series) {
                return series;
            }
            assert!(Instant::now() < deadline, "waited {WAIT:?} for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Calls in a cgroup of their own that order scrapes after earlier work:
/// a scrape that serves all of them was drained after everything done
/// before them (one drain reads every cgroup's counts at once).
pub struct Fence {
    cgroup: TestCgroup,
    calls: u64,
}

impl Fence {
    pub fn new() -> Self {
        Self {
            cgroup: TestCgroup::new("fence"),
            calls: 0,
        }
    }

    /// A scrape drained after everything done before this call.
    pub fn scrape(&mut self, exporter: &Exporter) -> Vec<Series> {
        run_workload(Some(&self.cgroup.path), &["getppid", "1"]);
        self.calls += 1;
        let (cgroup, want) = (self.cgroup.rel(), self.calls as f64);
        exporter.scrape_until("the fence's getppid calls", |series| {
            value(
                series,
                "contrace_syscalls_total",
                &cgroup,
                &[("syscall", "getppid")],
            ) == Some(want)
        })
    }
}

impl Default for Fence {
    fn default() -> Self {
        Self::new()
    }
}

/// One line of the exposition.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// The text format as the exporter writes it (labels without escapes in
/// the test's cgroup names).
pub fn parse(body: &str) -> Vec<Series> {
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
pub fn value(series: &[Series], name: &str, cgroup: &str, extra: &[(&str, &str)]) -> Option<f64> {
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
pub fn q(metric: &str, cg: &str, extra: &str) -> String {
    format!("{metric}{{cgroup=\"{cg}\"{extra}}}")
}

/// Waits until Prometheus reports exactly `want` for `expr`.
pub fn expect_value(prom: &Prometheus, expr: &str, want: f64) {
    prom.wait_for_value(expr, want, scaled(WAIT))
        .unwrap_or_else(|e| panic!("{e:#}"));
}
