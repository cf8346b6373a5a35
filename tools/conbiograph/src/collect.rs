//! Loading conbiograph's BPF program and draining its period slots.
//!
//! The kernel adds each bio to slot `period % CBG_NR_SLOTS` of a per-CPU
//! array, period = (now - start) / period length. A slot is written only
//! while its period is current; once the clock has passed it and one RCU
//! grace period has elapsed (no program that read the old time still runs),
//! userspace reads and zeroes it with nothing lost or double counted.

use std::mem::MaybeUninit;
use std::time::Duration;

use anyhow::{Context, Result};
use common::bpf::{lookup_percpu, wait_for_running_programs, zero_percpu, Pod};
use common::cgroup::Cgroup;
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::OpenObject;

use crate::series::Period;

#[allow(clippy::all, non_camel_case_types, dead_code, unused_imports)]
mod skel {
    include!(concat!(env!("OUT_DIR"), "/conbiograph.skel.rs"));
}
use skel::types::{cbg_devices, cbg_period};
use skel::{ConbiographLinks, ConbiographSkel, ConbiographSkelBuilder};

// SAFETY: generated #[repr(C)] structs of u64 arrays and u64s only.
unsafe impl Pod for cbg_period {}
// SAFETY: a #[repr(C)] array of structs of u32/u64 fields whose padding is
// explicit (`pad`).
unsafe impl Pod for cbg_devices {}

/// Slots in the kernel's ring (must match CBG_NR_SLOTS in conbiograph.h).
pub const NR_SLOTS: u64 = 256;

/// What to count, written into .rodata before load.
pub struct Config<'a> {
    pub period: Duration,
    pub target: Option<&'a Cgroup>,
    pub exact: bool,
    /// Bit 0: reads, bit 1: writes.
    pub dir_mask: u32,
    /// Kernel dev_t of the one device to count.
    pub device: Option<u32>,
}

/// I/O totals of one device over the run.
#[derive(Clone, Copy, Debug, Default)]
pub struct DeviceTotals {
    pub dev: u32,
    pub bytes: [u64; 2],
    pub ops: [u64; 2],
}

pub struct Collector<'obj> {
    skel: ConbiographSkel<'obj>,
    start_ns: u64,
    period_ns: u64,
    /// First period not drained yet.
    next: u64,
    /// Periods that were drained too late (their slot was reused): their
    /// counts went into a later period of the same slot.
    pub merged: u64,
}

/// CLOCK_MONOTONIC in ns: the clock of bpf_ktime_get_ns().
fn monotonic_ns() -> Result<u64> {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .context("reading CLOCK_MONOTONIC")?;
    Ok(ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64)
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
        });
    }
    p
}

impl<'obj> Collector<'obj> {
    /// Opens, configures, loads and attaches the BPF program, then starts
    /// period 0.
    pub fn start(open_object: &'obj mut MaybeUninit<OpenObject>, cfg: &Config) -> Result<Self> {
        let period_ns = u64::try_from(cfg.period.as_nanos()).context("period too long")?;
        let mut open = ConbiographSkelBuilder::default()
            .open(open_object)
            .context("opening the BPF object")?;
        let rodata = open
            .maps
            .rodata_data
            .as_deref_mut()
            .context("BPF .rodata is not memory-mapped")?;
        rodata.period_ns = period_ns;
        rodata.dir_mask = cfg.dir_mask;
        if let Some(dev) = cfg.device {
            rodata.filter_dev = true;
            rodata.target_dev = dev;
        }
        common::set_cgroup_filter!(rodata, cfg.target, cfg.exact);
        let mut skel = open
            .load()
            .context("loading the BPF program into the kernel (rerun with -v for libbpf's log)")?;
        skel.attach().context(
            "attaching to the block and writeback tracepoints (block_bio_queue, \
             block_rq_issue, block_bio_complete, writeback_dirty_folio)",
        )?;
        let start_ns = monotonic_ns()?;
        let bss = skel
            .maps
            .bss_data
            .as_deref_mut()
            .context("BPF .bss is not memory-mapped")?;
        // SAFETY: `start_ns` lives in the mmap'd .bss that the programs read;
        // a volatile store publishes it (they ignore I/O while it is 0).
        unsafe { std::ptr::write_volatile(&mut bss.start_ns, start_ns) };
        Ok(Self {
            skel,
            start_ns,
            period_ns,
            next: 0,
            merged: 0,
        })
    }

    /// The period the clock is in now.
    fn current_period(&self) -> Result<u64> {
        Ok(monotonic_ns()?.saturating_sub(self.start_ns) / self.period_ns)
    }

    /// Reads and clears periods `self.next..end` (all of them past).
    fn take(&mut self, end: u64) -> Result<Vec<Period>> {
        if end <= self.next {
            return Ok(Vec::new());
        }
        let maps = &self.skel.maps;
        wait_for_running_programs(&maps.sync_outer, &maps.sync_inner)?;
        let mut rows = Vec::with_capacity((end - self.next) as usize);
        for index in self.next..end {
            if end - index > NR_SLOTS {
                // Its slot was reused by a later period, which holds its counts.
                self.merged += 1;
                rows.push(Period {
                    index,
                    ..Period::default()
                });
                continue;
            }
            let slot = (index % NR_SLOTS) as u32;
            let per_cpu = lookup_percpu::<u32, cbg_period>(&maps.periods, &slot)?;
            let row = to_period(index, &per_cpu);
            if row
                != (Period {
                    index,
                    ..Period::default()
                })
            {
                zero_percpu::<u32, cbg_period>(&maps.periods, &slot)?;
            }
            rows.push(row);
        }
        self.next = end;
        Ok(rows)
    }

    /// Every period that has ended since the last call.
    pub fn drain(&mut self) -> Result<Vec<Period>> {
        let current = self.current_period()?;
        self.take(current)
    }

    /// Detaches, then returns the remaining periods (the current, partial
    /// one included) and the per-device totals.
    pub fn finish(&mut self) -> Result<(Vec<Period>, Vec<DeviceTotals>, u64)> {
        let current = self.current_period()?;
        self.skel.links = ConbiographLinks::default();
        let rows = self.take(current + 1)?;
        let devices = self.devices()?;
        let dropped = self.skel.maps.bss_data.as_deref().map_or(0, |b| b.dropped);
        Ok((rows, devices, dropped))
    }

    /// Per-device totals: every CPU has its own table, merged here by dev_t.
    fn devices(&self) -> Result<Vec<DeviceTotals>> {
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
