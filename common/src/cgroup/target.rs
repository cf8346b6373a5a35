//! TARGET strings (`-c`): a cgroup v2 path (absolute, from the current
//! directory, or relative to the cgroup2 mount), `pid:N`, a systemd unit, or
//! a container or pod by name or id (docker, podman, containerd/Kubernetes,
//! CRI-O, runc: see [`crate::container`]). Each resolves to one cgroup v2
//! directory: its path, id and depth.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use anyhow::Result;
use walkdir::WalkDir;

use super::Hierarchy;
use crate::container::{ContainerInfo, Found, Registry};
use crate::exit::usage;

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;

/// Unit suffixes systemd gives cgroup directories.
const UNIT_SUFFIXES: &[&str] = &[".service", ".scope", ".slice", ".socket", ".mount", ".swap"];

/// What the user typed, classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    /// `/sys/fs/cgroup/...`
    Absolute(PathBuf),
    /// `system.slice/foo.service`: below the cgroup2 mount.
    Relative(PathBuf),
    /// `pid:1234`: that process's cgroup.
    Pid(u32),
    /// `nginx.service`, `session-2.scope`, `user.slice`.
    Unit(String),
}

/// A resolved target directory and, when it is one, the container (or
/// Kubernetes pod) it belongs to.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub cgroup: Cgroup,
    pub container: Option<ContainerInfo>,
}

/// A resolved cgroup v2 directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cgroup {
    /// Absolute path of the directory.
    pub path: PathBuf,
    /// Path relative to the cgroup2 mount, starting with `/` (`/` is the root).
    pub rel: String,
    /// cgroup v2 id: the directory's inode, what BPF reads from kernfs.
    pub id: u64,
    /// Depth below the cgroup2 root (root = 0).
    pub level: u32,
}

impl TargetSpec {
    /// Classifies a TARGET argument; only the form is checked here. The
    /// argument is bytes (a cgroup name need not be UTF-8) and is taken as
    /// typed: only one trailing newline (from `$(cat file)`-style input) is
    /// dropped, since `"app "` and `"app"` are different cgroups.
    pub fn parse(arg: &OsStr) -> Result<Self> {
        let mut bytes = arg.as_bytes();
        if let Some(b) = bytes.strip_suffix(b"\n") {
            bytes = b;
        }
        let shown = crate::escape::for_terminal(bytes);
        if bytes.is_empty() {
            return Err(usage(
                "empty target: give a cgroup v2 directory, pid:N, a container id or a unit name",
            ));
        }
        if let Some(pid) = bytes.strip_prefix(b"pid:") {
            return match std::str::from_utf8(pid)
                .ok()
                .and_then(|p| p.parse::<u32>().ok())
            {
                Some(p) if p > 0 => Ok(Self::Pid(p)),
                _ => Err(usage(format!(
                    "target '{shown}': expected pid:<number>, e.g. pid:1234"
                ))),
            };
        }
        let path = Path::new(OsStr::from_bytes(bytes));
        if bytes.starts_with(b"/") {
            return Ok(Self::Absolute(path.to_path_buf()));
        }
        // `./x` and `../x` are paths from the current directory, as in a shell.
        if matches!(
            path.components().next(),
            Some(Component::CurDir | Component::ParentDir)
        ) {
            let cwd = std::env::current_dir()
                .map_err(|e| usage(format!("target '{shown}': current directory: {e}")))?;
            return Ok(Self::Absolute(cwd.join(path)));
        }
        if path.components().any(|c| c == Component::ParentDir) {
            return Err(usage(format!(
                "target '{shown}': '..' is not allowed inside a path below the cgroup2 mount; \
                 give the path below the mount, an absolute path, or ./ or ../ from here"
            )));
        }
        let text = std::str::from_utf8(bytes).ok();
        if let Some(t) = text.filter(|t| !t.contains('/')) {
            if UNIT_SUFFIXES.iter().any(|s| t.ends_with(s)) {
                return Ok(Self::Unit(t.to_string()));
            }
        }
        let trimmed = bytes.strip_suffix(b"/").unwrap_or(bytes);
        Ok(Self::Relative(PathBuf::from(OsStr::from_bytes(trimmed))))
    }

    /// Finds the cgroup v2 directory this target names, asking the
    /// container runtimes (through `registry`) only for a word that is not
    /// a directory below the mount, and says which container it is.
    pub fn resolve(&self, hierarchy: &Hierarchy, registry: &mut Registry) -> Result<Resolved> {
        let root = &hierarchy.root;
        let cgroup = match self {
            Self::Absolute(path) => Cgroup::from_dir(hierarchy, path)?,
            Self::Pid(pid) => Cgroup::from_dir(hierarchy, &root.join(pid_cgroup(*pid)?))?,
            Self::Unit(unit) => Cgroup::from_dir(hierarchy, &find_unit(root, unit)?)?,
            // A directory of that name below the mount wins: a container
            // name (or an id prefix, or NAMESPACE/POD) comes second.
            Self::Relative(rel) if root.join(rel).exists() => {
                Cgroup::from_dir(hierarchy, &root.join(rel))?
            }
            Self::Relative(rel) => {
                let Some(text) = rel.to_str() else {
                    return Cgroup::from_dir(hierarchy, &root.join(rel)).map(|cgroup| Resolved {
                        cgroup,
                        container: None,
                    });
                };
                let found = registry.find(text)?;
                return match found {
                    Found::One { cgroup_dir, info } | Found::Pod { cgroup_dir, info } => {
                        Ok(Resolved {
                            cgroup: Cgroup::from_dir(hierarchy, &cgroup_dir)?,
                            container: Some(info),
                        })
                    }
                    other => Err(usage(registry.explain(text, &other).unwrap_or_else(|| {
                        format!("target '{text}': not a cgroup directory or a container")
                    }))),
                };
            }
        };
        let container = registry.identify(&cgroup.rel);
        Ok(Resolved { cgroup, container })
    }
}

/// cgroup v2 path of a process, from /proc/PID/cgroup (the `0::` line),
/// as bytes: a cgroup name need not be UTF-8.
fn pid_cgroup(pid: u32) -> Result<PathBuf> {
    let text = match fs::read(format!("/proc/{pid}/cgroup")) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(usage(format!("target 'pid:{pid}': no such process")))
        }
        Err(e) => {
            return Err(usage(format!(
                "target 'pid:{pid}': reading /proc/{pid}/cgroup: {e}"
            )))
        }
    };
    parse_proc_cgroup(&text).ok_or_else(|| {
        usage(format!(
            "target 'pid:{pid}': the process has no cgroup v2 entry in /proc/{pid}/cgroup"
        ))
    })
}

/// The v2 path (`/system.slice/x.service`) from /proc/PID/cgroup contents,
/// without the leading `/`.
pub fn parse_proc_cgroup(text: &[u8]) -> Option<PathBuf> {
    text.split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"0::"))
        .map(|p| {
            let p = p.strip_suffix(b" (deleted)").unwrap_or(p);
            let start = p.iter().position(|&b| b != b'/').unwrap_or(p.len());
            PathBuf::from(OsStr::from_bytes(&p[start..]))
        })
}

/// Every cgroup directory below `root` (not `root` itself), with its name.
fn walk_dirs(root: &Path) -> impl Iterator<Item = (PathBuf, String)> {
    WalkDir::new(root)
        .min_depth(1)
        .follow_links(false)
        .same_file_system(true)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_dir())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (e.into_path(), name)
        })
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| crate::escape::path(p))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The cgroup directory of a systemd unit.
pub fn find_unit(root: &Path, unit: &str) -> Result<PathBuf> {
    let paths: Vec<PathBuf> = walk_dirs(root)
        .filter(|(_, n)| n == unit)
        .map(|(p, _)| p)
        .collect();
    match paths.len() {
        0 => Err(usage(format!(
            "target '{unit}': no cgroup named {unit} under {} (is the unit running?)",
            root.display()
        ))),
        1 => Ok(paths.into_iter().next().unwrap_or_default()),
        _ => Err(usage(format!(
            "target '{unit}': ambiguous, several cgroups have that name: {}; give the path",
            list(&paths)
        ))),
    }
}

impl Cgroup {
    /// Validates that `path` is a cgroup v2 directory of this host's
    /// hierarchy and reads its id and depth.
    pub fn from_dir(hierarchy: &Hierarchy, path: &Path) -> Result<Self> {
        let shown = path.display();
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(usage(format!(
                    "target {shown}: no such directory; give an existing cgroup v2 directory \
                     (cgroup2 is mounted at {})",
                    hierarchy.root.display()
                )))
            }
            Err(e) => return Err(usage(format!("target {shown}: {e}"))),
        };
        if !meta.is_dir() {
            return Err(usage(format!(
                "target {shown}: is a file, not a cgroup directory; give its directory"
            )));
        }
        let canonical =
            fs::canonicalize(path).map_err(|e| usage(format!("target {shown}: {e}")))?;
        let magic = nix::sys::statfs::statfs(&canonical)
            // f_type's C type differs between architectures.
            .map(|s| {
                #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
                let t = s.filesystem_type().0 as i64;
                t
            })
            .unwrap_or(0);
        if magic == CGROUP_SUPER_MAGIC
            || (magic != CGROUP2_SUPER_MAGIC && hierarchy.is_v1(&canonical))
        {
            return Err(usage(format!(
                "target {shown}: is a cgroup v1 directory; contrace traces cgroup v2: \
                 give the matching directory under {}",
                hierarchy.root.display()
            )));
        }
        if magic != CGROUP2_SUPER_MAGIC {
            return Err(usage(format!(
                "target {shown}: is not a cgroup directory; cgroup v2 is mounted at {}",
                hierarchy.root.display()
            )));
        }
        let root = fs::canonicalize(&hierarchy.root).unwrap_or_else(|_| hierarchy.root.clone());
        let Ok(below) = canonical.strip_prefix(&root) else {
            return Err(usage(format!(
                "target {shown}: is outside the host's cgroup2 mount {}",
                hierarchy.root.display()
            )));
        };
        let level = below.components().count() as u32;
        let rel = format!("/{}", below.display());
        Ok(Self {
            path: canonical,
            rel,
            id: meta.ino(),
            level,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn classifies_targets() {
        assert_eq!(
            TargetSpec::parse(OsStr::new("pid:42")).unwrap(),
            TargetSpec::Pid(42)
        );
        assert!(TargetSpec::parse(OsStr::new("pid:x")).is_err());
        assert!(TargetSpec::parse(OsStr::new("pid:0")).is_err());
        assert!(TargetSpec::parse(OsStr::new("")).is_err());
        // Whitespace is part of a name; only one trailing newline goes.
        assert_eq!(
            TargetSpec::parse(OsStr::new("  ")).unwrap(),
            TargetSpec::Relative("  ".into())
        );
        assert_eq!(
            TargetSpec::parse(OsStr::new("app \n")).unwrap(),
            TargetSpec::Relative("app ".into())
        );
        assert!(TargetSpec::parse(OsStr::new("a/../../b")).is_err());
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            TargetSpec::parse(OsStr::new("../etc")).unwrap(),
            TargetSpec::Absolute(cwd.join("../etc"))
        );
        assert_eq!(
            TargetSpec::parse(OsStr::new("./x")).unwrap(),
            TargetSpec::Absolute(cwd.join("./x"))
        );
        let raw = OsStr::from_bytes(b"odd\xffname");
        assert_eq!(
            TargetSpec::parse(raw).unwrap(),
            TargetSpec::Relative(PathBuf::from(raw))
        );
        assert_eq!(
            TargetSpec::parse(OsStr::new("/sys/fs/cgroup/x")).unwrap(),
            TargetSpec::Absolute("/sys/fs/cgroup/x".into())
        );
        assert_eq!(
            TargetSpec::parse(OsStr::new("nginx.service")).unwrap(),
            TargetSpec::Unit("nginx.service".into())
        );
        assert_eq!(
            TargetSpec::parse(OsStr::new("3F2A")).unwrap(),
            TargetSpec::Relative("3F2A".into())
        );
        assert_eq!(
            TargetSpec::parse(OsStr::new("abc")).unwrap(),
            TargetSpec::Relative("abc".into())
        );
        assert_eq!(
            TargetSpec::parse(OsStr::new("system.slice/foo.service/")).unwrap(),
            TargetSpec::Relative("system.slice/foo.service".into())
        );
    }

    #[test]
    fn finds_units_in_a_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("system.slice/nginx.service")).unwrap();
        fs::create_dir_all(root.join("user.slice/a/dup.scope")).unwrap();
        fs::create_dir_all(root.join("user.slice/b/dup.scope")).unwrap();
        assert!(find_unit(root, "nginx.service")
            .unwrap()
            .ends_with("nginx.service"));
        assert!(find_unit(root, "dup.scope")
            .unwrap_err()
            .to_string()
            .contains("ambiguous"));
        assert!(find_unit(root, "gone.service").is_err());
    }

    #[test]
    fn proc_cgroup_lines() {
        let parse = |t: &[u8]| parse_proc_cgroup(t);
        assert_eq!(
            parse(b"12:blkio:/user.slice\n0::/system.slice/x.service\n"),
            Some(PathBuf::from("system.slice/x.service"))
        );
        assert_eq!(parse(b"0::/\n"), Some(PathBuf::new()));
        assert_eq!(parse(b"0::/a (deleted)\n"), Some(PathBuf::from("a")));
        assert_eq!(
            parse(b"0::/b\xff\n"),
            Some(PathBuf::from(OsStr::from_bytes(b"b\xff")))
        );
        assert_eq!(parse(b"1:name=systemd:/x\n"), None);
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,80}") {
            let _ = TargetSpec::parse(OsStr::new(&text));
        }

        #[test]
        fn relative_targets_never_escape(parts in proptest::collection::vec("[a-z.]{1,4}", 1..5)) {
            let text = parts.join("/");
            if let Ok(TargetSpec::Relative(rel)) = TargetSpec::parse(OsStr::new(&text)) {
                prop_assert!(!Path::new(&rel).components().any(|c| c == Component::ParentDir));
            }
        }

        #[test]
        fn proc_cgroup_never_panics(text in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_proc_cgroup(&text);
        }
    }
}
