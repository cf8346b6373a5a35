//! contrace-exporter: one process per node that keeps the contrace tools'
//! BPF collectors attached and serves their counts per cgroup (and
//! container) to Prometheus on `/metrics`.
//!
//! Exit status: 0 clean exit (SIGTERM/SIGINT: programs detached), 1 runtime
//! failure (privileges, BTF, BPF load, a collector failing), 2 bad
//! arguments, 3 the `--listen` address cannot be listened on (in use, not
//! local, privileged port), 130 a second signal while stopping.

mod docs;
mod drain;
mod identity;
mod listen;
mod metrics;
mod server;
mod sources;
mod store;

use std::collections::BTreeSet;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::identity::cgroup::Hierarchy;
use anyhow::{anyhow, Result};
use clap::Parser;
use cli::runloop::{RunLoop, Wake};
use kernel::features::Needs;

use crate::listen::{ListenError, EXIT_LISTEN};
use crate::store::{Limits, Store};

const TOOL: &str = "contrace-exporter";

/// Serve per-cgroup syscall, error, namespace-change and block I/O counts
/// from eBPF to Prometheus (`/metrics`; `/healthz` once attached).
#[derive(Debug, Parser)]
#[command(name = "contrace-exporter", version)]
struct Args {
    /// Address to serve on: IP:PORT (no host names).
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:9808", value_parser = listen::parse)]
    listen: SocketAddr,
    /// Also measure time in syscalls (contrace_syscall_seconds_total): adds
    /// the syscall entry hook, about twice the always-on cost.
    #[arg(long)]
    latency: bool,
    /// Also count calls a seccomp filter denied before they ran
    /// (contrace_syscall_denied_total): adds the syscall entry hook (an
    /// exit without an entry is a denied call). Implied by --latency.
    #[arg(long)]
    denied: bool,
    /// Syscalls that always get a series of their own, comma-separated
    /// (e.g. execve,openat,connect).
    #[arg(long, value_name = "LIST", value_parser = syscall_list)]
    syscalls: Option<SyscallList>,
    /// Other syscalls with a series of their own per cgroup: the busiest
    /// when they first appear; later ones count as syscall="other".
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = count)]
    top_syscalls: usize,
    /// Errnos with a series of their own per cgroup; later ones count as
    /// errno="other".
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = count)]
    top_errnos: usize,
    /// Series budget of the node: once reached, cgroups not seen before are
    /// not exported (counted in contrace_exporter_dropped_total).
    #[arg(long, value_name = "N", default_value_t = 50_000, value_parser = count)]
    max_series: usize,
    /// Seconds a removed cgroup is still served, so its last counts reach
    /// Prometheus.
    #[arg(long, value_name = "SECONDS", default_value = "120", value_parser = cli::args::seconds)]
    grace: Duration,
    /// Seconds between background drains of the kernel maps (scrapes also
    /// drain, for fresh values).
    #[arg(long, value_name = "SECONDS", default_value = "1", value_parser = cli::args::seconds)]
    drain_interval: Duration,
    /// Do not count namespace changes (unshare, setns, clone, clone3).
    #[arg(long)]
    no_namespaces: bool,
    /// Do not count block I/O.
    #[arg(long)]
    no_block: bool,
    #[command(flatten)]
    maps: cli::args::MapArgs,
    /// Show libbpf's log.
    #[arg(short = 'v', long)]
    verbose: bool,
}

impl cli::docs::Documented for Args {
    const PAGE: &'static cli::docs::Page = &docs::PAGE;
}

/// A count flag: 0 to 1 000 000.
fn count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n <= 1_000_000 => Ok(n),
        Ok(_) => Err(format!("'{text}' is too large (at most 1000000)")),
        Err(_) => Err(format!("'{text}' is not a whole number")),
    }
}

/// `--syscalls`: numbers (one value to clap, not a list of values).
#[derive(Clone, Debug, Default)]
struct SyscallList(Vec<u32>);

fn syscall_list(text: &str) -> Result<SyscallList, String> {
    kernel::syscalls::parse_list(text).map(SyscallList)
}

fn main() -> ExitCode {
    cli::main::<Args>(TOOL, run)
}

/// [`serve`], with the listen failure's own exit status.
fn run(args: Args) -> Result<ExitCode> {
    match serve(args) {
        Err(e) if e.downcast_ref::<ListenError>().is_some() => {
            // Not eprintln!: it panics when stderr is closed.
            let _ = writeln!(std::io::stderr().lock(), "{TOOL}: {e:#}");
            Ok(ExitCode::from(EXIT_LISTEN))
        }
        other => other,
    }
}

fn serve(args: Args) -> Result<ExitCode> {
    // The address first: a port in use fails before any BPF work.
    let listener = listen::bind(args.listen)?;
    let addr = listener.local_addr().unwrap_or(args.listen);
    let hierarchy = Hierarchy::detect()?;
    let namespaces = !args.no_namespaces;
    kernel::preflight::check(
        TOOL,
        Needs {
            ring_buffer: namespaces,
        },
    )?;
    kernel::bpf::init_libbpf_log(args.verbose);

    let limits = Limits {
        top_syscalls: args.top_syscalls,
        always: args
            .syscalls
            .unwrap_or_default()
            .0
            .into_iter()
            .collect::<BTreeSet<_>>(),
        top_errnos: args.top_errnos,
        max_series: args.max_series,
        grace: args.grace,
    };
    let store = Arc::new(Mutex::new(Store::new(limits, args.latency)));
    let ready = Arc::new(AtomicBool::new(false));
    let mut run_loop = RunLoop::new(None, None);
    cli::signals::stop_on_signals(run_loop.handle())?;

    let (started_tx, started) = mpsc::channel();
    let drainer = drain::Drainer::spawn(
        drain::Config {
            cgroup_root: hierarchy.root.clone(),
            latency: args.latency,
            denied: args.denied || args.latency,
            namespaces,
            block: !args.no_block,
            interval: args.drain_interval,
            sizing: args.maps.sizing(),
        },
        Arc::clone(&store),
        Arc::clone(&ready),
        run_loop.handle(),
        started_tx,
    )?;
    // Up before the programs are: /healthz says 503 until they are attached.
    let shared = Arc::new(server::Shared {
        registry: metrics::registry(Arc::clone(&store)),
        ready: Arc::clone(&ready),
        drains: Mutex::new(drainer.requests.clone()),
    });
    let http = server::HttpServer::start(listener, shared, run_loop.handle())?;

    // Loading can take seconds: a signal meanwhile still ends the run.
    loop {
        match started.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok(())) => break,
            Ok(Err(e)) => {
                http.shutdown();
                let _ = drainer.stop();
                return Err(e);
            }
            Err(RecvTimeoutError::Disconnected) => {
                http.shutdown();
                drainer.stop()?;
                return Err(anyhow!(
                    "the drainer thread ended while attaching the programs"
                ));
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Some(Wake::Finish(_)) = run_loop.try_wake() {
                    http.shutdown();
                    drainer.stop()?;
                    return Ok(ExitCode::SUCCESS);
                }
            }
        }
    }
    cli::output::status(&format!(
        "{TOOL}: serving http://{addr}/metrics ({}). Ctrl-C or SIGTERM to stop",
        if args.latency {
            "counts, denied calls and latency"
        } else if args.denied {
            "counts and denied calls"
        } else {
            "counts, exit hook only"
        }
    ));
    run_loop.wait();
    http.shutdown();
    // Detaches the programs and takes the last counts.
    drainer.stop()?;
    cli::output::status(&format!("{TOOL}: programs detached, exiting"));
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn arguments_parse() {
        Args::command().debug_assert();
        let a = Args::try_parse_from(["x", "--syscalls", "getppid,openat", "--top-syscalls", "0"])
            .unwrap();
        assert_eq!(a.syscalls.unwrap().0.len(), 2);
        assert_eq!(a.top_syscalls, 0);
        assert_eq!(a.listen.port(), 9808);
        assert!(Args::try_parse_from(["x", "--syscalls", "nosuchcall"]).is_err());
        assert!(Args::try_parse_from(["x", "--grace", "0"]).is_err());
    }
}
