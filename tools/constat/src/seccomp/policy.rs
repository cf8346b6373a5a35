//! An existing profile, read for `--seccomp-check`: Docker's and Podman's
//! format (`defaultAction`, `architectures` or `archMap`, `syscalls` with
//! `names`, `action`, `errnoRet`, `args`, `includes`, `excludes`), the OCI
//! runtime's (`linux.seccomp` of a `config.json`, or that object alone) and
//! a `SeccompProfile` resource in JSON. Evaluated by name, as the runtimes
//! build their filters: `includes`/`excludes` on architecture and kernel
//! version are decided here; rules with argument or capability conditions
//! are reported as such, not guessed.

use std::cmp::Ordering;

use serde_json::Value;

use super::usage::Abi;

/// What a syscall gets from a filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Allowed,
    /// Fails with this errno without running.
    Errno(i32),
    /// The thread or process is killed (SIGSYS).
    Killed,
    /// SIGSYS is sent (SCMP_ACT_TRAP).
    Trap,
    /// A seccomp-notify supervisor decides.
    Notify,
}

impl Effect {
    /// Rank for "most restrictive first" when several rules name a call.
    fn severity(self) -> u8 {
        match self {
            Self::Allowed => 0,
            Self::Notify => 1,
            Self::Errno(_) => 2,
            Self::Trap => 3,
            Self::Killed => 4,
        }
    }

    /// The call does not run.
    pub fn denies(self) -> bool {
        !matches!(self, Self::Allowed | Self::Notify)
    }

    /// How the check report says what the process sees: `EPERM`,
    /// `killed (SIGSYS)`.
    pub fn shown(self) -> String {
        match self {
            Self::Allowed => "allowed".into(),
            Self::Errno(e) => kernel::errno::name(e),
            Self::Killed => "killed (SIGSYS)".into(),
            Self::Trap => "SIGSYS (trap)".into(),
            Self::Notify => "notify supervisor".into(),
        }
    }

    pub fn errno(self) -> Option<i32> {
        match self {
            Self::Errno(e) => Some(e),
            _ => None,
        }
    }
}

/// One rule of the profile, as it applies on this host.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    names: Vec<String>,
    effect: Effect,
    action: String,
    /// Argument or capability conditions (`arguments`, `with CAP_SYS_ADMIN`).
    condition: Option<String>,
}

/// A profile to check against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    default: Effect,
    default_action: String,
    /// libseccomp architecture names the filter is built for.
    arches: Vec<String>,
    rules: Vec<Rule>,
}

/// What one call would get, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// What it gets when no argument or capability condition applies.
    pub effect: Effect,
    pub why: String,
    /// Conditions under which a rule gives it something else.
    pub depends_on: Option<String>,
}

/// The kernel release, for `includes.minKernel`.
fn kernel_release() -> Option<(u32, u32)> {
    version(&std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?)
}

fn version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// Go's name of this architecture, as `includes.arches` uses it.
fn native_go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

impl Policy {
    /// Reads a profile from its JSON text; `Err` says what is wrong in it.
    pub fn parse(text: &str) -> Result<Self, String> {
        if !text.trim_start().starts_with('{') {
            return Err(
                "not JSON: give the profile as JSON (a SeccompProfile resource: \
                 `kubectl get seccompprofile NAME -o json`)"
                    .into(),
            );
        }
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let seccomp = profile_object(&value)?;
        Self::from_object(seccomp, kernel_release())
    }

    fn from_object(v: &Value, kernel: Option<(u32, u32)>) -> Result<Self, String> {
        let default_action = v["defaultAction"]
            .as_str()
            .ok_or("no \"defaultAction\"")?
            .to_string();
        let default_errno = v.get("defaultErrnoRet").and_then(Value::as_i64);
        let default = effect(&default_action, default_errno)?;
        let mut rules = Vec::new();
        for (i, s) in v["syscalls"].as_array().into_iter().flatten().enumerate() {
            if let Some(rule) = rule(s, kernel).map_err(|e| format!("syscalls[{i}]: {e}"))? {
                rules.push(rule);
            }
        }
        Ok(Self {
            default,
            default_action,
            arches: arches(v)?,
            rules,
        })
    }

    /// The default action, as the profile names it.
    pub fn default_action(&self) -> &str {
        &self.default_action
    }

    /// What a call of `abi` named `name` would get.
    pub fn evaluate(&self, abi: Abi, name: &str) -> Verdict {
        if !self.arches.iter().any(|a| a == abi.scmp()) {
            return Verdict {
                effect: Effect::Killed,
                why: format!("{} is not among its architectures", abi.scmp()),
                depends_on: None,
            };
        }
        let naming: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|r| r.names.iter().any(|n| n == name))
            .collect();
        let plain = naming
            .iter()
            .filter(|r| r.condition.is_none())
            .max_by(|a, b| a.effect.severity().cmp(&b.effect.severity()));
        let (effect, why) = match plain {
            Some(r) => (r.effect, format!("its rule ({})", r.action)),
            None => (
                self.default,
                format!("default action ({})", self.default_action),
            ),
        };
        let mut conditions: Vec<&str> = Vec::new();
        for r in naming.iter().filter(|r| r.effect != effect) {
            if let Some(c) = r.condition.as_deref().filter(|c| !conditions.contains(c)) {
                conditions.push(c);
            }
        }
        Verdict {
            effect,
            why,
            depends_on: (!conditions.is_empty()).then(|| conditions.join(" or ")),
        }
    }

    /// Names some rule allows (with or without conditions), sorted.
    pub fn allowed_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .rules
            .iter()
            .filter(|r| r.effect == Effect::Allowed)
            .flat_map(|r| r.names.iter().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The default action lets every unnamed call through.
    pub fn allows_by_default(&self) -> bool {
        self.default == Effect::Allowed
    }
}

/// The seccomp object inside what was given.
fn profile_object(v: &Value) -> Result<&Value, String> {
    if v.get("defaultAction").is_some() {
        return Ok(v);
    }
    if v["kind"] == "SeccompProfile" {
        if v["spec"].get("baseProfileName").is_some() {
            return Err("its baseProfileName needs the operator to resolve: \
                        check against the base profile and this one separately"
                .into());
        }
        return Ok(&v["spec"]);
    }
    if v["linux"]["seccomp"].is_object() {
        return Ok(&v["linux"]["seccomp"]);
    }
    Err(
        "no \"defaultAction\": not a seccomp profile (Docker, Podman, OCI \
         config.json or SeccompProfile)"
            .into(),
    )
}

/// `architectures`, else the native entry of `archMap`, else the native one.
fn arches(v: &Value) -> Result<Vec<String>, String> {
    let native = Abi::Native.scmp();
    let strings = |list: &Value| -> Vec<String> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect()
    };
    let listed = strings(&v["architectures"]);
    if !listed.is_empty() {
        return Ok(listed);
    }
    for entry in v["archMap"].as_array().into_iter().flatten() {
        if entry["architecture"] == native {
            let mut arches = vec![native.to_string()];
            arches.extend(strings(&entry["subArchitectures"]));
            return Ok(arches);
        }
    }
    Ok(vec![native.to_string()])
}

fn effect(action: &str, errno: Option<i64>) -> Result<Effect, String> {
    let errno = |default: i32| errno.and_then(|e| i32::try_from(e).ok()).unwrap_or(default);
    Ok(match action {
        "SCMP_ACT_ALLOW" | "SCMP_ACT_LOG" => Effect::Allowed,
        "SCMP_ACT_ERRNO" => Effect::Errno(errno(1)),
        // Without a tracer attached, a traced call fails with ENOSYS.
        "SCMP_ACT_TRACE" => Effect::Errno(errno(38)),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" | "SCMP_ACT_KILL_PROCESS" => Effect::Killed,
        "SCMP_ACT_TRAP" => Effect::Trap,
        "SCMP_ACT_NOTIFY" => Effect::Notify,
        other => return Err(format!("unknown action {other:?}")),
    })
}

/// One `syscalls` entry; `None` when it does not apply on this host
/// (another architecture, a newer kernel).
fn rule(s: &Value, kernel: Option<(u32, u32)>) -> Result<Option<Rule>, String> {
    let action = s["action"].as_str().ok_or("no \"action\"")?.to_string();
    let effect = effect(&action, s.get("errnoRet").and_then(Value::as_i64))?;
    let mut names: Vec<String> = s["names"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect();
    if let Some(name) = s["name"].as_str() {
        names.push(name.to_string());
    }
    let listed = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect()
    };
    let arch = native_go_arch();
    let (inc, exc) = (&s["includes"], &s["excludes"]);
    let inc_arches = listed(&inc["arches"]);
    if (!inc_arches.is_empty() && !inc_arches.iter().any(|a| a == arch))
        || listed(&exc["arches"]).iter().any(|a| a == arch)
    {
        return Ok(None);
    }
    if let (Some(min), Some(running)) = (inc["minKernel"].as_str().and_then(version), kernel) {
        if running.cmp(&min) == Ordering::Less {
            return Ok(None);
        }
    }
    let mut conditions = Vec::new();
    if s["args"].as_array().is_some_and(|a| !a.is_empty()) {
        conditions.push("arguments".to_string());
    }
    conditions.extend(listed(&inc["caps"]).iter().map(|c| format!("with {c}")));
    conditions.extend(listed(&exc["caps"]).iter().map(|c| format!("without {c}")));
    Ok(Some(Rule {
        names,
        effect,
        action,
        condition: (!conditions.is_empty()).then(|| conditions.join(" and ")),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str) -> Policy {
        Policy::parse(json).unwrap()
    }

    #[test]
    fn names_defaults_and_architectures() {
        let p = policy(
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
                "architectures": ["SCMP_ARCH_X86_64"],
                "syscalls": [
                  {"names": ["read", "getppid"], "action": "SCMP_ACT_ALLOW"},
                  {"names": ["unshare"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
                  {"name": "kill", "action": "SCMP_ACT_KILL_PROCESS"}]}"#,
        );
        assert_eq!(p.evaluate(Abi::Native, "read").effect, Effect::Allowed);
        let v = p.evaluate(Abi::Native, "openat");
        assert_eq!(v.effect, Effect::Errno(38));
        assert_eq!(v.why, "default action (SCMP_ACT_ERRNO)");
        assert_eq!(p.evaluate(Abi::Native, "unshare").effect, Effect::Errno(1));
        assert_eq!(p.evaluate(Abi::Native, "kill").effect, Effect::Killed);
        let compat = p.evaluate(Abi::Compat, "getppid");
        assert_eq!(compat.effect, Effect::Killed);
        assert!(
            compat.why.contains("SCMP_ARCH_X86 is not"),
            "{}",
            compat.why
        );
        assert_eq!(p.allowed_names(), ["getppid", "read"]);
        assert_eq!(Effect::Errno(1).shown(), "EPERM");
    }

    #[test]
    fn docker_and_podman_conditions_are_reported_not_guessed() {
        let p = policy(
            r#"{"defaultAction": "SCMP_ACT_ERRNO",
                "archMap": [{"architecture": "SCMP_ARCH_X86_64",
                             "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
                "syscalls": [
                  {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW",
                   "includes": {"arches": ["amd64", "x32"]}},
                  {"names": ["set_tls"], "action": "SCMP_ACT_ALLOW",
                   "includes": {"arches": ["arm", "arm64"]}},
                  {"names": ["future"], "action": "SCMP_ACT_ALLOW",
                   "includes": {"minKernel": "99.1"}},
                  {"names": ["unshare"], "action": "SCMP_ACT_ALLOW",
                   "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                  {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                   "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]}]}"#,
        );
        assert_eq!(
            p.evaluate(Abi::Compat, "arch_prctl").effect,
            Effect::Allowed
        );
        assert_eq!(p.evaluate(Abi::Native, "set_tls").effect, Effect::Errno(1));
        assert_eq!(p.evaluate(Abi::Native, "future").effect, Effect::Errno(1));
        let v = p.evaluate(Abi::Native, "unshare");
        assert_eq!(v.effect, Effect::Errno(1));
        assert_eq!(v.depends_on.as_deref(), Some("with CAP_SYS_ADMIN"));
        let v = p.evaluate(Abi::Native, "personality");
        assert_eq!(v.depends_on.as_deref(), Some("arguments"));
        assert!(p.allowed_names().contains(&"unshare"));
        assert!(!p.allowed_names().contains(&"set_tls"));
    }

    #[test]
    fn the_shapes_a_profile_comes_in() {
        let inner = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}"#;
        let config = format!(r#"{{"ociVersion": "1.0.2", "linux": {{"seccomp": {inner}}}}}"#);
        assert!(policy(&config).allows_by_default());
        let spo = format!(r#"{{"kind": "SeccompProfile", "spec": {inner}}}"#);
        assert!(policy(&spo).allows_by_default());
        assert!(Policy::parse("kind: SeccompProfile\n")
            .unwrap_err()
            .contains("-o json"));
        assert!(Policy::parse("{}")
            .unwrap_err()
            .contains("not a seccomp profile"));
        let bad = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["x"], "action": "NOPE"}]}"#;
        assert!(Policy::parse(bad)
            .unwrap_err()
            .contains("syscalls[0]: unknown action"));
        let base = r#"{"kind": "SeccompProfile", "spec": {"baseProfileName": "x", "defaultAction": "SCMP_ACT_ALLOW"}}"#;
        assert!(Policy::parse(base).unwrap_err().contains("baseProfileName"));
        assert_eq!(version("6.18.0-1-amd64"), Some((6, 18)));
        assert_eq!(version("5"), Some((5, 0)));
    }

    #[test]
    fn podmans_own_default_profile_reads() {
        let Ok(text) = std::fs::read_to_string("/usr/share/containers/seccomp.json") else {
            return; // not installed here
        };
        let p = policy(&text);
        assert_eq!(p.evaluate(Abi::Native, "read").effect, Effect::Allowed);
        assert_eq!(p.evaluate(Abi::Compat, "getuid32").effect, Effect::Allowed);
        assert!(p.evaluate(Abi::Native, "kexec_load").effect.denies());
    }
}
