//! Block I/O per cgroup, from conbiograph's per-cgroup collector.
//!
//! That collector is being added to conbiograph's library (branch `block`).
//! Until it lands the exporter runs without this source and serves the
//! block families without series. Plugging it in takes a few lines:
//!
//! 1. `Block::start(object)` creates the collector for the whole host
//!    (`conbiograph::…::start(object, &config)`), like [`super::syscalls`];
//! 2. `drain`/`finish` turn each of its per-cgroup rows into a [`BlockRow`]
//!    and call [`add`];
//! 3. `drain::start_sources` pushes it next to the other two.

use super::{BlockDelta, Deltas};

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
