//! The two shapes of a tool's kernel side, so the CLI, a full-screen view
//! and the exporter drive any tool the same way:
//!
//! - an [`Aggregator`] counts in kernel maps and hands out what was counted
//!   since the previous drain (constat, syscount, conbiograph);
//! - an [`EventSource`] streams one record per traced call (unsharesnoop).
//!
//! Both report what the kernel side could not record as one [`Health`].

use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

/// What a sample may be missing, and what it covers. Aggregators give
/// per-sample amounts; event sources totals since the start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Health {
    /// Updates the kernel side could not record (map full, no memory).
    pub dropped: u64,
    /// Events that found the ring buffer full.
    pub lost: u64,
    /// Calls not traced because per-task storage could not be allocated.
    pub untraced: u64,
    /// Periods drained too late, whose counts went into a later period.
    pub merged: u64,
    /// Time the sample covers: since the previous drain, or the start.
    #[serde(skip)]
    pub covered: Duration,
}

impl Health {
    /// Adds another sample's amounts (the covered times add up too).
    pub fn add(&mut self, other: &Health) {
        self.dropped += other.dropped;
        self.lost += other.lost;
        self.untraced += other.untraced;
        self.merged += other.merged;
        self.covered += other.covered;
    }

    /// Nothing was missed.
    pub fn is_complete(&self) -> bool {
        self.dropped == 0 && self.lost == 0 && self.untraced == 0 && self.merged == 0
    }
}

/// What an aggregator counted since its previous drain.
#[derive(Debug)]
pub struct Sample<T> {
    pub data: T,
    pub health: Health,
}

/// Counts in kernel maps; drains deltas with nothing lost between drains.
pub trait Aggregator {
    type Data;

    /// Everything counted since the previous drain (or the start).
    fn drain(&mut self) -> Result<Sample<Self::Data>>;

    /// The last sample: the programs are detached first, so nothing is
    /// counted after it. The aggregator is spent afterwards.
    fn finish(&mut self) -> Result<Sample<Self::Data>>;
}

/// Streams one record per traced call.
pub trait EventSource {
    type Event;

    /// Waits up to `timeout` for events and returns those that arrived.
    fn poll(&mut self, timeout: Duration) -> Result<Vec<Self::Event>>;

    /// Detaches and returns every event not returned yet; no event can
    /// arrive afterwards.
    fn finish(&mut self) -> Result<Vec<Self::Event>>;

    /// What was missed so far (totals since the start).
    fn health(&self) -> Health;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_adds_up() {
        let mut h = Health {
            dropped: 1,
            covered: Duration::from_secs(1),
            ..Health::default()
        };
        assert!(!h.is_complete());
        h.add(&Health {
            dropped: 2,
            lost: 3,
            covered: Duration::from_secs(2),
            ..Health::default()
        });
        assert_eq!((h.dropped, h.lost), (3, 3));
        assert_eq!(h.covered, Duration::from_secs(3));
        assert!(Health::default().is_complete());
    }
}
