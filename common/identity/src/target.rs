//! What a tool traces: one cgroup (with or without its descendants), one
//! process, both, or the whole host. Resolved once at start-up and handed
//! to collectors, the run loop's watch and the reports as one value.

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::cgroup::{Cgroup, Hierarchy, TargetSpec};
use crate::container::{ContainerInfo, Registry};

/// The resolved `-c TARGET [--exact]` and `-p PID`.
#[derive(Clone, Debug, Default)]
pub struct Target {
    /// The traced cgroup; `None` traces every cgroup.
    pub cgroup: Option<Cgroup>,
    /// Only the cgroup itself, not its descendants.
    pub exact: bool,
    /// Only this process (thread group id).
    pub pid: Option<u32>,
    /// The container (or Kubernetes pod) the traced cgroup belongs to.
    pub container: Option<ContainerInfo>,
    /// The process's start time (clock ticks after boot), to tell it from a
    /// later process that reuses its pid.
    pid_start: Option<u64>,
    /// The cgroup2 mount to ask whether the cgroup still exists by id.
    mount: Option<PathBuf>,
}

/// The target as reports show it in JSON (read back by `--replay`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// Absolute path of the cgroup directory.
    pub path: String,
    /// Path relative to the cgroup2 mount.
    pub cgroup: String,
    /// cgroup v2 id (directory inode).
    pub id: u64,
    /// Whether descendants are included (false with `--exact`).
    pub descendants: bool,
    /// The container (or pod) of the cgroup, `null` when it is none.
    pub container: Option<ContainerInfo>,
    /// The cgroup is the cgroup2 root and descendants are included: every
    /// process of the host is traced (e.g. `-c pid:N` of a process that
    /// was never moved out of the root cgroup).
    pub whole_host: bool,
}

impl Target {
    /// Every process of the host.
    pub fn host() -> Self {
        Self::default()
    }

    /// One cgroup (tests and library users that resolved it themselves).
    pub fn cgroup(cgroup: Cgroup, exact: bool) -> Self {
        Self {
            cgroup: Some(cgroup),
            exact,
            ..Self::default()
        }
    }

    /// Resolves `-c TARGET` (`target`), `--exact` and `-p` (already checked
    /// to exist), asking container runtimes through `registry` when the
    /// target names one.
    pub fn resolve(
        hierarchy: &Hierarchy,
        registry: &mut Registry,
        target: Option<&OsStr>,
        exact: bool,
        pid: Option<u32>,
    ) -> Result<Self> {
        let resolved = target
            .map(|text| TargetSpec::parse(text)?.resolve(hierarchy, registry))
            .transpose()?;
        let (cgroup, container) = match resolved {
            Some(r) => (Some(r.cgroup), r.container),
            None => (None, None),
        };
        Ok(Self {
            cgroup,
            exact,
            pid,
            container,
            pid_start: pid.and_then(process_start),
            mount: Some(hierarchy.root.clone()),
        })
    }

    /// What the in-kernel filter compares (kernel ids only).
    pub fn filter(&self) -> kernel::bpf::TargetFilter {
        kernel::bpf::TargetFilter {
            cgroup: self.cgroup.as_ref().map(|cg| (cg.id, cg.level)),
            exact: self.exact,
            pid: self.pid,
        }
    }

    /// Neither a cgroup nor a process: the whole host.
    pub fn is_host(&self) -> bool {
        self.cgroup.is_none() && self.pid.is_none()
    }

    /// The cgroup part as JSON shows it (`null` when every cgroup is traced).
    pub fn info(&self) -> Option<TargetInfo> {
        self.cgroup.as_ref().map(|cg| TargetInfo {
            path: cg.path.display().to_string(),
            cgroup: cg.rel.clone(),
            id: cg.id,
            descendants: !self.exact,
            container: self.container.clone(),
            whole_host: self.is_whole_host(),
        })
    }

    /// The target cgroup is the root with its descendants: the whole host,
    /// whatever the TARGET looked like.
    pub fn is_whole_host(&self) -> bool {
        self.cgroup.as_ref().is_some_and(|cg| cg.level == 0) && !self.exact
    }

    /// A note for stderr when a `-c` TARGET turned out to mean the whole
    /// host (`given` is the TARGET as typed); `pid_flag` says whether the
    /// tool has `-p` to offer instead.
    pub fn whole_host_note(&self, given: &OsStr, pid_flag: bool) -> Option<String> {
        if !self.is_whole_host() {
            return None;
        }
        let cg = self.cgroup.as_ref()?;
        let given = shown(given);
        let root = kernel::escape::path(&cg.path);
        let what = match given.strip_prefix("pid:") {
            Some(pid) => {
                let alone = if pid_flag {
                    format!("-p {pid} traces that process alone, ")
                } else {
                    String::new()
                };
                format!(
                    "process {pid} is in the root cgroup {root}, so '{given}' covers every \
                     process of the host; {alone}--exact only the processes in the root \
                     cgroup itself"
                )
            }
            None => format!(
                "'{given}' is the root cgroup {root}: with its descendants that is every \
                 process of the host (--exact: only the processes in the root cgroup itself)"
            ),
        };
        Some(format!("note: {what}"))
    }

    /// `cgroup /sys/fs/cgroup/x (id 42, with descendants)` for status lines,
    /// after the container's name when the cgroup is one's:
    /// `container web (docker 3f2a9c1e5b7d), cgroup ...`.
    pub fn describe_cgroup(&self) -> Option<String> {
        self.cgroup.as_ref().map(|cg| {
            let container = self
                .container
                .as_ref()
                .map(|c| {
                    let kind = if c.name.is_none() && c.pod.is_some() {
                        "pod"
                    } else {
                        "container"
                    };
                    format!(
                        "{kind} {} ({} {}), ",
                        kernel::escape::for_terminal(c.label().as_bytes()),
                        c.runtime,
                        c.short_id()
                    )
                })
                .unwrap_or_default();
            format!(
                "{container}cgroup {} (id {}, {})",
                kernel::escape::path(&cg.path),
                cg.id,
                if self.exact {
                    "exact"
                } else {
                    "with descendants"
                }
            )
        })
    }

    /// Why the target no longer exists, if it does not: the cgroup was
    /// removed (or removed and created again: a new id under the old name
    /// is another cgroup), or the process exited (a new process may have
    /// its pid). The cgroup is asked for by id, so a mount of its path that
    /// goes away does not end the run; the path is only a fallback when the
    /// kernel cannot be asked.
    pub fn gone(&self) -> Option<String> {
        if let Some(cg) = &self.cgroup {
            let alive = self
                .mount
                .as_deref()
                .and_then(|m| crate::cgroup::alive::exists(m, cg.id));
            let now_at_path = std::fs::metadata(&cg.path).ok().map(|m| m.ino());
            let removed = match alive {
                Some(alive) => !alive,
                None => now_at_path != Some(cg.id),
            };
            if removed {
                let path = kernel::escape::path(&cg.path);
                return Some(match now_at_path {
                    Some(id) if id != cg.id => format!(
                        "target cgroup {path} was removed (a new cgroup of that name, id {id}, \
                         is not traced: run again to trace it)"
                    ),
                    _ => format!("target cgroup {path} was removed"),
                });
            }
        }
        let pid = self.pid?;
        let now = process_start(pid);
        (now.is_none() || now != self.pid_start).then(|| format!("process {pid} exited"))
    }
}

/// Start time of process `pid` (field 22 of /proc/PID/stat), `None` when
/// it is gone. The comm field may hold spaces and parentheses: fields are
/// counted after its closing parenthesis.
pub fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&stat[after + 1..]).ok()?;
    // After ')': state is field 3, so starttime (22) is the 20th.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// `-c` text for messages: lossy, escaped for the terminal.
pub fn shown(text: &OsStr) -> String {
    use std::os::unix::ffi::OsStrExt;
    kernel::escape::for_terminal(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_start_time_is_stable_and_absent_for_missing_pids() {
        let me = std::process::id();
        assert!(process_start(me).is_some());
        assert_eq!(process_start(me), process_start(me));
        assert_eq!(process_start(u32::MAX), None);
    }

    #[test]
    fn host_target_is_never_gone() {
        let t = Target::host();
        assert!(t.is_host());
        assert_eq!(t.gone(), None);
        assert_eq!(t.info(), None);
    }
}
