//! Who a cgroup id is: its path relative to the cgroup2 mount (what the
//! tools' JSON shows) and, for containers, the container and pod labels.
//! The exporter asks once per cgroup, when the cgroup is first counted, so
//! a series keeps its labels for its whole life.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::cgroup::CgroupNames;
use common::container::{ContainerInfo, Registry};
use common::identity::Resolver;

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

/// Names for cgroup ids.
pub trait Identity {
    /// Path relative to the cgroup2 mount (`/system.slice/x.service`).
    fn cgroup_path(&mut self, id: u64) -> String;

    /// The container running in cgroup `id` (at `path`), if it is one.
    fn container(&mut self, id: u64, path: &str) -> Option<ContainerLabels>;

    /// Whether cgroup `id` still exists at `path` (a recreated directory has
    /// a new id: that is another cgroup).
    fn exists(&self, id: u64, path: &str) -> bool;

    /// Called on every sweep with the number of removed cgroups the store
    /// just dropped, so caches of ids never grow without bound on a node
    /// with churn.
    fn maintain(&mut self, forgotten: usize);
}

/// The host's cgroup2 tree through common's resolver, and its containers
/// through common's container registry (runtime APIs, on-disk state,
/// cgroup naming).
pub struct HostIdentity {
    root: PathBuf,
    names: CgroupNames,
    containers: Registry,
    /// Removed cgroups forgotten since the name cache was last rebuilt.
    forgotten: usize,
    /// When the name cache was last built.
    built: Instant,
}

/// Rebuild the name cache after this many removed cgroups, or this long:
/// it remembers every id it ever saw, removed ones included.
const REBUILD_AFTER: usize = 1024;
const REBUILD_EVERY: Duration = Duration::from_secs(600);

impl HostIdentity {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            names: CgroupNames::new(root.to_path_buf()),
            containers: Registry::new(root),
            forgotten: 0,
            built: Instant::now(),
        }
    }
}

impl Identity for HostIdentity {
    fn cgroup_path(&mut self, id: u64) -> String {
        self.names.cgroup_path(id)
    }

    fn container(&mut self, _id: u64, path: &str) -> Option<ContainerLabels> {
        self.containers.identify(path).map(ContainerLabels::from)
    }

    fn exists(&self, id: u64, path: &str) -> bool {
        let dir = self.root.join(path.trim_start_matches('/'));
        std::fs::metadata(dir).is_ok_and(|m| m.is_dir() && m.ino() == id)
    }

    fn maintain(&mut self, forgotten: usize) {
        self.forgotten += forgotten;
        // Also on a timer: ids of cgroups that were never served (over the
        // series budget, or gone before their first drain) are cached too.
        if self.forgotten >= REBUILD_AFTER || self.built.elapsed() >= REBUILD_EVERY {
            self.names = CgroupNames::new(self.root.clone());
            self.forgotten = 0;
            self.built = Instant::now();
        }
    }
}
