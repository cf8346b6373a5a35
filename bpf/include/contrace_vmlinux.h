/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The few kernel types contrace's BPF programs touch, written by hand.
 *
 * Every struct carries preserve_access_index, so libbpf relocates each field
 * access against the running kernel's BTF (CO-RE): only the fields we name
 * must exist, at whatever offset the kernel puts them. This replaces a
 * multi-megabyte generated vmlinux.h that would pin one kernel's layout.
 */
#ifndef __CONTRACE_VMLINUX_H
#define __CONTRACE_VMLINUX_H

typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __u8 u8;
typedef __s16 s16;
typedef __u16 u16;
typedef __s32 s32;
typedef __u32 u32;
typedef __s64 s64;
typedef __u64 u64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
#define true 1
#define false 0

/* uapi/linux/bpf.h values used by bpf_helpers.h users (stable ABI). */
enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_HASH = 5,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_ARRAY_OF_MAPS = 12,
	BPF_MAP_TYPE_QUEUE = 22,
	BPF_MAP_TYPE_RINGBUF = 27,
	BPF_MAP_TYPE_TASK_STORAGE = 29,
	BPF_MAP_TYPE_CGRP_STORAGE = 32, /* 6.2+ */
};
enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
};
enum {
	BPF_F_NO_PREALLOC = 1,
	BPF_F_MMAPABLE = (1U << 10),
};
enum {
	BPF_LOCAL_STORAGE_GET_F_CREATE = 1,
};
enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
};

/* ---- kernel structures, relocated by CO-RE ---------------------------- */

#if defined(__TARGET_ARCH_x86)
/* bx and cx carry the first two arguments of a 32-bit (int 0x80) call;
 * ip/flags against cx/r11 tell a native `syscall` (see syscall_slots.h). */
struct pt_regs {
	unsigned long bx;
	unsigned long cx;
	unsigned long r11;
	unsigned long di;
	unsigned long si;
	unsigned long dx;
	unsigned long r10;
	unsigned long r8;
	unsigned long r9;
	unsigned long orig_ax;
	unsigned long ip;
	unsigned long flags;
} __attribute__((preserve_access_index));
#elif defined(__TARGET_ARCH_arm64)
struct pt_regs {
	unsigned long regs[31];
	unsigned long orig_x0;
	int syscallno;
} __attribute__((preserve_access_index));
#else
struct pt_regs {
	unsigned long dummy;
} __attribute__((preserve_access_index));
#endif

struct kernfs_node {
	u64 id;
} __attribute__((preserve_access_index));

struct cgroup;

struct cgroup_subsys_state {
	struct cgroup *cgroup;
	struct cgroup_subsys_state *parent;
} __attribute__((preserve_access_index));

struct cgroup {
	struct cgroup_subsys_state self;
	struct kernfs_node *kn;
	int level;
} __attribute__((preserve_access_index));

/* The cgroup's ancestors by level, a flexible array at its end: pointers
 * since 6.0, ids before (CO-RE flavors: libbpf ignores the ___ suffix). Only
 * read through bpf_probe_read_kernel: the verifier refuses offsets past a
 * flexible array's declared size. */
struct cgroup___ancestors {
	struct cgroup *ancestors[0];
} __attribute__((preserve_access_index));

struct cgroup___ancestor_ids {
	u64 ancestor_ids[0];
} __attribute__((preserve_access_index));

struct css_set {
	struct cgroup *dfl_cgrp;
} __attribute__((preserve_access_index));

struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct uts_namespace { struct ns_common ns; } __attribute__((preserve_access_index));
struct ipc_namespace { struct ns_common ns; } __attribute__((preserve_access_index));
struct mnt_namespace { struct ns_common ns; } __attribute__((preserve_access_index));
struct pid_namespace { struct ns_common ns; } __attribute__((preserve_access_index));
struct net { struct ns_common ns; } __attribute__((preserve_access_index));
struct cgroup_namespace { struct ns_common ns; } __attribute__((preserve_access_index));
struct time_namespace { struct ns_common ns; } __attribute__((preserve_access_index));
struct user_namespace { struct ns_common ns; } __attribute__((preserve_access_index));

struct nsproxy {
	struct uts_namespace *uts_ns;
	struct ipc_namespace *ipc_ns;
	struct mnt_namespace *mnt_ns;
	struct pid_namespace *pid_ns_for_children;
	struct net *net_ns;
	struct time_namespace *time_ns;
	struct time_namespace *time_ns_for_children; /* 5.6+: bpf_core_field_exists */
	struct cgroup_namespace *cgroup_ns;
} __attribute__((preserve_access_index));

struct cred {
	struct user_namespace *user_ns;
} __attribute__((preserve_access_index));

struct upid {
	int nr;
	struct pid_namespace *ns;
} __attribute__((preserve_access_index));

/* numbers[] is really [level + 1]: index it through bpf_probe_read_kernel. */
struct pid {
	unsigned int level;
	struct upid numbers[1];
} __attribute__((preserve_access_index));

typedef u32 dev_t;
typedef u16 umode_t;

struct super_block {
	dev_t s_dev;
} __attribute__((preserve_access_index));

struct inode {
	umode_t i_mode;
	struct super_block *i_sb;
	unsigned long i_ino;
} __attribute__((preserve_access_index));

struct file {
	struct inode *f_inode;
} __attribute__((preserve_access_index));

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
} __attribute__((preserve_access_index));

struct files_struct {
	struct fdtable *fdt;
} __attribute__((preserve_access_index));

/* x86: TS_COMPAT in status marks a 32-bit syscall in progress (4.9+; before,
 * status lived in thread_struct: see current_task.h). */
struct thread_info {
	u32 status;
} __attribute__((preserve_access_index));

struct thread_struct {
	u32 status;
} __attribute__((preserve_access_index));

/* mode 2 (SECCOMP_MODE_FILTER): the thread runs under a seccomp filter.
 * Absent on kernels built without CONFIG_SECCOMP. */
struct seccomp {
	int mode;
} __attribute__((preserve_access_index));

struct task_struct {
	struct thread_info thread_info; /* CONFIG_THREAD_INFO_IN_TASK (x86: 4.9+) */
	unsigned int flags; /* PF_* */
	int pid;
	int tgid;
	char comm[16];
	struct css_set *cgroups;
	struct nsproxy *nsproxy;
	const struct cred *cred;
	const struct cred *real_cred;
	struct task_struct *group_leader;
	struct pid *thread_pid;
	struct files_struct *files;
	u64 start_time; /* monotonic ns at creation */
	struct seccomp seccomp;
	struct thread_struct thread;
} __attribute__((preserve_access_index));

/* uapi/linux/sched.h: clone3's argument (only the first field is read). */
struct clone_args {
	u64 flags;
} __attribute__((preserve_access_index));

#endif /* __CONTRACE_VMLINUX_H */
