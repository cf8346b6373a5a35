//! One traced call, decoded from the kernel's record: which call, its flags
//! by name, its result, and the namespaces before and after.

use std::fmt;

use crate::flags;

/// Namespace slots of the kernel record (enum unsharesnoop_ns), named as
/// /proc/<pid>/ns/ names them.
pub const NS_NAMES: [&str; 10] = [
    "mnt",
    "pid",
    "net",
    "uts",
    "ipc",
    "user",
    "cgroup",
    "time",
    "pid_for_children",
    "time_for_children",
];

/// Slot of each CLONE_NEW* bit: what setns(2) with that nstype replaces.
/// A pid or time namespace joined applies to children first.
const JOIN_SLOT: &[(u64, usize)] = &[
    (0x0000_0080, 9),
    (0x0002_0000, 0),
    (0x0200_0000, 6),
    (0x0400_0000, 3),
    (0x0800_0000, 4),
    (0x1000_0000, 5),
    (0x2000_0000, 8),
    (0x4000_0000, 2),
];

/// CLONE_NEW* bits and the namespace each creates, in /proc/<pid>/ns/ order.
const CREATED: &[(u64, &str)] = &[
    (0x0002_0000, "mnt"),
    (0x2000_0000, "pid"),
    (0x4000_0000, "net"),
    (0x0400_0000, "uts"),
    (0x0800_0000, "ipc"),
    (0x1000_0000, "user"),
    (0x0200_0000, "cgroup"),
    (0x0000_0080, "time"),
];

/// The system calls this tool traces (`--calls`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Call {
    Unshare,
    Setns,
    /// clone(2) and clone3(2) that create a namespace.
    Clone,
    /// Not selectable on its own: `clone` covers it.
    #[cfg_attr(feature = "clap", value(skip))]
    Clone3,
}

impl Call {
    /// From the kernel record's enum unsharesnoop_call.
    pub fn from_raw(raw: u32) -> Option<Self> {
        match raw {
            0 => Some(Self::Unshare),
            1 => Some(Self::Setns),
            2 => Some(Self::Clone),
            3 => Some(Self::Clone3),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Unshare => "unshare",
            Self::Setns => "setns",
            Self::Clone => "clone",
            Self::Clone3 => "clone3",
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A namespace a setns(2) call moved the caller into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joined {
    /// `net`, `pid`, ... (the /proc/<pid>/ns/ name).
    pub kind: &'static str,
    pub inode: u32,
}

/// One call as the kernel saw it.
#[derive(Clone, Debug)]
pub struct Event {
    /// Kernel monotonic time of the call's entry.
    pub ts_ns: u64,
    pub pid: u32,
    pub tid: u32,
    /// comm at the call's exit, raw bytes (the process chose them).
    pub comm: Vec<u8>,
    pub call: Call,
    /// unshare/clone/clone3 flags; for setns, nstype.
    pub flags: u64,
    pub ret: i64,
    pub cgroup_id: u64,
    /// setns: the fd argument and the inode of the file behind it.
    pub fd: i32,
    pub target_ino: u64,
    pub ns_before: [u32; 10],
    pub ns_after: [u32; 10],
    /// A 32-bit call (int 0x80 or a 32-bit process).
    pub compat: bool,
    /// Stopped by a seccomp filter before it ran (flags read from the
    /// registers at exit; the time is the exit's).
    pub denied: bool,
    /// A setns from outside the target into one of its namespaces.
    pub entering: bool,
}

impl Event {
    /// The table's marks after FLAGS(human): `[i386]`, `[denied]`, `[entering]`.
    pub fn marks(&self) -> String {
        marks(self.compat, self.denied, self.entering)
    }

    /// The errno of a failed call.
    pub fn errno(&self) -> Option<i32> {
        kernel::errno::from_return(self.ret)
    }

    /// `0`, the child's pid, or the errno name.
    pub fn ret_text(&self) -> String {
        match self.errno() {
            Some(e) => kernel::errno::name(e),
            None => self.ret.to_string(),
        }
    }

    /// FLAGS(human): the flags by name (setns: the nstype).
    pub fn flags_human(&self) -> String {
        match self.call {
            Call::Unshare | Call::Clone3 => flags::clone_flags(self.flags),
            Call::Clone => flags::legacy_clone_flags(self.flags),
            Call::Setns => flags::nstype(self.flags),
        }
    }

    /// setns only, and only when it succeeded: the namespaces joined.
    ///
    /// An fd of /proc/<pid>/ns/<type> names its namespace by inode, so the
    /// after-slot holding that inode says which type was joined. A pidfd
    /// joins the namespaces nstype lists: their after-inodes.
    pub fn joined(&self) -> Vec<Joined> {
        if self.call != Call::Setns || self.ret != 0 {
            return Vec::new();
        }
        let kind = |slot: usize| NS_NAMES[slot].trim_end_matches("_for_children");
        if self.target_ino != 0 {
            if let Some(slot) = self
                .ns_after
                .iter()
                .position(|&ino| ino as u64 == self.target_ino)
            {
                return vec![Joined {
                    kind: kind(slot),
                    inode: self.ns_after[slot],
                }];
            }
        }
        JOIN_SLOT
            .iter()
            .filter(|(bit, _)| self.flags & bit != 0)
            .map(|&(_, slot)| Joined {
                kind: kind(slot),
                inode: self.ns_after[slot],
            })
            .collect()
    }

    /// Namespace types the call created, from its flags (a failed call
    /// created none; setns joins, never creates): for unshare the caller's
    /// new namespaces (pid and time apply to its future children), for
    /// clone and clone3 the child's. clone(2)'s low byte is the exit
    /// signal, not CLONE_NEWTIME.
    pub fn created(&self) -> Vec<&'static str> {
        if self.ret < 0 || self.call == Call::Setns {
            return Vec::new();
        }
        let flags = match self.call {
            Call::Clone => self.flags & !flags::CSIGNAL,
            _ => self.flags,
        };
        CREATED
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|&(_, name)| name)
            .collect()
    }

    /// Names of the calling process's namespaces whose inode differs after
    /// the call.
    pub fn changed(&self) -> Vec<&'static str> {
        (0..NS_NAMES.len())
            .filter(|&i| self.ns_before[i] != self.ns_after[i])
            .map(|i| NS_NAMES[i])
            .collect()
    }
}

/// The marks after a table line's flags: ` [i386]` for a 32-bit call,
/// ` [denied]` for one seccomp stopped, ` [entering]` for a setns into the
/// target from outside (also for replayed events).
pub fn marks(compat: bool, denied: bool, entering: bool) -> String {
    let mut out = String::new();
    if compat {
        out.push_str(&format!(
            " [{}]",
            kernel::syscalls::compat_abi().unwrap_or("32-bit")
        ));
    }
    if denied {
        out.push_str(" [denied]");
    }
    if entering {
        out.push_str(" [entering]");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setns(flags: u64, target_ino: u64, after_net: u32) -> Event {
        let mut ns_after = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19];
        ns_after[2] = after_net;
        Event {
            ts_ns: 0,
            pid: 1,
            tid: 1,
            comm: b"x".to_vec(),
            call: Call::Setns,
            flags,
            ret: 0,
            cgroup_id: 1,
            fd: 3,
            target_ino,
            ns_before: [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
            ns_after,
            compat: false,
            denied: false,
            entering: false,
        }
    }

    #[test]
    fn joined_namespace_by_fd_inode() {
        let e = setns(0, 4_026_532_008, 4_026_532_008);
        assert_eq!(
            e.joined(),
            vec![Joined {
                kind: "net",
                inode: 4_026_532_008
            }]
        );
        assert_eq!(e.changed(), vec!["net"]);
    }

    #[test]
    fn joined_by_pidfd_uses_nstype() {
        let e = setns(0x4000_0000 | 0x2000_0000, 999, 77);
        let joined = e.joined();
        assert_eq!(joined.len(), 2);
        assert!(joined.contains(&Joined {
            kind: "pid",
            inode: 18
        }));
        assert!(joined.contains(&Joined {
            kind: "net",
            inode: 77
        }));
    }

    #[test]
    fn created_namespaces_come_from_the_flags() {
        let mut e = setns(0x4000_0000, 0, 12);
        assert!(e.created().is_empty(), "setns joins, creates nothing");
        e.call = Call::Clone;
        e.ret = 4242;
        e.flags = 0x4000_0000 | 0x0400_0000 | 0x11; // NEWNET|NEWUTS|SIGCHLD
        assert_eq!(e.created(), vec!["net", "uts"]);
        e.flags = 0x80 | 0x11; // clone(2): 0x80 is in the signal byte
        assert!(e.created().is_empty());
        e.call = Call::Clone3;
        e.flags = 0x80 | 0x2000_0000;
        assert_eq!(e.created(), vec!["pid", "time"]);
        e.ret = -1;
        assert!(e.created().is_empty());
    }

    #[test]
    fn failed_setns_joins_nothing_and_errno_is_named() {
        let mut e = setns(0, 12, 12);
        e.ret = -1;
        assert!(e.joined().is_empty());
        assert_eq!(e.ret_text(), "EPERM");
        assert_eq!(e.flags_human(), "any");
    }
}
