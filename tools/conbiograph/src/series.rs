//! The collected periods and what is derived from them: per-direction
//! totals, peaks, averages and mean latency.

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
}

/// What the chart plots per period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Bytes,
    Count,
    Avg,
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
    /// Writes charged through the dirtying cgroup (background writeback).
    pub dirtier_bytes: u64,
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

    /// Mean issue→complete time of this period's completions.
    pub fn mean_lat_ns(&self, dir: Dir) -> Option<u64> {
        let d = dir as usize;
        (self.lat_count[d] > 0).then(|| self.lat_ns[d] / self.lat_count[d])
    }
}

/// Totals of one direction over the whole run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirTotals {
    pub bytes: u64,
    pub ops: u64,
    /// Busiest period by bytes: (bytes, period index).
    pub peak: Option<(u64, u64)>,
    pub mean_lat_ns: Option<u64>,
}

impl DirTotals {
    pub fn avg_bytes(&self) -> Option<u64> {
        (self.ops > 0).then(|| self.bytes / self.ops)
    }
}

/// Every period of the run, in order.
#[derive(Debug)]
pub struct Series {
    pub period: Duration,
    pub periods: Vec<Period>,
}

impl Series {
    pub fn new(period: Duration) -> Self {
        Self {
            period,
            periods: Vec::new(),
        }
    }

    pub fn period_ms(&self) -> u64 {
        self.period.as_millis() as u64
    }

    /// Start of a period in milliseconds since the start.
    pub fn t_ms(&self, p: &Period) -> u64 {
        p.index * self.period_ms()
    }

    pub fn extend(&mut self, rows: &[Period]) {
        self.periods.extend_from_slice(rows);
    }

    /// Length of the run covered so far.
    pub fn span(&self) -> Duration {
        self.period * self.periods.len() as u32
    }

    pub fn totals(&self, dir: Dir) -> DirTotals {
        let d = dir as usize;
        let mut t = DirTotals::default();
        let (mut lat, mut lat_n) = (0u64, 0u64);
        for p in &self.periods {
            t.bytes += p.bytes[d];
            t.ops += p.ops[d];
            lat += p.lat_ns[d];
            lat_n += p.lat_count[d];
            let busier = match t.peak {
                Some((b, _)) => p.bytes[d] > b,
                None => p.bytes[d] > 0,
            };
            if busier {
                t.peak = Some((p.bytes[d], p.index));
            }
        }
        t.mean_lat_ns = (lat_n > 0).then(|| lat / lat_n);
        t
    }

    pub fn dirtier_bytes(&self) -> u64 {
        self.periods.iter().map(|p| p.dirtier_bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(index: u64, read: u64, write: u64, write_ops: u64) -> Period {
        Period {
            index,
            bytes: [read, write],
            ops: [u64::from(read > 0), write_ops],
            lat_ns: [0, 3000 * write_ops],
            lat_count: [0, write_ops],
            dirtier_bytes: 0,
        }
    }

    #[test]
    fn totals_peak_and_latency() {
        let mut s = Series::new(Duration::from_millis(500));
        s.extend(&[
            period(0, 0, 0, 0),
            period(1, 4096, 1 << 20, 2),
            period(2, 0, 3 << 20, 3),
        ]);
        let w = s.totals(Dir::Write);
        assert_eq!(w.bytes, 4 << 20);
        assert_eq!(w.ops, 5);
        assert_eq!(w.avg_bytes(), Some((4 << 20) / 5));
        assert_eq!(w.peak, Some((3 << 20, 2)));
        assert_eq!(w.mean_lat_ns, Some(3000));
        assert_eq!(s.t_ms(&s.periods[2]), 1000);
        let r = s.totals(Dir::Read);
        assert_eq!(r.bytes, 4096);
        assert_eq!(r.mean_lat_ns, None);
        assert_eq!(s.span(), Duration::from_millis(1500));
    }

    #[test]
    fn values_per_metric() {
        let p = period(0, 0, 8192, 2);
        assert_eq!(p.value(Dir::Write, Metric::Bytes), 8192.0);
        assert_eq!(p.value(Dir::Write, Metric::Count), 2.0);
        assert_eq!(p.value(Dir::Write, Metric::Avg), 4096.0);
        assert_eq!(p.value(Dir::Read, Metric::Avg), 0.0);
        assert_eq!(p.mean_lat_ns(Dir::Write), Some(3000));
        assert_eq!(p.mean_lat_ns(Dir::Read), None);
    }

    #[test]
    fn empty_run() {
        let s = Series::new(Duration::from_secs(1));
        let t = s.totals(Dir::Read);
        assert_eq!((t.bytes, t.ops, t.peak, t.avg_bytes()), (0, 0, None, None));
    }
}
