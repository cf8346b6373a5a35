//! Kernel hash sizing travels by value: `--max-entries` reaches each
//! collector (constat's own, syscount's, syscount's run by constat -P), the
//! drop warning names the size that collector's hashes got, and two
//! collectors in one process keep their own sizes.

use std::mem::MaybeUninit;

use contrace_tests::{root_test, run_workload, TestCgroup, Tool};
use identity::target::Target;
use kernel::collector::Aggregator;
use kernel::mapsize::{drop_advice, MapSize, Sizing, MIN_ENTRIES};

/// Child cgroups each making [`SYSCALLS`] distinct calls: with the
/// workload's own calls, ~1 500 (cgroup, syscall) keys in one period.
const CGROUPS: usize = 40;
const SYSCALLS: &str = "28";
/// Forked children, one key each with -P.
const FORKS: usize = 1200;
/// The size asked for: fewer entries than the keys above.
const SMALL: u32 = 1024;

root_test!(drops_are_warned_about_with_the_size_the_maps_got, {
    let parent = TestCgroup::new("mapsize");
    let small = SMALL.to_string();
    let runs: [(&str, Vec<&str>); 3] = [
        // constat's own collector, every cgroup of the host.
        ("constat", vec!["--max-entries", &small]),
        // The engine in syscount's -P mode, run by constat (keyed by process).
        (
            "constat",
            vec![
                "-P",
                "-c",
                parent.path.to_str().unwrap(),
                "--max-entries",
                &small,
            ],
        ),
        // syscount's own (keyed by cgroup and syscall).
        (
            "syscount",
            vec![
                "--by-cgroup",
                "-c",
                parent.path.to_str().unwrap(),
                "--max-entries",
                &small,
            ],
        ),
    ];
    let tools: Vec<Tool> = runs
        .iter()
        .map(|(tool, args)| {
            let mut all = args.clone();
            all.extend(["--output", "json"]);
            Tool::start(tool, &all)
        })
        .collect();
    for i in 0..CGROUPS {
        let child = parent.child(&format!("c{i}"));
        run_workload(Some(&child), &["--no-wait", "distinct", SYSCALLS, "1"]);
    }
    let mut args = vec!["--no-wait"];
    // Each child makes one call of its own: one key each with -P (a
    // fork's return in the child is no call).
    args.extend(std::iter::repeat_n("fork-call", FORKS));
    run_workload(Some(&parent.path), &args);
    for ((tool, args), running) in runs.iter().zip(tools) {
        let done = running.stop();
        let what = format!("{tool} {args:?}");
        assert_eq!(done.code, Some(0), "{what}: {}", done.stderr);
        let report = done.json().into_iter().last().expect("a report");
        let dropped = report["dropped"].as_u64().expect("dropped");
        let rows = report["rows"].as_array().map_or(0, Vec::len);
        assert!(
            dropped > 0,
            "{what}: more keys than {SMALL} entries, nothing dropped ({rows} rows)"
        );
        let warning = format!(
            "warning: {dropped} updates dropped by the kernel side: the kernel hashes held \
             {SMALL} entries: rerun with a larger --max-entries (e.g. {}) or a shorter -i",
            SMALL * 4
        );
        assert!(done.stderr.contains(&warning), "{what}: {}", done.stderr);
    }
});

/// Sized from this host, as a tool without --max-entries sizes its maps.
fn host_sizing() -> Sizing {
    Sizing {
        max_entries: None,
        host: kernel::mapsize::HostLoad::measure(&contrace_tests::cgroup2_root()),
    }
}

root_test!(two_collectors_in_one_process_keep_their_own_sizes, {
    let host = Target::host();
    let filters = engine::Filters::all(&host);
    let by_cgroup = engine::Mode {
        by_cgroup: true,
        ..engine::Mode::default()
    };
    let small = Sizing {
        max_entries: Some(SMALL),
        ..Sizing::default()
    };
    let mut o1 = MaybeUninit::uninit();
    let mut sized = engine::Collector::start(&mut o1, &filters, by_cgroup, small)
        .expect("syscount --by-cgroup");
    // Started after the small one, sized from the host.
    let mut o2 = MaybeUninit::uninit();
    let mut from_host =
        constat::Collector::start(&mut o2, &host, host_sizing()).expect("constat host-wide");
    // Per syscall only: no keyed hash, whatever the sizing.
    let mut o3 = MaybeUninit::uninit();
    let mut plain = engine::Collector::start(&mut o3, &filters, engine::Mode::default(), small)
        .expect("syscount");

    let held = Some(MapSize {
        entries: SMALL,
        preallocated: true,
    });
    assert_eq!(sized.map_size(), held);
    let host_size = from_host.map_size().expect("constat host-wide keys a hash");
    assert!(host_size.entries >= MIN_ENTRIES, "{host_size:?}");
    assert_eq!(plain.map_size(), None);

    // Each collector keeps its own sizes through its drains (the one copy
    // the sink reads), and the advice follows.
    sized.drain().expect("drain");
    assert!(drop_advice(sized.map_size()).contains(&format!("held {SMALL} entries")));
    from_host.drain().expect("drain");
    assert_eq!(from_host.map_size(), Some(host_size));
    plain.drain().expect("drain");
    assert!(drop_advice(plain.map_size()).contains("per-task storage"));
    sized.finish().expect("finish");
    assert_eq!(sized.map_size(), held);
});
