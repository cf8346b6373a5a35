//! Real container runtimes: container identity (docker and podman
//! containers found by name and id prefix, their cgroups identified,
//! on-disk fallbacks without daemons, plain runc ids, a Kubernetes pod
//! through containerd's CRI, ambiguity and unknown names) and the tools on
//! containers: traced by name and id prefix with exact counts of work run
//! through `docker exec` / `podman exec`, host-wide rows naming their
//! containers, completion, seccomp-denied calls, exec seen entering, and
//! the exporter's series for a container.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use contrace_tests::exporter::{value, Exporter, Fence, Series, WAIT};
use contrace_tests::runtime::{
    unique_name, Container, CriPod, Engine, RuncContainer, CONTAINERD_SOCKET,
};
use contrace_tests::*;
use identity::container::{Found, Registry, Runtime, Sources};

fn expect_one(
    registry: &mut Registry,
    query: &str,
) -> (PathBuf, identity::container::ContainerInfo) {
    let found = registry.find(query).expect("a valid query");
    match found {
        Found::One { cgroup_dir, info } => (cgroup_dir, info),
        other => panic!(
            "find({query}) gave {other:?}: {}",
            registry.explain(query, &other).unwrap_or_default()
        ),
    }
}

/// Sources with no daemon: only on-disk state and cgroup naming.
fn no_daemons() -> Sources {
    let dir = Path::new("/nonexistent/contrace-test");
    Sources {
        engine_sockets: vec![
            (dir.join("docker.sock"), Runtime::Docker),
            (dir.join("podman.sock"), Runtime::Podman),
        ],
        containerd_socket: Some(dir.join("containerd.sock")),
        cri_sockets: vec![(dir.join("crio.sock"), Runtime::CriO)],
        ..Sources::default()
    }
}

fn engine_test(engine: Engine, runtime: Runtime, layout: &str) {
    if !engine.available() {
        return;
    }
    let root = cgroup2_root();
    let c = Container::start(engine, "find");
    // Where the runtime put it, as the container's process sees it.
    let rel = c.cgroup();
    assert_eq!(
        rel,
        format!("{layout}{}", c.id()),
        "{} layout",
        engine.cli()
    );

    let mut registry = Registry::new(&root);
    for query in [c.name(), &c.id()[..8], c.id()] {
        let (dir, info) = expect_one(&mut registry, query);
        assert_eq!(dir, root.join(rel.trim_start_matches('/')), "find({query})");
        assert_eq!(info.id, c.id());
        assert_eq!(info.name.as_deref(), Some(c.name()), "find({query})");
        assert_eq!(info.runtime, runtime);
        assert!(
            info.image
                .as_deref()
                .is_some_and(|i| i.ends_with(contrace_tests::runtime::image())),
            "{info:?}"
        );
    }
    let info = registry.identify(&rel).expect("its cgroup is a container");
    assert_eq!(
        (info.id.as_str(), info.name.as_deref(), info.runtime),
        (c.id(), Some(c.name()), runtime)
    );
    // A cgroup below the container's belongs to it.
    let below = registry.identify(&format!("{rel}/sub")).expect("below");
    assert_eq!(below.id, c.id());

    // `exec` lands in the container's cgroup, and the static workload runs there.
    let inside = c.exec(&["cat", "/proc/self/cgroup"]);
    assert!(inside.lines().any(|l| l == format!("0::{rel}")), "{inside}");
    let out = c.exec(&[
        "/bin/workload",
        "--no-wait",
        "getppid",
        "3",
        "openfail",
        "2",
    ]);
    assert!(out.starts_with("ready "), "{out}");
}

#[test]
fn docker_container_by_name_and_id_prefix() {
    engine_test(Engine::Docker, Runtime::Docker, "/docker/");
}

#[test]
fn podman_container_by_name_and_id_prefix() {
    engine_test(Engine::Podman, Runtime::Podman, "/libpod_parent/libpod-");
}

/// Without any daemon the names still come from docker's and podman's
/// on-disk state, and ids from the cgroup naming alone.
#[test]
fn names_from_on_disk_state_without_daemons() {
    if !Engine::Docker.available() || !Engine::Podman.available() {
        return;
    }
    let root = cgroup2_root();
    let d = Container::start(Engine::Docker, "disk");
    let p = Container::start(Engine::Podman, "disk");
    let mut registry = Registry::with_sources(&root, no_daemons());
    for c in [&d, &p] {
        let (dir, info) = expect_one(&mut registry, c.name());
        assert_eq!(dir, root.join(c.cgroup().trim_start_matches('/')));
        assert_eq!(info.name.as_deref(), Some(c.name()));
        assert_eq!(info.id, c.id());
    }
    let reports: Vec<String> = registry.reports().iter().map(ToString::to_string).collect();
    let text = reports.join("; ");
    assert!(
        text.contains("docker API /nonexistent/contrace-test/docker.sock (absent)"),
        "{text}"
    );
    assert!(
        text.contains("docker state /var/lib/docker/containers ("),
        "{text}"
    );
    // Nothing at all but the cgroup tree: ids still resolve, names do not.
    let mut bare = Registry::with_sources(&root, Sources::none());
    let (_, info) = expect_one(&mut bare, &d.id()[..10]);
    assert_eq!(
        (info.id.as_str(), info.runtime, info.name),
        (d.id(), Runtime::Docker, None)
    );
    assert_eq!(bare.find(d.name()).unwrap(), Found::None);
}

#[test]
fn same_name_in_docker_and_podman_is_ambiguous() {
    if !Engine::Docker.available() || !Engine::Podman.available() {
        return;
    }
    let name = unique_name("twin");
    let d = Container::start_named(Engine::Docker, &name, &[]);
    let p = Container::start_named(Engine::Podman, &name, &[]);
    let mut registry = Registry::new(&cgroup2_root());
    let found = registry.find(&name).unwrap();
    let Found::Many(candidates) = &found else {
        panic!("expected two candidates, got {found:?}");
    };
    let mut ids: Vec<&str> = candidates.iter().map(|c| c.info.id.as_str()).collect();
    ids.sort();
    let mut want = vec![d.id(), p.id()];
    want.sort();
    assert_eq!(ids, want);
    let line = registry.explain(&name, &found).unwrap();
    assert!(line.contains("is ambiguous"), "{line}");
    assert!(
        line.contains(&format!("(docker {})", &d.id()[..12])),
        "{line}"
    );
    assert!(
        line.contains(&format!("(podman {})", &p.id()[..12])),
        "{line}"
    );
    // The id prefix still picks one.
    let (_, info) = expect_one(&mut registry, &p.id()[..12]);
    assert_eq!(info.runtime, Runtime::Podman);
}

#[test]
fn stopped_and_unknown_containers() {
    if !Engine::Docker.available() {
        return;
    }
    let stopped = Container::create(Engine::Docker, "stopped");
    let mut registry = Registry::new(&cgroup2_root());
    let found = registry.find(stopped.name()).unwrap();
    assert!(matches!(found, Found::NotRunning(_)), "{found:?}");
    let line = registry.explain(stopped.name(), &found).unwrap();
    assert!(line.contains("is not running"), "{line}");

    let missing = unique_name("missing");
    let found = registry.find(&missing).unwrap();
    assert_eq!(found, Found::None);
    let line = registry.explain(&missing, &found).unwrap();
    assert!(
        line.starts_with(&format!("no container '{missing}': looked in docker API")),
        "{line}"
    );
    assert!(!line.contains('\n'));
    // Malformed text is a usage error.
    let err = registry.find("a/b/c/d").unwrap_err();
    assert!(
        err.downcast_ref::<kernel::exit::UsageError>().is_some(),
        "{err}"
    );
    assert!(err.to_string().contains("NAMESPACE/POD"), "{err}");
}

/// `runc run` with a short hand-made id: its cgroup is a bare directory
/// named after it, found by the whole name.
#[test]
fn plain_runc_container_with_a_short_id() {
    if !RuncContainer::available() {
        return;
    }
    let root = cgroup2_root();
    let id = "c0ffee1234";
    let c = RuncContainer::start(id, None);
    let rel = c.cgroup();
    assert!(rel.ends_with(&format!("/{id}")), "runc put {id} at {rel}");
    let mut registry = Registry::new(&root);
    let (dir, info) = expect_one(&mut registry, id);
    assert_eq!(dir, root.join(rel.trim_start_matches('/')));
    assert_eq!((info.id.as_str(), info.runtime), (id, Runtime::Runc));
    let info = registry.identify(&rel).expect("runc knows it");
    assert_eq!((info.id.as_str(), info.runtime), (id, Runtime::Runc));
    // runc's state names the cgroup: an id prefix works as for docker.
    let (prefix_dir, _) = expect_one(&mut registry, "c0ffee");
    assert_eq!(prefix_dir, dir);
    drop(c);
    // Gone: the runc state and the directory went with it.
    let mut registry = Registry::new(&root);
    assert_eq!(registry.find(id).unwrap(), Found::None);
}

/// A host without runtimes pays nothing: no socket, no waiting. The
/// timeouts are set to a minute, so a wait on any of them would show as a
/// minute: far from what the lookups take on however loaded a machine.
#[test]
fn no_runtime_costs_nothing() {
    let root = cgroup2_root();
    let mut sources = no_daemons();
    sources.docker_state = "/nonexistent/contrace-test/docker".into();
    sources.podman_state = "/nonexistent/contrace-test/containers.json".into();
    sources.kubelet_logs = "/nonexistent/contrace-test/log".into();
    sources.runc_roots = vec!["/nonexistent/contrace-test/runc".into()];
    sources.connect_timeout = Duration::from_secs(60);
    sources.request_timeout = Duration::from_secs(60);
    let mut registry = Registry::with_sources(&root, sources);
    let start = Instant::now();
    registry.refresh();
    let id = "b42845850f7e30e7b95adc6ad0b1f421fa22a54c496484cbeaa8754123800ce0";
    let info = registry.identify(&format!("/docker/{id}")).unwrap();
    assert_eq!((info.runtime, info.name), (Runtime::Docker, None));
    assert!(registry.identify("/user.slice").is_none());
    let took = start.elapsed();
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

/// A Kubernetes pod made through containerd's CRI (as kubelet would):
/// found as NAMESPACE/POD, NAMESPACE/POD/CONTAINER and by pod UID, and its
/// container's cgroup identified with pod, namespace and name.
#[test]
fn kubernetes_pod_through_containerd_cri() {
    if !CriPod::available() {
        return;
    }
    let root = cgroup2_root();
    let uid = format!(
        "c0de{:04x}-0000-4000-8000-{:012x}",
        std::process::id() & 0xffff,
        1
    );
    let ns = "contrace-test";
    let pod_name = unique_name("pod");
    let mut pod = CriPod::start(ns, &pod_name, &uid, "app");
    let pod_dir = root.join(format!("kubepods/besteffort/pod{uid}"));
    let container_dir = pod_dir.join(&pod.container_id);
    assert!(container_dir.is_dir(), "no {}", container_dir.display());
    if let Ok(dir) = std::env::var("CONTRACE_RECORD_CRI") {
        let (containers, sandboxes) = pod.list_json();
        std::fs::write(format!("{dir}/cri-list-containers.json"), containers).unwrap();
        std::fs::write(format!("{dir}/cri-list-pod-sandbox.json"), sandboxes).unwrap();
        let infos: Vec<serde_json::Value> = [&pod.container_id, &pod.sandbox_id]
            .iter()
            .map(|id| {
                let out = std::process::Command::new("ctr")
                    .args(["-n", "k8s.io", "containers", "info", id])
                    .output()
                    .unwrap();
                let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                // The OCI spec is large and not read.
                v["Spec"] = serde_json::Value::Null;
                v
            })
            .collect();
        std::fs::write(
            format!("{dir}/containerd-k8s-containers.json"),
            serde_json::to_string_pretty(&infos).unwrap(),
        )
        .unwrap();
    }

    let mut registry = Registry::new(&root);
    let rel = format!("/kubepods/besteffort/pod{uid}/{}", pod.container_id);
    let info = registry.identify(&rel).expect("a container");
    assert_eq!(info.id, pod.container_id);
    assert_eq!(info.runtime, Runtime::Containerd);
    assert_eq!(info.name.as_deref(), Some("app"));
    assert_eq!(info.pod.as_deref(), Some(pod_name.as_str()));
    assert_eq!(info.namespace.as_deref(), Some(ns));
    assert_eq!(info.pod_uid.as_deref(), Some(uid.as_str()));
    assert_eq!(info.label(), format!("{ns}/{pod_name}/app"));

    let (dir, found) = expect_one(&mut registry, &format!("{ns}/{pod_name}/app"));
    assert_eq!(
        (dir, found.id.as_str()),
        (container_dir.clone(), pod.container_id.as_str())
    );
    for query in [format!("{ns}/{pod_name}"), uid.clone()] {
        match registry.find(&query).unwrap() {
            Found::Pod { cgroup_dir, info } => {
                assert_eq!(cgroup_dir, pod_dir, "{query}");
                assert_eq!(info.pod.as_deref(), Some(pod_name.as_str()));
                assert_eq!(info.runtime, Runtime::Containerd);
            }
            other => panic!("find({query}) gave {other:?}"),
        }
    }
    // The same through the CRI endpoint alone (as for CRI-O).
    let cri_only = Sources {
        engine_sockets: Vec::new(),
        containerd_socket: None,
        cri_sockets: vec![(CONTAINERD_SOCKET.into(), Runtime::Containerd)],
        ..Sources::default()
    };
    let mut registry = Registry::with_sources(&root, cri_only);
    let info = registry.identify(&rel).expect("a container");
    assert_eq!(info.label(), format!("{ns}/{pod_name}/app"));
    assert_eq!(info.pod_uid.as_deref(), Some(uid.as_str()));
    drop(pod);
    assert!(!pod_dir.exists(), "pod cgroup left behind");
}

// ---- the tools on containers ---------------------------------------------

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

root_test!(completion_offers_container_names, {
    for engine in ENGINES {
        if !engine.available() {
            continue;
        }
        let c = Container::start(engine, "complete-me");
        let prefix = &c.name()[..c.name().len() - 3];
        for tool in TOOLS {
            let offered = complete(tool, &["-c", prefix]);
            assert!(
                offered.iter().any(|o| o == c.name()),
                "{tool} -c {prefix}<TAB> ({}): {offered:?}",
                engine.cli()
            );
        }
        // The id prefix still completes to the short id.
        let offered = complete("constat", &["-c", &c.id()[..6]]);
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

/// A container's calls are served under its cgroup with its id and name.
/// The runtime itself makes a few calls in the container's cgroup on each
/// `exec` (runc's getppid among them): an empty exec measures them, and
/// the workload's exec must add exactly its own calls on top.
fn exporter_counts(engine: Engine) {
    if !engine.available() {
        return;
    }
    // The allow-list: getppid first shows up among the runtime's busier
    // calls, where the top-N rule would put it in "other".
    let exporter = Exporter::start(&["--no-namespaces", "--syscalls", "getppid,openat"]);
    let container = Container::start(engine, "exp");
    let cgroup = container.cgroup();
    // Each count drained after the exec before it (a plain scrape may be
    // older on a loaded machine).
    let mut fence = Fence::new();
    let mut counts = || {
        let series = fence.scrape(&exporter);
        let get = |metric: &str, syscall: &str| {
            value(&series, metric, &cgroup, &[("syscall", syscall)]).unwrap_or(0.0)
        };
        (
            get("contrace_syscalls_total", "getppid"),
            get("contrace_syscall_errors_total", "openat"),
        )
    };
    let start = counts();
    container.exec(&["/bin/workload", "--no-wait", "getppid", "0"]);
    let idle = counts();
    container.exec(&[
        "/bin/workload",
        "--no-wait",
        "getppid",
        "1234",
        "openfail",
        "17",
    ]);
    let busy = counts();
    let runtime = (idle.0 - start.0, idle.1 - start.1);
    assert_eq!(
        (busy.0 - idle.0 - runtime.0, busy.1 - idle.1 - runtime.1),
        (1234.0, 17.0),
        "{}: getppid/openat errors at start {start:?}, after an empty exec {idle:?}, \
         after the workload {busy:?}",
        engine.cli()
    );
    // The runtime's answer lands asynchronously (the labeler thread).
    let deadline = Instant::now() + scaled(WAIT);
    loop {
        let series = exporter.scrape();
        let mine: Vec<&Series> = series
            .iter()
            .filter(|s| s.labels.get("cgroup") == Some(&cgroup))
            .collect();
        assert!(!mine.is_empty());
        let labelled = mine.iter().all(|s| {
            s.labels["container_id"] == container.id()
                && s.labels["container_name"] == container.name()
        });
        if labelled {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{}: labels {mine:?}",
            engine.cli()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

root_test!(exporter_serves_a_docker_containers_counts_under_its_name, {
    exporter_counts(Engine::Docker);
});

root_test!(exporter_serves_a_podman_containers_counts_under_its_name, {
    exporter_counts(Engine::Podman);
});

// A `run --rm` container whose whole life falls between two drains is
// served with its container name (named when its cgroup was made).
root_test!(
    exporter_names_a_container_born_and_gone_between_two_drains,
    {
        for engine in [Engine::Docker, Engine::Podman] {
            if !engine.available() {
                continue;
            }
            let who = engine.cli();
            let exporter = crate::exporter::drained_by_scrapes_only();
            let name = unique_name("exp-brief");
            let work = ["/bin/workload", "--no-wait", "getppid", "5"];
            let out = engine.run_to_end(&name, &[], &work);
            assert!(out.status.success(), "{who}: {out:?}");
            let series = exporter.scrape();
            let mine: Vec<&Series> = series
                .iter()
                .filter(|s| s.labels.get("container_name") == Some(&name))
                .collect();
            let getppid = mine
                .iter()
                .find(|s| {
                    s.name == "contrace_syscalls_total"
                        && s.labels.get("syscall").map(String::as_str) == Some("getppid")
                })
                .map_or(0.0, |s| s.value);
            // The runtime makes a few getppid of its own in the container's cgroup.
            assert!(getppid >= 5.0, "{who}: {name} not named: {mine:?}");
            assert!(
                mine.iter().all(|s| s.labels["cgroup"].starts_with('/')),
                "{who}: {mine:?}"
            );
        }
    }
);

/// A daemon that answers an empty list until `hang` is set, then accepts
/// connections and never answers them (a daemon waiting on a lock, as
/// podman's API does while `podman run` starts a container). Connections
/// it holds are closed when it is dropped.
struct HungDaemon {
    path: PathBuf,
    hang: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<usize>>,
}

impl HungDaemon {
    fn start(path: PathBuf) -> Self {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind the fake daemon");
        listener.set_nonblocking(true).expect("nonblocking");
        let hang = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (h, s) = (hang.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !s.load(Ordering::Acquire) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                if h.load(Ordering::Acquire) {
                    held.push(conn);
                    continue;
                }
                conn.set_nonblocking(false).ok();
                let mut request = [0u8; 4096];
                let _ = conn.read(&mut request);
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                      Content-Length: 2\r\nConnection: close\r\n\r\n[]",
                );
            }
            held.len()
        });
        Self {
            path,
            hang,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops answering; the connections held so far, once it is stopped.
    fn hang(&self) {
        self.hang.store(true, std::sync::atomic::Ordering::Release);
    }

    fn stop(&mut self) -> usize {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        let held = self.thread.take().map_or(0, |t| t.join().unwrap_or(0));
        let _ = std::fs::remove_file(&self.path);
        held
    }
}

impl Drop for HungDaemon {
    fn drop(&mut self) {
        self.stop();
    }
}

// Names at birth never wait on a daemon: a container is named from what its
// runtime wrote on disk (before its cgroup was made) while the daemon's API
// hangs, as podman's does while `podman run --rm` holds its lock for the
// short life of a container (the cause of a container recorded by its
// cgroup path alone).
/// Names at birth with every daemon of `sources` replaced by one that hangs
/// once the watcher has started: `start` makes the container and returns
/// (what keeps it alive, its cgroup relative to the mount, its name); the
/// name the watcher gave it, and what it saw, after at most WAIT.
fn named_at_birth_while_daemons_hang<T>(
    sources: impl FnOnce(PathBuf) -> Sources,
    start: impl FnOnce() -> (T, String, String),
) {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut daemon = HungDaemon::start(dir.path().join("daemon.sock"));
    let mut sources = sources(daemon.path.clone());
    sources.request_timeout = Duration::from_secs(3600);
    let root = cgroup2_root();
    let births = identity::resolver::births::Births::start_with(&root, sources)
        .expect("start the births watcher");
    daemon.hang();
    let (_alive, cgroup, want) = start();
    let id = std::fs::metadata(root.join(cgroup.trim_start_matches('/')))
        .expect("the container's cgroup")
        .ino();
    let deadline = Instant::now() + scaled(WAIT);
    let (sight, name) = loop {
        let sight = births.get(id);
        let name = sight
            .as_ref()
            .and_then(|s| s.container.as_ref()?.name.clone());
        if name.is_some() || Instant::now() > deadline {
            break (sight, name);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Held connections closed first: the watcher is never left waiting.
    let held = daemon.stop();
    drop(births);
    assert_eq!(
        name.as_deref(),
        Some(want.as_str()),
        "{cgroup} seen as {sight:?} ({held} daemon queries left hanging)"
    );
}

// Names at birth never wait on a daemon: a container is named from what its
// runtime wrote on disk (before its cgroup was made) while the daemon's API
// hangs, as podman's does while `podman run --rm` holds its lock for the
// short life of a container (the cause of a container recorded by its
// cgroup path alone). Docker and podman; then a Kubernetes pod's container
// made through containerd's CRI, named from its task bundle while
// containerd's API hangs: the pod's sandbox, which nothing names, is asked
// about on a thread of its own, and the container born after it is named
// all the same.
root_test!(a_container_is_named_at_birth_while_its_daemon_hangs, {
    for (engine, runtime) in [
        (Engine::Docker, Runtime::Docker),
        (Engine::Podman, Runtime::Podman),
    ] {
        if !engine.available() {
            continue;
        }
        named_at_birth_while_daemons_hang(
            |socket| Sources {
                engine_sockets: vec![(socket, runtime)],
                containerd_socket: None,
                cri_sockets: Vec::new(),
                ..Sources::default()
            },
            || {
                let c = Container::start(engine, "birth-hang");
                let (cgroup, name) = (c.cgroup(), c.name().to_string());
                (c, cgroup, name)
            },
        );
    }
    if !CriPod::available() {
        return;
    }
    named_at_birth_while_daemons_hang(
        |socket| Sources {
            engine_sockets: Vec::new(),
            containerd_socket: Some(socket.clone()),
            cri_sockets: vec![(socket, Runtime::Containerd)],
            ..Sources::default()
        },
        || {
            let uid = format!(
                "b1a7{:04x}-0000-4000-8000-{:012x}",
                std::process::id() & 0xffff,
                2
            );
            let pod = CriPod::start("contrace-test", &unique_name("birth"), &uid, "app");
            let cgroup = format!("/kubepods/besteffort/pod{uid}/{}", pod.container_id);
            (pod, cgroup, "app".to_string())
        },
    );
});
