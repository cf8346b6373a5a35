//! cgroup v2: where it is mounted, turning a user's TARGET into a cgroup id
//! (and depth) for the BPF filter, and turning ids back into paths.

pub mod mountinfo;
pub mod names;
pub mod target;

pub use mountinfo::Hierarchy;
pub use names::CgroupNames;
pub use target::{Cgroup, TargetSpec};

use anyhow::Result;
use serde::Serialize;

/// Resolves an optional `-c TARGET`: the host's hierarchy and, when given,
/// the cgroup. Bad targets are usage errors (exit 2), before any BPF work.
pub fn resolve_target(arg: Option<&str>) -> Result<(Hierarchy, Option<Cgroup>)> {
    let hierarchy = Hierarchy::detect()?;
    let target = arg
        .map(|t| TargetSpec::parse(t)?.resolve(&hierarchy))
        .transpose()?;
    Ok((hierarchy, target))
}

/// The target as reports show it in JSON.
#[derive(Clone, Debug, Serialize)]
pub struct TargetInfo {
    /// Absolute path of the cgroup directory.
    pub path: String,
    /// Path relative to the cgroup2 mount.
    pub cgroup: String,
    /// cgroup v2 id (directory inode).
    pub id: u64,
    /// Whether descendants are included (false with `--exact`).
    pub descendants: bool,
}

impl Cgroup {
    pub fn info(&self, exact: bool) -> TargetInfo {
        TargetInfo {
            path: self.path.display().to_string(),
            cgroup: self.rel.clone(),
            id: self.id,
            descendants: !exact,
        }
    }

    /// `cgroup /sys/fs/cgroup/x (id 42, with descendants)` for status lines.
    pub fn describe(&self, exact: bool) -> String {
        format!(
            "cgroup {} (id {}, {})",
            crate::escape::path(&self.path),
            self.id,
            if exact { "exact" } else { "with descendants" }
        )
    }
}
