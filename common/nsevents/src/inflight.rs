//! Threads that may be inside a traced call at the moment the programs
//! attach.
//!
//! A call stopped by seccomp before sys_enter reaches only sys_exit; so does
//! a call that began before the entry program was attached. The kernel
//! keeps no entry time to tell them apart, so right after attaching,
//! userspace looks at every thread's current syscall
//! (`/proc/<pid>/task/<tid>/syscall`): a thread blocked in another call, or
//! in user space, can only start new calls, whose entries are seen. Threads
//! running on a CPU (state unknown), blocked in unshare/setns/clone/clone3,
//! or unreadable are handed to the programs as uncertain: their next exit
//! without an entry is not called denied.

use std::collections::HashSet;
use std::fs;

use kernel::syscalls;

const CALLS: [&str; 4] = ["unshare", "setns", "clone", "clone3"];

/// Numbers of the traced calls in both ABIs (/proc shows a 32-bit call's
/// own number).
fn traced_numbers() -> HashSet<u64> {
    CALLS
        .iter()
        .flat_map(|name| [syscalls::number(name), syscalls::compat_number(name)])
        .flatten()
        .map(u64::from)
        .collect()
}

/// Whether a thread whose `syscall` file reads `text` may be inside one of
/// `traced` calls.
fn uncertain(text: &str, traced: &HashSet<u64>) -> bool {
    match text.split_whitespace().next() {
        // Blocked outside any syscall ("-1 sp pc"): certain.
        Some("-1") => false,
        Some(nr) => nr.parse::<u64>().map_or(true, |nr| traced.contains(&nr)),
        // "running" or unreadable: unknown.
        None => true,
    }
}

/// Thread ids of other processes that may be inside a traced call now.
pub fn uncertain_threads() -> Vec<u32> {
    let traced = traced_numbers();
    let me = std::process::id();
    let mut out = Vec::new();
    let Ok(procs) = fs::read_dir("/proc") else {
        return out;
    };
    for pid in procs.flatten() {
        let Some(pid) = pid.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
            continue; // gone
        };
        for tid in tasks.flatten() {
            let Some(tid) = tid.file_name().to_str().and_then(|t| t.parse::<u32>().ok()) else {
                continue;
            };
            match fs::read_to_string(format!("/proc/{pid}/task/{tid}/syscall")) {
                Ok(text) if !uncertain(&text, &traced) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {} // exited
                _ => out.push(tid),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_threads_that_may_be_in_a_traced_call_are_uncertain() {
        let traced = traced_numbers();
        let unshare = syscalls::number("unshare").unwrap();
        assert!(uncertain("running\n", &traced));
        assert!(uncertain("", &traced));
        assert!(!uncertain("-1 0x7ffd 0x7f00\n", &traced));
        assert!(!uncertain(
            "0 0x3 0x7ffd 0x1 0 0 0 0x7ffd 0x7f00\n",
            &traced
        ));
        assert!(uncertain(
            &format!("{unshare} 0x0 0 0 0 0 0 0x7ffd 0x7f00"),
            &traced
        ));
    }
}
