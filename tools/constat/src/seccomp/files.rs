//! Where profiles go: one FILE (everything given, as one profile) or a DIR
//! (one file per container name: `DIR/<name>.json`, replicas and restarts
//! of a name merged). Paths are checked before anything is traced; files
//! are written whole (a temporary file renamed into place), so a profile
//! being replaced is never seen half-written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::ValueEnum;
use kernel::exit::usage;

use super::oci;
use super::profile::{Profile, Rule};
use super::spo;
use super::usage::Unit;

/// What `--seccomp-profile` writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ProfileFormat {
    /// The OCI runtime / Docker / Podman JSON (`--security-opt seccomp=FILE`).
    #[default]
    Oci,
    /// The Kubernetes Security Profiles Operator's SeccompProfile (YAML).
    Spo,
}

impl ProfileFormat {
    fn extension(self) -> &'static str {
        match self {
            Self::Oci => "json",
            Self::Spo => "yaml",
        }
    }
}

/// A checked destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    File(PathBuf),
    Dir(PathBuf),
}

fn shown(path: &Path) -> String {
    kernel::escape::path(path)
}

impl Dest {
    /// A live run: host-wide a directory (made if missing), one target a file.
    pub fn for_run(path: &Path, host_wide: bool) -> Result<Self> {
        if host_wide {
            if path.exists() && !path.is_dir() {
                return Err(usage(format!(
                    "--seccomp-profile {}: host-wide, constat writes one profile per container \
                     into a directory, and this is a file: give a directory (or -c TARGET for \
                     one profile)",
                    shown(path)
                )));
            }
            return Self::dir(path);
        }
        if path.is_dir() {
            return Err(usage(format!(
                "--seccomp-profile {}: is a directory; with -c or -p the profile is one file: \
                 give a file name",
                shown(path)
            )));
        }
        Self::file(path)
    }

    /// From recordings or merged files: an existing directory (or a path
    /// ending in `/`) gets one file per container, anything else one file.
    pub fn for_files(path: &Path) -> Result<Self> {
        let dir_like = path.as_os_str().to_string_lossy().ends_with('/');
        if path.is_dir() || dir_like {
            Self::dir(path)
        } else {
            Self::file(path)
        }
    }

    fn dir(path: &Path) -> Result<Self> {
        std::fs::create_dir_all(path).map_err(|e| {
            usage(format!(
                "--seccomp-profile {}: cannot make the directory: {e}",
                shown(path)
            ))
        })?;
        probe(path)?;
        Ok(Self::Dir(path.to_path_buf()))
    }

    fn file(path: &Path) -> Result<Self> {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if !parent.is_dir() {
            return Err(usage(format!(
                "--seccomp-profile {}: no directory {} to write it in: make it first",
                shown(path),
                shown(parent)
            )));
        }
        probe(parent)?;
        Ok(Self::File(path.to_path_buf()))
    }

    pub fn is_file(&self) -> bool {
        matches!(self, Self::File(_))
    }
}

/// Fails now, before tracing, when `dir` cannot be written.
fn probe(dir: &Path) -> Result<()> {
    let test = dir.join(format!(".constat-seccomp-probe-{}", std::process::id()));
    std::fs::write(&test, b"").map_err(|e| {
        usage(format!(
            "--seccomp-profile: cannot write in {}: {e}",
            shown(dir)
        ))
    })?;
    let _ = std::fs::remove_file(&test);
    Ok(())
}

/// A file name from a container name: `shop/web-0/app` -> `shop_web-0_app`.
pub fn file_stem(name: &str) -> String {
    let mut stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.starts_with('.') || stem.is_empty() {
        stem.insert(0, '_');
    }
    stem
}

/// Writes `units` to `dest` in `format`, one status line per file.
pub fn write(dest: &Dest, format: ProfileFormat, units: &[Unit]) -> Result<()> {
    let mut by_file: BTreeMap<PathBuf, (String, Profile)> = BTreeMap::new();
    for unit in units.iter().filter(|u| !u.usage.is_empty()) {
        let (path, name) = match dest {
            Dest::File(path) => (path.clone(), stem_of(path)),
            Dest::Dir(dir) => {
                let stem = file_stem(&unit.name);
                (
                    dir.join(format!("{stem}.{}", format.extension())),
                    unit.name.clone(),
                )
            }
        };
        let one = Profile::new(vec![unit.about.clone()], unit.usage.clone());
        by_file
            .entry(path)
            .and_modify(|(_, p)| p.merge(&one))
            .or_insert((name, one));
    }
    if by_file.is_empty() {
        cli::output::status("constat: no syscall was recorded: no seccomp profile written");
    }
    for (path, (name, profile)) in by_file {
        let text = match format {
            ProfileFormat::Oci => oci::write(&profile),
            ProfileFormat::Spo => spo::write(&profile, &name),
        };
        write_whole(&path, &text)?;
        cli::output::status(&summary(&path, &profile));
    }
    Ok(())
}

fn stem_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "profile".into())
}

/// `constat: wrote seccomp profile web.json: 42 syscalls allowed; kept
/// denied (only ever denied while recording): unshare`.
fn summary(path: &Path, profile: &Profile) -> String {
    let entries = profile.entries();
    let allowed = entries.iter().filter(|e| e.rule == Rule::Allow).count();
    let mut line = format!(
        "constat: wrote seccomp profile {}: {allowed} syscalls allowed",
        shown(path)
    );
    let kept = super::profile::kept_denied(&entries);
    if !kept.is_empty() {
        line.push_str(&format!(
            "; kept denied (only ever denied while recording): {}",
            kept.join(", ")
        ));
    }
    line
}

/// A temporary file beside `path`, renamed over it.
fn write_whole(path: &Path, text: &str) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("writing the seccomp profile {}", shown(path)))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
}

#[cfg(test)]
mod tests {
    use super::super::profile::tests::sample;
    use super::*;

    fn unit(name: &str) -> Unit {
        Unit {
            name: name.into(),
            about: format!("docker container {name}"),
            usage: sample().usage,
            ..Unit::default()
        }
    }

    #[test]
    fn a_directory_gets_one_file_per_name_and_a_file_gets_the_union() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dest::for_run(&tmp.path().join("profiles"), true).unwrap();
        let units = [
            unit("web"),
            unit("web"),
            unit("shop/db-0/pg"),
            Unit::default(),
        ];
        write(&dir, ProfileFormat::Oci, &units).unwrap();
        let mut files: Vec<String> = std::fs::read_dir(tmp.path().join("profiles"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(files, ["shop_db-0_pg.json", "web.json"]);
        let web: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(tmp.path().join("profiles/web.json")).unwrap(),
        )
        .unwrap();
        // Two replicas of web: one profile, counts added.
        assert_eq!(web["contrace"]["usage"]["x86_64"]["read"]["count"], 2468);

        let file = Dest::for_files(&tmp.path().join("all.yaml")).unwrap();
        assert!(file.is_file());
        write(&file, ProfileFormat::Spo, &units).unwrap();
        let text = std::fs::read_to_string(tmp.path().join("all.yaml")).unwrap();
        assert!(text.contains("  name: all\n"), "{text}");
    }

    #[test]
    fn bad_destinations_are_refused_before_tracing() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f.json");
        std::fs::write(&file, "{}").unwrap();
        let e = Dest::for_run(&file, true).unwrap_err().to_string();
        assert!(e.contains("this is a file"), "{e}");
        let e = Dest::for_run(tmp.path(), false).unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
        let e = Dest::for_run(&tmp.path().join("no/such/f.json"), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("make it first"), "{e}");
        assert_eq!(file_stem("shop/web-0/app"), "shop_web-0_app");
        assert_eq!(file_stem(".hidden"), "_.hidden");
        assert_eq!(file_stem(""), "_");
    }
}
