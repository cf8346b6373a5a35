//! Block device names and kernel device numbers, through sysfs.
//!
//! The BPF program sees `bio->bi_bdev->bd_dev`, the kernel's internal dev_t
//! (major << 20 | minor), which differs from the userspace encoding of
//! `stat`'s st_rdev.

use std::path::Path;

use anyhow::Result;

const MINOR_BITS: u32 = 20;

/// Kernel dev_t of `major:minor`.
pub fn kernel_dev(major: u32, minor: u32) -> u32 {
    (major << MINOR_BITS) | (minor & ((1 << MINOR_BITS) - 1))
}

/// `(major, minor)` of a kernel dev_t.
pub fn split(dev: u32) -> (u32, u32) {
    (dev >> MINOR_BITS, dev & ((1 << MINOR_BITS) - 1))
}

/// Parses `254:0`.
pub fn parse_major_minor(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.trim().split_once(':')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// `DEVNAME=` of a sysfs uevent file.
pub fn parse_devname(uevent: &str) -> Option<String> {
    uevent
        .lines()
        .find_map(|l| l.strip_prefix("DEVNAME="))
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
}

/// Resolves `--device`: a name (`vda`, `/dev/vda`, `nvme0n1p2`) or `MAJ:MIN`.
/// Unknown devices are a usage error naming the fix.
pub fn resolve(text: &str) -> Result<u32> {
    let sys = Path::new("/sys/dev/block");
    if let Some((major, minor)) = parse_major_minor(text) {
        if sys.join(format!("{major}:{minor}")).exists() {
            return Ok(kernel_dev(major, minor));
        }
        return Err(kernel::exit::usage(format!(
            "--device {text}: no block device with that number (see `lsblk`)"
        )));
    }
    // A path (`/dev/mapper/root`, `/dev/disk/by-id/...`, any symlink to a
    // device node): the node it leads to says which device it is.
    if text.starts_with('/') {
        use std::os::unix::fs::FileTypeExt;
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata(text) {
            if meta.file_type().is_block_device() {
                let rdev = meta.rdev();
                return Ok(kernel_dev(
                    nix::sys::stat::major(rdev) as u32,
                    nix::sys::stat::minor(rdev) as u32,
                ));
            }
            return Err(kernel::exit::usage(format!(
                "--device {text}: not a block device; name one from `lsblk` (e.g. --device vda)"
            )));
        }
    }
    let name = text.strip_prefix("/dev/").unwrap_or(text);
    let valid = !name.is_empty() && !name.contains('/') && name != "." && name != "..";
    let dev_file = Path::new("/sys/class/block").join(name).join("dev");
    match std::fs::read_to_string(&dev_file)
        .ok()
        .filter(|_| valid)
        .and_then(|t| parse_major_minor(&t))
    {
        Some((major, minor)) => Ok(kernel_dev(major, minor)),
        None => Err(kernel::exit::usage(format!(
            "--device {text}: no such block device; name one from `lsblk` (e.g. --device vda)"
        ))),
    }
}

/// The device's name (`vda`), or `MAJ:MIN` when sysfs does not know it.
pub fn name(dev: u32) -> String {
    let (major, minor) = split(dev);
    std::fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/uevent"))
        .ok()
        .and_then(|u| parse_devname(&u))
        .unwrap_or_else(|| format!("{major}:{minor}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        let dev = kernel_dev(254, 3);
        assert_eq!(dev, 254 << 20 | 3);
        assert_eq!(split(dev), (254, 3));
        assert_eq!(parse_major_minor("8:16\n"), Some((8, 16)));
        assert_eq!(parse_major_minor("vda"), None);
        assert_eq!(parse_major_minor("8:x"), None);
    }

    #[test]
    fn devname_from_uevent() {
        let uevent = "MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n";
        assert_eq!(parse_devname(uevent).as_deref(), Some("vda"));
        assert_eq!(parse_devname("MAJOR=1\n"), None);
    }

    #[test]
    fn device_paths_and_links_lead_to_their_node() {
        let Some(disk) = std::fs::read_dir("/sys/class/block")
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
        else {
            return;
        };
        let node = format!("/dev/{disk}");
        if !std::path::Path::new(&node).exists() {
            return;
        }
        let link = std::env::temp_dir().join(format!("contrace-dev-link-{}", std::process::id()));
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&node, &link).unwrap();
        let by_link = resolve(link.to_str().unwrap());
        let _ = std::fs::remove_file(&link);
        assert_eq!(by_link.unwrap(), resolve(&disk).unwrap());
        assert_eq!(resolve(&node).unwrap(), resolve(&disk).unwrap());
        assert!(resolve("/etc/hostname").is_err());
    }

    #[test]
    fn unknown_device_is_a_usage_error() {
        for bad in ["no-such-disk-zz", "../vda", "", "4095:1048575"] {
            let err = resolve(bad).unwrap_err();
            assert!(
                err.downcast_ref::<kernel::exit::UsageError>().is_some(),
                "{bad}: {err}"
            );
        }
    }
}
