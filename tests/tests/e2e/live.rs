//! The full-screen views in a real terminal (tmux): what is on screen for
//! cgroups and a container doing known work, the keys, and the terminal
//! left as it was found (alternate screen off, cursor shown) on `q` and on
//! SIGTERM.

use contrace_tests::runtime::{Container, Engine};
use contrace_tests::tmux::Pane;
use contrace_tests::*;

const SIZE: (u16, u16) = (200, 50);

fn tool(name: &str) -> String {
    bin(name).display().to_string()
}

/// The cells of the row whose first cell is `name` (the selection mark
/// `>` dropped).
fn row<'a>(screen: &'a str, name: &str) -> Option<Vec<&'a str>> {
    screen.lines().find_map(|l| {
        let cells: Vec<&str> = l.split_whitespace().filter(|c| *c != ">").collect();
        (cells.first() == Some(&name)).then_some(cells)
    })
}

fn cell(screen: &str, name: &str, column: usize) -> Option<String> {
    row(screen, name).and_then(|r| r.get(column).map(|c| c.to_string()))
}

/// Whether `first` is on a line above `second` (both on screen).
fn above(screen: &str, first: &str, second: &str) -> bool {
    let at = |name: &str| {
        screen
            .lines()
            .position(|l| l.split_whitespace().any(|c| c == name))
    };
    matches!((at(first), at(second)), (Some(a), Some(b)) if a < b)
}

/// The footer while a filter is typed.
const EDITING: &str = "Esc clear";

// Every key is sent once the screen shows the state the key before it led
// to (a state only that key draws, so a half-drawn frame cannot pass for
// it): keys sent together can be read together (Escape then `/` reads as
// Alt-/), and a re-sort's header is drawn before its rows.
root_test!(live_view_counts_sorts_filters_and_drills_down, {
    let busy = TestCgroup::new("tui-busy");
    let fail = TestCgroup::new("tui-fail");
    let (busy_name, fail_name) = (rel(&busy.path), rel(&fail.path));
    let pane = Pane::start(&tool("constat"), &["--live", "-i", "1"], &[], SIZE);
    pane.wait_for("the live view", |s| {
        s.contains("CONTAINER") && s.contains("CALLS/s")
    });
    assert_eq!(pane.flag("#{alternate_on}"), "1", "full screen");
    // 500 getppid every 100 ms for 10 s: 5000/s, 50000 in all.
    let mut paced = Workload::spawn(Some(&busy.path), &["paced", "500", "100", "100"]);
    let failing = Workload::spawn(Some(&fail.path), &["openfail", "700"]);
    paced.go();
    failing.finish();
    pane.wait_for("both cgroups", |s| {
        row(s, &busy_name).is_some() && row(s, &fail_name).is_some()
    });

    // `/` filters by name; Enter keeps it, `/` Esc clears it.
    pane.keys(&["/"]);
    pane.wait_for("the filter prompt", |s| s.contains(EDITING));
    pane.type_text("tui-busy");
    pane.wait_for("the typed filter", |s| s.contains("filter: tui-busy_"));
    pane.keys(&["Enter"]);
    let screen = pane.wait_for("the filter kept", |s| {
        s.contains("filter: tui-busy") && !s.contains(EDITING) && row(s, &busy_name).is_some()
    });
    assert!(row(&screen, &fail_name).is_none(), "filtered out: {screen}");
    pane.keys(&["/"]);
    pane.wait_for("the filter prompt again", |s| s.contains(EDITING));
    pane.keys(&["Escape"]);
    pane.wait_for("no filter", |s| {
        !s.contains("filter:") && s.contains("/ filter") && row(s, &fail_name).is_some()
    });
    pane.keys(&["/"]);
    pane.wait_for("an empty filter prompt", |s| s.contains("filter: _"));
    pane.type_text("-tui-");
    pane.wait_for("the typed filter", |s| s.contains("filter: -tui-_"));
    pane.keys(&["Enter"]);
    pane.wait_for("both again", |s| {
        s.contains("filter: -tui-")
            && !s.contains(EDITING)
            && row(s, &busy_name).is_some()
            && row(s, &fail_name).is_some()
    });

    // Keys re-sort: errors puts the failing cgroup first, name and count
    // the busy one; the footer marks the sort.
    pane.keys(&["e"]);
    pane.wait_for("sort by errors, the failing cgroup first", |s| {
        s.contains("sort: errors") && s.contains("e errors*") && above(s, &fail_name, &busy_name)
    });
    pane.keys(&["n"]);
    pane.wait_for("sort by name, the busy cgroup first", |s| {
        s.contains("sort: name") && above(s, &busy_name, &fail_name)
    });
    pane.keys(&["c"]);
    pane.wait_for("sort by calls, the busy cgroup first", |s| {
        s.contains("sort: calls") && above(s, &busy_name, &fail_name)
    });

    // Enter drills into the selected (first) row: the busy cgroup. Its
    // rate is the calls of the last interval over the interval's length:
    // 5000/s while the pace holds, whatever the machine's load does to the
    // interval (a late interval is measured, not assumed).
    pane.keys(&["Enter"]);
    let screen = pane.wait_for("a second of paced calls at 5000/s", |s| {
        s.contains("SYSCALL")
            && cell(s, "getppid", 1)
                .and_then(|c| c.parse::<f64>().ok())
                .is_some_and(|rate| (4250.0..=5750.0).contains(&rate))
    });
    assert!(screen.contains("mean latency of getppid"), "{screen}");
    paced.finish();
    let screen = pane.wait_for("every call counted", |s| {
        cell(s, "getppid", 2).as_deref() == Some("50000")
    });
    assert_eq!(
        cell(&screen, "getppid", 3).as_deref(),
        Some("0"),
        "{screen}"
    );

    // Esc goes back; the failing cgroup's openat row has its 700 ENOENTs.
    pane.keys(&["Escape"]);
    let screen = pane.wait_for("the cgroups again", |s| {
        s.contains("CONTAINER") && row(s, &busy_name).is_some()
    });
    assert_eq!(
        cell(&screen, &busy_name, 4).as_deref(),
        Some("getppid"),
        "{screen}"
    );
    pane.keys(&["Down"]);
    pane.wait_for("the failing cgroup selected", |s| {
        s.lines()
            .any(|l| l.trim_start().starts_with('>') && l.contains(fail_name.as_str()))
    });
    pane.keys(&["Enter"]);
    let screen = pane.wait_for("the failing cgroup's syscalls", |s| {
        s.contains("SYSCALL") && row(s, "openat").is_some()
    });
    let openat = row(&screen, "openat").unwrap();
    assert_eq!(
        (openat[2], openat[3], openat[4]),
        ("700", "700", "ENOENT"),
        "{screen}"
    );

    pane.keys(&["q"]);
    assert_eq!(pane.exit_status(), 0);
    assert!(pane.restored(), "alternate screen left, cursor shown");
});

root_test!(live_opens_on_a_docker_container_given_with_c, {
    let engine = Engine::Docker;
    if !engine.available() {
        panic!("docker is not running: scripts/runtimes start (scripts/test does)");
    }
    let c = Container::start(engine, "tuic-live");
    let pane = Pane::start(&tool("constat"), &["--live", "-c", c.name()], &[], SIZE);
    let screen = pane.wait_for("the container's syscalls", |s| s.contains("SYSCALL"));
    assert!(
        screen.contains(c.name()),
        "named by the container: {screen}"
    );
    c.exec(&["/bin/workload", "--no-wait", "getppid", "777"]);
    pane.wait_for("777 getppid", |s| {
        cell(s, "getppid", 2).as_deref() == Some("777")
    });
    pane.keys(&["Escape"]);
    let screen = pane.wait_for("the container's row", |s| s.contains("CONTAINER"));
    let mine = row(&screen, c.name()).unwrap_or_else(|| panic!("{screen}"));
    let calls: u64 = mine[5].parse().unwrap();
    assert!(calls >= 777, "{screen}");
    pane.keys(&["q"]);
    assert_eq!(pane.exit_status(), 0);
    assert!(pane.restored());
});

root_test!(sigterm_restores_the_terminal, {
    let pane = Pane::start(&tool("constat"), &["--live"], &[], SIZE);
    pane.wait_for("the live view", |s| s.contains("CONTAINER"));
    assert_eq!(pane.flag("#{alternate_on}"), "1");
    let pid = pane.tool_pid();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    assert_eq!(pane.exit_status(), 0);
    assert!(pane.restored(), "{}", pane.screen());
});

root_test!(live_without_a_terminal_is_refused_in_one_line, {
    let done = run_tool("constat", &["--live"]);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert_eq!(done.stderr.lines().count(), 1, "{}", done.stderr);
    assert!(done.stderr.contains("needs a terminal"), "{}", done.stderr);
    assert!(done.stdout.is_empty());
    for bad in [
        &["--live", "-o", "json"][..],
        &["--live", "-i", "0"],
        &["--live", "-P"],
    ] {
        let done = run_tool("constat", bad);
        assert_eq!(done.code, Some(2), "{bad:?}: {}", done.stderr);
    }
});

root_test!(conbiograph_live_is_full_screen_and_restores, {
    let cg = TestCgroup::new("tuiterm-cbg");
    let pane = Pane::start(
        &tool("conbiograph"),
        &["-t", "200", "-c", &cg.arg(), "--live"],
        &[("COLUMNS", "100")],
        (120, 40),
    );
    let screen = pane.wait_for("a frame", |s| s.contains("so far:"));
    assert!(screen.contains("q or Ctrl-C"), "{screen}");
    assert_eq!(pane.flag("#{alternate_on}"), "1");
    pane.keys(&["q"]);
    assert_eq!(pane.exit_status(), 0);
    assert!(pane.restored());
    let screen = pane.screen();
    assert!(
        screen.contains("write: none; read: none."),
        "the final chart below: {screen}"
    );
});

root_test!(replay_live_steps_through_the_reports, {
    let cg = TestCgroup::new("tuiterm-replay");
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let path = file.path().display().to_string();
    let running = Tool::start(
        "constat",
        &["-c", &cg.arg(), "-i", "1", "-d", "3.5", "--record", &path],
    );
    let mut w = Workload::spawn(
        Some(&cg.path),
        &["getppid", "300", "sleep", "1500", "getppid", "400"],
    );
    w.go();
    let done = running.wait();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    drop(w);
    let reports = std::fs::read_to_string(&path).unwrap().lines().count();
    assert!(
        reports >= 3,
        "a report per second and the final one: {reports}"
    );

    let pane = Pane::start(&tool("constat"), &["--replay", &path, "--live"], &[], SIZE);
    pane.wait_for("the first report", |s| {
        s.contains(&format!("report 1/{reports}"))
    });
    pane.keys(&["Right"]);
    pane.wait_for("the second report", |s| {
        s.contains(&format!("report 2/{reports}"))
    });
    pane.keys(&["End", "Right", "Right"]);
    pane.wait_for("the last report", |s| {
        s.contains(&format!("report {reports}/{reports}"))
    });
    pane.keys(&["Enter"]);
    pane.wait_for("700 getppid in all", |s| {
        cell(s, "getppid", 2).as_deref() == Some("700")
    });
    pane.keys(&["Left", "Left", "Left"]);
    pane.wait_for("back at the first", |s| {
        s.contains(&format!("report 1/{reports}"))
    });
    pane.keys(&["q"]);
    assert_eq!(pane.exit_status(), 0);
    assert!(pane.restored());
});

root_test!(live_c_counts_the_targets_child_cgroups_as_every_c_does, {
    let parent = TestCgroup::new("tui-subtree");
    let child = parent.child("job");
    let pane = Pane::start(
        &tool("constat"),
        &["--live", "-c", &parent.arg()],
        &[],
        SIZE,
    );
    pane.wait_for("the target's syscalls", |s| s.contains("SYSCALL"));
    let mut work = Workload::spawn(Some(&child), &["getppid", "777"]);
    work.go();
    work.finish();
    pane.wait_for("the child cgroup's 777 getppid in the target", |s| {
        cell(s, "getppid", 2).as_deref() == Some("777")
    });
    pane.keys(&["q"]);
    assert_eq!(pane.exit_status(), 0);
});
