//! One syscall engine, one answer: constat, syscount and the exporter count
//! the same calls as bpftrace at sys_enter, on a real shell that forks,
//! vforks, signals itself (handlers end in rt_sigreturn) and waits (calls a
//! signal interrupts are restarted).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use contrace_tests::prometheus::free_local_port;
use contrace_tests::{root_test, run_workload, scaled, TestCgroup, Tool};

/// Forks (dash runs simple commands by vfork), subshells, a signal with a
/// handler per round, and waits a child's SIGCHLD can interrupt.
const SCRIPT: &str = "trap 'n=$((n+1))' USR1; n=0; i=0; \
    while [ $i -lt 25 ]; do /bin/true; kill -USR1 $$; ( : ) & wait; i=$((i+1)); done; \
    [ $n -eq 25 ]";

/// Calls per syscall name.
type Counts = BTreeMap<String, u64>;

/// bpftrace counting sys_enter of one cgroup, until stopped.
struct Bpftrace {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Bpftrace {
    /// Starts it and waits until its probe fires: one probe counts the
    /// cgroup's calls and says "ready" at the first call of this test
    /// process, so once that line is read, the probe is attached ("Attaching"
    /// is printed before).
    fn start(cg: &TestCgroup) -> Self {
        let program = format!(
            "tracepoint:raw_syscalls:sys_enter {{ \
               if (cgroup == cgroupid(\"{}\")) {{ @[args->id] = count(); }} \
               else if (pid == {} && @ready == 0) {{ @ready = 1; printf(\"ready\\n\"); }} }}",
            cg.path.display(),
            std::process::id()
        );
        let mut child = Command::new("bpftrace")
            .args(["-e", &program])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bpftrace (scripts/setup installs it)");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + scaled(Duration::from_secs(60));
        let mut said = Vec::new();
        while !said.iter().any(|l: &String| l == "ready") {
            // Our own calls (this loop's) fire the probe once it is attached.
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left.min(Duration::from_millis(100))) {
                Ok(line) => said.push(line),
                Err(_) if Instant::now() < deadline => {}
                Err(_) => panic!("bpftrace never fired: {said:?}"),
            }
        }
        Self { child, lines: rx }
    }

    /// Stops it (SIGINT prints the map) and reads `@[NR]: COUNT` lines.
    fn stop(mut self) -> Counts {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT bpftrace");
        let status = self.child.wait().expect("wait bpftrace");
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
        }
        assert!(status.success(), "bpftrace: {status}: {stderr}");
        let mut counts = Counts::new();
        for line in self.lines.iter() {
            let Some((nr, n)) = line.strip_prefix("@[").and_then(|l| l.split_once("]: ")) else {
                continue;
            };
            let nr: u32 = nr.parse().expect("syscall number");
            let name = kernel::syscalls::name(nr).into_owned();
            *counts.entry(name).or_default() += n.trim().parse::<u64>().expect("count");
        }
        counts
    }
}

impl Drop for Bpftrace {
    /// A test that fails half-way leaves no bpftrace attached.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tool's NDJSON rows (last report) as calls per native syscall name.
fn rows(report: &serde_json::Value) -> Counts {
    let mut counts = Counts::new();
    for r in report["rows"].as_array().expect("rows") {
        assert_eq!(r["compat"], false, "a 64-bit shell: {r}");
        let name = r["syscall"].as_str().expect("syscall").to_string();
        *counts.entry(name).or_default() += r["count"].as_u64().expect("count");
    }
    counts
}

/// `contrace_syscalls_total` of one cgroup (its path relative to the mount).
fn scraped(addr: &str, rel: &str) -> Counts {
    let body = ureq::get(&format!("http://{addr}/metrics"))
        .call()
        .and_then(|mut r| r.body_mut().read_to_string())
        .unwrap_or_default();
    let wanted = format!("cgroup=\"{rel}\"");
    let mut counts = Counts::new();
    for line in body
        .lines()
        .filter(|l| l.starts_with("contrace_syscalls_total{"))
    {
        let Some((head, value)) = line.rsplit_once(' ') else {
            continue;
        };
        if !head.contains(&wanted) {
            continue;
        }
        let name = head
            .split("syscall=\"")
            .nth(1)
            .and_then(|s| s.split('"').next());
        if let (Some(name), Ok(v)) = (name, value.parse::<f64>()) {
            counts.insert(name.to_string(), v as u64);
        }
    }
    counts
}

/// The exit-only views never see the calls that do not return.
fn returning(mut counts: Counts) -> Counts {
    counts.remove("exit");
    counts.remove("exit_group");
    counts
}

root_test!(every_view_counts_the_calls_bpftrace_sees, {
    let cg = TestCgroup::new("engine-agree");
    let listen = free_local_port().expect("free port").to_string();
    let exporter = Tool::start(
        "contrace-exporter",
        &["--listen", &listen, "--top-syscalls", "512", "--no-block"],
    );
    let constat = Tool::start("constat", &["-c", &cg.arg(), "-o", "json"]);
    let syscount = Tool::start("syscount", &["-c", &cg.arg(), "-o", "json", "-T", "1000"]);
    let bpftrace = Bpftrace::start(&cg);

    let out = run_workload(
        None,
        &[
            "--no-wait",
            "spawn-into",
            &cg.arg(),
            "/bin/sh",
            "-c",
            SCRIPT,
        ],
    );
    assert_eq!(
        out.first().map(String::as_str),
        Some("spawned 0"),
        "the script: {out:?}"
    );

    let truth = bpftrace.stop();
    for name in [
        "clone",
        "vfork",
        "rt_sigreturn",
        "kill",
        "wait4",
        "execve",
        "exit_group",
    ] {
        let seen = truth.get(name).copied().unwrap_or(0);
        assert!(seen > 0, "the workload makes {name}: {truth:?}");
    }
    let constat = rows(&constat.stop().json().pop().expect("constat report"));
    assert_eq!(constat, truth, "constat against bpftrace");
    let syscount = rows(&syscount.stop().json().pop().expect("syscount report"));
    assert_eq!(
        syscount,
        returning(truth.clone()),
        "syscount against bpftrace"
    );

    // The exporter drains in the background: wait until it shows them all.
    let rel = format!("/{}", cg.path.file_name().unwrap().to_string_lossy());
    let deadline = Instant::now() + scaled(Duration::from_secs(30));
    let mut served = scraped(&listen, &rel);
    while served != returning(truth.clone()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        served = scraped(&listen, &rel);
    }
    assert_eq!(served, returning(truth), "the exporter against bpftrace");
    drop(exporter);
});
