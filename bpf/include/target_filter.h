/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * In-kernel target filter (common::target::Target): one cgroup v2 (with or
 * without its descendants) and/or one process.
 *
 * The target is the cgroup v2 id (its directory inode), its depth below the
 * cgroup2 root and a thread group id, written by userspace into .rodata
 * before load (common::set_target_filter!): the verifier then sees them as
 * constants and drops the unused branches. The check is pointer loads only
 * (task->tgid, task->cgroups->dfl_cgrp and its parents), no helper call
 * beyond fetching the task (on kernels without BTF task pointers the loads
 * are probe reads: current_task.h).
 */
#ifndef __CONTRACE_TARGET_FILTER_H
#define __CONTRACE_TARGET_FILTER_H

#include <bpf/bpf_core_read.h>
#include "current_task.h"

const volatile bool filter_cgroup = false; /* trace one cgroup (and below) */
const volatile bool filter_exact = false;  /* ... but not its descendants */
const volatile u64 target_cgid = 0;        /* cgroup v2 id of the target */
const volatile u32 target_level = 0;       /* its depth below the root */
const volatile u32 target_tgid = 0;        /* one process (-p), 0 = any */

static __always_inline u64 task_cgroup_id(struct task_struct *task)
{
	return KREAD(task, cgroups, dfl_cgrp, kn, id);
}

/* The id of @cg's ancestor at depth @level (@level <= @cg's depth). */
static __always_inline u64 cgroup_ancestor_id(struct cgroup *cg, u32 level)
{
	struct cgroup___ancestors *a = (void *)cg;
	struct cgroup___ancestor_ids *ids = (void *)cg;
	struct cgroup *anc = NULL;
	u64 id = 0;

	if (bpf_core_field_exists(a->ancestors)) {
		bpf_core_read(&anc, sizeof(anc), &a->ancestors[level]);
		return BPF_CORE_READ(anc, kn, id);
	}
	bpf_core_read(&id, sizeof(id), &ids->ancestor_ids[level]);
	return id;
}

/* Parent steps walked with plain loads before reading the ancestors array. */
#define CONTRACE_MAX_CGROUP_WALK 16

/* True when @task is the target process (if one is set) and its cgroup v2
 * is the target cgroup (or below it, unless exact).
 *
 * Walks up from the task's cgroup to the target's depth by parent pointers:
 * loads only, no helper call, and most tasks outside the target leave at the
 * depth check. Deeper than CONTRACE_MAX_CGROUP_WALK below the target, the
 * cgroup's own array of ancestors is read instead (a probe read: the
 * verifier refuses indexing a flexible array through BTF pointers, and
 * bpf_get_current_ancestor_cgroup_id is 5.18+ for tracing programs).
 */
static __always_inline bool task_in_target(struct task_struct *task)
{
	struct cgroup *cg;
	int diff;

	if (SETTING(target_tgid) && KREAD(task, tgid) != SETTING(target_tgid))
		return false;
	if (!SETTING(filter_cgroup))
		return true;
	cg = KREAD(task, cgroups, dfl_cgrp);
	if (SETTING(filter_exact))
		return KREAD(cg, kn, id) == SETTING(target_cgid);
	diff = KREAD(cg, level) - (int)SETTING(target_level);
	if (diff < 0)
		return false;
	if (diff > CONTRACE_MAX_CGROUP_WALK)
		return cgroup_ancestor_id(cg, SETTING(target_level)) == SETTING(target_cgid);
	for (int i = 0; i < CONTRACE_MAX_CGROUP_WALK; i++) {
		if (i >= diff)
			break;
		cg = KREAD(cg, self.parent, cgroup);
	}
	return KREAD(cg, kn, id) == SETTING(target_cgid);
}

#endif /* __CONTRACE_TARGET_FILTER_H */
