//! The command line as a user meets it: bad input (one line, exit 2,
//! nothing loaded), privileges (what is missing is named; the two file
//! capabilities alone are enough), `-v`, syscall names and numbers
//! (`syscount -l`), man pages and completions that cannot drift from
//! `--help`, and scripts/install.

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use contrace_tests::*;

/// The bpf(2) commands a run issued, from strace: a refused run must not
/// load or attach anything.
fn bpf_commands(tool: &str, args: &[&str]) -> String {
    let log = std::env::temp_dir().join(format!("contrace-strace-{}-{tool}", std::process::id()));
    let _ = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=bpf,perf_event_open", "-o"])
        .arg(&log)
        .arg(bin(tool))
        .args(args)
        .output()
        .expect("strace (scripts/setup installs it)");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    text
}

root_test!(bad_input_gets_one_line_and_exit_2_in_every_tool, {
    let root = cgroup2_root();
    let fakes = TestCgroup::new("hard-ids");
    fakes.child("docker-abcd111111111111111111111111111111111111111111111111111111111111.scope");
    fakes.child("docker-abcd222222222222222222222222222222222222222222222222222222222222.scope");
    let file = root.join("cgroup.procs").display().to_string();
    let dotdot = format!("{}/../../../../../../tmp", root.display());
    let mut cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["-c", "/nonexistent/cg"], "/nonexistent/cg"),
        (vec!["-c", &file], "is a file"),
        (vec!["-c", "/tmp"], "not a cgroup"),
        (vec!["-c", ""], "empty target"),
        (vec!["-c", "x/../../y"], "'..'"),
        (vec!["-c", "../x"], "no such directory"),
        (vec!["-c", &dotdot], "not a cgroup"),
        (vec!["-c", "pid:999999999"], "no such process"),
        (vec!["-c", "feedfacefeedface"], "no container"),
        (vec!["-c", "abcd"], "ambiguous"),
        (vec!["-d", "0"], "positive"),
        (vec!["-d", "-1"], ""),
        (vec!["-d", "abc"], "not a number"),
        (vec!["-d", "99999999999"], "more than a year"),
    ];
    let v1 = identity::cgroup::Hierarchy::detect()
        .unwrap()
        .v1
        .first()
        .map(|p| p.display().to_string());
    if let Some(v1) = &v1 {
        cases.push((vec!["-c", v1], "cgroup v1"));
    }
    for tool in TOOLS {
        for (args, needle) in &cases {
            let out = run_tool(tool, args);
            assert_eq!(out.code, Some(2), "{tool} {args:?}: {}", out.stderr);
            assert!(
                out.stderr.contains(needle),
                "{tool} {args:?}: {}",
                out.stderr
            );
            assert_eq!(
                out.stderr.trim().lines().count(),
                1,
                "{tool} {args:?}: one line: {}",
                out.stderr
            );
            assert!(out.stdout.is_empty(), "{tool} {args:?}");
        }
        let calls = bpf_commands(tool, &["-c", "/nonexistent/cg"]);
        for cmd in [
            "BPF_PROG_LOAD",
            "BPF_LINK_CREATE",
            "BPF_RAW_TRACEPOINT_OPEN",
            "perf_event_open",
        ] {
            assert!(
                !calls.contains(cmd),
                "{tool}: refused run still did {cmd}:\n{calls}"
            );
        }
    }
});

root_test!(
    /// Each tool's own options misused, and targets refused: exit 2, one
    /// line naming the problem, nothing on stdout, nothing attached.
    bad_options_of_each_tool_get_one_line_and_exit_2,
    {
        let root = cgroup2_root();
        let file = root.join("cgroup.procs").display().to_string();
        let dotdot = format!("{}/../../../../../../tmp", root.display());
        let cases: Vec<(&str, Vec<&str>, &str)> = vec![
            ("constat", vec!["-c", "/nonexistent/cg"], "no such directory"),
            ("constat", vec!["-c", &file], "is a file"),
            ("constat", vec!["-c", "/tmp"], "not a cgroup"),
            ("constat", vec!["-c", ""], "empty target"),
            ("constat", vec!["-c", "a/../../etc"], "'..'"),
            // ./ and ../ start from the current directory, as in a shell.
            ("constat", vec!["-c", "../../../../../../etc"], "not a cgroup"),
            ("constat", vec!["-c", &dotdot], "not a cgroup"),
            ("constat", vec!["-c", "pid:999999999"], "no such process"),
            ("constat", vec!["-c", "deadbeefdeadbeef"], "no container"),
            ("constat", vec!["-c", "nosuch.service"], "no cgroup named"),
            ("constat", vec!["-d", "0"], "positive"),
            ("constat", vec!["-d", "-3"], ""),
            ("constat", vec!["-i", "abc"], "not a number"),
            ("constat", vec!["-d", "1e12"], "more than a year"),
            ("constat", vec!["--exact"], ""),
            ("constat", vec!["--sort", "bogus"], ""),
            ("constat", vec!["-c", "/nonexistent"], ""),
            ("syscount", vec!["-e", "ENOPE"], "invalid errno 'ENOPE'"),
            ("syscount", vec!["-e", "0"], "invalid errno"),
            ("syscount", vec!["--syscall", "getppid,bogus"], "unknown syscall name 'bogus'"),
            ("syscount", vec!["--syscall", ","], "at least one"),
            ("syscount", vec!["-p", "999999999"], "no process"),
            ("syscount", vec!["-c", "/nonexistent/cg"], "no such directory"),
            ("syscount", vec!["-c", "pid:999999999"], "no such process"),
            ("syscount", vec!["-i", "abc"], "not a number"),
            ("syscount", vec!["-i", "-1"], ""),
            ("syscount", vec!["-d", "0"], "positive"),
            ("syscount", vec!["-T", "0"], "at least 1"),
            ("syscount", vec!["--exact"], ""),
            ("syscount", vec!["--histogram", "--errno"], "do not combine"),
            ("unsharesnoop", vec!["--calls", "unshare,bogus"], ""),
            ("unsharesnoop", vec!["--buffer-pages", "3"], ""),
            ("unsharesnoop", vec!["--buffer-pages", "0"], ""),
            // 2 GiB with 4 KiB pages, more with larger ones: past the 1 GiB cap.
            ("unsharesnoop", vec!["--buffer-pages", "524288"], ""),
            ("unsharesnoop", vec!["--buffer-pages", "4294967296"], ""),
            ("unsharesnoop", vec!["-d", "0"], ""),
            ("unsharesnoop", vec!["-p", "0"], ""),
            ("unsharesnoop", vec!["-c", "/nonexistent/cgroup/dir"], ""),
            ("unsharesnoop", vec!["--exact"], ""),
            ("conbiograph", vec!["-t", "0"], ""),
            ("conbiograph", vec!["-t", "5"], ""),
            ("conbiograph", vec!["-t", "abc"], ""),
            ("conbiograph", vec!["--count", "--avg"], ""),
            ("conbiograph", vec!["--read", "--write"], ""),
            ("conbiograph", vec!["--live", "--output", "json"], ""),
            ("conbiograph", vec!["--device", "no-such-disk-zz"], ""),
            ("conbiograph", vec!["-c", "/sys/fs/cgroup/no-such-cgroup-zz"], ""),
            ("conbiograph", vec!["--output", "xml"], ""),
        ];
        for (tool, args, needle) in &cases {
            let out = run_tool(tool, args);
            assert_eq!(out.code, Some(2), "{tool} {args:?}: {}", out.stderr);
            assert!(out.stderr.contains(needle), "{tool} {args:?}: {}", out.stderr);
            assert_eq!(out.stderr.lines().count(), 1, "{tool} {args:?}: {}", out.stderr);
            assert!(!out.stderr.contains("Ctrl-C"), "{tool} {args:?} attached: {}", out.stderr);
            assert!(out.stdout.is_empty(), "{tool} {args:?}: {}", out.stdout);
        }
        // v1 directories are refused by name, where the host has them.
        if let Some(v1) = identity::cgroup::Hierarchy::detect().unwrap().v1.first() {
            let out = run_tool("constat", &["-c", &v1.display().to_string()]);
            assert_eq!(out.code, Some(2));
            assert!(out.stderr.contains("cgroup v1"), "{}", out.stderr);
        }
    }
);

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

root_test!(preflight_failures_exit_1_with_one_line_in_every_tool, {
    for tool in TOOLS {
        let out = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
            ])
            .arg(bin(tool))
            .args(["-d", "1"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{tool}: {err}");
        assert!(
            err.contains("root") && err.contains("CAP_BPF") && err.contains("CAP_PERFMON"),
            "{tool}: {err}"
        );
        assert!(!err.to_lowercase().contains("memlock"), "{tool}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{tool}: {err}");
        // No kernel BTF where the tool looks: exit 1, one line naming BTF.
        let out = Command::new(bin(tool))
            .env("CONTRACE_BTF_PATH", "/nonexistent/vmlinux")
            .args(["-d", "1"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{tool}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("BTF"), "{tool}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{tool}: {err}");
    }
});

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
    run_command(
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(path)
            .args(args)
            .current_dir("/"),
    )
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
    let nr = kernel::syscalls::number("getppid").unwrap();
    assert!(
        got.contains(&format!("{nr:>3}: getppid").as_str()),
        "{}",
        out.stdout
    );
    assert!(got.len() > 300);
}

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

/// Runs scripts/install with `args`, PATH set to `path`, stdin closed.
fn install(args: &[&str], path: &str, env: &[(&str, &str)]) -> Finished {
    run_command(
        Command::new(repo_path("scripts/install"))
            .args(args)
            .env("PATH", path)
            .envs(env.iter().copied()),
    )
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

// `conbiograph --device <TAB>` offers this machine's block devices: every
// entry of /sys/block (each a link into /sys/devices) and its partitions.

/// What bash completion offers for `conbiograph --device PREFIX`, sorted.
fn complete_device(prefix: &str) -> Vec<String> {
    let mut offered = complete("conbiograph", &["--device", prefix]);
    offered.sort();
    offered
}

/// The ground truth: the disks sysfs lists, and their partitions (the
/// subdirectories named after the disk that hold a `partition` file).
fn block_devices() -> Vec<String> {
    let sys = Path::new("/sys/block");
    let mut names = Vec::new();
    for disk in std::fs::read_dir(sys).expect("read /sys/block").flatten() {
        let disk = disk.file_name().to_string_lossy().into_owned();
        for part in std::fs::read_dir(sys.join(&disk))
            .expect("read a disk")
            .flatten()
        {
            let part = part.file_name().to_string_lossy().into_owned();
            if part.starts_with(&disk) && sys.join(&disk).join(&part).join("partition").exists() {
                names.push(part);
            }
        }
        names.push(disk);
    }
    names.sort();
    names
}

#[test]
fn device_completion_offers_every_disk_and_partition() {
    let devices = block_devices();
    assert!(!devices.is_empty(), "no block device in /sys/block");
    assert_eq!(complete_device(""), devices);
    // A typed prefix narrows the list to the names that start with it.
    let first = &devices[0];
    let prefix = &first[..first.len().min(2)];
    let expected: Vec<String> = devices
        .iter()
        .filter(|d| d.starts_with(prefix))
        .cloned()
        .collect();
    assert_eq!(complete_device(prefix), expected);
}
