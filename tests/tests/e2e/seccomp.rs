//! Seccomp profiles from what containers really do, on real docker and
//! podman containers: recorded host-wide while the container starts, the
//! same image run under the profile (it starts, its workload succeeds, no
//! call is denied), one needed call taken out (the DENIED count names
//! exactly that call with its count, and `--seccomp-check` predicted it,
//! live and from a `--record` file), 32-bit calls under their own
//! architecture with their i386 names, and a 50 ms container named.

use std::path::{Path, PathBuf};
use std::process::Output;

use contrace_tests::runtime::{unique_name, Container, Engine};
use contrace_tests::*;
use serde_json::Value;

const ENGINES: [Engine; 2] = [Engine::Docker, Engine::Podman];

/// A directory of its own, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let path = std::env::temp_dir().join(unique_name(tag));
        std::fs::create_dir_all(&path).expect("scratch dir");
        Self(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn arg(&self, name: &str) -> String {
        self.join(name).display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a container to its end while host-wide constat (`--by-syscall -o
/// json` and `more` flags) traces; returns the container's output and
/// constat's report.
fn traced_run(
    engine: Engine,
    name: &str,
    security: &[&str],
    workload: &[&str],
    more: &[&str],
) -> (Output, Value) {
    let mut args = vec!["--by-syscall"];
    args.extend(more);
    let mut out = None;
    let report = json_report("constat", &args, |_| {
        let mut cmd = vec!["/bin/workload", "--no-wait"];
        cmd.extend(workload);
        out = Some(engine.run_to_end(name, security, &cmd));
    });
    (out.expect("the container ran"), report)
}

/// The host-wide rows of the container named `name`.
fn rows_of<'a>(report: &'a Value, name: &str) -> Vec<&'a Value> {
    report["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["container"]["name"] == name)
        .collect()
}

/// (syscall label, denied, errno) of the rows with denied calls.
fn denied_rows(rows: &[&Value]) -> Vec<(String, u64, String)> {
    rows.iter()
        .filter(|r| u(Some(r), "denied") > 0)
        .map(|r| {
            let label = if r["compat"] == true {
                format!("{} (i386)", r["syscall"].as_str().unwrap_or(""))
            } else {
                r["syscall"].as_str().unwrap_or("").to_string()
            };
            (
                label,
                u(Some(r), "denied"),
                r["errno"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        // What was written instead (a profile under another name?).
        let beside: Vec<String> = path
            .parent()
            .and_then(|d| std::fs::read_dir(d).ok())
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        panic!("{}: {e}; beside it: {beside:?}", path.display())
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}: {text}", path.display()))
}

/// The recorded count of `name` (`abi`: x86_64 or i386) in a profile.
fn recorded(profile: &Value, abi: &str, name: &str) -> u64 {
    profile["contrace"]["usage"][abi][name]["count"]
        .as_u64()
        .unwrap_or(0)
}

/// The profile without `name` (its entry gone), written to `to`.
fn without(profile: &Value, name: &str, to: &Path) {
    let mut p = profile.clone();
    let kept: Vec<Value> = p["syscalls"]
        .as_array()
        .expect("syscalls")
        .iter()
        .filter(|s| s["names"][0] != name)
        .cloned()
        .collect();
    assert_eq!(
        kept.len() + 1,
        p["syscalls"].as_array().map_or(0, Vec::len),
        "{name} in the profile once"
    );
    p["syscalls"] = kept.into();
    std::fs::write(to, p.to_string()).expect("write the profile");
}

/// `constat ARGS -o json` run to its end: exit code and its one JSON line.
fn check(args: &[&str]) -> (Option<i32>, Value) {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let done = run_tool("constat", &all);
    let line = done.stdout.lines().last().unwrap_or_default().to_string();
    let value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("constat {args:?}: {e}: {} {}", done.stdout, done.stderr));
    (done.code, value)
}

/// The check of the target named `name`.
fn target_check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no check of {name}: {report}"))
}

/// (syscall, compat, count, errno) of a check's denied rows.
fn predicted(target: &Value) -> Vec<(String, bool, u64, String)> {
    target["denied"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["syscall"].as_str().unwrap_or("").to_string(),
                r["compat"] == true,
                u(Some(r), "count"),
                r["outcome"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The workload: three calls nothing else in the container makes, 100
/// times each, and 7 failing openat.
const WORK: [&str; 5] = ["distinct", "3", "100", "openfail", "7"];

root_test!(
    a_recorded_profile_runs_its_container_and_a_missing_call_is_caught,
    {
        for engine in ENGINES {
            if !engine.available() {
                continue;
            }
            let who = engine.cli();
            let dir = Scratch::new("seccomp-profiles");
            let (profiles, record) = (dir.arg("profiles"), dir.arg("run.ndjson"));
            // Recorded host-wide while the container starts: the runtime's
            // calls between installing the filter and execve are in it.
            let name = unique_name("seccomp-rec");
            let more = ["--seccomp-profile", &profiles, "--record", &record];
            let (out, _) = traced_run(engine, &name, &[], &WORK, &more);
            assert!(out.status.success(), "{who}: {out:?}");
            let file = dir.join(&format!("profiles/{name}.json"));
            let profile = read_json(&file);
            assert_eq!(profile["defaultAction"], "SCMP_ACT_ERRNO", "{who}");
            assert_eq!(
                profile["architectures"],
                serde_json::json!(["SCMP_ARCH_X86_64"])
            );
            for call in [
                "getppid",
                "getpgrp",
                "getsid",
                "execve",
                "openat",
                "tgkill",
                "sched_yield",
            ] {
                let entry = profile["syscalls"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|s| s["names"][0] == call)
                    .unwrap_or_else(|| panic!("{who}: {call} not allowed: {profile}"));
                assert_eq!(entry["action"], "SCMP_ACT_ALLOW", "{who}: {entry}");
            }
            assert_eq!(recorded(&profile, "x86_64", "getpgrp"), 100, "{who}");
            assert_eq!(recorded(&profile, "x86_64", "getsid"), 100, "{who}");
            let openat = &profile["contrace"]["usage"]["x86_64"]["openat"];
            assert!(
                openat["errnos"]["ENOENT"].as_u64() >= Some(7),
                "{who}: {openat}"
            );

            // The same image under the profile: it starts, the workload
            // succeeds, nothing is denied.
            let seccomp = format!("seccomp={}", file.display());
            let name2 = unique_name("seccomp-run");
            let (out, report) =
                traced_run(engine, &name2, &["--security-opt", &seccomp], &WORK, &[]);
            assert!(out.status.success(), "{who} under the profile: {out:?}");
            assert!(stdout(&out).contains("done"), "{who}: {out:?}");
            let rows = rows_of(&report, &name2);
            assert!(!rows.is_empty(), "{who}: {name2} not named: {report}");
            assert_eq!(denied_rows(&rows), [], "{who}: {report}");

            // getpgrp taken out: check predicts it from the recording...
            let minus = dir.join("minus.json");
            without(&profile, "getpgrp", &minus);
            let minus_arg = minus.display().to_string();
            let (code, report) = check(&["--replay", &record, "--seccomp-check", &minus_arg]);
            assert_eq!(code, Some(3), "{who}: the check exits 3 when it would deny");
            let mine = target_check(&report, &name);
            assert_eq!(
                predicted(mine),
                [("getpgrp".to_string(), false, 100, "EPERM".to_string())],
                "{who}: {mine}"
            );
            // ... and live, from a running container...
            let c = Container::start(engine, "seccomp-live");
            let args = ["-c", c.name(), "--seccomp-check", &minus_arg, "-o", "json"];
            let running = Tool::start("constat", &args);
            let mut work = vec!["/bin/workload", "--no-wait"];
            work.extend(WORK);
            c.exec(&work);
            let done = running.stop();
            assert_eq!(done.code, Some(3), "{who}: {}", done.stderr);
            let live = done.json().pop().unwrap_or_default();
            let rows = predicted(target_check(&live, c.name()));
            assert!(
                rows.contains(&("getpgrp".to_string(), false, 100, "EPERM".to_string())),
                "{who}: {live}"
            );
            // ... and the DENIED count names exactly getpgrp, 100 calls.
            let name3 = unique_name("seccomp-minus");
            let minus_opt = format!("seccomp={minus_arg}");
            let (out, report) =
                traced_run(engine, &name3, &["--security-opt", &minus_opt], &WORK, &[]);
            assert!(
                out.status.success(),
                "{who}: the workload ignores getpgrp's EPERM: {out:?}"
            );
            assert_eq!(
                denied_rows(&rows_of(&report, &name3)),
                [("getpgrp".to_string(), 100, "EPERM".to_string())],
                "{who}: {report}"
            );

            // The same profile from the recording, without tracing again.
            let again = dir.arg("again/");
            let done = run_tool(
                "constat",
                &["--seccomp-merge", &record, "--seccomp-profile", &again],
            );
            assert_eq!(done.code, Some(0), "{who}: {}", done.stderr);
            let rebuilt = read_json(&dir.join(&format!("again/{name}.json")));
            assert_eq!(rebuilt["syscalls"], profile["syscalls"], "{who}");
            assert_eq!(
                rebuilt["contrace"]["usage"], profile["contrace"]["usage"],
                "{who}"
            );
        }
    }
);

root_test!(
    thirty_two_bit_calls_get_their_architecture_and_i386_names,
    {
        for engine in ENGINES {
            if !engine.available() {
                continue;
            }
            let who = engine.cli();
            let dir = Scratch::new("seccomp-i386");
            let (profiles, record) = (dir.arg("profiles"), dir.arg("run.ndjson"));
            let work = ["int80", "getuid32", "40", "getppid", "3"];
            let name = unique_name("seccomp-i386");
            let more = ["--seccomp-profile", &profiles, "--record", &record];
            let (out, _) = traced_run(engine, &name, &[], &work, &more);
            assert!(stdout(&out).contains("int80 getuid32 0"), "{who}: {out:?}");
            let file = dir.join(&format!("profiles/{name}.json"));
            let profile = read_json(&file);
            assert_eq!(
                profile["architectures"],
                serde_json::json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]),
                "{who}"
            );
            assert_eq!(
                recorded(&profile, "i386", "getuid32"),
                40,
                "{who}: {profile}"
            );
            let entry = profile["syscalls"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|s| s["names"][0] == "getuid32")
                .unwrap_or_else(|| panic!("{who}: no getuid32: {profile}"));
            assert_eq!(entry["comment"], "i386: 40 calls", "{who}");

            // Under the profile: the 32-bit calls run.
            let seccomp = format!("seccomp={}", file.display());
            let name2 = unique_name("seccomp-i386-run");
            let (out, report) =
                traced_run(engine, &name2, &["--security-opt", &seccomp], &work, &[]);
            assert!(stdout(&out).contains("int80 getuid32 0"), "{who}: {out:?}");
            assert_eq!(
                denied_rows(&rows_of(&report, &name2)),
                [],
                "{who}: {report}"
            );

            // getuid32 taken out: predicted from the recording, then denied
            // exactly that.
            let minus = dir.join("minus.json");
            without(&profile, "getuid32", &minus);
            let minus_arg = minus.display().to_string();
            let (code, report) = check(&["--replay", &record, "--seccomp-check", &minus_arg]);
            assert_eq!(code, Some(3), "{who}");
            assert_eq!(
                predicted(target_check(&report, &name)),
                [("getuid32".to_string(), true, 40, "EPERM".to_string())],
                "{who}: {report}"
            );
            let name3 = unique_name("seccomp-i386-minus");
            let minus_opt = format!("seccomp={minus_arg}");
            let security = ["--security-opt", minus_opt.as_str()];
            let (out, report) = traced_run(engine, &name3, &security, &work, &[]);
            assert!(
                stdout(&out).contains("int80 getuid32 -1"),
                "{who}: EPERM: {out:?}"
            );
            assert_eq!(
                denied_rows(&rows_of(&report, &name3)),
                [("getuid32 (i386)".to_string(), 40, "EPERM".to_string())],
                "{who}: {report}"
            );

            // Without SCMP_ARCH_X86 every 32-bit call is killed: predicted too.
            let mut native_only = profile.clone();
            native_only["architectures"] = serde_json::json!(["SCMP_ARCH_X86_64"]);
            let native = dir.join("native.json");
            std::fs::write(&native, native_only.to_string()).expect("write");
            let native_arg = native.display().to_string();
            let (_, report) = check(&["--replay", &record, "--seccomp-check", &native_arg]);
            let rows = predicted(target_check(&report, &name));
            assert!(
                rows.contains(&(
                    "getuid32".to_string(),
                    true,
                    40,
                    "killed (SIGSYS)".to_string()
                )),
                "{who}: {report}"
            );
            let out = engine.run_to_end(
                &unique_name("seccomp-i386-killed"),
                &["--security-opt", &format!("seccomp={native_arg}")],
                &["/bin/workload", "--no-wait", "int80", "getuid32", "1"],
            );
            assert_eq!(out.status.code(), Some(128 + 31), "{who}: SIGSYS: {out:?}");
        }
    }
);

root_test!(a_container_of_50_ms_is_named_and_gets_its_profile, {
    for engine in ENGINES {
        if !engine.available() {
            continue;
        }
        let who = engine.cli();
        let dir = Scratch::new("seccomp-brief");
        let profiles = dir.arg("profiles");
        let name = unique_name("seccomp-brief");
        let work = ["getppid", "5", "sleep", "50"];
        let more = ["--seccomp-profile", &profiles, "--seccomp-format", "spo"];
        let (out, report) = traced_run(engine, &name, &[], &work, &more);
        assert!(out.status.success(), "{who}: {out:?}");
        // Gone before the report, named all the same.
        let rows = rows_of(&report, &name);
        let getppid = rows.iter().find(|r| r["syscall"] == "getppid");
        assert!(
            u(getppid.copied(), "count") >= 5,
            "{who}: {name} not named: {report}"
        );
        let yaml = dir.join(&format!("profiles/{name}.yaml"));
        let text = std::fs::read_to_string(&yaml).unwrap_or_else(|e| panic!("{who}: {e}"));
        // A valid SeccompProfile resource (python3-yaml reads it).
        let parsed = std::process::Command::new("python3")
            .args([
                "-c",
                "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
            ])
            .arg(&yaml)
            .output()
            .expect("python3");
        assert!(parsed.status.success(), "{who}: {parsed:?}\n{text}");
        let resource: Value = serde_json::from_slice(&parsed.stdout).expect("JSON");
        assert_eq!(resource["kind"], "SeccompProfile", "{who}");
        let allowed = &resource["spec"]["syscalls"][0];
        assert_eq!(allowed["action"], "SCMP_ACT_ALLOW", "{who}: {resource}");
        let names = allowed["names"].as_array().cloned().unwrap_or_default();
        assert!(names.contains(&"getppid".into()), "{who}: {resource}");
        assert!(names.contains(&"nanosleep".into()) || names.contains(&"clock_nanosleep".into()));
        assert!(text.contains("getppid  # x86_64: "), "{who}: {text}");
    }
});

root_test!(seccomp_flags_refuse_bad_input_before_tracing, {
    let dir = Scratch::new("seccomp-bad");
    let empty = dir.join("empty.json");
    std::fs::write(&empty, "{}").expect("write");
    let foreign = dir.join("foreign.json");
    std::fs::write(&foreign, r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#).expect("write");
    let (empty, foreign) = (empty.display().to_string(), foreign.display().to_string());
    let out = dir.arg("out.json");
    let bad: [(&[&str], &str); 5] = [
        (&["--seccomp-profile", &empty], "this is a file"),
        (&["--seccomp-check", &empty], "not a seccomp profile"),
        (
            &["--seccomp-check", "/nonexistent/p.json"],
            "cannot read it",
        ),
        (
            &["--seccomp-profile", &out, "--syscall", "read"],
            "cannot be used with",
        ),
        (
            &["--seccomp-merge", &foreign, "--seccomp-profile", &out],
            "constat did not write",
        ),
    ];
    for (args, want) in bad {
        let done = run_tool("constat", args);
        assert_eq!(done.code, Some(2), "{args:?}: {}", done.stderr);
        assert!(done.stderr.contains(want), "{args:?}: {}", done.stderr);
        assert_eq!(done.stderr.lines().count(), 1, "{args:?}: {}", done.stderr);
    }
});
