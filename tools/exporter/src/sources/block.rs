//! Block I/O per cgroup, from conbiograph's per-cgroup collector
//! ([`blockio::CgroupCollector`]): bytes and bios by direction and the
//! written-back part, each bio charged to one owner by conbiograph's rule
//! (the submitter's cgroup, or for page-cache writeback the cgroup that
//! dirtied the pages). Only `block_bio_queue` and the dirtier hook: no
//! per-request hooks.
//!
//! I/O owned by no cgroup (kernel threads' own metadata, writeback of pages
//! dirtied before the start where no v2 blkcg tells) has no cgroup label
//! and is not exported; a full table's overflow counts as dropped.

use std::mem::MaybeUninit;

use anyhow::Result;
use blockio::{CgroupCollector, CgroupConfig, CgroupIo, Owner};
use kernel::collector::Aggregator;
use libbpf_rs::OpenObject;

use super::{Deltas, Source};

pub struct Block<'obj> {
    collector: CgroupCollector<'obj>,
}

impl<'obj> Block<'obj> {
    /// Loads and attaches conbiograph's programs for every cgroup.
    pub fn start(object: &'obj mut MaybeUninit<OpenObject>) -> Result<Self> {
        Ok(Self {
            collector: CgroupCollector::start(object, &CgroupConfig::default())?,
        })
    }
}

impl Source for Block<'_> {
    fn name(&self) -> &'static str {
        "block"
    }

    fn drain(&mut self, out: &mut Deltas) -> Result<()> {
        let sample = self.collector.drain()?;
        add(&sample.data, out);
        out.health.add(&sample.health);
        Ok(())
    }

    fn finish(&mut self, out: &mut Deltas) -> Result<()> {
        let sample = self.collector.finish()?;
        add(&sample.data, out);
        out.health.add(&sample.health);
        Ok(())
    }
}

/// Adds a drain's per-cgroup counters to `out` (I/O of no cgroup is not
/// exported).
pub fn add(sample: &[CgroupIo], out: &mut Deltas) {
    for io in sample {
        if let Owner::Cgroup(id) = io.owner {
            out.cgroup(id).block.add(&io.counts);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blockio::IoCounts;

    #[test]
    fn rows_add_up_per_cgroup() {
        let counts = IoCounts {
            bytes: [4096, 1 << 20],
            ops: [1, 256],
            writeback_bytes: 65536,
            writeback_ops: 16,
        };
        let row = |owner| CgroupIo { owner, counts };
        let sample = [
            row(Owner::Cgroup(3)),
            row(Owner::Cgroup(3)),
            row(Owner::Unattributed),
        ];
        let mut out = Deltas::default();
        add(&sample, &mut out);
        let b = out.cgroups[&3].block;
        assert_eq!(b.bytes, [8192, 2 << 20]);
        assert_eq!(b.ops, [2, 512]);
        assert_eq!(b.writeback_bytes, 131072);
        assert_eq!(out.cgroups.len(), 1);
    }
}
