/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading a .rodata setting at most once per program.
 *
 * Settings are `const volatile`, so the compiler keeps them for userspace to
 * set before load; the verifier then sees constants and prunes the branches
 * they decide. But a volatile read is repeated at every use, and the
 * verifier leaves each load in place even where it pruned the branch the
 * load fed: on a hot path that runs through several headers, a dozen dead
 * loads per call. SETTING(x) reads x with a plain load in inline asm that
 * has no side effects, which the compiler merges with the program's other
 * reads of x (and drops when unused).
 */
#ifndef __CONTRACE_SETTINGS_H
#define __CONTRACE_SETTINGS_H

#define __SETTING_LOAD(var, width)                                                     \
	({                                                                             \
		u64 __setting;                                                         \
		asm("%0 = *(" width " *)(%1 + 0)" : "=r"(__setting) : "r"(&(var)));   \
		__setting;                                                             \
	})

/* The value of .rodata setting @var (1, 4 or 8 bytes; not an array) as a
 * u64: the load zero-extends, and a cast to a narrower type would cost
 * masking instructions (signed settings: cast at the use). Only for
 * settings: a variable the programs write would have its reads merged
 * across the writes. */
#define SETTING(var)                                                                   \
	({                                                                             \
		_Static_assert(sizeof(var) == 1 || sizeof(var) == 4 || sizeof(var) == 8, \
			       "SETTING(): a 1, 4 or 8-byte .rodata setting");          \
		__builtin_choose_expr(sizeof(var) == 1, __SETTING_LOAD(var, "u8"),     \
				      __builtin_choose_expr(sizeof(var) == 4,          \
							    __SETTING_LOAD(var, "u32"), \
							    __SETTING_LOAD(var, "u64"))); \
	})

#endif /* __CONTRACE_SETTINGS_H */
