//! Loading syscount's BPF program and draining its per-CPU counters.

use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::time::Instant;

use anyhow::{Context, Result};
use common::bpf::{drain_percpu_hash, flip_epoch, DropCounter, Pod};
use common::collector::{Aggregator, Health, Sample};
use common::exit::usage;
use common::mapped::EpochSlots;
use common::mapsize::{MapSize, Sizing};
use common::syscalls::Call;
use common::target::Target;
use libbpf_rs::{Link, MapCore, OpenObject};

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

/// Buckets of a latency histogram: the generated type's array length.
pub const HIST_SLOTS: usize = std::mem::size_of::<syscount_hist>() / std::mem::size_of::<u64>();

/// How counts are keyed and what is measured.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mode {
    pub by_process: bool,
    pub by_cgroup: bool,
    pub by_errno: bool,
    /// Measure time (-L or --histogram: the entry hook is attached).
    pub timed: bool,
    /// Show the TIME column and sort by it (-L).
    pub latency: bool,
    /// Mark calls a seccomp filter denied (--denied; also with -L and
    /// --histogram, which have the entry hook anyway).
    pub denied: bool,
    pub histogram: bool,
    pub millis: bool,
}

impl Mode {
    /// Counts go to a hash keyed by cgroup, process or errno.
    fn hashed(&self) -> bool {
        self.by_process || self.by_cgroup || self.by_errno
    }

    /// What the hashes are keyed by, for sizing them from the host.
    fn keys(&self) -> common::mapsize::Keys {
        use common::mapsize::Keys;
        if self.by_process {
            Keys::Process
        } else if self.by_cgroup {
            Keys::CgroupSyscall
        } else {
            Keys::Fixed
        }
    }

    /// The entry hook is attached: calls that never entered are told apart.
    pub fn tracks_entry(&self) -> bool {
        self.timed || self.denied
    }
}

/// What to trace (the target: `-c`, `--exact`, `-p`); everything else is counted.
pub struct Filters<'a> {
    pub target: &'a Target,
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
    /// Syscall slot (see [`Counts::call`]), or tgid with -P.
    pub id: u32,
    /// errno of failed calls with --errno (0 = succeeded or not split).
    pub err: i32,
    pub count: u64,
    pub total_ns: u64,
    /// Calls a seccomp filter stopped before sys_enter (with the entry hook).
    pub denied: u64,
    /// -P: the process's comm (raw bytes).
    pub comm: Vec<u8>,
}

/// Key of a latency histogram: (cgroup, syscall slot or tgid).
pub type HistKey = (Option<u64>, u32);

/// What one drain returns: everything counted since the previous drain.
#[derive(Debug, Default)]
pub struct Counts {
    pub rows: Vec<Row>,
    pub hists: HashMap<HistKey, Vec<u64>>,
    /// Slots of native calls; 32-bit calls follow.
    pub native_slots: u32,
}

impl Counts {
    /// The syscall counted in `slot`.
    pub fn call(&self, slot: u32) -> Call {
        Call::from_slot(slot, self.native_slots)
    }
}

/// syscount's kernel side: counts (and latencies) per syscall, or keyed by
/// process, cgroup and errno.
pub struct Collector<'obj> {
    /// Dropped first: detaching comes before the maps go away.
    links: Vec<Link>,
    skel: SyscountSkel<'obj>,
    /// The `counts` map, `[cpu][epoch][slot]`.
    slots: EpochSlots<syscount_slot>,
    native_slots: u32,
    mode: Mode,
    drops: DropCounter,
    /// What the keyed hashes got (none in the plain per-syscall mode).
    maps: Option<MapSize>,
    /// When the previous drain closed its half (or the programs attached).
    last_flip: Instant,
}

/// Sums a key's per-CPU values. Each CPU keeps the comm it saw last; after
/// an exec or rename they can differ, and the CPU with the most calls most
/// likely ran the process under its final name.
fn sum(per_cpu: &[syscount_stats]) -> (u64, u64, u64, Vec<u8>) {
    let count = per_cpu.iter().map(|s| s.count).sum();
    let total = per_cpu.iter().map(|s| s.total_ns).sum();
    let denied = per_cpu.iter().map(|s| s.denied).sum();
    let comm = per_cpu
        .iter()
        .filter(|s| s.comm[0] != 0)
        .max_by_key(|s| s.count)
        .map(|s| common::escape::c_bytes(&s.comm))
        .unwrap_or_default();
    (count, total, denied, comm)
}

/// Sets the bits of `nrs` (native numbers) in the slot mask, and of the
/// same calls' 32-bit numbers: `--syscall getppid` means both ABIs.
fn mask_syscalls(mask: &mut [u64], nrs: &[u32], native_slots: u32) -> Result<()> {
    for &nr in nrs {
        if nr >= native_slots {
            return Err(usage(format!(
                "--syscall: number {nr} is out of range (below {native_slots})"
            )));
        }
        let compat = common::syscalls::compat_number(&common::syscalls::name(nr))
            .filter(|&c| c < native_slots)
            .map(|c| native_slots + c);
        for slot in std::iter::once(nr).chain(compat) {
            let word = mask
                .get_mut((slot / 64) as usize)
                .context("the syscall mask is smaller than the counter array")?;
            *word |= 1u64 << (slot % 64);
        }
    }
    Ok(())
}

impl<'obj> Collector<'obj> {
    /// Opens, configures, loads and attaches the BPF program: sys_exit
    /// always, sys_enter only when time is measured. A `--syscall` number
    /// the program has no slot for is a usage error. `sizing` sizes the
    /// keyed hashes (`--max-entries`, or from the host).
    pub fn start(
        open_object: &'obj mut MaybeUninit<OpenObject>,
        filters: &Filters,
        mode: Mode,
        sizing: Sizing,
    ) -> Result<Self> {
        let target = filters.target;
        let mut nr_slots = 0;
        let mut maps = None;
        let skel =
            common::bpf::open_and_load(SyscountSkelBuilder::default(), open_object, |open| {
                nr_slots = EpochSlots::<syscount_slot>::size_for_all_cpus(&mut open.maps.counts)?;
                let rodata = common::bpf::mapped(open.maps.rodata_data.as_deref_mut(), ".rodata")?;
                common::set_target_filter!(rodata, target);
                rodata.filter_failed = filters.failures;
                rodata.filter_errno = filters.errno.unwrap_or(0);
                if let Some(nrs) = filters.syscalls {
                    rodata.filter_syscalls = true;
                    mask_syscalls(&mut rodata.syscall_mask, nrs, nr_slots / 2)?;
                }
                let features = common::kernel::effective_features();
                rodata.task_btf = features.task_btf;
                rodata.task_storage = features.task_storage;
                rodata.compat_syscalls = features.compat_syscalls;
                rodata.need_task =
                    !target.is_host() || mode.tracks_entry() || mode.by_process || mode.by_cgroup;
                rodata.track_entry = mode.tracks_entry();
                rodata.measure_latency = mode.timed;
                rodata.histogram = mode.histogram;
                rodata.hist_unit_ns = if mode.millis { 1_000_000 } else { 1_000 };
                rodata.use_hash = mode.hashed();
                rodata.by_process = mode.by_process;
                rodata.by_cgroup = mode.by_cgroup;
                rodata.by_errno = mode.by_errno;
                let keys = mode.keys();
                let counts = mode.hashed().then_some(keys);
                let hists = mode.histogram.then_some(keys);
                for (map, keys) in [
                    (&mut open.maps.keyed0, counts),
                    (&mut open.maps.keyed1, counts),
                    (&mut open.maps.hists0, hists),
                    (&mut open.maps.hists1, hists),
                ] {
                    let got = common::mapsize::size_hash(map, keys, sizing)?;
                    maps = MapSize::combine(maps, got);
                }
                if !mode.tracks_entry() {
                    // Count-only: the exit hook alone, the cheapest path there is.
                    open.progs.syscount_enter.set_autoload(false);
                }
                // Per-thread state: task storage, or the thread-id hash and
                // its cleanup hook on kernels without it (only with the entry hook).
                let storage = features.task_storage;
                open.maps
                    .starts
                    .set_autocreate(mode.tracks_entry() && storage)
                    .context("configuring the per-thread state")?;
                open.maps
                    .starts_by_tid
                    .set_autocreate(mode.tracks_entry() && !storage)
                    .context("configuring the per-thread state")?;
                open.progs
                    .syscall_start_cleanup
                    .set_autoload(mode.tracks_entry() && !storage);
                Ok(())
            })?;
        let slots = EpochSlots::new(&skel.maps.counts, nr_slots)?;
        let mut links = Vec::new();
        if mode.tracks_entry() && !common::kernel::effective_features().task_storage {
            links.push(
                skel.progs
                    .syscall_start_cleanup
                    .attach()
                    .context("attaching to tp_btf/sched_process_exit")?,
            );
        }
        // Entry first: every exit we count then has had its chance to start.
        if mode.tracks_entry() {
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
            native_slots: nr_slots / 2,
            links,
            mode,
            drops: DropCounter::default(),
            maps,
            last_flip: Instant::now(),
        })
    }

    /// What the keyed kernel hashes got (`None`: this mode has none); every
    /// sample's health carries it too.
    pub fn map_size(&self) -> Option<MapSize> {
        self.maps
    }
}

impl Aggregator for Collector<'_> {
    type Data = Counts;

    /// Flips the live half of the counters, waits until no program can
    /// write the old half, then reads and clears it. Nothing is lost
    /// between two drains.
    fn drain(&mut self) -> Result<Sample<Counts>> {
        let maps = &mut self.skel.maps;
        let bss = common::bpf::mapped(maps.bss_data.as_deref_mut(), ".bss")?;
        let dropped = self.drops.delta(&bss.dropped);
        let old = flip_epoch(&mut bss.epoch, &maps.sync_outer, &maps.sync_inner)?;
        let now = Instant::now();
        let covered = now.duration_since(std::mem::replace(&mut self.last_flip, now));
        let maps = &self.skel.maps;

        let rows = if self.mode.hashed() {
            drain_keyed(
                if old == 0 { &maps.keyed0 } else { &maps.keyed1 },
                self.mode.by_cgroup,
            )?
        } else {
            self.slots
                .drain(
                    old,
                    |s| s.count > 0,
                    |acc, s| {
                        acc.count += s.count;
                        acc.total_ns += s.total_ns;
                        acc.denied += s.denied;
                    },
                )?
                .into_iter()
                .map(|(slot, s)| Row {
                    id: slot,
                    count: s.count,
                    total_ns: s.total_ns,
                    denied: s.denied,
                    ..Row::default()
                })
                .collect()
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
            data: Counts {
                rows,
                hists,
                native_slots: self.native_slots,
            },
            health: Health {
                dropped,
                covered,
                maps: self.maps,
                ..Health::default()
            },
        })
    }

    fn finish(&mut self) -> Result<Sample<Counts>> {
        self.links.clear();
        self.drain()
    }
}

/// The hashed modes' old half, summed over CPUs; the map is emptied.
fn drain_keyed(map: &impl MapCore, by_cgroup: bool) -> Result<Vec<Row>> {
    Ok(drain_percpu_hash::<syscount_key, syscount_stats>(map)?
        .into_iter()
        .filter_map(|(key, per_cpu)| {
            let (count, total_ns, denied, comm) = sum(&per_cpu);
            (count > 0).then(|| Row {
                cgroup_id: by_cgroup.then_some(key.cgroup_id),
                id: key.id,
                err: key.err,
                count,
                total_ns,
                denied,
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
