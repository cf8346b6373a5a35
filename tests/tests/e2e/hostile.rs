//! Hostile cases (issue 12) and their siblings, over every tool that has the
//! feature: targets recreated under the same name or reused pids, tiny
//! intervals, whitespace and non-UTF-8 in names and arguments, doubled
//! signals, pid:N from inside a cgroup namespace, several cgroup2 mounts,
//! thousands of busy cgroups, hung-up terminals, closed stderr, signals
//! during start-up, huge values.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use contrace_tests::*;
use nix::sys::signal::Signal;

/// Scratch file for conbiograph's O_DIRECT writes (tmpfs has no O_DIRECT).
fn scratch(tag: &str) -> String {
    format!("/var/tmp/contrace-hostile-{tag}-{}", std::process::id())
}

/// Workload arguments making `n` units of what `tool` measures exactly:
/// getppid calls, unshare(CLONE_NEWNET) calls, or MiB written with O_DIRECT.
fn work(tool: &str, n: u64, file: &str) -> Vec<String> {
    match tool {
        "unsharesnoop" => (0..n)
            .flat_map(|_| ["unshare".to_string(), "0x40000000".to_string()])
            .collect(),
        "conbiograph" => vec!["write-direct".into(), file.into(), (n << 20).to_string()],
        _ => vec!["getppid".into(), n.to_string()],
    }
}

/// Runs `work(tool, n)` in `cgroup` to the end.
fn run_work(tool: &str, cgroup: &Path, n: u64, file: &str) {
    let args = work(tool, n, file);
    let mut all = vec!["--no-wait"];
    all.extend(args.iter().map(String::as_str));
    run_workload(Some(cgroup), &all);
    let _ = std::fs::remove_file(file);
}

/// What a finished `-o json` run measured, in `work`'s units.
fn measured(tool: &str, done: &Finished) -> u64 {
    let lines = done.json();
    match tool {
        "unsharesnoop" => lines.iter().filter(|e| e["type"] == "event").count() as u64,
        "conbiograph" => {
            lines
                .iter()
                .filter(|p| p["type"] == "period")
                .map(|p| p["write_bytes"].as_u64().unwrap_or(0))
                .sum::<u64>()
                >> 20
        }
        _ => {
            let last = lines.last().expect("a report");
            u(row(last, "getppid"), "count")
        }
    }
}

/// The cgroup id a tool said it traces ("cgroup PATH (id N, ...)" on stderr).
fn traced_id(stderr: &str) -> Option<u64> {
    let at = stderr.find("(id ")? + 4;
    stderr[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn id_of(path: &Path) -> u64 {
    std::fs::metadata(path).expect("stat").ino()
}

/// The final report is there: constat/syscount's last report says
/// `final`, unsharesnoop and conbiograph end with a summary.
fn has_final_report(tool: &str, done: &Finished) -> bool {
    let lines = done.json();
    let Some(last) = lines.last() else {
        return false;
    };
    match tool {
        "unsharesnoop" | "conbiograph" => last["type"] == "summary",
        _ => last["final"] == true,
    }
}

/// A command running a tool; `bytes` arguments may be any bytes.
fn tool_command(tool: &str, args: &[&[u8]]) -> Command {
    let mut cmd = Command::new(bin(tool));
    cmd.args(args.iter().map(|a| OsStr::from_bytes(a)));
    cmd
}

/// Issue 12 item 1: rmdir + mkdir under the same name (a unit or pod
/// restart) ends the run with the "removed" message, in every tool, for a
/// target given as a path, as pid:N, and nested under a parent that is
/// removed and recreated too. Calls in the new cgroup are not counted.
#[test]
fn recreated_target_ends_the_run_in_every_tool() {
    if !require_root() {
        return;
    }
    for tool in TOOLS {
        for variant in ["path", "pid", "nested"] {
            let top = TestCgroup::new("recreate");
            let target = if variant == "nested" {
                top.child("parent");
                top.child("parent/app")
            } else {
                top.path.clone()
            };
            let mut holder = Workload::spawn(Some(&target), &["pause"]);
            let spec = if variant == "pid" {
                format!("pid:{}", holder.pid)
            } else {
                target.display().to_string()
            };
            let file = scratch(&format!("recreate-{tool}"));
            let t = Tool::start(tool, &["-c", &spec, "--output", "json"]);
            let old_id = id_of(&target);
            run_work(tool, &target, 3, &file);
            holder.kill();
            // Remove and recreate at once, before the watch looks.
            std::fs::remove_dir(&target).expect("rmdir target");
            if variant == "nested" {
                std::fs::remove_dir(target.parent().unwrap()).expect("rmdir parent");
                std::fs::create_dir(target.parent().unwrap()).unwrap();
            }
            std::fs::create_dir(&target).unwrap();
            let new_id = id_of(&target);
            assert_ne!(old_id, new_id);
            run_work(tool, &target, 2, &file);
            let started = Instant::now();
            let done = t.wait();
            assert!(
                started.elapsed() < scaled(Duration::from_secs(5)),
                "{tool} {variant}"
            );
            assert_eq!(done.code, Some(0), "{tool} {variant}: {}", done.stderr);
            let want =
                format!("was removed (a new cgroup of that name, id {new_id}, is not traced");
            assert!(
                done.stderr.contains(&want),
                "{tool} {variant}: {}",
                done.stderr
            );
            assert_eq!(traced_id(&done.stderr), Some(old_id), "{tool} {variant}");
            assert!(
                has_final_report(tool, &done),
                "{tool} {variant}: {}",
                done.stdout
            );
            // Only the old cgroup's work: 3 units, not 5.
            assert_eq!(
                measured(tool, &done),
                3,
                "{tool} {variant}: {}",
                done.stdout
            );
        }
    }
}

/// Sets the pid the next fork gets (init pid namespace, root).
fn next_pid_will_be(pid: u32) {
    std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).expect("ns_last_pid");
}

/// Item 1's pid sibling: `-p PID` whose process exits and whose pid is
/// taken by a new process ends the run ("exited"), in the tools with -p.
#[test]
fn reused_pid_ends_a_p_run() {
    if !require_root() {
        return;
    }
    for tool in ["syscount", "unsharesnoop"] {
        let mut reused = None;
        for _attempt in 0..5 {
            let mut first = Workload::spawn(None, &["pause"]);
            let pid = first.pid;
            let t = Tool::start(tool, &["-p", &pid.to_string(), "--output", "json"]);
            first.kill();
            next_pid_will_be(pid);
            let mut second = Workload::spawn(None, &["pause"]);
            if second.pid != pid {
                // Another fork took it: try again.
                second.kill();
                drop(t);
                continue;
            }
            let done = t.wait();
            second.kill();
            reused = Some(done);
            break;
        }
        let done = reused.expect("could not get the same pid again in 5 attempts");
        assert_eq!(done.code, Some(0), "{tool}: {}", done.stderr);
        assert!(done.stderr.contains("exited"), "{tool}: {}", done.stderr);
        assert!(has_final_report(tool, &done), "{tool}");
    }
}

/// Item 3: a tiny -i (or conbiograph's shortest -t) neither starves
/// SIGINT nor the watch for a removed target.
#[test]
fn tiny_interval_starves_neither_sigint_nor_the_target_watch() {
    if !require_root() {
        return;
    }
    let runs: [(&str, &[&str]); 5] = [
        ("constat", &["-i", "0.001"]),
        ("constat", &["-i", "0.005"]),
        ("syscount", &["-i", "0.001"]),
        ("syscount", &["-i", "0.005"]),
        ("conbiograph", &["-t", "10"]),
    ];
    for (tool, extra) in runs {
        for ending in ["sigint", "removed"] {
            let cg = TestCgroup::new("tiny");
            let mut args = vec!["-c", cg.path.to_str().unwrap(), "--output", "json"];
            args.extend_from_slice(extra);
            let t = Tool::start(tool, &args);
            std::thread::sleep(Duration::from_millis(700));
            let started = Instant::now();
            let done = if ending == "sigint" {
                t.stop()
            } else {
                std::fs::remove_dir(&cg.path).unwrap();
                t.wait()
            };
            let took = started.elapsed();
            assert!(
                took < scaled(Duration::from_secs(3)),
                "{tool} {extra:?} {ending}: {took:?}"
            );
            assert_eq!(
                done.code,
                Some(0),
                "{tool} {extra:?} {ending}: {}",
                done.stderr
            );
            assert!(has_final_report(tool, &done), "{tool} {extra:?} {ending}");
            if ending == "removed" {
                assert!(done.stderr.contains("was removed"), "{}", done.stderr);
            }
        }
    }
}

/// Item 4: `-c` is taken as typed: leading, trailing and inner whitespace
/// name other cgroups; only one trailing newline is dropped.
#[test]
fn whitespace_in_a_target_names_another_cgroup() {
    if !require_root() {
        return;
    }
    let top = TestCgroup::new("space");
    let plain = top.child("app");
    let names = ["app ", " app", "app\t", "  "];
    let dirs: Vec<PathBuf> = names.iter().map(|n| top.child(n)).collect();
    for tool in TOOLS {
        for (name, dir) in names.iter().zip(&dirs) {
            for newline in ["", "\n"] {
                let spec = format!("{}{newline}", dir.display());
                let file = scratch(&format!("space-{tool}"));
                let t = Tool::start(tool, &["-c", &spec, "--output", "json"]);
                run_work(tool, dir, 2, &file);
                run_work(tool, &plain, 1, &file);
                let done = t.stop();
                assert_eq!(done.code, Some(0), "{tool} {name:?}: {}", done.stderr);
                assert_eq!(traced_id(&done.stderr), Some(id_of(dir)), "{tool} {name:?}");
                assert_eq!(measured(tool, &done), 2, "{tool} {name:?}: {}", done.stdout);
            }
        }
        // Relative to the mount, with the space kept.
        let rel = format!("{}/app ", top.path.file_name().unwrap().to_string_lossy());
        let t = Tool::start(tool, &["-c", &rel, "--output", "json"]);
        let done = t.stop();
        assert_eq!(
            traced_id(&done.stderr),
            Some(id_of(&dirs[0])),
            "{tool} relative"
        );
    }
}

/// Item 5: argv and cgroup names are bytes. A non-UTF-8 argument is a
/// usage error (never a panic); a cgroup whose name is not UTF-8 can be
/// targeted by absolute path, relative path and pid:N; `-p` takes a
/// process whose comm is not UTF-8.
#[test]
fn non_utf8_arguments_names_and_comms() {
    if !require_root() {
        return;
    }
    let top = TestCgroup::new("bytes");
    let odd = top.path.join(OsStr::from_bytes(b"odd\xff\xfename"));
    std::fs::create_dir(&odd).unwrap();
    let rel = {
        let mut r = top.path.file_name().unwrap().as_bytes().to_vec();
        r.extend_from_slice(b"/odd\xff\xfename");
        r
    };
    for tool in TOOLS {
        for bad in [
            &[b"-d".as_slice(), b"\xff"][..],
            &[b"--\xffx"],
            &[b"-c", b"\xff\xfe"],
        ] {
            let out = tool_command(tool, bad).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{tool} {bad:?}: {err}");
            assert!(!err.contains("panicked"), "{tool}: {err}");
            assert_eq!(err.trim().lines().count(), 1, "{tool}: {err}");
        }
        let mut holder = Workload::spawn(Some(&odd), &["pause"]);
        let pid_spec = format!("pid:{}", holder.pid);
        for spec in [odd.as_os_str().as_bytes(), &rel, pid_spec.as_bytes()] {
            let mut cmd = tool_command(tool, &[b"-c", spec, b"--output", b"json"]);
            cmd.env("LC_ALL", "C");
            let file = scratch(&format!("bytes-{tool}"));
            let t = Tool::start_command(tool, cmd);
            run_work(tool, &odd, 2, &file);
            let done = t.stop();
            assert_eq!(done.code, Some(0), "{tool} {spec:?}: {}", done.stderr);
            assert_eq!(
                traced_id(&done.stderr),
                Some(id_of(&odd)),
                "{tool} {spec:?}"
            );
            assert_eq!(measured(tool, &done), 2, "{tool} {spec:?}");
            assert!(done.stderr.contains("odd\\xff\\xfename"), "{}", done.stderr);
        }
        holder.kill();
    }
    // -p of a process that named itself with bytes that are not UTF-8.
    for tool in ["syscount", "unsharesnoop"] {
        let mut w = Workload::spawn(
            None,
            &["--no-wait", "rename-hex", "fffe2d636f6d6d", "pause"],
        );
        let comm = format!("/proc/{}/comm", w.pid);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::fs::read(&comm).unwrap_or_default() != b"\xff\xfe-comm\n" {
            assert!(Instant::now() < deadline, "workload did not rename itself");
            std::thread::sleep(Duration::from_millis(10));
        }
        let t = Tool::start(tool, &["-p", &w.pid.to_string(), "--output", "json"]);
        w.kill();
        let done = t.wait();
        assert_eq!(done.code, Some(0), "{tool}: {}", done.stderr);
        assert!(done.stderr.contains("exited"), "{tool}: {}", done.stderr);
    }
}

/// Item 6: `timeout -s INT` delivers SIGINT twice (to the tool, then to its
/// group): one stop with a complete final report, exit 0, every time.
#[test]
fn timeout_s_int_gives_a_whole_report_in_every_tool() {
    if !require_root() {
        return;
    }
    let cg = TestCgroup::new("timeout");
    for tool in TOOLS {
        for round in 0..3 {
            let out = Command::new("timeout")
                .args(["--preserve-status", "-s", "INT", "2"])
                .arg(bin(tool))
                .args(["-c", cg.path.to_str().unwrap(), "--output", "json"])
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let done = Finished {
                code: out.status.code(),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            };
            assert_eq!(done.code, Some(0), "{tool} round {round}: {}", done.stderr);
            assert!(
                has_final_report(tool, &done),
                "{tool} round {round}: {}",
                done.stdout
            );
        }
    }
}

/// Runs `tool ARGS` inside a new cgroup namespace rooted at `ns_root`: the
/// wrapper moves itself into `ns_root`, then `unshare -C` execs the tool
/// (as a privileged pod sees the host's cgroupfs: mountinfo root "/..").
fn in_cgroup_namespace(ns_root: &Path, tool: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(r#"echo $$ > "$0/cgroup.procs" && exec unshare -C "$@""#)
        .arg(ns_root)
        .arg(bin(tool))
        .args(args);
    cmd
}

/// Item 2: pid:N from inside a cgroup namespace resolves to the process's
/// real cgroup, not to a decoy with the same relative name at the mount
/// root: a process below the namespace root, at it, beside it (outside
/// the namespace), and two namespace levels down.
#[test]
fn pid_target_from_inside_a_cgroup_namespace() {
    if !require_root() {
        return;
    }
    let root = cgroup2_root();
    let tag = std::process::id();
    // Decoys right below the mount, named as the process sees its cgroup.
    let decoy_sub = root.join("sub");
    let created = std::fs::create_dir(&decoy_sub).is_ok();
    assert!(
        decoy_sub.join("cgroup.procs").exists(),
        "a decoy {} is needed for this test",
        decoy_sub.display()
    );
    let decoy_guard = created.then(|| TestCgroupAt(decoy_sub.clone()));
    let decoy_b = TestCgroupAt(root.join(format!("hostile-b-{tag}")));
    std::fs::create_dir(&decoy_b.0).unwrap();
    let a = TestCgroup::new("ns");
    let a_sub = a.child("sub");
    let a_x = a.child("x");
    let a_x_sub = a.child("x/sub");
    let b = a.child("b");
    // (namespace root, process cgroup, a cgroup whose work must not count)
    let cases: [(&Path, &Path, &Path); 4] = [
        (&a.path, &a_sub, &decoy_sub),
        (&a.path, &a.path, &root),
        (&a_x, &b, &decoy_b.0),
        (&a_x, &a_x_sub, &a_sub),
    ];
    for tool in TOOLS {
        for (ns_root, home, decoy) in cases {
            let mut holder = Workload::spawn(Some(home), &["pause"]);
            let spec = format!("pid:{}", holder.pid);
            let cmd = in_cgroup_namespace(ns_root, tool, &["-c", &spec, "--output", "json"]);
            let t = Tool::start_command(tool, cmd);
            let file = scratch(&format!("ns-{tool}"));
            run_work(tool, home, 2, &file);
            if decoy != root.as_path() {
                run_work(tool, decoy, 1, &file);
            }
            let done = t.stop();
            holder.kill();
            let what = format!("{tool}: ns {} pid in {}", ns_root.display(), home.display());
            assert_eq!(done.code, Some(0), "{what}: {}", done.stderr);
            assert_eq!(
                traced_id(&done.stderr),
                Some(id_of(home)),
                "{what}: {}",
                done.stderr
            );
            if home != a.path.as_path() {
                // Only the process's cgroup (the namespace root's case also
                // holds the tool itself, whose own calls are counted).
                assert_eq!(measured(tool, &done), 2, "{what}: {}", done.stdout);
            }
        }
    }
    drop(decoy_guard);
}

/// A cgroup made at an exact path (removed on drop, processes killed).
struct TestCgroupAt(PathBuf);

impl Drop for TestCgroupAt {
    fn drop(&mut self) {
        let _ = std::fs::write(self.0.join("cgroup.kill"), "1");
        for _ in 0..100 {
            if std::fs::remove_dir(&self.0).is_ok() || !self.0.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A second cgroup2 mount of the hierarchy, unmounted on drop.
struct ExtraMount(PathBuf);

impl ExtraMount {
    fn new(dir: PathBuf) -> Self {
        std::fs::create_dir_all(&dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "cgroup2", "none"])
            .arg(&dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount cgroup2 at {}", dir.display());
        Self(dir)
    }

    fn unmount(&self) {
        let _ = Command::new("umount")
            .arg(&self.0)
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for ExtraMount {
    fn drop(&mut self) {
        self.unmount();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Item 7: with a second cgroup2 mount (Cilium's /run/cilium/cgroupv2, a
/// private one) a target path picks the mount it lies under, relative
/// targets and names use the standard mount, and unmounting the mount a
/// target was given through does not end the run (the cgroup lives on).
#[test]
fn several_cgroup2_mounts_in_every_tool() {
    if !require_root() {
        return;
    }
    let std_root = cgroup2_root();
    // Shorter than the standard path: the old "shortest wins" picked it.
    let extra = ExtraMount::new(PathBuf::from(format!("/run/hx{}", std::process::id())));
    let cg = TestCgroup::new("mounts");
    let name = cg.path.file_name().unwrap().to_string_lossy().into_owned();
    let via_extra = extra.0.join(&name);
    assert_eq!(id_of(&via_extra), cg.id());
    for tool in TOOLS {
        for spec in [cg.arg(), via_extra.display().to_string(), name.clone()] {
            let file = scratch(&format!("mounts-{tool}"));
            let t = Tool::start(tool, &["-c", &spec, "--output", "json"]);
            run_work(tool, &cg.path, 2, &file);
            let done = t.stop();
            assert_eq!(done.code, Some(0), "{tool} {spec}: {}", done.stderr);
            assert_eq!(traced_id(&done.stderr), Some(cg.id()), "{tool} {spec}");
            assert_eq!(measured(tool, &done), 2, "{tool} {spec}");
            if let Some(target) = done.json().last().and_then(|r| r.get("target").cloned()) {
                // JSON's cgroup is relative to the standard mount, whatever
                // the mount the path was given through.
                assert_eq!(target["cgroup"], format!("/{name}"), "{tool} {spec}");
            }
        }
    }
    assert_eq!(
        cgroup2_root(),
        std_root,
        "the standard mount stays preferred"
    );
    // Given through the extra mount, which then goes away: the run goes on.
    for tool in TOOLS {
        let extra = ExtraMount::new(PathBuf::from(format!("/run/hy{}", std::process::id())));
        let spec = extra.0.join(&name).display().to_string();
        let file = scratch(&format!("mounts2-{tool}"));
        let t = Tool::start(tool, &["-c", &spec, "--output", "json"]);
        extra.unmount();
        std::thread::sleep(Duration::from_millis(1200));
        run_work(tool, &cg.path, 2, &file);
        let done = t.stop();
        assert_eq!(done.code, Some(0), "{tool}: {}", done.stderr);
        assert!(!done.stderr.contains("removed"), "{tool}: {}", done.stderr);
        assert_eq!(measured(tool, &done), 2, "{tool}");
    }
}

/// Item 8: 1 200 cgroups each making 28 distinct syscalls (plus the
/// workload's own ~10 after joining): exact counts for every (cgroup,
/// syscall), nothing dropped, in constat (every cgroup) and syscount
/// --by-cgroup (counts, and latency histograms with --max-entries), with
/// the cgroups there before the tools start (sized from the host) and
/// created after (the minimum size).
#[test]
fn a_busy_node_loses_nothing_host_wide() {
    if !require_root() {
        return;
    }
    for cgroups_first in [true, false] {
        busy_node_round(cgroups_first);
    }
}

fn busy_node_round(cgroups_first: bool) {
    const CGROUPS: usize = 1200;
    const SYSCALLS: usize = 28;
    const CALLS: u64 = 2;
    let parent = TestCgroup::new("busy");
    let make = || -> Vec<PathBuf> {
        (0..CGROUPS)
            .map(|i| parent.child(&format!("c{i}")))
            .collect()
    };
    let mut children = if cgroups_first { make() } else { Vec::new() };
    let runs: [(&str, &[&str]); 3] = [
        ("constat", &["--by-syscall", "--output", "json"]),
        (
            "syscount",
            &["--by-cgroup", "-T", "1000000", "--output", "json"],
        ),
        (
            "syscount",
            &[
                "--by-cgroup",
                "--histogram",
                "--max-entries",
                "98304",
                "-T",
                "1000000",
                "--output",
                "json",
            ],
        ),
    ];
    let tools: Vec<Tool> = runs
        .iter()
        .map(|(tool, args)| Tool::start(tool, args))
        .collect();
    if !cgroups_first {
        children = make();
    }
    let n = SYSCALLS.to_string();
    let k = CALLS.to_string();
    for child in &children {
        run_workload(Some(child), &["--no-wait", "distinct", &n, &k]);
    }
    let prefix = format!("/{}/c", parent.path.file_name().unwrap().to_string_lossy());
    let finished: Vec<Finished> = tools.into_iter().map(Tool::stop).collect();
    let drops: Vec<String> = finished
        .iter()
        .map(|d| {
            d.json()
                .last()
                .map(|r| r["dropped"].to_string())
                .unwrap_or_default()
        })
        .collect();
    for ((tool, args), done) in runs.iter().zip(finished) {
        let what = format!("{tool} {args:?} (cgroups first: {cgroups_first}; drops {drops:?})");
        assert_eq!(done.code, Some(0), "{what}: {}", done.stderr);
        let report = done.json().into_iter().last().expect("report");
        assert_eq!(report["dropped"], 0, "{what}: {}", done.stderr);
        assert!(!done.stderr.contains("dropped"), "{what}: {}", done.stderr);
        let mut cells = std::collections::HashMap::new();
        for r in report["rows"].as_array().unwrap() {
            let Some(cg) = r["cgroup"].as_str().filter(|c| c.starts_with(&prefix)) else {
                continue;
            };
            let Some(name) = r["syscall"].as_str() else {
                continue;
            };
            if DISTINCT_SYSCALL_NAMES[..SYSCALLS].contains(&name) {
                cells.insert(
                    (cg.to_string(), name.to_string()),
                    r["count"].as_u64().unwrap(),
                );
                if args.contains(&"--histogram") {
                    let in_hist: u64 = r["histogram"]["buckets"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|b| b["count"].as_u64().unwrap_or(0))
                        .sum();
                    assert_eq!(in_hist, CALLS, "{what}: histogram of {cg} {name}");
                }
            }
        }
        assert_eq!(cells.len(), CGROUPS * SYSCALLS, "{what}");
        assert!(cells.values().all(|&c| c == CALLS), "{what}");
    }
}

/// Sibling of item 6: the terminal goes away (SIGHUP, then EIO on every
/// write): the tool ends at once, quietly (exit 0), nothing left loaded.
#[test]
fn a_terminal_that_hangs_up_ends_the_run_quietly() {
    if !require_root() {
        return;
    }
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    let cg = TestCgroup::new("hangup");
    for tool in TOOLS {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: two out-pointers for the new descriptors, no name/termios.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty");
        // SAFETY: fcntl on the descriptor just made; the tool must not
        // inherit the master (it would keep the terminal from hanging up).
        unsafe { libc::fcntl(master, libc::F_SETFD, libc::FD_CLOEXEC) };
        // SAFETY: fresh descriptors from openpty, owned here from now on.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let mut cmd = Command::new(bin(tool));
        cmd.args(["-c", cg.path.to_str().unwrap()])
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY, 0);
                Ok(())
            });
        }
        let mut child = cmd.spawn().unwrap();
        drop(cmd);
        // Read the terminal until the tool says it is attached.
        let mut term = std::fs::File::from(master);
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains("Ctrl-C") {
            assert!(Instant::now() < deadline, "{tool} did not attach");
            let n = term.read(&mut buf).unwrap_or(0);
            seen.extend_from_slice(&buf[..n]);
        }
        let pid = child.id();
        drop(term); // hang up
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{tool} still running after its terminal hung up"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(0), "{tool} (pid {pid}): {status}");
    }
}

/// Sibling: stderr closed by its reader (SIGPIPE/EPIPE on status lines)
/// costs nothing: the report still reaches stdout, exit 0.
#[test]
fn a_closed_stderr_does_not_lose_the_report() {
    if !require_root() {
        return;
    }
    let cg = TestCgroup::new("stderr");
    for tool in TOOLS {
        let script = format!(
            "exec 3>&1; {} -c {} -d 2 --output json 2>&1 >&3 | true",
            bin(tool).display(),
            cg.path.display()
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        let done = Finished {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert_eq!(done.code, Some(0), "{tool}: {}", done.stderr);
        assert!(has_final_report(tool, &done), "{tool}: {}", done.stdout);
    }
}

/// Sibling: SIGTERM at any moment of start-up (parsing, resolving, loading,
/// attaching) ends the tool within a second or two; whatever it had
/// loaded goes with it.
#[test]
fn sigterm_during_start_up_ends_the_tool() {
    if !require_root() {
        return;
    }
    let cg = TestCgroup::new("early");
    for tool in TOOLS {
        for delay_ms in [0u64, 5, 20, 60, 150, 400] {
            let mut child = Command::new(bin(tool))
                .args(["-c", cg.path.to_str().unwrap(), "--output", "json"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(Duration::from_millis(delay_ms));
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            nix::sys::signal::kill(pid, Signal::SIGTERM).unwrap();
            let started = Instant::now();
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                if started.elapsed() > Duration::from_secs(10) {
                    let _ = child.kill();
                    panic!("{tool}: SIGTERM after {delay_ms} ms did not end it");
                }
                std::thread::sleep(Duration::from_millis(10));
            };
            // Killed by the signal before the handler, or a clean stop after.
            use std::os::unix::process::ExitStatusExt;
            assert!(
                status.code() == Some(0) || status.signal() == Some(libc::SIGTERM),
                "{tool} after {delay_ms} ms: {status}"
            );
        }
    }
}

/// Sibling: huge and out-of-range numbers are one-line usage errors, the
/// largest accepted ones run.
#[test]
fn huge_values_are_refused_or_work() {
    if !require_root() {
        return;
    }
    let bad: [(&str, &[&str]); 7] = [
        ("constat", &["-T", "1000001"]),
        ("constat", &["-T", "18446744073709551616"]),
        ("syscount", &["-T", "99999999999999999999"]),
        ("constat", &["--max-entries", "4294967296"]),
        ("syscount", &["--max-entries", "10"]),
        ("conbiograph", &["-t", "99999999999999999999"]),
        ("unsharesnoop", &["--buffer-pages", "4294967296"]),
    ];
    for (tool, args) in bad {
        let out = run_tool(tool, args);
        assert_eq!(out.code, Some(2), "{tool} {args:?}: {}", out.stderr);
        assert_eq!(out.stderr.trim().lines().count(), 1, "{tool} {args:?}");
    }
    let cg = TestCgroup::new("huge");
    let good: [(&str, &[&str]); 4] = [
        ("constat", &["-T", "1000000", "-i", "31536000"]),
        ("syscount", &["-T", "1000000", "--max-entries", "4194304"]),
        ("constat", &["--max-entries", "1024"]),
        ("conbiograph", &["-t", "31536000000"]),
    ];
    for (tool, args) in good {
        let mut all = vec![
            "-c",
            cg.path.to_str().unwrap(),
            "-d",
            "1",
            "--output",
            "json",
        ];
        all.extend_from_slice(args);
        let out = run_tool(tool, &all);
        assert_eq!(out.code, Some(0), "{tool} {args:?}: {}", out.stderr);
    }
}

/// Item 6's other half in syscount (constat's is in hardening.rs): a
/// deliberate second SIGINT, well after the first, while the final report
/// is stuck on a full pipe, exits 130 at once.
#[test]
fn a_deliberate_second_sigint_during_a_stuck_report_exits_130() {
    if !require_root() {
        return;
    }
    use std::io::{BufRead, BufReader};
    let parent = TestCgroup::new("stuck");
    let children: Vec<_> = (0..600).map(|i| parent.child(&format!("c{i}"))).collect();
    let mut child = Command::new(bin("syscount"))
        .args(["--by-cgroup", "-T", "100000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("Ctrl-C") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("syscount attached");
    for c in &children {
        run_workload(Some(c), &["--no-wait", "getppid", "1"]);
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, Signal::SIGINT).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the report should be stuck"
    );
    nix::sys::signal::kill(pid, Signal::SIGINT).unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "second SIGINT ignored"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
}
