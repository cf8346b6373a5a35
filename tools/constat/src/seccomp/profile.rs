//! The profile model: from what was used, what to allow. Every call that
//! was let through at least once is allowed by name; a call that was only
//! ever denied (by the filter in force while recording) stays denied, with
//! the errno it got, and is said so instead of being allowed silently.
//! Everything else gets the default action: fail with EPERM.

use std::collections::BTreeMap;

use super::usage::{Abi, Tally, Usage};

/// The errno of the default action (EPERM, as Docker's default profile).
pub const DEFAULT_ERRNO: i32 = 1;

/// Calls an OCI runtime's init may make after it installs the filter and
/// before `execve`, whether or not one recording saw them: runc's init is
/// a Go program, and its scheduler, preemption signals (tgkill, SIGURG,
/// rt_sigreturn) and memory calls come and go with timing. A profile
/// without them starts its container only some of the time.
pub const RUNTIME_FLOOR: &[&str] = &[
    "brk",
    "capget",
    "capset",
    "chdir",
    "clock_gettime",
    "clock_nanosleep",
    "clone",
    "close",
    "close_range",
    "epoll_create1",
    "epoll_ctl",
    "epoll_pwait",
    "execve",
    "exit",
    "exit_group",
    "fcntl",
    "fstat",
    "futex",
    "getdents64",
    "getpid",
    "getppid",
    "getrandom",
    "gettid",
    "madvise",
    "mmap",
    "mprotect",
    "munmap",
    "nanosleep",
    "newfstatat",
    "openat",
    "pipe2",
    "prctl",
    "read",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "sched_getaffinity",
    "sched_yield",
    "setgroups",
    "setresgid",
    "setresuid",
    "sigaltstack",
    "tgkill",
    "write",
];

/// A profile to write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// What it was recorded from, one line each
    /// (`docker container web (3f2a9c1e5b7d)`).
    pub sources: Vec<String>,
    pub usage: Usage,
}

/// What an entry does with its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    Allow,
    /// Only ever denied while recording: still denied, with this errno.
    KeepDenied(i32),
}

/// One syscall name of the profile, with what its calls came to per ABI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    pub name: &'a str,
    pub rule: Rule,
    pub per_abi: Vec<(Abi, &'a Tally)>,
}

impl Entry<'_> {
    /// What a reviewer reads beside the name: `x86_64: 1234 calls, 17
    /// failed (ENOENT 17); i386: 50 calls`.
    pub fn comment(&self) -> String {
        if self.per_abi.is_empty() {
            return "not seen while recording: allowed because a container runtime's \
                    init may make it after installing the filter (timing-dependent \
                    Go runtime and start-up calls)"
                .to_string();
        }
        let parts: Vec<String> = self
            .per_abi
            .iter()
            .map(|(abi, t)| format!("{}: {}", abi.label(), describe(t)))
            .collect();
        let mut text = parts.join("; ");
        let denied: u64 = self.per_abi.iter().map(|(_, t)| t.denied).sum();
        match self.rule {
            Rule::KeepDenied(_) => {
                text.push_str(": only ever denied while recording, so kept denied")
            }
            Rule::Allow if denied > 0 => text.push_str(
                ": some calls were denied while recording (an argument rule?); \
                 allowed by name, all of them get through",
            ),
            Rule::Allow => {}
        }
        text
    }
}

/// `1234 calls, 17 failed (ENOENT 15, EACCES 2), 3 denied`.
pub fn describe(t: &Tally) -> String {
    let mut text = format!("{} call{}", t.count, if t.count == 1 { "" } else { "s" });
    if t.errors > 0 {
        let mut errnos: Vec<(&String, &u64)> = t.errnos.iter().collect();
        errnos.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let list: Vec<String> = errnos.iter().map(|(e, n)| format!("{e} {n}")).collect();
        text.push_str(&format!(", {} failed", t.errors));
        if !list.is_empty() {
            text.push_str(&format!(" ({})", list.join(", ")));
        }
    }
    if t.denied > 0 {
        text.push_str(&format!(", {} denied", t.denied));
    }
    text
}

/// The names an entry list keeps denied (only ever denied while recording).
pub fn kept_denied<'a>(entries: &[Entry<'a>]) -> Vec<&'a str> {
    entries
        .iter()
        .filter(|e| e.rule != Rule::Allow)
        .map(|e| e.name)
        .collect()
}

/// Calls without a name (`syscall_<nr>`): no profile can list them.
fn unnamed(name: &str) -> bool {
    name.starts_with("syscall_")
}

impl Profile {
    pub fn new(sources: Vec<String>, usage: Usage) -> Self {
        Self { sources, usage }
    }

    /// The union with another profile's calls and sources.
    pub fn merge(&mut self, other: &Profile) {
        self.usage.merge(&other.usage);
        for s in &other.sources {
            if !self.sources.contains(s) {
                self.sources.push(s.clone());
            }
        }
    }

    /// The architectures to list: the native one, and the 32-bit one when
    /// 32-bit calls were made (runc kills a call of an unlisted one).
    pub fn arches(&self) -> Vec<Abi> {
        let mut arches = vec![Abi::Native];
        if self.usage.calls.keys().any(|(abi, _)| *abi == Abi::Compat) {
            arches.push(Abi::Compat);
        }
        arches
    }

    /// One entry per name, in name order. A name applies to every listed
    /// architecture, so a name allowed in one ABI is allowed in all. The
    /// runtime floor is allowed whether seen or not (see [`RUNTIME_FLOOR`]).
    pub fn entries(&self) -> Vec<Entry<'_>> {
        let mut by_name: BTreeMap<&str, Vec<(Abi, &Tally)>> = BTreeMap::new();
        for name in RUNTIME_FLOOR {
            by_name.insert(name, Vec::new());
        }
        for ((abi, name), tally) in &self.usage.calls {
            if !unnamed(name) {
                by_name.entry(name).or_default().push((*abi, tally));
            }
        }
        by_name
            .into_iter()
            .map(|(name, per_abi)| {
                let seen = !per_abi.is_empty();
                let rule = if seen && per_abi.iter().all(|(_, t)| t.only_denied()) {
                    let errno = per_abi
                        .iter()
                        .find_map(|(_, t)| t.top_errno())
                        .and_then(kernel::errno::parse)
                        .unwrap_or(DEFAULT_ERRNO);
                    Rule::KeepDenied(errno)
                } else {
                    Rule::Allow
                };
                Entry {
                    name,
                    rule,
                    per_abi,
                }
            })
            .collect()
    }

    /// Calls no profile can name, with their ABI and counts.
    pub fn unnamed(&self) -> Vec<(Abi, &str, &Tally)> {
        self.usage
            .calls
            .iter()
            .filter(|((_, name), _)| unnamed(name))
            .map(|((abi, name), t)| (*abi, name.as_str(), t))
            .collect()
    }

    /// The profile's own description (its top comment).
    pub fn header(&self) -> String {
        let entries = self.entries();
        let allowed = |seen: bool| {
            entries
                .iter()
                .filter(|e| e.rule == Rule::Allow && e.per_abi.is_empty() != seen)
                .count()
        };
        let (made, floor) = (allowed(true), allowed(false));
        let mut text = format!(
            "Seccomp profile recorded by constat (contrace) from {}: the {made} syscalls \
             it made from its cgroup's first call are allowed by name, and {floor} more \
             that a container runtime's init may make before execve; every other call \
             fails with EPERM. Names only: no argument filters (Docker's default profile \
             also restricts clone's flags, personality's argument and the like), so review \
             it before use. Each entry's comment says what its calls came to.",
            self.sources.join(", ")
        );
        let kept = kept_denied(&entries);
        if !kept.is_empty() {
            text.push_str(&format!(
                " Only ever denied while recording, so kept denied: {}.",
                kept.join(", ")
            ));
        }
        let unnamed: Vec<String> = self
            .unnamed()
            .iter()
            .map(|(abi, name, t)| format!("{name} ({}, {})", abi.label(), describe(t)))
            .collect();
        if !unnamed.is_empty() {
            text.push_str(&format!(
                " Made but without a name to list (they get the default action): {}.",
                unnamed.join(", ")
            ));
        }
        text
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn tally(count: u64, errors: u64, denied: u64, errnos: &[(&str, u64)]) -> Tally {
        Tally {
            count,
            errors,
            denied,
            errnos: errnos.iter().map(|(e, n)| (e.to_string(), *n)).collect(),
        }
    }

    /// read (native, some failures), getuid32 (i386 only), getppid in
    /// both ABIs, unshare only ever denied, one unnamed call.
    pub(crate) fn sample() -> Profile {
        let mut usage = Usage::default();
        usage.add(Abi::Native, "read", &tally(1234, 17, 0, &[("EAGAIN", 17)]));
        usage.add(Abi::Compat, "getuid32", &tally(50, 0, 0, &[]));
        usage.add(Abi::Native, "getppid", &tally(3, 0, 0, &[]));
        usage.add(Abi::Compat, "getppid", &tally(2, 0, 0, &[]));
        usage.add(Abi::Native, "unshare", &tally(3, 3, 3, &[("EPERM", 3)]));
        usage.add(
            Abi::Native,
            "syscall_999",
            &tally(1, 1, 0, &[("ENOSYS", 1)]),
        );
        Profile::new(vec!["docker container web (3f2a9c1e5b7d)".into()], usage)
    }

    #[test]
    fn entries_allow_what_got_through_and_keep_denied_what_never_did() {
        let p = sample();
        let seen = |e: &Entry| !e.per_abi.is_empty();
        let (entries, floor): (Vec<Entry>, Vec<Entry>) = p.entries().into_iter().partition(seen);
        assert_eq!(floor.len(), RUNTIME_FLOOR.len() - 2, "getppid, read seen");
        assert!(floor.iter().all(|e| e.rule == Rule::Allow));
        assert!(floor[0].comment().contains("not seen while recording"));
        let names: Vec<&str> = entries.iter().map(|e| e.name).collect();
        assert_eq!(names, ["getppid", "getuid32", "read", "unshare"]);
        assert_eq!(entries[3].rule, Rule::KeepDenied(1));
        assert!(entries[..3].iter().all(|e| e.rule == Rule::Allow));
        assert_eq!(entries[0].comment(), "x86_64: 3 calls; i386: 2 calls");
        assert_eq!(
            entries[2].comment(),
            "x86_64: 1234 calls, 17 failed (EAGAIN 17)"
        );
        assert!(
            entries[3].comment().contains("kept denied"),
            "{}",
            entries[3].comment()
        );
        assert_eq!(p.arches(), [Abi::Native, Abi::Compat]);
        let header = p.header();
        assert!(header.contains("the 3 syscalls"), "{header}");
        let floor = RUNTIME_FLOOR.len() - 2;
        assert!(header.contains(&format!("and {floor} more")), "{header}");
        assert!(header.contains("kept denied: unshare."), "{header}");
        assert!(
            header.contains("syscall_999 (x86_64, 1 call, 1 failed (ENOSYS 1))"),
            "{header}"
        );
    }

    #[test]
    fn a_denied_errno_is_kept_and_partial_denials_are_said() {
        let mut usage = Usage::default();
        usage.add(Abi::Native, "mbind", &tally(2, 2, 2, &[("ENOSYS", 2)]));
        usage.add(Abi::Native, "clone", &tally(5, 1, 1, &[("EPERM", 1)]));
        let p = Profile::new(vec![], usage);
        let entries: Vec<Entry> = p
            .entries()
            .into_iter()
            .filter(|e| e.name == "clone" || e.name == "mbind")
            .collect();
        assert_eq!(entries[0].name, "clone");
        assert_eq!(entries[0].rule, Rule::Allow);
        assert!(entries[0].comment().contains("some calls were denied"));
        assert_eq!(entries[1].rule, Rule::KeepDenied(38));
        assert_eq!(p.arches(), [Abi::Native]);
    }

    #[test]
    fn merged_profiles_add_up_and_keep_every_source_once() {
        let mut a = sample();
        let b = sample();
        a.merge(&b);
        assert_eq!(a.sources.len(), 1);
        let read = &a.usage.calls[&(Abi::Native, "read".to_string())];
        assert_eq!(read.count, 2468);
    }
}
