/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Counter slots of the syscall tools (constat, syscount): native call n is
 * counted in slot n, a 32-bit call n (int 0x80 or a 32-bit process; its
 * number is the i386 table's) in slot SYSCALL_NATIVE_SLOTS + n. Userspace
 * derives the split as half of the slots it finds in the skeleton.
 *
 * Needs current_task.h.
 */
#ifndef __CONTRACE_SYSCALL_SLOTS_H
#define __CONTRACE_SYSCALL_SLOTS_H

#if !defined(__TARGET_ARCH_x86) && !defined(__TARGET_ARCH_arm64)
#error "the syscall number is read from pt_regs: x86 and arm64 only"
#endif

/* Calls numbered at or above this are not counted (x32 calls carry bit 30). */
#define SYSCALL_NATIVE_SLOTS 512
#define SYSCALL_SLOTS (2 * SYSCALL_NATIVE_SLOTS)

/* The number of the syscall being left, from the saved registers (also
 * valid when the call was stopped before sys_enter). */
static __always_inline u64 syscall_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_arm64)
	return (u64)(s64)regs->syscallno; /* -1 (not a syscall) fails the bound */
#else
	return regs->orig_ax;
#endif
}

/* Slot of call @nr (< SYSCALL_NATIVE_SLOTS) made by @task right now. */
static __always_inline u32 syscall_slot(struct task_struct *task, u32 nr)
{
	return task_in_compat_syscall(task) ? SYSCALL_NATIVE_SLOTS + nr : nr;
}

/* True when @regs are those of a native `syscall` instruction: the CPU
 * copies the return address into rcx and the flags into r11, so the saved
 * cx/r11 equal ip/flags (the very test the kernel makes to return with
 * SYSRET). A 32-bit call (int 0x80, sysenter, a 32-bit syscall) saves the
 * caller's own cx and r11 (or 0): never equal, unless the caller sets them
 * so on purpose. Registers only: for hot paths that have no task at hand. */
static __always_inline bool regs_native_syscall(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return regs->cx == regs->ip && regs->r11 == regs->flags;
#else
	return true;
#endif
}

#endif /* __CONTRACE_SYSCALL_SLOTS_H */
