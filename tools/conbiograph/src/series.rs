//! The collected periods and what is derived from them: per-direction
//! totals, peaks, averages and mean latency.

use std::time::Duration;

pub use blockio::period::{Dir, Metric, Period};

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

/// Most chart points kept: beyond it, neighbouring points are merged in
/// pairs (the chart is a few hundred dots wide at most anyway).
pub const MAX_POINTS: usize = 10_000;

/// One chart point: `periods` consecutive periods from `sum.index` on,
/// summed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub sum: Period,
    pub periods: u64,
    /// The time covered, in periods: `periods`, less when the last one is
    /// partial.
    pub span: f64,
}

impl Point {
    /// The plotted value: the mean per period of bytes or requests over the
    /// time covered, so a partial last period shows its rate, not a drop
    /// (the average size needs no division: it is a ratio already).
    pub fn value(&self, dir: Dir, metric: Metric) -> f64 {
        let v = self.sum.value(dir, metric);
        match metric {
            Metric::Avg => v,
            Metric::Bytes | Metric::Count if self.span > 0.0 => v / self.span,
            Metric::Bytes | Metric::Count => 0.0,
        }
    }

    /// Start and end of the point, in periods since the start of the run.
    pub fn extent(&self) -> (f64, f64) {
        let start = self.sum.index as f64;
        (start, start + self.span)
    }
}

/// The run so far: exact running totals, and chart points of bounded
/// number (memory stays flat however long the run).
#[derive(Debug)]
pub struct Series {
    pub period: Duration,
    /// Periods seen.
    count: u64,
    /// Length of a last, partial period (the run ended inside it).
    partial: Option<Duration>,
    /// Running per-direction totals (bytes, ops, latency sum and count).
    sums: Period,
    peaks: [Option<(u64, u64)>; 2],
    points: Vec<Point>,
    /// Periods per full point: 1, then doubled at every merge.
    width: u64,
    max_points: usize,
}

impl Series {
    pub fn new(period: Duration) -> Self {
        Self::with_max_points(period, MAX_POINTS)
    }

    pub fn with_max_points(period: Duration, max_points: usize) -> Self {
        Self {
            period,
            count: 0,
            partial: None,
            sums: Period::default(),
            peaks: [None; 2],
            points: Vec::new(),
            width: 1,
            max_points: max_points.max(2),
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
        for p in rows {
            self.push(p);
        }
    }

    fn push(&mut self, p: &Period) {
        self.count += 1;
        if p.partial.is_some() {
            self.partial = p.partial;
        }
        let span = p.fraction(self.period);
        self.sums.add(p);
        for (d, peak) in self.peaks.iter_mut().enumerate() {
            let busier = match *peak {
                Some((b, _)) => p.bytes[d] > b,
                None => p.bytes[d] > 0,
            };
            if busier {
                *peak = Some((p.bytes[d], p.index));
            }
        }
        match self.points.last_mut() {
            Some(last) if last.periods < self.width => {
                last.sum.add(p);
                last.periods += 1;
                last.span += span;
            }
            _ => self.points.push(Point {
                sum: *p,
                periods: 1,
                span,
            }),
        }
        if self.points.len() > self.max_points {
            self.halve();
        }
    }

    /// Merges points in pairs and doubles the width; every point but the
    /// last stays full.
    fn halve(&mut self) {
        self.points = self
            .points
            .chunks(2)
            .map(|pair| {
                let mut merged = pair[0];
                for p in &pair[1..] {
                    merged.sum.add(&p.sum);
                    merged.periods += p.periods;
                    merged.span += p.span;
                }
                merged
            })
            .collect();
        self.width *= 2;
    }

    /// Chart points, in order.
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// Periods per chart point (1 until the run outgrows the point limit).
    pub fn width(&self) -> u64 {
        self.width
    }

    /// Periods seen so far.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// No period seen yet.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Length of the run covered so far: the full periods, and the part of
    /// a last, partial one.
    pub fn span(&self) -> Duration {
        match self.partial {
            None => self.period * self.count as u32,
            Some(len) => self.period * self.count.saturating_sub(1) as u32 + len,
        }
    }

    /// Length of the last period when the run ended inside it.
    pub fn partial(&self) -> Option<Duration> {
        self.partial
    }

    pub fn totals(&self, dir: Dir) -> DirTotals {
        let d = dir as usize;
        let (lat, lat_n) = (self.sums.lat_ns[d], self.sums.lat_count[d]);
        DirTotals {
            bytes: self.sums.bytes[d],
            ops: self.sums.ops[d],
            peak: self.peaks[d],
            mean_lat_ns: (lat_n > 0).then(|| lat / lat_n),
        }
    }

    pub fn dirtier_bytes(&self) -> u64 {
        self.sums.dirtier_bytes
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
            partial: None,
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
        assert_eq!(s.t_ms(&period(2, 0, 0, 0)), 1000);
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
    fn points_stay_bounded_and_totals_exact() {
        let mut s = Series::with_max_points(Duration::from_millis(10), 8);
        let rows: Vec<Period> = (0..1000u64)
            .map(|i| period(i, i % 7, 1000 + i, 1))
            .collect();
        for chunk in rows.chunks(3) {
            s.extend(chunk);
            assert!(s.points().len() <= 8, "{}", s.points().len());
        }
        assert_eq!(s.len(), 1000);
        let w = s.totals(Dir::Write);
        assert_eq!(w.bytes, (0..1000).map(|i| 1000 + i).sum::<u64>());
        assert_eq!(w.ops, 1000);
        assert_eq!(w.peak, Some((1999, 999)), "peak of one period, exact");
        assert_eq!(w.mean_lat_ns, Some(3000));
        assert_eq!(s.totals(Dir::Read).peak, Some((6, 6)));
        // 1000 periods into at most 8 points: 128 per point, the last partial.
        assert_eq!(s.width(), 128);
        let pts = s.points();
        assert_eq!(pts.iter().map(|p| p.periods).sum::<u64>(), 1000);
        let mut next = 0;
        for (i, p) in pts.iter().enumerate() {
            assert_eq!(p.sum.index, next, "contiguous");
            if i + 1 < pts.len() {
                assert_eq!(p.periods, 128);
            }
            next += p.periods;
        }
        assert_eq!(pts.iter().map(|p| p.sum.bytes[1]).sum::<u64>(), w.bytes);
        // A merged point plots the mean per period.
        let first = pts[0];
        let mean = (0..128).map(|i| 1000 + i).sum::<u64>() as f64 / 128.0;
        assert_eq!(first.value(Dir::Write, Metric::Bytes), mean);
        assert_eq!(first.value(Dir::Write, Metric::Count), 1.0);
    }

    #[test]
    fn a_partial_last_period_plots_its_rate_and_ends_the_span() {
        let mut s = Series::new(Duration::from_millis(1000));
        let mut last = period(2, 0, 250, 1);
        last.partial = Some(Duration::from_millis(250));
        s.extend(&[period(0, 0, 1000, 1), period(1, 0, 1000, 1), last]);
        assert_eq!(s.len(), 3);
        assert_eq!(s.span(), Duration::from_millis(2250));
        assert_eq!(s.partial(), Some(Duration::from_millis(250)));
        let pts = s.points();
        // 250 bytes in a quarter period: the same rate, no drop.
        assert_eq!(pts[2].value(Dir::Write, Metric::Bytes), 1000.0);
        assert_eq!(pts[2].extent(), (2.0, 2.25));
        assert_eq!(s.totals(Dir::Write).bytes, 2250, "totals stay raw");
    }

    #[test]
    fn empty_run() {
        let s = Series::new(Duration::from_secs(1));
        let t = s.totals(Dir::Read);
        assert_eq!((t.bytes, t.ops, t.peak, t.avg_bytes()), (0, 0, None, None));
    }
}
