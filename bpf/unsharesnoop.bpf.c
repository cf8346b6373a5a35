// SPDX-License-Identifier: GPL-2.0
/*
 * unsharesnoop: every namespace change (unshare, setns, and clone/clone3
 * that create namespaces), one ring-buffer event per call.
 *
 * Raw syscall hooks (tp_btf/sys_enter, sys_exit): the per-syscall
 * tracepoints never fire for 32-bit calls (int 0x80), which would let a
 * process hide a namespace change. Every other syscall leaves after
 * comparing its number, a register, with the seven numbers of these calls.
 *
 * Entry stashes the arguments, the time and the caller's namespace inodes
 * per thread; exit adds the result and the inodes after the call and
 * submits one event. clone returns twice; the child's return (0) leaves at
 * once. Events that find the ring buffer full are counted in `lost`, never
 * dropped silently.
 *
 * A call stopped before sys_enter by a seccomp filter still reaches sys_exit
 * (errno in the return value, number and arguments in the registers): with
 * --all it is reported from the registers, marked denied. It is told from a
 * call that began before we attached by an in-flight scan userspace makes
 * right after attaching (`uncertain`, `armed`).
 *
 * A setns by a task outside the target into one of the target's namespaces
 * (inodes userspace keeps in `watched_ns`) is reported too, marked entering:
 * `docker exec` joins the namespaces before it joins the cgroup.
 */
#include "contrace_vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "target_filter.h"
#include "syscall_slots.h"
#include "program_sync.h"
#include "thread_state.h"
#include "unsharesnoop.h"
#include "namespace_events.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by userspace before load (and in namespace_events.h). */
/* Exit hook alone (a counting consumer such as the node exporter): the
 * event is made at the exit from the registers, which still hold the
 * arguments; ns_before then equals ns_after. One hook on every syscall
 * instead of two. */
const volatile bool exit_only = false;
u64 no_storage = 0; /* calls not traced: no per-thread storage */

/* ---- maps ------------------------------------------------------------- */

/* A call between its entry and exit: the event so far. */
struct pending {
	struct unsharesnoop_event ev;
	u32 active;
	u32 pad;
};

/* Kernels without task storage (5.10): thread id -> call in flight, deleted
 * at the call's exit (and at thread exit, for threads that die inside one). */
THREAD_STATE(pending, struct pending, 4096)

/* The call in flight is over (the hash keeps only calls in flight). */
static __always_inline void pending_done(struct pending *p)
{
	u32 tid;

	p->active = 0;
	if (task_storage)
		return;
	tid = (u32)bpf_get_current_pid_tgid();
	bpf_map_delete_elem(&pending_by_tid, &tid);
}

/* A call that never entered: denied by a seccomp filter (see the top). */
static __always_inline void report_denied(struct pt_regs *regs, struct task_struct *task,
					  int call, bool compat, long ret)
{
	/* Denied calls fail; a call that began before the scan may be anything. */
	if (!include_failed || ret >= 0 || ret < -4095 || !armed)
		return;
	if (!task_under_seccomp_filter(task))
		return; /* PTRACE_SYSEMU skips entries too: not a denial */
	report_from_regs(regs, task, call, compat, ret,
			 US_MARK_DENIED | (compat ? US_MARK_COMPAT : 0));
}

/* ---- entry and exit ---------------------------------------------------- */

SEC("tp_btf/sys_enter")
int BPF_PROG(us_enter, struct pt_regs *regs, long id)
{
	struct task_struct *task;
	struct pending *p;
	u64 a0, a1, flags, ino = 0;
	u32 marks = 0;
	bool compat;
	int call;

	/* Every syscall of the host comes here: leave on the number. */
	if (!candidate(id))
		return 0;
	task = current_task();
	compat = task_in_compat_syscall(task);
	call = call_of(id, compat);
	if (call < 0)
		return 0;
	/* A new call: whatever the thread was in when we attached is over. */
	if (armed) {
		u32 tid = (u32)bpf_get_current_pid_tgid();

		bpf_map_delete_elem(&uncertain, &tid);
	}
	call_args(regs, compat, &a0, &a1);
	flags = call_flags(call, a0, a1);
	if (!flags && call != US_CALL_UNSHARE && call != US_CALL_SETNS)
		return 0;
	if (compat)
		marks |= US_MARK_COMPAT;
	if (!task_in_target(task)) {
		if (call != US_CALL_SETNS || !watch_entering)
			return 0;
		ino = fd_inode(task, (int)a0);
		if (!watched(ino))
			return 0;
		marks |= US_MARK_ENTERING;
	} else if (call == US_CALL_SETNS) {
		ino = fd_inode(task, (int)a0);
	}
	p = pending_get(task, true);
	if (!p) {
		__sync_fetch_and_add(&no_storage, 1);
		return 0;
	}
	event_start(&p->ev, task, call, flags, marks);
	if (call == US_CALL_SETNS) {
		p->ev.fd = (int)a0;
		p->ev.target_ino = ino;
	}
	p->active = 1;
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(us_exit, struct pt_regs *regs, long ret)
{
	u64 nr = syscall_nr(regs);
	struct task_struct *task;
	struct pending *p;
	bool compat;
	int call;

	if (exit_only) {
		ns_change_at_exit(regs, nr, ret);
		return 0;
	}
	if (!candidate(nr))
		return 0;
	task = current_task();
	compat = task_in_compat_syscall(task);
	call = call_of(nr, compat);
	if (call < 0)
		return 0;
	/* A clone child returning: a new task, nothing stashed. */
	if (ret == 0 && (call == US_CALL_CLONE || call == US_CALL_CLONE3))
		return 0;
	p = pending_get(task, false);
	/* An entry of this very call (a stale one of another call, e.g. one
	 * whose exit we missed, does not count). */
	if (p && p->active && p->ev.call == (u32)call) {
		pending_done(p);
		/* A task that left the target during its call is not reported,
		 * unless it was entering it. */
		if (ret < 0 && !include_failed)
			return 0;
		if (!(p->ev.marks & US_MARK_ENTERING) && !task_in_target(task))
			return 0;
		submit(&p->ev, task, ret);
		return 0;
	}
	if (p)
		pending_done(p);
	report_denied(regs, task, call, compat, ret);
	return 0;
}

/* Threads that die inside a call leave no record behind; nor does a
 * thread id that userspace marked uncertain outlive its thread. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(us_thread_exit)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();

	if (!task_storage)
		bpf_map_delete_elem(&pending_by_tid, &tid);
	bpf_map_delete_elem(&uncertain, &tid);
	return 0;
}
