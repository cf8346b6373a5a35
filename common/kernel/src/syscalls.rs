//! Syscall names of the build architecture, from the `syscalls` crate, and
//! of its 32-bit ABI (i386 on x86_64: `int 0x80` calls and 32-bit processes).
//!
//! The syscall tools count a call in a slot: native call n in slot n, 32-bit
//! call n in slot `native_slots + n` ([`Call::from_slot`]).

use std::borrow::Cow;
use std::str::FromStr;

use ::syscalls::Sysno;

/// `getppid` for its number; `syscall_<nr>` for numbers this architecture
/// does not define (never a panic).
pub fn name(nr: u32) -> Cow<'static, str> {
    match Sysno::new(nr as usize) {
        Some(sysno) => Cow::Borrowed(sysno.name()),
        None => Cow::Owned(format!("syscall_{nr}")),
    }
}

/// The number of a syscall name (`openat`), of `syscall_<nr>`, or a plain
/// number (`257`, as libbpf-tools takes them).
pub fn number(name: &str) -> Option<u32> {
    let name = name.trim();
    let digits = name.strip_prefix("syscall_").unwrap_or(name);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return digits.parse().ok();
    }
    Sysno::from_str(name).ok().map(|s| s.id() as u32)
}

/// Every syscall of this architecture that has a name, by number: every
/// name [`name`] can return. (`Sysno::iter()` stops one short of the last
/// entry in syscalls 0.8: the numbers are walked up to `Sysno::last()`.)
pub fn all() -> impl Iterator<Item = (u32, &'static str)> {
    (Sysno::first().id()..=Sysno::last().id())
        .filter_map(|nr| Sysno::new(usize::try_from(nr).ok()?))
        .map(|s| (s.id() as u32, s.name()))
}

/// Numbers of the calls that never return to userspace (`exit`,
/// `exit_group`): BPF counts them at entry.
pub fn never_returning() -> (u32, u32) {
    (Sysno::exit.id() as u32, Sysno::exit_group.id() as u32)
}

/// The 32-bit ABI's name (`i386`), if this architecture has one here.
pub fn compat_abi() -> Option<&'static str> {
    cfg!(target_arch = "x86_64").then_some("i386")
}

/// Name of 32-bit call `nr`; `syscall_<nr>` for numbers without one.
pub fn compat_name(nr: u32) -> Cow<'static, str> {
    #[cfg(target_arch = "x86_64")]
    if let Some(sysno) = ::syscalls::x86::Sysno::new(nr as usize) {
        return Cow::Borrowed(sysno.name());
    }
    Cow::Owned(format!("syscall_{nr}"))
}

/// The 32-bit number of a syscall name, if the 32-bit ABI has that call.
pub fn compat_number(name: &str) -> Option<u32> {
    #[cfg(target_arch = "x86_64")]
    if let Ok(sysno) = ::syscalls::x86::Sysno::from_str(name.trim()) {
        return Some(sysno.id() as u32);
    }
    let _ = name;
    None
}

/// 32-bit numbers of `exit` and `exit_group`, when there is a 32-bit ABI.
pub fn compat_never_returning() -> Option<(u32, u32)> {
    #[cfg(target_arch = "x86_64")]
    return Some((
        ::syscalls::x86::Sysno::exit.id() as u32,
        ::syscalls::x86::Sysno::exit_group.id() as u32,
    ));
    #[cfg(not(target_arch = "x86_64"))]
    None
}

/// A syscall as the tools count it: its number in its ABI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Call {
    pub nr: u32,
    /// A 32-bit call (the number is the 32-bit ABI's).
    pub compat: bool,
}

impl Call {
    pub fn native(nr: u32) -> Self {
        Self { nr, compat: false }
    }

    /// The call counted in `slot` of an array whose first `native_slots`
    /// slots are native calls and the rest 32-bit ones.
    pub fn from_slot(slot: u32, native_slots: u32) -> Self {
        if slot >= native_slots {
            Self {
                nr: slot - native_slots,
                compat: true,
            }
        } else {
            Self::native(slot)
        }
    }

    /// Its slot (see [`Call::from_slot`]).
    pub fn slot(self, native_slots: u32) -> u32 {
        if self.compat {
            native_slots + self.nr
        } else {
            self.nr
        }
    }

    /// `getppid`, in its own ABI's table.
    pub fn name(self) -> Cow<'static, str> {
        if self.compat {
            compat_name(self.nr)
        } else {
            name(self.nr)
        }
    }

    /// The native call of the same name (a 32-bit `getppid`: the 64-bit
    /// getppid's number), for filters given as native names or numbers.
    pub fn native_nr(self) -> Option<u32> {
        if self.compat {
            number(&self.name())
        } else {
            Some(self.nr)
        }
    }

    /// The name for a table: a 32-bit call says so (`getppid (i386)`).
    pub fn label(self) -> String {
        if self.compat {
            format!("{} ({})", self.name(), compat_abi().unwrap_or("32-bit"))
        } else {
            self.name().into_owned()
        }
    }
}

/// Parses `read,write` into numbers; an unknown name is a usage error.
pub fn parse_list(list: &str) -> Result<Vec<u32>, String> {
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            number(s).ok_or_else(|| {
                format!(
                    "unknown syscall name '{}': give a name or a number (list them with `syscount -l`)",
                    s.trim()
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let nr = number("getppid").unwrap();
        assert_eq!(name(nr), "getppid");
        assert_eq!(name(99_999), "syscall_99999");
        assert_eq!(number("syscall_7"), Some(7));
        assert_eq!(number("nonsense"), None);
        assert!(parse_list("read,bogus").is_err());
        assert_eq!(parse_list("read, write").unwrap().len(), 2);
        assert!(all().count() > 300);
        assert_eq!(number("39"), Some(39));
        assert_eq!(parse_list("39,write").unwrap(), vec![39, 1]);
        assert_eq!(number(""), None);
        assert_eq!(number("-1"), None);
    }

    #[test]
    fn every_printable_name_is_listed() {
        let listed: std::collections::BTreeMap<u32, &str> = all().collect();
        for nr in 0..4096 {
            let shown = name(nr);
            if !shown.starts_with("syscall_") {
                assert_eq!(listed.get(&nr), Some(&&*shown), "{nr}");
            }
        }
        let (last_nr, _) = all().last().unwrap();
        assert_eq!(Some(&last_nr), listed.keys().max());
        #[cfg(target_arch = "x86_64")]
        assert_eq!(listed.get(&469), Some(&"file_setattr"));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn i386_names_and_slots() {
        assert_eq!(compat_name(64), "getppid");
        assert_eq!(compat_number("unshare"), Some(310));
        assert_eq!(compat_never_returning(), Some((1, 252)));
        let c = Call::from_slot(512 + 64, 512);
        assert_eq!(
            c,
            Call {
                nr: 64,
                compat: true
            }
        );
        assert_eq!(c.slot(512), 576);
        assert_eq!(c.label(), "getppid (i386)");
        assert_eq!(Call::from_slot(110, 512).label(), "getppid");
    }
}
