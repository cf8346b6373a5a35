// SPDX-License-Identifier: GPL-2.0
/*
 * conbiograph: a container's block I/O per period, charged to the container
 * that caused it.
 *
 * Attribution of a bio (block_bio_queue):
 *  1. submitted by a user task of the target (direct I/O, reads, its own
 *     fsync): charged at once;
 *  2. a write submitted by anyone else (writeback kworkers, a `sync` run
 *     elsewhere): charged when the target dirtied the pages. The writer's
 *     context is only visible when pages are dirtied, so
 *     writeback_dirty_folio records inode -> "dirtied by the target" and the
 *     bio's first page leads back to that inode.
 * Block-device inodes (filesystem metadata shared by every writer) are never
 * recorded: the journal threads' writes belong to nobody's container.
 *
 * Counters land in per-CPU period slots: slot = period number % ring size,
 * period number = (now - start_ns) / period_ns. A slot is only written while
 * its period is current, so userspace reads and zeroes past slots without
 * racing the programs (after one RCU grace period for programs that read the
 * clock just before the boundary).
 *
 * Issue->complete latency, sampled (the first charged bio of a period on a
 * CPU, then one in LAT_SAMPLE): sampled bios are remembered by address (and
 * sector); block_rq_issue stamps the request whose first bio is one of them,
 * block_rq_complete adds the time and forgets the bio. (block_bio_complete
 * does not fire for blk-mq devices; bios merged behind another one stay
 * until the LRU drops them or a new sample reuses the address.)
 *
 * The request hooks see every request of the host, so they are gated:
 * sample_gate opens with the first sample and userspace closes it once no
 * bio has been sampled for a while (last_sample). A count of samples in
 * flight could not do this: LRU evictions and merged bios are never
 * counted down. While the gate is closed other I/O pays one load.
 *
 * The writeback hook is writeback_dirty_folio; kernels from before folios
 * have writeback_dirty_page instead (same context, same mapping argument),
 * and userspace loads whichever the kernel's BTF has.
 */
#include "block_vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "target_filter.h"
#include "conbiograph.h"

char LICENSE[] SEC("license") = "GPL";

const volatile u64 period_ns = 1000000000;
const volatile u32 dir_mask = 3;       /* bit CBG_READ / CBG_WRITE to count */
const volatile bool filter_dev = false; /* one device (or its partitions) */
const volatile u32 target_dev = 0;     /* kernel dev_t: major << 20 | minor */

u64 start_ns = 0; /* bpf_ktime_get_ns() at period 0, set once attached */
u64 dropped = 0;  /* I/O on more devices than a CPU's table holds */
/* Period number + 1 of the latest sampled bio (0: none yet). Stored before
 * sample_gate is opened; userspace relies on that order. */
u64 last_sample = 0;
u32 sample_gate = 0; /* request hooks look at requests only while nonzero */

#define PF_KTHREAD 0x00200000
#define REQ_OP_MASK 0xff
#define REQ_OP_READ 0
#define REQ_OP_WRITE 1
#define S_IFMT 00170000
#define S_IFBLK 0060000
#define MINORBITS 20
#define PAGE_MAPPING_FLAGS 3 /* anon / movable pages: no file behind them */
#define LAT_SAMPLE 8         /* one charged bio in this many is timed */

struct inode_key {
	u64 ino;
	u32 dev;
	u32 pad;
};

struct inflight {
	u64 sector; /* the bio's range at queue time, to recognise it at issue; */
	u64 end;    /* from issue on, sector = the request's start */
	u64 issue_ns;
	u64 rq;     /* the request stamped at issue, checked at completion */
	u32 dir;
	u32 pad;
};

/* Inodes whose latest dirtier is the target. Other writers remove the entry. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct inode_key);
	__type(value, u64); /* cgroup v2 id of the dirtying task */
} dirtied SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CBG_NR_SLOTS);
	__type(key, u32);
	__type(value, struct cbg_period);
} periods SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct cbg_devices);
} devices SEC(".maps");

/* Sampled bios between queue and completion, keyed by address. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, u64);
	__type(value, struct inflight);
} inflight SEC(".maps");

#include "program_sync.h"

static __always_inline bool is_kthread(struct task_struct *task)
{
	return task->flags & PF_KTHREAD;
}

/* A user task of the target (kernel threads live in the root cgroup but
 * work for everybody). */
static __always_inline bool target_task(struct task_struct *task)
{
	return !is_kthread(task) && task_in_target(task);
}

/* The slot of the period `now` is in, and that period's number. */
static __always_inline struct cbg_period *current_slot(u64 now, u64 *period)
{
	u64 start = start_ns;
	u32 idx;

	/* Not started yet: nothing before period 0 is counted. */
	if (!start || now < start)
		return 0;
	*period = (now - start) / period_ns;
	idx = *period & (CBG_NR_SLOTS - 1);
	return bpf_map_lookup_elem(&periods, &idx);
}

/* Pages of `mapping` turn dirty in the current task's context. */
static __always_inline void record_dirtier(struct address_space *mapping)
{
	struct task_struct *task;
	struct inode_key key = {};
	struct inode *inode;
	u64 *seen, cgid;

	if (!filter_cgroup || !mapping)
		return;
	inode = mapping->host;
	if (!inode)
		return;
	if ((inode->i_mode & S_IFMT) == S_IFBLK)
		return;
	key.ino = inode->i_ino;
	key.dev = inode->i_sb->s_dev;
	task = bpf_get_current_task_btf();
	seen = bpf_map_lookup_elem(&dirtied, &key);
	if (!target_task(task)) {
		/* Someone else dirtied it last: their writeback is theirs. */
		if (seen)
			bpf_map_delete_elem(&dirtied, &key);
		return;
	}
	cgid = task_cgroup_id(task);
	if (!seen)
		bpf_map_update_elem(&dirtied, &key, &cgid, BPF_ANY);
	else if (*seen != cgid)
		*seen = cgid;
}

SEC("tp_btf/writeback_dirty_folio")
int BPF_PROG(cbg_dirty, struct folio *folio, struct address_space *mapping)
{
	record_dirtier(mapping);
	return 0;
}

/* Pre-folio kernels; userspace disables whichever of the two is missing. */
SEC("tp_btf/writeback_dirty_page")
int BPF_PROG(cbg_dirty_page, struct page *page, struct address_space *mapping)
{
	record_dirtier(mapping);
	return 0;
}

/* True when the bio writes page-cache pages of an inode the target dirtied. */
static __always_inline bool dirtied_by_target(struct bio *bio)
{
	struct bio_vec *vec = bio->bi_io_vec;
	struct inode_key key = {};
	struct address_space *mapping;
	struct page *page;
	struct inode *inode;
	unsigned long head;

	if (!vec)
		return false;
	page = vec->bv_page;
	if (!page)
		return false;
	/* Read as numbers: the verifier types these union slots as other
	 * members (lru.next), and they carry flag bits. */
	head = BPF_CORE_READ(page, compound_head);
	if (head & 1) /* a tail page of a large folio: its head has the mapping */
		page = (struct page *)(head - 1);
	mapping = BPF_CORE_READ(page, mapping);
	if (!mapping || ((unsigned long)mapping & PAGE_MAPPING_FLAGS))
		return false;
	inode = BPF_CORE_READ(mapping, host);
	if (!inode)
		return false;
	key.ino = BPF_CORE_READ(inode, i_ino);
	key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	return bpf_map_lookup_elem(&dirtied, &key) != 0;
}

static __always_inline void count_device(u32 dev, int dir, u32 size)
{
	struct cbg_devices *t;
	u32 zero = 0;

	t = bpf_map_lookup_elem(&devices, &zero);
	if (!t)
		return;
	for (int i = 0; i < CBG_NR_DEVS; i++) {
		struct cbg_dev_stats *d = &t->slot[i];

		if (d->dev != dev) {
			if (d->dev)
				continue;
			d->dev = dev; /* first free slot: this CPU's table is its own */
		}
		d->bytes[dir & 1] += size;
		d->ops[dir & 1]++;
		return;
	}
	__sync_fetch_and_add(&dropped, 1);
}

SEC("tp_btf/block_bio_queue")
int BPF_PROG(cbg_bio_queue, struct bio *bio)
{
	struct block_device *bdev;
	struct cbg_period *slot;
	struct gendisk *disk;
	bool by_dirtier = false;
	u32 size, op, dev;
	u64 key, now, period = 0;
	int dir;

	if (!bio)
		return 0;
	bdev = bio->bi_bdev;
	size = bio->bi_iter.bi_size;
	op = bio->bi_opf & REQ_OP_MASK;
	if (!size || !bdev)
		return 0;
	if (op == REQ_OP_READ)
		dir = CBG_READ;
	else if (op == REQ_OP_WRITE)
		dir = CBG_WRITE;
	else
		return 0; /* flush, discard, write-zeroes: no data moved */
	if (!(dir_mask & (1 << dir)))
		return 0;
	dev = bdev->bd_dev;
	disk = bdev->bd_disk;
	if (!disk)
		return 0;
	if (filter_dev) {
		u32 whole = ((u32)disk->major << MINORBITS) | (u32)disk->first_minor;

		if (dev != target_dev && whole != target_dev)
			return 0;
	} else if (!disk->queue || !disk->queue->mq_ops) {
		/* Bio-based (dm, md): the same data is counted again where it
		 * reaches a request queue below. */
		return 0;
	}

	if (filter_cgroup && !target_task(bpf_get_current_task_btf())) {
		if (dir != CBG_WRITE || !dirtied_by_target(bio))
			return 0;
		by_dirtier = true;
	}

	now = bpf_ktime_get_ns();
	slot = current_slot(now, &period);
	if (!slot)
		return 0;
	slot->bytes[dir] += size;
	slot->ops[dir]++;
	if (by_dirtier)
		slot->dirtier_bytes += size;
	count_device(dev, dir, size);

	if ((slot->ops[dir] % LAT_SAMPLE) != 1)
		return 0;
	struct inflight fl = {
		.sector = bio->bi_iter.bi_sector,
		.end = bio->bi_iter.bi_sector + (size >> 9),
		.dir = dir,
	};

	key = (u64)bio;
	/* BPF_ANY: an entry already under this address is stale (a bio merged
	 * into another request never completes as a request's head). */
	if (bpf_map_update_elem(&inflight, &key, &fl, BPF_ANY))
		return 0;
	/* Written only when they change: the request hooks load sample_gate
	 * for every request of the host, so keep its cache line quiet. */
	if (last_sample != period + 1)
		last_sample = period + 1;
	if (!sample_gate)
		sample_gate = 1;
	return 0;
}

/* The sampled-bio record of the request's first bio, if any. One load while
 * the gate is closed: the request hooks run for every request of the host. */
static __always_inline struct inflight *sampled(struct request *rq, u64 *key)
{
	if (!sample_gate || !rq)
		return NULL;
	*key = (u64)rq->bio;
	if (!*key)
		return NULL;
	return bpf_map_lookup_elem(&inflight, key);
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(cbg_rq_issue, struct request *rq)
{
	struct inflight *fl;
	u64 key, sector;

	fl = sampled(rq, &key);
	if (!fl || fl->issue_ns)
		return 0;
	/* A split bio keeps the tail of its range, so its request starts
	 * inside it; anything else is a stale entry whose address was reused. */
	sector = rq->__sector;
	if (sector >= fl->sector && sector < fl->end) {
		fl->sector = sector;
		fl->rq = (u64)rq;
		fl->issue_ns = bpf_ktime_get_ns();
	}
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(cbg_rq_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	struct cbg_period *slot;
	struct inflight *fl;
	u64 key, now, period;

	fl = sampled(rq, &key);
	if (!fl)
		return 0;
	/* Timed only if this very request was stamped: an entry stamped for an
	 * earlier request whose completion went unseen (gate closed) is stale. */
	if (fl->issue_ns && fl->rq == (u64)rq && fl->sector == rq->__sector) {
		now = bpf_ktime_get_ns();
		slot = current_slot(now, &period);
		if (slot && now > fl->issue_ns) {
			slot->lat_ns[fl->dir & 1] += now - fl->issue_ns;
			slot->lat_count[fl->dir & 1]++;
		}
	}
	bpf_map_delete_elem(&inflight, &key);
	return 0;
}
