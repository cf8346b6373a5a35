//! Loading syscount's BPF program and draining its per-CPU counters.

use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use common::bpf::{drain_percpu_hash, flip_epoch, DropCounter, Pod};
use common::cgroup::Cgroup;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{Link, MapCore, OpenObject};

use crate::Mode;
use common::mapped::MappedArray;

#[allow(clippy::all, non_camel_case_types, dead_code, unused_imports)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/syscount.skel.rs"));
}
use skel::types::{syscount_hist, syscount_key, syscount_slot, syscount_stats};
use skel::{SyscountSkel, SyscountSkelBuilder};

// SAFETY: generated #[repr(C)] structs of integers and integer arrays only.
unsafe impl Pod for syscount_stats {}
// SAFETY: as above; the fields fill the struct (u64 + u32 + i32, no padding).
unsafe impl Pod for syscount_key {}
// SAFETY: as above (an array of u64).
unsafe impl Pod for syscount_hist {}
// SAFETY: as above (two u64).
unsafe impl Pod for syscount_slot {}

/// Syscall numbers at or above this are not counted (must match syscount.h).
pub const NR_SLOTS: u32 = 1024;
/// Buckets of a latency histogram (must match syscount.h).
pub const HIST_SLOTS: usize = 32;

/// What to trace: everything else is counted.
pub struct Filters<'a> {
    pub target: Option<&'a Cgroup>,
    pub exact: bool,
    /// -p: one process (tgid).
    pub pid: Option<u32>,
    /// -x: failed calls only.
    pub failures: bool,
    /// -e: calls failing with this errno only.
    pub errno: Option<i32>,
    /// --syscall: these numbers only.
    pub syscalls: Option<&'a [u32]>,
}

/// One kernel slot: a syscall or a process (and its cgroup, errno).
#[derive(Clone, Debug, Default)]
pub struct Row {
    pub cgroup_id: Option<u64>,
    /// Syscall number, or tgid with -P.
    pub id: u32,
    /// errno of failed calls with --errno (0 = succeeded or not split).
    pub err: i32,
    pub count: u64,
    pub total_ns: u64,
    /// -P: the process's comm (raw bytes).
    pub comm: Vec<u8>,
}

/// Key of a latency histogram: (cgroup, syscall nr or tgid).
pub type HistKey = (Option<u64>, u32);

/// What one drain returns: everything counted since the previous drain.
pub struct Sample {
    pub rows: Vec<Row>,
    pub hists: HashMap<HistKey, Vec<u64>>,
    pub dropped: u64,
    /// Time counted: since the previous drain, or since attaching.
    pub covered: Duration,
}

pub struct Collector<'obj> {
    /// Dropped first: detaching comes before the maps go away.
    _links: Vec<Link>,
    skel: SyscountSkel<'obj>,
    /// The `counts` map, `[cpu][epoch][nr]`.
    slots: MappedArray<syscount_slot>,
    cpus: usize,
    mode: Mode,
    drops: DropCounter,
    /// When the previous drain closed its half (or the programs attached).
    last_flip: Instant,
}

/// Sums a key's per-CPU values. Each CPU keeps the comm it saw last; after
/// an exec or rename they can differ, and the CPU with the most calls most
/// likely ran the process under its final name.
fn sum(per_cpu: &[syscount_stats]) -> (u64, u64, Vec<u8>) {
    let count = per_cpu.iter().map(|s| s.count).sum();
    let total = per_cpu.iter().map(|s| s.total_ns).sum();
    let comm = per_cpu
        .iter()
        .filter(|s| s.comm[0] != 0)
        .max_by_key(|s| s.count)
        .map(|s| common::escape::c_bytes(&s.comm))
        .unwrap_or_default();
    (count, total, comm)
}

impl<'obj> Collector<'obj> {
    /// Opens, configures, loads and attaches the BPF program: sys_exit
    /// always, sys_enter only when time is measured.
    pub fn start(
        open_object: &'obj mut MaybeUninit<OpenObject>,
        filters: &Filters,
        mode: Mode,
    ) -> Result<Self> {
        let mut open = SyscountSkelBuilder::default()
            .open(open_object)
            .context("opening the BPF object")?;
        let rodata = common::bpf::mapped(open.maps.rodata_data.as_deref_mut(), ".rodata")?;
        common::set_cgroup_filter!(rodata, filters.target, filters.exact);
        rodata.filter_tgid = filters.pid.unwrap_or(0);
        rodata.filter_failed = filters.failures;
        rodata.filter_errno = filters.errno.unwrap_or(0);
        if let Some(nrs) = filters.syscalls {
            rodata.filter_syscalls = true;
            for &nr in nrs.iter().filter(|&&nr| nr < NR_SLOTS) {
                rodata.syscall_mask[(nr / 64) as usize] |= 1u64 << (nr % 64);
            }
        }
        rodata.need_task = filters.target.is_some()
            || filters.pid.is_some()
            || mode.timed
            || mode.by_process
            || mode.by_cgroup;
        rodata.measure_latency = mode.timed;
        rodata.histogram = mode.histogram;
        rodata.hist_unit_ns = if mode.millis { 1_000_000 } else { 1_000 };
        rodata.use_hash = mode.by_process || mode.by_cgroup || mode.by_errno;
        rodata.by_process = mode.by_process;
        rodata.by_cgroup = mode.by_cgroup;
        rodata.by_errno = mode.by_errno;
        let cpus = libbpf_rs::num_possible_cpus().context("counting possible CPUs")?;
        open.maps
            .counts
            .set_max_entries(cpus as u32 * 2 * NR_SLOTS)
            .context("sizing the counters for every CPU")?;
        if !mode.timed {
            // Count-only: the exit hook alone, the cheapest path there is.
            open.progs.syscount_enter.set_autoload(false);
        }
        let skel = open
            .load()
            .context("loading the BPF program into the kernel (rerun with -v for libbpf's log)")?;
        let slots = MappedArray::new(&skel.maps.counts)?;
        let mut links = Vec::new();
        // Entry first: every exit we count then has had its chance to start.
        if mode.timed {
            links.push(
                skel.progs
                    .syscount_enter
                    .attach()
                    .context("attaching to tp_btf/sys_enter")?,
            );
        }
        links.push(
            skel.progs
                .syscount_exit
                .attach()
                .context("attaching to tp_btf/sys_exit")?,
        );
        Ok(Self {
            skel,
            slots,
            cpus,
            _links: links,
            mode,
            drops: DropCounter::default(),
            last_flip: Instant::now(),
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
        let now = Instant::now();
        let covered = now.duration_since(std::mem::replace(&mut self.last_flip, now));
        let maps = &self.skel.maps;

        let hashed = self.mode.by_process || self.mode.by_cgroup || self.mode.by_errno;
        let rows = if hashed {
            drain_keyed(
                if old == 0 { &maps.keyed0 } else { &maps.keyed1 },
                self.mode.by_cgroup,
            )?
        } else {
            drain_slots(&mut self.slots, self.cpus, old)?
        };
        let hists = if self.mode.histogram {
            drain_hists(
                if old == 0 { &maps.hists0 } else { &maps.hists1 },
                self.mode.by_cgroup,
            )?
        } else {
            HashMap::new()
        };
        Ok(Sample {
            rows,
            hists,
            dropped,
            covered,
        })
    }
}

/// Per syscall: every CPU's old-epoch row of the mapped array, summed and
/// cleared.
fn drain_slots(slots: &mut MappedArray<syscount_slot>, cpus: usize, half: u32) -> Result<Vec<Row>> {
    let nr_slots = NR_SLOTS as usize;
    let mut sums = vec![(0u64, 0u64); nr_slots];
    for cpu in 0..cpus {
        let base = (cpu * 2 + half as usize) * nr_slots;
        for (nr, sum) in sums.iter_mut().enumerate() {
            let idx = base + nr;
            let outside = || format!("counter slot {idx} is outside the mapped array");
            let slot = slots.get(idx).with_context(outside)?;
            if slot.count > 0 {
                sum.0 += slot.count;
                sum.1 += slot.total_ns;
                slots.clear(idx).with_context(outside)?;
            }
        }
    }
    Ok(sums
        .into_iter()
        .enumerate()
        .filter(|(_, (count, _))| *count > 0)
        .map(|(nr, (count, total_ns))| Row {
            id: nr as u32,
            count,
            total_ns,
            ..Row::default()
        })
        .collect())
}

/// The hashed modes' old half, summed over CPUs; the map is emptied.
fn drain_keyed(map: &impl MapCore, by_cgroup: bool) -> Result<Vec<Row>> {
    Ok(drain_percpu_hash::<syscount_key, syscount_stats>(map)?
        .into_iter()
        .filter_map(|(key, per_cpu)| {
            let (count, total_ns, comm) = sum(&per_cpu);
            (count > 0).then(|| Row {
                cgroup_id: by_cgroup.then_some(key.cgroup_id),
                id: key.id,
                err: key.err,
                count,
                total_ns,
                comm,
            })
        })
        .collect())
}

fn drain_hists(map: &impl MapCore, by_cgroup: bool) -> Result<HashMap<HistKey, Vec<u64>>> {
    let mut hists = HashMap::new();
    for (key, per_cpu) in drain_percpu_hash::<syscount_key, syscount_hist>(map)? {
        let mut slots = vec![0u64; HIST_SLOTS];
        for h in &per_cpu {
            for (acc, v) in slots.iter_mut().zip(h.slots.iter()) {
                *acc += v;
            }
        }
        hists.insert((by_cgroup.then_some(key.cgroup_id), key.id), slots);
    }
    Ok(hists)
}
