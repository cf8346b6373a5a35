//! cgroup id -> path, for reports that show which cgroup did what. BPF only
//! records ids; names are looked up here, by walking the cgroup2 tree.
//!
//! Under churn (cgroups created and removed all the time, ids never reused)
//! the cache stays bounded and cheap: a walk happens only for an id not
//! seen yet, at most as often as keeps walking under a tenth of the time,
//! and a walk forgets removed cgroups nobody asked for since the previous
//! one.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use walkdir::WalkDir;

/// Cache of the cgroup2 tree's ids, refreshed when an unknown id shows up.
pub struct CgroupNames {
    root: PathBuf,
    by_id: HashMap<u64, String>,
    /// Ids looked up since the last walk: kept by the next walk even when
    /// their cgroup is gone (rows of a cgroup removed during the period).
    asked: HashSet<u64>,
    last_walk: Option<Instant>,
    walk_cost: Duration,
    /// When it is now: `Instant::now`, or a clock a test moves by hand.
    clock: fn() -> Instant,
    /// Walks so far (for tests and diagnostics).
    pub walks: u64,
}

impl CgroupNames {
    pub fn new(root: PathBuf) -> Self {
        Self::with_clock(root, Instant::now)
    }

    /// [`new`](Self::new) with the time of the rate limit read from `clock`
    /// (a walk's own cost is always measured on the monotonic clock).
    fn with_clock(root: PathBuf, clock: fn() -> Instant) -> Self {
        let mut names = Self {
            root,
            by_id: HashMap::new(),
            asked: HashSet::new(),
            last_walk: None,
            walk_cost: Duration::ZERO,
            clock,
            walks: 0,
        };
        names.refresh();
        names
    }

    /// Re-reads the tree: new cgroups appear; removed ones stay only if
    /// they were asked for since the previous walk.
    pub fn refresh(&mut self) {
        let start = Instant::now();
        let mut by_id = HashMap::with_capacity(self.by_id.len());
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
            by_id.insert(meta.ino(), format!("/{}", rel.display()));
        }
        for id in self.asked.drain() {
            if let Some(name) = self.by_id.remove(&id) {
                by_id.entry(id).or_insert(name);
            }
        }
        self.by_id = by_id;
        self.walks += 1;
        self.last_walk = Some((self.clock)());
        self.walk_cost = start.elapsed();
    }

    /// A walk may run now: walks take at most a tenth of the time.
    fn may_walk(&self) -> bool {
        let now = (self.clock)();
        self.last_walk
            .is_none_or(|t| now.saturating_duration_since(t) >= self.walk_cost.saturating_mul(10))
    }

    /// Every cgroup the last walk found: (id, path).
    pub fn all(&self) -> Vec<(u64, String)> {
        self.by_id
            .iter()
            .map(|(&id, path)| (id, path.clone()))
            .collect()
    }

    /// Path relative to the cgroup2 mount (`/system.slice/x.service`);
    /// `None` when the directory was gone before a walk saw it.
    pub fn path(&mut self, id: u64) -> Option<String> {
        if !self.by_id.contains_key(&id) && self.may_walk() {
            self.refresh();
        }
        self.asked.insert(id);
        // A miss is not remembered: a cgroup created after the walk gets
        // its name at a later one.
        self.by_id.get(&id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// This test thread's clock: it moves only when the test says so.
        static NOW: Cell<Instant> = Cell::new(Instant::now());
    }

    fn test_clock() -> Instant {
        NOW.with(Cell::get)
    }

    fn advance(by: Duration) {
        NOW.with(|now| now.set(now.get() + by));
    }

    fn ino(p: &std::path::Path) -> u64 {
        std::fs::metadata(p).unwrap().ino()
    }

    #[test]
    fn churn_costs_bounded_walks_and_memory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let keep = root.join("keep");
        std::fs::create_dir(&keep).unwrap();
        let mut names = CgroupNames::with_clock(root.clone(), test_clock);
        assert_eq!(names.path(ino(&keep)).as_deref(), Some("/keep"));
        // 2 000 unknown ids in a row (cgroups gone before we looked) cost
        // far fewer walks than ids: with no time passing, none at all.
        let before = names.walks;
        for id in 0..2000u64 {
            assert_eq!(names.path(u64::MAX - id), None);
        }
        assert!(names.walks - before < 200, "{} walks", names.walks - before);
        assert_eq!(names.walks, before, "a walk inside the rate limit");
        // A cgroup created later is found (a miss is not cached for good)
        // once ten walks' worth of time has passed: an hour is plenty.
        let late = root.join("late");
        std::fs::create_dir(&late).unwrap();
        advance(Duration::from_secs(3600));
        assert_eq!(names.path(ino(&late)).as_deref(), Some("/late"));
        // Removed and still asked for: kept; removed and forgotten: dropped.
        let gone = root.join("gone");
        std::fs::create_dir(&gone).unwrap();
        let gone_id = ino(&gone);
        names.refresh();
        assert_eq!(names.path(gone_id).as_deref(), Some("/gone"));
        std::fs::remove_dir(&gone).unwrap();
        names.refresh();
        assert_eq!(names.by_id.get(&gone_id).map(String::as_str), Some("/gone"));
        names.refresh();
        names.refresh();
        assert!(!names.by_id.contains_key(&gone_id));
        assert!(names.by_id.len() <= 4, "{:?}", names.by_id);
    }
}
