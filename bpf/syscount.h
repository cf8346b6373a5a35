/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Structures shared by syscount.bpf.c and the syscount crate. */
#ifndef __SYSCOUNT_H
#define __SYSCOUNT_H

/* Counter slots per epoch: native calls, then 32-bit calls (syscall_slots.h). */
#define SYSCOUNT_NR_SLOTS 1024
/* log2 latency buckets: slot k holds [2^k, 2^(k+1)) units, slot 0 also 0,
 * and the last slot everything from 2^31 units up. */
#define SYSCOUNT_HIST_SLOTS 32
#define SYSCOUNT_COMM_LEN 16

/* Per-syscall slot of the count-only / -L path (mmap'd by userspace). */
struct syscount_slot {
	__u64 count;
	__u64 total_ns;
	__u64 denied; /* with the entry hook: stopped before sys_enter (seccomp) */
};

struct syscount_stats {
	__u64 count;
	__u64 total_ns;
	__u64 denied;
	char comm[SYSCOUNT_COMM_LEN]; /* -P only: the process's comm (8-aligned) */
};

/* Key of the hashed modes (-P, --by-cgroup, --errno); unused parts are 0. */
struct syscount_key {
	__u64 cgroup_id; /* --by-cgroup */
	__u32 id;        /* syscall slot, or tgid with -P */
	__s32 err;       /* --errno: the errno a call failed with, 0 = success */
};

struct syscount_hist {
	__u64 slots[SYSCOUNT_HIST_SLOTS];
};

/* Userspace reads these as the skeleton's generated types (mmap'd with an
 * 8-byte stride, or as hash keys compared bytewise): no hidden padding. */
_Static_assert(SYSCOUNT_HIST_SLOTS == 32, "histogram index is masked with SLOTS - 1");
_Static_assert(sizeof(struct syscount_slot) == 24, "syscount_slot layout");
_Static_assert(sizeof(struct syscount_stats) == 40, "syscount_stats layout");
_Static_assert(sizeof(struct syscount_key) == 16, "syscount_key layout");
_Static_assert(sizeof(struct syscount_hist) == 8 * SYSCOUNT_HIST_SLOTS, "syscount_hist layout");

#endif /* __SYSCOUNT_H */
