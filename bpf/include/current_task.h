/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The current task on every supported kernel (5.8+), and what a syscall hook
 * needs to know about it: is this a 32-bit call, does a seccomp filter apply.
 *
 * 5.11+ gives tracing programs a BTF-typed task pointer
 * (bpf_get_current_task_btf): its fields are plain loads the verifier checks.
 * Older kernels have only bpf_get_current_task(), an untyped address whose
 * fields are read with CO-RE probe reads. Userspace probes for the helper and
 * sets `task_btf` in .rodata before load (common::kernel); the verifier sees
 * a constant and prunes the path not taken, so new kernels pay nothing for
 * the fallback (a dead helper call on 5.10 is pruned the same way).
 *
 * KREAD(ptr, field, ...) reads ptr->field->... either way. Use it for every
 * pointer that comes from current_task(), and for pointers read through it.
 */
#ifndef __CONTRACE_CURRENT_TASK_H
#define __CONTRACE_CURRENT_TASK_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "settings.h"

const volatile bool task_btf = true;         /* bpf_get_current_task_btf() exists */
const volatile bool compat_syscalls = false; /* the kernel runs 32-bit syscalls */

static __always_inline struct task_struct *current_task(void)
{
	if (SETTING(task_btf))
		return bpf_get_current_task_btf();
	return (struct task_struct *)bpf_get_current_task();
}

#define CT_ARROW1(s, a) ((s)->a)
#define CT_ARROW2(s, a, b) ((s)->a->b)
#define CT_ARROW3(s, a, b, c) ((s)->a->b->c)
#define CT_ARROW4(s, a, b, c, d) ((s)->a->b->c->d)
#define CT_ARROW5(s, a, b, c, d, e) ((s)->a->b->c->d->e)
#define CT_PICK(_1, _2, _3, _4, _5, N, ...) N
#define CT_ARROW(s, ...)                                                               \
	CT_PICK(__VA_ARGS__, CT_ARROW5, CT_ARROW4, CT_ARROW3, CT_ARROW2, CT_ARROW1)       \
	(s, __VA_ARGS__)

/* src->a->b->...: plain loads through BTF pointers, CO-RE probe reads otherwise. */
#define KREAD(src, ...) (SETTING(task_btf) ? CT_ARROW(src, __VA_ARGS__) : BPF_CORE_READ(src, __VA_ARGS__))

/* Copies @size bytes at @field (an array inside *src) into @dst. */
#define KREAD_ARRAY(dst, size, src, field)                                             \
	do {                                                                           \
		if (SETTING(task_btf))                                                 \
			__builtin_memcpy(dst, (src)->field, size);                     \
		else                                                                   \
			bpf_core_read(dst, size, &(src)->field);                       \
	} while (0)

/* x86 TS_COMPAT: the task is inside a 32-bit syscall (int 0x80, or a 32-bit
 * process). Set at entry, cleared on the way back to user mode, so it holds
 * at both sys_enter and sys_exit. */
#define CONTRACE_TS_COMPAT 0x0002

/* True inside a 32-bit syscall. Its numbers are the i386 table's: counters
 * keep them apart (a separate range of slots). */
static __always_inline bool task_in_compat_syscall(struct task_struct *task)
{
#if defined(__TARGET_ARCH_x86)
	if (!SETTING(compat_syscalls))
		return false;
	/* thread_info.status since 4.9; thread_struct.status before. */
	if (bpf_core_field_exists(task->thread_info.status))
		return KREAD(task, thread_info.status) & CONTRACE_TS_COMPAT;
	if (bpf_core_field_exists(task->thread.status))
		return KREAD(task, thread.status) & CONTRACE_TS_COMPAT;
	return false;
#else
	/* arm64 runs 32-bit code only in 32-bit tasks: not traced as such yet. */
	return false;
#endif
}

/* SECCOMP_MODE_FILTER */
#define CONTRACE_SECCOMP_MODE_FILTER 2

/* True when a seccomp filter applies to the task: only then can a call be
 * denied before sys_enter (kernels without CONFIG_SECCOMP: never). */
static __always_inline bool task_under_seccomp_filter(struct task_struct *task)
{
	if (!bpf_core_field_exists(task->seccomp))
		return false;
	return KREAD(task, seccomp.mode) == CONTRACE_SECCOMP_MODE_FILTER;
}

#endif /* __CONTRACE_CURRENT_TASK_H */
