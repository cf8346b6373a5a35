/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Records of the per-syscall tracepoints (syscalls/sys_enter_<name>,
 * syscalls/sys_exit_<name>) that contrace's `tracepoint/` programs receive.
 *
 * These records are built by the ftrace syscall events, not by a
 * TRACE_EVENT, so the kernel's BTF has no type for them: the layout is
 * copied from /sys/kernel/tracing/events/syscalls/<name>/format. It has been
 * the same since syscall events were added: an 8-byte common header, the
 * syscall number padded to 8, then every argument widened to 8 bytes (an
 * `int fd` occupies 8) in declaration order; exit records carry `long ret`.
 * Plain structs, no preserve_access_index: there is nothing to relocate to.
 */
#ifndef __CONTRACE_SYSCALL_TP_VMLINUX_H
#define __CONTRACE_SYSCALL_TP_VMLINUX_H

/* Common to every syscall record. The first 8 bytes (common_*) cannot be
 * read by tracepoint programs; they are here only to fix the offsets. */
struct syscall_tp_header {
	unsigned short common_type;
	unsigned char common_flags;
	unsigned char common_preempt_count;
	int common_pid;
	int syscall_nr;
	int __pad;
};

/* sys_exit_<name>: the return value. */
struct syscall_tp_exit {
	struct syscall_tp_header hdr;
	long ret;
};

/* sys_enter_unshare(unsigned long unshare_flags) */
struct syscall_tp_enter_unshare {
	struct syscall_tp_header hdr;
	unsigned long unshare_flags;
};

/* sys_enter_setns(int fd, int flags): each int in an 8-byte slot. */
struct syscall_tp_enter_setns {
	struct syscall_tp_header hdr;
	unsigned long fd;
	unsigned long nstype;
};

/* sys_enter_clone(unsigned long clone_flags, unsigned long newsp,
 *                 int *parent_tidptr, int *child_tidptr, unsigned long tls)
 * (x86 order; only clone_flags, the first argument everywhere, is read). */
struct syscall_tp_enter_clone {
	struct syscall_tp_header hdr;
	unsigned long clone_flags;
	unsigned long newsp;
	unsigned long parent_tidptr;
	unsigned long child_tidptr;
	unsigned long tls;
};

/* sys_enter_clone3(struct clone_args *uargs, size_t size) */
struct syscall_tp_enter_clone3 {
	struct syscall_tp_header hdr;
	unsigned long uargs;
	unsigned long size;
};

#endif /* __CONTRACE_SYSCALL_TP_VMLINUX_H */
