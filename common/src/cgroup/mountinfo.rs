//! Finding the cgroup2 mount (and the v1 ones beside it) in
//! /proc/self/mountinfo, on pure v2, hybrid and v1-only hosts.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// One line of /proc/self/mountinfo, the fields we use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    pub mount_point: PathBuf,
    pub fstype: String,
}

/// Undoes mountinfo's octal escapes (`\040` for space, `\011`, `\012`, `\134`).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
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
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses mountinfo text; malformed lines are skipped, never fatal.
pub fn parse(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let mount_point = left.split(' ').nth(4)?;
            let fstype = right.split(' ').next()?;
            if fstype.is_empty() || mount_point.is_empty() {
                return None;
            }
            Some(Mount {
                mount_point: PathBuf::from(unescape(mount_point)),
                fstype: fstype.to_string(),
            })
        })
        .collect()
}

/// The host's cgroup layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hierarchy {
    /// Where cgroup2 is mounted: /sys/fs/cgroup (pure v2) or
    /// /sys/fs/cgroup/unified (hybrid).
    pub root: PathBuf,
    /// Mount points of v1 controllers (empty on pure v2 hosts).
    pub v1: Vec<PathBuf>,
}

impl Hierarchy {
    /// Reads /proc/self/mountinfo.
    pub fn detect() -> Result<Self> {
        let text =
            fs::read_to_string("/proc/self/mountinfo").context("reading /proc/self/mountinfo")?;
        Self::from_mounts(&parse(&text))
    }

    /// Picks the cgroup2 mount (the shortest path if several).
    pub fn from_mounts(mounts: &[Mount]) -> Result<Self> {
        let v1: Vec<PathBuf> = mounts
            .iter()
            .filter(|m| m.fstype == "cgroup")
            .map(|m| m.mount_point.clone())
            .collect();
        let Some(root) = mounts
            .iter()
            .filter(|m| m.fstype == "cgroup2")
            .map(|m| m.mount_point.clone())
            .min_by_key(|p| p.as_os_str().len())
        else {
            bail!(
                "no cgroup v2 hierarchy is mounted (this host uses cgroup v1 only): \
                 mount one with `mount -t cgroup2 none /sys/fs/cgroup/unified` \
                 or boot with systemd.unified_cgroup_hierarchy=1"
            );
        };
        Ok(Self { root, v1 })
    }

    /// True for paths inside a v1 controller mount.
    pub fn is_v1(&self, path: &Path) -> bool {
        self.v1.iter().any(|m| path.starts_with(m)) && !path.starts_with(&self.root)
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
        let h = Hierarchy::from_mounts(&parse(HYBRID)).unwrap();
        assert_eq!(h.root, PathBuf::from("/sys/fs/cgroup/unified"));
        assert!(h.is_hybrid());
        assert!(h.is_v1(Path::new("/sys/fs/cgroup/blkio/foo")));
        assert!(!h.is_v1(Path::new("/sys/fs/cgroup/unified/foo")));
    }

    #[test]
    fn pure_v2_host() {
        let h = Hierarchy::from_mounts(&parse(PURE_V2)).unwrap();
        assert_eq!(h.root, PathBuf::from("/sys/fs/cgroup"));
        assert!(!h.is_hybrid());
    }

    #[test]
    fn v1_only_host_is_refused() {
        let err = Hierarchy::from_mounts(&parse(V1_ONLY)).unwrap_err();
        assert!(err.to_string().contains("cgroup v1 only"));
    }

    #[test]
    fn escaped_mount_points() {
        let m = parse("1 2 0:3 / /mnt/with\\040space rw - cgroup2 cgroup2 rw\n");
        assert_eq!(m[0].mount_point, PathBuf::from("/mnt/with space"));
        assert_eq!(unescape("a\\134b"), "a\\b");
        assert_eq!(unescape("trailing\\04"), "trailing\\04");
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC*") {
            let _ = parse(&text);
        }

        #[test]
        fn finds_cgroup2_among_noise(noise in proptest::collection::vec("[a-z0-9/ ]{0,40}", 0..8),
                                     dir in "/[a-z]{1,8}(/[a-z]{1,8}){0,3}") {
            let mut text = noise.join("\n");
            text.push_str(&format!("\n9 1 0:9 / {dir} rw - cgroup2 cgroup2 rw\n"));
            let h = Hierarchy::from_mounts(&parse(&text)).unwrap();
            prop_assert_eq!(h.root, PathBuf::from(dir));
        }
    }
}
