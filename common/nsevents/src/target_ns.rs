//! The namespaces of the target's tasks, so that a `setns` from outside the
//! target into one of them is seen: `docker exec` (runc) joins the
//! container's namespaces while still in the host's cgroup.
//!
//! BPF knows only inode numbers (`watched_ns`); which inodes belong to the
//! target is found here, from `/proc/<pid>/ns/*` of the target's tasks, and
//! kept current: re-read periodically, and added at once when the target's
//! own events show new namespaces. The host's namespaces are left out:
//! joining those is not entering the target.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use identity::target::Target;
use kernel::bpf::as_bytes;
use libbpf_rs::{MapCore, MapFlags};

/// How often the target's tasks are looked at again.
const REFRESH: Duration = Duration::from_millis(500);

/// The files of /proc/<pid>/ns/ that setns(2) can join.
const NS_FILES: [&str; 10] = [
    "cgroup",
    "ipc",
    "mnt",
    "net",
    "pid",
    "pid_for_children",
    "time",
    "time_for_children",
    "user",
    "uts",
];

fn ns_inodes(pid: u32) -> impl Iterator<Item = u32> {
    NS_FILES.iter().filter_map(move |ns| {
        std::fs::metadata(format!("/proc/{pid}/ns/{ns}"))
            .ok()
            .and_then(|m| u32::try_from(m.ino()).ok())
    })
}

/// The kernel's flag for its own threads in /proc/<pid>/stat (field 9).
const PF_KTHREAD: u64 = 0x0020_0000;

/// The flags field of a /proc/<pid>/stat line: the 9th field, the 7th after
/// the comm's closing parenthesis (a comm may hold ") " itself).
fn stat_flags(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(6)?.parse().ok()
}

/// Whether `pid` is a kernel thread.
fn is_kernel_thread(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat_flags(&stat))
        .is_some_and(|flags| flags & PF_KTHREAD != 0)
}

/// The host's namespaces: those of init (pid 1), and of kthreadd (pid 2, a
/// kernel thread: always in the initial namespaces). Init's may be
/// unreadable: /proc/1/ns needs ptrace access, which a root lacking some of
/// init's capabilities does not have.
fn host_namespaces() -> HashSet<u32> {
    let mut host: HashSet<u32> = ns_inodes(1).collect();
    if is_kernel_thread(2) {
        host.extend(ns_inodes(2));
    }
    host
}

/// Pids in `dir`'s cgroup.procs, and below it unless `exact`.
fn cgroup_pids(dir: &Path, exact: bool, out: &mut Vec<u32>) {
    if let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(procs.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
    }
    if exact {
        return;
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                cgroup_pids(&e.path(), false, out);
            }
        }
    }
}

pub struct TargetNamespaces {
    target: Target,
    /// The host's namespaces: never watched.
    host: HashSet<u32>,
    /// What the BPF map holds.
    watched: HashSet<u32>,
    next: Instant,
}

impl TargetNamespaces {
    pub fn new(target: &Target) -> Self {
        Self {
            target: target.clone(),
            host: host_namespaces(),
            watched: HashSet::new(),
            next: Instant::now(),
        }
    }

    /// The target's processes now.
    fn pids(&self) -> Vec<u32> {
        let mut pids = Vec::new();
        match &self.target.cgroup {
            Some(cg) => cgroup_pids(&cg.path, self.target.exact, &mut pids),
            None => pids.extend(self.target.pid),
        }
        if let Some(only) = self.target.pid {
            pids.retain(|&p| p == only);
        }
        pids
    }

    /// Re-reads the target's namespaces if it is time (or `now`), and brings
    /// the map in line: new ones added, ones no task uses any more removed.
    pub fn refresh(&mut self, map: &impl MapCore, now: bool) -> Result<()> {
        if !now && Instant::now() < self.next {
            return Ok(());
        }
        self.next = Instant::now() + REFRESH;
        let current: HashSet<u32> = self
            .pids()
            .into_iter()
            .flat_map(ns_inodes)
            .filter(|ino| !self.host.contains(ino))
            .collect();
        for gone in self.watched.difference(&current) {
            // Already gone from the map is fine.
            let _ = map.delete(as_bytes(gone));
        }
        let new: Vec<u32> = current.difference(&self.watched).copied().collect();
        self.watched = current;
        self.insert(map, &new)
    }

    /// Watches `inodes` at once (namespaces the target was just seen
    /// entering or creating), if not the host's.
    pub fn add(&mut self, map: &impl MapCore, inodes: &[u32]) -> Result<()> {
        let new: Vec<u32> = inodes
            .iter()
            .copied()
            .filter(|&i| i != 0 && !self.host.contains(&i) && self.watched.insert(i))
            .collect();
        self.insert(map, &new)
    }

    fn insert(&self, map: &impl MapCore, inodes: &[u32]) -> Result<()> {
        for ino in inodes {
            map.update(as_bytes(ino), &[1u8], MapFlags::ANY)
                .context("updating the target's namespaces (BPF map watched_ns)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flags_follow_a_comm_with_parentheses_and_spaces() {
        let kthreadd = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 3";
        assert_eq!(stat_flags(kthreadd), Some(2_129_984));
        assert!(stat_flags(kthreadd).unwrap() & PF_KTHREAD != 0);
        let odd = "77 (a) b (c) ) R 1 77 77 0 -1 4194560 90 0 0 0";
        assert_eq!(stat_flags(odd), Some(4_194_560));
        assert_eq!(stat_flags("garbage"), None);
    }

    #[test]
    fn this_process_is_no_kernel_thread() {
        assert!(!is_kernel_thread(std::process::id()));
    }
}
