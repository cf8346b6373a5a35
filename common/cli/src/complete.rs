//! Dynamic shell completion: the shell script `--generate-completions`
//! prints calls the tool back (with `COMPLETE=<shell>` in its environment)
//! for every TAB, and the candidates come from the running system: cgroup
//! paths below the cgroup2 mount, systemd units, container ids and names
//! (and pods), process ids, syscall names, block devices. Built on clap_complete's environment-driven
//! completion (`CompleteEnv`); nothing here needs privileges or touches BPF.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use clap::Command;
use clap_complete::engine::CompletionCandidate;
use clap_complete::env::{CompleteEnv, Shells};

pub use clap_complete::engine::ArgValueCompleter;

use identity::cgroup::Hierarchy;
use identity::container::layout::container_of_dir;
use identity::container::{Registry, Sources};

/// The environment variable that switches a run into completion mode.
pub const VAR: &str = "COMPLETE";

/// Deepest cgroup level walked for units and container ids.
const MAX_DEPTH: usize = 8;
/// Most directories looked at per completion (a TAB must stay instant).
const MAX_DIRS: usize = 20_000;
/// Characters of a container id offered (docker's short id).
const SHORT_ID: usize = 12;
/// Longest a runtime may take to answer a completion's question: a TAB
/// must stay quick even when a daemon hangs (names are then not offered).
const RUNTIME_WAIT: std::time::Duration = std::time::Duration::from_millis(800);

/// Answers a completion request when the shell made one (`COMPLETE` set):
/// true when it did, and the tool must do nothing else.
pub fn answer_if_asked(factory: impl Fn() -> Command) -> Result<bool> {
    if std::env::var_os(VAR).is_none_or(|v| v.is_empty() || v == "0") {
        return Ok(false);
    }
    let cwd = std::env::current_dir().ok();
    CompleteEnv::with_factory(factory)
        .var(VAR)
        .try_complete(std::env::args_os(), cwd.as_deref())
        .map_err(|e| kernel::exit::usage(e.to_string().trim().to_string()))
}

/// The script a shell sources to complete this tool: registered under the
/// name this binary was run as (an install under another name completes
/// under that name), calling this binary back by the same path.
pub fn registration(cmd: &Command, shell: &str) -> Result<Vec<u8>> {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let bin = Path::new(&argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| cmd.get_name().to_string());
    // A path with a directory is made absolute: the script runs anywhere.
    let completer = if Path::new(&argv0).components().count() > 1 {
        std::env::current_dir()
            .map(|d| d.join(&argv0))
            .unwrap_or_else(|_| PathBuf::from(&argv0))
            .to_string_lossy()
            .into_owned()
    } else {
        argv0.to_string_lossy().into_owned()
    };
    let shells = Shells::builtins();
    let completer_for = shells
        .completer(shell)
        .ok_or_else(|| kernel::exit::usage(format!("no completion support for {shell}")))?;
    let mut out = Vec::new();
    completer_for
        .write_registration(VAR, cmd.get_name(), &bin, &completer, &mut out)
        .map_err(|e| anyhow!("writing the completion script: {e}"))?;
    Ok(out)
}

fn candidate(value: impl Into<OsString>, help: impl Into<String>) -> CompletionCandidate {
    CompletionCandidate::new(value).help(Some(help.into().into()))
}

/// Subdirectories of `dir` whose names start with `prefix`, sorted; a
/// link to a directory counts (every entry of /sys/block is one).
fn subdirs(dir: &Path, prefix: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let is_dir = |e: &std::fs::DirEntry| match e.file_type() {
        Ok(t) if t.is_symlink() => std::fs::metadata(e.path()).is_ok_and(|m| m.is_dir()),
        Ok(t) => t.is_dir(),
        Err(_) => false,
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(is_dir)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    names
}

/// `-c TARGET` candidates for what has been typed so far.
pub fn targets(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    if let Some(pid) = current.strip_prefix("pid:") {
        return pids(pid)
            .into_iter()
            .map(|(p, comm)| candidate(format!("pid:{p}"), format!("cgroup of {comm}")))
            .collect();
    }
    if current.starts_with('/') || current.starts_with("./") || current.starts_with("../") {
        return directories(current);
    }
    let Ok(hierarchy) = Hierarchy::detect() else {
        return Vec::new();
    };
    let root = hierarchy.root;
    let mut out = Vec::new();
    if "pid:".starts_with(current) {
        out.push(candidate("pid:", "the cgroup of a process"));
    }
    // Paths below the cgroup2 mount, one level at a time.
    let (dir, prefix) = current.rsplit_once('/').unwrap_or(("", current));
    for name in subdirs(&root.join(dir), prefix) {
        let value = if dir.is_empty() {
            format!("{name}/")
        } else {
            format!("{dir}/{name}/")
        };
        out.push(candidate(value, "cgroup"));
    }
    if !current.contains('/') {
        out.extend(units_and_containers(&root, current));
    }
    out
}

/// Units, container ids and container names (`NAMESPACE/POD` for pods)
/// anywhere below `root` that start with `prefix`.
fn units_and_containers(root: &Path, prefix: &str) -> Vec<CompletionCandidate> {
    const UNIT_SUFFIXES: [&str; 3] = [".service", ".scope", ".slice"];
    let mut units = std::collections::BTreeMap::new();
    let mut ids = std::collections::BTreeMap::new();
    // Container cgroups (relative paths), to be named by the runtimes.
    let mut containers = Vec::new();
    let walk = walkdir::WalkDir::new(root)
        .min_depth(1)
        .max_depth(MAX_DEPTH)
        .follow_links(false)
        .same_file_system(true)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_dir())
        .take(MAX_DIRS);
    for entry in walk {
        let Some(name) = entry.file_name().to_str() else {
            continue;
        };
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let where_ = format!("/{}", rel.display());
        let parent = entry
            .path()
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .unwrap_or("");
        if let Some((id, _)) = container_of_dir(name, parent) {
            containers.push(where_.clone());
            let id = id.to_ascii_lowercase();
            let short = if prefix.len() > SHORT_ID {
                id.clone()
            } else {
                id[..SHORT_ID.min(id.len())].to_string()
            };
            if short.starts_with(prefix) {
                ids.entry(short).or_insert(format!("container {where_}"));
            }
        } else if UNIT_SUFFIXES.iter().any(|s| name.ends_with(s)) && name.starts_with(prefix) {
            units
                .entry(name.to_string())
                .or_insert(format!("unit {where_}"));
        }
    }
    let names = container_names(root, &containers, prefix);
    names
        .into_iter()
        .chain(ids)
        .chain(units)
        .map(|(v, h)| candidate(v, h))
        .collect()
}

/// The names (and pods) the runtimes give the container cgroups `paths`
/// that start with `prefix`. Asks a daemon only when containers exist.
fn container_names(
    root: &Path,
    paths: &[String],
    prefix: &str,
) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    if paths.is_empty() {
        return out;
    }
    let sources = Sources {
        connect_timeout: RUNTIME_WAIT,
        request_timeout: RUNTIME_WAIT,
        ..Sources::default()
    };
    let mut registry = Registry::with_sources(root, sources);
    for path in paths {
        let Some(info) = registry.identify(path) else {
            continue;
        };
        let what = format!("{} container {}", info.runtime.as_str(), info.short_id());
        if let (Some(ns), Some(pod)) = (&info.namespace, &info.pod) {
            let pod = format!("{ns}/{pod}");
            if pod.starts_with(prefix) {
                out.entry(pod).or_insert_with(|| "pod".to_string());
            }
        }
        if let Some(name) = info.name.filter(|n| n.starts_with(prefix)) {
            out.entry(name).or_insert(what);
        }
    }
    out
}

/// Directories for an absolute or `./`, `../` path being typed.
fn directories(current: &str) -> Vec<CompletionCandidate> {
    let (dir, prefix) = match current.rsplit_once('/') {
        Some(("", p)) => ("/", p),
        Some((d, p)) => (d, p),
        None => (".", current),
    };
    subdirs(Path::new(dir), prefix)
        .into_iter()
        .map(|name| {
            let value = if dir == "/" {
                format!("/{name}/")
            } else {
                format!("{dir}/{name}/")
            };
            candidate(value, "directory")
        })
        .collect()
}

/// Processes whose pid starts with `prefix`, with their names.
fn pids(prefix: &str) -> Vec<(u32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out: Vec<(u32, String)> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| p.to_string().starts_with(prefix))
        .map(|p| {
            let comm = std::fs::read_to_string(format!("/proc/{p}/comm"))
                .map(|c| c.trim_end().to_string())
                .unwrap_or_default();
            (p, comm)
        })
        .collect();
    out.sort();
    out
}

/// `-p PID` candidates: running processes, their names as help.
pub fn processes(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    pids(current)
        .into_iter()
        .map(|(p, comm)| candidate(p.to_string(), comm))
        .collect()
}

/// `--syscall a,b,<TAB>`: names of this architecture for the last item.
pub fn syscall_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(current) = current.to_str() else {
        return Vec::new();
    };
    let (done, last) = match current.rsplit_once(',') {
        Some((d, l)) => (format!("{d},"), l),
        None => (String::new(), current),
    };
    kernel::syscalls::all()
        .filter(|(_, name)| name.starts_with(last))
        .map(|(nr, name)| candidate(format!("{done}{name}"), format!("syscall {nr}")))
        .collect()
}

/// `--device NAME`: block devices of this machine.
pub fn block_devices(current: &OsStr) -> Vec<CompletionCandidate> {
    match current.to_str() {
        Some(current) => block_devices_in(Path::new("/sys/block"), current),
        None => Vec::new(),
    }
}

/// Disks (the entries of `sys_block`, links into /sys/devices) and their
/// partitions (subdirectories named after the disk) that start with
/// `current`.
fn block_devices_in(sys_block: &Path, current: &str) -> Vec<CompletionCandidate> {
    let mut out = Vec::new();
    for disk in subdirs(sys_block, "") {
        if disk.starts_with(current) {
            out.push(candidate(disk.clone(), "disk"));
        }
        for part in subdirs(&sys_block.join(&disk), &disk) {
            if part.starts_with(current) {
                out.push(candidate(part, format!("partition of {disk}")));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(c: Vec<CompletionCandidate>) -> Vec<String> {
        c.iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn syscall_names_complete_the_last_item() {
        let got = values(syscall_names(OsStr::new("read,getpp")));
        assert_eq!(got, vec!["read,getppid"]);
        assert!(values(syscall_names(OsStr::new("open"))).contains(&"openat".to_string()));
    }

    #[test]
    fn pid_prefix_completes_process_ids() {
        let me = std::process::id().to_string();
        let got = values(targets(OsStr::new(&format!("pid:{me}"))));
        assert!(got.contains(&format!("pid:{me}")), "{got:?}");
        assert!(values(processes(OsStr::new(&me))).contains(&me));
    }

    #[test]
    fn block_devices_follow_the_links_of_sys_block() {
        // /sys/block/vda -> ../devices/.../block/vda, whose partitions are
        // directories vda1, vda2 beside its attribute files.
        let sys = tempfile::tempdir().unwrap();
        let devices = sys.path().join("devices");
        let block = sys.path().join("block");
        for dir in ["vda/vda1", "vda/vda15", "vda/queue", "loop0"] {
            std::fs::create_dir_all(devices.join(dir)).unwrap();
        }
        std::fs::write(devices.join("vda/size"), "").unwrap();
        std::fs::create_dir(&block).unwrap();
        for disk in ["vda", "loop0"] {
            std::os::unix::fs::symlink(format!("../devices/{disk}"), block.join(disk)).unwrap();
        }
        std::os::unix::fs::symlink("../devices/gone", block.join("dangling")).unwrap();
        let all = values(block_devices_in(&block, ""));
        assert_eq!(all, vec!["loop0", "vda", "vda1", "vda15"]);
        let vda1 = block_devices_in(&block, "vda1");
        let help = vda1[0].get_help().map(|h| h.to_string());
        assert_eq!(help.as_deref(), Some("partition of vda"));
        assert_eq!(values(vda1), vec!["vda1", "vda15"]);
    }

    #[test]
    fn absolute_paths_complete_directories_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("cg-a")).unwrap();
        std::fs::write(dir.path().join("cg-file"), "").unwrap();
        let typed = format!("{}/cg", dir.path().display());
        let got = values(targets(OsStr::new(&typed)));
        assert_eq!(got, vec![format!("{}/cg-a/", dir.path().display())]);
    }
}
