// SPDX-License-Identifier: GPL-2.0
/*
 * constat: per-container syscall statistics, aggregated in the kernel.
 *
 * sys_enter stores the start time in task-local storage (no leak when a thread
 * exits mid-syscall, cheaper than a tid-keyed hash); sys_exit adds count,
 * errors, elapsed and max into per-CPU slots.
 *
 * Two modes, chosen in .rodata before load (the verifier prunes the other):
 *  - one target cgroup: an mmap'd array of [cpu][epoch][nr] slots (CPU id
 *    and lookup inlined);
 *  - every cgroup: per-CPU hash keyed by (cgroup id, nr).
 *
 * Interval reports lose nothing: see aggregate.h.
 */
#include "contrace_vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "target_filter.h"
#include "aggregate.h"
#include "constat.h"

char LICENSE[] SEC("license") = "GPL";

const volatile bool per_cgroup = false; /* key by (cgroup, nr) */
const volatile u32 nr_exit = 60;        /* syscalls that never return: */
const volatile u32 nr_exit_group = 231; /* counted at entry */

#include "syscall_start.h"

/* One target: [cpu][epoch][nr] (aggregate.h), mmap'd by userspace so a
 * drain makes no per-slot syscall. Declared for one CPU: userspace derives
 * the slot count from this size and sizes it for every possible CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2 * CONSTAT_NR_SLOTS);
	__type(key, u32);
	__type(value, struct constat_stats);
} stats SEC(".maps");

#define CG_STATS_MAP                                                                   \
	struct {                                                                       \
		__uint(type, BPF_MAP_TYPE_PERCPU_HASH);                                \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                  \
		__uint(max_entries, 16384);                                            \
		__type(key, struct constat_key);                                       \
		__type(value, struct constat_stats);                                   \
	}
CG_STATS_MAP cg_stats0 SEC(".maps");
CG_STATS_MAP cg_stats1 SEC(".maps");

#include "program_sync.h"

static __always_inline void add(struct constat_stats *s, u64 delta, long ret)
{
	s->count++;
	/* -4095..-1 is the kernel's error range; mmap addresses are never there. */
	if (ret < 0 && ret >= -4095) {
		s->errors++;
		s->last_errno = -ret;
	}
	s->total_ns += delta;
	if (delta > s->max_ns)
		s->max_ns = delta;
}

/* Initial value of new hash entries. */
const struct constat_stats zero_stats = {};

static __always_inline void account(struct task_struct *task, u32 nr, u64 delta, long ret)
{
	u32 ep = epoch & 1;

	if (!per_cgroup) {
		u32 idx = epoch_slot(ep, nr, CONSTAT_NR_SLOTS);
		struct constat_stats *s = bpf_map_lookup_elem(&stats, &idx);

		if (s)
			add(s, delta, ret);
		return;
	}

	struct constat_key key = { .cgroup_id = task_cgroup_id(task), .nr = nr };
	struct constat_stats *s;

	s = lookup_or_init(ep ? (void *)&cg_stats1 : (void *)&cg_stats0, &key, &zero_stats);
	if (s)
		add(s, delta, ret);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(constat_enter, struct pt_regs *regs, long id)
{
	struct task_struct *task;

	/* Cheapest test first: a register. */
	if ((u64)id >= CONSTAT_NR_SLOTS)
		return 0;
	task = bpf_get_current_task_btf();
	if (!task_in_target(task))
		return 0;
	if (id == nr_exit || id == nr_exit_group) {
		account(task, id, 0, 0);
		return 0;
	}
	if (!syscall_start_record(task, id))
		__sync_fetch_and_add(&dropped, 1);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(constat_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task = bpf_get_current_task_btf();
	u64 elapsed;
	u32 nr;

	if (!task_in_target(task))
		return 0;
	if (!syscall_start_take(task, &elapsed, &nr))
		return 0;
	account(task, nr & (CONSTAT_NR_SLOTS - 1), elapsed, ret);
	return 0;
}
