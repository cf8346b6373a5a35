//! The enrichment stage between collecting and printing: BPF reports kernel
//! ids (cgroup ids); a [`Resolver`] turns them into what people recognise:
//! the cgroup's path and, when it is one's, the container or Kubernetes pod.
//! Reports resolve while they are built, never while they are formatted.
//!
//! Host-wide, [`Identities::name_at_birth`] names each cgroup the moment it
//! is made ([`births`]) and keeps that name after it is gone, so a container
//! born and gone between two reports is still named in them.

pub mod births;

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cgroup::CgroupNames;
use crate::container::{ContainerInfo, Registry};

/// A cgroup as reports name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CgroupName {
    /// Its path relative to the cgroup2 mount (`/docker/<id>`).
    Path(String),
    /// Gone before anything saw its path: only its id is known.
    Unseen(u64),
}

impl CgroupName {
    /// The path, when it is known.
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Path(p) => Some(p),
            Self::Unseen(_) => None,
        }
    }
}

/// How the tables and JSON show it (`<cgroup id N, removed>` for an
/// unseen one, as they always have).
impl fmt::Display for CgroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path(p) => f.write_str(p),
            Self::Unseen(id) => write!(f, "<cgroup id {id}, removed>"),
        }
    }
}

/// Turns kernel ids into names.
pub trait Resolver {
    /// Cgroup `id`: its path, or [`CgroupName::Unseen`].
    fn cgroup(&mut self, id: u64) -> CgroupName;

    /// Cgroup `id` as text: its path relative to the cgroup2 mount
    /// (`/system.slice/x`), or the unseen form.
    fn cgroup_path(&mut self, id: u64) -> String {
        self.cgroup(id).to_string()
    }

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
    fn cgroup(&mut self, id: u64) -> CgroupName {
        self.path(id)
            .map_or(CgroupName::Unseen(id), CgroupName::Path)
    }
}

/// Paths from the cgroup tree, containers from the runtimes.
pub struct Identities {
    root: PathBuf,
    names: CgroupNames,
    registry: Registry,
    /// Names taken when each cgroup was made (host-wide runs).
    births: Option<births::Births>,
}

impl Identities {
    /// Walks the cgroup tree under `root` now; the runtimes are asked
    /// lazily, when a row's cgroup looks like a container's.
    pub fn new(root: &Path, registry: Registry) -> Self {
        Self {
            root: root.to_path_buf(),
            names: CgroupNames::new(root.to_path_buf()),
            registry,
            births: None,
        }
    }

    /// From now on, names every cgroup when it is made (and every one
    /// there now) and keeps those names: see [`births`]. Loads a small BPF
    /// program; an error leaves names looked up at report time, as before.
    pub fn name_at_birth(&mut self) -> Result<()> {
        if self.births.is_none() {
            self.births = Some(births::Births::start(&self.root)?);
        }
        Ok(())
    }
}

impl Resolver for Identities {
    fn cgroup(&mut self, id: u64) -> CgroupName {
        if let Some(seen) = self.births.as_ref().and_then(|b| b.get(id)) {
            return CgroupName::Path(seen.path);
        }
        self.names.cgroup(id)
    }

    fn container(&mut self, id: u64) -> Option<ContainerInfo> {
        let seen = self.births.as_ref().and_then(|b| b.get(id));
        if let Some(c) = seen.as_ref().and_then(|s| s.container.as_ref()) {
            if c.name.is_some() {
                return Some(c.clone());
            }
        }
        // Not named at birth (or no name then): the runtimes may know now.
        let path = match self.cgroup(id) {
            CgroupName::Path(p) => p,
            CgroupName::Unseen(_) => return None,
        };
        self.registry
            .identify(&path)
            .or_else(|| seen.and_then(|s| s.container))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unseen_cgroup_shows_as_it_always_has() {
        assert_eq!(CgroupName::Unseen(7).to_string(), "<cgroup id 7, removed>");
        assert_eq!(CgroupName::Path("/a/b".into()).to_string(), "/a/b");
        assert_eq!(CgroupName::Unseen(7).path(), None);
    }
}
