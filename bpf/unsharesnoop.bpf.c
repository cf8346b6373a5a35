// SPDX-License-Identifier: GPL-2.0
/*
 * unsharesnoop: every namespace change (unshare, setns, and clone/clone3
 * that create namespaces), one ring-buffer event per call.
 *
 * Per-syscall tracepoints, so only these calls pay. Entry stashes the
 * arguments, the time and the caller's namespace inodes in task-local
 * storage; exit adds the result and the inodes after the call and submits
 * one event. clone returns twice; the child's return (0, in a new task with
 * nothing stashed) leaves at once. Every clone on the host reaches the exit
 * programs, so they filter with plain loads before any helper call.
 * Events that find the ring buffer full are counted in `lost`, never dropped
 * silently.
 */
#include "contrace_vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "target_filter.h"
#include "program_sync.h"
#include "syscall_tp_vmlinux.h"
#include "unsharesnoop.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by userspace before load. */
const volatile bool include_failed = false; /* --all: failed calls too */
const volatile u64 wakeup_bytes = 1 << 20;  /* wake the reader at this fill */
u64 lost = 0;	    /* events that found the ring buffer full */
u64 no_storage = 0; /* calls not traced: task storage unavailable */
u64 last_wakeup_ns = 0; /* when an event last woke the reader */

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

/* ---- maps ------------------------------------------------------------- */

/* A call between its entry and exit: the event so far. */
struct pending {
	struct unsharesnoop_event ev;
	u32 active;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pending);
} pending SEC(".maps");

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
	struct nsproxy *nsp = task->nsproxy;
	struct pid *pid = task->thread_pid;
	struct upid upid = {};

	if (nsp) {
		ns[US_NS_MNT] = nsp->mnt_ns->ns.inum;
		ns[US_NS_NET] = nsp->net_ns->ns.inum;
		ns[US_NS_UTS] = nsp->uts_ns->ns.inum;
		ns[US_NS_IPC] = nsp->ipc_ns->ns.inum;
		ns[US_NS_CGROUP] = nsp->cgroup_ns->ns.inum;
		ns[US_NS_TIME] = nsp->time_ns->ns.inum;
		ns[US_NS_PID_FOR_CHILDREN] = nsp->pid_ns_for_children->ns.inum;
		if (bpf_core_field_exists(nsp->time_ns_for_children))
			ns[US_NS_TIME_FOR_CHILDREN] = nsp->time_ns_for_children->ns.inum;
	}
	ns[US_NS_USER] = task->real_cred->user_ns->ns.inum;
	if (pid) {
		bpf_probe_read_kernel(&upid, sizeof(upid), &pid->numbers[pid->level]);
		ns[US_NS_PID] = BPF_CORE_READ(upid.ns, ns.inum);
	}
}

/* Inode of the file behind the caller's @fd (a /proc/<pid>/ns/<type> file
 * names its namespace by that inode), or 0. */
static __always_inline u64 fd_inode(struct task_struct *task, int fd)
{
	struct fdtable *fdt = task->files->fdt;
	struct file *file = NULL;

	if (fd < 0 || !fdt || (unsigned int)fd >= fdt->max_fds)
		return 0;
	bpf_probe_read_kernel(&file, sizeof(file), &fdt->fd[fd]);
	if (!file)
		return 0;
	return BPF_CORE_READ(file, f_inode, i_ino);
}

/* ---- entry and exit ---------------------------------------------------- */

/* Starts tracking a call of @task; NULL when it is filtered out. */
static __always_inline struct pending *begin(struct task_struct *task, u32 call, u64 flags)
{
	struct pending *p;

	if (!task_in_target(task))
		return NULL;
	p = bpf_task_storage_get(&pending, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!p) {
		__sync_fetch_and_add(&no_storage, 1);
		return NULL;
	}
	p->ev.ts_ns = bpf_ktime_get_ns();
	p->ev.call = call;
	p->ev.flags = flags;
	p->ev.pid = task->tgid;
	p->ev.tid = task->pid;
	p->ev.cgroup_id = task_cgroup_id(task);
	p->ev.target_ino = 0;
	p->ev.fd = -1;
	read_ns(task, p->ev.ns_before);
	p->active = 1;
	return p;
}

/* Finishes the call in flight (if any) and submits its event. @clone: the
 * exit of clone/clone3, which also returns (0) in the new child. */
static __always_inline void finish(long ret, bool clone)
{
	struct task_struct *task;
	struct unsharesnoop_event *e;
	struct pending *p;
	u64 *comm;

	/* A clone child returning: a new task, nothing stashed. */
	if (clone && ret == 0)
		return;
	task = bpf_get_current_task_btf();
	/* The entry's filters again, plain loads before the storage lookup (a
	 * helper call). A task moved out of the target during its call keeps
	 * its stash active until its next traced entry rewrites it. */
	if (!task_in_target(task))
		return;
	p = bpf_task_storage_get(&pending, task, 0, 0);
	/* No entry: the call began before we attached (or created no
	 * namespace, for clone). */
	if (!p || !p->active)
		return;
	p->active = 0;
	if (ret < 0 && !include_failed)
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost, 1);
		return;
	}
	__builtin_memcpy(e, &p->ev, sizeof(*e));
	e->ret = ret;
	__builtin_memset(e->ns_after, 0, sizeof(e->ns_after));
	read_ns(task, e->ns_after);
	/* Two loads through the BTF pointer instead of bpf_get_current_comm()
	 * (a helper call). The kernel keeps comm NUL-terminated. */
	comm = (u64 *)e->comm;
	comm[0] = *(u64 *)&task->comm[0];
	comm[1] = *(u64 *)&task->comm[8];
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

SEC("tracepoint/syscalls/sys_enter_unshare")
int unshare_enter(struct syscall_tp_enter_unshare *ctx)
{
	begin(bpf_get_current_task_btf(), US_CALL_UNSHARE, ctx->unshare_flags);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_unshare")
int unshare_exit(struct syscall_tp_exit *ctx)
{
	finish(ctx->ret, false);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_setns")
int setns_enter(struct syscall_tp_enter_setns *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	int fd = (int)ctx->fd;
	struct pending *p;

	p = begin(task, US_CALL_SETNS, (u32)ctx->nstype);
	if (!p)
		return 0;
	p->ev.fd = fd;
	p->ev.target_ino = fd_inode(task, fd);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_setns")
int setns_exit(struct syscall_tp_exit *ctx)
{
	finish(ctx->ret, false);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_clone")
int clone_enter(struct syscall_tp_enter_clone *ctx)
{
	u64 flags = ctx->clone_flags;

	if (flags & CLONE_NEW_MASK)
		begin(bpf_get_current_task_btf(), US_CALL_CLONE, flags);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_clone")
int clone_exit(struct syscall_tp_exit *ctx)
{
	finish(ctx->ret, true);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_clone3")
int clone3_enter(struct syscall_tp_enter_clone3 *ctx)
{
	struct clone_args *uargs = (void *)ctx->uargs;
	u64 flags = 0;

	/* A size below the first version is refused by the kernel (EINVAL);
	 * a failed read leaves flags 0 and the call untraced. */
	if (ctx->size < sizeof(u64))
		return 0;
	bpf_probe_read_user(&flags, sizeof(flags), &uargs->flags);
	if (flags & (CLONE_NEW_MASK | CLONE_NEWTIME))
		begin(bpf_get_current_task_btf(), US_CALL_CLONE3, flags);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_clone3")
int clone3_exit(struct syscall_tp_exit *ctx)
{
	finish(ctx->ret, true);
	return 0;
}
