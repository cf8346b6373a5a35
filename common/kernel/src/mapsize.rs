//! Sizing the kernel-side hashes with one entry per key seen in a report
//! period (constat's and syscount's per-(cgroup, syscall) and per-process
//! counters): from the host at start, so a node with thousands of cgroups
//! loses nothing, with `--max-entries` to override.
//!
//! Preallocated when that fits in [`PREALLOC_BUDGET`], else allocated on
//! demand (BPF_F_NO_PREALLOC). Measured here: per-CPU hashes allocated on
//! demand DROP updates when many new keys come at once (1 200 cgroups
//! starting within 20 s: 318-3 730 of 67 200 updates lost, on every
//! period's refill too), because their per-CPU values come from the
//! per-CPU allocator, which only a background worker refills; preallocated
//! ones never do until full. The cost (bpftool, 2 CPUs, preallocated):
//! constat's counter hash of 65 536 entries 11.0 MB (154 624: 27.7 MB),
//! syscount's 10.0 MB, its histograms 39.3 MB; two of each (one per
//! epoch). Allocated on demand: 16 bytes of buckets per entry plus ~150
//! bytes per entry in use.
//!
//! Nothing here is global: a collector takes its [`Sizing`] by value,
//! keeps the [`MapSize`] its maps got (its one copy: the collector's
//! `map_size()`), which the sink reads once for [`drop_advice`].

use std::path::Path;

use anyhow::{Context, Result};

/// Fewest entries a used hash gets: room for ~1 000 cgroups of ~64
/// distinct syscalls created after start (the host is measured only then).
pub const MIN_ENTRIES: u32 = 65_536;
/// Entries of a hash whose keys do not grow with the host (syscall x
/// errno, per-syscall histograms): a few hundred syscalls, a few errnos.
pub const FIXED_ENTRIES: u32 = 8_192;
/// Most entries accepted (64 MiB of buckets per map).
pub const MAX_ENTRIES: u32 = 1 << 22;
/// Distinct syscalls one cgroup is assumed to make in a period; a busy
/// container makes 30-60.
pub const SYSCALLS_PER_CGROUP: u64 = 64;

/// BPF_F_NO_PREALLOC.
const NO_PREALLOC: u32 = 1;
/// Kernel memory a hash may take preallocated; larger ones allocate
/// entries on demand.
pub const PREALLOC_BUDGET: u64 = 64 << 20;

/// How a collector sizes its keyed hashes: `--max-entries`, or from the
/// host's load measured once at start (`max_entries: None`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sizing {
    pub max_entries: Option<u32>,
    pub host: HostLoad,
}

/// What the host runs when a tool starts: what hashes keyed by cgroup or
/// process are sized from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HostLoad {
    pub cgroups: u64,
    pub tasks: u64,
}

impl HostLoad {
    /// Counts the cgroups under the cgroup2 mount `cgroup_root` and the
    /// tasks of the host (0 for what cannot be read).
    pub fn measure(cgroup_root: &Path) -> Self {
        Self {
            cgroups: host_cgroups(cgroup_root).unwrap_or(0),
            tasks: host_tasks().unwrap_or(0),
        }
    }
}

/// What the keyed hashes of a collector got, for the drop warning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapSize {
    pub entries: u32,
    /// Every one was preallocated (none fell back to on-demand entries).
    pub preallocated: bool,
}

impl MapSize {
    /// Several maps (or collectors) as one: the largest, preallocated only
    /// if all were. `None` is a collector without keyed hashes.
    pub fn combine(a: Option<MapSize>, b: Option<MapSize>) -> Option<MapSize> {
        match (a, b) {
            (Some(a), Some(b)) => Some(MapSize {
                entries: a.entries.max(b.entries),
                preallocated: a.preallocated && b.preallocated,
            }),
            (a, b) => a.or(b),
        }
    }
}

/// Kernel memory of a preallocated hash (measured with bpftool on 6.18:
/// buckets of 16 bytes, rounded up to a power of two; 56 bytes of element
/// header and per-CPU pointer, the key, the value once per CPU).
pub fn prealloc_bytes(entries: u32, key_size: u32, value_size: u32, cpus: u64) -> u64 {
    let entries = u64::from(entries);
    let value = u64::from(value_size.div_ceil(8) * 8);
    let per_entry = 56 + u64::from(key_size.div_ceil(8) * 8) + value * cpus;
    entries.next_power_of_two() * 16 + entries * per_entry
}

/// What a hash is keyed by, which says how many keys the host may give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keys {
    /// (cgroup, syscall) and finer: cgroups × syscalls.
    CgroupSyscall,
    /// (process, ...): the host's tasks.
    Process,
    /// Keys the host size does not change (syscall × errno).
    Fixed,
}

/// Live cgroups below the cgroup2 mount, from its root's cgroup.stat.
fn host_cgroups(root: &Path) -> Option<u64> {
    let stat = std::fs::read_to_string(root.join("cgroup.stat")).ok()?;
    stat.lines()
        .find_map(|l| l.strip_prefix("nr_descendants "))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .map(|n| n + 1)
}

/// Tasks on the host (the total of /proc/loadavg's `running/total`).
fn host_tasks() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace()
        .nth(3)?
        .split_once('/')?
        .1
        .parse()
        .ok()
}

/// Entries for a hash keyed by `keys` on a host with `cgroups` cgroups and
/// `tasks` tasks: twice what they need now (cgroups and processes come and
/// go within a period), within [`MIN_ENTRIES`, `MAX_ENTRIES`].
pub fn entries_for(keys: Keys, cgroups: u64, tasks: u64) -> u32 {
    let needed = match keys {
        Keys::CgroupSyscall => cgroups.saturating_mul(SYSCALLS_PER_CGROUP),
        Keys::Process => tasks,
        Keys::Fixed => return FIXED_ENTRIES,
    };
    let wanted = needed.saturating_mul(2);
    u32::try_from(wanted)
        .unwrap_or(MAX_ENTRIES)
        .clamp(MIN_ENTRIES, MAX_ENTRIES)
}

/// Sizes a hash keyed by `keys` (`None`: the mode does not use it, one
/// entry is enough) before load: `sizing.max_entries` if given, else from
/// the host. Called from a collector's configure closure; returns what the
/// hash got (`None` for an unused one).
pub fn size_hash(
    map: &mut libbpf_rs::OpenMapMut,
    keys: Option<Keys>,
    sizing: Sizing,
) -> Result<Option<MapSize>> {
    let name = map.name().to_string_lossy().into_owned();
    let Some(keys) = keys else {
        map.set_max_entries(1)
            .with_context(|| format!("sizing BPF map {name} to 1 entry"))?;
        return Ok(None);
    };
    let entries = sizing
        .max_entries
        .unwrap_or_else(|| entries_for(keys, sizing.host.cgroups, sizing.host.tasks));
    let percpu = matches!(
        map.map_type(),
        libbpf_rs::MapType::PercpuHash | libbpf_rs::MapType::LruPercpuHash
    );
    let cpus = if percpu {
        libbpf_rs::num_possible_cpus().context("counting possible CPUs")? as u64
    } else {
        1
    };
    let preallocated =
        prealloc_bytes(entries, map.key_size(), map.value_size(), cpus) <= PREALLOC_BUDGET;
    let flags = if preallocated {
        map.map_flags() & !NO_PREALLOC
    } else {
        map.map_flags() | NO_PREALLOC
    };
    map.set_map_flags(flags)
        .with_context(|| format!("setting the flags of BPF map {name}"))?;
    map.set_max_entries(entries)
        .with_context(|| format!("sizing BPF map {name} to {entries} entries"))?;
    Ok(Some(MapSize {
        entries,
        preallocated,
    }))
}

/// `--max-entries`: a whole number within the accepted range.
pub fn parse_max_entries(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if (1024..=u64::from(MAX_ENTRIES)).contains(&n) => Ok(n as u32),
        Ok(_) => Err(format!(
            "'{text}' is out of range: give 1024 to {MAX_ENTRIES} (e.g. 1000000)"
        )),
        Err(_) => Err(format!("'{text}' is not a whole number (e.g. 1000000)")),
    }
}

/// What to say when the kernel side dropped updates: how to lose nothing,
/// from what the collector's keyed hashes got (`None`: it has none).
pub fn drop_advice(maps: Option<MapSize>) -> String {
    match maps {
        Some(MapSize {
            entries: n,
            preallocated: true,
        }) => format!(
            "the kernel hashes held {n} entries: rerun with a larger --max-entries \
             (e.g. {}) or a shorter -i",
            u64::from(n).saturating_mul(4).min(u64::from(MAX_ENTRIES))
        ),
        Some(MapSize { entries: n, .. }) => format!(
            "the kernel hashes of {n} entries were too large to preallocate and ran out \
             of memory for new entries: rerun with a smaller --max-entries that still \
             holds every (cgroup, syscall) of a period, or a shorter -i"
        ),
        None => "the kernel ran out of memory for per-task storage".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_from_the_host_within_bounds() {
        // The reported case: 1 200 cgroups.
        let n = entries_for(Keys::CgroupSyscall, 1200, 300);
        assert_eq!(n, 1200 * 64 * 2);
        assert_eq!(entries_for(Keys::CgroupSyscall, 10, 300), MIN_ENTRIES);
        // The measured cost: 154 624 entries of 16-byte keys and 40-byte
        // per-CPU values on 2 CPUs took 27 698 048 bytes.
        let cost = prealloc_bytes(154_624, 16, 40, 2);
        assert!((26_000_000..29_000_000).contains(&cost), "{cost}");
        assert!(prealloc_bytes(n, 16, 40, 2) <= PREALLOC_BUDGET);
        // 256-byte histograms of 1 200 cgroups do not fit: on demand.
        assert!(prealloc_bytes(n, 16, 256, 2) > PREALLOC_BUDGET);
        assert_eq!(entries_for(Keys::CgroupSyscall, u64::MAX, 0), MAX_ENTRIES);
        assert_eq!(entries_for(Keys::Process, 0, 200_000), 400_000);
        assert_eq!(entries_for(Keys::Fixed, 5000, 5000), FIXED_ENTRIES);
    }

    #[test]
    fn parses_max_entries() {
        assert_eq!(parse_max_entries("1000000"), Ok(1_000_000));
        for bad in ["0", "10", "x", "-1", "99999999999", ""] {
            assert!(parse_max_entries(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn advice_follows_what_the_maps_got() {
        let held = |entries, preallocated| {
            Some(MapSize {
                entries,
                preallocated,
            })
        };
        let advice = drop_advice(held(65_536, true));
        assert!(advice.contains("held 65536 entries"), "{advice}");
        assert!(advice.contains("--max-entries (e.g. 262144)"), "{advice}");
        let capped = drop_advice(held(MAX_ENTRIES, true));
        assert!(
            capped.contains(&format!("(e.g. {MAX_ENTRIES})")),
            "{capped}"
        );
        let on_demand = drop_advice(held(300_000, false));
        assert!(on_demand.contains("of 300000 entries were too large to preallocate"));
        assert!(on_demand.contains("smaller --max-entries"), "{on_demand}");
        assert!(drop_advice(None).contains("per-task storage"));
        // Two collectors: the larger size, preallocated only if both were.
        assert_eq!(
            MapSize::combine(held(65_536, true), held(98_304, false)),
            held(98_304, false)
        );
        assert_eq!(MapSize::combine(None, held(8_192, true)), held(8_192, true));
        assert_eq!(MapSize::combine(None, None), None);
    }

    #[test]
    fn reads_the_host() {
        assert!(host_tasks().is_some_and(|n| n > 0));
    }
}
