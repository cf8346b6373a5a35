/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Block-layer and page-cache types for conbiograph, written by hand in the
 * style of contrace_vmlinux.h: every struct carries preserve_access_index, so
 * only the named fields must exist (CO-RE relocates their offsets; libbpf
 * also finds fields that the kernel nests in anonymous unions).
 *
 * Kernel differences conbiograph meets between 5.10 and today, all here
 * (each guarded in the program by bpf_core_field_exists or a .rodata
 * switch, so the other kernels' variant is dead code the verifier drops):
 *  - bio->bi_bdev (5.12+) vs bio->bi_disk + bi_partno, whose partitions are
 *    in disk->part_tbl->part[partno]->__dev.devt (5.10, 5.11): the ___old
 *    flavours below;
 *  - block_bio_queue's arguments: (bio) since 5.11, (queue, bio) before
 *    (two programs, userspace loads the one the kernel's BTF describes);
 *  - writeback_dirty_folio (5.17+) vs writeback_dirty_page (same choice);
 *  - bpf_get_current_task_btf (5.11+) vs bpf_get_current_task + CO-RE
 *    reads (a .rodata switch, probed from the kernel's BTF).
 */
#ifndef __CONTRACE_BLOCK_VMLINUX_H
#define __CONTRACE_BLOCK_VMLINUX_H

#include "contrace_vmlinux.h"

typedef u64 sector_t;
typedef u32 blk_opf_t;
typedef u8 blk_status_t;

struct address_space {
	struct inode *host;
} __attribute__((preserve_access_index));

/* compound_head (tail pages: head address | 1) and mapping share unions in
 * the kernel's struct page; libbpf matches them by name. */
struct page {
	unsigned long compound_head;
	struct address_space *mapping;
} __attribute__((preserve_access_index));

struct folio {
	struct address_space *mapping;
} __attribute__((preserve_access_index));

struct blk_mq_ops;

struct request_queue {
	const struct blk_mq_ops *mq_ops;
} __attribute__((preserve_access_index));

struct block_device;

struct gendisk {
	int major;
	int first_minor;
	struct request_queue *queue;
} __attribute__((preserve_access_index));

struct block_device {
	dev_t bd_dev;
	struct gendisk *bd_disk;
} __attribute__((preserve_access_index));

struct bio_vec {
	struct page *bv_page;
	unsigned int bv_len;
	unsigned int bv_offset;
} __attribute__((preserve_access_index));

struct bvec_iter {
	sector_t bi_sector;
	unsigned int bi_size;
} __attribute__((preserve_access_index));

/* The io controller's side of a cgroup (blkcg) and of a (cgroup, queue)
 * pair (blkcg_gq). Its css.cgroup is a cgroup v2 only when the io
 * controller is on the default hierarchy (userspace probes that). */
struct blkcg {
	struct cgroup_subsys_state css;
} __attribute__((preserve_access_index));

struct blkcg_gq {
	struct blkcg *blkcg;
} __attribute__((preserve_access_index));

struct bio {
	struct block_device *bi_bdev; /* 5.12+ */
	blk_opf_t bi_opf;
	struct bvec_iter bi_iter;
	struct bio_vec *bi_io_vec;
	struct blkcg_gq *bi_blkg; /* CONFIG_BLK_CGROUP */
} __attribute__((preserve_access_index));

/* ---- 5.10 and 5.11: a bio names its disk and partition number ---------- */

struct device___old {
	dev_t devt;
} __attribute__((preserve_access_index));

struct hd_struct___old {
	struct device___old __dev;
} __attribute__((preserve_access_index));

/* part[] is a flexible array: read its slots with bpf_probe_read_kernel. */
struct disk_part_tbl___old {
	struct hd_struct___old *part[1];
} __attribute__((preserve_access_index));

struct gendisk___old {
	struct disk_part_tbl___old *part_tbl;
} __attribute__((preserve_access_index));

struct bio___old {
	struct gendisk *bi_disk;
	u8 bi_partno;
} __attribute__((preserve_access_index));

/* Bio flag bits (the bit numbers moved over time; relocated by name). */
enum req_flag_bits {
	__REQ_IDLE = 15,
};

/* ---- a task's io controller state ------------------------------------- */

/* Index of the io controller in css_set->subsys[] (relocated with
 * bpf_core_enum_value: the set of controllers differs between builds). */
enum cgroup_subsys_id {
	io_cgrp_id = 3,
};

/* css_set seen for its per-controller states (contrace_vmlinux.h declares
 * the default-hierarchy side). The length is a placeholder: the index is
 * added by hand, never checked against it. */
struct css_set___subsys {
	struct cgroup_subsys_state *subsys[1];
} __attribute__((preserve_access_index));

struct request {
	sector_t __sector;
	struct bio *bio;
} __attribute__((preserve_access_index));

#endif /* __CONTRACE_BLOCK_VMLINUX_H */
