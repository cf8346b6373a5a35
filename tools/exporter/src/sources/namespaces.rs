//! Namespace changes from unsharesnoop's collector: its events, counted per
//! (cgroup, call, namespace kind). Only calls that succeeded change
//! anything, so only those are traced.

use std::mem::MaybeUninit;
use std::time::Duration;

use ::identity::target::Target;
use anyhow::Result;
use kernel::collector::{EventSource, Health};
use libbpf_rs::OpenObject;
use nsevents::{Call, Collector, Config, Event};

use super::{Deltas, Source};

/// Ring buffer: namespace changes are rare; 256 KiB holds ~1 700 events
/// between two reads of the reader thread (every 50 ms at most).
const BUFFER_BYTES: u32 = 256 * 1024;

pub struct Namespaces<'obj> {
    collector: Collector<'obj>,
    /// The collector's totals at the previous drain.
    seen: Health,
}

impl<'obj> Namespaces<'obj> {
    /// Loads and attaches unsharesnoop's exit hook (unshare, setns, clone,
    /// clone3 recognised by number) for every cgroup of the host.
    pub fn start(object: &'obj mut MaybeUninit<OpenObject>) -> Result<Self> {
        let target = Target::host();
        let config = Config {
            calls: &[Call::Unshare, Call::Setns, Call::Clone],
            target: &target,
            include_failed: false,
            buffer_bytes: BUFFER_BYTES,
            // Counts need no namespaces from before the call: one hook.
            exit_only: true,
        };
        Ok(Self {
            collector: Collector::start(object, &config)?,
            seen: Health::default(),
        })
    }

    fn add_health(&mut self, out: &mut Deltas) {
        let now = self.collector.health();
        out.health.lost += now.lost.saturating_sub(self.seen.lost);
        out.health.untraced += now.untraced.saturating_sub(self.seen.untraced);
        self.seen = now;
    }
}

/// The namespace kinds a successful call changed: the CLONE_NEW* flags it
/// passed, or for setns the namespaces it joined.
pub fn kinds(ev: &Event) -> Vec<&'static str> {
    match ev.call {
        Call::Setns => {
            let joined: Vec<&'static str> = ev.joined().into_iter().map(|j| j.kind).collect();
            if joined.is_empty() {
                vec!["unknown"]
            } else {
                joined
            }
        }
        Call::Unshare | Call::Clone | Call::Clone3 => ev.created(),
    }
}

fn add(events: &[Event], out: &mut Deltas) {
    for ev in events.iter().filter(|ev| ev.ret >= 0) {
        let delta = out.cgroup(ev.cgroup_id);
        for kind in kinds(ev) {
            *delta.namespaces.entry((ev.call.name(), kind)).or_default() += 1;
        }
    }
}

impl Source for Namespaces<'_> {
    fn name(&self) -> &'static str {
        "namespaces"
    }

    fn drain(&mut self, out: &mut Deltas) -> Result<()> {
        // Every batch the reader thread has handed over by now.
        loop {
            let events = self.collector.poll(Duration::ZERO)?;
            if events.is_empty() {
                break;
            }
            add(&events, out);
        }
        self.add_health(out);
        Ok(())
    }

    fn finish(&mut self, out: &mut Deltas) -> Result<()> {
        let events = self.collector.finish()?;
        add(&events, out);
        self.add_health(out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(call: Call, flags: u64) -> Event {
        Event {
            ts_ns: 0,
            pid: 1,
            tid: 1,
            comm: Vec::new(),
            call,
            flags,
            ret: 0,
            cgroup_id: 9,
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
    fn kinds_come_from_the_new_namespace_flags() {
        assert_eq!(
            kinds(&event(Call::Unshare, 0x4002_0000)),
            vec!["mnt", "net"]
        );
        assert_eq!(kinds(&event(Call::Unshare, 0x80)), vec!["time"]);
        // clone(2): 0x80 belongs to the exit signal, not CLONE_NEWTIME.
        assert_eq!(kinds(&event(Call::Clone, 0x2000_0091)), vec!["pid"]);
        assert_eq!(kinds(&event(Call::Clone3, 0x80)), vec!["time"]);
        assert!(kinds(&event(Call::Unshare, 0x200)).is_empty());
    }

    #[test]
    fn setns_counts_the_joined_namespace_and_failures_count_nothing() {
        let mut ev = event(Call::Setns, 0x4000_0000);
        ev.ns_after[2] = 77;
        let mut failed = event(Call::Unshare, 0x4000_0000);
        failed.ret = -1;
        let mut out = Deltas::default();
        add(&[ev, failed], &mut out);
        let ns = &out.cgroups[&9].namespaces;
        assert_eq!(ns.get(&("setns", "net")), Some(&1));
        assert_eq!(ns.len(), 1);
    }
}
