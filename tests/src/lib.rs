//! Harness for the end-to-end tests: test cgroups that clean up after
//! themselves, the workload helper, and running a tool until it has attached.
//!
//! Root is required. Outside CI a non-root run skips with a message; with
//! `REQUIRE_BPF_TESTS=1` (set by `.ci/run` and `scripts/test`) it fails.

pub mod block;
pub mod bpf;
pub mod exporter;
pub mod prometheus;
pub mod runtime;
pub mod tmux;
pub mod units;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use identity::cgroup::Hierarchy;

/// How long a tool may take to load and attach its BPF program.
const ATTACH_TIMEOUT: Duration = Duration::from_secs(60);

/// `d` times `CONTRACE_TEST_TIME_SCALE` (a whole number, default 1): the
/// harness's timeouts stretched for emulated kernels (`scripts/vmtest --suite`).
pub fn scaled(d: Duration) -> Duration {
    let scale = std::env::var("CONTRACE_TEST_TIME_SCALE")
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|&s| s > 0)
        .unwrap_or(1);
    d * scale
}

/// True when the test may run. Without root: a skip message, or a panic when
/// `REQUIRE_BPF_TESTS` is set, so CI never passes by skipping.
pub fn require_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var_os("REQUIRE_BPF_TESTS").is_some() {
        panic!("REQUIRE_BPF_TESTS is set but the tests are not running as root");
    }
    eprintln!("skipping: needs root (set REQUIRE_BPF_TESTS=1 to make this a failure)");
    false
}

/// Root tests share the host; a test that judges the whole host (a
/// host-wide tool's memory or drops) or floods it with cgroups runs alone,
/// so that no other test's cgroups change its verdict, nor its cgroups
/// another's.
static HOST: RwLock<()> = RwLock::new(());

#[doc(hidden)]
pub fn share_host() -> RwLockReadGuard<'static, ()> {
    HOST.read().unwrap_or_else(PoisonError::into_inner)
}

#[doc(hidden)]
pub fn host_to_myself() -> RwLockWriteGuard<'static, ()> {
    HOST.write().unwrap_or_else(PoisonError::into_inner)
}

/// A test that needs root (BPF, cgroups): skipped with a message outside
/// CI, a failure under `REQUIRE_BPF_TESTS` (see [`require_root`]). With
/// `alone` before its name it runs while no other root test does.
///
/// ```ignore
/// root_test!(counts_exactly, {
///     let cg = TestCgroup::new("x");
///     ...
/// });
/// root_test!(
///     /// Docs go inside.
///     alone a_thousand_cgroups_host_wide,
///     { ... }
/// );
/// ```
#[macro_export]
macro_rules! root_test {
    ($(#[$meta:meta])* alone $name:ident, $body:block) => {
        $(#[$meta])*
        #[test]
        fn $name() {
            if !$crate::require_root() {
                return;
            }
            let _host = $crate::host_to_myself();
            $body
        }
    };
    ($(#[$meta:meta])* $name:ident, $body:block) => {
        $(#[$meta])*
        #[test]
        fn $name() {
            if !$crate::require_root() {
                return;
            }
            let _host = $crate::share_host();
            $body
        }
    };
}

/// Where the workspace's binaries are (`target/<profile>/`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test>-<hash>
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// Path of a workspace binary; panics with the fix when it was not built.
pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} not built: run `cargo build --workspace --bins` before the tests (scripts/test does)",
        path.display()
    );
    path
}

/// The cgroup2 mount of this host.
pub fn cgroup2_root() -> PathBuf {
    Hierarchy::detect().expect("cgroup2 mount").root
}

/// A cgroup as the tools' reports and labels name it: its path below the
/// cgroup2 mount, with a leading `/`.
pub fn rel(cgroup: &Path) -> String {
    let below = cgroup
        .strip_prefix(cgroup2_root())
        .unwrap_or_else(|_| panic!("{} is not under the cgroup2 mount", cgroup.display()));
    format!("/{}", below.display())
}

/// A cgroup's id: its directory's inode.
pub fn cgroup_id(dir: &Path) -> u64 {
    std::fs::metadata(dir)
        .unwrap_or_else(|e| panic!("stat {}: {e}", dir.display()))
        .ino()
}

/// A file of the repository (`deploy/…`, `scripts/…`).
pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A cgroup made for one test, removed (processes killed first) on drop.
pub struct TestCgroup {
    pub path: PathBuf,
}

impl TestCgroup {
    /// `<cgroup2>/contrace-test-<name>-<pid>-<n>`.
    pub fn new(name: &str) -> Self {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let path = cgroup2_root().join(format!("contrace-test-{name}-{}-{n}", std::process::id()));
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        Self { path }
    }

    /// A child cgroup of this one (removed with it).
    pub fn child(&self, name: &str) -> PathBuf {
        let path = self.path.join(name);
        std::fs::create_dir(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
        path
    }

    /// The path as a string, for `-c`.
    pub fn arg(&self) -> String {
        self.path.display().to_string()
    }

    /// The cgroup id (directory inode).
    pub fn id(&self) -> u64 {
        cgroup_id(&self.path)
    }

    /// The cgroup as reports name it (see [`rel`]).
    pub fn rel(&self) -> String {
        rel(&self.path)
    }
}

fn kill_and_remove(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            kill_and_remove(&e.path());
        }
    }
    let _ = std::fs::write(dir.join("cgroup.kill"), "1");
    if let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    for _ in 0..100 {
        if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        kill_and_remove(&self.path);
    }
}

/// A running workload, parked before its first action until [`go`](Self::go).
pub struct Workload {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    pub pid: u32,
}

impl Workload {
    /// Starts `workload --cgroup DIR ARGS...` and waits until it is inside.
    pub fn spawn(cgroup: Option<&Path>, args: &[&str]) -> Self {
        let mut cmd = Command::new(bin("workload"));
        if let Some(cg) = cgroup {
            cmd.arg("--cgroup").arg(cg);
        }
        cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn workload");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("workload ready line");
        assert!(line.starts_with("ready"), "workload said {line:?}");
        let pid = child.id();
        Self {
            child,
            stdin,
            stdout,
            pid,
        }
    }

    /// Lets the workload run its actions.
    pub fn go(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            // A --no-wait workload may already be done: ignore EPIPE.
            let _ = stdin.write_all(b"go\n");
        }
    }

    /// The next result line of a running workload (after [`go`](Self::go)):
    /// its first action is done once it is read.
    pub fn next_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("workload output");
        line.trim_end().to_string()
    }

    /// Runs to the end; returns its result lines. Panics if it failed.
    pub fn finish(mut self) -> Vec<String> {
        self.go();
        let mut rest = String::new();
        self.stdout
            .read_to_string(&mut rest)
            .expect("workload output");
        let status = self.child.wait().expect("wait workload");
        assert!(status.success(), "workload failed: {status}; output {rest}");
        rest.lines().map(str::to_string).collect()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Workload {
    /// A test that fails half-way leaves no workload behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the workload to completion right away (no tracer synchronisation).
pub fn run_workload(cgroup: Option<&Path>, args: &[&str]) -> Vec<String> {
    Workload::spawn(cgroup, args).finish()
}

/// A tool running in the background, started only once it has attached.
pub struct Tool {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
    /// Closed once every line of stderr has been read (the pipe's end).
    stderr_read: mpsc::Receiver<()>,
}

/// What a tool printed and how it ended.
#[derive(Debug)]
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// What a command that ran to completion printed, and how it ended.
    pub fn from_output(out: Output) -> Self {
        Self {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// stdout parsed as NDJSON, one value per line.
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
            .collect()
    }
}

impl Tool {
    /// Starts a tool and waits for its "Ctrl-C" status line on stderr, which
    /// every tool prints once its programs are attached.
    pub fn start(name: &str, args: &[&str]) -> Self {
        Self::start_env(name, args, &[])
    }

    /// [`Tool::start`] with extra environment variables.
    pub fn start_env(name: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(bin(name));
        cmd.args(args).envs(env.iter().copied());
        Self::start_command(name, cmd)
    }

    /// [`Tool::start`] for a command that runs the tool (through a
    /// wrapper, with other arguments types or environment).
    pub fn start_command(name: &str, mut cmd: Command) -> Self {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        let (read_tx, stderr_read) = mpsc::channel::<()>();
        {
            let stderr = Arc::clone(&stderr);
            let pipe = child.stderr.take().expect("stderr");
            std::thread::spawn(move || {
                let _read = read_tx;
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if line.contains("Ctrl-C") {
                        let _ = ready_tx.send(());
                    }
                    let mut s = stderr.lock().unwrap();
                    s.push_str(&line);
                    s.push('\n');
                }
            });
        }
        let (out_tx, out_rx) = mpsc::channel();
        let pipe = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if out_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + scaled(ATTACH_TIMEOUT);
        loop {
            if ready_rx.recv_timeout(Duration::from_millis(100)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                all_read(&stderr_read);
                panic!(
                    "{name} exited ({status}) before attaching: {}",
                    stderr.lock().unwrap()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not attach in time: {}",
                stderr.lock().unwrap()
            );
        }
        Self {
            child,
            stdout: out_rx,
            stderr,
            stderr_read,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Next stdout line, waiting up to `timeout`.
    pub fn next_line(&self, timeout: Duration) -> Option<String> {
        self.stdout.recv_timeout(timeout).ok()
    }

    /// Sends a signal and collects the output.
    pub fn signal(self, sig: nix::sys::signal::Signal) -> Finished {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, sig).expect("signal tool");
        self.wait()
    }

    /// SIGINT (Ctrl-C) and the final report.
    pub fn stop(self) -> Finished {
        self.signal(nix::sys::signal::Signal::SIGINT)
    }

    /// Waits for the tool to exit by itself (e.g. after `-d`).
    pub fn wait(mut self) -> Finished {
        let deadline = Instant::now() + scaled(Duration::from_secs(60));
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait tool") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("tool did not exit: {}", self.stderr.lock().unwrap());
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Every line, up to the pipes' ends (a generous bound in case a
        // descendant holds them open).
        let mut stdout = String::new();
        while let Ok(line) = self.stdout.recv_timeout(scaled(Duration::from_secs(60))) {
            stdout.push_str(&line);
            stdout.push('\n');
        }
        all_read(&self.stderr_read);
        let stderr = self.stderr.lock().unwrap().clone();
        Finished {
            code: status.code(),
            stdout,
            stderr,
        }
    }
}

/// Waits until a pipe's reader thread has read to the end (its sender is
/// dropped), for at most a generous minute.
fn all_read(done: &mpsc::Receiver<()>) {
    let _ = done.recv_timeout(scaled(Duration::from_secs(60)));
}

impl Drop for Tool {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `tool ARGS -o json` while `work` runs (given the attached tool),
/// stops it with SIGINT, checks it exited 0 and returns its NDJSON lines.
pub fn json_run(tool: &str, args: &[&str], work: impl FnOnce(&Tool)) -> Vec<serde_json::Value> {
    json_run_env(tool, args, &[], work)
}

/// [`json_run`] with extra environment variables.
pub fn json_run_env(
    tool: &str,
    args: &[&str],
    env: &[(&str, &str)],
    work: impl FnOnce(&Tool),
) -> Vec<serde_json::Value> {
    json_done(tool, json_finish_env(tool, args, env, work))
}

/// [`json_run`], but returning everything the tool printed.
pub fn json_finish(tool: &str, args: &[&str], work: impl FnOnce(&Tool)) -> Finished {
    json_finish_env(tool, args, &[], work)
}

/// [`json_finish`] with extra environment variables.
pub fn json_finish_env(
    tool: &str,
    args: &[&str],
    env: &[(&str, &str)],
    work: impl FnOnce(&Tool),
) -> Finished {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    let running = Tool::start_env(tool, &all, env);
    work(&running);
    running.stop()
}

/// The NDJSON lines of a finished run, after checking it exited 0.
pub fn json_done(tool: &str, done: Finished) -> Vec<serde_json::Value> {
    assert_eq!(done.code, Some(0), "{tool} failed: {}", done.stderr);
    done.json()
}

/// The one report of a run without `-i` (constat, syscount).
pub fn json_report(tool: &str, args: &[&str], work: impl FnOnce(&Tool)) -> serde_json::Value {
    json_report_env(tool, args, &[], work)
}

/// [`json_report`] with extra environment variables.
pub fn json_report_env(
    tool: &str,
    args: &[&str],
    env: &[(&str, &str)],
    work: impl FnOnce(&Tool),
) -> serde_json::Value {
    let reports = json_run_env(tool, args, env, work);
    assert_eq!(reports.len(), 1, "{tool}: one report expected: {reports:?}");
    reports.into_iter().next().unwrap_or_default()
}

/// The table a tool printed while `work` ran, stopped with SIGINT.
pub fn text_run(tool: &str, args: &[&str], work: impl FnOnce()) -> String {
    let running = Tool::start(tool, args);
    work();
    let done = running.stop();
    assert_eq!(done.code, Some(0), "{tool} failed: {}", done.stderr);
    done.stdout
}

/// The first table line whose first cell is `first` (which may hold
/// spaces: `getppid (i386)`).
pub fn table_row<'a>(text: &'a str, first: &str) -> Option<&'a str> {
    text.lines().find(|l| {
        l.strip_prefix(first)
            .is_some_and(|rest| rest.starts_with(char::is_whitespace))
    })
}

/// The whitespace-separated cells of a table line.
pub fn cells(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// The program paths of the syscall tools: this kernel's own, and the old
/// kernels' (without BTF task pointers and task storage, 5.10), forced.
pub const KERNEL_PATHS: [&[(&str, &str)]; 2] = [&[], &[("CONTRACE_FORCE_FALLBACK", "1")]];

/// The four tools.
pub const TOOLS: [&str; 4] = ["constat", "syscount", "unsharesnoop", "conbiograph"];
/// Tools that print a report every `-i` seconds.
pub const INTERVAL_TOOLS: [&str; 2] = ["constat", "syscount"];
/// Tools whose reports hold per-syscall rows (`rows[].syscall`).
pub const SYSCALL_TOOLS: [&str; 2] = ["constat", "syscount"];

/// Runs a tool to completion (for bad-input tests): exit code and stderr.
pub fn run_tool(name: &str, args: &[&str]) -> Finished {
    run_command(Command::new(bin(name)).args(args))
}

/// Runs a command to completion, stdin closed unless it says otherwise:
/// what it printed and how it ended.
pub fn run_command(cmd: &mut Command) -> Finished {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    Finished::from_output(out)
}

/// What `tool`'s bash completion offers for the last of `words` (the
/// words after the tool's name, e.g. `["-c", "web"]`), in its order, by
/// clap_complete's protocol as the script from `--generate-completions
/// bash` calls it.
pub fn complete(tool: &str, words: &[&str]) -> Vec<String> {
    let out = run_command(
        Command::new(bin(tool))
            .args(["--", tool])
            .args(words)
            .env("COMPLETE", "bash")
            .env("_CLAP_COMPLETE_INDEX", words.len().to_string())
            .env("_CLAP_COMPLETE_COMP_TYPE", "9")
            .env("_CLAP_COMPLETE_SPACE", "false")
            .env("_CLAP_IFS", "\n"),
    );
    assert_eq!(out.code, Some(0), "{tool} completion: {}", out.stderr);
    out.stdout.lines().map(str::to_string).collect()
}

/// CLOCK_MONOTONIC in ns: the clock of the kernel's timestamps
/// (`bpf_ktime_get_ns`).
pub fn monotonic_ns() -> u64 {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).expect("clock");
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64
}

/// Inode of a process's namespace of `kind` (what setns joins).
pub fn ns_inode(pid: u32, kind: &str) -> u64 {
    std::fs::metadata(format!("/proc/{pid}/ns/{kind}"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/ns/{kind}: {e}"))
        .ino()
}

/// The number a workload printed after `word` ("clone3 1234" -> 1234).
pub fn printed(lines: &[String], word: &str) -> i64 {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(&format!("{word} ")))
        .unwrap_or_else(|| panic!("workload printed no {word}: {lines:?}"))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{word}: {e}: {lines:?}"))
}

/// The JSON row of `syscall` in a constat/syscount report.
pub fn row<'a>(report: &'a serde_json::Value, syscall: &str) -> Option<&'a serde_json::Value> {
    report["rows"]
        .as_array()?
        .iter()
        .find(|r| r["syscall"] == syscall)
}

/// Numeric field of a JSON value (0 when absent).
pub fn u(v: Option<&serde_json::Value>, field: &str) -> u64 {
    v.and_then(|v| v[field].as_u64()).unwrap_or(0)
}

/// How long `work` took on the monotonic clock: a bound for any time a
/// tool measured inside it that holds however loaded the machine is.
pub fn timed<T>(work: impl FnOnce() -> T) -> Duration {
    let start = Instant::now();
    work();
    start.elapsed()
}

/// Checks a log2 latency histogram (`(low, high, count)` buckets, in its
/// unit) of `calls` sleeps of `sleep` units each that all ran within
/// `ran` units: every call is counted, none below the sleep's own bucket
/// (sleeps never end early) and none above what the run left for its
/// longest call. On a quiet machine that is the sleep's bucket alone, as
/// exact as a wall-clock-free test can be.
pub fn assert_sleep_buckets(buckets: &[(u64, u64, u64)], calls: u64, sleep: u64, ran: u64) {
    let floor = 1u64 << sleep.ilog2();
    let longest = ran.saturating_sub((calls - 1) * sleep);
    let counted: u64 = buckets.iter().map(|b| b.2).sum();
    assert_eq!(counted, calls, "{buckets:?}");
    for &(low, high, count) in buckets.iter().filter(|b| b.2 > 0) {
        assert!(
            low >= floor && low <= longest,
            "{count} calls in [{low}, {high}]: sleeps of {sleep} take [{floor}, {longest}]: \
             {buckets:?}"
        );
    }
}

/// `(low, high, count)` of a JSON histogram's buckets.
pub fn json_buckets(histogram: &serde_json::Value) -> Vec<(u64, u64, u64)> {
    histogram["buckets"]
        .as_array()
        .expect("histogram buckets")
        .iter()
        .map(|b| (u(Some(b), "low"), u(Some(b), "high"), u(Some(b), "count")))
        .collect()
}

/// Resident memory of a process, KiB (0 if it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Names of the workload's `distinct` syscalls, in its order.
pub const DISTINCT_SYSCALL_NAMES: [&str; 32] = [
    "getppid",
    "getpgrp",
    "getsid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getresuid",
    "getresgid",
    "getgroups",
    "uname",
    "sysinfo",
    "times",
    "getrusage",
    "getpriority",
    "sched_getscheduler",
    "sched_getparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_rr_get_interval",
    "getitimer",
    "personality",
    "getcpu",
    "getpgid",
    "sched_yield",
    "time",
    "gettimeofday",
    "clock_getres",
    "getcwd",
    "gettid",
    "capget",
    "sched_getaffinity",
];
