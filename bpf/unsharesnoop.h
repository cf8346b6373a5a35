/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Structures shared by unsharesnoop.bpf.c and the unsharesnoop crate. */
#ifndef __UNSHARESNOOP_H
#define __UNSHARESNOOP_H

#define UNSHARESNOOP_COMM_LEN 16

/* Which system call an event is about. */
enum unsharesnoop_call {
	US_CALL_UNSHARE = 0,
	US_CALL_SETNS = 1,
	US_CALL_CLONE = 2,
	US_CALL_CLONE3 = 3,
};

/* The caller's namespaces, as the inode numbers /proc/<pid>/ns/ shows. */
enum unsharesnoop_ns {
	US_NS_MNT = 0,
	US_NS_PID = 1,		/* the pid namespace the caller lives in */
	US_NS_NET = 2,
	US_NS_UTS = 3,
	US_NS_IPC = 4,
	US_NS_USER = 5,
	US_NS_CGROUP = 6,
	US_NS_TIME = 7,
	US_NS_PID_FOR_CHILDREN = 8,  /* what unshare(CLONE_NEWPID) changes */
	US_NS_TIME_FOR_CHILDREN = 9, /* what unshare(CLONE_NEWTIME) changes */
	US_NS_SLOTS = 10,
};

/* Marks of an event (bits of unsharesnoop_event.marks). */
enum unsharesnoop_mark {
	US_MARK_COMPAT = 1,   /* a 32-bit call (int 0x80 or a 32-bit process) */
	US_MARK_DENIED = 2,   /* stopped before sys_enter (seccomp): nothing ran */
	US_MARK_ENTERING = 4, /* setns from outside the target into one of its namespaces */
};

/* One ring-buffer record per traced call, written at its exit. */
struct unsharesnoop_event {
	__u64 ts_ns;	  /* bpf_ktime_get_ns() when the call entered (denied: left) */
	__u64 flags;	  /* unshare/clone/clone3 flags; setns: nstype */
	__s64 ret;	  /* return value (clone: the child's pid) */
	__u64 cgroup_id;  /* caller's cgroup v2 id at entry */
	__u64 target_ino; /* setns: inode of the file behind fd, 0 if unknown */
	__u32 pid;	  /* thread group id */
	__u32 tid;
	__u32 call;	  /* enum unsharesnoop_call */
	__s32 fd;	  /* setns: the fd argument */
	__u32 marks;	  /* enum unsharesnoop_mark bits */
	__u32 pad;
	__u32 ns_before[US_NS_SLOTS];
	__u32 ns_after[US_NS_SLOTS];
	char comm[UNSHARESNOOP_COMM_LEN];
};

/* Userspace reads records as the skeleton's generated type: no hidden
 * padding, comm 8-aligned (it is copied as two u64). */
_Static_assert(sizeof(struct unsharesnoop_event) == 160, "unsharesnoop_event layout");

#endif /* __UNSHARESNOOP_H */
