// SPDX-License-Identifier: GPL-2.0
/*
 * conbiograph: block I/O charged to the cgroup that caused it, counted per
 * period for one target (the CLI's chart) and/or per cgroup for every
 * cgroup at once (the exporter's table). Both use one rule.
 *
 * The owner of a bio (at block_bio_queue):
 *  - A write of page-cache pages of a file belongs to whoever dirtied them,
 *    whoever submits it (the flusher, `sync` run anywhere, another cgroup's
 *    fsync, the dirtier's own fsync):
 *     1. where the io controller is on cgroup v2, to the bio's blkcg (cgroup
 *        writeback: the inode's owning cgroup, as io.stat bills it), or to
 *        the recorded dirtier (2.) when that one lives in the same io domain
 *        (a cgroup below the blkcg's, io not enabled further down);
 *     2. else to the inode's last dirtier since the start:
 *        writeback_dirty_folio runs in the dirtying task's context and
 *        records inode -> cgroup; a dirtying by a kernel thread (or, with a
 *        target, by anyone outside it) removes the record;
 *     3. else to nobody (dirtied before the start, record evicted).
 *  - Anything else (direct I/O, reads, the block-device page cache where
 *    filesystems keep metadata) belongs to the submitting task's cgroup; a
 *    kernel thread's, to the bio's blkcg where that is a cgroup v2 (dm-crypt,
 *    swap), else to nobody.
 * Block-device inodes are never recorded: filesystem metadata written by
 * the journal or the flusher is nobody's.
 *
 * Period mode: counters land in per-CPU period slots, slot = period % ring
 * size, period = (now - start_ns) / period_ns. A slot is only written while
 * its period is current, so userspace reads and zeroes past slots without
 * racing the programs (after one RCU grace period for programs that read the
 * clock just before the boundary). Nothing at or after end_ns is counted: a
 * run of -d seconds ends exactly there.
 *
 * Cgroup mode: per-CPU hashes keyed by the owner's cgroup v2 id, one per
 * epoch (aggregate.h); a full table sends the I/O to an overflow slot, so no
 * byte is lost, only its owner.
 *
 * Issue->complete latency (period mode), sampled (the first charged bio of a
 * period on a CPU, then one in LAT_SAMPLE): sampled bios are remembered by
 * address (and sector); block_rq_issue stamps the request whose first bio
 * is one of them, block_rq_complete adds the time and forgets the bio.
 * (block_bio_complete does not fire for blk-mq devices; bios merged behind
 * another one stay until the LRU drops them or a new sample reuses the
 * address.) The request hooks see every request of the host, so they are
 * gated: sample_gate opens with the first sample and userspace closes it once
 * no bio has been sampled for a while (last_sample). While the gate is
 * closed other I/O pays one load.
 *
 * Kernels differ (block_vmlinux.h lists how); userspace probes the running
 * kernel's BTF and loads the matching programs and .rodata switches.
 */
#include "block_vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "target_filter.h"
#include "aggregate.h"
#include "conbiograph.h"

char LICENSE[] SEC("license") = "GPL";

const volatile u64 period_ns = 1000000000;
const volatile u32 dir_mask = 3;       /* bit CBG_READ / CBG_WRITE to count */
const volatile bool filter_dev = false; /* one device (or its partitions) */
const volatile u32 target_dev = 0;     /* kernel dev_t: major << 20 | minor */

/* What to count. */
const volatile bool count_periods = true;  /* the period ring (and devices, latency) */
const volatile bool count_cgroups = false; /* the per-cgroup table */

/* Kernel features, probed by userspace. */
const volatile bool have_task_btf = true; /* bpf_get_current_task_btf (5.11+) */
const volatile bool blkcg_v2 = false;     /* the io controller is on cgroup v2 */

u64 start_ns = 0; /* bpf_ktime_get_ns() at period 0, set once attached */
u64 end_ns = 0;   /* end of a run of fixed length (0: open-ended) */
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
/* Levels below the target a cgroup may be to count as inside it when its
 * ancestry is walked by reads (blkcg cgroups, the 5.10 path). */
#define CBG_MAX_WALK 32

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

/* The latest dirtier of each inode (user tasks; with a target, of the
 * target only). Userspace sizes it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct inode_key);
	__type(value, struct cbg_dirtier);
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

/* Cgroup mode: I/O per owner (cgroup v2 id, CBG_OWNER_NONE), one table per
 * epoch. Entries exist only for cgroups with I/O since the last drain.
 * Userspace sizes them. */
#define CBG_OWNER_TABLE(name)                                                  \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_PERCPU_HASH);                        \
		__uint(map_flags, BPF_F_NO_PREALLOC);                          \
		__uint(max_entries, 16384);                                    \
		__type(key, u64);                                              \
		__type(value, struct cbg_io);                                  \
	} name SEC(".maps")
CBG_OWNER_TABLE(owners0);
CBG_OWNER_TABLE(owners1);

/* I/O whose owner found its epoch's table full: [epoch]. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, struct cbg_io);
} owner_overflow SEC(".maps");

const struct cbg_io zero_io = {};

#include "program_sync.h"

/* ---- who is running --------------------------------------------------- */

/* The task submitting a bio or dirtying pages. */
struct submitter {
	u64 cgid;       /* cgroup v2 id (cgroup mode only) */
	bool user;      /* not a kernel thread (those work for everybody) */
	bool in_target; /* a user task inside the target (true without one) */
};

/* Whether a bio's owner matters: a target to charge, or cgroups to key by. */
static __always_inline bool need_owner(void)
{
	return filter_cgroup || target_tgid || count_cgroups;
}

/* @cg (any kernel pointer, read with probe reads) is the target cgroup or,
 * unless exact, below it by at most CBG_MAX_WALK levels. */
static __always_inline bool cgroup_in_target(struct cgroup *cg)
{
	int diff;

	if (!filter_cgroup)
		return true;
	if (!cg)
		return false;
	if (filter_exact)
		return BPF_CORE_READ(cg, kn, id) == target_cgid;
	diff = BPF_CORE_READ(cg, level) - (int)target_level;
	if (diff < 0 || diff > CBG_MAX_WALK)
		return false;
	for (int i = 0; i < CBG_MAX_WALK; i++) {
		if (i >= diff)
			break;
		cg = BPF_CORE_READ(cg, self.parent, cgroup);
	}
	return BPF_CORE_READ(cg, kn, id) == target_cgid;
}

/* 5.10: the current task is a plain kernel address; helpers and probe reads
 * instead of BTF loads. */
static __always_inline void compat_current_submitter(struct submitter *s)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct cgroup *cg;

	s->user = !(BPF_CORE_READ(task, flags) & PF_KTHREAD);
	if (!s->user)
		return;
	cg = BPF_CORE_READ(task, cgroups, dfl_cgrp);
	if (count_cgroups)
		s->cgid = BPF_CORE_READ(cg, kn, id);
	s->in_target = (!target_tgid || (bpf_get_current_pid_tgid() >> 32) == target_tgid) &&
		       cgroup_in_target(cg);
}

static __always_inline void current_submitter(struct submitter *s)
{
	struct task_struct *task;

	if (!have_task_btf) {
		compat_current_submitter(s);
		return;
	}
	task = bpf_get_current_task_btf();
	s->user = !(task->flags & PF_KTHREAD);
	if (!s->user)
		return;
	s->in_target = task_in_target(task);
	if (count_cgroups)
		s->cgid = task_cgroup_id(task);
}

/* The cgroup holding the current task's io controller state: the cgroup
 * itself, or the nearest ancestor with io enabled (its "io domain"). */
static __always_inline u64 current_io_cgid(void)
{
	struct task_struct *task;
	struct cgroup_subsys_state *css = NULL;
	struct css_set *cset;
	u64 off;

	if (have_task_btf)
		task = bpf_get_current_task_btf();
	else
		task = (void *)bpf_get_current_task();
	cset = BPF_CORE_READ(task, cgroups);
	off = bpf_core_field_offset(struct css_set___subsys, subsys) +
	      bpf_core_enum_value(enum cgroup_subsys_id, io_cgrp_id) * sizeof(void *);
	if (!cset || bpf_probe_read_kernel(&css, sizeof(css), (void *)cset + off) || !css)
		return 0;
	return BPF_CORE_READ(css, cgroup, kn, id);
}

/* ---- dirtier records -------------------------------------------------- */

/* Pages of `mapping` turn dirty in the current task's context. */
static __always_inline void record_dirtier(struct address_space *mapping)
{
	struct inode_key key = {};
	struct cbg_dirtier rec = {}, *seen;
	struct submitter s = {};
	struct inode *inode;

	if (!need_owner() || !mapping)
		return;
	inode = mapping->host;
	if (!inode)
		return;
	if ((inode->i_mode & S_IFMT) == S_IFBLK)
		return;
	key.ino = inode->i_ino;
	key.dev = inode->i_sb->s_dev;
	current_submitter(&s);
	seen = bpf_map_lookup_elem(&dirtied, &key);
	if (!s.user || !s.in_target) {
		/* Someone else dirtied it last: its writeback is not the
		 * earlier dirtier's. */
		if (seen)
			bpf_map_delete_elem(&dirtied, &key);
		return;
	}
	rec.cgid = s.cgid;
	rec.in_target = 1;
	if (blkcg_v2)
		rec.io_cgid = current_io_cgid();
	if (!seen) {
		bpf_map_update_elem(&dirtied, &key, &rec, BPF_ANY);
	} else if (seen->cgid != rec.cgid || seen->io_cgid != rec.io_cgid) {
		seen->cgid = rec.cgid;
		seen->io_cgid = rec.io_cgid;
	}
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

/* ---- the owner of a bio ----------------------------------------------- */

/* A page's compound_head (tail pages: head address | 1) and mapping (anon
 * pages: flag bits set). Read as numbers: the verifier types these union
 * slots as other members (lru.next), and they carry flag bits. Where the
 * kernel keeps both in struct page's first four words (every kernel this
 * runs on), one probe read fetches both: this runs for every write. */
static __always_inline bool page_words(struct page *page, unsigned long *head,
				       unsigned long *mapping)
{
	unsigned long w[4];

	if (bpf_core_field_offset(struct page, compound_head) == 8 &&
	    bpf_core_field_offset(struct page, mapping) == 24) {
		if (bpf_probe_read_kernel(w, sizeof(w), page))
			return false;
		*head = w[1];
		*mapping = w[3];
		return true;
	}
	*head = BPF_CORE_READ(page, compound_head);
	*mapping = (unsigned long)BPF_CORE_READ(page, mapping);
	return true;
}

/* True when the bio's first page is a page-cache page of a file (not of a
 * block device), whose inode goes into @key. */
static __always_inline bool page_cache_inode(struct bio *bio, struct inode_key *key)
{
	struct bio_vec *vec = bio->bi_io_vec;
	unsigned long head, mapping;
	struct address_space *as;
	struct page *page;
	struct inode *inode;

	if (!vec)
		return false;
	page = vec->bv_page;
	if (!page || !page_words(page, &head, &mapping))
		return false;
	if (head & 1) /* a tail page of a large folio: its head has the mapping */
		mapping = (unsigned long)BPF_CORE_READ((struct page *)(head - 1), mapping);
	if (!mapping || (mapping & PAGE_MAPPING_FLAGS))
		return false;
	as = (struct address_space *)mapping;
	inode = BPF_CORE_READ(as, host);
	if (!inode || (BPF_CORE_READ(inode, i_mode) & S_IFMT) == S_IFBLK)
		return false;
	key->ino = BPF_CORE_READ(inode, i_ino);
	key->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	return true;
}

/* The cgroup v2 the bio's io controller state (blkcg) belongs to, when it
 * says something: the io controller on cgroup v2, and not the root. */
static __always_inline struct cgroup *bio_blkcg(struct bio *bio)
{
	struct blkcg_gq *blkg;
	struct cgroup *cg;

	if (!blkcg_v2 || !bpf_core_field_exists(bio->bi_blkg))
		return NULL;
	blkg = bio->bi_blkg;
	if (!blkg)
		return NULL;
	cg = blkg->blkcg->css.cgroup;
	if (!cg || !cg->level)
		return NULL;
	return cg;
}

static __always_inline u32 req_idle(void)
{
	return 1U << bpf_core_enum_value(enum req_flag_bits, __REQ_IDLE);
}

/* Who a bio is charged to. */
struct charge {
	u64 cgid;       /* the owner's cgroup v2 id (cgroup mode), or CBG_OWNER_NONE */
	bool in_target; /* the owner is the target (or below it; true without one) */
	bool writeback; /* submitted by someone else on the owner's behalf */
};

static __always_inline void charge_to(struct charge *c, struct cgroup *cg)
{
	/* A blkcg names a cgroup, never a process. */
	c->in_target = !target_tgid && cgroup_in_target(cg);
	if (count_cgroups)
		c->cgid = cg->kn->id;
}

/* Fills @c with the bio's owner; false when it has none. */
static __always_inline bool find_owner(struct bio *bio, int dir, struct charge *c)
{
	struct inode_key key = {};
	struct submitter s = {};
	struct cbg_dirtier *rec;
	struct cgroup *blk;

	current_submitter(&s);
	/* REQ_IDLE marks direct I/O (and log writes), never page-cache
	 * writeback: those writes skip the page walk. */
	if (dir == CBG_WRITE && !(bio->bi_opf & req_idle()) && page_cache_inode(bio, &key)) {
		rec = bpf_map_lookup_elem(&dirtied, &key);
		blk = bio_blkcg(bio);
		if (blk && !(rec && rec->io_cgid == blk->kn->id)) {
			charge_to(c, blk);
		} else if (rec) {
			c->cgid = rec->cgid;
			c->in_target = rec->in_target;
		} else {
			return false;
		}
		if (count_cgroups)
			c->writeback = !s.user || s.cgid != c->cgid;
		else
			c->writeback = !s.in_target;
		return true;
	}
	if (s.user) {
		c->cgid = s.cgid;
		c->in_target = s.in_target;
		return true;
	}
	blk = bio_blkcg(bio);
	if (!blk)
		return false;
	charge_to(c, blk);
	c->writeback = dir == CBG_WRITE;
	return true;
}

/* ---- counting --------------------------------------------------------- */

/* The slot of the period `now` is in, and that period's number. */
static __always_inline struct cbg_period *current_slot(u64 now, u64 *period)
{
	u64 start = start_ns, end = end_ns;
	u32 idx;

	/* Not started yet, or over: nothing outside the run is counted. */
	if (!start || now < start || (end && now >= end))
		return 0;
	*period = (now - start) / period_ns;
	idx = *period & (CBG_NR_SLOTS - 1);
	return bpf_map_lookup_elem(&periods, &idx);
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

static __always_inline void count_owner(struct charge *c, int dir, u32 size)
{
	u32 ep = epoch & 1;
	void *table = ep ? (void *)&owners1 : (void *)&owners0;
	struct cbg_io *io;

	io = bpf_map_lookup_elem(table, &c->cgid);
	if (!io) {
		/* EEXIST from a racing CPU is fine: the lookup finds its entry. */
		bpf_map_update_elem(table, &c->cgid, &zero_io, BPF_NOEXIST);
		io = bpf_map_lookup_elem(table, &c->cgid);
		if (!io)
			io = bpf_map_lookup_elem(&owner_overflow, &ep);
		if (!io)
			return;
	}
	io->bytes[dir & 1] += size;
	io->ops[dir & 1]++;
	if (c->writeback) {
		io->writeback_bytes += size;
		io->writeback_ops++;
	}
}

/* Adds a charged bio to its period's slot (and the device table), and
 * samples it for latency now and then. */
static __always_inline void count_period(struct cbg_period *slot, u64 period, struct bio *bio,
					 int dir, u32 size, u32 dev, bool writeback)
{
	u64 key;

	slot->bytes[dir] += size;
	slot->ops[dir]++;
	if (writeback)
		slot->dirtier_bytes += size;
	count_device(dev, dir, size);

	if ((slot->ops[dir] % LAT_SAMPLE) != 1)
		return;
	struct inflight fl = {
		.sector = bio->bi_iter.bi_sector,
		.end = bio->bi_iter.bi_sector + (size >> 9),
		.dir = dir,
	};

	key = (u64)bio;
	/* BPF_ANY: an entry already under this address is stale (a bio merged
	 * into another request never completes as a request's head). */
	if (bpf_map_update_elem(&inflight, &key, &fl, BPF_ANY))
		return;
	/* Written only when they change: the request hooks load sample_gate
	 * for every request of the host, so keep its cache line quiet. */
	if (last_sample != period + 1)
		last_sample = period + 1;
	if (!sample_gate)
		sample_gate = 1;
}

/* The bio's device (dev_t, the partition's if any) and disk. */
static __always_inline bool bio_device(struct bio *bio, u32 *dev, struct gendisk **disk)
{
	struct block_device *bdev;
	struct bio___old *old;
	struct gendisk___old *old_disk;
	struct disk_part_tbl___old *tbl;
	struct hd_struct___old *part = NULL;
	struct gendisk *d;
	u64 slot;
	u8 partno;

	if (bpf_core_field_exists(bio->bi_bdev)) {
		bdev = bio->bi_bdev;
		if (!bdev)
			return false;
		*dev = bdev->bd_dev;
		*disk = bdev->bd_disk;
		return *disk != NULL;
	}
	/* 5.10, 5.11: the disk and a partition number. */
	old = (void *)bio;
	d = old->bi_disk;
	partno = old->bi_partno;
	if (!d)
		return false;
	*disk = d;
	*dev = ((u32)d->major << MINORBITS) | (u32)d->first_minor;
	if (!partno)
		return true;
	old_disk = (void *)d;
	tbl = BPF_CORE_READ(old_disk, part_tbl);
	if (!tbl)
		return true;
	slot = (u64)tbl + bpf_core_field_offset(struct disk_part_tbl___old, part) +
	       (u64)partno * sizeof(void *);
	if (bpf_probe_read_kernel(&part, sizeof(part), (void *)slot) || !part)
		return true;
	*dev = BPF_CORE_READ(part, __dev.devt);
	return true;
}

static __always_inline int on_bio_queue(struct bio *bio)
{
	struct charge c = { .in_target = true };
	struct cbg_period *slot = NULL;
	struct gendisk *disk = NULL;
	u64 period = 0;
	u32 size, op, dev = 0;
	int dir;

	if (!bio)
		return 0;
	size = bio->bi_iter.bi_size;
	op = bio->bi_opf & REQ_OP_MASK;
	if (!size)
		return 0;
	if (op == REQ_OP_READ)
		dir = CBG_READ;
	else if (op == REQ_OP_WRITE)
		dir = CBG_WRITE;
	else
		return 0; /* flush, discard, write-zeroes: no data moved */
	if (!(dir_mask & (1 << dir)))
		return 0;
	if (!bio_device(bio, &dev, &disk))
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

	if (need_owner()) {
		c.in_target = false;
		/* Nobody's I/O counts only where no target restricts what is
		 * counted (cgroup mode: under CBG_OWNER_NONE). */
		if (!find_owner(bio, dir, &c))
			c.in_target = !filter_cgroup && !target_tgid;
		if (!c.in_target)
			return 0;
	}
	if (count_periods) {
		/* Outside the run (before its start, after its fixed end): not
		 * counted in the cgroup table either, so both add up. */
		slot = current_slot(bpf_ktime_get_ns(), &period);
		if (!slot)
			return 0;
	}
	if (count_cgroups)
		count_owner(&c, dir, size);
	if (slot)
		count_period(slot, period, bio, dir, size, dev, c.writeback);
	return 0;
}

SEC("tp_btf/block_bio_queue")
int BPF_PROG(cbg_bio_queue, struct bio *bio)
{
	return on_bio_queue(bio);
}

/* Before 5.11 the tracepoint also passed the queue; userspace loads the one
 * of the two the kernel's BTF describes. */
SEC("tp_btf/block_bio_queue")
int BPF_PROG(cbg_bio_queue_q, struct request_queue *q, struct bio *bio)
{
	return on_bio_queue(bio);
}

/* ---- latency ---------------------------------------------------------- */

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
