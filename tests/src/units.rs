//! Work every tool measures exactly, in its own unit: getppid calls
//! (constat, syscount), unshare(CLONE_NEWNET) calls (unsharesnoop), MiB
//! written with O_DIRECT (conbiograph). Tests that loop over the four tools
//! make and check work with these.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

use crate::{bin, row, run_workload, u, Finished};

/// Scratch file for conbiograph's O_DIRECT writes (tmpfs has no O_DIRECT).
pub fn scratch(tag: &str) -> String {
    format!("/var/tmp/contrace-hostile-{tag}-{}", std::process::id())
}

/// Workload arguments making `n` units of what `tool` measures exactly.
pub fn work(tool: &str, n: u64, file: &str) -> Vec<String> {
    match tool {
        "unsharesnoop" => (0..n)
            .flat_map(|_| ["unshare".to_string(), "0x40000000".to_string()])
            .collect(),
        "conbiograph" => vec!["write-direct".into(), file.into(), (n << 20).to_string()],
        _ => vec!["getppid".into(), n.to_string()],
    }
}

/// Runs `work(tool, n)` in `cgroup` to the end.
pub fn run_work(tool: &str, cgroup: &Path, n: u64, file: &str) {
    let args = work(tool, n, file);
    let mut all = vec!["--no-wait"];
    all.extend(args.iter().map(String::as_str));
    run_workload(Some(cgroup), &all);
    let _ = std::fs::remove_file(file);
}

/// What a finished `-o json` run measured, in `work`'s units.
pub fn measured(tool: &str, done: &Finished) -> u64 {
    let lines = done.json();
    match tool {
        "unsharesnoop" => lines.iter().filter(|e| e["type"] == "event").count() as u64,
        "conbiograph" => {
            lines
                .iter()
                .filter(|p| p["type"] == "period")
                .map(|p| p["write_bytes"].as_u64().unwrap_or(0))
                .sum::<u64>()
                >> 20
        }
        _ => {
            let last = lines.last().expect("a report");
            u(row(last, "getppid"), "count")
        }
    }
}

/// The cgroup id a tool said it traces ("cgroup PATH (id N, ...)" on stderr).
pub fn traced_id(stderr: &str) -> Option<u64> {
    let at = stderr.find("(id ")? + 4;
    stderr[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// The final report is there: constat/syscount's last report says
/// `final`, unsharesnoop and conbiograph end with a summary.
pub fn has_final_report(tool: &str, done: &Finished) -> bool {
    let lines = done.json();
    let Some(last) = lines.last() else {
        return false;
    };
    match tool {
        "unsharesnoop" | "conbiograph" => last["type"] == "summary",
        _ => last["final"] == true,
    }
}

/// A command running a tool; `bytes` arguments may be any bytes.
pub fn tool_command(tool: &str, args: &[&[u8]]) -> Command {
    let mut cmd = Command::new(bin(tool));
    cmd.args(args.iter().map(|a| OsStr::from_bytes(a)));
    cmd
}
