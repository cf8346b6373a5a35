//! Who a cgroup id is: its path relative to the cgroup2 mount (what the
//! tools' JSON shows) and, for containers, the container and pod labels,
//! through common's resolver. The exporter asks when a cgroup is first
//! counted and keeps the answer for the life of its series, asking again
//! only while the answer is incomplete (see `drain::sweep`).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::container::{ContainerInfo, Registry};
use common::identity::{Identities, Resolver};

/// The container labels of a cgroup; empty strings where unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerLabels {
    pub id: String,
    pub name: String,
    pub pod: String,
    pub namespace: String,
}

impl From<ContainerInfo> for ContainerLabels {
    fn from(c: ContainerInfo) -> Self {
        Self {
            id: c.id,
            name: c.name.unwrap_or_default(),
            pod: c.pod.unwrap_or_default(),
            namespace: c.namespace.unwrap_or_default(),
        }
    }
}

impl ContainerLabels {
    /// A container whose runtime has not told its name yet: worth asking
    /// again while the cgroup is young.
    pub fn incomplete(&self) -> bool {
        !self.id.is_empty() && self.name.is_empty()
    }
}

/// Whether `path` is the resolver's stand-in for a cgroup it could not
/// find (gone before it was looked up, or created after its last walk).
pub fn unresolved(path: &str) -> bool {
    path.starts_with("<cgroup id ")
}

/// Names for cgroup ids.
pub trait Identity {
    /// Path relative to the cgroup2 mount (`/system.slice/x.service`).
    fn cgroup_path(&mut self, id: u64) -> String;

    /// The container running in cgroup `id`, if it is one.
    fn container(&mut self, id: u64) -> Option<ContainerLabels>;

    /// Whether cgroup `id` still exists at `path` (a recreated directory has
    /// a new id: that is another cgroup).
    fn exists(&self, id: u64, path: &str) -> bool;
}

/// The host's cgroup2 tree and its containers (runtime APIs, on-disk
/// state, cgroup naming).
pub struct HostIdentity {
    root: PathBuf,
    resolver: Identities,
}

impl HostIdentity {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            resolver: Identities::new(root, Registry::new(root)),
        }
    }
}

impl Identity for HostIdentity {
    fn cgroup_path(&mut self, id: u64) -> String {
        self.resolver.cgroup_path(id)
    }

    fn container(&mut self, id: u64) -> Option<ContainerLabels> {
        self.resolver.container(id).map(ContainerLabels::from)
    }

    fn exists(&self, id: u64, path: &str) -> bool {
        if unresolved(path) {
            return false;
        }
        let dir = self.root.join(path.trim_start_matches('/'));
        std::fs::metadata(dir).is_ok_and(|m| m.is_dir() && m.ino() == id)
    }
}
