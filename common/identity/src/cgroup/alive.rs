//! Whether a cgroup still exists, asked by its id rather than its path: a
//! path can be reached through a mount that went away, or reused by a new
//! cgroup of the same name; the id (kernfs node id) is never reused.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// kernfs file handles (include/linux/exportfs.h: FILEID_KERNFS).
const FILEID_KERNFS: i32 = 0xfe;

/// `struct file_handle` with room for kernfs's 8-byte id.
#[repr(C)]
struct KernfsHandle {
    handle_bytes: u32,
    handle_type: i32,
    id: [u8; 8],
}

/// `Some(true)` when cgroup `id` exists, `Some(false)` when the kernel says
/// it is gone, `None` when it cannot tell (no such mount, no permission:
/// open_by_handle_at needs CAP_DAC_READ_SEARCH).
pub fn exists(mount: &Path, id: u64) -> Option<bool> {
    let dir = CString::new(mount.as_os_str().as_bytes()).ok()?;
    // SAFETY: `dir` is a valid NUL-terminated path; plain open(2). Not
    // O_PATH: open_by_handle_at refuses such a mount fd (EBADF).
    let mount_fd = unsafe {
        libc::open(
            dir.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if mount_fd < 0 {
        return None;
    }
    let mut handle = KernfsHandle {
        handle_bytes: 8,
        handle_type: FILEID_KERNFS,
        id: id.to_ne_bytes(),
    };
    // SAFETY: `handle` is a valid file_handle of `handle_bytes` payload
    // bytes, `mount_fd` an open descriptor; the returned fd is closed below.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_by_handle_at,
            mount_fd,
            &mut handle as *mut KernfsHandle,
            libc::O_PATH | libc::O_CLOEXEC,
        )
    };
    let err = std::io::Error::last_os_error().raw_os_error();
    // SAFETY: both are descriptors we opened (fd only when valid).
    unsafe {
        if fd >= 0 {
            libc::close(fd as i32);
        }
        libc::close(mount_fd);
    }
    if fd >= 0 {
        return Some(true);
    }
    match err {
        Some(libc::ESTALE | libc::ENOENT) => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_removed_cgroup_is_gone_by_id_even_when_its_name_is_back() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipping: needs root");
            return;
        }
        let Ok(h) = crate::cgroup::Hierarchy::detect() else {
            return;
        };
        let dir = h
            .root
            .join(format!("contrace-alive-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        let id = std::fs::metadata(&dir).unwrap().ino();
        assert_eq!(exists(&h.root, id), Some(true));
        // cgroup2 refuses renames (EPERM): the id is the directory's for good.
        std::fs::remove_dir(&dir).unwrap();
        std::fs::create_dir(&dir).unwrap();
        assert_eq!(exists(&h.root, id), Some(false));
        std::fs::remove_dir(&dir).unwrap();
        assert_eq!(exists(Path::new("/nonexistent-mount"), id), None);
    }
}
