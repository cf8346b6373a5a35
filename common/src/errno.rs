//! errno names (ENOENT) for display, and parsing them back from user input.

use nix::errno::Errno;

/// Largest errno the kernel returns (`-4095..-1` is its error range).
pub const MAX_ERRNO: i32 = 4095;

/// `ENOENT` for 2; `E<n>` for numbers libc has no name for.
pub fn name(errno: i32) -> String {
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
