//! One-line usage messages for container queries that did not resolve.

use std::path::Path;

use super::candidate::Candidate;
use super::sources::{SourceReport, SourceStatus};

/// Candidates listed in full before the rest is counted.
const LISTED: usize = 8;

/// `container 'web' is ambiguous: web (docker 3f2a9c1e5b7d), web (podman
/// a1f168bebc9d); give more of the id, or NAMESPACE/POD/CONTAINER`.
pub fn ambiguous_line(query: &str, candidates: &[Candidate]) -> String {
    let mut listed: Vec<String> = candidates
        .iter()
        .take(LISTED)
        .map(Candidate::describe)
        .collect();
    if candidates.len() > LISTED {
        listed.push(format!("and {} more", candidates.len() - LISTED));
    }
    let kube = candidates.iter().any(|c| c.info.pod.is_some());
    format!(
        "container '{}' is ambiguous: {}; give {}",
        esc(query),
        listed.join(", "),
        if kube {
            "NAMESPACE/POD/CONTAINER or more of the id"
        } else {
            "more of the id"
        }
    )
}

/// `container 'web' (docker 3f2a9c1e5b7d) is not running: no cgroup under …`.
pub fn not_running_line(query: &str, candidate: &Candidate, cgroup_root: &Path) -> String {
    format!(
        "container '{}' ({} {}) is not running: it has no cgroup under {}; start it first",
        esc(query),
        candidate.info.runtime,
        candidate.info.short_id(),
        kernel::escape::path(cgroup_root)
    )
}

/// `no container 'web': asked docker API /var/run/docker.sock (2
/// containers), …; no runtime socket at …; 3 container cgroups under
/// /sys/fs/cgroup; give a name, an id prefix, NAMESPACE/POD[/CONTAINER], a
/// pod UID or a cgroup path`.
pub fn unknown_line(
    query: &str,
    reports: &[SourceReport],
    cgroup_root: &Path,
    container_cgroups: usize,
) -> String {
    let looked: Vec<String> = reports
        .iter()
        .filter(|r| !matches!(r.status, SourceStatus::Absent))
        .map(ToString::to_string)
        .collect();
    let absent: Vec<&str> = reports
        .iter()
        .filter(|r| matches!(r.status, SourceStatus::Absent))
        .map(|r| r.what.as_str())
        .collect();
    let mut parts = Vec::new();
    if !looked.is_empty() {
        parts.push(format!("looked in {}", looked.join(", ")));
    }
    if !absent.is_empty() {
        parts.push(format!("not on this host: {}", absent.join(", ")));
    }
    parts.push(format!(
        "{container_cgroups} container cgroups under {}",
        kernel::escape::path(cgroup_root)
    ));
    format!(
        "no container '{}': {}; give a container name or id (prefix), NAMESPACE/POD[/CONTAINER], \
         a pod UID, or a cgroup path",
        esc(query),
        parts.join("; ")
    )
}

/// The user's text, safe to print.
fn esc(text: &str) -> String {
    kernel::escape::for_terminal(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::{ContainerInfo, Runtime};
    use std::path::PathBuf;

    fn cand(id: &str, name: Option<&str>, rt: Runtime, running: bool) -> Candidate {
        Candidate {
            info: ContainerInfo {
                id: id.into(),
                name: name.map(Into::into),
                image: None,
                runtime: rt,
                pod: None,
                namespace: None,
                pod_uid: None,
            },
            cgroup_dir: running.then(|| PathBuf::from("/sys/fs/cgroup/x")),
        }
    }

    #[test]
    fn ambiguous() {
        let line = ambiguous_line(
            "web",
            &[
                cand(&"3f2a".repeat(16), Some("web"), Runtime::Docker, true),
                cand(&"a1f1".repeat(16), Some("web"), Runtime::Podman, false),
            ],
        );
        assert_eq!(
            line,
            "container 'web' is ambiguous: web (docker 3f2a3f2a3f2a), \
             web (podman a1f1a1f1a1f1, not running); give more of the id"
        );
        let many: Vec<Candidate> = (0..10)
            .map(|i| cand(&format!("{i:064x}"), None, Runtime::Unknown, true))
            .collect();
        let line = ambiguous_line("0000", &many);
        assert!(line.contains("and 2 more"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn unknown() {
        let reports = vec![
            SourceReport {
                what: "docker API /var/run/docker.sock".into(),
                status: SourceStatus::Listed(2),
            },
            SourceReport {
                what: "podman API /run/podman/podman.sock".into(),
                status: SourceStatus::Absent,
            },
            SourceReport {
                what: "containerd API /run/containerd/containerd.sock".into(),
                status: SourceStatus::Failed("connecting: refused".into()),
            },
        ];
        let line = unknown_line("we\u{1b}b", &reports, Path::new("/sys/fs/cgroup"), 3);
        assert_eq!(
            line,
            "no container 'we\\eb': looked in docker API /var/run/docker.sock (2 containers), \
             containerd API /run/containerd/containerd.sock (failed: connecting: refused); \
             not on this host: podman API /run/podman/podman.sock; \
             3 container cgroups under /sys/fs/cgroup; give a container name or id (prefix), \
             NAMESPACE/POD[/CONTAINER], a pod UID, or a cgroup path"
        );
    }

    #[test]
    fn not_running() {
        let c = cand(&"3f2a".repeat(16), Some("web"), Runtime::Docker, false);
        assert_eq!(
            not_running_line("web", &c, Path::new("/sys/fs/cgroup")),
            "container 'web' (docker 3f2a3f2a3f2a) is not running: it has no cgroup under \
             /sys/fs/cgroup; start it first"
        );
    }
}
