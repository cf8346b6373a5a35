// SPDX-License-Identifier: GPL-2.0
/* Empty programs on the syscall hooks: the cost floor benchmarks compare
 * the tools against (what merely attaching to the hook costs). */
#include "contrace_vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sys_enter")
int BPF_PROG(floor_enter, struct pt_regs *regs, long id)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_exit, struct pt_regs *regs, long ret)
{
	return 0;
}

/*
 * Prototypes of the exporter's common path (a successful call of a host
 * process counted per (cgroup, syscall)), one per way of finding the
 * counters, so bench/ can weigh them against the floor above with
 * bpf_stats. Each runs alone on sys_exit; failures (not measured: getppid
 * never fails) would go to a separate errno map in every variant.
 */
#define PROTO_SLOTS 512
#define PROTO_CGROUPS 256

struct proto_key {
	u64 cgroup_id;
	u32 slot;
	s32 err;
};

struct proto_counts {
	u64 count, errors, denied, total_ns, max_ns;
};

/* (a) per-CPU hash keyed (cgroup, slot, errno): the engine's keyed mode. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384);
	__type(key, struct proto_key);
	__type(value, struct proto_counts);
} proto_keyed SEC(".maps");

/* (b..d) a per-CPU slot array per cgroup index. */
struct proto_slots {
	u64 count[PROTO_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PROTO_CGROUPS);
	__type(key, u32);
	__type(value, struct proto_slots);
} proto_by_index SEC(".maps");

/* (b) cgroup local storage: the cgroup's index (6.2+). */
struct proto_index {
	u64 cgroup_id;
	u32 index;
	u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct proto_index);
} proto_cgrp_index SEC(".maps");

/* (c) task local storage caching (cgroup id, index), checked per call. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct proto_index);
} proto_task_index SEC(".maps");

/* (f) as (c), but keyed by the task's css_set pointer: one load instead of
 * the four to the cgroup id (exact only with moves invalidating the cache,
 * as a cgroup_attach_task hook would). */
struct proto_cset_index {
	u64 cset;
	u32 index;
	u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct proto_cset_index);
} proto_task_cset_index SEC(".maps");

/* (d) and behind (c): a hash cgroup id -> index. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PROTO_CGROUPS);
	__type(key, u64);
	__type(value, u32);
} proto_id_index SEC(".maps");

u32 proto_next_index = 0;
const struct proto_counts proto_zero = {};

/* Racy across CPUs (a prototype: only the first call of a cgroup pays it). */
static __always_inline u32 proto_new_index(void)
{
	u32 index = proto_next_index++;

	return index % (PROTO_CGROUPS - 1) + 1;
}

static __always_inline void proto_count(u32 index, u64 nr)
{
	struct proto_slots *s = bpf_map_lookup_elem(&proto_by_index, &index);

	if (s) {
		nr &= PROTO_SLOTS - 1;
		s->count[nr]++;
	}
}

static __always_inline u32 proto_index_of(u64 id)
{
	u32 *found = bpf_map_lookup_elem(&proto_id_index, &id);
	u32 index;

	if (found)
		return *found;
	index = proto_new_index();
	bpf_map_update_elem(&proto_id_index, &id, &index, BPF_NOEXIST);
	return index;
}

/* Counts call @nr in the index cached in @ix for cgroup @id (looked up in
 * the id hash when @ix holds another cgroup). */
static __always_inline void proto_count_cached(struct proto_index *ix, u64 id, u64 nr)
{
	if (!ix)
		return;
	if (ix->cgroup_id != id) {
		ix->cgroup_id = id;
		ix->index = proto_index_of(id);
	}
	proto_count(ix->index, nr);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(proto_hash, struct pt_regs *regs, long ret)
{
	struct task_struct *task;
	struct proto_key key = {};
	struct proto_counts *c;
	u64 nr = regs->orig_ax;

	if (nr >= PROTO_SLOTS)
		return 0;
	task = bpf_get_current_task_btf();
	key.cgroup_id = task->cgroups->dfl_cgrp->kn->id;
	key.slot = nr;
	c = bpf_map_lookup_elem(&proto_keyed, &key);
	if (!c) {
		bpf_map_update_elem(&proto_keyed, &key, &proto_zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&proto_keyed, &key);
		if (!c)
			return 0;
	}
	c->count++;
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(proto_cgrp_storage, struct pt_regs *regs, long ret)
{
	struct task_struct *task;
	struct proto_index *ix;
	u64 nr = regs->orig_ax;

	if (nr >= PROTO_SLOTS)
		return 0;
	task = bpf_get_current_task_btf();
	ix = bpf_cgrp_storage_get(&proto_cgrp_index, task->cgroups->dfl_cgrp, 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!ix)
		return 0;
	if (!ix->index)
		ix->index = proto_new_index();
	proto_count(ix->index, nr);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(proto_task_storage, struct pt_regs *regs, long ret)
{
	struct task_struct *task;
	struct proto_index *ix;
	u64 nr = regs->orig_ax;

	if (nr >= PROTO_SLOTS)
		return 0;
	task = bpf_get_current_task_btf();
	ix = bpf_task_storage_get(&proto_task_index, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	proto_count_cached(ix, task->cgroups->dfl_cgrp->kn->id, nr);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(proto_task_cset, struct pt_regs *regs, long ret)
{
	struct task_struct *task;
	struct proto_cset_index *ix;
	u64 nr = regs->orig_ax, cset;

	if (nr >= PROTO_SLOTS)
		return 0;
	task = bpf_get_current_task_btf();
	ix = bpf_task_storage_get(&proto_task_cset_index, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!ix)
		return 0;
	cset = (u64)task->cgroups;
	if (ix->cset != cset) {
		ix->cset = cset;
		ix->index = proto_index_of(task->cgroups->dfl_cgrp->kn->id);
	}
	proto_count(ix->index, nr);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(proto_index_hash, struct pt_regs *regs, long ret)
{
	struct task_struct *task;
	u64 nr = regs->orig_ax;

	if (nr >= PROTO_SLOTS)
		return 0;
	task = bpf_get_current_task_btf();
	proto_count(proto_index_of(task->cgroups->dfl_cgrp->kn->id), nr);
	return 0;
}

/* (e) a per-CPU cache of (cgroup id, index) at the id's low bits: an
 * inlined array lookup instead of a storage helper call. */
#define PROTO_CACHE_SLOTS 256
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PROTO_CACHE_SLOTS);
	__type(key, u32);
	__type(value, struct proto_index);
} proto_index_cache SEC(".maps");

SEC("tp_btf/sys_exit")
int BPF_PROG(proto_percpu_cache, struct pt_regs *regs, long ret)
{
	struct task_struct *task;
	struct proto_index *ix;
	u64 nr = regs->orig_ax, id;
	u32 slot;

	if (nr >= PROTO_SLOTS)
		return 0;
	task = bpf_get_current_task_btf();
	id = task->cgroups->dfl_cgrp->kn->id;
	slot = (u32)id & (PROTO_CACHE_SLOTS - 1);
	ix = bpf_map_lookup_elem(&proto_index_cache, &slot);
	proto_count_cached(ix, id, nr);
	return 0;
}

/* (g) one entry per CPU: the last cgroup counted on this CPU and its index
 * (its address does not wait for the cgroup id, unlike (e)). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct proto_index);
} proto_last_cgroup SEC(".maps");

SEC("tp_btf/sys_exit")
int BPF_PROG(proto_percpu_last, struct pt_regs *regs, long ret)
{
	struct task_struct *task;
	struct proto_index *ix;
	u64 nr = regs->orig_ax;
	u32 zero = 0;

	if (nr >= PROTO_SLOTS)
		return 0;
	task = bpf_get_current_task_btf();
	ix = bpf_map_lookup_elem(&proto_last_cgroup, &zero);
	proto_count_cached(ix, task->cgroups->dfl_cgrp->kn->id, nr);
	return 0;
}

/*
 * The entry hook's per-thread record (--denied, constat): (h) in task
 * storage, as the engine keeps it, against (i) one in-flight record per
 * CPU tagged with its task (a context switch would spill it to task
 * storage: not built here), written with preemption disabled so no other
 * task's program runs halfway through it; (j) the same without that.
 */
extern void bpf_preempt_disable(void) __weak __ksym;
extern void bpf_preempt_enable(void) __weak __ksym;

struct proto_start {
	u64 ts;
	u32 slot;
	u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct proto_start);
} proto_starts SEC(".maps");

struct proto_inflight {
	u64 task;
	u64 ts;
	u32 slot;
	u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct proto_inflight);
} proto_inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct proto_counts);
} proto_time SEC(".maps");

/* (h) and (k): the record in task storage, taken at exit; @timed: with a
 * clock read at entry and at exit, the time summed per CPU. */
static __always_inline void proto_start_enter(long id, bool timed)
{
	struct proto_start *st;

	if ((u64)id >= PROTO_SLOTS)
		return;
	st = bpf_task_storage_get(&proto_starts, bpf_get_current_task_btf(), 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (st) {
		st->slot = id;
		st->ts = timed ? bpf_ktime_get_ns() : 1;
	}
}

static __always_inline void proto_start_exit(bool timed)
{
	struct proto_start *st = bpf_task_storage_get(&proto_starts, bpf_get_current_task_btf(), 0, 0);
	struct proto_counts *c;
	u32 zero = 0;

	if (!st || !st->ts)
		return;
	if (timed) {
		c = bpf_map_lookup_elem(&proto_time, &zero);
		if (c)
			c->total_ns += bpf_ktime_get_ns() - st->ts;
	}
	st->ts = 0;
	proto_count(1, st->slot);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(proto_start_storage_enter, struct pt_regs *regs, long id)
{
	proto_start_enter(id, false);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(proto_start_storage_exit, struct pt_regs *regs, long ret)
{
	proto_start_exit(false);
	return 0;
}

static __always_inline void proto_inflight_enter(long id, bool guarded)
{
	u64 task = (u64)bpf_get_current_task_btf();
	struct proto_inflight *rec;
	u32 zero = 0;

	if ((u64)id >= PROTO_SLOTS)
		return;
	if (guarded)
		bpf_preempt_disable();
	rec = bpf_map_lookup_elem(&proto_inflight, &zero);
	if (rec) {
		rec->slot = id;
		rec->ts = 1;
		rec->task = task;
	}
	if (guarded)
		bpf_preempt_enable();
}

static __always_inline void proto_inflight_exit(bool guarded)
{
	u64 task = (u64)bpf_get_current_task_btf();
	struct proto_inflight *rec;
	u32 zero = 0;

	if (guarded)
		bpf_preempt_disable();
	rec = bpf_map_lookup_elem(&proto_inflight, &zero);
	if (rec && rec->task == task && rec->ts) {
		rec->ts = 0;
		proto_count(1, rec->slot);
	}
	if (guarded)
		bpf_preempt_enable();
}

SEC("tp_btf/sys_enter")
int BPF_PROG(proto_start_percpu_enter, struct pt_regs *regs, long id)
{
	proto_inflight_enter(id, true);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(proto_start_percpu_exit, struct pt_regs *regs, long ret)
{
	proto_inflight_exit(true);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(proto_start_unguarded_enter, struct pt_regs *regs, long id)
{
	proto_inflight_enter(id, false);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(proto_start_unguarded_exit, struct pt_regs *regs, long ret)
{
	proto_inflight_exit(false);
	return 0;
}

/* (k) as (h), timed (constat, --latency). */
SEC("tp_btf/sys_enter")
int BPF_PROG(proto_start_timed_enter, struct pt_regs *regs, long id)
{
	proto_start_enter(id, true);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(proto_start_timed_exit, struct pt_regs *regs, long ret)
{
	proto_start_exit(true);
	return 0;
}

/* (l) One cgroup (syscount -c): the task's cgroup id compared with the
 * target's, then one array increment. No id matches 0: "in" counts every
 * call (the work of a call inside the target), "out" (on both hooks, as
 * constat) leaves at the compare (what a process outside pays). */
const volatile u64 proto_target_cgid = 0;

static __always_inline u64 proto_cgroup_id(void)
{
	return bpf_get_current_task_btf()->cgroups->dfl_cgrp->kn->id;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(proto_target_in, struct pt_regs *regs, long ret)
{
	u64 nr = regs->orig_ax;

	if (nr >= PROTO_SLOTS || proto_cgroup_id() == proto_target_cgid)
		return 0;
	proto_count(1, nr);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(proto_target_out_enter, struct pt_regs *regs, long id)
{
	if (proto_cgroup_id() != proto_target_cgid)
		return 0;
	proto_count(1, id);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(proto_target_out_exit, struct pt_regs *regs, long ret)
{
	if (proto_cgroup_id() != proto_target_cgid)
		return 0;
	proto_count(1, regs->orig_ax);
	return 0;
}

/* (m) as (g), the cgroup id from bpf_get_current_cgroup_id(): one helper
 * call where (g) walks four BTF pointers (each load checked by the JIT). */
SEC("tp_btf/sys_exit")
int BPF_PROG(proto_last_helper, struct pt_regs *regs, long ret)
{
	struct proto_index *ix;
	u64 nr = regs->orig_ax;
	u32 zero = 0;

	if (nr >= PROTO_SLOTS)
		return 0;
	ix = bpf_map_lookup_elem(&proto_last_cgroup, &zero);
	proto_count_cached(ix, bpf_get_current_cgroup_id(), nr);
	return 0;
}
