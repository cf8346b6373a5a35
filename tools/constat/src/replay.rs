//! `constat --replay FILE`: the reports of a run saved with `--record` or
//! `-o json`, read back into the values the tables are made from, so each
//! table prints exactly as it did.

use anyhow::Result;
use cli::replay::Replay;

use crate::report::{Report, VIEW_CGROUPS, VIEW_CGROUP_SYSCALLS, VIEW_SYSCALLS};
use crate::summary::SummaryReport;

/// One constat report of either shape: what a trace emits and records,
/// and what a replay reads back.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum Recorded {
    /// Host-wide, one row per cgroup.
    Cgroups(SummaryReport),
    /// One target's syscalls, or host-wide `--by-syscall` rows.
    Syscalls(Report),
}

impl cli::sink::Render for Recorded {
    fn render(&self) -> String {
        match self {
            Recorded::Cgroups(r) => r.render(),
            Recorded::Syscalls(r) => r.render(),
        }
    }

    fn health(&self) -> kernel::collector::Health {
        match self {
            Recorded::Cgroups(r) => r.health(),
            Recorded::Syscalls(r) => r.health(),
        }
    }
}

/// The next report of `replay`, `None` at the end of the file; a line
/// that is none (damaged, another tool's) is a one-line error naming it.
pub fn next(replay: &mut Replay) -> Result<Option<Recorded>> {
    let Some(record) = replay.next_record()? else {
        return Ok(None);
    };
    let line = record.line;
    if cli::replay::recorded_by(&record.value) == Some("syscount") {
        return Err(replay.bad(
            line,
            "a syscount-shaped report (syscount, or constat -P/--errno/--histogram): \
             replay shows constat's own tables only"
                .into(),
        ));
    }
    let view = record.value.get("view").and_then(|v| v.as_str());
    match view {
        Some(VIEW_CGROUPS) => Ok(Some(Recorded::Cgroups(replay.parse(record)?))),
        Some(VIEW_SYSCALLS | VIEW_CGROUP_SYSCALLS) => {
            Ok(Some(Recorded::Syscalls(replay.parse(record)?)))
        }
        Some(other) => Err(replay.bad(line, format!("a constat report of unknown view {other:?}"))),
        // Another tool's (named by parse) or none at all.
        None => {
            replay.parse::<Report>(record)?;
            Err(replay.bad(line, "not a constat report (no \"view\" field)".into()))
        }
    }
}
