//! A private Prometheus server for the tests: its own config and storage in a
//! temporary directory, listening on a free 127.0.0.1 port, scraping the
//! given targets every second, stopped (by its pid, only ours) on drop.
//!
//! The binary is Debian's `prometheus` package, run directly (never as a
//! service); `scripts/prometheus-setup` installs it. Queries go through the
//! HTTP API (`/api/v1/query`), so a test sees what a user's Prometheus sees.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

/// How long Prometheus may take to start answering `/-/ready`.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// One HTTP request to our own Prometheus.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The Prometheus binary: `$PROMETHEUS` if set, else `prometheus` on PATH.
pub fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PROMETHEUS") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join("prometheus"))
        .find(|p| p.is_file())
}

/// True when Prometheus is installed. Otherwise a skip message, or a panic
/// when `REQUIRE_BPF_TESTS` is set, so CI never passes by skipping.
pub fn require_prometheus() -> bool {
    if binary().is_some() {
        return true;
    }
    let fix =
        "prometheus is not installed: run scripts/prometheus-setup (Debian package `prometheus`)";
    if std::env::var_os("REQUIRE_BPF_TESTS").is_some() {
        panic!("REQUIRE_BPF_TESTS is set but {fix}");
    }
    eprintln!("skipping: {fix}");
    false
}

/// What Prometheus scrapes.
#[derive(Clone, Debug)]
pub struct ScrapeConfig {
    /// `job` label of the targets.
    pub job: String,
    /// `host:port` of each target.
    pub targets: Vec<String>,
    pub metrics_path: String,
    pub interval: Duration,
    /// Keep the targets' own labels on conflicts (as the deployed configs do).
    pub honor_labels: bool,
    /// Extra labels put on every target (e.g. `node`).
    pub target_labels: BTreeMap<String, String>,
    /// Scrape over HTTPS, trusting this CA (and showing a client
    /// certificate); `None`: plain HTTP.
    pub tls: Option<ScrapeTls>,
    /// HTTP basic authentication: user and password.
    pub basic_auth: Option<(String, String)>,
}

/// `tls_config` of a scrape job.
#[derive(Clone, Debug)]
pub struct ScrapeTls {
    pub ca_file: PathBuf,
    /// Client certificate and key, when the target asks for one.
    pub client: Option<(PathBuf, PathBuf)>,
}

impl ScrapeConfig {
    /// One job `contrace` scraping `targets` at `/metrics` every second.
    pub fn new(targets: &[&str]) -> Self {
        Self {
            job: "contrace".into(),
            targets: targets.iter().map(|t| t.to_string()).collect(),
            metrics_path: "/metrics".into(),
            interval: Duration::from_secs(1),
            honor_labels: true,
            target_labels: BTreeMap::new(),
            tls: None,
            basic_auth: None,
        }
    }

    /// prometheus.yml for this job. JSON is valid YAML: serde_json does the quoting.
    fn to_yaml(&self) -> String {
        let interval = format!("{}ms", self.interval.as_millis().max(1));
        let mut job = serde_json::json!({
            "job_name": self.job,
            "metrics_path": self.metrics_path,
            "honor_labels": self.honor_labels,
            "static_configs": [{
                "targets": self.targets,
                "labels": self.target_labels,
            }],
        });
        if let Some(tls) = &self.tls {
            job["scheme"] = "https".into();
            job["tls_config"] = serde_json::json!({"ca_file": tls.ca_file});
            if let Some((cert, key)) = &tls.client {
                job["tls_config"]["cert_file"] = serde_json::json!(cert);
                job["tls_config"]["key_file"] = serde_json::json!(key);
            }
        }
        if let Some((username, password)) = &self.basic_auth {
            job["basic_auth"] = serde_json::json!({"username": username, "password": password});
        }
        let config = serde_json::json!({
            "global": {
                "scrape_interval": interval,
                "scrape_timeout": interval,
                "evaluation_interval": interval,
            },
            "scrape_configs": [job],
        });
        serde_json::to_string_pretty(&config).expect("config serialises")
    }
}

/// One series of an instant-query result.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A running Prometheus, stopped and its directory removed on drop.
pub struct Prometheus {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
    agent: ureq::Agent,
}

impl Prometheus {
    /// Starts Prometheus scraping `targets` (`host:port`) at `/metrics` every second.
    pub fn start(targets: &[&str]) -> Result<Self> {
        Self::start_with(&ScrapeConfig::new(targets))
    }

    /// Starts Prometheus with this scrape job and waits until it is ready.
    /// A port taken between our probe and Prometheus' bind is retried.
    pub fn start_with(config: &ScrapeConfig) -> Result<Self> {
        let bin = binary().context(
            "prometheus is not installed: run scripts/prometheus-setup (Debian package `prometheus`)",
        )?;
        let mut last_err = None;
        for _ in 0..3 {
            match Self::spawn(&bin, config) {
                Ok(prom) => return Ok(prom),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.expect("at least one attempt"))
    }

    fn spawn(bin: &Path, config: &ScrapeConfig) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("contrace-prometheus-")
            .tempdir()
            .context("creating a temporary directory for Prometheus")?;
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config.to_yaml())
            .with_context(|| format!("writing {}", config_path.display()))?;
        let addr = free_local_port()?;
        let log_path = dir.path().join("prometheus.log");
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let log_err = log.try_clone().context("duplicating the log file")?;
        let child = Command::new(bin)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=info")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(HTTP_TIMEOUT))
            // Loopback only: never through a proxy from the environment.
            .proxy(None)
            .build()
            .into();
        let mut prom = Self {
            child,
            addr,
            dir,
            agent,
        };
        prom.wait_ready()?;
        Ok(prom)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Prometheus' own log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().context("waiting for prometheus")? {
                bail!(
                    "prometheus exited ({status}) while starting: {}",
                    self.log()
                );
            }
            if let Ok((200, _)) = self.get("/-/ready", &[]) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "prometheus not ready on {} after {START_TIMEOUT:?}: {}",
                    self.addr,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// GET on our Prometheus: status and body.
    fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<(u16, String)> {
        let url = format!("{}{path}", self.url());
        let mut req = self.agent.get(&url);
        for (k, v) in query {
            req = req.query(*k, *v);
        }
        let mut resp = req.call().with_context(|| format!("GET {url}"))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .read_to_string()
            .with_context(|| format!("reading the answer of GET {url}"))?;
        Ok((status, body))
    }

    /// GET of an API path; the `data` member of a `"status": "success"` answer.
    fn api(&self, path: &str, query: &[(&str, &str)]) -> Result<Value> {
        let (status, body) = self.get(path, query)?;
        let json: Value = serde_json::from_str(&body)
            .with_context(|| format!("{path} answered {status} with non-JSON: {body}"))?;
        if json["status"] != "success" {
            bail!(
                "{path} {query:?} failed ({status}): {} {}",
                json["errorType"].as_str().unwrap_or(""),
                json["error"].as_str().unwrap_or(&body)
            );
        }
        Ok(json["data"].clone())
    }

    /// The scrape targets: `(scrape URL, health, last error)`.
    pub fn targets(&self) -> Result<Vec<(String, String, String)>> {
        let data = self.api("/api/v1/targets", &[("state", "active")])?;
        let active = data["activeTargets"]
            .as_array()
            .context("/api/v1/targets without activeTargets")?;
        Ok(active
            .iter()
            .map(|t| {
                let s = |k: &str| t[k].as_str().unwrap_or("").to_string();
                (s("scrapeUrl"), s("health"), s("lastError"))
            })
            .collect())
    }

    /// Waits until every target has been scraped successfully; the error
    /// names the targets that are not up and why.
    pub fn wait_targets_up(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let targets = self.targets()?;
            let down: Vec<_> = targets.iter().filter(|t| t.1 != "up").collect();
            if !targets.is_empty() && down.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("targets not up after {timeout:?}: {down:?} (all: {targets:?})");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Instant query at the current time: one [`Sample`] per series (a
    /// scalar result is one sample without labels).
    pub fn query(&self, expr: &str) -> Result<Vec<Sample>> {
        let data = self.api("/api/v1/query", &[("query", expr)])?;
        let value = |pair: &Value| -> Result<f64> {
            let text = pair[1]
                .as_str()
                .with_context(|| format!("sample without value: {pair}"))?;
            parse_value(text)
        };
        match data["resultType"].as_str() {
            Some("vector") => data["result"]
                .as_array()
                .context("vector without result")?
                .iter()
                .map(|s| {
                    let labels = s["metric"]
                        .as_object()
                        .map(|m| {
                            m.iter()
                                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                                .collect()
                        })
                        .unwrap_or_default();
                    Ok(Sample {
                        labels,
                        value: value(&s["value"])?,
                    })
                })
                .collect(),
            Some("scalar") => Ok(vec![Sample {
                labels: BTreeMap::new(),
                value: value(&data["result"])?,
            }]),
            other => bail!("query {expr:?}: unsupported result type {other:?}: {data}"),
        }
    }

    /// The value of a query that must yield at most one series; `None` when
    /// it yields none (e.g. not scraped yet).
    pub fn query_value(&self, expr: &str) -> Result<Option<f64>> {
        let samples = self.query(expr)?;
        match samples.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.value)),
            many => bail!(
                "query {expr:?} gave {} series, one expected: {many:?}",
                many.len()
            ),
        }
    }

    /// Waits until `expr` yields exactly one series equal to `expected`.
    /// The error says what was seen last, so a wrong count reads as such.
    pub fn wait_for_value(&self, expr: &str, expected: f64, timeout: Duration) -> Result<f64> {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.query_value(expr);
            if let Ok(Some(v)) = seen {
                if v == expected {
                    return Ok(v);
                }
            }
            if Instant::now() > deadline {
                return Err(match seen {
                    Ok(Some(v)) => anyhow!("{expr} = {v} after {timeout:?}, expected {expected}"),
                    Ok(None) => {
                        anyhow!("{expr} has no series after {timeout:?}, expected {expected}")
                    }
                    Err(e) => e.context(format!("{expr} after {timeout:?}, expected {expected}")),
                });
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Stops Prometheus: SIGTERM, then SIGKILL if it has not exited in 10 s.
    fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Prometheus prints values as Go floats: also `NaN`, `+Inf`, `-Inf`.
fn parse_value(text: &str) -> Result<f64> {
    match text {
        "NaN" => Ok(f64::NAN),
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => text
            .parse()
            .with_context(|| format!("bad sample value {text:?}")),
    }
}

/// A 127.0.0.1 port free right now (the kernel's pick).
pub fn free_local_port() -> Result<SocketAddr> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("probing a free port")?;
    listener.local_addr().context("local address of the probe")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_quoted_json_yaml() {
        let mut c = ScrapeConfig::new(&["127.0.0.1:9808"]);
        c.target_labels.insert("node".into(), "a\"b".into());
        let v: Value = serde_json::from_str(&c.to_yaml()).unwrap();
        assert_eq!(v["global"]["scrape_interval"], "1000ms");
        assert_eq!(
            v["scrape_configs"][0]["static_configs"][0]["targets"][0],
            "127.0.0.1:9808"
        );
        assert_eq!(
            v["scrape_configs"][0]["static_configs"][0]["labels"]["node"],
            "a\"b"
        );
    }

    #[test]
    fn go_float_values() {
        assert_eq!(parse_value("1234").unwrap(), 1234.0);
        assert_eq!(parse_value("1e+06").unwrap(), 1e6);
        assert!(parse_value("NaN").unwrap().is_nan());
        assert_eq!(parse_value("+Inf").unwrap(), f64::INFINITY);
        assert!(parse_value("x").is_err());
    }
}
