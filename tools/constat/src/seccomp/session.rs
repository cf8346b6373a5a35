//! The seccomp flags and what constat's modes call: [`Session`] beside a
//! live run (one call per sample, one at the end), [`replayed`] for
//! `--replay FILE`, [`merge`] for `--seccomp-merge`.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use cli::output::Format;
use cli::replay::Replay;
use cli::sink::{Printer, Sink};
use identity::resolver::Resolver;
use identity::target::Target;
use kernel::exit::usage;

use super::check::CheckReport;
use super::files::{self, Dest, ProfileFormat};
use super::policy::Policy;
use super::usage::{from_json_row, from_row, Unit, Usage};
use crate::collect::Row;
use crate::replay::Recorded;
use crate::report::{Report, VIEW_CGROUP_SYSCALLS};

/// Exit status of `--seccomp-check` when the profile would deny a call
/// that was not denied already.
pub const EXIT_WOULD_DENY: u8 = 3;

/// constat's seccomp flags.
#[derive(Clone, Debug, Default, clap::Args)]
#[command(next_help_heading = "Seccomp profiles")]
pub struct SeccompArgs {
    /// Write a seccomp profile of what was traced when the run ends: with
    /// -c or -p one FILE; host-wide one per container seen into DIR
    /// (DIR/<container name>.json, the cgroup's last path component where
    /// nothing names it). With --replay or --seccomp-merge: FILE (one
    /// profile) or an existing DIR.
    #[arg(long, value_name = "FILE|DIR",
          conflicts_with_all = ["live", "syscall", "by_process", "errno", "histogram"])]
    pub seccomp_profile: Option<PathBuf>,
    /// Check PROFILE (Docker, Podman or OCI JSON; a SeccompProfile as JSON)
    /// against what was traced, or against --replay FILE: what it would
    /// deny (count, errno) and what it allows unused. Exit status 3 when it
    /// would deny a call that was not denied already.
    #[arg(long, value_name = "PROFILE",
          conflicts_with_all = ["live", "syscall", "by_process", "errno", "histogram"])]
    pub seccomp_check: Option<PathBuf>,
    /// What --seccomp-profile writes: oci (Docker, Podman, runc JSON) or
    /// spo (Security Profiles Operator SeccompProfile, YAML).
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value_t,
        requires = "seccomp_profile"
    )]
    pub seccomp_format: ProfileFormat,
    /// Trace nothing: make --seccomp-profile the union of these files
    /// (profiles constat wrote as oci, and --record files).
    #[arg(long, value_name = "FILE", num_args = 1.., requires = "seccomp_profile",
          conflicts_with_all = ["replay", "target", "pid", "seccomp_check"])]
    pub seccomp_merge: Vec<PathBuf>,
}

impl SeccompArgs {
    fn wanted(&self) -> bool {
        self.seccomp_profile.is_some() || self.seccomp_check.is_some()
    }
}

/// A profile to check against, with the name it was given by.
struct Against {
    policy: Policy,
    shown: String,
}

fn load_policy(path: &Path) -> Result<Against> {
    let shown = kernel::escape::path(path);
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("--seccomp-check {shown}: cannot read it: {e}")))?;
    let policy =
        Policy::parse(&text).map_err(|e| usage(format!("--seccomp-check {shown}: {e}")))?;
    Ok(Against { policy, shown })
}

/// Beside a live run: what every sample's rows add up to, per cgroup.
pub struct Session {
    dest: Option<Dest>,
    format: ProfileFormat,
    against: Option<Against>,
    seen: BTreeMap<Option<u64>, Usage>,
}

impl Session {
    /// `None` without seccomp flags. Paths and the profile to check are
    /// checked here, before anything is attached.
    pub fn start(args: &SeccompArgs, target: &Target) -> Result<Option<Self>> {
        if !args.wanted() {
            return Ok(None);
        }
        let dest = args
            .seccomp_profile
            .as_deref()
            .map(|p| Dest::for_run(p, target.is_host()))
            .transpose()?;
        let against = args.seccomp_check.as_deref().map(load_policy).transpose()?;
        if dest.as_ref().is_some_and(Dest::is_file) {
            cli::output::status(
                "constat: note: the target is running already, so the runtime's start-up \
                 calls (after it installs the filter, before execve) will not be in the \
                 profile; to have them, record host-wide while the container starts \
                 (constat --seccomp-profile DIR)",
            );
        }
        Ok(Some(Self {
            dest,
            format: args.seccomp_format,
            against,
            seen: BTreeMap::new(),
        }))
    }

    /// One sample's rows (call it before they are filtered or sorted).
    pub fn observe(&mut self, rows: &[Row]) {
        for seen in rows.iter().filter_map(from_row) {
            self.seen
                .entry(seen.cgroup_id)
                .or_default()
                .add(seen.abi, &seen.name, &seen.tally);
        }
    }

    /// At the end of the run: writes the profiles, prints the check; the
    /// exit status ([`EXIT_WOULD_DENY`] when the check found denials).
    pub fn finish(
        self,
        names: &mut dyn Resolver,
        target: &Target,
        output: Format,
    ) -> Result<ExitCode> {
        let units: Vec<Unit> = self
            .seen
            .into_iter()
            .map(|(id, usage)| {
                let mut unit = match id {
                    Some(id) => Unit::new(
                        names.container(id),
                        names.cgroup(id).path().map(str::to_string),
                        Some(id),
                    ),
                    None => target_unit(target),
                };
                unit.usage = usage;
                unit
            })
            .collect();
        conclude(
            self.dest.as_ref(),
            self.format,
            self.against.as_ref(),
            &units,
            output,
        )
    }
}

/// The one target of a `-c`/`-p` run.
fn target_unit(target: &Target) -> Unit {
    let cgroup = target.cgroup.as_ref();
    let mut unit = Unit::new(
        target.container.clone(),
        cgroup.map(|c| c.rel.clone()),
        cgroup.map(|c| c.id),
    );
    if let Some(pid) = target.pid {
        unit.about = format!("pid {pid} in {}", unit.about);
    }
    unit
}

/// Writes the profiles and prints the check.
fn conclude(
    dest: Option<&Dest>,
    format: ProfileFormat,
    against: Option<&Against>,
    units: &[Unit],
    output: Format,
) -> Result<ExitCode> {
    if let Some(dest) = dest {
        files::write(dest, format, units)?;
    }
    let Some(against) = against else {
        return Ok(ExitCode::SUCCESS);
    };
    let report = CheckReport::build(&against.policy, &against.shown, units);
    Printer::new(output).emit(&report)?;
    Ok(if report.newly_denied() > 0 {
        ExitCode::from(EXIT_WOULD_DENY)
    } else {
        ExitCode::SUCCESS
    })
}

/// `--replay FILE` with a seccomp flag: profiles and checks from a
/// recording instead of its tables. `None` without seccomp flags.
pub fn replayed(args: &SeccompArgs, file: &OsStr, output: Format) -> Result<Option<ExitCode>> {
    if !args.wanted() {
        return Ok(None);
    }
    let dest = args
        .seccomp_profile
        .as_deref()
        .map(Dest::for_files)
        .transpose()?;
    let against = args.seccomp_check.as_deref().map(load_policy).transpose()?;
    let (shown, units) = recorded_units(file)?;
    if let Some(dest) = &dest {
        one_per_file(dest, &shown, &units)?;
    }
    conclude(
        dest.as_ref(),
        args.seccomp_format,
        against.as_ref(),
        &units,
        output,
    )
    .map(Some)
}

/// `--seccomp-merge FILE...`: one profile (or one per container into a
/// DIR) from profiles constat wrote and recordings. `None` without it.
pub fn merge(args: &SeccompArgs) -> Result<Option<ExitCode>> {
    let Some(out) = args.seccomp_profile.as_deref() else {
        return Ok(None);
    };
    if args.seccomp_merge.is_empty() {
        return Ok(None);
    }
    let dest = Dest::for_files(out)?;
    let mut units = Vec::new();
    for file in &args.seccomp_merge {
        units.extend(merged_file(file, &dest)?);
    }
    conclude(
        Some(&dest),
        args.seccomp_format,
        None,
        &units,
        Format::Table,
    )
    .map(Some)
}

/// One file given to `--seccomp-merge`: a profile constat wrote, or a
/// recording.
fn merged_file(path: &Path, dest: &Dest) -> Result<Vec<Unit>> {
    let shown = kernel::escape::path(path);
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("--seccomp-merge {shown}: cannot read it: {e}")))?;
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
        if value.get("defaultAction").is_some() {
            let profile = super::oci::read(&value)
                .ok_or_else(|| {
                    usage(format!(
                        "--seccomp-merge {shown}: a seccomp profile constat did not write (no \
                         \"contrace\" field with its counts): merge profiles constat wrote, \
                         or --record files"
                    ))
                })?
                .map_err(|e| usage(format!("--seccomp-merge {shown}: {e}")))?;
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            return Ok(vec![Unit {
                name: stem.into_owned(),
                about: profile.sources.join(", "),
                usage: profile.usage,
                ..Unit::default()
            }]);
        }
    }
    let (shown, units) = recorded_units(path.as_os_str())?;
    one_per_file(dest, &shown, &units)?;
    Ok(units)
}

/// Into one FILE, a host-wide recording must hold one cgroup: the union of
/// a whole host is no container's profile.
fn one_per_file(dest: &Dest, shown: &str, units: &[Unit]) -> Result<()> {
    if dest.is_file() && units.len() > 1 {
        let names: Vec<&str> = units.iter().map(|u| u.name.as_str()).collect();
        return Err(usage(format!(
            "{shown} holds {} cgroups ({}): give --seccomp-profile a directory for one \
             profile each, then merge those you want",
            units.len(),
            names.join(", ")
        )));
    }
    Ok(())
}

/// What a recording's reports add up to, per target or cgroup.
fn recorded_units(file: &OsStr) -> Result<(String, Vec<Unit>)> {
    let mut replay = Replay::open("constat", file)?;
    let mut units: BTreeMap<Option<u64>, Unit> = BTreeMap::new();
    let mut reports = 0;
    while let Some(recorded) = crate::replay::next(&mut replay)? {
        let report = match recorded {
            Recorded::Syscalls(report) => report,
            Recorded::Cgroups(_) => {
                return Err(usage(format!(
                    "{} line {}: host-wide totals per cgroup carry no syscalls: record with \
                     --by-syscall (or -c TARGET) to make or check profiles from it",
                    replay.shown(),
                    replay.line()
                )))
            }
        };
        reports += 1;
        add_report(&mut units, &report);
    }
    if reports == 0 {
        return Err(usage(format!(
            "{}: no constat report in it",
            replay.shown()
        )));
    }
    Ok((replay.shown().to_string(), units.into_values().collect()))
}

/// Adds a recorded report's rows to their units.
fn add_report(units: &mut BTreeMap<Option<u64>, Unit>, report: &Report) {
    let per_cgroup = report.view == VIEW_CGROUP_SYSCALLS;
    for row in &report.rows {
        let seen = from_json_row(row);
        let key = if per_cgroup { seen.cgroup_id } else { None };
        let unit = units.entry(key).or_insert_with(|| {
            if per_cgroup {
                let path = row.cgroup.clone().filter(|p| p.starts_with('/'));
                Unit::new(row.container.clone().flatten(), path, row.cgroup_id)
            } else {
                let target = report.meta.target.as_ref();
                Unit::new(
                    target.and_then(|t| t.container.clone()),
                    target.map(|t| t.cgroup.clone()),
                    target.map(|t| t.id),
                )
            }
        });
        unit.usage.add(seen.abi, &seen.name, &seen.tally);
    }
}

#[cfg(test)]
mod tests {
    use super::super::oci;
    use super::super::profile::tests::sample;
    use super::*;

    /// A host-wide `--by-syscall` recording: web (a container) and `/`.
    const RECORDING: &str = r#"{"time":"2026-01-01T00:00:00Z","interval_s":1.0,"final":true,"target":null,"dropped":0,"view":"cgroup-syscalls","periodic":false,"rows":[{"cgroup":"/docker/3f2a","cgroup_id":5,"container":{"id":"3f2a","name":"web","image":null,"runtime":"docker","pod":null,"namespace":null,"pod_uid":null},"syscall":"read","nr":0,"compat":false,"count":3,"errors":1,"denied":0,"errno":"EAGAIN","errnos":{"EAGAIN":1},"elapsed_ns":0,"avg_ns":0,"max_ns":0},{"cgroup":"/","cgroup_id":1,"container":null,"syscall":"getuid32","nr":199,"compat":true,"count":2,"errors":0,"denied":0,"errno":null,"errnos":{},"elapsed_ns":0,"avg_ns":0,"max_ns":0}],"total":{"count":5,"errors":1,"denied":0,"elapsed_ns":0,"max_ns":0}}"#;

    fn merge_into(out: &Path, inputs: &[PathBuf]) -> Result<Option<ExitCode>> {
        merge(&SeccompArgs {
            seccomp_profile: Some(out.to_path_buf()),
            seccomp_merge: inputs.to_vec(),
            ..SeccompArgs::default()
        })
    }

    #[test]
    fn merges_of_profiles_and_recordings() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a.json"), tmp.path().join("b.json"));
        std::fs::write(&a, oci::write(&sample())).unwrap();
        std::fs::write(&b, oci::write(&sample())).unwrap();
        let both = tmp.path().join("both.json");
        assert!(merge_into(&both, &[a.clone(), b]).unwrap().is_some());
        let merged: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&both).unwrap()).unwrap();
        assert_eq!(merged["contrace"]["usage"]["x86_64"]["read"]["count"], 2468);

        let rec = tmp.path().join("run.ndjson");
        std::fs::write(&rec, format!("{RECORDING}\n")).unwrap();
        let dir = tmp.path().join("per-container/");
        merge_into(&dir, std::slice::from_ref(&rec)).unwrap();
        let web: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("web.json")).unwrap()).unwrap();
        assert_eq!(
            web["contrace"]["usage"]["x86_64"]["read"]["errnos"]["EAGAIN"],
            1
        );
        assert_eq!(web["contrace"]["sources"][0], "docker container web (3f2a)");
        let root: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("root.json")).unwrap()).unwrap();
        assert_eq!(root["architectures"][1], "SCMP_ARCH_X86");

        let e = merge_into(&tmp.path().join("one.json"), &[rec]).unwrap_err();
        assert!(e.to_string().contains("holds 2 cgroups (root, web)"), "{e}");
        let foreign = tmp.path().join("docker.json");
        std::fs::write(&foreign, r#"{"defaultAction": "SCMP_ACT_ERRNO"}"#).unwrap();
        let e = merge_into(&both, &[a, foreign]).unwrap_err();
        assert!(e.to_string().contains("constat did not write"), "{e}");
    }
}
