//! Loading constat's BPF program and draining its per-CPU counters.

use std::collections::{BTreeMap, HashMap};
use std::mem::MaybeUninit;
use std::time::Instant;

use anyhow::{Context, Result};
use common::bpf::{drain_percpu_hash, flip_epoch, DropCounter, Pod};
use common::collector::{Aggregator, Health, Sample};
use common::mapped::EpochSlots;
use common::mapsize::{MapSize, Sizing};
use common::syscalls::Call;
use common::target::Target;
use libbpf_rs::skel::Skel;
use libbpf_rs::{MapCore, OpenObject};

#[allow(clippy::all, non_camel_case_types, dead_code, unused_imports)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/constat.skel.rs"));
}
use skel::types::{constat_errno_key, constat_key, constat_stats};
use skel::{ConstatLinks, ConstatSkel, ConstatSkelBuilder};

// SAFETY: generated #[repr(C)] structs of integers only.
unsafe impl Pod for constat_stats {}
// SAFETY: as above (the explicit `pad` field covers the tail).
unsafe impl Pod for constat_key {}
// SAFETY: as above (u64 + two u32, no padding).
unsafe impl Pod for constat_errno_key {}

/// One row of kernel data: a syscall (and its cgroup in all-cgroups mode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub cgroup_id: Option<u64>,
    pub call: Call,
    pub count: u64,
    pub errors: u64,
    /// Calls a seccomp filter stopped before they ran (counted, not timed).
    pub denied: u64,
    pub total_ns: u64,
    pub max_ns: u64,
    /// Failed calls per errno (the tally of every failure in the period).
    pub errnos: BTreeMap<i32, u64>,
}

/// constat's kernel side: per-syscall counters of one target, or of every
/// cgroup (keyed by cgroup id) when the target is the whole host.
pub struct Collector<'obj> {
    skel: ConstatSkel<'obj>,
    per_cgroup: bool,
    /// One-target counters, mapped: [cpu][epoch][slot].
    slots: EpochSlots<constat_stats>,
    /// Slots of native calls (the rest are 32-bit calls).
    native_slots: u32,
    drops: DropCounter,
    /// What the per-cgroup hashes got (none with one target).
    maps: Option<MapSize>,
    last_drain: Instant,
}

/// Adds one CPU's counters to a running total.
fn merge(acc: &mut constat_stats, s: &constat_stats) {
    acc.count += s.count;
    acc.errors += s.errors;
    acc.denied += s.denied;
    acc.total_ns += s.total_ns;
    acc.max_ns = acc.max_ns.max(s.max_ns);
}

fn sum(per_cpu: &[constat_stats]) -> constat_stats {
    per_cpu.iter().fold(constat_stats::default(), |mut acc, s| {
        merge(&mut acc, s);
        acc
    })
}

impl<'obj> Collector<'obj> {
    /// Opens, configures, loads and attaches the BPF program; `sizing`
    /// sizes the every-cgroup hashes (`--max-entries`, or from the host).
    pub fn start(
        open_object: &'obj mut MaybeUninit<OpenObject>,
        target: &Target,
        sizing: Sizing,
    ) -> Result<Self> {
        let per_cgroup = target.is_host();
        let mut nr_slots = 0;
        let mut maps = None;
        let mut skel =
            common::bpf::open_and_load(ConstatSkelBuilder::default(), open_object, |open| {
                nr_slots = EpochSlots::<constat_stats>::size_for_all_cpus(&mut open.maps.stats)?;
                let native = nr_slots / 2;
                let rodata = common::bpf::mapped(open.maps.rodata_data.as_deref_mut(), ".rodata")?;
                let (nr_exit, nr_exit_group) = common::syscalls::never_returning();
                rodata.slot_exit = nr_exit;
                rodata.slot_exit_group = nr_exit_group;
                // Without a 32-bit ABI these slots are never used: park them past the end.
                let (exit32, exit_group32) =
                    common::syscalls::compat_never_returning().unwrap_or((native, native));
                rodata.slot_exit32 = native + exit32;
                rodata.slot_exit_group32 = native + exit_group32;
                rodata.per_cgroup = per_cgroup;
                common::set_target_filter!(rodata, target);
                let features = common::kernel::effective_features();
                rodata.task_btf = features.task_btf;
                rodata.task_storage = features.task_storage;
                rodata.compat_syscalls = features.compat_syscalls;
                open.maps
                    .starts
                    .set_autocreate(features.task_storage)
                    .context("configuring the per-thread state")?;
                open.maps
                    .starts_by_tid
                    .set_autocreate(!features.task_storage)
                    .context("configuring the per-thread state")?;
                open.progs
                    .syscall_start_cleanup
                    .set_autoload(!features.task_storage);
                if per_cgroup {
                    // Every-cgroup mode keys a hash instead: keep the array minimal.
                    open.maps
                        .stats
                        .set_max_entries(1)
                        .context("sizing the counter array")?;
                }
                let keys = per_cgroup.then_some(common::mapsize::Keys::CgroupSyscall);
                for map in [&mut open.maps.cg_stats0, &mut open.maps.cg_stats1] {
                    let got = common::mapsize::size_hash(map, keys, sizing)?;
                    maps = MapSize::combine(maps, got);
                }
                Ok(())
            })?;
        skel.attach()
            .context("attaching to the raw_syscalls tracepoints")?;
        let slots = EpochSlots::new(&skel.maps.stats, nr_slots)?;
        Ok(Self {
            skel,
            per_cgroup,
            slots,
            native_slots: nr_slots / 2,
            drops: DropCounter::default(),
            maps,
            last_drain: Instant::now(),
        })
    }

    /// What the per-cgroup kernel hashes got (`None` with one target);
    /// every sample's health carries it too.
    pub fn map_size(&self) -> Option<MapSize> {
        self.maps
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

        let native = self.native_slots;
        let errnos = drain_errnos(if old == 0 {
            &maps.errnos0
        } else {
            &maps.errnos1
        })?;
        let stats = if self.per_cgroup {
            drain_hash(if old == 0 {
                &maps.cg_stats0
            } else {
                &maps.cg_stats1
            })?
        } else {
            self.slots
                .drain(old, |s| s.count > 0, merge)?
                .into_iter()
                .map(|(slot, s)| ((None, slot), s))
                .collect()
        };
        let rows = rows(stats, errnos, native);
        let now = Instant::now();
        let covered = now - std::mem::replace(&mut self.last_drain, now);
        Ok(Sample {
            data: rows,
            health: Health {
                dropped,
                covered,
                maps: self.maps,
                ..Health::default()
            },
        })
    }

    fn finish(&mut self) -> Result<Sample<Vec<Row>>> {
        self.skel.links = ConstatLinks::default();
        self.drain()
    }
}

/// Counters by (cgroup in every-cgroup mode, slot).
type SlotKey = (Option<u64>, u32);

/// Joins each slot's counters with its errno tally.
fn rows(
    stats: Vec<(SlotKey, constat_stats)>,
    mut errnos: HashMap<SlotKey, BTreeMap<i32, u64>>,
    native_slots: u32,
) -> Vec<Row> {
    stats
        .into_iter()
        .map(|((cgroup_id, slot), s)| Row {
            cgroup_id,
            call: Call::from_slot(slot, native_slots),
            count: s.count,
            errors: s.errors,
            denied: s.denied,
            total_ns: s.total_ns,
            max_ns: s.max_ns,
            errnos: errnos.remove(&(cgroup_id, slot)).unwrap_or_default(),
        })
        .collect()
}

/// Every cgroup: the old per-CPU hash, emptied after reading.
fn drain_hash(map: &impl MapCore) -> Result<Vec<(SlotKey, constat_stats)>> {
    Ok(drain_percpu_hash::<constat_key, constat_stats>(map)?
        .into_iter()
        .map(|(key, per_cpu)| ((Some(key.cgroup_id), key.slot), sum(&per_cpu)))
        .filter(|(_, stats)| stats.count > 0)
        .collect())
}

/// The old errno tally, emptied after reading: per (cgroup, slot), the
/// failed calls of each errno. Keys carry cgroup 0 with one target.
fn drain_errnos(map: &impl MapCore) -> Result<HashMap<SlotKey, BTreeMap<i32, u64>>> {
    let mut out: HashMap<SlotKey, BTreeMap<i32, u64>> = HashMap::new();
    for (key, per_cpu) in drain_percpu_hash::<constat_errno_key, u64>(map)? {
        let n: u64 = per_cpu.iter().sum();
        if n == 0 {
            continue;
        }
        let cgroup = (key.cgroup_id != 0).then_some(key.cgroup_id);
        *out.entry((cgroup, key.slot))
            .or_default()
            .entry(key.err as i32)
            .or_default() += n;
    }
    Ok(out)
}
