/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Structures shared by constat.bpf.c and the constat crate. */
#ifndef __CONSTAT_H
#define __CONSTAT_H

/* Counter slots per epoch: native calls, then 32-bit calls (syscall_slots.h). */
#define CONSTAT_NR_SLOTS 1024

struct constat_stats {
	__u64 count;
	__u64 errors;
	__u64 denied; /* stopped before sys_enter (seccomp): no time measured */
	__u64 total_ns;
	__u64 max_ns;
};

struct constat_key {
	__u64 cgroup_id;
	__u32 slot;
	__u32 pad;
};

/* Failed calls per errno: (cgroup, slot, errno) -> count. cgroup_id is 0
 * with one target. Only failures touch it. */
struct constat_errno_key {
	__u64 cgroup_id;
	__u32 slot;
	__u32 err;
};

/* Userspace reads these as the skeleton's generated types, mmap'd with an
 * 8-byte stride: no hidden padding, sizes multiples of 8. */
_Static_assert(sizeof(struct constat_stats) == 40, "constat_stats layout");
_Static_assert(sizeof(struct constat_key) == 16, "constat_key layout");
_Static_assert(sizeof(struct constat_errno_key) == 16, "constat_errno_key layout");

#endif /* __CONSTAT_H */
