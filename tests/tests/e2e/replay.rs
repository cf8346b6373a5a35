//! `--record FILE` and `--replay FILE`: a recorded run replays to exactly
//! the text the live run printed (constat's tables, unsharesnoop's lines,
//! conbiograph's chart and summary); damaged lines and other tools' files
//! stop the replay with one line naming the file and line, after what came
//! before them.

use std::process::{Command, Stdio};

use contrace_tests::*;

fn temp() -> tempfile::NamedTempFile {
    tempfile::NamedTempFile::new().expect("temp file")
}

/// Runs `tool ARGS` (env `COLUMNS=100`) to completion: the `-d` runs end
/// by themselves.
fn finish(tool: &str, args: &[&str], work: impl FnOnce()) -> Finished {
    let mut cmd = Command::new(bin(tool));
    cmd.args(args).env("COLUMNS", "100");
    let running = Tool::start_command(tool, cmd);
    work();
    let done = running.wait();
    assert_eq!(done.code, Some(0), "{tool} {args:?}: {}", done.stderr);
    done
}

/// `tool --replay FILE [extra]`, stdin from `stdin` when given.
fn replay(tool: &str, file: &str, extra: &[&str], stdin: Option<&str>) -> Finished {
    let mut cmd = Command::new(bin(tool));
    cmd.arg("--replay")
        .arg(file)
        .args(extra)
        .env("COLUMNS", "100");
    cmd.stdin(match stdin {
        Some(path) => Stdio::from(std::fs::File::open(path).expect("open record")),
        None => Stdio::null(),
    });
    run_command(&mut cmd)
}

fn lines(path: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("record")
        .lines()
        .map(str::to_string)
        .collect()
}

root_test!(constat_tables_replay_byte_for_byte, {
    let cg = TestCgroup::new("replay-constat");
    for shape in [
        vec!["-i", "1", "-d", "3.5"],
        vec!["-c", &cg.arg(), "-i", "1", "-d", "2.5"],
        vec!["--by-syscall", "-T", "3", "-d", "1.5"],
        vec!["-t", "-d", "1.5"],
    ] {
        let file = temp();
        let path = file.path().display().to_string();
        let mut args = shape.clone();
        args.extend(["--record", &path]);
        let live = finish("constat", &args, || {
            run_workload(Some(&cg.path), &["getppid", "1234", "openfail", "56"]);
        });
        let again = replay("constat", &path, &[], None);
        assert_eq!(again.code, Some(0), "{shape:?}: {}", again.stderr);
        assert_eq!(again.stdout, live.stdout, "{shape:?}: the same tables");
        assert!(!live.stdout.is_empty());
        let recorded = lines(&path);
        if shape.contains(&"-i") {
            let headers = live.stdout.lines().filter(|l| l.starts_with('[')).count();
            assert_eq!(headers, recorded.len(), "{shape:?}: a table per report");
            assert!(recorded.len() >= 3, "{shape:?}: {}", recorded.len());
        }
        if shape.contains(&"-c") {
            // The target's getppid count, exact, in the tables of the replay.
            let total: u64 = again
                .stdout
                .lines()
                .filter(|l| l.starts_with("getppid "))
                .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
                .sum();
            assert_eq!(total, 1234, "{}", again.stdout);
        }
        // stdin as `-` replays the same.
        let piped = replay("constat", "-", &[], Some(&path));
        assert_eq!(piped.stdout, live.stdout, "{shape:?} from stdin");
    }
});

root_test!(a_damaged_line_stops_the_replay_after_what_came_before, {
    let file = temp();
    let path = file.path().display().to_string();
    let live = finish(
        "constat",
        &["-i", "1", "-d", "3.5", "--record", &path],
        || {},
    );
    let recorded = lines(&path);
    assert!(recorded.len() >= 3);
    // The third line cut in half, as by a full disk.
    let damaged = temp();
    let third = &recorded[2];
    let text = format!(
        "{}\n{}\n{}\n",
        recorded[0],
        recorded[1],
        &third[..third.len() / 2]
    );
    std::fs::write(damaged.path(), text).unwrap();
    let dpath = damaged.path().display().to_string();
    let done = replay("constat", &dpath, &[], None);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert_eq!(done.stderr.lines().count(), 1, "{}", done.stderr);
    assert!(
        done.stderr.contains(&format!("{dpath}:3: damaged line")),
        "{}",
        done.stderr
    );
    assert!(
        done.stderr.contains("replay stopped there"),
        "{}",
        done.stderr
    );
    // The first two tables, exactly as the live run printed them.
    let third_table = live
        .stdout
        .match_indices("\n[")
        .nth(1)
        .map(|(at, _)| at + 1)
        .expect("three tables");
    assert_eq!(done.stdout, live.stdout[..third_table]);

    // Another tool's file is named as such, and nothing is printed.
    let unshare = temp();
    std::fs::write(
        unshare.path(),
        "{\"type\":\"summary\",\"events\":0,\"lost\":0,\"untraced\":0,\"target\":null}\n",
    )
    .unwrap();
    let upath = unshare.path().display().to_string();
    let done = replay("constat", &upath, &[], None);
    assert_eq!(done.code, Some(2));
    assert!(
        done.stderr.contains(&format!(
            "{upath}:1: an unsharesnoop record, not constat's; replay it with unsharesnoop --replay"
        )),
        "{}",
        done.stderr
    );
    assert!(done.stdout.is_empty(), "{}", done.stdout);
    for tool in ["unsharesnoop", "conbiograph"] {
        let done = replay(tool, &path, &[], None);
        assert_eq!(done.code, Some(2), "{tool}: {}", done.stderr);
        assert!(
            done.stderr.contains("a constat record"),
            "{tool}: {}",
            done.stderr
        );
    }
    let done = replay("constat", "/no/such/file", &[], None);
    assert_eq!(done.code, Some(2));
    assert!(
        done.stderr.contains("--replay /no/such/file: cannot open"),
        "{}",
        done.stderr
    );
    let done = replay("constat", &path, &["-c", "/"], None);
    assert_eq!(done.code, Some(2), "a trace option with --replay");
});

root_test!(unsharesnoop_lines_replay_byte_for_byte, {
    let cg = TestCgroup::new("replay-unshare");
    let file = temp();
    let path = file.path().display().to_string();
    for (extra, name) in [(vec!["--exact"], "exact"), (vec![], "descendants")] {
        let mut args = vec![
            "-c",
            cg.path.to_str().unwrap(),
            "-a",
            "-d",
            "2",
            "--record",
            &path,
        ];
        args.extend(extra.iter());
        let live = finish("unsharesnoop", &args, || {
            run_workload(
                Some(&cg.path),
                &["unshare", "0x04000000", "unshare", "0x00002000"],
            );
        });
        assert!(
            live.stdout.contains("CLONE_NEWUTS"),
            "{name}: {}",
            live.stdout
        );
        assert!(live.stdout.contains("EINVAL"), "{name}: {}", live.stdout);
        let again = replay("unsharesnoop", &path, &[], None);
        assert_eq!(again.code, Some(0), "{name}: {}", again.stderr);
        assert_eq!(again.stdout, live.stdout, "{name}: the same lines");
        assert!(
            again.stderr.contains("2 events, 0 lost"),
            "{}",
            again.stderr
        );
    }
    // Without the summary (a killed run): every line, then the error.
    let recorded = lines(&path);
    let cut = temp();
    std::fs::write(cut.path(), format!("{}\n", recorded[0])).unwrap();
    let done = replay("unsharesnoop", cut.path().to_str().unwrap(), &[], None);
    assert_eq!(done.code, Some(2));
    assert!(done.stdout.contains("CLONE_NEWUTS"), "{}", done.stdout);
    assert!(
        done.stderr.contains("without the summary line"),
        "{}",
        done.stderr
    );
});

root_test!(conbiograph_chart_replays_byte_for_byte, {
    let cg = TestCgroup::new("replay-cbg");
    let dir =
        std::path::Path::new("/var/tmp").join(format!("contrace-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data.bin").display().to_string();
    for shape in [vec![], vec!["--count"], vec!["--write"]] {
        let file = temp();
        let path = file.path().display().to_string();
        let mut args = vec!["-t", "200", "-c", cg.path.to_str().unwrap(), "-d", "2"];
        args.extend(shape.iter());
        args.extend(["--record", &path]);
        let live = finish("conbiograph", &args, || {
            run_workload(Some(&cg.path), &["write-direct", &data, "4194304"]);
        });
        assert!(
            live.stdout.contains("write: 4.0 MiB"),
            "{shape:?}: {}",
            live.stdout
        );
        let again = replay("conbiograph", &path, &[], None);
        assert_eq!(again.code, Some(0), "{shape:?}: {}", again.stderr);
        assert_eq!(
            again.stdout, live.stdout,
            "{shape:?}: the same chart and summary"
        );
        let periods = lines(&path).len() - 1;
        assert!((9..=11).contains(&periods), "{periods}");
    }
    let _ = std::fs::remove_dir_all(&dir);
});

root_test!(record_writes_what_json_prints_in_every_tool, {
    let cg = TestCgroup::new("replay-record");
    let file = temp();
    let path = file.path().display().to_string();
    let done = finish(
        "syscount",
        &[
            "-c",
            cg.path.to_str().unwrap(),
            "-d",
            "1.5",
            "--record",
            &path,
        ],
        || {
            run_workload(Some(&cg.path), &["getppid", "321"]);
        },
    );
    assert!(
        done.stdout.contains("getppid"),
        "tables shown: {}",
        done.stdout
    );
    let recorded = lines(&path);
    assert_eq!(recorded.len(), 1, "one report");
    let report: serde_json::Value = serde_json::from_str(&recorded[0]).unwrap();
    assert_eq!(u(row(&report, "getppid"), "count"), 321, "{report}");
    let done = run_tool("constat", &["--record", "/no/such/dir/x.ndjson", "-d", "1"]);
    assert_eq!(done.code, Some(2), "{}", done.stderr);
    assert!(done.stderr.contains("cannot create"), "{}", done.stderr);
});
