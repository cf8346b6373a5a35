//! The exported totals: every drained delta added up per cgroup, so each
//! counter is exact and never goes down while its series lives.
//!
//! Cost guards, all of them keeping sums exact:
//! - a cgroup's syscalls get their own `syscall` label up to `top_syscalls`
//!   of them (the largest counts of the drain in which they first show up,
//!   plus every allow-listed one); the rest go to `syscall="other"`. The
//!   choice is sticky: moving counts between series would break counters.
//! - errnos likewise (`top_errnos`, then `errno="other"`).
//! - once the node serves `max_series`, cgroups not seen before are not
//!   exported; what they did is counted in the exporter's dropped total.
//! - a removed cgroup is served `grace` longer (its last increase reaches
//!   Prometheus), then forgotten.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use kernel::collector::Health;
use kernel::syscalls::Call;

use crate::bpf_stats::ProgramStats;
use crate::labels::{CgroupLabel, ContainerLabels};
use crate::sources::{BlockDelta, CgroupDelta, Deltas, SyscallDelta};

/// What gets a label of its own, and for how long.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Syscalls with their own series per cgroup (besides the allow-list).
    pub top_syscalls: usize,
    /// Syscalls that always get their own series.
    pub always: BTreeSet<u32>,
    /// Errnos with their own series per cgroup.
    pub top_errnos: usize,
    /// Series per node beyond which new cgroups are not exported.
    pub max_series: usize,
    /// How long a removed cgroup is still served.
    pub grace: Duration,
}

/// A label value of its own, or the `other` series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Slot<T> {
    Named(T),
    Other,
}

/// One cgroup's totals and labels.
#[derive(Debug)]
pub struct CgroupSeries {
    pub path: CgroupLabel,
    pub container: ContainerLabels,
    pub syscalls: BTreeMap<Slot<Call>, SyscallDelta>,
    pub errnos: BTreeMap<Slot<i32>, u64>,
    pub namespaces: BTreeMap<(&'static str, &'static str), u64>,
    /// Absent until the cgroup did block I/O.
    pub block: Option<BlockDelta>,
    /// Syscalls named by rank (the allow-list does not count).
    ranked_syscalls: usize,
    /// Errnos named so far.
    ranked_errnos: usize,
    /// When the cgroup was first counted.
    first_seen: Instant,
    /// When the cgroup was found removed.
    gone_since: Option<Instant>,
}

/// How long a container's name is asked for again when its runtime had not
/// told it when the cgroup was first counted.
const NAME_RETRY: Duration = Duration::from_secs(60);

/// Series of one block I/O record: bytes and ops by direction, writeback.
const BLOCK_SERIES: usize = 5;

impl CgroupSeries {
    fn new(path: CgroupLabel, container: ContainerLabels) -> Self {
        Self {
            path,
            container,
            syscalls: BTreeMap::new(),
            errnos: BTreeMap::new(),
            namespaces: BTreeMap::new(),
            block: None,
            ranked_syscalls: 0,
            ranked_errnos: 0,
            first_seen: Instant::now(),
            gone_since: None,
        }
    }

    /// Series this cgroup serves.
    pub fn series(&self, latency: bool) -> usize {
        let syscalls: usize = self
            .syscalls
            .values()
            .map(|s| {
                1 + usize::from(s.errors > 0) + usize::from(s.denied > 0) + usize::from(latency)
            })
            .sum();
        syscalls
            + self.errnos.len()
            + self.namespaces.len()
            + self.block.map_or(0, |_| BLOCK_SERIES)
    }

    fn add(&mut self, delta: &CgroupDelta, limits: &Limits) {
        // Syscalls without a series of their own yet, largest count first,
        // so the busiest get names.
        let mut new: Vec<(Call, SyscallDelta)> = Vec::new();
        for (&call, d) in &delta.syscalls {
            match self.syscalls.get_mut(&Slot::Named(call)) {
                Some(total) => total.add(d),
                None => new.push((call, *d)),
            }
        }
        new.sort_by(|a, b| b.1.calls.cmp(&a.1.calls).then(a.0.cmp(&b.0)));
        for (call, d) in new {
            let always = call
                .native_nr()
                .is_some_and(|nr| limits.always.contains(&nr));
            let slot = if always {
                Slot::Named(call)
            } else if self.ranked_syscalls < limits.top_syscalls {
                self.ranked_syscalls += 1;
                Slot::Named(call)
            } else {
                Slot::Other
            };
            self.syscalls.entry(slot).or_default().add(&d);
        }

        let mut new: Vec<(i32, u64)> = Vec::new();
        for (&err, &n) in &delta.errnos {
            match self.errnos.get_mut(&Slot::Named(err)) {
                Some(total) => *total += n,
                None => new.push((err, n)),
            }
        }
        new.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for (err, n) in new {
            let slot = if self.ranked_errnos < limits.top_errnos {
                self.ranked_errnos += 1;
                Slot::Named(err)
            } else {
                Slot::Other
            };
            *self.errnos.entry(slot).or_default() += n;
        }
        for (key, n) in &delta.namespaces {
            *self.namespaces.entry(*key).or_default() += n;
        }
        if !delta.block.is_zero() {
            self.block
                .get_or_insert_with(BlockDelta::default)
                .add(&delta.block);
        }
    }
}

/// Events in a delta, for the dropped count of cgroups not exported.
fn events(delta: &CgroupDelta) -> u64 {
    delta.syscalls.values().map(|s| s.calls).sum::<u64>()
        + delta.namespaces.values().sum::<u64>()
        + delta.block.ops.iter().sum::<u64>()
}

/// Every exported total, and the exporter's own.
#[derive(Debug)]
pub struct Store {
    limits: Limits,
    latency: bool,
    cgroups: HashMap<u64, CgroupSeries>,
    series: usize,
    /// Events the kernel side could not record, or that belong to cgroups
    /// over the series budget.
    pub dropped: u64,
    /// Events that found a ring buffer full.
    pub lost: u64,
    /// The exporter's BPF programs' run statistics (`--bpf-stats`).
    pub programs: Vec<ProgramStats>,
}

impl Store {
    pub fn new(limits: Limits, latency: bool) -> Self {
        Self {
            limits,
            latency,
            cgroups: HashMap::new(),
            series: 0,
            dropped: 0,
            lost: 0,
            programs: Vec::new(),
        }
    }

    pub fn latency(&self) -> bool {
        self.latency
    }

    /// Per-cgroup series served now.
    pub fn series(&self) -> usize {
        self.series
    }

    pub fn cgroups(&self) -> impl Iterator<Item = (&u64, &CgroupSeries)> {
        self.cgroups.iter()
    }

    pub fn cgroup_count(&self) -> usize {
        self.cgroups.len()
    }

    /// Cgroup ids of `deltas` this store has no labels for yet.
    pub fn unknown(&self, deltas: &Deltas) -> Vec<u64> {
        deltas
            .cgroups
            .keys()
            .filter(|id| !self.cgroups.contains_key(id))
            .copied()
            .collect()
    }

    /// Adds one drain. `labels` holds the path and container of every id
    /// [`unknown`](Self::unknown) returned.
    pub fn apply(
        &mut self,
        deltas: &Deltas,
        labels: &HashMap<u64, (CgroupLabel, ContainerLabels)>,
    ) {
        self.add_health(&deltas.health);
        for (id, delta) in &deltas.cgroups {
            if !self.cgroups.contains_key(id) {
                let Some((path, container)) = labels.get(id) else {
                    self.dropped += events(delta);
                    continue;
                };
                if self.series >= self.limits.max_series {
                    self.dropped += events(delta);
                    continue;
                }
                self.cgroups
                    .insert(*id, CgroupSeries::new(path.clone(), container.clone()));
            }
            let Some(cg) = self.cgroups.get_mut(id) else {
                continue;
            };
            let before = cg.series(self.latency);
            cg.add(delta, &self.limits);
            self.series = self.series - before + cg.series(self.latency);
        }
    }

    fn add_health(&mut self, health: &Health) {
        self.dropped += health.dropped + health.untraced + health.merged;
        self.lost += health.lost;
    }

    /// Cgroups not yet known to be removed: (id, path) to check.
    pub fn live(&self) -> Vec<(u64, CgroupLabel)> {
        self.cgroups
            .iter()
            .filter(|(_, cg)| cg.gone_since.is_none())
            .map(|(id, cg)| (*id, cg.path.clone()))
            .collect()
    }

    /// Cgroups counted under the resolver's stand-in path, for the grace
    /// period: by then each is found or really gone.
    pub fn unresolved(&self, now: Instant) -> Vec<u64> {
        let grace = self.limits.grace;
        self.cgroups
            .iter()
            .filter(|(_, cg)| {
                cg.path.path().is_none() && now.saturating_duration_since(cg.first_seen) < grace
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// Young container cgroups still without a container name: (id, path).
    pub fn unnamed(&self, now: Instant) -> Vec<(u64, String)> {
        self.cgroups
            .iter()
            .filter(|(_, cg)| {
                cg.container.incomplete()
                    && cg.gone_since.is_none()
                    && now.saturating_duration_since(cg.first_seen) < NAME_RETRY
            })
            .filter_map(|(id, cg)| Some((*id, cg.path.path()?.to_string())))
            .collect()
    }

    /// The real path (and the container, when it was named at birth) of a
    /// cgroup counted under the stand-in: its series carry them from the
    /// next scrape on, with the totals counted so far, and it is not gone
    /// after all.
    pub fn relabel(&mut self, id: u64, path: String, container: ContainerLabels) {
        if let Some(cg) = self.cgroups.get_mut(&id) {
            cg.gone_since = None;
            cg.path = CgroupLabel::Path(path);
            if !container.id.is_empty() {
                cg.container = container;
            }
        }
    }

    /// The container labels of cgroup `id`, if it is still the cgroup at
    /// `path` that was asked about.
    pub fn set_container(&mut self, id: u64, path: &str, container: ContainerLabels) {
        if let Some(cg) = self
            .cgroups
            .get_mut(&id)
            .filter(|cg| cg.path.path() == Some(path))
        {
            cg.container = container;
        }
    }

    /// Marks `removed` cgroups gone (at `now`) and forgets those gone for
    /// longer than the grace period. Returns how many were forgotten.
    pub fn expire(&mut self, removed: &[u64], now: Instant) -> usize {
        for id in removed {
            if let Some(cg) = self.cgroups.get_mut(id) {
                cg.gone_since.get_or_insert(now);
            }
        }
        let grace = self.limits.grace;
        let before = self.cgroups.len();
        let latency = self.latency;
        let mut freed = 0;
        self.cgroups.retain(|_, cg| {
            let keep = cg
                .gone_since
                .is_none_or(|t| now.saturating_duration_since(t) < grace);
            if !keep {
                freed += cg.series(latency);
            }
            keep
        });
        self.series -= freed;
        before - self.cgroups.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            top_syscalls: 2,
            always: BTreeSet::from([60]),
            top_errnos: 1,
            max_series: 1000,
            grace: Duration::from_secs(10),
        }
    }

    fn calls(cg: u64, list: &[(u32, u64)]) -> Deltas {
        let mut d = Deltas::default();
        for &(nr, n) in list {
            d.cgroup(cg).syscalls.insert(
                Call::native(nr),
                SyscallDelta {
                    calls: n,
                    ..SyscallDelta::default()
                },
            );
        }
        d
    }

    fn labels(ids: &[u64]) -> HashMap<u64, (CgroupLabel, ContainerLabels)> {
        ids.iter()
            .map(|&id| {
                let path = CgroupLabel::Path(format!("/cg{id}"));
                (id, (path, ContainerLabels::default()))
            })
            .collect()
    }

    fn count(store: &Store, cg: u64, slot: Slot<u32>) -> u64 {
        let slot = match slot {
            Slot::Named(nr) => Slot::Named(Call::native(nr)),
            Slot::Other => Slot::Other,
        };
        store.cgroups[&cg]
            .syscalls
            .get(&slot)
            .map_or(0, |s| s.calls)
    }

    #[test]
    fn top_n_is_sticky_and_other_keeps_the_sum_exact() {
        let mut store = Store::new(limits(), false);
        let l = labels(&[1]);
        // The two busiest of the first drain get names, 60 is allow-listed.
        store.apply(&calls(1, &[(1, 5), (2, 50), (3, 40), (60, 1)]), &l);
        assert_eq!(count(&store, 1, Slot::Named(2)), 50);
        assert_eq!(count(&store, 1, Slot::Named(3)), 40);
        assert_eq!(count(&store, 1, Slot::Named(60)), 1);
        assert_eq!(count(&store, 1, Slot::Other), 5);
        // Later, syscall 1 is the busiest: it stays in "other" (a counter
        // that moved between series would go down), the named ones grow.
        store.apply(&calls(1, &[(1, 1000), (2, 1), (4, 7)]), &l);
        assert_eq!(count(&store, 1, Slot::Named(2)), 51);
        assert_eq!(count(&store, 1, Slot::Other), 1012);
        let total: u64 = store.cgroups[&1].syscalls.values().map(|s| s.calls).sum();
        assert_eq!(total, 5 + 50 + 40 + 1 + 1000 + 1 + 7);
        assert_eq!(store.series(), 4);
    }

    #[test]
    fn errnos_are_bounded_with_an_other_series() {
        let mut store = Store::new(limits(), false);
        let mut d = Deltas::default();
        d.cgroup(1).errnos.extend([(2, 17), (13, 3)]);
        store.apply(&d, &labels(&[1]));
        let e = &store.cgroups[&1].errnos;
        assert_eq!(e.get(&Slot::Named(2)), Some(&17));
        assert_eq!(e.get(&Slot::Other), Some(&3));
        assert_eq!(e.len(), 2);
    }

    #[test]
    fn the_series_budget_turns_new_cgroups_away_and_counts_them() {
        let mut l = limits();
        l.max_series = 2;
        let mut store = Store::new(l, false);
        store.apply(&calls(1, &[(1, 1), (2, 1)]), &labels(&[1]));
        assert_eq!(store.series(), 2);
        store.apply(&calls(2, &[(1, 9)]), &labels(&[2]));
        assert!(!store.cgroups.contains_key(&2));
        assert_eq!(store.dropped, 9);
        // A known cgroup keeps counting.
        store.apply(&calls(1, &[(1, 1)]), &labels(&[]));
        assert_eq!(count(&store, 1, Slot::Named(1)), 2);
    }

    #[test]
    fn removed_cgroups_are_served_for_the_grace_period_then_forgotten() {
        let mut store = Store::new(limits(), true);
        store.apply(&calls(1, &[(1, 1)]), &labels(&[1]));
        store.apply(&calls(2, &[(1, 1)]), &labels(&[2]));
        // latency: calls + seconds per syscall.
        assert_eq!(store.series(), 4);
        let t0 = Instant::now();
        assert_eq!(store.expire(&[1], t0), 0);
        assert_eq!(store.live(), vec![(2, CgroupLabel::Path("/cg2".into()))]);
        assert_eq!(store.expire(&[], t0 + Duration::from_secs(9)), 0);
        assert_eq!(store.expire(&[], t0 + Duration::from_secs(10)), 1);
        assert_eq!(store.cgroup_count(), 1);
        assert_eq!(store.series(), 2);
    }

    #[test]
    fn a_cgroup_found_late_keeps_its_totals_under_its_real_path() {
        let mut store = Store::new(limits(), false);
        let mut l = labels(&[1]);
        let unseen = identity::resolver::CgroupName::Unseen(1);
        l.insert(1, (unseen.into(), ContainerLabels::default()));
        store.apply(&calls(1, &[(1, 3)]), &l);
        let t0 = Instant::now();
        // Not found on the first sweep: counted as gone, but asked again.
        store.expire(&[1], t0);
        assert_eq!(store.unresolved(t0), vec![1]);
        store.relabel(1, "/found".into(), ContainerLabels::default());
        assert_eq!(store.live(), vec![(1, CgroupLabel::Path("/found".into()))]);
        assert!(store.unresolved(t0).is_empty());
        store.apply(&calls(1, &[(1, 4)]), &HashMap::new());
        assert_eq!(count(&store, 1, Slot::Named(1)), 7);
        assert_eq!(store.expire(&[], t0 + Duration::from_secs(60)), 0);
        // Container labels land only on the cgroup asked about.
        let c = ContainerLabels {
            id: "ab".into(),
            ..ContainerLabels::default()
        };
        store.set_container(1, "/elsewhere", c.clone());
        assert_eq!(store.cgroups[&1].container, ContainerLabels::default());
        store.set_container(1, "/found", c.clone());
        assert_eq!(store.cgroups[&1].container, c);
        assert_eq!(store.unnamed(t0), vec![(1, "/found".to_string())]);
    }

    #[test]
    fn health_goes_to_the_exporter_totals() {
        let mut store = Store::new(limits(), false);
        let d = Deltas {
            health: Health {
                dropped: 1,
                lost: 2,
                untraced: 3,
                ..Health::default()
            },
            ..Deltas::default()
        };
        store.apply(&d, &HashMap::new());
        assert_eq!((store.dropped, store.lost), (4, 2));
    }
}
