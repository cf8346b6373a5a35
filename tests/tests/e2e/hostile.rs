//! Signals, pipes, terminals and hostile input, in every tool: how a run
//! stops (SIGINT, SIGTERM, SIGHUP, `timeout -s INT`, a second Ctrl-C
//! during a stuck report, a terminal that hangs up, a closed pipe or
//! stderr, kill -9, signals during start-up, a tiny interval) and input
//! meant to break it (whitespace and bytes that are not UTF-8 in names and
//! arguments, escape sequences in cgroup names, huge values).

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use contrace_tests::bpf::{program_loaded, programs_held_by};
use contrace_tests::units::{
    has_final_report, measured, run_work, scratch, tool_command, traced_id,
};
use contrace_tests::*;
use nix::sys::signal::Signal;

root_test!(sigterm_and_sighup_print_the_final_report, {
    let cg = TestCgroup::new("hard-signals");
    for tool in TOOLS {
        for sig in [Signal::SIGTERM, Signal::SIGHUP, Signal::SIGINT] {
            let t = Tool::start(tool, &["-c", &cg.arg(), "--output", "json"]);
            let done = t.signal(sig);
            assert_eq!(done.code, Some(0), "{tool} {sig}: {}", done.stderr);
            assert!(!done.json().is_empty(), "{tool} {sig}: no final report");
            assert!(!done.stderr.contains("panicked"), "{tool}: {}", done.stderr);
        }
    }
});

root_test!(one_signal_message_for_every_tool, {
    let cg = TestCgroup::new("ux-signal");
    for tool in TOOLS {
        let t = Tool::start(tool, &["-c", &cg.arg()]);
        let done = t.stop();
        assert_eq!(done.code, Some(0), "{tool}: {}", done.stderr);
        assert_eq!(
            done.stderr
                .lines()
                .filter(|l| *l == "Received signal, summarizing")
                .count(),
            1,
            "{tool}: {}",
            done.stderr
        );
        assert!(
            !done.stdout.contains("Received"),
            "{tool}: stdout is data only"
        );
    }
    // syscount's stdout keeps libbpf-tools' shape: [HH:MM:SS], the header, rows.
    let w = Workload::spawn(Some(&cg.path), &["getppid", "42"]);
    let t = Tool::start("syscount", &["-c", &cg.arg(), "--syscall", "getppid"]);
    w.finish();
    let done = t.stop();
    // [HH:MM:SS], the header, the row, then libbpf-tools' empty line.
    let lines: Vec<&str> = done.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", done.stdout);
    assert_eq!(lines[3], "", "{}", done.stdout);
    assert!(
        lines[0].starts_with('[') && lines[0].len() == 10,
        "{}",
        lines[0]
    );
    assert_eq!(lines[1], format!("{:<22} {:>8}", "SYSCALL", "COUNT"));
    assert_eq!(lines[2], format!("{:<22} {:>8}", "getppid", 42));
});

root_test!(
    /// `timeout -s INT` delivers SIGINT twice (to the tool, then to its
    /// group): one stop with a complete final report, exit 0, every time.
    timeout_s_int_gives_a_whole_report_in_every_tool,
    {
        let cg = TestCgroup::new("timeout");
        for tool in TOOLS {
            for round in 0..3 {
                let done = run_command(
                    Command::new("timeout")
                        .args(["--preserve-status", "-s", "INT", "2"])
                        .arg(bin(tool))
                        .args(["-c", cg.path.to_str().unwrap(), "--output", "json"]),
                );
                assert_eq!(done.code, Some(0), "{tool} round {round}: {}", done.stderr);
                assert!(
                    has_final_report(tool, &done),
                    "{tool} round {round}: {}",
                    done.stdout
                );
            }
        }
    }
);

root_test!(
    /// A deliberate second Ctrl-C, well after the first, while the final
    /// report is stuck (larger than a pipe buffer, written to a pipe nobody
    /// reads, as on a stalled terminal), exits 130 at once.
    alone a_second_sigint_during_a_stuck_final_report_exits_130,
    {
        use std::io::{BufRead, BufReader};
        for (tool, view) in [("constat", "--by-syscall"), ("syscount", "--by-cgroup")] {
            let parent = TestCgroup::new(&format!("stuck-{tool}"));
            let children: Vec<_> = (0..600).map(|i| parent.child(&format!("c{i}"))).collect();
            let mut child = Command::new(bin(tool))
                .args([view, "-T", "100000"])
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
                .unwrap_or_else(|e| panic!("{tool} attached: {e}"));
            for c in &children {
                run_workload(Some(c), &["--no-wait", "getppid", "1"]);
            }
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            nix::sys::signal::kill(pid, Signal::SIGINT).unwrap();
            std::thread::sleep(Duration::from_millis(1500));
            assert!(
                child.try_wait().unwrap().is_none(),
                "{tool}: the report should be stuck on the full pipe"
            );
            nix::sys::signal::kill(pid, Signal::SIGINT).unwrap();
            let start = Instant::now();
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                assert!(
                    start.elapsed() < scaled(Duration::from_secs(5)),
                    "{tool}: second Ctrl-C did not end the run"
                );
                std::thread::sleep(Duration::from_millis(20));
            };
            assert_eq!(status.code(), Some(130), "{tool}");
        }
    }
);

root_test!(
    /// A tiny -i (or conbiograph's shortest -t) neither starves SIGINT nor
    /// the watch for a removed target.
    tiny_interval_starves_neither_sigint_nor_the_target_watch,
    {
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
);

root_test!(
    /// The terminal goes away (SIGHUP, then EIO on every write): the tool
    /// ends at once, quietly (exit 0), nothing left loaded.
    a_terminal_that_hangs_up_ends_the_run_quietly,
    {
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
                    started.elapsed() < scaled(Duration::from_secs(5)),
                    "{tool} still running after its terminal hung up"
                );
                std::thread::sleep(Duration::from_millis(20));
            };
            assert_eq!(status.code(), Some(0), "{tool} (pid {pid}): {status}");
        }
    }
);

root_test!(closed_pipe_exits_quietly_in_every_tool, {
    for tool in TOOLS {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{} --output json -d 1 | head -c 1 >/dev/null",
                bin(tool).display()
            ))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{tool}: {err}");
        assert!(
            !err.contains("panicked")
                && !err.contains("Broken pipe")
                && !err.contains("os error 32"),
            "{tool}: {err}"
        );
    }
    // Interval reports into a pipe closed after the first line.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} -i 0.1 -d 3 --output json | head -1",
            bin("constat").display()
        ))
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
});

root_test!(
    /// stderr closed by its reader (SIGPIPE/EPIPE on status lines) costs
    /// nothing: the report still reaches stdout, exit 0.
    a_closed_stderr_does_not_lose_the_report,
    {
        let cg = TestCgroup::new("stderr");
        for tool in TOOLS {
            let script = format!(
                "exec 3>&1; {} -c {} -d 2 --output json 2>&1 >&3 | true",
                bin(tool).display(),
                cg.path.display()
            );
            let done = run_command(Command::new("bash").arg("-c").arg(&script));
            assert_eq!(done.code, Some(0), "{tool}: {}", done.stderr);
            assert!(has_final_report(tool, &done), "{tool}: {}", done.stdout);
        }
    }
);

root_test!(kill_9_leaves_nothing_attached, {
    let cg = TestCgroup::new("hard-kill");
    for tool in TOOLS {
        let t = Tool::start(tool, &["-c", &cg.arg()]);
        let ours = programs_held_by(t.pid());
        assert!(!ours.is_empty(), "{tool} holds no program?");
        t.signal(Signal::SIGKILL);
        // Programs are freed once their last fd and link go (RCU-deferred).
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut left: BTreeSet<u64> = ours.clone();
        while std::time::Instant::now() < deadline {
            left = ours
                .iter()
                .copied()
                .filter(|&id| program_loaded(id))
                .collect();
            if left.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            left.is_empty(),
            "{tool}: programs {left:?} still loaded after kill -9"
        );
    }
    let pinned = Command::new("sh")
        .arg("-c")
        .arg("ls -A /sys/fs/bpf 2>/dev/null | grep -ci contrace")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&pinned.stdout).trim(), "0");
});

root_test!(
    /// SIGTERM at any moment of start-up (parsing, resolving, loading,
    /// attaching) ends the tool within a second or two; whatever it had
    /// loaded goes with it.
    sigterm_during_start_up_ends_the_tool,
    {
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
);

root_test!(
    /// `-c` is taken as typed: leading, trailing and inner whitespace name
    /// other cgroups; only one trailing newline is dropped.
    whitespace_in_a_target_names_another_cgroup,
    {
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
                    assert_eq!(traced_id(&done.stderr), Some(cgroup_id(dir)), "{tool} {name:?}");
                    assert_eq!(measured(tool, &done), 2, "{tool} {name:?}: {}", done.stdout);
                }
            }
            // Relative to the mount, with the space kept.
            let rel = format!("{}/app ", top.path.file_name().unwrap().to_string_lossy());
            let t = Tool::start(tool, &["-c", &rel, "--output", "json"]);
            let done = t.stop();
            assert_eq!(
                traced_id(&done.stderr),
                Some(cgroup_id(&dirs[0])),
                "{tool} relative"
            );
        }
    }
);

root_test!(
    /// argv and cgroup names are bytes. A non-UTF-8 argument is a usage error
    /// (never a panic); a cgroup whose name is not UTF-8 can be targeted by
    /// absolute path, relative path and pid:N; `-p` takes a process whose comm
    /// is not UTF-8.
    non_utf8_arguments_names_and_comms,
    {
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
                    Some(cgroup_id(&odd)),
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
);

root_test!(hostile_cgroup_names_are_escaped_and_json_stays_valid, {
    let cg = TestCgroup::new("hard-names");
    let evil = cg.child("evil \x1b[31mred\x1b[0m\tname");
    let t = Tool::start("constat", &["-T", "1000"]);
    run_workload(Some(&evil), &["--no-wait", "getppid", "10"]);
    let table = t.stop();
    assert!(!table.stdout.contains('\x1b'), "raw escape in table");
    assert!(table.stdout.contains("\\e[31mred"), "{}", table.stdout);
    let t = Tool::start("constat", &["--by-syscall", "--output", "json"]);
    run_workload(Some(&evil), &["--no-wait", "getppid", "10"]);
    let done = t.stop();
    let report = &done.json()[0];
    let name = format!(
        "/{}/evil \x1b[31mred\x1b[0m\tname",
        cg.path.file_name().unwrap().to_string_lossy()
    );
    assert!(
        report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["cgroup"] == name.as_str()),
        "{report}"
    );
});

root_test!(
    /// Huge and out-of-range numbers are one-line usage errors, the largest
    /// accepted ones run.
    huge_values_are_refused_or_work,
    {
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
);
