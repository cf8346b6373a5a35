/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Structures shared by constat.bpf.c and the constat crate. */
#ifndef __CONSTAT_H
#define __CONSTAT_H

/* Syscall numbers at or above this are ignored (x32 and compat ranges). */
#define CONSTAT_NR_SLOTS 512

struct constat_stats {
	__u64 count;
	__u64 errors;
	__u64 total_ns;
	__u64 max_ns;
	__u32 last_errno; /* errno of the most recent failure (a hint, not a tally) */
	__u32 pad;
};

struct constat_key {
	__u64 cgroup_id;
	__u32 nr;
	__u32 pad;
};

/* Userspace reads these as the skeleton's generated types, mmap'd with an
 * 8-byte stride: no hidden padding, sizes multiples of 8. */
_Static_assert(sizeof(struct constat_stats) == 40, "constat_stats layout");
_Static_assert(sizeof(struct constat_key) == 16, "constat_key layout");

#endif /* __CONSTAT_H */
