//! Printing events: one table line per event (columns fixed up front, since
//! events stream), or one NDJSON object per event plus a final summary.

use std::fmt::Write;

use cli::sink::Render;
use cli::timefmt::MonotonicClock;
use identity::container::ContainerInfo;
use identity::resolver::Resolver;
use serde::{Deserialize, Serialize};

use crate::event::{Call, Event};

/// Which optional columns the table has.
pub struct Layout {
    /// More than one kind of call can appear (`clone` alone means clone
    /// and clone3): say which one each line is.
    pub call_column: bool,
    /// More than one cgroup can appear (no `-c`, or `-c` with its
    /// descendants): say whose call it was.
    pub cgroup_column: bool,
}

/// FLAGS(human) is padded to this width when a CGROUP column follows it.
const HUMAN_WIDTH: usize = 44;

/// Wall-clock time of a kernel timestamp, RFC 3339 UTC with exactly six
/// fractional digits (`2026-11-23T10:42:32.123450Z`, zeros kept so the
/// column stays aligned).
pub fn timestamp(clock: &MonotonicClock, ktime_ns: u64) -> String {
    cli::timefmt::rfc3339(clock.wall(ktime_ns))
}

/// Pads `text` to `width` characters (not bytes: comm may be UTF-8).
fn pad(out: &mut String, text: &str, width: usize) {
    out.push_str(text);
    for _ in text.chars().count()..width {
        out.push(' ');
    }
    out.push(' ');
}

impl Layout {
    pub fn header(&self) -> String {
        let mut out = String::new();
        pad(&mut out, "TIME", 27);
        pad(&mut out, "TID", 7);
        pad(&mut out, "COMM", 16);
        if self.call_column {
            pad(&mut out, "CALL", 7);
        }
        pad(&mut out, "RET", 7);
        pad(&mut out, "FLAGS", 11);
        if self.cgroup_column {
            pad(&mut out, "FLAGS(human)", HUMAN_WIDTH);
            out.push_str("CGROUP");
        } else {
            out.push_str("FLAGS(human)");
        }
        out
    }

    /// One event as a table line; `cgroup` names its cgroup (the container's
    /// label, else the path), resolved by the caller. comm and cgroup names are escaped: a process can name
    /// itself anything, including terminal escapes.
    pub fn line(&self, ev: &Event, cgroup: &str, clock: &MonotonicClock) -> String {
        let mut human = ev.flags_human();
        for j in ev.joined() {
            let _ = write!(human, " -> {}:[{}]", j.kind, j.inode);
        }
        human.push_str(&ev.marks());
        self.cells(&Cells {
            time: &timestamp(clock, ev.ts_ns),
            tid: ev.tid,
            comm: &ev.comm,
            call: ev.call.name(),
            ret: &ev.ret_text(),
            flags: ev.flags,
            human: &human,
            cgroup,
        })
    }

    /// A table line from its cells (a traced event's, or a replayed one's).
    pub fn cells(&self, c: &Cells) -> String {
        let mut out = String::new();
        pad(&mut out, c.time, 27);
        pad(&mut out, &c.tid.to_string(), 7);
        pad(&mut out, &kernel::escape::for_terminal(c.comm), 16);
        if self.call_column {
            pad(&mut out, c.call, 7);
        }
        pad(&mut out, c.ret, 7);
        pad(&mut out, &format!("{:#010x}", c.flags), 11);
        if self.cgroup_column {
            pad(&mut out, c.human, HUMAN_WIDTH);
            out.push_str(&kernel::escape::for_terminal(c.cgroup.as_bytes()));
        } else {
            out.push_str(c.human);
        }
        out
    }
}

/// The cells of one table line.
pub struct Cells<'a> {
    /// RFC 3339 time of the call.
    pub time: &'a str,
    pub tid: u32,
    /// Raw comm bytes (escaped when printed).
    pub comm: &'a [u8],
    pub call: &'a str,
    /// `0`, the child's pid, or the errno name.
    pub ret: &'a str,
    pub flags: u64,
    /// FLAGS(human), with the namespaces a setns joined.
    pub human: &'a str,
    /// The cgroup as the table names it (unescaped).
    pub cgroup: &'a str,
}

/// Namespace inodes by /proc/<pid>/ns/ name (slot order of NS_NAMES).
#[derive(Serialize)]
struct Namespaces {
    mnt: u32,
    pid: u32,
    net: u32,
    uts: u32,
    ipc: u32,
    user: u32,
    cgroup: u32,
    time: u32,
    pid_for_children: u32,
    time_for_children: u32,
}

impl From<&[u32; 10]> for Namespaces {
    fn from(ns: &[u32; 10]) -> Self {
        let [mnt, pid, net, uts, ipc, user, cgroup, time, pid_for_children, time_for_children] =
            *ns;
        Self {
            mnt,
            pid,
            net,
            uts,
            ipc,
            user,
            cgroup,
            time,
            pid_for_children,
            time_for_children,
        }
    }
}

#[derive(Serialize)]
struct JoinedNs {
    #[serde(rename = "type")]
    kind: &'static str,
    inode: u32,
}

/// One event as NDJSON (a struct, not a map: bursts are serialised fast).
#[derive(Serialize)]
struct JsonEvent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    time: String,
    ktime_ns: u64,
    pid: u32,
    tid: u32,
    comm: String,
    call: &'static str,
    flags: u64,
    flags_human: String,
    ret: i64,
    errno: Option<String>,
    cgroup_id: u64,
    cgroup: &'a str,
    /// The caller's container or pod (null: none).
    container: Option<&'a ContainerInfo>,
    /// The calling process's namespaces before and after the call, and
    /// which of them changed (never any for clone: the caller stays put).
    ns_before: Namespaces,
    ns_after: Namespaces,
    ns_changed: Vec<&'static str>,
    /// Namespace types the call created, from its flags: the caller's new
    /// ones for unshare, the child's for clone/clone3; none for setns
    /// (it joins) or a failed call.
    ns_created: Vec<&'static str>,
    /// A 32-bit call; stopped by seccomp before it ran; a setns from outside
    /// the target into one of its namespaces.
    compat: bool,
    denied: bool,
    entering: bool,
    /// setns only: its fd argument and the namespaces joined.
    #[serde(skip_serializing_if = "Option::is_none")]
    fd: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    joined: Option<Vec<JoinedNs>>,
}

/// Appends one event as JSON (without the newline) to `out`; `cgroup` is
/// its cgroup's path and `container` its container, resolved by the caller.
pub fn json(
    ev: &Event,
    cgroup: &str,
    container: Option<&ContainerInfo>,
    clock: &MonotonicClock,
    out: &mut Vec<u8>,
) -> serde_json::Result<()> {
    serde_json::to_writer(out, &JsonEvent::new(ev, cgroup, container, clock))
}

impl<'a> JsonEvent<'a> {
    fn new(
        ev: &Event,
        cgroup: &'a str,
        container: Option<&'a ContainerInfo>,
        clock: &MonotonicClock,
    ) -> Self {
        let setns = ev.call == Call::Setns;
        JsonEvent {
            kind: "event",
            time: timestamp(clock, ev.ts_ns),
            ktime_ns: ev.ts_ns,
            pid: ev.pid,
            tid: ev.tid,
            comm: kernel::escape::lossy(&ev.comm),
            call: ev.call.name(),
            flags: ev.flags,
            flags_human: ev.flags_human(),
            ret: ev.ret,
            errno: ev.errno().map(kernel::errno::name),
            cgroup_id: ev.cgroup_id,
            cgroup,
            container,
            ns_before: (&ev.ns_before).into(),
            ns_after: (&ev.ns_after).into(),
            ns_changed: ev.changed(),
            ns_created: ev.created(),
            compat: ev.compat,
            denied: ev.denied,
            entering: ev.entering,
            fd: setns.then_some(ev.fd),
            joined: setns.then(|| {
                ev.joined()
                    .into_iter()
                    .map(|j| JoinedNs {
                        kind: j.kind,
                        inode: j.inode,
                    })
                    .collect()
            }),
        }
    }
}

/// How a run shows its events: the table's columns, the clock that dates
/// them, and whether their cgroups are named at all (a CGROUP column, the
/// JSON or a record needs it; a bare table line does not).
pub struct Showing {
    pub layout: Layout,
    pub clock: MonotonicClock,
    pub names_needed: bool,
}

impl Showing {
    /// The enrichment stage: each event with its cgroup's path and
    /// container resolved (when needed), ready for the sink.
    pub fn batch(&self, events: Vec<Event>, names: &mut dyn Resolver) -> Vec<Shown<'_>> {
        events
            .into_iter()
            .map(|ev| {
                let (cgroup, container) = if self.names_needed {
                    (
                        names.cgroup_path(ev.cgroup_id),
                        names.container(ev.cgroup_id),
                    )
                } else {
                    (String::new(), None)
                };
                Shown {
                    ev,
                    cgroup,
                    container,
                    showing: self,
                }
            })
            .collect()
    }
}

/// One event with its names resolved: a table line ([`Render`]) or an
/// NDJSON object ([`Serialize`]).
pub struct Shown<'a> {
    pub ev: Event,
    /// Its cgroup's path (empty when nothing shows it).
    pub cgroup: String,
    pub container: Option<ContainerInfo>,
    showing: &'a Showing,
}

impl Render for Shown<'_> {
    fn render(&self) -> String {
        let layout = &self.showing.layout;
        let shown = if layout.cgroup_column {
            identity::resolver::shown_as(self.container.as_ref(), &self.cgroup)
        } else {
            String::new()
        };
        layout.line(&self.ev, &shown, &self.showing.clock)
    }
}

impl Serialize for Shown<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        JsonEvent::new(
            &self.ev,
            &self.cgroup,
            self.container.as_ref(),
            &self.showing.clock,
        )
        .serialize(serializer)
    }
}

/// The last NDJSON object: how many events were printed and lost.
#[derive(Serialize, Deserialize)]
pub struct Summary {
    #[serde(rename = "type")]
    pub kind: String,
    pub events: u64,
    /// Events the kernel could not store: the ring buffer was full.
    pub lost: u64,
    /// Calls of the target that were not traced: at their entry the kernel
    /// could not allocate the per-task storage that carries the call to its
    /// exit (out of memory). 0 normally; never silently missing.
    pub untraced: u64,
    /// The traced cgroup, null without `-c`.
    pub target: Option<identity::target::TargetInfo>,
    /// The calls traced (`--calls`): with the target, they say which
    /// columns the table had (for `--replay`).
    #[serde(default)]
    pub calls: Vec<String>,
}

impl Summary {
    /// The table's columns of the run this summary ends.
    pub fn layout(&self) -> Layout {
        Layout {
            call_column: self.calls.len() > 1 || self.calls.iter().any(|c| c == "clone"),
            cgroup_column: self.target.as_ref().is_none_or(|t| t.descendants),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(comm: &[u8]) -> Event {
        Event {
            ts_ns: 1_000,
            pid: 7,
            tid: 8,
            comm: comm.to_vec(),
            call: Call::Unshare,
            flags: 0x0202_0000,
            ret: -1,
            cgroup_id: 1,
            fd: -1,
            target_ino: 0,
            ns_before: [1; 10],
            ns_after: [1; 10],
            compat: false,
            denied: false,
            entering: false,
        }
    }

    #[test]
    fn table_line_escapes_comm_and_names_errno() {
        let layout = Layout {
            call_column: false,
            cgroup_column: false,
        };
        let clock = MonotonicClock::new();
        let line = layout.line(&event(b"\x1b[31mevil\n"), "/x", &clock);
        assert!(!line.contains('\x1b') && !line.contains('\n'), "{line:?}");
        assert!(line.contains("\\e[31mevil\\n"), "{line}");
        assert!(line.contains("EPERM"), "{line}");
        assert!(
            line.ends_with("0x02020000  CLONE_NEWNS|CLONE_NEWCGROUP"),
            "{line}"
        );
        assert!(layout.header().starts_with("TIME"));
    }

    #[test]
    fn timestamps_keep_six_digits() {
        let clock = MonotonicClock::new();
        let a = timestamp(&clock, 1_000_000_000);
        let b = timestamp(&clock, 1_000_010_000);
        assert_eq!(a.len(), 27, "{a}");
        assert_eq!(b.len(), 27, "{b}");
        assert!(a.ends_with('Z') && a.as_bytes()[19] == b'.', "{a}");
    }

    #[test]
    fn json_is_valid_for_any_comm() {
        let clock = MonotonicClock::new();
        let mut text = Vec::new();
        json(&event(b"bad\xff\x07"), "/x", None, &clock, &mut text).unwrap();
        let back: serde_json::Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(back["errno"], "EPERM");
        assert_eq!(back["flags"], 0x0202_0000);
        assert_eq!(back["ns_before"]["net"], 1);
        assert!(back["comm"].as_str().unwrap().starts_with("bad"));
    }
}
