//! The Kubernetes Security Profiles Operator's `SeccompProfile` resource
//! (`security-profiles-operator.x-k8s.io/v1beta1`), as YAML for `kubectl
//! apply -f`. What each call came to goes in YAML comments beside its
//! name: the resource's schema has no field for it (strict validation
//! refuses unknown fields), and comments cost the cluster nothing.
//!
//! Written by hand: every value is a syscall name, an `SCMP_*` constant, a
//! number or the sanitised resource name, none of which YAML could read
//! otherwise; comments are kept on one line.

use std::collections::BTreeMap;

use super::profile::{Profile, Rule};

pub const API_VERSION: &str = "security-profiles-operator.x-k8s.io/v1beta1";

/// The resource named `name` (made a valid Kubernetes name).
pub fn write(profile: &Profile, name: &str) -> String {
    let mut out = String::new();
    for line in wrap(&profile.header(), 76) {
        out.push_str(&format!("# {line}\n"));
    }
    out.push_str(&format!(
        "apiVersion: {API_VERSION}\nkind: SeccompProfile\nmetadata:\n  name: {}\nspec:\n  \
         defaultAction: SCMP_ACT_ERRNO\n  architectures:\n",
        resource_name(name)
    ));
    for arch in profile.arches() {
        out.push_str(&format!("  - {}\n", arch.scmp()));
    }
    out.push_str("  syscalls:\n");
    // One list per rule: allowed names, then each errno kept.
    let mut by_rule: BTreeMap<Rule, Vec<(String, String)>> = BTreeMap::new();
    for e in profile.entries() {
        by_rule
            .entry(e.rule)
            .or_default()
            .push((e.name.to_string(), e.comment()));
    }
    for (rule, names) in by_rule {
        match rule {
            Rule::Allow => out.push_str("  - action: SCMP_ACT_ALLOW\n"),
            Rule::KeepDenied(errno) => out.push_str(&format!(
                "  - action: SCMP_ACT_ERRNO\n    errnoRet: {errno}\n"
            )),
        }
        out.push_str("    names:\n");
        for (name, comment) in names {
            out.push_str(&format!(
                "    - {}  # {}\n",
                scalar(&name),
                one_line(&comment)
            ));
        }
    }
    out
}

/// A syscall name as a YAML scalar: plain when it can only be read as that
/// string, else quoted.
fn scalar(name: &str) -> String {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && !matches!(
            name,
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        );
    if plain {
        name.to_string()
    } else {
        serde_json::to_string(name).unwrap_or_default()
    }
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

/// A Kubernetes object name (DNS-1123 subdomain): lower case letters,
/// digits, `-` and `.`, starting and ending with a letter or digit, at most
/// 253 characters; `profile` when nothing is left.
pub fn resource_name(name: &str) -> String {
    let mapped: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let cut: String = trimmed.chars().take(253).collect();
    let cut = cut.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    if cut.is_empty() {
        "profile".into()
    } else {
        cut.to_string()
    }
}

/// Words to lines of at most `width` characters (a longer word alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::super::profile::tests::sample;
    use super::*;

    #[test]
    fn the_resource_lists_allowed_and_kept_denied_names_with_comments() {
        let text = write(&sample(), "shop/Web_1");
        assert!(
            text.starts_with("# Seccomp profile recorded by constat"),
            "{text}"
        );
        assert!(
            text.contains("kind: SeccompProfile\nmetadata:\n  name: shop-web-1\n"),
            "{text}"
        );
        assert!(text.contains("  architectures:\n  - SCMP_ARCH_X86_64\n  - SCMP_ARCH_X86\n"));
        assert!(
            text.contains(
                "  - action: SCMP_ACT_ALLOW\n    names:\n    - brk  # not seen while recording"
            ),
            "{text}"
        );
        assert!(text.contains("    - getppid  # x86_64: 3 calls; i386: 2 calls\n"));
        assert!(text.contains("    - read  # x86_64: 1234 calls, 17 failed (EAGAIN 17)\n"));
        assert!(text
            .contains("  - action: SCMP_ACT_ERRNO\n    errnoRet: 1\n    names:\n    - unshare  #"));
        assert!(
            !text.contains("syscall_999  #"),
            "unnamed calls cannot be listed"
        );
        for line in text.lines().filter(|l| l.starts_with('#')) {
            assert!(
                line.len() <= 80 || !line.trim_start_matches("# ").contains(' '),
                "{line}"
            );
        }
    }

    #[test]
    fn names_and_scalars_are_safe() {
        assert_eq!(resource_name("--Web.1--"), "web.1");
        assert_eq!(resource_name("/"), "profile");
        assert_eq!(resource_name(&"a".repeat(300)).len(), 253);
        assert_eq!(scalar("_llseek"), "_llseek");
        assert_eq!(scalar("no"), "\"no\"");
        assert_eq!(scalar("9p"), "\"9p\"");
        assert_eq!(one_line("a\nb"), "a b");
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
    }
}
