//! Targets: how `-c` and `-p` resolve (paths, names, `./` and `..`,
//! container-looking ids, `pid:N` from the root cgroup and from inside a
//! cgroup namespace, several cgroup2 mounts, a cgroup twenty levels down,
//! descendants and `--exact`), and what ends a run when the target goes
//! away: removed, recreated under the same name, its process gone or its
//! pid taken by another.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use contrace_tests::units::{has_final_report, measured, run_work, scratch, traced_id};
use contrace_tests::*;
use serde_json::Value;

root_test!(
    /// rmdir + mkdir under the same name (a unit or pod restart) ends the run
    /// with the "removed" message, in every tool, for a target given as a
    /// path, as pid:N, and nested under a parent that is removed and recreated
    /// too. Calls in the new cgroup are not counted.
    recreated_target_ends_the_run_in_every_tool,
    {
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
                let old_id = cgroup_id(&target);
                run_work(tool, &target, 3, &file);
                holder.kill();
                // Remove and recreate at once, before the watch looks.
                std::fs::remove_dir(&target).expect("rmdir target");
                if variant == "nested" {
                    std::fs::remove_dir(target.parent().unwrap()).expect("rmdir parent");
                    std::fs::create_dir(target.parent().unwrap()).unwrap();
                }
                std::fs::create_dir(&target).unwrap();
                let new_id = cgroup_id(&target);
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
);

/// Sets the pid the next fork gets (init pid namespace, root).
fn next_pid_will_be(pid: u32) {
    std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).expect("ns_last_pid");
}

root_test!(
    /// `-p PID` whose process exits and whose pid is taken by a new process
    /// ends the run ("exited"), in the tools with -p.
    reused_pid_ends_a_p_run,
    {
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
);

root_test!(removed_target_ends_the_run_with_a_report, {
    for tool in TOOLS {
        let cg = TestCgroup::new("hard-gone");
        let t = Tool::start(tool, &["-c", &cg.arg(), "--output", "json"]);
        std::fs::remove_dir(&cg.path).expect("rmdir test cgroup");
        let done = t.wait();
        assert_eq!(done.code, Some(0), "{tool}: {}", done.stderr);
        assert!(done.stderr.contains("removed"), "{tool}: {}", done.stderr);
        assert!(!done.json().is_empty(), "{tool}: no final report");
    }
});

root_test!(traced_process_exit_ends_the_run, {
    for tool in ["syscount", "unsharesnoop"] {
        let mut w = Workload::spawn(None, &["pause"]);
        let pid = w.pid.to_string();
        let t = Tool::start(tool, &["-p", &pid, "--output", "json"]);
        w.kill();
        let done = t.wait();
        assert_eq!(done.code, Some(0), "{tool}: {}", done.stderr);
        assert!(done.stderr.contains("exited"), "{tool}: {}", done.stderr);
        assert!(!done.json().is_empty(), "{tool}: no final report");
    }
});

root_test!(thread_ids_are_refused_for_p, {
    // A thread of this test process: /proc/<tid> exists but it is no process.
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        tx.send(nix::unistd::gettid().as_raw()).unwrap();
        std::thread::sleep(Duration::from_secs(2));
    });
    let tid = rx.recv().unwrap().to_string();
    let out = run_tool("syscount", &["-p", &tid]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("is a thread of process"),
        "{}",
        out.stderr
    );
    handle.join().unwrap();
});

root_test!(pid_and_container_id_targets_resolve, {
    let id = "c0ffee1234567890abcdef1234567890abcdef1234567890abcdef1234567890";
    let cg = TestCgroup::new("constat-ids");
    let scope = cg.child(&format!("docker-{id}.scope"));
    let w = Workload::spawn(Some(&scope), &["getppid", "77"]);
    let pid_target = format!("pid:{}", w.pid);
    let by_pid = json_report("constat", &["-c", &pid_target], |_| {});
    assert_eq!(by_pid["target"]["path"], scope.display().to_string());
    let report = json_report("constat", &["-c", "c0ffee12"], |_| {
        w.finish();
    });
    assert_eq!(report["target"]["path"], scope.display().to_string());
    assert_eq!(u(row(&report, "getppid"), "count"), 77);
});

/// The `target` object of a finished `-o json` run: the report's (constat,
/// syscount) or the summary's (unsharesnoop, conbiograph); the last line
/// either way.
fn json_target(done: &Finished) -> Value {
    done.json().pop().expect("a JSON line")["target"].clone()
}

root_test!(
    pid_target_in_the_root_cgroup_is_said_to_be_the_whole_host,
    {
        let root = cgroup2_root();
        let mut w = Workload::spawn(Some(&root), &["pause"]);
        let target = format!("pid:{}", w.pid);
        let note = format!(
            "note: process {} is in the root cgroup {}, so '{target}' covers every process of \
         the host; ",
            w.pid,
            root.display()
        );
        for tool in TOOLS {
            let done = run_tool(tool, &["-c", &target, "-d", "1", "-o", "json"]);
            assert_eq!(done.code, Some(0), "{tool}: {}", done.stderr);
            let line = done
                .stderr
                .lines()
                .find(|l| l.starts_with("note:"))
                .unwrap_or_else(|| panic!("{tool}: no note: {}", done.stderr));
            assert!(line.starts_with(&note), "{tool}: {line}");
            let suggests_p = line.contains(&format!("-p {} traces that process alone", w.pid));
            assert_eq!(suggests_p, tool != "conbiograph", "{tool}: {line}");
            assert!(
                line.ends_with("--exact only the processes in the root cgroup itself"),
                "{tool}: {line}"
            );
            let t = json_target(&done);
            assert_eq!(t["whole_host"], true, "{tool}: {t}");
            assert_eq!(t["cgroup"], "/", "{tool}: {t}");
            assert_eq!(t["descendants"], true, "{tool}: {t}");
        }
        // --exact: the root cgroup's own processes only; nothing to warn about.
        let done = run_tool(
            "constat",
            &["-c", &target, "--exact", "-d", "1", "-o", "json"],
        );
        assert_eq!(done.code, Some(0), "{}", done.stderr);
        assert!(!done.stderr.contains("note:"), "{}", done.stderr);
        assert_eq!(json_target(&done)["whole_host"], false);
        w.kill();

        // A process in a child cgroup: that cgroup, not the host.
        let cg = TestCgroup::new("ux-notroot");
        let mut w = Workload::spawn(Some(&cg.path), &["pause"]);
        let done = run_tool(
            "syscount",
            &["-c", &format!("pid:{}", w.pid), "-d", "1", "-o", "json"],
        );
        assert_eq!(done.code, Some(0), "{}", done.stderr);
        assert!(!done.stderr.contains("note:"), "{}", done.stderr);
        let t = json_target(&done);
        assert_eq!(t["whole_host"], false);
        assert_eq!(t["cgroup"], rel(&cg.path).as_str());
        w.kill();
    }
);

root_test!(dot_targets_resolve_from_the_current_directory, {
    let cg = TestCgroup::new("ux-dot");
    let kid = cg.child("kid");
    let name = cg.path.file_name().unwrap().to_str().unwrap().to_string();
    let target_of = |dir: &Path, arg: &str| -> Finished {
        run_command(
            Command::new(bin("constat"))
                .args(["-c", arg, "-d", "0.5", "-o", "json"])
                .current_dir(dir),
        )
    };
    // ./NAME from the cgroup2 mount.
    let done = target_of(&cgroup2_root(), &format!("./{name}"));
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(json_target(&done)["path"], cg.arg().as_str());
    // ../kid and .. from inside the child.
    let done = target_of(&kid, "../kid");
    assert_eq!(
        json_target(&done)["path"],
        kid.display().to_string().as_str()
    );
    let done = target_of(&kid, "..");
    assert_eq!(json_target(&done)["id"], cg.id());
    // The same ./NAME from elsewhere is looked up there, not below the mount.
    let done = target_of(Path::new("/tmp"), &format!("./{name}"));
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert!(
        done.stderr
            .contains(&format!("target /tmp/./{name}: no such directory")),
        "{}",
        done.stderr
    );
    // A bare NAME still means below the mount, wherever we are.
    let done = target_of(Path::new("/tmp"), &name);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(json_target(&done)["id"], cg.id());
});

root_test!(descendants_by_default_not_with_exact_and_outsiders_never, {
    for tool in SYSCALL_TOOLS {
        let cg = TestCgroup::new(&format!("{tool}-tree"));
        let child = cg.child("inner");
        let outside = TestCgroup::new(&format!("{tool}-outside"));
        for (flags, want) in [(vec![], 300u64), (vec!["--exact"], 0)] {
            let mut args = vec!["-c".to_string(), cg.arg()];
            args.extend(flags.iter().map(|s| s.to_string()));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let inner = Workload::spawn(Some(&child), &["getppid", "300"]);
            let other = Workload::spawn(Some(&outside.path), &["getppid", "500"]);
            let report = json_report(tool, &args, |_| {
                inner.finish();
                other.finish();
            });
            assert_eq!(
                u(row(&report, "getppid"), "count"),
                want,
                "{tool} {flags:?}: {report}"
            );
        }
    }
});

root_test!(pid_filter_excludes_other_processes, {
    let cg = TestCgroup::new("syscount-pid");
    let mine = Workload::spawn(Some(&cg.path), &["getppid", "300"]);
    let other = Workload::spawn(Some(&cg.path), &["getppid", "700"]);
    let pid = mine.pid.to_string();
    let report = json_report("syscount", &["-p", &pid], |_| {
        mine.finish();
        other.finish();
    });
    assert_eq!(u(row(&report, "getppid"), "count"), 300, "{report}");
});

root_test!(a_target_twenty_levels_up_is_matched_on_every_path, {
    // Past 16 levels the filter reads the cgroup's ancestors array (ids
    // before 6.0, pointers since): tracing programs may not call
    // bpf_get_current_ancestor_cgroup_id before 5.18.
    let top = TestCgroup::new("edges-deep");
    let mut deep = top.path.clone();
    for level in 0..20 {
        deep.push(format!("d{level}"));
        std::fs::create_dir(&deep).unwrap();
    }
    for env in KERNEL_PATHS {
        let w = Workload::spawn(Some(&deep), &["getppid", "321"]);
        let report = json_report_env("constat", &["-c", &top.arg()], env, |_| {
            w.finish();
        });
        assert_eq!(u(row(&report, "getppid"), "count"), 321, "{env:?} {report}");
        let w = Workload::spawn(Some(&deep), &["getppid", "321"]);
        let report = json_report_env("constat", &["-c", &top.arg(), "--exact"], env, |_| {
            w.finish();
        });
        assert!(row(&report, "getppid").is_none(), "{env:?} {report}");
    }
});

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

root_test!(
    /// pid:N from inside a cgroup namespace resolves to the process's real
    /// cgroup, not to a decoy with the same relative name at the mount root: a
    /// process below the namespace root, at it, beside it (outside the
    /// namespace), and two namespace levels down.
    pid_target_from_inside_a_cgroup_namespace,
    {
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
                    Some(cgroup_id(home)),
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
);

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

root_test!(
    /// With a second cgroup2 mount (Cilium's /run/cilium/cgroupv2, a private
    /// one) a target path picks the mount it lies under, relative targets and
    /// names use the standard mount, and unmounting the mount a target was
    /// given through does not end the run (the cgroup lives on).
    several_cgroup2_mounts_in_every_tool,
    {
        let std_root = cgroup2_root();
        // Shorter than the standard path: the old "shortest wins" picked it.
        let extra = ExtraMount::new(PathBuf::from(format!("/run/hx{}", std::process::id())));
        let cg = TestCgroup::new("mounts");
        let name = cg.path.file_name().unwrap().to_string_lossy().into_owned();
        let via_extra = extra.0.join(&name);
        assert_eq!(cgroup_id(&via_extra), cg.id());
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
);
