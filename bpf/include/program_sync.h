/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Maps userspace uses to wait for running programs (common::bpf::flip_epoch).
 *
 * No program reads them. Updating an ARRAY_OF_MAPS makes the kernel wait for
 * an RCU grace period, and non-sleepable tracing programs run inside RCU
 * read-side sections: once the update returns, every program that could
 * still see an old epoch (or period) has finished.
 */
#ifndef __CONTRACE_PROGRAM_SYNC_H
#define __CONTRACE_PROGRAM_SYNC_H

struct sync_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u32);
} sync_inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, u32);
	__array(values, struct sync_inner);
} sync_outer SEC(".maps");

#endif /* __CONTRACE_PROGRAM_SYNC_H */
