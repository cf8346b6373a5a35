//! `unsharesnoop --replay FILE`: the events of a run saved with `--record`
//! or `-o json`, printed as the table lines they were.
//!
//! The summary (the file's last line) says which columns the table had
//! (`calls` and `target`), so the events are read up to it and printed
//! then. A file without it (the run was killed, or a damaged line stops
//! the replay) is printed with every column, and the error follows.

use std::io::{self, BufWriter, Write};

use anyhow::Result;
use cli::replay::Replay;
use identity::container::ContainerInfo;
use serde::Deserialize;

use crate::report::{Cells, Layout, Summary};

/// What the table needs of one event's JSON.
#[derive(Debug, Deserialize)]
pub struct RecordedEvent {
    pub time: String,
    pub tid: u32,
    pub comm: String,
    pub call: String,
    pub flags: u64,
    pub flags_human: String,
    pub ret: i64,
    pub errno: Option<String>,
    pub cgroup: String,
    pub container: Option<ContainerInfo>,
    #[serde(default)]
    pub joined: Option<Vec<RecordedJoin>>,
    #[serde(default)]
    pub compat: bool,
    #[serde(default)]
    pub denied: bool,
    #[serde(default)]
    pub entering: bool,
}

#[derive(Debug, Deserialize)]
pub struct RecordedJoin {
    #[serde(rename = "type")]
    pub kind: String,
    pub inode: u64,
}

impl RecordedEvent {
    /// The event's table line, as `Layout::line` printed it.
    pub fn line(&self, layout: &Layout) -> String {
        let mut human = self.flags_human.clone();
        for j in self.joined.iter().flatten() {
            human.push_str(&format!(" -> {}:[{}]", j.kind, j.inode));
        }
        human.push_str(&crate::event::marks(
            self.compat,
            self.denied,
            self.entering,
        ));
        let ret = match &self.errno {
            Some(name) => name.clone(),
            None => self.ret.to_string(),
        };
        let cgroup = identity::resolver::shown_as(self.container.as_ref(), &self.cgroup);
        layout.cells(&Cells {
            time: &self.time,
            tid: self.tid,
            comm: self.comm.as_bytes(),
            call: &self.call,
            ret: &ret,
            flags: self.flags,
            human: &human,
            cgroup: &cgroup,
        })
    }
}

/// Every column: for a file whose summary is missing.
const ALL_COLUMNS: Layout = Layout {
    call_column: true,
    cgroup_column: true,
};

/// The events read before a line that stops the replay (nothing when
/// there are none: the file was no unsharesnoop run at all).
fn print_before_error(events: &[RecordedEvent]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    print(&ALL_COLUMNS, events)
}

fn print(layout: &Layout, events: &[RecordedEvent]) -> Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    writeln!(out, "{}", layout.header())?;
    for ev in events {
        writeln!(out, "{}", ev.line(layout))?;
    }
    out.flush()?;
    Ok(())
}

/// Prints the table of `replay`'s events; the summary is returned for the
/// status line. Stops at the first line it cannot use, after printing
/// the events before it.
pub fn replay(replay: &mut Replay) -> Result<Summary> {
    let mut events = Vec::new();
    loop {
        let record = match replay.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => {
                print_before_error(&events)?;
                return Err(replay.ended_early("the summary line"));
            }
            Err(e) => {
                print_before_error(&events)?;
                return Err(e);
            }
        };
        let kind = record.value.get("type").and_then(|t| t.as_str());
        let parsed = match kind {
            Some("event") => replay
                .parse::<RecordedEvent>(record)
                .map(|e| events.push(e)),
            Some("summary") if record.value.get("events").is_some() => {
                let summary: Summary = replay.parse(record)?;
                print(&summary.layout(), &events)?;
                return Ok(summary);
            }
            _ => replay
                .parse::<RecordedEvent>(record)
                .map(|_| ())
                .and(Err(anyhow::anyhow!("not an unsharesnoop event"))),
        };
        if let Err(e) = parsed {
            print_before_error(&events)?;
            return Err(if e.downcast_ref::<kernel::exit::UsageError>().is_some() {
                e
            } else {
                replay.bad(replay.line(), "not an unsharesnoop event or summary".into())
            });
        }
    }
}
