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

use super::mountinfo::Cgroup2Mount;
use super::mountinfo::Hierarchy;
use crate::container::{ContainerInfo, Found, Registry};
use kernel::exit::usage;

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
        let shown = kernel::escape::for_terminal(bytes);
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
            Self::Pid(pid) => Cgroup::from_dir(hierarchy, &pid_dir(hierarchy, *pid)?)?,
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

/// The `0::` path of a process, from /proc/PID/cgroup, as bytes (a cgroup
/// name need not be UTF-8). It is relative to OUR cgroup namespace: `/x`
/// below its root, `/../y` beside it.
fn pid_cgroup(pid: u32) -> Result<Vec<u8>> {
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
    proc_cgroup_line(&text).map(<[u8]>::to_vec).ok_or_else(|| {
        usage(format!(
            "target 'pid:{pid}': the process has no cgroup v2 entry in /proc/{pid}/cgroup"
        ))
    })
}

/// The path of the `0::` line, without a ` (deleted)` suffix.
fn proc_cgroup_line(text: &[u8]) -> Option<&[u8]> {
    text.split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"0::"))
        .map(|p| p.strip_suffix(b" (deleted)").unwrap_or(p))
}

/// A cgroup path relative to a cgroup namespace root, made lexical: how
/// many levels it climbs above the root (`..`), then the names below.
fn climb_and_names(path: &[u8]) -> (usize, Vec<&[u8]>) {
    let mut up = 0;
    let mut names: Vec<&[u8]> = Vec::new();
    for part in path.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if names.pop().is_none() {
                    up += 1;
                }
            }
            name => names.push(name),
        }
    }
    (up, names)
}

/// Where a process's cgroup should be under a mount, from the mount's root
/// field and the process's `0::` path (both relative to our namespace):
/// `(depth, tail)` = the tail joined below any directory `depth` levels
/// under the mount point (names a namespace hides are unknown: `depth`
/// counts them). `None`: not under this mount.
fn expected_place<'a>(mount_root: &[u8], proc_path: &'a [u8]) -> Option<(usize, Vec<&'a [u8]>)> {
    let (k, x) = climb_and_names(mount_root);
    let (j, y) = climb_and_names(proc_path);
    // Absolute paths, with our namespace root N = a1..an (names we cannot
    // see): the mount shows a1..a(n-k)/x, the process is in a1..a(n-j)/y.
    if j > k {
        // The kernel writes the shortest path: y leaves a(n-j+1)..a(n-k),
        // which the mount's top lies below.
        None
    } else if j == k {
        y.starts_with(&x).then(|| (0, y[x.len()..].to_vec()))
    } else if x.len() <= k - j {
        // Between the mount's top and y lie k - j names we cannot see,
        // the first of them x.
        Some((k - j - x.len(), y))
    } else {
        let rest = &x[k - j..];
        y.starts_with(rest).then(|| (0, y[rest.len()..].to_vec()))
    }
}

/// True when thread `pid` (a process's leader) is in cgroup directory `dir`.
fn holds(dir: &Path, pid: u32) -> bool {
    let wanted = pid.to_string();
    ["cgroup.threads", "cgroup.procs"].iter().any(|file| {
        fs::read_to_string(dir.join(file)).is_ok_and(|t| t.lines().any(|l| l.trim() == wanted))
    })
}

/// The directory under `mount` holding process `pid`, whose `0::` path is
/// `proc_path`: the expected place when the process is there (a decoy of
/// the same relative name elsewhere is refused), else a search of the mount.
fn locate(mount: &Cgroup2Mount, proc_path: &[u8], pid: u32) -> Option<PathBuf> {
    if let Some((depth, tail)) = expected_place(&mount.root, proc_path) {
        let tail: PathBuf = tail.iter().map(|n| OsStr::from_bytes(n)).collect();
        let bases: Vec<PathBuf> = if depth == 0 {
            vec![mount.mount_point.clone()]
        } else {
            WalkDir::new(&mount.mount_point)
                .min_depth(depth)
                .max_depth(depth)
                .same_file_system(true)
                .into_iter()
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_dir())
                .map(|e| e.into_path())
                .collect()
        };
        if let Some(dir) = bases
            .iter()
            .map(|b| b.join(&tail))
            .find(|d| d.is_dir() && holds(d, pid))
        {
            return Some(dir);
        }
    }
    // Moved, renamed or seen through an unusual mount: ask every cgroup.
    std::iter::once(mount.mount_point.clone())
        .chain(walk_dirs(&mount.mount_point).map(|(p, _)| p))
        .find(|d| holds(d, pid))
}

/// The cgroup directory of process `pid`, under the preferred cgroup2
/// mount, verified by the process being in it.
fn pid_dir(hierarchy: &Hierarchy, pid: u32) -> Result<PathBuf> {
    let mount = hierarchy
        .preferred()
        .ok_or_else(|| anyhow::anyhow!("no cgroup2 mount at {}", hierarchy.root.display()))?;
    let mut proc_path = pid_cgroup(pid)?;
    // It may move between the two reads: read again once.
    for _ in 0..2 {
        if let Some(dir) = locate(mount, &proc_path, pid) {
            return Ok(dir);
        }
        proc_path = pid_cgroup(pid)?;
    }
    Err(usage(format!(
        "target 'pid:{pid}': its cgroup ({} in /proc/{pid}/cgroup) is not under the cgroup2 \
         mount {}; give the cgroup directory instead",
        kernel::escape::for_terminal(&proc_path),
        hierarchy.root.display()
    )))
}

/// The v2 path (`/system.slice/x.service`) from /proc/PID/cgroup contents,
/// without the leading `/`.
pub fn parse_proc_cgroup(text: &[u8]) -> Option<PathBuf> {
    proc_cgroup_line(text).map(|p| {
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
        .map(|p| kernel::escape::path(p))
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
        let meta = directory(hierarchy, path)?;
        let canonical =
            fs::canonicalize(path).map_err(|e| usage(format!("target {shown}: {e}")))?;
        check_cgroup2(hierarchy, path, &canonical)?;
        let mount = mount_holding(hierarchy, path, &canonical)?;
        let id = meta.ino();
        let below = if mount.whole {
            canonical
                .strip_prefix(&mount.mount_point)
                .unwrap_or(Path::new(""))
                .to_path_buf()
        } else {
            below_whole_mount(hierarchy, path, &mount, id)?
        };
        let level = below.components().count() as u32;
        let rel = format!("/{}", below.display());
        Ok(Self {
            path: canonical,
            rel,
            id,
            level,
        })
    }
}

/// The metadata of `path`, which must be an existing directory.
fn directory(hierarchy: &Hierarchy, path: &Path) -> Result<fs::Metadata> {
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
    Ok(meta)
}

/// Refuses a directory `canonical` (given as `path`) that is not on a
/// cgroup2 filesystem: a v1 hierarchy's, or no cgroup's at all.
fn check_cgroup2(hierarchy: &Hierarchy, path: &Path, canonical: &Path) -> Result<()> {
    let shown = path.display();
    let magic = nix::sys::statfs::statfs(canonical)
        // f_type's C type differs between architectures.
        .map(|s| {
            #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
            let t = s.filesystem_type().0 as i64;
            t
        })
        .unwrap_or(0);
    if magic == CGROUP_SUPER_MAGIC || (magic != CGROUP2_SUPER_MAGIC && hierarchy.is_v1(canonical)) {
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
    Ok(())
}

/// The cgroup2 mount `canonical` lies under (Cilium's, a private one...),
/// not only the preferred one: all show the same hierarchy. The deepest
/// wins.
fn mount_holding(hierarchy: &Hierarchy, path: &Path, canonical: &Path) -> Result<Cgroup2Mount> {
    let mounts = hierarchy.mounts.iter().map(|m| Cgroup2Mount {
        mount_point: fs::canonicalize(&m.mount_point).unwrap_or_else(|_| m.mount_point.clone()),
        ..m.clone()
    });
    mounts
        .filter(|m| canonical.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.components().count())
        .ok_or_else(|| {
            let points: Vec<PathBuf> = hierarchy
                .mounts
                .iter()
                .map(|m| m.mount_point.clone())
                .collect();
            usage(format!(
                "target {}: is outside the cgroup2 mounts ({})",
                path.display(),
                list(&points)
            ))
        })
}

/// The path of cgroup `id` below a mount of the whole hierarchy, when
/// `mount` shows only part of it (a cgroup namespace's view: depths there
/// are not the kernel's levels).
fn below_whole_mount(
    hierarchy: &Hierarchy,
    path: &Path,
    mount: &Cgroup2Mount,
    id: u64,
) -> Result<PathBuf> {
    hierarchy
        .preferred()
        .filter(|m| m.whole)
        .and_then(|m| find_id(&m.mount_point, id))
        .ok_or_else(|| {
            usage(format!(
                "target {}: the cgroup2 mount {} shows only part of the hierarchy \
                 (a cgroup namespace's view) and no mount of the whole hierarchy holds \
                 this cgroup; mount the host's cgroup2 (e.g. `mount -t cgroup2 none \
                 /mnt/cgroup2` from the host's cgroup namespace) and give the path there",
                path.display(),
                mount.mount_point.display()
            ))
        })
}

/// The path below `root` of the cgroup whose id (directory inode) is `id`.
fn find_id(root: &Path, id: u64) -> Option<PathBuf> {
    WalkDir::new(root)
        .follow_links(false)
        .same_file_system(true)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_dir())
        .find(|e| e.metadata().is_ok_and(|m| m.ino() == id))
        .and_then(|e| e.path().strip_prefix(root).ok().map(Path::to_path_buf))
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
    fn places_from_inside_a_cgroup_namespace() {
        let place = |root: &[u8], proc: &'static [u8]| {
            expected_place(root, proc).map(|(d, t)| {
                (
                    d,
                    t.iter()
                        .map(|n| String::from_utf8_lossy(n).into_owned())
                        .collect::<Vec<_>>(),
                )
            })
        };
        let v = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        // The host: mount of the root, paths from the root.
        assert_eq!(place(b"/", b"/a/b"), Some((0, v(&["a", "b"]))));
        assert_eq!(place(b"/", b"/"), Some((0, v(&[]))));
        // A pod (namespace root A) with the host's cgroupfs: "/.." on top,
        // its own processes at "/sub" = one hidden name, then sub.
        assert_eq!(place(b"/..", b"/sub"), Some((1, v(&["sub"]))));
        assert_eq!(place(b"/../..", b"/"), Some((2, v(&[]))));
        // A process outside the namespace, beside it.
        assert_eq!(place(b"/..", b"/../B/c"), Some((0, v(&["B", "c"]))));
        // The namespace's own mount cannot show what lies beside it.
        assert_eq!(place(b"/", b"/../B"), None);
        // A mount of a subtree.
        assert_eq!(place(b"/x", b"/x/y"), Some((0, v(&["y"]))));
        assert_eq!(place(b"/x", b"/z"), None);
        assert_eq!(place(b"/../x", b"/sub"), Some((0, v(&["sub"]))));
        assert_eq!(place(b"/../x/y", b"/sub"), None);
        assert_eq!(place(b"/../x/y", b"/y/sub"), Some((0, v(&["sub"]))));
        // Lexical clean-up.
        assert_eq!(place(b"/./", b"/a/../b//c"), Some((0, v(&["b", "c"]))));
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
