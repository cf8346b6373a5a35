//! contrace-exporter's command line: the flags, parsed into the library's
//! [`Config`], and one call to [`contrace_exporter::run`].
//!
//! Exit status: 0 clean exit (SIGTERM/SIGINT: programs detached), 1 runtime
//! failure (privileges, BTF, BPF load, a collector failing, the HTTP server
//! stopping), 2 bad arguments, 3 the `--listen` address cannot be listened
//! on (in use, not local, privileged port), 4 the `--web.config.file`
//! cannot be used (unreadable, not YAML, a bad field, a certificate or key
//! that does not load), 130 a second signal while stopping.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use contrace_exporter::{listen, Config, TOOL};

/// Serve per-cgroup syscall, error, namespace-change and block I/O counts
/// from eBPF to Prometheus (`/metrics`; `/healthz` once attached).
#[derive(Debug, Parser)]
#[command(name = "contrace-exporter", version)]
struct Args {
    /// Address to serve on: IP:PORT (no host names).
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:9808", value_parser = listen::parse)]
    listen: SocketAddr,
    /// TLS and basic authentication for the HTTP server: a web
    /// configuration file in the Prometheus exporter toolkit's format
    /// (tls_server_config, basic_auth_users). /healthz stays open to
    /// probes; everything else needs the configured credentials.
    #[arg(long = "web.config.file", value_name = "FILE")]
    web_config_file: Option<PathBuf>,
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
    /// Also ask the container runtimes' APIs for names, over their sockets
    /// (docker, podman, containerd, CRI-O). Off by default: names come
    /// from files (kubelet's /var/log/pods and /var/log/containers, the
    /// runtimes' on-disk state). RISK: a process that can connect() to
    /// the containerd, CRI-O, docker or podman socket can create a
    /// privileged container, which is root on the node; with this flag a
    /// bug in the exporter (a network-facing process) is one step from
    /// that.
    #[arg(long)]
    runtime_api: bool,
    /// Also serve the exporter's own kernel-side cost: run count and run
    /// time of each of its BPF programs (contrace_exporter_bpf_*), from the
    /// kernel's BPF statistics, switched on only while the exporter runs
    /// with this flag (each program run then also pays two clock reads).
    #[arg(long)]
    bpf_stats: bool,
    #[command(flatten)]
    maps: cli::args::MapArgs,
    /// Show libbpf's log.
    #[arg(short = 'v', long)]
    verbose: bool,
}

impl cli::docs::Documented for Args {
    const PAGE: &'static cli::docs::Page = &contrace_exporter::docs::PAGE;
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
    cli::main::<Args>(TOOL, |args| contrace_exporter::run(args.into_config()))
}

impl Args {
    fn into_config(self) -> Config {
        Config {
            listen: self.listen,
            web_config: self.web_config_file,
            latency: self.latency,
            denied: self.denied,
            syscalls: self.syscalls.unwrap_or_default().0,
            top_syscalls: self.top_syscalls,
            top_errnos: self.top_errnos,
            max_series: self.max_series,
            grace: self.grace,
            drain_interval: self.drain_interval,
            namespaces: !self.no_namespaces,
            block: !self.no_block,
            sizing: self.maps.sizing(),
            runtime_api: self.runtime_api,
            bpf_stats: self.bpf_stats,
            verbose: self.verbose,
        }
    }
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
        let a =
            Args::try_parse_from(["x", "--web.config.file", "/w.yml", "--runtime-api"]).unwrap();
        assert_eq!(a.web_config_file, Some(PathBuf::from("/w.yml")));
        let config = a.into_config();
        assert!(config.runtime_api && config.name_sources().containerd_socket.is_some());
        let config = Args::try_parse_from(["x"]).unwrap().into_config();
        let names = config.name_sources();
        assert!(names.engine_sockets.is_empty() && names.cri_sockets.is_empty());
        assert!(names.containerd_socket.is_none());
    }
}
