// SPDX-License-Identifier: GPL-2.0
/*
 * syscount: syscall counts (and latencies), aggregated in the kernel.
 *
 * Count-only mode is one tp_btf/sys_exit program: the syscall number comes
 * from the saved registers (orig_ax / syscallno), so no entry hook is needed.
 * Filters that need no memory (number, return value) run first; the task is
 * fetched only when a filter or key needs it. -L and --histogram add
 * tp_btf/sys_enter, which keeps the start time in task-local storage.
 *
 * Where counts go, chosen in .rodata before load (the verifier prunes the
 * rest):
 *  - per syscall: an array of [cpu][epoch][nr] slots (CPU id and lookup
 *    both inlined by the JIT), memory-mapped by userspace, so reading it
 *    costs no syscalls that would show up in the counts;
 *  - -P / --by-cgroup / --errno: per-CPU hash keyed by (cgroup, nr or tgid,
 *    errno), unused parts 0;
 *  - --histogram: per-CPU hash of log2 buckets, same key without errno.
 *
 * Interval reports lose nothing: see aggregate.h.
 */
#include "contrace_vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "target_filter.h"
#include "aggregate.h"
#include "syscount.h"

#if !defined(__TARGET_ARCH_x86) && !defined(__TARGET_ARCH_arm64)
#error "syscount reads the syscall number from pt_regs: x86 and arm64 only"
#endif

char LICENSE[] SEC("license") = "GPL";

/* Filters (0 / false = off). */
const volatile bool filter_failed = false; /* -x */
const volatile s32 filter_errno = 0;       /* -e ERRNO */
const volatile bool filter_syscalls = false;
const volatile u64 syscall_mask[SYSCOUNT_NR_SLOTS / 64] = {}; /* --syscall */

/* What to measure and how to key it. */
const volatile bool need_task = false;       /* a filter or key reads the task */
const volatile bool measure_latency = false; /* -L / --histogram */
const volatile bool histogram = false;       /* --histogram */
const volatile u32 hist_unit_ns = 1000;      /* bucket unit: us, or ms with -m */
const volatile bool use_hash = false;        /* any of the three below */
const volatile bool by_process = false;      /* -P */
const volatile bool by_cgroup = false;       /* --by-cgroup */
const volatile bool by_errno = false;        /* --errno */

#include "syscall_start.h"


/* [cpu][epoch][nr] (aggregate.h). Declared for one CPU: userspace derives
 * the slot count from this size and sizes it for every possible CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2 * SYSCOUNT_NR_SLOTS);
	__type(key, u32);
	__type(value, struct syscount_slot);
} counts SEC(".maps");

#define SYSCOUNT_HASH(value_type, entries)                                             \
	struct {                                                                       \
		__uint(type, BPF_MAP_TYPE_PERCPU_HASH);                                \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                  \
		__uint(max_entries, entries);                                          \
		__type(key, struct syscount_key);                                      \
		__type(value, value_type);                                             \
	}
SYSCOUNT_HASH(struct syscount_stats, 16384) keyed0 SEC(".maps");
SYSCOUNT_HASH(struct syscount_stats, 16384) keyed1 SEC(".maps");
SYSCOUNT_HASH(struct syscount_hist, 4096) hists0 SEC(".maps");
SYSCOUNT_HASH(struct syscount_hist, 4096) hists1 SEC(".maps");

#include "program_sync.h"

static __always_inline u64 syscall_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_arm64)
	return (u64)(s64)regs->syscallno; /* -1 (not a syscall) fails the bound */
#else
	return regs->orig_ax;
#endif
}

static __always_inline bool syscall_wanted(u64 nr)
{
	if (!filter_syscalls)
		return true;
	return syscall_mask[(nr >> 6) & (SYSCOUNT_NR_SLOTS / 64 - 1)] & (1ULL << (nr & 63));
}

/*
 * -P: the process's name, refreshed on every call so an exec or a rename
 * shows (as libbpf-tools does), but without a helper call: two 8-byte loads
 * through the BTF pointer, which the verifier allows anywhere inside the
 * char array.
 */
static __always_inline void copy_comm(char dst[SYSCOUNT_COMM_LEN], struct task_struct *task)
{
	const u64 *src = (const u64 *)task->group_leader->comm;
	u64 *out = (u64 *)dst;

	out[0] = src[0];
	out[1] = src[1];
}

/* Initial values of new hash entries: globals, not 256 bytes of stack. */
const struct syscount_stats zero_stats = {};
const struct syscount_hist zero_hist = {};

static __always_inline void add_hist(u32 ep, struct syscount_key *key, u64 delta)
{
	struct syscount_hist *h;
	u32 slot;

	h = lookup_or_init(ep ? (void *)&hists1 : (void *)&hists0, key, (void *)&zero_hist);
	if (!h)
		return;
	slot = log2_u64(delta / hist_unit_ns);
	/* The last slot is open-ended: everything from 2^31 units up. */
	if (slot >= SYSCOUNT_HIST_SLOTS)
		slot = SYSCOUNT_HIST_SLOTS - 1;
	/* The mask bounds the very register that indexes: older verifiers
	 * (6.1) track the clamp above only on a 32-bit copy of it. */
	h->slots[slot & (SYSCOUNT_HIST_SLOTS - 1)]++;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(syscount_enter, struct pt_regs *regs, long id)
{
	struct task_struct *task;

	if ((u64)id >= SYSCOUNT_NR_SLOTS || !syscall_wanted(id))
		return 0;
	task = bpf_get_current_task_btf();
	if (!task_in_target(task))
		return 0;
	if (!syscall_start_record(task, id))
		__sync_fetch_and_add(&dropped, 1);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(syscount_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task = 0;
	u64 nr = syscall_nr(regs);
	u64 delta = 0;
	u32 ep;

	/* Cheapest tests first: registers only. */
	if (nr >= SYSCOUNT_NR_SLOTS)
		return 0;
	/* -4095..-1 is the kernel's error range; mmap addresses are never there. */
	if (filter_failed && (ret >= 0 || ret < -4095))
		return 0;
	if (filter_errno && ret != -(long)filter_errno)
		return 0;
	if (!syscall_wanted(nr))
		return 0;
	if (need_task) {
		task = bpf_get_current_task_btf();
		if (!task_in_target(task))
			return 0;
	}
	if (measure_latency) {
		u32 entered;

		/* The number comes from the registers; the entry's is not needed. */
		if (!syscall_start_take(task, &delta, &entered))
			return 0;
	}
	ep = epoch & 1;

	if (!use_hash) {
		u32 idx = epoch_slot(ep, (u32)nr, SYSCOUNT_NR_SLOTS);
		struct syscount_slot *s = bpf_map_lookup_elem(&counts, &idx);

		if (!s)
			return 0;
		s->count++;
		if (measure_latency)
			s->total_ns += delta;
		if (histogram) {
			struct syscount_key key = { .id = nr };

			add_hist(ep, &key, delta);
		}
		return 0;
	}

	struct syscount_key key = {};
	struct syscount_stats *s;

	if (by_cgroup)
		key.cgroup_id = task_cgroup_id(task);
	key.id = by_process ? (u32)task->tgid : (u32)nr;
	if (by_errno && ret < 0 && ret >= -4095)
		key.err = -ret;
	s = lookup_or_init(ep ? (void *)&keyed1 : (void *)&keyed0, &key, (void *)&zero_stats);
	if (!s)
		return 0;
	s->count++;
	s->total_ns += delta;
	if (by_process)
		copy_comm(s->comm, task);
	if (histogram) {
		key.err = 0;
		add_hist(ep, &key, delta);
	}
	return 0;
}
