/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-thread state carried from a syscall's entry to its exit, for every
 * tool with an entry hook (constat, syscount -L/--histogram/--denied,
 * unsharesnoop).
 *
 * Kept in task-local storage (5.11+): freed with the task, so a thread that
 * exits inside a syscall leaks nothing, and cheaper than a hash. Kernels
 * without it (5.10) use a preallocated hash keyed by thread id instead
 * (no allocation in the syscall path), emptied by the tool's
 * sched_process_exit hook. Userspace probes which one exists, sets
 * `task_storage` in .rodata, creates only that map (the other's references
 * are poisoned by libbpf and pruned by the verifier) and loads the cleanup
 * hook only with the hash (common::kernel).
 *
 * THREAD_STATE(name, type, hash_entries) declares the maps `name` (task
 * storage) and `name_by_tid` (the hash), and
 * `type *name_get(struct task_struct *task, bool create)`: the current
 * task's state, created (zeroed) when @create; NULL when absent or no room.
 */
#ifndef __CONTRACE_THREAD_STATE_H
#define __CONTRACE_THREAD_STATE_H

#include "settings.h"

const volatile bool task_storage = true; /* BPF_MAP_TYPE_TASK_STORAGE exists */

#define THREAD_STATE(name, value_type, hash_entries)                                  \
	struct {                                                                      \
		__uint(type, BPF_MAP_TYPE_TASK_STORAGE);                              \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                 \
		__type(key, int);                                                     \
		__type(value, value_type);                                            \
	} name SEC(".maps");                                                          \
                                                                                      \
	struct {                                                                      \
		__uint(type, BPF_MAP_TYPE_HASH);                                      \
		__uint(max_entries, hash_entries);                                    \
		__type(key, u32);                                                     \
		__type(value, value_type);                                            \
	} name##_by_tid SEC(".maps");                                                 \
                                                                                      \
	static const value_type name##_none = {};                                     \
                                                                                      \
	static __always_inline value_type *name##_get(struct task_struct *task,       \
						      bool create)                    \
	{                                                                             \
		u32 tid;                                                              \
		value_type *st;                                                       \
                                                                                      \
		if (SETTING(task_storage))                                            \
			return bpf_task_storage_get(&name, task, 0,                   \
						    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0); \
		tid = (u32)bpf_get_current_pid_tgid();                                \
		st = bpf_map_lookup_elem(&name##_by_tid, &tid);                       \
		if (st || !create)                                                    \
			return st;                                                    \
		bpf_map_update_elem(&name##_by_tid, &tid, &name##_none, BPF_NOEXIST); \
		return bpf_map_lookup_elem(&name##_by_tid, &tid);                     \
	}

#endif /* __CONTRACE_THREAD_STATE_H */
