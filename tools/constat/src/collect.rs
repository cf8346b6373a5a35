//! constat's kernel side: the syscall engine in constat's mode (counts,
//! failures and their errnos, time and the longest call, denied calls, and
//! exit/exit_group counted at entry), keyed by syscall for one target or
//! by (cgroup, syscall) host-wide.

use std::mem::MaybeUninit;

use anyhow::Result;
use engine::{Filters, Mode};
use identity::target::Target;
use kernel::collector::{Aggregator, Sample};
use kernel::mapsize::{MapSize, Sizing};
use libbpf_rs::OpenObject;

pub use engine::Row;

/// What constat asks of the engine for `target` (every cgroup: the host).
pub fn mode(target: &Target) -> Mode {
    Mode {
        by_cgroup: target.is_host(),
        errno_tally: true,
        timed: true,
        denied: true,
        exits_at_entry: true,
        ..Mode::default()
    }
}

/// The engine loaded in constat's mode; its samples are the rows alone.
pub struct Collector<'obj> {
    engine: engine::Collector<'obj>,
}

impl<'obj> Collector<'obj> {
    /// Loads and attaches the engine for `target`; `sizing` sizes the
    /// every-cgroup hashes (`--max-entries`, or from the host).
    pub fn start(
        open_object: &'obj mut MaybeUninit<OpenObject>,
        target: &Target,
        sizing: Sizing,
    ) -> Result<Self> {
        let engine =
            engine::Collector::start(open_object, &Filters::all(target), mode(target), sizing)?;
        Ok(Self { engine })
    }

    /// What the per-cgroup kernel hashes got (`None` with one target), for
    /// the sink's drop advice.
    pub fn map_size(&self) -> Option<MapSize> {
        self.engine.map_size()
    }
}

impl Aggregator for Collector<'_> {
    type Data = Vec<Row>;

    fn drain(&mut self) -> Result<Sample<Vec<Row>>> {
        let Sample { data, health } = self.engine.drain()?;
        Ok(Sample {
            data: data.rows,
            health,
        })
    }

    fn finish(&mut self) -> Result<Sample<Vec<Row>>> {
        let Sample { data, health } = self.engine.finish()?;
        Ok(Sample {
            data: data.rows,
            health,
        })
    }
}
