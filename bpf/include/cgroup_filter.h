/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * In-kernel cgroup v2 filter for BTF-enabled programs (tp_btf).
 *
 * The target is the cgroup v2 id (its directory inode) and its depth below the
 * cgroup2 root, both written by userspace into .rodata before load: the
 * verifier then sees them as constants and drops the unused branches. The
 * check is pointer loads only (task->cgroups->dfl_cgrp->ancestors[level]),
 * no helper call beyond bpf_get_current_task_btf().
 */
#ifndef __CONTRACE_CGROUP_FILTER_H
#define __CONTRACE_CGROUP_FILTER_H

#include <bpf/bpf_core_read.h>

const volatile bool filter_cgroup = false; /* trace one cgroup (and below) */
const volatile bool filter_exact = false;  /* ... but not its descendants */
const volatile u64 target_cgid = 0;        /* cgroup v2 id of the target */
const volatile u32 target_level = 0;       /* its depth below the root */

static __always_inline u64 task_cgroup_id(struct task_struct *task)
{
	return task->cgroups->dfl_cgrp->kn->id;
}

/* Parent steps walked with plain loads before falling back to the helper. */
#define CONTRACE_MAX_CGROUP_WALK 16

/* True when @task's cgroup v2 is the target (or below it, unless exact).
 *
 * Walks up from the task's cgroup to the target's depth by parent pointers:
 * loads only, no helper call, and most tasks outside the target leave at the
 * depth check. (struct cgroup's ancestors[] flexible array cannot be indexed
 * through BTF pointers: the verifier rejects offsets past its declared size.)
 */
static __always_inline bool task_in_target(struct task_struct *task)
{
	struct cgroup *cg;
	int diff;

	if (!filter_cgroup)
		return true;
	cg = task->cgroups->dfl_cgrp;
	if (filter_exact)
		return cg->kn->id == target_cgid;
	diff = cg->level - (int)target_level;
	if (diff < 0)
		return false;
	if (diff > CONTRACE_MAX_CGROUP_WALK)
		return bpf_get_current_ancestor_cgroup_id(target_level) == target_cgid;
	for (int i = 0; i < CONTRACE_MAX_CGROUP_WALK; i++) {
		if (i >= diff)
			break;
		cg = cg->self.parent->cgroup;
	}
	return cg->kn->id == target_cgid;
}

#endif /* __CONTRACE_CGROUP_FILTER_H */
