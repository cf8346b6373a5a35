// SPDX-License-Identifier: GPL-2.0
/*
 * constat: per-container syscall statistics, aggregated in the kernel.
 *
 * sys_enter stores the call's slot and start time per thread
 * (syscall_start.h); sys_exit adds count, errors, elapsed and max into
 * per-CPU slots. 32-bit calls have slots of their own (syscall_slots.h).
 *
 * A call denied by a seccomp filter never reaches sys_enter, but sys_exit
 * fires (errno in the return value, number in the registers): a watched
 * thread leaving a call it never entered is counted as denied, with no time.
 *
 * Failures are also tallied per errno in a hash (only the error path pays).
 *
 * Two modes, chosen in .rodata before load (the verifier prunes the other):
 *  - one target cgroup: an mmap'd array of [cpu][epoch][slot] counters (CPU
 *    id and lookup inlined);
 *  - every cgroup: per-CPU hash keyed by (cgroup id, slot).
 *
 * Interval reports lose nothing: see aggregate.h.
 */
#include "contrace_vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "target_filter.h"
#include "aggregate.h"
#include "syscall_slots.h"
#include "constat.h"

char LICENSE[] SEC("license") = "GPL";

const volatile bool per_cgroup = false; /* key by (cgroup, slot) */
/* Slots of the calls that never return (exit, exit_group, native and
 * 32-bit): counted at entry. */
const volatile u32 slot_exit = 60;
const volatile u32 slot_exit_group = 231;
const volatile u32 slot_exit32 = SYSCALL_NATIVE_SLOTS + 1;
const volatile u32 slot_exit_group32 = SYSCALL_NATIVE_SLOTS + 252;

#include "syscall_start.h"

_Static_assert(CONSTAT_NR_SLOTS == SYSCALL_SLOTS, "one counter per syscall slot");

/* One target: [cpu][epoch][slot] (aggregate.h), mmap'd by userspace so a
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

#define ERRNO_MAP                                                                      \
	struct {                                                                       \
		__uint(type, BPF_MAP_TYPE_PERCPU_HASH);                                \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                  \
		__uint(max_entries, 16384);                                            \
		__type(key, struct constat_errno_key);                                 \
		__type(value, u64);                                                    \
	}
ERRNO_MAP errnos0 SEC(".maps");
ERRNO_MAP errnos1 SEC(".maps");

#include "program_sync.h"

/* Initial value of new hash entries. */
const struct constat_stats zero_stats = {};
const u64 zero_count = 0;

/* Counts one call in @slot: @delta ns (0 when not timed), result @ret,
 * @denied when seccomp stopped it before entry. */
static __always_inline void account(struct task_struct *task, u32 slot, u64 delta, long ret,
				    bool denied)
{
	u32 ep = epoch & 1;
	u64 cgroup_id = 0;
	struct constat_stats *s;

	if (!per_cgroup) {
		u32 idx = epoch_slot(ep, slot, CONSTAT_NR_SLOTS);

		s = bpf_map_lookup_elem(&stats, &idx);
	} else {
		struct constat_key key = { .slot = slot };

		cgroup_id = task_cgroup_id(task);
		key.cgroup_id = cgroup_id;
		s = lookup_or_init(ep ? (void *)&cg_stats1 : (void *)&cg_stats0, &key,
				   &zero_stats);
	}
	if (!s)
		return;
	s->count++;
	if (denied)
		s->denied++;
	s->total_ns += delta;
	if (delta > s->max_ns)
		s->max_ns = delta;
	/* -4095..-1 is the kernel's error range; mmap addresses are never there. */
	if (ret < 0 && ret >= -4095) {
		struct constat_errno_key ekey = {
			.cgroup_id = cgroup_id,
			.slot = slot,
			.err = -ret,
		};
		u64 *n;

		s->errors++;
		n = lookup_or_init(ep ? (void *)&errnos1 : (void *)&errnos0, &ekey, &zero_count);
		if (n)
			(*n)++;
	}
}

SEC("tp_btf/sys_enter")
int BPF_PROG(constat_enter, struct pt_regs *regs, long id)
{
	struct task_struct *task;
	u32 slot;

	/* Cheapest test first: a register. */
	if ((u64)id >= SYSCALL_NATIVE_SLOTS)
		return 0;
	task = current_task();
	if (!task_in_target(task))
		return 0;
	slot = syscall_slot(task, id);
	if (slot == slot_exit || slot == slot_exit_group || slot == slot_exit32 ||
	    slot == slot_exit_group32) {
		account(task, slot, 0, 0, false);
		return 0;
	}
	if (!syscall_start_record(task, slot, true))
		__sync_fetch_and_add(&dropped, 1);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(constat_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task = current_task();
	u64 nr = syscall_nr(regs);
	bool numbered = nr < SYSCALL_NATIVE_SLOTS;
	u64 elapsed = 0;
	u32 slot = 0;

	if (!task_in_target(task))
		return 0;
	/* rt_sigreturn leaves with no number (-1): trust the entry's. */
	if (numbered)
		slot = syscall_slot(task, nr);
	switch (syscall_start_take(task, &slot, !numbered, &elapsed)) {
	case EXIT_ENTERED:
		account(task, slot & (CONSTAT_NR_SLOTS - 1), elapsed, ret, false);
		break;
	case EXIT_SKIPPED:
		/* Without a filter, a skipped entry is a ptracer's (PTRACE_SYSEMU). */
		if (numbered && task_under_seccomp_filter(task))
			account(task, slot & (CONSTAT_NR_SLOTS - 1), 0, ret, true);
		break;
	default:
		break;
	}
	return 0;
}
