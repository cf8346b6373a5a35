//! Safe display of names a traced process controls (comm, cgroup names):
//! control characters and invalid UTF-8 are escaped so they cannot move the
//! cursor, recolour the terminal or forge table rows.

use std::fmt::Write;

/// Escapes `bytes` for a terminal: `\n`, `\t`, `\e`, `\xNN` for other control
/// bytes and for bytes that are not UTF-8; a backslash becomes `\\`.
pub fn for_terminal(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                '\x1b' => out.push_str("\\e"),
                c if c.is_control() || is_invisible_format(c) => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Unicode format characters that reorder or hide text (bidi overrides and
/// isolates, zero-width characters, line/paragraph separators): a name
/// holding them could visually forge table columns.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// A path escaped for a terminal (cgroup names are chosen by whoever owns
/// the directory, possibly a container with a delegated subtree).
pub fn path(path: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    for_terminal(path.as_os_str().as_bytes())
}

/// A NUL-terminated kernel string (like `comm[16]`) as bytes up to the NUL.
pub fn c_bytes<T: Copy + Into<i64>>(raw: &[T]) -> Vec<u8> {
    raw.iter()
        .map(|&c| c.into() as u8)
        .take_while(|&b| b != 0)
        .collect()
}

/// For JSON: the text as UTF-8 with invalid bytes replaced (serde escapes
/// control characters itself, so the output is always valid JSON).
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_hostile_bytes() {
        assert_eq!(for_terminal(b"bash"), "bash");
        assert_eq!(for_terminal(b"a\x1b[31mred"), "a\\e[31mred");
        assert_eq!(for_terminal(b"two\nlines"), "two\\nlines");
        assert_eq!(for_terminal(b"bad\xff\xfe"), "bad\\xff\\xfe");
        assert_eq!(for_terminal(b"\x07bell"), "\\u{7}bell");
        assert_eq!(for_terminal("é".as_bytes()), "é");
        assert_eq!(for_terminal("a\u{202E}b".as_bytes()), "a\\u{202e}b");
        assert_eq!(
            for_terminal("zero\u{200B}width".as_bytes()),
            "zero\\u{200b}width"
        );
        assert_eq!(path(std::path::Path::new("/x/\x1b[2J")), "/x/\\e[2J");
        assert_eq!(c_bytes(&[104i8, 105, 0, 120]), b"hi");
    }
}
