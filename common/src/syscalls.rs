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

/// The number of a syscall name (`openat`), or of `syscall_<nr>`.
pub fn number(name: &str) -> Option<u32> {
    let name = name.trim();
    if let Some(nr) = name.strip_prefix("syscall_") {
        return nr.parse().ok();
    }
    Sysno::from_str(name).ok().map(|s| s.id() as u32)
}

/// Every syscall of this architecture, by number.
pub fn all() -> impl Iterator<Item = (u32, &'static str)> {
    Sysno::iter().map(|s| (s.id() as u32, s.name()))
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
                    "unknown syscall name '{}' (list them with `syscount -l`)",
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
    }
}
