//! contrace-exporter as a library: one process per node that keeps the
//! contrace tools' BPF collectors attached and serves their counts per
//! cgroup (and container) to Prometheus on `/metrics`. The binary's `main`
//! parses the command line into a [`Config`] and calls [`run`].
//!
//! The pipeline: `sources` (the tools' collectors) → `drain` (the thread
//! that owns them and adds each drain to the `store`) → `identity` (cgroup
//! paths, and container names found by the labeler thread, which answers
//! the drainer) → `metrics` (the store as Prometheus families) → `server`
//! (HTTP or HTTPS per the `web` configuration, `auth`, `tls`).
//!
//! Exit status of [`run`]: 0 clean exit (SIGTERM/SIGINT: programs
//! detached), 1 runtime failure, 3 the listen address cannot be listened
//! on ([`listen::EXIT_LISTEN`]), 4 the web configuration cannot be used
//! ([`web::EXIT_WEB_CONFIG`]); 2 (bad arguments) and 130 (a second
//! signal) come from the command-line layer.

mod auth;
mod bpf_stats;
pub mod docs;
mod drain;
mod identity;
mod labels;
pub mod listen;
mod metrics;
mod server;
mod sources;
mod store;
mod tls;
pub mod web;

use std::collections::BTreeSet;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::identity::cgroup::Hierarchy;
use ::identity::container::Sources;
use anyhow::{anyhow, Result};
use cli::runloop::{RunLoop, Wake};
use kernel::features::Needs;

use crate::listen::{ListenError, EXIT_LISTEN};
use crate::store::{Limits, Store};
use crate::web::{WebConfig, WebConfigError, EXIT_WEB_CONFIG};

pub const TOOL: &str = "contrace-exporter";

/// Everything a run needs, as the command line gave it.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to serve on.
    pub listen: SocketAddr,
    /// `--web.config.file`: TLS and basic authentication.
    pub web_config: Option<PathBuf>,
    /// Time in syscalls (adds the entry hook).
    pub latency: bool,
    /// Calls a seccomp filter denied (adds the entry hook).
    pub denied: bool,
    /// Syscall numbers that always get a series of their own.
    pub syscalls: Vec<u32>,
    pub top_syscalls: usize,
    pub top_errnos: usize,
    pub max_series: usize,
    /// How long a removed cgroup is still served.
    pub grace: Duration,
    /// Background drain period.
    pub drain_interval: Duration,
    /// Count namespace changes.
    pub namespaces: bool,
    /// Count block I/O.
    pub block: bool,
    /// How the syscall counters' kernel hashes are sized.
    pub sizing: kernel::mapsize::Sizing,
    /// Also ask the runtimes' APIs over their sockets for names
    /// (`--runtime-api`); otherwise only files are read.
    pub runtime_api: bool,
    /// Serve the BPF programs' run count and time (`--bpf-stats`).
    pub bpf_stats: bool,
    /// libbpf's log.
    pub verbose: bool,
}

impl Config {
    /// Where container names come from: kubelet's log names and the
    /// runtimes' on-disk state always; their API sockets only when asked,
    /// since whoever can connect to them can start a privileged container.
    pub fn name_sources(&self) -> Sources {
        let files = Sources::default();
        if self.runtime_api {
            return files;
        }
        Sources {
            engine_sockets: Vec::new(),
            containerd_socket: None,
            cri_sockets: Vec::new(),
            ..files
        }
    }
}

/// Runs the exporter until SIGTERM/SIGINT; the listen and web
/// configuration failures get their own exit status.
pub fn run(config: Config) -> Result<ExitCode> {
    let special = |e: &anyhow::Error| {
        if e.downcast_ref::<ListenError>().is_some() {
            Some(EXIT_LISTEN)
        } else if e.downcast_ref::<WebConfigError>().is_some() {
            Some(EXIT_WEB_CONFIG)
        } else {
            None
        }
    };
    match serve(config) {
        Err(e) => match special(&e) {
            Some(code) => {
                // Not eprintln!: it panics when stderr is closed.
                let _ = writeln!(std::io::stderr().lock(), "{TOOL}: {e:#}");
                Ok(ExitCode::from(code))
            }
            None => Err(e),
        },
        ok => ok,
    }
}

/// The web configuration and its TLS settings, loaded and checked.
struct Web {
    config: WebConfig,
    tls: Option<Arc<rustls::ServerConfig>>,
}

fn load_web(file: Option<&PathBuf>) -> Result<Web, WebConfigError> {
    let Some(file) = file else {
        return Ok(Web {
            config: WebConfig::default(),
            tls: None,
        });
    };
    let config = web::load(file)?;
    let tls = match &config.tls {
        Some(settings) => Some(tls::server_config(file, settings)?),
        None => None,
    };
    Ok(Web { config, tls })
}

fn serve(config: Config) -> Result<ExitCode> {
    // The web configuration and the address first: a bad file or a port
    // in use fails before any BPF work.
    let web = load_web(config.web_config.as_ref())?;
    let listener = listen::bind(config.listen)?;
    let addr = listener.local_addr().unwrap_or(config.listen);
    let hierarchy = Hierarchy::detect()?;
    kernel::preflight::check(
        TOOL,
        Needs {
            ring_buffer: config.namespaces,
        },
    )?;
    kernel::bpf::init_libbpf_log(config.verbose);

    let store = Arc::new(Mutex::new(Store::new(limits(&config), config.latency)));
    let ready = Arc::new(AtomicBool::new(false));
    let mut run_loop = RunLoop::new(None, None);
    cli::signals::stop_on_signals(run_loop.handle())?;

    let (started_tx, started) = mpsc::channel();
    let drainer = drain::Drainer::spawn(
        drain_config(&config, hierarchy.root.clone()),
        Arc::clone(&store),
        Arc::clone(&ready),
        run_loop.handle(),
        started_tx,
    )?;
    // Up before the programs are: /healthz says 503 until they are attached.
    let shared = Arc::new(server::Shared::new(
        metrics::registry(Arc::clone(&store)),
        Arc::clone(&ready),
        drainer.requests.clone(),
        auth::BasicAuth::new(web.config.users.clone()),
        header_pairs(&web.config),
    ));
    let http = server::HttpServer::start(listener, web.tls.clone(), shared, run_loop.handle())?;
    let running = Running { http, drainer };
    match running.wait_attached(&started, &mut run_loop) {
        Ok(true) => {}
        Ok(false) => {
            running.stop()?;
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => {
            let _ = running.stop();
            return Err(e);
        }
    }
    cli::output::status(&serving_line(&config, &web, addr));
    run_loop.wait();
    running.stop()?;
    cli::output::status(&format!("{TOOL}: programs detached, exiting"));
    Ok(ExitCode::SUCCESS)
}

/// The HTTP server and the drainer, stopped together.
struct Running {
    http: server::HttpServer,
    drainer: drain::Drainer,
}

impl Running {
    /// Waits for the programs to be attached: `Ok(false)` when a signal
    /// came first (everything stopped). Loading can take seconds.
    fn wait_attached(
        &self,
        started: &Receiver<Result<()>>,
        run_loop: &mut RunLoop,
    ) -> Result<bool> {
        loop {
            match started.recv_timeout(Duration::from_millis(100)) {
                Ok(Ok(())) => return Ok(true),
                Ok(Err(e)) => return Err(e),
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(anyhow!(
                        "the drainer thread ended while attaching the programs"
                    ))
                }
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(Wake::Finish(_)) = run_loop.try_wake() {
                        return Ok(false);
                    }
                }
            }
        }
    }

    /// Stops serving, then detaches the programs and takes the last counts.
    fn stop(self) -> Result<()> {
        let http = self.http.shutdown();
        self.drainer.stop()?;
        http
    }
}

fn limits(config: &Config) -> Limits {
    Limits {
        top_syscalls: config.top_syscalls,
        always: config.syscalls.iter().copied().collect::<BTreeSet<_>>(),
        top_errnos: config.top_errnos,
        max_series: config.max_series,
        grace: config.grace,
    }
}

fn drain_config(config: &Config, cgroup_root: PathBuf) -> drain::Config {
    drain::Config {
        cgroup_root,
        latency: config.latency,
        denied: config.denied || config.latency,
        namespaces: config.namespaces,
        block: config.block,
        interval: config.drain_interval,
        sizing: config.sizing,
        names: config.name_sources(),
        bpf_stats: config.bpf_stats,
    }
}

/// The web configuration's headers (checked when it was loaded).
fn header_pairs(web: &WebConfig) -> Vec<(hyper::header::HeaderName, hyper::header::HeaderValue)> {
    web.headers
        .iter()
        .filter_map(|(name, value)| Some((name.parse().ok()?, value.parse().ok()?)))
        .collect()
}

fn serving_line(config: &Config, web: &Web, addr: SocketAddr) -> String {
    let scheme = if web.tls.is_some() { "https" } else { "http" };
    let auth = if web.config.users.is_empty() {
        ""
    } else {
        ", basic auth"
    };
    let what = if config.latency {
        "counts, denied calls and latency"
    } else if config.denied {
        "counts and denied calls"
    } else {
        "counts, exit hook only"
    };
    format!("{TOOL}: serving {scheme}://{addr}/metrics ({what}{auth}). Ctrl-C or SIGTERM to stop")
}
