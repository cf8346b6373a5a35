//! What an expert user meets first (issue 13): permission messages under
//! file capabilities, whole-host targets said out loud, man pages and
//! completions that match the tools, `-v`, syscall names and numbers,
//! unsharesnoop's CGROUP column and `ns_created`, one signal message, `-i
//! 0`, `./` targets, constat's one-row-per-cgroup view and syscount's views
//! inside constat, usage errors, and scripts/install.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use contrace_tests::*;
use serde_json::{json, Value};

/// Repository root (scripts/ lives there).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf()
}

/// Runs `tool ARGS` to completion in `dir`.
fn run_in(dir: &Path, tool: &str, args: &[&str]) -> Finished {
    let out = Command::new(bin(tool))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run tool");
    Finished {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A cgroup's path as reports show it: relative to the cgroup2 mount.
fn rel(cg: &Path) -> String {
    format!(
        "/{}",
        cg.strip_prefix(cgroup2_root()).unwrap().to_string_lossy()
    )
}

/// The syscall number of `name` on this architecture.
fn nr(name: &str) -> u32 {
    kernel::syscalls::number(name).expect("known syscall")
}

/// A directory of setcap'd copies of the tools, readable by everyone (the
/// unprivileged user must reach the binaries), removed on drop.
struct CapDir(PathBuf);

impl CapDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("contrace-ux-caps-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self(dir)
    }

    /// A copy of `tool` named `name` with file capabilities `caps`.
    fn copy(&self, tool: &str, name: &str, caps: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::copy(bin(tool), &path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let status = Command::new("setcap").arg(caps).arg(&path).status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "setcap {caps} failed (libcap2-bin; a filesystem with xattrs)"
        );
        path
    }
}

impl Drop for CapDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `path ARGS` as the unprivileged user nobody (file capabilities of
/// the binary apply: setpriv sets no no_new_privs).
fn as_nobody(path: &Path, args: &[&str]) -> Finished {
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(path)
        .args(args)
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .expect("setpriv");
    Finished {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

root_test!(
    file_capabilities_alone_run_every_tool_even_with_tracefs_private,
    {
        // unsharesnoop once needed tracefs (per-syscall tracepoint ids), which
        // is root's and mode 0700 on most hosts: a normal user with only the
        // two file capabilities was refused. On the raw syscall hooks no tool
        // reads tracefs; make sure by hiding it from everyone but root.
        let caps = CapDir::new();
        let tracing = std::path::Path::new("/sys/kernel/tracing");
        let mode = std::fs::metadata(tracing)
            .expect("tracefs")
            .permissions()
            .mode()
            & 0o7777;
        let set_mode = |m: u32| {
            std::fs::set_permissions(tracing, std::fs::Permissions::from_mode(m))
                .expect("chmod tracefs")
        };
        set_mode(0o700);
        let mut failures = Vec::new();
        for tool in TOOLS {
            let copy = caps.copy(tool, tool, "cap_bpf,cap_perfmon+ep");
            let out = as_nobody(&copy, &["-d", "1", "-o", "json"]);
            if out.code != Some(0) || out.json().is_empty() {
                failures.push(format!("{tool}: {:?} {}", out.code, out.stderr));
            }
        }
        set_mode(mode);
        assert!(failures.is_empty(), "{failures:#?}");
    }
);

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

/// A man page as text: no hyphenation, lines long enough that nothing wraps.
fn man_text(roff: &str) -> (String, String) {
    let mut child = Command::new("groff")
        .args(["-man", "-Tascii", "-P-bcou", "-rLL=400n", "-rHY=0", "-ww"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("groff (apt install groff-base)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(roff.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn man_pages_have_the_sections_and_cannot_drift_from_help() {
    for tool in TOOLS {
        let roff = run_tool(tool, &["--generate-man"]);
        assert_eq!(roff.code, Some(0), "{tool}: {}", roff.stderr);
        assert!(roff.stdout.starts_with(".ie \\n(.g"), "{tool}");
        assert_eq!(roff.stdout.matches(".TH ").count(), 1, "{tool}");
        let (text, warnings) = man_text(&roff.stdout);
        assert!(warnings.trim().is_empty(), "{tool}: groff: {warnings}");
        let headings: Vec<&str> = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with(' ') && l == &l.to_uppercase())
            .collect();
        for wanted in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "DOCUMENTATION",
            "TARGETS",
            "EXIT STATUS",
            "SIGNALS",
            "PRIVILEGES",
            "SHELL COMPLETION",
            "EXAMPLES",
            "SEE ALSO",
        ] {
            assert!(
                headings.contains(&wanted),
                "{tool}: no {wanted}: {headings:?}"
            );
        }
        assert!(
            headings.iter().any(|h| h.contains("JSON")),
            "{tool}: {headings:?}"
        );
        assert!(
            headings.iter().any(|h| h.starts_with("OUTPUT")),
            "{tool}: {headings:?}"
        );
        let exit = text
            .split("EXIT STATUS")
            .nth(1)
            .and_then(|s| s.split("SIGNALS").next())
            .unwrap();
        let codes: Vec<&str> = exit
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|w| w.parse::<u32>().is_ok())
            .collect();
        assert_eq!(codes, ["0", "1", "2", "130"], "{tool}: {exit}");
        let others: Vec<String> = TOOLS
            .iter()
            .filter(|t| **t != tool)
            .map(|t| format!("{t}(8)"))
            .collect();
        for other in &others {
            assert!(text.contains(other.as_str()), "{tool}: no {other}");
        }

        // No drift: every option and every example of --help is in the page.
        let help = run_tool(tool, &["--help"]);
        assert_eq!(help.code, Some(0));
        let options: BTreeSet<&str> = help
            .stdout
            .split(|c: char| c.is_whitespace() || c == ',' || c == '`')
            .filter(|w| w.starts_with("--") && w.len() > 2)
            .map(|w| w.split(['=', '[', ')']).next().unwrap())
            .filter(|w| w.len() > 2)
            .collect();
        assert!(options.contains("--generate-man"), "{tool}: {options:?}");
        assert!(options.contains("--generate-completions"), "{tool}");
        for opt in &options {
            assert!(
                text.contains(opt),
                "{tool}: {opt} of --help not in man page"
            );
        }
        let examples: Vec<&str> = help
            .stdout
            .split("Examples:\n")
            .nth(1)
            .unwrap_or_else(|| panic!("{tool}: no examples in --help"))
            .lines()
            .filter(|l| l.starts_with(&format!("  {tool}")))
            .map(str::trim)
            .collect();
        assert!(examples.len() >= 5, "{tool}: {examples:?}");
        for e in &examples {
            assert!(text.contains(e), "{tool}: example {e:?} not in man page");
        }
        // --help keeps each example's command on one line: the explanation
        // is indented below it, never a `#` comment that wraps it.
        assert!(!help.stdout.contains("  # "), "{tool}");
    }
}

/// Runs bash with the tools' completion scripts loaded; `script` may call
/// `comp WORDS...`, which prints the candidates for the last word.
fn bash_completion(cwd: &Path, script: &str) -> String {
    let mut full = String::new();
    for tool in TOOLS {
        full.push_str(&format!(
            "source <({} --generate-completions bash)\n",
            bin(tool).display()
        ));
    }
    full.push_str(
        r#"comp() {
    COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMP_TYPE=9; COMPREPLY=()
    local fn; fn=$(complete -p "$1" | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
    "$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf '%s\n' "${COMPREPLY[@]}"
}
"#,
    );
    full.push_str(script);
    let out = Command::new("bash")
        .arg("-c")
        .arg(full)
        .current_dir(cwd)
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The lines of `text` between `@name` and the next `@` marker.
fn section(text: &str, name: &str) -> Vec<String> {
    text.split('@')
        .find_map(|s| s.strip_prefix(&format!("{name}\n")))
        .unwrap_or_else(|| panic!("no @{name} in {text}"))
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

root_test!(completion_offers_cgroups_units_container_ids_and_pids, {
    let cg = TestCgroup::new("ux-comp");
    let name = rel(&cg.path)[1..].to_string();
    let id = format!("c0ffee00{}", "1".repeat(56));
    cg.child("contrace-ux-demo.service");
    cg.child(&format!("docker-{id}.scope"));
    let mut w = Workload::spawn(Some(&cg.path), &["pause"]);
    // A file in the current directory whose name matches: never offered.
    let cwd = std::env::temp_dir().join(format!("contrace-ux-cwd-{}", std::process::id()));
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::write(cwd.join(format!("{name}-file")), "").unwrap();
    let out = bash_completion(
        &cwd,
        &format!(
            "echo @registered; complete -p constat syscount unsharesnoop conbiograph\n\
             echo @top; comp constat -c {name}\n\
             echo @below; comp constat -c {name}/\n\
             echo @unit; comp syscount -c contrace-ux-dem\n\
             echo @id; comp unsharesnoop -c c0ffee00\n\
             echo @pid; comp conbiograph -c pid:{pid}\n\
             echo @ppid; comp constat -p {pid}\n\
             echo @syscall; comp syscount --syscall read,getpp\n\
             echo @calls; comp unsharesnoop --calls ''\n\
             echo @abs; comp constat -c {abs}/contrace-ux-d\n",
            pid = w.pid,
            abs = cg.path.display()
        ),
    );
    let _ = std::fs::remove_dir_all(&cwd);
    w.kill();
    let registered = section(&out, "registered");
    for tool in TOOLS {
        assert!(
            registered
                .iter()
                .any(|l| l.ends_with(&format!("-F _clap_complete_{tool} {tool}"))),
            "{registered:?}"
        );
    }
    assert_eq!(section(&out, "top"), [format!("{name}/")]);
    assert_eq!(
        section(&out, "below"),
        [
            format!("{name}/contrace-ux-demo.service/"),
            format!("{name}/docker-{id}.scope/")
        ]
    );
    assert_eq!(section(&out, "unit"), ["contrace-ux-demo.service"]);
    assert_eq!(section(&out, "id"), [id[..12].to_string()]);
    assert!(section(&out, "pid").contains(&format!("pid:{}", w.pid)));
    assert!(section(&out, "ppid").contains(&w.pid.to_string()));
    assert_eq!(section(&out, "syscall"), ["read,getppid"]);
    assert_eq!(section(&out, "calls"), ["unshare", "setns", "clone"]);
    assert_eq!(
        section(&out, "abs"),
        [format!("{}/contrace-ux-demo.service/", cg.path.display())]
    );
});

root_test!(verbose_shows_libbpfs_debug_log_on_success_in_every_tool, {
    for tool in TOOLS {
        // constat and syscount load the one syscall engine.
        let object = match tool {
            "constat" | "syscount" => "syscalls",
            other => other,
        };
        let done = run_tool(tool, &["-v", "-d", "1"]);
        assert_eq!(done.code, Some(0), "{tool}: {}", done.stderr);
        let libbpf: Vec<&str> = done
            .stderr
            .lines()
            .filter(|l| l.starts_with("libbpf: "))
            .collect();
        assert!(
            libbpf
                .iter()
                .any(|l| l.starts_with(&format!("libbpf: loading object '{object}_bpf'"))),
            "{tool}: {}",
            done.stderr
        );
        assert!(libbpf.len() > 20, "{tool}: {} lines", libbpf.len());
        assert!(!done.stderr.contains("libbpf: libbpf:"), "{tool}");
        // Without -v: not a word from libbpf.
        let quiet = run_tool(tool, &["-d", "0.5"]);
        assert_eq!(quiet.code, Some(0), "{tool}: {}", quiet.stderr);
        assert!(!quiet.stderr.contains("libbpf"), "{tool}: {}", quiet.stderr);
    }
});

#[test]
fn syscount_lists_every_name_it_can_print() {
    let out = run_tool("syscount", &["-l"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let want: Vec<String> = kernel::syscalls::all()
        .map(|(nr, name)| format!("{nr:>3}: {name}"))
        .collect();
    let got: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(got, want);
    // Every number the tools name is listed (the table's last entry too).
    for nr in 0..1024 {
        let name = kernel::syscalls::name(nr);
        if !name.starts_with("syscall_") {
            assert!(got.contains(&format!("{nr:>3}: {name}").as_str()), "{nr}");
        }
    }
    #[cfg(target_arch = "x86_64")]
    assert_eq!(got.last(), Some(&"469: file_setattr"));
}

root_test!(syscalls_by_number_in_syscount_and_constat, {
    let cg = TestCgroup::new("ux-nr");
    let getppid = nr("getppid").to_string();
    let w = Workload::spawn(Some(&cg.path), &["getppid", "321", "openfail", "5"]);
    let report = json_report(
        "syscount",
        &["-c", &cg.arg(), "--syscall", &getppid],
        |_| {
            w.finish();
        },
    );
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report}");
    assert_eq!(
        (&rows[0]["syscall"], &rows[0]["count"]),
        (&json!("getppid"), &json!(321))
    );

    let w = Workload::spawn(Some(&cg.path), &["getppid", "321", "openfail", "5"]);
    let list = format!("{getppid},openat");
    let report = json_report("constat", &["-c", &cg.arg(), "--syscall", &list], |_| {
        w.finish();
    });
    let rows: Vec<(String, u64, u64)> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["syscall"].as_str().unwrap().to_string(),
                r["count"].as_u64().unwrap(),
                r["errors"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [("getppid".into(), 321, 0), ("openat".into(), 5, 5)],
        "{report}"
    );

    let out = run_tool("syscount", &["--syscall", "99999", "-d", "1"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("out of range"), "{}", out.stderr);
    let out = run_tool("constat", &["--syscall", "read,bogus"]);
    assert_eq!(out.code, Some(2));
    assert_eq!(
        out.stderr.trim(),
        "constat: unknown syscall name 'bogus': give a name or a number (list them with `syscount -l`)"
    );
});

root_test!(unsharesnoop_shows_whose_cgroup_and_what_a_clone_created, {
    let cg = TestCgroup::new("ux-snoop");
    let kid = cg.child("kid");
    // -c with descendants: a child cgroup's event says it is the child's.
    let w = Workload::spawn(Some(&kid), &["unshare", "0x04000000"]);
    let tool = Tool::start("unsharesnoop", &["-c", &cg.arg(), "--calls", "unshare"]);
    w.finish();
    let done = tool.stop();
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let lines: Vec<Vec<&str>> = done
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0],
        [
            "TIME",
            "TID",
            "COMM",
            "RET",
            "FLAGS",
            "FLAGS(human)",
            "CGROUP"
        ]
    );
    assert_eq!(lines.len(), 2, "{}", done.stdout);
    assert_eq!(
        &lines[1][3..],
        ["0", "0x04000000", "CLONE_NEWUTS", rel(&kid).as_str()]
    );
    // --exact: one cgroup can appear, no CGROUP column.
    let w = Workload::spawn(Some(&cg.path), &["unshare", "0x04000000"]);
    let tool = Tool::start(
        "unsharesnoop",
        &["-c", &cg.arg(), "--exact", "--calls", "unshare"],
    );
    w.finish();
    let done = tool.stop();
    let header: Vec<&str> = done
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["TIME", "TID", "COMM", "RET", "FLAGS", "FLAGS(human)"]
    );

    // JSON: ns_changed is the caller's; ns_created what the call created.
    let w = Workload::spawn(
        Some(&kid),
        &["clone3", "0x40000000", "unshare", "0x04000000"],
    );
    let pid = w.pid;
    let all = json_run("unsharesnoop", &["-c", &cg.arg()], |_| {
        w.finish();
    });
    let (summary, events) = all.split_last().unwrap();
    let mine: Vec<&Value> = events.iter().filter(|e| e["pid"] == pid).collect();
    assert_eq!(mine.len(), 2, "{all:?}");
    assert_eq!(mine[0]["call"], "clone3");
    assert_eq!(mine[0]["ns_changed"], json!([]));
    assert_eq!(mine[0]["ns_created"], json!(["net"]));
    assert_eq!(mine[1]["call"], "unshare");
    assert_eq!(mine[1]["ns_changed"], json!(["uts"]));
    assert_eq!(mine[1]["ns_created"], json!(["uts"]));
    assert_eq!(mine[1]["cgroup"], rel(&kid).as_str());
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["untraced"], 0);
    assert_eq!(summary["target"]["id"], cg.id());
    assert_eq!(summary["target"]["descendants"], true);
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

root_test!(interval_zero_reports_only_at_the_end, {
    let cg = TestCgroup::new("ux-i0");
    for tool in INTERVAL_TOOLS {
        let started = std::time::Instant::now();
        let done = run_tool(
            tool,
            &["-c", &cg.arg(), "-i", "0", "-d", "1.5", "-o", "json"],
        );
        let wall = started.elapsed().as_secs_f64();
        assert_eq!(done.code, Some(0), "{tool}: {}", done.stderr);
        let reports = done.json();
        assert_eq!(reports.len(), 1, "{tool}: {}", done.stdout);
        assert_eq!(reports[0]["final"], true);
        // The 1.5 s of -d, within the time the whole run took.
        let s = reports[0]["interval_s"].as_f64().unwrap();
        assert!(1.4 <= s && s <= wall, "{tool}: interval_s {s} of {wall} s");
    }
    // And a real interval still reports on time, for comparison.
    let done = run_tool(
        "constat",
        &["-c", &cg.arg(), "-i", "0.5", "-d", "1.6", "-o", "json"],
    );
    assert!(done.json().len() >= 3, "{}", done.stdout);
});

root_test!(dot_targets_resolve_from_the_current_directory, {
    let cg = TestCgroup::new("ux-dot");
    let kid = cg.child("kid");
    let name = cg.path.file_name().unwrap().to_str().unwrap().to_string();
    let target_of = |dir: &Path, arg: &str| -> Finished {
        run_in(dir, "constat", &["-c", arg, "-d", "0.5", "-o", "json"])
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

/// The host-wide row of `cg` in a constat summary report.
fn cgroup_row<'a>(report: &'a Value, cg: &TestCgroup) -> &'a Value {
    report["cgroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cgroup_id"] == cg.id())
        .unwrap_or_else(|| panic!("no row for {}: {report}", cg.arg()))
}

root_test!(host_wide_constat_is_one_row_per_cgroup, {
    let a = TestCgroup::new("ux-sum-a");
    let b = TestCgroup::new("ux-sum-b");
    let wa = Workload::spawn(Some(&a.path), &["getppid", "3000"]);
    let wb = Workload::spawn(Some(&b.path), &["openfail", "200"]);
    let report = json_report("constat", &[], |_| {
        wa.finish();
        wb.finish();
    });
    assert_eq!(report["view"], "cgroups");
    assert!(report.get("rows").is_none(), "{report}");
    let rows = report["cgroups"].as_array().unwrap();
    let ids: BTreeSet<u64> = rows
        .iter()
        .map(|r| r["cgroup_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), rows.len(), "one row per cgroup: {report}");
    let ra = cgroup_row(&report, &a);
    assert_eq!(ra["cgroup"], rel(&a.path).as_str());
    assert_eq!(ra["denied"], 0);
    assert!(ra["count"].as_u64().unwrap() >= 3000, "{ra}");
    assert_eq!(
        ra["busiest"],
        json!({"syscall": "getppid", "nr": nr("getppid"), "compat": false, "count": 3000,
               "errors": 0, "elapsed_ns": ra["busiest"]["elapsed_ns"]})
    );
    let rb = cgroup_row(&report, &b);
    assert_eq!(rb["busiest"]["syscall"], "openat");
    assert_eq!(
        (&rb["busiest"]["count"], &rb["busiest"]["errors"]),
        (&json!(200), &json!(200))
    );
    assert!(rb["errors"].as_u64().unwrap() >= 200, "{rb}");
    let total = &report["total"];
    let sum = |f: &str| rows.iter().map(|r| r[f].as_u64().unwrap()).sum::<u64>();
    assert_eq!(total["count"].as_u64(), Some(sum("count")));
    assert_eq!(total["errors"].as_u64(), Some(sum("errors")));
    assert_eq!(total["cgroups"].as_u64(), Some(rows.len() as u64));

    // The table: one line per cgroup, BUSIEST names the syscall.
    let wa = Workload::spawn(Some(&a.path), &["getppid", "3000"]);
    let t = Tool::start("constat", &[]);
    wa.finish();
    let done = t.stop();
    let header: Vec<&str> = done
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["CGROUP", "CALLS", "ERRORS", "DENIED", "TIME(ms)", "(%)", "SYSCALLS", "BUSIEST"]
    );
    let line: Vec<&str> = done
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("{} ", rel(&a.path))))
        .unwrap_or_else(|| panic!("no line for {}: {}", a.arg(), done.stdout))
        .split_whitespace()
        .collect();
    assert_eq!(line[line.len() - 2], "getppid", "{line:?}");
    assert!(done.stdout.lines().last().unwrap().starts_with("ALL ("));

    // -T 1: one cgroup; totals still cover every cgroup.
    let wa = Workload::spawn(Some(&a.path), &["getppid", "10"]);
    let wb = Workload::spawn(Some(&b.path), &["getppid", "10"]);
    let report = json_report("constat", &["-T", "1"], |_| {
        wa.finish();
        wb.finish();
    });
    assert_eq!(report["cgroups"].as_array().unwrap().len(), 1, "{report}");
    assert!(
        report["total"]["cgroups"].as_u64().unwrap() >= 2,
        "{report}"
    );

    // --by-syscall: the (cgroup, syscall) breakdown.
    let wa = Workload::spawn(Some(&a.path), &["getppid", "3000"]);
    let report = json_report("constat", &["--by-syscall"], |_| {
        wa.finish();
    });
    let r = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["cgroup_id"] == a.id() && r["syscall"] == "getppid")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(r["count"], 3000);
});

root_test!(constat_has_syscounts_process_errno_and_histogram_views, {
    let cg = TestCgroup::new("ux-views");
    // -p: one process, constat's own table.
    let one = Workload::spawn(Some(&cg.path), &["--comm", "ux-one", "getppid", "777"]);
    let two = Workload::spawn(Some(&cg.path), &["--comm", "ux-two", "getppid", "500"]);
    let report = json_report("constat", &["-p", &one.pid.to_string()], |_| {
        two.finish();
        one.finish();
    });
    assert_eq!(u(row(&report, "getppid"), "count"), 777, "{report}");
    assert!(row(&report, "getppid").unwrap().get("cgroup").is_none());

    // -P: syscount's per-process rows, the same report syscount prints.
    let per_process = |tool: &str| {
        let one = Workload::spawn(Some(&cg.path), &["--comm", "ux-one", "getppid", "777"]);
        let two = Workload::spawn(Some(&cg.path), &["--comm", "ux-two", "getppid", "500"]);
        let pids = (one.pid, two.pid);
        let report = json_report(
            tool,
            &["-c", &cg.arg(), "-P", "--syscall", "getppid"],
            |_| {
                one.finish();
                two.finish();
            },
        );
        (pids, report)
    };
    let ((p1, p2), ours) = per_process("constat");
    assert_eq!(
        ours["rows"],
        json!([{"pid": p1, "comm": "ux-one", "count": 777},
               {"pid": p2, "comm": "ux-two", "count": 500}])
    );
    assert_eq!(ours["total_count"], 1277);
    let ((p1, p2), theirs) = per_process("syscount");
    assert_eq!(
        theirs["rows"],
        json!([{"pid": p1, "comm": "ux-one", "count": 777},
               {"pid": p2, "comm": "ux-two", "count": 500}])
    );
    let keys = |r: &Value| -> Vec<String> { r.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&ours), keys(&theirs), "the same report as syscount's");

    // --errno: failures per errno name.
    let w = Workload::spawn(Some(&cg.path), &["getppid", "40", "openfail", "13"]);
    let report = json_report("constat", &["-c", &cg.arg(), "--errno"], |_| {
        w.finish();
    });
    let openat = row(&report, "openat").expect("openat row");
    assert_eq!(
        (&openat["count"], &openat["errors"], &openat["errnos"]),
        (&json!(13), &json!(13), &json!({"ENOENT": 13}))
    );
    assert_eq!(report["rows"][0]["syscall"], "openat", "sorted by errors");

    // --histogram: 3 sleeps of 20 ms in the 16384..32767 us bucket (or,
    // woken late on a loaded host, no higher than the run allows).
    let w = Workload::spawn(Some(&cg.path), &["nanosleep", "3", "20"]);
    let mut ran = std::time::Duration::ZERO;
    let report = json_report(
        "constat",
        &["-c", &cg.arg(), "--histogram", "--syscall", "nanosleep"],
        |_| {
            ran = timed(|| w.finish());
        },
    );
    let ns = row(&report, "nanosleep").expect("nanosleep row");
    assert_eq!(ns["count"], 3);
    assert_eq!(ns["histogram"]["unit"], "usecs");
    let buckets = json_buckets(&ns["histogram"]);
    assert_sleep_buckets(&buckets, 3, 20_000, ran.as_micros() as u64);

    // Combinations that make no sense are refused before anything loads.
    let out = run_tool("constat", &["--errno", "--histogram"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    let out = run_tool("constat", &["-P", "--by-syscall"]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--by-syscall"), "{}", out.stderr);
});

#[test]
fn usage_errors_list_valid_values_and_suggest_flags_in_every_tool() {
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "constat",
            &["--sort", "foo"],
            "invalid value 'foo' for '--sort <SORT>'; possible values: count, time, errors, name",
        ),
        (
            "constat",
            &["-o", "yaml"],
            "possible values: table, json (see --help)",
        ),
        (
            "syscount",
            &["-o", "yaml"],
            "possible values: table, json (see --help)",
        ),
        (
            "unsharesnoop",
            &["-o", "yaml"],
            "possible values: table, json (see --help)",
        ),
        (
            "conbiograph",
            &["-o", "yaml"],
            "possible values: table, json, csv (see --help)",
        ),
        (
            "unsharesnoop",
            &["--calls", "fork"],
            "invalid value 'fork' for '--calls <CALLS>'; possible values: unshare, setns, clone",
        ),
        (
            "syscount",
            &["--histgram"],
            "unexpected argument '--histgram' found; did you mean '--histogram'? (see --help)",
        ),
        ("constat", &["--by-sycall"], "did you mean '--by-syscall'?"),
        ("unsharesnoop", &["--al"], "did you mean '--all'?"),
        ("conbiograph", &["--liv"], "did you mean '--live'?"),
    ];
    for (tool, args, needle) in cases {
        let out = run_tool(tool, args);
        assert_eq!(out.code, Some(2), "{tool} {args:?}: {}", out.stderr);
        assert_eq!(
            out.stderr.lines().count(),
            1,
            "{tool} {args:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr.starts_with(&format!("{tool}: ")) && out.stderr.contains(needle),
            "{tool} {args:?}: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty());
    }
}

/// Runs scripts/install with `args`, PATH set to `path`, stdin closed.
fn install(args: &[&str], path: &str, env: &[(&str, &str)]) -> Finished {
    let out = Command::new(repo().join("scripts/install"))
        .args(args)
        .env("PATH", path)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("scripts/install");
    Finished {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every file below `dir`, relative to it.
fn files_below(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.insert(e.path().strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out
}

root_test!(
    install_never_shadows_syscount_silently_and_uninstalls_exactly,
    {
        let base = std::env::temp_dir().join(format!("contrace-ux-install-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let prefix = base.join("prefix");
        let other = base.join("other-bin");
        std::fs::create_dir_all(&other).unwrap();
        let fake = other.join("syscount");
        std::fs::write(&fake, "#!/bin/sh\necho libbpf-tools\n").unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!(
            "{}/sbin:{}:{}",
            prefix.display(),
            other.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let bins = bin_dir().display().to_string();
        let p = prefix.display().to_string();

        // Another syscount on PATH and no choice made: refused, nothing installed.
        let out = install(&["--prefix", &p, "--bin-dir", &bins], &path, &[]);
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        for needle in [
            fake.display().to_string().as_str(),
            "--syscount-name syscount-contrace",
            "--prefix /opt/contrace",
            "--replace-syscount",
        ] {
            assert!(out.stderr.contains(needle), "no {needle}: {}", out.stderr);
        }
        assert!(!prefix.exists(), "nothing installed before a choice");

        // Under another name.
        std::fs::create_dir_all(prefix.join("sbin")).unwrap();
        std::fs::write(prefix.join("sbin/keep-me"), "").unwrap();
        let out = install(
            &[
                "--prefix",
                &p,
                "--bin-dir",
                &bins,
                "--syscount-name",
                "syscount-contrace",
            ],
            &path,
            &[],
        );
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        let names = [
            "constat",
            "syscount-contrace",
            "unsharesnoop",
            "conbiograph",
            "contrace-exporter",
        ];
        let mut want: BTreeSet<String> = names
            .iter()
            .flat_map(|n| {
                [
                    format!("sbin/{n}"),
                    format!("share/man/man8/{n}.8"),
                    format!("share/bash-completion/completions/{n}"),
                ]
            })
            .collect();
        want.insert("share/contrace/manifest".into());
        want.insert("sbin/keep-me".into());
        assert_eq!(files_below(&prefix), want);
        assert!(!prefix.join("sbin/syscount").exists());
        let (text, warnings) = man_text(
            &std::fs::read_to_string(prefix.join("share/man/man8/syscount-contrace.8")).unwrap(),
        );
        assert!(warnings.trim().is_empty() && text.contains("EXIT STATUS"));
        // Its completion answers to the installed name and calls the installed binary.
        let script = std::fs::read_to_string(
            prefix.join("share/bash-completion/completions/syscount-contrace"),
        )
        .unwrap();
        assert!(
            script.contains(&format!("{p}/sbin/syscount-contrace")),
            "{script}"
        );
        let registered = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "source {p}/share/bash-completion/completions/syscount-contrace; \
             complete -p syscount-contrace"
            ))
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&registered.stdout)
            .trim_end()
            .ends_with("-F _clap_complete_syscount syscount-contrace"));

        // Uninstall removes exactly what was installed.
        let out = install(&["--uninstall", "--prefix", &p], &path, &[]);
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert_eq!(
            files_below(&prefix),
            BTreeSet::from(["sbin/keep-me".to_string()])
        );
        let out = install(&["--uninstall", "--prefix", &p], &path, &[]);
        assert_eq!(
            out.code,
            Some(2),
            "nothing left to uninstall: {}",
            out.stderr
        );

        // Run through sudo, it builds as the invoking user, never with root's
        // cargo: nobody has neither the target/ directory nor a toolchain.
        let out = install(
            &["--prefix", &p, "--syscount-name", "x"],
            &path,
            &[("SUDO_USER", "nobody")],
        );
        assert_ne!(out.code, Some(0), "{}", out.stderr);
        assert!(
            out.stderr.contains("not nobody") || out.stderr.contains("nobody has no cargo"),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("Compiling"), "{}", out.stderr);
        let _ = std::fs::remove_dir_all(&base);
    }
);
