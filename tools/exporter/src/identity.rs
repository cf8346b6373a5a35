//! Who a cgroup id is: its path relative to the cgroup2 mount (what the
//! tools' JSON shows) and its container as named when the cgroup was made,
//! looked up by the drainer; for containers not named then, the container
//! and pod labels, looked up by the labeler thread (a runtime
//! API or a large state directory can take seconds; draining must not wait
//! for them). The labeler answers on a channel the drainer empties: only
//! the drainer writes into the store.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};

use ::identity::cgroup::CgroupNames;
use ::identity::container::{Registry, Sources};
use ::identity::resolver::births::Births;
use ::identity::resolver::{CgroupName, Resolver};
use anyhow::{Context, Result};

use crate::labels::{CgroupLabel, ContainerLabels};

/// cgroup names, for the drainer.
pub trait Paths {
    /// Cgroup `id`: its path relative to the cgroup2 mount
    /// (`/system.slice/x.service`) and, when it was named when it was made,
    /// its container.
    fn name(&mut self, id: u64) -> (CgroupLabel, ContainerLabels);

    /// Whether cgroup `id` still exists at `path` (a recreated directory has
    /// a new id: that is another cgroup).
    fn exists(&self, id: u64, path: &CgroupLabel) -> bool;

    /// A drain begins: one more walk of the tree may be forced.
    fn new_drain(&mut self);
}

/// The host's cgroup2 tree: every cgroup named when it is made, where the
/// kernel lets the small naming program load (a container born and gone
/// between two drains keeps its name), else found by walks of the tree.
pub struct HostPaths {
    root: PathBuf,
    births: Option<Births>,
    names: CgroupNames,
    /// The resolver limits its own walks, but a cgroup made since its last
    /// walk must get its path in the scrape that first counts it: one walk
    /// per drain may be forced.
    forced: bool,
}

impl HostPaths {
    /// Starts naming cgroups at birth (the runtimes of `sources` name their
    /// containers); a warning says so when it cannot.
    pub fn new(root: &Path, sources: Sources) -> Self {
        let births = Births::start_with(root, sources)
            .map_err(|e| {
                cli::output::status(&format!(
                    "warning: cgroups are named when first counted only ({e:#}): a \
                     container gone by then is served under its cgroup id"
                ));
            })
            .ok();
        Self {
            root: root.to_path_buf(),
            births,
            names: CgroupNames::new(root.to_path_buf()),
            forced: false,
        }
    }

    /// The tree's name for `id`, walking it once more per drain if needed.
    fn walked(&mut self, id: u64) -> CgroupName {
        let name = self.names.cgroup(id);
        if name.path().is_some() || self.forced {
            return name;
        }
        self.forced = true;
        self.names.refresh();
        self.names.cgroup(id)
    }
}

impl Paths for HostPaths {
    fn name(&mut self, id: u64) -> (CgroupLabel, ContainerLabels) {
        match self.births.as_ref().and_then(|b| b.get(id)) {
            Some(seen) => (
                CgroupLabel::Path(seen.path),
                seen.container
                    .map(ContainerLabels::from)
                    .unwrap_or_default(),
            ),
            None => (self.walked(id).into(), ContainerLabels::default()),
        }
    }

    fn exists(&self, id: u64, path: &CgroupLabel) -> bool {
        let Some(path) = path.path() else {
            return false;
        };
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
        if let Some(info) = registry.identify(&path) {
            let labels = ContainerLabels::from(info);
            if answer.send(Answer { id, path, labels }).is_err() {
                return;
            }
        }
    }
}
