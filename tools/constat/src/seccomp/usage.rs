//! The neutral input: what a cgroup did, per (ABI, syscall name), with the
//! count, the failures by errno and the calls a seccomp filter denied. Made
//! from whatever counted it (a live sample's rows, a recorded report's JSON
//! rows, a profile constat wrote) by one small adapter each; profiles and
//! checks are made from this alone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::collect::Row;
use crate::report::JsonRow;

/// Which syscall table a call went through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Abi {
    /// The build architecture's own (x86_64).
    Native,
    /// Its 32-bit ABI (i386 on x86_64: `int 0x80`, 32-bit processes).
    Compat,
}

impl Abi {
    /// How profiles and reports name it: `x86_64`, `i386`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Native => std::env::consts::ARCH,
            Self::Compat => kernel::syscalls::compat_abi().unwrap_or("compat"),
        }
    }

    /// libseccomp's name of the architecture (`SCMP_ARCH_X86_64`).
    pub fn scmp(self) -> &'static str {
        match (self, std::env::consts::ARCH) {
            (Self::Native, "x86_64") => "SCMP_ARCH_X86_64",
            (Self::Compat, "x86_64") => "SCMP_ARCH_X86",
            (Self::Native, "aarch64") => "SCMP_ARCH_AARCH64",
            (Self::Compat, "aarch64") => "SCMP_ARCH_ARM",
            (Self::Native, "riscv64") => "SCMP_ARCH_RISCV64",
            (Self::Native, "s390x") => "SCMP_ARCH_S390X",
            (Self::Native, "powerpc64") => "SCMP_ARCH_PPC64LE",
            _ => "SCMP_ARCH_NATIVE",
        }
    }

    /// The ABI a label names (`x86_64`, `i386`).
    pub fn from_label(label: &str) -> Option<Self> {
        [Self::Native, Self::Compat]
            .into_iter()
            .find(|abi| abi.label() == label)
    }
}

/// What one syscall's calls came to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub count: u64,
    /// Failed calls (denied ones included).
    pub errors: u64,
    /// Calls a seccomp filter stopped before they ran.
    #[serde(default)]
    pub denied: u64,
    /// Failures per errno name (`ENOENT`).
    #[serde(default)]
    pub errnos: BTreeMap<String, u64>,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.count += other.count;
        self.errors += other.errors;
        self.denied += other.denied;
        for (errno, n) in &other.errnos {
            *self.errnos.entry(errno.clone()).or_default() += n;
        }
    }

    /// Every call was denied: the name was never let through.
    pub fn only_denied(&self) -> bool {
        self.count > 0 && self.denied == self.count
    }

    /// The most common errno (ties: the first by name).
    pub fn top_errno(&self) -> Option<&str> {
        self.errnos
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(e, _)| e.as_str())
    }
}

/// One row of what was counted, in neutral terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    /// The cgroup (host-wide), `None` for the one target.
    pub cgroup_id: Option<u64>,
    pub abi: Abi,
    /// The name in its ABI's table (`getuid32` for i386 call 199).
    pub name: String,
    pub tally: Tally,
}

/// The adapter from a live sample's rows (the engine's `Row`); `None` for
/// a row that counts a process, not a syscall.
pub fn from_row(row: &Row) -> Option<Observed> {
    let call = row.call()?;
    Some(Observed {
        cgroup_id: row.cgroup_id,
        abi: if call.compat {
            Abi::Compat
        } else {
            Abi::Native
        },
        name: call.name().into_owned(),
        tally: Tally {
            count: row.count,
            errors: row.errors,
            denied: row.denied,
            errnos: row
                .errnos
                .iter()
                .map(|(&e, &n)| (kernel::errno::name(e), n))
                .collect(),
        },
    })
}

/// The adapter from a recorded report's rows (`--record`, `-o json`).
pub fn from_json_row(row: &JsonRow) -> Observed {
    Observed {
        cgroup_id: row.cgroup_id,
        abi: if row.compat { Abi::Compat } else { Abi::Native },
        name: row.syscall.clone(),
        tally: Tally {
            count: row.count,
            errors: row.errors,
            denied: row.denied,
            errnos: row.errnos.clone(),
        },
    }
}

/// What one cgroup (container, replica, run) did: every call it made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub calls: BTreeMap<(Abi, String), Tally>,
}

impl Usage {
    pub fn add(&mut self, abi: Abi, name: &str, tally: &Tally) {
        self.calls
            .entry((abi, name.to_string()))
            .or_default()
            .add(tally);
    }

    /// The union of two runs: every call of either, counts added.
    pub fn merge(&mut self, other: &Usage) {
        for ((abi, name), tally) in &other.calls {
            self.add(*abi, name, tally);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// As profiles store it: `{"x86_64": {"read": {count, ...}}, "i386": ...}`.
    pub fn to_json(&self) -> BTreeMap<&'static str, BTreeMap<String, Tally>> {
        let mut out: BTreeMap<&'static str, BTreeMap<String, Tally>> = BTreeMap::new();
        for ((abi, name), tally) in &self.calls {
            out.entry(abi.label())
                .or_default()
                .insert(name.clone(), tally.clone());
        }
        out
    }

    /// Read back from [`Usage::to_json`]'s shape; an ABI this build does
    /// not know is an error naming it.
    pub fn from_json(by_abi: &BTreeMap<String, BTreeMap<String, Tally>>) -> Result<Self, String> {
        let mut usage = Usage::default();
        for (label, calls) in by_abi {
            let abi = Abi::from_label(label)
                .ok_or_else(|| format!("calls of architecture {label:?}, not this one's"))?;
            for (name, tally) in calls {
                usage.add(abi, name, tally);
            }
        }
        Ok(usage)
    }
}

/// What was recorded of one target: a container, a cgroup, a replica, a
/// run; profiles and checks are made per unit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unit {
    /// What files and reports call it: the container's name (or
    /// `NAMESPACE/POD/NAME`), else the cgroup's last path component.
    pub name: String,
    /// Where it came from, for the profile's comment
    /// (`docker container web (3f2a9c1e5b7d)`).
    pub about: String,
    /// Its cgroup path, when known.
    pub cgroup: Option<String>,
    pub container: Option<identity::container::ContainerInfo>,
    pub usage: Usage,
}

impl Unit {
    /// Named after its container, else its cgroup (`cgroup` the path, or
    /// `None` when only the id is known).
    pub fn new(
        container: Option<identity::container::ContainerInfo>,
        cgroup: Option<String>,
        id: Option<u64>,
    ) -> Self {
        let last = cgroup.as_deref().map(|p| {
            let last = p.rsplit('/').find(|c| !c.is_empty()).unwrap_or("root");
            last.to_string()
        });
        let (name, about) = match (&container, &last) {
            (Some(c), _) => (
                c.label(),
                format!("{} container {} ({})", c.runtime, c.label(), c.short_id()),
            ),
            (None, Some(last)) => (
                last.clone(),
                format!("cgroup {}", cgroup.as_deref().unwrap_or("")),
            ),
            (None, None) => {
                let id = id.map_or("?".to_string(), |i| i.to_string());
                (
                    format!("cgroup-{id}"),
                    format!("cgroup id {id} (gone before it was named)"),
                )
            }
        };
        Self {
            name,
            about,
            cgroup,
            container,
            usage: Usage::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::syscalls::Call;

    fn tally(count: u64, errors: u64, denied: u64, errnos: &[(&str, u64)]) -> Tally {
        Tally {
            count,
            errors,
            denied,
            errnos: errnos.iter().map(|(e, n)| (e.to_string(), *n)).collect(),
        }
    }

    #[test]
    fn rows_become_neutral_observations() {
        let row = Row {
            cgroup_id: Some(9),
            key: engine::Key::Syscall(Call {
                nr: 199,
                compat: true,
            }),
            count: 5,
            errors: 2,
            denied: 1,
            errnos: [(1, 1), (2, 1)].into_iter().collect(),
            ..Row::default()
        };
        assert_eq!(
            from_row(&Row {
                key: engine::Key::Process(7),
                ..row.clone()
            }),
            None
        );
        let seen = from_row(&row).unwrap();
        assert_eq!(seen.cgroup_id, Some(9));
        assert_eq!(seen.abi, Abi::Compat);
        assert_eq!(seen.name, "getuid32");
        assert_eq!(seen.tally, tally(5, 2, 1, &[("ENOENT", 1), ("EPERM", 1)]));
    }

    #[test]
    fn merging_is_a_union_with_counts_added() {
        let mut a = Usage::default();
        a.add(Abi::Native, "read", &tally(10, 1, 0, &[("EAGAIN", 1)]));
        let mut b = Usage::default();
        b.add(
            Abi::Native,
            "read",
            &tally(5, 2, 0, &[("EAGAIN", 1), ("EINTR", 1)]),
        );
        b.add(Abi::Compat, "getuid32", &tally(3, 0, 0, &[]));
        a.merge(&b);
        assert_eq!(a.calls.len(), 2);
        assert_eq!(
            a.calls[&(Abi::Native, "read".to_string())],
            tally(15, 3, 0, &[("EAGAIN", 2), ("EINTR", 1)])
        );
        let back = Usage::from_json(
            &serde_json::from_value(serde_json::to_value(a.to_json()).unwrap()).unwrap(),
        )
        .unwrap();
        assert_eq!(back, a);
        let mut alien = BTreeMap::new();
        alien.insert("mips".to_string(), BTreeMap::new());
        assert!(Usage::from_json(&alien).unwrap_err().contains("mips"));
    }

    #[test]
    fn the_top_errno_and_denied_only() {
        let t = tally(4, 4, 4, &[("EPERM", 3), ("EACCES", 1)]);
        assert_eq!(t.top_errno(), Some("EPERM"));
        assert!(t.only_denied());
        assert!(!tally(4, 4, 3, &[]).only_denied());
        assert!(!Tally::default().only_denied());
    }
}
