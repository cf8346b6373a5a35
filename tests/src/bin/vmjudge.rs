//! Judges one kernel's VM matrix run from the files tests/vm/checks.sh left
//! in OUT_DIR (one directory per run: cmd, stdout, stderr, meta, w-*.out).
//!
//! `vmjudge OUT_DIR`: one `PASS name: detail` / `FAIL name: detail` line per
//! check (a failing tool's stderr below it), `OUT_DIR/results.tsv` for the
//! matrix table; exit 0 when all pass, 1 when any fails, 2 on bad usage.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use contrace_tests::exporter::{parse, value};
use serde_json::Value;

/// Lines of a failing tool's stderr shown under its FAIL line.
const STDERR_LINES: usize = 12;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vmjudge: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode> {
    let mut args = std::env::args_os().skip(1);
    let (Some(out), None) = (args.next(), args.next()) else {
        bail!("usage: vmjudge OUT_DIR (the directory tests/vm/checks.sh wrote)");
    };
    let out = PathBuf::from(out);
    if !out.is_dir() {
        bail!(
            "{} is not a directory: give the OUT directory of tests/vm/checks.sh",
            out.display()
        );
    }
    if let Ok(env) = std::fs::read_to_string(out.join("env")) {
        println!("({})", env.lines().collect::<Vec<_>>().join(", "));
    }
    let mut tsv = String::new();
    let mut failed = 0;
    // A tool that refuses to load fails every check the same way: its
    // stderr is shown once, then referred to.
    let mut shown: Vec<(&str, Vec<String>)> = Vec::new();
    for (name, check) in CHECKS {
        let outcome = judge_rounds(&Run::load_rounds(&out, name), *check);
        let word = if outcome.pass { "PASS" } else { "FAIL" };
        println!("{word} {name}: {}", outcome.detail);
        match shown
            .iter()
            .find(|(_, lines)| *lines == outcome.stderr_tail)
        {
            Some((first, _)) if !outcome.stderr_tail.is_empty() => {
                println!("    | (same stderr as {first})");
            }
            _ => {
                for line in &outcome.stderr_tail {
                    println!("    | {line}");
                }
                shown.push((name, outcome.stderr_tail));
            }
        }
        failed += usize::from(!outcome.pass);
        tsv.push_str(&format!(
            "{name}\t{word}\t{}\n",
            outcome.detail.replace(['\t', '\n'], " ")
        ));
    }
    let path = out.join("results.tsv");
    std::fs::write(&path, tsv).with_context(|| format!("writing {}", path.display()))?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Check name (= run directory) and its judge.
type Judge = fn(&Run) -> Result<String, String>;
const CHECKS: &[(&str, Judge)] = &[
    ("constat-tree", constat_tree),
    ("constat-exact", constat_exact),
    ("constat-i386", constat_i386),
    ("constat-denied", constat_denied),
    ("syscount-count", syscount_counts),
    ("syscount-latency", syscount_counts),
    ("syscount-histogram", syscount_histogram),
    ("hostwide-constat", hostwide_constat),
    ("hostwide-syscount", hostwide_syscount),
    ("unsharesnoop-burst", unsharesnoop_burst),
    ("unsharesnoop-small", unsharesnoop_small),
    ("conbiograph-direct-write", conbiograph_direct_write),
    ("conbiograph-direct-read", conbiograph_direct_read),
    ("conbiograph-fsync", conbiograph_fsync),
    ("conbiograph-sync", conbiograph_sync),
    ("conbiograph-periods", conbiograph_fixed_run),
    ("conbiograph-partial", conbiograph_fixed_run),
    ("exporter-default", exporter_counts),
    ("exporter-latency", exporter_counts),
    ("modes-load", loads),
];

/// One check over its runs (several rounds for some): passes when every
/// round passes.
fn judge_rounds(runs: &[Run], check: Judge) -> Outcome {
    if runs.is_empty() {
        return Outcome::fail("did not run (the guest stopped before it: see the console log)");
    }
    let outcomes: Vec<Outcome> = runs.iter().map(|r| r.judge(check)).collect();
    if outcomes.len() == 1 {
        return outcomes.into_iter().next().expect("one outcome");
    }
    let pass = outcomes.iter().all(|o| o.pass);
    let detail = outcomes
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let word = if o.pass { "" } else { " FAILED" };
            format!("[{}{word}] {}", i + 1, o.detail)
        })
        .collect::<Vec<_>>()
        .join("; ");
    let stderr_tail = outcomes
        .into_iter()
        .find(|o| !o.pass)
        .map(|o| o.stderr_tail)
        .unwrap_or_default();
    Outcome {
        pass,
        detail,
        stderr_tail,
    }
}

struct Outcome {
    pass: bool,
    detail: String,
    stderr_tail: Vec<String>,
}

impl Outcome {
    fn fail(detail: &str) -> Self {
        Self {
            pass: false,
            detail: detail.to_string(),
            stderr_tail: Vec::new(),
        }
    }
}

/// What one run left behind.
struct Run {
    dir: PathBuf,
    meta: HashMap<String, String>,
    stdout: String,
    stderr: String,
    /// libbpf's log of a second, `-v` attempt after a refusal to load.
    verbose: String,
}

impl Run {
    /// The run directory NAME, or its rounds NAME.1, NAME.2, ...
    fn load_rounds(out: &Path, name: &str) -> Vec<Self> {
        if let Some(run) = Self::load(out.join(name)) {
            return vec![run];
        }
        (1..)
            .map_while(|i| Self::load(out.join(format!("{name}.{i}"))))
            .collect()
    }

    fn load(dir: PathBuf) -> Option<Self> {
        let meta = std::fs::read_to_string(dir.join("meta")).ok()?;
        let meta = meta
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
        Some(Self {
            stdout: read("stdout"),
            stderr: read("stderr"),
            verbose: read("stderr-verbose"),
            dir,
            meta,
        })
    }

    /// A ground-truth number the checks script recorded.
    fn truth(&self, key: &str) -> Result<u64, String> {
        self.meta
            .get(key)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("meta has no number {key}"))
    }

    fn flag(&self, key: &str) -> Option<&str> {
        self.meta.get(key).map(String::as_str)
    }

    /// The rest of the first line a workload printed starting with `prefix`.
    fn workload_line(&self, name: &str, prefix: &str) -> Result<String, String> {
        let text = std::fs::read_to_string(self.dir.join(format!("w-{name}.out")))
            .map_err(|e| format!("workload {name} output: {e}"))?;
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(|rest| rest.trim().to_string())
            .ok_or_else(|| format!("workload {name} printed no {prefix:?} line: {text:?}"))
    }

    /// The pid a workload printed in its "ready PID" line.
    fn workload_pid(&self, name: &str) -> Result<u64, String> {
        let text = std::fs::read_to_string(self.dir.join(format!("w-{name}.out")))
            .map_err(|e| format!("workload {name} output: {e}"))?;
        text.lines()
            .find_map(|l| l.strip_prefix("ready "))
            .and_then(|p| p.trim().parse().ok())
            .ok_or_else(|| format!("workload {name} printed no ready line: {text:?}"))
    }

    fn json(&self) -> Result<Vec<Value>, String> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| format!("bad JSON line {l:?}: {e}")))
            .collect()
    }

    /// Everything that makes a run unusable, whatever the check: the tool
    /// never attached, hung after SIGINT, failed, or a workload failed.
    fn judge(&self, check: Judge) -> Outcome {
        let tool_failed = |detail: String| Outcome {
            pass: false,
            detail,
            stderr_tail: tail(&self.stderr, STDERR_LINES),
        };
        if self.flag("attached") != Some("1") {
            let why = match (self.flag("attach_timeout"), self.flag("rc")) {
                (Some(t), _) => format!("did not attach within {t} s"),
                (None, Some(rc)) => format!("refused to load (exit {rc})"),
                (None, None) => "did not attach".to_string(),
            };
            let mut out = tool_failed(why);
            out.stderr_tail.extend(why_refused(&self.verbose));
            return out;
        }
        if self.flag("rc").is_none() && self.flag("hung").is_none() {
            return tool_failed(
                "the guest stalled during this run: no exit recorded (see the console log)"
                    .to_string(),
            );
        }
        if self.flag("hung") == Some("1") {
            return tool_failed(format!(
                "hung: still running {} s after SIGINT (killed)",
                self.flag("stop_ticks")
                    .and_then(|t| t.parse::<u64>().ok())
                    .map_or(0, |t| t / 10)
            ));
        }
        if self.flag("rc") != Some("0") {
            return tool_failed(format!(
                "exit {} after SIGINT",
                self.flag("rc").unwrap_or("unknown")
            ));
        }
        if let Some((k, v)) = self
            .meta
            .iter()
            .find(|(k, v)| k.starts_with("w_") && v.as_str() != "0")
        {
            let why = match v.as_str() {
                "124" | "143" => "timed out (WORK_TIMEOUT)",
                _ => "failed",
            };
            return Outcome::fail(&format!("workload {why} ({k}={v})"));
        }
        match check(self) {
            Ok(detail) => Outcome {
                pass: true,
                detail,
                stderr_tail: Vec::new(),
            },
            Err(detail) => Outcome {
                pass: false,
                detail,
                stderr_tail: tail(&self.stderr, STDERR_LINES),
            },
        }
    }
}

fn tail(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// The lines of libbpf's log that say why loading failed: its errors, and
/// the last lines of each verifier log (where the verifier names the fault).
fn why_refused(log: &str) -> Vec<String> {
    const VERIFIER_TAIL: usize = 3;
    const MAX: usize = 12;
    let lines: Vec<&str> = log.lines().collect();
    let mut picked: Vec<String> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let lower = line.to_ascii_lowercase();
        let error = lower.starts_with("libbpf:")
            && ["fail", "error", "invalid", "unknown", "not supported"]
                .iter()
                .any(|w| lower.contains(w));
        if line.contains("-- END PROG LOAD LOG --") {
            for l in &lines[i.saturating_sub(VERIFIER_TAIL)..i] {
                picked.push(format!("verifier: {l}"));
            }
        } else if error {
            picked.push(line.replacen("libbpf: libbpf: ", "libbpf: ", 1));
        }
    }
    picked.dedup();
    picked.truncate(MAX);
    picked
}

fn num(v: &Value, field: &str) -> u64 {
    v[field].as_u64().unwrap_or(0)
}

/// The last (final) constat/syscount report.
fn final_report(run: &Run) -> Result<Value, String> {
    let reports = run.json()?;
    match reports.last() {
        Some(r) if r["final"] == true => Ok(r.clone()),
        _ => Err(format!(
            "no final report in stdout ({} lines)",
            reports.len()
        )),
    }
}

/// The row of a native (x86_64) syscall.
fn row<'a>(report: &'a Value, syscall: &str) -> Option<&'a Value> {
    abi_row(report, syscall, false)
}

/// The row of `syscall` in the native (`compat` false) or 32-bit ABI.
fn abi_row<'a>(report: &'a Value, syscall: &str, compat: bool) -> Option<&'a Value> {
    report["rows"]
        .as_array()?
        .iter()
        .find(|r| r["syscall"] == syscall && r["compat"].as_bool().unwrap_or(false) == compat)
}

fn count_of(report: &Value, syscall: &str) -> (u64, u64) {
    row(report, syscall).map_or((0, 0), |r| (num(r, "count"), num(r, "errors")))
}

fn verdict(ok: bool, detail: String) -> Result<String, String> {
    if ok {
        Ok(detail)
    } else {
        Err(detail)
    }
}

fn constat_tree(run: &Run) -> Result<String, String> {
    let report = final_report(run)?;
    let (n, k) = (run.truth("getppid")?, run.truth("openfail")?);
    let outsider = run.truth("outsider_getppid")?;
    let (getppid, _) = count_of(&report, "getppid");
    let (openat, failed) = count_of(&report, "openat");
    verdict(
        getppid == n && openat == k && failed == k,
        format!(
            "child cgroup getppid {getppid}/{n}, openat {openat}/{k} ({failed} failed); \
             sibling's {outsider} getppid must not count"
        ),
    )
}

fn constat_exact(run: &Run) -> Result<String, String> {
    let report = final_report(run)?;
    let (own, child) = (run.truth("getppid")?, run.truth("child_getppid")?);
    let (getppid, _) = count_of(&report, "getppid");
    let (openat, _) = count_of(&report, "openat");
    verdict(
        getppid == own && openat == 0,
        format!(
            "--exact: own getppid {getppid}/{own}, child's {child} getppid and openat excluded \
             (openat {openat}/0)"
        ),
    )
}

fn constat_i386(run: &Run) -> Result<String, String> {
    let report = final_report(run)?;
    let (native, i386) = (run.truth("getppid")?, run.truth("getppid32")?);
    let (getppid, _) = count_of(&report, "getppid");
    let compat = abi_row(&report, "getppid", true);
    let (getppid32, nr) = compat.map_or((0, 0), |r| (num(r, "count"), num(r, "nr")));
    // i386 64 is x86_64's semget: a 32-bit call named by the native table.
    let semget = report["rows"].as_array().map_or(0, |rows| {
        rows.iter().filter(|r| r["syscall"] == "semget").count()
    });
    verdict(
        getppid == native && getppid32 == i386 && nr == 64 && semget == 0,
        format!(
            "getppid {getppid}/{native}, int 0x80 getppid (i386) {getppid32}/{i386} as nr {nr}/64, \
             semget rows {semget}/0"
        ),
    )
}

fn constat_denied(run: &Run) -> Result<String, String> {
    let report = final_report(run)?;
    let openfail = run.truth("openfail")?;
    let (native, i386) = (run.truth("denied_getppid")?, run.truth("denied_getppid32")?);
    let calls = |r: Option<&Value>| {
        r.map_or((0, 0, 0), |r| {
            (num(r, "count"), num(r, "errors"), num(r, "denied"))
        })
    };
    let getppid = row(&report, "getppid");
    let (count, errors, denied) = calls(getppid);
    let errno = getppid.and_then(|r| r["errno"].as_str()).unwrap_or("none");
    let elapsed = getppid.map_or(0, |r| num(r, "elapsed_ns"));
    let (count32, _, denied32) = calls(abi_row(&report, "getppid", true));
    let (_, open_errors, open_denied) = calls(row(&report, "openat"));
    let total = num(&report["total"], "denied");
    verdict(
        (count, errors, denied) == (native, native, native)
            && errno == "EPERM"
            && elapsed == 0
            && (count32, denied32) == (i386, i386)
            && (open_errors, open_denied) == (openfail, 0)
            && total == native + i386,
        format!(
            "seccomp-denied getppid count/errors/denied {count}/{errors}/{denied} of {native} \
             ({errno}, {elapsed} ns run), i386 {count32}/{denied32} of {i386}; ENOENT openat \
             {open_errors}/{openfail} with {open_denied}/0 denied; total denied {total}/{}",
            native + i386
        ),
    )
}

fn syscount_counts(run: &Run) -> Result<String, String> {
    let report = final_report(run)?;
    let n = run.truth("getppid")?;
    let (getppid, _) = count_of(&report, "getppid");
    verdict(
        getppid == n,
        format!(
            "getppid {getppid}/{n} (descendant in, sibling's {} out)",
            run.truth("outsider_getppid")?
        ),
    )
}

/// The rows of cgroup `cg` in a host-wide final report's list `list`.
fn cgroup_rows(run: &Run, list: &str) -> Result<(Vec<Value>, String), String> {
    let report = final_report(run)?;
    let cg = run.flag("cgroup").ok_or("meta has no cgroup")?.to_string();
    let rows = report[list]
        .as_array()
        .ok_or(format!("the final report has no {list}"))?
        .iter()
        .filter(|r| r["cgroup"] == cg.as_str())
        .cloned()
        .collect();
    Ok((rows, cg))
}

/// constat host-wide: the inner cgroup's one row holds exactly its getppid
/// and failed openat calls (so none of the outsider's).
fn hostwide_constat(run: &Run) -> Result<String, String> {
    let (rows, cg) = cgroup_rows(run, "cgroups")?;
    let (n, k) = (run.truth("getppid")?, run.truth("openfail")?);
    let count: u64 = rows.iter().map(|r| num(r, "count")).sum();
    let errors: u64 = rows.iter().map(|r| num(r, "errors")).sum();
    verdict(
        rows.len() == 1 && count == n + k && errors == k,
        format!(
            "{cg}: {} row(s), calls {count}/{}, errors {errors}/{k}",
            rows.len(),
            n + k
        ),
    )
}

/// syscount --by-cgroup: the inner cgroup's getppid and openat rows.
fn hostwide_syscount(run: &Run) -> Result<String, String> {
    let (rows, cg) = cgroup_rows(run, "rows")?;
    let (n, k) = (run.truth("getppid")?, run.truth("openfail")?);
    let of = |name: &str| -> u64 {
        rows.iter()
            .filter(|r| r["syscall"] == name)
            .map(|r| num(r, "count"))
            .sum()
    };
    let (getppid, openat) = (of("getppid"), of("openat"));
    verdict(
        getppid == n && openat == k,
        format!("{cg}: getppid {getppid}/{n}, openat {openat}/{k}"),
    )
}

/// The scrape after the work was served (checks.sh polls for it): the
/// workload's cgroup's getppid calls, openat failures and its one new UTS
/// namespace, exactly.
fn exporter_counts(run: &Run) -> Result<String, String> {
    if run.flag("scrape_rc") != Some("0") {
        return Err(format!(
            "the scrape failed (rc {:?})",
            run.flag("scrape_rc")
        ));
    }
    let scrape = std::fs::read_to_string(run.dir.join("metrics"))
        .map_err(|e| format!("the scrape's file: {e}"))?;
    let cg = run.flag("cgroup").ok_or("meta has no cgroup")?;
    let (n, k) = (run.truth("getppid")?, run.truth("openfail")?);
    let series = parse(&scrape);
    let served =
        |name, labels: &[(&str, &str)]| value(&series, name, cg, labels).unwrap_or(0.0) as u64;
    let getppid = served("contrace_syscalls_total", &[("syscall", "getppid")]);
    let failed = served("contrace_syscall_errors_total", &[("syscall", "openat")]);
    let uts = served(
        "contrace_namespace_changes_total",
        &[("call", "unshare"), ("kind", "uts")],
    );
    verdict(
        getppid == n && failed == k && uts == 1,
        format!("{cg}: getppid {getppid}/{n}, openat failed {failed}/{k}, unshare uts {uts}/1"),
    )
}

/// A mode that attached and ended cleanly (what `Run::judge` checks
/// before any judge): its command line.
fn loads(run: &Run) -> Result<String, String> {
    let cmd = std::fs::read_to_string(run.dir.join("cmd")).map_err(|e| format!("cmd: {e}"))?;
    Ok(cmd.trim().to_string())
}

fn syscount_histogram(run: &Run) -> Result<String, String> {
    let report = final_report(run)?;
    let n = run.truth("getppid")?;
    let r = row(&report, "getppid").ok_or(format!("no getppid row (want {n})"))?;
    let count = num(r, "count");
    let buckets: u64 = r["histogram"]["buckets"]
        .as_array()
        .map_or(0, |b| b.iter().map(|b| num(b, "count")).sum());
    verdict(
        count == n && buckets == n,
        format!("getppid {count}/{n}, histogram buckets sum {buckets}/{n}"),
    )
}

/// Events of `pid` and the summary of an unsharesnoop JSON run.
fn snoop(run: &Run, pid: u64) -> Result<(u64, u64, Value), String> {
    let mut objects = run.json()?;
    let summary = objects.pop().ok_or("no output")?;
    if summary["type"] != "summary" {
        return Err(format!("last line is not the summary: {summary}"));
    }
    let events = objects.iter().filter(|o| o["type"] == "event").count() as u64;
    if summary["events"] != events {
        return Err(format!(
            "summary says {} events, {events} printed",
            summary["events"]
        ));
    }
    let mine = objects
        .iter()
        .filter(|o| o["pid"] == pid && o["call"] == "unshare")
        .count() as u64;
    Ok((mine, events, summary))
}

fn unsharesnoop_burst(run: &Run) -> Result<String, String> {
    let n = run.truth("burst")?;
    let (pid, outsider) = (run.workload_pid("inner")?, run.workload_pid("outsider")?);
    // The sibling's setns into the host's net namespace, which the target
    // uses too, must have happened: it is not entering the target.
    let setns = run.workload_line("outsider", "setns ")?;
    let (mine, events, summary) = snoop(run, pid)?;
    let lost = num(&summary, "lost");
    let theirs = events - mine;
    verdict(
        mine + lost == n && lost == 0 && theirs == 0 && setns == "0",
        format!(
            "events {mine} + lost {lost} = {}/{n}, lost must be 0; other events {theirs}/0 \
             (sibling pid {outsider} made {} and a setns into the host's net: ret {setns}/0)",
            mine + lost,
            run.truth("outsider_burst")?
        ),
    )
}

fn unsharesnoop_small(run: &Run) -> Result<String, String> {
    let n = run.truth("burst")?;
    let (mine, events, summary) = snoop(run, run.workload_pid("inner")?)?;
    let lost = num(&summary, "lost");
    verdict(
        mine + lost == n && events == mine,
        format!(
            "events {mine} + lost {lost} = {}/{n}, ended {:.1} s after SIGINT",
            mine + lost,
            run.truth("stop_ticks").unwrap_or(0) as f64 / 10.0
        ),
    )
}

/// conbiograph's period rows and summary, after checking their shape:
/// rows `t_ms` = i × period, all full but the last, which is partial
/// exactly when shorter; `periods` and `duration_ms` agree with the rows.
fn io_periods(run: &Run) -> Result<(Vec<Value>, Value), String> {
    let period = run.truth("period_ms")? as f64;
    let mut objects = run.json()?;
    let summary = objects
        .pop()
        .filter(|s| s["type"] == "summary")
        .ok_or("no summary line")?;
    let n = objects.len();
    let mut covered = 0.0;
    for (i, p) in objects.iter().enumerate() {
        let len = p["length_ms"].as_f64().unwrap_or(-1.0);
        let partial = p["partial"].as_bool();
        let last = i + 1 == n;
        let shape_ok = p["type"] == "period"
            && p["t_ms"].as_f64() == Some(i as f64 * period)
            && if last {
                len > 0.0 && len <= period && partial == Some(len < period)
            } else {
                len == period && partial == Some(false)
            };
        if !shape_ok {
            return Err(format!("period {i} of {n} (-t {period} ms) is wrong: {p}"));
        }
        covered += len;
    }
    let duration = summary["duration_ms"].as_f64().unwrap_or(-1.0);
    if num(&summary, "periods") != n as u64 || (duration - covered).abs() > 0.002 {
        return Err(format!(
            "{n} period rows covering {covered} ms, but the summary says {} periods, {duration} ms",
            summary["periods"]
        ));
    }
    Ok((objects, summary))
}

/// conbiograph's summary: (read bytes, write bytes, writeback bytes).
fn io_summary(run: &Run) -> Result<(u64, u64, u64), String> {
    let (rows, s) = io_periods(run)?;
    let periods: u64 = rows.iter().map(|p| num(p, "write_bytes")).sum();
    let write = num(&s["write"], "bytes");
    if periods != write {
        return Err(format!(
            "periods add up to {periods} written, summary {write}"
        ));
    }
    Ok((num(&s["read"], "bytes"), write, num(&s, "writeback_bytes")))
}

fn conbiograph_direct_write(run: &Run) -> Result<String, String> {
    let want = run.truth("bytes")?;
    let (read, write, wb) = io_summary(run)?;
    verdict(
        write == want && wb == 0,
        format!("O_DIRECT write {write}/{want} bytes, writeback {wb}/0, read {read}"),
    )
}

fn conbiograph_direct_read(run: &Run) -> Result<String, String> {
    let want = run.truth("bytes")?;
    let (read, write, _) = io_summary(run)?;
    verdict(
        read == want && write == 0,
        format!("O_DIRECT read {read}/{want} bytes, write {write}/0"),
    )
}

fn conbiograph_fsync(run: &Run) -> Result<String, String> {
    let want = run.truth("bytes")?;
    let (_, write, wb) = io_summary(run)?;
    verdict(
        write == want,
        format!("buffered write + own fsync {write}/{want} bytes (writeback {wb})"),
    )
}

fn conbiograph_sync(run: &Run) -> Result<String, String> {
    let want = run.truth("bytes")?;
    let (_, write, wb) = io_summary(run)?;
    verdict(
        write == want && wb == want,
        format!(
            "buffered write, `sync` from a sibling cgroup: write {write}/{want}, \
             writeback {wb}/{want} bytes"
        ),
    )
}

/// `-t MS -d S`: exactly S×1000/MS full periods, then one partial period of
/// the rest (when there is a rest), the run S seconds long.
fn conbiograph_fixed_run(run: &Run) -> Result<String, String> {
    let (t, secs) = (run.truth("period_ms")?, run.truth("seconds")?);
    let (full, rest) = (run.truth("full")?, run.truth("partial_ms")?);
    let (rows, summary) = io_periods(run)?;
    let want = full + u64::from(rest > 0);
    let partial = rows.last().filter(|p| p["partial"] == true);
    let partial_ms = partial.and_then(|p| p["length_ms"].as_f64()).unwrap_or(0.0);
    let duration = summary["duration_ms"].as_f64().unwrap_or(0.0);
    verdict(
        rows.len() as u64 == want && partial_ms == rest as f64 && duration == (secs * 1000) as f64,
        format!(
            "-t {t} -d {secs}: {} periods/{want}, last partial {partial_ms}/{rest} ms, \
             run {duration}/{} ms",
            rows.len(),
            secs * 1000
        ),
    )
}
