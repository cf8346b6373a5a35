//! Test workload: moves itself into a cgroup, waits for "go" on stdin, then
//! makes exactly the syscalls it is told to, so tests know the ground truth.
//!
//! `workload [--cgroup DIR] [--comm NAME] [--no-wait] ACTION ARGS... [ACTION ARGS...]`
//!
//! Actions:
//!   getppid N              N getppid(2) calls
//!   openfail K             K openat(2) of a missing path (ENOENT)
//!   nanosleep M MS         M nanosleep(2) calls of MS milliseconds
//!   unshare FLAGS          one unshare(2) (hex or decimal flags); prints ret
//!   unshare-burst N        N unshare(0) calls
//!   setns PID NSTYPE       setns(2) into /proc/PID/ns/<NSTYPE> (net, uts, ...)
//!   clone3 FLAGS           clone3(2) with those flags; the child exits at once
//!   clone FLAGS            clone(2) with FLAGS|SIGCHLD; the child exits at once
//!   bench-unshare N        N unshare(0) calls, prints ns_per_call
//!   write-direct PATH B    O_DIRECT write of B bytes (multiple of 4096)
//!   read-direct PATH B     O_DIRECT read of B bytes
//!   write-buffered PATH B  buffered write of B bytes, no fsync
//!   fsync PATH             fsync(2) of PATH
//!   setuid UID             drop privileges to UID (for EPERM tests)
//!   threads N              N short-lived threads, one after another
//!   bench-getppid N        N getppid calls, prints ns_per_call
//!   sleep MS               sleep (no syscalls counted on purpose: nanosleep)
//!   pause                  block until killed
//!   rename NAME            set this thread's comm (prctl PR_SET_NAME)
//!   distinct N K           the first N (at most 32) of DISTINCT_SYSCALLS, K times each
//!   rename-hex HEX         like rename, with the name's bytes in hex (need not be UTF-8)
//! Prints one line per action result on stdout; "ready" when in the cgroup.

use std::ffi::CString;
use std::io::{BufRead, Write};

fn die(msg: String) -> ! {
    eprintln!("workload: {msg}");
    std::process::exit(3)
}

fn num(text: Option<&String>, what: &str) -> u64 {
    let text = text.unwrap_or_else(|| die(format!("missing {what}")));
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.unwrap_or_else(|_| die(format!("bad {what}: {text}")))
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn raw_syscall_result(ret: libc::c_long) -> i64 {
    if ret < 0 {
        -(errno() as i64)
    } else {
        ret
    }
}

/// Page-aligned buffer for O_DIRECT.
fn aligned(len: usize) -> (*mut u8, std::alloc::Layout) {
    let layout = std::alloc::Layout::from_size_align(len.max(4096), 4096).unwrap();
    // SAFETY: non-zero size layout.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        die("out of memory".into());
    }
    (ptr, layout)
}

fn direct_io(path: &str, bytes: usize, write: bool) {
    let c = CString::new(path).unwrap();
    let flags = libc::O_DIRECT
        | if write {
            libc::O_WRONLY | libc::O_CREAT
        } else {
            libc::O_RDONLY
        };
    // SAFETY: valid C string; plain open(2).
    let fd = unsafe { libc::open(c.as_ptr(), flags, 0o644) };
    if fd < 0 {
        die(format!("open {path}: errno {}", errno()));
    }
    let chunk = 1 << 20;
    let (buf, layout) = aligned(chunk);
    let mut done = 0usize;
    while done < bytes {
        let n = chunk.min(bytes - done);
        // SAFETY: buf holds `chunk` bytes, n <= chunk.
        let r = unsafe {
            if write {
                libc::pwrite(fd, buf as *const libc::c_void, n, done as i64)
            } else {
                libc::pread(fd, buf as *mut libc::c_void, n, done as i64)
            }
        };
        if r <= 0 {
            die(format!("direct io on {path}: ret {r} errno {}", errno()));
        }
        done += r as usize;
    }
    // SAFETY: allocated above with this layout; fd is ours.
    unsafe {
        std::alloc::dealloc(buf, layout);
        libc::close(fd);
    }
    println!("{} {done}", if write { "wrote" } else { "read" });
}

/// Side-effect-free syscalls the workload makes nowhere else (raw, never
/// through the vDSO), for `distinct`: tests name them with
/// `contrace_tests::DISTINCT_SYSCALL_NAMES`, in this order.
const DISTINCT_SYSCALLS: [libc::c_long; 32] = [
    libc::SYS_getppid,
    libc::SYS_getpgrp,
    libc::SYS_getsid,
    libc::SYS_getuid,
    libc::SYS_geteuid,
    libc::SYS_getgid,
    libc::SYS_getegid,
    libc::SYS_getresuid,
    libc::SYS_getresgid,
    libc::SYS_getgroups,
    libc::SYS_uname,
    libc::SYS_sysinfo,
    libc::SYS_times,
    libc::SYS_getrusage,
    libc::SYS_getpriority,
    libc::SYS_sched_getscheduler,
    libc::SYS_sched_getparam,
    libc::SYS_sched_get_priority_max,
    libc::SYS_sched_get_priority_min,
    libc::SYS_sched_rr_get_interval,
    libc::SYS_getitimer,
    libc::SYS_personality,
    libc::SYS_getcpu,
    libc::SYS_getpgid,
    libc::SYS_sched_yield,
    libc::SYS_time,
    libc::SYS_gettimeofday,
    libc::SYS_clock_getres,
    libc::SYS_getcwd,
    libc::SYS_gettid,
    libc::SYS_capget,
    libc::SYS_sched_getaffinity,
];

/// One call of `nr` with harmless arguments (out-buffers on the stack).
fn distinct_call(nr: libc::c_long) {
    let mut buf = [0u64; 128];
    let p = buf.as_mut_ptr();
    // SAFETY: every call only reads its scalar arguments and writes at most
    // sizeof(buf) bytes into `buf` (uname, sysinfo, rusage, timespec...).
    unsafe {
        match nr {
            libc::SYS_getsid | libc::SYS_getpgid | libc::SYS_sched_getscheduler => {
                libc::syscall(nr, 0)
            }
            libc::SYS_getresuid | libc::SYS_getresgid => libc::syscall(nr, p, p.add(1), p.add(2)),
            libc::SYS_getgroups => libc::syscall(nr, 0, std::ptr::null_mut::<u32>()),
            libc::SYS_uname | libc::SYS_sysinfo | libc::SYS_times => libc::syscall(nr, p),
            libc::SYS_getrusage => libc::syscall(nr, libc::RUSAGE_SELF, p),
            libc::SYS_getpriority => libc::syscall(nr, libc::PRIO_PROCESS, 0),
            libc::SYS_sched_getparam | libc::SYS_sched_rr_get_interval => libc::syscall(nr, 0, p),
            libc::SYS_sched_get_priority_max | libc::SYS_sched_get_priority_min => {
                libc::syscall(nr, libc::SCHED_OTHER)
            }
            libc::SYS_getitimer => libc::syscall(nr, libc::ITIMER_REAL, p),
            libc::SYS_personality => libc::syscall(nr, 0xffff_ffffu32 as libc::c_long),
            libc::SYS_getcpu => libc::syscall(nr, p, p.add(1), std::ptr::null_mut::<u8>()),
            libc::SYS_time => libc::syscall(nr, std::ptr::null_mut::<u8>()),
            libc::SYS_gettimeofday => libc::syscall(nr, p, std::ptr::null_mut::<u8>()),
            libc::SYS_clock_getres => libc::syscall(nr, libc::CLOCK_MONOTONIC, p),
            libc::SYS_getcwd => libc::syscall(nr, p, 1024),
            libc::SYS_capget => {
                p.write(0x2008_0522); // _LINUX_CAPABILITY_VERSION_3, pid 0
                libc::syscall(nr, p, p.add(2))
            }
            libc::SYS_sched_getaffinity => libc::syscall(nr, 0, 128, p),
            _ => libc::syscall(nr),
        }
    };
}

fn main() {
    // Bytes first: a --cgroup directory need not be UTF-8.
    let raw: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let args: Vec<String> = raw
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut i = 0;
    let mut wait = true;
    while i < args.len() && args[i].starts_with("--") {
        match args[i].as_str() {
            "--cgroup" => {
                let dir = std::path::Path::new(
                    raw.get(i + 1)
                        .unwrap_or_else(|| die("--cgroup needs a dir".into())),
                );
                std::fs::write(dir.join("cgroup.procs"), std::process::id().to_string())
                    .unwrap_or_else(|e| die(format!("joining {}: {e}", dir.display())));
                i += 2;
            }
            "--comm" => {
                let name = args
                    .get(i + 1)
                    .unwrap_or_else(|| die("--comm needs a name".into()));
                let mut bytes = name.as_bytes().to_vec();
                bytes.truncate(15);
                bytes.push(0);
                // SAFETY: NUL-terminated buffer of at most 16 bytes.
                unsafe { libc::prctl(libc::PR_SET_NAME, bytes.as_ptr()) };
                i += 2;
            }
            "--no-wait" => {
                wait = false;
                i += 1;
            }
            other => die(format!("unknown option {other}")),
        }
    }
    println!("ready {}", std::process::id());
    std::io::stdout().flush().ok();
    if wait {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).ok();
    }
    while i < args.len() {
        let action = args[i].as_str();
        let a1 = args.get(i + 1);
        let a2 = args.get(i + 2);
        let used = match action {
            "getppid" => {
                for _ in 0..num(a1, "count") {
                    // SAFETY: getppid has no arguments and cannot fail.
                    unsafe { libc::syscall(libc::SYS_getppid) };
                }
                2
            }
            "openfail" => {
                let path = CString::new("/nonexistent/contrace-workload").unwrap();
                for _ in 0..num(a1, "count") {
                    // SAFETY: valid C string.
                    unsafe {
                        libc::syscall(
                            libc::SYS_openat,
                            libc::AT_FDCWD,
                            path.as_ptr(),
                            libc::O_RDONLY,
                        )
                    };
                }
                2
            }
            "nanosleep" => {
                let ms = num(a2, "milliseconds");
                let ts = libc::timespec {
                    tv_sec: (ms / 1000) as i64,
                    tv_nsec: ((ms % 1000) * 1_000_000) as i64,
                };
                for _ in 0..num(a1, "count") {
                    // SAFETY: valid timespec; null remainder.
                    unsafe {
                        libc::syscall(
                            libc::SYS_nanosleep,
                            &ts,
                            std::ptr::null_mut::<libc::timespec>(),
                        )
                    };
                }
                3
            }
            "unshare" => {
                // SAFETY: unshare with caller-chosen flags affects only us.
                let r =
                    unsafe { libc::syscall(libc::SYS_unshare, num(a1, "flags") as libc::c_ulong) };
                println!("unshare {}", raw_syscall_result(r));
                2
            }
            "unshare-burst" => {
                for _ in 0..num(a1, "count") {
                    // SAFETY: unshare(0) changes nothing.
                    unsafe { libc::syscall(libc::SYS_unshare, 0) };
                }
                2
            }
            "setns" => {
                let pid = num(a1, "pid");
                let ns = a2.unwrap_or_else(|| die("setns needs a namespace".into()));
                let file = std::fs::File::open(format!("/proc/{pid}/ns/{ns}"))
                    .unwrap_or_else(|e| die(format!("open ns: {e}")));
                use std::os::fd::AsRawFd;
                // SAFETY: fd is a namespace file we opened.
                let r = unsafe { libc::syscall(libc::SYS_setns, file.as_raw_fd(), 0) };
                println!("setns {}", raw_syscall_result(r));
                3
            }
            "clone3" => {
                #[repr(C)]
                #[derive(Default)]
                struct CloneArgs {
                    flags: u64,
                    pidfd: u64,
                    child_tid: u64,
                    parent_tid: u64,
                    exit_signal: u64,
                    stack: u64,
                    stack_size: u64,
                    tls: u64,
                }
                let ca = CloneArgs {
                    flags: num(a1, "flags"),
                    exit_signal: libc::SIGCHLD as u64,
                    ..Default::default()
                };
                // SAFETY: clone3 without CLONE_VM forks; the child only calls _exit.
                let r = unsafe {
                    libc::syscall(libc::SYS_clone3, &ca, std::mem::size_of::<CloneArgs>())
                };
                if r == 0 {
                    // SAFETY: child: leave at once without running destructors.
                    unsafe { libc::_exit(0) };
                }
                if r > 0 {
                    // SAFETY: reap our child.
                    unsafe { libc::waitpid(r as i32, std::ptr::null_mut(), 0) };
                }
                println!("clone3 {}", raw_syscall_result(r));
                2
            }
            "clone" => {
                let flags = num(a1, "flags") | libc::SIGCHLD as u64;
                // SAFETY: clone(2) without CLONE_VM and a NULL stack forks; the
                // child only calls _exit.
                let r = unsafe {
                    libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize)
                };
                if r == 0 {
                    // SAFETY: child: leave at once without running destructors.
                    unsafe { libc::_exit(0) };
                }
                if r > 0 {
                    // SAFETY: reap our child.
                    unsafe { libc::waitpid(r as i32, std::ptr::null_mut(), 0) };
                }
                println!("clone {}", raw_syscall_result(r));
                2
            }
            "bench-unshare" => {
                let n = num(a1, "count");
                let start = std::time::Instant::now();
                for _ in 0..n {
                    // SAFETY: unshare(0) changes nothing.
                    unsafe { libc::syscall(libc::SYS_unshare, 0) };
                }
                println!(
                    "ns_per_call {:.1}",
                    start.elapsed().as_nanos() as f64 / n as f64
                );
                2
            }
            "write-direct" | "read-direct" => {
                let path = a1.unwrap_or_else(|| die("needs a path".into()));
                direct_io(path, num(a2, "bytes") as usize, action == "write-direct");
                3
            }
            "write-buffered" => {
                let path = a1.unwrap_or_else(|| die("needs a path".into()));
                let data = vec![0x5au8; num(a2, "bytes") as usize];
                std::fs::write(path, &data).unwrap_or_else(|e| die(format!("write {path}: {e}")));
                println!("wrote {}", data.len());
                3
            }
            "fsync" => {
                let path = a1.unwrap_or_else(|| die("needs a path".into()));
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .unwrap_or_else(|e| die(format!("{e}")));
                f.sync_all().unwrap_or_else(|e| die(format!("fsync: {e}")));
                println!("synced");
                2
            }
            "setuid" => {
                let uid = num(a1, "uid") as libc::uid_t;
                // SAFETY: dropping privileges of this process only.
                unsafe {
                    libc::setgroups(0, std::ptr::null());
                    libc::setgid(uid);
                    libc::setuid(uid);
                }
                2
            }
            "threads" => {
                for _ in 0..num(a1, "count") {
                    std::thread::spawn(|| {
                        // SAFETY: no arguments.
                        unsafe { libc::syscall(libc::SYS_getppid) };
                    })
                    .join()
                    .ok();
                }
                2
            }
            "bench-getppid" => {
                let n = num(a1, "count");
                let start = std::time::Instant::now();
                for _ in 0..n {
                    // SAFETY: no arguments.
                    unsafe { libc::syscall(libc::SYS_getppid) };
                }
                println!(
                    "ns_per_call {:.1}",
                    start.elapsed().as_nanos() as f64 / n as f64
                );
                2
            }
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_millis(num(a1, "milliseconds")));
                2
            }
            "rename" => {
                // Like --comm, but after "go": a rename the tracer sees.
                let mut name = a1
                    .unwrap_or_else(|| die("rename needs a name".into()))
                    .as_bytes()
                    .to_vec();
                name.truncate(15);
                name.push(0);
                // SAFETY: NUL-terminated buffer of at most 16 bytes.
                unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
                2
            }
            "pause" => loop {
                // SAFETY: pause blocks until a signal.
                unsafe { libc::pause() };
            },
            "distinct" => {
                let n = num(a1, "syscalls") as usize;
                let k = num(a2, "count");
                if n > DISTINCT_SYSCALLS.len() {
                    die(format!("distinct: at most {}", DISTINCT_SYSCALLS.len()));
                }
                for _ in 0..k {
                    for &nr in &DISTINCT_SYSCALLS[..n] {
                        distinct_call(nr);
                    }
                }
                3
            }
            "rename-hex" => {
                let hex = a1.unwrap_or_else(|| die("rename-hex needs hex bytes".into()));
                let mut name: Vec<u8> = (0..hex.len() / 2)
                    .map(|i| {
                        u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                            .unwrap_or_else(|_| die(format!("bad hex {hex}")))
                    })
                    .collect();
                name.truncate(15);
                name.push(0);
                // SAFETY: NUL-terminated buffer of at most 16 bytes.
                unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
                2
            }
            other => die(format!("unknown action {other}")),
        };
        i += used;
    }
    println!("done");
    std::io::stdout().flush().ok();
}
