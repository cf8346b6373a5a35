//! One period of a target's block I/O as the collector reads it, summed
//! over CPUs, and the directions and measures a period is read by.

use std::time::Duration;

/// Read or write (the index into every counter pair, as in conbiograph.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Read = 0,
    Write = 1,
}

impl Dir {
    pub fn name(self) -> &'static str {
        match self {
            Dir::Read => "read",
            Dir::Write => "write",
        }
    }

    /// From [`Dir::name`] (a recorded summary's `directions`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "read" => Some(Dir::Read),
            "write" => Some(Dir::Write),
            _ => None,
        }
    }
}

/// What the chart plots per period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Bytes,
    Count,
    Avg,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Bytes => "bytes",
            Metric::Count => "count",
            Metric::Avg => "avg",
        }
    }

    /// From [`Metric::name`] (a recorded summary's `metric`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "bytes" => Some(Metric::Bytes),
            "count" => Some(Metric::Count),
            "avg" => Some(Metric::Avg),
            _ => None,
        }
    }
}

/// One period of the target's I/O, summed over CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Period {
    /// Period number since the start (t = index × period).
    pub index: u64,
    pub bytes: [u64; 2],
    pub ops: [u64; 2],
    /// Sum and count of issue→complete times of requests completed in it.
    pub lat_ns: [u64; 2],
    pub lat_count: [u64; 2],
    /// Writes submitted by someone else on the target's behalf (writeback
    /// of pages it dirtied).
    pub dirtier_bytes: u64,
    /// The run ended this far into the period (the last period of a run
    /// stopped mid-period); `None` for a full period.
    pub partial: Option<Duration>,
}

impl Period {
    pub fn add(&mut self, other: &Period) {
        for d in 0..2 {
            self.bytes[d] += other.bytes[d];
            self.ops[d] += other.ops[d];
            self.lat_ns[d] += other.lat_ns[d];
            self.lat_count[d] += other.lat_count[d];
        }
        self.dirtier_bytes += other.dirtier_bytes;
    }

    /// The plotted value of one direction.
    pub fn value(&self, dir: Dir, metric: Metric) -> f64 {
        let d = dir as usize;
        match metric {
            Metric::Bytes => self.bytes[d] as f64,
            Metric::Count => self.ops[d] as f64,
            Metric::Avg if self.ops[d] == 0 => 0.0,
            Metric::Avg => self.bytes[d] as f64 / self.ops[d] as f64,
        }
    }

    /// The part of a period this one covers: 1 for a full period.
    pub fn fraction(&self, period: Duration) -> f64 {
        match self.partial {
            None => 1.0,
            Some(len) => len.as_secs_f64() / period.as_secs_f64().max(f64::MIN_POSITIVE),
        }
    }

    /// Mean issue→complete time of this period's completions.
    pub fn mean_lat_ns(&self, dir: Dir) -> Option<u64> {
        let d = dir as usize;
        (self.lat_count[d] > 0).then(|| self.lat_ns[d] / self.lat_count[d])
    }
}
