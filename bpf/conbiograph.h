/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Structures shared by conbiograph.bpf.c and the conbiograph crate. */
#ifndef __CONBIOGRAPH_H
#define __CONBIOGRAPH_H

/* Period slots in the ring (power of two). Userspace drains every period,
 * so it may fall this many periods behind before slots are reused. */
#define CBG_NR_SLOTS 256

/* Index of the read and write halves of every counter pair. */
#define CBG_READ 0
#define CBG_WRITE 1

/* One period's I/O on one CPU. */
struct cbg_period {
	__u64 bytes[2];     /* bytes queued, [CBG_READ] and [CBG_WRITE] */
	__u64 ops[2];       /* bios queued */
	__u64 lat_ns[2];    /* sum of issue->complete times completed in the period */
	__u64 lat_count[2]; /* completions in lat_ns */
	__u64 dirtier_bytes; /* writes charged through the dirtying cgroup (writeback) */
};

/* Devices told apart per CPU; more distinct devices count as dropped. */
#define CBG_NR_DEVS 8

/* Totals of one block device (kernel dev_t, 0 = free slot) on one CPU. */
struct cbg_dev_stats {
	__u32 dev;
	__u32 pad;
	__u64 bytes[2];
	__u64 ops[2];
};

/* A CPU's device table: scanned linearly (one inlined array lookup, no
 * hash helper on the I/O path). */
struct cbg_devices {
	struct cbg_dev_stats slot[CBG_NR_DEVS];
};

/* Block I/O charged to one cgroup (per-cgroup mode), on one CPU. */
struct cbg_io {
	__u64 bytes[2]; /* [CBG_READ], [CBG_WRITE] */
	__u64 ops[2];
	__u64 writeback_bytes; /* writes submitted by someone else (flusher, */
	__u64 writeback_ops;   /* sync, another cgroup's fsync): written back */
};

/* Owner key of I/O charged to no cgroup: kernel threads' own I/O (journal,
 * metadata), writeback of pages whose dirtier is unknown. */
#define CBG_OWNER_NONE 0ULL

/* What a dirtied inode records about its latest dirtier. */
struct cbg_dirtier {
	__u64 cgid;    /* its cgroup v2 id */
	__u64 io_cgid; /* the cgroup its io controller state lives in (blkcg) */
	__u32 in_target;
	__u32 pad;
};

/* Userspace reads these as the skeleton's generated types: no hidden padding. */
_Static_assert(sizeof(struct cbg_io) == 48, "cbg_io layout");
_Static_assert(sizeof(struct cbg_dirtier) == 24, "cbg_dirtier layout");
_Static_assert(sizeof(struct cbg_period) == 72, "cbg_period layout");
_Static_assert(sizeof(struct cbg_dev_stats) == 40, "cbg_dev_stats layout");
_Static_assert(sizeof(struct cbg_devices) == 40 * CBG_NR_DEVS, "cbg_devices layout");

#endif /* __CONBIOGRAPH_H */
