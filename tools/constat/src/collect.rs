//! Loading constat's BPF program and draining its per-CPU counters.

use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use common::bpf::{drain_percpu_hash, flip_epoch, DropCounter, Pod};
use common::cgroup::Cgroup;
use common::mapped::MappedArray;
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{MapCore, OpenObject};

#[allow(clippy::all, non_camel_case_types, dead_code, unused_imports)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/constat.skel.rs"));
}
use skel::types::{constat_key, constat_stats};
use skel::{ConstatSkel, ConstatSkelBuilder};

// SAFETY: generated #[repr(C)] structs of integers only.
unsafe impl Pod for constat_stats {}
// SAFETY: as above (the explicit `pad` field covers the tail).
unsafe impl Pod for constat_key {}

/// Syscall numbers at or above this are not counted (must match constat.h).
const NR_SLOTS: u32 = 512;

/// One row of kernel data: a syscall (and its cgroup in all-cgroups mode).
#[derive(Clone, Copy, Debug, Default)]
pub struct Row {
    pub cgroup_id: Option<u64>,
    pub nr: u32,
    pub count: u64,
    pub errors: u64,
    pub total_ns: u64,
    pub max_ns: u64,
    /// errno of the most recent failure in the period (0: none).
    pub last_errno: u32,
}

/// What one drain returns: the rows since the previous drain.
pub struct Sample {
    pub rows: Vec<Row>,
    pub dropped: u64,
    /// Time since the previous drain (or the start).
    pub covered: Duration,
}

pub struct Collector<'obj> {
    skel: ConstatSkel<'obj>,
    per_cgroup: bool,
    /// One-target counters, mapped: [cpu][epoch][nr].
    slots: MappedArray<constat_stats>,
    cpus: usize,
    drops: DropCounter,
    last_drain: Instant,
}

fn sum(per_cpu: &[constat_stats]) -> constat_stats {
    per_cpu.iter().fold(constat_stats::default(), |mut acc, s| {
        acc.count += s.count;
        acc.errors += s.errors;
        acc.total_ns += s.total_ns;
        acc.max_ns = acc.max_ns.max(s.max_ns);
        acc.last_errno = acc.last_errno.max(s.last_errno);
        acc
    })
}

impl<'obj> Collector<'obj> {
    /// Opens, configures, loads and attaches the BPF program.
    pub fn start(
        open_object: &'obj mut MaybeUninit<OpenObject>,
        target: Option<&Cgroup>,
        exact: bool,
    ) -> Result<Self> {
        let mut open = ConstatSkelBuilder::default()
            .open(open_object)
            .context("opening the BPF object")?;
        let rodata = common::bpf::mapped(open.maps.rodata_data.as_deref_mut(), ".rodata")?;
        let (nr_exit, nr_exit_group) = common::syscalls::never_returning();
        rodata.nr_exit = nr_exit;
        rodata.nr_exit_group = nr_exit_group;
        rodata.per_cgroup = target.is_none();
        common::set_cgroup_filter!(rodata, target, exact);
        let cpus = libbpf_rs::num_possible_cpus().context("counting possible CPUs")?;
        // Every-cgroup mode keys a hash instead: keep the array minimal.
        let entries = if target.is_some() {
            cpus as u32 * 2 * NR_SLOTS
        } else {
            1
        };
        open.maps
            .stats
            .set_max_entries(entries)
            .context("sizing the counter array for every CPU")?;
        let mut skel = open
            .load()
            .context("loading the BPF program into the kernel (rerun with -v for libbpf's log)")?;
        skel.attach()
            .context("attaching to the raw_syscalls tracepoints")?;
        let slots = MappedArray::new(&skel.maps.stats)?;
        Ok(Self {
            skel,
            per_cgroup: target.is_none(),
            slots,
            cpus,
            drops: DropCounter::default(),
            last_drain: Instant::now(),
        })
    }

    /// Flips the live half of the counters, waits until no program can
    /// write the old half, then reads and clears it. Nothing is lost
    /// between two drains.
    pub fn drain(&mut self) -> Result<Sample> {
        let maps = &mut self.skel.maps;
        let bss = common::bpf::mapped(maps.bss_data.as_deref_mut(), ".bss")?;
        let dropped = self.drops.delta(&bss.dropped);
        let old = flip_epoch(&mut bss.epoch, &maps.sync_outer, &maps.sync_inner)?;
        let maps = &self.skel.maps;

        let rows = if self.per_cgroup {
            let map = if old == 0 {
                &maps.cg_stats0
            } else {
                &maps.cg_stats1
            };
            drain_hash(map)?
        } else {
            drain_slots(&mut self.slots, self.cpus, old)?
        };
        let now = Instant::now();
        let covered = now - std::mem::replace(&mut self.last_drain, now);
        Ok(Sample {
            rows,
            dropped,
            covered,
        })
    }
}

fn row(cgroup_id: Option<u64>, nr: u32, s: constat_stats) -> Row {
    Row {
        cgroup_id,
        nr,
        count: s.count,
        errors: s.errors,
        total_ns: s.total_ns,
        max_ns: s.max_ns,
        last_errno: s.last_errno,
    }
}

/// One target cgroup: every CPU's old-epoch row of the mapped array,
/// summed per syscall and cleared.
fn drain_slots(slots: &mut MappedArray<constat_stats>, cpus: usize, half: u32) -> Result<Vec<Row>> {
    let nr_slots = NR_SLOTS as usize;
    let mut sums = vec![constat_stats::default(); nr_slots];
    for cpu in 0..cpus {
        let base = (cpu * 2 + half as usize) * nr_slots;
        for (nr, total) in sums.iter_mut().enumerate() {
            let idx = base + nr;
            let outside = || format!("counter slot {idx} is outside the mapped array");
            let slot = slots.get(idx).with_context(outside)?;
            if slot.count > 0 {
                *total = sum(&[*total, slot]);
                slots.clear(idx).with_context(outside)?;
            }
        }
    }
    Ok(sums
        .into_iter()
        .enumerate()
        .filter(|(_, s)| s.count > 0)
        .map(|(nr, s)| row(None, nr as u32, s))
        .collect())
}

/// Every cgroup: the old per-CPU hash, emptied after reading.
fn drain_hash(map: &impl MapCore) -> Result<Vec<Row>> {
    Ok(drain_percpu_hash::<constat_key, constat_stats>(map)?
        .into_iter()
        .map(|(key, per_cpu)| (key, sum(&per_cpu)))
        .filter(|(_, stats)| stats.count > 0)
        .map(|(key, stats)| row(Some(key.cgroup_id), key.nr, stats))
        .collect())
}
