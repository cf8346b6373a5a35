// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup births: every directory made in the cgroup2 hierarchy, as its id and
 * path, the moment it is made (tp_btf/cgroup_mkdir). Kernel facts only:
 * userspace (common::identity) turns paths into containers while they still
 * exist, so a container born and gone between two reports keeps its name.
 *
 * mkdir is rare: one ring-buffer record each, woken at once.
 */
#include "contrace_vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "cgroup_births.h"

char LICENSE[] SEC("license") = "GPL";

/* Only the fields read here (CO-RE flavors: libbpf ignores the ___ suffix),
 * so the shared contrace_vmlinux.h stays as it is. */
struct cgroup_root___births {
	int hierarchy_id;
} __attribute__((preserve_access_index));

struct cgroup___births {
	struct kernfs_node *kn;
	struct cgroup_root___births *root;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} births SEC(".maps");

u64 lost = 0; /* births that found the ring buffer full */

/* Makes the event type part of the skeleton's types. */
struct cgroup_birth unused_birth = {};

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(cgroup_mkdir, struct cgroup *cgrp, const char *path)
{
	struct cgroup___births *cg = (void *)cgrp;
	struct cgroup_birth *b;
	long n;

	/* cgroup2 is hierarchy 0; a hybrid host's v1 hierarchies (where
	 * runtimes make the same paths again) have their own ids. */
	if (BPF_CORE_READ(cg, root, hierarchy_id) != 0)
		return 0;
	b = bpf_ringbuf_reserve(&births, sizeof(*b), 0);
	if (!b) {
		__sync_fetch_and_add(&lost, 1);
		return 0;
	}
	b->id = BPF_CORE_READ(cg, kn, id);
	n = bpf_probe_read_kernel_str(b->path, sizeof(b->path), path);
	b->len = n > 0 ? n - 1 : 0;
	b->pad = 0;
	bpf_ringbuf_submit(b, 0);
	return 0;
}
