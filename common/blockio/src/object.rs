//! conbiograph's BPF object: what the running kernel offers (probed from its
//! BTF and its cgroup mounts, never from its version), and loading the
//! programs that fit it. Both collectors ([`crate::collect`] and
//! [`crate::cgroups`]) start here.

use std::mem::MaybeUninit;
use std::path::Path;

use anyhow::{Context, Result};
use identity::target::Target;
use kernel::bpf::Pod;
use libbpf_rs::btf::types::{Enum, FuncProto, Struct, Typedef};
use libbpf_rs::btf::Btf;
use libbpf_rs::skel::Skel;
use libbpf_rs::OpenObject;
use serde::Serialize;

#[allow(clippy::all, non_camel_case_types, dead_code, unused_imports)]
pub(crate) mod skel {
    include!(concat!(env!("OUT_DIR"), "/conbiograph.skel.rs"));
}
pub(crate) use skel::types::{cbg_devices, cbg_io, cbg_period};
pub(crate) use skel::ConbiographSkel;
use skel::ConbiographSkelBuilder;

// SAFETY: generated #[repr(C)] structs of u64 arrays and u64s only.
unsafe impl Pod for cbg_period {}
// SAFETY: as above.
unsafe impl Pod for cbg_io {}
// SAFETY: a #[repr(C)] array of structs of u32/u64 fields whose padding is
// explicit (`pad`).
unsafe impl Pod for cbg_devices {}

/// Set `CONBIOGRAPH_FORCE_COMPAT=1` to load the pre-5.11 path (current task
/// through `bpf_get_current_task` and probe reads) on a newer kernel: the
/// tests run it where the 5.10 kernel is not at hand.
pub const FORCE_COMPAT_ENV: &str = "CONBIOGRAPH_FORCE_COMPAT";

/// The writeback tracepoint that runs in the context of the task dirtying
/// pages: the folio one since folios (5.17), the page one before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DirtyHook {
    WritebackDirtyFolio,
    WritebackDirtyPage,
}

/// Whose cgroup a bio's blkcg (`bio->bi_blkg->blkcg`) names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Blkcg {
    /// The io controller is on the cgroup2 hierarchy: a cgroup v2 id, used
    /// to charge writeback as the kernel bills it.
    V2,
    /// The io controller (blkio) is on a cgroup v1 hierarchy: a v1 id, not
    /// comparable with v2 ids; unused.
    V1,
    /// No io controller (or no block cgroup support): unused.
    None,
}

/// What the running kernel offers conbiograph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Features {
    /// `bpf_get_current_task_btf` (5.11+): the current task is read with BTF
    /// loads. Without it, `bpf_get_current_task` and probe reads.
    pub task_btf: bool,
    pub dirty_hook: DirtyHook,
    /// `block_bio_queue(queue, bio)` (before 5.11) rather than `(bio)`.
    #[serde(skip)]
    pub bio_queue_with_queue: bool,
    pub blkcg: Blkcg,
}

/// Number of parameters of tracepoint `name` (after the context), from its
/// `btf_trace_<name>` typedef; `None` when the kernel has no such tracepoint.
fn tracepoint_arity(btf: &Btf, name: &str) -> Option<usize> {
    let typedef = btf.type_by_name::<Typedef>(&format!("btf_trace_{name}"))?;
    let proto = typedef.next_type()?.next_type()?;
    let proto = FuncProto::try_from(proto).ok()?;
    Some(proto.len().saturating_sub(1))
}

/// Whether the kernel knows BPF helper `name` (its `enum bpf_func_id`).
fn has_helper(btf: &Btf, name: &str) -> bool {
    btf.type_by_name::<Enum>("bpf_func_id")
        .is_some_and(|e| e.iter().any(|m| m.name.is_some_and(|n| n == name)))
}

fn has_member(btf: &Btf, strukt: &str, member: &str) -> bool {
    btf.type_by_name::<Struct>(strukt)
        .is_some_and(|s| s.iter().any(|m| m.name.is_some_and(|n| n == member)))
}

/// Where the io controller is: on the cgroup2 hierarchy when the root's
/// `cgroup.controllers` lists `io`; on a v1 hierarchy when /proc/cgroups
/// gives blkio a hierarchy id.
fn blkcg_mode(btf: &Btf, cgroup2_root: &Path) -> Blkcg {
    if !has_member(btf, "bio", "bi_blkg") {
        return Blkcg::None;
    }
    let controllers =
        std::fs::read_to_string(cgroup2_root.join("cgroup.controllers")).unwrap_or_default();
    if controllers.split_whitespace().any(|c| c == "io") {
        return Blkcg::V2;
    }
    let proc_cgroups = std::fs::read_to_string("/proc/cgroups").unwrap_or_default();
    let on_v1 = proc_cgroups.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        matches!(f.as_slice(), [name, hier, _, enabled] if (*name == "blkio" || *name == "io") && *hier != "0" && *enabled == "1")
    });
    if on_v1 {
        Blkcg::V1
    } else {
        Blkcg::None
    }
}

impl Features {
    /// Reads the kernel's BTF and the cgroup mounts.
    pub fn probe() -> Result<Self> {
        let btf =
            Btf::from_vmlinux().context("reading the kernel's BTF (/sys/kernel/btf/vmlinux)")?;
        // The oldest helper every path uses; kernels without it (before
        // 5.5) lack other pieces too. 5.10 is the oldest tested.
        if !has_helper(&btf, "BPF_FUNC_probe_read_kernel") {
            anyhow::bail!(
                "this kernel's BPF lacks bpf_probe_read_kernel: conbiograph needs Linux 5.10 \
                 or later"
            );
        }
        let dirty_hook = if tracepoint_arity(&btf, "writeback_dirty_folio").is_some() {
            DirtyHook::WritebackDirtyFolio
        } else if tracepoint_arity(&btf, "writeback_dirty_page").is_some() {
            DirtyHook::WritebackDirtyPage
        } else {
            anyhow::bail!(
                "this kernel has neither the writeback_dirty_folio nor the writeback_dirty_page \
                 tracepoint in its BTF; conbiograph needs one to charge writeback to the \
                 container that dirtied the pages (kernel built with CONFIG_DEBUG_INFO_BTF and \
                 writeback tracepoints)"
            )
        };
        let bio_queue_with_queue = match tracepoint_arity(&btf, "block_bio_queue") {
            Some(1) => false,
            Some(2) => true,
            other => anyhow::bail!(
                "this kernel's block_bio_queue tracepoint has {} arguments in its BTF; \
                 conbiograph knows (bio) and (queue, bio)",
                other.map_or("no".to_string(), |n| n.to_string())
            ),
        };
        let forced = std::env::var_os(FORCE_COMPAT_ENV).is_some_and(|v| v == "1");
        let task_btf = has_helper(&btf, "BPF_FUNC_get_current_task_btf") && !forced;
        let root = identity::cgroup::Hierarchy::detect()?.root;
        Ok(Self {
            task_btf,
            dirty_hook,
            bio_queue_with_queue,
            blkcg: blkcg_mode(&btf, &root),
        })
    }
}

/// What the loaded object counts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mode {
    /// The period ring, the device table and latency (the CLI).
    pub periods: bool,
    /// The per-cgroup tables (sized for this many cgroups per drain).
    pub cgroups: Option<u32>,
}

/// Settings written into .rodata and map sizes before load.
pub(crate) struct Load<'a> {
    pub features: Features,
    pub mode: Mode,
    pub target: &'a Target,
    pub period_ns: u64,
    pub dir_mask: u32,
    pub device: Option<u32>,
    /// Inodes whose dirtier is remembered.
    pub dirty_inodes: u32,
}

/// Opens, configures, loads and attaches the BPF programs that fit the
/// kernel and the mode.
pub(crate) fn load<'obj>(
    open_object: &'obj mut MaybeUninit<OpenObject>,
    cfg: &Load,
) -> Result<ConbiographSkel<'obj>> {
    let f = cfg.features;
    let builder = ConbiographSkelBuilder::default();
    let mut skel = kernel::bpf::open_and_load(builder, open_object, |open| {
        let rodata = kernel::bpf::mapped(open.maps.rodata_data.as_deref_mut(), ".rodata")?;
        rodata.period_ns = cfg.period_ns;
        rodata.dir_mask = cfg.dir_mask;
        if let Some(dev) = cfg.device {
            rodata.filter_dev = true;
            rodata.target_dev = dev;
        }
        rodata.count_periods = cfg.mode.periods;
        rodata.count_cgroups = cfg.mode.cgroups.is_some();
        rodata.have_task_btf = f.task_btf;
        rodata.blkcg_v2 = f.blkcg == Blkcg::V2;
        kernel::set_target_filter!(rodata, cfg.target.filter());

        let maps = &mut open.maps;
        maps.dirtied
            .set_max_entries(cfg.dirty_inodes.max(1))
            .context("sizing the dirtier table")?;
        let cgroups = cfg.mode.cgroups.unwrap_or(1).max(1);
        for table in [&mut maps.owners0, &mut maps.owners1] {
            table
                .set_max_entries(cgroups)
                .context("sizing the per-cgroup tables")?;
        }
        if !cfg.mode.periods {
            for map in [&mut maps.periods, &mut maps.inflight] {
                map.set_max_entries(1).context("shrinking an unused map")?;
            }
        }

        // Only the programs this kernel and mode need: the others would fail
        // to load (missing tracepoints) or cost every request of the host.
        let progs = &mut open.progs;
        progs
            .cbg_dirty
            .set_autoload(f.dirty_hook == DirtyHook::WritebackDirtyFolio);
        progs
            .cbg_dirty_page
            .set_autoload(f.dirty_hook == DirtyHook::WritebackDirtyPage);
        progs.cbg_bio_queue.set_autoload(!f.bio_queue_with_queue);
        progs.cbg_bio_queue_q.set_autoload(f.bio_queue_with_queue);
        progs.cbg_rq_issue.set_autoload(cfg.mode.periods);
        progs.cbg_rq_complete.set_autoload(cfg.mode.periods);
        Ok(())
    })?;
    let dirty = match f.dirty_hook {
        DirtyHook::WritebackDirtyFolio => "writeback_dirty_folio",
        DirtyHook::WritebackDirtyPage => "writeback_dirty_page",
    };
    skel.attach().with_context(|| {
        format!(
            "attaching to the block and writeback tracepoints (block_bio_queue, \
             block_rq_issue, block_rq_complete, {dirty})"
        )
    })?;
    Ok(skel)
}

/// CLOCK_MONOTONIC in ns: the clock of bpf_ktime_get_ns().
pub(crate) fn monotonic_ns() -> Result<u64> {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .context("reading CLOCK_MONOTONIC")?;
    Ok(ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64)
}
