//! cgroup id -> path, for reports that show which cgroup did what. BPF only
//! records ids; names are looked up here, by walking the cgroup2 tree.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use walkdir::WalkDir;

/// Cache of the cgroup2 tree's ids, refreshed when an unknown id shows up.
pub struct CgroupNames {
    root: PathBuf,
    by_id: HashMap<u64, String>,
}

impl CgroupNames {
    pub fn new(root: PathBuf) -> Self {
        let mut names = Self {
            root,
            by_id: HashMap::new(),
        };
        names.refresh();
        names
    }

    /// Re-reads the tree (new cgroups appear, removed ones stay known).
    pub fn refresh(&mut self) {
        for entry in WalkDir::new(&self.root)
            .follow_links(false)
            .same_file_system(true)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_dir())
        {
            let Ok(meta) = entry.metadata() else { continue };
            let rel = entry
                .path()
                .strip_prefix(&self.root)
                .unwrap_or(entry.path());
            self.by_id.insert(meta.ino(), format!("/{}", rel.display()));
        }
    }

    /// Path relative to the cgroup2 mount (`/system.slice/x.service`), or
    /// `<cgroup id N, removed>` when the directory is gone before we saw it.
    pub fn name(&mut self, id: u64) -> String {
        if !self.by_id.contains_key(&id) {
            self.refresh();
        }
        // Remember misses too, so a removed cgroup costs one walk, not one per row.
        self.by_id
            .entry(id)
            .or_insert_with(|| format!("<cgroup id {id}, removed>"))
            .clone()
    }
}
