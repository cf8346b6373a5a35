//! A container a query matched: what the registry finds and what the
//! explanations of an ambiguous or stopped match list.

use std::path::PathBuf;

use super::info::ContainerInfo;

/// A container that matched a query, running (with a cgroup) or not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub info: ContainerInfo,
    /// Its cgroup v2 directory; `None` when it has none (not running).
    pub cgroup_dir: Option<PathBuf>,
}

impl Candidate {
    /// `web (docker 3f2a9c1e5b7d)`, `shop/web-0/app (containerd 3f2a9c1e5b7d)`.
    pub fn describe(&self) -> String {
        let label = self.info.label();
        let short = self.info.short_id();
        let stopped = if self.cgroup_dir.is_none() {
            ", not running"
        } else {
            ""
        };
        if label == short {
            format!("{short} ({}{stopped})", self.info.runtime)
        } else {
            format!("{label} ({} {short}{stopped})", self.info.runtime)
        }
    }
}
