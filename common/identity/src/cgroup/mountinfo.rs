//! Finding the cgroup2 mounts (and the v1 ones beside them) in
//! /proc/self/mountinfo, on pure v2, hybrid and v1-only hosts, with several
//! cgroup2 mounts (Cilium's /run/cilium/cgroupv2, private mounts) and from
//! inside a cgroup namespace.
//!
//! mountinfo is bytes: a mount point need not be UTF-8. Its `root` field
//! says which cgroup a mount shows at its mount point, relative to the
//! READER's cgroup namespace: `/` for the namespace root, `/..` for its
//! parent (the host's cgroupfs seen from a pod), `/x` for a subtree.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// One line of /proc/self/mountinfo, the fields we use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    pub mount_point: PathBuf,
    pub fstype: String,
    /// The mounted directory inside its filesystem (field 4), unescaped.
    pub root: Vec<u8>,
}

/// One cgroup2 mount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cgroup2Mount {
    pub mount_point: PathBuf,
    /// mountinfo's root field (relative to our cgroup namespace).
    pub root: Vec<u8>,
    /// The mount shows the whole hierarchy (its top is the root cgroup), so
    /// depths below the mount point are the kernel's cgroup levels.
    pub whole: bool,
}

/// Undoes mountinfo's octal escapes (`\040` for space, `\011`, `\012`, `\134`).
fn unescape(field: &[u8]) -> Vec<u8> {
    let bytes = field;
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let oct = &bytes[i + 1..i + 4];
            if oct.iter().all(|b| (b'0'..=b'7').contains(b)) {
                let value = oct
                    .iter()
                    .fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
                if let Ok(byte) = u8::try_from(value) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Parses mountinfo bytes; malformed lines are skipped, never fatal.
pub fn parse(text: &[u8]) -> Vec<Mount> {
    text.split(|&b| b == b'\n')
        .filter_map(|line| {
            let sep = line.windows(3).position(|w| w == b" - ")?;
            let (left, right) = (&line[..sep], &line[sep + 3..]);
            let mut fields = left.split(|&b| b == b' ');
            let root = fields.nth(3)?;
            let mount_point = fields.next()?;
            let fstype = right.split(|&b| b == b' ').next()?;
            if fstype.is_empty() || mount_point.is_empty() {
                return None;
            }
            Some(Mount {
                mount_point: PathBuf::from(OsStr::from_bytes(&unescape(mount_point))),
                fstype: String::from_utf8_lossy(fstype).into_owned(),
                root: unescape(root),
            })
        })
        .collect()
}

/// Where cgroup2 usually lives: pure v2 hosts, then hybrid ones.
const STANDARD: [&str; 2] = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"];

/// The host's cgroup layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hierarchy {
    /// The cgroup2 mount used for names and relative targets: one showing
    /// the whole hierarchy if any, at the standard location if there,
    /// /sys/fs/cgroup (pure v2) or /sys/fs/cgroup/unified (hybrid).
    pub root: PathBuf,
    /// Mount points of v1 controllers (empty on pure v2 hosts).
    pub v1: Vec<PathBuf>,
    /// Every cgroup2 mount (one hierarchy, seen through several mounts).
    pub mounts: Vec<Cgroup2Mount>,
}

/// True when the cgroup directory `dir` is the root cgroup: the only one
/// without `cgroup.type` (a file the kernel never puts on the root).
pub fn is_root_cgroup(dir: &Path) -> bool {
    dir.is_dir() && !dir.join("cgroup.type").exists()
}

impl Hierarchy {
    /// Reads /proc/self/mountinfo.
    pub fn detect() -> Result<Self> {
        let text = fs::read("/proc/self/mountinfo").context("reading /proc/self/mountinfo")?;
        Self::from_mounts(&parse(&text), is_root_cgroup)
    }

    /// Picks the preferred cgroup2 mount: one showing the whole hierarchy
    /// (`whole(mount_point)`), then the standard location, then the
    /// shortest path.
    pub fn from_mounts(mounts: &[Mount], whole: impl Fn(&Path) -> bool) -> Result<Self> {
        let v1: Vec<PathBuf> = mounts
            .iter()
            .filter(|m| m.fstype == "cgroup")
            .map(|m| m.mount_point.clone())
            .collect();
        let mut cg2: Vec<Cgroup2Mount> = Vec::new();
        for m in mounts.iter().filter(|m| m.fstype == "cgroup2") {
            // A later mount on the same point hides the earlier one.
            cg2.retain(|c| c.mount_point != m.mount_point);
            cg2.push(Cgroup2Mount {
                mount_point: m.mount_point.clone(),
                root: m.root.clone(),
                whole: whole(&m.mount_point),
            });
        }
        let Some(root) = cg2
            .iter()
            .min_by_key(|m| {
                let standard = STANDARD.iter().any(|s| m.mount_point == Path::new(s));
                (!m.whole, !standard, m.mount_point.as_os_str().len())
            })
            .map(|m| m.mount_point.clone())
        else {
            bail!(
                "no cgroup v2 hierarchy is mounted (this host uses cgroup v1 only): \
                 mount one with `mount -t cgroup2 none /sys/fs/cgroup/unified` \
                 or boot with systemd.unified_cgroup_hierarchy=1"
            );
        };
        Ok(Self {
            root,
            v1,
            mounts: cg2,
        })
    }

    /// The preferred mount (the one at `root`).
    pub fn preferred(&self) -> Option<&Cgroup2Mount> {
        self.mounts.iter().find(|m| m.mount_point == self.root)
    }

    /// The cgroup2 mount `path` lies under (the deepest mount point that
    /// is a prefix of it), if any.
    pub fn mount_of(&self, path: &Path) -> Option<&Cgroup2Mount> {
        self.mounts
            .iter()
            .filter(|m| path.starts_with(&m.mount_point))
            .max_by_key(|m| m.mount_point.components().count())
    }

    /// True for paths inside a v1 controller mount.
    pub fn is_v1(&self, path: &Path) -> bool {
        let v1 = self
            .v1
            .iter()
            .filter(|m| path.starts_with(m))
            .map(|m| m.components().count())
            .max();
        let v2 = self
            .mount_of(path)
            .map(|m| m.mount_point.components().count());
        v1.is_some_and(|d1| v2.is_none_or(|d2| d1 > d2))
    }

    /// Hybrid hosts have both v1 controllers and a cgroup2 mount.
    pub fn is_hybrid(&self) -> bool {
        !self.v1.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::os::unix::ffi::OsStrExt;

    const HYBRID: &str = "\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
33 25 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
34 33 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
35 33 0:30 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,xattr,name=systemd
38 33 0:33 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,blkio
";
    const PURE_V2: &str = "\
30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";
    const V1_ONLY: &str = "\
33 25 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
38 33 0:33 / /sys/fs/cgroup/blkio rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,blkio
";

    #[test]
    fn hybrid_host() {
        let h = Hierarchy::from_mounts(&parse(HYBRID.as_bytes()), |_| true).unwrap();
        assert_eq!(h.root, PathBuf::from("/sys/fs/cgroup/unified"));
        assert!(h.is_hybrid());
        assert!(h.is_v1(Path::new("/sys/fs/cgroup/blkio/foo")));
        assert!(!h.is_v1(Path::new("/sys/fs/cgroup/unified/foo")));
    }

    #[test]
    fn pure_v2_host() {
        let h = Hierarchy::from_mounts(&parse(PURE_V2.as_bytes()), |_| true).unwrap();
        assert_eq!(h.root, PathBuf::from("/sys/fs/cgroup"));
        assert!(!h.is_hybrid());
    }

    #[test]
    fn several_cgroup2_mounts_prefer_the_standard_one() {
        // Cilium's mount and a shorter private one: neither may win over
        // the standard location (the shortest path once did).
        let text = format!(
            "{HYBRID}50 1 0:29 / /run/cilium/cgroupv2 rw - cgroup2 none rw\n\
                            51 1 0:29 / /cg rw - cgroup2 none rw\n"
        );
        let h = Hierarchy::from_mounts(&parse(text.as_bytes()), |_| true).unwrap();
        assert_eq!(h.root, PathBuf::from("/sys/fs/cgroup/unified"));
        assert_eq!(h.mounts.len(), 3);
        let under = |p: &str| h.mount_of(Path::new(p)).map(|m| m.mount_point.clone());
        assert_eq!(under("/cg/a/b"), Some(PathBuf::from("/cg")));
        assert_eq!(
            under("/run/cilium/cgroupv2/x"),
            Some(PathBuf::from("/run/cilium/cgroupv2"))
        );
        assert_eq!(
            under("/sys/fs/cgroup/unified/x"),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(under("/cgx"), None);
        assert!(!h.is_v1(Path::new("/cg/blkio")));
        // Pure v2: /sys/fs/cgroup over a shorter private mount.
        let text = format!("{PURE_V2}52 1 0:26 / /c rw - cgroup2 none rw\n");
        let h = Hierarchy::from_mounts(&parse(text.as_bytes()), |_| true).unwrap();
        assert_eq!(h.root, PathBuf::from("/sys/fs/cgroup"));
        // No standard mount: the shortest.
        let text = "1 1 0:29 / /run/cilium/cgroupv2 rw - cgroup2 none rw\n\
                    2 1 0:29 / /run/x/cgroup2-longer rw - cgroup2 none rw\n";
        let h = Hierarchy::from_mounts(&parse(text.as_bytes()), |_| true).unwrap();
        assert_eq!(h.root, PathBuf::from("/run/cilium/cgroupv2"));
    }

    #[test]
    fn a_mount_of_the_whole_hierarchy_beats_a_namespaced_view() {
        // A pod: /sys/fs/cgroup is its namespace's subtree; the host's
        // cgroupfs is mounted at /host/cgroup and seen as "/..".
        let text = "1 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n\
                    2 1 0:26 /.. /host/cgroup rw - cgroup2 cgroup2 rw\n";
        let whole = |p: &Path| p == Path::new("/host/cgroup");
        let h = Hierarchy::from_mounts(&parse(text.as_bytes()), whole).unwrap();
        assert_eq!(h.root, PathBuf::from("/host/cgroup"));
        assert_eq!(h.preferred().unwrap().root, b"/..");
        // Mounted over: the later mount on a point is the one seen.
        let text = "1 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n\
                    2 1 0:26 /x /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let h = Hierarchy::from_mounts(&parse(text.as_bytes()), |_| true).unwrap();
        assert_eq!(h.mounts.len(), 1);
        assert_eq!(h.mounts[0].root, b"/x");
    }

    #[test]
    fn v1_only_host_is_refused() {
        let err = Hierarchy::from_mounts(&parse(V1_ONLY.as_bytes()), |_| true).unwrap_err();
        assert!(err.to_string().contains("cgroup v1 only"));
    }

    #[test]
    fn escaped_mount_points() {
        let m = parse(b"1 2 0:3 /a\\040b /mnt/with\\040space rw - cgroup2 cgroup2 rw\n");
        assert_eq!(m[0].mount_point, PathBuf::from("/mnt/with space"));
        assert_eq!(m[0].root, b"/a b");
        assert_eq!(unescape(b"a\\134b"), b"a\\b");
        assert_eq!(unescape(b"trailing\\04"), b"trailing\\04");
        // Not UTF-8: kept as bytes.
        let m = parse(b"1 2 0:3 / /mnt/x\xff rw - cgroup2 cgroup2 rw\n");
        assert_eq!(m[0].mount_point.as_os_str().as_bytes(), b"/mnt/x\xff");
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse(text.as_bytes());
        }

        #[test]
        fn never_panics_on_bytes(text in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&text);
        }

        #[test]
        fn finds_cgroup2_among_noise(noise in proptest::collection::vec("[a-z0-9/ ]{0,40}", 0..8),
                                     dir in "/[a-z]{1,8}(/[a-z]{1,8}){0,3}") {
            let mut text = noise.join("\n");
            text.push_str(&format!("\n9 1 0:9 / {dir} rw - cgroup2 cgroup2 rw\n"));
            let h = Hierarchy::from_mounts(&parse(text.as_bytes()), |_| true).unwrap();
            prop_assert_eq!(h.root, PathBuf::from(dir));
        }
    }
}
