//! The enrichment stage between collecting and printing: BPF reports kernel
//! ids (cgroup ids); a [`Resolver`] turns them into what people recognise:
//! the cgroup's path and, when it is one's, the container or Kubernetes pod.
//! Reports resolve while they are built, never while they are formatted.

use std::path::Path;

use crate::cgroup::CgroupNames;
use crate::container::{ContainerInfo, Registry};

/// Turns kernel ids into names.
pub trait Resolver {
    /// Path of cgroup `id` relative to the cgroup2 mount (`/system.slice/x`).
    fn cgroup_path(&mut self, id: u64) -> String;

    /// The container (or pod) cgroup `id` belongs to, if any.
    fn container(&mut self, _id: u64) -> Option<ContainerInfo> {
        None
    }

    /// How a table names cgroup `id`: the container's label (name, or
    /// `NAMESPACE/POD/NAME`) when it is one's, else its path.
    fn display_name(&mut self, id: u64) -> String {
        match self.container(id) {
            Some(c) => c.label(),
            None => self.cgroup_path(id),
        }
    }
}

/// How a table names a cgroup whose path and container were resolved
/// already (a report read back by `--replay`): as [`Resolver::display_name`].
pub fn shown_as(container: Option<&ContainerInfo>, path: &str) -> String {
    match container {
        Some(c) => c.label(),
        None => path.to_string(),
    }
}

impl Resolver for CgroupNames {
    fn cgroup_path(&mut self, id: u64) -> String {
        self.name(id)
    }
}

/// Paths from the cgroup tree, containers from the runtimes.
pub struct Identities {
    names: CgroupNames,
    registry: Registry,
}

impl Identities {
    /// Walks the cgroup tree under `root` now; the runtimes are asked
    /// lazily, when a row's cgroup looks like a container's.
    pub fn new(root: &Path, registry: Registry) -> Self {
        Self {
            names: CgroupNames::new(root.to_path_buf()),
            registry,
        }
    }
}

impl Resolver for Identities {
    fn cgroup_path(&mut self, id: u64) -> String {
        self.names.name(id)
    }

    fn container(&mut self, id: u64) -> Option<ContainerInfo> {
        let path = self.names.name(id);
        self.registry.identify(&path)
    }
}
