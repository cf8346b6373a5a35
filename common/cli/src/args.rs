//! Argument parsers shared by the tools' clap definitions.

use std::time::Duration;

use kernel::mapsize::{HostLoad, Sizing};

/// Longest accepted `-d`/`-i`: one year. Anything larger is a typo.
const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// Parses a positive number of seconds (`10`, `0.5`) for `-d` and `-i`.
pub fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds (e.g. 5 or 0.5)"))?;
    if !value.is_finite() || value <= 0.0 {
        return Err(format!(
            "'{text}' must be a positive number of seconds (e.g. 5)"
        ));
    }
    if value > MAX_SECONDS {
        return Err(format!(
            "'{text}' seconds is more than a year; use a smaller value"
        ));
    }
    let duration = Duration::from_secs_f64(value);
    if duration < Duration::from_millis(1) {
        return Err(format!(
            "'{text}' is below the 1 ms resolution; use at least 0.001"
        ));
    }
    Ok(duration)
}

/// Parses a positive whole number of milliseconds (`-t 500`).
pub fn millis(text: &str) -> Result<Duration, String> {
    let value: u64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a whole number of milliseconds (e.g. 500)"))?;
    if value == 0 {
        return Err("the period must be at least 1 ms (e.g. -t 500)".into());
    }
    if value as f64 / 1000.0 > MAX_SECONDS {
        return Err(format!(
            "'{text}' ms is more than a year; use a smaller value"
        ));
    }
    Ok(Duration::from_millis(value))
}

/// Parses a positive count (`-T 10`).
pub fn positive(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) if n > 1_000_000 => Err(format!("'{text}' is too large (at most 1000000)")),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("'{text}' is not a whole number")),
    }
}

/// Parses a process id that must exist now.
pub fn pid(text: &str) -> Result<u32, String> {
    let pid: u32 = text
        .trim()
        .parse()
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| format!("'{text}' is not a process id"))?;
    // Bytes: the Name: line is the process's comm, which it chooses
    // (and need not be UTF-8).
    let status = std::fs::read(format!("/proc/{pid}/status"))
        .map_err(|_| format!("no process {pid} (is it still running?)"))?;
    // /proc/<tid> exists for threads too, but the BPF filters compare the
    // thread-group id: a thread id would silently match nothing.
    let tgid = status
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"Tgid:"))
        .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<u32>().ok());
    match tgid {
        Some(tgid) if tgid != pid => Err(format!(
            "{pid} is a thread of process {tgid}: give the process id, -p {tgid}"
        )),
        _ => Ok(pid),
    }
}

/// Parses `-i`: seconds between reports, where 0 means "only at the
/// end" (libbpf-tools' syscount convention, kept by every tool).
pub fn interval(text: &str) -> Result<Duration, String> {
    if text.trim().parse::<f64>() == Ok(0.0) {
        return Ok(Duration::ZERO);
    }
    seconds(text)
}

/// `-c TARGET` and `--exact`, shared by every tool.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct TargetArgs {
    /// Container to trace: a container name or id (prefix of 4+ hex
    /// chars), a pod (NAMESPACE/POD[/CONTAINER] or its UID), a cgroup v2
    /// directory (absolute, ./ or ../ from here, or relative to the cgroup2
    /// mount), pid:N or a systemd unit (nginx.service); with its
    /// descendants. Without it: the whole host.
    #[arg(short = 'c', long = "cgroup", value_name = "TARGET",
          add = clap_complete::engine::ArgValueCompleter::new(crate::complete::targets))]
    pub target: Option<std::ffi::OsString>,
    /// Only the target cgroup itself, not its descendants.
    #[arg(long, requires = "target")]
    pub exact: bool,
}

/// `-d SECONDS` and `-v`, shared by every tool.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct RunArgs {
    /// Stop after SECONDS and print the final report.
    #[arg(short = 'd', long, value_name = "SECONDS", value_parser = seconds)]
    pub duration: Option<Duration>,
    /// Show libbpf's log.
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// `-i SECONDS` of the tools that report at intervals.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct IntervalArgs {
    /// Print a report every SECONDS (each covers its own interval); 0, the
    /// default, reports only at the end.
    #[arg(short = 'i', long, value_name = "SECONDS", value_parser = interval)]
    interval: Option<Duration>,
}

impl IntervalArgs {
    /// The interval, `None` for "only at the end".
    pub fn every(&self) -> Option<Duration> {
        self.interval.filter(|i| !i.is_zero())
    }

    /// `-i` as given: `None` when absent, zero for `-i 0`.
    pub fn given(&self) -> Option<Duration> {
        self.interval
    }
}

/// `-o table|json`, shared by the tools whose reports are tables.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct OutputArgs {
    /// Output format: aligned table, or NDJSON (one JSON object per line:
    /// per report, or per event then a summary).
    #[arg(short = 'o', long, value_enum, default_value_t = crate::output::Format::Table)]
    pub output: crate::output::Format,
}

/// `--max-entries N`, shared by the tools with keyed kernel hashes.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct MapArgs {
    /// Entries of each per-(cgroup, syscall) or per-process kernel hash
    /// (default: from the host's cgroups and tasks at start, at least
    /// 65536; preallocated up to 64 MiB of kernel memory per hash).
    #[arg(long, value_name = "N", value_parser = kernel::mapsize::parse_max_entries)]
    pub max_entries: Option<u32>,
}

impl MapArgs {
    /// The flag as the collectors take it, with the host's load measured
    /// now (once: every map of every collector is sized from it).
    pub fn sizing(&self) -> Sizing {
        let host = match self.max_entries {
            Some(_) => HostLoad::default(),
            None => identity::cgroup::Hierarchy::detect()
                .map(|h| HostLoad::measure(&h.root))
                .unwrap_or_default(),
        };
        Sizing {
            max_entries: self.max_entries,
            host,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(seconds("2").unwrap(), Duration::from_secs(2));
        assert_eq!(seconds("0.5").unwrap(), Duration::from_millis(500));
        for bad in ["0", "-1", "abc", "", "NaN", "inf", "1e12", "0.0000001"] {
            assert!(seconds(bad).is_err(), "{bad}");
        }
        assert_eq!(millis("500").unwrap(), Duration::from_millis(500));
        for bad in ["0", "-5", "1.5", "x", "99999999999999999"] {
            assert!(millis(bad).is_err(), "{bad}");
        }
        assert_eq!(interval("0").unwrap(), Duration::ZERO);
        assert_eq!(interval("0.5").unwrap(), Duration::from_millis(500));
        assert!(interval("-1").is_err());
        assert!(positive("0").is_err());
        assert_eq!(positive("3").unwrap(), 3);
        assert!(pid("0").is_err());
        assert!(pid("abc").is_err());
        assert!(pid("1").is_ok());
    }
}
