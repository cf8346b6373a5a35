// SPDX-License-Identifier: GPL-2.0
/*
 * The syscall engine: one program counts syscalls for constat, syscount and
 * contrace-exporter, aggregated in the kernel. Each tool configures it in
 * .rodata before load and the verifier prunes what the tool does not use.
 *
 * Hooks:
 *  - tp_btf/sys_exit always. Alone (count-only), the syscall number comes
 *    from the saved registers (orig_ax / syscallno), so no entry hook is
 *    needed; filters that need no memory run first, and the task is fetched
 *    only when a filter or key needs it, or to tell 32-bit calls apart
 *    (syscall_slots.h).
 *  - tp_btf/sys_enter when time is measured or denied calls are told apart:
 *    it keeps the call in flight (and its start time) per thread. A watched
 *    thread leaving a call it never entered was stopped before sys_enter by
 *    a seccomp filter: counted as denied (syscall_start.h).
 *
 * Calls, not returns, in every mode: the clone family returns twice (the
 * child's return is 0 and is skipped), rt_sigreturn leaves with no number
 * (counted by the entry's slot, or count-only as rt_sigreturn: the only
 * call that clears its own number), calls that never return (exit,
 * exit_group) are counted at entry when the entry hook runs. Restart codes
 * (ERESTARTSYS...) are not failures: the process never sees them.
 *
 * Where counts go:
 *  - one slot per syscall: an array of [cpu][epoch][slot] counters (CPU id
 *    and lookup inlined by the JIT), memory-mapped by userspace, so reading
 *    it costs no syscalls that would show up in the counts;
 *  - keyed by cgroup, process or errno: per-CPU hash of (cgroup, slot or
 *    tgid, errno), unused parts 0;
 *  - every cgroup, count-only (the exporter, `cgroup_slots`): a per-CPU
 *    array of native slots per cgroup index, the index of the cgroup last
 *    counted cached per CPU, then per task (per thread with the entry
 *    hook), with a cgroup id -> index hash behind them; indices come from a
 *    queue userspace fills and refills as cgroups go. 32-bit calls, and
 *    cgroups beyond the indices, go to the hash below;
 *  - the errno tally: per-CPU hash of (cgroup, slot, errno), failures only;
 *  - histograms: per-CPU hash of log2 buckets, keyed as the counts without
 *    errno.
 *
 * Namespace changes (`ns_events`, the exporter): the exit program also
 * makes unsharesnoop's events for unshare, setns and namespace-creating
 * clones (namespace_events.h), so a syscall pays one program run.
 *
 * Interval reports lose nothing: see aggregate.h.
 */
#include "contrace_vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "target_filter.h"
#include "aggregate.h"
#include "syscall_slots.h"
#include "syscalls.h"
#include "namespace_events.h"

char LICENSE[] SEC("license") = "GPL";

/* Filters (0 / false = off). */
const volatile bool filter_failed = false; /* failed calls only */
const volatile s32 filter_errno = 0;       /* calls failing with this errno only */
const volatile bool filter_syscalls = false;
const volatile u64 syscall_mask[SYSCALLS_NR_SLOTS / 64] = {}; /* wanted, by slot */

/* What to measure and how to key it. */
const volatile bool need_task = false;      /* a filter or key reads the task */
const volatile bool track_entry = false;    /* the entry hook is attached */
const volatile bool measure_time = false;   /* total and longest time per call */
const volatile bool histogram = false;      /* log2 latency buckets */
const volatile u32 hist_unit_ns = 1000;     /* bucket unit */
const volatile bool tally_errnos = false;   /* failures per errno */
const volatile bool exits_at_entry = false; /* count exit, exit_group at entry */
const volatile bool use_hash = false;       /* any of the three below */
const volatile bool by_process = false;
const volatile bool by_cgroup = false;
const volatile bool by_errno = false;
const volatile bool cgroup_slots = false; /* per-cgroup slot arrays (count-only, by cgroup) */
const volatile u32 cgroup_indices = 1;    /* indices 1..cgroup_indices-1 exist */
const volatile bool ns_events = false;    /* namespace-change events at exit */

/* Slots userspace names for this kernel's tables (native, 32-bit). */
const volatile u32 slot_exit = 60;
const volatile u32 slot_exit_group = 231;
const volatile u32 slot_exit32 = SYSCALL_NATIVE_SLOTS + 1;
const volatile u32 slot_exit_group32 = SYSCALL_NATIVE_SLOTS + 252;
const volatile u32 slot_rt_sigreturn = 15;
const volatile u32 slot_rt_sigreturn32 = SYSCALL_NATIVE_SLOTS + 173;
/* clone, clone3, fork, vfork of both tables: their child returns 0. */
const volatile u64 child_return_mask[SYSCALLS_NR_SLOTS / 64] = {};

#include "syscall_start.h"

_Static_assert(SYSCALLS_NR_SLOTS == SYSCALL_SLOTS, "one counter per syscall slot");

/* [cpu][epoch][slot] (aggregate.h). Declared for one CPU: userspace derives
 * the slot count from this size and sizes it for every possible CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 2 * SYSCALLS_NR_SLOTS);
	__type(key, u32);
	__type(value, struct syscall_counts);
} counts SEC(".maps");

#define SYSCALLS_HASH(key_type, value_type, entries)                                   \
	struct {                                                                       \
		__uint(type, BPF_MAP_TYPE_PERCPU_HASH);                                \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                  \
		__uint(max_entries, entries);                                          \
		__type(key, key_type);                                                 \
		__type(value, value_type);                                             \
	}
SYSCALLS_HASH(struct syscall_key, struct syscall_keyed, 16384) keyed0 SEC(".maps");
SYSCALLS_HASH(struct syscall_key, struct syscall_keyed, 16384) keyed1 SEC(".maps");
SYSCALLS_HASH(struct syscall_errno_key, u64, 16384) errnos0 SEC(".maps");
SYSCALLS_HASH(struct syscall_errno_key, u64, 16384) errnos1 SEC(".maps");
SYSCALLS_HASH(struct syscall_key, struct syscall_hist, 4096) hists0 SEC(".maps");
SYSCALLS_HASH(struct syscall_key, struct syscall_hist, 4096) hists1 SEC(".maps");

/* Per-cgroup slot arrays: entry index * 2 + epoch, native slots only;
 * time in the calls beside them when timed. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, struct syscall_cgroup_ns);
} cgroup_ns_by_index SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, struct syscall_cgroup_slots);
} cgroup_slots_by_index SEC(".maps");

/* cgroup id -> index (0: none); indices free for new cgroups. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, u64);
	__type(value, u32);
} cgroup_index SEC(".maps");

/* index -> the cgroup id it counts (0: free or retiring). Cached indices
 * are checked against it, so an index userspace takes back is never
 * written for a cgroup it no longer belongs to. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} cgroup_owner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 1);
	__type(value, u32);
} free_cgroup_indices SEC(".maps");

/* Count-only, first: the cgroup whose call this CPU counted last and its
 * index. Its address is known before the cgroup id is read and no helper is
 * called: cheaper than task storage (docs/benchmarks.md). (With the entry
 * hook the thread's record keeps its own.) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct task_cgroup);
} last_cgroup SEC(".maps");

/* Count-only, then: the task's own cgroup and index (5.11+), for a CPU that
 * switches between tasks of different cgroups, where the CPU's last cgroup
 * misses at each switch. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_cgroup);
} task_cgroups SEC(".maps");

#include "program_sync.h"

/* Initial values of new hash entries: globals, not 256 bytes of stack. */
const struct syscall_keyed zero_keyed = {};
const struct syscall_hist zero_hist = {};
const u64 zero_count = 0;

/* True when bit @slot is set in a slot mask. */
static __always_inline bool slot_in(const volatile u64 *mask, u32 slot)
{
	u32 word = slot >> 6;

	/* As in add_hist(): a mask the compiler keeps and the verifier sees. */
	barrier_var(word);
	word &= SYSCALLS_NR_SLOTS / 64 - 1;
	return mask[word] & (1ULL << (slot & 63));
}

static __always_inline bool syscall_wanted(u32 slot)
{
	return !SETTING(filter_syscalls) || slot_in(syscall_mask, slot);
}

/* -4095..-1 is the kernel's error range; mmap addresses are never there. */
static __always_inline bool is_error(long ret)
{
	return ret < 0 && ret >= -4095;
}

/* ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK: the
 * call is restarted (or turned into EINTR); the process never sees them. */
static __always_inline bool is_restart(long ret)
{
	return ret <= -512 && ret >= -516 && ret != -515;
}

static __always_inline bool ret_wanted(long ret)
{
	if (SETTING(filter_failed) && (!is_error(ret) || is_restart(ret)))
		return false;
	if (SETTING(filter_errno) && ret != -(long)(s32)SETTING(filter_errno))
		return false;
	return true;
}

/*
 * By process: the process's name, refreshed on every call so an exec or a
 * rename shows (as libbpf-tools does), but without a helper call: two
 * 8-byte loads through the BTF pointer, which the verifier allows anywhere
 * inside the char array (a probe read on kernels without BTF task pointers).
 */
static __always_inline void copy_comm(char dst[SYSCALLS_COMM_LEN], struct task_struct *task)
{
	struct task_struct *leader = KREAD(task, group_leader);

	if (SETTING(task_btf)) {
		const u64 *src = (const u64 *)leader->comm;
		u64 *out = (u64 *)dst;

		out[0] = src[0];
		out[1] = src[1];
	} else {
		bpf_core_read(dst, SYSCALLS_COMM_LEN, &leader->comm);
	}
}

static __always_inline void add_hist(u32 ep, struct syscall_key *key, u64 delta)
{
	struct syscall_hist *h;
	u32 slot;

	h = lookup_or_init(ep ? (void *)&hists1 : (void *)&hists0, key, (void *)&zero_hist);
	if (!h)
		return;
	slot = log2_u64(delta / hist_unit_ns);
	/* The last slot is open-ended: everything from 2^31 units up. */
	if (slot >= SYSCALLS_HIST_SLOTS)
		slot = SYSCALLS_HIST_SLOTS - 1;
	/* Older verifiers (5.10, 6.1) track the clamp above only on a 32-bit
	 * copy of the register that indexes ("R0 unbounded memory access"),
	 * and the compiler drops a plain mask after the clamp as redundant:
	 * hide the value from it, so the mask bounds the very register used. */
	barrier_var(slot);
	slot &= SYSCALLS_HIST_SLOTS - 1;
	h->slots[slot]++;
}

/* One failure (or with @flags SYSCALLS_ERR_DENIED, one denied call) in
 * the errno tally. */
static __always_inline void tally_errno(u32 ep, u64 cgroup_id, u32 slot, long ret, u32 flags)
{
	struct syscall_errno_key key = {
		.cgroup_id = cgroup_id, .slot = slot, .err = (u32)-ret | flags
	};
	u64 *n = lookup_or_init(ep ? (void *)&errnos1 : (void *)&errnos0, &key, &zero_count);

	if (n)
		(*n)++;
}

/* The counters of @slot for @task in the live half: the array's slot, or
 * the hash entry of its key (written into @key). */
static __always_inline struct syscall_counts *counters(u32 ep, struct task_struct *task,
						       u32 slot, long ret,
						       struct syscall_key *key)
{
	struct syscall_keyed *k;

	if (!SETTING(use_hash)) {
		u32 idx = epoch_slot(ep, slot, SYSCALLS_NR_SLOTS);

		return bpf_map_lookup_elem(&counts, &idx);
	}
	if (SETTING(by_cgroup))
		key->cgroup_id = task_cgroup_id(task);
	key->id = SETTING(by_process) ? (u32)KREAD(task, tgid) : slot;
	if (SETTING(by_errno) && is_error(ret))
		key->err = -ret;
	k = lookup_or_init(ep ? (void *)&keyed1 : (void *)&keyed0, key, (void *)&zero_keyed);
	if (!k)
		return NULL;
	if (SETTING(by_process))
		copy_comm(k->comm, task);
	return &k->c;
}

static __always_inline bool index_owned_by(u32 index, u64 id)
{
	u64 *owner = bpf_map_lookup_elem(&cgroup_owner, &index);

	return owner && *owner == id;
}

/* The index of cgroup @id, taken from the free queue on first sight; 0
 * when none is left (the call is then counted in the hash). */
static __always_inline u32 cgroup_index_of(u64 id)
{
	u64 *owner;
	u32 *found = bpf_map_lookup_elem(&cgroup_index, &id);
	u32 index = 0;

	if (found)
		return *found;
	if (bpf_map_pop_elem(&free_cgroup_indices, &index) || !index)
		return 0;
	if (bpf_map_update_elem(&cgroup_index, &id, &index, BPF_NOEXIST)) {
		/* Another CPU named it first (or the hash is full): hand back. */
		bpf_map_push_elem(&free_cgroup_indices, &index, 0);
		found = bpf_map_lookup_elem(&cgroup_index, &id);
		return found ? *found : 0;
	}
	owner = bpf_map_lookup_elem(&cgroup_owner, &index);
	if (owner)
		*owner = id;
	return index;
}

/* The index cached in @tc if it is still cgroup @id's, else 0: tasks move,
 * CPUs switch tasks, indices are taken back (and a record torn by a
 * preempted writer fails the owner check). */
static __always_inline u32 index_cached_in(struct task_cgroup *tc, u64 id)
{
	u32 index;

	if (!tc || tc->cgroup_id != id)
		return 0;
	/* Read once: the index checked is the index used. */
	index = tc->index;
	return index_owned_by(index, id) ? index : 0;
}

static __always_inline void cache_index(struct task_cgroup *tc, u64 id, u32 index)
{
	if (tc && index) {
		tc->cgroup_id = id;
		tc->index = index;
	}
}

/* The index of cgroup @id through the cache @tc (may be NULL): the cached
 * one if valid, else the id -> index hash's (a free index taken on first
 * sight), then cached in @tc. */
static __always_inline u32 index_through(struct task_cgroup *tc, u64 id)
{
	u32 index = index_cached_in(tc, id);

	if (!index) {
		index = cgroup_index_of(id);
		cache_index(tc, id, index);
	}
	return index;
}

/* The index of @task's cgroup @id: through @tc (the call's record), or
 * else this CPU's last cgroup, then the task's storage, then the hash. */
static __always_inline u32 cached_cgroup_index(struct task_struct *task, u64 id,
					       struct task_cgroup *tc)
{
	struct task_cgroup *last;
	u32 zero = 0, index;

	if (tc)
		return index_through(tc, id);
	last = bpf_map_lookup_elem(&last_cgroup, &zero);
	index = index_cached_in(last, id);
	if (index)
		return index;
	if (SETTING(task_storage))
		tc = bpf_task_storage_get(&task_cgroups, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	index = index_through(tc, id);
	cache_index(last, id, index);
	return index;
}

/* By cgroup, a native call: one increment in the cgroup's slot array (and
 * @delta ns beside it when timed); the errno tally only on failure or
 * denial (errors and denied calls are derived from it). @tc: the thread's
 * cached cgroup, NULL for the count-only caches. False when the cgroup has no
 * index: the caller counts it in the hash. */
static __always_inline bool count_in_cgroup_slots(struct task_struct *task, u32 slot, long ret,
						  u64 delta, bool denied, struct task_cgroup *tc)
{
	u64 id = task_cgroup_id(task);
	u32 index = cached_cgroup_index(task, id, tc);
	struct syscall_cgroup_slots *s;
	struct syscall_cgroup_ns *t;
	u32 ep = epoch & 1;
	u32 entry;

	if (!index || index >= SETTING(cgroup_indices))
		return false;
	entry = index * 2 + ep;
	s = bpf_map_lookup_elem(&cgroup_slots_by_index, &entry);
	if (!s)
		return false;
	barrier_var(slot);
	slot &= SYSCALL_NATIVE_SLOTS - 1;
	s->count[slot]++;
	if (SETTING(measure_time)) {
		t = bpf_map_lookup_elem(&cgroup_ns_by_index, &entry);
		if (t)
			t->ns[slot] += delta;
	}
	if (denied)
		tally_errno(ep, id, slot, is_error(ret) ? ret : 0, SYSCALLS_ERR_DENIED);
	else if (is_error(ret))
		tally_errno(ep, id, slot, ret, 0);
	return true;
}

/* Counts one call in @slot: @delta ns (0 when not timed), result @ret,
 * @denied when seccomp stopped it before entry. */
static __always_inline void account(struct task_struct *task, u32 slot, u64 delta, long ret,
				    bool denied)
{
	struct syscall_key key = {};
	struct syscall_counts *c;
	u32 ep = epoch & 1;

	slot &= SYSCALLS_NR_SLOTS - 1;
	c = counters(ep, task, slot, ret, &key);
	if (!c)
		return;
	c->count++;
	if (denied)
		c->denied++;
	if (SETTING(measure_time)) {
		c->total_ns += delta;
		if (delta > c->max_ns)
			c->max_ns = delta;
	}
	if (is_error(ret)) {
		if (!is_restart(ret))
			c->errors++;
		if (SETTING(tally_errnos))
			tally_errno(ep, key.cgroup_id, slot, ret, 0);
	}
	if (SETTING(histogram) && !denied) {
		key.err = 0;
		key.id = SETTING(use_hash) ? key.id : slot;
		add_hist(ep, &key, delta);
	}
}

static __always_inline bool never_returns(u32 slot)
{
	return slot == slot_exit || slot == slot_exit_group || slot == slot_exit32 ||
	       slot == slot_exit_group32;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(syscalls_enter, struct pt_regs *regs, long id)
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
	if (!syscall_wanted(slot))
		return 0;
	if (SETTING(exits_at_entry) && never_returns(slot)) {
		account(task, slot, 0, 0, false);
		return 0;
	}
	if (!syscall_start_record(task, slot, SETTING(measure_time)))
		__sync_fetch_and_add(&dropped, 1);
	return 0;
}

/* With the entry hook: the call's slot and time come from its entry; an
 * exit without one on a watched thread under a seccomp filter was denied. */
static __always_inline void exit_tracked(u64 nr, long ret)
{
	struct task_struct *task = current_task();
	bool numbered = nr < SYSCALL_NATIVE_SLOTS;
	bool denied = false;
	struct task_cgroup *tc = 0;
	u64 elapsed = 0;
	u32 slot = 0;

	if (!task_in_target(task))
		return;
	if (numbered) {
		slot = syscall_slot(task, nr);
		if (!syscall_wanted(slot)) {
			/* Watch the thread from this exit on, so that its first
			 * wanted call, if denied, is seen. */
			if (!starts_get(task, false))
				starts_get(task, true);
			return;
		}
	} else {
		/* rt_sigreturn: the value left in the return register is the
		 * interrupted context's, not a result of this call. */
		ret = 0;
	}
	switch (syscall_start_take(task, &slot, !numbered, &elapsed, &tc)) {
	case EXIT_ENTERED:
		break;
	case EXIT_SKIPPED:
		/* Without a filter, a skipped entry is a ptracer's (PTRACE_SYSEMU). */
		if (!numbered || !task_under_seccomp_filter(task))
			return;
		denied = true;
		break;
	default:
		return;
	}
	if (!ret_wanted(ret))
		return;
	if (SETTING(cgroup_slots) && slot < SYSCALL_NATIVE_SLOTS &&
	    count_in_cgroup_slots(task, slot, ret, elapsed, denied, tc))
		return;
	account(task, slot, elapsed, ret, denied);
}

/* rt_sigreturn's slot: the only call that clears its own number. */
static __always_inline u32 sigreturn_slot(bool compat)
{
	return compat ? slot_rt_sigreturn32 : slot_rt_sigreturn;
}

/* The clone family's second return, in the child: not a call. */
static __always_inline bool child_return(u32 slot, long ret)
{
	return ret == 0 && slot_in(child_return_mask, slot);
}

/* Count-only: everything from the registers, the task only when needed. */
static __always_inline void exit_only(struct pt_regs *regs, u64 nr, long ret)
{
	struct task_struct *task = 0;
	bool numbered = nr < SYSCALL_NATIVE_SLOTS;
	u32 slot;

	if (!numbered) {
		/* Only rt_sigreturn clears its own number; its return register
		 * holds the interrupted context's value. */
		if (nr != (u64)-1)
			return;
		ret = 0;
	}
	if (!ret_wanted(ret))
		return;
	slot = nr;
	if (SETTING(need_task)) {
		task = current_task();
		if (!task_in_target(task))
			return;
		if (numbered)
			slot = syscall_slot(task, nr);
	} else if (numbered && SETTING(compat_syscalls) && !regs_native_syscall(regs)) {
		/* Every process: fetch the task (a helper call) only when the
		 * registers do not already say "native". */
		slot = syscall_slot(current_task(), nr);
	}
	if (!numbered) {
		/* Not `task ?: current_task()`: older verifiers (6.1) do not
		 * know the task pointer is never NULL and walk a NULL task into
		 * the counters; a branch on .rodata they prune. */
		slot = sigreturn_slot(SETTING(compat_syscalls) &&
				      task_in_compat_syscall(SETTING(need_task) ? task : current_task()));
	} else if (child_return(slot, ret)) {
		return;
	}
	if (!syscall_wanted(slot))
		return;
	account(task, slot, 0, ret, false);
}

/* Count-only for every cgroup of the host (the exporter): no filter to
 * test (Collector::start refuses filters with the slot arrays), and the
 * task always at hand for its cgroup. */
static __always_inline void exit_every_cgroup(u64 nr, long ret)
{
	struct task_struct *task = current_task();
	u32 slot;

	if (nr < SYSCALL_NATIVE_SLOTS) {
		slot = syscall_slot(task, nr);
		if (child_return(slot, ret))
			return;
	} else if (nr == (u64)-1) {
		/* rt_sigreturn: as in exit_only(). */
		slot = sigreturn_slot(task_in_compat_syscall(task));
		ret = 0;
	} else {
		return;
	}
	if (slot < SYSCALL_NATIVE_SLOTS && count_in_cgroup_slots(task, slot, ret, 0, false, 0))
		return;
	account(task, slot, 0, ret, false);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(syscalls_exit, struct pt_regs *regs, long ret)
{
	u64 nr = syscall_nr(regs);

	if (SETTING(ns_events))
		ns_change_at_exit(regs, nr, ret);
	if (SETTING(track_entry))
		exit_tracked(nr, ret);
	else if (SETTING(cgroup_slots))
		exit_every_cgroup(nr, ret);
	else
		exit_only(regs, nr, ret);
	return 0;
}
