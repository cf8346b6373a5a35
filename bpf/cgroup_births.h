/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Structures shared by cgroup_births.bpf.c and common's identity layer. */
#ifndef __CGROUP_BIRTHS_H
#define __CGROUP_BIRTHS_H

/* Longest path kept; a longer one arrives cut (len == CGROUP_BIRTH_PATH_LEN - 1)
 * and userspace looks that cgroup up in the tree instead. */
#define CGROUP_BIRTH_PATH_LEN 512

/* One cgroup2 directory, the moment it is made. */
struct cgroup_birth {
	__u64 id;  /* cgroup id (the directory's inode) */
	__u32 len; /* bytes of path, without the NUL */
	__u32 pad;
	char path[CGROUP_BIRTH_PATH_LEN]; /* relative to the cgroup2 mount: /docker/<id> */
};

#endif /* __CGROUP_BIRTHS_H */
