//! What BPF a process holds and what the kernel still has loaded: a tool
//! attaches what it says and leaves nothing behind.

use std::collections::BTreeSet;

/// The `fdinfo` text of each of a process's descriptors (none once it is
/// gone).
fn fd_infos(pid: u32) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect()
}

fn prog_id(info: &str) -> Option<u64> {
    info.lines()
        .find_map(|l| l.strip_prefix("prog_id:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Ids of the programs a process holds through its fds (program and link
/// fds both show `prog_id:` in /proc/PID/fdinfo).
pub fn programs_held_by(pid: u32) -> BTreeSet<u64> {
    fd_infos(pid).iter().filter_map(|i| prog_id(i)).collect()
}

/// Ids of the programs a process holds links for, one per link.
pub fn programs_linked_by(pid: u32) -> Vec<u64> {
    fd_infos(pid)
        .iter()
        .filter(|i| i.contains("link_id:"))
        .filter_map(|i| prog_id(i))
        .collect()
}

/// BPF links a process holds open: one per attached program.
pub fn links_held_by(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .map(|t| t.to_string_lossy().contains("bpf_link"))
                        .unwrap_or(false)
                })
                .count()
        })
        .unwrap_or(0)
}

/// Whether a BPF program with this id is still loaded.
pub fn program_loaded(id: u64) -> bool {
    let Ok(id) = u32::try_from(id) else {
        return false;
    };
    // union bpf_attr for BPF_PROG_GET_FD_BY_ID: prog_id first.
    let mut attr = [0u8; 128];
    attr[..4].copy_from_slice(&id.to_ne_bytes());
    const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
    // SAFETY: a bpf(2) call with a zeroed attr of the size passed.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, BPF_PROG_GET_FD_BY_ID, attr.as_ptr(), 128) };
    if fd >= 0 {
        // SAFETY: the fd the kernel just gave us.
        unsafe { libc::close(fd as i32) };
        return true;
    }
    false
}

/// A BPF map as its descriptor's fdinfo shows it (no name there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapShape {
    pub map_type: u32,
    pub max_entries: u32,
    pub value_size: u32,
    /// The kernel's count of the map's memory (bytes).
    pub memlock: u64,
}

/// BPF_MAP_TYPE_TASK_STORAGE.
pub const MAP_TASK_STORAGE: u32 = 29;

/// The maps a process holds through its fds.
pub fn maps_held_by(pid: u32) -> Vec<MapShape> {
    fn field<T: std::str::FromStr>(info: &str, name: &str) -> Option<T> {
        info.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
    }
    fd_infos(pid)
        .iter()
        .filter(|i| i.contains("map_id:"))
        .filter_map(|i| {
            Some(MapShape {
                map_type: field(i, "map_type:")?,
                max_entries: field(i, "max_entries:")?,
                value_size: field(i, "value_size:")?,
                memlock: field(i, "memlock:")?,
            })
        })
        .collect()
}
