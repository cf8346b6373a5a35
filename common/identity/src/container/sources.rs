//! Where the registry looks for container names, and what it found there.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::info::Runtime;

/// Sockets and state directories the registry consults. `default()` is
/// the standard locations; tests point them elsewhere.
#[derive(Clone, Debug)]
pub struct Sources {
    /// Docker Engine API sockets: docker's, and podman's compatible service.
    pub engine_sockets: Vec<(PathBuf, Runtime)>,
    /// containerd's gRPC socket (all namespaces are listed).
    pub containerd_socket: Option<PathBuf>,
    /// Kubernetes CRI sockets (CRI-O; containerd serves CRI on its socket).
    pub cri_sockets: Vec<(PathBuf, Runtime)>,
    /// docker's `containers/<id>/config.v2.json` directory.
    pub docker_state: PathBuf,
    /// podman's (c/storage) storage root, whose `<driver>-containers/`
    /// hold `containers.json` (or one such file).
    pub podman_state: PathBuf,
    /// containerd's task bundles (`<namespace>/<id>/config.json`).
    pub containerd_tasks: PathBuf,
    /// kubelet's log directory (`pods/`, `containers/` below it).
    pub kubelet_logs: PathBuf,
    /// runc state roots (`<root>/<id>/state.json`) for plain runc containers.
    pub runc_roots: Vec<PathBuf>,
    /// Connecting to a socket; a live daemon answers in well under this.
    pub connect_timeout: Duration,
    /// One whole listing request, after connecting.
    pub request_timeout: Duration,
    /// Least time between two refreshes caused by unknown ids.
    pub refresh_every: Duration,
}

impl Default for Sources {
    fn default() -> Self {
        let docker = std::env::var("DOCKER_HOST")
            .ok()
            .and_then(|h| h.strip_prefix("unix://").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock"));
        Self {
            engine_sockets: vec![
                (docker, Runtime::Docker),
                (PathBuf::from("/run/podman/podman.sock"), Runtime::Podman),
            ],
            containerd_socket: Some(PathBuf::from("/run/containerd/containerd.sock")),
            cri_sockets: vec![
                (PathBuf::from("/var/run/crio/crio.sock"), Runtime::CriO),
                // containerd's own API already lists its CRI containers with
                // their Kubernetes labels; its CRI endpoint is the fallback
                // when the containerd API is not reachable (rare), so it is
                // not listed twice here.
            ],
            docker_state: PathBuf::from("/var/lib/docker/containers"),
            podman_state: PathBuf::from("/var/lib/containers/storage"),
            containerd_tasks: PathBuf::from("/run/containerd/io.containerd.runtime.v2.task"),
            kubelet_logs: PathBuf::from("/var/log"),
            runc_roots: vec![PathBuf::from("/run/runc")],
            connect_timeout: Duration::from_millis(300),
            request_timeout: Duration::from_secs(3),
            refresh_every: Duration::from_secs(5),
        }
    }
}

impl Sources {
    /// The same on-disk state, no daemon.
    pub fn disk_only(&self) -> Self {
        Self {
            engine_sockets: Vec::new(),
            containerd_socket: None,
            cri_sockets: Vec::new(),
            ..self.clone()
        }
    }

    /// Whether any daemon is named (whether or not its socket is there).
    pub fn has_daemons(&self) -> bool {
        !self.engine_sockets.is_empty()
            || self.containerd_socket.is_some()
            || !self.cri_sockets.is_empty()
    }

    /// No daemon and no state: only the cgroup naming.
    pub fn none() -> Self {
        Self {
            engine_sockets: Vec::new(),
            containerd_socket: None,
            cri_sockets: Vec::new(),
            docker_state: PathBuf::new(),
            podman_state: PathBuf::new(),
            containerd_tasks: PathBuf::new(),
            kubelet_logs: PathBuf::new(),
            runc_roots: Vec::new(),
            ..Self::default()
        }
    }
}

/// What one source gave at the last refresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceStatus {
    /// No socket or directory there: nothing was tried.
    Absent,
    /// Skipped because a better source for the same runtime answered.
    Skipped,
    /// Answered, with this many containers.
    Listed(usize),
    /// There but failing (refused, timed out, unreadable).
    Failed(String),
}

/// One source and its status, for "where did it look" messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceReport {
    /// e.g. `docker API /var/run/docker.sock`.
    pub what: String,
    pub status: SourceStatus,
}

impl fmt::Display for SourceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.status {
            SourceStatus::Absent => write!(f, "{} (absent)", self.what),
            SourceStatus::Skipped => write!(f, "{} (not needed)", self.what),
            SourceStatus::Listed(n) => write!(f, "{} ({n} containers)", self.what),
            SourceStatus::Failed(e) => write!(f, "{} (failed: {e})", self.what),
        }
    }
}
