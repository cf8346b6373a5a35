//! A scratch file system for the block I/O tests, the same on every
//! machine: ext4 on a loop device made for the test, its image on a tmpfs
//! made for the test too.
//!
//! - tmpfs and overlay make no bios; a loop device does, and an image on
//!   tmpfs makes none below it (no bio of the backing file charged to the
//!   cgroup a second time where cgroup writeback is on).
//! - The file system's metadata (bitmaps, inode tables, directories) is read
//!   into the page cache right after mounting and locked there for the
//!   directory's life: a test's file creation and lookups then read nothing
//!   from the device, so exact byte counts do not depend on what the machine
//!   happened to have cached (a fresh machine reads a cold bitmap block, a
//!   warm one does not) nor on reclaim while the test runs (a busy machine
//!   evicts pages read once; in-memory inodes are dropped and read again).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

const MIB: u64 = 1 << 20;
/// Room for the largest test (about 130 MiB of files) and ext4's journal.
const IMAGE_SIZE: u64 = 256 * MIB;

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A scratch directory on a block device of its own; the file system,
/// loop device and tmpfs go on drop.
pub struct BlockDir {
    /// The mounted file system's root.
    pub path: PathBuf,
    /// Name of the block device under the directory (`loop3`).
    pub device: String,
    /// What is set up so far, undone in reverse order on drop.
    base: PathBuf,
    tmpfs: Option<PathBuf>,
    loopdev: Option<String>,
    mounted: bool,
    /// The device's page cache, mapped and locked (unmapped first on drop).
    metadata: Option<LockedCache>,
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

fn path_arg(path: &Path) -> &str {
    path.to_str().expect("scratch paths are UTF-8")
}

impl BlockDir {
    pub fn new(name: &str) -> Self {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let base = PathBuf::from("/var/tmp")
            .join(format!("contrace-blk-{name}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&base).expect("mkdir scratch base");
        let mut dir = Self {
            path: base.join("mnt"),
            device: String::new(),
            base,
            tmpfs: None,
            loopdev: None,
            mounted: false,
            metadata: None,
        };
        dir.set_up();
        dir
    }

    fn set_up(&mut self) {
        let tmpfs = self.base.join("tmpfs");
        std::fs::create_dir(&tmpfs).expect("mkdir tmpfs mount point");
        let size = format!("size={}m", IMAGE_SIZE / MIB + 16);
        run(
            "mount",
            &["-t", "tmpfs", "-o", &size, "tmpfs", path_arg(&tmpfs)],
        );
        self.tmpfs = Some(tmpfs.clone());
        let image = tmpfs.join("disk.img");
        std::fs::File::create(&image)
            .and_then(|f| f.set_len(IMAGE_SIZE))
            .expect("create image");
        // Inode tables and journal written now, not by a kernel thread
        // later, in the middle of a test.
        run(
            "mkfs.ext4",
            &[
                "-q",
                "-F",
                "-b",
                "4096",
                "-E",
                "lazy_itable_init=0,lazy_journal_init=0",
                path_arg(&image),
            ],
        );
        // Kernels with loop as a module (VM guests) may not have loaded it;
        // where it is built in there is no module to find (and no message).
        if !Path::new("/dev/loop-control").exists() {
            let _ = Command::new("modprobe")
                .arg("loop")
                .stderr(std::process::Stdio::null())
                .status();
        }
        let loopdev = run("losetup", &["--find", "--show", path_arg(&image)]);
        self.loopdev = Some(loopdev.clone());
        self.device = loopdev.trim_start_matches("/dev/").to_string();
        std::fs::create_dir(&self.path).expect("mkdir mount point");
        run("mount", &[&loopdev, path_arg(&self.path)]);
        self.mounted = true;
        self.metadata = Some(LockedCache::new(&loopdev));
    }

    pub fn file(&self, name: &str) -> String {
        self.path.join(name).display().to_string()
    }
}

/// The whole device's page cache, where ext4 keeps its metadata blocks,
/// mapped and locked: every metadata lookup is a cache hit for as long as
/// this lives. (Made after the mount: mounting sets the device's block
/// size, which drops its cache.)
struct LockedCache {
    addr: std::ptr::NonNull<libc::c_void>,
}

impl LockedCache {
    fn new(loopdev: &str) -> Self {
        use std::os::fd::AsRawFd;
        let device = std::fs::File::open(loopdev).expect("open the loop device");
        let len = IMAGE_SIZE as usize;
        // SAFETY: a fresh shared read-only mapping of an open descriptor;
        // the result is checked before use.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                device.as_raw_fd(),
                0,
            )
        };
        assert_ne!(
            addr,
            libc::MAP_FAILED,
            "{loopdev}: mmap: {}",
            std::io::Error::last_os_error()
        );
        let cache = Self {
            addr: std::ptr::NonNull::new(addr).expect("mmap gave a non-null address"),
        };
        // SAFETY: the range is exactly the mapping made above. mlock reads
        // in every page (root: no RLIMIT_MEMLOCK with CAP_IPC_LOCK).
        let locked = unsafe { libc::mlock(addr, len) };
        assert_eq!(
            locked,
            0,
            "{loopdev}: mlock {len} bytes: {}",
            std::io::Error::last_os_error()
        );
        cache
    }
}

impl Drop for LockedCache {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once; munmap unlocks.
        unsafe { libc::munmap(self.addr.as_ptr(), IMAGE_SIZE as usize) };
    }
}

impl Drop for BlockDir {
    fn drop(&mut self) {
        // Unlocked before the device goes.
        self.metadata = None;
        if self.mounted {
            let _ = Command::new("umount").arg(&self.path).status();
        }
        if let Some(loopdev) = &self.loopdev {
            let _ = Command::new("losetup").args(["-d", loopdev]).status();
        }
        if let Some(tmpfs) = &self.tmpfs {
            let _ = Command::new("umount").arg(tmpfs).status();
        }
        let _ = std::fs::remove_dir(&self.path);
        if let Some(tmpfs) = &self.tmpfs {
            let _ = std::fs::remove_dir(tmpfs);
        }
        let _ = std::fs::remove_dir(&self.base);
    }
}
