/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Structures shared by syscalls.bpf.c (the syscall engine) and the
 * contrace-engine crate, which reads them as the skeleton's types. */
#ifndef __SYSCALLS_H
#define __SYSCALLS_H

/* Counter slots per epoch: native calls, then 32-bit calls (syscall_slots.h). */
#define SYSCALLS_NR_SLOTS 1024
/* log2 latency buckets: slot k holds [2^k, 2^(k+1)) units, slot 0 also 0,
 * and the last slot everything from 2^31 units up. */
#define SYSCALLS_HIST_SLOTS 32
#define SYSCALLS_COMM_LEN 16

/* What was counted for one syscall slot (array) or one key (hash). */
struct syscall_counts {
	__u64 count;    /* calls (not returns: see syscalls.bpf.c) */
	__u64 errors;   /* failed as the process saw it: restart codes are not failures */
	__u64 denied;   /* with the entry hook: stopped before sys_enter (seccomp) */
	__u64 total_ns; /* timed modes: time inside the calls */
	__u64 max_ns;   /* timed modes: the longest call */
};

/* A hashed row: the counts, and with -P the process's name. */
struct syscall_keyed {
	struct syscall_counts c;
	char comm[SYSCALLS_COMM_LEN];
};

/* Key of the hashed modes; unused parts are 0. */
struct syscall_key {
	__u64 cgroup_id; /* by cgroup */
	__u32 id;        /* syscall slot, or tgid by process */
	__s32 err;       /* by errno: the errno a call failed with, 0 = success */
};

/* Failed calls per errno (only failures touch it): cgroup_id is 0 unless
 * counts are keyed by cgroup. */
struct syscall_errno_key {
	__u64 cgroup_id;
	__u32 slot;
	__u32 err;
};

/* One cgroup's native calls in one epoch (per CPU, the exporter's common
 * path): u32 is enough between two drains. */
struct syscall_cgroup_slots {
	__u32 count[SYSCALLS_NR_SLOTS / 2];
};

/* Time in one cgroup's native calls in one epoch (timed, per CPU). */
struct syscall_cgroup_ns {
	__u64 ns[SYSCALLS_NR_SLOTS / 2];
};

/* In the errno tally's err: a call a seccomp filter denied (its errno, or
 * 0, below the flag). Only with the per-cgroup slot arrays. */
#define SYSCALLS_ERR_DENIED 0x80000000U

struct syscall_hist {
	__u64 slots[SYSCALLS_HIST_SLOTS];
};

/* Userspace reads these as the skeleton's generated types (mmap'd with an
 * 8-byte stride, or as hash keys compared bytewise): no hidden padding. */
_Static_assert(SYSCALLS_HIST_SLOTS == 32, "histogram index is masked with SLOTS - 1");
_Static_assert(sizeof(struct syscall_counts) == 40, "syscall_counts layout");
_Static_assert(sizeof(struct syscall_keyed) == 56, "syscall_keyed layout");
_Static_assert(sizeof(struct syscall_key) == 16, "syscall_key layout");
_Static_assert(sizeof(struct syscall_errno_key) == 16, "syscall_errno_key layout");
_Static_assert(sizeof(struct syscall_cgroup_slots) == 2 * SYSCALLS_NR_SLOTS, "cgroup slots layout");
_Static_assert(sizeof(struct syscall_hist) == 8 * SYSCALLS_HIST_SLOTS, "syscall_hist layout");

#endif /* __SYSCALLS_H */
