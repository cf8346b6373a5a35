//! Loading the engine's program as a mode asks, and draining its counters.

use std::collections::{BTreeMap, HashMap};
use std::mem::MaybeUninit;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use kernel::bpf::{drain_percpu_hash, flip_epoch, DropCounter, Pod};
use kernel::collector::{Aggregator, Health, Sample};
use kernel::mapped::EpochSlots;
use kernel::mapsize::{MapSize, Sizing};
use kernel::syscalls::Call;
use libbpf_rs::{Link, MapCore, OpenObject};

use crate::cgroup_slots::{self, CgroupSlots};
use crate::mode::{mask_child_returns, mask_syscalls, Filters, Mode, NamedSlots};
use crate::namespaces::{NamespaceRing, NO_RING_BYTES, RING_BYTES};
use crate::rows::{Counts, HistKey, Key, Row, HIST_SLOTS};

use crate::skel::types::{
    syscall_cgroup_ns, syscall_cgroup_slots, syscall_counts, syscall_errno_key, syscall_hist,
    syscall_key, syscall_keyed,
};
use crate::skel::{OpenSyscallsSkel, SyscallsSkel, SyscallsSkelBuilder};

// SAFETY: generated #[repr(C)] structs of integers and integer arrays only,
// whose fields fill them (bpf/syscalls.h asserts the sizes): no padding.
unsafe impl Pod for syscall_counts {}
// SAFETY: as above (the counts, then a 16-byte char array).
unsafe impl Pod for syscall_keyed {}
// SAFETY: as above (u64 + u32 + i32).
unsafe impl Pod for syscall_key {}
// SAFETY: as above (u64 + two u32).
unsafe impl Pod for syscall_errno_key {}
// SAFETY: as above (an array of u64).
unsafe impl Pod for syscall_hist {}
// SAFETY: as above (an array of u32).
unsafe impl Pod for syscall_cgroup_slots {}
// SAFETY: as above (an array of u64).
unsafe impl Pod for syscall_cgroup_ns {}

const _: () = assert!(std::mem::size_of::<syscall_hist>() == HIST_SLOTS * 8);

/// The syscall engine's kernel side, loaded for one [`Mode`].
pub struct Collector<'obj> {
    /// Dropped first: detaching comes before the maps go away.
    links: Vec<Link>,
    skel: SyscallsSkel<'obj>,
    /// The `counts` map, `[cpu][epoch][slot]`.
    slots: EpochSlots<syscall_counts>,
    native_slots: u32,
    mode: Mode,
    drops: DropCounter,
    /// What the keyed hashes got (none in the plain per-syscall mode).
    maps: Option<MapSize>,
    /// When the previous drain closed its half (or the programs attached).
    last_flip: Instant,
    /// The per-cgroup slot arrays, when the mode uses them.
    cgroup_slots: Option<CgroupSlots>,
    /// Namespace-change records, when the mode makes them.
    namespaces: Option<NamespaceRing>,
    lost: DropCounter,
}

/// Adds one CPU's counters to a running total.
fn merge(acc: &mut syscall_counts, s: &syscall_counts) {
    acc.count += s.count;
    acc.errors += s.errors;
    acc.denied += s.denied;
    acc.total_ns += s.total_ns;
    acc.max_ns = acc.max_ns.max(s.max_ns);
}

impl<'obj> Collector<'obj> {
    /// Opens, configures, loads and attaches the program: sys_exit always,
    /// sys_enter only when the mode needs it. A `--syscall` number the
    /// program has no slot for is a usage error. `sizing` sizes the keyed
    /// hashes (`--max-entries`, or from the host).
    pub fn start(
        open_object: &'obj mut MaybeUninit<OpenObject>,
        filters: &Filters,
        mode: Mode,
        sizing: Sizing,
    ) -> Result<Self> {
        // The slot arrays' exit path tests no filter (syscalls.bpf.c).
        ensure!(
            !mode.uses_cgroup_slots() || filters.is_everything(),
            "the per-cgroup slot arrays count every call of the host: no target or filter with them"
        );
        let mut nr_slots = 0;
        let mut maps = None;
        let cpus = libbpf_rs::num_possible_cpus().context("counting possible CPUs")? as u64;
        let indices = cgroup_slots::indices_for(sizing, cpus, mode.timed);
        let skel =
            kernel::bpf::open_and_load(SyscallsSkelBuilder::default(), open_object, |open| {
                nr_slots = EpochSlots::<syscall_counts>::size_for_all_cpus(&mut open.maps.counts)?;
                configure(open, filters, mode, nr_slots / 2)?;
                configure_exporter_paths(open, mode, indices)?;
                maps = size_maps(open, mode, sizing)?;
                Ok(())
            })?;
        let slots = EpochSlots::new(&skel.maps.counts, nr_slots)?;
        let cgroup_slots = mode.uses_cgroup_slots().then(|| CgroupSlots::new(indices));
        if let Some(cgroup_slots) = &cgroup_slots {
            cgroup_slots.fill(&skel.maps.free_cgroup_indices)?;
        }
        let namespaces = match mode.namespaces {
            true => Some(NamespaceRing::new(&skel.maps.events)?),
            false => None,
        };
        let links = attach(&skel, mode)?;
        Ok(Self {
            links,
            skel,
            slots,
            native_slots: nr_slots / 2,
            mode,
            drops: DropCounter::default(),
            maps,
            last_flip: Instant::now(),
            cgroup_slots,
            namespaces,
            lost: DropCounter::default(),
        })
    }

    /// What the keyed kernel hashes got (`None`: this mode has none): the
    /// one place it is kept, read by the sink's drop advice.
    pub fn map_size(&self) -> Option<MapSize> {
        self.maps
    }

    /// The mode the program was loaded for.
    pub fn mode(&self) -> Mode {
        self.mode
    }
}

/// Writes the filters and the mode into `.rodata`, and creates only the
/// per-thread state this kernel has (and only with the entry hook).
fn configure(
    open: &mut OpenSyscallsSkel,
    filters: &Filters,
    mode: Mode,
    native_slots: u32,
) -> Result<()> {
    let target = filters.target;
    let rodata = kernel::bpf::mapped(open.maps.rodata_data.as_deref_mut(), ".rodata")?;
    kernel::set_target_filter!(rodata, target.filter());
    rodata.filter_failed = filters.failures;
    rodata.filter_errno = filters.errno.unwrap_or(0);
    if let Some(nrs) = filters.syscalls {
        rodata.filter_syscalls = true;
        mask_syscalls(&mut rodata.syscall_mask, nrs, native_slots)?;
    }
    mask_child_returns(&mut rodata.child_return_mask, native_slots)?;
    let named = NamedSlots::new(native_slots);
    rodata.slot_exit = named.exit;
    rodata.slot_exit_group = named.exit_group;
    rodata.slot_exit32 = named.exit32;
    rodata.slot_exit_group32 = named.exit_group32;
    rodata.slot_rt_sigreturn = named.rt_sigreturn;
    rodata.slot_rt_sigreturn32 = named.rt_sigreturn32;
    let features = kernel::features::effective_features();
    rodata.task_btf = features.task_btf;
    rodata.task_storage = features.task_storage;
    rodata.compat_syscalls = features.compat_syscalls;
    rodata.need_task = !target.is_host() || mode.by_process || mode.by_cgroup;
    rodata.track_entry = mode.tracks_entry();
    rodata.measure_time = mode.timed || mode.histogram;
    rodata.histogram = mode.histogram;
    rodata.hist_unit_ns = if mode.millis { 1_000_000 } else { 1_000 };
    rodata.tally_errnos = mode.tallies_errnos();
    rodata.exits_at_entry = mode.exits_at_entry;
    rodata.use_hash = mode.hashed();
    rodata.by_process = mode.by_process;
    rodata.by_cgroup = mode.by_cgroup;
    rodata.by_errno = mode.by_errno;
    // Per-thread state: task storage, or the thread-id hash and its
    // cleanup hook on kernels without it (only with the entry hook).
    let entry = mode.tracks_entry();
    let storage = features.task_storage;
    let state = "configuring the per-thread state";
    open.maps
        .starts
        .set_autocreate(entry && storage)
        .context(state)?;
    open.maps
        .starts_by_tid
        .set_autocreate(entry && !storage)
        .context(state)?;
    open.progs
        .syscall_start_cleanup
        .set_autoload(entry && !storage);
    open.progs.syscalls_enter.set_autoload(entry);
    Ok(())
}

/// The exporter's paths: per-cgroup slot arrays with `indices` indices
/// (the index cached per CPU, then per task where the kernel has task
/// storage) and the namespace-change records; the maps of a path not taken
/// shrink to nothing.
fn configure_exporter_paths(open: &mut OpenSyscallsSkel, mode: Mode, indices: u32) -> Result<()> {
    let rodata = kernel::bpf::mapped(open.maps.rodata_data.as_deref_mut(), ".rodata")?;
    let slots = mode.uses_cgroup_slots();
    rodata.cgroup_slots = slots;
    rodata.cgroup_indices = if slots { indices } else { 1 };
    rodata.ns_events = mode.namespaces;
    let entries = if slots { indices } else { 1 };
    let sizing = "sizing the per-cgroup slot arrays";
    let maps = &mut open.maps;
    maps.cgroup_slots_by_index
        .set_max_entries(entries * 2)
        .context(sizing)?;
    let timed = if slots && mode.timed { entries } else { 1 };
    maps.cgroup_ns_by_index
        .set_max_entries(timed * 2)
        .context(sizing)?;
    maps.task_cgroups
        .set_autocreate(slots && kernel::features::effective_features().task_storage)
        .context(sizing)?;
    maps.cgroup_index.set_max_entries(entries).context(sizing)?;
    maps.cgroup_owner.set_max_entries(entries).context(sizing)?;
    maps.free_cgroup_indices
        .set_max_entries(entries)
        .context(sizing)?;
    let ring = if mode.namespaces {
        RING_BYTES
    } else {
        NO_RING_BYTES
    };
    let events = "sizing the namespace event maps";
    maps.events.set_max_entries(ring).context(events)?;
    maps.watched_ns.set_max_entries(1).context(events)?;
    maps.uncertain.set_max_entries(1).context(events)?;
    Ok(())
}

/// Sizes the hashes the mode uses and shrinks the rest (and the array,
/// when counts are keyed) to nothing.
fn size_maps(open: &mut OpenSyscallsSkel, mode: Mode, sizing: Sizing) -> Result<Option<MapSize>> {
    let keys = mode.keys();
    let counts = mode.hashed().then_some(keys);
    let hists = mode.histogram.then_some(keys);
    let errnos = mode.tallies_errnos().then_some(keys);
    if mode.hashed() {
        open.maps
            .counts
            .set_max_entries(1)
            .context("sizing the counter array")?;
    }
    // With the slot arrays the hashes see only 32-bit calls, cgroups past
    // the last index and failures: entries on demand, not preallocated.
    let on_demand = mode.uses_cgroup_slots();
    let mut maps = None;
    for (map, keys) in [
        (&mut open.maps.keyed0, counts),
        (&mut open.maps.keyed1, counts),
        (&mut open.maps.errnos0, errnos),
        (&mut open.maps.errnos1, errnos),
        (&mut open.maps.hists0, hists),
        (&mut open.maps.hists1, hists),
    ] {
        let mut got = kernel::mapsize::size_hash(map, keys, sizing)?;
        if let (true, Some(size)) = (on_demand, got.as_mut()) {
            map.set_map_flags(map.map_flags() | NO_PREALLOC)
                .context("allocating the fallback hashes on demand")?;
            size.preallocated = false;
        }
        maps = MapSize::combine(maps, got);
    }
    Ok(maps)
}

/// BPF_F_NO_PREALLOC.
const NO_PREALLOC: u32 = 1;

/// Attaches what the mode loaded: the cleanup hook (kernels without task
/// storage), the entry hook, then the exit hook, so every exit counted
/// has had its chance to be entered.
fn attach(skel: &SyscallsSkel, mode: Mode) -> Result<Vec<Link>> {
    let mut links = Vec::new();
    if mode.tracks_entry() {
        if !kernel::features::effective_features().task_storage {
            let cleanup = skel.progs.syscall_start_cleanup.attach();
            links.push(cleanup.context("attaching to tp_btf/sched_process_exit")?);
        }
        let enter = skel.progs.syscalls_enter.attach();
        links.push(enter.context("attaching to tp_btf/sys_enter")?);
    }
    let exit = skel.progs.syscalls_exit.attach();
    links.push(exit.context("attaching to tp_btf/sys_exit")?);
    Ok(links)
}

impl Aggregator for Collector<'_> {
    type Data = Counts;

    /// Flips the live half of the counters, waits until no program can
    /// write the old half, then reads and clears it. Nothing is lost
    /// between two drains.
    fn drain(&mut self) -> Result<Sample<Counts>> {
        let maps = &mut self.skel.maps;
        let bss = kernel::bpf::mapped(maps.bss_data.as_deref_mut(), ".bss")?;
        let dropped = self.drops.delta(&bss.dropped);
        let lost = self.lost.delta(&bss.lost);
        let old = flip_epoch(&mut bss.epoch, &maps.sync_outer, &maps.sync_inner)?;
        let now = Instant::now();
        let covered = now.duration_since(std::mem::replace(&mut self.last_flip, now));
        let data = self.read_half(old)?;
        Ok(Sample {
            data,
            health: Health {
                dropped,
                lost,
                covered,
                ..Health::default()
            },
        })
    }

    fn finish(&mut self) -> Result<Sample<Counts>> {
        self.links.clear();
        self.drain()
    }
}

impl Collector<'_> {
    /// Reads and clears the half `old` that no program writes any more.
    fn read_half(&mut self, old: u32) -> Result<Counts> {
        let maps = &self.skel.maps;
        let pick = |a, b| if old == 0 { a } else { b };
        let shape = Shape {
            native_slots: self.native_slots,
            mode: self.mode,
        };
        let mut rows = if self.mode.hashed() {
            let mut rows = drain_keyed(pick(&maps.keyed0, &maps.keyed1), shape)?;
            if let Some(cgroup_slots) = &mut self.cgroup_slots {
                let timed = self.mode.timed;
                let arrays = cgroup_slots.drain(&slot_maps(maps), old, self.native_slots, timed)?;
                rows = merge_rows(rows, arrays);
            }
            rows
        } else {
            self.slots
                .drain(old, |s| s.count > 0, merge)?
                .into_iter()
                .map(|(slot, s)| shape.row((0, slot), &s))
                .collect()
        };
        if self.mode.tallies_errnos() {
            let tally = drain_errnos(pick(&maps.errnos0, &maps.errnos1), shape)?;
            join_errnos(&mut rows, tally);
        }
        if self.cgroup_slots.is_some() {
            errors_from_tally(&mut rows);
        }
        let hists = if self.mode.histogram {
            drain_hists(pick(&maps.hists0, &maps.hists1), shape)?
        } else {
            HashMap::new()
        };
        Ok(Counts { rows, hists })
    }
}

impl Collector<'_> {
    /// Namespace-change records (`struct unsharesnoop_event`) made since
    /// the previous call; none unless the mode makes them. Ring-buffer
    /// overflows are counted in the drains' `health.lost`.
    pub fn namespace_records(&mut self) -> Result<Vec<Vec<u8>>> {
        match &mut self.namespaces {
            Some(ring) => ring.take(),
            None => Ok(Vec::new()),
        }
    }

    /// Takes back the per-cgroup slot arrays of removed cgroups (no-op
    /// unless the mode uses them); their last counts still come with the
    /// next drains. A cgroup wrongly called removed only moves to a new
    /// index: the program checks each task's cached index against its owner.
    pub fn forget_cgroups(&mut self, ids: &[u64]) -> Result<()> {
        match &mut self.cgroup_slots {
            Some(cgroup_slots) => cgroup_slots.forget(&slot_maps(&self.skel.maps), ids),
            None => Ok(()),
        }
    }
}

fn slot_maps<'a>(
    maps: &'a crate::skel::SyscallsMaps<'_>,
) -> cgroup_slots::Maps<'a, libbpf_rs::Map<'a>> {
    cgroup_slots::Maps {
        index: &maps.cgroup_index,
        owner: &maps.cgroup_owner,
        slots: &maps.cgroup_slots_by_index,
        ns: &maps.cgroup_ns_by_index,
        free: &maps.free_cgroup_indices,
    }
}

/// Rows of the hash and of the slot arrays as one row per key (a cgroup
/// without an index, e.g. past the last one, is counted in the hash).
fn merge_rows(hashed: Vec<Row>, arrays: Vec<Row>) -> Vec<Row> {
    let mut by_key: HashMap<HistKey, Row> = HashMap::new();
    for row in hashed.into_iter().chain(arrays) {
        match by_key.entry((row.cgroup_id, row.key)) {
            std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().add(&row),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(row);
            }
        }
    }
    by_key.into_values().collect()
}

/// With the slot arrays, failures are counted only in the errno tally:
/// errors are the tally's failures a process saw (not restart codes).
fn errors_from_tally(rows: &mut [Row]) {
    for row in rows {
        row.errors = row
            .errnos
            .iter()
            .filter(|(&errno, _)| !kernel::errno::is_restart(errno))
            .map(|(_, &n)| n)
            .sum();
    }
}

/// How kernel keys read back as rows.
#[derive(Clone, Copy)]
struct Shape {
    native_slots: u32,
    mode: Mode,
}

impl Shape {
    fn cgroup(self, id: u64) -> Option<u64> {
        self.mode.by_cgroup.then_some(id)
    }

    fn key(self, id: u32) -> Key {
        if self.mode.by_process {
            Key::Process(id)
        } else {
            Key::Syscall(Call::from_slot(id, self.native_slots))
        }
    }

    /// A row of counters found under (cgroup id, slot or tgid).
    fn row(self, (cgroup, id): (u64, u32), s: &syscall_counts) -> Row {
        Row {
            cgroup_id: self.cgroup(cgroup),
            key: self.key(id),
            count: s.count,
            errors: s.errors,
            denied: s.denied,
            total_ns: s.total_ns,
            max_ns: s.max_ns,
            ..Row::default()
        }
    }
}

/// The keyed counters' old half, summed over CPUs; the map is emptied.
/// Each CPU keeps the comm it saw last; after an exec or rename they can
/// differ, and the CPU with the most calls most likely ran the process
/// under its final name.
fn drain_keyed(map: &impl MapCore, shape: Shape) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (key, per_cpu) in drain_percpu_hash::<syscall_key, syscall_keyed>(map)? {
        let mut total = syscall_counts::default();
        per_cpu.iter().for_each(|k| merge(&mut total, &k.c));
        if total.count == 0 {
            continue;
        }
        let comm = per_cpu
            .iter()
            .filter(|k| k.comm[0] != 0)
            .max_by_key(|k| k.c.count)
            .map(|k| kernel::escape::c_bytes(&k.comm))
            .unwrap_or_default();
        rows.push(Row {
            err: key.err,
            comm,
            ..shape.row((key.cgroup_id, key.id), &total)
        });
    }
    Ok(rows)
}

/// What the errno tally holds per (cgroup, syscall).
#[derive(Default)]
struct Tallied {
    errnos: BTreeMap<i32, u64>,
    /// Calls a seccomp filter denied (with the per-cgroup slot arrays).
    denied: u64,
}

/// In a tally key's errno: a denied call (bpf/syscalls.h).
const ERR_DENIED: u32 = 0x8000_0000;

/// The old errno tally, emptied after reading: per (cgroup, syscall), the
/// failed calls of each errno, and the denied calls.
fn drain_errnos(map: &impl MapCore, shape: Shape) -> Result<HashMap<HistKey, Tallied>> {
    let mut out: HashMap<HistKey, Tallied> = HashMap::new();
    for (key, per_cpu) in drain_percpu_hash::<syscall_errno_key, u64>(map)? {
        let n: u64 = per_cpu.iter().sum();
        if n == 0 {
            continue;
        }
        let at = out
            .entry((shape.cgroup(key.cgroup_id), shape.key(key.slot)))
            .or_default();
        if key.err & ERR_DENIED != 0 {
            at.denied += n;
        }
        let errno = (key.err & !ERR_DENIED) as i32;
        if errno != 0 {
            *at.errnos.entry(errno).or_default() += n;
        }
    }
    Ok(out)
}

/// Gives each row its errno tally (by errno, the row of the successes).
fn join_errnos(rows: &mut [Row], mut tally: HashMap<HistKey, Tallied>) {
    for row in rows.iter_mut().filter(|r| r.err == 0) {
        if let Some(tallied) = tally.remove(&(row.cgroup_id, row.key)) {
            row.errnos = tallied.errnos;
            row.denied += tallied.denied;
        }
    }
}

fn drain_hists(map: &impl MapCore, shape: Shape) -> Result<HashMap<HistKey, Vec<u64>>> {
    let mut hists = HashMap::new();
    for (key, per_cpu) in drain_percpu_hash::<syscall_key, syscall_hist>(map)? {
        let mut slots = vec![0u64; HIST_SLOTS];
        for h in &per_cpu {
            for (acc, v) in slots.iter_mut().zip(h.slots.iter()) {
                *acc += v;
            }
        }
        hists.insert((shape.cgroup(key.cgroup_id), shape.key(key.id)), slots);
    }
    Ok(hists)
}
