//! Namespace changes: unsharesnoop's events, made by the syscall engine's
//! exit program and decoded by common/nsevents (unsharesnoop's decoder),
//! counted per (cgroup, call, namespace kind). Only calls that succeeded
//! change anything, so only those are made.

use nsevents::{Call, Event};

use super::Deltas;

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

pub fn add(events: &[Event], out: &mut Deltas) {
    for ev in events.iter().filter(|ev| ev.ret >= 0) {
        let delta = out.cgroup(ev.cgroup_id);
        for kind in kinds(ev) {
            *delta.namespaces.entry((ev.call.name(), kind)).or_default() += 1;
        }
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
