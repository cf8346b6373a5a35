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

use super::{BlockDelta, Deltas, Source};

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

/// The collector's rows of cgroups as [`BlockRow`]s.
fn rows(sample: &[CgroupIo]) -> impl Iterator<Item = BlockRow> + '_ {
    sample.iter().filter_map(|io| match io.owner {
        Owner::Cgroup(cgroup_id) => Some(BlockRow {
            cgroup_id,
            read_bytes: io.counts.bytes[0],
            write_bytes: io.counts.bytes[1],
            read_ops: io.counts.ops[0],
            write_ops: io.counts.ops[1],
            writeback_bytes: io.counts.writeback_bytes,
        }),
        Owner::Unattributed | Owner::Overflow => None,
    })
}

impl Source for Block<'_> {
    fn name(&self) -> &'static str {
        "block"
    }

    fn drain(&mut self, out: &mut Deltas) -> Result<()> {
        let sample = self.collector.drain()?;
        add(rows(&sample.data), out);
        out.health.add(&sample.health);
        Ok(())
    }

    fn finish(&mut self, out: &mut Deltas) -> Result<()> {
        let sample = self.collector.finish()?;
        add(rows(&sample.data), out);
        out.health.add(&sample.health);
        Ok(())
    }
}

/// One cgroup's block I/O since the previous drain, as the collector's
/// per-cgroup rows carry it.
#[derive(Clone, Copy, Debug, Default)]
pub struct BlockRow {
    pub cgroup_id: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_ops: u64,
    pub write_ops: u64,
    /// Written back later, charged to the cgroup that dirtied the pages.
    pub writeback_bytes: u64,
}

/// Adds a drain's rows to `out`.
pub fn add(rows: impl IntoIterator<Item = BlockRow>, out: &mut Deltas) {
    for row in rows {
        out.cgroup(row.cgroup_id).block.add(&BlockDelta {
            bytes: [row.read_bytes, row.write_bytes],
            ops: [row.read_ops, row.write_ops],
            writeback_bytes: row.writeback_bytes,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_add_up_per_cgroup() {
        let row = BlockRow {
            cgroup_id: 3,
            read_bytes: 4096,
            write_bytes: 1 << 20,
            read_ops: 1,
            write_ops: 256,
            writeback_bytes: 65536,
        };
        let mut out = Deltas::default();
        add([row, row], &mut out);
        let b = out.cgroups[&3].block;
        assert_eq!(b.bytes, [8192, 2 << 20]);
        assert_eq!(b.ops, [2, 512]);
        assert_eq!(b.writeback_bytes, 131072);
    }
}
