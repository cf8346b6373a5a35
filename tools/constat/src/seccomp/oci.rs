//! The OCI runtime / Docker / Podman profile (`--security-opt
//! seccomp=FILE`): `defaultAction`, `architectures`, `syscalls`, one entry
//! per name with a `comment` (the field Docker's and Podman's own profiles
//! use) saying what its calls came to. The counts are also kept in a
//! `contrace` field, which the runtimes ignore, so that profiles can be
//! merged later without tracing again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::profile::{Profile, Rule, DEFAULT_ERRNO};
use super::usage::{Tally, Usage};

/// Version of the `contrace` field's shape.
const STORED_VERSION: u32 = 1;

/// The `contrace` field: what merges read back.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    version: u32,
    sources: Vec<String>,
    /// Per ABI label (`x86_64`, `i386`), per name.
    usage: BTreeMap<String, BTreeMap<String, Tally>>,
}

/// The profile as JSON text: the standard fields pretty, one line per
/// syscall entry so that each name reads with its comment.
pub fn write(profile: &Profile) -> String {
    let arches: Vec<&str> = profile.arches().iter().map(|a| a.scmp()).collect();
    let entries: Vec<String> = profile
        .entries()
        .iter()
        .map(|e| {
            let mut fields = vec![
                format!("\"names\": [{}]", q(e.name)),
                format!("\"action\": {}", q(action(e.rule))),
            ];
            if let Rule::KeepDenied(errno) = e.rule {
                fields.push(format!("\"errnoRet\": {errno}"));
            }
            fields.push(format!("\"comment\": {}", q(&e.comment())));
            format!("    {{{}}}", fields.join(", "))
        })
        .collect();
    let stored = Stored {
        version: STORED_VERSION,
        sources: profile.sources.clone(),
        usage: profile
            .usage
            .to_json()
            .into_iter()
            .map(|(abi, calls)| (abi.to_string(), calls))
            .collect(),
    };
    let stored = serde_json::to_string_pretty(&stored)
        .unwrap_or_default()
        .replace('\n', "\n  ");
    format!(
        "{{\n  \"comment\": {},\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \
         \"defaultErrnoRet\": {DEFAULT_ERRNO},\n  \"architectures\": [{}],\n  \
         \"syscalls\": [\n{}\n  ],\n  \"contrace\": {stored}\n}}\n",
        q(&profile.header()),
        arches.iter().map(|a| q(a)).collect::<Vec<_>>().join(", "),
        entries.join(",\n"),
    )
}

/// JSON text of one string (escaped by serde_json).
fn q(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

fn action(rule: Rule) -> &'static str {
    match rule {
        Rule::Allow => "SCMP_ACT_ALLOW",
        Rule::KeepDenied(_) => "SCMP_ACT_ERRNO",
    }
}

/// A profile constat wrote, read back for a merge: `None` when `value` is
/// not one (no `contrace` field), `Err` when that field is damaged.
pub fn read(value: &Value) -> Option<Result<Profile, String>> {
    let stored = value.get("contrace")?;
    Some(read_stored(stored))
}

fn read_stored(stored: &Value) -> Result<Profile, String> {
    let stored: Stored = serde_json::from_value(stored.clone())
        .map_err(|e| format!("its \"contrace\" field is damaged: {e}"))?;
    if stored.version != STORED_VERSION {
        return Err(format!(
            "its \"contrace\" field has version {}, this constat reads {STORED_VERSION}",
            stored.version
        ));
    }
    let usage = Usage::from_json(&stored.usage)?;
    Ok(Profile::new(stored.sources, usage))
}

#[cfg(test)]
mod tests {
    use super::super::profile::tests::sample;
    use super::*;

    #[test]
    fn the_json_is_a_runtime_profile_with_comments_and_reads_back() {
        let p = sample();
        let text = write(&p);
        let v: Value = serde_json::from_str(&text).expect(&text);
        assert_eq!(v["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(v["defaultErrnoRet"], 1);
        assert_eq!(
            v["architectures"],
            serde_json::json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"])
        );
        // The runtime floor's unseen names aside (profile.rs tests them).
        let syscalls: Vec<&Value> = v["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| !s["comment"].as_str().unwrap().starts_with("not seen"))
            .collect();
        let names: Vec<&str> = syscalls
            .iter()
            .map(|s| s["names"][0].as_str().unwrap())
            .collect();
        assert_eq!(names, ["getppid", "getuid32", "read", "unshare"]);
        assert_eq!(syscalls[2]["action"], "SCMP_ACT_ALLOW");
        assert_eq!(
            syscalls[2]["comment"],
            "x86_64: 1234 calls, 17 failed (EAGAIN 17)"
        );
        assert!(syscalls[2].get("errnoRet").is_none());
        assert_eq!(syscalls[3]["action"], "SCMP_ACT_ERRNO");
        assert_eq!(syscalls[3]["errnoRet"], 1);
        // One line per entry.
        assert!(text.contains("{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\""));
        let back = read(&v).unwrap().unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn foreign_or_damaged_profiles_are_told_apart() {
        let docker = serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []});
        assert!(read(&docker).is_none());
        let damaged = serde_json::json!({"contrace": {"version": 1}});
        assert!(read(&damaged).unwrap().unwrap_err().contains("damaged"));
        let newer = serde_json::json!({"contrace": {"version": 9, "sources": [], "usage": {}}});
        assert!(read(&newer).unwrap().unwrap_err().contains("version 9"));
    }
}
