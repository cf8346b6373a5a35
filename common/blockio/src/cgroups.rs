//! Block I/O of every cgroup at once: the aggregating collector a node
//! exporter drives (`contrace_block_io_bytes_total{cgroup,direction}`).
//!
//! Each bio is charged to exactly one owner by the rule of the whole tool
//! (the crate docs): the submitting task's cgroup, or for writeback the
//! cgroup that dirtied the pages. Counters live in per-CPU hashes keyed by
//! the owner's cgroup v2 id, one per epoch: a drain flips the epoch, waits
//! until no program can still write the old half, then reads and clears it,
//! so nothing is lost or counted twice between drains.
//!
//! Tables are sized for [`CgroupConfig::max_cgroups`] cgroups with I/O
//! between two drains (entries are allocated on first use and freed by each
//! drain). When a table is full, the I/O of cgroups it has no room for goes
//! to an overflow slot: its bytes still count ([`Owner::Overflow`]), only
//! the owner is lost, and [`Health::dropped`] says how many bios that hit.

use std::collections::BTreeMap;
use std::mem::MaybeUninit;
use std::time::Instant;

use anyhow::Result;
use identity::target::Target;
use kernel::bpf::{drain_percpu_hash, flip_epoch, lookup_percpu, zero_percpu};
use kernel::collector::{Aggregator, Health, Sample};
use libbpf_rs::OpenObject;
use serde::Serialize;

use crate::object::{self, cbg_io, ConbiographSkel, Features};

/// Default table size: cgroups with block I/O between two drains.
pub const MAX_CGROUPS: u32 = 16384;

/// Default number of inodes whose latest dirtier is remembered (every
/// dirtier's, host-wide: the larger default of the two modes).
pub const DIRTY_INODES: u32 = 131072;

/// Who block I/O is charged to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Owner {
    /// A cgroup v2, by id (its directory's inode number).
    Cgroup(u64),
    /// Nobody: kernel threads' own I/O (journal, filesystem metadata) and
    /// writeback of pages whose dirtier is unknown (dirtied before the
    /// start, or its record evicted) where the bio's blkcg cannot tell.
    Unattributed,
    /// A cgroup the table had no room for.
    Overflow,
}

/// Block I/O counters of one owner. Index 0 is reads, 1 writes
/// ([`crate::period::Dir`] as usize).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IoCounts {
    /// Bytes queued (block_bio_queue), by direction.
    pub bytes: [u64; 2],
    /// Bios queued, by direction, as submitted: the block layer may split
    /// one to fit the device (the kernel's io.stat counts each part; its
    /// bytes, like these, once).
    pub ops: [u64; 2],
    /// Part of the writes submitted by someone else on the owner's behalf:
    /// writeback of pages it dirtied (flusher threads, `sync` run anywhere,
    /// another cgroup's fsync), kernel threads of stacked devices.
    pub writeback_bytes: u64,
    pub writeback_ops: u64,
}

impl IoCounts {
    /// Adds another set of counters (a CPU's, a later drain's).
    pub fn add(&mut self, other: &IoCounts) {
        for d in 0..2 {
            self.bytes[d] += other.bytes[d];
            self.ops[d] += other.ops[d];
        }
        self.writeback_bytes += other.writeback_bytes;
        self.writeback_ops += other.writeback_ops;
    }

    /// Nothing counted.
    pub fn is_zero(&self) -> bool {
        *self == IoCounts::default()
    }
}

impl From<&cbg_io> for IoCounts {
    fn from(c: &cbg_io) -> Self {
        Self {
            bytes: c.bytes,
            ops: c.ops,
            writeback_bytes: c.writeback_bytes,
            writeback_ops: c.writeback_ops,
        }
    }
}

fn sum_cpus(per_cpu: &[cbg_io]) -> IoCounts {
    per_cpu.iter().fold(IoCounts::default(), |mut acc, c| {
        acc.add(&IoCounts::from(c));
        acc
    })
}

/// The I/O of one owner since the previous drain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CgroupIo {
    pub owner: Owner,
    pub counts: IoCounts,
}

/// What the per-cgroup collector counts.
#[derive(Clone, Debug)]
pub struct CgroupConfig {
    /// Only I/O owned by this cgroup (and below unless exact);
    /// [`Target::host`] (the default) for every cgroup.
    pub target: Target,
    /// Bit 0: reads, bit 1: writes (default both).
    pub dir_mask: u32,
    /// Kernel dev_t of the one device to count (a whole disk includes its
    /// partitions); `None`: every disk with a request queue (I/O through
    /// dm/md is counted once, at the disk below).
    pub device: Option<u32>,
    /// Cgroups with I/O between two drains that get their own row.
    pub max_cgroups: u32,
    /// Inodes whose latest dirtier is remembered (an LRU: the least
    /// recently dirtied is forgotten first, and its writeback then falls
    /// back to the bio's blkcg or [`Owner::Unattributed`]).
    pub dirty_inodes: u32,
}

impl Default for CgroupConfig {
    fn default() -> Self {
        Self {
            target: Target::host(),
            dir_mask: 3,
            device: None,
            max_cgroups: MAX_CGROUPS,
            dirty_inodes: DIRTY_INODES,
        }
    }
}

/// conbiograph's kernel side keyed by cgroup: block I/O bytes and ops by
/// direction for every cgroup, drained as deltas. `Send`: an exporter may
/// drain it from a thread of its own.
pub struct CgroupCollector<'obj> {
    skel: ConbiographSkel<'obj>,
    features: Features,
    last_drain: Instant,
    spent: bool,
}

// An exporter drains from its own thread: keep the collector Send.
const _: fn() = || {
    fn is_send<T: Send>() {}
    is_send::<CgroupCollector<'static>>();
};

impl<'obj> CgroupCollector<'obj> {
    /// Opens, configures, loads and attaches the BPF programs (block_bio_queue
    /// and the writeback dirtier hook only: no per-request hooks).
    pub fn start(
        open_object: &'obj mut MaybeUninit<OpenObject>,
        cfg: &CgroupConfig,
    ) -> Result<Self> {
        let features = Features::probe()?;
        let skel = object::load(
            open_object,
            &object::Load {
                features,
                mode: object::Mode {
                    periods: false,
                    cgroups: Some(cfg.max_cgroups.max(1)),
                },
                target: &cfg.target,
                period_ns: 1_000_000_000,
                dir_mask: cfg.dir_mask,
                device: cfg.device,
                dirty_inodes: cfg.dirty_inodes,
            },
        )?;
        Ok(Self {
            skel,
            features,
            last_drain: Instant::now(),
            spent: false,
        })
    }

    /// What the kernel offered and which paths were loaded.
    pub fn features(&self) -> Features {
        self.features
    }

    fn take(&self, ep: u32, rows: &mut BTreeMap<Owner, IoCounts>) -> Result<u64> {
        take_owners(&self.skel, ep, rows)
    }

    fn sample(
        &mut self,
        rows: BTreeMap<Owner, IoCounts>,
        overflowed: u64,
    ) -> Sample<Vec<CgroupIo>> {
        let now = Instant::now();
        Sample {
            data: to_rows(rows),
            health: Health {
                dropped: overflowed,
                covered: now - std::mem::replace(&mut self.last_drain, now),
                ..Health::default()
            },
        }
    }
}

/// Reads and clears epoch half `ep` of the per-cgroup tables (no program
/// may write it any more) into `rows`; returns the bios that overflowed.
pub(crate) fn take_owners(
    skel: &ConbiographSkel,
    ep: u32,
    rows: &mut BTreeMap<Owner, IoCounts>,
) -> Result<u64> {
    let maps = &skel.maps;
    let table = if ep == 0 {
        &maps.owners0
    } else {
        &maps.owners1
    };
    for (id, per_cpu) in drain_percpu_hash::<u64, cbg_io>(table)? {
        let owner = match id {
            0 => Owner::Unattributed,
            id => Owner::Cgroup(id),
        };
        rows.entry(owner).or_default().add(&sum_cpus(&per_cpu));
    }
    let overflow = sum_cpus(&lookup_percpu::<u32, cbg_io>(&maps.owner_overflow, &ep)?);
    if overflow.is_zero() {
        return Ok(0);
    }
    zero_percpu::<u32, cbg_io>(&maps.owner_overflow, &ep)?;
    rows.entry(Owner::Overflow).or_default().add(&overflow);
    Ok(overflow.ops[0] + overflow.ops[1])
}

/// Rows with I/O, in owner order.
pub(crate) fn to_rows(rows: BTreeMap<Owner, IoCounts>) -> Vec<CgroupIo> {
    rows.into_iter()
        .filter(|(_, c)| !c.is_zero())
        .map(|(owner, counts)| CgroupIo { owner, counts })
        .collect()
}

impl Aggregator for CgroupCollector<'_> {
    type Data = Vec<CgroupIo>;

    /// Everything counted since the previous drain, one row per owner with
    /// I/O (sorted: cgroups by id, then unattributed, then overflow).
    fn drain(&mut self) -> Result<Sample<Vec<CgroupIo>>> {
        if self.spent {
            return Ok(self.sample(BTreeMap::new(), 0));
        }
        let maps = &mut self.skel.maps;
        let bss = kernel::bpf::mapped(maps.bss_data.as_deref_mut(), ".bss")?;
        let old = flip_epoch(&mut bss.epoch, &maps.sync_outer, &maps.sync_inner)?;
        let mut rows = BTreeMap::new();
        let overflowed = self.take(old, &mut rows)?;
        Ok(self.sample(rows, overflowed))
    }

    /// Detaches, waits for running programs, and returns what both halves
    /// hold. Later drains return nothing.
    fn finish(&mut self) -> Result<Sample<Vec<CgroupIo>>> {
        if self.spent {
            return Ok(self.sample(BTreeMap::new(), 0));
        }
        self.skel.links = object::skel::ConbiographLinks::default();
        let maps = &self.skel.maps;
        kernel::bpf::wait_for_running_programs(&maps.sync_outer, &maps.sync_inner)?;
        self.spent = true;
        let mut rows = BTreeMap::new();
        let mut overflowed = self.take(0, &mut rows)?;
        overflowed += self.take(1, &mut rows)?;
        Ok(self.sample(rows, overflowed))
    }
}

/// Running totals across drains: what an exporter serves as monotonic
/// counters. Owners stay until [`Totals::forget`] drops them.
#[derive(Clone, Debug, Default)]
pub struct Totals {
    by_owner: BTreeMap<Owner, IoCounts>,
}

impl Totals {
    /// Adds one drain's deltas.
    pub fn add(&mut self, sample: &[CgroupIo]) {
        for row in sample {
            self.by_owner.entry(row.owner).or_default().add(&row.counts);
        }
    }

    /// Counters of one owner since the start (zero if it never did I/O).
    pub fn get(&self, owner: Owner) -> IoCounts {
        self.by_owner.get(&owner).copied().unwrap_or_default()
    }

    /// Every owner with its counters, sorted by owner.
    pub fn iter(&self) -> impl Iterator<Item = (Owner, &IoCounts)> {
        self.by_owner.iter().map(|(o, c)| (*o, c))
    }

    /// Stops reporting an owner (a removed cgroup after its grace period).
    pub fn forget(&mut self, owner: Owner) {
        self.by_owner.remove(&owner);
    }

    /// The sum over every owner: all block I/O counted.
    pub fn all(&self) -> IoCounts {
        self.by_owner
            .values()
            .fold(IoCounts::default(), |mut acc, c| {
                acc.add(c);
                acc
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(read: u64, write: u64, wb: u64) -> IoCounts {
        IoCounts {
            bytes: [read, write],
            ops: [u64::from(read > 0), u64::from(write > 0)],
            writeback_bytes: wb,
            writeback_ops: u64::from(wb > 0),
        }
    }

    #[test]
    fn totals_add_drains_and_forget_owners() {
        let mut t = Totals::default();
        t.add(&[
            CgroupIo {
                owner: Owner::Cgroup(7),
                counts: io(4096, 0, 0),
            },
            CgroupIo {
                owner: Owner::Unattributed,
                counts: io(0, 8192, 8192),
            },
        ]);
        t.add(&[CgroupIo {
            owner: Owner::Cgroup(7),
            counts: io(0, 1 << 20, 1 << 20),
        }]);
        let seven = t.get(Owner::Cgroup(7));
        assert_eq!(seven.bytes, [4096, 1 << 20]);
        assert_eq!(seven.ops, [1, 1]);
        assert_eq!(seven.writeback_bytes, 1 << 20);
        assert_eq!(t.all().bytes, [4096, (1 << 20) + 8192]);
        let owners: Vec<Owner> = t.iter().map(|(o, _)| o).collect();
        assert_eq!(owners, vec![Owner::Cgroup(7), Owner::Unattributed]);
        t.forget(Owner::Cgroup(7));
        assert!(t.get(Owner::Cgroup(7)).is_zero());
    }

    #[test]
    fn owners_serialize_with_their_kind() {
        let json = serde_json::to_string(&Owner::Cgroup(42)).unwrap();
        assert_eq!(json, r#"{"kind":"cgroup","id":42}"#);
        let json = serde_json::to_string(&Owner::Overflow).unwrap();
        assert_eq!(json, r#"{"kind":"overflow"}"#);
    }
}
