/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Namespace changes made at a syscall's exit: unshare, setns, and the
 * clone/clone3 calls that create namespaces, recognised by number (a
 * register) and reported as one unsharesnoop_event per call through the
 * ring buffer `events`.
 *
 * Shared by unsharesnoop (its own hooks, which also stash the namespaces
 * at entry) and the syscall engine, whose one sys_exit program makes these
 * events beside its counts for the node exporter (`ns_events`): every
 * syscall then pays one program run, not two. At the exit the saved
 * registers still hold the arguments of these calls.
 *
 * Needs target_filter.h (task_in_target) and unsharesnoop.h.
 */
#ifndef __CONTRACE_NAMESPACE_EVENTS_H
#define __CONTRACE_NAMESPACE_EVENTS_H

#include <bpf/bpf_core_read.h>
#include "unsharesnoop.h"

/* Set by userspace before load. */
const volatile bool include_failed = false; /* --all: failed calls too */
const volatile u32 calls_traced = 0xf;      /* bit (1 << enum unsharesnoop_call) */
const volatile bool watch_entering = false; /* setns into watched_ns from outside */
const volatile u64 wakeup_bytes = 1 << 20;  /* wake the reader at this fill */
u64 lost = 0;	    /* events that found the ring buffer full */
u64 last_wakeup_ns = 0; /* when an event last woke the reader */
u32 armed = 0;	    /* the in-flight scan is done: exits without entry may be denied */

/* Wake the reader at most this often, or when the buffer fills past
 * wakeup_bytes (a quarter of it, so small buffers are drained in time). An
 * event after a quiet spell wakes it at once; during a burst one wakeup per
 * period collects the whole batch (a wakeup per event costs the traced call
 * ~300 ns here). Events submitted without a wakeup are read by the reader's
 * timed poll. */
#define WAKEUP_PERIOD_NS 1000000ULL

/* bpf_ringbuf_query() flag (uapi enum, not in contrace_vmlinux.h). */
#define US_RB_AVAIL_DATA 0

/* uapi/linux/sched.h */
#define CLONE_NEWTIME 0x00000080ULL
#define CLONE_NEWNS 0x00020000ULL
#define CLONE_NEWCGROUP 0x02000000ULL
#define CLONE_NEWUTS 0x04000000ULL
#define CLONE_NEWIPC 0x08000000ULL
#define CLONE_NEWUSER 0x10000000ULL
#define CLONE_NEWPID 0x20000000ULL
#define CLONE_NEWNET 0x40000000ULL
/* clone(2)'s low byte is the exit signal, so CLONE_NEWTIME is clone3-only. */
#define CLONE_NEW_MASK                                                         \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |         \
	 CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

/* Syscall numbers (the architectures' stable ABI). */
#if defined(__TARGET_ARCH_x86)
#define NR_UNSHARE 272
#define NR_SETNS 308
#define NR_CLONE 56
#define NR_CLONE3 435
/* i386, for 32-bit calls */
#define NR32_UNSHARE 310
#define NR32_SETNS 346
#define NR32_CLONE 120
#define NR32_CLONE3 435
#elif defined(__TARGET_ARCH_arm64)
#define NR_UNSHARE 97
#define NR_SETNS 268
#define NR_CLONE 220
#define NR_CLONE3 435
/* 32-bit calls are not told apart on arm64 (current_task.h): never matched. */
#define NR32_UNSHARE NR_UNSHARE
#define NR32_SETNS NR_SETNS
#define NR32_CLONE NR_CLONE
#define NR32_CLONE3 NR_CLONE3
#else
#error "unsharesnoop reads syscall numbers and arguments from pt_regs: x86 and arm64 only"
#endif

/* Namespace inodes of the target's tasks (userspace keeps them current). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, u8);
} watched_ns SEC(".maps");

/* Threads that may have been inside one of these calls when we attached
 * (userspace's scan): their next exit without an entry is not called denied. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, u32);
	__type(value, u8);
} uncertain SEC(".maps");

/* Size set by userspace (--buffer-pages) before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps");

/* Never used: makes the skeleton generate the event type for userspace. */
struct unsharesnoop_event unused_event = {};

/* finish() copies comm as two aligned u64s. */
_Static_assert(UNSHARESNOOP_COMM_LEN == 16, "comm is copied as 16 bytes");
_Static_assert(__builtin_offsetof(struct unsharesnoop_event, comm) % 8 == 0,
	       "comm is copied as aligned u64s");

/* ---- reading the caller ----------------------------------------------- */

/* Fills @ns with @task's namespace inodes (0 where a pointer is NULL, e.g.
 * an exiting task without nsproxy). Plain loads through BTF pointers,
 * except the active pid namespace, which sits at a run-time index. */
static __always_inline void read_ns(struct task_struct *task, u32 *ns)
{
	struct nsproxy *nsp = KREAD(task, nsproxy);
	struct pid *pid = KREAD(task, thread_pid);
	struct upid upid = {};

	if (nsp) {
		ns[US_NS_MNT] = KREAD(nsp, mnt_ns, ns.inum);
		ns[US_NS_NET] = KREAD(nsp, net_ns, ns.inum);
		ns[US_NS_UTS] = KREAD(nsp, uts_ns, ns.inum);
		ns[US_NS_IPC] = KREAD(nsp, ipc_ns, ns.inum);
		ns[US_NS_CGROUP] = KREAD(nsp, cgroup_ns, ns.inum);
		ns[US_NS_TIME] = KREAD(nsp, time_ns, ns.inum);
		ns[US_NS_PID_FOR_CHILDREN] = KREAD(nsp, pid_ns_for_children, ns.inum);
		if (bpf_core_field_exists(nsp->time_ns_for_children))
			ns[US_NS_TIME_FOR_CHILDREN] = KREAD(nsp, time_ns_for_children, ns.inum);
	}
	ns[US_NS_USER] = KREAD(task, real_cred, user_ns, ns.inum);
	if (pid) {
		bpf_probe_read_kernel(&upid, sizeof(upid), &pid->numbers[KREAD(pid, level)]);
		ns[US_NS_PID] = BPF_CORE_READ(upid.ns, ns.inum);
	}
}

/* Inode of the file behind the caller's @fd (a /proc/<pid>/ns/<type> file
 * names its namespace by that inode), or 0. */
static __always_inline u64 fd_inode(struct task_struct *task, int fd)
{
	struct fdtable *fdt = KREAD(task, files, fdt);
	struct file *file = NULL;
	struct file **fds;

	if (fd < 0 || !fdt || (unsigned int)fd >= KREAD(fdt, max_fds))
		return 0;
	fds = KREAD(fdt, fd);
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	if (!file)
		return 0;
	return BPF_CORE_READ(file, f_inode, i_ino);
}

/* A setns target the target's namespaces include. */
static __always_inline bool watched(u64 ino)
{
	u32 key = (u32)ino;

	return ino && ino == key && bpf_map_lookup_elem(&watched_ns, &key);
}

/* ---- which call, with which arguments --------------------------------- */

/* Could @nr be one of the calls traced, in either ABI? Registers only. */
static __always_inline bool candidate(u64 nr)
{
	switch (nr) {
	case NR_UNSHARE:
	case NR_SETNS:
	case NR_CLONE:
	case NR_CLONE3:
	case NR32_UNSHARE:
	case NR32_SETNS:
	case NR32_CLONE:
		return true;
	default:
		return false;
	}
}

/* enum unsharesnoop_call of @nr in the ABI of the call (@compat), or -1. */
static __always_inline int call_of(u64 nr, bool compat)
{
	int call = -1;

	if (compat) {
		if (nr == NR32_UNSHARE)
			call = US_CALL_UNSHARE;
		else if (nr == NR32_SETNS)
			call = US_CALL_SETNS;
		else if (nr == NR32_CLONE)
			call = US_CALL_CLONE;
		else if (nr == NR32_CLONE3)
			call = US_CALL_CLONE3;
	} else {
		if (nr == NR_UNSHARE)
			call = US_CALL_UNSHARE;
		else if (nr == NR_SETNS)
			call = US_CALL_SETNS;
		else if (nr == NR_CLONE)
			call = US_CALL_CLONE;
		else if (nr == NR_CLONE3)
			call = US_CALL_CLONE3;
	}
	/* --calls clone covers clone3: one bit for both. */
	if (call >= 0 && !(calls_traced & (1 << (call == US_CALL_CLONE3 ? US_CALL_CLONE : call))))
		return -1;
	return call;
}

/* The first two arguments of the call being made, from the saved registers
 * (still intact at exit for these calls). */
static __always_inline void call_args(struct pt_regs *regs, bool compat, u64 *a0, u64 *a1)
{
#if defined(__TARGET_ARCH_x86)
	if (compat) {
		*a0 = (u32)regs->bx;
		*a1 = (u32)regs->cx;
		return;
	}
	*a0 = regs->di;
	*a1 = regs->si;
#else
	*a0 = regs->orig_x0; /* x0 holds the return value by now */
	*a1 = regs->regs[1];
#endif
}

/* The flags of a call: for setns the nstype; 0 when a clone creates no
 * namespace (not traced). */
static __always_inline u64 call_flags(int call, u64 a0, u64 a1)
{
	u64 flags = 0;

	switch (call) {
	case US_CALL_UNSHARE:
		return a0;
	case US_CALL_SETNS:
		return (u32)a1;
	case US_CALL_CLONE:
		return a0 & CLONE_NEW_MASK ? a0 : 0;
	default:
		/* clone3(uargs, size): a size below the first version is refused
		 * by the kernel (EINVAL); a failed read leaves flags 0. */
		if (a1 < sizeof(u64))
			return 0;
		bpf_probe_read_user(&flags, sizeof(flags), &((struct clone_args *)a0)->flags);
		return flags & (CLONE_NEW_MASK | CLONE_NEWTIME) ? flags : 0;
	}
}

/* ---- events ------------------------------------------------------------ */

/* Fills the parts of an event known at entry. */
static __always_inline void event_start(struct unsharesnoop_event *ev, struct task_struct *task,
					int call, u64 flags, u32 marks)
{
	ev->ts_ns = bpf_ktime_get_ns();
	ev->call = call;
	ev->flags = flags;
	ev->marks = marks;
	ev->pid = KREAD(task, tgid);
	ev->tid = KREAD(task, pid);
	ev->cgroup_id = task_cgroup_id(task);
	ev->target_ino = 0;
	ev->fd = -1;
	read_ns(task, ev->ns_before);
}

/* Submits @from (completed with @ret, the namespaces now and comm). */
static __always_inline void submit(struct unsharesnoop_event *from, struct task_struct *task,
				   long ret)
{
	struct unsharesnoop_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost, 1);
		return;
	}
	__builtin_memcpy(e, from, sizeof(*e));
	e->ret = ret;
	__builtin_memset(e->ns_after, 0, sizeof(e->ns_after));
	read_ns(task, e->ns_after);
	if (SETTING(task_btf)) {
		/* Two loads through the BTF pointer instead of a helper call. The
		 * kernel keeps comm NUL-terminated. */
		u64 *comm = (u64 *)e->comm;

		comm[0] = *(u64 *)&task->comm[0];
		comm[1] = *(u64 *)&task->comm[8];
	} else {
		bpf_get_current_comm(e->comm, sizeof(e->comm));
	}
	/* Racy across CPUs on purpose: an extra or a skipped wakeup is harmless. */
	if ((s64)(e->ts_ns - last_wakeup_ns) >= (s64)WAKEUP_PERIOD_NS) {
		last_wakeup_ns = e->ts_ns;
		bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	} else if (bpf_ringbuf_query(&events, US_RB_AVAIL_DATA) >= wakeup_bytes) {
		bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	} else {
		bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	}
}

/* An event made at the exit from the saved registers, which still hold the
 * arguments: for a call whose entry was not stashed (a denied call), or for
 * every call in exit_only mode. @marks: US_MARK_DENIED and/or COMPAT. */
static __always_inline void report_from_regs(struct pt_regs *regs, struct task_struct *task,
					     int call, bool compat, long ret, u32 marks)
{
	struct unsharesnoop_event ev = {};
	u64 a0, a1, flags, ino = 0;

	call_args(regs, compat, &a0, &a1);
	flags = call_flags(call, a0, a1);
	if (!flags && call != US_CALL_UNSHARE && call != US_CALL_SETNS)
		return;
	if (call == US_CALL_SETNS)
		ino = fd_inode(task, (int)a0);
	if (!task_in_target(task)) {
		if (call != US_CALL_SETNS || !watch_entering || !watched(ino))
			return;
		marks |= US_MARK_ENTERING;
	}
	/* A "denied" call may be the one the thread was in when we attached. */
	if (marks & US_MARK_DENIED) {
		u32 tid = (u32)bpf_get_current_pid_tgid();

		if (bpf_map_lookup_elem(&uncertain, &tid)) {
			bpf_map_delete_elem(&uncertain, &tid);
			return;
		}
	}
	event_start(&ev, task, call, flags, marks);
	if (call == US_CALL_SETNS) {
		ev.fd = (int)a0;
		ev.target_ino = ino;
	}
	submit(&ev, task, ret);
}

/* At the exit of call @nr (a register) returning @ret: the event of a
 * namespace change, made from the saved registers (ns_before then equals
 * ns_after: nothing was stashed at entry). Every other call leaves after a
 * few compares. */
static __always_inline void ns_change_at_exit(struct pt_regs *regs, u64 nr, long ret)
{
	struct task_struct *task;
	bool compat;
	int call;

	if (!candidate(nr))
		return;
	task = current_task();
	compat = task_in_compat_syscall(task);
	call = call_of(nr, compat);
	if (call < 0)
		return;
	/* A clone child returning: the parent's return reports the call. */
	if (ret == 0 && (call == US_CALL_CLONE || call == US_CALL_CLONE3))
		return;
	if (ret >= 0 || include_failed)
		report_from_regs(regs, task, call, compat, ret, compat ? US_MARK_COMPAT : 0);
}

#endif /* __CONTRACE_NAMESPACE_EVENTS_H */
