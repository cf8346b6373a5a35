//! Loading constat's BPF program and draining its per-CPU counters.

use std::mem::MaybeUninit;
use std::time::Instant;

use anyhow::{Context, Result};
use common::bpf::{drain_percpu_hash, flip_epoch, DropCounter, Pod};
use common::collector::{Aggregator, Health, Sample};
use common::mapped::EpochSlots;
use common::target::Target;
use libbpf_rs::skel::Skel;
use libbpf_rs::{MapCore, OpenObject};

#[allow(clippy::all, non_camel_case_types, dead_code, unused_imports)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/constat.skel.rs"));
}
use skel::types::{constat_key, constat_stats};
use skel::{ConstatLinks, ConstatSkel, ConstatSkelBuilder};

// SAFETY: generated #[repr(C)] structs of integers only.
unsafe impl Pod for constat_stats {}
// SAFETY: as above (the explicit `pad` field covers the tail).
unsafe impl Pod for constat_key {}

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

/// constat's kernel side: per-syscall counters of one target, or of every
/// cgroup (keyed by cgroup id) when the target is the whole host.
pub struct Collector<'obj> {
    skel: ConstatSkel<'obj>,
    per_cgroup: bool,
    /// One-target counters, mapped: [cpu][epoch][nr].
    slots: EpochSlots<constat_stats>,
    drops: DropCounter,
    last_drain: Instant,
}

/// Adds one CPU's counters to a running total.
fn merge(acc: &mut constat_stats, s: &constat_stats) {
    acc.count += s.count;
    acc.errors += s.errors;
    acc.total_ns += s.total_ns;
    acc.max_ns = acc.max_ns.max(s.max_ns);
    acc.last_errno = acc.last_errno.max(s.last_errno);
}

fn sum(per_cpu: &[constat_stats]) -> constat_stats {
    per_cpu.iter().fold(constat_stats::default(), |mut acc, s| {
        merge(&mut acc, s);
        acc
    })
}

impl<'obj> Collector<'obj> {
    /// Opens, configures, loads and attaches the BPF program.
    pub fn start(open_object: &'obj mut MaybeUninit<OpenObject>, target: &Target) -> Result<Self> {
        let per_cgroup = target.is_host();
        let mut nr_slots = 0;
        let mut skel =
            common::bpf::open_and_load(ConstatSkelBuilder::default(), open_object, |open| {
                let rodata = common::bpf::mapped(open.maps.rodata_data.as_deref_mut(), ".rodata")?;
                let (nr_exit, nr_exit_group) = common::syscalls::never_returning();
                rodata.nr_exit = nr_exit;
                rodata.nr_exit_group = nr_exit_group;
                rodata.per_cgroup = per_cgroup;
                common::set_target_filter!(rodata, target);
                nr_slots = EpochSlots::<constat_stats>::size_for_all_cpus(&mut open.maps.stats)?;
                if per_cgroup {
                    // Every-cgroup mode keys a hash instead: keep the array minimal.
                    open.maps
                        .stats
                        .set_max_entries(1)
                        .context("sizing the counter array")?;
                }
                let keys = per_cgroup.then_some(common::mapsize::Keys::CgroupSyscall);
                common::mapsize::size_hash(&mut open.maps.cg_stats0, keys)?;
                common::mapsize::size_hash(&mut open.maps.cg_stats1, keys)?;
                Ok(())
            })?;
        skel.attach()
            .context("attaching to the raw_syscalls tracepoints")?;
        let slots = EpochSlots::new(&skel.maps.stats, nr_slots)?;
        Ok(Self {
            skel,
            per_cgroup,
            slots,
            drops: DropCounter::default(),
            last_drain: Instant::now(),
        })
    }
}

impl Aggregator for Collector<'_> {
    type Data = Vec<Row>;

    /// Flips the live half of the counters, waits until no program can
    /// write the old half, then reads and clears it. Nothing is lost
    /// between two drains.
    fn drain(&mut self) -> Result<Sample<Vec<Row>>> {
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
            self.slots
                .drain(old, |s| s.count > 0, merge)?
                .into_iter()
                .map(|(nr, s)| row(None, nr, s))
                .collect()
        };
        let now = Instant::now();
        let covered = now - std::mem::replace(&mut self.last_drain, now);
        Ok(Sample {
            data: rows,
            health: Health {
                dropped,
                covered,
                ..Health::default()
            },
        })
    }

    fn finish(&mut self) -> Result<Sample<Vec<Row>>> {
        self.skel.links = ConstatLinks::default();
        self.drain()
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

/// Every cgroup: the old per-CPU hash, emptied after reading.
fn drain_hash(map: &impl MapCore) -> Result<Vec<Row>> {
    Ok(drain_percpu_hash::<constat_key, constat_stats>(map)?
        .into_iter()
        .map(|(key, per_cpu)| (key, sum(&per_cpu)))
        .filter(|(_, stats)| stats.count > 0)
        .map(|(key, stats)| row(Some(key.cgroup_id), key.nr, stats))
        .collect())
}
