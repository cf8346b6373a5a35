//! errno names (ENOENT) for display, and parsing them back from user input.

use nix::errno::Errno;

/// Largest errno the kernel returns (`-4095..-1` is its error range).
pub const MAX_ERRNO: i32 = 4095;

/// The kernel's restart codes, which a syscall can leave with when a signal
/// interrupts it: the call is restarted (or turned into EINTR), so the
/// process never sees them. Named, but not failures.
const RESTART_CODES: [(i32, &str); 4] = [
    (512, "ERESTARTSYS"),
    (513, "ERESTARTNOINTR"),
    (514, "ERESTARTNOHAND"),
    (516, "ERESTART_RESTARTBLOCK"),
];

/// True for a kernel restart code (see [`RESTART_CODES`]).
pub fn is_restart(errno: i32) -> bool {
    RESTART_CODES.iter().any(|&(n, _)| n == errno)
}

/// `ENOENT` for 2; `ERESTARTSYS` for the kernel's restart codes; `E<n>` for
/// numbers libc has no name for.
pub fn name(errno: i32) -> String {
    if let Some((_, name)) = RESTART_CODES.iter().find(|&&(n, _)| n == errno) {
        return (*name).to_string();
    }
    match Errno::from_raw(errno) {
        Errno::UnknownErrno => format!("E{errno}"),
        known => format!("{known:?}"),
    }
}

/// Parses `ENOENT`, `enoent` or `2` into an errno number.
pub fn parse(text: &str) -> Option<i32> {
    let text = text.trim();
    if let Ok(n) = text.parse::<i32>() {
        return (1..=MAX_ERRNO).contains(&n).then_some(n);
    }
    let upper = text.to_ascii_uppercase();
    (1..=MAX_ERRNO).find(|&n| name(n) == upper && Errno::from_raw(n) != Errno::UnknownErrno)
}

/// The errno a syscall return value carries, if it is an error.
pub fn from_return(ret: i64) -> Option<i32> {
    (-(MAX_ERRNO as i64)..0)
        .contains(&ret)
        .then(|| (-ret) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_parses() {
        assert_eq!(name(2), "ENOENT");
        assert_eq!(name(1), "EPERM");
        assert_eq!(name(4000), "E4000");
        assert_eq!(name(512), "ERESTARTSYS");
        assert!(is_restart(516) && !is_restart(515) && !is_restart(4));
        assert_eq!(parse("ENOENT"), Some(2));
        assert_eq!(parse("enoent"), Some(2));
        assert_eq!(parse("22"), Some(22));
        assert_eq!(parse("ENOPE"), None);
        assert_eq!(parse("0"), None);
        assert_eq!(parse("E4000"), None);
        assert_eq!(from_return(-2), Some(2));
        assert_eq!(from_return(0), None);
        assert_eq!(from_return(-5000), None);
    }
}
