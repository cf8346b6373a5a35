//! Syscall names of the build architecture, from the `syscalls` crate.

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
}
