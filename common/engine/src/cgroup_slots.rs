//! The per-cgroup slot arrays ([`Mode::cgroup_slots`](crate::Mode)): the
//! exporter's common path. Each cgroup the program sees gets an index from
//! a queue this side fills; its native calls are counted in a per-CPU
//! array of slots at `index * 2 + epoch`. Indices of removed cgroups come
//! back to the queue once both halves of their arrays have been read.

use std::collections::HashMap;

use anyhow::{Context, Result};
use kernel::bpf::{as_bytes, from_bytes, lookup_percpu, zero_percpu};
use kernel::mapsize::{Sizing, PREALLOC_BUDGET};
use kernel::syscalls::Call;
use libbpf_rs::{MapCore, MapFlags};

use crate::rows::{Key, Row};
use crate::skel::types::{syscall_cgroup_ns, syscall_cgroup_slots};

/// Indices when the host's cgroups are not known, and the most ever given.
const MIN_INDICES: u32 = 64;
const MAX_INDICES: u32 = 8192;
/// Bytes of one index's arrays on one CPU: two epochs of a u32 per slot,
/// and of a u64 per slot when timed.
const INDEX_BYTES_PER_CPU: u64 = 2 * 4 * 512;
const TIMED_INDEX_BYTES_PER_CPU: u64 = 2 * (4 + 8) * 512;

/// Indices for this host: twice its cgroups (they come and go), within
/// bounds, and within the kernel memory budget of a preallocated map
/// ([`PREALLOC_BUDGET`] over every CPU); `--max-entries` caps them too.
/// Index 0 is never given. Cgroups beyond the last index are counted
/// exactly in the hash, only slower.
pub(crate) fn indices_for(sizing: Sizing, cpus: u64, timed: bool) -> u32 {
    let wanted = sizing.host.cgroups.saturating_mul(2).saturating_add(1);
    let wanted = u32::try_from(wanted).unwrap_or(MAX_INDICES);
    let per_index = if timed {
        TIMED_INDEX_BYTES_PER_CPU
    } else {
        INDEX_BYTES_PER_CPU
    };
    let budget = PREALLOC_BUDGET / (per_index * cpus.max(1));
    let budget = u32::try_from(budget)
        .unwrap_or(MAX_INDICES)
        .max(MIN_INDICES);
    let cap = sizing.max_entries.unwrap_or(MAX_INDICES).max(2);
    wanted.clamp(MIN_INDICES, MAX_INDICES).min(budget).min(cap)
}

/// The kernel maps behind the arrays.
pub(crate) struct Maps<'a, M: MapCore> {
    /// cgroup id -> index.
    pub index: &'a M,
    /// index -> cgroup id (what task caches are checked against).
    pub owner: &'a M,
    /// Per-CPU slots at `index * 2 + epoch`.
    pub slots: &'a M,
    /// Per-CPU ns beside them (timed).
    pub ns: &'a M,
    /// Free indices.
    pub free: &'a M,
}

/// An index given back by a removed cgroup, still holding counts.
struct Retiring {
    index: u32,
    cgroup_id: u64,
    /// Drains that must read it before it is free: a program that checked
    /// the owner before it was cleared may write the other half once.
    drains_left: u8,
}

pub(crate) struct CgroupSlots {
    indices: u32,
    retiring: Vec<Retiring>,
}

impl CgroupSlots {
    pub(crate) fn new(indices: u32) -> Self {
        Self {
            indices,
            retiring: Vec::new(),
        }
    }

    /// Hands every index to the program (after load, before attach).
    pub(crate) fn fill(&self, free: &impl MapCore) -> Result<()> {
        for index in 1..self.indices {
            push(free, index)?;
        }
        Ok(())
    }

    /// Reads and clears half `old` of every cgroup's array: rows of
    /// (cgroup, native syscall) with their counts (errors come from the
    /// errno tally). Retired indices whose last half is read go back.
    pub(crate) fn drain(
        &mut self,
        maps: &Maps<'_, impl MapCore>,
        old: u32,
        native_slots: u32,
        timed: bool,
    ) -> Result<Vec<Row>> {
        let mut owners = live_indices(maps.index)?;
        owners.extend(self.retiring.iter().map(|r| (r.index, r.cgroup_id)));
        let mut rows = Vec::new();
        for (index, cgroup_id) in owners {
            let key = index * 2 + old;
            let Some(counts) = take_counts(maps.slots, key, native_slots)? else {
                continue;
            };
            let ns = if timed {
                take_ns(maps.ns, key, native_slots)?
            } else {
                Vec::new()
            };
            let row = |(slot, &count): (usize, &u64)| Row {
                cgroup_id: Some(cgroup_id),
                key: Key::Syscall(Call::from_slot(slot as u32, native_slots)),
                count,
                total_ns: ns.get(slot).copied().unwrap_or(0),
                ..Row::default()
            };
            rows.extend(counts.iter().enumerate().filter(|(_, &n)| n > 0).map(row));
        }
        self.free_retired(maps)?;
        Ok(rows)
    }

    /// Retired indices one drain nearer to free; the free ones go back.
    fn free_retired(&mut self, maps: &Maps<'_, impl MapCore>) -> Result<()> {
        for r in &mut self.retiring {
            r.drains_left = r.drains_left.saturating_sub(1);
        }
        let (done, waiting): (Vec<_>, Vec<_>) =
            self.retiring.drain(..).partition(|r| r.drains_left == 0);
        self.retiring = waiting;
        for r in done {
            // Again: a first sight racing with forget() may have set it.
            clear_owner(maps.owner, r.index)?;
            push(maps.free, r.index)?;
        }
        Ok(())
    }

    /// Takes back the indices of removed cgroups: no new call is counted
    /// under them; what they hold is still read by the next two drains.
    pub(crate) fn forget(&mut self, maps: &Maps<'_, impl MapCore>, ids: &[u64]) -> Result<()> {
        for &id in ids {
            let Some(raw) = maps
                .index
                .lookup(as_bytes(&id), MapFlags::ANY)
                .context("looking up a cgroup's index")?
            else {
                continue;
            };
            let Some(index) = from_bytes::<u32>(&raw) else {
                continue;
            };
            // Not found: another CPU's race already removed it.
            let _ = maps.index.delete(as_bytes(&id));
            clear_owner(maps.owner, index)?;
            self.retiring.push(Retiring {
                index,
                cgroup_id: id,
                drains_left: 2,
            });
        }
        Ok(())
    }
}

/// One index's counts per slot, summed over CPUs, then cleared; `None`
/// when it counted nothing.
fn take_counts(slots: &impl MapCore, key: u32, native_slots: u32) -> Result<Option<Vec<u64>>> {
    let mut totals = vec![0u64; native_slots as usize];
    let per_cpu: Vec<syscall_cgroup_slots> = lookup_percpu(slots, &key)?;
    for cpu in &per_cpu {
        for (total, &n) in totals.iter_mut().zip(cpu.count.iter()) {
            *total += u64::from(n);
        }
    }
    if totals.iter().all(|&n| n == 0) {
        return Ok(None);
    }
    zero_percpu::<u32, syscall_cgroup_slots>(slots, &key)?;
    Ok(Some(totals))
}

/// One index's ns per slot, summed over CPUs, then cleared.
fn take_ns(ns: &impl MapCore, key: u32, native_slots: u32) -> Result<Vec<u64>> {
    let mut totals = vec![0u64; native_slots as usize];
    let per_cpu: Vec<syscall_cgroup_ns> = lookup_percpu(ns, &key)?;
    for cpu in &per_cpu {
        for (total, &n) in totals.iter_mut().zip(cpu.ns.iter()) {
            *total += n;
        }
    }
    zero_percpu::<u32, syscall_cgroup_ns>(ns, &key)?;
    Ok(totals)
}

fn clear_owner(owner: &impl MapCore, index: u32) -> Result<()> {
    owner
        .update(as_bytes(&index), as_bytes(&0u64), MapFlags::ANY)
        .context("clearing a cgroup index's owner")
}

fn push(free: &impl MapCore, index: u32) -> Result<()> {
    free.update(&[], as_bytes(&index), MapFlags::ANY)
        .context("giving a cgroup index to the program")
}

/// (index, cgroup id) of every cgroup that has an index now.
fn live_indices(index_map: &impl MapCore) -> Result<HashMap<u32, u64>> {
    let mut out = HashMap::new();
    for raw_key in index_map.keys() {
        let Some(value) = index_map
            .lookup(&raw_key, MapFlags::ANY)
            .context("reading the cgroup indices")?
        else {
            continue;
        };
        if let (Some(id), Some(index)) = (from_bytes::<u64>(&raw_key), from_bytes::<u32>(&value)) {
            out.insert(index, id);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::mapsize::HostLoad;

    #[test]
    fn indices_follow_the_host_within_bounds() {
        let sizing = |cgroups, max_entries| Sizing {
            max_entries,
            host: HostLoad { cgroups, tasks: 0 },
        };
        assert_eq!(indices_for(sizing(10, None), 2, false), MIN_INDICES);
        assert_eq!(indices_for(sizing(1000, None), 2, false), 2001);
        assert_eq!(indices_for(sizing(1 << 40, None), 2, false), MAX_INDICES);
        assert_eq!(indices_for(sizing(1000, Some(100)), 2, false), 100);
        // 64 MiB over 64 CPUs at 4 KiB per index and CPU: 256 indices;
        // timed, 12 KiB: 85.
        assert_eq!(indices_for(sizing(1000, None), 64, false), 256);
        assert_eq!(indices_for(sizing(1000, None), 64, true), 85);
    }
}
