/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * In-kernel aggregation shared by the counting tools (constat, syscount).
 *
 * Interval reports lose nothing: every counter exists twice, selected by
 * `epoch`. Userspace flips epoch, waits for running programs to finish (an
 * ARRAY_OF_MAPS update waits for an RCU grace period, program_sync.h), then
 * reads and clears the half nobody writes any more (common::bpf::flip_epoch).
 *
 * One-target counters live in an mmap'd array laid out [cpu][epoch][nr]
 * (common::mapped::EpochSlots reads it): each CPU writes only its own rows,
 * so plain increments are safe, as in a per-CPU map whose lookup this equals
 * once inlined. Keyed counters live in per-CPU hashes, one per epoch.
 */
#ifndef __CONTRACE_AGGREGATE_H
#define __CONTRACE_AGGREGATE_H

#include <bpf/bpf_helpers.h>

u32 epoch = 0;   /* which half of the counters is live (0 or 1) */
u64 dropped = 0; /* updates that found no room (map full, no storage) */

/* Index of counter @nr of this CPU's live half in a [cpu][epoch][nr] array
 * of @nr_slots counters per half. */
static __always_inline u32 epoch_slot(u32 ep, u32 nr, u32 nr_slots)
{
	return (bpf_get_smp_processor_id() * 2 + (ep & 1)) * nr_slots + nr;
}

/* Finds or creates @key in a hash; NULL (and counted in `dropped`) when the
 * map is full or memory ran out. */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *zero)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	/* EEXIST from a racing CPU is fine: the lookup finds its entry. */
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(map, key);
	if (!v)
		__sync_fetch_and_add(&dropped, 1);
	return v;
}

/* floor(log2(v)), 0 for 0 and 1: the bucket of a log2 histogram. */
static __always_inline u32 log2_u64(u64 v)
{
	u32 r, shift;

	r = (v > 0xffffffffULL) << 5;
	v >>= r;
	shift = (v > 0xffff) << 4;
	v >>= shift;
	r |= shift;
	shift = (v > 0xff) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xf) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	return r | (u32)(v >> 1);
}

#endif /* __CONTRACE_AGGREGATE_H */
