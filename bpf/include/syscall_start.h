/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-thread syscall state for the tools with an entry hook (constat,
 * syscount -L/--histogram/--denied): the call in flight (its counter slot
 * and start time), and whether this thread's entries have been seen since
 * the tool attached, which is what tells a call denied before sys_enter
 * (by seccomp) from one that was already running when we attached.
 *
 * Kept per thread (thread_state.h: task storage, or a thread-id hash).
 *
 * Needs current_task.h and aggregate.h (`dropped`).
 */
#ifndef __CONTRACE_SYSCALL_START_H
#define __CONTRACE_SYSCALL_START_H

#include "thread_state.h"

/* The thread's cgroup and its counter index, as last seen (the engine's
 * per-cgroup slot arrays): kept beside the call in flight, so an exit
 * fetches one per-thread record, not two. */
struct task_cgroup {
	u64 cgroup_id;
	u32 index;
	u32 pad;
};

struct syscall_start {
	u64 ts;	  /* bpf_ktime_get_ns() at entry (1 when not timed); 0: none in flight */
	u32 slot; /* counter slot of the call entered */
	u32 pad;
	struct task_cgroup cg;
};

THREAD_STATE(starts, struct syscall_start, 32768)

/* Notes that @task entered the call counted in @slot now (with the time when
 * @timed); false when no state could be had. */
static __always_inline bool syscall_start_record(struct task_struct *task, u32 slot, bool timed)
{
	struct syscall_start *st = starts_get(task, true);

	if (!st)
		return false;
	st->slot = slot;
	st->ts = timed ? bpf_ktime_get_ns() : 1;
	return true;
}

/* What an exit learns about its call. */
enum syscall_exit_kind {
	/* This thread's entries were not watched before this exit: the call
	 * may have begun before we attached (or this is a new thread's return
	 * from fork). Not counted; from now on the thread is watched. */
	EXIT_UNKNOWN = 0,
	/* The call's entry was seen: slot and elapsed time are known. */
	EXIT_ENTERED = 1,
	/* A watched thread left a call whose entry never fired: the call was
	 * stopped before sys_enter (denied by seccomp). */
	EXIT_SKIPPED = 2,
};

/* At exit of the call counted in @slot (the registers' number; or
 * @any_slot when it cannot be told, e.g. after rt_sigreturn): clears the
 * call in flight and classifies the exit. For EXIT_ENTERED, *@slot and
 * *@elapsed are the entry's. */
static __always_inline enum syscall_exit_kind syscall_start_take(struct task_struct *task,
								 u32 *slot, bool any_slot,
								 u64 *elapsed,
								 struct task_cgroup **cg)
{
	struct syscall_start *st = starts_get(task, false);
	u64 ts;

	if (!st) {
		/* The thread is watched from here on: its next entry is seen. */
		if (!starts_get(task, true))
			__sync_fetch_and_add(&dropped, 1);
		return EXIT_UNKNOWN;
	}
	*cg = &st->cg;
	ts = st->ts;
	st->ts = 0;
	/* A record of another call is stale (its exit was not counted, e.g.
	 * rt_sigreturn's): this call had no entry. */
	if (ts && (any_slot || st->slot == *slot)) {
		*slot = st->slot;
		*elapsed = ts > 1 ? bpf_ktime_get_ns() - ts : 0;
		return EXIT_ENTERED;
	}
	return EXIT_SKIPPED;
}

/* Kernels without task storage: a thread's record goes with the thread. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(syscall_start_cleanup)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&starts_by_tid, &tid);
	return 0;
}

#endif /* __CONTRACE_SYSCALL_START_H */
