//! Loading conbiograph's BPF program and draining its period slots.
//!
//! The kernel adds each bio to slot `period % CBG_NR_SLOTS` of a per-CPU
//! array, period = (now - start) / period length. A slot is written only
//! while its period is current; once the clock has passed it and one RCU
//! grace period has elapsed (no program that read the old time still runs),
//! userspace reads and zeroes it with nothing lost or double counted.
//!
//! The latency hooks see every request of the host; they only look at
//! requests while the kernel's `sample_gate` is open. The kernel opens it
//! when it samples a bio, userspace closes it here once nothing has been
//! sampled for [`LINGER`].

use std::mem::MaybeUninit;
use std::sync::atomic::{fence, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use identity::target::Target;
use kernel::bpf::{lookup_percpu, wait_for_running_programs, zero_percpu, DropCounter};
use kernel::collector::{Aggregator, Health, Sample};
use libbpf_rs::{MapCore, OpenObject};

use crate::cgroups::{take_owners, to_rows, CgroupIo};
use crate::object::{self, cbg_devices, cbg_period, monotonic_ns, ConbiographSkel, Features};
use crate::period::Period;

/// Slots in the kernel's ring (must match CBG_NR_SLOTS in conbiograph.h).
pub const NR_SLOTS: u64 = 256;

/// How long the latency gate stays open after the last sampled bio: a
/// sampled request that takes longer loses its latency sample.
const LINGER: Duration = Duration::from_secs(2);

/// Inodes whose latest dirtier the period collector remembers (only the
/// target's are recorded).
pub const DIRTY_INODES: u32 = 65536;

/// Whether period `index`'s slot already belongs to a later period when the
/// clock is in period `current`: slot = index % nr_slots, and the programs
/// write it again from period `index + nr_slots` on.
pub fn slot_reused(index: u64, current: u64, nr_slots: u64) -> bool {
    current.saturating_sub(index) >= nr_slots
}

/// Periods the latency gate stays open after the last sample: LINGER, and
/// never less than two periods.
pub fn linger_periods(period: Duration) -> u64 {
    let period = period.as_nanos().max(1);
    (LINGER.as_nanos().div_ceil(period) as u64).max(2)
}

/// Whether the latency gate may close: the latest sample (`last_sample` =
/// its period + 1, 0 = none) is `linger` periods or more behind `current`.
pub fn gate_idle(last_sample: u64, current: u64, linger: u64) -> bool {
    match last_sample.checked_sub(1) {
        None => true,
        Some(sampled) => current.saturating_sub(sampled) >= linger,
    }
}

/// How a run of `elapsed_ns` splits into periods of `period_ns`: the number
/// of full periods, and the length of a last, partial one (0: none).
pub fn split_run(elapsed_ns: u64, period_ns: u64) -> (u64, u64) {
    let period_ns = period_ns.max(1);
    (elapsed_ns / period_ns, elapsed_ns % period_ns)
}

/// How `take` learns which slots the programs may still write.
#[derive(Clone, Copy, Debug)]
enum Clock {
    /// Attached: read the clock at each slot. A slot whose reuse begins in
    /// the next period is left alone too, so the clock cannot reach its
    /// reuse between that reading and the zeroing.
    Running,
    /// Detached (and waited for): nothing writes any more.
    Stopped(u64),
}

/// What to count, written into .rodata before load.
pub struct Config<'a> {
    pub period: Duration,
    /// The cgroup traced (`-c`, `--exact`); the whole host without one.
    pub target: &'a Target,
    /// Bit 0: reads, bit 1: writes.
    pub dir_mask: u32,
    /// Kernel dev_t of the one device to count.
    pub device: Option<u32>,
    /// A run of fixed length (`-d`): nothing after it is counted, and it
    /// ends on a period boundary when it is a multiple of the period.
    pub duration: Option<Duration>,
    /// Also count every cgroup's I/O, for a table at the end
    /// ([`Collector::cgroups`]).
    pub by_cgroup: bool,
}

/// I/O totals of one device over the run.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeviceTotals {
    pub dev: u32,
    pub bytes: [u64; 2],
    pub ops: [u64; 2],
}

/// conbiograph's kernel side: per-period block I/O of the target, in a ring
/// of period slots.
pub struct Collector<'obj> {
    skel: ConbiographSkel<'obj>,
    features: Features,
    start_ns: u64,
    period_ns: u64,
    /// End of a fixed-length run, ns after the start.
    length_ns: Option<u64>,
    /// Slots in the kernel's ring of periods (the `periods` map's size).
    nr_slots: u64,
    /// Periods the latency gate lingers after the last sample.
    linger: u64,
    /// First period not drained yet.
    next: u64,
    /// Periods drained too late (their slot was reused) since the last
    /// sample: their counts went into a later period of the same slot.
    merged: u64,
    drops: DropCounter,
    last_drain: Instant,
}

fn to_period(index: u64, per_cpu: &[cbg_period]) -> Period {
    let mut p = Period {
        index,
        ..Period::default()
    };
    for s in per_cpu {
        p.add(&Period {
            index,
            bytes: s.bytes,
            ops: s.ops,
            lat_ns: s.lat_ns,
            lat_count: s.lat_count,
            dirtier_bytes: s.dirtier_bytes,
            partial: None,
        });
    }
    p
}

impl<'obj> Collector<'obj> {
    /// Opens, configures, loads and attaches the BPF program, then starts
    /// period 0.
    pub fn start(open_object: &'obj mut MaybeUninit<OpenObject>, cfg: &Config) -> Result<Self> {
        let period_ns = u64::try_from(cfg.period.as_nanos()).context("period too long")?;
        let length_ns = cfg
            .duration
            .map(|d| u64::try_from(d.as_nanos()).context("duration too long"))
            .transpose()?;
        let features = Features::probe()?;
        let mut skel = object::load(
            open_object,
            &object::Load {
                features,
                mode: object::Mode {
                    periods: true,
                    cgroups: cfg.by_cgroup.then_some(crate::cgroups::MAX_CGROUPS),
                },
                target: cfg.target,
                period_ns,
                dir_mask: cfg.dir_mask,
                device: cfg.device,
                dirty_inodes: if cfg.by_cgroup {
                    crate::cgroups::DIRTY_INODES
                } else {
                    DIRTY_INODES
                },
            },
        )?;
        let start_ns = monotonic_ns()?;
        let bss = kernel::bpf::mapped(skel.maps.bss_data.as_deref_mut(), ".bss")?;
        // SAFETY: both live in the mmap'd .bss that the programs read;
        // volatile stores publish them (the programs ignore I/O while
        // start_ns is 0, and end_ns is set first).
        unsafe {
            if let Some(len) = length_ns {
                std::ptr::write_volatile(&mut bss.end_ns, start_ns.saturating_add(len));
            }
            std::ptr::write_volatile(&mut bss.start_ns, start_ns);
        }
        let nr_slots = u64::from(skel.maps.periods.max_entries());
        Ok(Self {
            skel,
            features,
            start_ns,
            period_ns,
            length_ns,
            nr_slots,
            linger: linger_periods(cfg.period),
            next: 0,
            merged: 0,
            drops: DropCounter::default(),
            last_drain: Instant::now(),
        })
    }

    /// What the kernel offered and which paths were loaded.
    pub fn features(&self) -> Features {
        self.features
    }

    /// The period the clock is in now.
    fn current_period(&self) -> Result<u64> {
        Ok(monotonic_ns()?.saturating_sub(self.start_ns) / self.period_ns)
    }

    /// Reads and clears periods `self.next..end` (all of them past). A
    /// period whose slot the programs already write for a later period is
    /// left there (merged into that period) and returned empty.
    fn take(&mut self, end: u64, clock: Clock) -> Result<Vec<Period>> {
        if end <= self.next {
            return Ok(Vec::new());
        }
        if let Clock::Running = clock {
            // Programs that read the clock before `end` was computed finish.
            wait_for_running_programs(&self.skel.maps.sync_outer, &self.skel.maps.sync_inner)?;
        }
        let mut rows = Vec::with_capacity((end - self.next) as usize);
        for index in self.next..end {
            let reused = match clock {
                Clock::Running => slot_reused(index, self.current_period()? + 1, self.nr_slots),
                Clock::Stopped(current) => slot_reused(index, current, self.nr_slots),
            };
            let empty = Period {
                index,
                ..Period::default()
            };
            if reused {
                self.merged += 1;
                rows.push(empty);
                continue;
            }
            let slot = (index % self.nr_slots) as u32;
            let maps = &self.skel.maps;
            let per_cpu = lookup_percpu::<u32, cbg_period>(&maps.periods, &slot)?;
            let row = to_period(index, &per_cpu);
            if row != empty {
                zero_percpu::<u32, cbg_period>(&maps.periods, &slot)?;
            }
            rows.push(row);
        }
        self.next = end;
        Ok(rows)
    }

    /// Closes the latency gate when nothing has been sampled for `linger`
    /// periods, without losing a sample taken meanwhile: the kernel stores
    /// `last_sample` before opening the gate, so a changed `last_sample`
    /// after the close means the gate must be open again.
    fn close_idle_gate(&mut self) -> Result<()> {
        let current = self.current_period()?;
        let linger = self.linger;
        let bss = kernel::bpf::mapped(self.skel.maps.bss_data.as_deref_mut(), ".bss")?;
        let gate = std::ptr::addr_of_mut!(bss.sample_gate);
        let last = std::ptr::addr_of!(bss.last_sample);
        // SAFETY: both point into the mmap'd .bss, which lives as long as
        // the skeleton; volatile, aligned accesses because the programs
        // write them concurrently.
        unsafe {
            if std::ptr::read_volatile(gate) == 0 {
                return Ok(());
            }
            let seen = std::ptr::read_volatile(last);
            if !gate_idle(seen, current, linger) {
                return Ok(());
            }
            std::ptr::write_volatile(gate, 0);
            // The re-read must not happen before the store is visible.
            fence(Ordering::SeqCst);
            if std::ptr::read_volatile(last) != seen {
                std::ptr::write_volatile(gate, 1);
            }
        }
        Ok(())
    }

    /// What a sample missed since the previous one, and the time it covers.
    fn health(&mut self) -> Result<Health> {
        let bss = kernel::bpf::mapped(self.skel.maps.bss_data.as_deref_mut(), ".bss")?;
        let now = Instant::now();
        Ok(Health {
            dropped: self.drops.delta(&bss.dropped),
            merged: std::mem::take(&mut self.merged),
            covered: now - std::mem::replace(&mut self.last_drain, now),
            ..Health::default()
        })
    }

    /// Every cgroup's I/O over the run (with [`Config::by_cgroup`]), read
    /// after [`Aggregator::finish`]; empty otherwise.
    pub fn cgroups(&self) -> Result<Vec<CgroupIo>> {
        let mut rows = std::collections::BTreeMap::new();
        for ep in 0..2 {
            take_owners(&self.skel, ep, &mut rows)?;
        }
        Ok(to_rows(rows))
    }

    /// Per-device totals: every CPU has its own table, merged here by dev_t.
    pub fn devices(&self) -> Result<Vec<DeviceTotals>> {
        let mut out: Vec<DeviceTotals> = Vec::new();
        for table in lookup_percpu::<u32, cbg_devices>(&self.skel.maps.devices, &0)? {
            for s in table.slot.iter().filter(|s| s.dev != 0) {
                let i = match out.iter().position(|t| t.dev == s.dev) {
                    Some(i) => i,
                    None => {
                        out.push(DeviceTotals {
                            dev: s.dev,
                            ..DeviceTotals::default()
                        });
                        out.len() - 1
                    }
                };
                for d in 0..2 {
                    out[i].bytes[d] += s.bytes[d];
                    out[i].ops[d] += s.ops[d];
                }
            }
        }
        out.sort_by_key(|t| std::cmp::Reverse(t.bytes[0] + t.bytes[1]));
        Ok(out)
    }
}

impl Aggregator for Collector<'_> {
    type Data = Vec<Period>;

    /// Every period that has ended since the last call (never one past the
    /// end of a fixed-length run: [`Aggregator::finish`] returns those).
    fn drain(&mut self) -> Result<Sample<Vec<Period>>> {
        let mut end = self.current_period()?;
        if let Some(len) = self.length_ns {
            end = end.min(split_run(len, self.period_ns).0);
        }
        let rows = self.take(end, Clock::Running)?;
        self.close_idle_gate()?;
        Ok(Sample {
            data: rows,
            health: self.health()?,
        })
    }

    /// Detaches, then returns the remaining periods. The run ends now, or
    /// at the end of a fixed-length run if that came first; a run that
    /// ended inside a period returns that period marked partial, with its
    /// length. Per-device totals are in [`Collector::devices`].
    fn finish(&mut self) -> Result<Sample<Vec<Period>>> {
        self.skel.links = object::skel::ConbiographLinks::default();
        // Programs still running read the clock until they finish: only
        // then does the clock say which period was the last one written.
        let maps = &self.skel.maps;
        wait_for_running_programs(&maps.sync_outer, &maps.sync_inner)?;
        let now = monotonic_ns()?;
        let current = now.saturating_sub(self.start_ns) / self.period_ns;
        let mut elapsed = now.saturating_sub(self.start_ns);
        if let Some(len) = self.length_ns {
            elapsed = elapsed.min(len);
        }
        let (full, rest) = split_run(elapsed, self.period_ns);
        let mut rows = self.take(full, Clock::Stopped(current))?;
        if rest > 0 {
            let mut last = self.take(full + 1, Clock::Stopped(current))?;
            for p in &mut last {
                p.partial = Some(Duration::from_nanos(rest));
            }
            rows.extend(last);
        }
        Ok(Sample {
            data: rows,
            health: self.health()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_reused_exactly_nr_slots_periods_later() {
        // The slot of period C - 256 is period C's: the one written now.
        assert!(slot_reused(44, 300, 256));
        assert!(!slot_reused(45, 300, 256));
        assert!(slot_reused(0, 256, 256));
        assert!(!slot_reused(0, 255, 256));
        assert!(!slot_reused(7, 7, 256));
        assert!(!slot_reused(9, 7, 256), "a future period is not reused");
    }

    #[test]
    fn a_run_splits_into_full_periods_and_a_partial_rest() {
        const MS: u64 = 1_000_000;
        assert_eq!(split_run(3000 * MS, 1000 * MS), (3, 0));
        assert_eq!(split_run(4000 * MS, 500 * MS), (8, 0));
        assert_eq!(split_run(1000 * MS, 300 * MS), (3, 100 * MS));
        assert_eq!(split_run(250 * MS, 1000 * MS), (0, 250 * MS));
        assert_eq!(split_run(0, 1000 * MS), (0, 0));
    }

    #[test]
    fn gate_lingers_two_seconds_or_two_periods() {
        assert_eq!(linger_periods(Duration::from_millis(1000)), 2);
        assert_eq!(linger_periods(Duration::from_millis(100)), 20);
        assert_eq!(linger_periods(Duration::from_millis(300)), 7);
        assert_eq!(linger_periods(Duration::from_secs(5)), 2);
        // last_sample is period + 1.
        assert!(gate_idle(0, 0, 2), "nothing sampled yet");
        assert!(!gate_idle(11, 11, 2), "sampled in period 10");
        assert!(!gate_idle(11, 10, 2), "clock read before the sample");
        assert!(gate_idle(11, 12, 2));
    }
}
