//! Test workload: moves itself into a cgroup, waits for "go" on stdin, then
//! makes exactly the syscalls it is told to, so tests know the ground truth.
//!
//! `workload [--cgroup DIR] [--resident] [--comm NAME] [--no-wait] ACTION ARGS... [ACTION ARGS...]`
//!
//! `--resident`: every page mapped at start (the binary, its libraries) is
//! faulted in and locked before the workload joins its cgroup, so that the
//! cgroup's block I/O is only what the actions do, on a cold page cache too.
//!
//! Actions:
//!   getppid N              N getppid(2) calls
//!   join DIR               move this process into cgroup DIR (mid-run)
//!   pin CPU                run on CPU CPU only (sched_setaffinity)
//!   openfail K             K openat(2) of a missing path (ENOENT)
//!   nanosleep M MS         M nanosleep(2) calls of MS milliseconds
//!   unshare FLAGS          one unshare(2) (hex or decimal flags); prints ret
//!   unshare-burst N        N unshare(0) calls
//!   setns PID NSTYPE       setns(2) into /proc/PID/ns/<NSTYPE> (net, uts, ...)
//!   clone3 FLAGS           clone3(2) with those flags; the child exits at once
//!   clone FLAGS            clone(2) with FLAGS|SIGCHLD; the child exits at once
//!   fork-call              fork(2) a child that makes one getppid, then exits
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
//!   paced N MS ROUNDS      ROUNDS times: N getppid calls, then sleep to the next MS
//!                          boundary (absolute: a steady N*1000/MS calls per second)
//!   getppid32 N            N getppid calls through int 0x80 (i386 number 64)
//!   unshare32 FLAGS        one unshare through int 0x80; prints "unshare32 RET"
//!   setns32 PID NSTYPE     setns through int 0x80 into /proc/PID/ns/NSTYPE
//!   clone32 FLAGS          clone through int 0x80 (FLAGS|SIGCHLD); the child exits
//!   clone3_32 FLAGS        clone3 through int 0x80; the child exits
//!   unshare32-burst N      N unshare(0) through int 0x80
//!   int80 NAME N           N calls of the i386 call NAME (no arguments, e.g.
//!                          getuid32) through int 0x80; prints "int80 NAME RET"
//!                          (the last call's return value or -errno)
//!   seccomp-deny NAME ERR  install a seccomp filter: NAME (native and i386)
//!                          fails with errno ERR without running
//!   pause-once             pause(2) until SIGUSR1 (returns EINTR); prints "paused"
//!   spawn-into DIR CMD...  run CMD (the rest of the arguments) born in cgroup DIR
//!                          (clone3 CLONE_INTO_CGROUP: no call of it is made outside),
//!                          wait for it; prints "spawned STATUS"
//! Prints one line per action result on stdout; "ready" when in the cgroup.

use std::ffi::CString;
use std::io::{BufRead, Write};

fn die(msg: String) -> ! {
    eprintln!("workload: {msg}");
    std::process::exit(3)
}

/// Moves this process into cgroup `dir` (its path as given).
fn join_cgroup(dir: impl AsRef<std::ffi::OsStr>) {
    let dir = std::path::Path::new(dir.as_ref());
    std::fs::write(dir.join("cgroup.procs"), std::process::id().to_string())
        .unwrap_or_else(|e| die(format!("joining {}: {e}", dir.display())));
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

/// A 32-bit (i386) syscall through `int 0x80`, up to three arguments.
#[cfg(target_arch = "x86_64")]
fn int80(nr: u32, a0: u32, a1: u32, a2: u32) -> i64 {
    let ret: i32;
    // SAFETY: int 0x80 enters the kernel's 32-bit syscall path; the kernel
    // preserves every register but eax (r8-r11 declared clobbered to be
    // safe). rbx cannot be an asm operand, so a0 is swapped into it.
    unsafe {
        std::arch::asm!(
            "xchg {a0:r}, rbx",
            "int 0x80",
            "xchg {a0:r}, rbx",
            a0 = inout(reg) u64::from(a0) => _,
            inlateout("eax") nr as i32 => ret,
            in("ecx") a1,
            in("edx") a2,
            in("esi") 0u32,
            in("edi") 0u32,
            out("r8") _,
            out("r9") _,
            out("r10") _,
            out("r11") _,
        );
    }
    i64::from(ret)
}

#[cfg(not(target_arch = "x86_64"))]
fn int80(_nr: u32, _a0: u32, _a1: u32, _a2: u32) -> i64 {
    die("32-bit calls are x86_64-only here".into())
}

/// The native number of a syscall name (the `syscalls` crate, as the
/// tools' own tables).
fn native_number(name: &str) -> Option<u32> {
    name.parse::<syscalls::Sysno>().ok().map(|s| s.id() as u32)
}

/// The i386 number of a syscall name, where there is a 32-bit ABI.
fn compat_number(name: &str) -> Option<u32> {
    #[cfg(target_arch = "x86_64")]
    if let Ok(sysno) = name.parse::<syscalls::x86::Sysno>() {
        return Some(sysno.id() as u32);
    }
    let _ = name;
    None
}

/// The i386 number of a syscall name.
fn i386(name: &str) -> u32 {
    compat_number(name).unwrap_or_else(|| die(format!("no i386 {name}")))
}

/// A 32-bit clone/clone3's child leaves at once; the parent reaps it.
fn after_clone(r: i64) {
    if r == 0 {
        // SAFETY: child: leave at once without running destructors.
        unsafe { libc::_exit(0) };
    }
    if r > 0 {
        // SAFETY: reap our child.
        unsafe { libc::waitpid(r as i32, std::ptr::null_mut(), 0) };
    }
}

/// Installs a seccomp filter making `name` (native and i386 numbers) fail
/// with `err` before it runs: what docker's profile does to denied calls.
fn seccomp_deny(name: &str, err: u32) {
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;
    const RET_ALLOW: u32 = 0x7fff_0000;
    const RET_ERRNO: u32 = 0x0005_0000;
    const LD_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET: u16 = 0x06; // BPF_RET | BPF_K
    let native = native_number(name).unwrap_or_else(|| die(format!("no {name}")));
    let compat = compat_number(name).unwrap_or(u32::MAX);
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let mut filter = [
        op(LD_ABS, 0, 0, 4), // seccomp_data.arch
        op(JEQ, 0, 2, AUDIT_ARCH_X86_64),
        op(LD_ABS, 0, 0, 0), // seccomp_data.nr
        op(JEQ, 4, 3, native),
        op(JEQ, 0, 2, AUDIT_ARCH_I386),
        op(LD_ABS, 0, 0, 0),
        op(JEQ, 1, 0, compat),
        op(RET, 0, 0, RET_ALLOW),
        op(RET, 0, 0, RET_ERRNO | (err & 0xffff)),
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: prctl with a valid filter program that lives across the call.
    let ok = unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
            && libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &prog as *const libc::sock_fprog,
            ) == 0
    };
    if !ok {
        die(format!("installing the seccomp filter: errno {}", errno()));
    }
    println!("seccomp {name} {err}");
}

extern "C" fn on_sigusr1(_: libc::c_int) {}

/// clone3(2)'s arguments, up to CLONE_ARGS_SIZE_VER2 (the cgroup fd).
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
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// `spawn-into DIR CMD...`: CMD born in cgroup DIR by clone3 with
/// CLONE_INTO_CGROUP, so every call it makes is made inside (no write to
/// cgroup.procs that leaves inside but entered outside). Returns the
/// arguments used: all the rest.
fn spawn_into(dir: &str, argv: &[String]) -> usize {
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    use std::os::fd::AsRawFd;
    if argv.is_empty() {
        die("spawn-into needs a command".into());
    }
    let cg = std::fs::File::open(dir).unwrap_or_else(|e| die(format!("open {dir}: {e}")));
    let c_argv: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(a.as_str()).unwrap_or_else(|_| die("NUL in CMD".into())))
        .collect();
    let mut ptrs: Vec<*const libc::c_char> = c_argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    let ca = CloneArgs {
        flags: CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cg.as_raw_fd() as u64,
        ..CloneArgs::default()
    };
    // SAFETY: clone3 without CLONE_VM forks; the child only calls execvp
    // (argv built above) and _exit.
    let r = unsafe { libc::syscall(libc::SYS_clone3, &ca, std::mem::size_of::<CloneArgs>()) };
    if r == 0 {
        // SAFETY: NULL-terminated array of valid C strings.
        unsafe {
            libc::execvp(ptrs[0], ptrs.as_ptr());
            libc::_exit(127)
        };
    }
    if r < 0 {
        die(format!("clone3 into {dir}: errno {}", errno()));
    }
    let mut status = 0;
    // SAFETY: reap our child.
    unsafe { libc::waitpid(r as i32, &mut status, 0) };
    println!("spawned {status}");
    1 + 1 + argv.len()
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
    // Before any option: --cgroup may come first.
    if args
        .iter()
        .take_while(|a| a.starts_with("--"))
        .any(|a| a == "--resident")
    {
        // SAFETY: mlockall takes flags only.
        if unsafe { libc::mlockall(libc::MCL_CURRENT) } != 0 {
            die(format!("--resident: mlockall: errno {}", errno()));
        }
    }
    while i < args.len() && args[i].starts_with("--") {
        match args[i].as_str() {
            "--cgroup" => {
                join_cgroup(
                    raw.get(i + 1)
                        .unwrap_or_else(|| die("--cgroup needs a dir".into())),
                );
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
            "--resident" => i += 1,
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
            "join" => {
                join_cgroup(a1.unwrap_or_else(|| die("join needs a cgroup dir".into())));
                2
            }
            "pin" => {
                let cpu = num(a1, "cpu") as usize;
                if cpu >= libc::CPU_SETSIZE as usize {
                    die(format!("no CPU {cpu}"));
                }
                // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET
                // and sched_setaffinity get a pointer to it and its size.
                let ok = unsafe {
                    let mut set: libc::cpu_set_t = std::mem::zeroed();
                    libc::CPU_SET(cpu, &mut set);
                    libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
                };
                if !ok {
                    die(format!(
                        "pinning to CPU {cpu}: {}",
                        std::io::Error::last_os_error()
                    ));
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
            "spawn-into" => {
                let dir = a1.unwrap_or_else(|| die("spawn-into needs a cgroup dir".into()));
                spawn_into(dir, &args[i + 2..])
            }
            "fork-call" => {
                // SAFETY: fork without threads in this process; the child
                // only makes one syscall and calls _exit.
                let r = unsafe { libc::fork() };
                if r == 0 {
                    // SAFETY: child: one raw call, then leave at once.
                    unsafe {
                        libc::syscall(libc::SYS_getppid);
                        libc::_exit(0)
                    };
                }
                if r > 0 {
                    // SAFETY: reap our child.
                    unsafe { libc::waitpid(r, std::ptr::null_mut(), 0) };
                }
                println!("fork-call {}", raw_syscall_result(r as libc::c_long));
                1
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
            "getppid32" => {
                let nr = i386("getppid");
                for _ in 0..num(a1, "count") {
                    int80(nr, 0, 0, 0);
                }
                2
            }
            "unshare32" => {
                let r = int80(i386("unshare"), num(a1, "flags") as u32, 0, 0);
                println!("unshare32 {r}");
                2
            }
            "int80" => {
                let name = a1.unwrap_or_else(|| die("int80 needs a syscall name".into()));
                let nr = i386(name);
                let mut r = 0;
                for _ in 0..num(a2, "count") {
                    r = int80(nr, 0, 0, 0);
                }
                println!("int80 {name} {r}");
                3
            }
            "unshare32-burst" => {
                let nr = i386("unshare");
                for _ in 0..num(a1, "count") {
                    int80(nr, 0, 0, 0);
                }
                2
            }
            "setns32" => {
                let pid = num(a1, "pid");
                let ns = a2.unwrap_or_else(|| die("setns32 needs a namespace".into()));
                let file = std::fs::File::open(format!("/proc/{pid}/ns/{ns}"))
                    .unwrap_or_else(|e| die(format!("open ns: {e}")));
                use std::os::fd::AsRawFd;
                let r = int80(i386("setns"), file.as_raw_fd() as u32, 0, 0);
                println!("setns32 {r}");
                3
            }
            "clone32" => {
                let flags = num(a1, "flags") as u32 | libc::SIGCHLD as u32;
                // i386 clone(flags, newsp = 0: the same stack, as fork)
                let r = int80(i386("clone"), flags, 0, 0);
                after_clone(r);
                println!("clone32 {r}");
                2
            }
            "clone3_32" => {
                // The 32-bit call takes a 32-bit pointer: the arguments go
                // below 4 GiB.
                // SAFETY: a fresh private anonymous mapping, unmapped below.
                let page = unsafe {
                    libc::mmap(
                        std::ptr::null_mut(),
                        4096,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_32BIT,
                        -1,
                        0,
                    )
                };
                if page == libc::MAP_FAILED {
                    die(format!("mmap MAP_32BIT: errno {}", errno()));
                }
                let args = page.cast::<u64>();
                // SAFETY: the page holds 512 u64; clone_args is 8 of them
                // (flags, pidfd, child_tid, parent_tid, exit_signal, ...).
                unsafe {
                    args.write(num(a1, "flags"));
                    args.add(4).write(libc::SIGCHLD as u64);
                }
                let r = int80(i386("clone3"), page as u64 as u32, 64, 0);
                after_clone(r);
                // SAFETY: the mapping made above.
                unsafe { libc::munmap(page, 4096) };
                println!("clone3_32 {r}");
                2
            }
            "seccomp-deny" => {
                let name = a1.unwrap_or_else(|| die("seccomp-deny needs a syscall".into()));
                seccomp_deny(name, num(a2, "errno") as u32);
                3
            }
            "pause-once" => {
                // SAFETY: a handler that does nothing; pause returns EINTR.
                unsafe {
                    libc::signal(libc::SIGUSR1, on_sigusr1 as *const () as libc::sighandler_t);
                    libc::pause();
                }
                println!("paused");
                1
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
            "paced" => {
                let n = num(a1, "calls per round");
                let period = std::time::Duration::from_millis(num(a2, "milliseconds"));
                let rounds = num(args.get(i + 3), "rounds");
                let start = std::time::Instant::now();
                for round in 1..=rounds {
                    for _ in 0..n {
                        // SAFETY: getppid has no arguments and cannot fail.
                        unsafe { libc::syscall(libc::SYS_getppid) };
                    }
                    let next = start + period * round as u32;
                    std::thread::sleep(next.saturating_duration_since(std::time::Instant::now()));
                }
                4
            }
            other => die(format!("unknown action {other}")),
        };
        i += used;
    }
    println!("done");
    std::io::stdout().flush().ok();
}
