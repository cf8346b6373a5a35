//! The four tools on real containers: named docker and podman containers
//! traced by name and by id prefix with exact counts of work run through
//! `docker exec` / `podman exec`, and host-wide output naming containers.

use std::collections::BTreeSet;
use std::time::Duration;

use contrace_tests::runtime::{Container, Engine};
use contrace_tests::*;

const ENGINES: [Engine; 2] = [Engine::Docker, Engine::Podman];

/// Runs the static workload in the container (`exec`), `getppid N` and
/// `openfail K`.
fn work_in(c: &Container, getppid: u64, openfail: u64) {
    c.exec(&[
        "/bin/workload",
        "--no-wait",
        "getppid",
        &getppid.to_string(),
        "openfail",
        &openfail.to_string(),
    ]);
}

root_test!(syscall_tools_trace_a_container_by_name_and_by_id_prefix, {
    for engine in ENGINES {
        if !engine.available() {
            continue;
        }
        let c = Container::start(engine, "by-name");
        let prefix = &c.id()[..8];
        for (tool, target) in [
            ("constat", c.name()),
            ("syscount", c.name()),
            ("constat", prefix),
            ("syscount", prefix),
        ] {
            let report = json_report(tool, &["-c", target], |_| work_in(&c, 1234, 17));
            let who = format!("{tool} -c {target} ({})", engine.cli());
            assert_eq!(u(row(&report, "getppid"), "count"), 1234, "{who}: {report}");
            if tool == "constat" {
                assert_eq!(u(row(&report, "openat"), "errors"), 17, "{who}: {report}");
            }
            let container = &report["target"]["container"];
            assert_eq!(container["name"], c.name(), "{who}: {report}");
            assert_eq!(container["id"], c.id(), "{who}");
            assert_eq!(container["runtime"], engine.cli(), "{who}");
            assert_eq!(
                report["target"]["cgroup"],
                c.cgroup(),
                "{who}: the container's own cgroup"
            );
        }
    }
});

root_test!(the_status_line_names_the_container, {
    for engine in ENGINES {
        if !engine.available() {
            continue;
        }
        let c = Container::start(engine, "status");
        let done = Tool::start("constat", &["-c", c.name()]).stop();
        assert_eq!(done.code, Some(0), "{}", done.stderr);
        let want = format!(
            "Tracing container {} ({} {}",
            c.name(),
            engine.cli(),
            &c.id()[..12]
        );
        assert!(done.stderr.contains(&want), "{}", done.stderr);
    }
});

root_test!(host_wide_rows_name_their_containers, {
    for engine in ENGINES {
        if !engine.available() {
            continue;
        }
        let c = Container::start(engine, "host-wide");
        let args = ["--by-cgroup", "--syscall", "getppid"];
        let report = json_report("syscount", &args, |_| work_in(&c, 777, 0));
        let rows = report["rows"].as_array().cloned().unwrap_or_default();
        let mine: Vec<_> = rows
            .iter()
            .filter(|r| r["container"]["name"] == c.name())
            .collect();
        assert_eq!(mine.len(), 1, "{}: {report}", engine.cli());
        assert_eq!(mine[0]["count"], 777, "{}", engine.cli());
        assert_eq!(mine[0]["cgroup"], c.cgroup());
        // The table shows the name, not the 64-hex path.
        let running = Tool::start("syscount", &args);
        work_in(&c, 5, 0);
        let text = running.stop().stdout;
        assert!(text.contains(c.name()), "{}: {text}", engine.cli());
        assert!(!text.contains(c.id()), "{}: {text}", engine.cli());
    }
});

root_test!(conbiograph_charges_a_containers_direct_io, {
    // A volume on the host's disk: overlayfs would not take O_DIRECT.
    let dir = std::path::Path::new("/var/tmp").join(format!("contrace-cbg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("volume dir");
    for engine in ENGINES {
        if !engine.available() {
            continue;
        }
        let volume = format!("{}:/data", dir.display());
        let name = contrace_tests::runtime::unique_name("cbg");
        let c = Container::start_named(engine, &name, &["-v", &volume]);
        let file = format!("/data/{}.bin", engine.cli());
        let lines = json_run("conbiograph", &["-t", "200", "-c", c.name()], |_| {
            c.exec(&[
                "/bin/workload",
                "--no-wait",
                "write-direct",
                &file,
                "4194304",
            ]);
            std::thread::sleep(Duration::from_millis(300));
        });
        let summary = lines.last().cloned().unwrap_or_default();
        assert_eq!(
            summary["write"]["bytes"],
            4 << 20,
            "{}: {summary}",
            engine.cli()
        );
        assert_eq!(summary["target"]["container"]["name"], c.name());
    }
    let _ = std::fs::remove_dir_all(&dir);
});

/// What `tool`'s bash completion offers for `-c PREFIX` (clap_complete's
/// protocol, as the script from `--generate-completions bash` calls it).
fn complete_target(tool: &str, prefix: &str) -> Vec<String> {
    let out = std::process::Command::new(bin(tool))
        .args(["--", tool, "-c", prefix])
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", "2")
        .env("_CLAP_COMPLETE_COMP_TYPE", "9")
        .env("_CLAP_COMPLETE_SPACE", "false")
        .env("_CLAP_IFS", "\n")
        .output()
        .expect("run the completion");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

root_test!(completion_offers_container_names, {
    for engine in ENGINES {
        if !engine.available() {
            continue;
        }
        let c = Container::start(engine, "complete-me");
        let prefix = &c.name()[..c.name().len() - 3];
        for tool in TOOLS {
            let offered = complete_target(tool, prefix);
            assert!(
                offered.iter().any(|o| o == c.name()),
                "{tool} -c {prefix}<TAB> ({}): {offered:?}",
                engine.cli()
            );
        }
        // The id prefix still completes to the short id.
        let offered = complete_target("constat", &c.id()[..6]);
        assert!(offered.contains(&c.id()[..12].to_string()), "{offered:?}");
    }
});

root_test!(seccomp_denied_calls_in_a_container_are_counted_as_denied, {
    // Docker's default seccomp profile lets unshare(2) through only with
    // CAP_SYS_ADMIN, which a container does not have: three unshare calls
    // exec'd in it fail with EPERM before sys_enter. Podman's default
    // profile lets unshare in (the kernel then refuses it, after sys_enter:
    // not denied), so there the process installs the same kind of filter
    // itself, as a stricter profile (Kubernetes' RuntimeDefault) would.
    let unshare3 = |engine: Engine| -> Vec<&'static str> {
        let mut args = vec!["/bin/workload", "--no-wait"];
        if engine == Engine::Podman {
            args.extend(["seccomp-deny", "unshare", "1"]);
        }
        for _ in 0..3 {
            args.extend(["unshare", "0x04000000"]);
        }
        args
    };
    for engine in ENGINES {
        if !engine.available() {
            continue;
        }
        let c = Container::start(engine, "seccomp");
        let unshare3 = unshare3(engine);
        let out = String::from_utf8_lossy(&c.exec_output(&unshare3).stdout).into_owned();
        assert!(
            out.lines().filter(|l| *l == "unshare -1").count() == 3,
            "{}: unshare must be refused: {out}",
            engine.cli()
        );
        let who = engine.cli();
        for (tool, args) in [
            ("constat", vec!["-c", c.name()]),
            // syscount shows its top 10 by default: ask for unshare.
            (
                "syscount",
                vec!["-c", c.name(), "-L", "--syscall", "unshare"],
            ),
        ] {
            let report = json_report(tool, &args, |_| {
                c.exec_output(&unshare3);
            });
            let unshare = row(&report, "unshare");
            assert_eq!(u(unshare, "count"), 3, "{tool} ({who}): {report}");
            assert_eq!(u(unshare, "denied"), 3, "{tool} ({who}): {report}");
            if tool == "constat" {
                assert_eq!(u(unshare, "errors"), 3, "{tool} ({who}): {report}");
                assert_eq!(unshare.unwrap()["errno"], "EPERM", "{report}");
            }
        }
        let events = json_run("unsharesnoop", &["--all", "-c", c.name()], |_| {
            c.exec_output(&unshare3);
        });
        let denied: Vec<_> = events
            .iter()
            .filter(|e| e["type"] == "event" && e["call"] == "unshare")
            .collect();
        assert_eq!(denied.len(), 3, "{who}: {events:?}");
        for e in denied {
            assert_eq!(e["denied"], true, "{e}");
            assert_eq!(e["errno"], "EPERM", "{e}");
            assert_eq!(
                e["flags"], 0x0400_0000,
                "flags read from the registers: {e}"
            );
        }
    }
});

root_test!(exec_into_a_container_is_seen_entering_it, {
    for engine in ENGINES {
        if !engine.available() {
            continue;
        }
        let c = Container::start(engine, "exec-seen");
        let who = engine.cli();
        let events = json_run("unsharesnoop", &["-c", c.name()], |_| {
            c.exec(&["/bin/workload", "--no-wait", "getppid", "1"]);
        });
        let entering: Vec<_> = events
            .iter()
            .filter(|e| e["type"] == "event" && e["call"] == "setns" && e["entering"] == true)
            .collect();
        assert!(
            !entering.is_empty(),
            "{who} exec: no setns into the container seen: {events:?}"
        );
        // runc joins the container's namespaces one setns at a time: mnt,
        // pid, ipc, uts at least (net too, unless the host's).
        let kinds: BTreeSet<&str> = entering
            .iter()
            .flat_map(|e| e["joined"].as_array().into_iter().flatten())
            .filter_map(|j| j["type"].as_str())
            .collect();
        for kind in ["mnt", "pid", "ipc", "uts"] {
            assert!(kinds.contains(kind), "{who}: joined {kinds:?}: {events:?}");
        }
    }
});
