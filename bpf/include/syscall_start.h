/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-thread syscall start time for the timed syscall tools (constat,
 * syscount -L), in task-local storage: freed with the task, so a thread that
 * exits inside a syscall leaks nothing, and cheaper than a tid-keyed hash.
 */
#ifndef __CONTRACE_SYSCALL_START_H
#define __CONTRACE_SYSCALL_START_H

struct syscall_start {
	u64 ts; /* bpf_ktime_get_ns() at entry; 0: nothing in flight */
	u32 nr; /* the syscall entered */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct syscall_start);
} starts SEC(".maps");

/* Notes that @task entered syscall @nr now; false when no storage could be had. */
static __always_inline bool syscall_start_record(struct task_struct *task, u32 nr)
{
	struct syscall_start *st;

	st = bpf_task_storage_get(&starts, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st)
		return false;
	st->nr = nr;
	st->ts = bpf_ktime_get_ns();
	return true;
}

/* At exit: the time since entry and the syscall entered, and the record is
 * cleared. False when the call began before we attached (or the thread moved
 * into the target mid-call). */
static __always_inline bool syscall_start_take(struct task_struct *task, u64 *elapsed, u32 *nr)
{
	struct syscall_start *st = bpf_task_storage_get(&starts, task, 0, 0);
	u64 ts;

	if (!st || !st->ts)
		return false;
	ts = st->ts;
	st->ts = 0;
	*nr = st->nr;
	*elapsed = bpf_ktime_get_ns() - ts;
	return true;
}

#endif /* __CONTRACE_SYSCALL_START_H */
