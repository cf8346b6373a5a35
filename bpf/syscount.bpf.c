// SPDX-License-Identifier: GPL-2.0
/*
 * syscount: syscall counts (and latencies), aggregated in the kernel.
 *
 * Count-only mode is one tp_btf/sys_exit program: the syscall number comes
 * from the saved registers (orig_ax / syscallno), so no entry hook is needed.
 * Filters that need no memory (number, return value) run first; the task is
 * fetched only when a filter or key needs it, or to tell 32-bit calls apart
 * (syscall_slots.h). -L, --histogram and --denied add tp_btf/sys_enter,
 * which keeps the call in flight (and its start time) per thread: a watched
 * thread leaving a call it never entered was stopped before sys_enter by a
 * seccomp filter, and is counted as denied (syscall_start.h).
 *
 * Where counts go, chosen in .rodata before load (the verifier prunes the
 * rest):
 *  - per syscall: an array of [cpu][epoch][slot] counters (CPU id and lookup
 *    both inlined by the JIT), memory-mapped by userspace, so reading it
 *    costs no syscalls that would show up in the counts;
 *  - -P / --by-cgroup / --errno: per-CPU hash keyed by (cgroup, slot or
 *    tgid, errno), unused parts 0;
 *  - --histogram: per-CPU hash of log2 buckets, same key without errno.
 *
 * Interval reports lose nothing: see aggregate.h.
 */
#include "contrace_vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "target_filter.h"
#include "aggregate.h"
#include "syscall_slots.h"
#include "syscount.h"

char LICENSE[] SEC("license") = "GPL";

/* Filters (0 / false = off). */
const volatile bool filter_failed = false; /* -x */
const volatile s32 filter_errno = 0;       /* -e ERRNO */
const volatile bool filter_syscalls = false;
const volatile u64 syscall_mask[SYSCOUNT_NR_SLOTS / 64] = {}; /* --syscall, by slot */

/* What to measure and how to key it. */
const volatile bool need_task = false;       /* a filter or key reads the task */
const volatile bool track_entry = false;     /* -L / --histogram / --denied: entry hook */
const volatile bool measure_latency = false; /* -L / --histogram */
const volatile bool histogram = false;       /* --histogram */
const volatile u32 hist_unit_ns = 1000;      /* bucket unit: us, or ms with -m */
const volatile bool use_hash = false;        /* any of the three below */
const volatile bool by_process = false;      /* -P */
const volatile bool by_cgroup = false;       /* --by-cgroup */
const volatile bool by_errno = false;        /* --errno */

#include "syscall_start.h"

_Static_assert(SYSCOUNT_NR_SLOTS == SYSCALL_SLOTS, "one counter per syscall slot");

/* [cpu][epoch][slot] (aggregate.h). Declared for one CPU: userspace derives
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

static __always_inline bool syscall_wanted(u32 slot)
{
	if (!filter_syscalls)
		return true;
	u32 word = slot >> 6;

	/* As in add_hist(): a mask the compiler keeps and the verifier sees. */
	barrier_var(word);
	word &= SYSCOUNT_NR_SLOTS / 64 - 1;
	return syscall_mask[word] & (1ULL << (slot & 63));
}

static __always_inline bool ret_wanted(long ret)
{
	/* -4095..-1 is the kernel's error range; mmap addresses are never there. */
	if (filter_failed && (ret >= 0 || ret < -4095))
		return false;
	if (filter_errno && ret != -(long)filter_errno)
		return false;
	return true;
}

/*
 * -P: the process's name, refreshed on every call so an exec or a rename
 * shows (as libbpf-tools does), but without a helper call: two 8-byte loads
 * through the BTF pointer, which the verifier allows anywhere inside the
 * char array (a probe read on kernels without BTF task pointers).
 */
static __always_inline void copy_comm(char dst[SYSCOUNT_COMM_LEN], struct task_struct *task)
{
	struct task_struct *leader = KREAD(task, group_leader);

	if (task_btf) {
		const u64 *src = (const u64 *)leader->comm;
		u64 *out = (u64 *)dst;

		out[0] = src[0];
		out[1] = src[1];
	} else {
		bpf_core_read(dst, SYSCOUNT_COMM_LEN, &leader->comm);
	}
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
	/* Older verifiers (5.10, 6.1) track the clamp above only on a 32-bit
	 * copy of the register that indexes ("R0 unbounded memory access"),
	 * and the compiler drops a plain mask after the clamp as redundant:
	 * hide the value from it, so the mask bounds the very register used. */
	barrier_var(slot);
	slot &= SYSCOUNT_HIST_SLOTS - 1;
	h->slots[slot]++;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(syscount_enter, struct pt_regs *regs, long id)
{
	struct task_struct *task;
	u32 slot;

	if ((u64)id >= SYSCALL_NATIVE_SLOTS)
		return 0;
	task = current_task();
	if (!task_in_target(task))
		return 0;
	slot = syscall_slot(task, id);
	if (!syscall_wanted(slot))
		return 0;
	if (!syscall_start_record(task, slot, measure_latency))
		__sync_fetch_and_add(&dropped, 1);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(syscount_exit, struct pt_regs *regs, long ret)
{
	struct task_struct *task = 0;
	u64 nr = syscall_nr(regs);
	bool denied = false;
	u64 delta = 0;
	u32 slot, ep;

	/* Cheapest tests first: registers only. */
	if (nr >= SYSCALL_NATIVE_SLOTS)
		return 0;
	/* With the entry hook the return filters wait: the call in flight
	 * must be cleared whatever its result. */
	if (!track_entry && !ret_wanted(ret))
		return 0;
	slot = nr;
	if (need_task) {
		task = current_task();
		if (!task_in_target(task))
			return 0;
		slot = syscall_slot(task, nr);
	} else if (compat_syscalls && !regs_native_syscall(regs)) {
		/* Count-only, every process: fetch the task (a helper call) only
		 * when the registers do not already say "native". */
		slot = syscall_slot(current_task(), nr);
	}
	/* The entry hook skips unwanted calls too: test before taking. */
	if (!syscall_wanted(slot)) {
		/* But watch the thread from this exit on, so that its first
		 * wanted call, if denied, is seen (a thread that makes only
		 * denied calls of the kind asked for creates no state at entry). */
		if (track_entry && !starts_get(task, false))
			starts_get(task, true);
		return 0;
	}
	if (track_entry) {
		switch (syscall_start_take(task, &slot, false, &delta)) {
		case EXIT_ENTERED:
			break;
		case EXIT_SKIPPED:
			/* Without a filter, a skipped entry is a ptracer's. */
			if (!task_under_seccomp_filter(task))
				return 0;
			denied = true;
			break;
		default:
			return 0;
		}
		if (!ret_wanted(ret))
			return 0;
	}
	slot &= SYSCOUNT_NR_SLOTS - 1;
	ep = epoch & 1;

	if (!use_hash) {
		u32 idx = epoch_slot(ep, slot, SYSCOUNT_NR_SLOTS);
		struct syscount_slot *s = bpf_map_lookup_elem(&counts, &idx);

		if (!s)
			return 0;
		s->count++;
		if (denied)
			s->denied++;
		if (measure_latency)
			s->total_ns += delta;
		if (histogram && !denied) {
			struct syscount_key key = { .id = slot };

			add_hist(ep, &key, delta);
		}
		return 0;
	}

	struct syscount_key key = {};
	struct syscount_stats *s;

	if (by_cgroup)
		key.cgroup_id = task_cgroup_id(task);
	key.id = by_process ? (u32)KREAD(task, tgid) : slot;
	if (by_errno && ret < 0 && ret >= -4095)
		key.err = -ret;
	s = lookup_or_init(ep ? (void *)&keyed1 : (void *)&keyed0, &key, (void *)&zero_stats);
	if (!s)
		return 0;
	s->count++;
	if (denied)
		s->denied++;
	s->total_ns += delta;
	if (by_process)
		copy_comm(s->comm, task);
	if (histogram && !denied) {
		key.err = 0;
		add_hist(ep, &key, delta);
	}
	return 0;
}
