//! `--seccomp-check PROFILE`: what the traced target did that the profile
//! would deny (each call with its count and what it would get: the errno,
//! or SIGSYS), what depends on arguments or capabilities the check cannot
//! see, and what the profile allows that was never used.

use cli::output::{self, Align};
use cli::sink::Render;
use identity::container::ContainerInfo;
use kernel::collector::Health;
use serde::{Deserialize, Serialize};

use super::policy::Policy;
use super::usage::{Abi, Unit};

/// The `view` of a check report in JSON.
pub const VIEW_SECCOMP_CHECK: &str = "seccomp-check";

/// One check: every unit against one profile.
#[derive(Debug, Serialize, Deserialize)]
pub struct CheckReport {
    pub view: String,
    /// The profile, as the command line named it.
    pub profile: String,
    pub default_action: String,
    pub targets: Vec<TargetCheck>,
}

/// One target (or container) against the profile.
#[derive(Debug, Serialize, Deserialize)]
pub struct TargetCheck {
    pub name: String,
    pub cgroup: Option<String>,
    pub container: Option<ContainerInfo>,
    /// Distinct syscalls it made.
    pub syscalls: usize,
    /// Calls the profile denies whatever their arguments.
    pub denied: Vec<CheckRow>,
    /// Calls argument or capability conditions decide.
    pub depends: Vec<CheckRow>,
    /// Names the profile allows that it never made.
    pub unused: Vec<String>,
    /// The profile's default action allows every name it does not list.
    pub allows_by_default: bool,
}

/// One syscall of the target, as the profile treats it.
#[derive(Debug, Serialize, Deserialize)]
pub struct CheckRow {
    pub syscall: String,
    /// A 32-bit call (`syscall` is then the 32-bit ABI's name).
    pub compat: bool,
    pub count: u64,
    /// Of those, already denied while traced (by the filter in force then).
    pub denied_now: u64,
    /// What the calls would get: `EPERM`, `killed (SIGSYS)`, ...
    pub outcome: String,
    pub errno: Option<String>,
    /// Which part of the profile decides.
    pub why: String,
    /// The conditions that could decide otherwise (`depends` rows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<String>,
}

impl CheckRow {
    fn label(&self) -> String {
        if self.compat {
            format!("{} ({})", self.syscall, Abi::Compat.label())
        } else {
            self.syscall.clone()
        }
    }

    /// Calls that ran while traced and would not under the profile.
    fn newly_denied(&self) -> u64 {
        self.count - self.denied_now
    }
}

impl TargetCheck {
    fn build(policy: &Policy, unit: &Unit) -> Self {
        let mut denied = Vec::new();
        let mut depends = Vec::new();
        for ((abi, name), tally) in &unit.usage.calls {
            let verdict = policy.evaluate(*abi, name);
            let row = CheckRow {
                syscall: name.clone(),
                compat: *abi == Abi::Compat,
                count: tally.count,
                denied_now: tally.denied,
                outcome: verdict.effect.shown(),
                errno: verdict.effect.errno().map(kernel::errno::name),
                why: verdict.why,
                depends_on: verdict.depends_on.clone(),
            };
            if verdict.depends_on.is_some() {
                depends.push(row);
            } else if verdict.effect.denies() {
                denied.push(row);
            }
        }
        let used = |n: &str| unit.usage.calls.keys().any(|(_, name)| name == n);
        Self {
            name: unit.name.clone(),
            cgroup: unit.cgroup.clone(),
            container: unit.container.clone(),
            syscalls: unit.usage.calls.len(),
            denied,
            depends,
            unused: policy
                .allowed_names()
                .into_iter()
                .filter(|n| !used(n))
                .map(str::to_string)
                .collect(),
            allows_by_default: policy.allows_by_default(),
        }
    }

    /// Calls that ran while traced and would be denied under the profile.
    pub fn newly_denied(&self) -> u64 {
        self.denied.iter().map(CheckRow::newly_denied).sum()
    }

    fn render(&self, profile: &str) -> String {
        let who = match &self.container {
            Some(c) => format!("{} ({} {})", c.label(), c.runtime, c.short_id()),
            None => self.name.clone(),
        };
        let mut text = if self.denied.is_empty() {
            format!(
                "{profile} allows every call {who} made ({} syscalls)",
                self.syscalls
            )
        } else {
            let calls: u64 = self.denied.iter().map(|r| r.count).sum();
            format!(
                "{profile} would deny {} of the {} syscalls {who} made ({calls} calls, {} of \
                 them not denied when traced):\n",
                self.denied.len(),
                self.syscalls,
                self.newly_denied()
            )
        };
        if !self.denied.is_empty() {
            text.push_str(&table(&self.denied));
        }
        text.push('\n');
        if !self.depends.is_empty() {
            let list: Vec<String> = self
                .depends
                .iter()
                .map(|r| {
                    format!(
                        "{} ({} calls; {})",
                        r.label(),
                        r.count,
                        r.depends_on.as_deref().unwrap_or("")
                    )
                })
                .collect();
            text.push_str(&format!(
                "Decided by arguments or capabilities, not checked here: {}\n",
                list.join(", ")
            ));
        }
        text.push_str(&format!(
            "Allowed but never used ({}): {}\n",
            self.unused.len(),
            self.unused.join(", ")
        ));
        if self.allows_by_default {
            text.push_str("Its default action allows every other call too.\n");
        }
        text
    }
}

fn table(rows: &[CheckRow]) -> String {
    let mut table = output::table(&[
        ("SYSCALL", Align::Left),
        ("COUNT", Align::Right),
        ("DENIED NOW", Align::Right),
        ("WOULD GET", Align::Left),
        ("BECAUSE", Align::Left),
    ]);
    for r in rows {
        table.add_row(vec![
            r.label(),
            r.count.to_string(),
            r.denied_now.to_string(),
            r.outcome.clone(),
            r.why.clone(),
        ]);
    }
    output::render(&table)
}

impl CheckReport {
    /// `units` checked against `policy` (named `profile` in the report).
    pub fn build(policy: &Policy, profile: &str, units: &[Unit]) -> Self {
        Self {
            view: VIEW_SECCOMP_CHECK.into(),
            profile: profile.to_string(),
            default_action: policy.default_action().to_string(),
            targets: units
                .iter()
                .map(|u| TargetCheck::build(policy, u))
                .collect(),
        }
    }

    /// Calls that ran while traced and the profile would deny.
    pub fn newly_denied(&self) -> u64 {
        self.targets.iter().map(TargetCheck::newly_denied).sum()
    }
}

impl Render for CheckReport {
    fn render(&self) -> String {
        if self.targets.is_empty() {
            return format!("{}: nothing was traced to check against it\n", self.profile);
        }
        let parts: Vec<String> = self
            .targets
            .iter()
            .map(|t| t.render(&self.profile))
            .collect();
        parts.join("\n")
    }

    fn health(&self) -> Health {
        Health::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::profile::tests::tally;
    use super::super::usage::Usage;
    use super::*;

    fn unit() -> Unit {
        let mut usage = Usage::default();
        usage.add(Abi::Native, "read", &tally(10, 0, 0, &[]));
        usage.add(Abi::Native, "getpgrp", &tally(1234, 0, 0, &[]));
        usage.add(Abi::Native, "unshare", &tally(3, 3, 3, &[("EPERM", 3)]));
        usage.add(Abi::Native, "personality", &tally(1, 0, 0, &[]));
        usage.add(Abi::Compat, "getuid32", &tally(50, 0, 0, &[]));
        Unit {
            name: "web".into(),
            usage,
            ..Unit::default()
        }
    }

    #[test]
    fn denials_conditions_and_unused_names() {
        let policy = Policy::parse(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
                "syscalls": [
                  {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                  {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                   "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}]}"#,
        )
        .unwrap();
        let report = CheckReport::build(&policy, "p.json", &[unit()]);
        let t = &report.targets[0];
        let denied: Vec<(String, u64, &str)> = t
            .denied
            .iter()
            .map(|r| (r.label(), r.count, r.outcome.as_str()))
            .collect();
        assert_eq!(
            denied,
            [
                ("getpgrp".to_string(), 1234, "EPERM"),
                ("unshare".to_string(), 3, "EPERM"),
                ("getuid32 (i386)".to_string(), 50, "killed (SIGSYS)"),
            ]
        );
        // unshare was denied already: only the others are new denials.
        assert_eq!(report.newly_denied(), 1284);
        assert_eq!(t.depends.len(), 1);
        assert_eq!(t.depends[0].depends_on.as_deref(), Some("arguments"));
        assert_eq!(t.unused, ["write"]);
        let text = report.render();
        assert!(
            text.contains("p.json would deny 3 of the 5 syscalls web made"),
            "{text}"
        );
        assert!(text.contains("getuid32 (i386)"), "{text}");
        assert!(text.contains("Allowed but never used (1): write"), "{text}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["view"], "seccomp-check");
        assert_eq!(json["targets"][0]["denied"][0]["errno"], "EPERM");
    }

    #[test]
    fn a_profile_that_allows_everything_says_so() {
        let policy = Policy::parse(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]}"#,
        )
        .unwrap();
        let report = CheckReport::build(&policy, "open.json", &[unit()]);
        assert_eq!(report.newly_denied(), 0);
        let text = report.render();
        assert!(
            text.contains("open.json allows every call web made (5 syscalls)"),
            "{text}"
        );
        assert!(
            text.contains("default action allows every other call"),
            "{text}"
        );
    }
}
