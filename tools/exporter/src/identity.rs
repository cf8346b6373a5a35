//! Who a cgroup id is: its path relative to the cgroup2 mount (what the
//! tools' JSON shows), looked up by the drainer, and for containers the
//! container and pod labels, looked up by the labeler thread (runtime APIs
//! can take seconds; draining must not wait for them).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};

use ::identity::cgroup::CgroupNames;
use ::identity::container::{ContainerInfo, Registry};
use ::identity::resolver::Resolver;
use anyhow::{Context, Result};

use crate::store::Store;

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

/// cgroup paths, for the drainer.
pub trait Paths {
    /// Path relative to the cgroup2 mount (`/system.slice/x.service`).
    fn cgroup_path(&mut self, id: u64) -> String;

    /// Whether cgroup `id` still exists at `path` (a recreated directory has
    /// a new id: that is another cgroup).
    fn exists(&self, id: u64, path: &str) -> bool;

    /// A drain begins: one more walk of the tree may be forced.
    fn new_drain(&mut self);
}

/// The host's cgroup2 tree, through common's resolver.
pub struct HostPaths {
    root: PathBuf,
    names: CgroupNames,
    /// The resolver limits its own walks, but a cgroup made since its last
    /// walk must get its path in the scrape that first counts it: one walk
    /// per drain may be forced.
    forced: bool,
}

impl HostPaths {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            names: CgroupNames::new(root.to_path_buf()),
            forced: false,
        }
    }
}

impl Paths for HostPaths {
    fn cgroup_path(&mut self, id: u64) -> String {
        let path = self.names.cgroup_path(id);
        if !unresolved(&path) || self.forced {
            return path;
        }
        self.forced = true;
        self.names.refresh();
        self.names.cgroup_path(id)
    }

    fn exists(&self, id: u64, path: &str) -> bool {
        if unresolved(path) {
            return false;
        }
        let dir = self.root.join(path.trim_start_matches('/'));
        std::fs::metadata(dir).is_ok_and(|m| m.is_dir() && m.ino() == id)
    }

    fn new_drain(&mut self) {
        self.forced = false;
    }
}

/// Asks the container runtimes about cgroups on a thread of its own and
/// writes the answers into the store.
#[derive(Clone)]
pub struct Labeler {
    requests: Sender<(u64, String)>,
}

impl Labeler {
    pub fn start(root: &Path, store: Arc<Mutex<Store>>) -> Result<Self> {
        let (requests, rx) = mpsc::channel();
        let registry = Registry::new(root);
        std::thread::Builder::new()
            .name("labeler".into())
            .spawn(move || label(registry, &rx, &store))
            .context("starting the container labeler thread")?;
        Ok(Self { requests })
    }

    /// Looks up the container of cgroup `id` at `path` (answers later).
    pub fn ask(&self, id: u64, path: &str) {
        // The labeler only ends with the process.
        let _ = self.requests.send((id, path.to_string()));
    }
}

fn label(mut registry: Registry, requests: &Receiver<(u64, String)>, store: &Mutex<Store>) {
    for (id, path) in requests {
        if unresolved(&path) {
            continue;
        }
        if let Some(info) = registry.identify(&path) {
            store
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .set_container(id, &path, ContainerLabels::from(info));
        }
    }
}
