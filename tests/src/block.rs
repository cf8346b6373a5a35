//! A scratch directory on a real block device for the block I/O tests
//! (tmpfs and overlay make no bios): /var/tmp when it is on one, else an
//! ext4 image on a loop device made for the test (set
//! `CONBIOGRAPH_TEST_LOOP=1` to force that).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

const MIB: u64 = 1 << 20;

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A scratch directory on a block device, removed on drop (with its loop
/// device and mount when one had to be made).
pub struct BlockDir {
    pub path: PathBuf,
    /// Name of the block device under the directory (`vda`, `loop3`).
    pub device: String,
    loop_mount: Option<(String, PathBuf, PathBuf)>,
}

/// Runs a command that must succeed; its trimmed stdout.
pub fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The block device (sysfs name) holding `dir`, if any.
pub fn device_of(dir: &Path) -> Option<String> {
    let dev = std::fs::metadata(dir).ok()?.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    if major == 0 {
        return None;
    }
    let uevent = std::fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/uevent")).ok()?;
    uevent
        .lines()
        .find_map(|l| l.strip_prefix("DEVNAME="))
        .map(str::to_string)
}

impl BlockDir {
    pub fn new(name: &str) -> Self {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let base = PathBuf::from("/var/tmp");
        let leaf = format!("contrace-cbg-{name}-{}-{n}", std::process::id());
        if std::env::var_os("CONBIOGRAPH_TEST_LOOP").is_none() {
            if let Some(device) = device_of(&base) {
                let path = base.join(leaf);
                std::fs::create_dir(&path).expect("mkdir scratch dir");
                return Self {
                    path,
                    device,
                    loop_mount: None,
                };
            }
        }
        // No block device under /var/tmp: an ext4 image on a loop device.
        let image = base.join(format!("{leaf}.img"));
        let mnt = base.join(format!("{leaf}.mnt"));
        std::fs::File::create(&image)
            .and_then(|f| f.set_len(256 * MIB))
            .expect("create image");
        run("mkfs.ext4", &["-q", "-F", image.to_str().unwrap()]);
        // Kernels with loop as a module (VM guests) may not have loaded it.
        let _ = Command::new("modprobe").arg("loop").status();
        let loopdev = run("losetup", &["--find", "--show", image.to_str().unwrap()]);
        std::fs::create_dir(&mnt).expect("mkdir mount point");
        run("mount", &[&loopdev, mnt.to_str().unwrap()]);
        let device = loopdev.trim_start_matches("/dev/").to_string();
        Self {
            path: mnt.clone(),
            device,
            loop_mount: Some((loopdev, mnt, image)),
        }
    }

    pub fn file(&self, name: &str) -> String {
        self.path.join(name).display().to_string()
    }
}

impl Drop for BlockDir {
    fn drop(&mut self) {
        match &self.loop_mount {
            None => {
                let _ = std::fs::remove_dir_all(&self.path);
            }
            Some((loopdev, mnt, image)) => {
                let _ = Command::new("umount").arg(mnt).status();
                let _ = Command::new("losetup").args(["-d", loopdev]).status();
                let _ = std::fs::remove_dir(mnt);
                let _ = std::fs::remove_file(image);
            }
        }
    }
}
