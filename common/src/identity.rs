//! The enrichment stage between collecting and printing: BPF reports kernel
//! ids (cgroup ids); a [`Resolver`] turns them into what people recognise.
//! Reports resolve while they are built, never while they are formatted.

use crate::cgroup::CgroupNames;

/// Turns kernel ids into names.
pub trait Resolver {
    /// Path of cgroup `id` relative to the cgroup2 mount (`/system.slice/x`).
    fn cgroup_path(&mut self, id: u64) -> String;
}

impl Resolver for CgroupNames {
    fn cgroup_path(&mut self, id: u64) -> String {
        self.name(id)
    }
}
