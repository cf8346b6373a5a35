//! Who a cgroup id is: its path relative to the cgroup2 mount (what the
//! tools' JSON shows), looked up by the drainer, and for containers the
//! container and pod labels, looked up by the labeler thread (a runtime
//! API or a large state directory can take seconds; draining must not wait
//! for them). The labeler answers on a channel the drainer empties: only
//! the drainer writes into the store.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};

use ::identity::cgroup::CgroupNames;
use ::identity::container::{Registry, Sources};
use ::identity::resolver::Resolver;
use anyhow::{Context, Result};

use crate::labels::{unresolved, ContainerLabels};

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

/// The labels found for cgroup `id`, asked about at `path`.
pub struct Answer {
    pub id: u64,
    pub path: String,
    pub labels: ContainerLabels,
}

/// Looks up the containers of cgroups on a thread of its own (by the
/// runtimes' on-disk state, kubelet's log names, and their APIs when
/// allowed: `sources`); its answers wait in [`Labeler::answers`].
pub struct Labeler {
    requests: Sender<(u64, String)>,
    answers: Receiver<Answer>,
}

impl Labeler {
    pub fn start(root: &Path, sources: Sources) -> Result<Self> {
        let (requests, asked) = mpsc::channel();
        let (answer, answers) = mpsc::channel();
        let registry = Registry::with_sources(root, sources);
        std::thread::Builder::new()
            .name("labeler".into())
            .spawn(move || label(registry, &asked, &answer))
            .context("starting the container labeler thread")?;
        Ok(Self { requests, answers })
    }

    /// Looks up the container of cgroup `id` at `path` (answers later).
    pub fn ask(&self, id: u64, path: &str) {
        // The labeler only ends with the process.
        let _ = self.requests.send((id, path.to_string()));
    }

    /// Answers that came in since the last call.
    pub fn answers(&self) -> impl Iterator<Item = Answer> + '_ {
        self.answers.try_iter()
    }
}

fn label(mut registry: Registry, asked: &Receiver<(u64, String)>, answer: &Sender<Answer>) {
    for (id, path) in asked {
        if unresolved(&path) {
            continue;
        }
        if let Some(info) = registry.identify(&path) {
            let labels = ContainerLabels::from(info);
            if answer.send(Answer { id, path, labels }).is_err() {
                return;
            }
        }
    }
}
